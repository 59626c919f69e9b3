// tests/cli_test.cpp — the CLI contract of DESIGN.md, end to end on the built binary: exit codes 0/1/2, the
// trace-hash as the last line of a simulated run, reproduce lines that reproduce, and bad input that never
// crashes and names what is wrong.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
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
const std::string cli = env_or("IOSIM_CLI", IOSIM_CLI_PATH);

Outcome iosim(const std::string& arguments) {
  return iosim::test::run_shell("cd '" + source_dir + "' && '" + cli + "' " + arguments);
}

// A directory of this process's own: ctest runs every test case as its own process, in parallel, and each
// writes the parameter files again; a shared name would be rewritten under a running case.
class TempDirectory {
 public:
  TempDirectory()
      : path_(std::filesystem::temp_directory_path() / fmt::format("iosim_cli_test_{}", ::getpid())) {
    std::filesystem::create_directories(path_);
  }
  ~TempDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::filesystem::path temp_path(const std::string& name) {
  static const TempDirectory directory;
  return directory / name;
}

std::string write_temp(const std::string& name, const std::string& content) {
  const auto path = temp_path(name);
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

const std::regex trace_hash_line("trace-hash: [0-9a-f]{16}");

TEST(Cli, RunPassesAndEndsWithTheTraceHash) {
  const Outcome run = iosim("run scenarios/echo_poll.json --seed 3");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(std::regex_match(run.last_line(), trace_hash_line)) << run.last_line();
}

TEST(Cli, SameSeedSameHashOtherSeedOtherHash) {
  const Outcome first = iosim("run scenarios/echo_select.json --seed 5");
  const Outcome again = iosim("run scenarios/echo_select.json --seed 5");
  const Outcome other = iosim("run scenarios/echo_select.json --seed 6");
  EXPECT_EQ(first.last_line(), again.last_line());
  EXPECT_NE(first.last_line(), other.last_line());
}

// The IOCP servers through the CLI: each run passes and ends with its trace-hash, the same in two processes
// (no pointer value — an OVERLAPPED's address, a heap-allocated key — reaches the trace). On Linux, which has
// no completion ports, the IOCP-only server fails with a named error and a reproduce line, never a crash.
TEST(Cli, IocpScenariosRunDeterministicallyAcrossProcesses) {
  for (const char* scenario :
       {"iocp_pool", "iocp_accept_callbacks", "proactor_echo", "proactor_echo_epoll"}) {
    const std::string command = fmt::format("run scenarios/{}.json --seed 11", scenario);
    const Outcome first = iosim(command);
    const Outcome again = iosim(command);
    EXPECT_EQ(first.exit_code, 0) << first.output;
    EXPECT_TRUE(std::regex_match(first.last_line(), trace_hash_line)) << first.last_line();
    EXPECT_EQ(first.last_line(), again.last_line()) << scenario;
  }
  const Outcome on_linux = iosim("run scenarios/iocp_pool.json --backend linux");
  EXPECT_EQ(on_linux.exit_code, 1) << on_linux.output;
  EXPECT_NE(on_linux.output.find("CreateIoCompletionPort: ERROR_NOT_SUPPORTED"), std::string::npos);
  EXPECT_NE(on_linux.output.find("reproduce: iosim run scenarios/iocp_pool.json --backend linux"),
            std::string::npos);
}

TEST(Cli, AFailedCheckExitsOneWithAReproduceLineThatReproduces) {
  // A step limit far too small for the workload: the run stops and all_tasks_finished fails.
  const std::string path = write_temp("starved.json", R"({"app": "echo_select", "sim": {"step_max": 50}})");
  const Outcome run = iosim("run " + path + " --seed 9");
  ASSERT_EQ(run.exit_code, 1) << run.output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(run.output, match, std::regex("reproduce: iosim (run [^\n]+)")))
      << run.output;
  const Outcome replay = iosim(match[1].str());
  EXPECT_EQ(replay.exit_code, 1);
  EXPECT_EQ(replay.last_line(), run.last_line());
  EXPECT_NE(run.output.find("step_limit"), std::string::npos) << run.output;
}

TEST(Cli, ExploreRunsEverySeedAndReportsFailuresWithReproduceLines) {
  const Outcome pass = iosim("explore scenarios/echo_poll.json --seeds 1..40 --jobs 2 --strategy pct");
  EXPECT_EQ(pass.exit_code, 0) << pass.output;
  EXPECT_NE(pass.last_line().find("40 of 40 seeds run, 0 failure(s)"), std::string::npos) << pass.last_line();
  const std::string starved =
      write_temp("explore_starved.json", R"({"app": "echo_select", "sim": {"step_max": 50}})");
  const std::string results = temp_path("results.jsonl").string();
  const Outcome fail = iosim("explore " + starved + " --seeds 7..9 --keep-going --results " + results);
  EXPECT_EQ(fail.exit_code, 1) << fail.output;
  EXPECT_NE(fail.output.find("reproduce: iosim run " + starved + " --seed 8 --strategy random"),
            std::string::npos)
      << fail.output;
  std::ifstream lines(results);
  int count = 0;
  for (std::string line; std::getline(lines, line);) ++count;
  EXPECT_EQ(count, 3);
}

TEST(Cli, ExploreShardsSplitTheRange) {
  const Outcome shard = iosim("explore scenarios/echo_poll.json --seeds 1..10 --shard 2/3");
  EXPECT_NE(shard.last_line().find("3 of 3 seeds run"), std::string::npos) << shard.output;  // seeds 2, 5, 8
}

TEST(Cli, ShrinkWritesAChoicesFileThatReproducesTheFailure) {
  const std::string starved =
      write_temp("shrink_starved.json", R"({"app": "echo_select", "sim": {"step_max": 300}})");
  const std::string choices = temp_path("shrunk.choices").string();
  const Outcome shrink = iosim("shrink " + starved + " --seed 3 -o " + choices);
  ASSERT_EQ(shrink.exit_code, 1) << shrink.output;
  EXPECT_NE(shrink.output.find("reproduce: iosim run " + starved + " --choices " + choices),
            std::string::npos);
  const Outcome replay = iosim("run " + starved + " --choices " + choices);
  EXPECT_EQ(replay.exit_code, 1) << replay.output;
  const Outcome passing = iosim("shrink scenarios/echo_poll.json --seed 1 -o " + choices);
  EXPECT_EQ(passing.exit_code, 2) << passing.output;
}

TEST(Cli, LinuxBackendRunsTheSameApplication) {
  const Outcome run = iosim("run scenarios/echo_blocking_threads.json --backend linux");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.last_line(), "result    pass");
}

