// scenarios/apps/echo_epoll_exclusive.cpp — echo server, N threads with their own epoll fds sharing the
// listener via EPOLLEXCLUSIVE. Locks: the accept count is shared (mutex); connections belong to one thread.
//
// The I/O model. The classic way to spread connections over threads is to let every thread wait on the
// listener. Without EPOLLEXCLUSIVE that has a thundering herd: each thread's epoll hangs its own callback on
// the listener's wait queue, so one arriving connection runs every callback and wakes every thread. Each
// woken thread re-checks the listener; those that still find it readable return and race in accept, one
// wins and the rest get EAGAIN — N wake-ups, and up to N syscalls, for one connection. EPOLLEXCLUSIVE
// (Linux 4.5) marks the callback exclusive: wake_up on the listener walks the wait queue and stops after the
// first exclusive entry that actually woke a sleeping thread, so one connection wakes one thread (the
// documentation says "one or more"). Set the param exclusive to 0 to watch the herd: the test
// ExclusiveWakesFewerThreadsForNothing counts the wasted wake-ups both ways.
//
// accept can still return EAGAIN here, and the code must treat that as normal. The walk passes over epolls
// whose thread is not sleeping (busy serving its connections) but still puts the listener on their ready
// lists; when such a thread next calls epoll_wait it is told "listener readable", although the thread that
// was woken may have taken the connection long ago. One thread accepting until EAGAIN can likewise empty
// the queue behind another thread's wake-up. Readiness is a hint; EAGAIN is the answer to a stale one.
//
// Ending: the thread that accepts the last wanted connection writes an eventfd that every epoll watches
// (level-triggered, not exclusive, never read), so threads with nothing left to serve wake up and return;
// each thread removes the eventfd from its own set once it has seen it, or it would be reported forever.
#include <map>
#include <memory>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam threads_param{"threads", 4, 1, 64,
                                 "threads, each with its own epoll fd, sharing the listener"};
constexpr AppParam exclusive_param{
    "exclusive", 1, 0, 1, "1 adds the listener with EPOLLEXCLUSIVE; 0 without, to watch the thundering herd"};
constexpr AppParam params[] = {backlog_param,    read_chunk_param, tcp_nodelay_param,
                               max_events_param, threads_param,    exclusive_param};

struct SharedState {
  std::uint32_t listener_events = EPOLL::IN | EPOLL::EXCLUSIVE;  // EPOLLIN alone when the param says 0
  int listen_fd = -1;
  int all_accepted_fd = -1;  // eventfd: readable once every wanted connection has been accepted
  std::unique_ptr<Mutex> mutex;
  int accepted = 0;     // guarded by `mutex`
  bool failed = false;  // guarded by `mutex`: a thread failed, everyone returns
};

// One thread: its own epoll fd and connections, touched by nobody else. Errors go to its own context and are
// merged into the app's after join().
struct Worker {
  AppContext ctx;
  SharedState& shared;
  int epoll_fd = -1;
  bool all_accepted = false;  // this thread has seen all_accepted_fd
  std::map<int, EchoConnection> connections;
  std::vector<std::byte> scratch;
  std::unique_ptr<Thread> thread;
};

bool signal_all_accepted(AppContext& ctx, int all_accepted_fd) {
  const std::uint64_t one = 1;
  for (;;) {
    // An eventfd write is all or nothing (8 bytes); only a signal (EINTR) makes us try again.
    if (ctx.os.write(all_accepted_fd, &one, sizeof one) == sizeof one) return true;
    if (ctx.os.last_errno() != E::INTR) break;
  }
  fail(ctx, "write(eventfd)");
  return false;
}

// Counts one accepted connection; the thread that counts the last one tells everybody.
void count_accepted(Worker& worker) {
  bool last = false;
  {
    LockGuard lock(*worker.shared.mutex);
    last = ++worker.shared.accepted == worker.ctx.connections;
  }
  if (last) signal_all_accepted(worker.ctx, worker.shared.all_accepted_fd);
}

// Accepts until EAGAIN — which may come at once: see the file banner. Each connection goes on this thread's
// own epoll fd and is served by this thread to the end.
void accept_connections(Worker& worker) {
  AppContext& ctx = worker.ctx;
  for (;;) {
    const int fd = accept_nonblocking(ctx, worker.shared.listen_fd);
    if (fd < 0) return;  // EAGAIN: empty queue — perhaps another thread emptied it (or ctx.error: failed)
    worker.connections.emplace(fd, EchoConnection{fd});
    if (!configure_connection(ctx, fd) ||
        !epoll_control(ctx, worker.epoll_fd, EPOLL::CTL_ADD, fd, EPOLL::IN)) {
      return;
    }
    count_accepted(worker);
  }
}

// Level-triggered service, as in echo_epoll_lt.cpp: one step per event, EPOLLOUT only while output is
// pending.
void service(Worker& worker, EchoConnection& connection) {
  AppContext& ctx = worker.ctx;
  const bool had_pending = connection.has_pending();
  const IoStep step =
      had_pending ? echo_flush(ctx, connection) : echo_readable(ctx, connection, worker.scratch);
  if (step == IoStep::failed) return;
  if (step == IoStep::peer_closed) {
    close_fd(ctx, connection.fd);
    worker.connections.erase(connection.fd);
    return;
  }
  if (connection.has_pending() != had_pending) {
    epoll_control(ctx, worker.epoll_fd, EPOLL::CTL_MOD, connection.fd,
                  connection.has_pending() ? EPOLL::OUT : EPOLL::IN);
  }
}

