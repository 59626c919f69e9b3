// scenarios/apps/echo_select.cpp — echo server, I/O multiplexing with select(2).
// One thread; non-blocking sockets; select says which are ready; per-connection pending output.
//
// The I/O model. select blocks in the first phase of I/O — waiting for readiness — for many sockets at once,
// then the copy phase (recv/send) runs only on sockets the kernel reported ready, so it does not wait. Two
// details make it correct: the sockets are still O_NONBLOCK (readiness can be stale by the time we act, and a
// send larger than the free buffer space would block), and we ask for writability only while a connection
// has output pending — an idle socket is almost always writable, and asking would wake select at once,
// turning it into a busy loop. The cost: every call passes and scans three bitmaps up to the highest fd, and
// an fd at or above FD_SETSIZE (1024) cannot be watched at all.
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param};

struct SelectState {
  int listen_fd = -1;
  int accepted = 0;
  std::vector<EchoConnection> connections;
  std::vector<std::byte> scratch;
};

// Accepts every connection waiting in the queue (up to the number still wanted).
void accept_ready(AppContext& ctx, SelectState& state) {
  while (state.accepted < ctx.connections) {
    const int fd = accept_nonblocking(ctx, state.listen_fd);
    if (fd < 0) return;       // EAGAIN: the queue is empty (or accept4 failed: ctx.error)
    if (fd >= FD_SETSIZE_) {  // fd_set has no bit for it: select cannot watch this connection
      ctx.error =
          "accept4: fd " + std::to_string(fd) + " is beyond FD_SETSIZE (1024), select cannot watch it";
      ctx.os.close(fd);
      return;
    }
    if (!configure_connection(ctx, fd)) {
      ctx.os.close(fd);
      return;
    }
    state.connections.push_back(EchoConnection{fd});
    ++state.accepted;
  }
}

void echo_select_main(AppContext& ctx) {
  SelectState state;
  state.listen_fd = listen_on_loopback(ctx, SOCK::NONBLOCK);
  if (state.listen_fd < 0) return;
  state.scratch.resize(static_cast<std::size_t>(param_int(ctx.params, read_chunk_param)));
  fd_set readable, writable;
  while (ctx.error.empty() && (state.accepted < ctx.connections || !state.connections.empty())) {
    // The listener only while connections are still wanted: a readable listener means accept will not block.
    const int listen_fd = state.accepted < ctx.connections ? state.listen_fd : -1;
    const int nfds = echo_select_interest(listen_fd, state.connections, readable, writable);
    // No timeout (nullptr): there is nothing to do until some socket is ready.
    const int ready = ctx.os.select(nfds, &readable, &writable, nullptr, nullptr);
    if (ready < 0) {
      if (ctx.os.last_errno() == E::INTR) continue;  // the sets are undefined now: rebuild and wait again
      fail(ctx, "select");
      break;
    }
    if (state.accepted < ctx.connections && readable.is_set(state.listen_fd)) accept_ready(ctx, state);
    echo_select_ready(ctx, state.connections, state.scratch, readable, writable);
  }
  for (const EchoConnection& connection : state.connections) ctx.os.close(connection.fd);  // after an error
  close_fd(ctx, state.listen_fd);
}

}  // namespace

AppInfo echo_select_app() {
  return {"echo_select",
          "echo server: one thread, select(2) over non-blocking sockets, pending output buffers",
          echo_select_main, params};
}

}  // namespace iosim::servers
