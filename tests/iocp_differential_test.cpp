// tests/iocp_differential_test.cpp — the IOCP differential suite: rapidcheck op sequences
// (tests/iocp_ops.hpp) run on SimOs and under Wine through one long-lived iocp_ops_server.exe, compared line
// by line, one property per area; plus one pinned test per known Wine difference (docs/semantics.md, "Where
// Wine differs").
#include "tests/iocp_differential.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "backends/windows/wine_process.hpp"

namespace iosim::iocp_ops {
namespace {

// One iocp_ops_server.exe for the whole test process: Wine starts in seconds, a sequence runs in
// milliseconds.
class WineOpsServer {
 public:
  static WineOpsServer& instance() {
    static WineOpsServer server;
    return server;
  }
  const std::string& startup_error() const { return startup_error_; }

  // The sequence's lines from WindowsOs, or one "wine:" line that says what went wrong with the child.
  Lines run(const std::vector<Op>& ops) {
    if (!child_) return {"wine: " + startup_error_};
    if (const Status written = child_->write_line(to_json_line(ops)); !written.is_ok())
      return {"wine: " + written.message()};
    const Result<std::string> reply = child_->read_line(std::chrono::seconds(60));
    if (!reply) return {"wine: " + reply.status().message()};
    const nlohmann::json json = nlohmann::json::parse(reply.value(), nullptr, false);
    if (json.is_discarded() || !json.contains("lines")) return {"wine: unexpected reply " + reply.value()};
    return json["lines"].get<Lines>();
  }

