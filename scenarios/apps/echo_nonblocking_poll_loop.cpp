// scenarios/apps/echo_nonblocking_poll_loop.cpp — echo server, non-blocking I/O polled in a busy loop.
// One thread; every socket is O_NONBLOCK; each pass tries accept and every connection, sleeping when idle.
//
// The I/O model. With O_NONBLOCK a call never waits: if the kernel has no data (or no buffer space) it fails
// at once with EAGAIN, and the application asks again later. One thread can then serve many connections by
// asking each in turn. The catch is the asking: the loop spends CPU on connections that have nothing to say,
// and has to sleep when a whole pass made no progress or it would spin a core forever. Choosing that sleep
// is choosing between latency and wasted CPU — the problem select and poll (echo_select.cpp, echo_poll.cpp)
// solve by letting the kernel say which sockets are ready.
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam idle_sleep_param{"idle_sleep_us", 100, 1, 1'000'000,
                                    "microseconds to sleep after a pass over all sockets made no progress"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, idle_sleep_param};

struct LoopState {
  int listen_fd = -1;
  int accepted = 0;
  std::vector<EchoConnection> connections;
  std::vector<std::byte> scratch;  // one receive buffer shared by all connections
};

// Accepts at most one connection. Returns true when one was accepted; false with ctx.error empty when none
// is waiting (EAGAIN) or the attempt was harmlessly interrupted.
bool try_accept(AppContext& ctx, LoopState& state) {
  const int fd = ctx.os.accept4(state.listen_fd, nullptr, 0);
  if (fd < 0) {
    const int error = ctx.os.last_errno();
    // EAGAIN: nobody is waiting. EINTR: a signal. ECONNABORTED: a client left while queued.
    if (error != E::AGAIN && error != E::INTR && error != E::CONNABORTED) fail(ctx, "accept4");
    return false;
  }
  // The accepted socket does not inherit O_NONBLOCK from the listener on Linux: set it explicitly.
  if (!set_nonblocking(ctx, fd) || !configure_connection(ctx, fd)) {
    ctx.os.close(fd);
    return false;
  }
  state.connections.push_back(EchoConnection{fd});
  ++state.accepted;
  return true;
}

// Gives one connection its turn: flush what is pending, else read and echo. Returns whether bytes moved
// (or the connection ended); sets `finished` when the client closed and the fd was closed.
bool service_connection(AppContext& ctx, LoopState& state, EchoConnection& connection, bool& finished) {
  const IoStep step =
      connection.has_pending() ? echo_flush(ctx, connection) : echo_readable(ctx, connection, state.scratch);
  if (step == IoStep::peer_closed) {
    // recv() returned 0 while nothing was pending: every byte has been echoed, the connection is done.
    close_fd(ctx, connection.fd);
    finished = true;
  }
  return step == IoStep::progress || step == IoStep::peer_closed;
}

// One pass over the listener and every connection. Returns whether anything happened.
bool run_pass(AppContext& ctx, LoopState& state) {
  bool progress = false;
  if (state.accepted < ctx.connections) progress = try_accept(ctx, state);
  for (std::size_t index = 0; index < state.connections.size() && ctx.error.empty();) {
    bool finished = false;
    progress |= service_connection(ctx, state, state.connections[index], finished);
    if (finished) {
      state.connections.erase(state.connections.begin() + static_cast<std::ptrdiff_t>(index));
    } else {
      ++index;
    }
  }
  return progress;
}

void echo_nonblocking_poll_loop_main(AppContext& ctx) {
  LoopState state;
  // SOCK_NONBLOCK on the listener: accept4 returns EAGAIN instead of blocking when nobody is waiting.
  state.listen_fd = listen_on_loopback(ctx, SOCK::NONBLOCK);
  if (state.listen_fd < 0) return;
  state.scratch.resize(static_cast<std::size_t>(param_int(ctx.params, read_chunk_param)));
  const std::int64_t idle_sleep_ns = param_int(ctx.params, idle_sleep_param) * 1000;
  while (ctx.error.empty() && (state.accepted < ctx.connections || !state.connections.empty())) {
    // A pass that moved nothing means every socket said EAGAIN: sleep instead of spinning, and accept that
    // data arriving meanwhile waits up to idle_sleep_us (the latency cost of polling).
    if (!run_pass(ctx, state)) ctx.os.sleep_for(idle_sleep_ns);
  }
  for (const EchoConnection& connection : state.connections) ctx.os.close(connection.fd);  // after an error
  close_fd(ctx, state.listen_fd);
}

}  // namespace

AppInfo echo_nonblocking_poll_loop_app() {
  return {"echo_nonblocking_poll_loop",
          "echo server: one thread, O_NONBLOCK sockets tried in turn, sleeps when a pass makes no progress",
          echo_nonblocking_poll_loop_main, params};
}

}  // namespace iosim::servers
