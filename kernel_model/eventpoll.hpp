// kernel_model/eventpoll.hpp — epoll as Linux fs/eventpoll.c builds it: an eventpoll with its ready list
// (rdllist), an ordered set of epitems keyed by (file, fd), and one ep_poll_callback hooked per wait queue.
#pragma once

#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "iosim/abi.hpp"
#include "kernel_model/file.hpp"
#include "kernel_model/wait.hpp"

namespace iosim::kernel {

inline constexpr int EP_MAX_NESTS = 4;  // Linux: nesting depth of epoll sets
inline constexpr int EP_MAX_EVENTS = 0x7fffffff / 12;  // INT_MAX / sizeof(struct epoll_event)
inline constexpr __poll_t EP_PRIVATE_BITS = EPOLL::WAKEUP | EPOLL::ONESHOT | EPOLL::ET | EPOLL::EXCLUSIVE;
inline constexpr __poll_t EPOLLINOUT_BITS = EPOLL::IN | EPOLL::OUT;
inline constexpr __poll_t EPOLLEXCLUSIVE_OK_BITS =
    EPOLLINOUT_BITS | EPOLL::ERR | EPOLL::HUP | EPOLL::WAKEUP | EPOLL::ET | EPOLL::EXCLUSIVE;

struct eventpoll;
struct epitem;

// Linux struct eppoll_entry: the wait entry an epitem hangs on one of its file's wait queues.
struct eppoll_entry {
  wait_queue_entry wait;
  wait_queue_head* whead = nullptr;
  epitem* base = nullptr;
};

using rdllink_hook =
    boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::safe_link>>;

// Linux struct epitem: one (file, fd) watched by one eventpoll.
struct epitem {
  rdllink_hook rdllink;      // on ep->rdllist (or on the transfer list while ep_send_events runs)
  bool on_ovflist = false;   // Linux: epi->next != EP_UNACTIVE_PTR
  file* filp = nullptr;      // ffd.file: not a reference — eventpoll_release removes the item first
  int fd = -1;               // ffd.fd: the fd number given to EPOLL_CTL_ADD, even after it is closed
  std::vector<std::unique_ptr<eppoll_entry>> pwqlist;
  eventpoll* ep = nullptr;
  epoll_event event;
  std::uint32_t name = 0;    // trace name, "epi(eventpoll#3, fd 5)"
  bool linked() const { return rdllink.is_linked(); }  // Linux ep_is_linked
};

using rdl_list = boost::intrusive::list<
    epitem, boost::intrusive::member_hook<epitem, rdllink_hook, &epitem::rdllink>,
    boost::intrusive::constant_time_size<true>>;  // O(1) size() for the traced ready-list length

// Trace names of epoll's inner steps (interned once per eventpoll).
struct ep_trace_names {
  std::uint32_t callback, rdllist, ovflist, deliver, requeue, disarm, not_ready, insert, remove, modify, rdllist_len;
};

// Linux struct eventpoll. Items are ordered by (file creation number, fd), Linux's rbtree key.
struct eventpoll {
  explicit eventpoll(kernel& k, std::uint32_t name);
  ~eventpoll();

  kernel& k;
  std::uint32_t name;
  wait_queue_head wq;         // epoll_wait sleepers (exclusive, newest first: Linux wakes them LIFO)
  wait_queue_head poll_wait;  // waiters on this epoll file's own poll (nested epoll, select on an epfd)
  rdl_list rdllist;
  std::map<std::pair<std::uint64_t, int>, std::unique_ptr<epitem>> rbr;
  bool ovflist_active = false;  // Linux: ep->ovflist != EP_UNACTIVE_PTR (events are being transferred)
  std::vector<epitem*> ovflist;  // items whose callback ran during a transfer, oldest first
  std::uint64_t gen = 0;         // ep_loop_check bookkeeping
  int loop_check_depth = 0;
  file* owner = nullptr;         // the epoll file
  ep_trace_names names{};
  std::size_t rdllist_len_traced = 0;  // the ready-list length the trace last reported (ep.rdllist_len)
};

// The epoll file (anon_inode "[eventpoll]").
class eventpoll_file final : public file {
 public:
  eventpoll_file(kernel& k, std::uint32_t name, int f_flags);
  __poll_t poll(poll_table* pt) override;  // Linux ep_eventpoll_poll
  long read(void*, std::size_t) override { return -E::INVAL; }
  long write(const void*, std::size_t) override { return -E::INVAL; }
  void release() override;  // Linux ep_eventpoll_release → ep_clear_and_put
  eventpoll* as_eventpoll() override { return &ep; }

  eventpoll ep;

 protected:
  // Its wait queues and every item it watches now ("epi(eventpoll#1(loop), fd 5)").
  void rename_derived(std::string_view name) override;
};

}  // namespace iosim::kernel
