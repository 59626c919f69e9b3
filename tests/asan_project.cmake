# tests/asan_project.cmake — ctest's world_teardown_asan: build tests/asan/ (the teardown tests and the iosim
# libraries under them, with AddressSanitizer and the scheduler's fiber-switch annotations) and run it. A
# failing world must be reported with exit 1, never a sanitizer report (exit 86) or a signal.
# Run as: cmake -DIOSIM_SOURCE_DIR=.. -DIOSIM_BINARY_DIR=.. -DGENERATOR=.. -DCXX=.. [-DLAUNCHER=..] -P this file
include(${CMAKE_CURRENT_LIST_DIR}/nested_build.cmake)
set(work ${IOSIM_BINARY_DIR}/asan)
set(flags "-fsanitize=address -fno-omit-frame-pointer")
set(configure_args -S ${IOSIM_SOURCE_DIR}/tests/asan -B ${work} -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
    -DIOSIM_SOURCE_DIR=${IOSIM_SOURCE_DIR} -DIOSIM_WINDOWS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
    -DCMAKE_CXX_FLAGS=${flags} -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address -Wno-dev)
if(LAUNCHER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
step("configuring tests/asan" ${CMAKE_COMMAND} ${configure_args})
step("building the teardown tests with AddressSanitizer"
     ${CMAKE_COMMAND} --build ${work} --target world_teardown_test world_teardown_failures)
step("running the teardown tests under AddressSanitizer"
     ${CMAKE_COMMAND} -E env ASAN_OPTIONS=exitcode=86:detect_leaks=1 ${work}/world_teardown_test)
