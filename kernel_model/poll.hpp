// kernel_model/poll.hpp — poll_table and the select/poll wait machinery of include/linux/poll.h, fs/select.c.
// A poll_wqueues lives for one select/poll call: __pollwait hooks an entry on each file's queue, pollwake fires.
#pragma once

#include <deque>
#include <memory>

#include "kernel_model/file.hpp"
#include "kernel_model/wait.hpp"

namespace iosim::kernel {

struct poll_table;
using poll_queue_proc = void (*)(file* filp, wait_queue_head* wait_address, poll_table* p);

// Linux struct poll_table_struct: _qproc is null on every pass after the first (nothing more to hook).
struct poll_table {
  poll_queue_proc _qproc = nullptr;
  __poll_t _key = ~__poll_t{0};
};

// Linux poll_wait: a file's poll method announces each wait queue its readiness changes are woken on.
inline void poll_wait(file* filp, wait_queue_head* wait_address, poll_table* p) {
  if (p && p->_qproc && wait_address) p->_qproc(filp, wait_address, p);
}

// Linux poll_requested_events: which events the caller asked about (all when there is no table).
inline __poll_t poll_requested_events(const poll_table* p) { return p ? p->_key : ~__poll_t{0}; }

struct poll_wqueues;

struct poll_table_entry {
  file_ref filp;  // Linux get_file(): the file stays alive while we are hooked on its queue
  __poll_t key = 0;
  wait_queue_entry wait;
  wait_queue_head* wait_address = nullptr;
  poll_wqueues* owner = nullptr;
};

// Linux struct poll_wqueues. Linux embeds the poll_table as member `pt` and recovers the container with
// container_of; deriving from it gives the same layout with a legal static_cast. The entries live in a deque
// so their addresses stay fixed while they are hooked on wait queues.
struct poll_wqueues : poll_table {
  task_entry polling_task{};
  bool triggered = false;
  int error = 0;
  std::deque<poll_table_entry> entries;
};

// Linux poll_initwait: pt._qproc = __pollwait, polling_task = current.
void poll_initwait(poll_wqueues& pwq, sim::Runtime& runtime);
// Linux poll_freewait: unhook every entry and drop the file references.
void poll_freewait(poll_wqueues& pwq);
// Linux __pollwait: the qproc of select and poll.
void pollwait_qproc(file* filp, wait_queue_head* wait_address, poll_table* p);
// Linux pollwake: ignore wake-ups whose key has none of the entry's events; else mark triggered and wake.
int pollwake(wait_queue_entry* wait, unsigned mode, int sync, void* key);

// Linux POLLIN_SET / POLLOUT_SET / POLLEX_SET (fs/select.c): which poll bits make an fd_set bit ready.
inline constexpr __poll_t POLLIN_SET = POLL::RDNORM | POLL::RDBAND | POLL::IN | POLL::HUP | POLL::ERR;
inline constexpr __poll_t POLLOUT_SET = POLL::WRBAND | POLL::WRNORM | POLL::OUT | POLL::ERR;
inline constexpr __poll_t POLLEX_SET = POLL::PRI;

}  // namespace iosim::kernel
