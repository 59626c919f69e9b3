// tests/user_app_cli_test.cpp — the CLI on a user's own apps: tests/user_apps/user_apps.cpp registers a
// server app and two world apps with IOSIM_APP and links iosim::cli_main; every command works on them beside
// the bundled apps, with exit codes 0/1/2 and reproduce lines that name the user's binary and reproduce.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include "tests/shell_support.hpp"

namespace {

using Outcome = iosim::test::ShellOutcome;
using iosim::test::env_or;

const std::string source_dir = env_or("IOSIM_SOURCE_DIR", ".");
const std::string user_cli = IOSIM_USER_CLI_PATH;
const std::string binary_name = std::filesystem::path(user_cli).filename().string();

Outcome user(const std::string& arguments) {
  return iosim::test::run_shell("cd '" + source_dir + "' && '" + user_cli + "' " + arguments);
}

std::string temp_path(const std::string& name) {
  const auto directory =
      std::filesystem::temp_directory_path() / fmt::format("iosim_user_cli_{}", ::getpid());
  std::filesystem::create_directories(directory);
  return (directory / name).string();
}

std::string write_temp(const std::string& name, const std::string& content) {
  const std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// The command after "reproduce: <binary> ", to run again with the binary's full path.
std::string reproduce_arguments(const std::string& output) {
  std::smatch match;
  if (!std::regex_search(output, match, std::regex("reproduce: " + binary_name + " ([^\n]+)"))) return {};
  return match[1].str();
}

const std::regex trace_hash_line("trace-hash: [0-9a-f]{16}");

TEST(UserAppCli, ListShowsTheUsersAppsSortedAmongTheBundledOnes) {
  const Outcome list = user("list");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  const std::size_t bundled = list.output.find("  echo_poll ");
  const std::size_t locked = list.output.find("  user_locked_update ");
  const std::size_t lost = list.output.find("  user_lost_update ");
  const std::size_t server = list.output.find("  user_sequential_echo ");
  ASSERT_NE(bundled, std::string::npos) << list.output;
  ASSERT_NE(server, std::string::npos) << list.output;
  EXPECT_LT(bundled, locked);
  EXPECT_LT(locked, lost);
  EXPECT_LT(lost, server);
  EXPECT_NE(list.output.find("user_lost_update             [registered] [world] "), std::string::npos)
      << list.output;
  EXPECT_NE(list.output.find("param backlog (default 16, 1..1024)"), std::string::npos) << list.output;
}

TEST(UserAppCli, AServerAppRunsAsABundledOneDoes) {
  const Outcome run = user("run tests/user_apps/sequential_echo.json --seed 3");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("3/3 clients echoed in order"), std::string::npos) << run.output;
  EXPECT_TRUE(std::regex_match(run.last_line(), trace_hash_line)) << run.last_line();
  EXPECT_EQ(user("run tests/user_apps/sequential_echo.json --seed 3").last_line(), run.last_line());
}

TEST(UserAppCli, AWorldAppThatHoldsPassesEverySeed) {
  const Outcome explore = user("explore tests/user_apps/locked_update.json --seeds 1..30 --jobs 2");
  EXPECT_EQ(explore.exit_code, 0) << explore.output;
  EXPECT_NE(explore.last_line().find("30 of 30 seeds run, 0 failure(s)"), std::string::npos)
      << explore.output;
  const Outcome run = user("run tests/user_apps/locked_update.json --seed 7");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("app_checks           pass"), std::string::npos) << run.output;
}

