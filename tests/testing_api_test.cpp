// tests/testing_api_test.cpp — the user API: run_world's outcomes (include/iosim/sim.hpp), IOSIM_TEST's seed
// loop and environment, iosim::check, and what a failure prints (testing_api_failures run as a subprocess).
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "iosim/testing.hpp"
#include "sim/choices_file.hpp"
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

// A send of 1000 bytes with MSG_DONTWAIT on a socketpair with room for them: what it took.
long dontwait_send(iosim::Os& os) {
  int fds[2];
  if (os.socketpair(iosim::AF::UNIX, iosim::SOCK::STREAM, 0, fds) != 0) return -1;
  const std::string block(1000, 'x');
  return os.send(fds[0], block.data(), block.size(), iosim::MSG::DONTWAIT);
}

// How long a blocking TCP connect over the loopback takes, in virtual ns: the SYN and the SYN-ACK each cross
// the simulated network.
std::int64_t connect_time_ns(iosim::Os& os) {
  const int listener = os.socket(iosim::AF::INET, iosim::SOCK::STREAM, 0);
  iosim::SockAddr address{iosim::loopback_ip, 0};
  if (os.bind(listener, address) != 0 || os.listen(listener, 1) != 0) return -1;
  if (os.getsockname(listener, &address) != 0) return -1;
  const int client = os.socket(iosim::AF::INET, iosim::SOCK::STREAM, 0);
  const std::int64_t start = os.monotonic_ns();
  if (os.connect(client, address) != 0) return -1;
  return os.monotonic_ns() - start;
}

TEST(RunWorld, FaultsReachTheWorldAndReplayExactly) {
  long clean = 0, first = 0, second = 0;
  const WorldResult without =
      iosim::run_world({.seed = 3}, [&](iosim::Os& os) { clean = dontwait_send(os); });
  const WorldResult with = iosim::run_world({.seed = 3, .faults = "short_write=1"},
                                            [&](iosim::Os& os) { first = dontwait_send(os); });
  const WorldResult again = iosim::run_world({.seed = 3, .faults = "short_write=1"},
                                             [&](iosim::Os& os) { second = dontwait_send(os); });
  EXPECT_EQ(clean, 1000);
  EXPECT_GT(first, 0);
  EXPECT_LT(first, 1000) << "short_write=1 offers the kernel fewer bytes than asked";
  EXPECT_EQ(first, second);
  EXPECT_EQ(with.trace_hash, again.trace_hash);
  EXPECT_NE(with.trace_hash, without.trace_hash) << "the injected fault is traced";
}

// 1000 bytes sent over a loopback TCP connection: how many the first recv returns.
long first_tcp_recv(iosim::Os& os) {
  const int listener = os.socket(iosim::AF::INET, iosim::SOCK::STREAM, 0);
  iosim::SockAddr address{iosim::loopback_ip, 0};
  if (os.bind(listener, address) != 0 || os.listen(listener, 1) != 0) return -1;
  if (os.getsockname(listener, &address) != 0) return -1;
  const int client = os.socket(iosim::AF::INET, iosim::SOCK::STREAM, 0);
  if (os.connect(client, address) != 0) return -1;
  const int server = os.accept4(listener, nullptr, 0);
  const std::string block(1000, 'x');
  if (os.send(client, block.data(), block.size(), 0) != 1000) return -1;
  std::string buffer(1000, '\0');
  return os.recv(server, buffer.data(), buffer.size(), 0);
}

// The names of the fault events in a world's trace (the JSON lines of WorldConfig::trace_out).
std::vector<std::string> traced_faults(iosim::WorldConfig config,
                                       const std::function<void(iosim::Os&)>& body) {
  std::ostringstream trace;
  config.trace_out = &trace;
  iosim::run_world(config, body);
  std::istringstream lines(trace.str());
  std::vector<std::string> faults;
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json event = nlohmann::json::parse(line);
    if (event.value("kind", "") == "fault") faults.push_back(event["name"]);
  }
  return faults;
}

TEST(RunWorld, NetworkFaultsReachTheKernel) {
  long received = 0;
  auto body = [&](iosim::Os& os) { received = first_tcp_recv(os); };
  EXPECT_TRUE(traced_faults({.seed = 3}, body).empty());
  const std::vector<std::string> faults = traced_faults({.seed = 3, .faults = "segment_split=1"}, body);
  EXPECT_EQ(received, 1000) << "a split segment's rest follows in order";
  ASSERT_FALSE(faults.empty());
  EXPECT_EQ(faults[0], "segment_split");
}

