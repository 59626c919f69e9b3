# cmake/windows.cmake — the Windows subset of iosim, cross-compiled with cmake/mingw-w64.cmake (the Linux
# build drives it through cmake/windows-external.cmake). No Boost.Context, no simulator: WindowsOs + programs.
# Append new Windows executables to the list at the end: one add_iosim_windows_executable() line each.

# Header-only dependencies from the host, and only them: a directory of symlinks to the host's fmt, nlohmann
# and CLI11 headers. /usr/include itself must never be on the mingw include path (glibc headers would win).
set(IOSIM_HOST_INCLUDE_DIR /usr/include CACHE PATH "Where the host's header-only fmt, nlohmann_json, CLI11 live")
set(IOSIM_WINDOWS_HOST_HEADERS ${CMAKE_BINARY_DIR}/host-headers)
foreach(header_dir fmt nlohmann CLI)
  if(NOT EXISTS ${IOSIM_HOST_INCLUDE_DIR}/${header_dir})
    message(FATAL_ERROR "${IOSIM_HOST_INCLUDE_DIR}/${header_dir} is missing: run tools/install-deps")
  endif()
  file(MAKE_DIRECTORY ${IOSIM_WINDOWS_HOST_HEADERS})
  file(CREATE_LINK ${IOSIM_HOST_INCLUDE_DIR}/${header_dir} ${IOSIM_WINDOWS_HOST_HEADERS}/${header_dir} SYMBOLIC)
endforeach()
add_library(iosim_windows_host_headers INTERFACE)
target_include_directories(iosim_windows_host_headers SYSTEM INTERFACE ${IOSIM_WINDOWS_HOST_HEADERS})
target_compile_definitions(iosim_windows_host_headers INTERFACE FMT_HEADER_ONLY)

# Executables land in the top of this build tree: <linux build>/windows/NAME.exe.
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})

# WindowsOs over Winsock2/IOCP, plus the one portable piece of sim/ it needs (IOSIM_ASSERT's handler).
add_library(iosim_backend_windows STATIC ${PROJECT_SOURCE_DIR}/backends/windows/windows_os.cpp
                                         ${PROJECT_SOURCE_DIR}/sim/assert.cpp)
target_include_directories(iosim_backend_windows PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR})
target_link_libraries(iosim_backend_windows PUBLIC iosim_windows_host_headers ws2_32 mswsock)

# add_iosim_windows_executable(NAME SOURCES...): NAME.exe linked with WindowsOs.
function(add_iosim_windows_executable name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE iosim_backend_windows)
endfunction()

# --- the Windows executables ---
add_iosim_windows_executable(windows_os_smoke ${PROJECT_SOURCE_DIR}/tests/windows/windows_os_smoke.cpp)

# iosim-windows.exe: a scenario's workload on WindowsOs, the Observation printed as JSON (tools/windows_runner.cpp).
# The scenarios library is the Linux one's sources: they speak only iosim::Os, sim/prng.hpp is header-only.
include(${PROJECT_SOURCE_DIR}/cmake/scenario-sources.cmake)  # IOSIM_SCENARIO_SOURCES, as on Linux
add_library(iosim_scenarios_windows STATIC ${IOSIM_SCENARIO_SOURCES}
                                           ${PROJECT_SOURCE_DIR}/backends/fault/fault_os.cpp
                                           ${PROJECT_SOURCE_DIR}/backends/fault/fault_plan.cpp)
target_link_libraries(iosim_scenarios_windows PUBLIC iosim_backend_windows)
add_iosim_windows_executable(iosim-windows ${PROJECT_SOURCE_DIR}/tools/windows_runner.cpp)
target_link_libraries(iosim-windows PRIVATE iosim_scenarios_windows)

# The IOCP benchmark workloads on WindowsOs, run under Wine by iosim_bench (bench/iocp_bench.cpp).
add_iosim_windows_executable(iocp_bench ${PROJECT_SOURCE_DIR}/bench/windows/iocp_bench_main.cpp
                             ${PROJECT_SOURCE_DIR}/bench/iocp_workloads.cpp)

# iocp_ops_server.exe: the Windows side of the IOCP differential suite (tests/iocp_differential_test.cpp).
add_iosim_windows_executable(iocp_ops_server ${PROJECT_SOURCE_DIR}/tests/windows/iocp_ops_server.cpp
                             ${PROJECT_SOURCE_DIR}/tests/iocp_ops.cpp)
