// kernel_model/wait.cpp — wait queue operations, mirroring kernel/sched/wait.c and kernel/sched/core.c.
// Single-threaded: no wq_head->lock is needed, but the walk order and exclusive accounting are Linux's.
#include "kernel_model/wait.hpp"

namespace iosim::kernel {
namespace {
std::uint32_t current_waking_queue = 0;  // the simulation is single-threaded: one walk at a time
}

std::uint32_t waking_queue() { return current_waking_queue; }

void add_wait_queue(wait_queue_head& wq_head, wait_queue_entry& wq_entry) {
  wq_entry.flags &= ~WQ_FLAG_EXCLUSIVE;
  wq_head.head.push_front(wq_entry);
}

void add_wait_queue_exclusive(wait_queue_head& wq_head, wait_queue_entry& wq_entry) {
  wq_entry.flags |= WQ_FLAG_EXCLUSIVE;
  wq_head.head.push_back(wq_entry);
}

void __add_wait_queue_exclusive(wait_queue_head& wq_head, wait_queue_entry& wq_entry) {
  wq_entry.flags |= WQ_FLAG_EXCLUSIVE;
  wq_head.head.push_front(wq_entry);
}

void remove_wait_queue(wait_queue_head&, wait_queue_entry& wq_entry) {
  if (wq_entry.queued()) wq_entry.entry.unlink();
}

int __wake_up(sim::Runtime&, wait_queue_head& wq_head, unsigned mode, int nr_exclusive, void* key) {
  const std::uint32_t outer = current_waking_queue;
  current_waking_queue = wq_head.name;
  int woken = 0;
  // The func may unlink its own entry (autoremove), so advance before calling it (list_for_each_entry_safe).
  for (auto it = wq_head.head.begin(); it != wq_head.head.end();) {
    wait_queue_entry& current = *it++;
    const unsigned flags = current.flags;
    const int ret = current.func(&current, mode, 0, key);
    if (ret < 0) break;
    if (ret) ++woken;
    if (ret && (flags & WQ_FLAG_EXCLUSIVE) && !--nr_exclusive) break;
  }
  current_waking_queue = outer;
  return woken;
}

int default_wake_function(wait_queue_entry* wq_entry, unsigned, int, void*) {
  auto* task = static_cast<task_entry*>(wq_entry->private_);
  return task->runtime->wake(task->task, current_waking_queue) ? 1 : 0;
}

}  // namespace iosim::kernel
