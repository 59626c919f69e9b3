// scenarios/apps/bugs/select_prefork.cpp — bug zoo: "pre-forked" workers (threads here) that each run their
// own select(2) loop over one shared listening socket and their own connections. With nonblocking_listener=0
// the listener is blocking: select reports it readable to every worker, one accept4 takes the connection,
// and the others block inside accept4 with their own clients unserved — until another connection arrives,
// which after the last one never happens (UNIX Network Programming §16.6, "Nonblocking accept").
//
// Why the listener must be non-blocking. select's readiness is a snapshot: between the moment it reports the
// listener readable and the moment accept4 runs, the connection can leave the accept queue. UNP's example is
// a client that resets it; on BSD the kernel then drops it from the queue. Linux keeps a reset connection
// queued (accept4 returns it, and the first recv fails with ECONNRESET — pinned by the test
// AcceptAfterRst.ResetConnectionStaysInTheAcceptQueueAsOnLinux), so on Linux the snapshot goes stale the
// other way UNP lists: another process or thread accepting from the same listener. select's poll table entry
// is not exclusive (__pollwait), so one arriving connection wakes every worker's select; the losers' accept
// sleeps on the listener's exclusive wait (inet_csk_wait_for_connect). The fix is UNP's: a non-blocking
// listener, and EAGAIN (or ECONNABORTED, EINTR) from accept4 means "go back to select".
#include <memory>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam workers_param{"workers", 2, 1, 64, "worker threads, each with its own select loop"};
constexpr AppParam nonblocking_listener_param{"nonblocking_listener", 1, 0, 1,
                                              "1: O_NONBLOCK listener, EAGAIN from accept4 means back to "
                                              "select; 0: blocking accept4 after select (the bug)"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, workers_param,
                               nonblocking_listener_param};

// The workers wake at least this often to see that every connection has been accepted by someone else.
constexpr std::int64_t select_timeout_us = 1000;

// Shared by the workers; `accepted` is guarded by `mutex`.
struct Listener {
  int fd = -1;
  bool nonblocking = true;
  std::unique_ptr<Mutex> mutex;
  int accepted = 0;
  int wanted = 0;
};

bool more_to_accept(Listener& listener) {
  LockGuard lock(*listener.mutex);
  return listener.accepted < listener.wanted;
}

// One connection from the listener select reported readable. The bug is in the blocking branch: nothing
// guarantees the connection is still queued when accept4 runs.
int accept_one(AppContext& ctx, Listener& listener) {
  int fd = -1;
  if (listener.nonblocking) {
    fd = accept_nonblocking(ctx, listener.fd);  // -1 on EAGAIN: another worker took it
  } else {
    do {
      fd = ctx.os.accept4(listener.fd, nullptr, SOCK::NONBLOCK);  // sleeps until the next connection
    } while (fd < 0 && (ctx.os.last_errno() == E::INTR || ctx.os.last_errno() == E::CONNABORTED));
    if (fd < 0) fail(ctx, "accept4");
  }
  if (fd < 0) return -1;
  if (!configure_connection(ctx, fd)) {
    ctx.os.close(fd);
    return -1;
  }
  LockGuard lock(*listener.mutex);
  ++listener.accepted;
  return fd;
}

void worker_main(AppContext& ctx, Listener& listener, std::size_t read_chunk_bytes) {
  std::vector<EchoConnection> connections;
  std::vector<std::byte> scratch(read_chunk_bytes);
  fd_set readable, writable;
  bool accepting = true;
  while (ctx.error.empty() && (accepting || !connections.empty())) {
    accepting = accepting && more_to_accept(listener);
    const int nfds = echo_select_interest(accepting ? listener.fd : -1, connections, readable, writable);
    timeval timeout{0, select_timeout_us};
    const int ready = ctx.os.select(nfds, &readable, &writable, nullptr, &timeout);
    if (ready < 0) {
      if (ctx.os.last_errno() == E::INTR) continue;
      fail(ctx, "select");
      break;
    }
    if (accepting && readable.is_set(listener.fd)) {
      if (const int fd = accept_one(ctx, listener); fd >= 0) connections.push_back(EchoConnection{fd});
    }
    echo_select_ready(ctx, connections, scratch, readable, writable);
  }
  for (const EchoConnection& connection : connections) ctx.os.close(connection.fd);  // after an error
}

void select_prefork_main(AppContext& ctx) {
  const bool nonblocking = param_int(ctx.params, nonblocking_listener_param) != 0;
  Listener listener{listen_on_loopback(ctx, nonblocking ? SOCK::NONBLOCK : 0), nonblocking,
                    ctx.os.mutex_create(), 0, ctx.connections};
  if (listener.fd < 0) return;
  const auto read_chunk_bytes = static_cast<std::size_t>(param_int(ctx.params, read_chunk_param));
  const auto worker_count = static_cast<std::size_t>(param_int(ctx.params, workers_param));
  // Each worker records its own error (threads must not share ctx.error); the first one wins after join.
  std::vector<AppContext> worker_contexts(worker_count,
                                          AppContext{ctx.os, ctx.params, ctx.connections, {}, {}});
  std::vector<std::unique_ptr<Thread>> workers;
  for (std::size_t index = 0; index < worker_count; ++index) {
    workers.push_back(
        ctx.os.thread_create("worker-" + std::to_string(index + 1),
                             [&worker_ctx = worker_contexts[index], &listener, read_chunk_bytes] {
                               worker_main(worker_ctx, listener, read_chunk_bytes);
                             }));
  }
  for (std::size_t index = 0; index < worker_count; ++index) {
    workers[index]->join();
    if (ctx.error.empty()) ctx.error = worker_contexts[index].error;
  }
  close_fd(ctx, listener.fd);
}

}  // namespace

AppInfo select_prefork_app() {
  return {"select_prefork",
          "bug zoo: worker threads each select(2) on one shared listener and their own connections; "
          "nonblocking_listener=0 blocks in accept4 after another worker took the connection",
          select_prefork_main, params};
}

}  // namespace iosim::servers
