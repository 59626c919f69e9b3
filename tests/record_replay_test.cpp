// tests/record_replay_test.cpp — RecordingOs and the .iotrace round trip: a server recorded on Linux (or the
// simulator) replays on SimOs with the same bytes per connection; an altered recording is caught; recording
// does not perturb a simulated run; the parser rejects every malformed or truncated file with FILE:LINE.
#include "tools/record_replay.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "backends/recording/recording_os.hpp"
#include "sim/prng.hpp"

namespace iosim {
namespace {

std::string source_dir() {
  const char* dir = std::getenv("IOSIM_SOURCE_DIR");
  return dir ? dir : ".";
}

ScenarioSpec scenario(const std::string& name) {
  Result<ScenarioSpec> loaded = load_scenario_file(source_dir() + "/scenarios/" + name + ".json");
  IOSIM_ASSERT(loaded.is_ok(), "bundled scenario must load");
  return loaded.value();
}

std::uint64_t expected_echo_bytes(const ScenarioSpec& spec) {
  std::uint64_t bytes = 0;
  for (int client = 1; client <= spec.workload.clients; ++client)
    bytes += expected_bytes_received(spec.workload, client);
  return bytes;
}

class NativeRoundTrip : public ::testing::TestWithParam<std::string> {};

// A recording, through the file (as `iosim record` then `iosim replay` would), replays with every connection
// and the same bytes.
void expect_replays_with_the_same_bytes(const ScenarioSpec& spec, const RecordOutcome& recorded) {
  ASSERT_TRUE(recorded.report.passed) << recorded.report.observation.summary();
  EXPECT_EQ(recorded.trace.end.connections, spec.workload.clients);
  Result<IoTrace> parsed = parse_iotrace(format_iotrace(recorded.trace), "recorded.iotrace");
  ASSERT_TRUE(parsed) << parsed.status().message();
  const ReplayReport replay = replay_iotrace(parsed.value());
  EXPECT_TRUE(replay.same()) << ::testing::PrintToString(replay.differences);
  EXPECT_EQ(replay.connections, static_cast<std::size_t>(spec.workload.clients));
  EXPECT_EQ(replay.bytes_sent, expected_echo_bytes(spec));
  EXPECT_EQ(replay.sim.run.outcome, sim::RunResult::Outcome::completed);
}

// Done-when of the feature: a recorded native echo run replays in the simulator with the same results.
TEST_P(NativeRoundTrip, RecordedOnLinuxReplaysOnSimWithTheSameBytes) {
  const ScenarioSpec spec = scenario(GetParam());
  expect_replays_with_the_same_bytes(spec, record_scenario(spec, "linux"));
}

INSTANTIATE_TEST_SUITE_P(EchoServers, NativeRoundTrip,
                         ::testing::Values("echo_blocking_threads", "echo_select", "echo_poll",
                                           "echo_epoll_lt", "echo_epoll_et"));

// The IOCP servers have no Linux run to record; a simulated run records their overlapped I/O (AcceptEx,
// WSARecv, WSASend), and the replay serves the same bytes.
class IocpRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(IocpRoundTrip, RecordedOnTheSimulatorReplaysWithTheSameBytes) {
  const ScenarioSpec spec = scenario(GetParam());
  expect_replays_with_the_same_bytes(spec, record_scenario(spec, "sim", 3));
}

INSTANTIATE_TEST_SUITE_P(IocpServers, IocpRoundTrip,
                         ::testing::Values("iocp_pool", "iocp_accept_callbacks", "proactor_echo"));

TEST(RecordReplay, RecordingASimulatedRunDoesNotChangeIt) {
  const ScenarioSpec spec = scenario("echo_select");
  const RunReport plain = run_scenario(spec, RunRequest{"sim", 7, std::nullopt, false});
  const RecordOutcome recorded = record_scenario(spec, "sim", 7);
  ASSERT_TRUE(recorded.report.sim);
  EXPECT_EQ(recorded.report.sim->trace_hash, plain.sim->trace_hash);
  EXPECT_TRUE(recorded.report.passed);
  // ... and the recording of a simulated run is itself deterministic, byte for byte.
  EXPECT_EQ(format_iotrace(recorded.trace), format_iotrace(record_scenario(spec, "sim", 7).trace));
}

TEST(RecordReplay, ReplayIsDeterministic) {
  const RecordOutcome recorded = record_scenario(scenario("echo_epoll_lt"), "linux");
  const ReplayReport first = replay_iotrace(recorded.trace);
  const ReplayReport second = replay_iotrace(recorded.trace);
  EXPECT_EQ(first.sim.trace_hash, second.sim.trace_hash);
  EXPECT_EQ(format_iotrace(first.replayed), format_iotrace(second.replayed));
}

TEST(RecordReplay, AnAlteredReceivedByteIsReportedAsADifference) {
  RecordOutcome recorded = record_scenario(scenario("echo_blocking_threads"), "sim");
  IoEvent* received = nullptr;
  for (IoEvent& event : recorded.trace.events) {
    if (event.kind == "recv" && event.result > 10 && event.conn == 2) received = &event;
  }
  ASSERT_NE(received, nullptr);
  received->data[10] ^= std::byte{0x5a};
  const ReplayReport replay = replay_iotrace(recorded.trace);
  ASSERT_EQ(replay.differences.size(), 1u) << ::testing::PrintToString(replay.differences);
  EXPECT_NE(replay.differences[0].find("connection 2:"), std::string::npos) << replay.differences[0];
  EXPECT_NE(replay.differences[0].find("first difference at byte"), std::string::npos)
      << replay.differences[0];
}

TEST(RecordReplay, AResetWhereTheServerSawOneIsReplayed) {
  RecordOutcome recorded = record_scenario(scenario("echo_blocking_threads"), "sim");
  // Turn connection 3's end of input into a reset: the replayed peer must reset, and the server (which then
  // reports "recv: ECONNRESET") must send connection 3 nothing after that point.
  for (IoEvent& event : recorded.trace.events) {
    if (event.kind == "recv" && event.conn == 3 && event.result == 0) {
      event.result = -1;
      event.error = E::CONNRESET;
    }
  }
  const std::vector<RecordedConnection> world = recorded_world(recorded.trace);
  ASSERT_EQ(world.size(), 4u);
  ASSERT_EQ(world[2].steps.back().kind, PeerStep::Kind::reset);
  const ReplayReport replay = replay_iotrace(recorded.trace);
  bool reset_seen = false;
  for (const IoEvent& event : replay.replayed.events) {
    reset_seen = reset_seen || (event.conn == 3 && event.kind == "recv" && event.error == E::CONNRESET);
  }
  EXPECT_TRUE(reset_seen);
}

// The recorder's fd discipline: an fd reused by a later accept belongs to the new connection.
TEST(RecordingOs, AReusedFdIsANewConnection) {
  SimOs os(SimConfig{});
  RecordingOs recording(os, {[&os] { return os.scheduler().now_ns(); }, [] { return std::string("t"); }});
  os.run([&] {
    const int listener = recording.socket(AF::INET, SOCK::STREAM, 0);
    recording.bind(listener, SockAddr{loopback_ip, 0});
    recording.listen(listener, 8);
    SockAddr bound;
    os.getsockname(listener, &bound);
    for (int round = 0; round < 2; ++round) {
      const int client = os.socket(AF::INET, SOCK::STREAM, 0);
      os.connect(client, bound);
      const int accepted = recording.accept4(listener, nullptr, 0);
      os.send(client, "x", 1, 0);
      char byte = 0;
      recording.recv(accepted, &byte, 1, 0);
      recording.close(accepted);
      os.close(client);
    }
  });
  std::vector<int> recv_conns, accepted_fds;
  for (const IoEvent& event : recording.take_events()) {
    if (event.kind == "recv") recv_conns.push_back(event.conn);
    if (event.kind == "accept4") accepted_fds.push_back(static_cast<int>(event.result));
  }
  ASSERT_EQ(accepted_fds.size(), 2u);
  EXPECT_EQ(accepted_fds[0], accepted_fds[1]);      // the kernel reused the fd ...
  EXPECT_EQ(recv_conns, (std::vector<int>{1, 2}));  // ... and the recorder told the connections apart
}

// Overlapped I/O is recorded once, when the application learns the outcome: AcceptEx with the bytes that
// came with the connection, a pending WSARecv at its dequeue, an immediate one at the call (its packet,
// dequeued later, is not recorded again), a zero-byte WSARecv not at all; and the events parse back and
// make the replay world's steps.
TEST(RecordingOs, OverlappedIoIsRecordedOnceWhenTheApplicationLearnsItsOutcome) {
  using namespace win32;
  SimOs os(SimConfig{});
  RecordingOs recording(os, {[&os] { return os.scheduler().now_ns(); }, [] { return std::string("t"); }});
  const auto handle = [](SOCKET s) { return reinterpret_cast<HANDLE>(s); };
  const auto dequeue = [&recording](HANDLE port) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* overlapped = nullptr;
    EXPECT_TRUE(recording.GetQueuedCompletionStatus(port, &bytes, &key, &overlapped, INFINITE_));
    return overlapped;
  };
  os.run([&] {
    const SOCKET listener = recording.WSASocketW(AF::INET, SOCK::STREAM, IPPROTO::TCP, WSA_FLAG_OVERLAPPED_);
    recording.bind(static_cast<int>(listener), SockAddr{loopback_ip, 0});
    recording.listen(static_cast<int>(listener), 8);
    SockAddr bound;
    os.getsockname(static_cast<int>(listener), &bound);
    const HANDLE port = recording.CreateIoCompletionPort(handle(listener), nullptr, 1, 0);
    const SOCKET accepted = recording.WSASocketW(AF::INET, SOCK::STREAM, IPPROTO::TCP, WSA_FLAG_OVERLAPPED_);
    char first[8 + 2 * accept_address_bytes_min];
    OVERLAPPED accept_io{}, recv_io{}, send_io{};
    DWORD bytes = 0;
    EXPECT_FALSE(recording.AcceptEx(listener, accepted, first, 8, accept_address_bytes_min,
                                    accept_address_bytes_min, &bytes, &accept_io));
    const int client = os.socket(AF::INET, SOCK::STREAM, 0);
    os.connect(client, bound);
    os.send(client, "hi", 2, 0);
    EXPECT_EQ(dequeue(port), &accept_io);
    recording.CreateIoCompletionPort(handle(accepted), port, 2, 0);
    char buffer[16];
    WSABUF wsabuf{sizeof buffer, buffer};
    DWORD flags = 0;
    EXPECT_EQ(recording.WSARecv(accepted, &wsabuf, 1, nullptr, &flags, &recv_io), SOCKET_ERROR_);  // pending
    os.send(client, "abc", 3, 0);
    EXPECT_EQ(dequeue(port), &recv_io);
    os.send(client, "de", 2, 0);
    os.sleep_for(1'000'000);
    EXPECT_EQ(recording.WSARecv(accepted, &wsabuf, 1, nullptr, &flags, &recv_io), 0);  // immediate
    EXPECT_EQ(dequeue(port), &recv_io);  // its packet: not a second event
    WSABUF empty{0, nullptr};
    EXPECT_EQ(recording.WSARecv(accepted, &empty, 1, nullptr, &flags, &recv_io), SOCKET_ERROR_);
    os.send(client, "f", 1, 0);
    EXPECT_EQ(dequeue(port), &recv_io);  // a zero-byte receive: readiness, not recorded
    char reply[] = "xyz";
    WSABUF out{3, reply};
    EXPECT_EQ(recording.WSASend(accepted, &out, 1, nullptr, 0, &send_io), 0);
    EXPECT_EQ(dequeue(port), &send_io);
    EXPECT_EQ(recording.WSARecv(accepted, &wsabuf, 1, nullptr, &flags, &recv_io), 0);  // "f"
    EXPECT_EQ(dequeue(port), &recv_io);
    char echoed[3];
    EXPECT_EQ(os.recv(client, echoed, sizeof echoed, 0), 3);  // unread bytes would make close() reset
    os.close(client);
    recording.WSARecv(accepted, &wsabuf, 1, nullptr, &flags, &recv_io);  // the FIN may be there already
    EXPECT_EQ(dequeue(port), &recv_io);                                  // end of stream
    recording.closesocket(accepted);
    recording.closesocket(listener);
    recording.CloseHandle(port);
  });
  IoTrace trace;
  trace.header.app = "iocp_pool";
  trace.events = recording.take_events();
  trace.end.connections = recording.connections_accepted();
  std::vector<std::string> seen;
  for (const IoEvent& event : trace.events) {
    std::string data(reinterpret_cast<const char*>(event.data.data()), event.data.size());
    seen.push_back(fmt::format("{} conn={} result={} {}", event.kind, event.conn, event.result, data));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"bind conn=0 result=0 ", "listen conn=0 result=0 ",
                                            "AcceptEx conn=1 result=2 hi", "WSARecv conn=1 result=3 abc",
                                            "WSARecv conn=1 result=2 de", "WSASend conn=1 result=3 xyz",
                                            "WSARecv conn=1 result=1 f", "WSARecv conn=1 result=0 ",
                                            "closesocket conn=1 result=0 ", "closesocket conn=0 result=0 "}));
  Result<IoTrace> parsed = parse_iotrace(format_iotrace(trace), "iocp.iotrace");
  ASSERT_TRUE(parsed) << parsed.status().message();
  const std::vector<RecordedConnection> world = recorded_world(parsed.value());
  ASSERT_EQ(world.size(), 1u);
  std::string input;
  for (const PeerStep& step : world[0].steps)
    input.append(reinterpret_cast<const char*>(step.bytes.data()), step.bytes.size());
  EXPECT_EQ(input, "hiabcdef");
  EXPECT_EQ(world[0].steps.back().kind, PeerStep::Kind::eof);
  EXPECT_EQ(world[0].sent_by_server.size(), 3u);
}

