// scenarios/apps/echo_support.hpp — pieces every echo server shares: the loopback listener, error messages,
// and the per-connection echo state machine of the non-blocking servers (read → pending output → flush).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scenarios/registry.hpp"

namespace iosim::servers {

inline constexpr AppParam backlog_param{"backlog", 128, 1, 4096,
                                        "listen(2) backlog: connections the kernel queues until accept"};
inline constexpr AppParam read_chunk_param{"read_chunk_bytes", 4096, 1, 1 << 20,
                                           "bytes asked for by each recv (1 forces byte-at-a-time echo)"};
inline constexpr AppParam tcp_nodelay_param{"tcp_nodelay", 1, 0, 1,
                                            "1 sets TCP_NODELAY on each connection (0 shows Nagle's delay)"};
inline constexpr AppParam max_events_param{
    "max_events", 64, 1, 1024, "epoll_event slots per epoll_wait; more ready fds wait for the next call"};

// "<call>: <errno name>" for the calling thread's last error, e.g. "accept4: EMFILE".
std::string call_error(Os& os, std::string_view call);
// Records the first fatal error of the app in ctx.error (later ones are consequences of the first).
void fail(AppContext& ctx, std::string_view call);

// socket + bind 127.0.0.1:0 + listen(backlog) + getsockname, then ctx.ready(port). `socket_flags` may add
// SOCK::NONBLOCK. Returns the listening fd, or -1 with ctx.error set.
int listen_on_loopback(AppContext& ctx, int socket_flags);
// fcntl(F_GETFL) then fcntl(F_SETFL, flags | O_NONBLOCK): the classic way to make an fd non-blocking.
bool set_nonblocking(AppContext& ctx, int fd);
// Applies the connection options of the params to an accepted socket (today: TCP_NODELAY). Returns false
// with ctx.error set on failure.
bool configure_connection(AppContext& ctx, int fd);
// Closes `fd`; an error here cannot lose data (everything was echoed), so it is recorded but not retried.
void close_fd(AppContext& ctx, int fd);
// accept4(SOCK_NONBLOCK) on a non-blocking listener, retrying EINTR and ECONNABORTED (a connection reset
// while it waited in the queue). Returns the new fd, or -1 when the queue is empty (EAGAIN) or accept4
// failed (then ctx.error says so).
int accept_nonblocking(AppContext& ctx, int listen_fd);
// epoll_ctl(epoll_fd, op, fd, {events, data = fd}). Returns false with ctx.error set, e.g.
// "epoll_ctl(EPOLL_CTL_MOD): ENOENT". The servers put the fd itself in the event's data: it is how they
// find the connection an event is about.
bool epoll_control(AppContext& ctx, int epoll_fd, int op, int fd, std::uint32_t events);

// One connection of a non-blocking server. Output the socket would not take yet waits in `pending`; while
// there is pending output the server stops reading from this connection, so a client that does not read
// cannot make the server buffer without bound (backpressure through the client's own send buffer).
struct EchoConnection {
  int fd = -1;
  std::vector<std::byte> pending;
  std::size_t pending_offset = 0;  // bytes of `pending` already sent
  bool has_pending() const { return pending_offset < pending.size(); }
};

enum class IoStep {
  progress,     // bytes moved
  would_block,  // EAGAIN: nothing to do until the socket is ready again
  peer_closed,  // recv returned 0: the client has shut down its side
  failed,       // unexpected error, recorded in ctx.error
};

// One recv of up to scratch.size() bytes, then an immediate echo of them; what send does not take is kept
// in connection.pending. Call only when the connection has no pending output.
IoStep echo_readable(AppContext& ctx, EchoConnection& connection, std::vector<std::byte>& scratch);
// Blocking send of all `len` bytes, retrying EINTR; "" when all went out, else "send: <errno name>".
std::string send_all_blocking(Os& os, int fd, const std::byte* data, std::size_t len);
// select's interest sets for one round, rebuilt before every call (select overwrites them with the ready
// subset): `listen_fd` for reading unless it is -1; each connection for writing while it has pending output
// (and then not for reading: backpressure), else for reading. Returns nfds, one more than the highest fd.
int echo_select_interest(int listen_fd, const std::vector<EchoConnection>& connections, fd_set& readable,
                         fd_set& writable);
// One select round's work on its reported sets: flush connections reported writable, echo those reported
// readable, and close and drop the ones whose client has closed. Stops at the first error (ctx.error).
void echo_select_ready(AppContext& ctx, std::vector<EchoConnection>& connections,
                       std::vector<std::byte>& scratch, const fd_set& readable, const fd_set& writable);
// Sends pending output until all of it is gone (progress) or the socket is full (would_block, or progress
// if some bytes went out first).
IoStep echo_flush(AppContext& ctx, EchoConnection& connection);

}  // namespace iosim::servers
