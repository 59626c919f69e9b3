// scenarios/reactor/reactor.cpp — the Reactor's loop: epoll_wait with the time to the next timer, dispatch of
// each event to its fd's handler (stale events dropped by generation), then the due timers in deadline order.
#include "scenarios/reactor/reactor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>

#include "iosim/assert.hpp"

namespace iosim::reactor {
namespace {

// An epoll_event's data: the fd in the low half, the registration's generation in the high half. The fd
// alone is not enough: a handler may close fd 7 and accept a new connection that is given fd 7 again, all
// within one batch, and an event collected for the old fd 7 must not reach the new one's handler.
std::uint64_t event_data(int fd, std::uint32_t generation) {
  return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
}

}  // namespace

Reactor::Reactor(Os& os, int max_events) : os_(os), events_(static_cast<std::size_t>(max_events)) {
  IOSIM_ASSERT(max_events > 0, "Reactor needs at least one epoll_event slot");
}

Reactor::~Reactor() {
  if (epoll_fd_ >= 0) os_.close(epoll_fd_);
}

bool Reactor::fail(std::string_view call) {
  if (error_.empty()) error_ = fmt::format("{}: {}", call, errno_name(os_.last_errno()));
  return false;
}

bool Reactor::open() {
  IOSIM_ASSERT(epoll_fd_ < 0, "Reactor::open called twice");
  epoll_fd_ = os_.epoll_create1(EPOLL::CLOEXEC);
  now_ns_ = os_.monotonic_ns();
  return epoll_fd_ >= 0 || fail("epoll_create1");
}

bool Reactor::add(int fd, std::uint32_t interest, IoHandler handler) {
  IOSIM_ASSERT(epoll_fd_ >= 0, "Reactor::add before open");
  IOSIM_ASSERT(!contains(fd), "Reactor::add: fd already registered");
  Registration registration{interest, next_generation_++, std::make_shared<IoHandler>(std::move(handler))};
  epoll_event event{interest, event_data(fd, registration.generation)};
  if (os_.epoll_ctl(epoll_fd_, EPOLL::CTL_ADD, fd, &event) < 0) return fail("epoll_ctl(EPOLL_CTL_ADD)");
  registrations_.emplace(fd, std::move(registration));
  return true;
}

bool Reactor::modify(int fd, std::uint32_t interest) {
  const auto found = registrations_.find(fd);
  IOSIM_ASSERT(found != registrations_.end(), "Reactor::modify: fd not registered");
  Registration& registration = found->second;
  if (registration.interest == interest) return true;  // the kernel already watches for exactly this
  epoll_event event{interest, event_data(fd, registration.generation)};
  if (os_.epoll_ctl(epoll_fd_, EPOLL::CTL_MOD, fd, &event) < 0) return fail("epoll_ctl(EPOLL_CTL_MOD)");
  registration.interest = interest;
  return true;
}

bool Reactor::remove(int fd) {
  const auto found = registrations_.find(fd);
  IOSIM_ASSERT(found != registrations_.end(), "Reactor::remove: fd not registered");
  registrations_.erase(found);  // from here on, events already collected for this fd are stale
  return os_.epoll_ctl(epoll_fd_, EPOLL::CTL_DEL, fd, nullptr) == 0 || fail("epoll_ctl(EPOLL_CTL_DEL)");
}

TimerId Reactor::add_timer(std::int64_t delay_ns, TimerHandler handler) {
  const TimerId id{now_ns_ + std::max<std::int64_t>(delay_ns, 0), next_timer_sequence_++};
  timers_.emplace(id, std::move(handler));
  return id;
}

bool Reactor::cancel_timer(const TimerId& id) {
  return timers_.erase(id) != 0;
}

// The epoll_wait timeout: -1 (no timer: sleep until I/O), 0 (a timer is due), else the milliseconds to the
// earliest deadline rounded up. Rounding down would wake us just before the deadline, find nothing due, and
// go round again with a timeout of 0 — a short busy loop before every timer.
int Reactor::next_timeout_ms() {
  if (timers_.empty()) return -1;
  const std::int64_t remaining_ns = timers_.begin()->first.deadline_ns - now_ns_;
  if (remaining_ns <= 0) return 0;
  const std::int64_t timeout_ms = (remaining_ns + 999'999) / 1'000'000;
  return timeout_ms > INT_MAX ? INT_MAX : static_cast<int>(timeout_ms);
}

void Reactor::dispatch(const epoll_event& event) {
  const int fd = static_cast<int>(static_cast<std::uint32_t>(event.data));
  const auto generation = static_cast<std::uint32_t>(event.data >> 32);
  const auto found = registrations_.find(fd);
  // Removed since epoll_wait collected this event — perhaps re-added for a new file with the same number.
  if (found == registrations_.end() || found->second.generation != generation) return;
  // A copy of the pointer keeps the handler alive if it removes its own registration while it runs.
  const std::shared_ptr<IoHandler> handler = found->second.handler;
  (*handler)(event.events);
}

// Fires every timer due now, earliest first. Timers that these handlers add wait for the next pass, even
// with a zero delay, so a timer that re-arms itself cannot keep the loop from returning to epoll_wait.
void Reactor::fire_due_timers() {
  std::vector<TimerId> due;
  for (auto it = timers_.begin(); it != timers_.end() && it->first.deadline_ns <= now_ns_; ++it)
    due.push_back(it->first);
  for (const TimerId& id : due) {
    if (stopped_) return;
    auto node = timers_.extract(id);
    if (node.empty()) continue;  // cancelled by an earlier handler of this pass
    node.mapped()();
  }
}

bool Reactor::run() {
  IOSIM_ASSERT(epoll_fd_ >= 0, "Reactor::run before open");
  while (!stopped_) {
    const int ready =
        os_.epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), next_timeout_ms());
    now_ns_ = os_.monotonic_ns();  // one clock read per wake-up, for the handlers and the timers below
    if (ready < 0) {
      if (os_.last_errno() == E::INTR) continue;  // a signal: recompute the timeout and wait again
      return fail("epoll_wait");
    }
    for (int index = 0; index < ready && !stopped_; ++index)
      dispatch(events_[static_cast<std::size_t>(index)]);
    fire_due_timers();
  }
  return true;
}

}  // namespace iosim::reactor
