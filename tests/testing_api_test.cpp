// tests/testing_api_test.cpp — the user API: run_world's outcomes (include/iosim/sim.hpp), IOSIM_TEST's seed
// loop and environment, iosim::check, and what a failure prints (testing_api_failures run as a subprocess).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "iosim/testing.hpp"
#include "tests/shell_support.hpp"

namespace {

using iosim::WorldResult;

// Three threads add to a counter under a mutex: completes on every schedule.
void locked_counter(iosim::Os& os, int* counter) {
  auto mutex = os.mutex_create();
  std::vector<std::unique_ptr<iosim::Thread>> threads;
  for (int t = 0; t < 3; ++t) {
    threads.push_back(os.thread_create("adder", [&] {
      for (int i = 0; i < 10; ++i) {
        iosim::LockGuard lock(*mutex);
        const int seen = *counter;
        os.sleep_for(1);
        *counter = seen + 1;
      }
    }));
  }
  for (auto& thread : threads) thread->join();
}

TEST(RunWorld, SameSeedSameRunAndSeedsDiffer) {
  std::set<std::uint64_t> hashes;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    int first_count = 0, second_count = 0;
    const WorldResult first =
        iosim::run_world({.seed = seed}, [&](iosim::Os& os) { locked_counter(os, &first_count); });
    const WorldResult second =
        iosim::run_world({.seed = seed}, [&](iosim::Os& os) { locked_counter(os, &second_count); });
    ASSERT_TRUE(first.passed()) << first.summary();
    EXPECT_EQ(first_count, 30);
    EXPECT_EQ(first.trace_hash, second.trace_hash);
    EXPECT_EQ(first.steps, second.steps);
    EXPECT_EQ(first.seed, seed);
    EXPECT_GT(first.choices, 0u);
    hashes.insert(first.trace_hash);
  }
  EXPECT_GT(hashes.size(), 1u) << "different seeds should schedule the threads differently";
}

TEST(RunWorld, ReportsADeadlockWithEveryBlockedTask) {
  const WorldResult result = iosim::run_world({}, [](iosim::Os& os) {
    int fds[2];
    ASSERT_EQ(os.pipe2(fds, 0), 0);
    auto reader = os.thread_create("reader", [&] {
      char byte = 0;
      os.read(fds[0], &byte, 1);
    });
    reader->join();
  });
  EXPECT_EQ(result.outcome, WorldResult::Outcome::deadlock);
  ASSERT_EQ(result.blocked.size(), 2u);
  EXPECT_EQ(result.blocked[0].name, "main");
  EXPECT_EQ(result.blocked[1].name, "reader");
  EXPECT_NE(result.summary().find("deadlock after"), std::string::npos) << result.summary();
  EXPECT_NE(result.summary().find("reader in"), std::string::npos) << result.summary();
  EXPECT_EQ(result.trace_hash_hex().size(), 16u);
}

