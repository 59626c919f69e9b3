// tests/kernel_unix_test.cpp — AF_UNIX stream socketpairs in the virtual kernel, one test per Linux rule of
// net/unix/af_unix.c: skb sizing and sender-side flow control, unix_poll, shutdown, release, recv order.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel_model/af_unix.hpp"
#include "kernel_model/kernel.hpp"
#include "sim/prng.hpp"
#include "sim/scheduler.hpp"
#include "sim/strategy.hpp"
#include "sim/trace.hpp"

namespace iosim {
namespace {

// Every event bit a unix socket can report, so revents shows the whole unix_poll mask.
constexpr short all_events = POLL::IN | POLL::PRI | POLL::OUT | POLL::RDNORM | POLL::RDBAND | POLL::WRNORM |
                             POLL::WRBAND | POLL::RDHUP;
constexpr short writable = POLL::OUT | POLL::WRNORM | POLL::WRBAND;
constexpr short readable = POLL::IN | POLL::RDNORM;
constexpr short read_hangup = POLL::RDHUP | POLL::IN | POLL::RDNORM;
constexpr int sndbuf_default_bytes = 212992;   // net.core.wmem_default
constexpr long skb_payload_max_bytes = 36544;  // SKB_MAX_HEAD(0) + UNIX_SKB_FRAGS_SZ on x86-64

class KernelUnixTest : public ::testing::Test {
 protected:
  KernelUnixTest() { trace.set_capture(true); }

  sim::task_id spawn(std::string name, std::function<void()> body) {
    return scheduler.spawn(std::move(name), std::move(body));
  }
  // Runs one task to completion and checks that the run completed.
  void run_task(std::function<void()> body) {
    spawn("main", std::move(body));
    const sim::RunResult result = scheduler.run();
    EXPECT_EQ(result.outcome, sim::RunResult::Outcome::completed) << result.failure;
  }
  void expect_completed() {
    const sim::RunResult result = scheduler.run();
    EXPECT_EQ(result.outcome, sim::RunResult::Outcome::completed) << result.failure;
  }
  // From inside a task: yield until `task` sleeps on a wait queue (so the next step really wakes it).
  void wait_until_blocked(sim::task_id task) {
    while (scheduler.wait_channel(task) == 0 && !scheduler.is_done(task)) scheduler.yield();
  }
  void make_pair(int sv[2], int type_flags = 0) {
    ASSERT_EQ(k.sys_socketpair(AF::UNIX, SOCK::STREAM | type_flags, 0, sv), 0);
  }
  short poll_now(int fd) {
    pollfd entry{fd, all_events, 0};
    EXPECT_GE(k.sys_poll(&entry, 1, 0), 0);
    return entry.revents;
  }
  int sockopt(int fd, int name) {
    int value = -1;
    EXPECT_EQ(k.sys_getsockopt(fd, SOL::SOCKET, name, &value), 0);
    return value;
  }
  std::vector<sim::TraceEvent> kernel_events(std::string_view name) {
    std::vector<sim::TraceEvent> found;
    const std::uint32_t id = trace.intern(name);
    for (const sim::TraceEvent& event : trace.events())
      if (event.kind == sim::EventKind::kernel && event.subject == id) found.push_back(event);
    return found;
  }

  sim::Trace trace;
  sim::Prng prng{7};
  sim::RandomStrategy strategy{prng};
  sim::Scheduler scheduler{trace, strategy};
  kernel::kernel k{scheduler, kernel::kernel_config{}};
};

TEST_F(KernelUnixTest, SocketpairCarriesBytesBothWays) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_sendto(sv[0], "hello", 5, 0), 5);
    char buffer[16] = {};
    EXPECT_EQ(k.sys_recvfrom(sv[1], buffer, sizeof(buffer), 0), 5);
    EXPECT_EQ(std::string(buffer, 5), "hello");
    EXPECT_EQ(k.sys_write(sv[1], "back", 4), 4);
    EXPECT_EQ(k.sys_read(sv[0], buffer, sizeof(buffer)), 4);
    EXPECT_EQ(std::string(buffer, 4), "back");
  });
}

