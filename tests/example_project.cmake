# tests/example_project.cmake — ctest's example_echo_server (and user_app_project): install iosim to a staging
# prefix under the build directory, configure examples/echo_server (or -DPROJECT=<dir>) against it with
# find_package(iosim), build it and run its tests; for the example, also build tests/package_core with
# GoogleTest, rapidcheck and CLI11 hidden (iosim::iosim alone must not need them).
# Run as: cmake -DIOSIM_SOURCE_DIR=.. -DIOSIM_BINARY_DIR=.. -DGENERATOR=.. -DCXX=.. [-DLAUNCHER=..] -P this file
if(NOT PROJECT)
  set(PROJECT examples/echo_server)
endif()
string(MAKE_C_IDENTIFIER ${PROJECT} project_id)
set(work ${IOSIM_BINARY_DIR}/example/${project_id})
set(stage ${work}/stage)

include(${CMAKE_CURRENT_LIST_DIR}/nested_build.cmake)

file(REMOVE_RECURSE ${stage})
step("installing iosim to ${stage}" ${CMAKE_COMMAND} --install ${IOSIM_BINARY_DIR} --prefix ${stage})
set(configure_args -S ${IOSIM_SOURCE_DIR}/${PROJECT} -B ${work}/build -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${stage} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
if(LAUNCHER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
step("configuring the example against the installed package" ${CMAKE_COMMAND} ${configure_args})
step("building the example" ${CMAKE_COMMAND} --build ${work}/build)
step("running the example's tests" ${CMAKE_CTEST_COMMAND} --test-dir ${work}/build --output-on-failure)

if(NOT PROJECT STREQUAL "examples/echo_server")
  return()
endif()
include(${CMAKE_CURRENT_LIST_DIR}/example_walkthrough.cmake)

set(core_args -S ${IOSIM_SOURCE_DIR}/tests/package_core -B ${work}/core -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${stage}
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON
    -DCMAKE_DISABLE_FIND_PACKAGE_rapidcheck=ON -DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON)
if(LAUNCHER)
  list(APPEND core_args -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
step("configuring iosim::iosim alone, without GoogleTest, rapidcheck and CLI11" ${CMAKE_COMMAND} ${core_args})
step("building the core-only project" ${CMAKE_COMMAND} --build ${work}/core)
step("running a world from the core-only project" ${work}/core/run_a_world)
