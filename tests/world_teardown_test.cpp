// tests/world_teardown_test.cpp — a world that stops early (deadlock, fatal assertion, misuse of a mutex,
// condition variable or thread) is reported and torn down without touching freed memory: in-process through
// run_world, and as IOSIM_TESTs in world_teardown_failures run as a subprocess (exit 1, never a signal).
// tests/asan/ builds both with AddressSanitizer and runs this test there too.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "iosim/sim.hpp"
#include "tests/shell_support.hpp"

namespace {

using iosim::WorldResult;

// A server object owning a mutex, a condition variable and its worker threads, as a user's server does; the
// workers sleep in CondVar::wait under a LockGuard until they are given -1.
struct Pool {
  Pool(iosim::Os& os, int workers) : mutex(os.mutex_create("pool")), wake(os.condvar_create("pool.wake")) {
    for (int w = 0; w < workers; ++w) {
      threads.push_back(os.thread_create("worker", [this] {
        iosim::LockGuard lock(*mutex);
        while (!quit) wake->wait(*mutex);
      }));
    }
  }
  ~Pool() {
    for (auto& thread : threads) thread->join();
  }
  std::unique_ptr<iosim::Mutex> mutex;
  std::unique_ptr<iosim::CondVar> wake;
  bool quit = false;
  std::vector<std::unique_ptr<iosim::Thread>> threads;
};

TEST(WorldTeardown, APoolOnMainsStackThatDeadlocksIsReported) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const WorldResult result = iosim::run_world({.seed = seed}, [](iosim::Os& os) { Pool pool(os, 3); });
    ASSERT_EQ(result.outcome, WorldResult::Outcome::deadlock) << result.summary();
    ASSERT_EQ(result.blocked.size(), 4u) << result.summary();
    EXPECT_EQ(result.blocked[0].name, "main");
    EXPECT_EQ(result.blocked[0].channel, "join(worker)");
    EXPECT_EQ(result.blocked[1].channel, "condvar#1(pool.wake)") << "the name given to condvar_create";
  }
}

TEST(WorldTeardown, MainThrowingWithAPoolOnItsStackIsReported) {
  const WorldResult result = iosim::run_world({}, [](iosim::Os& os) {
    Pool pool(os, 2);
    throw std::runtime_error("main gives up");
  });
  // ~Pool joins the workers while the exception is in flight: they never quit, so the world deadlocks.
  EXPECT_EQ(result.outcome, WorldResult::Outcome::deadlock) << result.summary();
  ASSERT_TRUE(result.exception);
  EXPECT_THROW(std::rethrow_exception(result.exception), std::runtime_error);
}

