// tests/fd_names_test.cpp — Os::name_fd: a named open file reads "tcp#1(listener)" in every event of its
// life, in the wait queues named after it (so in deadlock listings) and in the timeline; the name belongs
// to the open file, not to the fd number; naming is no scheduling point; a bad fd is EBADF on every backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backends/linux/linux_os.hpp"
#include "backends/sim/sim_os.hpp"
#include "backends/sim/trace_format.hpp"

namespace iosim {
namespace {

SimConfig capturing(std::uint64_t seed) {
  SimConfig config;
  config.seed = seed;
  config.capture_trace = true;
  return config;
}

// Every timeline line, joined.
std::string timeline(SimOs& os) {
  std::string text;
  for (const std::string& line : format_timeline(trace_view(os), 100'000)) text += line + "\n";
  return text;
}

TEST(NameFd, ANamedListenerIsNamedInTheDeadlockListingAndInEveryEventBefore) {
  SimOs os(capturing(1));
  const SimOutcome outcome = os.run([&] {
    const int listener = os.socket(AF::INET, SOCK::STREAM, 0);
    ASSERT_EQ(os.bind(listener, {loopback_ip, 0}), 0);
    ASSERT_EQ(os.listen(listener, 8), 0);
    ASSERT_EQ(os.name_fd(listener, "listener"), 0);
    os.accept4(listener, nullptr, 0);  // nobody connects: the world deadlocks here
  });
  ASSERT_EQ(outcome.run.outcome, sim::RunResult::Outcome::deadlock);
  ASSERT_EQ(outcome.run.blocked.size(), 1u);
  EXPECT_EQ(outcome.run.blocked[0].channel, "sk_sleep(tcp#1(listener))");
  const std::string text = timeline(os);
  EXPECT_NE(text.find("fd 0 = tcp#1(listener)"), std::string::npos) << text;  // the install, before naming
  EXPECT_NE(text.find("tcp#1(listener) CLOSE -> LISTEN"), std::string::npos) << text;
  EXPECT_NE(text.find("fd 0 is named: tcp#1(listener)"), std::string::npos) << text;
  EXPECT_EQ(text.find("tcp#1 "), std::string::npos) << "an event still uses the plain name:\n" << text;
}

TEST(NameFd, TheNameBelongsToTheOpenFileNotToTheFdNumber) {
  SimOs os(capturing(1));
  std::string dup_line, reused_line;
  os.run([&] {
    int fds[2];
    ASSERT_EQ(os.pipe2(fds, 0), 0);
    ASSERT_EQ(os.name_fd(fds[0], "requests"), 0);
    const int copy = os.dup(fds[0]);
    ASSERT_EQ(os.name_fd(copy, "requests, renamed"), 0);  // a dup names the same open file
    ASSERT_EQ(os.close(fds[0]), 0);
    ASSERT_EQ(os.close(copy), 0);
    const int reused = os.eventfd(0, 0);  // takes the lowest free fd: the pipe's old number
    ASSERT_EQ(reused, fds[0]);
  });
  const std::string text = timeline(os);
  EXPECT_NE(text.find("fd 0 = pipe#1r(requests, renamed)"), std::string::npos) << text;
  EXPECT_EQ(text.find("(requests)"), std::string::npos) << "the old label survives:\n" << text;
  EXPECT_NE(text.find("fd 0 = eventfd#2\n"), std::string::npos) << text;  // the new file is unnamed
}

TEST(NameFd, AnEmptyNameRestoresThePlainNameAndEpollItemsFollowTheirEpoll) {
  SimOs os(capturing(1));
  os.run([&] {
    const int epfd = os.epoll_create1(0);
    const int efd = os.eventfd(1, 0);
    ASSERT_EQ(os.name_fd(efd, "wakeup"), 0);
    ASSERT_EQ(os.name_fd(efd, ""), 0);
    epoll_event event{EPOLL::IN, {}};
    ASSERT_EQ(os.epoll_ctl(epfd, EPOLL::CTL_ADD, efd, &event), 0);
    ASSERT_EQ(os.name_fd(epfd, "loop"), 0);
    epoll_event ready[1];
    ASSERT_EQ(os.epoll_wait(epfd, ready, 1, 0), 1);
  });
  const std::string text = timeline(os);
  EXPECT_NE(text.find("fd 1 = eventfd#2\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("wakeup"), std::string::npos) << text;
  EXPECT_NE(text.find("epi(eventpoll#1(loop), fd 1)"), std::string::npos) << text;
  EXPECT_EQ(text.find("epi(eventpoll#1, fd 1)"), std::string::npos) << text;
}

TEST(NameFd, NamingIsNoSchedulingPoint) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<std::uint32_t> choices[2];
    for (const bool named : {false, true}) {
      SimOs os(capturing(seed));
      choices[named] = os.run([&] {
                           const int listener = os.socket(AF::INET, SOCK::STREAM, 0);
                           ASSERT_EQ(os.bind(listener, {loopback_ip, 0}), 0);
                           ASSERT_EQ(os.listen(listener, 8), 0);
                           if (named) {
                             ASSERT_EQ(os.name_fd(listener, "listener"), 0);
                           }
                           SockAddr address;
                           ASSERT_EQ(os.getsockname(listener, &address), 0);
                           auto client = os.thread_create("client", [&] {
                             const int fd = os.socket(AF::INET, SOCK::STREAM, 0);
                             if (named) os.name_fd(fd, "client");
                             EXPECT_EQ(os.connect(fd, address), 0);
                             os.close(fd);
                           });
                           const int accepted = os.accept4(listener, nullptr, 0);
                           if (named) os.name_fd(accepted, "accepted");
                           os.close(accepted);
                           client->join();
                         })
                           .choices;
    }
    EXPECT_EQ(choices[0], choices[1]) << "seed " << seed;
  }
}

TEST(NameFd, ABadFdIsEbadfInTheSimulatorAndOnLinux) {
  SimOs sim(capturing(1));
  sim.run([&] {
    EXPECT_EQ(sim.name_fd(77, "x"), -1);
    EXPECT_EQ(sim.last_errno(), E::BADF);
  });
  LinuxOs linux_os;
  EXPECT_EQ(linux_os.name_fd(1'000'000, "x"), -1);
  EXPECT_EQ(linux_os.last_errno(), E::BADF);
  int fds[2];
  ASSERT_EQ(linux_os.pipe2(fds, 0), 0);
  EXPECT_EQ(linux_os.name_fd(fds[0], "x"), 0);
  linux_os.close(fds[0]);
  linux_os.close(fds[1]);
}

}  // namespace
}  // namespace iosim
