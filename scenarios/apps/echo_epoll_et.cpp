// scenarios/apps/echo_epoll_et.cpp — echo server, I/O multiplexing with edge-triggered epoll (EPOLLET).
// One thread; every socket registered once for EPOLLIN|EPOLLOUT|EPOLLET; every event drains until EAGAIN.
//
// The I/O model. Level-triggered epoll (echo_epoll_lt.cpp) reports a socket at every epoll_wait for as long
// as it is ready. Edge-triggered epoll reports a *change*: the socket goes on the ready list only when its
// wait queue is woken — new data arrived, buffer space was freed, a client queued on the listener — and
// epoll_wait takes it off the list once reported, without checking whether it is still ready. So an event
// means "something happened since you last looked", never "there is exactly one thing to do".
//
// That is why every handler here loops until the kernel says EAGAIN. Suppose two echo messages arrived and we
// read only the first, then went back to epoll_wait: no new data comes (the client is waiting for its echo),
// so no new edge, so no event — the second message sits in the receive buffer forever and both sides wait
// for each other. The same holds for the listener: two clients queued behind one edge, one accept, and the
// second client is never served. EAGAIN is the only proof that nothing is left behind. (Set the param
// drain_until_eagain to 0 to watch the simulator find exactly that hang: all_tasks_finished fails with the
// server parked in epoll_wait and a client parked in poll.)
//
// What ET buys: the interest set never changes. We register EPOLLOUT from the start — on an idle socket it
// costs nothing, because "writable" is not a change — and need no EPOLL_CTL_MOD per pending send; and a busy
// socket is not re-reported at every epoll_wait while its handler is still catching up.
#include <map>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam drain_param{
    "drain_until_eagain", 1, 0, 1,
    "1 drains every event until EAGAIN; 0 does one recv/accept per event (the ET bug)"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, max_events_param,
                               drain_param};

// Registered once, never modified: input, output space, edge-triggered.
constexpr std::uint32_t connection_events = EPOLL::IN | EPOLL::OUT | EPOLL::ET;

struct EtState {
  int epoll_fd = -1;
  int listen_fd = -1;
  int accepted = 0;
  bool drain = true;
  std::map<int, EchoConnection> connections;  // by fd, which is also each epoll_event's data
  std::vector<std::byte> scratch;
};

// Accepts until EAGAIN: one edge may stand for many queued clients.
void accept_until_eagain(AppContext& ctx, EtState& state) {
  while (state.accepted < ctx.connections) {
    const int fd = accept_nonblocking(ctx, state.listen_fd);
    // EAGAIN: the queue is empty, and the next client to arrive makes a new edge (or ctx.error: failed).
    if (fd < 0) return;
    state.connections.emplace(fd, EchoConnection{fd});
    // Data the client sent before this ADD is not lost: EPOLL_CTL_ADD polls the socket once and queues the
    // item at once if it is already readable — the registration itself counts as the first edge.
    if (!configure_connection(ctx, fd) ||
        !epoll_control(ctx, state.epoll_fd, EPOLL::CTL_ADD, fd, connection_events)) {
      return;
    }
    ++state.accepted;
    if (!state.drain) return;  // the bug drain_until_eagain=0 demonstrates
  }
}

// Moves bytes until the kernel blocks us: flush pending output until EAGAIN, then read and echo until recv
// says EAGAIN. Whatever the event said (EPOLLIN, EPOLLOUT or both) we try both directions, because an edge
// that was not acted on will not come again. While output is pending we do not read (backpressure); the
// EPOLLOUT edge that comes when the client reads its echo brings us back here, and reading resumes.
IoStep serve_until_blocked(AppContext& ctx, EtState& state, EchoConnection& connection) {
  for (;;) {
    if (connection.has_pending()) {
      const IoStep flushed = echo_flush(ctx, connection);
      if (flushed == IoStep::failed) return flushed;
      if (connection.has_pending()) return IoStep::would_block;  // send said EAGAIN: wait for EPOLLOUT
    }
    const IoStep step = echo_readable(ctx, connection, state.scratch);
    if (step != IoStep::progress) return step;  // would_block (recv said EAGAIN), peer_closed or failed
    if (!state.drain) return step;              // the bug drain_until_eagain=0 demonstrates
  }
}

void dispatch(AppContext& ctx, EtState& state, const epoll_event& event) {
  const int fd = static_cast<int>(event.data);
  if (fd == state.listen_fd) {
    accept_until_eagain(ctx, state);
    return;
  }
  const auto found = state.connections.find(fd);
  if (found == state.connections.end()) return;
  if (serve_until_blocked(ctx, state, found->second) == IoStep::peer_closed) {
    close_fd(ctx, fd);  // also ends the registration: this fd was never dup'ed
    state.connections.erase(found);
  }
}

bool set_up(AppContext& ctx, EtState& state) {
  state.listen_fd = listen_on_loopback(ctx, SOCK::NONBLOCK);
  if (state.listen_fd < 0) return false;
  state.epoll_fd = ctx.os.epoll_create1(EPOLL::CLOEXEC);
  if (state.epoll_fd < 0) {
    fail(ctx, "epoll_create1");
    return false;
  }
  // The listener too is edge-triggered: once every connection is accepted it simply never fires again, so
  // unlike the level-triggered server we need not take it out of the set.
  return epoll_control(ctx, state.epoll_fd, EPOLL::CTL_ADD, state.listen_fd, EPOLL::IN | EPOLL::ET);
}

void echo_epoll_et_main(AppContext& ctx) {
  EtState state;
  state.drain = param_int(ctx.params, drain_param) != 0;
  state.scratch.resize(static_cast<std::size_t>(param_int(ctx.params, read_chunk_param)));
  std::vector<epoll_event> events(static_cast<std::size_t>(param_int(ctx.params, max_events_param)));
  if (set_up(ctx, state)) {
    while (ctx.error.empty() && (state.accepted < ctx.connections || !state.connections.empty())) {
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

AppInfo echo_epoll_et_app() {
  return {"echo_epoll_et",
          "echo server: one thread, edge-triggered epoll (EPOLLET), every event drained until EAGAIN",
          echo_epoll_et_main, params};
}

}  // namespace iosim::servers
