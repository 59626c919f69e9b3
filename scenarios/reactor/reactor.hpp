// scenarios/reactor/reactor.hpp — a small Reactor: one thread waits in epoll and calls each fd's handler;
// timers are an ordered deadline map whose earliest entry becomes the epoll_wait timeout.
//
// The pattern (Schmidt's Reactor, the shape of libevent, libuv's uv__io_poll, Java NIO, Python's asyncio):
// application code never waits. It registers "call me when fd X is readable/writable" and "call me in D
// ns", and the reactor's loop is the only place the thread blocks — in epoll_wait, for at most the time to
// the next timer. Handlers run to completion on the loop thread, one at a time, so they need no locks; the
// price is that a handler that blocks or runs long stalls every other connection.
//
// Level-triggered epoll underneath: a handler may do one read per call and leave the rest, and it is
// called again. Interest is the handler's to manage (modify), as with raw epoll: ask for writable only
// while there is something to write.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iosim/os.hpp"

namespace iosim::reactor {

// Interest bits: what a handler wants to be called for. EPOLLERR and EPOLLHUP are always reported.
inline constexpr std::uint32_t readable = EPOLL::IN;
inline constexpr std::uint32_t writable = EPOLL::OUT;

// Called with the events epoll reported for the fd (readable, writable, EPOLLERR, EPOLLHUP ...).
using IoHandler = std::function<void(std::uint32_t events)>;
using TimerHandler = std::function<void()>;

// Names one armed timer. Ordered by deadline, then by the order timers were added (equal deadlines fire
// first-in first-out).
struct TimerId {
  std::int64_t deadline_ns = 0;
  std::uint64_t sequence = 0;
  auto operator<=>(const TimerId&) const = default;
};

inline constexpr int reactor_max_events_default = 64;

class Reactor {
 public:
  // `max_events`: epoll_event slots per epoll_wait (more ready fds are returned by the next one).
  explicit Reactor(Os& os, int max_events = reactor_max_events_default);
  ~Reactor();  // closes the epoll fd; the registered fds belong to their owners
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // epoll_create1. Every other call needs it to have succeeded.
  bool open();

  // Calls `handler` whenever `fd` is ready for `interest` (readable | writable). The fd must not be
  // registered.
  bool add(int fd, std::uint32_t interest, IoHandler handler);
  // Changes what `fd` is watched for; free when the interest is unchanged (no syscall).
  bool modify(int fd, std::uint32_t interest);
  // Stops watching `fd`. Call before close(fd): events already collected for it are then dropped, not
  // delivered to whatever handler a reused fd number gets next.
  bool remove(int fd);
  bool contains(int fd) const { return registrations_.count(fd) != 0; }

  // Calls `handler` once, on the loop thread, no earlier than `delay_ns` after now_ns().
  TimerId add_timer(std::int64_t delay_ns, TimerHandler handler);
  // False when the timer already fired or was cancelled.
  bool cancel_timer(const TimerId& id);
  std::size_t timer_count() const { return timers_.size(); }

  // Makes run() return as soon as the handler that called stop() returns; events and timers not yet
  // dispatched stay undelivered.
  void stop() { stopped_ = true; }
  // The loop: wait (epoll_wait with the time to the next timer), dispatch I/O events, fire due timers;
  // until stop(). False when a call failed: error() says which, e.g. "epoll_wait: EBADF".
  bool run();

  // The first failure, "<call>: <errno name>"; empty while none.
  const std::string& error() const { return error_; }
  Os& os() { return os_; }
  // The loop's clock (os.monotonic_ns), read once when the loop wakes, as libuv's uv_now: handlers that only
  // need "about now" — to stamp activity, to set a timer — cost no clock call each.
  std::int64_t now_ns() const { return now_ns_; }

 private:
  struct Registration {
    std::uint32_t interest = 0;
    std::uint32_t generation = 0;        // which add() of this fd number; stale events carry an older one
    std::shared_ptr<IoHandler> handler;  // shared: a handler may remove itself while it runs
  };

  bool fail(std::string_view call);
  int next_timeout_ms();
  void dispatch(const epoll_event& event);
  void fire_due_timers();

  Os& os_;
  int epoll_fd_ = -1;
  std::vector<epoll_event> events_;
  std::map<int, Registration> registrations_;  // by fd
  std::uint32_t next_generation_ = 1;
  std::map<TimerId, TimerHandler> timers_;  // the earliest deadline first
  std::uint64_t next_timer_sequence_ = 1;
  std::int64_t now_ns_ = 0;
  bool stopped_ = false;
  std::string error_;
};

}  // namespace iosim::reactor
