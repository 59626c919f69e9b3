// tests/scenario_test.cpp — scenario files (every malformed input gives its message, never a crash), the app
// registry, the echo workload's oracle, and the bundled echo servers passing echo_in_order on LinuxOs.
// (The epoll-era servers' simulator runs, the reactor, selectors and http are in scenario_epoll_test.cpp.)
#include "scenarios/scenario.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "backends/linux/linux_os.hpp"
#include "scenarios/checks.hpp"
#include "scenarios/echo_client.hpp"
#include "scenarios/registry.hpp"
#include "scenarios/workload.hpp"
#include "sim/prng.hpp"

namespace iosim {
namespace {

namespace fs = std::filesystem;

// Every bundled echo scenario (its app has the same name).
const char* const bundled_scenarios[] = {"echo_blocking_threads",
                                         "echo_epoll_et",
                                         "echo_epoll_exclusive",
                                         "echo_epoll_lt",
                                         "echo_epoll_oneshot_threads",
                                         "echo_nonblocking_poll_loop",
                                         "echo_poll",
                                         "echo_select",
                                         "echo_selectors",
                                         "proactor_echo",  // on Linux its Proactor falls back to epoll
                                         "reactor_echo"};
// Every bundled app, sorted by name: the echo servers and the one http server.
const char* const bundled_apps[] = {"close_while_reading",
                                    "echo_blocking_threads",
                                    "echo_epoll_et",
                                    "echo_epoll_exclusive",
                                    "echo_epoll_lt",
                                    "echo_epoll_oneshot_threads",
                                    "echo_nonblocking_poll_loop",
                                    "echo_poll",
                                    "echo_select",
                                    "echo_selectors",
                                    "iocp_accept_callbacks",
                                    "iocp_inline_success",
                                    "iocp_overlapped_reuse",
                                    "iocp_pool",
                                    "lock_order_inversion",
                                    "lost_wakeup_pool",
                                    "proactor_echo",
                                    "reactor_echo",
                                    "reactor_http",
                                    "select_prefork"};

std::string source_dir() {
  const char* dir = std::getenv("IOSIM_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

std::string bundled_path(std::string_view name) {
  return fmt::format("{}/scenarios/{}.json", source_dir(), name);
}

// A fresh directory per test for the bad files, removed afterwards.
class ScenarioFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "iosim-scenario-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(directory_ / "unreadable.json", fs::perms::owner_all, ignored);
    fs::remove_all(directory_, ignored);
  }

  std::string write(const std::string& name, std::string_view content) {
    const fs::path path = directory_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  fs::path directory_;
};

// --- malformed input: each case is a file's content and the parts its error message must contain ---

struct BadFile {
  const char* label;
  std::string content;
  std::vector<std::string> message_parts;
};

std::string with_app(std::string_view fields) {
  return fmt::format("{{\"app\": \"echo_select\", {}}}", fields);
}

std::string http_app(std::string_view fields) {
  return fmt::format("{{\"app\": \"reactor_http\", {}}}", fields);
}

std::vector<BadFile> bad_files() {
  return {
      {"Empty", "", {": empty file: expected a JSON object"}},
      {"OnlyWhitespace", " \n\t\r\n", {": empty file"}},
      {"BinaryElfHeader",
       std::string("\x7f"
                   "ELF\x02\x01\x01\0\0",
                   9),
       {":1:1: binary data (byte 0x7f), not JSON text"}},
      {"NulInsideJson", std::string("{\"app\": \0}", 10), {":1:9: binary data (byte 0x00)"}},
      {"NotUtf8", "{\"app\": \"\xff\"}", {":1:10: not UTF-8 text (byte 0xff)"}},
      {"Truncated",
       "{\n  \"app\": \"echo_select\",\n  \"workload\": {\"clients\": 4",
       {":3:28: invalid JSON: ", "unexpected end of input", "(is the file truncated?)"}},
      {"DoubleComma", "{\n  \"app\": \"echo_select\",,\n}", {":2:24: invalid JSON: ", "unexpected ','"}},
      {"TrailingComma", "{\"app\": \"echo_select\",}", {":1:23: invalid JSON: "}},
      {"UnterminatedComment", "{\"app\": \"echo_select\" /* note", {"invalid JSON"}},
      {"OnlyAComment", "// nothing here\n", {"invalid JSON", "unexpected end of input"}},
      {"NumberOverflow", with_app("\"sim\": {\"seed\": 1e999}"), {": invalid JSON: number overflow"}},
      {"TopLevelArray", "[1, 2]", {": expected a JSON object at the top level, got an array"}},
      {"TopLevelString",
       "\"echo_select\"",
       {": expected a JSON object at the top level, got \"echo_select\""}},
      {"ClientsNotANumber",
       with_app("\"workload\": {\"clients\": \"abc\"}"),
       {": workload.clients: expected a positive integer, got \"abc\""}},
      {"ClientsZero",
       with_app("\"workload\": {\"clients\": 0}"),
       {": workload.clients: expected a positive integer, got 0"}},
      {"ClientsFraction",
       with_app("\"workload\": {\"clients\": 2.5}"),
       {": workload.clients: expected a positive integer, got 2.5"}},
      {"ClientsBoolean",
       with_app("\"workload\": {\"clients\": true}"),
       {": workload.clients: expected a positive integer, got true"}},
      {"ClientsTooMany",
       with_app("\"workload\": {\"clients\": 100000}"),
       {": workload.clients: must be at most 256, got 100000"}},
      {"MessagesNegative",
       with_app("\"workload\": {\"messages\": -1}"),
       {": workload.messages: expected a non-negative integer, got -1"}},
      {"SeedNegative",
       with_app("\"workload\": {\"seed\": -7}"),
       {": workload.seed: expected a non-negative integer"}},
      {"WorkloadNotObject", with_app("\"workload\": 3"), {": workload: expected an object, got 3"}},
      {"MinAboveMax",
       with_app("\"workload\": {\"message_bytes_min\": 10, \"message_bytes_max\": 5}"),
       {": workload: message_bytes_min (10) is greater than message_bytes_max (5)"}},
      {"UnknownTopLevelField",
       with_app("\"worklaod\": {}"),
       {": unknown field \"worklaod\" (did you mean \"workload\"?); known fields: name, description, app, "
        "params, workload, network, faults, sim, checks"}},
      {"UnknownNestedField",
       with_app("\"network\": {\"delay\": 5}"),
       {": network: unknown field \"delay\"; known fields: latency_us"}},
      {"UnknownSimField",
       with_app("\"sim\": {\"sead\": 5}"),
       {": sim: unknown field \"sead\" (did you mean \"seed\"?)"}},
      {"UnknownApp",
       "{\"app\": \"echo_epol\"}",
       {": app: unknown app \"echo_epol\"",
        // The whole sorted list is Registry.ListsEveryServerSortedByName's business; here: it is listed.
        "known apps: ",
        "echo_blocking_threads, echo_epoll_et, echo_epoll_exclusive, echo_epoll_lt, "
        "echo_epoll_oneshot_threads, echo_nonblocking_poll_loop, echo_poll, echo_select, echo_selectors, ",
        "reactor_echo, reactor_http"}},
      {"MissingApp", "{\"name\": \"x\"}", {": app: missing", "known apps: ", "echo_blocking_threads"}},
      {"AppNotAString", "{\"app\": 7}", {": app: expected a string, got 7"}},
      {"UnknownCheck",
       with_app("\"checks\": [\"echo_in_order\", \"no_deadlock\"]"),
       {": checks[1]: unknown check \"no_deadlock\"; known checks: echo_in_order, all_tasks_finished, "
        "http_responses_ok"}},
      {"CheckTypo",
       with_app("\"checks\": [\"echo_in_ordr\"]"),
       {": checks[0]: unknown check \"echo_in_ordr\" (did you mean \"echo_in_order\"?)"}},
      {"ChecksNotArray",
       with_app("\"checks\": \"echo_in_order\""),
       {": checks: expected an array of check names, got \"echo_in_order\""}},
      {"CheckTwice",
       with_app("\"checks\": [\"echo_in_order\", \"echo_in_order\"]"),
       {": checks[1]: check \"echo_in_order\" is listed twice"}},
      {"DuplicateKey",
       with_app("\"workload\": {\"clients\": 2, \"clients\": 3}"),
       {": workload: key \"clients\" appears twice in the same object"}},
      {"UnknownStrategy",
       with_app("\"sim\": {\"strategy\": \"replay\"}"),
       {": sim.strategy: unknown strategy \"replay\"; known strategies: random, rr, pct"}},
      {"UnknownFault",
       with_app("\"faults\": {\"eintrr\": 0.1}"),
       {": faults: unknown fault \"eintrr\" (did you mean \"eintr\"?); known faults: eintr, spurious_eagain, "
        "short_read, short_write, enobufs, enomem, accept_aborted, segment_split, reset, delayed_completion, "
        "jitter_us"}},
      {"FaultProbabilityAboveOne",
       with_app("\"faults\": {\"reset\": 1.5}"),
       {": faults.reset: reset takes a probability in 0..1, got 1.5"}},
      {"FaultNotANumber",
       with_app("\"faults\": {\"jitter_us\": \"200\"}"),
       {": faults.jitter_us: expected a number, got"}},
      {"FaultsNotAnObject", with_app("\"faults\": [1]"), {": faults: expected an object, got"}},
      {"UnknownParam",
       with_app("\"params\": {\"backlg\": 3}"),
       {": params: unknown parameter \"backlg\" for app echo_select (did you mean \"backlog\"?); known "
        "parameters: "
        "backlog, read_chunk_bytes, tcp_nodelay"}},
      {"ParamOutOfRange",
       with_app("\"params\": {\"backlog\": 0}"),
       {": params.backlog: expected a positive integer, got 0"}},
      {"ParamWrongType",
       with_app("\"params\": {\"tcp_nodelay\": \"yes\"}"),
       {": params.tcp_nodelay: expected a non-negative integer, got \"yes\""}},
      {"ParamsNotObject", with_app("\"params\": []"), {": params: expected an object, got an array"}},
      {"DeepNesting",
       with_app("\"params\": " + std::string(100, '[') + std::string(100, ']')),
       {"nested deeper than 32 levels"}},
      {"EmptyName", with_app("\"name\": \"\""), {": name: must not be empty"}},
      // --- workload kinds ---
      {"UnknownWorkloadKind",
       with_app("\"workload\": {\"kind\": \"htp\"}"),
       {": workload.kind: unknown workload kind \"htp\" (did you mean \"http\"?); known kinds: echo, http"}},
      {"HttpFieldInEchoWorkload",
       with_app("\"workload\": {\"requests\": 3}"),
       {": workload.requests: only an http workload has this field, and this one is echo (\"kind\": "
        "\"http\")"}},
      {"EchoFieldInHttpWorkload",
       http_app("\"workload\": {\"kind\": \"http\", \"messages\": 3}"),
       {": workload.messages: only an echo workload has this field, and this one is http (\"kind\": "
        "\"echo\")"}},
      {"EchoAppGivenHttpWorkload",
       with_app("\"workload\": {\"kind\": \"http\"}"),
       {": workload.kind: app echo_select serves echo clients, and this workload is http"}},
      {"HttpAppGivenEchoWorkload",
       http_app("\"workload\": {\"clients\": 2}"),
       {": workload.kind: app reactor_http serves http clients, and this workload is echo"}},
      {"EchoCheckOnHttpWorkload",
       http_app("\"workload\": {\"kind\": \"http\"}, \"checks\": [\"echo_in_order\"]"),
       {": checks[0]: check \"echo_in_order\" judges an echo workload, and this one is http"}},
      {"HttpCheckOnEchoWorkload",
       with_app("\"checks\": [\"all_tasks_finished\", \"http_responses_ok\"]"),
       {": checks[1]: check \"http_responses_ok\" judges an http workload, and this one is echo"}},
      {"RequestsNegative",
       http_app("\"workload\": {\"kind\": \"http\", \"requests\": -2}"),
       {": workload.requests: expected a non-negative integer, got -2"}},
      {"BodyMinAboveMax",
       http_app("\"workload\": {\"kind\": \"http\", \"body_bytes_min\": 10, \"body_bytes_max\": 5}"),
       {": workload: body_bytes_min (10) is greater than body_bytes_max (5)"}},
      {"BodyTooLarge",
       http_app("\"workload\": {\"kind\": \"http\", \"body_bytes_max\": 99999999}"),
       {": workload.body_bytes_max: must be at most 16777216, got 99999999"}},
      {"KindNotAString",
       with_app("\"workload\": {\"kind\": 1}"),
       {": workload.kind: expected a string, got 1"}},
      {"UnknownNativeBackend",
       with_app("\"native_backend\": \"macos\""),
       {": native_backend: expected \"linux\" or \"windows\", got \"macos\""}},
  };
}

class BadScenarioFile : public ScenarioFiles, public ::testing::WithParamInterface<BadFile> {};

TEST_P(BadScenarioFile, IsRejectedWithAMessageNamingFileAndDefect) {
  const BadFile& bad = GetParam();
  const std::string path = write("bad.json", bad.content);
  const Result<ScenarioSpec> loaded = load_scenario_file(path);
  ASSERT_FALSE(loaded.is_ok()) << "accepted: " << bad.content;
  const std::string& message = loaded.error();
  EXPECT_EQ(message.rfind(path, 0), 0u) << "the message must start with the file: " << message;
  for (const std::string& part : bad.message_parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "expected \"" << part << "\" in: " << message;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, BadScenarioFile, ::testing::ValuesIn(bad_files()),
                         [](const ::testing::TestParamInfo<BadFile>& param_info) {
                           return std::string(param_info.param.label);
                         });

TEST_F(ScenarioFiles, WrongTypeMessageIsExactlyAsSpecified) {
  const std::string path = write("x.json", with_app("\"workload\": {\"clients\": \"abc\"}"));
  EXPECT_EQ(load_scenario_file(path).error(),
            path + ": workload.clients: expected a positive integer, got \"abc\"");
}

TEST_F(ScenarioFiles, MissingFileIsNamed) {
  const std::string path = (directory_ / "nope.json").string();
  EXPECT_EQ(load_scenario_file(path).error(), path + ": no such file");
}

TEST_F(ScenarioFiles, DirectoryIsNotAScenario) {
  EXPECT_EQ(load_scenario_file(directory_.string()).error(),
            directory_.string() + ": is a directory, not a file");
}

TEST_F(ScenarioFiles, UnreadableFileSaysWhy) {
  const std::string path = write("unreadable.json", "{\"app\": \"echo_select\"}");
  fs::permissions(path, fs::perms::none);
  if (std::ifstream(path).good()) GTEST_SKIP() << "running as root: permission bits do not stop reads";
  EXPECT_EQ(load_scenario_file(path).error(), path + ": cannot be read: Permission denied");
}

TEST_F(ScenarioFiles, OversizedFileIsRejectedBeforeParsing) {
  const std::string path = write("huge.json", std::string(scenario_file_bytes_max + 1, ' '));
  EXPECT_NE(load_scenario_file(path).error().find(": larger than 1048576 bytes"), std::string::npos);
}

TEST_F(ScenarioFiles, CommentsAreAllowedAndDefaultsFillTheRest) {
  const std::string path = write("minimal_echo.json", R"(// a leading comment
    { /* block */ "app": "echo_poll" // trailing
    })");
  const Result<ScenarioSpec> loaded = load_scenario_file(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.error();
  const ScenarioSpec& spec = *loaded;
  EXPECT_EQ(spec.name, "minimal_echo");  // the file name without .json
  EXPECT_EQ(spec.app, "echo_poll");
  EXPECT_EQ(spec.path, path);
  EXPECT_TRUE(spec.params.is_object());
  EXPECT_TRUE(spec.params.empty());
  EXPECT_EQ(spec.workload.clients, 4);
  EXPECT_EQ(spec.workload.messages, 8);
  EXPECT_EQ(spec.workload.message_bytes_min, 1);
  EXPECT_EQ(spec.workload.message_bytes_max, 4096);
  EXPECT_EQ(spec.workload.seed, 1u);
  EXPECT_EQ(spec.network.latency_us, 50);
  EXPECT_EQ(spec.sim.seed, 1u);
  EXPECT_EQ(spec.sim.strategy, "random");
  EXPECT_EQ(spec.sim.step_max, 20'000'000u);
  EXPECT_EQ(spec.checks, (std::vector<std::string>{"echo_in_order", "all_tasks_finished"}));
}

TEST_F(ScenarioFiles, EveryFieldIsRead) {
  const std::string path = write("full.json", R"({
    "name": "n", "description": "d", "app": "echo_nonblocking_poll_loop",
    "params": {"idle_sleep_us": 7, "backlog": 9},
    "workload": {"clients": 3, "messages": 0, "message_bytes_min": 5, "message_bytes_max": 5,
                 "seed": 18446744073709551615},
    "network": {"latency_us": 0},
    "faults": {"eintr": 0.25, "reset": 1, "jitter_us": 150},
    "sim": {"seed": 42, "strategy": "rr", "step_max": 1000},
    "checks": []
  })");
  const Result<ScenarioSpec> loaded = load_scenario_file(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.error();
  EXPECT_EQ(loaded->name, "n");
  EXPECT_EQ(loaded->description, "d");
  EXPECT_EQ(loaded->params["idle_sleep_us"], 7);
  EXPECT_EQ(loaded->workload.clients, 3);
  EXPECT_EQ(loaded->workload.messages, 0);
  EXPECT_EQ(loaded->workload.message_bytes_min, 5);
  EXPECT_EQ(loaded->workload.seed, 18446744073709551615u);  // seeds use all 64 bits
  EXPECT_EQ(loaded->network.latency_us, 0);
  EXPECT_EQ(loaded->faults.syscalls.eintr, 0.25);
  EXPECT_EQ(loaded->faults.network.reset, 1.0);
  EXPECT_EQ(loaded->faults.network.latency_jitter_ns, 150'000);
  EXPECT_FALSE(loaded->faults.syscalls.short_read > 0);
  EXPECT_EQ(loaded->sim.seed, 42u);
  EXPECT_EQ(loaded->sim.strategy, "rr");
  EXPECT_EQ(loaded->sim.step_max, 1000u);
  EXPECT_TRUE(loaded->checks.empty());
}

TEST_F(ScenarioFiles, HttpWorkloadFieldsAndDefaultChecks) {
  const std::string path = write("web.json", R"({
    "app": "reactor_http",
    "workload": {"kind": "http", "clients": 3, "requests": 5, "body_bytes_min": 2, "body_bytes_max": 9, "seed": 4}
  })");
  const Result<ScenarioSpec> loaded = load_scenario_file(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.error();
  EXPECT_EQ(loaded->workload.kind, WorkloadKind::http);
  EXPECT_EQ(loaded->workload.clients, 3);
  EXPECT_EQ(loaded->workload.requests, 5);
  EXPECT_EQ(loaded->workload.body_bytes_min, 2);
  EXPECT_EQ(loaded->workload.body_bytes_max, 9);
  EXPECT_EQ(loaded->workload.seed, 4u);
  EXPECT_EQ(workload_connections(loaded->workload), 15);  // HTTP/1.0: one connection per request
  // No "checks": the http workload's own check, not echo_in_order.
  EXPECT_EQ(loaded->checks, (std::vector<std::string>{"http_responses_ok", "all_tasks_finished"}));
}

// What `iosim diff` compares with: the app's native backend unless the file names one.
TEST_F(ScenarioFiles, NativeBackendIsTheAppsUnlessTheFileNamesOne) {
  const Result<ScenarioSpec> linux_app = load_scenario_file(write("a.json", R"({"app": "echo_select"})"));
  ASSERT_TRUE(linux_app.is_ok()) << linux_app.error();
  EXPECT_EQ(linux_app->native_backend, "linux");
  const Result<ScenarioSpec> windows_app = load_scenario_file(write("b.json", R"({"app": "iocp_pool"})"));
  ASSERT_TRUE(windows_app.is_ok()) << windows_app.error();
  EXPECT_EQ(windows_app->native_backend, "windows");
  const Result<ScenarioSpec> overridden = load_scenario_file(
      write("c.json", R"({"app": "proactor_echo", "params": {"impl": 2}, "native_backend": "linux"})"));
  ASSERT_TRUE(overridden.is_ok()) << overridden.error();
  EXPECT_EQ(overridden->native_backend, "linux");
}

// Mutations of a real scenario file (byte flips, truncations, inserted bytes and JSON punctuation): the
// loader returns a spec or an error that names the origin; it never crashes, hangs or throws.
TEST(ScenarioParse, NeverCrashesOnMutatedInput) {
  std::ifstream file(bundled_path("echo_select"), std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(original.empty());
  sim::Prng prng(2024);
  const std::string tokens[] = {"{", "}",  "[",     "]",    ",",  ":",  "\"",
                                "0", "-1", "1e999", "null", "//", "/*", "\\u"};
  int accepted = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text = original;
    const int edits = static_cast<int>(prng.between(1, 4));
    for (int edit = 0; edit < edits && !text.empty(); ++edit) {
      const auto at = static_cast<std::size_t>(prng.below(text.size()));
      switch (prng.below(4)) {
        case 0:
          text[at] = static_cast<char>(prng.below(256));
          break;
        case 1:
          text.resize(at);
          break;
        case 2:
          text.insert(at, tokens[prng.below(std::size(tokens))]);
          break;
        default:
          text.erase(at, static_cast<std::size_t>(prng.between(1, 16)));
          break;
      }
    }
    const Result<ScenarioSpec> parsed = parse_scenario(text, "mutant.json");
    if (parsed.is_ok()) {
      ++accepted;
    } else {
      ASSERT_EQ(parsed.error().rfind("mutant.json", 0), 0u) << parsed.error();
    }
  }
  EXPECT_LT(accepted, 4000);  // the mutations do break files
}

TEST(ScenarioParse, RandomBytesAreRejected) {
  sim::Prng prng(7);
  for (int round = 0; round < 500; ++round) {
    std::string text(static_cast<std::size_t>(prng.between(1, 200)), '\0');
    for (char& byte : text) byte = static_cast<char>(prng.below(256));
    EXPECT_FALSE(parse_scenario(text, "noise").is_ok());
  }
}

// --- the bundled scenario files ---

class BundledScenario : public ::testing::TestWithParam<const char*> {};

TEST_P(BundledScenario, LoadsWithItsOwnNameAndApp) {
  const Result<ScenarioSpec> loaded = load_scenario_file(bundled_path(GetParam()));
  ASSERT_TRUE(loaded.is_ok()) << loaded.error();
  EXPECT_EQ(loaded->name, GetParam());
  EXPECT_EQ(loaded->app, GetParam());
  EXPECT_FALSE(loaded->description.empty());
  EXPECT_NE(find_app(loaded->app), nullptr);
  EXPECT_EQ(loaded->checks, (std::vector<std::string>{"echo_in_order", "all_tasks_finished"}));
  EXPECT_LE(loaded->workload.clients * loaded->workload.messages, 64) << "bundled runs are meant to be small";
}

// The point of the whole scenario layer: each server echoes every byte, in order, on the real kernel.
TEST_P(BundledScenario, EchoesInOrderOnLinux) {
  const Result<ScenarioSpec> loaded = load_scenario_file(bundled_path(GetParam()));
  ASSERT_TRUE(loaded.is_ok()) << loaded.error();
  LinuxOs os;
  const Observation observation = run_echo_workload(os, *loaded);
  const std::vector<CheckResult> results = evaluate_checks(*loaded, observation);
  ASSERT_EQ(results.size(), 1u);  // all_tasks_finished belongs to the simulator driver
  EXPECT_TRUE(results[0].passed) << results[0].detail << "\n" << observation.to_json().dump(2);
  ASSERT_EQ(observation.clients.size(), static_cast<std::size_t>(loaded->workload.clients));
  for (const ClientReport& report : observation.clients) {
    EXPECT_TRUE(report.connected);
    EXPECT_TRUE(report.echoed_in_order) << report.error;
    EXPECT_GT(report.bytes_sent, 0u);
    EXPECT_EQ(report.transcript_hash, expected_transcript_hash(loaded->workload, report.client));
  }
}

// Messages far larger than the socket buffers: a client or server that sent everything before reading would
// deadlock here; one-byte reads force the most partial echoes.
TEST_P(BundledScenario, SurvivesHugeMessagesAndOneByteReads) {
  Result<ScenarioSpec> loaded = load_scenario_file(bundled_path(GetParam()));
  ASSERT_TRUE(loaded.is_ok()) << loaded.error();
  LinuxOs os;
  ScenarioSpec huge = *loaded;
  huge.workload = WorkloadSpec{3, 2, 512 * 1024, 2 * 1024 * 1024, 99};
  EXPECT_TRUE(check_echo_in_order(huge, run_echo_workload(os, huge)).passed);
  ScenarioSpec trickle = *loaded;
  trickle.params["read_chunk_bytes"] = 1;
  trickle.workload = WorkloadSpec{2, 3, 1, 300, 5};
  const CheckResult result = check_echo_in_order(trickle, run_echo_workload(os, trickle));
  EXPECT_TRUE(result.passed) << result.detail;
}

INSTANTIATE_TEST_SUITE_P(Echo, BundledScenario, ::testing::ValuesIn(bundled_scenarios));

// --- registry ---

TEST(Registry, ListsEveryServerSortedByName) {
  ASSERT_EQ(apps().size(), std::size(bundled_apps));
  for (std::size_t i = 0; i < apps().size(); ++i) {
    EXPECT_EQ(apps()[i].name, bundled_apps[i]);
    EXPECT_EQ(apps()[i].workload, apps()[i].name == "reactor_http" ? WorkloadKind::http : WorkloadKind::echo);
    EXPECT_FALSE(apps()[i].description.empty());
    EXPECT_NE(apps()[i].main, nullptr);
    EXPECT_EQ(find_app(apps()[i].name), &apps()[i]);
    ASSERT_NE(find_param(apps()[i], "backlog"), nullptr);
  }
  EXPECT_EQ(find_app("echo_epoll"), nullptr);
  EXPECT_EQ(find_app(""), nullptr);
}

TEST(Registry, ParamIntFallsBackToTheDefault) {
  const AppParam param{"backlog", 128, 1, 4096, ""};
  EXPECT_EQ(param_int(nlohmann::json::object(), param), 128);
  EXPECT_EQ(param_int(nlohmann::json{{"backlog", 7}}, param), 7);
  EXPECT_EQ(param_int(nlohmann::json{{"backlog", 0}}, param), 128);     // below range
  EXPECT_EQ(param_int(nlohmann::json{{"backlog", 5000}}, param), 128);  // above range
  EXPECT_EQ(param_int(nlohmann::json{{"backlog", "7"}}, param), 128);   // not an integer
  EXPECT_EQ(param_int(nlohmann::json{{"backlog", 18446744073709551615u}}, param), 128);
  EXPECT_EQ(param_int(nlohmann::json::array(), param), 128);
}

// --- workload oracle and checks ---

TEST(Workload, MessagesDependOnlyOnSeedAndClient) {
  const WorkloadSpec workload{2, 50, 3, 9, 11};
  EXPECT_NE(client_seed(11, 1), client_seed(11, 2));
  EXPECT_NE(client_seed(11, 1), client_seed(12, 1));
  EXPECT_EQ(expected_transcript_hash(workload, 1), expected_transcript_hash(workload, 1));
  EXPECT_NE(expected_transcript_hash(workload, 1), expected_transcript_hash(workload, 2));
  sim::Prng prng(client_seed(11, 1));
  std::vector<std::byte> message;
  for (int i = 0; i < 50; ++i) {
    next_message(prng, workload, message);
    EXPECT_GE(message.size(), 3u);
    EXPECT_LE(message.size(), 9u);
  }
}

TEST(Workload, TranscriptHashIgnoresChunking) {
  std::vector<std::byte> bytes(1003);  // not a whole number of 8-byte words
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 7);
  TranscriptHash whole;
  whole.add(bytes);
  for (std::size_t chunk = 1; chunk <= 17; ++chunk) {
    TranscriptHash pieces;
    for (std::size_t i = 0; i < bytes.size(); i += chunk) {
      pieces.add(std::span<const std::byte>(bytes).subspan(i, std::min(chunk, bytes.size() - i)));
    }
    EXPECT_EQ(whole.value(), pieces.value()) << "chunks of " << chunk;
  }
  TranscriptHash changed_last_byte, one_more_zero;
  std::vector<std::byte> other = bytes;
  other.back() ^= std::byte{1};  // in the partial last word
  changed_last_byte.add(other);
  EXPECT_NE(changed_last_byte.value(), whole.value());
  other = bytes;
  other.push_back(std::byte{0});  // a zero byte still counts
  one_more_zero.add(other);
  EXPECT_NE(one_more_zero.value(), whole.value());
  TranscriptHash reordered;
  std::swap(bytes[0], bytes[1]);
  reordered.add(bytes);
  EXPECT_NE(reordered.value(), whole.value());  // order matters
}

TEST(Workload, UnknownAppIsAServerErrorNotACrash) {
  ScenarioSpec spec;
  spec.app = "no_such_app";
  LinuxOs os;
  const Observation observation = run_echo_workload(os, spec);
  EXPECT_EQ(observation.server_error, "unknown app \"no_such_app\"");
  EXPECT_FALSE(check_echo_in_order(spec, observation).passed);
}

// An observation that passes, then one defect at a time: each must fail the check with a detail naming it.
TEST(Checks, EchoInOrderCatchesEachKindOfViolation) {
  ScenarioSpec spec;
  spec.workload = WorkloadSpec{2, 3, 1, 10, 5};
  Observation good;
  for (int client = 1; client <= 2; ++client) {
    sim::Prng prng(client_seed(5, client));
    std::uint64_t bytes = 0;
    std::vector<std::byte> message;
    for (int i = 0; i < 3; ++i) {
      next_message(prng, spec.workload, message);
      bytes += message.size();
    }
    good.clients.push_back(
        ClientReport{client, bytes, bytes, true, "", expected_transcript_hash(spec.workload, client), true});
  }
  EXPECT_TRUE(check_echo_in_order(spec, good).passed) << check_echo_in_order(spec, good).detail;

  const auto fails_with = [&](Observation bad, std::string_view detail) {
    const CheckResult result = check_echo_in_order(spec, bad);
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.detail, detail);
  };
  Observation bad = good;
  bad.server_error = "accept4: EMFILE";
  fails_with(bad, "server: accept4: EMFILE");
  bad = good;
  bad.clients.pop_back();
  fails_with(bad, "1 client reports, expected 2");
  bad = good;
  bad.clients[1].error = "recv: ECONNRESET";
  fails_with(bad, "client 2: recv: ECONNRESET");
  bad = good;
  bad.clients[0].echoed_in_order = false;
  fails_with(bad, "client 1: echo not in order");
  bad = good;
  bad.clients[0].bytes_received -= 1;
  fails_with(bad, fmt::format("client 1: sent {} bytes, received {}", good.clients[0].bytes_sent,
                              good.clients[0].bytes_sent - 1));
  bad = good;
  bad.clients[1].transcript_hash ^= 1;
  fails_with(bad, fmt::format("client 2: transcript hash {:016x}, expected {:016x}",
                              good.clients[1].transcript_hash ^ 1, good.clients[1].transcript_hash));
}

TEST(Checks, KnownChecksAndWhoEvaluatesThem) {
  EXPECT_EQ(known_checks(), (std::vector<std::string_view>{"echo_in_order", "all_tasks_finished",
                                                           "http_responses_ok", "app_checks"}));
  EXPECT_TRUE(is_observation_check("echo_in_order"));
  EXPECT_TRUE(is_observation_check("http_responses_ok"));
  EXPECT_TRUE(is_observation_check("app_checks"));
  EXPECT_FALSE(is_observation_check("all_tasks_finished"));
  EXPECT_EQ(check_workload_kind("echo_in_order"), WorkloadKind::echo);
  EXPECT_EQ(check_workload_kind("http_responses_ok"), WorkloadKind::http);
  EXPECT_EQ(check_workload_kind("app_checks"), WorkloadKind::none);
  EXPECT_EQ(check_workload_kind("all_tasks_finished"), std::nullopt);
  ScenarioSpec spec;
  spec.checks = {"all_tasks_finished"};
  EXPECT_TRUE(evaluate_checks(spec, Observation{}).empty());
}

TEST(Observation, JsonAndSummaryShowEveryClient) {
  Observation observation;
  observation.clients.push_back(ClientReport{1, 10, 10, true, "", 0xabcULL, true});
  observation.clients.push_back(ClientReport{2, 5, 3, false, "recv: ECONNRESET", 1, true});
  const nlohmann::json json = observation.to_json();
  ASSERT_EQ(json["clients"].size(), 2u);
  EXPECT_EQ(json["clients"][0]["transcript_hash"], "0000000000000abc");
  EXPECT_EQ(json["clients"][1]["error"], "recv: ECONNRESET");
  EXPECT_EQ(json["server_error"], "");
  EXPECT_EQ(json["workload"], "echo");
  EXPECT_EQ(observation.summary(),
            "1/2 clients echoed in order, 13 bytes echoed; client 2: recv: ECONNRESET; server ok");
}

}  // namespace
}  // namespace iosim
