// kernel_model/eventpoll.cpp — epoll_create1/ctl/wait after Linux fs/eventpoll.c (6.x): ep_insert, ep_modify,
// ep_remove, ep_poll_callback, ep_send_events, ep_poll, ep_loop_check and reverse_path_check.
#include "kernel_model/eventpoll.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "iosim/assert.hpp"
#include "kernel_model/kernel.hpp"
#include "kernel_model/poll.hpp"

namespace iosim::kernel {
namespace {

std::uint64_t loop_check_gen = 0;  // Linux loop_check_gen
eventpoll* inserting_into = nullptr;

// Trace names derived from the eventpoll's own ("eventpoll#3"): its two wait queues and its items.
std::string wq_name(std::string_view ep_name) { return fmt::format("{}.wq", ep_name); }
std::string poll_wait_name(std::string_view ep_name) { return fmt::format("{}.poll_wait", ep_name); }
std::string epitem_name(std::string_view ep_name, int fd) { return fmt::format("epi({}, fd {})", ep_name, fd); }
std::vector<file*> tfile_check_list;  // Linux tfile_check_list: files whose wakeup paths an ADD must count

// Linux path_limits: how many wakeup paths through 1..4 epoll sets may lead from one file (index = number of
// sets above the first; paths into a single set are not limited).
constexpr int PATH_ARR_SIZE = 5;
constexpr int path_limits[PATH_ARR_SIZE] = {1000, 500, 100, 50, 10};
int path_count[PATH_ARR_SIZE] = {};

bool ep_events_available(const eventpoll& ep) { return !ep.rdllist.empty() || (ep.ovflist_active && !ep.ovflist.empty()); }

__poll_t __ep_eventpoll_poll(eventpoll& ep, poll_table* wait, int depth);

// Linux ep_item_poll: the item's file's readiness, limited to the events it asks for.
__poll_t ep_item_poll(epitem& epi, poll_table* pt, int depth) {
  pt->_key = epi.event.events;
  eventpoll* nested = epi.filp->as_eventpoll();
  const __poll_t revents = nested ? __ep_eventpoll_poll(*nested, pt, depth) : epi.filp->poll(pt);
  return revents & epi.event.events;
}

// Linux ep_poll_safewake: wake whoever polls this epoll file itself (an outer epoll, a select).
void ep_poll_safewake(eventpoll& ep) {
  if (ep.poll_wait.active()) wake_up_poll(ep.k.runtime(), ep.poll_wait, EPOLL::IN);
}

void wake_up_one(eventpoll& ep) {
  if (ep.wq.active()) __wake_up(ep.k.runtime(), ep.wq, 1, 1, nullptr);  // Linux wake_up(&ep->wq)
}

// iosim's ready-list length event (for the rdllist counter of `iosim trace --perfetto`): emitted only when
// the length a task could observe changed, i.e. outside a transfer, where kernel code runs without scheduling
// points.
void trace_rdllist_len(eventpoll& ep) {
  if (ep.rdllist.size() == ep.rdllist_len_traced) return;
  ep.rdllist_len_traced = ep.rdllist.size();
  ep.k.trace_event(ep.names.rdllist_len, ep.name, static_cast<std::int64_t>(ep.rdllist_len_traced));
}

// Linux list_add_tail(&epi->rdllink, &ep->rdllist) with the trace events iosim adds.
void ready_add_tail(eventpoll& ep, epitem& epi) {
  ep.rdllist.push_back(epi);
  ep.k.trace_event(ep.names.rdllist, epi.name, static_cast<std::int64_t>(epi.event.events));
  trace_rdllist_len(ep);
}

// Linux ep_poll_callback: the wait-queue function every watched file's wake_up calls.
int ep_poll_callback(wait_queue_entry* wait, unsigned, int sync, void* key) {
  epitem& epi = *static_cast<eppoll_entry*>(wait->private_)->base;
  eventpoll& ep = *epi.ep;
  const __poll_t pollflags = key_to_poll(key);
  int ewake = 0;
  bool pwake = false;
  ep.k.trace_event(ep.names.callback, epi.name, pollflags);
  // A mask with no poll events means the item is disarmed (EPOLLONESHOT fired, waiting for EPOLL_CTL_MOD);
  // a key that has none of the item's events is not for it.
  const bool disabled = !(epi.event.events & ~EP_PRIVATE_BITS);
  if (!disabled && !(pollflags && !(pollflags & epi.event.events))) {
    if (ep.ovflist_active) {  // a transfer is running: chain on ovflist, ep_done_scan requeues it
      if (!epi.on_ovflist) {
        epi.on_ovflist = true;
        ep.ovflist.push_back(&epi);
        ep.k.trace_event(ep.names.ovflist, epi.name, pollflags);
      }
    } else if (!epi.linked()) {
      ready_add_tail(ep, epi);
    }
    if (ep.wq.active()) {
      if ((epi.event.events & EPOLL::EXCLUSIVE)) {
        switch (pollflags & EPOLLINOUT_BITS) {
          case EPOLL::IN: ewake = (epi.event.events & EPOLL::IN) ? 1 : 0; break;
          case EPOLL::OUT: ewake = (epi.event.events & EPOLL::OUT) ? 1 : 0; break;
          case 0: ewake = 1; break;
          default: break;
        }
      }
      (void)sync;
      wake_up_one(ep);
    }
    pwake = ep.poll_wait.active();
  }
  if (pwake) ep_poll_safewake(ep);
  if (!(epi.event.events & EPOLL::EXCLUSIVE)) ewake = 1;
  return ewake;
}

// Linux ep_ptable_queue_proc: at EPOLL_CTL_ADD, hook one eppoll_entry on each wait queue the file names.
struct ep_pqueue : poll_table {
  epitem* epi = nullptr;
};

void ep_ptable_queue_proc(file*, wait_queue_head* whead, poll_table* pt) {
  epitem* epi = static_cast<ep_pqueue*>(pt)->epi;
  if (!epi) return;
  auto pwq = std::make_unique<eppoll_entry>();
  pwq->whead = whead;
  pwq->base = epi;
  pwq->wait.func = ep_poll_callback;
  pwq->wait.private_ = pwq.get();
  if (epi->event.events & EPOLL::EXCLUSIVE) {
    add_wait_queue_exclusive(*whead, pwq->wait);
  } else {
    add_wait_queue(*whead, pwq->wait);
  }
  epi->pwqlist.push_back(std::move(pwq));
}

// Linux ep_start_scan / ep_done_scan around a transfer of the ready list.
void ep_start_scan(eventpoll& ep, rdl_list& txlist) {
  txlist.splice(txlist.end(), ep.rdllist);
  ep.ovflist_active = true;
  ep.ovflist.clear();
}

void ep_done_scan(eventpoll& ep, rdl_list& txlist) {
  // ovflist was LIFO in Linux; re-adding each at the head restores arrival order in front of the list.
  for (auto it = ep.ovflist.rbegin(); it != ep.ovflist.rend(); ++it) {
    epitem& epi = **it;
    epi.on_ovflist = false;
    if (!epi.linked()) ep.rdllist.push_front(epi);
  }
  ep.ovflist.clear();
  ep.ovflist_active = false;
  ep.rdllist.splice(ep.rdllist.begin(), txlist);  // items not transferred go back first
  trace_rdllist_len(ep);
  if (!ep.rdllist.empty()) wake_up_one(ep);
}

__poll_t __ep_eventpoll_poll(eventpoll& ep, poll_table* wait, int depth) {
  poll_wait(ep.owner, &ep.poll_wait, wait);
  rdl_list txlist;
  ep_start_scan(ep, txlist);
  poll_table pt;  // no qproc: only the readiness is wanted
  __poll_t res = 0;
  for (auto it = txlist.begin(); it != txlist.end();) {
    epitem& epi = *it++;
    if (ep_item_poll(epi, &pt, depth + 1)) {
      res = EPOLL::IN | EPOLL::RDNORM;
      break;
    }
    txlist.erase(txlist.iterator_to(epi));  // queued by a callback but not ready for what it asks: drop
  }
  ep_done_scan(ep, txlist);
  return res;
}

// Linux ep_unregister_pollwait + the rest of __ep_remove.
void ep_remove(eventpoll& ep, epitem& epi) {
  ep.k.trace_event(ep.names.remove, epi.name);
  for (auto& pwq : epi.pwqlist) remove_wait_queue(*pwq->whead, pwq->wait);
  epi.pwqlist.clear();
  std::erase(epi.filp->f_ep, &epi);
  // Kernel code runs without scheduling points, so no transfer (ep_send_events) is in progress here and a
  // linked item is on rdllist, not on a transfer list.
  IOSIM_ASSERT(!ep.ovflist_active, "epitem removed during a transfer");
  if (epi.linked()) {
    ep.rdllist.erase(ep.rdllist.iterator_to(epi));
    trace_rdllist_len(ep);
  }
  --ep.k.epoll_watches;
  ep.rbr.erase({epi.filp->id(), epi.fd});  // destroys epi
}

// Linux list_file: remember a (non-epoll) file whose wakeup paths the current EPOLL_CTL_ADD must count.
void list_file(file& f) {
  if (std::find(tfile_check_list.begin(), tfile_check_list.end(), &f) == tfile_check_list.end()) {
    tfile_check_list.push_back(&f);
  }
}

int ep_loop_check_proc(eventpoll& ep, int depth) {
  if (ep.gen == loop_check_gen) return ep.loop_check_depth;
  ep.gen = loop_check_gen;
  int result = 0;
  for (auto& [key, epi] : ep.rbr) {
    eventpoll* to_visit = epi->filp->as_eventpoll();
    if (!to_visit) {
      list_file(*epi->filp);  // its paths grow with this insert: reverse_path_check counts them
      continue;
    }
    if (to_visit == inserting_into || depth > EP_MAX_NESTS) {
      result = EP_MAX_NESTS + 1;
    } else {
      result = std::max(result, ep_loop_check_proc(*to_visit, depth + 1) + 1);
    }
    if (result > EP_MAX_NESTS) break;
  }
  ep.loop_check_depth = result;
  return result;
}

// How many epoll sets above `ep` watch it (Linux ep_get_upwards_depth_proc, memoised with the same gen).
int ep_get_upwards_depth_proc(eventpoll& ep, int depth) {
  if (ep.gen == loop_check_gen) return ep.loop_check_depth;
  int result = 0;
  for (const epitem* epi : ep.owner->f_ep) {
    result = std::max(result, ep_get_upwards_depth_proc(*epi->ep, depth + 1) + 1);
  }
  ep.gen = loop_check_gen;
  ep.loop_check_depth = result;
  return result;
}

// Linux ep_loop_check: adding `to` into `ep` must neither close a cycle nor make a chain deeper than
// EP_MAX_NESTS. The caller (sys_epoll_ctl's full check) has advanced loop_check_gen.
bool ep_loop_check(eventpoll& ep, eventpoll& to) {
  inserting_into = &ep;
  const int depth = ep_loop_check_proc(to, 0);
  inserting_into = nullptr;
  if (depth > EP_MAX_NESTS) return false;
  return depth + 1 + ep_get_upwards_depth_proc(ep, 0) <= EP_MAX_NESTS;
}

// Linux path_count_inc: one more wakeup path through `nests` epoll sets; a file may have any number of
// direct watchers.
int path_count_inc(int nests) {
  if (nests == 0) return 0;
  if (++path_count[nests] > path_limits[nests]) return -1;
  return 0;
}

// Linux reverse_path_check_proc: walk up from the items in `refs` (the epitems watching one file) to every
// epoll set nobody watches, counting the paths by length.
int reverse_path_check_proc(const std::vector<epitem*>& refs, int depth) {
  if (depth > EP_MAX_NESTS) return -1;
  int error = 0;
  for (const epitem* epi : refs) {
    const std::vector<epitem*>& watchers = epi->ep->owner->f_ep;  // Linux epi->ep->refs
    error = watchers.empty() ? path_count_inc(depth) : reverse_path_check_proc(watchers, depth + 1);
    if (error) break;
  }
  return error;
}

// Linux reverse_path_check: no file on tfile_check_list may now have more wakeup paths of some length than
// path_limits allows (wakeup storms); -1 if one does.
int reverse_path_check() {
  for (file* f : tfile_check_list) {
    std::fill(std::begin(path_count), std::end(path_count), 0);
    if (const int error = reverse_path_check_proc(f->f_ep, 0)) return error;
  }
  return 0;
}

int ep_insert(eventpoll& ep, const epoll_event& event, file& tfile, int fd, bool full_check) {
  if (ep.k.epoll_watches >= ep.k.config().epoll_watches_max) return -E::NOSPC;
  auto owned = std::make_unique<epitem>();
  epitem& epi = *owned;
  epi.filp = &tfile;
  epi.fd = fd;
  epi.ep = &ep;
  epi.event = event;
  epi.name = ep.k.intern(epitem_name(ep.k.trace().name(ep.name), fd));
  tfile.f_ep.push_back(&epi);  // attach_epitem
  if (full_check && !tfile.as_eventpoll()) list_file(tfile);
  ep.rbr.emplace(std::pair{tfile.id(), fd}, std::move(owned));
  ++ep.k.epoll_watches;
  ep.k.trace_event(ep.names.insert, epi.name, static_cast<std::int64_t>(event.events));
  if (full_check && reverse_path_check()) {  // too many wakeup paths now: undo (ep_remove_safe), EINVAL
    ep_remove(ep, epi);
    return -E::INVAL;
  }
  ep_pqueue epq;
  epq._qproc = ep_ptable_queue_proc;
  epq.epi = &epi;
  const __poll_t revents = ep_item_poll(epi, &epq, 1);
  if (revents && !epi.linked()) {
    ready_add_tail(ep, epi);
    wake_up_one(ep);
    ep_poll_safewake(ep);
  }
  return 0;
}

int ep_modify(eventpoll& ep, epitem& epi, const epoll_event& event) {
  // Set the new mask before polling, so an event between the poll and the registration is not missed.
  epi.event.events = event.events;
  epi.event.data = event.data;
  ep.k.trace_event(ep.names.modify, epi.name, static_cast<std::int64_t>(event.events));
  poll_table pt;
  if (ep_item_poll(epi, &pt, 1) && !epi.linked()) {
    ready_add_tail(ep, epi);
    wake_up_one(ep);
    ep_poll_safewake(ep);
  }
  return 0;
}

// Linux ep_send_events: re-poll each ready item; deliver, then requeue (LT), drop (ET) or disarm (ONESHOT).
int ep_send_events(eventpoll& ep, epoll_event* events, int maxevents) {
  if (ep.k.runtime().killed()) return -E::INTR;
  rdl_list txlist;
  ep_start_scan(ep, txlist);
  poll_table pt;
  int res = 0;
  const ep_trace_names& n = ep.names;
  while (!txlist.empty() && res < maxevents) {
    epitem& epi = txlist.front();
    txlist.pop_front();
    const __poll_t revents = ep_item_poll(epi, &pt, 1);
    if (!revents) {
      ep.k.trace_event(n.not_ready, epi.name);
      continue;
    }
    events[res++] = epoll_event{revents, epi.event.data};
    ep.k.trace_event(n.deliver, epi.name, revents);
    if (epi.event.events & EPOLL::ONESHOT) {
      epi.event.events &= EP_PRIVATE_BITS;
      ep.k.trace_event(n.disarm, epi.name);
    } else if (!(epi.event.events & EPOLL::ET)) {
      ep.rdllist.push_back(epi);  // level-triggered: check again at the next epoll_wait
      ep.k.trace_event(n.requeue, epi.name);
    }
  }
  ep_done_scan(ep, txlist);
  return res;
}

int ep_autoremove_wake_function(wait_queue_entry* wq_entry, unsigned mode, int sync, void* key) {
  const int woken = default_wake_function(wq_entry, mode, sync, key);
  wq_entry->entry.unlink();  // unconditionally, as Linux's ep_autoremove_wake_function
  return woken;
}

// Linux ep_poll. end_time_ns: -1 blocks until an event, otherwise an absolute virtual time.
int ep_poll(eventpoll& ep, epoll_event* events, int maxevents, std::int64_t end_time_ns) {
  sim::Runtime& runtime = ep.k.runtime();
  bool timed_out = end_time_ns >= 0 && end_time_ns <= runtime.now_ns();
  bool eavail = ep_events_available(ep);
  for (;;) {
    if (eavail) {
      const int res = ep_send_events(ep, events, maxevents);
      if (res) return res;
    }
    if (timed_out) return 0;
    if (runtime.killed()) return -E::INTR;
    wait_queue_entry wait;
    task_entry self{&runtime, runtime.current()};
    wait.private_ = &self;
    wait.func = ep_autoremove_wake_function;
    eavail = ep_events_available(ep);
    if (!eavail) {
      __add_wait_queue_exclusive(ep.wq, wait);
      ep.k.schedule_timeout(ep.wq.name, end_time_ns);
      timed_out = end_time_ns >= 0 && runtime.now_ns() >= end_time_ns;
    }
    eavail = true;
    if (wait.queued()) {  // not woken by an event: a timeout (or a kill)
      if (timed_out) eavail = false;
      remove_wait_queue(ep.wq, wait);
    }
  }
}

// The op itself, once the epoll file, the target and the loop check have passed (the switch of Linux
// do_epoll_ctl).
int epoll_ctl_op(eventpoll& ep, int op, file& tfile, int fd, epoll_event epds, bool full_check) {
  const auto found = ep.rbr.find({tfile.id(), fd});
  epitem* epi = found == ep.rbr.end() ? nullptr : found->second.get();
  switch (op) {
    case EPOLL::CTL_ADD:
      if (epi) return -E::EXIST;
      epds.events |= EPOLL::ERR | EPOLL::HUP;
      return ep_insert(ep, epds, tfile, fd, full_check);
    case EPOLL::CTL_DEL:
      if (!epi) return -E::NOENT;
      ep_remove(ep, *epi);
      return 0;
    case EPOLL::CTL_MOD:
      if (!epi) return -E::NOENT;
      if (epi->event.events & EPOLL::EXCLUSIVE) return -E::INVAL;
      epds.events |= EPOLL::ERR | EPOLL::HUP;
      return ep_modify(ep, *epi, epds);
    default: return -E::INVAL;
  }
}

}  // namespace

eventpoll::eventpoll(kernel& k_, std::uint32_t name_) : k(k_), name(name_) {
  const std::string_view base = k.trace().name(name);
  wq.name = k.intern(wq_name(base));
  poll_wait.name = k.intern(poll_wait_name(base));
  names = {k.intern("ep.callback"),  k.intern("ep.rdllist_add"), k.intern("ep.ovflist_add"),
           k.intern("ep.deliver"),   k.intern("ep.requeue"),     k.intern("ep.disarm"),
           k.intern("ep.not_ready"), k.intern("ep.insert"),      k.intern("ep.remove"),
           k.intern("ep.modify"),    k.intern("ep.rdllist_len")};
}

eventpoll::~eventpoll() {
  // Linux ep_clear_and_put: unhook every item from the files it watches.
  while (!rbr.empty()) ep_remove(*this, *rbr.begin()->second);
}

eventpoll_file::eventpoll_file(kernel& k_, std::uint32_t name_, int f_flags_)
    : file(k_, name_, f_flags_), ep(k_, name_) {
  ep.owner = this;
}

__poll_t eventpoll_file::poll(poll_table* pt) { return __ep_eventpoll_poll(ep, pt, 0); }

void eventpoll_file::rename_derived(std::string_view name) {
  sim::Trace& trace = k().trace();
  trace.rename(ep.wq.name, wq_name(name));
  trace.rename(ep.poll_wait.name, poll_wait_name(name));
  for (const auto& [key, epi] : ep.rbr) trace.rename(epi->name, epitem_name(name, epi->fd));
}

void eventpoll_file::release() {
  while (!ep.rbr.empty()) ep_remove(ep, *ep.rbr.begin()->second);
}

void eventpoll_release(file& f) {
  // Linux eventpoll_release_file: the last reference to a watched file is gone; its items go with it.
  while (!f.f_ep.empty()) {
    epitem* epi = f.f_ep.front();
    ep_remove(*epi->ep, *epi);
  }
}

int kernel::sys_epoll_create1(int flags) {
  if (flags & ~EPOLL::CLOEXEC) return -E::INVAL;
  const std::uint32_t name = intern(fmt::format("eventpoll#{}", next_object_number()));
  return install_fd(make_file<eventpoll_file>(*this, name, O::RDWR), flags & EPOLL::CLOEXEC);
}

int kernel::sys_epoll_ctl(int epfd, int op, int fd, const epoll_event* event) {
  // Linux do_epoll_ctl, with its checks in its order.
  if (op != EPOLL::CTL_DEL && !event) return -E::FAULT;
  const file_ref f = files_.fget(epfd);
  if (!f) return -E::BADF;
  const file_ref tf = files_.fget(fd);
  if (!tf) return -E::BADF;
  if (!tf->can_poll()) return -E::PERM;
  epoll_event epds = event ? *event : epoll_event{};
  if (op != EPOLL::CTL_DEL) epds.events &= ~EPOLL::WAKEUP;  // ep_take_care_of_epollwakeup: no CAP_BLOCK_SUSPEND
  eventpoll* ep = f->as_eventpoll();
  if (f == tf || !ep) return -E::INVAL;
  eventpoll* tep = tf->as_eventpoll();
  if (op != EPOLL::CTL_DEL && (epds.events & EPOLL::EXCLUSIVE)) {
    if (op == EPOLL::CTL_MOD) return -E::INVAL;
    if (op == EPOLL::CTL_ADD && (tep || (epds.events & ~EPOLLEXCLUSIVE_OK_BITS))) return -E::INVAL;
  }
  // An ADD that may create a wakeup path longer than one set (the epoll file is itself watched, or the target
  // is an epoll file) checks loops and depth, and afterwards counts the paths (Linux full_check).
  bool full_check = false;
  if (op == EPOLL::CTL_ADD && (!f->f_ep.empty() || ep->gen == loop_check_gen || tep)) {
    ++loop_check_gen;
    full_check = true;
  }
  const bool loop = full_check && tep && !ep_loop_check(*ep, *tep);
  const int result = loop ? -E::LOOP : epoll_ctl_op(*ep, op, *tf, fd, epds, full_check);
  if (full_check) {  // Linux clear_tfile_check_list, loop_check_gen++
    tfile_check_list.clear();
    ++loop_check_gen;
  }
  return result;
}

int kernel::sys_epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  // Linux do_epoll_wait: the fd first (EBADF), then ep_check_params (maxevents, then not an epoll file:
  // EINVAL). Linux before 6.15 checked maxevents before the fd; the LinuxOs oracle has ep_check_params.
  const file_ref f = files_.fget(epfd);
  if (!f) return -E::BADF;
  if (maxevents <= 0 || maxevents > EP_MAX_EVENTS) return -E::INVAL;
  eventpoll* ep = f->as_eventpoll();
  if (!ep) return -E::INVAL;
  std::int64_t end_time_ns = -1;
  if (timeout_ms >= 0) end_time_ns = runtime_.now_ns() + std::int64_t{timeout_ms} * 1'000'000;
  return ep_poll(*ep, events, maxevents, end_time_ns);
}

}  // namespace iosim::kernel