TEST_F(KernelUnixTest, SockNonblockSetsONonblockOnBothEndsAndEmptyRecvIsEagain) {
  run_task([&] {
    int sv[2];
    make_pair(sv, SOCK::NONBLOCK);
    EXPECT_EQ(k.sys_fcntl(sv[0], F::GETFL, 0), O::RDWR | O::NONBLOCK);
    EXPECT_EQ(k.sys_fcntl(sv[1], F::GETFL, 0), O::RDWR | O::NONBLOCK);
    char byte = 0;
    EXPECT_EQ(k.sys_recvfrom(sv[1], &byte, 1, 0), -E::AGAIN);
  });
}

TEST_F(KernelUnixTest, MsgDontwaitMakesOneRecvNonblocking) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_fcntl(sv[0], F::GETFL, 0), O::RDWR);
    char byte = 0;
    EXPECT_EQ(k.sys_recvfrom(sv[0], &byte, 1, MSG::DONTWAIT), -E::AGAIN);
  });
}

TEST_F(KernelUnixTest, BuffersStartAtNetCoreDefaultsAndTypeIsUnixStream) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(sockopt(sv[0], SO::SNDBUF), sndbuf_default_bytes);
    EXPECT_EQ(sockopt(sv[0], SO::RCVBUF), 212992);
    EXPECT_EQ(sockopt(sv[0], SO::TYPE), SOCK::STREAM);
    EXPECT_EQ(sockopt(sv[0], SO::DOMAIN), AF::UNIX);
  });
}

TEST_F(KernelUnixTest, SendCutsSkbsOfAtMostHalfSndbufMinus64AndTheHeadPlusFragsCap) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    std::vector<char> data(100000, 'x');
    EXPECT_EQ(k.sys_sendto(sv[0], data.data(), data.size(), 0), 100000);
    // (212992 >> 1) - 64 = 106432 is above the 36544-byte head+frags cap, so the cap decides.
    const auto sends = kernel_events("unix.send");
    ASSERT_EQ(sends.size(), 3u);
    EXPECT_EQ(sends[0].arg0, skb_payload_max_bytes);
    EXPECT_EQ(sends[1].arg0, skb_payload_max_bytes);
    EXPECT_EQ(sends[2].arg0, 100000 - 2 * skb_payload_max_bytes);
    EXPECT_EQ(sends[2].arg1, 103168);  // sk_wmem_alloc: truesizes 37120 + 37120 + 28928 (SIOCOUTQ on Linux)
    // With SO_SNDBUF 4096 (sk_sndbuf 8192) the half-buffer rule decides: 8192 / 2 - 64 = 4032.
    EXPECT_EQ(k.sys_setsockopt(sv[1], SOL::SOCKET, SO::SNDBUF, 4096), 0);
    EXPECT_EQ(k.sys_sendto(sv[1], data.data(), 5000, 0), 5000);
    const auto small = kernel_events("unix.send");
    ASSERT_EQ(small.size(), 5u);
    EXPECT_EQ(small[3].arg0, 4032);
    EXPECT_EQ(small[4].arg0, 5000 - 4032);
  });
}

TEST_F(KernelUnixTest, NonblockingSendAllocatesWhileBelowSndbufSoItOvershoots) {
  run_task([&] {
    int sv[2];
    make_pair(sv, SOCK::NONBLOCK);
    std::vector<char> data(1 << 20, 'x');
    // Six 36544-byte skbs (truesize 37120): the sixth is allocated at 185600 < 212992 in flight and takes
    // the total past sk_sndbuf.
    EXPECT_EQ(k.sys_sendto(sv[0], data.data(), data.size(), 0), 6 * skb_payload_max_bytes);
    EXPECT_EQ(k.sys_sendto(sv[0], data.data(), 1, 0), -E::AGAIN);
    // SO_SNDBUF 4096 → 8192: 4032-byte skbs (truesize 4864) allocated at 0 and 4864 in flight. Linux: 8064.
    EXPECT_EQ(k.sys_setsockopt(sv[1], SOL::SOCKET, SO::SNDBUF, 4096), 0);
    EXPECT_EQ(sockopt(sv[1], SO::SNDBUF), 8192);
    EXPECT_EQ(k.sys_sendto(sv[1], data.data(), 100000, 0), 2 * 4032);
  });
}

