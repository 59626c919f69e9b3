// tests/kernel_select_poll_test.cpp — select(2) and poll(2) of the simulated kernel on the virtual clock: exact
// timeouts and write-back, sleeping and being woken through pollwake, POLLNVAL, negative fds, EBADF.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "backends/sim/sim_os.hpp"

namespace iosim {
namespace {

constexpr std::int64_t ms = 1'000'000;

// Syscalls cost no virtual time here, so every elapsed time below is exact.
SimOutcome run_sim(const std::function<void(SimOs&)>& body) {
  SimConfig config;
  config.syscall_cost_ns = 0;
  SimOs os(config);
  return os.run([&] { body(os); });
}

TEST(KernelSelect, TimeoutOnAnIdleFdElapsesExactlyAndZeroesTheTimeval) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    int fds[2];
    ASSERT_EQ(os.pipe2(fds, 0), 0);
    fd_set readable;
    readable.zero();
    readable.set(fds[0]);
    timeval timeout{1, 500'000};
    const std::int64_t before = os.monotonic_ns();
    EXPECT_EQ(os.select(fds[0] + 1, &readable, nullptr, nullptr, &timeout), 0);
    EXPECT_EQ(os.monotonic_ns() - before, 1'500 * ms);
    EXPECT_EQ(timeout.tv_sec, 0);
    EXPECT_EQ(timeout.tv_usec, 0);
    EXPECT_FALSE(readable.is_set(fds[0]));  // a timed-out select clears every set
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

// The writer wakes the sleeping select through pollwake on the pipe's wait queue; select writes back the
// time not slept, truncated to microseconds (poll_select_finish).
TEST(KernelSelect, SleepsUntilPollwakeAndWritesBackTheRemainingTime) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    int fds[2];
    ASSERT_EQ(os.pipe2(fds, 0), 0);
    std::string main_channel;
    auto writer = os.thread_create("writer", [&] {
      os.sleep_for(300 * ms + 999);
      main_channel = os.trace().name(os.scheduler().wait_channel(1));
      EXPECT_EQ(os.write(fds[1], "x", 1), 1);
    });
    fd_set readable;
    readable.zero();
    readable.set(fds[0]);
    timeval timeout{2, 0};
    EXPECT_EQ(os.select(fds[0] + 1, &readable, nullptr, nullptr, &timeout), 1);
    EXPECT_EQ(os.monotonic_ns(), 300 * ms + 999);
    EXPECT_TRUE(readable.is_set(fds[0]));
    EXPECT_EQ(timeout.tv_sec, 1);
    EXPECT_EQ(timeout.tv_usec, 699'999);  // 1.699999001 s left, truncated
    EXPECT_EQ(main_channel, "select");
    writer->join();
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

TEST(KernelSelect, ClosedFdInASetIsEbadfAndTheSetsAreLeftAlone) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    int fds[2];
    ASSERT_EQ(os.pipe2(fds, 0), 0);
    const int closed = os.dup(fds[1]);
    ASSERT_EQ(os.close(closed), 0);
    fd_set writable;
    writable.zero();
    writable.set(fds[1]);
    writable.set(closed);
    timeval timeout{5, 0};
    EXPECT_EQ(os.select(closed + 1, nullptr, &writable, nullptr, &timeout), -1);
    EXPECT_EQ(os.last_errno(), E::BADF);
    EXPECT_TRUE(writable.is_set(closed));
    EXPECT_TRUE(writable.is_set(fds[1]));
    EXPECT_EQ(os.monotonic_ns(), 0);  // failed before sleeping
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

TEST(KernelPoll, ClosedFdIsPollnvalAndNegativeFdIsIgnored) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    int fds[2];
    ASSERT_EQ(os.pipe2(fds, 0), 0);
    const int closed = os.dup(fds[1]);
    ASSERT_EQ(os.close(closed), 0);
    pollfd entries[3] = {{closed, POLL::IN, 0}, {-fds[1] - 1, POLL::OUT, 0}, {fds[0], POLL::IN, 0}};
    EXPECT_EQ(os.poll(entries, 3, 0), 1);
    EXPECT_EQ(entries[0].revents, POLL::NVAL);  // reported although not asked for
    EXPECT_EQ(entries[1].revents, 0);
    EXPECT_EQ(entries[2].revents, 0);
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

TEST(KernelPoll, TimeoutElapsesExactlyOnTheVirtualClock) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    int fds[2];
    ASSERT_EQ(os.pipe2(fds, 0), 0);
    pollfd entry{fds[0], POLL::IN, 0};
    EXPECT_EQ(os.poll(&entry, 1, 250), 0);
    EXPECT_EQ(os.monotonic_ns(), 250 * ms);
    EXPECT_EQ(os.poll(&entry, 1, 0), 0);
    EXPECT_EQ(os.monotonic_ns(), 250 * ms);  // timeout 0 never sleeps
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

TEST(KernelPoll, InfiniteWaitIsWokenByTheWrite) {
  const SimOutcome outcome = run_sim([](SimOs& os) {
    int sv[2];
    ASSERT_EQ(os.socketpair(AF::UNIX, SOCK::STREAM, 0, sv), 0);
    auto writer = os.thread_create("writer", [&] {
      os.sleep_for(1'000 * ms);
      EXPECT_EQ(os.write(sv[1], "x", 1), 1);
    });
    pollfd entry{sv[0], POLL::IN, 0};
    EXPECT_EQ(os.poll(&entry, 1, -1), 1);
    EXPECT_EQ(entry.revents, POLL::IN);
    EXPECT_EQ(os.monotonic_ns(), 1'000 * ms);
    writer->join();
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
}

}  // namespace
}  // namespace iosim
