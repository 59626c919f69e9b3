// tests/kernel_iocp_test.cpp — the completion port's rules (ReactOS ke/queue.c): FIFO packets, LIFO waiters,
// the concurrency limit with its running-thread accounting, timeouts, abandoned waits, GQCSEx, last errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backends/linux/linux_os.hpp"
#include "backends/sim/sim_os.hpp"
#include "tests/iocp_support.hpp"

namespace iosim {
namespace {

using namespace win32;
using iocp_test::get;
using iocp_test::Got;

SimConfig config_with_seed(std::uint64_t seed) {
  SimConfig config;
  config.seed = seed;
  return config;
}

// Runs `body` on a fresh simulator and requires the run to finish.
template <class Body>
SimOutcome run_sim(std::uint64_t seed, Body body, bool capture = false) {
  SimConfig config = config_with_seed(seed);
  config.capture_trace = capture;
  SimOs os(config);
  const SimOutcome outcome = os.run([&] { body(os); });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed) << outcome.run.failure;
  return outcome;
}

HANDLE new_port(Os& os, DWORD concurrency) {
  HANDLE port = os.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, nullptr, 0, concurrency);
  EXPECT_NE(port, nullptr);
  return port;
}

// Per-I/O data with the OVERLAPPED first, as IOCP servers lay it out.
struct PerIo {
  OVERLAPPED overlapped;
  int operation = 0;
};

// Spins without blocking (each call is a scheduling point, not a wait) for about `duration_ns`.
void busy(Os& os, std::int64_t duration_ns) {
  const std::int64_t end = os.monotonic_ns() + duration_ns;
  while (os.monotonic_ns() < end) {
  }
}

TEST(KernelIocp, PostedPacketsComeBackFifoWithTheSameOverlapped) {
  run_sim(1, [](Os& os) {
    HANDLE port = new_port(os, 1);
    PerIo io[3];
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(os.PostQueuedCompletionStatus(port, 10 + i, 100 + i, &io[i].overlapped));
    for (int i = 0; i < 3; ++i) {
      const Got got = get(os, port, 0);
      EXPECT_TRUE(got.ok);
      EXPECT_EQ(got.key, 100u + i);
      EXPECT_EQ(got.bytes, 10u + i);
      EXPECT_EQ(reinterpret_cast<PerIo*>(got.overlapped), &io[i]);  // OVERLAPPED first: the same object back
    }
    EXPECT_TRUE(os.CloseHandle(port));
  });
}

TEST(KernelIocp, EmptyPortTimesOutWithWaitTimeout) {
  run_sim(1, [](Os& os) {
    HANDLE port = new_port(os, 1);
    Got got = get(os, port, 0);
    EXPECT_FALSE(got.ok);
    EXPECT_EQ(got.error, Error::WAIT_TIMEOUT_);
    EXPECT_EQ(got.overlapped, nullptr);
    const std::int64_t before = os.monotonic_ns();
    got = get(os, port, 50);
    EXPECT_EQ(got.error, Error::WAIT_TIMEOUT_);
    EXPECT_GE(os.monotonic_ns() - before, 50'000'000);
    os.CloseHandle(port);
  });
}

// Three threads wait one after another; packets go to the thread that waited last (KQUEUE wait list Blink).
TEST(KernelIocp, WaitersAreWokenLastInFirstOut) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<std::string> order;
    run_sim(seed, [&](Os& os) {
      HANDLE port = new_port(os, 3);
      std::vector<std::unique_ptr<Thread>> threads;
      for (int i = 1; i <= 3; ++i) {
        const std::string name = "waiter-" + std::to_string(i);
        threads.push_back(os.thread_create(name, [&os, &order, port, name] {
          const Got got = get(os, port, INFINITE_);
          order.push_back(name + ":" + std::to_string(got.key));
        }));
        os.sleep_for(1'000'000);  // each waiter is parked before the next one starts
      }
      for (ULONG_PTR key = 1; key <= 3; ++key) os.PostQueuedCompletionStatus(port, 0, key, nullptr);
      for (auto& thread : threads) thread->join();
      os.CloseHandle(port);
    });
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, (std::vector<std::string>{"waiter-1:3", "waiter-2:2", "waiter-3:1"})) << "seed " << seed;
  }
}

