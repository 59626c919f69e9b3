// tests/kernel_epoll_test.cpp — epoll's rules (fs/eventpoll.c), each checked on the simulator and, where the
// real kernel can be asked deterministically, on Linux with the same code: level vs edge triggering,
// EPOLLONESHOT, every epoll_ctl errno, the item belonging to the open file description, nesting and ELOOP,
// EPOLLEXCLUSIVE and the LIFO wake-up of epoll_wait sleepers, and eventfd.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "backends/linux/linux_os.hpp"
#include "backends/sim/sim_os.hpp"

namespace iosim {
namespace {

// What a sequence observed: one entry per step, "name=result[/errno]" or an event list.
using Record = std::vector<std::string>;

struct Recorder {
  Os& os;
  Record record;
  int call(const std::string& step, int result) {
    record.push_back(step + "=" + std::to_string(result) +
                     (result < 0 ? std::string("/") + std::string(errno_name(os.last_errno())) : ""));
    return result;
  }
  // epoll_wait with timeout 0, recording (data, events) of each returned event in order.
  int wait(const std::string& step, int epfd, int maxevents = 16) {
    std::vector<epoll_event> events(16);
    const int n = os.epoll_wait(epfd, events.data(), maxevents, 0);
    std::string text = step + "=" + std::to_string(n);
    if (n < 0) text += std::string("/") + std::string(errno_name(os.last_errno()));
    for (int i = 0; i < n; ++i) text += " {" + std::to_string(events[i].data) + ":" + std::to_string(events[i].events) + "}";
    record.push_back(text);
    return n;
  }
};

using Sequence = std::function<void(Recorder&)>;

Record run_on_sim(const Sequence& sequence) {
  SimOs os(SimConfig{});
  Recorder recorder{os, {}};
  const SimOutcome outcome = os.run([&] { sequence(recorder); });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
  return recorder.record;
}

Record run_on_linux(const Sequence& sequence) {
  LinuxOs os;
  Recorder recorder{os, {}};
  sequence(recorder);
  return recorder.record;
}

// Runs on both backends and requires identical records; returns the simulator's for further checks.
Record run_both(const Sequence& sequence) {
  const Record simulated = run_on_sim(sequence);
  const Record native = run_on_linux(sequence);
  EXPECT_EQ(simulated, native);
  return simulated;
}

epoll_event interest(std::uint32_t events, std::uint64_t data) { return epoll_event{events, data}; }

void close_all(Os& os, std::initializer_list<int> fds) {
  for (const int fd : fds) os.close(fd);
}

TEST(Epoll, LevelTriggeredReportsUntilDrained) {
  const Record r = run_both([](Recorder& t) {
    int sv[2];
    t.call("socketpair", t.os.socketpair(AF::UNIX, SOCK::STREAM, 0, sv));
    const int ep = t.os.epoll_create1(0);
    epoll_event ev = interest(EPOLL::IN, 7);
    t.call("add", t.os.epoll_ctl(ep, EPOLL::CTL_ADD, sv[0], &ev));
    t.wait("idle", ep);
    t.call("write", static_cast<int>(t.os.write(sv[1], "ab", 2)));
    t.wait("first", ep);
    t.wait("again", ep);
    char buf[2];
    t.call("read", static_cast<int>(t.os.read(sv[0], buf, 2)));
    t.wait("drained", ep);
    close_all(t.os, {ep, sv[0], sv[1]});
  });
  EXPECT_EQ(r[4], "first=1 {7:1}");
  EXPECT_EQ(r[5], "again=1 {7:1}");
  EXPECT_EQ(r[7], "drained=0");
}

TEST(Epoll, EdgeTriggeredReportsEachArrivalOnce) {
  const Record r = run_both([](Recorder& t) {
    int sv[2];
    t.os.socketpair(AF::UNIX, SOCK::STREAM, 0, sv);
    const int ep = t.os.epoll_create1(0);
    epoll_event ev = interest(EPOLL::IN | EPOLL::ET, 9);
    t.call("add", t.os.epoll_ctl(ep, EPOLL::CTL_ADD, sv[0], &ev));
    t.os.write(sv[1], "a", 1);
    t.wait("edge", ep);
    t.wait("no_new_edge", ep);  // data still unread, but nothing new arrived
    t.os.write(sv[1], "b", 1);
    t.wait("second_edge", ep);
    close_all(t.os, {ep, sv[0], sv[1]});
  });
  EXPECT_EQ(r[1], "edge=1 {9:1}");
  EXPECT_EQ(r[2], "no_new_edge=0");
  EXPECT_EQ(r[3], "second_edge=1 {9:1}");
}

TEST(Epoll, OneShotDisarmsUntilMod) {
  const Record r = run_both([](Recorder& t) {
    int fds[2];
    t.os.pipe2(fds, 0);
    const int ep = t.os.epoll_create1(0);
    epoll_event ev = interest(EPOLL::IN | EPOLL::ONESHOT, 3);
    t.call("add", t.os.epoll_ctl(ep, EPOLL::CTL_ADD, fds[0], &ev));
    t.os.write(fds[1], "x", 1);
    t.wait("once", ep);
    t.os.write(fds[1], "y", 1);
    t.wait("disarmed", ep);
    epoll_event rearm = interest(EPOLL::IN | EPOLL::ONESHOT, 4);
    t.call("mod", t.os.epoll_ctl(ep, EPOLL::CTL_MOD, fds[0], &rearm));
    t.wait("rearmed", ep);
    close_all(t.os, {ep, fds[0], fds[1]});
  });
  EXPECT_EQ(r[1], "once=1 {3:1}");
  EXPECT_EQ(r[2], "disarmed=0");
  EXPECT_EQ(r[4], "rearmed=1 {4:1}");
}

TEST(Epoll, CtlErrorsMatchLinux) {
  run_both([](Recorder& t) {
    int sv[2];
    t.os.socketpair(AF::UNIX, SOCK::STREAM, 0, sv);
    const int ep = t.os.epoll_create1(0);
    epoll_event ev = interest(EPOLL::IN, 1);
    t.call("create1_bad_flags", t.os.epoll_create1(1));
    t.call("bad_epfd", t.os.epoll_ctl(999, EPOLL::CTL_ADD, sv[0], &ev));
    t.call("bad_fd", t.os.epoll_ctl(ep, EPOLL::CTL_ADD, 999, &ev));
    t.call("epfd_is_not_epoll", t.os.epoll_ctl(sv[1], EPOLL::CTL_ADD, sv[0], &ev));
    t.call("add_itself", t.os.epoll_ctl(ep, EPOLL::CTL_ADD, ep, &ev));
    t.call("del_missing", t.os.epoll_ctl(ep, EPOLL::CTL_DEL, sv[0], nullptr));
    t.call("mod_missing", t.os.epoll_ctl(ep, EPOLL::CTL_MOD, sv[0], &ev));
    t.call("add", t.os.epoll_ctl(ep, EPOLL::CTL_ADD, sv[0], &ev));
    t.call("add_twice", t.os.epoll_ctl(ep, EPOLL::CTL_ADD, sv[0], &ev));
    t.call("bad_op", t.os.epoll_ctl(ep, 77, sv[0], &ev));
    epoll_event exclusive = interest(EPOLL::IN | EPOLL::EXCLUSIVE, 1);
    t.call("mod_exclusive", t.os.epoll_ctl(ep, EPOLL::CTL_MOD, sv[0], &exclusive));
    epoll_event exclusive_bad = interest(EPOLL::IN | EPOLL::EXCLUSIVE | EPOLL::RDHUP, 1);
    t.call("add_exclusive_bad_bits", t.os.epoll_ctl(ep, EPOLL::CTL_ADD, sv[1], &exclusive_bad));
    epoll_event events[1];
    t.call("wait_maxevents_0", t.os.epoll_wait(ep, events, 0, 0));
    t.call("wait_not_epoll", t.os.epoll_wait(sv[0], events, 1, 0));
    t.call("wait_bad_fd", t.os.epoll_wait(999, events, 1, 0));
    t.call("del", t.os.epoll_ctl(ep, EPOLL::CTL_DEL, sv[0], nullptr));
    close_all(t.os, {ep, sv[0], sv[1]});
  });
}

// do_epoll_wait looks the fd up before ep_check_params: a bad fd is EBADF whatever maxevents says, and a
// non-epoll fd with a bad maxevents is EINVAL either way. (Found by the epoll conformance suite.)
TEST(Epoll, WaitChecksTheFdBeforeMaxevents) {
  const Record r = run_both([](Recorder& t) {
    int sv[2];
    t.os.socketpair(AF::UNIX, SOCK::STREAM, 0, sv);
    epoll_event events[1];
    t.call("bad_fd_maxevents_0", t.os.epoll_wait(999, events, 0, 0));
    t.call("bad_fd_maxevents_negative", t.os.epoll_wait(-1, events, -1, 0));
    t.call("not_epoll_maxevents_0", t.os.epoll_wait(sv[0], events, 0, 0));
    close_all(t.os, {sv[0], sv[1]});
  });
  EXPECT_EQ(r[0], "bad_fd_maxevents_0=-1/EBADF");
  EXPECT_EQ(r[1], "bad_fd_maxevents_negative=-1/EBADF");
  EXPECT_EQ(r[2], "not_epoll_maxevents_0=-1/EINVAL");
}

TEST(Epoll, ItemBelongsToTheOpenFileDescriptionNotTheFd) {
  const Record r = run_both([](Recorder& t) {
    int sv[2];
    t.os.socketpair(AF::UNIX, SOCK::STREAM, 0, sv);
    const int ep = t.os.epoll_create1(0);
    epoll_event ev = interest(EPOLL::IN, 42);
    t.os.epoll_ctl(ep, EPOLL::CTL_ADD, sv[0], &ev);
    const int copy = t.os.dup(sv[0]);
    t.call("close_original", t.os.close(sv[0]));
    t.os.write(sv[1], "z", 1);
    t.wait("still_reported", ep);  // the file is alive through the dup: the item stays, with its old data
    t.call("del_by_dup", t.os.epoll_ctl(ep, EPOLL::CTL_DEL, copy, nullptr));  // the key is (file, old fd)
    t.call("close_dup", t.os.close(copy));
    t.wait("gone", ep);  // last reference dropped: eventpoll_release removed the item
    close_all(t.os, {ep, sv[1]});
  });
  EXPECT_EQ(r[1], "still_reported=1 {42:1}");
  EXPECT_EQ(r[2], "del_by_dup=-1/ENOENT");
  EXPECT_EQ(r[4], "gone=0");
}

TEST(Epoll, NestedEpollPropagatesReadinessAndRejectsLoops) {
  const Record r = run_both([](Recorder& t) {
    int fds[2];
    t.os.pipe2(fds, 0);
    const int inner = t.os.epoll_create1(0);
    const int outer = t.os.epoll_create1(0);
    epoll_event ev = interest(EPOLL::IN, 1);
    t.os.epoll_ctl(inner, EPOLL::CTL_ADD, fds[0], &ev);
    epoll_event nested = interest(EPOLL::IN, 2);
    t.call("nest", t.os.epoll_ctl(outer, EPOLL::CTL_ADD, inner, &nested));
    t.wait("outer_idle", outer);
    t.os.write(fds[1], "q", 1);
    t.wait("outer_sees_inner", outer);
    epoll_event back = interest(EPOLL::IN, 3);
    t.call("cycle", t.os.epoll_ctl(inner, EPOLL::CTL_ADD, outer, &back));
    epoll_event exclusive = interest(EPOLL::IN | EPOLL::EXCLUSIVE, 4);
    const int third = t.os.epoll_create1(0);
    t.call("exclusive_on_epoll", t.os.epoll_ctl(third, EPOLL::CTL_ADD, outer, &exclusive));
    close_all(t.os, {third, outer, inner, fds[0], fds[1]});
  });
  EXPECT_EQ(r[2], "outer_sees_inner=1 {2:1}");
  EXPECT_EQ(r[3], "cycle=-1/ELOOP");
}

TEST(Epoll, NestingDeeperThanEpMaxNestsIsEloop) {
  run_both([](Recorder& t) {
    std::vector<int> chain;
    for (int i = 0; i < 7; ++i) chain.push_back(t.os.epoll_create1(0));
    for (std::size_t i = 1; i < chain.size(); ++i) {
      epoll_event ev = interest(EPOLL::IN, i);
      t.call("nest" + std::to_string(i), t.os.epoll_ctl(chain[i], EPOLL::CTL_ADD, chain[i - 1], &ev));
    }
    for (const int fd : chain) t.os.close(fd);
  });
}

// Linux reverse_path_check: an ADD may not give a file more than path_limits[] wakeup paths of one length.
// A socket in e1, e1 in e2, e2 in e3, e3 in e4, and e4 in e5 through ten fds: ten paths through four sets
// above the first, the limit (10). An eleventh dup of e4, or a second fd of the socket in e1 (e1 is watched,
// so that ADD is fully checked too), would make more: EINVAL. (Found by the epoll conformance suite.)
TEST(Epoll, WakeupPathsPerFileAreLimited) {
  const Record r = run_both([](Recorder& t) {
    int sv[2];
    t.os.socketpair(AF::UNIX, SOCK::STREAM, 0, sv);
    std::vector<int> sets;
    for (int i = 0; i < 5; ++i) sets.push_back(t.os.epoll_create1(0));
    epoll_event ev = interest(EPOLL::IN, 0);
    t.call("add_socket", t.os.epoll_ctl(sets[0], EPOLL::CTL_ADD, sv[0], &ev));
    for (int i = 1; i < 4; ++i) t.call("nest", t.os.epoll_ctl(sets[i], EPOLL::CTL_ADD, sets[i - 1], &ev));
    std::vector<int> dups;
    for (int i = 0; i < 11; ++i) {
      dups.push_back(t.os.dup(sets[3]));
      t.call("path" + std::to_string(i + 1), t.os.epoll_ctl(sets[4], EPOLL::CTL_ADD, dups.back(), &ev));
    }
    const int socket_dup = t.os.dup(sv[0]);
    t.call("second_fd_in_e1", t.os.epoll_ctl(sets[0], EPOLL::CTL_ADD, socket_dup, &ev));
    t.call("del_one_path", t.os.epoll_ctl(sets[4], EPOLL::CTL_DEL, dups[0], nullptr));
    t.call("path11_again", t.os.epoll_ctl(sets[4], EPOLL::CTL_ADD, dups[10], &ev));
    for (const int fd : dups) t.os.close(fd);
    for (const int fd : sets) t.os.close(fd);
    close_all(t.os, {socket_dup, sv[0], sv[1]});
  });
  EXPECT_EQ(r[13], "path10=0");
  EXPECT_EQ(r[14], "path11=-1/EINVAL");
  EXPECT_EQ(r[15], "second_fd_in_e1=-1/EINVAL");
  EXPECT_EQ(r[17], "path11_again=0");
}

TEST(Epoll, EventfdCountsAndPolls) {
  run_both([](Recorder& t) {
    const int efd = t.os.eventfd(0, EFD::NONBLOCK);
    t.call("eventfd_ok", efd >= 0 ? 0 : -1);
    std::uint64_t value = 0;
    t.call("read_empty", static_cast<int>(t.os.read(efd, &value, 8)));
    t.call("read_short", static_cast<int>(t.os.read(efd, &value, 4)));
    value = 5;
    t.call("write", static_cast<int>(t.os.write(efd, &value, 8)));
    value = ~std::uint64_t{0};
    t.call("write_max", static_cast<int>(t.os.write(efd, &value, 8)));
    const int ep = t.os.epoll_create1(0);
    epoll_event ev = interest(EPOLL::IN | EPOLL::OUT, 8);
    t.os.epoll_ctl(ep, EPOLL::CTL_ADD, efd, &ev);
    t.wait("ready", ep);
    t.call("read", static_cast<int>(t.os.read(efd, &value, 8)));
    t.call("value", static_cast<int>(value));
    t.call("bad_flags", t.os.eventfd(0, 0x1000));
    close_all(t.os, {ep, efd});
  });
}

// A connected loopback TCP pair with TCP_NODELAY on both ends: {client, accepted}.
std::pair<int, int> tcp_pair(Os& os) {
  const int listener = os.socket(AF::INET, SOCK::STREAM, 0);
  os.bind(listener, SockAddr{loopback_ip, 0});
  os.listen(listener, 4);
  SockAddr address;
  os.getsockname(listener, &address);
  const int client = os.socket(AF::INET, SOCK::STREAM, 0);
  os.connect(client, address);
  const int server = os.accept4(listener, nullptr, 0);
  os.close(listener);
  for (const int fd : {client, server}) os.setsockopt(fd, IPPROTO::TCP, TCP::NODELAY, 1);
  return {client, server};
}

// KNOWN DIFFERENCE, outside the epoll model (kernel_model/tcp_net.cpp, found by the epoll conformance suite):
// the ACK of a write frees send-buffer space, and Linux's tcp_check_space calls sk_stream_write_space (an
// EPOLLOUT wake-up) only while SOCK_NOSPACE is set, i.e. after a send or a poll found the socket not
// writable. The model's on_data wakes the sender with EPOLLOUT on every ACK, so an EPOLLET|EPOLLOUT item
// gets a new edge after each write. Enable this test when tcp_net.cpp follows tcp_check_space.
TEST(Epoll, TcpAckWakesTheWriterOnlyAfterItRanOutOfSpace) {
  const Record r = run_both([](Recorder& t) {
    const auto [client, server] = tcp_pair(t.os);
    const int ep = t.os.epoll_create1(0);
    epoll_event ev = interest(EPOLL::OUT | EPOLL::ET, 5);
    t.call("add", t.os.epoll_ctl(ep, EPOLL::CTL_ADD, client, &ev));
    t.wait("writable", ep);
    t.wait("no_new_edge", ep);
    t.call("write", static_cast<int>(t.os.write(client, "x", 1)));
    pollfd arrived{server, POLL::IN, 0};
    t.call("arrived", t.os.poll(&arrived, 1, 100));  // the data (and so the ACK) went through
    t.wait("still_no_new_edge", ep);
    close_all(t.os, {ep, client, server});
  });
  EXPECT_EQ(r[1], "writable=1 {5:4}");
  EXPECT_EQ(r[5], "still_no_new_edge=0");
}

// KNOWN DIFFERENCE, outside the epoll model (kernel_model/tcp_net.cpp, found by the epoll conformance suite):
// data arriving at a socket shut down both ways aborts the connection (tcp_rcv_state_process -> tcp_reset).
// Linux's receiver resets itself first (its wake-up first); its RST reaches the sender in softirq while the
// sender's sendmsg holds the socket lock, so it waits in the backlog until release_sock (the sender's
// wake-up second). The model's on_data sends the RST (waking the sender) before waking the receiver, so
// the two items come out of one epoll set in the opposite order. Enable when tcp_net.cpp wakes the
// receiver first.
TEST(Epoll, TcpAbortWakesTheAbortingSocketBeforeTheSender) {
  const Record r = run_both([](Recorder& t) {
    const auto [client, server] = tcp_pair(t.os);
    const int ep = t.os.epoll_create1(0);
    epoll_event on_server = interest(EPOLL::IN | EPOLL::ET, 2),
                on_client = interest(EPOLL::IN | EPOLL::ET, 1);
    t.os.epoll_ctl(ep, EPOLL::CTL_ADD, server, &on_server);
    t.os.epoll_ctl(ep, EPOLL::CTL_ADD, client, &on_client);
    t.call("shutdown", t.os.shutdown(client, SHUT::RDWR));
    pollfd fin{server, POLL::RDHUP, 0};
    t.call("fin_arrived", t.os.poll(&fin, 1, 100));
    t.wait("after_fin", ep);
    t.call("write", static_cast<int>(t.os.send(server, "x", 1, MSG::NOSIGNAL)));
    pollfd reset{client, POLL::ERR, 0};
    t.call("reset", t.os.poll(&reset, 1, 100));
    t.wait("aborted", ep);
    close_all(t.os, {ep, client, server});
  });
  EXPECT_EQ(r[5], "aborted=2 {1:25} {2:25}");  // EPOLLIN|EPOLLERR|EPOLLHUP, the client first
}

// Two threads sleep in epoll_wait on one epoll fd: an event wakes exactly one, the one that slept last
// (ep_poll adds its wait entry exclusively at the head of ep->wq).
TEST(EpollSim, WakesOneSleeperNewestFirst) {
  SimConfig config;
  config.strategy = "rr";
  SimOs os(config);
  std::vector<std::string> woken;
  const SimOutcome outcome = os.run([&] {
    int fds[2];
    os.pipe2(fds, 0);
    const int ep = os.epoll_create1(0);
    epoll_event ev = interest(EPOLL::IN | EPOLL::ET, 1);
    os.epoll_ctl(ep, EPOLL::CTL_ADD, fds[0], &ev);
    std::vector<std::unique_ptr<Thread>> waiters;
    for (const char* name : {"first", "second"}) {
      waiters.push_back(os.thread_create(name, [&, name] {
        epoll_event got[1];
        if (os.epoll_wait(ep, got, 1, 1000) == 1) woken.emplace_back(name);
      }));
    }
    os.sleep_for(1'000'000);  // both are asleep in epoll_wait by now
    os.write(fds[1], "x", 1);
    for (auto& waiter : waiters) waiter->join();
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
  EXPECT_EQ(woken, std::vector<std::string>{"second"});
}

// EPOLLEXCLUSIVE: each thread has its own epoll fd watching one listening socket; a connection wakes one.
TEST(EpollSim, ExclusiveWakesOneEpollFd) {
  SimOs os(SimConfig{});
  int woken = 0;
  const SimOutcome outcome = os.run([&] {
    const int listener = os.socket(AF::INET, SOCK::STREAM | SOCK::NONBLOCK, 0);
    os.bind(listener, SockAddr{loopback_ip, 0});
    os.listen(listener, 8);
    SockAddr address;
    os.getsockname(listener, &address);
    std::vector<std::unique_ptr<Thread>> workers;
    for (int i = 0; i < 3; ++i) {
      workers.push_back(os.thread_create("worker", [&] {
        const int ep = os.epoll_create1(0);
        epoll_event ev = interest(EPOLL::IN | EPOLL::EXCLUSIVE, 0);
        os.epoll_ctl(ep, EPOLL::CTL_ADD, listener, &ev);
        epoll_event got[1];
        if (os.epoll_wait(ep, got, 1, 50) == 1) ++woken;
        os.close(ep);
      }));
    }
    os.sleep_for(1'000'000);
    const int client = os.socket(AF::INET, SOCK::STREAM, 0);
    os.connect(client, address);
    for (auto& worker : workers) worker->join();
    os.close(client);
    os.close(listener);
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
  EXPECT_EQ(woken, 1);
}

TEST(EpollSim, WaitTimesOutOnTheVirtualClock) {
  SimConfig config;
  config.syscall_cost_ns = 0;
  SimOs os(config);
  std::int64_t waited = 0;
  int result = -2;
  os.run([&] {
    const int ep = os.epoll_create1(0);
    epoll_event got[1];
    const std::int64_t start = os.monotonic_ns();
    result = os.epoll_wait(ep, got, 1, 250);
    waited = os.monotonic_ns() - start;
  });
  EXPECT_EQ(result, 0);
  EXPECT_EQ(waited, 250'000'000);
}

}  // namespace
}  // namespace iosim
