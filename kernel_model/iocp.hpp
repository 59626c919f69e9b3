// kernel_model/iocp.hpp — I/O completion ports as the Windows kernel builds them on a KQUEUE (ReactOS
// ntoskrnl/ke/queue.c): a FIFO packet list, LIFO waiters, and the running-thread count against the
// concurrency.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "iosim/win32_abi.hpp"
#include "kernel_model/file.hpp"
#include "kernel_model/wait.hpp"
#include "sim/runtime.hpp"

namespace iosim::kernel {

// IO_MINI_COMPLETION_PACKET: what an I/O completion or PostQueuedCompletionStatus leaves on a port.
struct completion_packet {
  win32::ULONG_PTR key = 0;                 // the file's completion key (KeyContext)
  win32::OVERLAPPED* overlapped = nullptr;  // the application's pointer, never dereferenced by the port
  win32::NTSTATUS status = win32::STATUS::SUCCESS;
  win32::ULONG_PTR information = 0;  // bytes transferred
};

// KeRemoveQueue's outcomes besides a packet (0).
inline constexpr int wait_abandoned = 2;  // the port was closed (KeRundownQueue) while the thread waited

class completion_port;

// The queue part of a KTHREAD, for one task.
struct kthread_queue {
  completion_port* queue = nullptr;  // KTHREAD.Queue: set by the first GetQueuedCompletionStatus on a port
  bool waiting_on_queue = false;     // KTHREAD.WaitReason == WrQueue: parked inside KeRemoveQueue
  bool released_slot = false;        // blocked elsewhere: its running slot went back to the queue
};

// Kernel-wide IOCP state: each task's KTHREAD.Queue and the block hook that keeps CurrentCount honest when
// an associated thread blocks on something other than its port (KeWaitForSingleObject's
// KiActivateWaiterQueue) and is woken again (KiUnlinkThread). Created with the first port; runs that never
// create one see no hook and no IOCP trace event.
class iocp_dispatcher final : public sim::BlockHook {
 public:
  explicit iocp_dispatcher(kernel& k);
  ~iocp_dispatcher() override;
  kthread_queue& thread(sim::task_id task) { return threads_[task]; }
  // KeRundownQueue's "Thread->Queue = NULL" for every thread of a port that is going away.
  void forget_queue(const completion_port& queue);

  void before_block(sim::task_id task) override;
  void on_wake(sim::task_id task) override;
  void after_block(sim::task_id task) override;
  // KeTerminateThread: an exiting thread leaves its port, and its running slot with it.
  void on_exit(sim::task_id task) override;

  std::uint32_t name_enqueue, name_dequeue, name_wake, name_release_slot, name_rundown, name_afd_complete,
      name_afd_dpc, name_fault_delayed_completion, name_delayed_packet;
  wait_queue_head overlapped_wq;  // WSAGetOverlappedResult(fWait = TRUE) sleepers: woken by every completion
  std::uint64_t irp_sequence = 0;

 private:
  void take_slot_back(sim::task_id task);
  kernel& k_;
  std::map<sim::task_id, kthread_queue> threads_;  // ordered by task id: deterministic
};

// The IoCompletion object (Windows: an executive object wrapping a KQUEUE). A file here, so its HANDLE is an
// entry of the same handle table as the sockets', as on Windows.
class completion_port final : public file {
 public:
  completion_port(kernel& k, std::uint32_t name, int maximum_count);
  ~completion_port() override;

  __poll_t poll(poll_table*) override { return 0; }
  bool can_poll() const override { return false; }  // an IOCP handle is not waitable on Windows
  long read(void*, std::size_t) override { return -E::INVAL; }
  long write(const void*, std::size_t) override { return -E::INVAL; }
  void release() override { rundown(); }

  // KiInsertQueue: hands the packet to the most recent waiter when the running count allows, else appends
  // it to the entry list. -ENOBUFS when the list is at completion_packets_max (only a post can hit it).
  int insert_queue(const completion_packet& packet, bool limited);
  // KeRemoveQueue: 0 with *packet, wait_timed_out, wait_abandoned or -EINTR. deadline_ns -1 waits forever.
  int remove_queue(std::int64_t deadline_ns, completion_packet* packet);
  // The entries GetQueuedCompletionStatusEx takes after the first, without waiting (the thread already holds
  // its running slot).
  bool remove_queue_nowait(completion_packet* packet);
  // KiActivateWaiterQueue: an associated thread blocks elsewhere; its slot may let a waiter take a packet.
  void activate_waiter_queue();
  // KiUnlinkThread's CurrentCount++ for an associated thread woken from a wait elsewhere.
  void activate_count_back();
  // The handle was closed (IopCloseIoCompletion → KeRundownQueue): waiters return ERROR_ABANDONED_WAIT_0,
  // queued packets are freed, threads forget the port.
  void rundown();

  int current_count() const { return current_count_; }
  int maximum_count() const { return maximum_count_; }
  std::size_t depth() const { return entry_list_.size(); }  // KeReadStateQueue
  std::size_t waiters() const { return wait_list_.size(); }
  bool closed() const { return closed_; }

 private:
  struct queue_waiter {
    sim::task_id task;
    std::optional<completion_packet> packet;  // handed over directly by insert_queue / activate_waiter_queue
    bool abandoned = false;
  };
  void hand_to_last_waiter(const completion_packet& packet);
  void trace_dequeue(const completion_packet& packet);

  iocp_dispatcher& dispatcher_;
  std::deque<completion_packet> entry_list_;  // KQUEUE.EntryListHead: FIFO
  std::vector<queue_waiter*> wait_list_;      // KQUEUE.Header.WaitListHead: woken from the back (LIFO)
  int current_count_ = 0;                     // KQUEUE.CurrentCount: associated threads running
  int maximum_count_;                         // KQUEUE.MaximumCount: NumberOfConcurrentThreads
  bool closed_ = false;
};

}  // namespace iosim::kernel