// A failed completion's Win32 error (beyond Linux's errno range) parses, and a reset one is a peer reset.
TEST(IoTraceParser, Win32ErrorsOfOverlappedEventsParseAndAResetIsAPeerReset) {
  IoTrace trace;
  trace.header.app = "iocp_pool";
  IoEvent accepted;
  accepted.seq = 1, accepted.kind = "AcceptEx", accepted.fd = 3, accepted.conn = 1;
  IoEvent reset;
  reset.seq = 2, reset.kind = "WSARecv", reset.fd = 4, reset.conn = 1, reset.result = -1;
  reset.error = static_cast<int>(win32::Error::NETNAME_DELETED);
  IoEvent aborted = reset;
  aborted.seq = 3, aborted.error = win32::WSA::CONNRESET;  // through WSAGetOverlappedResult
  trace.events = {accepted, reset, aborted};
  trace.end.connections = 1;
  Result<IoTrace> parsed = parse_iotrace(format_iotrace(trace), "reset.iotrace");
  ASSERT_TRUE(parsed) << parsed.status().message();
  EXPECT_EQ(parsed->events[2].error, win32::WSA::CONNRESET);
  const std::vector<RecordedConnection> world = recorded_world(parsed.value());
  ASSERT_EQ(world.size(), 1u);
  ASSERT_EQ(world[0].steps.size(), 1u);
  EXPECT_EQ(world[0].steps[0].kind, PeerStep::Kind::reset);
  // A Linux kind keeps Linux's errno range: WSAECONNRESET (10054) is no errno.
  std::string text = format_iotrace(trace);
  const std::string from = "\"kind\":\"WSARecv\"";
  text.replace(text.rfind(from), from.size(), "\"kind\":\"recv\"");
  EXPECT_FALSE(parse_iotrace(text, "reset.iotrace").is_ok());
}

