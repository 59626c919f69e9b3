// scenarios/apps/echo_epoll_oneshot_threads.cpp — echo server, a thread pool on ONE epoll fd, every fd
// EPOLLONESHOT. Locks: the connection table is shared (mutex); a connection belongs to its event's holder.
//
// The I/O model. N threads call epoll_wait on the same epoll fd, so any of them may receive any event. With
// plain level-triggered registration two threads could be handed the same socket: thread A gets "fd 7
// readable" and starts recv; the data is not all consumed yet, so the next epoll_wait — in thread B — reports
// fd 7 again, and A and B now recv and send on one connection at the same time, interleaving echo bytes.
// EPOLLONESHOT closes that window in the kernel: once an event for an fd is delivered, the registration is
// disarmed (no further events, whatever happens to the socket) until someone re-arms it with EPOLL_CTL_MOD.
// The thread holding the event is therefore the only one touching that connection, without a lock, and it
// re-arms only when it is done with its step — for EPOLLOUT if output is pending, else EPOLLIN. Re-arming
// checks readiness at once (ep_modify polls the socket), so data that arrived while the fd was disarmed is
// reported right away: no edge is lost.
//
// The listener is a shared fd like any other: registered EPOLLIN|EPOLLONESHOT, so exactly one thread accepts
// at a time (until EAGAIN), registers the new connections, and re-arms the listener while connections are
// still wanted. To stop the pool, the thread that closes the last connection writes an eventfd registered
// level-triggered and never read: it stays readable, and epoll re-reports a level-triggered item after
// delivering it and wakes the next sleeper, so every thread sees it and returns.
#include <map>
#include <memory>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam threads_param{"threads", 4, 1, 64,
                                 "worker threads calling epoll_wait on the shared epoll fd"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, threads_param};

// State every worker sees. The fds are set before the workers start and never change.
struct SharedState {
  int epoll_fd = -1;
  int listen_fd = -1;
  int stop_fd = -1;  // eventfd: readable once the pool should stop
  std::unique_ptr<Mutex> mutex;
  // Guarded by `mutex`. A connection object lives in the table from before its EPOLL_CTL_ADD until just
  // before its close; its contents belong to whichever thread holds its (one-shot) event.
  std::map<int, std::unique_ptr<EchoConnection>> connections;
  int accepted = 0;  // guarded by `mutex`
  int finished = 0;  // guarded by `mutex`: connections closed after the client was done
};

// One worker's own context: its errors are recorded here (AppContext::error is not shared between threads)
// and merged into the app's after join().
struct Worker {
  AppContext ctx;
  SharedState& shared;
  std::vector<std::byte> scratch;
  std::unique_ptr<Thread> thread;
};

// Wakes every worker for good: the eventfd stays readable, and it is never read.
bool stop_pool(AppContext& ctx, int stop_fd) {
  const std::uint64_t one = 1;
  for (;;) {
    // An eventfd write is all or nothing (8 bytes); only a signal (EINTR) makes us try again.
    if (ctx.os.write(stop_fd, &one, sizeof one) == sizeof one) return true;
    if (ctx.os.last_errno() != E::INTR) break;
  }
  fail(ctx, "write(eventfd)");
  return false;
}

// Registers an accepted connection. The table entry comes first: once EPOLL_CTL_ADD returns, another thread
// may already hold the connection's first event and look it up.
bool register_connection(Worker& worker, int fd) {
  SharedState& shared = worker.shared;
  {
    LockGuard lock(*shared.mutex);
    shared.connections.emplace(fd, std::make_unique<EchoConnection>(EchoConnection{fd}));
    ++shared.accepted;
  }
  return configure_connection(worker.ctx, fd) &&
         epoll_control(worker.ctx, shared.epoll_fd, EPOLL::CTL_ADD, fd, EPOLL::IN | EPOLL::ONESHOT);
}

// This thread holds the listener's one-shot event: no other thread is accepting. Accept until EAGAIN, then
// re-arm the listener if more connections are wanted (if not, it simply stays disarmed).
void accept_connections(Worker& worker) {
  SharedState& shared = worker.shared;
  AppContext& ctx = worker.ctx;
  for (;;) {
    {
      LockGuard lock(*shared.mutex);
      if (shared.accepted == ctx.connections)
        return;  // every connection is here: leave the listener disarmed
    }
    const int fd = ctx.os.accept4(shared.listen_fd, nullptr, SOCK::NONBLOCK);
    if (fd >= 0) {
      if (!register_connection(worker, fd)) return;
      continue;
    }
    const int error = ctx.os.last_errno();
    if (error == E::INTR || error == E::CONNABORTED) continue;
    if (error != E::AGAIN) {
      fail(ctx, "accept4");
      return;
    }
    break;  // EAGAIN: the queue is empty
  }
  epoll_control(ctx, shared.epoll_fd, EPOLL::CTL_MOD, shared.listen_fd, EPOLL::IN | EPOLL::ONESHOT);
}

// Takes the connection out of the table, then closes it — in that order: until close() the fd number is
// ours, so no accept in another thread can be handed the same number and find our entry in its place.
void finish_connection(Worker& worker, int fd) {
  SharedState& shared = worker.shared;
  bool last = false;
  {
    LockGuard lock(*shared.mutex);
    shared.connections.erase(fd);
    last = ++shared.finished == worker.ctx.connections;
  }
  close_fd(worker.ctx, fd);
  if (last) stop_pool(worker.ctx, shared.stop_fd);
}

