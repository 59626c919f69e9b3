// tests/iocp_ops_test.cpp — the IOCP op interpreter on SimOs alone: ops round-trip through JSON, each op's
// line says what Windows documents, and the differential comparison forgives exactly the known Wine
// differences. (The comparison with Wine itself is tests/iocp_differential_test.cpp.)
#include <gtest/gtest.h>

#include "tests/iocp_differential.hpp"

namespace iosim::iocp_ops {
namespace {

Op op(Kind kind) {
  return Op{.kind = kind};
}

TEST(IocpOps, OpsRoundTripThroughOneJsonLine) {
  const std::vector<Op> ops = {Op{.kind = Kind::post, .port = 1, .slot = 2, .key = 7, .bytes = 9},
                               Op{.kind = Kind::wsarecv, .socket = 1, .slot = 3, .buffers = {1, 0, 5}},
                               Op{.kind = Kind::close_socket, .reset = true}};
  const std::string line = to_json_line(ops);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("\"kind\":\"wsarecv\""), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(line).get<std::vector<Op>>(), ops);
  // Missing fields take their defaults, so hand-written sequences stay short.
  EXPECT_EQ(nlohmann::json::parse(R"([{"kind":"get","timeout_ms":5}])").get<std::vector<Op>>(),
            (std::vector<Op>{Op{.kind = Kind::get, .timeout_ms = 5}}));
}

TEST(IocpOps, PostedPacketsComeBackFifoAndTimeOutWhenEmpty) {
  const Lines lines = run_on_sim(
      {Op{.kind = Kind::post, .key = 1, .bytes = 3}, Op{.kind = Kind::post, .slot = 2, .key = 2},
       op(Kind::get), Op{.kind = Kind::get_ex, .count = 4}, Op{.kind = Kind::get, .timeout_ms = 5}});
  EXPECT_EQ(lines, (Lines{"setup: ok", "post(p0, bytes=3, key=1, null): TRUE",
                          "post(p0, bytes=0, key=2, p2): TRUE", "get(p0, 0ms): TRUE bytes=3 key=1 ov=null",
                          "get_ex(p0, 4, 0ms): TRUE removed=1 | TRUE bytes=0 key=2 ov=p2",
                          "get(p0, 5ms): FALSE WAIT_TIMEOUT ov=null"}));
}

TEST(IocpOps, PeerDataSettlesSoAReceiveCompletesAtOnceAndStillPostsAPacket) {
  const Lines lines = run_on_sim({Op{.kind = Kind::send, .socket = 1, .bytes = 5},
                                  Op{.kind = Kind::wsarecv, .slot = 1, .buffers = {2, 8}}, op(Kind::get),
                                  Op{.kind = Kind::overlapped_result, .slot = 1}});
  EXPECT_EQ(lines, (Lines{"setup: ok", "send(c, 5): 5", "wsarecv(s, ov1, [2,8]): 0 bytes=5 data=abcde",
                          "get(p0, 0ms): TRUE bytes=5 key=42 ov=ov1 data=abcde",
                          "overlapped_result(ov1): TRUE bytes=5"}));
}

TEST(IocpOps, APendingReceiveCompletesWhenThePeerSends) {
  const Lines lines = run_on_sim(
      {Op{.kind = Kind::wsarecv, .slot = 0, .buffers = {4}}, Op{.kind = Kind::overlapped_result, .slot = 0},
       Op{.kind = Kind::send, .socket = 1, .bytes = 6}, op(Kind::get), op(Kind::get)});
  EXPECT_EQ(lines, (Lines{"setup: ok", "wsarecv(s, ov0, [4]): SOCKET_ERROR ERROR_IO_PENDING",
                          "overlapped_result(ov0): FALSE ERROR_IO_INCOMPLETE", "send(c, 6): 6",
                          "get(p0, 0ms): TRUE bytes=4 key=42 ov=ov0 data=abcd",
                          "get(p0, 0ms): FALSE WAIT_TIMEOUT ov=null"}));
}

// A busy slot (its packet not dequeued yet) is never reused: the second wsarecv on ov0 is skipped; once its
// packet is dequeued, ov0 is free again.
TEST(IocpOps, ABusySlotIsNotReusedUntilItsPacketIsDequeued) {
  const Lines lines = run_on_sim(
      {Op{.kind = Kind::wsarecv, .slot = 0, .buffers = {4}},
       Op{.kind = Kind::wsarecv, .slot = 0, .buffers = {4}}, Op{.kind = Kind::cancel, .slot = 0},
       Op{.kind = Kind::wsarecv, .slot = 0, .buffers = {4}}, op(Kind::get),
       Op{.kind = Kind::cancel, .slot = -1}, Op{.kind = Kind::wsarecv, .slot = 0, .buffers = {2}}});
  EXPECT_EQ(lines, (Lines{"setup: ok", "wsarecv(s, ov0, [4]): SOCKET_ERROR ERROR_IO_PENDING",
                          "cancel(s, ov0) pending=1: TRUE",
                          "get(p0, 0ms): FALSE ERROR_OPERATION_ABORTED bytes=0 key=42 ov=ov0",
                          "cancel(s, all) pending=0: FALSE ERROR_NOT_FOUND",
                          "wsarecv(s, ov0, [2]): SOCKET_ERROR ERROR_IO_PENDING"}));
}

TEST(IocpOps, ClosesocketAbortsPendingIoAndTagsItsPacket) {
  const Lines lines = run_on_sim({Op{.kind = Kind::wsarecv, .slot = 0, .buffers = {4}},
                                  Op{.kind = Kind::close_socket, .socket = 0}, op(Kind::get),
                                  Op{.kind = Kind::send, .socket = 1, .bytes = 1}});
  EXPECT_EQ(
      lines,
      (Lines{"setup: ok", "wsarecv(s, ov0, [4]): SOCKET_ERROR ERROR_IO_PENDING", "close_socket(s): 0",
             "get(p0, 0ms): FALSE ERROR_OPERATION_ABORTED bytes=0 key=42 ov=ov0 [closed]", "send(c, 1): 1"}));
}

TEST(IocpOps, ThreadedGetReportsThePacketsTakenSorted) {
  const Lines lines =
      run_on_sim({Op{.kind = Kind::threaded_get, .key = 5, .count = 3, .extra = 1}, op(Kind::get)});
  EXPECT_EQ(lines,
            (Lines{"setup: ok",
                   "threaded_get(p0, 3 waiters, 4 posts from key 5): | TRUE bytes=0 key=5 ov=null | TRUE "
                   "bytes=1 key=6 ov=null | TRUE bytes=2 key=7 ov=null",
                   "get(p0, 0ms): TRUE bytes=3 key=8 ov=null"}));
}

TEST(IocpOps, TheComparisonForgivesExactlyTheKnownWineDifferences) {
  EXPECT_EQ(compare_records({"cancel(s, all) pending=0: FALSE ERROR_NOT_FOUND"},
                            {"cancel(s, all) pending=0: TRUE"}),
            "");
  EXPECT_EQ(compare_records({"get_ex(p0, 2, 0ms): FALSE WAIT_TIMEOUT removed=0"},
                            {"get_ex(p0, 2, 0ms): FALSE WAIT_TIMEOUT removed=1"}),
            "");
  EXPECT_EQ(compare_records({"get(p0, 0ms): FALSE ERROR_OPERATION_ABORTED bytes=0 key=42 ov=ov0 [closed]"},
                            {"get(p0, 0ms): FALSE error676 bytes=0 key=42 ov=ov0 [closed]"}),
            "");
  EXPECT_EQ(
      compare_records({"get_ex(p0, 1, 0ms): TRUE removed=1 | FALSE ERROR_OPERATION_ABORTED bytes=0 key=42 "
                       "ov=ov0 [closed]"},
                      {"get_ex(p0, 1, 0ms): TRUE removed=1 | FALSE status0x8000000a bytes=0 key=42 ov=ov0 "
                       "[closed]"}),
      "");
  // ... and nothing else: the same words elsewhere are differences.
  EXPECT_NE(compare_records({"get(p0, 0ms): FALSE ERROR_OPERATION_ABORTED bytes=0 key=42 ov=ov0"},
                            {"get(p0, 0ms): FALSE error676 bytes=0 key=42 ov=ov0"}),
            "");
  // A cancel with requests pending must agree exactly: the sim finding nothing there would be a bug.
  EXPECT_NE(compare_records({"cancel(s, all) pending=1: FALSE ERROR_NOT_FOUND"},
                            {"cancel(s, all) pending=1: TRUE"}),
            "");
  EXPECT_NE(compare_records({"cancel(s, ov1) pending=0: FALSE ERROR_NOT_FOUND"},
                            {"cancel(s, ov1) pending=0: FALSE ERROR_SUCCESS"}),
            "");
  EXPECT_NE(compare_records({"get_ex(p0, 2, 0ms): TRUE removed=0"}, {"get_ex(p0, 2, 0ms): TRUE removed=1"}),
            "");
  EXPECT_NE(compare_records({"setup: ok", "x"}, {"setup: ok"}), "");
  EXPECT_NE(compare_records({"a"}, {"b"}).find(">> 0"), std::string::npos);
}

}  // namespace
}  // namespace iosim::iocp_ops