TEST(Cli, DiffReportsEqual) {
  const Outcome diff = iosim("diff scenarios/echo_nonblocking_poll_loop.json");
  EXPECT_EQ(diff.exit_code, 0) << diff.output;
  EXPECT_NE(diff.last_line().find("diff: equal"), std::string::npos) << diff.last_line();
}

TEST(Cli, ListNamesEveryBundledApp) {
  const Outcome list = iosim("list");
  EXPECT_EQ(list.exit_code, 0);
  for (const char* app : {"echo_blocking_threads", "echo_nonblocking_poll_loop", "echo_select", "echo_poll",
                          "iocp_pool", "iocp_accept_callbacks", "proactor_echo"}) {
    EXPECT_NE(list.output.find(app), std::string::npos) << app;
  }
}

TEST(Cli, HelpExitsZeroEverywhere) {
  for (const char* arguments :
       {"--help", "run --help", "diff --help", "list --help", "trace --help", "explain --help"}) {
    const Outcome help = iosim(arguments);
    EXPECT_EQ(help.exit_code, 0) << arguments;
    EXPECT_NE(help.output.find("Usage"), std::string::npos) << arguments << "\n" << help.output;
  }
}

TEST(Cli, TraceOutWritesJsonLines) {
  const std::string path = temp_path("trace.jsonl").string();
  const Outcome run = iosim("run scenarios/echo_poll.json --seed 2 --trace-out " + path);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::ifstream trace(path);
  std::string header, event;
  std::getline(trace, header);
  std::getline(trace, event);
  EXPECT_NE(header.find("\"format\":\"iosim-trace\""), std::string::npos) << header;
  EXPECT_NE(event.find("\"kind\":\"task_spawn\""), std::string::npos) << event;
}

TEST(Cli, TracePerfettoWritesTheJsonAndSummarises) {
  const std::string path = (std::filesystem::temp_directory_path() / "iosim_cli_test_perfetto.json").string();
  const Outcome run = iosim("trace scenarios/echo_poll.json --seed 2 --perfetto " + path);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(
      std::regex_match(run.last_line(), std::regex("perfetto: [0-9]+ events, [0-9]+ tracks, [0-9]+ flows "
                                                   "written to .*iosim_cli_test_perfetto.json .*")))
      << run.last_line();
  EXPECT_NE(run.output.find("ui.perfetto.dev"), std::string::npos) << run.output;
  std::ifstream file(path);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.rfind("{\"displayTimeUnit\":\"ns\"", 0), 0u) << text.substr(0, 80);
  EXPECT_NE(text.find("\"traceEvents\":["), std::string::npos);
}

