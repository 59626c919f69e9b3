// tests/determinism_test.cpp — the project's first promise: the same seed gives the same run (trace-hash),
// over 100 seeds for every bundled scenario, and different seeds give different schedules.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

#include "tools/driver.hpp"

namespace iosim {
namespace {

std::string source_dir() {
  const char* dir = std::getenv("IOSIM_SOURCE_DIR");
  return dir ? dir : ".";
}

class Determinism : public ::testing::TestWithParam<std::string> {};

TEST_P(Determinism, SameSeedSameTraceHashAndSeedsDiffer) {
  Result<ScenarioSpec> loaded = load_scenario_file(source_dir() + "/scenarios/" + GetParam() + ".json");
  ASSERT_TRUE(loaded) << loaded.status().message();
  const ScenarioSpec& spec = loaded.value();
  constexpr std::uint64_t seed_count = 100;
  std::set<std::uint64_t> distinct;
  for (std::uint64_t seed = 1; seed <= seed_count; ++seed) {
    const RunRequest request{"sim", seed, std::nullopt, false};
    const RunReport first = run_scenario(spec, request);
    const RunReport second = run_scenario(spec, request);
    ASSERT_TRUE(first.passed) << "seed " << seed << " failed: " << reproduce_command(spec, first);
    ASSERT_EQ(first.sim->trace_hash, second.sim->trace_hash) << "seed " << seed << " is not deterministic";
    ASSERT_EQ(first.sim->choices, second.sim->choices);
    distinct.insert(first.sim->trace_hash);
  }
  // Different seeds must explore different schedules: nearly every seed should give its own trace.
  EXPECT_GE(distinct.size(), seed_count * 9 / 10);
}

INSTANTIATE_TEST_SUITE_P(EchoScenarios, Determinism,
                         ::testing::Values("echo_blocking_threads", "echo_nonblocking_poll_loop", "echo_select",
                                           "echo_poll"));
// The epoll servers: thread pools sharing one epoll fd or one listener, the reactor's timers, the http workload.
INSTANTIATE_TEST_SUITE_P(EpollScenarios, Determinism,
                         ::testing::Values("echo_epoll_lt", "echo_epoll_et", "echo_epoll_oneshot_threads",
                                           "echo_epoll_exclusive", "reactor_echo", "reactor_http",
                                           "echo_selectors"));
// The IOCP servers: a worker pool on one port, an OVERLAPPED->callback loop, the Proactor on IOCP and epoll.
INSTANTIATE_TEST_SUITE_P(IocpScenarios, Determinism,
                         ::testing::Values("iocp_pool", "iocp_accept_callbacks", "proactor_echo",
                                           "proactor_echo_epoll"));

}  // namespace
}  // namespace iosim
