// tests/linux_os_test.cpp — LinuxOs against the real kernel: sockets, pipes, errno capture, select/poll,
// threads and locks. These pin down the native side that the simulator's behaviour is compared with.
#include "backends/linux/linux_os.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace iosim {
namespace {

class LinuxOsTest : public ::testing::Test {
 protected:
  // A connected AF_UNIX stream pair; closed by the test body or left to process exit.
  std::array<int, 2> make_pair(int type_flags = 0) {
    int sv[2] = {-1, -1};
    EXPECT_EQ(os.socketpair(AF::UNIX, SOCK::STREAM | type_flags, 0, sv), 0) << errno_name(os.last_errno());
    return {sv[0], sv[1]};
  }

  LinuxOs os;
};

TEST_F(LinuxOsTest, BackendNameIsLinux) {
  EXPECT_EQ(os.backend_name(), "linux");
}

TEST_F(LinuxOsTest, SocketpairCarriesBytesBothWays) {
  auto [a, b] = make_pair();
  ASSERT_EQ(os.send(a, "hello", 5, 0), 5);
  char buffer[16] = {};
  ASSERT_EQ(os.recv(b, buffer, sizeof(buffer), 0), 5);
  EXPECT_EQ(std::string(buffer, 5), "hello");
  ASSERT_EQ(os.write(b, "back", 4), 4);
  ASSERT_EQ(os.read(a, buffer, sizeof(buffer)), 4);
  EXPECT_EQ(std::string(buffer, 4), "back");
  EXPECT_EQ(os.close(a), 0);
  // The peer's end reads end-of-file (0), not an error, once the other end is closed.
  EXPECT_EQ(os.recv(b, buffer, sizeof(buffer), 0), 0);
  EXPECT_EQ(os.close(b), 0);
}

TEST_F(LinuxOsTest, PipeReadsWhatWasWrittenThenEndOfFile) {
  int fds[2] = {-1, -1};
  ASSERT_EQ(os.pipe2(fds, 0), 0);
  ASSERT_EQ(os.write(fds[1], "abc", 3), 3);
  char buffer[8] = {};
  ASSERT_EQ(os.read(fds[0], buffer, sizeof(buffer)), 3);
  EXPECT_EQ(std::string(buffer, 3), "abc");
  ASSERT_EQ(os.close(fds[1]), 0);
  EXPECT_EQ(os.read(fds[0], buffer, sizeof(buffer)), 0);
  EXPECT_EQ(os.close(fds[0]), 0);
}

TEST_F(LinuxOsTest, PipeWithNonblockFlagReturnsEagainWhenEmpty) {
  int fds[2] = {-1, -1};
  ASSERT_EQ(os.pipe2(fds, O::NONBLOCK), 0);
  char byte = 0;
  EXPECT_EQ(os.read(fds[0], &byte, 1), -1);
  EXPECT_EQ(os.last_errno(), E::AGAIN);
  os.close(fds[0]);
  os.close(fds[1]);
}

TEST_F(LinuxOsTest, RecvOnEmptyNonblockingSocketIsEagain) {
  auto [a, b] = make_pair(SOCK::NONBLOCK);
  char byte = 0;
  EXPECT_EQ(os.recv(a, &byte, 1, 0), -1);
  EXPECT_EQ(os.last_errno(), E::AGAIN);
  os.close(a);
  os.close(b);
}

TEST_F(LinuxOsTest, FcntlSetsAndReportsNonblock) {
  auto [a, b] = make_pair();
  const int flags = os.fcntl(a, F::GETFL, 0);
  ASSERT_GE(flags, 0);
  EXPECT_EQ(flags & O::NONBLOCK, 0);
  ASSERT_EQ(os.fcntl(a, F::SETFL, flags | O::NONBLOCK), 0);
  EXPECT_NE(os.fcntl(a, F::GETFL, 0) & O::NONBLOCK, 0);
  char byte = 0;
  EXPECT_EQ(os.recv(a, &byte, 1, 0), -1);
  EXPECT_EQ(os.last_errno(), E::AGAIN);
  os.close(a);
  os.close(b);
}

TEST_F(LinuxOsTest, CloseOfInvalidOrClosedFdIsEbadf) {
  EXPECT_EQ(os.close(-1), -1);
  EXPECT_EQ(os.last_errno(), E::BADF);
  auto [a, b] = make_pair();
  ASSERT_EQ(os.close(a), 0);
  EXPECT_EQ(os.close(a), -1);
  EXPECT_EQ(os.last_errno(), E::BADF);
  char byte = 0;
  EXPECT_EQ(os.recv(a, &byte, 1, 0), -1);
  EXPECT_EQ(os.last_errno(), E::BADF);
  os.close(b);
}

TEST_F(LinuxOsTest, LastErrnoSurvivesLaterLibcCalls) {
  ASSERT_EQ(os.close(-1), -1);
  errno = 0;  // what any libc call in between (malloc, printf) may do to errno
  std::string unrelated(1000, 'x');
  EXPECT_EQ(os.last_errno(), E::BADF);
}

TEST_F(LinuxOsTest, LastErrnoIsPerThread) {
  ASSERT_EQ(os.close(-1), -1);  // EBADF on this thread
  int other_thread_errno = 0;
  auto thread = os.thread_create("einval", [&] {
    int sv[2];
    os.socketpair(AF::INET, SOCK::STREAM, 0, sv);  // socketpair exists only for AF_UNIX: EOPNOTSUPP
    other_thread_errno = os.last_errno();
  });
  thread->join();
  EXPECT_EQ(other_thread_errno, E::OPNOTSUPP);
  EXPECT_EQ(os.last_errno(), E::BADF);
}

TEST_F(LinuxOsTest, SendToClosedPeerIsEpipeNotSigpipe) {
  auto [a, b] = make_pair();
  ASSERT_EQ(os.close(b), 0);
  // No MSG_NOSIGNAL: without the constructor's SIG_IGN this would kill the test process.
  EXPECT_EQ(os.send(a, "x", 1, 0), -1);
  EXPECT_EQ(os.last_errno(), E::PIPE);
  os.close(a);
}

TEST_F(LinuxOsTest, SelectWithZeroTimeoutReportsReadinessWithoutBlocking) {
  auto [a, b] = make_pair();
  fd_set readable, writable;
  readable.zero();
  readable.set(a);
  timeval zero{0, 0};
  EXPECT_EQ(os.select(a + 1, &readable, nullptr, nullptr, &zero), 0);
  EXPECT_FALSE(readable.is_set(a));  // select clears the bits of fds that are not ready
  ASSERT_EQ(os.send(b, "x", 1, 0), 1);
  readable.zero();
  readable.set(a);
  writable.zero();
  writable.set(a);
  zero = {0, 0};
  EXPECT_EQ(os.select(a + 1, &readable, &writable, nullptr, &zero), 2);
  EXPECT_TRUE(readable.is_set(a));
  EXPECT_TRUE(writable.is_set(a));
  os.close(a);
  os.close(b);
}

TEST_F(LinuxOsTest, SelectRejectsNfdsOutsideFdSetsize) {
  fd_set readable;
  readable.zero();
  timeval zero{0, 0};
  EXPECT_EQ(os.select(FD_SETSIZE_ + 1, &readable, nullptr, nullptr, &zero), -1);
  EXPECT_EQ(os.last_errno(), E::INVAL);
  EXPECT_EQ(os.select(-1, &readable, nullptr, nullptr, &zero), -1);
  EXPECT_EQ(os.last_errno(), E::INVAL);
  EXPECT_EQ(os.select(FD_SETSIZE_, &readable, nullptr, nullptr, &zero), 0);
}

TEST_F(LinuxOsTest, SelectWritesBackTheUnsleptTimeout) {
  timeval timeout{0, 20'000};
  const std::int64_t start_ns = os.monotonic_ns();
  EXPECT_EQ(os.select(0, nullptr, nullptr, nullptr, &timeout), 0);
  EXPECT_GE(os.monotonic_ns() - start_ns, 20'000'000);
  EXPECT_EQ(timeout.tv_sec, 0);
  EXPECT_EQ(timeout.tv_usec, 0);  // the whole timeout elapsed
}

TEST_F(LinuxOsTest, PollWithZeroTimeoutReportsReadiness) {
  auto [a, b] = make_pair();
  pollfd entry{a, POLL::IN, 0};
  EXPECT_EQ(os.poll(&entry, 1, 0), 0);
  EXPECT_EQ(entry.revents, 0);
  ASSERT_EQ(os.send(b, "x", 1, 0), 1);
  entry = {a, static_cast<short>(POLL::IN | POLL::OUT), 0};
  EXPECT_EQ(os.poll(&entry, 1, 0), 1);
  EXPECT_EQ(entry.revents, POLL::IN | POLL::OUT);
  os.close(a);
  os.close(b);
}

TEST_F(LinuxOsTest, PollReportsNvalForClosedFdAndHupForClosedPeer) {
  auto [a, b] = make_pair();
  ASSERT_EQ(os.close(b), 0);
  pollfd entries[2] = {{a, POLL::IN, 0}, {b, POLL::IN, 0}};
  EXPECT_EQ(os.poll(entries, 2, 0), 2);
  EXPECT_NE(entries[0].revents & POLL::HUP, 0);
  EXPECT_EQ(entries[1].revents, POLL::NVAL);
  os.close(a);
}

TEST_F(LinuxOsTest, PollIgnoresNegativeFds) {
  pollfd entry{-1, POLL::IN, 0x7};
  EXPECT_EQ(os.poll(&entry, 1, 0), 0);
  EXPECT_EQ(entry.revents, 0);
}

TEST_F(LinuxOsTest, EpollReportsEachReadyFdWithItsData) {
  const int epfd = os.epoll_create1(EPOLL::CLOEXEC);
  ASSERT_GE(epfd, 0);
  std::vector<std::array<int, 2>> pairs;
  for (std::uint64_t index = 0; index < 3; ++index) {
    pairs.push_back(make_pair());
    // Distinct 64-bit data in every byte: a wrong conversion of the packed kernel record would show.
    epoll_event event{EPOLL::IN, 0x1122334455667700ULL + index};
    ASSERT_EQ(os.epoll_ctl(epfd, EPOLL::CTL_ADD, pairs.back()[0], &event), 0);
  }
  epoll_event ready[8];
  EXPECT_EQ(os.epoll_wait(epfd, ready, 8, 0), 0);
  for (auto& pair : pairs) ASSERT_EQ(os.send(pair[1], "x", 1, 0), 1);
  ASSERT_EQ(os.epoll_wait(epfd, ready, 8, 0), 3);
  std::vector<std::uint64_t> data;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ready[i].events, EPOLL::IN);
    data.push_back(ready[i].data);
  }
  std::sort(data.begin(), data.end());
  EXPECT_EQ(data, (std::vector<std::uint64_t>{0x1122334455667700ULL, 0x1122334455667701ULL,
                                              0x1122334455667702ULL}));
  EXPECT_EQ(os.epoll_wait(epfd, ready, 2, 0), 2);  // never more than maxevents
  EXPECT_EQ(os.epoll_ctl(epfd, EPOLL::CTL_DEL, pairs[0][0], nullptr), 0);
  EXPECT_EQ(os.epoll_wait(epfd, ready, 8, 0), 2);
  for (auto& pair : pairs) {
    os.close(pair[0]);
    os.close(pair[1]);
  }
  os.close(epfd);
}