TEST(Cli, TracePerfettoOfAFailingRunWritesTheJsonAndExitsOne) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "iosim_cli_test_perfetto_fail.json").string();
  std::filesystem::remove(path);
  const Outcome run = iosim("trace scenarios/bugs/et_not_drained.json --perfetto " + path);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("reproduce: iosim run scenarios/bugs/et_not_drained.json"), std::string::npos)
      << run.output;
  EXPECT_GT(std::filesystem::file_size(path), 1000u);
}

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// The "timeline  (...)" heading and the `count` lines after it.
std::string timeline_block(const std::string& output, std::size_t count) {
  std::size_t begin = output.find("timeline  (");
  if (begin == std::string::npos) return {};
  std::size_t end = begin;
  for (std::size_t line = 0; line <= count && end != std::string::npos; ++line)
    end = output.find('\n', end + 1);
  return output.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// A trace file (what a failing test writes) renders exactly as the run it came from: the same Perfetto bytes
// as `iosim trace SCENARIO`, the same timeline as `iosim run --explain`.
TEST(Cli, ATraceFileRoundTripsToPerfettoAndExplain) {
  const std::string trace = temp_path("round_trip.jsonl").string();
  const Outcome run = iosim("run scenarios/echo_epoll_et.json --seed 4 --trace-out " + trace +
                            " --explain --explain-lines 40");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string from_run = temp_path("from_run.json").string();
  const std::string from_file = temp_path("from_file.json").string();
  ASSERT_EQ(iosim("trace scenarios/echo_epoll_et.json --seed 4 --perfetto " + from_run).exit_code, 0);
  const Outcome exported = iosim("trace " + trace + " --perfetto " + from_file);
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_TRUE(std::regex_match(exported.last_line(), std::regex("perfetto: [0-9]+ events, .* \\(trace-hash "
                                                                "[0-9a-f]{16}\\)")))
      << exported.last_line();
  const std::string perfetto = read_file(from_run);
  EXPECT_GT(perfetto.size(), 1000u);
  EXPECT_EQ(read_file(from_file), perfetto);
  const Outcome explained = iosim("explain " + trace + " --lines 40");
  ASSERT_EQ(explained.exit_code, 0) << explained.output;
  EXPECT_EQ(timeline_block(explained.output, 40), timeline_block(run.output, 40)) << explained.output;
  EXPECT_NE(timeline_block(run.output, 40).find("epoll_wait"), std::string::npos) << run.output;
  EXPECT_TRUE(
      std::regex_match(explained.last_line(), std::regex("explain: [0-9]+ events of .*round_trip.jsonl "
                                                         "\\(trace-hash [0-9a-f]{16}\\)")))
      << explained.last_line();
}

TEST(Cli, RecordOnLinuxThenReplayOnTheSimulatorMatches) {
  const std::string path = write_temp("epoll_lt.iotrace", "");
  const Outcome record = iosim("record scenarios/echo_epoll_lt.json --backend linux -o " + path);
  ASSERT_EQ(record.exit_code, 0) << record.output;
  EXPECT_NE(record.output.find("recorded  "), std::string::npos) << record.output;
  const Outcome replay = iosim("replay " + path);
  EXPECT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_NE(replay.output.find("replay matches the recording: 4 connections"), std::string::npos)
      << replay.output;
  EXPECT_TRUE(std::regex_match(replay.last_line(), trace_hash_line)) << replay.last_line();
  EXPECT_EQ(iosim("replay " + path).last_line(), replay.last_line());  // same recording, same replay
}

TEST(Cli, AReplayThatDiffersExitsOneWithAReproduceLine) {
  const std::string path = write_temp("altered.iotrace", "");
  ASSERT_EQ(iosim("record scenarios/echo_select.json --backend sim -o " + path).exit_code, 0);
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t data = text.find("\"data\":\"", text.find("\"kind\":\"recv\""));
  ASSERT_NE(data, std::string::npos);
  char& digit = text[data + 8];
  digit = digit == '0' ? '1' : '0';  // one received byte changes: the echo server must send it back changed
  std::ofstream(path, std::ios::binary) << text;
  const Outcome replay = iosim("replay " + path);
  ASSERT_EQ(replay.exit_code, 1) << replay.output;
  EXPECT_NE(replay.output.find("first difference at byte"), std::string::npos) << replay.output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(replay.output, match, std::regex("reproduce: iosim (replay [^\n]+)")))
      << replay.output;
  const Outcome again = iosim(match[1].str());
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.last_line(), replay.last_line());
}

