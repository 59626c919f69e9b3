# cmake/install.cmake — install rules and the exported CMake package: public headers (include/iosim/), the
# static libraries behind iosim::iosim and the `testing` component iosim::testing, and their config files.
include(CMakePackageConfigHelpers)

# iosim::iosim and what it links (static libraries: their dependencies travel with them).
set(IOSIM_EXPORTED_TARGETS iosim_sim iosim_kernel iosim_backend_sim iosim_backend_fault iosim_world)
set(IOSIM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/iosim)

install(TARGETS ${IOSIM_EXPORTED_TARGETS} EXPORT iosimTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/iosim DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT iosimTargets NAMESPACE iosim:: DESTINATION ${IOSIM_CMAKE_DIR})

# The testing component (GoogleTest, rapidcheck) in an export set of its own, loaded only when asked for:
# find_package(iosim COMPONENTS testing).
if(TARGET iosim_testing)
  install(TARGETS iosim_testing EXPORT iosimTestingTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT iosimTestingTargets NAMESPACE iosim:: DESTINATION ${IOSIM_CMAKE_DIR})
endif()

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/iosimConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/iosimConfig.cmake INSTALL_DESTINATION ${IOSIM_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/iosimConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/iosimConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/iosimConfigVersion.cmake
        DESTINATION ${IOSIM_CMAKE_DIR})
