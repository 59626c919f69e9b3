// tests/kernel_pipe_test.cpp — anonymous pipes in the virtual kernel, one test per Linux rule of fs/pipe.c:
// 16 page slots, merging, PIPE_BUF atomicity, pipe_poll, EPIPE/SIGPIPE, EOF, exclusive wake-ups.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel_model/kernel.hpp"
#include "sim/prng.hpp"
#include "sim/scheduler.hpp"
#include "sim/strategy.hpp"
#include "sim/trace.hpp"

namespace iosim {
namespace {

constexpr short all_events = POLL::IN | POLL::PRI | POLL::OUT | POLL::RDNORM | POLL::WRNORM | POLL::RDHUP;
constexpr short readable = POLL::IN | POLL::RDNORM;
constexpr short writable = POLL::OUT | POLL::WRNORM;
constexpr long page_bytes = 4096;
constexpr long pipe_capacity_bytes = 16 * page_bytes;

class KernelPipeTest : public ::testing::Test {
 protected:
  KernelPipeTest() { trace.set_capture(true); }

  sim::task_id spawn(std::string name, std::function<void()> body) {
    return scheduler.spawn(std::move(name), std::move(body));
  }
  void run_task(std::function<void()> body) {
    spawn("main", std::move(body));
    expect_completed();
  }
  void expect_completed() {
    const sim::RunResult result = scheduler.run();
    EXPECT_EQ(result.outcome, sim::RunResult::Outcome::completed) << result.failure;
  }
  // From inside a task: yield until `task` sleeps on a wait queue (so the next step really wakes it).
  void wait_until_blocked(sim::task_id task) {
    while (scheduler.wait_channel(task) == 0 && !scheduler.is_done(task)) scheduler.yield();
  }
  void make_pipe(int fds[2], int flags = 0) { ASSERT_EQ(k.sys_pipe2(fds, flags), 0); }
  short poll_now(int fd) {
    pollfd entry{fd, all_events, 0};
    EXPECT_GE(k.sys_poll(&entry, 1, 0), 0);
    return entry.revents;
  }
  std::size_t kernel_event_count(std::string_view name) {
    const std::uint32_t id = trace.intern(name);
    std::size_t count = 0;
    for (const sim::TraceEvent& event : trace.events())
      if (event.kind == sim::EventKind::kernel && event.subject == id) ++count;
    return count;
  }