TEST_F(LinuxOsTest, EpollRejectsBadArguments) {
  const int epfd = os.epoll_create1(0);
  epoll_event ready[1];
  EXPECT_EQ(os.epoll_wait(epfd, ready, 0, 0), -1);
  EXPECT_EQ(os.last_errno(), E::INVAL);
  epoll_event event{EPOLL::IN, 0};
  EXPECT_EQ(os.epoll_ctl(epfd, EPOLL::CTL_ADD, epfd, &event), -1);  // an epoll set cannot watch itself
  EXPECT_EQ(os.last_errno(), E::INVAL);
  auto [a, b] = make_pair();
  EXPECT_EQ(os.epoll_ctl(epfd, EPOLL::CTL_MOD, a, &event), -1);  // never added
  EXPECT_EQ(os.last_errno(), E::NOENT);
  ASSERT_EQ(os.epoll_ctl(epfd, EPOLL::CTL_ADD, a, &event), 0);
  EXPECT_EQ(os.epoll_ctl(epfd, EPOLL::CTL_ADD, a, &event), -1);  // added twice
  EXPECT_EQ(os.last_errno(), E::EXIST);
  os.close(a);
  os.close(b);
  os.close(epfd);
}

TEST_F(LinuxOsTest, EventfdCountsAndBlocksWhenZero) {
  const int fd = os.eventfd(3, EFD::NONBLOCK);
  ASSERT_GE(fd, 0);
  std::uint64_t value = 0;
  ASSERT_EQ(os.read(fd, &value, sizeof(value)), 8);
  EXPECT_EQ(value, 3u);
  EXPECT_EQ(os.read(fd, &value, sizeof(value)), -1);  // counter is 0 now
  EXPECT_EQ(os.last_errno(), E::AGAIN);
  value = 5;
  ASSERT_EQ(os.write(fd, &value, sizeof(value)), 8);
  ASSERT_EQ(os.read(fd, &value, sizeof(value)), 8);
  EXPECT_EQ(value, 5u);
  os.close(fd);
}