TEST_F(KernelUnixTest, FreshPairPollsWritableOnly) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(poll_now(sv[0]), writable);
    EXPECT_EQ(poll_now(sv[1]), writable);
  });
}

TEST_F(KernelUnixTest, SkbTruesizeMatchesLinuxSiocoutq) {
  // Payload → SIOCOUTQ after one send, measured on Linux 6.x x86-64.
  const std::pair<std::size_t, std::size_t> measured[] = {
      {1, 768},     {100, 768},   {192, 768},   {300, 1280},  {1152, 2304}, {1400, 2304},   {2000, 4352},
      {3776, 4352}, {3777, 4864}, {4032, 4864}, {5000, 6400}, {8000, 8960}, {20000, 20736}, {36544, 37120}};
  for (const auto& [payload, truesize] : measured)
    EXPECT_EQ(kernel::unix_skb_truesize(payload), truesize) << payload;
}

TEST_F(KernelUnixTest, WritableNeedsAQuarterOfSndbufAndSkbsAreUnchargedWhole) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_setsockopt(sv[0], SOL::SOCKET, SO::SNDBUF, 1024), 0);  // sk_sndbuf 4608 (SOCK_MIN_SNDBUF)
    EXPECT_EQ(sockopt(sv[0], SO::SNDBUF), 4608);
    char buffer[100] = {};
    EXPECT_EQ(k.sys_sendto(sv[0], buffer, 100, 0), 100);  // truesize 768: (768 + 1) * 4 <= 4608
    EXPECT_EQ(poll_now(sv[0]), writable);
    EXPECT_EQ(k.sys_sendto(sv[0], buffer, 100, 0), 100);  // (1536 + 1) * 4 > 4608
    EXPECT_EQ(poll_now(sv[0]), 0);
    EXPECT_EQ(poll_now(sv[1]), writable | readable);
    // Reading part of the first skb frees nothing: an skb is uncharged only when fully consumed.
    EXPECT_EQ(k.sys_recvfrom(sv[1], buffer, 50, 0), 50);
    EXPECT_EQ(poll_now(sv[0]), 0);
    EXPECT_EQ(k.sys_recvfrom(sv[1], buffer, 50, 0), 50);
    EXPECT_EQ(poll_now(sv[0]), writable);
  });
}

TEST_F(KernelUnixTest, RecvCopiesAcrossSkbsAndPeekConsumesNothing) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_sendto(sv[0], "abc", 3, 0), 3);
    EXPECT_EQ(k.sys_sendto(sv[0], "def", 3, 0), 3);
    char buffer[16] = {};
    EXPECT_EQ(k.sys_recvfrom(sv[1], buffer, sizeof(buffer), MSG::PEEK), 6);
    EXPECT_EQ(std::string(buffer, 6), "abcdef");
    EXPECT_EQ(k.sys_recvfrom(sv[1], buffer, 4, 0), 4);
    EXPECT_EQ(std::string(buffer, 4), "abcd");
    EXPECT_EQ(k.sys_recvfrom(sv[1], buffer, sizeof(buffer), 0), 2);
    EXPECT_EQ(std::string(buffer, 2), "ef");
  });
}

TEST_F(KernelUnixTest, ZeroLengthSendIsZeroAndZeroLengthRecvStillWaitsForData) {
  run_task([&] {
    int sv[2];
    make_pair(sv, SOCK::NONBLOCK);
    EXPECT_EQ(k.sys_sendto(sv[0], "", 0, 0), 0);
    char byte = 0;
    // sock_rcvlowat never returns 0: a zero-length recv on an empty queue is EAGAIN (or sleeps).
    EXPECT_EQ(k.sys_recvfrom(sv[1], &byte, 0, 0), -E::AGAIN);
    EXPECT_EQ(k.sys_sendto(sv[0], "z", 1, 0), 1);
    EXPECT_EQ(k.sys_recvfrom(sv[1], &byte, 0, 0), 0);
    EXPECT_EQ(k.sys_recvfrom(sv[1], &byte, 1, 0), 1);
    EXPECT_EQ(byte, 'z');
  });
}

