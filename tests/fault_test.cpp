// tests/fault_test.cpp — the fault plan: faults are legal results, decided by the run's seed (same seed and
// plan → same trace-hash), visible in the trace, and the bundled servers survive the recoverable ones.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "tools/driver.hpp"

namespace iosim {
namespace {

std::string scenario_path(const std::string& name) {
  const char* dir = std::getenv("IOSIM_SOURCE_DIR");
  return std::string(dir ? dir : ".") + "/scenarios/" + name + ".json";
}

RunReport run_with(const ScenarioSpec& spec, std::uint64_t seed, const std::vector<std::string>& faults,
                   bool capture = false) {
  RunRequest request{"sim", seed, std::nullopt, capture};
  EXPECT_TRUE(apply_faults(request, faults));
  return run_scenario(spec, request);
}

TEST(FaultPlan, ParsesNamesAndRejectsBadOnes) {
  RunRequest request;
  EXPECT_TRUE(apply_faults(request, {"eintr=0.25", "segment_split=1", "jitter_us=150"}));
  const FaultPlan plan = effective_faults(ScenarioSpec{}, request);
  EXPECT_DOUBLE_EQ(plan.syscalls.eintr, 0.25);
  EXPECT_DOUBLE_EQ(plan.network.segment_split, 1.0);
  EXPECT_EQ(plan.network.latency_jitter_ns, 150'000);
  for (const char* bad : {"eintr", "eintr=2", "eintr=-0.1", "eintr=abc", "bogus=0.1", "jitter_us=-5"}) {
    RunRequest other;
    const Status status = apply_faults(other, {bad});
    EXPECT_FALSE(status) << bad;
    EXPECT_NE(status.message().find(bad), std::string::npos) << status.message();
  }
}

TEST(FaultPlan, SameSeedSamePlanSameRunAndFaultsAreTraced) {
  Result<ScenarioSpec> spec = load_scenario_file(scenario_path("echo_poll"));
  ASSERT_TRUE(spec) << spec.status().message();
  const std::vector<std::string> plan{"eintr=0.05", "short_read=0.3", "segment_split=0.3", "jitter_us=100"};
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    const RunReport first = run_with(spec.value(), seed, plan);
    const RunReport second = run_with(spec.value(), seed, plan);
    ASSERT_TRUE(first.passed) << reproduce_command(spec.value(), first);
    ASSERT_EQ(first.sim->trace_hash, second.sim->trace_hash) << "seed " << seed;
    const RunReport clean = run_with(spec.value(), seed, {});
    EXPECT_NE(first.sim->trace_hash, clean.sim->trace_hash)
        << "seed " << seed << ": the plan changed nothing";
  }
  int faults_seen = 0;
  RunRequest request{"sim", 3, std::nullopt, true};
  ASSERT_TRUE(apply_faults(request, plan));
  run_scenario(spec.value(), request, [&](SimOs& os) {
    for (const sim::TraceEvent& event : os.trace().events())
      faults_seen += event.kind == sim::EventKind::fault;
  });
  EXPECT_GT(faults_seen, 0);
}

// Regression: short_write once shortened write() on an eventfd, which Linux never does (8 bytes or EINVAL);
// the one-shot pool wakes its threads through an eventfd.
TEST(FaultPlan, ShortWritesNeverTouchEventfds) {
  Result<ScenarioSpec> spec = load_scenario_file(scenario_path("echo_epoll_oneshot_threads"));
  ASSERT_TRUE(spec) << spec.status().message();
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const RunReport report = run_with(spec.value(), seed, {"short_write=0.3", "short_read=0.3"});
    EXPECT_TRUE(report.passed) << reproduce_command(spec.value(), report);
  }
}

TEST(FaultPlan, ReproduceLineCarriesTheFaults) {
  Result<ScenarioSpec> spec = load_scenario_file(scenario_path("echo_select"));
  ASSERT_TRUE(spec);
  const RunReport report = run_with(spec.value(), 1, {"enobufs=0.5"});
  EXPECT_FALSE(report.passed);  // the echo client does not retry ENOBUFS: a real finding, reproducible
  EXPECT_NE(reproduce_command(spec.value(), report).find("--fault enobufs=0.5"), std::string::npos);
}

TEST(FaultPlan, ResetFaultResetsBothEnds) {
  Result<ScenarioSpec> spec = load_scenario_file(scenario_path("echo_blocking_threads"));
  ASSERT_TRUE(spec);
  const RunReport report = run_with(spec.value(), 2, {"reset=1"});
  ASSERT_FALSE(report.passed);
  bool client_saw_reset = false;
  for (const ClientReport& client : report.observation.clients) {
    client_saw_reset = client_saw_reset || client.error.find("ECONNRESET") != std::string::npos;
  }
  EXPECT_TRUE(client_saw_reset || report.observation.server_error.find("ECONNRESET") != std::string::npos);
}

// ENOMEM comes before the call does anything (a failed accept4 leaves the connection queued). The bundled
// select server does not retry it: it stops with the error, the same way on every run of the seed.
TEST(FaultPlan, EnomemStopsTheServerReproducibly) {
  Result<ScenarioSpec> spec = load_scenario_file(scenario_path("echo_select"));
  ASSERT_TRUE(spec);
  const RunReport report = run_with(spec.value(), 1, {"enomem=1"});
  EXPECT_FALSE(report.passed);
  EXPECT_NE(report.observation.server_error.find("ENOMEM"), std::string::npos) << report.observation.server_error;
  const RunReport again = run_with(spec.value(), 1, {"enomem=1"});
  ASSERT_TRUE(report.sim && again.sim);
  EXPECT_EQ(report.sim->trace_hash, again.sim->trace_hash);
}

// The scenario file's "faults" object is the same plan as --fault: the same run, the same trace-hash.
TEST(FaultPlan, ScenarioFileFaultsRunLikeTheCommandLine) {
  Result<ScenarioSpec> plain = load_scenario_file(scenario_path("echo_poll"));
  ASSERT_TRUE(plain);
  ScenarioSpec with_file_faults = plain.value();
  ASSERT_TRUE(set_fault(with_file_faults.faults, "eintr", 0.2));
  ASSERT_TRUE(set_fault(with_file_faults.faults, "jitter_us", 100));
  const RunReport from_cli = run_with(plain.value(), 5, {"eintr=0.2", "jitter_us=100"});
  const RunReport from_file = run_with(with_file_faults, 5, {});
  ASSERT_TRUE(from_cli.sim && from_file.sim);
  EXPECT_EQ(from_file.sim->trace_hash, from_cli.sim->trace_hash);
  EXPECT_NE(from_file.sim->trace_hash, run_with(plain.value(), 5, {}).sim->trace_hash);
}

TEST(FaultPlan, CommandLineOverridesTheFileByName) {
  ScenarioSpec spec;
  ASSERT_TRUE(set_fault(spec.faults, "eintr", 0.5));
  ASSERT_TRUE(set_fault(spec.faults, "reset", 0.25));
  RunRequest request;
  ASSERT_TRUE(apply_faults(request, {"eintr=0"}));
  const FaultPlan plan = effective_faults(spec, request);
  EXPECT_EQ(plan.syscalls.eintr, 0.0);
  EXPECT_EQ(plan.network.reset, 0.25);
}

}  // namespace
}  // namespace iosim