TEST_F(LinuxOsTest, LoopbackTcpListenConnectAcceptAndAddresses) {
  const int listener = os.socket(AF::INET, SOCK::STREAM, 0);
  ASSERT_GE(listener, 0);
  ASSERT_EQ(os.bind(listener, SockAddr{loopback_ip, 0}), 0);
  ASSERT_EQ(os.listen(listener, 16), 0);
  SockAddr listening;
  ASSERT_EQ(os.getsockname(listener, &listening), 0);
  EXPECT_EQ(listening.ip, loopback_ip);
  EXPECT_NE(listening.port, 0);  // bind to port 0 picked an ephemeral port

  const int client = os.socket(AF::INET, SOCK::STREAM, 0);
  ASSERT_EQ(os.connect(client, listening), 0) << errno_name(os.last_errno());
  SockAddr peer;
  const int server = os.accept4(listener, &peer, 0);
  ASSERT_GE(server, 0);
  SockAddr client_local, client_peer, server_local;
  ASSERT_EQ(os.getsockname(client, &client_local), 0);
  ASSERT_EQ(os.getpeername(client, &client_peer), 0);
  ASSERT_EQ(os.getsockname(server, &server_local), 0);
  EXPECT_EQ(peer, client_local);  // accept reports the client's own address
  EXPECT_EQ(client_peer, listening);
  EXPECT_EQ(server_local, listening);

  ASSERT_EQ(os.send(client, "ping", 4, 0), 4);
  char buffer[8] = {};
  ASSERT_EQ(os.recv(server, buffer, 4, MSG::WAITALL), 4);  // WAITALL: all 4, however segmented
  EXPECT_EQ(std::string(buffer, 4), "ping");
  ASSERT_EQ(os.shutdown(client, SHUT::WR), 0);
  EXPECT_EQ(os.recv(server, buffer, sizeof(buffer), 0), 0);  // FIN after the data
  os.close(server);
  os.close(client);
  os.close(listener);
}

