// tests/windows/windows_backend_test.cpp — `iosim run/diff --backend windows` end to end: the built CLI runs
// build/windows/iosim-windows.exe under Wine; exit codes and summaries per the CLI contract (label wine).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/shell_support.hpp"

namespace {

using Outcome = iosim::test::ShellOutcome;

const std::string source_dir = IOSIM_SOURCE_DIR;

// Runs `ENV... iosim ARGS` from the source tree (so scenario paths read as in the README).
Outcome iosim(const std::string& environment, const std::string& arguments) {
  return iosim::test::run_shell("cd '" + source_dir + "' && " + environment + " '" + IOSIM_CLI_PATH + "' " +
                                arguments);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(WindowsBackend, BlockingThreadServerHoldsUnderWine) {
  const Outcome run = iosim("", "run scenarios/echo_blocking_threads.json --backend windows");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(contains(run.output, "backend   windows\n")) << run.output;
  EXPECT_TRUE(contains(run.output, "clients   4/4 clients echoed in order, 160433 bytes echoed; server ok"))
      << run.output;
  EXPECT_TRUE(contains(run.output, "result    pass")) << run.output;
}

TEST(WindowsBackend, SelectServerHoldsUnderWine) {
  const Outcome run = iosim("", "run scenarios/echo_select.json --backend windows");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(contains(run.output, "4/4 clients echoed in order")) << run.output;
}

TEST(WindowsBackend, DiffOfPollServerWithWindowsIsEqual) {
  const Outcome diff = iosim("", "diff scenarios/echo_poll.json --backend windows");
  EXPECT_EQ(diff.exit_code, 0) << diff.output;
  EXPECT_TRUE(contains(diff.output, "diff: equal (4 clients compared; sim pass, windows pass)\n"))
      << diff.output;
}

TEST(WindowsBackend, DiffOfBlockingThreadServerWithWindowsIsEqual) {
  const Outcome diff = iosim("", "diff scenarios/echo_blocking_threads.json --backend windows");
  EXPECT_EQ(diff.exit_code, 0) << diff.output;
  EXPECT_TRUE(contains(diff.output, "diff: equal (4 clients compared; sim pass, windows pass)\n"))
      << diff.output;
}

// Issue 5's done-when: each IOCP scenario runs under Wine and `iosim diff` (whose default for these apps is
// --backend windows) reports it equal to the simulator. Regression: iocp_pool and the IOCP Proactor freed
// their per-I/O data right after closesocket, and Wine's later STATUS_CANCELLED write into the freed
// OVERLAPPED corrupted the heap in about 1 run of 20; they now wait for the aborted requests' packets.
class IocpScenarioUnderWine : public ::testing::TestWithParam<std::string> {};

TEST_P(IocpScenarioUnderWine, DiffWithWindowsIsEqualOnEverySeed) {
  for (const char* seed : {"1", "2", "3"}) {
    const Outcome diff = iosim("", "diff scenarios/" + GetParam() + ".json --seed " + seed);
    EXPECT_EQ(diff.exit_code, 0) << diff.output;
    EXPECT_TRUE(contains(diff.output, "diff: equal (4 clients compared; sim pass, windows pass)\n"))
        << diff.output;
  }
}

INSTANTIATE_TEST_SUITE_P(IocpServers, IocpScenarioUnderWine,
                         ::testing::Values("iocp_pool", "iocp_accept_callbacks", "proactor_echo"));

// iocp_pool's native backend is Windows, so a plain diff picks --backend windows: with a wine that does not
// exist it stops at that backend's check.
TEST(WindowsBackend, DiffOfIocpPoolDefaultsToWindows) {
  const Outcome diff = iosim("IOSIM_WINE=/nonexistent/wine", "diff scenarios/iocp_pool.json");
  EXPECT_EQ(diff.exit_code, 2) << diff.output;
  EXPECT_TRUE(contains(diff.output, "iosim: --backend windows: IOSIM_WINE=/nonexistent/wine")) << diff.output;
  const Outcome linux_diff = iosim("IOSIM_WINE=/nonexistent/wine", "diff scenarios/echo_poll.json");
  EXPECT_EQ(linux_diff.exit_code, 0) << linux_diff.output;
  EXPECT_TRUE(contains(linux_diff.output, "sim pass, linux pass)\n")) << linux_diff.output;
}

// epoll has no Windows equivalent: WindowsOs answers ENOSYS, the app reports it, a check fails (exit 1).
TEST(WindowsBackend, EpollServerFailsWithEnosysAndAReproduceLine) {
  const Outcome run = iosim("", "run scenarios/echo_epoll_lt.json --backend windows");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(contains(run.output, "server epoll_create1: ENOSYS")) << run.output;
  EXPECT_TRUE(contains(run.output, "reproduce: iosim run scenarios/echo_epoll_lt.json --backend windows"))
      << run.output;
}

// A runner that dies (here windows_os_smoke.exe, which crashes when given the runner's arguments) is the
// app's failure: exit 1, Wine's "Unhandled exception" line as the server error, and a reproduce line.
TEST(WindowsBackend, CrashingRunnerFailsTheRunWithWinesExceptionLine) {
  const std::string smoke = std::string(IOSIM_WINDOWS_DIR) + "/windows_os_smoke.exe";
  const Outcome run =
      iosim("IOSIM_WINDOWS_RUNNER=" + smoke, "run scenarios/echo_select.json --backend windows");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(contains(run.output, "and no observation: wine: Unhandled page fault on write access"))
      << run.output;
  EXPECT_TRUE(contains(run.output, "reproduce: iosim run scenarios/echo_select.json --backend windows"))
      << run.output;
}

TEST(WindowsBackend, MissingWineExits2NamingTheInstallStep) {
  const Outcome run =
      iosim("env -u IOSIM_WINE PATH=/nonexistent-bin", "run scenarios/echo_select.json --backend windows");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_TRUE(
      contains(run.output, "iosim: --backend windows: wine not found on PATH: run tools/install-deps"))
      << run.output;
  const Outcome diff =
      iosim("IOSIM_WINE=/nonexistent/wine", "diff scenarios/echo_select.json --backend windows");
  EXPECT_EQ(diff.exit_code, 2) << diff.output;
  EXPECT_TRUE(contains(diff.output, "IOSIM_WINE=/nonexistent/wine is not an executable wine")) << diff.output;
}

TEST(WindowsBackend, MissingRunnerExits2NamingTheBuildStep) {
  const Outcome run = iosim("IOSIM_WINDOWS_RUNNER=/nonexistent/iosim-windows.exe",
                            "run scenarios/echo_select.json --backend windows");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_TRUE(contains(run.output, "/nonexistent/iosim-windows.exe not found: build it")) << run.output;
  EXPECT_FALSE(contains(run.output, "scenario  ")) << "the error comes before any report:\n" << run.output;
}

}  // namespace
