# cmake/install.cmake — install rules and the exported CMake package: public headers (include/iosim/), the
# static libraries behind iosim::iosim, the `testing` component (iosim::testing), the `cli` component
# (iosim::cli_main, iosim::recording, iosim::linux), the iosim executable, and their config files.
include(CMakePackageConfigHelpers)

# iosim::iosim and what it links (static libraries: their dependencies travel with them).
set(IOSIM_EXPORTED_TARGETS iosim_sim iosim_kernel iosim_backend_sim iosim_backend_fault iosim_world)
set(IOSIM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/iosim)

install(TARGETS ${IOSIM_EXPORTED_TARGETS} EXPORT iosimTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/iosim DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS iosim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})  # the CLI, for trace files and scenarios
install(EXPORT iosimTargets NAMESPACE iosim:: DESTINATION ${IOSIM_CMAKE_DIR})

# The testing component (GoogleTest, rapidcheck) in an export set of its own, loaded only when asked for:
# find_package(iosim COMPONENTS testing).
if(TARGET iosim_testing)
  install(TARGETS iosim_testing EXPORT iosimTestingTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT iosimTestingTargets NAMESPACE iosim:: DESTINATION ${IOSIM_CMAKE_DIR})
endif()

# The cli component (CLI11, threads): iosim::cli_main (a user's binary with its own IOSIM_APPs as the CLI) and
# the libraries behind it; iosim::recording and iosim::linux: iosim::Recording (<iosim/recording.hpp>) and
# make_linux_os (<iosim/linux.hpp>). find_package(iosim COMPONENTS cli).
set_target_properties(iosim_backend_recording PROPERTIES EXPORT_NAME recording)
set_target_properties(iosim_backend_linux PROPERTIES EXPORT_NAME linux)
install(TARGETS iosim_cli_main iosim_cli iosim_driver iosim_analysis iosim_scenarios iosim_backend_linux
                iosim_backend_recording iosim_wine
        EXPORT iosimCliTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT iosimCliTargets NAMESPACE iosim:: DESTINATION ${IOSIM_CMAKE_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/iosimConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/iosimConfig.cmake INSTALL_DESTINATION ${IOSIM_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/iosimConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/iosimConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/iosimConfigVersion.cmake
        DESTINATION ${IOSIM_CMAKE_DIR})