// --- the parser ---

// A small recording (2 clients, 3 messages of at most 64 bytes each): every parser test cuts or edits it.
std::string valid_file() {
  static const std::string text = [] {
    Result<ScenarioSpec> spec = parse_scenario(
        R"({"app": "echo_poll", "workload": {"clients": 2, "messages": 3, "message_bytes_max": 64}})",
        "<inline>");
    IOSIM_ASSERT(spec.is_ok(), "the inline scenario must load");
    return format_iotrace(record_scenario(spec.value(), "sim").trace);
  }();
  return text;
}

// Replaces `count` characters at the first occurrence of `anchor` (searched from line 1 on) + `skip`.
std::string spliced(const std::string& anchor, std::size_t skip, std::size_t count, const std::string& to) {
  std::string text = valid_file();
  const std::size_t at = text.find(anchor);
  IOSIM_ASSERT(at != std::string::npos, "the edit must apply");
  return text.replace(at + skip, count, to);
}

std::string without_first_line(const std::string& text) {
  return text.substr(text.find('\n') + 1);
}
std::string without_last_line(const std::string& text) {
  return text.substr(0, text.rfind('\n', text.size() - 2) + 1);
}

struct Rejection {
  const char* name;
  std::string (*text)();  // built when the test runs (it records a simulated run), not at test discovery
  const char* expected;   // a piece of the message, after "bad.iotrace:"
};

