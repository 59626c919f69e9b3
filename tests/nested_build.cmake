# tests/nested_build.cmake — what the ctest scripts that configure, build and run a project of their own share
# (example_project.cmake, asan_project.cmake): run one step, and fail the test naming it when it fails.
function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${what} failed (${status}): ${ARGN}")
  endif()
endfunction()