TEST(RunWorld, HandsBackWhatTheMainTaskThrew) {
  const WorldResult result = iosim::run_world({}, [](iosim::Os& os) {
    auto idle = os.thread_create("idle", [&] { os.sleep_for(1'000'000); });
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(result.outcome, WorldResult::Outcome::task_failed);
  EXPECT_NE(result.failure.find("boom"), std::string::npos) << result.failure;
  ASSERT_TRUE(result.exception);
  EXPECT_THROW(std::rethrow_exception(result.exception), std::runtime_error);
}

TEST(RunWorld, StopsAtTheStepLimit) {
  const WorldResult result = iosim::run_world({.step_max = 1000}, [](iosim::Os& os) {
    for (;;) os.monotonic_ns();
  });
  EXPECT_EQ(result.outcome, WorldResult::Outcome::step_limit);
  EXPECT_EQ(result.steps, 1000u);
}

TEST(RunWorld, StrategyNames) {
  EXPECT_TRUE(iosim::is_strategy_name("random"));
  EXPECT_TRUE(iosim::is_strategy_name("pct"));
  EXPECT_TRUE(iosim::is_strategy_name("rr"));
  EXPECT_FALSE(iosim::is_strategy_name("replay"));
}

IOSIM_TEST(IosimTest, MutexProtectedCounterIsExact) {
  int counter = 0;
  locked_counter(os, &counter);
  EXPECT_EQ(counter, 30);
  EXPECT_EQ(&iosim::testing::os(), &os);
}

IOSIM_TEST_WITH(IosimTest, SettingsReachTheWorld,
                {.seeds = 3, .world = {.strategy = "pct", .latency_ns = 5'000}}) {
  int fds[2];
  ASSERT_EQ(os.socketpair(iosim::AF::UNIX, iosim::SOCK::STREAM, 0, fds), 0);
  const std::int64_t start = os.monotonic_ns();
  os.sleep_for(5'000);
  EXPECT_GE(os.monotonic_ns() - start, 5'000);
}

// Environment variables are read per run: set them around run_seeds and restore them after.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnvironment() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(IosimTest, RunsTheConfiguredSeedsAndTheEnvironmentOverrides) {
  int runs = 0;
  auto body = [&](iosim::Os& os) {
    ++runs;
    os.sleep_for(1);
  };
  EXPECT_EQ(iosim::testing::run_seeds({.seeds = 7}, body).seeds_run, 7u);
  EXPECT_EQ(runs, 7);
  {
    ScopedEnvironment seeds("IOSIM_SEEDS", "4");
    EXPECT_EQ(iosim::testing::run_seeds({.seeds = 7}, body).seeds_run, 4u);
  }
  {
    ScopedEnvironment seed("IOSIM_SEED", "42");
    EXPECT_EQ(iosim::testing::run_seeds({.seeds = 7}, body).seeds_run, 1u);
  }
  EXPECT_EQ(runs, 12);
}

TEST(IosimCheck, APropertyThatHoldsPasses) {
  EXPECT_TRUE(iosim::check("a socketpair delivers every byte", [](iosim::Os& os, const std::string& bytes) {
    int fds[2];
    RC_ASSERT(os.socketpair(iosim::AF::UNIX, iosim::SOCK::STREAM, 0, fds) == 0);
    auto writer = os.thread_create("writer", [&] {
      if (!bytes.empty()) os.send(fds[1], bytes.data(), bytes.size(), 0);
      os.shutdown(fds[1], iosim::SHUT::WR);
    });
    std::string received;
    char buffer[64];
    for (long got; (got = os.recv(fds[0], buffer, sizeof buffer, 0)) > 0;) received.append(buffer, got);
    writer->join();
    RC_ASSERT(received == bytes);
  }));
}

// --- what a failure prints: the failing binary as a subprocess ---

struct Output {
  int exit_code;
  std::string text;  // stdout and stderr together
};

Output run(const std::string& environment, const std::string& filter) {
  const iosim::test::ShellOutcome outcome = iosim::test::run_shell(
      environment + " '" + std::string(IOSIM_FAILURES_PATH) + "' --gtest_filter=" + filter);
  return {outcome.exit_code, outcome.output};
}

std::string first_match(const std::string& text, const std::string& pattern) {
  std::smatch match;
  if (!std::regex_search(text, match, std::regex(pattern))) return "";
  return match[1];
}

TEST(FailureReport, NamesTheSeedTheHashAndAReproduceLineThatReproduces) {
  const Output found = run("", "LostUpdate.CounterIsExact");
  EXPECT_EQ(found.exit_code, 1) << found.text;
  const std::string seed =
      first_match(found.text, R"(failed at seed (\d+) \(strategy random; seed \d+ of 1\.\.100\))");
  ASSERT_FALSE(seed.empty()) << found.text;
  const std::string hash = first_match(found.text, R"(trace-hash: ([0-9a-f]{16}))");
  ASSERT_FALSE(hash.empty()) << found.text;
  const std::string reproduce = "reproduce: IOSIM_SEED=" + seed + " " + std::string(IOSIM_FAILURES_PATH) +
                                " --gtest_filter=LostUpdate.CounterIsExact";
  EXPECT_NE(found.text.find(reproduce), std::string::npos) << found.text;

  const Output replayed = run("IOSIM_SEED=" + seed, "LostUpdate.CounterIsExact");
  EXPECT_EQ(replayed.exit_code, 1) << replayed.text;
  EXPECT_NE(
      replayed.text.find("failed at seed " + seed + " (strategy random; seed 1 of " + seed + ".." + seed),
      std::string::npos)
      << replayed.text;
  EXPECT_NE(replayed.text.find("trace-hash: " + hash), std::string::npos) << replayed.text;
}

TEST(FailureReport, ASeedBeforeTheFailingOnePasses) {
  const std::string seed = first_match(run("", "LostUpdate.CounterIsExact").text, R"(failed at seed (\d+))");
  ASSERT_FALSE(seed.empty());
  if (seed == "1") GTEST_SKIP() << "seed 1 already fails";
  const Output earlier = run("IOSIM_SEED=1", "LostUpdate.CounterIsExact");
  EXPECT_EQ(earlier.exit_code, 0) << earlier.text;
}

TEST(FailureReport, ADeadlockNamesEveryBlockedTask) {
  const Output output = run("", "Deadlock.ReaderWaitsForever");
  EXPECT_EQ(output.exit_code, 1) << output.text;
  EXPECT_NE(output.text.find("failed at seed 1 "), std::string::npos) << output.text;
  EXPECT_NE(output.text.find("world: deadlock after"), std::string::npos) << output.text;
  EXPECT_NE(output.text.find("reader in sk_sleep"), std::string::npos) << output.text;
}

TEST(FailureReport, AFatalFailureInAThreadStopsTheWorld) {
  const Output output = run("", "FatalInThread.StopsTheWorld");
  EXPECT_EQ(output.exit_code, 1) << output.text;
  EXPECT_NE(output.text.find("the worker gives up"), std::string::npos) << output.text;
  EXPECT_NE(output.text.find("world: task_failed after"), std::string::npos) << output.text;
  EXPECT_NE(output.text.find("task worker threw: fatal failure at"), std::string::npos) << output.text;
}

TEST(FailureReport, AnAssertionThatStopsTheProcessSaysHowToReplay) {
  const Output output = run("", "ProgrammerError.ForeignMutex");
  EXPECT_NE(output.exit_code, 0) << output.text;
  EXPECT_NE(output.text.find("CondVar::wait with a Mutex from another Os"), std::string::npos) << output.text;
  EXPECT_NE(
      output.text.find("while running seed 1, strategy random; reproduce: IOSIM_SEED=1 " +
                       std::string(IOSIM_FAILURES_PATH) + " --gtest_filter=ProgrammerError.ForeignMutex"),
      std::string::npos)
      << output.text;
}

TEST(FailureReport, TheStrategyComesFromTheEnvironmentAndIsChecked) {
  const Output rr = run("IOSIM_STRATEGY=rr", "LostUpdate.CounterIsExact");
  EXPECT_NE(rr.text.find("(strategy rr;"), std::string::npos) << rr.text;
  EXPECT_NE(rr.text.find("reproduce: IOSIM_SEED=1 IOSIM_STRATEGY=rr "), std::string::npos) << rr.text;
  const Output bad = run("IOSIM_STRATEGY=fifo", "LostUpdate.CounterIsExact");
  EXPECT_EQ(bad.exit_code, 1) << bad.text;
  EXPECT_NE(bad.text.find("strategy 'fifo' (IOSIM_STRATEGY or Settings::world) is not random, rr or pct"),
            std::string::npos)
      << bad.text;
  const Output bad_seed = run("IOSIM_SEED=seventeen", "LostUpdate.CounterIsExact");
  EXPECT_NE(bad_seed.text.find("IOSIM_SEED='seventeen' is not an unsigned decimal number"), std::string::npos)
      << bad_seed.text;
}

TEST(FailureReport, ACheckShrinksInputAndSeedAndReproduces) {
  const Output found = run("", "LostUpdateProperty.CounterIsExact");
  EXPECT_EQ(found.exit_code, 1) << found.text;
  EXPECT_NE(found.text.find("iosim::check \"counter is exact\" failed"), std::string::npos) << found.text;
  const std::string seed =
      first_match(found.text, R"(smallest failing case ran world seed (\d+) \(strategy random\))");
  ASSERT_FALSE(seed.empty()) << found.text;
  const std::string hash = first_match(found.text, R"(trace-hash: ([0-9a-f]{16}))");
  const std::string params = first_match(found.text, R"re(reproduce: RC_PARAMS="([^"]+)")re");
  ASSERT_NE(params.find("reproduce="), std::string::npos) << found.text;
  EXPECT_NE(found.text.find("--gtest_filter=LostUpdateProperty.CounterIsExact"), std::string::npos);

  const Output replayed = run("RC_PARAMS='" + params + "'", "LostUpdateProperty.CounterIsExact");
  EXPECT_EQ(replayed.exit_code, 1) << replayed.text;
  EXPECT_NE(replayed.text.find("world seed " + seed + " "), std::string::npos) << replayed.text;
  EXPECT_NE(replayed.text.find("trace-hash: " + hash), std::string::npos) << replayed.text;
}

}  // namespace