class IoTraceRejects : public ::testing::TestWithParam<Rejection> {};

TEST_P(IoTraceRejects, WithFileLineAndReason) {
  const Result<IoTrace> parsed = parse_iotrace(GetParam().text(), "bad.iotrace");
  ASSERT_FALSE(parsed) << "accepted";
  EXPECT_EQ(parsed.error().rfind("bad.iotrace:", 0), 0u) << parsed.error();
  EXPECT_NE(parsed.error().find(GetParam().expected), std::string::npos) << parsed.error();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, IoTraceRejects,
    ::testing::Values(
        Rejection{"Empty", [] { return std::string(); }, ":1: empty file"},
        Rejection{"MissingHeader", [] { return without_first_line(valid_file()); },
                  ":1: not an iosim iotrace file"},
        Rejection{"OtherFormat", [] { return std::string("{\"format\":\"iosim-trace\",\"version\":1}\n"); },
                  ":1: not an iosim iotrace"},
        Rejection{"NewerVersion", [] { return spliced("\"version\":1", 10, 1, "2"); },
                  ":1: unsupported version 2"},
        Rejection{"HeaderMissesApp", [] { return spliced("\"app\":", 1, 3, "ap"); },
                  ":1: unknown field \"ap\""},
        Rejection{"MalformedJson", [] { return spliced("\"kind\":\"socket\"", 7, 1, ""); }, ":2:"},
        Rejection{"UnknownKind", [] { return spliced("\"kind\":\"socket\"", 8, 6, "sockt"); },
                  ":2: unknown event kind \"sockt\""},
        Rejection{"MissingField", [] { return spliced(",\"errno\":0", 0, 10, ""); },
                  ":2: missing field \"errno\""},
        Rejection{"UnknownField", [] { return spliced("\"errno\":0", 9, 0, ",\"color\":1"); },
                  ":2: unknown field \"color\""},
        Rejection{"OutOfOrderSeq", [] { return spliced("\"seq\":2,", 6, 1, "3"); },
                  ":3: out-of-order sequence number: expected 2, got 3"},
        Rejection{"TimeGoesBackwards", [] { return spliced("\"seq\":2,\"t_ns\":", 15, 0, "-"); },
                  ":3: field \"t_ns\""},
        Rejection{"TimeBeyondTheLimit",
                  [] { return spliced("\"seq\":2,\"t_ns\":", 15, 0, "99999999999999"); },
                  ":3: field \"t_ns\": expected an integer in"},
        Rejection{"DataOfWrongLength", [] { return spliced("\"data\":\"", 8, 0, "00"); },
                  "hex digits for a result of"},
        Rejection{"DataNotHex", [] { return spliced("\"data\":\"", 8, 2, "zz"); },
                  "expected lower-case hex digits"},
        Rejection{"ConnNeverAccepted", [] { return spliced("\"conn\":1", 7, 1, "9"); }, "field \"conn\""},
        Rejection{"NoNewlineAtEnd", [] { return valid_file().substr(0, valid_file().size() - 1); },
                  "the last line has no newline"},
        Rejection{"NoEndRecord", [] { return without_last_line(valid_file()); }, "no end record"},
        Rejection{"DataAfterEnd", [] { return valid_file() + "{}\n"; }, "data after the end record"},
        Rejection{"EndMiscounts", [] { return spliced("\"kind\":\"end\",\"connections\":2", 27, 1, "5"); },
                  "field \"connections\""}),
    [](const ::testing::TestParamInfo<Rejection>& test) { return test.param.name; });