TEST(RunWorld, CheckFaultsSpeaksTheCliTable) {
  EXPECT_TRUE(iosim::check_faults("").is_ok());
  EXPECT_TRUE(iosim::check_faults("short_write=0.3,eintr=0.01,jitter_us=200").is_ok());
  EXPECT_EQ(iosim::check_faults("eintr=0.1,short_write=2").message(),
            "'short_write=2': short_write takes a probability in 0..1, got 2");
  EXPECT_NE(iosim::check_faults("bogus=1").message().find("unknown fault 'bogus' (known: eintr,"),
            std::string::npos);
  EXPECT_EQ(iosim::check_faults("eintr").message(), "'eintr': expected eintr=VALUE");
  EXPECT_EQ(iosim::check_faults("eintr=often").message(), "'eintr=often': 'often' is not a number");
}

TEST(RunWorld, ReplayingTheChoiceLogRunsTheSameSchedule) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    int counter = 0;
    const WorldResult original =
        iosim::run_world({.seed = seed}, [&](iosim::Os& os) { locked_counter(os, &counter); });
    ASSERT_EQ(original.choice_log.size(), original.choices);
    const WorldResult replayed = iosim::run_world({.seed = seed, .replay_choices = original.choice_log},
                                                  [&](iosim::Os& os) { locked_counter(os, &counter); });
    EXPECT_EQ(replayed.trace_hash, original.trace_hash) << "seed " << seed;
    EXPECT_EQ(replayed.strategy, "replay");
  }
}