// A failed app_check is a failed check: its message and place in the report, and a reproduce line that names
// the user's binary and fails again the same way.
TEST(UserAppCli, AFailedAppCheckIsReportedWithAReproduceLineThatReproduces) {
  const Outcome explore = user("explore tests/user_apps/lost_update.json --seeds 1..20 --jobs 2");
  ASSERT_EQ(explore.exit_code, 1) << explore.output;
  EXPECT_NE(explore.output.find("app_checks: app_check failed: both increments are kept, counter is 1 ("),
            std::string::npos)
      << explore.output;
  EXPECT_NE(explore.output.find("user_apps.cpp:"), std::string::npos) << explore.output;
  const std::string again = reproduce_arguments(explore.output);
  ASSERT_TRUE(again.starts_with("run tests/user_apps/lost_update.json --seed ")) << explore.output;
  const Outcome run = user(again);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("app_checks           FAIL  app_check failed: both increments are kept"),
            std::string::npos)
      << run.output;
  EXPECT_EQ(reproduce_arguments(run.output), again);
}

TEST(UserAppCli, ExploreWorkersRunTheUsersAppsAndWriteResults) {
  const std::string results = temp_path("results.jsonl");
  const Outcome explore = user(
      "explore tests/user_apps/lost_update.json --seeds 1..6 --jobs 3 --keep-going --results " + results);
  EXPECT_EQ(explore.exit_code, 1) << explore.output;
  std::ifstream file(results);
  std::size_t lines = 0, failed = 0;
  for (std::string line; std::getline(file, line); ++lines) {
    failed += line.find("\"failed\":[\"app_checks\"]") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(lines, 6u);
  EXPECT_GT(failed, 0u) << explore.output;
  EXPECT_LT(failed, 6u) << explore.output;  // a race: some schedules keep both increments
  const Outcome shard = user("explore tests/user_apps/locked_update.json --seeds 1..10 --shard 2/2");
  EXPECT_EQ(shard.exit_code, 0) << shard.output;
  EXPECT_NE(shard.last_line().find("5 of 5 seeds run"), std::string::npos) << shard.output;
}

TEST(UserAppCli, ShrinkWritesAChoicesFileTheUsersBinaryReplays) {
  const Outcome explore = user("explore tests/user_apps/lost_update.json --seeds 1..50");
  std::smatch seed;
  ASSERT_TRUE(std::regex_search(explore.output, seed, std::regex("seed ([0-9]+): FAIL"))) << explore.output;
  const std::string choices = temp_path("lost_update.choices");
  const Outcome shrink =
      user("shrink tests/user_apps/lost_update.json --seed " + seed[1].str() + " -o " + choices);
  ASSERT_EQ(shrink.exit_code, 1) << shrink.output;
  const std::string again = reproduce_arguments(shrink.output);
  EXPECT_EQ(again, "run tests/user_apps/lost_update.json --choices " + choices) << shrink.output;
  const Outcome replay = user(again);
  EXPECT_EQ(replay.exit_code, 1) << replay.output;
  EXPECT_NE(replay.output.find("app_check failed"), std::string::npos) << replay.output;
}

TEST(UserAppCli, TraceGraphAndExplainWorkOnAWorldApp) {
  const std::string perfetto = temp_path("world.json");
  const std::string trace = temp_path("world.jsonl");
  const Outcome traced = user("trace tests/user_apps/locked_update.json --seed 2 --perfetto " + perfetto);
  EXPECT_EQ(traced.exit_code, 0) << traced.output;
  EXPECT_GT(std::filesystem::file_size(perfetto), 500u);
  ASSERT_EQ(user("run tests/user_apps/locked_update.json --seed 2 --trace-out " + trace).exit_code, 0);
  const Outcome explained = user("explain " + trace + " --lines 20");
  EXPECT_EQ(explained.exit_code, 0) << explained.output;
  EXPECT_NE(explained.output.find("starts thread adder"), std::string::npos) << explained.output;
  // Its two threads share the name "adder": the trace file still tells them apart (task_id), so its Perfetto
  // file is the run's.
  const std::string from_file = temp_path("world_from_file.json");
  const Outcome exported = user("trace " + trace + " --perfetto " + from_file);
  EXPECT_EQ(exported.exit_code, 0) << exported.output;
  std::ifstream run_json(perfetto), file_json(from_file);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(file_json), {}),
            std::string(std::istreambuf_iterator<char>(run_json), {}));
  const Outcome graph = user("graph tests/user_apps/locked_update.json --seed 2 --races --deadlocks");
  EXPECT_EQ(graph.exit_code, 0) << graph.output;
}