TEST_F(KernelUnixTest, PeerCloseWithUnreadDataSetsEconnresetAndShutdownMask) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_sendto(sv[0], "x", 1, 0), 1);
    EXPECT_EQ(poll_now(sv[0]), writable);
    EXPECT_EQ(k.sys_close(sv[1]), 0);  // "x" unread in sv[1]'s queue
    // ERR (sk_err), HUP (SHUTDOWN_MASK), RDHUP|IN (RCV_SHUTDOWN), writable (our skb was freed).
    EXPECT_EQ(poll_now(sv[0]), POLL::ERR | POLL::HUP | read_hangup | writable);
    char byte = 0;
    EXPECT_EQ(k.sys_recvfrom(sv[0], &byte, 1, 0), -E::CONNRESET);  // reported once...
    EXPECT_EQ(k.sys_recvfrom(sv[0], &byte, 1, 0), 0);              // ...then end of file
    EXPECT_EQ(poll_now(sv[0]), POLL::HUP | read_hangup | writable);
  });
}

TEST_F(KernelUnixTest, PeerCloseWithEmptyQueueIsEndOfFileWithoutError) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_close(sv[1]), 0);
    EXPECT_EQ(poll_now(sv[0]), POLL::HUP | read_hangup | writable);
    EXPECT_EQ(sockopt(sv[0], SO::ERROR), 0);
    char byte = 0;
    EXPECT_EQ(k.sys_recvfrom(sv[0], &byte, 1, 0), 0);
  });
}

TEST_F(KernelUnixTest, SoErrorReportsAndClearsTheResetOfAClosedPeer) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_sendto(sv[0], "x", 1, 0), 1);
    EXPECT_EQ(k.sys_close(sv[1]), 0);
    EXPECT_EQ(sockopt(sv[0], SO::ERROR), E::CONNRESET);
    EXPECT_EQ(sockopt(sv[0], SO::ERROR), 0);
  });
}

TEST_F(KernelUnixTest, RecvOrderIsDataThenErrorThenEndOfFile) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_sendto(sv[1], "abc", 3, 0), 3);
    EXPECT_EQ(k.sys_sendto(sv[0], "z", 1, 0), 1);
    EXPECT_EQ(k.sys_close(sv[1]), 0);  // leaves "z" unread: sv[0] gets ECONNRESET
    char buffer[8] = {};
    EXPECT_EQ(k.sys_recvfrom(sv[0], buffer, sizeof(buffer), 0), 3);
    EXPECT_EQ(std::string(buffer, 3), "abc");
    EXPECT_EQ(k.sys_recvfrom(sv[0], buffer, sizeof(buffer), 0), -E::CONNRESET);
    EXPECT_EQ(k.sys_recvfrom(sv[0], buffer, sizeof(buffer), 0), 0);
  });
}

TEST_F(KernelUnixTest, SendAfterPeerCloseIsEpipeAndSigpipeUnlessMsgNosignal) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_close(sv[1]), 0);
    EXPECT_EQ(k.sys_sendto(sv[0], "x", 1, MSG::NOSIGNAL), -E::PIPE);
    EXPECT_EQ(kernel_events("sigpipe").size(), 0u);
    EXPECT_EQ(k.sys_sendto(sv[0], "x", 1, 0), -E::PIPE);
    EXPECT_EQ(kernel_events("sigpipe").size(), 1u);
    EXPECT_EQ(k.sys_write(sv[0], "x", 1), -E::PIPE);
    EXPECT_EQ(kernel_events("sigpipe").size(), 2u);
  });
}