TEST(WorldTeardown, StopWorldStopsAtOnceAndUnwindsTheCallerLast) {
  std::vector<std::string> unwound;
  struct Marker {
    std::vector<std::string>& log;
    std::string name;
    ~Marker() { log.push_back(name); }
  };
  const WorldResult result = iosim::run_world({}, [&](iosim::Os& os) {
    Marker main_marker{unwound, "main"};
    auto worker = os.thread_create("worker", [&] {
      Marker worker_marker{unwound, "worker"};
      os.sleep_for(1'000'000'000);
    });
    os.sleep_for(1'000);
    iosim::stop_world("gave up");
    unwound.push_back("main ran on after stop_world");
    os.sleep_for(1);  // the next call that does not run in destructors unwinds main
    worker->join();
  });
  EXPECT_EQ(result.outcome, WorldResult::Outcome::task_failed);
  EXPECT_EQ(result.failure, "task main threw: gave up");
  // main returns from stop_world only to unwind, after the worker; its next Os call throws.
  EXPECT_EQ(unwound, (std::vector<std::string>{"worker", "main ran on after stop_world", "main"}));
}

TEST(WorldTeardown, ATaskKilledBeforeItRanRunsNoneOfItsCode) {
  bool ran = false;
  const WorldResult result = iosim::run_world({.strategy = "rr"}, [&](iosim::Os& os) {
    auto late = os.thread_create("late", [&] { ran = true; });
    iosim::stop_world("stop before late runs");
    late->join();
  });
  EXPECT_EQ(result.outcome, WorldResult::Outcome::task_failed);
  EXPECT_FALSE(ran);
}

TEST(WorldTeardown, AMutexDestroyedWhileHeldFailsTheRunAndNamesIt) {
  const WorldResult result = iosim::run_world({}, [](iosim::Os& os) {
    auto mutex = os.mutex_create("doomed");
    auto holder = os.thread_create("holder", [&] {
      iosim::LockGuard lock(*mutex);
      os.sleep_for(1'000'000);
    });
    os.sleep_for(1'000);
    mutex.reset();
    holder->join();
  });
  EXPECT_EQ(result.outcome, WorldResult::Outcome::task_failed);
  EXPECT_EQ(result.failure, "iosim::Mutex mutex#1(doomed) destroyed while held by holder");
}

TEST(WorldTeardown, AMutexDestroyedWhileAThreadWaitsForItNamesBoth) {
  const WorldResult result = iosim::run_world({}, [](iosim::Os& os) {
    auto mutex = os.mutex_create();
    auto holder = os.thread_create("holder", [&] {
      iosim::LockGuard lock(*mutex);
      os.sleep_for(1'000'000);
    });
    auto waiter = os.thread_create("waiter", [&] {
      os.sleep_for(100);
      iosim::LockGuard lock(*mutex);
    });
    os.sleep_for(1'000);
    mutex.reset();
    holder->join();
    waiter->join();
  });
  EXPECT_EQ(result.failure, "iosim::Mutex mutex#1 destroyed while held by holder and waited for by waiter");
}

TEST(WorldTeardown, ACondVarDestroyedWhileWaitedOnFailsTheRun) {
  const WorldResult result = iosim::run_world({}, [](iosim::Os& os) {
    auto mutex = os.mutex_create();
    auto changed = os.condvar_create("changed");
    auto waiter = os.thread_create("waiter", [&] {
      iosim::LockGuard lock(*mutex);
      changed->wait(*mutex);
    });
    os.sleep_for(1'000);
    changed.reset();
    waiter->join();
  });
  EXPECT_EQ(result.outcome, WorldResult::Outcome::task_failed);
  EXPECT_EQ(result.failure, "iosim::CondVar condvar#1(changed) destroyed while waiter waited on it");
}

TEST(WorldTeardown, AThreadDestroyedWithoutJoinFailsTheRun) {
  const WorldResult result = iosim::run_world({}, [](iosim::Os& os) {
    auto forgotten = os.thread_create("forgotten", [&] { os.sleep_for(1'000); });
  });
  EXPECT_EQ(result.outcome, WorldResult::Outcome::task_failed);
  EXPECT_EQ(result.failure, "iosim::Thread forgotten destroyed without join() by main");
}

TEST(WorldTeardown, LockingAMutexTwiceFailsTheRun) {
  const WorldResult result = iosim::run_world({}, [](iosim::Os& os) {
    auto mutex = os.mutex_create("once");
    iosim::LockGuard first(*mutex);
    iosim::LockGuard second(*mutex);
  });
  EXPECT_EQ(result.outcome, WorldResult::Outcome::task_failed);
  EXPECT_EQ(result.failure,
            "iosim::Mutex mutex#1(once) locked twice by main (a non-recursive mutex: self-deadlock)");
}

TEST(WorldTeardown, UnlockingAMutexNotHeldFailsTheRun) {
  const WorldResult result = iosim::run_world({}, [](iosim::Os& os) {
    auto mutex = os.mutex_create();
    mutex->unlock();
  });
  EXPECT_EQ(result.outcome, WorldResult::Outcome::task_failed);
  EXPECT_EQ(result.failure.rfind("iosim::Mutex mutex#1 unlocked by main, which does not hold it", 0), 0u)
      << result.failure;
}

TEST(WorldTeardown, ACleanRunIsNotAffected) {
  const WorldResult result = iosim::run_world({}, [](iosim::Os& os) {
    Pool pool(os, 2);
    {
      iosim::LockGuard lock(*pool.mutex);
      pool.quit = true;
      pool.wake->notify_all();
    }
  });
  EXPECT_TRUE(result.passed()) << result.summary();
}

// --- the same situations as IOSIM_TESTs, in a process of their own ---

iosim::test::ShellOutcome run_failing(const std::string& filter) {
  return iosim::test::run_shell("ASAN_OPTIONS=exitcode=86 '" + std::string(IOSIM_TEARDOWN_FAILURES_PATH) +
                                "' --gtest_filter=" + filter);
}

// Exit 1 (a failed test), a report naming seed, outcome and a reproduce line, and no sanitizer report.
void expect_reported(const std::string& filter, const std::string& outcome, const std::string& detail) {
  const iosim::test::ShellOutcome output = run_failing(filter);
  EXPECT_EQ(output.exit_code, 1) << output.output;
  EXPECT_NE(output.output.find(" failed at seed 1 "), std::string::npos) << output.output;
  EXPECT_NE(output.output.find("world: " + outcome + " after"), std::string::npos) << output.output;
  EXPECT_NE(output.output.find(detail), std::string::npos) << output.output;
  EXPECT_NE(output.output.find("reproduce: IOSIM_SEED=1 "), std::string::npos) << output.output;
  EXPECT_EQ(output.output.find("Sanitizer"), std::string::npos) << output.output;
}

TEST(WorldTeardownReport, ServerOnTheBodysStackDeadlocks) {
  expect_reported("ServerOnStack.DeadlocksWaitingForWorkers", "deadlock",
                  "worker in condvar#1(queue.not_empty)");
}

TEST(WorldTeardownReport, FatalAssertInMainWithServerOnItsStack) {
  expect_reported("ServerOnStack.FatalAssertInMain", "task_failed", "task main threw: fatal failure at");
}

TEST(WorldTeardownReport, FatalAssertInAWorkerHoldingTheServersMutex) {
  expect_reported("ServerOnStack.FatalAssertInAWorker", "task_failed", "task quitter threw: fatal failure at");
}

TEST(WorldTeardownReport, MisuseOfSynchronisationObjects) {
  expect_reported("Misuse.MutexDestroyedWhileHeld", "task_failed",
                  "iosim::Mutex mutex#1(doomed) destroyed while held by holder");
  expect_reported("Misuse.CondVarDestroyedWhileWaitedOn", "task_failed",
                  "iosim::CondVar condvar#1(changed) destroyed while waiter waited on it");
  expect_reported("Misuse.ThreadNotJoined", "task_failed",
                  "iosim::Thread forgotten destroyed without join() by main");
}

}  // namespace
