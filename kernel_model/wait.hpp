// kernel_model/wait.hpp — wait queues as in include/linux/wait.h and kernel/sched/wait.c.
// Non-exclusive entries go to the head, exclusive ones to the tail; __wake_up stops after nr_exclusive wakes.
#pragma once

#include <boost/intrusive/list.hpp>
#include <cstdint>

#include "sim/runtime.hpp"

namespace iosim::kernel {

using __poll_t = std::uint32_t;  // a poll mask with Linux's EPOLL*/POLL* bit values

inline constexpr unsigned WQ_FLAG_EXCLUSIVE = 0x01;

struct wait_queue_entry;
// Returns non-zero when it woke something (for exclusive accounting), negative to stop the walk.
using wait_queue_func_t = int (*)(wait_queue_entry* wq_entry, unsigned mode, int wake_flags, void* key);

using wait_list_hook =
    boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

struct wait_queue_entry {
  unsigned flags = 0;
  void* private_ = nullptr;  // the task (see task_entry) for default_wake_function
  wait_queue_func_t func = nullptr;
  wait_list_hook entry;
  bool queued() const { return entry.is_linked(); }
};

// One task, as the wait entries of default_wake_function point at it (Linux: struct task_struct).
struct task_entry {
  sim::Runtime* runtime;
  sim::task_id task;
};

struct wait_queue_head {
  using list_type = boost::intrusive::list<
      wait_queue_entry, boost::intrusive::member_hook<wait_queue_entry, wait_list_hook, &wait_queue_entry::entry>,
      boost::intrusive::constant_time_size<false>>;
  list_type head;
  std::uint32_t name = 0;  // interned trace name, e.g. "sk_sleep(tcp 127.0.0.1:8080)"
  bool active() const { return !head.empty(); }  // Linux wq_has_sleeper / waitqueue_active
};

// Linux add_wait_queue: clears WQ_FLAG_EXCLUSIVE and links at the head.
void add_wait_queue(wait_queue_head& wq_head, wait_queue_entry& wq_entry);
// Linux add_wait_queue_exclusive: sets WQ_FLAG_EXCLUSIVE and links at the tail.
void add_wait_queue_exclusive(wait_queue_head& wq_head, wait_queue_entry& wq_entry);
// Linux __add_wait_queue_exclusive: sets WQ_FLAG_EXCLUSIVE but links at the *head* (ep_poll uses it, which
// is why epoll_wait sleepers are woken newest first).
void __add_wait_queue_exclusive(wait_queue_head& wq_head, wait_queue_entry& wq_entry);
void remove_wait_queue(wait_queue_head& wq_head, wait_queue_entry& wq_entry);

// Linux __wake_up_common: calls every entry's func in order; an exclusive entry whose func returned
// non-zero counts against nr_exclusive, and the walk stops when that reaches zero. `key` is a poll mask
// (or null). Returns how many entries reported a wake.
int __wake_up(sim::Runtime& runtime, wait_queue_head& wq_head, unsigned mode, int nr_exclusive, void* key);

// wake_up_interruptible_poll(head, mask): wake every non-exclusive and one exclusive waiter with a poll key.
inline int wake_up_poll(sim::Runtime& runtime, wait_queue_head& wq_head, __poll_t mask) {
  if (!wq_head.active()) return 0;
  return __wake_up(runtime, wq_head, 1, 1, reinterpret_cast<void*>(static_cast<std::uintptr_t>(mask)));
}
inline __poll_t key_to_poll(void* key) { return static_cast<__poll_t>(reinterpret_cast<std::uintptr_t>(key)); }

// Linux default_wake_function: wakes the task in wq_entry->private_; 1 if it was sleeping.
int default_wake_function(wait_queue_entry* wq_entry, unsigned mode, int wake_flags, void* key);

// The wait queue that __wake_up is walking (for the trace's "woken through which queue"), 0 outside a walk.
std::uint32_t waking_queue();

}  // namespace iosim::kernel