TEST_F(KernelUnixTest, ShutdownWrIsOurSendShutdownAndThePeersRcvShutdown) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_sendto(sv[0], "ab", 2, 0), 2);
    EXPECT_EQ(k.sys_shutdown(sv[0], SHUT::WR), 0);
    EXPECT_EQ(k.sys_sendto(sv[0], "x", 1, MSG::NOSIGNAL), -E::PIPE);
    EXPECT_EQ(poll_now(sv[0]), writable);                // SEND_SHUTDOWN alone: no HUP
    EXPECT_EQ(poll_now(sv[1]), read_hangup | writable);  // peer: RCV_SHUTDOWN
    char buffer[4] = {};
    EXPECT_EQ(k.sys_recvfrom(sv[1], buffer, sizeof(buffer), 0), 2);  // queued data first
    EXPECT_EQ(k.sys_recvfrom(sv[1], buffer, sizeof(buffer), 0), 0);
    EXPECT_EQ(k.sys_sendto(sv[1], "y", 1, 0), 1);  // the other direction still works
    EXPECT_EQ(k.sys_recvfrom(sv[0], buffer, sizeof(buffer), 0), 1);
    EXPECT_EQ(k.sys_shutdown(sv[1], SHUT::WR), 0);  // now both have SHUTDOWN_MASK
    EXPECT_EQ(poll_now(sv[0]), POLL::HUP | read_hangup | writable);
    EXPECT_EQ(poll_now(sv[1]), POLL::HUP | read_hangup | writable);
  });
}

TEST_F(KernelUnixTest, ShutdownRdIsOurRcvShutdownAndThePeersSendShutdown) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_shutdown(sv[0], SHUT::RD), 0);
    char byte = 0;
    EXPECT_EQ(k.sys_recvfrom(sv[0], &byte, 1, 0), 0);
    EXPECT_EQ(k.sys_sendto(sv[1], "x", 1, MSG::NOSIGNAL), -E::PIPE);
    EXPECT_EQ(k.sys_sendto(sv[0], "x", 1, 0), 1);
    EXPECT_EQ(k.sys_recvfrom(sv[1], &byte, 1, 0), 1);
  });
}

TEST_F(KernelUnixTest, ShutdownWithABadHowIsEinval) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_shutdown(sv[0], 3), -E::INVAL);
    EXPECT_EQ(k.sys_shutdown(sv[0], -1), -E::INVAL);
    EXPECT_EQ(poll_now(sv[0]), writable);
  });
}

TEST_F(KernelUnixTest, GetnameReportsTheEmptyUnnamedAddress) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    SockAddr addr{loopback_ip, 80};
    EXPECT_EQ(k.sys_getsockname(sv[0], &addr), 0);
    EXPECT_EQ(addr, SockAddr{});
    addr = SockAddr{loopback_ip, 80};
    EXPECT_EQ(k.sys_getpeername(sv[0], &addr), 0);
    EXPECT_EQ(addr, SockAddr{});
  });
}

TEST_F(KernelUnixTest, BindConnectListenAcceptOnASocketpairAreEinval) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    const SockAddr addr{loopback_ip, 8080};
    EXPECT_EQ(k.sys_bind(sv[0], addr), -E::INVAL);     // unix_validate_addr: not AF_UNIX
    EXPECT_EQ(k.sys_connect(sv[0], addr), -E::INVAL);  // unix_validate_addr: not AF_UNIX
    EXPECT_EQ(k.sys_listen(sv[0], 5), -E::INVAL);      // unix_listen: unbound
    SockAddr peer;
    EXPECT_EQ(k.sys_accept4(sv[0], &peer, 0), -E::INVAL);  // unix_accept: not TCP_LISTEN
  });
}

TEST_F(KernelUnixTest, ProtocolLevelOptionsAreEopnotsupp) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    int value = 0;
    EXPECT_EQ(k.sys_getsockopt(sv[0], IPPROTO::TCP, TCP::NODELAY, &value), -E::OPNOTSUPP);
    EXPECT_EQ(k.sys_setsockopt(sv[0], IPPROTO::TCP, TCP::NODELAY, 1), -E::OPNOTSUPP);
  });
}

