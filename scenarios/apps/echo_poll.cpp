// scenarios/apps/echo_poll.cpp — echo server, I/O multiplexing with poll(2).
// One thread; non-blocking sockets; poll says which are ready; per-connection pending output.
//
// The I/O model. The same as echo_select.cpp, with poll's interface: instead of three bitmaps indexed by fd
// (capped at FD_SETSIZE), an array of {fd, events, revents}, one entry per socket we care about, of any fd
// value. The kernel writes results into `revents`, leaving `events` intact. Like select, every call still
// hands the kernel the whole list and the kernel polls each file in it: O(connections) per call, however
// few are ready — the cost epoll removes.
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param};

// Beyond readiness, poll reports conditions it was not asked about: POLLERR (pending socket error) and
// POLLHUP (both directions shut). Treat both as "act now": the next recv/send returns the error or EOF.
constexpr short error_events = POLL::ERR | POLL::HUP;

struct PollState {
  int listen_fd = -1;
  int accepted = 0;
  std::vector<EchoConnection> connections;
  std::vector<pollfd> pollfds;  // [0] is the listener, [1 + i] is connections[i]
  std::vector<std::byte> scratch;
};

void build_pollfds(const AppContext& ctx, PollState& state) {
  state.pollfds.clear();
  // A negative fd makes poll skip the entry: the listener stays at index 0 even when no longer wanted.
  const bool want_accept = state.accepted < ctx.connections;
  state.pollfds.push_back(pollfd{want_accept ? state.listen_fd : -1, POLL::IN, 0});
  for (const EchoConnection& connection : state.connections) {
    // Writability only while output is pending (an idle socket is always writable: poll would never sleep).
    const short events = connection.has_pending() ? POLL::OUT : POLL::IN;
    state.pollfds.push_back(pollfd{connection.fd, events, 0});
  }
}

void accept_ready(AppContext& ctx, PollState& state) {
  while (state.accepted < ctx.connections) {
    const int fd = accept_nonblocking(ctx, state.listen_fd);
    if (fd < 0) return;  // EAGAIN: the queue is empty (or accept4 failed: ctx.error)
    if (!configure_connection(ctx, fd)) {
      ctx.os.close(fd);
      return;
    }
    state.connections.push_back(EchoConnection{fd});
    ++state.accepted;
  }
}

// Acts on the revents of each connection (pollfds[1 + i]); drops connections whose client has closed. New
// connections accepted in this round have no pollfd yet and wait for the next round.
void service_ready(AppContext& ctx, PollState& state) {
  const std::size_t polled = state.pollfds.size() - 1;
  std::vector<EchoConnection> still_open;
  for (std::size_t index = 0; index < state.connections.size(); ++index) {
    EchoConnection& connection = state.connections[index];
    const short revents = index < polled ? state.pollfds[1 + index].revents : 0;
    IoStep step = IoStep::would_block;
    if (revents & POLL::NVAL) {
      ctx.error = "poll: POLLNVAL on fd " + std::to_string(connection.fd);  // we polled a closed fd: a bug
    } else if (ctx.error.empty() && (revents & (POLL::OUT | error_events)) && connection.has_pending()) {
      step = echo_flush(ctx, connection);
    } else if (ctx.error.empty() && (revents & (POLL::IN | error_events))) {
      step = echo_readable(ctx, connection, state.scratch);
    }
    if (step == IoStep::peer_closed) {
      close_fd(ctx, connection.fd);
    } else {
      still_open.push_back(std::move(connection));
    }
  }
  state.connections = std::move(still_open);
}

void echo_poll_main(AppContext& ctx) {
  PollState state;
  state.listen_fd = listen_on_loopback(ctx, SOCK::NONBLOCK);
  if (state.listen_fd < 0) return;
  state.scratch.resize(static_cast<std::size_t>(param_int(ctx.params, read_chunk_param)));
  while (ctx.error.empty() && (state.accepted < ctx.connections || !state.connections.empty())) {
    build_pollfds(ctx, state);
    // Timeout -1: sleep until some entry is ready; nothing else can happen in this server meanwhile.
    if (ctx.os.poll(state.pollfds.data(), state.pollfds.size(), -1) < 0) {
      if (ctx.os.last_errno() == E::INTR) continue;
      fail(ctx, "poll");
      break;
    }
    // Connections first: accept_ready appends to `connections`, which must stay aligned with pollfds.
    service_ready(ctx, state);
    if (state.pollfds[0].revents & POLL::IN) accept_ready(ctx, state);
  }
  for (const EchoConnection& connection : state.connections) ctx.os.close(connection.fd);  // after an error
  close_fd(ctx, state.listen_fd);
}

}  // namespace

AppInfo echo_poll_app() {
  return {"echo_poll", "echo server: one thread, poll(2) over non-blocking sockets, pending output buffers",
          echo_poll_main, params};
}

}  // namespace iosim::servers
