// tests/differential_test.cpp — hand-written operation sequences run on SimOs and on LinuxOs; every step's
// result, errno, revents and select sets must agree. Key Linux answers are pinned too, so a sequence proves
// what it claims.
//
// What is not compared: fd numbers and ephemeral ports (they differ by construction; the recorder names fds
// and compares address relations instead), and buffer capacities byte for byte — Linux charges sk_buff
// overhead (truesize) against SO_SNDBUF/SO_RCVBUF and autotunes TCP buffers, so every size here stays far
// below them.
#include "differential.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>

namespace iosim::diff {
namespace {

constexpr short all_events = POLL::IN | POLL::PRI | POLL::OUT | POLL::RDHUP | POLL::RDNORM | POLL::WRNORM;

// Runs `sequence` on both backends, expects equal records, and expects each of `linux_says` in Linux's record
// (so the sequence really exercises what its name says, whatever the simulator does).
void expect_agree(const Sequence& sequence, const std::vector<Observation>& linux_says = {},
                  SimConfig config = {}) {
  const Record sim = run_on_sim(sequence, std::move(config));
  const Record linux = run_on_linux(sequence);
  const std::string diff = compare(sim, linux);
  EXPECT_TRUE(diff.empty()) << diff;
  for (const Observation& expected : linux_says) {
    EXPECT_NE(std::find(linux.begin(), linux.end(), expected), linux.end())
        << "linux never answered '" << expected.result << "' to '" << expected.step << "'\n"
        << compare(linux, {});
  }
}

// Records an integer socket option's value ("SO_ERROR=111"), or the failure.
void sockopt(Recorder& r, const std::string& name, int level, int option, const std::string& label) {
  int value = -1;
  const int result = r.os().getsockopt(r.fd(name), level, option, &value);
  r.note(fmt::format("getsockopt({}, {})", name, label),
         result == 0 ? fmt::format("{}={}", label, value) : r.outcome(result));
}

void fcntl_getfl(Recorder& r, const std::string& name) {
  const int flags = r.os().fcntl(r.fd(name), F::GETFL, 0);
  r.note(fmt::format("fcntl({}, F_GETFL)", name),
         flags < 0 ? r.outcome(flags) : fmt::format("{:#o}", flags & 07777777));
}

// --- reads and writes of various sizes ---

// What read(10) returns after write_then_read_sizes' writes: byte 1 (the 1-byte write), then 100, 101, ...
std::string first_ten_bytes() {
  std::string bytes(1, '\1');
  for (int i = 0; i < 9; ++i) bytes += static_cast<char>(100 + i);
  return fmt::format("10 fnv={:08x}", fnv1a(bytes.data(), bytes.size()));
}

void write_then_read_sizes(Recorder& r, const std::string& from, const std::string& to, bool tcp) {
  for (std::size_t size : {1, 100, 2048, 0}) r.write(from, size, -1, static_cast<int>(size));
  if (tcp) r.settle_in_flight(from, to);
  if (tcp) r.settle(to, POLL::IN);
  r.read(to, 10);                 // a partial read of the first writes
  r.read(to, 4096);               // the rest, across write boundaries (stream semantics)
  r.read(to, 16, MSG::DONTWAIT);  // now empty: EAGAIN
  r.write(to, 777, MSG::NOSIGNAL, 3);
  if (tcp) r.settle_in_flight(to, from);
  if (tcp) r.settle(from, POLL::IN);
  r.read(from, 700, MSG::PEEK);
  r.read(from, 100, 0);
  r.read(from, 100, MSG::DONTWAIT);
  r.read(from, 100, MSG::DONTWAIT);
}

TEST(Differential, SocketpairReadsAndWritesOfVariousSizes) {
  expect_agree(
      [](Recorder& r) {
        r.socketpair("a", "b");
        write_then_read_sizes(r, "a", "b", false);
      },
      {{"recv(b, 16, 0x40)", "-1 EAGAIN"}, {"read(b, 10)", first_ten_bytes()}});
}

TEST(Differential, TcpReadsAndWritesOfVariousSizes) {
  expect_agree(
      [](Recorder& r) {
        r.tcp_pair("c", "s");
        write_then_read_sizes(r, "c", "s", true);
      },
      {{"recv(s, 16, 0x40)", "-1 EAGAIN"}, {"read(s, 10)", first_ten_bytes()}});
}

TEST(Differential, PipeReadsAndWritesOfVariousSizes) {
  expect_agree(
      [](Recorder& r) {
        r.pipe("r", "w", O::NONBLOCK);
        for (std::size_t size : {1, 100, 2048, 0}) r.write("w", size, -1, static_cast<int>(size));
        r.read("r", 10);
        r.read("r", 4096);
        r.read("r", 16);                 // empty, non-blocking: EAGAIN
        r.write("r", 5);                 // the read end is not writable: EBADF
        r.read("w", 5);                  // nor the write end readable
        r.write("w", 5, MSG::NOSIGNAL);  // send() on a pipe: ENOTSOCK
        r.close("w");
        r.read("r", 16);  // end of file
      },
      {{"read(r, 16)", "-1 EAGAIN"}, {"write(r, 5)", "-1 EBADF"}, {"send(w, 5, 0x4000)", "-1 ENOTSOCK"}});
}

// Linux tcp_recvmsg_locked is a do-while: a zero-length recv still reports EAGAIN on an empty queue, and 0 at
// once when data is queued. (Found by the differential property.)
TEST(Differential, TcpZeroLengthRecv) {
  expect_agree(
      [](Recorder& r) {
        r.tcp_pair("c", "s");
        r.read("s", 0, MSG::DONTWAIT);
        r.write("c", 5);
        r.settle("s", POLL::IN);
        r.read("s", 0, MSG::DONTWAIT);
        r.read("s", 0);
        r.read("s", 0, MSG::PEEK);
        r.read("s", 10);
        r.close("c");
        r.settle("s", POLL::RDHUP);
        r.read("s", 0);
      },
      {{"recv(s, 0, 0x40)", "-1 EAGAIN"},
       {"read(s, 0)", "0"},
       {"read(s, 10)", "5 fnv=" + fmt::format("{:08x}", fnv1a("\0\1\2\3\4", 5))}});
}

// --- half-close and close ---

TEST(Differential, TcpShutdownWriteDeliversDataThenEndOfFile) {
  expect_agree(
      [](Recorder& r) {
        r.tcp_pair("c", "s");
        r.write("c", 100);
        r.call("shutdown(c, SHUT_WR)", r.os().shutdown(r.fd("c"), SHUT::WR));
        r.settle("s", POLL::RDHUP);
        r.poll({{"s", r.fd("s"), all_events}, {"c", r.fd("c"), all_events}}, 0);
        r.read("s", 4096);
        r.read("s", 4096);
        r.read("s", 4096);
        r.write("c", 10, MSG::NOSIGNAL);  // writing after SHUT_WR: EPIPE
        r.write("s", 10, MSG::NOSIGNAL);  // the other direction still works
        r.settle("c", POLL::IN);
        r.read("c", 100);
        r.call("shutdown(s, SHUT_WR)", r.os().shutdown(r.fd("s"), SHUT::WR));
        r.settle("c", POLL::RDHUP);
        r.poll({{"s", r.fd("s"), all_events}, {"c", r.fd("c"), all_events}}, 0);
      },
      {{"send(c, 10, 0x4000)", "-1 EPIPE"}, {"read(s, 4096)", "0"}});
}

// Data arriving after shutdown(SHUT_RDWR) aborts the connection on both ends (tcp_rcv_state_process →
// tcp_reset): the receiver reports ECONNRESET, the sender gets the RST. (Found by the differential property.)
TEST(Differential, TcpDataAfterShutdownRdwrResetsBothEnds) {
  expect_agree(
      [](Recorder& r) {
        r.tcp_pair("c", "s");
        r.call("shutdown(c, SHUT_RDWR)", r.os().shutdown(r.fd("c"), SHUT::RDWR));
        r.settle("s", POLL::RDHUP);
        r.write("s", 1);
        r.settle("c", POLL::ERR);
        r.settle("s", POLL::ERR);
        r.poll({{"c", r.fd("c"), all_events}, {"s", r.fd("s"), all_events}}, 0);
        sockopt(r, "c", SOL::SOCKET, SO::ERROR, "SO_ERROR");
        sockopt(r, "s", SOL::SOCKET, SO::ERROR, "SO_ERROR");
        r.read("c", 10);
      },
      {{"getsockopt(c, SO_ERROR)", "SO_ERROR=104"}, {"getsockopt(s, SO_ERROR)", "SO_ERROR=32"}});
}

TEST(Differential, SocketpairShutdownWriteDeliversDataThenEndOfFile) {
  expect_agree(
      [](Recorder& r) {
        r.socketpair("a", "b");
        r.write("a", 100);
        r.call("shutdown(a, SHUT_WR)", r.os().shutdown(r.fd("a"), SHUT::WR));
        r.poll({{"a", r.fd("a"), all_events}, {"b", r.fd("b"), all_events}}, 0);
        r.read("b", 4096);
        r.read("b", 4096);
        r.write("a", 10, MSG::NOSIGNAL);
        r.call("shutdown(b, SHUT_RD)", r.os().shutdown(r.fd("b"), SHUT::RD));
        r.poll({{"a", r.fd("a"), all_events}, {"b", r.fd("b"), all_events}}, 0);
      },
      {{"send(a, 10, 0x4000)", "-1 EPIPE"}, {"read(b, 4096)", "0"}});
}

TEST(Differential, TcpPeerCloseThenSendGetsEpipe) {
  expect_agree(
      [](Recorder& r) {
        r.tcp_pair("c", "s");
        r.close("c");
        r.settle("s", POLL::RDHUP);
        r.poll({{"s", r.fd("s"), all_events}}, 0);
        r.write("s", 10, MSG::NOSIGNAL);  // accepted; the orphan answers with a RST
        r.settle("s", POLL::ERR);
        r.poll({{"s", r.fd("s"), all_events}}, 0);
        r.write("s", 10, MSG::NOSIGNAL);  // the RST's error (EPIPE in CLOSE_WAIT)
        r.write("s", 10, MSG::NOSIGNAL);  // then the shut-down socket's EPIPE
        r.read("s", 10);
        r.write("s", 10);  // SIGPIPE is ignored (both backends): plain EPIPE
      },
      {{"send(s, 10, 0x4000)", "-1 EPIPE"}, {"send(s, 10, 0x4000)", "10"}});
}

TEST(Differential, SocketpairAndPipePollMasksAfterPeerClose) {
  expect_agree(
      [](Recorder& r) {
        r.socketpair("a", "b");
        r.pipe("r", "w");
        r.write("a", 5);
        r.close("a");
        r.poll({{"b", r.fd("b"), all_events}}, 0);
        r.read("b", 100);
        r.read("b", 100);
        r.write("b", 1, MSG::NOSIGNAL);
        r.close("w");
        r.poll({{"r", r.fd("r"), all_events}}, 0);
        r.pipe("r2", "w2");
        r.close("r2");
        r.poll({{"w2", r.fd("w2"), all_events}}, 0);
        r.write("w2", 1);
      },
      {{"write(w2, 1)", "-1 EPIPE"}});
}

TEST(Differential, TcpCloseWithUnreadDataResetsThePeer) {
  expect_agree(
      [](Recorder& r) {
        r.tcp_pair("c", "s");
        r.write("c", 100);
        r.settle("s", POLL::IN);
        r.close("s");  // 100 bytes unread: RST instead of FIN
        r.settle("c", POLL::ERR);
        r.poll({{"c", r.fd("c"), all_events}}, 0);
        sockopt(r, "c", SOL::SOCKET, SO::ERROR, "SO_ERROR");
        r.write("c", 10, MSG::NOSIGNAL);
      },
      {{"getsockopt(c, SO_ERROR)", "SO_ERROR=104"}});
}

TEST(Differential, TcpRecvAfterResetReportsEconnresetThenEndOfFile) {
  expect_agree(
      [](Recorder& r) {
        r.tcp_pair("c", "s");
        r.write("c", 100);
        r.settle("s", POLL::IN);
        r.close("s");
        r.settle("c", POLL::ERR);
        r.read("c", 100);
        r.read("c", 100);
        r.write("c", 10, MSG::NOSIGNAL);
      },
      {{"read(c, 100)", "-1 ECONNRESET"}, {"read(c, 100)", "0"}});
}

TEST(Differential, TcpLingerZeroCloseResets) {
  expect_agree(
      [](Recorder& r) {
        r.tcp_pair("c", "s");
        r.call("set_linger(c, 1, 0)", r.os().set_linger(r.fd("c"), true, 0));
        sockopt(r, "c", SOL::SOCKET, SO::LINGER, "SO_LINGER");
        r.write("s", 10);  // data the client never reads does not matter: linger 0 resets regardless
        r.settle("c", POLL::IN);
        r.read("c", 10);
        r.close("c");
        r.settle("s", POLL::ERR);
        r.poll({{"s", r.fd("s"), all_events}}, 0);
        r.read("s", 10);
        r.read("s", 10);
      },
      {{"read(s, 10)", "-1 ECONNRESET"}});
}

// --- connect ---

TEST(Differential, BlockingConnectWithoutListenerIsRefused) {
  expect_agree(
      [](Recorder& r) {
        r.open("socket(p)", "p", r.os().socket(AF::INET, SOCK::STREAM, 0));
        r.call("bind(p)",
               r.os().bind(r.fd("p"), SockAddr{loopback_ip, 0}));  // holds a port nobody listens on
        const std::uint16_t port = r.port_of("p");
        r.open("socket(c)", "c", r.os().socket(AF::INET, SOCK::STREAM, 0));
        r.call("connect(c)", r.os().connect(r.fd("c"), SockAddr{loopback_ip, port}));
        sockopt(r, "c", SOL::SOCKET, SO::ERROR, "SO_ERROR");
        r.call("connect(c) again", r.os().connect(r.fd("c"), SockAddr{loopback_ip, port}));
        SockAddr peer{};
        r.call("getpeername(c)", r.os().getpeername(r.fd("c"), &peer));
        r.poll({{"c", r.fd("c"), all_events}}, 0);
      },
      {{"connect(c)", "-1 ECONNREFUSED"},
       {"connect(c) again", "-1 ECONNREFUSED"},
       {"getpeername(c)", "-1 ENOTCONN"}});
}

TEST(Differential, NonblockingConnectWithoutListenerReportsErrorThroughPollAndSoError) {
  expect_agree(
      [](Recorder& r) {
        r.open("socket(p)", "p", r.os().socket(AF::INET, SOCK::STREAM, 0));
        r.call("bind(p)", r.os().bind(r.fd("p"), SockAddr{loopback_ip, 0}));
        const std::uint16_t port = r.port_of("p");
        r.open("socket(c)", "c", r.os().socket(AF::INET, SOCK::STREAM | SOCK::NONBLOCK, 0));
        r.call("connect(c)", r.os().connect(r.fd("c"), SockAddr{loopback_ip, port}));
        r.settle("c", POLL::OUT);
        r.poll({{"c", r.fd("c"), all_events}}, 0);
        r.select({"c"}, {"c"}, {"c"}, 0);
        sockopt(r, "c", SOL::SOCKET, SO::ERROR, "SO_ERROR");
        sockopt(r, "c", SOL::SOCKET, SO::ERROR, "SO_ERROR");  // reading it cleared it
        r.call("connect(c) again", r.os().connect(r.fd("c"), SockAddr{loopback_ip, port}));
        r.read("c", 10);
        r.write("c", 10, MSG::NOSIGNAL);
      },
      {{"connect(c)", "-1 EINPROGRESS"},
       {"getsockopt(c, SO_ERROR)", "SO_ERROR=111"},
       {"connect(c) again", "-1 ECONNABORTED"}});
}

TEST(Differential, NonblockingConnectCompletesThenEisconn) {
  expect_agree(
      [](Recorder& r) {
        const std::uint16_t port = r.listener("l", 16, SOCK::NONBLOCK);
        r.open("accept(l) empty", "none", r.os().accept4(r.fd("l"), nullptr, 0));
        r.open("socket(c)", "c", r.os().socket(AF::INET, SOCK::STREAM | SOCK::NONBLOCK, 0));
        r.call("connect(c)", r.os().connect(r.fd("c"), SockAddr{loopback_ip, port}));
        r.settle("c", POLL::OUT);
        r.poll({{"c", r.fd("c"), all_events}}, 0);
        sockopt(r, "c", SOL::SOCKET, SO::ERROR, "SO_ERROR");
        r.call("connect(c) 2", r.os().connect(r.fd("c"), SockAddr{loopback_ip, port}));
        r.call("connect(c) 3", r.os().connect(r.fd("c"), SockAddr{loopback_ip, port}));
        r.settle("l", POLL::IN);
        r.poll({{"l", r.fd("l"), all_events}}, 0);
        r.open("accept4(l, SOCK_NONBLOCK)", "s", r.os().accept4(r.fd("l"), nullptr, SOCK::NONBLOCK));
        fcntl_getfl(r, "s");
        fcntl_getfl(r, "l");
        r.read("s", 10);
        r.open("accept(l) empty again", "none", r.os().accept4(r.fd("l"), nullptr, 0));
        r.poll({{"l", r.fd("l"), all_events}}, 0);
        sockopt(r, "l", SOL::SOCKET, SO::ACCEPTCONN, "SO_ACCEPTCONN");
        sockopt(r, "s", SOL::SOCKET, SO::ACCEPTCONN, "SO_ACCEPTCONN");
      },
      {{"connect(c)", "-1 EINPROGRESS"},
       {"connect(c) 2", "0"},
       {"connect(c) 3", "-1 EISCONN"},
       {"accept(l) empty", "-1 EAGAIN"},
       {"fcntl(s, F_GETFL)", "04002"},
       {"read(s, 10)", "-1 EAGAIN"}});
}

// Linux sk_acceptq_is_full is `ack_backlog > max_ack_backlog`: backlog 1 queues two connections; the third
// SYN is dropped and retransmitted after TCP_TIMEOUT_INIT (1 s, real time on Linux), by which time one was
// accepted.
TEST(Differential, ListenBacklogOverflowDropsSynUntilAccept) {
  expect_agree(
      [](Recorder& r) {
        const std::uint16_t port = r.listener("l", 1, SOCK::NONBLOCK);
        for (const char* name : {"c1", "c2", "c3"}) {
          r.open(fmt::format("socket({})", name), name,
                 r.os().socket(AF::INET, SOCK::STREAM | SOCK::NONBLOCK, 0));
          r.call(fmt::format("connect({})", name), r.os().connect(r.fd(name), SockAddr{loopback_ip, port}));
        }
        r.settle("c2", POLL::OUT);
        r.poll({{"c1", r.fd("c1"), POLL::OUT}, {"c2", r.fd("c2"), POLL::OUT}, {"c3", r.fd("c3"), POLL::OUT}},
               100);
        r.open("accept(l) 1", "s1", r.os().accept4(r.fd("l"), nullptr, 0));
        r.poll({{"c3", r.fd("c3"), POLL::OUT}}, 3000, "(waits for the SYN retransmission)");
        r.open("accept(l) 2", "s2", r.os().accept4(r.fd("l"), nullptr, 0));
        r.settle("l", POLL::IN);
        r.open("accept(l) 3", "s3", r.os().accept4(r.fd("l"), nullptr, 0));
        r.open("accept(l) 4", "s4", r.os().accept4(r.fd("l"), nullptr, 0));
      },
      {{"poll(c1:OUT c2:OUT c3:OUT t=100)", "2 c1=OUT c2=OUT c3=0"}, {"accept(l) 4", "-1 EAGAIN"}});
}

// shutdown() of a connecting socket is tcp_disconnect: the attempt is abandoned with ECONNRESET, and the
// socket may connect again.
TEST(Differential, ShutdownWhileConnectingAbandonsTheAttempt) {
  expect_agree(
      [](Recorder& r) {
        const std::uint16_t port = r.listener("l", 0);
        for (const char* name : {"c1", "c2"}) {
          r.open(fmt::format("socket({})", name), name,
                 r.os().socket(AF::INET, SOCK::STREAM | SOCK::NONBLOCK, 0));
          r.call(fmt::format("connect({})", name), r.os().connect(r.fd(name), SockAddr{loopback_ip, port}));
        }
        r.settle("c1", POLL::OUT);
        r.poll({{"c2", r.fd("c2"), all_events}}, 0, "(SYN dropped: still connecting)");
        r.call("shutdown(c2, SHUT_RDWR)", r.os().shutdown(r.fd("c2"), SHUT::RDWR));
        r.poll({{"c2", r.fd("c2"), all_events}}, 0);
        sockopt(r, "c2", SOL::SOCKET, SO::ERROR, "SO_ERROR");
        r.read("c2", 10);
        r.call("shutdown(c2, SHUT_RDWR) again", r.os().shutdown(r.fd("c2"), SHUT::RDWR));
        r.poll({{"c2", r.fd("c2"), all_events}}, 0);
      },
      {{"getsockopt(c2, SO_ERROR)", "SO_ERROR=104"}, {"shutdown(c2, SHUT_RDWR) again", "-1 ENOTCONN"}});
}

// --- bind and addresses ---

TEST(Differential, BindAddressInUseAgainstListenerAndAcceptedConnection) {
  expect_agree(
      [](Recorder& r) {
        Os& os = r.os();
        const std::uint16_t port = r.listener("l");
        r.open("socket(x)", "x", os.socket(AF::INET, SOCK::STREAM, 0));
        r.call("bind(x, port of l)", os.bind(r.fd("x"), SockAddr{loopback_ip, port}));
        r.call("setsockopt(x, SO_REUSEADDR)", os.setsockopt(r.fd("x"), SOL::SOCKET, SO::REUSEADDR, 1));
        r.call("bind(x, port of l) reuse", os.bind(r.fd("x"), SockAddr{loopback_ip, port}));
        r.call("bind(x, any:port of l) reuse", os.bind(r.fd("x"), SockAddr{any_ip, port}));
        // An accepted connection holds the listener's port after the listener is gone; it inherited no
        // SO_REUSEADDR.
        r.open("socket(c)", "c", os.socket(AF::INET, SOCK::STREAM, 0));
        r.call("connect(c)", os.connect(r.fd("c"), SockAddr{loopback_ip, port}));
        r.open("accept(l)", "s", os.accept4(r.fd("l"), nullptr, 0));
        r.close("l");
        r.call("bind(x, port of s) reuse", os.bind(r.fd("x"), SockAddr{loopback_ip, port}));
        r.open("socket(y)", "y", os.socket(AF::INET, SOCK::STREAM, 0));
        r.call("bind(y, port of s)", os.bind(r.fd("y"), SockAddr{loopback_ip, port}));
      },
      {{"bind(x, port of l)", "-1 EADDRINUSE"},
       {"bind(x, port of l) reuse", "-1 EADDRINUSE"},
       {"bind(x, port of s) reuse", "-1 EADDRINUSE"}});
}

TEST(Differential, BindWithReuseAddrBesideAnAcceptedConnectionThatHasIt) {
  expect_agree(
      [](Recorder& r) {
        Os& os = r.os();
        r.open("socket(l)", "l", os.socket(AF::INET, SOCK::STREAM, 0));
        r.call("setsockopt(l, SO_REUSEADDR)", os.setsockopt(r.fd("l"), SOL::SOCKET, SO::REUSEADDR, 1));
        r.call("bind(l)", os.bind(r.fd("l"), SockAddr{loopback_ip, 0}));
        r.call("listen(l)", os.listen(r.fd("l"), 4));
        const std::uint16_t port = r.port_of("l");
        r.open("socket(c)", "c", os.socket(AF::INET, SOCK::STREAM, 0));
        r.call("connect(c)", os.connect(r.fd("c"), SockAddr{loopback_ip, port}));
        r.open("accept(l)", "s", os.accept4(r.fd("l"), nullptr, 0));
        sockopt(r, "s", SOL::SOCKET, SO::REUSEADDR, "SO_REUSEADDR");
        r.open("socket(x)", "x", os.socket(AF::INET, SOCK::STREAM, 0));
        r.call("setsockopt(x, SO_REUSEADDR)", os.setsockopt(r.fd("x"), SOL::SOCKET, SO::REUSEADDR, 1));
        r.call("bind(x) while l listens", os.bind(r.fd("x"), SockAddr{loopback_ip, port}));
        r.close("l");
        r.call("bind(x) beside s", os.bind(r.fd("x"), SockAddr{loopback_ip, port}));
        r.call("bind(x) twice", os.bind(r.fd("x"), SockAddr{loopback_ip, 0}));
        r.call("listen(x) beside s", os.listen(r.fd("x"), 4));
      },
      {{"bind(x) while l listens", "-1 EADDRINUSE"},
       {"bind(x) beside s", "0"},
       {"bind(x) twice", "-1 EINVAL"}});
}

// Ports differ between backends; the relations between addresses are what both must agree on.
TEST(Differential, SocknameAndPeernameRelations) {
  expect_agree(
      [](Recorder& r) {
        Os& os = r.os();
        r.open("socket(u)", "u", os.socket(AF::INET, SOCK::STREAM, 0));
        SockAddr unbound{1, 1}, peer{};
        r.call("getsockname(u)", os.getsockname(r.fd("u"), &unbound));
        r.note("sockname of unbound", fmt::format("{:#x}:{}", unbound.ip, unbound.port));
        r.call("getpeername(u)", os.getpeername(r.fd("u"), &peer));
        const std::uint16_t port = r.listener("l");
        r.call("getpeername(l)", os.getpeername(r.fd("l"), &peer));
        r.open("socket(c)", "c", os.socket(AF::INET, SOCK::STREAM, 0));
        r.call("connect(c)", os.connect(r.fd("c"), SockAddr{loopback_ip, port}));
        SockAddr accepted_peer{}, client_name{}, client_peer{}, server_name{}, server_peer{};
        r.open("accept(l)", "s", os.accept4(r.fd("l"), &accepted_peer, 0));
        r.call("getsockname(c)", os.getsockname(r.fd("c"), &client_name));
        r.call("getpeername(c)", os.getpeername(r.fd("c"), &client_peer));
        r.call("getsockname(s)", os.getsockname(r.fd("s"), &server_name));
        r.call("getpeername(s)", os.getpeername(r.fd("s"), &server_peer));
        r.note("accept's peer == client's sockname", fmt::format("{}", accepted_peer == client_name));
        r.note("server's peer == client's sockname", fmt::format("{}", server_peer == client_name));
        r.note("client's peer == server's sockname", fmt::format("{}", client_peer == server_name));
        r.note("client's peer",
               fmt::format("{:#x}, listener's port: {}", client_peer.ip, client_peer.port == port));
        r.note("client's ip", fmt::format("{:#x}", client_name.ip));
        r.socketpair("a", "b");
        r.call("getpeername(a)", os.getpeername(r.fd("a"), &peer));
        r.pipe("r", "w");
        r.call("getsockname(r)", os.getsockname(r.fd("r"), &peer));
        r.close("c");
        r.settle("s", POLL::RDHUP);
        r.call("getpeername(s) in CLOSE_WAIT", os.getpeername(r.fd("s"), &peer));
      },
      {{"accept's peer == client's sockname", "true"},
       {"getpeername(u)", "-1 ENOTCONN"},
       {"getpeername(l)", "-1 ENOTCONN"},
       {"getsockname(r)", "-1 ENOTSOCK"},
       {"sockname of unbound", "0x0:0"}});
}

// --- file descriptors ---

TEST(Differential, FcntlTogglesNonblockOnTheOpenFileDescription) {
  expect_agree(
      [](Recorder& r) {
        r.socketpair("a", "b");
        r.pipe("r", "w");
        r.tcp_pair("c", "s");
        for (const char* name : {"a", "r", "w", "c"}) fcntl_getfl(r, name);
        r.call("fcntl(a, F_SETFL, O_NONBLOCK)", r.os().fcntl(r.fd("a"), F::SETFL, O::NONBLOCK));
        fcntl_getfl(r, "a");
        r.read("a", 10);
        r.open("dup(a)", "a2", r.os().dup(r.fd("a")));
        fcntl_getfl(r, "a2");  // the dup shares the description, so its O_NONBLOCK
        r.read("a2", 10);
        r.call("fcntl(a2, F_SETFL, 0)", r.os().fcntl(r.fd("a2"), F::SETFL, 0));
        fcntl_getfl(r, "a");
        r.call("fcntl(c, F_SETFL, O_NONBLOCK|O_WRONLY)",
               r.os().fcntl(r.fd("c"), F::SETFL, O::NONBLOCK | O::WRONLY));
        fcntl_getfl(r, "c");
        r.read("c", 10);
        r.call("fcntl(r, F_SETFL, O_NONBLOCK)", r.os().fcntl(r.fd("r"), F::SETFL, O::NONBLOCK));
        r.read("r", 10);
        r.call("fcntl(a, F_GETFD)", r.os().fcntl(r.fd("a"), F::GETFD, 0));
        r.call("fcntl(a, 12345)", r.os().fcntl(r.fd("a"), 12345, 0));
      },
      {{"fcntl(a, F_GETFL)", "04002"},
       {"fcntl(w, F_GETFL)", "01"},
       {"read(a2, 10)", "-1 EAGAIN"},
       {"read(c, 10)", "-1 EAGAIN"},
       {"fcntl(a, 12345)", "-1 EINVAL"}});
}

TEST(Differential, DupThenCloseOfOneKeepsTheFileOpen) {
  expect_agree(
      [](Recorder& r) {
        r.socketpair("a", "b");
        r.open("dup(a)", "a2", r.os().dup(r.fd("a")));
        r.close("a");
        r.write("a2", 5);
        r.read("b", 10);
        r.poll({{"b", r.fd("b"), all_events}}, 0);
        r.close("a2");
        r.poll({{"b", r.fd("b"), all_events}}, 0);
        r.tcp_pair("c", "s");
        r.open("dup(c)", "c2", r.os().dup(r.fd("c")));
        r.close("c");
        r.write("c2", 5);
        r.settle("s", POLL::IN);
        r.read("s", 10);
        r.poll({{"s", r.fd("s"), all_events}}, 0);
        r.close("c2");
        r.settle("s", POLL::RDHUP);
        r.poll({{"s", r.fd("s"), all_events}}, 0);
      },
      {{"write(a2, 5)", "5"}, {"write(c2, 5)", "5"}});
}

TEST(Differential, BadDescriptorsAndNonSockets) {
  expect_agree(
      [](Recorder& r) {
        Os& os = r.os();
        r.pipe("r", "w");
        r.open("dup(w)", "gone", os.dup(r.fd("w")));
        const int gone = r.fd("gone");
        r.close("gone");
        char byte = 0;
        SockAddr addr{};
        int value = 0;
        r.call("close(gone)", os.close(gone));
        r.call("close(-1)", os.close(-1));
        r.call("read(gone)", os.read(gone, &byte, 1));
        r.call("write(gone)", os.write(gone, &byte, 1));
        r.call("dup(gone)", os.dup(gone));
        r.call("fcntl(gone)", os.fcntl(gone, F::GETFL, 0));
        r.call("recv(gone)", os.recv(gone, &byte, 1, 0));
        r.call("shutdown(gone)", os.shutdown(gone, SHUT::RDWR));
        r.call("recv(r)", os.recv(r.fd("r"), &byte, 1, 0));
        r.call("send(w)", os.send(r.fd("w"), &byte, 1, 0));
        r.call("shutdown(r)", os.shutdown(r.fd("r"), SHUT::RDWR));
        r.call("bind(r)", os.bind(r.fd("r"), SockAddr{loopback_ip, 0}));
        r.call("listen(r)", os.listen(r.fd("r"), 1));
        r.call("accept4(r)", os.accept4(r.fd("r"), nullptr, 0));
        r.call("connect(r)", os.connect(r.fd("r"), SockAddr{loopback_ip, 1}));
        r.call("getsockopt(r)", os.getsockopt(r.fd("r"), SOL::SOCKET, SO::ERROR, &value));
        r.call("setsockopt(r)", os.setsockopt(r.fd("r"), SOL::SOCKET, SO::REUSEADDR, 1));
        r.call("getpeername(r)", os.getpeername(r.fd("r"), &addr));
        r.call("getsockname(gone)", os.getsockname(gone, &addr));
      },
      {{"close(gone)", "-1 EBADF"}, {"recv(r)", "-1 ENOTSOCK"}, {"getsockname(gone)", "-1 EBADF"}});
}

// --- select and poll ---

TEST(Differential, PollOverSeveralFdsWithTimeoutZero) {
  expect_agree(
      [](Recorder& r) {
        r.socketpair("a", "b");
        r.pipe("r", "w");
        r.tcp_pair("c", "s");
        r.open("dup(w)", "gone", r.os().dup(r.fd("w")));
        const int gone = r.fd("gone");
        r.close("gone");
        r.write("a", 3);
        r.write("c", 3);
        r.settle("s", POLL::IN);
        const short io = POLL::IN | POLL::OUT;
        r.poll({{"a", r.fd("a"), io},
                {"b", r.fd("b"), io},
                {"r", r.fd("r"), io},
                {"w", r.fd("w"), io},
                {"c", r.fd("c"), io},
                {"s", r.fd("s"), POLL::IN},
                {"closed", gone, io},
                {"negative", -1, io},
                {"no events", r.fd("b"), 0}},
               0);
        r.poll({}, 0);
        r.poll({{"r", r.fd("r"), POLL::IN}}, 10, "(idle: times out)");
      },
      {{"poll(t=0)", "0"}});
}

TEST(Differential, SelectOverSeveralFdsWithTimeoutZero) {
  expect_agree(
      [](Recorder& r) {
        r.socketpair("a", "b");
        r.pipe("r", "w");
        r.tcp_pair("c", "s");
        r.write("a", 3);
        r.write("c", 3);
        r.settle("s", POLL::IN);
        r.select({"a", "b", "r", "s", "c"}, {"a", "w", "c", "r"}, {"a", "s"}, 0);
        r.select({}, {}, {}, 0);
        r.select({"r"}, {}, {}, 10'000, "(idle: times out)");
        // tv_usec >= 1e6 is normalised, not EINVAL (poll_select_set_timeout). What is left is written back:
        // exact on the virtual clock, a little less on Linux's, so only the range is compared.
        fd_set writable;
        writable.zero();
        writable.set(r.fd("w"));
        timeval long_usec{0, 1'500'000};
        const int ready = r.os().select(r.fd("w") + 1, nullptr, &writable, nullptr, &long_usec);
        const std::int64_t left_us = long_usec.tv_sec * 1'000'000 + long_usec.tv_usec;
        r.note("select(w={w}, tv={0, 1500000})",
               fmt::format("{} left in (1.4 s, 1.5 s]: {}", r.outcome(ready),
                           left_us > 1'400'000 && left_us <= 1'500'000));
        r.close("c");
        r.settle("s", POLL::RDHUP);
        r.select({"s"}, {"s"}, {"s"}, 0, "(peer closed)");
      },
      {{"select(r={} w={} e={} t=0us)", "0 r={} w={} e={} tv=0.000000"},
       {"select(r={r} w={} e={} t=10000us) (idle: times out)", "0 r={} w={} e={} tv=0.000000"},
       {"select(w={w}, tv={0, 1500000})", "1 left in (1.4 s, 1.5 s]: true"}});
}

TEST(Differential, SelectOnAClosedFdIsEbadf) {
  expect_agree(
      [](Recorder& r) {
        r.pipe("r", "w");
        r.open("dup(w)", "gone", r.os().dup(r.fd("w")));
        const int gone = r.fd("gone");
        r.close("gone");
        r.select_raw({r.fd("r"), gone}, {}, {}, 0);
        r.select_raw({}, {gone}, {}, 0);
        r.select_raw({}, {}, {}, 0, "(nfds < 0)", -1 - 1);
        r.select_raw({}, {}, {}, -1, "(nfds > FD_SETSIZE, iosim contract)", FD_SETSIZE_ + 1);
        timeval negative{-1, 0};
        r.call("select(timeout -1 s)", r.os().select(1, nullptr, nullptr, nullptr, &negative));
      },
      {{"select(timeout -1 s)", "-1 EINVAL"}});
}

// --- invalid arguments: the exact errno ---

TEST(Differential, InvalidArgumentsGiveLinuxErrno) {
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  const std::size_t nofile = limit.rlim_cur;
  SimConfig config;
  config.kernel.fd_count_max = static_cast<int>(nofile);  // do_sys_poll's bound is RLIMIT_NOFILE
  expect_agree(
      [nofile](Recorder& r) {
        Os& os = r.os();
        int sv[2];
        r.call("socket(INET, STREAM|0x10)", os.socket(AF::INET, SOCK::STREAM | 0x10, 0));
        r.call("socket(12345, STREAM)", os.socket(12345, SOCK::STREAM, 0));
        r.call("socket(INET, STREAM, 17)", os.socket(AF::INET, SOCK::STREAM, 17));
        r.call("socketpair(INET, STREAM)", os.socketpair(AF::INET, SOCK::STREAM, 0, sv));
        r.call("socketpair(UNIX, STREAM|0x10)", os.socketpair(AF::UNIX, SOCK::STREAM | 0x10, 0, sv));
        r.call("pipe2(0x10)", os.pipe2(sv, 0x10));
        r.tcp_pair("c", "s");
        r.call("shutdown(c, 3)", os.shutdown(r.fd("c"), 3));
        r.call("shutdown(c, -1)", os.shutdown(r.fd("c"), -1));
        r.call("listen(c) connected", os.listen(r.fd("c"), 1));
        r.call("accept4(c) not listening", os.accept4(r.fd("c"), nullptr, 0));
        r.call("accept4(c, 0x10)", os.accept4(r.fd("c"), nullptr, 0x10));
        r.call("connect(c) connected", os.connect(r.fd("c"), SockAddr{loopback_ip, 1}));
        r.call("bind(c) connected", os.bind(r.fd("c"), SockAddr{loopback_ip, 0}));
        r.call("setsockopt(c, SOL_SOCKET, 9999)", os.setsockopt(r.fd("c"), SOL::SOCKET, 9999, 1));
        int value = 0;
        r.call("getsockopt(c, TCP, 9999)", os.getsockopt(r.fd("c"), IPPROTO::TCP, 9999, &value));
        r.open("socket(u)", "u", os.socket(AF::INET, SOCK::STREAM, 0));
        r.call("bind(u, 10.0.0.1)", os.bind(r.fd("u"), SockAddr{0x0a000001, 0}));
        r.call("shutdown(u) unconnected", os.shutdown(r.fd("u"), SHUT::WR));
        r.read("u", 10);
        r.write("u", 10, MSG::NOSIGNAL);
        r.call("accept4(u) not listening", os.accept4(r.fd("u"), nullptr, 0));
        const std::uint16_t port = r.listener("l");
        r.read("l", 10);
        r.write("l", 10, MSG::NOSIGNAL);
        r.call("connect(l)", os.connect(r.fd("l"), SockAddr{loopback_ip, port}));
        std::vector<pollfd> many(nofile + 1, pollfd{-1, POLL::IN, 0});
        r.call("poll(nfds = RLIMIT_NOFILE)", os.poll(many.data(), nofile, 0));
        r.call("poll(nfds = RLIMIT_NOFILE + 1)", os.poll(many.data(), nofile + 1, 0));
      },
      {{"socket(INET, STREAM|0x10)", "-1 EINVAL"},
       {"shutdown(c, 3)", "-1 EINVAL"},
       {"listen(c) connected", "-1 EINVAL"},
       {"accept4(c, 0x10)", "-1 EINVAL"},
       {"poll(nfds = RLIMIT_NOFILE + 1)", "-1 EINVAL"},
       {"connect(l)", "-1 EISCONN"}},
      config);
}

// A blocking recv(MSG_WAITALL) asking for more than the receive buffer holds: Linux's tcp_recvmsg_locked
// calls tcp_cleanup_rbuf before each sk_wait_data, so the window the copied bytes freed is advertised and
// the sender goes on. Regression: the simulator advertised it only after the loop, and both sides slept.
long wait_all_beyond_the_receive_buffer(Os& os) {
  constexpr std::size_t total = 1 << 20;
  const int listener = os.socket(AF::INET, SOCK::STREAM, 0);
  os.bind(listener, SockAddr{loopback_ip, 0});
  os.listen(listener, 1);
  SockAddr bound;
  os.getsockname(listener, &bound);
  const int client = os.socket(AF::INET, SOCK::STREAM, 0);
  os.setsockopt(client, SOL::SOCKET, SO::RCVBUF, 64 << 10);
  EXPECT_EQ(os.connect(client, bound), 0);
  const int server = os.accept4(listener, nullptr, 0);
  std::unique_ptr<Thread> sender = os.thread_create("sender", [&os, server] {
    std::vector<char> bytes(total, 'x');
    for (std::size_t sent = 0; sent < total;) {
      const long n = os.send(server, bytes.data() + sent, total - sent, 0);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  });
  std::vector<char> buffer(total);
  const long received = os.recv(client, buffer.data(), total, MSG::WAITALL);
  sender->join();
  for (const int fd : {client, server, listener}) os.close(fd);
  return received;
}

TEST(Differential, WaitAllBeyondTheReceiveBufferCompletes) {
  LinuxOs linux_os;
  EXPECT_EQ(wait_all_beyond_the_receive_buffer(linux_os), 1 << 20);
  SimOs sim_os(SimConfig{});
  long received = 0;
  const SimOutcome outcome = sim_os.run([&] { received = wait_all_beyond_the_receive_buffer(sim_os); });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed) << outcome.run.failure;
  EXPECT_EQ(received, 1 << 20);
}

}  // namespace
}  // namespace iosim::diff