TEST_F(LinuxOsTest, ConnectToClosedPortIsRefused) {
  const int listener = os.socket(AF::INET, SOCK::STREAM, 0);
  ASSERT_EQ(os.bind(listener, SockAddr{loopback_ip, 0}), 0);
  SockAddr address;
  ASSERT_EQ(os.getsockname(listener, &address), 0);
  ASSERT_EQ(os.close(listener), 0);  // bound but never listening, now closed: nobody accepts on it
  const int client = os.socket(AF::INET, SOCK::STREAM, 0);
  EXPECT_EQ(os.connect(client, address), -1);
  EXPECT_EQ(os.last_errno(), E::CONNREFUSED);
  os.close(client);
}

TEST_F(LinuxOsTest, SocketOptionsRoundTrip) {
  const int fd = os.socket(AF::INET, SOCK::STREAM, 0);
  int value = -1;
  ASSERT_EQ(os.getsockopt(fd, SOL::SOCKET, SO::TYPE, &value), 0);
  EXPECT_EQ(value, SOCK::STREAM);
  ASSERT_EQ(os.setsockopt(fd, SOL::SOCKET, SO::REUSEADDR, 1), 0);
  ASSERT_EQ(os.getsockopt(fd, SOL::SOCKET, SO::REUSEADDR, &value), 0);
  EXPECT_EQ(value, 1);
  ASSERT_EQ(os.setsockopt(fd, IPPROTO::TCP, TCP::NODELAY, 1), 0);
  ASSERT_EQ(os.getsockopt(fd, IPPROTO::TCP, TCP::NODELAY, &value), 0);
  EXPECT_EQ(value, 1);
  EXPECT_EQ(os.set_linger(fd, true, 0), 0);
  ASSERT_EQ(os.getsockopt(fd, SOL::SOCKET, SO::ERROR, &value), 0);
  EXPECT_EQ(value, 0);
  EXPECT_EQ(os.getsockopt(fd, SOL::SOCKET, 12345, &value), -1);
  EXPECT_EQ(os.last_errno(), E::NOPROTOOPT);
  os.close(fd);
}