 private:
  WineOpsServer() {
    const Result<WineSetup> setup = find_wine(IOSIM_TEST_WINE_PREFIX);
    if (!setup) {
      startup_error_ = setup.status().message();
      return;
    }
    if (const Status booted = ensure_wine_prefix(setup.value()); !booted.is_ok()) {
      startup_error_ = booted.message();
      return;
    }
    Result<std::unique_ptr<WineChild>> child = WineChild::start(setup.value(), IOSIM_OPS_SERVER_EXE, {});
    if (!child) {
      startup_error_ = child.status().message();
      return;
    }
    child_ = std::move(child).value();
  }
  std::unique_ptr<WineChild> child_;
  std::string startup_error_;
};

// Wall-clock cost of each side, for the report at the end of each property.
struct Timing {
  int cases = 0;
  std::chrono::nanoseconds sim{0}, wine{0};
};

// "" when SimOs and Wine agree on `ops`; else the sequence as JSON and both records.
std::string differential(const std::vector<Op>& ops, Timing& timing) {
  const auto start = std::chrono::steady_clock::now();
  const Lines sim = run_on_sim(ops);
  const auto between = std::chrono::steady_clock::now();
  const Lines wine = WineOpsServer::instance().run(ops);
  timing.sim += between - start;
  timing.wine += std::chrono::steady_clock::now() - between;
  ++timing.cases;
  const std::string difference = compare_records(sim, wine);
  return difference.empty() ? "" : "sequence: " + to_json_line(ops) + "\n" + difference;
}

// Every field drawn over its whole useful range, port 0 (the one with the sockets) and slot -1 (NULL: post
// without an OVERLAPPED, cancel all) more often; `kinds` picks the area.
rc::Gen<Op> gen_op(const std::vector<Kind>& kinds, const std::vector<int>& timeouts_ms) {
  return rc::gen::apply(
      [](Kind kind, int port, int socket, int slot, int key, int bytes, int timeout_ms, int count, int extra,
         bool reset, std::vector<int> buffers) {
        return Op{kind, port, socket, slot, key, bytes, timeout_ms, count, extra, reset, std::move(buffers)};
      },
      rc::gen::elementOf(kinds), rc::gen::weightedElement<int>({{4, 0}, {1, 1}, {1, 2}}),
      rc::gen::weightedElement<int>({{3, 0}, {1, 1}}),
      rc::gen::weightedElement<int>({{3, -1}, {1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}}),
      rc::gen::inRange(0, 10), rc::gen::inRange(0, 33), rc::gen::elementOf(timeouts_ms),
      rc::gen::inRange(0, 5), rc::gen::inRange(0, 3), rc::gen::arbitrary<bool>(),
      rc::gen::mapcat(rc::gen::inRange(0, buffers_max + 1), [](int count) {
        return rc::gen::container<std::vector<int>>(static_cast<std::size_t>(count), rc::gen::inRange(0, 9));
      }));
}

rc::Gen<std::vector<Op>> gen_sequence(std::vector<Kind> kinds, std::vector<int> timeouts_ms = {0, 0, 0, 5}) {
  return rc::gen::mapcat(rc::gen::inRange(1, 21), [kinds, timeouts_ms](int length) {
    return rc::gen::container<std::vector<Op>>(static_cast<std::size_t>(length), gen_op(kinds, timeouts_ms));
  });
}

int case_count() {
  const char* text = std::getenv("IOSIM_IOCP_DIFF_CASES");
  return text ? std::atoi(text) : 100;
}

// Runs the property `case_count()` times; a failure is rapidcheck's shrunk sequence and both records.
void check_area(const std::string& name, const rc::Gen<std::vector<Op>>& sequences) {
  if (!WineOpsServer::instance().startup_error().empty())
    GTEST_FAIL() << "Wine is not usable: " << WineOpsServer::instance().startup_error();
  Timing timing;
  std::string first_difference;  // as found, before shrinking: a flaky difference may not survive it
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = case_count();
  const auto result = rc::detail::checkTestable(
      [&] {
        const std::vector<Op> ops = *sequences;
        const std::string difference = differential(ops, timing);
        if (!difference.empty() && first_difference.empty()) first_difference = difference;
        if (!difference.empty()) RC_FAIL(difference);
      },
      rc::detail::TestMetadata{name, "sim == wine"}, params);
  std::printf("%s: %d cases run, sim %.3f ms/case, wine %.3f ms/case\n", name.c_str(), timing.cases,
              std::chrono::duration<double, std::milli>(timing.sim).count() / std::max(1, timing.cases),
              std::chrono::duration<double, std::milli>(timing.wine).count() / std::max(1, timing.cases));
  if (!result.template is<rc::detail::SuccessResult>()) {
    std::ostringstream message;
    rc::detail::printResultMessage(result, message);
    ADD_FAILURE() << message.str() << "\nfirst difference found, before shrinking:\n" << first_difference;
  }
}

TEST(IocpDifferential, PostAndGetOrder) {
  check_area("PostAndGetOrder", gen_sequence({Kind::post, Kind::get, Kind::get_ex, Kind::create_port,
                                              Kind::threaded_get, Kind::close_port}));
}

TEST(IocpDifferential, ImmediateVersusPendingAndSkipOnSuccess) {
  check_area("ImmediateVersusPendingAndSkipOnSuccess",
             gen_sequence({Kind::wsarecv, Kind::wsarecv, Kind::wsasend, Kind::send, Kind::send,
                           Kind::skip_on_success, Kind::get, Kind::get, Kind::get_ex, Kind::overlapped_result,
                           Kind::associate, Kind::create_port}));
}

TEST(IocpDifferential, Cancel) {
  // Weighted towards several receives pending at once, so cancelling all of them (and their order) is common.
  check_area("Cancel", gen_sequence({Kind::wsarecv, Kind::wsarecv, Kind::wsarecv, Kind::wsarecv, Kind::send,
                                     Kind::cancel, Kind::cancel, Kind::get, Kind::get, Kind::get, Kind::get,
                                     Kind::overlapped_result, Kind::skip_on_success}));
}

TEST(IocpDifferential, CloseWithPendingIo) {
  check_area("CloseWithPendingIo", gen_sequence({Kind::wsarecv, Kind::wsarecv, Kind::wsasend, Kind::send,
                                                 Kind::close_socket, Kind::close_port, Kind::get, Kind::get,
                                                 Kind::get_ex, Kind::overlapped_result, Kind::cancel}));
}

TEST(IocpDifferential, GetQueuedCompletionStatusExBatching) {
  check_area("GetQueuedCompletionStatusExBatching",
             gen_sequence(
                 {Kind::post, Kind::post, Kind::get_ex, Kind::get_ex, Kind::wsarecv, Kind::send, Kind::get}));
}

TEST(IocpDifferential, Timeouts) {
  check_area("Timeouts",
             gen_sequence({Kind::get, Kind::get_ex, Kind::post, Kind::create_port, Kind::close_port},
                          {0, 1, 5, 10}));
}

// --- known Wine differences, pinned on both sides: if Wine changes, these fail and docs/semantics.md's
// table must change with them. The properties above never look at these areas (sorted threaded_get, no
// concurrency limits reached, no waiter on a closed port; iocp_differential.hpp forgives the other three).

struct Pinned {
  Lines sim, wine;
};
Pinned run_both(const std::vector<Op>& ops) {
  if (!WineOpsServer::instance().startup_error().empty())
    ADD_FAILURE() << "Wine is not usable: " << WineOpsServer::instance().startup_error();
  return {run_on_sim(ops), WineOpsServer::instance().run(ops)};
}

// One packet for three waiting threads: Windows gives it to the last to wait (LIFO), Wine 8.0 to the first
// (server/completion.c: "threads are awaken FIFO and not LIFO as native does"). With three packets at once
// Wine's order is racy (the woken threads race to dequeue), so one packet is what can be pinned.
TEST(IocpWineDifference, WaitersWakeLifoOnWindowsButFifoOnWine) {
  std::vector<Op> ops = {Op{.kind = Kind::create_port, .count = 3}};
  for (int i = 0; i < 3; ++i) {
    ops.push_back(Op{.kind = Kind::spawn_get, .port = 1, .timeout_ms = 300});
    ops.push_back(Op{.kind = Kind::sleep, .timeout_ms = 50});  // waiter i is blocked in GQCS before the next
  }
  ops.push_back(Op{.kind = Kind::post, .port = 1, .key = 1});
  ops.push_back(Op{.kind = Kind::join});
  const Pinned got = run_both(ops);
  ASSERT_EQ(got.sim.size(), 4u);
  EXPECT_EQ(got.sim.back(),
            "join: | waiter0 FALSE WAIT_TIMEOUT ov=null | waiter1 FALSE WAIT_TIMEOUT ov=null | waiter2 TRUE "
            "bytes=0 "
            "key=1 ov=null");
  EXPECT_EQ(got.wine,
            (Lines{got.sim[0], got.sim[1], got.sim[2],
                   "join: | waiter0 TRUE bytes=0 key=1 ov=null | waiter1 FALSE WAIT_TIMEOUT ov=null | "
                   "waiter2 FALSE WAIT_TIMEOUT ov=null"}));
}

TEST(IocpWineDifference, ConcurrencyLimitHoldsBackASecondThreadOnWindowsButNotOnWine) {
  const Pinned got =
      run_both({Op{.kind = Kind::create_port, .count = 1}, Op{.kind = Kind::post, .port = 1, .key = 1},
                Op{.kind = Kind::post, .port = 1, .key = 2}, Op{.kind = Kind::get, .port = 1},
                Op{.kind = Kind::spawn_get, .port = 1, .timeout_ms = 0},
                Op{.kind = Kind::busy, .timeout_ms = 50}, Op{.kind = Kind::join}});
  ASSERT_EQ(got.sim.size(), 6u);
  EXPECT_EQ(got.sim[4], "get(p1, 0ms): TRUE bytes=0 key=1 ov=null");
  EXPECT_EQ(got.sim[5], "join: | waiter0 FALSE WAIT_TIMEOUT ov=null");
  EXPECT_EQ(got.wine, (Lines{got.sim[0], got.sim[1], got.sim[2], got.sim[3], got.sim[4],
                             "join: | waiter0 TRUE bytes=0 key=2 ov=null"}));
}

TEST(IocpWineDifference, ClosingThePortAbandonsItsWaiterOnWindowsButNotOnWine) {
  const Pinned got =
      run_both({Op{.kind = Kind::spawn_get, .timeout_ms = 300}, Op{.kind = Kind::sleep, .timeout_ms = 50},
                Op{.kind = Kind::close_port}, Op{.kind = Kind::join}});
  EXPECT_EQ(got.sim, (Lines{"setup: ok", "close_port(p0): TRUE",
                            "join: | waiter0 FALSE ERROR_ABANDONED_WAIT_0 ov=null"}));
  EXPECT_EQ(got.wine,
            (Lines{"setup: ok", "close_port(p0): TRUE", "join: | waiter0 FALSE WAIT_TIMEOUT ov=null"}));
}

// For one OVERLAPPED Wine agrees with Windows (ERROR_NOT_FOUND); for all (NULL) it returns TRUE: Wine 8.0's
// server/async.c cancel_async handler sets STATUS_NOT_FOUND only `if (!count && req->iosb)`.
TEST(IocpWineDifference, CancelAllWithNothingPendingSucceedsOnWine) {
  const Pinned got = run_both({Op{.kind = Kind::cancel, .slot = 1}, Op{.kind = Kind::cancel, .slot = -1}});
  EXPECT_EQ(got.sim, (Lines{"setup: ok", "cancel(s, ov1) pending=0: FALSE ERROR_NOT_FOUND",
                            "cancel(s, all) pending=0: FALSE ERROR_NOT_FOUND"}));
  EXPECT_EQ(got.wine, (Lines{"setup: ok", "cancel(s, ov1) pending=0: FALSE ERROR_NOT_FOUND",
                             "cancel(s, all) pending=0: TRUE"}));
}

// A receive issued after the peer's RST arrived (none pending when it came) fails with WSAECONNRESET on
// Windows (recv documentation: "the virtual circuit was reset by the remote side") and on the simulator, but
// completes at once with 0 bytes on Wine, as if the peer had closed gracefully.
TEST(IocpWineDifference, AReceiveAfterThePeersResetSeesEndOfStreamOnWine) {
  const Pinned got =
      run_both({Op{.kind = Kind::close_socket, .socket = 1, .reset = true},
                Op{.kind = Kind::wsarecv, .slot = 1, .buffers = {4}, .even_if_wine_differs = true}});
  EXPECT_EQ(got.sim, (Lines{"setup: ok", "close_socket(c, reset): 0",
                            "wsarecv(s, ov1, [4]): SOCKET_ERROR WSAECONNRESET"}));
  EXPECT_EQ(got.wine,
            (Lines{"setup: ok", "close_socket(c, reset): 0", "wsarecv(s, ov1, [4]): 0 bytes=0 data="}));
}

TEST(IocpWineDifference, EmptyGetQueuedCompletionStatusExReportsOneEntryOnWine) {
  const Pinned got = run_both({Op{.kind = Kind::get_ex, .count = 2}});
  EXPECT_EQ(got.sim, (Lines{"setup: ok", "get_ex(p0, 2, 0ms): FALSE WAIT_TIMEOUT removed=0"}));
  EXPECT_EQ(got.wine, (Lines{"setup: ok", "get_ex(p0, 2, 0ms): FALSE WAIT_TIMEOUT removed=1"}));
}

TEST(IocpWineDifference, ClosesocketAbortsWithStatusHandlesClosedOnWine) {
  const Pinned got = run_both({Op{.kind = Kind::wsarecv, .slot = 0, .buffers = {4}},
                               Op{.kind = Kind::close_socket}, Op{.kind = Kind::get}});
  ASSERT_EQ(got.sim.size(), 4u);
  EXPECT_EQ(got.sim[3], "get(p0, 0ms): FALSE ERROR_OPERATION_ABORTED bytes=0 key=42 ov=ov0 [closed]");
  EXPECT_EQ(got.wine, (Lines{got.sim[0], got.sim[1], got.sim[2],
                             "get(p0, 0ms): FALSE error676 bytes=0 key=42 ov=ov0 [closed]"}));
}

}  // namespace
}  // namespace iosim::iocp_ops