TEST_F(KernelUnixTest, BlockedRecvWakesWhenThePeerSends) {
  int sv[2];
  long received = 0;
  char buffer[8] = {};
  const sim::task_id reader = spawn("reader", [&] {
    make_pair(sv);
    received = k.sys_recvfrom(sv[1], buffer, sizeof(buffer), 0);
  });
  spawn("writer", [&] {
    wait_until_blocked(reader);
    EXPECT_EQ(trace.name(scheduler.wait_channel(reader)), "sk_sleep(unix#1b)");
    EXPECT_EQ(k.sys_sendto(sv[0], "hi", 2, 0), 2);
  });
  expect_completed();
  EXPECT_EQ(received, 2);
  EXPECT_EQ(std::string(buffer, 2), "hi");
}

TEST_F(KernelUnixTest, WaitallSleepsUntilTheWholeLengthArrived) {
  int sv[2];
  long received = 0;
  char buffer[10] = {};
  const sim::task_id reader = spawn("reader", [&] {
    make_pair(sv);
    received = k.sys_recvfrom(sv[1], buffer, sizeof(buffer), MSG::WAITALL);
  });
  spawn("writer", [&] {
    wait_until_blocked(reader);
    EXPECT_EQ(k.sys_sendto(sv[0], "0123", 4, 0), 4);
    wait_until_blocked(reader);  // woken, took 4 bytes, asleep again for the other 6
    EXPECT_EQ(k.sys_sendto(sv[0], "456789", 6, 0), 6);
  });
  expect_completed();
  EXPECT_EQ(received, 10);
  EXPECT_EQ(std::string(buffer, 10), "0123456789");
}

TEST_F(KernelUnixTest, WaitallWithDontwaitReturnsWhatIsQueued) {
  run_task([&] {
    int sv[2];
    make_pair(sv);
    EXPECT_EQ(k.sys_sendto(sv[0], "0123", 4, 0), 4);
    char buffer[10];
    EXPECT_EQ(k.sys_recvfrom(sv[1], buffer, sizeof(buffer), MSG::WAITALL | MSG::DONTWAIT), 4);
  });
}

TEST_F(KernelUnixTest, BlockedRecvWakesWithEndOfFileWhenThePeerCloses) {
  int sv[2];
  long received = -1;
  const sim::task_id reader = spawn("reader", [&] {
    make_pair(sv);
    char byte = 0;
    received = k.sys_recvfrom(sv[1], &byte, 1, 0);
  });
  spawn("closer", [&] {
    wait_until_blocked(reader);
    EXPECT_EQ(k.sys_close(sv[0]), 0);
  });
  expect_completed();
  EXPECT_EQ(received, 0);
}

TEST_F(KernelUnixTest, BlockingSendSleepsForSpaceAndReadingWakesIt) {
  int sv[2];
  long sent = 0;
  constexpr int total = 20000;
  const sim::task_id writer = spawn("writer", [&] {
    make_pair(sv);
    EXPECT_EQ(k.sys_setsockopt(sv[0], SOL::SOCKET, SO::SNDBUF, 4096), 0);
    std::vector<char> data(total, 'w');
    sent = k.sys_sendto(sv[0], data.data(), data.size(), 0);
  });
  spawn("reader", [&] {
    wait_until_blocked(writer);
    EXPECT_EQ(trace.name(scheduler.wait_channel(writer)), "sk_sleep(unix#1a)");
    std::vector<char> buffer(total);
    long got = 0;
    while (got < total) {
      const long n = k.sys_recvfrom(sv[1], buffer.data() + got, buffer.size() - got, 0);
      ASSERT_GT(n, 0);
      got += n;
    }
  });
  expect_completed();
  EXPECT_EQ(sent, total);
}