// Every connection is accepted: the listener and the eventfd have nothing more to say to this thread.
void on_all_accepted(Worker& worker) {
  worker.all_accepted = true;
  epoll_control(worker.ctx, worker.epoll_fd, EPOLL::CTL_DEL, worker.shared.all_accepted_fd, 0);
  epoll_control(worker.ctx, worker.epoll_fd, EPOLL::CTL_DEL, worker.shared.listen_fd, 0);
}

void dispatch(Worker& worker, const epoll_event& event) {
  const int fd = static_cast<int>(event.data);
  if (fd == worker.shared.all_accepted_fd) {
    on_all_accepted(worker);
  } else if (fd == worker.shared.listen_fd) {
    if (!worker.all_accepted) accept_connections(worker);
  } else if (const auto found = worker.connections.find(fd); found != worker.connections.end()) {
    service(worker, found->second);
  }
}

bool set_up_worker(Worker& worker) {
  AppContext& ctx = worker.ctx;
  worker.epoll_fd = ctx.os.epoll_create1(EPOLL::CLOEXEC);
  if (worker.epoll_fd < 0) {
    fail(ctx, "epoll_create1");
    return false;
  }
  // EPOLLEXCLUSIVE may only be given at EPOLL_CTL_ADD (EPOLL_CTL_MOD of such an item is EINVAL).
  return epoll_control(ctx, worker.epoll_fd, EPOLL::CTL_ADD, worker.shared.listen_fd,
                       worker.shared.listener_events) &&
         epoll_control(ctx, worker.epoll_fd, EPOLL::CTL_ADD, worker.shared.all_accepted_fd, EPOLL::IN);
}

bool someone_failed(Worker& worker) {
  LockGuard lock(*worker.shared.mutex);
  return worker.shared.failed;
}

void run_worker(Worker& worker, int max_events) {
  AppContext& ctx = worker.ctx;
  std::vector<epoll_event> events(static_cast<std::size_t>(max_events));
  bool ok = set_up_worker(worker);
  while (ok && ctx.error.empty() && !(worker.all_accepted && worker.connections.empty()) &&
         !someone_failed(worker)) {
    const int ready = ctx.os.epoll_wait(worker.epoll_fd, events.data(), max_events, -1);
    if (ready < 0) {
      if (ctx.os.last_errno() == E::INTR) continue;
      fail(ctx, "epoll_wait");
      break;
    }
    for (int index = 0; index < ready && ctx.error.empty(); ++index) dispatch(worker, events[index]);
  }
  if (!ctx.error.empty()) {
    {
      LockGuard lock(*worker.shared.mutex);
      worker.shared.failed = true;
    }
    // Wake the threads that sleep with nothing to serve (the eventfd also means "look at `failed`").
    signal_all_accepted(ctx, worker.shared.all_accepted_fd);
  }
  for (const auto& [fd, connection] : worker.connections) ctx.os.close(fd);  // after an error
  if (worker.epoll_fd >= 0) close_fd(ctx, worker.epoll_fd);
}

bool set_up(AppContext& ctx, SharedState& shared) {
  shared.listen_fd = listen_on_loopback(ctx, SOCK::NONBLOCK);
  if (shared.listen_fd < 0) return false;
  shared.all_accepted_fd = ctx.os.eventfd(0, EFD::NONBLOCK | EFD::CLOEXEC);
  if (shared.all_accepted_fd < 0) {
    fail(ctx, "eventfd");
    return false;
  }
  if (ctx.connections == 0) return signal_all_accepted(ctx, shared.all_accepted_fd);
  return true;
}

void echo_epoll_exclusive_main(AppContext& ctx) {
  SharedState shared;
  shared.mutex = ctx.os.mutex_create();
  if (param_int(ctx.params, exclusive_param) == 0) shared.listener_events = EPOLL::IN;
  if (set_up(ctx, shared)) {
    const auto thread_count = static_cast<int>(param_int(ctx.params, threads_param));
    const auto max_events = static_cast<int>(param_int(ctx.params, max_events_param));
    // Workers never move once created (unique_ptr): each thread holds a reference to its own.
    std::vector<std::unique_ptr<Worker>> workers;
    for (int index = 0; index < thread_count; ++index) {
      workers.push_back(
          std::make_unique<Worker>(Worker{AppContext{ctx.os, ctx.params, ctx.connections, {}, {}}, shared}));
      Worker& worker = *workers.back();
      worker.scratch.resize(static_cast<std::size_t>(param_int(ctx.params, read_chunk_param)));
      worker.thread = ctx.os.thread_create("worker-" + std::to_string(index + 1),
                                           [&worker, max_events] { run_worker(worker, max_events); });
    }
    for (auto& worker : workers) {
      worker->thread->join();
      if (ctx.error.empty() && !worker->ctx.error.empty()) ctx.error = worker->ctx.error;
    }
  }
  for (const int fd : {shared.all_accepted_fd, shared.listen_fd}) {
    if (fd >= 0) close_fd(ctx, fd);
  }
}

}  // namespace

AppInfo echo_epoll_exclusive_app() {
  return {"echo_epoll_exclusive",
          "echo server: N threads, each its own epoll fd, sharing the listener with EPOLLEXCLUSIVE (one "
          "wake-up per connection)",
          echo_epoll_exclusive_main, params};
}

}  // namespace iosim::servers