TEST(IoTraceParser, AcceptsWhatItWritesAndKeepsEveryField) {
  const RecordOutcome recorded = record_scenario(scenario("echo_epoll_lt"), "sim");
  Result<IoTrace> parsed = parse_iotrace(format_iotrace(recorded.trace), "ok.iotrace");
  ASSERT_TRUE(parsed) << parsed.status().message();
  EXPECT_EQ(format_iotrace(parsed.value()), format_iotrace(recorded.trace));
  EXPECT_EQ(parsed.value().events.size(), recorded.trace.events.size());
}

// Every prefix of a valid file that ends at a line boundary, and prefixes cut at random bytes, are
// rejected with a located message (never accepted, never a crash).
TEST(IoTraceParser, RejectsEveryTruncation) {
  const std::string text = valid_file();
  std::vector<std::size_t> cuts;
  for (std::size_t at = text.find('\n'); at + 1 < text.size(); at = text.find('\n', at + 1))
    cuts.push_back(at + 1);
  sim::Prng prng(20261125);
  for (int i = 0; i < 300; ++i) cuts.push_back(static_cast<std::size_t>(prng.below(text.size())));
  for (const std::size_t cut : cuts) {
    const Result<IoTrace> parsed = parse_iotrace(std::string_view(text).substr(0, cut), "cut.iotrace");
    ASSERT_FALSE(parsed) << "a file cut at byte " << cut << " of " << text.size() << " was accepted";
    EXPECT_EQ(parsed.error().rfind("cut.iotrace:", 0), 0u) << parsed.error();
  }
}

}  // namespace
}  // namespace iosim