const std::string trace_header = R"({"format":"iosim-trace","version":1,"names":["","client-1","recv"]})"
                                 "\n";
const std::string spawn_line =
    R"({"t_ns":0,"task":"kernel","kind":"task_spawn","name":"client-1","object":"","arg0":0,"arg1":0})"
    "\n";

const std::string iotrace_header =
    R"({"format":"iosim-iotrace","version":1,"scenario":"","name":"x","app":"echo_nope","params":{},)"
    R"("connections":0,"backend":"sim","latency_us":50,"seed":1,"strategy":"random","step_max":100})"
    "\n";

struct BadInput {
  const char* name;
  std::string arguments;
  const char* expected_message;
};

class CliBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliBadInput, ExitsTwoWithAClearMessage) {
  const Outcome run = iosim(GetParam().arguments);
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find(GetParam().expected_message), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("terminate"), std::string::npos) << run.output;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliBadInput,
    ::testing::Values(
        BadInput{"NoCommand", "", "iosim"},
        BadInput{"UnknownCommand", "frobnicate",
                 "unknown command 'frobnicate' (commands: run, explore, shrink, diff, record, replay, trace, "
                 "graph, explain, list)"},
        BadInput{"MissingFile", "run scenarios/no_such_file.json", "no_such_file.json"},
        BadInput{"TruncatedJson",
                 "run " + write_temp("truncated.json", "{\"app\": \"echo_select\", \"workload\": {"),
                 "truncated.json:1:"},
        BadInput{"BinaryGarbage",
                 "run " + write_temp("garbage.json", std::string("\x7f"
                                                                 "ELF\x02\x01\x00\xff\xfe",
                                                                 9)),
                 "garbage.json"},
        BadInput{"UnknownApp", "run " + write_temp("unknown_app.json", R"({"app": "echo_nope"})"),
                 "echo_nope"},
        BadInput{
            "BadNumber",
            "run " + write_temp("bad_number.json", R"({"app": "echo_poll", "workload": {"clients": "abc"}})"),
            "workload.clients"},
        BadInput{"SeedNotANumber", "run scenarios/echo_poll.json --seed abc", "--seed"},
        BadInput{"SeedNegative", "run scenarios/echo_poll.json --seed -5", "unsigned 64-bit"},
        BadInput{"SeedTooLarge", "run scenarios/echo_poll.json --seed 18446744073709551616",
                 "unsigned 64-bit"},
        BadInput{"UnknownStrategy", "run scenarios/echo_poll.json --strategy bogus", "--strategy"},
        BadInput{"UnknownBackend", "run scenarios/echo_poll.json --backend bogus", "--backend"},
        BadInput{"TraceOutUnwritable", "run scenarios/echo_poll.json --trace-out /nonexistent/dir/t.jsonl",
                 "/nonexistent/dir/t.jsonl"},
        BadInput{"SeedRangeBackwards", "explore scenarios/echo_poll.json --seeds 9..3", "--seeds"},
        BadInput{"SeedRangeGarbage", "explore scenarios/echo_poll.json --seeds x", "--seeds"},
        BadInput{"ShardZero", "explore scenarios/echo_poll.json --seeds 1..3 --shard 0/2", "--shard"},
        BadInput{"ChoicesMissing", "run scenarios/echo_poll.json --choices /nonexistent.choices",
                 "/nonexistent.choices"},
        BadInput{"ChoicesGarbage",
                 "run scenarios/echo_poll.json --choices " + write_temp("garbage.choices", "junk\n"),
                 "garbage.choices:1:"},
        BadInput{"PctDepthZero", "run scenarios/echo_poll.json --strategy pct --pct-depth 0", "--pct-depth"},
        BadInput{"PerfettoUnwritable", "trace scenarios/echo_poll.json --perfetto /nonexistent/dir/t.json",
                 "/nonexistent/dir/t.json"},
        BadInput{"PerfettoMissing", "trace scenarios/echo_poll.json", "--perfetto"},
        BadInput{"TraceMissingScenario", "trace scenarios/nope.json --perfetto /tmp/x.json", "nope.json"},
        BadInput{"ExplainOnLinux", "run scenarios/echo_poll.json --backend linux --explain", "--backend sim"},
        BadInput{"ExplainMissing", "explain /nonexistent.jsonl", "/nonexistent.jsonl: cannot open"},
        BadInput{"ExplainNotATrace", "explain scenarios/echo_poll.json", "echo_poll.json: not a trace file"},
        BadInput{"ExplainNotATraceInside",
                 "explain " + write_temp("not_a_trace.jsonl", "{\"format\":\"x\"}\n"),
                 "not_a_trace.jsonl:1: not an iosim trace"},
        BadInput{"ExplainMalformedLine",
                 "explain " + write_temp("malformed.jsonl", trace_header + spawn_line + "{\"t_ns\":\n"),
                 "malformed.jsonl:3: "},
        BadInput{"ExplainLinesZero", "explain x.jsonl --lines 0", "--lines"},
        BadInput{"ExplainNoFile", "explain", "trace is required"},
        BadInput{"TraceFileMalformedLine",
                 "trace " +
                     write_temp("malformed_kind.jsonl", trace_header + spawn_line +
                                                            R"({"t_ns":1,"task":"client-1","kind":"bogus",)"
                                                            R"("name":"recv","object":"","arg0":0,"arg1":0})"
                                                            "\n") +
                     " --perfetto /tmp/iosim_never_written.json",
                 "malformed_kind.jsonl:3: unknown event kind \"bogus\""},
        BadInput{"TraceFileWakeOfNoTask",
                 "trace " +
                     write_temp("wake_nobody.jsonl", trace_header + spawn_line +
                                                         R"({"t_ns":1,"task":"kernel","kind":"wake",)"
                                                         R"("name":"recv","object":"","arg0":9,"arg1":0})"
                                                         "\n") +
                     " --perfetto /tmp/iosim_never_written.json",
                 "wake_nobody.jsonl:3: a wake of task 9, which was never spawned"},
        BadInput{"TraceFileKernelCall",
                 "explain " +
                     write_temp("kernel_call.jsonl", trace_header + spawn_line +
                                                         R"({"t_ns":1,"task":"kernel","kind":"sys_enter",)"
                                                         R"("name":"recv","object":"","arg0":0,"arg1":0})"
                                                         "\n"),
                 "kernel_call.jsonl:3: a sys_enter event of the kernel"},
        BadInput{
            "TraceFileOutOfOrder",
            "trace " +
                write_temp(
                    "out_of_order.jsonl",
                    R"({"format":"iosim-trace","version":1,"names":["","client-1","client-2","recv"]})"
                    "\n"
                    R"({"t_ns":0,"task":"kernel","kind":"task_spawn","name":"client-1","object":"","arg0":0,"arg1":0})"
                    "\n"
                    R"({"t_ns":0,"task":"kernel","kind":"task_spawn","name":"client-2","object":"","arg0":0,"arg1":0})"
                    "\n"
                    R"({"t_ns":1,"task":"client-1","kind":"task_exit","name":"","object":"","arg0":0,"arg1":0})"
                    "\n"
                    R"({"t_ns":2,"task":"client-2","kind":"sys_enter","name":"recv","object":"","arg0":0,"arg1":0})"
                    "\n"
                    R"({"t_ns":3,"task":"client-1","kind":"wake","name":"recv","object":"","arg0":2,"arg1":0})"
                    "\n") +
                " --perfetto " + temp_path("never_written.json").string(),
            "out_of_order.jsonl:6: on client-1: a wake arrow starts after the task returned"},
        BadInput{"TraceFileWithSeed",
                 "trace " + write_temp("seeded.jsonl", trace_header) + " --seed 3 --perfetto /tmp/x.json",
                 "seeded.jsonl: a saved trace is one run already"},
        BadInput{"RecordWithoutOutput", "record scenarios/echo_poll.json --backend sim", "--output"},
        BadInput{"RecordUnwritable",
                 "record scenarios/echo_poll.json --backend sim -o /nonexistent/dir/x.iotrace",
                 "/nonexistent/dir/x.iotrace"},
        BadInput{"RecordUnknownBackend", "record scenarios/echo_poll.json --backend bogus -o x.iotrace",
                 "--backend"},
        BadInput{"ReplayMissing", "replay /nonexistent.iotrace", "/nonexistent.iotrace"},
        BadInput{"ReplayGarbage", "replay " + write_temp("garbage.iotrace", "junk\n"), "garbage.iotrace:1:"},
        BadInput{"ReplayTruncated", "replay " + write_temp("truncated.iotrace", iotrace_header),
                 "truncated.iotrace:2: truncated: no end record"},
        BadInput{
            "ReplayUnknownApp",
            "replay " + write_temp("unknown_app.iotrace",
                                   iotrace_header + R"({"seq":1,"t_ns":0,"kind":"end","connections":0,)"
                                                    R"("server_error":"","summary":"","run":"completed"})"
                                                    "\n"),
            "unknown_app.iotrace:1: unknown app \"echo_nope\""}),
    [](const ::testing::TestParamInfo<BadInput>& test) { return test.param.name; });

}  // namespace

