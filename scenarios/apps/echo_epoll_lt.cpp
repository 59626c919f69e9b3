// scenarios/apps/echo_epoll_lt.cpp — echo server, I/O multiplexing with level-triggered epoll(7).
// One thread; non-blocking sockets registered once; EPOLLOUT interest only while output is pending.
//
// The I/O model. select and poll hand the kernel the whole interest list on every call, and the kernel polls
// every file in it. epoll splits that work in two. epoll_ctl(EPOLL_CTL_ADD) registers an fd once: the kernel
// hooks a callback (ep_poll_callback) on the socket's wait queue. From then on, whenever the socket becomes
// readable or writable, the callback puts it on the epoll's ready list, and epoll_wait only collects that
// list — a call costs O(ready sockets), not O(watched sockets).
//
// Level-triggered (the default) keeps select's meaning: as long as a socket is readable, every epoll_wait
// reports it again (the kernel re-polls a reported socket and puts it back on the ready list while it is
// still ready). That forgives a handler that does only part of the work — here one recv, or one accept, per
// wake-up — because whatever is left is reported by the next call. It also means the interest set must say
// what we want right now: an idle socket is always writable, so EPOLLOUT on it would make every epoll_wait
// return at once. A connection is therefore registered for EPOLLIN, switched to EPOLLOUT with EPOLL_CTL_MOD
// when a send leaves output pending (we also stop reading it: backpressure, as in echo_select.cpp), and
// switched back when the output is gone. Each switch is one syscall — the price of epoll keeping the
// interest list in the kernel.
#include <map>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, max_events_param};

struct LtState {
  int epoll_fd = -1;
  int listen_fd = -1;
  int accepted = 0;
  std::map<int, EchoConnection> connections;  // by fd, which is also each epoll_event's data
  std::vector<std::byte> scratch;
};

// The one interest a connection has at any time: its pending output, or else more input.
std::uint32_t interest_of(const EchoConnection& connection) {
  return connection.has_pending() ? EPOLL::OUT : EPOLL::IN;
}

// Accepts one connection per wake-up. Level-triggered epoll makes that enough: if more clients are queued,
// the listener is still readable, and the next epoll_wait reports it again.
void accept_one(AppContext& ctx, LtState& state) {
  const int fd = ctx.os.accept4(state.listen_fd, nullptr, SOCK::NONBLOCK);
  if (fd < 0) {
    const int error = ctx.os.last_errno();
    // EAGAIN: the client went away between the wake-up and the accept (or the wake-up was spurious).
    if (error != E::AGAIN && error != E::INTR && error != E::CONNABORTED) fail(ctx, "accept4");
    return;
  }
  // Into the table before EPOLL_CTL_ADD: the first event for the fd must find its connection.
  state.connections.emplace(fd, EchoConnection{fd});
  if (!configure_connection(ctx, fd) || !epoll_control(ctx, state.epoll_fd, EPOLL::CTL_ADD, fd, EPOLL::IN)) {
    return;
  }
  ++state.accepted;
  // Every wanted connection is here: stop watching the listener. (A readable listener nobody accepts from
  // would be reported by every epoll_wait from now on — level-triggered.)
  if (state.accepted == ctx.connections) {
    epoll_control(ctx, state.epoll_fd, EPOLL::CTL_DEL, state.listen_fd, 0);
  }
}

// Acts on one event of a connection: flush when output is pending (we asked for EPOLLOUT), else one recv and
// its echo. EPOLLERR and EPOLLHUP are reported without being asked for; the recv or send that follows returns
// the error or end of file, so they need no branch of their own.
void service(AppContext& ctx, LtState& state, EchoConnection& connection) {
  const std::uint32_t before = interest_of(connection);
  const IoStep step =
      connection.has_pending() ? echo_flush(ctx, connection) : echo_readable(ctx, connection, state.scratch);
  if (step == IoStep::failed) return;
  if (step == IoStep::peer_closed) {
    // close() also takes the fd out of the epoll set: a registration belongs to the open file description,
    // and we never dup'ed this fd, so this close releases the description. (Had a dup kept it open, the
    // registration would outlive the fd and keep reporting events for a number we no longer own.)
    close_fd(ctx, connection.fd);
    state.connections.erase(connection.fd);
    return;
  }
  const std::uint32_t after = interest_of(connection);
  if (after != before) epoll_control(ctx, state.epoll_fd, EPOLL::CTL_MOD, connection.fd, after);
}

void dispatch(AppContext& ctx, LtState& state, const epoll_event& event) {
  const int fd = static_cast<int>(event.data);
  if (fd == state.listen_fd) {
    accept_one(ctx, state);
    return;
  }
  // An fd appears at most once in one epoll_wait result, and only this loop closes fds, so every event
  // still has its connection.
  const auto found = state.connections.find(fd);
  if (found != state.connections.end()) service(ctx, state, found->second);
}

bool set_up(AppContext& ctx, LtState& state) {
  state.listen_fd = listen_on_loopback(ctx, SOCK::NONBLOCK);
  if (state.listen_fd < 0) return false;
  state.epoll_fd = ctx.os.epoll_create1(EPOLL::CLOEXEC);
  if (state.epoll_fd < 0) {
    fail(ctx, "epoll_create1");
    return false;
  }
  return epoll_control(ctx, state.epoll_fd, EPOLL::CTL_ADD, state.listen_fd, EPOLL::IN);
}

void echo_epoll_lt_main(AppContext& ctx) {
  LtState state;
  state.scratch.resize(static_cast<std::size_t>(param_int(ctx.params, read_chunk_param)));
  std::vector<epoll_event> events(static_cast<std::size_t>(param_int(ctx.params, max_events_param)));
  if (set_up(ctx, state)) {
    while (ctx.error.empty() && (state.accepted < ctx.connections || !state.connections.empty())) {
      // Timeout -1: nothing happens in this server except what epoll reports.
      const int ready = ctx.os.epoll_wait(state.epoll_fd, events.data(), static_cast<int>(events.size()), -1);
      if (ready < 0) {
        if (ctx.os.last_errno() == E::INTR) continue;
        fail(ctx, "epoll_wait");
        break;
      }
      for (int index = 0; index < ready && ctx.error.empty(); ++index) dispatch(ctx, state, events[index]);
    }
  }
  for (const auto& [fd, connection] : state.connections) ctx.os.close(fd);  // after an error
  if (state.epoll_fd >= 0) close_fd(ctx, state.epoll_fd);
  if (state.listen_fd >= 0) close_fd(ctx, state.listen_fd);
}

}  // namespace

AppInfo echo_epoll_lt_app() {
  return {"echo_epoll_lt",
          "echo server: one thread, level-triggered epoll, EPOLLOUT asked for (EPOLL_CTL_MOD) only while "
          "output is pending",
          echo_epoll_lt_main, params};
}

}  // namespace iosim::servers