// Concurrency 1: while the thread that took a packet runs (without blocking), a second thread that calls
// GetQueuedCompletionStatus stays parked although a packet is queued; the running thread takes that packet
// itself when it calls again.
TEST(KernelIocp, ConcurrencyLimitHoldsBackASecondWaiterWhileOneRuns) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    Got second{};
    std::vector<ULONG_PTR> first_keys;
    run_sim(seed, [&](Os& os) {
      HANDLE port = new_port(os, 1);
      auto first = os.thread_create("first", [&] {
        first_keys.push_back(get(os, port, INFINITE_).key);
        busy(os, 2'000'000);  // running, not blocked: the slot stays taken
        first_keys.push_back(get(os, port, INFINITE_).key);
      });
      os.sleep_for(1'000'000);                             // the first thread waits on the port
      os.PostQueuedCompletionStatus(port, 0, 1, nullptr);  // handed to it: it counts as running from now
      os.PostQueuedCompletionStatus(port, 0, 2, nullptr);  // queued
      auto later = os.thread_create("second", [&] { second = get(os, port, 1); });
      first->join();
      later->join();
      os.CloseHandle(port);
    });
    EXPECT_FALSE(second.ok) << "seed " << seed << ": second took key " << second.key << " while first ran";
    EXPECT_EQ(second.error, Error::WAIT_TIMEOUT_);
    EXPECT_EQ(first_keys, (std::vector<ULONG_PTR>{1, 2})) << "seed " << seed;
  }
}

// A thread that blocks on anything else (here a sleep) gives its slot back (KiActivateWaiterQueue): the
// queued packet goes to the waiting thread at once.
TEST(KernelIocp, BlockingElsewhereReleasesTheRunningSlot) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    Got second{};
    std::int64_t second_done_ns = 0, first_woke_ns = 0;
    run_sim(seed, [&](Os& os) {
      HANDLE port = new_port(os, 1);
      os.PostQueuedCompletionStatus(port, 0, 1, nullptr);
      os.PostQueuedCompletionStatus(port, 0, 2, nullptr);
      auto first = os.thread_create("first", [&] {
        EXPECT_EQ(get(os, port, INFINITE_).key, 1u);
        os.sleep_for(1'000'000);  // blocks: the port may run another thread
        first_woke_ns = os.monotonic_ns();
      });
      auto later = os.thread_create("second", [&] {
        os.sleep_for(100'000);  // the first thread holds the slot by now
        second = get(os, port, 10);
        second_done_ns = os.monotonic_ns();
      });
      first->join();
      later->join();
      os.CloseHandle(port);
    });
    EXPECT_TRUE(second.ok) << "seed " << seed << " error " << second.error;
    EXPECT_EQ(second.key, 2u);
    EXPECT_LT(second_done_ns, first_woke_ns) << "seed " << seed;
  }
}

TEST(KernelIocp, ClosingThePortAbandonsItsWaiters) {
  run_sim(1, [](Os& os) {
    HANDLE port = new_port(os, 1);
    Got waited{};
    waited.ok = TRUE_;
    auto waiter = os.thread_create("waiter", [&] { waited = get(os, port, INFINITE_); });
    os.sleep_for(1'000'000);
    EXPECT_TRUE(os.CloseHandle(port));
    waiter->join();
    EXPECT_FALSE(waited.ok);
    EXPECT_EQ(waited.error, Error::ABANDONED_WAIT_0);
    EXPECT_EQ(waited.overlapped, nullptr);
    EXPECT_EQ(get(os, port, 0).error, Error::INVALID_HANDLE);  // the handle is gone
  });
}

TEST(KernelIocp, GetQueuedCompletionStatusExRemovesSeveralInOrder) {
  run_sim(1, [](Os& os) {
    HANDLE port = new_port(os, 1);
    for (ULONG_PTR key = 1; key <= 3; ++key)
      os.PostQueuedCompletionStatus(port, static_cast<DWORD>(key), key, nullptr);
    OVERLAPPED_ENTRY entries[2]{};
    ULONG removed = 0;
    ASSERT_TRUE(os.GetQueuedCompletionStatusEx(port, entries, 2, &removed, 0, FALSE_));
    ASSERT_EQ(removed, 2u);
    EXPECT_EQ(entries[0].lpCompletionKey, 1u);
    EXPECT_EQ(entries[1].lpCompletionKey, 2u);
    ASSERT_TRUE(os.GetQueuedCompletionStatusEx(port, entries, 2, &removed, 0, FALSE_));
    EXPECT_EQ(removed, 1u);
    EXPECT_EQ(entries[0].dwNumberOfBytesTransferred, 3u);
    EXPECT_FALSE(os.GetQueuedCompletionStatusEx(port, entries, 2, &removed, 0, FALSE_));
    EXPECT_EQ(os.GetLastError(), Error::WAIT_TIMEOUT_);
    EXPECT_EQ(removed, 0u);
    EXPECT_FALSE(os.GetQueuedCompletionStatusEx(port, entries, 0, &removed, 0, FALSE_));
    EXPECT_EQ(os.GetLastError(), Error::INVALID_PARAMETER);
  });
}