// ---- iosim graph: exit 0 when nothing is found, 1 with a race or deadlock (and a reproduce line), 2 bad
// input

namespace {

TEST(CliGraph, RaceFreeRunExitsZero) {
  const Outcome graph =
      iosim("graph scenarios/bugs/close_while_reading_fixed.json --races --deadlocks --critical-path");
  EXPECT_EQ(graph.exit_code, 0) << graph.output;
  EXPECT_EQ(graph.last_line(), "result    no race or deadlock found") << graph.output;
  EXPECT_NE(graph.output.find("critical  "), std::string::npos) << graph.output;
}

TEST(CliGraph, RaceExitsOneWithAReproduceLineThatReproduces) {
  const Outcome graph = iosim("graph scenarios/bugs/close_while_reading.json --seed 3 --races");
  ASSERT_EQ(graph.exit_code, 1) << graph.output;
  EXPECT_NE(graph.output.find("race (use after close): "), std::string::npos) << graph.output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(graph.output, match, std::regex("reproduce: iosim (graph [^\n]+)")))
      << graph.output;
  const Outcome replay = iosim(match[1].str());
  EXPECT_EQ(replay.exit_code, 1);
  EXPECT_EQ(replay.output, graph.output);
}

TEST(CliGraph, DeadlockCycleExitsOne) {
  const Outcome graph = iosim("graph scenarios/bugs/lock_order_inversion.json --seed 2 --deadlocks");
  ASSERT_EQ(graph.exit_code, 1) << graph.output;
  EXPECT_NE(graph.output.find("deadlock cycle: worker-1 waits for worker-2"), std::string::npos)
      << graph.output;
  EXPECT_NE(graph.output.find("reproduce: iosim graph scenarios/bugs/lock_order_inversion.json --seed 2"),
            std::string::npos)
      << graph.output;
}

