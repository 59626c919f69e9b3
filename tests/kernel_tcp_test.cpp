// tests/kernel_tcp_test.cpp — one test per rule of the simulated kernel's fd table and TCP (on SimOs): details
// Linux cannot be asked about deterministically (who sleeps where, exact virtual times, exclusive wake-ups).
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "backends/sim/sim_os.hpp"

namespace iosim {
namespace {

constexpr std::int64_t ms = 1'000'000;

SimOutcome run_sim(const std::function<void(SimOs&)>& body, SimConfig config = {}) {
  SimOs os(std::move(config));
  return os.run([&] { body(os); });
}

// A listener on 127.0.0.1 with an ephemeral port; returns its fd and sets *address.
int make_listener(Os& os, SockAddr* address, int backlog = 16) {
  const int listener = os.socket(AF::INET, SOCK::STREAM, 0);
  EXPECT_EQ(os.bind(listener, SockAddr{loopback_ip, 0}), 0);
  EXPECT_EQ(os.listen(listener, backlog), 0);
  EXPECT_EQ(os.getsockname(listener, address), 0);
  return listener;
}

struct Pair {
  int client, server;
};
Pair connected_pair(Os& os) {
  SockAddr address{};
  const int listener = make_listener(os, &address);
  const int client = os.socket(AF::INET, SOCK::STREAM, 0);
  EXPECT_EQ(os.connect(client, address), 0);
  const int server = os.accept4(listener, nullptr, 0);
  EXPECT_GE(server, 0);
  os.close(listener);
  return {client, server};
}

// True while task `id` sleeps; its wait channel's name otherwise "".
std::string wait_channel(SimOs& os, sim::task_id id) {
  const std::uint32_t channel = os.scheduler().wait_channel(id);
  return channel == 0 ? "" : std::string(os.trace().name(channel));
}

TEST(KernelFdTable, LowestFreeFdIsAllocated) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    EXPECT_EQ(os.socket(AF::INET, SOCK::STREAM, 0), 0);
    EXPECT_EQ(os.socket(AF::INET, SOCK::STREAM, 0), 1);
    EXPECT_EQ(os.socket(AF::INET, SOCK::STREAM, 0), 2);
    EXPECT_EQ(os.close(1), 0);
    EXPECT_EQ(os.dup(0), 1);
    EXPECT_EQ(os.close(0), 0);
    int fds[2];
    EXPECT_EQ(os.pipe2(fds, 0), 0);
    EXPECT_EQ(fds[0], 0);
    EXPECT_EQ(fds[1], 3);
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

TEST(KernelFdTable, EmfileAtFdCountMaxLeavesTheConnectionQueued) {
  SimConfig config;
  config.kernel.fd_count_max = 4;
  const SimOutcome outcome = run_sim([](SimOs& os) {
    SockAddr address{};
    const int listener = make_listener(os, &address);  // fd 0
    const int client = os.socket(AF::INET, SOCK::STREAM, 0);  // fd 1
    ASSERT_EQ(os.connect(client, address), 0);
    EXPECT_EQ(os.socket(AF::INET, SOCK::STREAM, 0), 2);
    int fds[2];
    EXPECT_EQ(os.pipe2(fds, 0), -1);  // two fds do not fit in the one left
    EXPECT_EQ(os.last_errno(), E::MFILE);
    EXPECT_EQ(os.socket(AF::INET, SOCK::STREAM, 0), 3);
    EXPECT_EQ(os.socket(AF::INET, SOCK::STREAM, 0), -1);
    EXPECT_EQ(os.last_errno(), E::MFILE);
    EXPECT_EQ(os.accept4(listener, nullptr, 0), -1);
    EXPECT_EQ(os.last_errno(), E::MFILE);
    EXPECT_EQ(os.dup(0), -1);
    EXPECT_EQ(os.last_errno(), E::MFILE);
    EXPECT_EQ(os.close(2), 0);
    EXPECT_EQ(os.accept4(listener, nullptr, 0), 2);  // the connection waited in the accept queue
  }, config);
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

// inet_csk_accept sleeps with add_wait_queue_exclusive: one new connection wakes one of the acceptors.
TEST(KernelTcp, OneConnectionWakesExactlyOneOfTwoBlockedAcceptors) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    SockAddr address{};
    const int listener = make_listener(os, &address);
    int accepted = 0;
    auto acceptor = [&] {
      if (os.accept4(listener, nullptr, 0) >= 0) ++accepted;
    };
    auto first = os.thread_create("acceptor-1", acceptor);   // task 2
    auto second = os.thread_create("acceptor-2", acceptor);  // task 3
    os.sleep_for(1 * ms);
    ASSERT_NE(wait_channel(os, 2), "");
    EXPECT_EQ(wait_channel(os, 2), wait_channel(os, 3));
    const int client = os.socket(AF::INET, SOCK::STREAM, 0);
    ASSERT_EQ(os.connect(client, address), 0);
    // Right after the handshake: exactly one acceptor is runnable, the other still sleeps.
    EXPECT_EQ((wait_channel(os, 2) == "") + (wait_channel(os, 3) == ""), 1);
    os.sleep_for(1 * ms);
    EXPECT_EQ(accepted, 1);
    const int other = os.socket(AF::INET, SOCK::STREAM, 0);
    ASSERT_EQ(os.connect(other, address), 0);
    first->join();
    second->join();
    EXPECT_EQ(accepted, 2);
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

TEST(KernelTcp, BlockingRecvSleepsUntilDataArrives) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    const Pair pair = connected_pair(os);
    long got = 0;
    auto reader = os.thread_create("reader", [&] {
      char buffer[16];
      got = os.recv(pair.server, buffer, sizeof(buffer), 0);
    });
    os.sleep_for(5 * ms);
    EXPECT_EQ(got, 0);
    EXPECT_NE(wait_channel(os, 2).find("sk_sleep(tcp#"), std::string::npos) << wait_channel(os, 2);
    ASSERT_EQ(os.send(pair.client, "hello", 5, 0), 5);
    reader->join();
    EXPECT_EQ(got, 5);
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

// SO_SNDBUF/SO_RCVBUF 4096 are doubled to 8192 (sk_buff overhead); iosim queues half of that as payload, so
// 4096 bytes sit in the peer's receive queue and 4096 in the send queue before a writer must wait.
Pair small_buffer_pair(Os& os) {
  SockAddr address{};
  const int listener = make_listener(os, &address);
  EXPECT_EQ(os.setsockopt(listener, SOL::SOCKET, SO::RCVBUF, 4096), 0);  // inherited by the accepted socket
  const int client = os.socket(AF::INET, SOCK::STREAM, 0);
  EXPECT_EQ(os.setsockopt(client, SOL::SOCKET, SO::SNDBUF, 4096), 0);
  EXPECT_EQ(os.connect(client, address), 0);
  const int server = os.accept4(listener, nullptr, 0);
  int value = 0;
  EXPECT_EQ(os.getsockopt(client, SOL::SOCKET, SO::SNDBUF, &value), 0);
  EXPECT_EQ(value, 8192);
  return {client, server};
}

TEST(KernelTcp, BlockingSendWaitsForBufferSpaceAndResumesWhenThePeerReads) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    const Pair pair = small_buffer_pair(os);
    const std::string data(64 * 1024, 'x');
    long sent = 0;
    auto writer = os.thread_create("writer", [&] { sent = os.send(pair.client, data.data(), data.size(), 0); });
    os.sleep_for(5 * ms);
    EXPECT_EQ(sent, 0);
    EXPECT_NE(wait_channel(os, 2).find("sk_sleep(tcp#"), std::string::npos) << wait_channel(os, 2);
    std::string received(data.size(), '\0');
    std::size_t total = 0;
    while (total < data.size()) {
      const long got = os.recv(pair.server, received.data() + total, data.size() - total, 0);
      ASSERT_GT(got, 0);
      EXPECT_LE(got, 4096);  // never more than the receive queue holds
      total += static_cast<std::size_t>(got);
    }
    writer->join();
    EXPECT_EQ(sent, static_cast<long>(data.size()));
    EXPECT_EQ(received, data);
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

TEST(KernelTcp, NonblockingSendWritesWhatFitsThenEagain) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    const Pair pair = small_buffer_pair(os);
    const std::string data(64 * 1024, 'x');
    EXPECT_EQ(os.send(pair.client, data.data(), data.size(), MSG::DONTWAIT), 8192);  // 4096 queued + 4096 at the peer
    EXPECT_EQ(os.send(pair.client, data.data(), data.size(), MSG::DONTWAIT), -1);
    EXPECT_EQ(os.last_errno(), E::AGAIN);
    char buffer[1024];
    ASSERT_EQ(os.recv(pair.server, buffer, sizeof(buffer), 0), 1024);
    EXPECT_EQ(os.send(pair.client, data.data(), data.size(), MSG::DONTWAIT), 1024);
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

// sk_acceptq_is_full (ack_backlog > max_ack_backlog): backlog 0 queues one connection; the next SYN is dropped
// and retransmitted after TCP_TIMEOUT_INIT (1 s), when there is room again.
TEST(KernelTcp, AcceptQueueOverflowDropsTheSynUntilTheRetransmission) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    SockAddr address{};
    const int listener = make_listener(os, &address, 0);
    const int first = os.socket(AF::INET, SOCK::STREAM, 0);
    ASSERT_EQ(os.connect(first, address), 0);
    std::int64_t connected_at = -1;
    int result = -2;
    auto second = os.thread_create("second", [&] {
      const int fd = os.socket(AF::INET, SOCK::STREAM, 0);
      result = os.connect(fd, address);
      connected_at = os.monotonic_ns();
    });
    os.sleep_for(500 * ms);
    EXPECT_EQ(result, -2);  // still in SYN_SENT: the SYN was dropped
    EXPECT_GE(os.accept4(listener, nullptr, 0), 0);
    second->join();
    EXPECT_EQ(result, 0);
    EXPECT_GE(connected_at, 1'000 * ms);
    EXPECT_LT(connected_at, 1'001 * ms);
    EXPECT_GE(os.accept4(listener, nullptr, 0), 0);
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

TEST(KernelTcp, ConnectTakesOneRoundTripOfVirtualTime) {
  SimConfig config;
  config.kernel.latency_ns = 10 * ms;
  config.syscall_cost_ns = 0;
  const SimOutcome outcome = run_sim([](SimOs& os) {
    SockAddr address{};
    const int listener = make_listener(os, &address);
    const int client = os.socket(AF::INET, SOCK::STREAM, 0);
    const std::int64_t before = os.monotonic_ns();
    ASSERT_EQ(os.connect(client, address), 0);
    EXPECT_EQ(os.monotonic_ns() - before, 20 * ms);  // SYN there, SYN-ACK back
    // The listener sees the connection when the final ACK arrives, one more one-way trip later.
    pollfd entry{listener, POLL::IN, 0};
    EXPECT_EQ(os.poll(&entry, 1, -1), 1);
    EXPECT_EQ(os.monotonic_ns() - before, 30 * ms);
  }, config);
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

TEST(KernelTcp, TwoThreadsReceivingFromEachOtherDeadlock) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    const Pair pair = connected_pair(os);
    auto left = os.thread_create("left", [&] {
      char byte;
      os.recv(pair.client, &byte, 1, 0);
    });
    auto right = os.thread_create("right", [&] {
      char byte;
      os.recv(pair.server, &byte, 1, 0);
    });
    left->join();
    right->join();
  });
  ASSERT_EQ(outcome.run.outcome, sim::RunResult::Outcome::deadlock);
  std::map<std::string, std::string> channels;
  for (const sim::BlockedTask& task : outcome.run.blocked) channels[task.name] = task.channel;
  ASSERT_EQ(channels.size(), 3u) << "main, left and right";
  EXPECT_NE(channels["left"].find("sk_sleep(tcp#"), std::string::npos) << channels["left"];
  EXPECT_NE(channels["right"].find("sk_sleep(tcp#"), std::string::npos) << channels["right"];
  EXPECT_NE(channels["left"], channels["right"]);  // each on its own socket's queue
  EXPECT_EQ(channels["main"], "join(left)");
}

// The active closer's TIME_WAIT keeps the port for TCP_TIMEWAIT_LEN (60 s): bind conflicts unless both the new
// socket and the timewait sock (it inherits the listener's flag) have SO_REUSEADDR.
TEST(KernelTcp, TimeWaitHoldsThePortForSixtySeconds) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    constexpr std::uint16_t port = 5000;
    const int listener = os.socket(AF::INET, SOCK::STREAM, 0);
    ASSERT_EQ(os.setsockopt(listener, SOL::SOCKET, SO::REUSEADDR, 1), 0);
    ASSERT_EQ(os.bind(listener, SockAddr{loopback_ip, port}), 0);
    ASSERT_EQ(os.listen(listener, 4), 0);
    const int client = os.socket(AF::INET, SOCK::STREAM, 0);
    ASSERT_EQ(os.connect(client, SockAddr{loopback_ip, port}), 0);
    const int server = os.accept4(listener, nullptr, 0);
    ASSERT_EQ(os.close(listener), 0);
    ASSERT_EQ(os.close(server), 0);  // the server closes first: its side goes to TIME_WAIT
    ASSERT_EQ(os.close(client), 0);
    const int plain = os.socket(AF::INET, SOCK::STREAM, 0);
    EXPECT_EQ(os.bind(plain, SockAddr{loopback_ip, port}), -1);
    EXPECT_EQ(os.last_errno(), E::ADDRINUSE);
    const int reuse = os.socket(AF::INET, SOCK::STREAM, 0);
    ASSERT_EQ(os.setsockopt(reuse, SOL::SOCKET, SO::REUSEADDR, 1), 0);
    EXPECT_EQ(os.bind(reuse, SockAddr{loopback_ip, port}), 0);
    ASSERT_EQ(os.close(reuse), 0);
    os.sleep_for(59'000 * ms);
    EXPECT_EQ(os.bind(plain, SockAddr{loopback_ip, port}), -1);
    os.sleep_for(1'001 * ms);
    EXPECT_EQ(os.bind(plain, SockAddr{loopback_ip, port}), 0);
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

}  // namespace
}  // namespace iosim