TEST_F(KernelUnixTest, RaisingSndbufWakesABlockedWriter) {
  int sv[2];
  long sent = 0;
  const sim::task_id writer = spawn("writer", [&] {
    make_pair(sv);
    EXPECT_EQ(k.sys_setsockopt(sv[0], SOL::SOCKET, SO::SNDBUF, 4096), 0);
    std::vector<char> data(30000, 'w');
    sent = k.sys_sendto(sv[0], data.data(), data.size(), 0);
  });
  spawn("tuner", [&] {
    wait_until_blocked(writer);  // two 4032-byte skbs (truesize 9728) in flight against sk_sndbuf 8192
    EXPECT_EQ(k.sys_setsockopt(sv[0], SOL::SOCKET, SO::SNDBUF, 65536), 0);
  });
  expect_completed();
  EXPECT_EQ(sent, 30000);
}

TEST_F(KernelUnixTest, WriterBlockedWhenThePeerClosesUnreadGetsItsPartialCountThenEpipe) {
  int sv[2];
  long sent = 0;
  const sim::task_id writer = spawn("writer", [&] {
    make_pair(sv);
    EXPECT_EQ(k.sys_setsockopt(sv[0], SOL::SOCKET, SO::SNDBUF, 4096), 0);
    std::vector<char> data(100000, 'w');
    sent = k.sys_sendto(sv[0], data.data(), data.size(), 0);
  });
  spawn("closer", [&] {
    wait_until_blocked(writer);
    EXPECT_EQ(k.sys_close(sv[1]), 0);
    while (!scheduler.is_done(writer)) scheduler.yield();
    // sock_alloc_send_pskb consumed the ECONNRESET, but bytes already went out, so the count wins.
    EXPECT_EQ(sent, 2 * 4032);
    EXPECT_EQ(sockopt(sv[0], SO::ERROR), 0);
    EXPECT_EQ(k.sys_sendto(sv[0], "x", 1, MSG::NOSIGNAL), -E::PIPE);
  });
  expect_completed();
}

TEST_F(KernelUnixTest, WriterBlockedBeforeSendingAnythingGetsEconnresetWhenThePeerClosesUnread) {
  int sv[2];
  long sent = 0;
  const sim::task_id writer = spawn("writer", [&] {
    make_pair(sv);
    EXPECT_EQ(k.sys_setsockopt(sv[0], SOL::SOCKET, SO::SNDBUF, 4096), 0);
    std::vector<char> data(100000, 'w');
    EXPECT_EQ(k.sys_sendto(sv[0], data.data(), data.size(), MSG::DONTWAIT), 2 * 4032);
    sent = k.sys_sendto(sv[0], data.data(), 100, 0);
  });
  spawn("closer", [&] {
    wait_until_blocked(writer);
    EXPECT_EQ(k.sys_close(sv[1]), 0);
  });
  expect_completed();
  EXPECT_EQ(sent, -E::CONNRESET);  // sock_alloc_send_pskb checks sock_error before SEND_SHUTDOWN
}

TEST_F(KernelUnixTest, PollSleepsUntilDataArrives) {
  int sv[2];
  int ready = -1;
  pollfd entry{};
  const sim::task_id poller = spawn("poller", [&] {
    make_pair(sv);
    entry = pollfd{sv[1], POLL::IN, 0};
    ready = k.sys_poll(&entry, 1, -1);
  });
  spawn("sender", [&] {
    wait_until_blocked(poller);
    EXPECT_EQ(k.sys_sendto(sv[0], "x", 1, 0), 1);
  });
  expect_completed();
  EXPECT_EQ(ready, 1);
  EXPECT_EQ(entry.revents, POLL::IN);
}

TEST_F(KernelUnixTest, RecvOnAnEmptySocketWithNoSenderDeadlocksOnItsSkSleep) {
  spawn("reader", [&] {
    int sv[2];
    make_pair(sv);
    char byte = 0;
    k.sys_recvfrom(sv[0], &byte, 1, 0);
  });
  const sim::RunResult result = scheduler.run();
  EXPECT_EQ(result.outcome, sim::RunResult::Outcome::deadlock);
  ASSERT_EQ(result.blocked.size(), 1u);
  EXPECT_EQ(result.blocked[0].channel, "sk_sleep(unix#1a)");
}

}  // namespace
}  // namespace iosim