TEST(KernelIocp, LastErrorIsPerThread) {
  DWORD main_error = 0, other_error = 0;
  run_sim(1, [&](Os& os) {
    HANDLE port = new_port(os, 1);
    get(os, port, 0);  // WAIT_TIMEOUT
    auto other = os.thread_create("other", [&] {
      os.CloseHandle(reinterpret_cast<HANDLE>(std::uintptr_t{999}));
      other_error = os.GetLastError();
    });
    other->join();
    main_error = os.GetLastError();
  });
  EXPECT_EQ(main_error, Error::WAIT_TIMEOUT_);
  EXPECT_EQ(other_error, Error::INVALID_HANDLE);
}

TEST(KernelIocp, ArgumentErrors) {
  run_sim(1, [](Os& os) {
    HANDLE port = new_port(os, 1);
    // A new port takes no existing port; a handle joins one port only; a port is never handle 0 (NULL).
    EXPECT_EQ(os.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, port, 0, 1), nullptr);
    EXPECT_EQ(os.GetLastError(), Error::INVALID_PARAMETER);
    const SOCKET s = os.WSASocketW(AF::INET, SOCK::STREAM, IPPROTO::TCP, WSA_FLAG_OVERLAPPED_);
    ASSERT_NE(s, INVALID_SOCKET_);
    EXPECT_EQ(os.CreateIoCompletionPort(reinterpret_cast<HANDLE>(s), port, 7, 0), port);
    EXPECT_EQ(os.CreateIoCompletionPort(reinterpret_cast<HANDLE>(s), port, 8, 0), nullptr);
    EXPECT_EQ(os.GetLastError(), Error::INVALID_PARAMETER);
    EXPECT_FALSE(os.PostQueuedCompletionStatus(reinterpret_cast<HANDLE>(std::uintptr_t{500}), 0, 0, nullptr));
    EXPECT_EQ(os.GetLastError(), Error::INVALID_HANDLE);
    EXPECT_EQ(os.closesocket(s), 0);
    EXPECT_TRUE(os.CloseHandle(port));
  });
}

TEST(KernelIocp, PacketsAndWakesAreTraced) {
  SimConfig config = config_with_seed(3);
  config.capture_trace = true;
  SimOs os(config);
  os.run([&] {
    HANDLE port = new_port(os, 1);
    auto waiter = os.thread_create("waiter", [&] { get(os, port, INFINITE_); });
    os.sleep_for(1'000'000);
    os.PostQueuedCompletionStatus(port, 0, 1, nullptr);  // handed to the waiter
    os.PostQueuedCompletionStatus(port, 0, 2, nullptr);  // queued
    waiter->join();
    get(os, port, 0);
    os.CloseHandle(port);
  });
  std::vector<std::string> kernel_events;
  for (const sim::TraceEvent& event : os.trace().events()) {
    const std::string_view name = os.trace().name(event.subject);
    if (event.kind == sim::EventKind::kernel && name.starts_with("iocp.")) kernel_events.emplace_back(name);
  }
  EXPECT_EQ(kernel_events,
            (std::vector<std::string>{"iocp.wake", "iocp.enqueue", "iocp.dequeue", "iocp.release_slot",
                                      "iocp.dequeue", "iocp.rundown"}));  // the waiter's exit frees its slot
}

// A backend without Win32 I/O fails every call cleanly with ERROR_NOT_SUPPORTED.
TEST(KernelIocp, LinuxOsReportsNotSupported) {
  LinuxOs os;
  EXPECT_EQ(os.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, nullptr, 0, 1), nullptr);
  EXPECT_EQ(os.GetLastError(), Error::NOT_SUPPORTED);
  DWORD bytes = 0;
  ULONG_PTR key = 0;
  OVERLAPPED* overlapped = reinterpret_cast<OVERLAPPED*>(&bytes);
  EXPECT_FALSE(os.GetQueuedCompletionStatus(nullptr, &bytes, &key, &overlapped, 0));
  EXPECT_EQ(overlapped, nullptr);
  EXPECT_EQ(os.WSASocketW(AF::INET, SOCK::STREAM, 0, 0), INVALID_SOCKET_);
  EXPECT_EQ(os.WSAGetLastError(), static_cast<int>(Error::NOT_SUPPORTED));
}

}  // namespace
}  // namespace iosim
