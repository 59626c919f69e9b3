// tests/testing_api_failures.cpp — IOSIM_TEST and iosim::check tests that fail on purpose. Not a ctest test
// of its own: testing_api_test runs it as a subprocess and checks what each failure prints (seed, reproduce
// line).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "iosim/testing.hpp"

namespace {

// Two threads increment a shared counter with a scheduling point between the read and the write: some
// interleavings lose an update, and the exploration must find one.
int racy_count(iosim::Os& os, int increments_per_thread) {
  int counter = 0;
  auto increment = [&] {
    for (int i = 0; i < increments_per_thread; ++i) {
      const int seen = counter;
      os.monotonic_ns();  // a scheduling point between the read and the write: the other thread may run
      counter = seen + 1;
    }
  };
  auto first = os.thread_create("incrementer-1", increment);
  auto second = os.thread_create("incrementer-2", increment);
  first->join();
  second->join();
  return counter;
}

IOSIM_TEST(LostUpdate, CounterIsExact) {
  EXPECT_EQ(racy_count(os, 1), 2);
}

// The lost update as a deadlock: main waits for a byte that only a correct count sends. No gtest failure: the
// world's outcome alone says the seed failed, and only some schedules fail.
IOSIM_TEST(LostUpdateDeadlock, WaitsWhenTheCountIsWrong) {
  int fds[2];
  ASSERT_EQ(os.socketpair(iosim::AF::UNIX, iosim::SOCK::STREAM, 0, fds), 0);
  if (racy_count(os, 1) == 2) os.send(fds[1], "x", 1, 0);
  char byte = 0;
  os.recv(fds[0], &byte, 1, 0);
}

// main waits for a byte nobody sends.
IOSIM_TEST(Deadlock, ReaderWaitsForever) {
  int fds[2];
  ASSERT_EQ(os.socketpair(iosim::AF::UNIX, iosim::SOCK::STREAM, 0, fds), 0);
  auto reader = os.thread_create("reader", [&] {
    char byte = 0;
    os.recv(fds[0], &byte, 1, 0);
  });
  reader->join();
}

// A fatal failure in a worker stops the world: main, blocked on the byte the worker would have sent after its
// ASSERT, is unwound instead of being reported as deadlocked.
IOSIM_TEST(FatalInThread, StopsTheWorld) {
  int fds[2];
  ASSERT_EQ(os.socketpair(iosim::AF::UNIX, iosim::SOCK::STREAM, 0, fds), 0);
  auto worker = os.thread_create("worker", [&] {
    ASSERT_EQ(1 + 1, 3) << "the worker gives up";
    os.send(fds[1], "x", 1, 0);
  });
  char byte = 0;
  os.recv(fds[0], &byte, 1, 0);
  worker->join();
}

// A programmer error the simulator asserts on (a condition variable waited on with a mutex that is not the
// simulator's) stops the process; the assertion's message must still say how to replay the run.
IOSIM_TEST(ProgrammerError, ForeignMutex) {
  struct ForeignMutex final : iosim::Mutex {
    void lock() override {}
    void unlock() override {}
  } foreign;
  auto condition = os.condvar_create();
  condition->wait(foreign);
}

// A send with MSG_DONTWAIT on a socketpair with room takes every byte, until IOSIM_FAULTS=short_write=...
// offers the kernel fewer: passes without faults, fails with them.
IOSIM_TEST_SEEDS(ShortWrite, SendTakesEveryByte, 3) {
  int fds[2];
  ASSERT_EQ(os.socketpair(iosim::AF::UNIX, iosim::SOCK::STREAM, 0, fds), 0);
  const std::string block(1000, 'x');
  EXPECT_EQ(os.send(fds[0], block.data(), block.size(), iosim::MSG::DONTWAIT), 1000);
}

// The lost update again as a property: it needs at least one increment (the input) and a bad interleaving
// (the seed); rapidcheck shrinks both.
TEST(LostUpdateProperty, CounterIsExact) {
  iosim::check("counter is exact", [](iosim::Os& os, const std::vector<bool>& steps) {
    const int increments = static_cast<int>(steps.size());
    RC_ASSERT(racy_count(os, increments) == 2 * increments);
  });
}

}  // namespace