  sim::Trace trace;
  sim::Prng prng{11};
  sim::RandomStrategy strategy{prng};
  sim::Scheduler scheduler{trace, strategy};
  kernel::kernel k{scheduler, kernel::kernel_config{}};
};

TEST_F(KernelPipeTest, EndsAreReadOnlyAndWriteOnlyWithTheRequestedNonblock) {
  run_task([&] {
    int fds[2];
    make_pipe(fds);
    EXPECT_EQ(k.sys_fcntl(fds[0], F::GETFL, 0), O::RDONLY);
    EXPECT_EQ(k.sys_fcntl(fds[1], F::GETFL, 0), O::WRONLY);
    int nonblocking[2];
    make_pipe(nonblocking, O::NONBLOCK | O::CLOEXEC);
    EXPECT_EQ(k.sys_fcntl(nonblocking[0], F::GETFL, 0), O::RDONLY | O::NONBLOCK);
    EXPECT_EQ(k.sys_fcntl(nonblocking[1], F::GETFL, 0), O::WRONLY | O::NONBLOCK);
  });
}

TEST_F(KernelPipeTest, ReadsWhatWasWrittenThenEndOfFileOnceTheWriterIsGone) {
  run_task([&] {
    int fds[2];
    make_pipe(fds);
    EXPECT_EQ(k.sys_write(fds[1], "abc", 3), 3);
    EXPECT_EQ(k.sys_write(fds[1], "de", 2), 2);
    char buffer[8] = {};
    EXPECT_EQ(k.sys_read(fds[0], buffer, sizeof(buffer)), 5);
    EXPECT_EQ(std::string(buffer, 5), "abcde");
    EXPECT_EQ(k.sys_close(fds[1]), 0);
    EXPECT_EQ(k.sys_read(fds[0], buffer, sizeof(buffer)), 0);
  });
}

TEST_F(KernelPipeTest, ReadingTheWriteEndOrWritingTheReadEndIsEbadf) {
  run_task([&] {
    int fds[2];
    make_pipe(fds);
    char byte = 0;
    EXPECT_EQ(k.sys_read(fds[1], &byte, 1), -E::BADF);
    EXPECT_EQ(k.sys_write(fds[0], "x", 1), -E::BADF);
  });
}

TEST_F(KernelPipeTest, EmptyNonblockingReadIsEagainWhileAWriterExists) {
  run_task([&] {
    int fds[2];
    make_pipe(fds, O::NONBLOCK);
    char byte = 0;
    EXPECT_EQ(k.sys_read(fds[0], &byte, 1), -E::AGAIN);
    EXPECT_EQ(k.sys_read(fds[0], &byte, 0), 0);  // "Null read succeeds."
    EXPECT_EQ(k.sys_close(fds[1]), 0);
    EXPECT_EQ(k.sys_read(fds[0], &byte, 1), 0);
  });
}

TEST_F(KernelPipeTest, FSetflONonblockTakesEffectOnTheNextCall) {
  run_task([&] {
    int fds[2];
    make_pipe(fds);
    EXPECT_EQ(k.sys_fcntl(fds[0], F::SETFL, O::NONBLOCK), 0);
    char byte = 0;
    EXPECT_EQ(k.sys_read(fds[0], &byte, 1), -E::AGAIN);
  });
}

TEST_F(KernelPipeTest, CapacityIsSixteenPageSlots) {
  run_task([&] {
    int fds[2];
    make_pipe(fds, O::NONBLOCK);
    std::vector<char> data(100000, 'p');
    EXPECT_EQ(k.sys_write(fds[1], data.data(), data.size()), pipe_capacity_bytes);
    EXPECT_EQ(k.sys_write(fds[1], data.data(), 1), -E::AGAIN);
  });
}

TEST_F(KernelPipeTest, SmallWritesMergeIntoAPageOnlyWhenTheyFitWhole) {
  run_task([&] {
    int fds[2];
    make_pipe(fds, O::NONBLOCK);
    const std::vector<char> data(100, 'm');
    // 40 writes of 100 bytes share a page (4000 bytes); the 41st does not fit and takes a new slot.
    long total = 0;
    int writes = 0;
    for (;;) {
      const long n = k.sys_write(fds[1], data.data(), data.size());
      if (n < 0) {
        EXPECT_EQ(n, -E::AGAIN);
        break;
      }
      EXPECT_EQ(n, 100);
      total += n;
      ++writes;
    }
    EXPECT_EQ(writes, 16 * 40);
    EXPECT_EQ(total, 16 * 4000);
  });
}

TEST_F(KernelPipeTest, WritesOfAtMostPipeBufAreNeverSplitButLargerOnesAre) {
  run_task([&] {
    int fds[2];
    make_pipe(fds, O::NONBLOCK);
    std::vector<char> data(15 * page_bytes, 'a');
    EXPECT_EQ(k.sys_write(fds[1], data.data(), data.size()), 15 * page_bytes);  // 15 full slots
    EXPECT_EQ(k.sys_write(fds[1], data.data(), 100), 100);  // slot 16 holds 100 bytes: the ring is full
    // A whole page has no sub-page remainder to merge and needs a slot: EAGAIN, though 3996 bytes are free.
    EXPECT_EQ(k.sys_write(fds[1], data.data(), page_bytes), -E::AGAIN);
    EXPECT_EQ(k.sys_write(fds[1], data.data(), 4000), -E::AGAIN);  // 100 + 4000 > 4096: no partial write
    // 5000 = 4096 + 904: the 904-byte remainder merges first, then the ring is full: a short write.
    EXPECT_EQ(k.sys_write(fds[1], data.data(), 5000), 904);
    EXPECT_EQ(k.sys_write(fds[1], data.data(), 3000), 3000);     // 1004 + 3000 <= 4096 merges
    EXPECT_EQ(k.sys_write(fds[1], data.data(), 93), -E::AGAIN);  // 4004 + 93 > 4096
    EXPECT_EQ(k.sys_write(fds[1], data.data(), 92), 92);
  });
}

TEST_F(KernelPipeTest, PollMasksFollowPipePoll) {
  run_task([&] {
    int fds[2];
    make_pipe(fds);
    EXPECT_EQ(poll_now(fds[0]), 0);
    EXPECT_EQ(poll_now(fds[1]), writable);
    EXPECT_EQ(k.sys_write(fds[1], "x", 1), 1);
    EXPECT_EQ(poll_now(fds[0]), readable);
    EXPECT_EQ(k.sys_close(fds[1]), 0);
    EXPECT_EQ(poll_now(fds[0]), readable | POLL::HUP);  // data left and no writer
    char byte = 0;
    EXPECT_EQ(k.sys_read(fds[0], &byte, 1), 1);
    EXPECT_EQ(poll_now(fds[0]), POLL::HUP);
    int other[2];
    make_pipe(other);
    EXPECT_EQ(k.sys_close(other[0]), 0);
    EXPECT_EQ(poll_now(other[1]), writable | POLL::ERR);  // no reader
  });
}

TEST_F(KernelPipeTest, AFullPipeBecomesWritableOnlyWhenAReadFreesASlot) {
  run_task([&] {
    int fds[2];
    make_pipe(fds, O::NONBLOCK);
    std::vector<char> data(pipe_capacity_bytes, 'f');
    EXPECT_EQ(k.sys_write(fds[1], data.data(), data.size()), pipe_capacity_bytes);
    EXPECT_EQ(poll_now(fds[1]), 0);
    EXPECT_EQ(k.sys_read(fds[0], data.data(), 1), 1);
    EXPECT_EQ(poll_now(fds[1]), 0);  // the tail slot still holds 4095 bytes
    EXPECT_EQ(k.sys_read(fds[0], data.data(), page_bytes - 1), page_bytes - 1);
    EXPECT_EQ(poll_now(fds[1]), writable);
    EXPECT_EQ(k.sys_write(fds[1], data.data(), page_bytes), page_bytes);
  });
}

TEST_F(KernelPipeTest, WriteWithoutReadersIsEpipeWithSigpipe) {
  run_task([&] {
    int fds[2];
    make_pipe(fds);
    EXPECT_EQ(k.sys_close(fds[0]), 0);
    EXPECT_EQ(k.sys_write(fds[1], "", 0), 0);  // "Null write succeeds", before the reader check
    EXPECT_EQ(kernel_event_count("sigpipe"), 0u);
    EXPECT_EQ(k.sys_write(fds[1], "x", 1), -E::PIPE);
    EXPECT_EQ(kernel_event_count("sigpipe"), 1u);
  });
}

TEST_F(KernelPipeTest, BlockedReaderWakesWhenDataIsWritten) {
  int fds[2];
  long received = 0;
  char buffer[8] = {};
  const sim::task_id reader = spawn("reader", [&] {
    make_pipe(fds);
    received = k.sys_read(fds[0], buffer, sizeof(buffer));
  });
  spawn("writer", [&] {
    wait_until_blocked(reader);
    EXPECT_EQ(trace.name(scheduler.wait_channel(reader)), "rd_wait(pipe#1)");
    EXPECT_EQ(k.sys_write(fds[1], "hey", 3), 3);
  });
  expect_completed();
  EXPECT_EQ(received, 3);
  EXPECT_EQ(std::string(buffer, 3), "hey");
}

TEST_F(KernelPipeTest, BlockedReaderGetsEndOfFileWhenTheLastWriterCloses) {
  int fds[2];
  long received = -1;
  const sim::task_id reader = spawn("reader", [&] {
    make_pipe(fds);
    char byte = 0;
    received = k.sys_read(fds[0], &byte, 1);
  });
  spawn("closer", [&] {
    wait_until_blocked(reader);
    EXPECT_EQ(k.sys_close(fds[1]), 0);
  });
  expect_completed();
  EXPECT_EQ(received, 0);
}

TEST_F(KernelPipeTest, BlockingWriteSleepsForAFreeSlotUntilAllIsWritten) {
  int fds[2];
  long written = 0;
  constexpr long total = 70000;
  const sim::task_id writer = spawn("writer", [&] {
    make_pipe(fds);
    std::vector<char> data(total, 'w');
    written = k.sys_write(fds[1], data.data(), data.size());
  });
  spawn("reader", [&] {
    wait_until_blocked(writer);
    EXPECT_EQ(trace.name(scheduler.wait_channel(writer)), "wr_wait(pipe#1)");
    std::vector<char> buffer(total);
    long got = 0;
    while (got < total) {
      const long n = k.sys_read(fds[0], buffer.data() + got, page_bytes);
      ASSERT_GT(n, 0);
      got += n;
    }
  });
  expect_completed();
  EXPECT_EQ(written, total);
}

TEST_F(KernelPipeTest, BlockedWriterGetsItsPartialCountWhenTheLastReaderCloses) {
  int fds[2];
  long written = 0;
  const sim::task_id writer = spawn("writer", [&] {
    make_pipe(fds);
    std::vector<char> data(70000, 'w');
    written = k.sys_write(fds[1], data.data(), data.size());
  });
  spawn("closer", [&] {
    wait_until_blocked(writer);
    EXPECT_EQ(k.sys_close(fds[0]), 0);
    while (!scheduler.is_done(writer)) scheduler.yield();
    EXPECT_EQ(written, pipe_capacity_bytes);
    EXPECT_EQ(kernel_event_count("sigpipe"), 1u);  // raised even though the write returns a count
    EXPECT_EQ(k.sys_write(fds[1], "x", 1), -E::PIPE);
  });
  expect_completed();
}

TEST_F(KernelPipeTest, OneWriteWakesOneExclusiveReader) {
  int fds[2];
  long results[2] = {-1, -1};
  const sim::task_id first = spawn("reader-1", [&] {
    make_pipe(fds);
    char byte = 0;
    results[0] = k.sys_read(fds[0], &byte, 1);
  });
  const sim::task_id second = spawn("reader-2", [&] {
    wait_until_blocked(first);
    char byte = 0;
    results[1] = k.sys_read(fds[0], &byte, 1);
  });
  spawn("writer", [&] {
    wait_until_blocked(first);
    wait_until_blocked(second);
    EXPECT_EQ(k.sys_write(fds[1], "x", 1), 1);
  });
  const sim::RunResult result = scheduler.run();
  // The first sleeper took the byte; the pipe was then empty, so nobody passed the wake-up on.
  EXPECT_EQ(result.outcome, sim::RunResult::Outcome::deadlock);
  ASSERT_EQ(result.blocked.size(), 1u);
  EXPECT_EQ(result.blocked[0].name, "reader-2");
  EXPECT_EQ(result.blocked[0].channel, "rd_wait(pipe#1)");
  EXPECT_EQ(results[0], 1);
}

TEST_F(KernelPipeTest, AWokenReaderWakesTheNextWhenDataIsLeft) {
  int fds[2];
  std::string got;
  const sim::task_id first = spawn("reader-1", [&] {
    make_pipe(fds);
    char byte = 0;
    if (k.sys_read(fds[0], &byte, 1) == 1) got += byte;
  });
  const sim::task_id second = spawn("reader-2", [&] {
    wait_until_blocked(first);
    char byte = 0;
    if (k.sys_read(fds[0], &byte, 1) == 1) got += byte;
  });
  spawn("writer", [&] {
    wait_until_blocked(first);
    wait_until_blocked(second);
    EXPECT_EQ(k.sys_write(fds[1], "ab", 2), 2);
  });
  expect_completed();
  EXPECT_EQ(got, "ab");
}

TEST_F(KernelPipeTest, PollSleepsUntilThePipeBecomesReadable) {
  int fds[2];
  int ready = -1;
  pollfd entry{};
  const sim::task_id poller = spawn("poller", [&] {
    make_pipe(fds);
    entry = pollfd{fds[0], POLL::IN, 0};
    ready = k.sys_poll(&entry, 1, -1);
  });
  spawn("writer", [&] {
    wait_until_blocked(poller);
    EXPECT_EQ(k.sys_write(fds[1], "x", 1), 1);
  });
  expect_completed();
  EXPECT_EQ(ready, 1);
  EXPECT_EQ(entry.revents, POLL::IN);
}

TEST_F(KernelPipeTest, ReadingAnEmptyPipeWhoseWriterNeverWritesDeadlocksOnRdWait) {
  spawn("reader", [&] {
    int fds[2];
    make_pipe(fds);
    char byte = 0;
    k.sys_read(fds[0], &byte, 1);
  });
  const sim::RunResult result = scheduler.run();
  EXPECT_EQ(result.outcome, sim::RunResult::Outcome::deadlock);
  ASSERT_EQ(result.blocked.size(), 1u);
  EXPECT_EQ(result.blocked[0].name, "reader");
  EXPECT_EQ(result.blocked[0].channel, "rd_wait(pipe#1)");
}

}  // namespace
}  // namespace iosim
