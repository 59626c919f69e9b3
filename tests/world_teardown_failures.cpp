// tests/world_teardown_failures.cpp — IOSIM_TESTs whose worlds stop early with a server living on the test
// body's stack (a deadlock, a fatal ASSERT in main or in a worker, a synchronisation object destroyed in use).
// Not a ctest test of its own: world_teardown_test runs it and checks that each failure is reported, not a crash.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "iosim/testing.hpp"

namespace {

// The shape of examples/echo_server: an object on the body's stack owns a mutex, a condition variable and
// the threads that wait on them. Its destructor joins the threads, so it must never run before theirs.
class WorkQueue {
 public:
  WorkQueue(iosim::Os& os, int workers)
      : os_(os), mutex_(os.mutex_create("queue")), not_empty_(os.condvar_create("queue.not_empty")) {
    for (int w = 0; w < workers; ++w) threads_.push_back(os.thread_create("worker", [this] { serve(); }));
  }
  ~WorkQueue() {
    for (auto& thread : threads_) thread->join();
  }
  void push(int item) {
    iosim::LockGuard lock(*mutex_);
    items_.push_back(item);
    not_empty_->notify_one();
  }
  int served() {
    iosim::LockGuard lock(*mutex_);
    return served_;
  }
  iosim::Mutex& mutex() { return *mutex_; }

 private:
  // Serves items until it sees -1; with no item it sleeps in CondVar::wait under a LockGuard.
  void serve() {
    for (;;) {
      iosim::LockGuard lock(*mutex_);
      while (items_.empty()) not_empty_->wait(*mutex_);
      const int item = items_.front();
      items_.erase(items_.begin());
      if (item < 0) return;
      ++served_;
    }
  }

  iosim::Os& os_;
  std::unique_ptr<iosim::Mutex> mutex_;
  std::unique_ptr<iosim::CondVar> not_empty_;
  std::vector<int> items_;
  int served_ = 0;
  std::vector<std::unique_ptr<iosim::Thread>> threads_;
};

// The workers never get their -1: the body's scope end joins them forever (a deadlock), then the world
// unwinds the body (destroying the queue) and the workers (whose LockGuards unlock the queue's mutex).
IOSIM_TEST_SEEDS(ServerOnStack, DeadlocksWaitingForWorkers, 5) {
  WorkQueue queue(os, 2);
  queue.push(1);
}

IOSIM_TEST_SEEDS(ServerOnStack, FatalAssertInMain, 5) {
  WorkQueue queue(os, 2);
  queue.push(1);
  ASSERT_EQ(queue.served(), 42) << "main gives up";
}

// One worker gives up inside its critical section while the other sleeps in CondVar::wait.
IOSIM_TEST_SEEDS(ServerOnStack, FatalAssertInAWorker, 5) {
  WorkQueue queue(os, 1);
  auto quitter = os.thread_create("quitter", [&] {
    iosim::LockGuard lock(queue.mutex());
    ASSERT_TRUE(false) << "the quitter gives up holding the queue's mutex";
  });
  quitter->join();
  queue.push(-1);
}

// A mutex destroyed while another thread holds it: pthread_mutex_destroy says EBUSY, iosim fails the run.
IOSIM_TEST_SEEDS(Misuse, MutexDestroyedWhileHeld, 3) {
  auto mutex = os.mutex_create("doomed");
  auto holder = os.thread_create("holder", [&] {
    iosim::LockGuard lock(*mutex);
    os.sleep_for(1'000'000);
  });
  os.sleep_for(1'000);
  mutex.reset();
  holder->join();
}

// A condition variable destroyed while a thread waits on it.
IOSIM_TEST_SEEDS(Misuse, CondVarDestroyedWhileWaitedOn, 3) {
  auto mutex = os.mutex_create("lock");
  auto changed = os.condvar_create("changed");
  auto waiter = os.thread_create("waiter", [&] {
    iosim::LockGuard lock(*mutex);
    changed->wait(*mutex);
  });
  os.sleep_for(1'000);
  changed.reset();
  waiter->join();
}

// std::thread's destructor calls std::terminate on a joinable thread; iosim fails the run instead.
IOSIM_TEST_SEEDS(Misuse, ThreadNotJoined, 3) {
  auto forgotten = os.thread_create("forgotten", [&] { os.sleep_for(1'000); });
}

}  // namespace
