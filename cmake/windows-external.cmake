# cmake/windows-external.cmake — from the Linux build, builds cmake/windows.cmake's Windows subset with
# mingw-w64 (cmake/mingw-w64.cmake) as an ExternalProject into ${CMAKE_BINARY_DIR}/windows/.
# IOSIM_WINDOWS defaults to ON when x86_64-w64-mingw32-g++-posix is found; IOSIM_WINDOWS_DIR is where the
# .exe files land (tests and tools read it).
include(ExternalProject)

find_program(IOSIM_MINGW_CXX x86_64-w64-mingw32-g++-posix)
if(IOSIM_MINGW_CXX)
  set(iosim_windows_default ON)
else()
  set(iosim_windows_default OFF)
endif()
option(IOSIM_WINDOWS "Cross-compile the Windows runner with mingw-w64 (run under Wine)" ${iosim_windows_default})
set(IOSIM_WINDOWS_JOBS 2 CACHE STRING "Parallel jobs of the nested Windows build")
set(IOSIM_WINDOWS_DIR ${CMAKE_BINARY_DIR}/windows)

if(IOSIM_WINDOWS AND NOT IOSIM_MINGW_CXX)
  message(FATAL_ERROR "IOSIM_WINDOWS is ON but x86_64-w64-mingw32-g++-posix was not found: run tools/install-deps")
elseif(NOT IOSIM_WINDOWS)
  message(WARNING "x86_64-w64-mingw32-g++-posix not found (or IOSIM_WINDOWS=OFF): the Windows build and "
                  "every Wine test are skipped. Run tools/install-deps to install mingw-w64 and wine.")
  return()
endif()

# Release: the .exe files only run under Wine, where debug info is of no use and static -g links are slow.
# BUILD_ALWAYS runs the nested ninja every time; it is a no-op (well under a second) when nothing changed.
ExternalProject_Add(
  iosim_windows
  SOURCE_DIR ${PROJECT_SOURCE_DIR}
  BINARY_DIR ${IOSIM_WINDOWS_DIR}
  CMAKE_GENERATOR ${CMAKE_GENERATOR}
  CMAKE_ARGS -DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/cmake/mingw-w64.cmake
             -DCMAKE_BUILD_TYPE=Release
             -DCMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER}
             -DIOSIM_WERROR=${IOSIM_WERROR}
  BUILD_COMMAND ${CMAKE_COMMAND} --build ${IOSIM_WINDOWS_DIR} -j ${IOSIM_WINDOWS_JOBS}
  BUILD_ALWAYS ON
  INSTALL_COMMAND ""
  BUILD_BYPRODUCTS ${IOSIM_WINDOWS_DIR}/windows_os_smoke.exe ${IOSIM_WINDOWS_DIR}/iosim-windows.exe
                   ${IOSIM_WINDOWS_DIR}/iocp_bench.exe
                   ${IOSIM_WINDOWS_DIR}/iocp_ops_server.exe)