TEST(RunWorld, WritesItsTraceAsJsonLines) {
  std::ostringstream trace;
  int counter = 0;
  const WorldResult result = iosim::run_world({.seed = 2, .trace_out = &trace},
                                              [&](iosim::Os& os) { locked_counter(os, &counter); });
  std::istringstream lines(trace.str());
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  const nlohmann::json header = nlohmann::json::parse(line);
  EXPECT_EQ(header["format"], "iosim-trace");
  EXPECT_EQ(header["trace_hash"], result.trace_hash_hex());
  std::uint64_t events = 0;
  std::set<std::string> tasks;
  while (std::getline(lines, line)) {
    const nlohmann::json event = nlohmann::json::parse(line);
    tasks.insert(event["task"].get<std::string>());
    ++events;
  }
  EXPECT_EQ(events, result.event_count);
  EXPECT_TRUE(tasks.contains("adder")) << trace.str().substr(0, 2000);
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

TEST(IosimTest, TheEnvironmentSetsFaultsAndLatency) {
  std::vector<long> sent;
  std::vector<std::int64_t> connects;
  auto body = [&](iosim::Os& os) {
    sent.push_back(dontwait_send(os));
    connects.push_back(connect_time_ns(os));
  };
  EXPECT_FALSE(iosim::testing::run_seeds({.seeds = 3}, body).failed);
  {
    ScopedEnvironment faults("IOSIM_FAULTS", "short_write=1");
    ScopedEnvironment latency("IOSIM_LATENCY_US", "50");
    EXPECT_FALSE(iosim::testing::run_seeds({.seeds = 3}, body).failed);
  }
  ASSERT_EQ(sent.size(), 6u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sent[i], 1000);
    EXPECT_LT(connects[i], 50'000);
    EXPECT_LT(sent[3 + i], 1000) << "IOSIM_FAULTS=short_write=1";
    EXPECT_GE(connects[3 + i], 100'000) << "IOSIM_LATENCY_US=50: the SYN and the SYN-ACK each wait 50 us";
  }
}

// A parameterized test's name has '/'s ("Slash/ArtifactNames.AreFileSafe/0"): its artifacts' names replace
// them, so the files land in the directory itself.
class ArtifactNames : public ::testing::TestWithParam<int> {};

TEST_P(ArtifactNames, AreFileSafe) {
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() / ("iosim_param_artifacts_" + std::to_string(getpid()));
  iosim::testing::SeedsReport report;
  {
    ::testing::TestPartResultArray failures;  // the seed's report, expected
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    report = iosim::testing::run_seeds({.seeds = 1, .artifacts_dir = directory.string()}, [](iosim::Os& os) {
      int fds[2];
      char byte = 0;
      if (os.pipe2(fds, 0) == 0) os.read(fds[0], &byte, 1);
    });
  }
  const std::string stem = (directory / "Slash_ArtifactNames.AreFileSafe_0-seed1").string();
  EXPECT_EQ(report.trace_path, stem + ".jsonl");
  EXPECT_EQ(report.choices_path, stem + ".choices");
  EXPECT_TRUE(std::filesystem::exists(stem + ".choices"));
  const iosim::Result<iosim::ChoicesFile> choices = iosim::read_choices_file(report.choices_path);
  ASSERT_TRUE(choices.is_ok()) << choices.error();
  EXPECT_EQ(choices.value().scenario, "gtest:Slash/ArtifactNames.AreFileSafe/0");
  std::filesystem::remove_all(directory);
}

INSTANTIATE_TEST_SUITE_P(Slash, ArtifactNames, ::testing::Values(7));

TEST(IosimTest, BadSettingsFaultsFailBeforeAnythingRuns) {
  EXPECT_NONFATAL_FAILURE(iosim::testing::run_seeds({.world = {.faults = "bogus=1"}}, [](iosim::Os&) {}),
                          "iosim: Settings::world.faults: 'bogus=1': unknown fault 'bogus'");
}

std::string stem_of(const std::filesystem::path& directory) {
  return (directory / "IosimTest.SettingsArtifactsDirWritesBothFiles-seed1").string();
}

// Settings::artifacts_dir, without the environment: the report names both files, and they hold this test's
// schedule and a trace.
TEST(IosimTest, SettingsArtifactsDirWritesBothFiles) {
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() / ("iosim_settings_artifacts_" + std::to_string(getpid()));
  iosim::testing::SeedsReport report;
  std::vector<std::string> messages;  // checked outside the interception, which would swallow their failures
  {
    ::testing::TestPartResultArray failures;
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    // Fails by its outcome (a gtest failure would be intercepted too, unseen by run_seeds): a read nobody
    // feeds.
    report = iosim::testing::run_seeds({.seeds = 3, .artifacts_dir = directory.string()}, [](iosim::Os& os) {
      int fds[2];
      char byte = 0;
      if (os.pipe2(fds, 0) == 0) os.read(fds[0], &byte, 1);
    });
    for (int i = 0; i < failures.size(); ++i) messages.emplace_back(failures.GetTestPartResult(i).message());
  }
  ASSERT_EQ(messages.size(), 1u) << ::testing::PrintToString(messages);  // the seed's report
  EXPECT_NE(messages[0].find("choices:  " + stem_of(directory) + ".choices"), std::string::npos)
      << messages[0];
  EXPECT_TRUE(report.failed);
  const std::string stem = stem_of(directory);
  EXPECT_EQ(report.trace_path, stem + ".jsonl");
  EXPECT_EQ(report.choices_path, stem + ".choices");
  const iosim::Result<iosim::ChoicesFile> choices = iosim::read_choices_file(report.choices_path);
  ASSERT_TRUE(choices.is_ok()) << choices.error();
  EXPECT_EQ(choices.value().scenario, "gtest:IosimTest.SettingsArtifactsDirWritesBothFiles");
  EXPECT_GT(std::filesystem::file_size(report.trace_path), 0u);
  std::filesystem::remove_all(directory);
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

TEST(FailureReport, GivesTheStepsAndTheChoicePointsForPct) {
  const Output output = run("", "LostUpdate.CounterIsExact");
  const std::string steps = first_match(output.text, R"(world: \w+ after (\d+) steps)");
  const std::string choices = first_match(output.text, R"(schedule: \d+ steps, (\d+) choice points)");
  ASSERT_FALSE(choices.empty()) << output.text;
  EXPECT_NE(output.text.find("schedule: " + steps + " steps, "), std::string::npos) << output.text;
  EXPECT_NE(output.text.find("set IOSIM_PCT_STEPS or Settings::world.pct_steps near " + choices + ")"),
            std::string::npos)
      << output.text;
}

// --- IOSIM_ARTIFACTS and IOSIM_CHOICES ---

// A directory of its own for one test's artifacts, removed at the end.
class ArtifactsDirectory {
 public:
  explicit ArtifactsDirectory(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("iosim_artifacts_" + name + "_" + std::to_string(getpid()))) {
    std::filesystem::remove_all(path_);
  }
  ~ArtifactsDirectory() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// What a failing IOSIM_TEST wrote under IOSIM_ARTIFACTS, and what its report said.
struct Written {
  Output output;
  std::string seed, trace, choices, artifacts_hash;
};

Written failure_with_artifacts(const std::string& directory, const std::string& test) {
  Written written{run("IOSIM_ARTIFACTS=" + directory, test), "", "", "", ""};
  written.seed = first_match(written.output.text, R"(failed at seed (\d+))");
  written.trace = first_match(written.output.text, R"(  trace: +(\S+\.jsonl) \(trace-hash)");
  written.artifacts_hash = first_match(written.output.text, R"(\.jsonl \(trace-hash ([0-9a-f]{16})\))");
  written.choices = first_match(written.output.text, R"(  choices: +(\S+\.choices))");
  return written;
}

TEST(Artifacts, AFailingSeedWritesItsTraceAndItsShrunkSchedule) {
  const ArtifactsDirectory directory("lost_update");
  const Written written = failure_with_artifacts(directory.path(), "LostUpdate.CounterIsExact");
  EXPECT_EQ(written.output.exit_code, 1) << written.output.text;
  ASSERT_FALSE(written.seed.empty()) << written.output.text;
  const std::string stem = directory.path() + "/LostUpdate.CounterIsExact-seed" + written.seed;
  EXPECT_EQ(written.trace, stem + ".jsonl") << written.output.text;
  EXPECT_EQ(written.choices, stem + ".choices") << written.output.text;
  EXPECT_NE(written.output.text.find("iosim graph " + stem + ".jsonl"), std::string::npos)
      << written.output.text;
  EXPECT_NE(written.output.text.find("iosim trace " + stem + ".jsonl --perfetto "), std::string::npos);
  EXPECT_NE(written.output.text.find("iosim explain " + stem + ".jsonl"), std::string::npos);
  EXPECT_NE(
      written.output.text.find("IOSIM_CHOICES=" + stem + ".choices " + std::string(IOSIM_FAILURES_PATH) +
                               " --gtest_filter=LostUpdate.CounterIsExact"),
      std::string::npos)
      << written.output.text;

  // The trace: the --trace-out header, then one event per line, the incrementers' among them.
  std::ifstream trace(written.trace);
  std::string line;
  ASSERT_TRUE(std::getline(trace, line)) << written.trace;
  const nlohmann::json header = nlohmann::json::parse(line);
  EXPECT_EQ(header["format"], "iosim-trace");
  EXPECT_EQ(header["trace_hash"], written.artifacts_hash);
  std::set<std::string> tasks;
  while (std::getline(trace, line)) tasks.insert(nlohmann::json::parse(line)["task"].get<std::string>());
  EXPECT_TRUE(tasks.contains("incrementer-1") && tasks.contains("incrementer-2")) << written.trace;

  // The schedule: this test's, no longer than the run's own choice log.
  const iosim::Result<iosim::ChoicesFile> choices = iosim::read_choices_file(written.choices);
  ASSERT_TRUE(choices.is_ok()) << choices.error();
  EXPECT_EQ(choices.value().scenario, "gtest:LostUpdate.CounterIsExact");
  EXPECT_EQ(std::to_string(choices.value().seed), written.seed);
  const std::string recorded = first_match(written.output.text, R"(schedule shrunk from (\d+) choices)");
  const std::string choice_points = first_match(written.output.text, R"(, (\d+) choice points)");
  ASSERT_FALSE(recorded.empty()) << written.output.text;
  EXPECT_EQ(recorded, choice_points);
  EXPECT_LE(choices.value().choices.size(), std::stoul(recorded));
}

// IOSIM_CHOICES replays the shrunk schedule: the same failure, the trace-hash of the artifacts' run. A test
// whose worker fails fatally shrinks and replays the same way (its replays stop their worlds too), and so
// does one that fails by its outcome alone (a deadlock on some schedules, no gtest failure).
TEST(Artifacts, IosimChoicesReplaysTheSameFailureAndTraceHash) {
  const struct {
    std::string test, failure;
  } cases[] = {{"LostUpdate.CounterIsExact", "world: completed after"},
               {"FatalInThread.StopsTheWorld", "world: task_failed after"},
               {"LostUpdateDeadlock.WaitsWhenTheCountIsWrong", "world: deadlock after"}};
  for (const auto& each : cases) {
    const ArtifactsDirectory directory("replay");
    const Written written = failure_with_artifacts(directory.path(), each.test);
    ASSERT_FALSE(written.choices.empty()) << written.output.text;
    ASSERT_FALSE(written.artifacts_hash.empty()) << written.output.text;
    const Output replayed = run("IOSIM_CHOICES=" + written.choices, each.test);
    EXPECT_EQ(replayed.exit_code, 1) << replayed.text;
    EXPECT_NE(replayed.text.find("failed at seed " + written.seed + " (strategy replay; seed 1 of "),
              std::string::npos)
        << replayed.text;
    EXPECT_NE(replayed.text.find(each.failure), std::string::npos) << replayed.text;
    EXPECT_NE(replayed.text.find("trace-hash: " + written.artifacts_hash), std::string::npos)
        << replayed.text;
    EXPECT_NE(replayed.text.find("reproduce: IOSIM_CHOICES=" + written.choices + " "), std::string::npos);
  }
}

// iosim::check writes the smallest failing case's artifacts; its IOSIM_CHOICES command carries RC_PARAMS, so
// the replay has the same inputs, the same failure and the artifacts' trace-hash.
TEST(Artifacts, ACheckWritesArtifactsThatReplayWithItsInputs) {
  const ArtifactsDirectory directory("check");
  const Written written = failure_with_artifacts(directory.path(), "LostUpdateProperty.CounterIsExact");
  EXPECT_EQ(written.output.exit_code, 1) << written.output.text;
  const std::string stem = directory.path() + "/LostUpdateProperty.CounterIsExact-seed";
  EXPECT_EQ(written.choices.rfind(stem, 0), 0u) << written.output.text;
  EXPECT_EQ(written.trace.rfind(stem, 0), 0u) << written.output.text;
  const std::string params =
      first_match(written.output.text, R"re(    RC_PARAMS="([^"]+)" IOSIM_CHOICES=)re");
  ASSERT_FALSE(params.empty()) << written.output.text;
  ASSERT_FALSE(written.artifacts_hash.empty()) << written.output.text;

  const Output replayed =
      run("RC_PARAMS='" + params + "' IOSIM_CHOICES=" + written.choices, "LostUpdateProperty.CounterIsExact");
  EXPECT_EQ(replayed.exit_code, 1) << replayed.text;
  EXPECT_NE(replayed.text.find("(strategy replay): task_failed after"), std::string::npos) << replayed.text;
  EXPECT_NE(replayed.text.find("trace-hash: " + written.artifacts_hash), std::string::npos) << replayed.text;
  EXPECT_NE(replayed.text.find("IOSIM_CHOICES=" + written.choices + " "), std::string::npos) << replayed.text;
}

TEST(Artifacts, ABadScheduleFileNamesTheFileAndTheLine) {
  const ArtifactsDirectory directory("bad");
  std::filesystem::create_directories(directory.path());
  const std::string malformed = directory.path() + "/malformed.choices";
  std::ofstream(malformed) << "# iosim choices v1\nscenario gtest:LostUpdate.CounterIsExact\nseed 2\n"
                              "strategy replay\nchoices 3\n0 x 1\n";
  const Output bad = run("IOSIM_CHOICES=" + malformed, "LostUpdate.CounterIsExact");
  EXPECT_EQ(bad.exit_code, 1) << bad.text;
  EXPECT_NE(
      bad.text.find("iosim: IOSIM_CHOICES: " + malformed + ":6: expected an unsigned integer, got \"x\""),
      std::string::npos)
      << bad.text;

  const Output missing =
      run("IOSIM_CHOICES=" + directory.path() + "/none.choices", "LostUpdate.CounterIsExact");
  EXPECT_EQ(missing.exit_code, 1) << missing.text;
  EXPECT_NE(missing.text.find("iosim: IOSIM_CHOICES: " + directory.path() + "/none.choices: cannot open"),
            std::string::npos)
      << missing.text;

  const std::string other = directory.path() + "/other.choices";
  std::ofstream(other) << "# iosim choices v1\nscenario gtest:Deadlock.ReaderWaitsForever\nseed 2\n"
                          "strategy replay\nchoices 0\n";
  const Output wrong_test = run("IOSIM_CHOICES=" + other, "LostUpdate.CounterIsExact");
  EXPECT_EQ(wrong_test.exit_code, 1) << wrong_test.text;
  EXPECT_NE(
      wrong_test.text.find(other + ":2: the schedule of 'gtest:Deadlock.ReaderWaitsForever', not of this "
                                   "test ('gtest:LostUpdate.CounterIsExact')"),
      std::string::npos)
      << wrong_test.text;
}

// --- faults, pct and latency from the environment ---

TEST(FailureReport, IosimFaultsInjectsAndReplaysExactly) {
  const Output clean = run("", "ShortWrite.SendTakesEveryByte");
  EXPECT_EQ(clean.exit_code, 0) << clean.text;
  const Output faulty = run("IOSIM_FAULTS=short_write=1,eintr=0", "ShortWrite.SendTakesEveryByte");
  EXPECT_EQ(faulty.exit_code, 1) << faulty.text;
  EXPECT_NE(faulty.text.find("failed at seed 1 "), std::string::npos) << faulty.text;
  EXPECT_NE(faulty.text.find("faults: short_write=1,eintr=0"), std::string::npos) << faulty.text;
  const std::string hash = first_match(faulty.text, R"(trace-hash: ([0-9a-f]{16}))");
  ASSERT_FALSE(hash.empty()) << faulty.text;
  const std::string reproduce = "reproduce: IOSIM_SEED=1 IOSIM_FAULTS=short_write=1,eintr=0 " +
                                std::string(IOSIM_FAILURES_PATH) +
                                " --gtest_filter=ShortWrite.SendTakesEveryByte";
  EXPECT_NE(faulty.text.find(reproduce), std::string::npos) << faulty.text;
  const Output again =
      run("IOSIM_SEED=1 IOSIM_FAULTS=short_write=1,eintr=0", "ShortWrite.SendTakesEveryByte");
  EXPECT_NE(again.text.find("trace-hash: " + hash), std::string::npos) << again.text;
}

TEST(FailureReport, TheReproduceLineRepeatsEveryVariableThatChangesTheRun) {
  const Output output =
      run("IOSIM_LATENCY_US=3 IOSIM_PCT_STEPS=50 IOSIM_PCT_DEPTH=2 IOSIM_STRATEGY=pct "
          "IOSIM_FAULTS=eintr=0.01",
          "Deadlock.ReaderWaitsForever");
  EXPECT_EQ(output.exit_code, 1) << output.text;
  EXPECT_NE(
      output.text.find("IOSIM_FAULTS=eintr=0.01 IOSIM_STRATEGY=pct IOSIM_PCT_DEPTH=2 IOSIM_PCT_STEPS=50 "
                       "IOSIM_LATENCY_US=3 " +
                       std::string(IOSIM_FAILURES_PATH)),
      std::string::npos)
      << output.text;
}

TEST(FailureReport, ABadValueNamesItsVariable) {
  const struct {
    std::string environment, message;
  } cases[] = {
      {"IOSIM_FAULTS=short_write=2",
       "iosim: IOSIM_FAULTS: 'short_write=2': short_write takes a probability in 0..1"},
      {"IOSIM_FAULTS=eintr=0.1,shortwrite=1",
       "iosim: IOSIM_FAULTS: 'shortwrite=1': unknown fault 'shortwrite'"},
      {"IOSIM_PCT_DEPTH=0", "iosim: IOSIM_PCT_DEPTH=0 is out of range 1..64"},
      {"IOSIM_PCT_DEPTH=deep", "iosim: IOSIM_PCT_DEPTH='deep' is not an unsigned decimal number"},
      {"IOSIM_PCT_STEPS=0", "iosim: IOSIM_PCT_STEPS=0 is out of range 1..1099511627776"},
      {"IOSIM_LATENCY_US=5ms", "iosim: IOSIM_LATENCY_US='5ms' is not an unsigned decimal number"},
      {"IOSIM_LATENCY_US=60000001", "iosim: IOSIM_LATENCY_US=60000001 is out of range 0..60000000"},
  };
  for (const auto& each : cases) {
    const Output output = run(each.environment, "LostUpdate.CounterIsExact");
    EXPECT_EQ(output.exit_code, 1) << each.environment << "\n" << output.text;
    EXPECT_NE(output.text.find(each.message), std::string::npos) << each.environment << "\n" << output.text;
    EXPECT_EQ(output.text.find("failed at seed"), std::string::npos) << "nothing runs: " << output.text;
  }
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