TEST(CliGraph, DotFileIsTheSameForTheSameSeed) {
  const std::string first = temp_path("first.dot").string();
  const std::string second = temp_path("second.dot").string();
  ASSERT_EQ(iosim("graph scenarios/echo_poll.json --seed 4 --dot " + first).exit_code, 0);
  ASSERT_EQ(iosim("graph scenarios/echo_poll.json --seed 4 --dot " + second + " --window 0..400").exit_code,
            0);
  ASSERT_EQ(iosim("graph scenarios/echo_poll.json --seed 4 --dot " + second).exit_code, 0);
  const std::string dot = read_file(first);
  EXPECT_TRUE(dot.starts_with("digraph happens_before {")) << dot.substr(0, 80);
  EXPECT_EQ(dot, read_file(second));
}

INSTANTIATE_TEST_SUITE_P(
    Graph, CliBadInput,
    ::testing::Values(
        BadInput{"GraphMissingFile", "graph scenarios/no_such_file.json --races", "no_such_file.json"},
        BadInput{"GraphWindowGarbage", "graph scenarios/echo_poll.json --window 9..3", "--window"},
        BadInput{"GraphDotUnwritable", "graph scenarios/echo_poll.json --dot /nonexistent/dir/g.dot",
                 "/nonexistent/dir/g.dot"},
        BadInput{"GraphBadFault", "graph scenarios/echo_poll.json --fault nope=1", "nope"},
        BadInput{"GraphTraceFileGarbage",
                 "graph " + write_temp("garbage.jsonl", "{\"format\": \"iosim-trace\", \"version\": 1,\n"),
                 "garbage.jsonl:1: "},
        BadInput{"GraphTraceFileDeadlocks", "graph " + write_temp("any.jsonl", "") + " --deadlocks",
                 "--deadlocks needs the scenario"}),
    [](const ::testing::TestParamInfo<BadInput>& test) { return test.param.name; });

}  // namespace