TEST_F(LinuxOsTest, DupSharesTheOpenFile) {
  auto [a, b] = make_pair();
  const int copy = os.dup(a);
  ASSERT_GE(copy, 0);
  ASSERT_EQ(os.close(a), 0);
  ASSERT_EQ(os.send(copy, "y", 1, 0), 1);  // the socket lives on through the duplicate
  char byte = 0;
  EXPECT_EQ(os.recv(b, &byte, 1, 0), 1);
  EXPECT_EQ(byte, 'y');
  os.close(copy);
  os.close(b);
}

TEST_F(LinuxOsTest, ThreadsWithMutexCountExactly) {
  auto mutex = os.mutex_create();
  long counter = 0;
  constexpr int per_thread = 20'000;
  std::vector<std::unique_ptr<Thread>> threads;
  for (int i = 0; i < 4; ++i) {
    threads.push_back(os.thread_create("adder", [&] {
      for (int n = 0; n < per_thread; ++n) {
        LockGuard lock(*mutex);
        ++counter;
      }
    }));
  }
  for (auto& thread : threads) thread->join();
  EXPECT_EQ(counter, 4 * per_thread);
}

TEST_F(LinuxOsTest, CondVarHandsOverEveryItem) {
  auto mutex = os.mutex_create();
  auto changed = os.condvar_create();
  std::vector<int> queue;
  bool done = false;
  auto producer = os.thread_create("producer", [&] {
    for (int item = 1; item <= 100; ++item) {
      {
        LockGuard lock(*mutex);
        queue.push_back(item);
      }
      changed->notify_one();
    }
    {
      LockGuard lock(*mutex);
      done = true;
    }
    changed->notify_all();
  });
  std::vector<int> consumed;
  {
    LockGuard lock(*mutex);
    while (!done || !queue.empty()) {
      if (queue.empty()) {
        changed->wait(*mutex);
        continue;
      }
      consumed.insert(consumed.end(), queue.begin(), queue.end());
      queue.clear();
    }
  }
  producer->join();
  ASSERT_EQ(consumed.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(consumed[static_cast<std::size_t>(i)], i + 1);
}

TEST_F(LinuxOsTest, SleepForSleepsAtLeastTheDuration) {
  const std::int64_t start_ns = os.monotonic_ns();
  os.sleep_for(3'000'000);
  EXPECT_GE(os.monotonic_ns() - start_ns, 3'000'000);
  os.sleep_for(0);   // no-op
  os.sleep_for(-5);  // no-op, not an error
}

TEST_F(LinuxOsTest, MonotonicClockNeverGoesBack) {
  std::int64_t previous = os.monotonic_ns();
  for (int i = 0; i < 1000; ++i) {
    const std::int64_t now = os.monotonic_ns();
    ASSERT_GE(now, previous);
    previous = now;
  }
}

TEST(LinuxOsDeathTest, ThreadDestroyedWithoutJoinAsserts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        LinuxOs os;
        auto thread = os.thread_create("orphan", [] {});
        thread.reset();
      },
      "destroyed without join");
}

}  // namespace
}  // namespace iosim
