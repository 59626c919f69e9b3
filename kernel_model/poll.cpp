// kernel_model/poll.cpp — __pollwait, pollwake, poll_initwait and poll_freewait (Linux fs/select.c).
// The entry's wake function filters by the key the file passed to wake_up, as Linux pollwake does.
#include "kernel_model/poll.hpp"

namespace iosim::kernel {

void poll_initwait(poll_wqueues& pwq, sim::Runtime& runtime) {
  pwq._qproc = pollwait_qproc;
  pwq._key = ~__poll_t{0};
  pwq.polling_task = {&runtime, runtime.current()};
  pwq.triggered = false;
  pwq.error = 0;
  pwq.entries.clear();
}

void poll_freewait(poll_wqueues& pwq) {
  for (poll_table_entry& entry : pwq.entries) remove_wait_queue(*entry.wait_address, entry.wait);
  pwq.entries.clear();
}

void pollwait_qproc(file* filp, wait_queue_head* wait_address, poll_table* p) {
  auto* pwq = static_cast<poll_wqueues*>(p);  // Linux container_of(p, struct poll_wqueues, pt)
  poll_table_entry& entry = pwq->entries.emplace_back();
  entry.filp = filp->shared_from_this();
  entry.key = p->_key;
  entry.wait_address = wait_address;
  entry.owner = pwq;
  entry.wait.func = pollwake;
  entry.wait.private_ = &entry;
  add_wait_queue(*wait_address, entry.wait);
}

int pollwake(wait_queue_entry* wait, unsigned mode, int sync, void* key) {
  auto* entry = static_cast<poll_table_entry*>(wait->private_);
  if (key && !(key_to_poll(key) & entry->key)) return 0;
  // Linux __pollwake: set triggered before waking, so a task between its scan and its sleep sees it.
  poll_wqueues* pwq = entry->owner;
  pwq->triggered = true;
  wait_queue_entry dummy;
  dummy.private_ = &pwq->polling_task;
  return default_wake_function(&dummy, mode, sync, key);
}

}  // namespace iosim::kernel