TEST(UserAppCli, TheServerAppRecordsOnLinuxReplaysAndDiffs) {
  const std::string recording = temp_path("sequential.iotrace");
  const Outcome record = user("record tests/user_apps/sequential_echo.json --backend linux -o " + recording);
  ASSERT_EQ(record.exit_code, 0) << record.output;
  const Outcome replay = user("replay " + recording);
  EXPECT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_NE(replay.output.find("replay matches the recording: 3 connections"), std::string::npos)
      << replay.output;
  const Outcome diff = user("diff tests/user_apps/sequential_echo.json");
  EXPECT_EQ(diff.exit_code, 0) << diff.output;
  EXPECT_NE(diff.last_line().find("diff: equal"), std::string::npos) << diff.output;
}

// A user's own program records its server on the real kernel under real clients (include/iosim/recording.hpp,
// include/iosim/linux.hpp); the user's CLI replays the recording on the simulator.
TEST(UserAppCli, ARecordingMadeByTheUsersOwnProgramReplays) {
  const std::string recording = temp_path("own.iotrace");
  const Outcome recorded =
      iosim::test::run_shell(std::string("'") + IOSIM_USER_RECORDER_PATH + "' " + recording);
  ASSERT_EQ(recorded.exit_code, 0) << recorded.output;
  EXPECT_NE(recorded.output.find("recorded 3/3 clients echoed, server ok"), std::string::npos)
      << recorded.output;
  const Outcome replay = user("replay " + recording);
  EXPECT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_NE(replay.output.find("recording " + recording + ": app user_sequential_echo on linux"),
            std::string::npos)
      << replay.output;
  EXPECT_NE(replay.output.find("replay matches the recording: 3 connections"), std::string::npos)
      << replay.output;
  const Outcome usage = iosim::test::run_shell(std::string("'") + IOSIM_USER_RECORDER_PATH + "'");
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

TEST(UserAppCli, BadInputExitsTwoNamingWhatIsWrong) {
  const struct {
    std::string arguments;
    std::string message;
  } cases[] = {
      {"run " + write_temp("unknown.json", R"({"app": "user_nope"})"), "unknown app \"user_nope\""},
      {"run " + write_temp("clients.json",
                           R"({"app": "user_lost_update", "workload": {"kind": "none", "clients": 2}})"),
       "workload: unknown field \"clients\""},
      {"run " + write_temp("echo_check.json", R"({"app": "user_lost_update", "checks": ["echo_in_order"]})"),
       "checks[0]: check \"echo_in_order\" judges an echo workload, and this one is none"},
      {"run " + write_temp("bad_param.json", R"({"app": "user_sequential_echo", "params": {"backlog": 0}})"),
       "params.backlog"},
      {"record tests/user_apps/lost_update.json --backend sim -o " + temp_path("x.iotrace"),
       "app \"user_lost_update\" is a world app; record and replay take a server app"},
      {"frobnicate", binary_name + ": unknown command 'frobnicate'"},
  };
  for (const auto& test : cases) {
    const Outcome run = user(test.arguments);
    EXPECT_EQ(run.exit_code, 2) << test.arguments << "\n" << run.output;
    EXPECT_NE(run.output.find(test.message), std::string::npos) << test.arguments << "\n" << run.output;
    EXPECT_TRUE(run.output.starts_with(binary_name + ": ")) << run.output;  // messages name the user's binary
  }
  for (const char* help : {"--help", "run --help", "explore --help", "shrink --help", "explain --help"}) {
    const Outcome shown = user(help);
    EXPECT_EQ(shown.exit_code, 0) << help;
    EXPECT_NE(shown.output.find("Usage"), std::string::npos) << help << "\n" << shown.output;
  }
}

}  // namespace
