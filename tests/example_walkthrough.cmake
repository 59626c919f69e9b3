# tests/example_walkthrough.cmake — included by example_project.cmake after examples/echo_server is built
# against the installed package: what docs/your-own-server.md walks through, on the example's own server.
# A failing IOSIM_TEST writes its artifacts, the installed iosim opens them (graph, Perfetto, explain), the
# schedule replays with the same trace-hash, faults come from the environment, and the example's own CLI
# (echo_iosim, iosim::cli_main) lists, runs, explores, shrinks, graphs and diffs its apps.
set(tests ${work}/build/echo_server_test)
set(cli ${work}/build/echo_iosim)
set(iosim ${stage}/bin/iosim)
set(scenarios ${IOSIM_SOURCE_DIR}/examples/echo_server/scenarios)
set(racy_test --gtest_also_run_disabled_tests --gtest_filter=RacyEchoServer.DISABLED_CountsEveryByte)

# expect(CODE REGEX OUT COMMAND...): runs COMMAND, fails unless it exits CODE and prints something matching
# REGEX; OUT receives the output (stdout and stderr).
function(expect code regex out)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT status STREQUAL "${code}" OR NOT output MATCHES "${regex}")
    message(FATAL_ERROR "walkthrough: expected exit ${code} and /${regex}/ from ${ARGN}; got ${status}:\n${output}")
  endif()
  set(${out} "${output}" PARENT_SCOPE)
endfunction()

# 1. The failing seed's artifacts, opened by the installed iosim.
set(artifacts ${work}/artifacts)
file(REMOVE_RECURSE ${artifacts})
expect(1 "trace: +([^ \n]+\\.jsonl) \\(trace-hash ([0-9a-f]+)\\)" found
       ${CMAKE_COMMAND} -E env IOSIM_ARTIFACTS=${artifacts} ${tests} ${racy_test})
# The printed commands run a disabled test as they are: they ask for it.
if(NOT found MATCHES "reproduce: IOSIM_SEED=[0-9]+ [^\n]* --gtest_also_run_disabled_tests --gtest_filter=RacyEchoServer")
  message(FATAL_ERROR "walkthrough: the reproduce line does not run the disabled test:\n${found}")
endif()
string(REGEX MATCH "trace: +([^ \n]+\\.jsonl) \\(trace-hash ([0-9a-f]+)\\)" _ "${found}")
set(trace ${CMAKE_MATCH_1})
set(trace_hash ${CMAKE_MATCH_2})
string(REGEX MATCH "choices: +([^ \n]+\\.choices)" _ "${found}")
set(choices ${CMAKE_MATCH_1})
expect(0 "graph +[0-9]+ vertices, [0-9]+ edges" graphed ${iosim} graph ${trace})
expect(0 "perfetto: [0-9]+ events" exported ${iosim} trace ${trace} --perfetto ${artifacts}/racy.perfetto.json)
expect(0 "fd 0 = tcp#1\\(listener\\)" explained ${iosim} explain ${trace})  # the server names its fds
# 2. The shrunk schedule replays: the same failure, the same trace-hash.
expect(1 "trace-hash: ${trace_hash}" replayed ${CMAKE_COMMAND} -E env IOSIM_CHOICES=${choices} ${tests} ${racy_test})

# 3. Faults from the environment: the same names as `iosim run --fault`; a bad value names the variable.
expect(0 "PASSED" faulty ${CMAKE_COMMAND} -E env IOSIM_FAULTS=short_read=0.5,eintr=0.05 IOSIM_SEEDS=20 ${tests}
       --gtest_filter=EchoServer.EchoesEveryByteToEveryClient)
expect(1 "IOSIM_FAULTS" refused ${CMAKE_COMMAND} -E env IOSIM_FAULTS=no_such_fault=1 ${tests}
       --gtest_filter=EchoServer.EchoesEveryByteToEveryClient)

# 4. The example's own CLI on its own apps.
expect(0 "example_echo_server" listed ${cli} list)
expect(0 "trace-hash: [0-9a-f]+" ran ${cli} run ${scenarios}/echo_server.json --seed 1)
expect(1 "reproduce: echo_iosim run [^\n]* --seed ([0-9]+)" explored
       ${cli} explore ${scenarios}/racy_byte_count.json --seeds 1..300 --jobs 2)
string(REGEX MATCH "reproduce: echo_iosim run [^\n]* --seed ([0-9]+)" _ "${explored}")
set(seed ${CMAKE_MATCH_1})
expect(1 "shrink: [0-9]+ -> [0-9]+ choices" shrunk
       ${cli} shrink ${scenarios}/racy_byte_count.json --seed ${seed} -o ${artifacts}/racy.choices)
expect(1 "every echoed byte is counted" rerun ${cli} run ${scenarios}/racy_byte_count.json --choices ${artifacts}/racy.choices)
expect(0 "races +0 unordered" graph ${cli} graph ${scenarios}/echo_server.json --seed 1 --races)
expect(0 "diff: equal" diffed ${cli} diff ${scenarios}/echo_server.json)
message(STATUS "walkthrough: artifacts, replay (trace-hash ${trace_hash}), faults and echo_iosim (seed ${seed}) all as documented")
