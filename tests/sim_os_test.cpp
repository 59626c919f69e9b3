// tests/sim_os_test.cpp — SimOs's own rules: errno per thread, mutex exclusion, condition variables that
// never lose a wake-up, virtual sleep and clock, and the teardown of tasks left blocked.
#include <gtest/gtest.h>

#include <vector>

#include "backends/sim/sim_os.hpp"

namespace iosim {
namespace {

SimConfig config_with_seed(std::uint64_t seed) {
  SimConfig config;
  config.seed = seed;
  return config;
}

TEST(SimOs, ErrnoIsPerThread) {
  SimOs os(config_with_seed(1));
  int main_errno = 0, other_errno = 0;
  const SimOutcome outcome = os.run([&] {
    EXPECT_EQ(os.close(77), -1);
    auto thread = os.thread_create("other", [&] {
      EXPECT_EQ(os.socket(AF::INET, SOCK::STREAM | 0x40000000, 0), -1);
      other_errno = os.last_errno();
    });
    thread->join();
    main_errno = os.last_errno();
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
  EXPECT_EQ(main_errno, E::BADF);
  EXPECT_EQ(other_errno, E::INVAL);
}

// Regression: CondVar::wait once released the mutex through a scheduling point before sleeping, so a
// notify could run in between and be lost (seed 14 of every echo scenario deadlocked). Over many seeds a
// predicate-guarded hand-off must always complete.
TEST(SimOs, CondVarNeverLosesAWakeUp) {
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    SimOs os(config_with_seed(seed));
    const SimOutcome outcome = os.run([&] {
      auto mutex = os.mutex_create();
      auto ready = os.condvar_create();
      bool flag = false;
      auto setter = os.thread_create("setter", [&] {
        LockGuard lock(*mutex);
        flag = true;
        ready->notify_one();
      });
      {
        LockGuard lock(*mutex);
        while (!flag) ready->wait(*mutex);
      }
      setter->join();
    });
    ASSERT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed) << "seed " << seed;
  }
}

// Regression: a task killed at teardown while it was suspended inside Mutex::unlock — called from
// ~LockGuard, a destructor — threw TaskKilled out of that destructor, and the process terminated
// (accept_after_rst_fixed with --fault accept_aborted=0.3). unlock now finishes and the kill waits for the
// task's next call. Step limits 20..60 land the kill on every point of the lock/unlock loop.
TEST(SimOs, KillDuringUnlockInADestructorDoesNotTerminate) {
  for (std::uint64_t step_max = 20; step_max <= 60; ++step_max) {
    SimConfig config = config_with_seed(1);
    config.limits.step_max = step_max;
    SimOs os(config);
    int rounds = 0;
    const SimOutcome outcome = os.run([&] {
      auto mutex = os.mutex_create();
      for (;;) {
        LockGuard lock(*mutex);
        ++rounds;
      }
    });
    EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::step_limit) << "step_max " << step_max;
    EXPECT_GT(rounds, 0);
  }
}

TEST(SimOs, MutexExcludes) {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    SimOs os(config_with_seed(seed));
    int inside = 0, max_inside = 0, total = 0;
    const SimOutcome outcome = os.run([&] {
      auto mutex = os.mutex_create();
      std::vector<std::unique_ptr<Thread>> threads;
      for (int t = 0; t < 4; ++t) {
        threads.push_back(os.thread_create("worker", [&] {
          for (int i = 0; i < 5; ++i) {
            LockGuard lock(*mutex);
            max_inside = std::max(max_inside, ++inside);
            os.sleep_for(10);  // a scheduling point inside the critical section
            ++total;
            --inside;
          }
        }));
      }
      for (auto& thread : threads) thread->join();
    });
    ASSERT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
    EXPECT_EQ(max_inside, 1) << "seed " << seed;
    EXPECT_EQ(total, 20);
  }
}

TEST(SimOs, SleepAdvancesTheVirtualClockExactly) {
  SimConfig config = config_with_seed(1);
  config.syscall_cost_ns = 0;
  SimOs os(config);
  std::int64_t before = 0, after = 0;
  os.run([&] {
    before = os.monotonic_ns();
    os.sleep_for(5'000'000'000);  // five virtual seconds
    after = os.monotonic_ns();
  });
  EXPECT_EQ(after - before, 5'000'000'000);
}

TEST(SimOs, EveryCallCostsVirtualTimeSoBusyLoopsAdvanceTheClock) {
  SimConfig config = config_with_seed(1);
  config.syscall_cost_ns = 200;
  SimOs os(config);
  std::int64_t elapsed = 0;
  os.run([&] {
    const std::int64_t start = os.monotonic_ns();
    for (int i = 0; i < 10; ++i) os.close(-1);
    elapsed = os.monotonic_ns() - start;
  });
  EXPECT_EQ(elapsed, 11 * 200);  // ten closes and the second clock read
}

TEST(SimOs, BlockedThreadsAreReportedAndUnwoundAtDeadlock) {
  SimOs os(config_with_seed(3));
  int unwound = 0;
  const SimOutcome outcome = os.run([&] {
    int fds[2];
    ASSERT_EQ(os.pipe2(fds, 0), 0);
    struct Count {
      int& n;
      ~Count() { ++n; }
    } count{unwound};
    char byte;
    os.read(fds[0], &byte, 1);  // the write end is open and nobody writes: blocks forever
  });
  ASSERT_EQ(outcome.run.outcome, sim::RunResult::Outcome::deadlock);
  ASSERT_EQ(outcome.run.blocked.size(), 1u);
  EXPECT_EQ(outcome.run.blocked[0].name, "main");
  EXPECT_NE(outcome.run.blocked[0].channel.find("pipe"), std::string::npos) << outcome.run.blocked[0].channel;
  EXPECT_EQ(unwound, 1);
}

}  // namespace
}  // namespace iosim