// This thread holds the connection's one-shot event, so it alone may touch the connection: one step (flush,
// or one recv and its echo), then re-arm for what the connection needs next.
void service(Worker& worker, int fd) {
  EchoConnection* connection = nullptr;
  {
    LockGuard lock(*worker.shared.mutex);
    const auto found = worker.shared.connections.find(fd);
    if (found != worker.shared.connections.end()) connection = found->second.get();
  }
  if (connection == nullptr) return;
  AppContext& ctx = worker.ctx;
  const IoStep step = connection->has_pending() ? echo_flush(ctx, *connection)
                                                : echo_readable(ctx, *connection, worker.scratch);
  if (step == IoStep::failed) return;
  if (step == IoStep::peer_closed) {
    finish_connection(worker, fd);
    return;
  }
  const std::uint32_t interest = connection->has_pending() ? EPOLL::OUT : EPOLL::IN;
  // After this call another thread may receive the next event: `connection` is no longer ours to touch.
  epoll_control(ctx, worker.shared.epoll_fd, EPOLL::CTL_MOD, fd, interest | EPOLL::ONESHOT);
}

// A worker: one event at a time (maxevents 1), so an event never waits in this thread's hands while it is
// busy with another and some other thread sits idle.
void run_worker(Worker& worker) {
  SharedState& shared = worker.shared;
  AppContext& ctx = worker.ctx;
  while (ctx.error.empty()) {
    epoll_event event;
    const int ready = ctx.os.epoll_wait(shared.epoll_fd, &event, 1, -1);
    if (ready < 0) {
      if (ctx.os.last_errno() == E::INTR) continue;
      fail(ctx, "epoll_wait");
      break;
    }
    if (ready == 0) continue;
    const int fd = static_cast<int>(event.data);
    if (fd == shared.stop_fd) return;  // not read: it must stay readable for the other workers
    if (fd == shared.listen_fd) {
      accept_connections(worker);
    } else {
      service(worker, fd);
    }
  }
  stop_pool(ctx, shared.stop_fd);  // this worker failed: stop the others too, the app is over
}

bool set_up(AppContext& ctx, SharedState& shared) {
  shared.listen_fd = listen_on_loopback(ctx, SOCK::NONBLOCK);
  if (shared.listen_fd < 0) return false;
  shared.epoll_fd = ctx.os.epoll_create1(EPOLL::CLOEXEC);
  if (shared.epoll_fd < 0) {
    fail(ctx, "epoll_create1");
    return false;
  }
  shared.stop_fd = ctx.os.eventfd(0, EFD::NONBLOCK | EFD::CLOEXEC);
  if (shared.stop_fd < 0) {
    fail(ctx, "eventfd");
    return false;
  }
  if (!epoll_control(ctx, shared.epoll_fd, EPOLL::CTL_ADD, shared.stop_fd, EPOLL::IN) ||
      !epoll_control(ctx, shared.epoll_fd, EPOLL::CTL_ADD, shared.listen_fd, EPOLL::IN | EPOLL::ONESHOT)) {
    return false;
  }
  if (ctx.connections == 0) return stop_pool(ctx, shared.stop_fd);  // nothing to serve: stop at once
  return true;
}

void echo_epoll_oneshot_threads_main(AppContext& ctx) {
  SharedState shared;
  shared.mutex = ctx.os.mutex_create();
  if (set_up(ctx, shared)) {
    const auto thread_count = static_cast<int>(param_int(ctx.params, threads_param));
    const auto read_chunk_bytes = static_cast<std::size_t>(param_int(ctx.params, read_chunk_param));
    // Workers never move once created (unique_ptr): each thread holds a reference to its own.
    std::vector<std::unique_ptr<Worker>> workers;
    for (int index = 0; index < thread_count; ++index) {
      workers.push_back(std::make_unique<Worker>(
          Worker{AppContext{ctx.os, ctx.params, ctx.connections, {}, {}}, shared, {}, {}}));
      Worker& worker = *workers.back();
      worker.scratch.resize(read_chunk_bytes);
      worker.thread =
          ctx.os.thread_create("worker-" + std::to_string(index + 1), [&worker] { run_worker(worker); });
    }
    for (auto& worker : workers) {
      worker->thread->join();
      if (ctx.error.empty() && !worker->ctx.error.empty()) ctx.error = worker->ctx.error;
    }
  }
  for (const auto& [fd, connection] : shared.connections) ctx.os.close(fd);  // after an error
  for (const int fd : {shared.stop_fd, shared.epoll_fd, shared.listen_fd}) {
    if (fd >= 0) close_fd(ctx, fd);
  }
}

}  // namespace

AppInfo echo_epoll_oneshot_threads_app() {
  return {"echo_epoll_oneshot_threads",
          "echo server: a thread pool on one shared epoll fd, EPOLLONESHOT so one thread owns a socket until "
          "it re-arms",
          echo_epoll_oneshot_threads_main, params};
}

}  // namespace iosim::servers
