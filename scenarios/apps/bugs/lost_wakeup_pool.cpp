// scenarios/apps/bugs/lost_wakeup_pool.cpp — bug zoo: a worker pool fed through a mutex-guarded queue of
// accepted fds and a condition variable; with hold_lock_across_wait=0 a worker checks the queue, unlocks,
// then locks again to wait, so a notify sent between the two is lost and that connection is never served.
//
// The lock discipline. `queue`, `untaken` and `closed` are guarded by `mutex`. The acceptor pushes an fd and
// calls notify_one; a worker takes the front fd and serves it with blocking recv/send until the client
// closes. The correct worker tests "is there work?" and goes to sleep in one critical section
// (while (queue.empty()) wait), because CondVar::wait releases the mutex atomically with going to sleep: no
// notify can fall between the test and the sleep. The buggy worker tests under the lock, releases it, and
// only then locks again and waits. If the acceptor pushes and notifies inside that window while every other
// worker is busy or in the same window, the notify wakes no one, and the worker sleeps with work queued.
// The client waits for its echo forever: all_tasks_finished reports the deadlock.
#include <deque>
#include <memory>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam workers_param{"workers", 2, 1, 64, "worker threads taking connections from the queue"};
constexpr AppParam hold_lock_param{"hold_lock_across_wait", 1, 0, 1,
                                   "1: check the queue and wait in one critical section; 0: unlock between "
                                   "check and wait (the lost wake-up)"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, workers_param,
                               hold_lock_param};

// The hand-off between the acceptor and the workers. Every field after the two pointers is guarded by mutex.
struct WorkQueue {
  std::unique_ptr<Mutex> mutex;
  std::unique_ptr<CondVar> work_available;
  std::deque<int> queue;  // accepted fds not yet taken by a worker
  int untaken = 0;        // connections not yet taken by a worker (accepted or still to be accepted)
  bool closed = false;    // the acceptor stopped early: no more fds will come
  bool hold_lock_across_wait = true;
};

// What take_locked returns instead of an fd.
constexpr int no_more_work = -1;  // every connection has been taken (or the acceptor stopped): return
constexpr int must_wait = -2;     // connections are still to come, none is queued yet

// Under the lock: the next fd, no_more_work or must_wait.
int take_locked(WorkQueue& work) {
  if (!work.queue.empty()) {
    const int fd = work.queue.front();
    work.queue.pop_front();
    // The last connection taken: every idle worker may now return.
    if (--work.untaken == 0) work.work_available->notify_all();
    return fd;
  }
  return (work.untaken == 0 || work.closed) ? no_more_work : must_wait;
}

// The correct wait: the predicate is tested and the sleep begins under one hold of the mutex.
int take_next(WorkQueue& work) {
  LockGuard lock(*work.mutex);
  int fd = take_locked(work);
  while (fd == must_wait) {
    work.work_available->wait(*work.mutex);
    fd = take_locked(work);
  }
  return fd;
}

// THE BUG: test under the lock, release it, then lock again and wait. A notify_one between the two critical
// sections finds no waiter and is gone; the wait below then sleeps although the queue holds an fd.
int take_next_with_lost_wakeup(WorkQueue& work) {
  for (;;) {
    {
      LockGuard lock(*work.mutex);
      const int fd = take_locked(work);
      if (fd != must_wait) return fd;
    }
    LockGuard lock(*work.mutex);
    work.work_available->wait(*work.mutex);
  }
}

// Blocking echo of one connection until the client shuts down its side; returns the first error, if any.
std::string serve_connection(Os& os, int fd, std::vector<std::byte>& buffer) {
  std::string error;
  for (;;) {
    const long received = os.recv(fd, buffer.data(), buffer.size(), 0);
    if (received == 0) break;
    if (received < 0) {
      if (os.last_errno() == E::INTR) continue;
      error = call_error(os, "recv");
      break;
    }
    error = send_all_blocking(os, fd, buffer.data(), static_cast<std::size_t>(received));
    if (!error.empty()) break;
  }
  if (os.close(fd) < 0 && error.empty()) error = call_error(os, "close");
  return error;
}

void worker_main(Os& os, WorkQueue& work, std::size_t read_chunk_bytes, std::string& error) {
  std::vector<std::byte> buffer(read_chunk_bytes);  // heap: fiber stacks are small
  for (;;) {
    const int fd = work.hold_lock_across_wait ? take_next(work) : take_next_with_lost_wakeup(work);
    if (fd == no_more_work) return;
    std::string served = serve_connection(os, fd, buffer);
    if (error.empty()) error = std::move(served);
  }
}

// Blocking accept; EINTR and ECONNABORTED (the client gave up while queued) mean: accept again.
int accept_blocking(AppContext& ctx, int listen_fd) {
  for (;;) {
    const int fd = ctx.os.accept4(listen_fd, nullptr, 0);
    if (fd >= 0) {
      if (configure_connection(ctx, fd)) return fd;
      ctx.os.close(fd);
      return -1;
    }
    if (ctx.os.last_errno() != E::INTR && ctx.os.last_errno() != E::CONNABORTED) {
      fail(ctx, "accept4");
      return -1;
    }
  }
}

void lost_wakeup_pool_main(AppContext& ctx) {
  const int listen_fd = listen_on_loopback(ctx, 0);
  if (listen_fd < 0) return;
  WorkQueue work{ctx.os.mutex_create(), ctx.os.condvar_create()};
  work.untaken = ctx.connections;
  work.hold_lock_across_wait = param_int(ctx.params, hold_lock_param) != 0;
  const auto read_chunk_bytes = static_cast<std::size_t>(param_int(ctx.params, read_chunk_param));
  const auto worker_count = static_cast<std::size_t>(param_int(ctx.params, workers_param));
  std::vector<std::string> errors(worker_count);  // each worker writes its own; read after join()
  std::vector<std::unique_ptr<Thread>> workers;
  for (std::size_t index = 0; index < worker_count; ++index) {
    workers.push_back(ctx.os.thread_create("worker-" + std::to_string(index + 1),
                                           [&os = ctx.os, &work, read_chunk_bytes, &error = errors[index]] {
                                             worker_main(os, work, read_chunk_bytes, error);
                                           }));
  }
  for (int index = 0; index < ctx.connections; ++index) {
    const int fd = accept_blocking(ctx, listen_fd);
    LockGuard lock(*work.mutex);
    if (fd < 0) {
      work.closed = true;
      work.work_available->notify_all();
      break;
    }
    work.queue.push_back(fd);
    work.work_available->notify_one();
  }
  close_fd(ctx, listen_fd);
  for (std::size_t index = 0; index < worker_count; ++index) {
    workers[index]->join();
    if (ctx.error.empty() && !errors[index].empty()) ctx.error = errors[index];
  }
}

}  // namespace

AppInfo lost_wakeup_pool_app() {
  return {"lost_wakeup_pool",
          "bug zoo: blocking acceptor hands fds to a worker pool through a queue and a condition variable; "
          "hold_lock_across_wait=0 loses a wake-up",
          lost_wakeup_pool_main, params};
}

}  // namespace iosim::servers
