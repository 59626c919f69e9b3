// scenarios/apps/echo_support.cpp — the listener setup and the non-blocking echo state machine shared by the
// echo servers. Application code: only iosim::Os calls, no OS header.
#include "scenarios/apps/echo_support.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace iosim::servers {

std::string call_error(Os& os, std::string_view call) {
  return fmt::format("{}: {}", call, errno_name(os.last_errno()));
}

void fail(AppContext& ctx, std::string_view call) {
  if (ctx.error.empty()) ctx.error = call_error(ctx.os, call);
}

int listen_on_loopback(AppContext& ctx, int socket_flags) {
  Os& os = ctx.os;
  const int fd = os.socket(AF::INET, SOCK::STREAM | socket_flags, 0);
  if (fd < 0) {
    fail(ctx, "socket");
    return -1;
  }
  // Port 0: the kernel picks a free ephemeral port, so parallel runs never collide on a fixed port.
  SockAddr local{loopback_ip, 0};
  const auto backlog = static_cast<int>(param_int(ctx.params, backlog_param));
  const char* failed_call = nullptr;
  if (os.bind(fd, local) < 0) {
    failed_call = "bind";
  } else if (os.listen(fd, backlog) < 0) {
    failed_call = "listen";
  } else if (os.getsockname(fd, &local) < 0) {
    failed_call = "getsockname";  // which port did bind pick? only getsockname can say
  }
  if (failed_call != nullptr) {
    fail(ctx, failed_call);
    os.close(fd);
    return -1;
  }
  // From here on connect() succeeds: the kernel completes handshakes into the accept queue by itself.
  ctx.ready(local.port);
  return fd;
}

bool set_nonblocking(AppContext& ctx, int fd) {
  const int flags = ctx.os.fcntl(fd, F::GETFL, 0);
  if (flags < 0) {
    fail(ctx, "fcntl(F_GETFL)");
    return false;
  }
  if (ctx.os.fcntl(fd, F::SETFL, flags | O::NONBLOCK) < 0) {
    fail(ctx, "fcntl(F_SETFL)");
    return false;
  }
  return true;
}

// Why TCP_NODELAY: an echo of more than read_chunk_bytes goes out as several sends. Nagle's algorithm holds a
// small segment back while an earlier one is unacknowledged, and the client delays its ACK (it has nothing
// to send), so each such message waits for the delayed-ACK timer (~40 ms on Linux). Request-response
// servers switch Nagle off for exactly this reason.
bool configure_connection(AppContext& ctx, int fd) {
  if (param_int(ctx.params, tcp_nodelay_param) == 0) return true;
  if (ctx.os.setsockopt(fd, IPPROTO::TCP, TCP::NODELAY, 1) < 0) {
    fail(ctx, "setsockopt(TCP_NODELAY)");
    return false;
  }
  return true;
}

void close_fd(AppContext& ctx, int fd) {
  if (ctx.os.close(fd) < 0) fail(ctx, "close");
}

int accept_nonblocking(AppContext& ctx, int listen_fd) {
  for (;;) {
    const int fd = ctx.os.accept4(listen_fd, nullptr, SOCK::NONBLOCK);
    if (fd >= 0) return fd;
    const int error = ctx.os.last_errno();
    if (error == E::INTR || error == E::CONNABORTED) continue;
    if (error != E::AGAIN) fail(ctx, "accept4");
    return -1;
  }
}

bool epoll_control(AppContext& ctx, int epoll_fd, int op, int fd, std::uint32_t events) {
  epoll_event event{events, static_cast<std::uint64_t>(fd)};
  if (ctx.os.epoll_ctl(epoll_fd, op, fd, op == EPOLL::CTL_DEL ? nullptr : &event) == 0) return true;
  const char* op_name = op == EPOLL::CTL_ADD   ? "epoll_ctl(EPOLL_CTL_ADD)"
                        : op == EPOLL::CTL_MOD ? "epoll_ctl(EPOLL_CTL_MOD)"
                                               : "epoll_ctl(EPOLL_CTL_DEL)";
  fail(ctx, op_name);
  return false;
}

IoStep echo_flush(AppContext& ctx, EchoConnection& connection) {
  bool sent_any = false;
  while (connection.has_pending()) {
    const std::size_t left = connection.pending.size() - connection.pending_offset;
    // MSG_NOSIGNAL: a client that vanished must not kill the server with SIGPIPE; we want EPIPE instead.
    const long sent = ctx.os.send(connection.fd, connection.pending.data() + connection.pending_offset, left,
                                  MSG::NOSIGNAL);
    if (sent < 0) {
      const int error = ctx.os.last_errno();
      if (error == E::INTR) continue;  // a signal arrived before any byte moved: just try again
      if (error == E::AGAIN) return sent_any ? IoStep::progress : IoStep::would_block;
      fail(ctx, "send");
      return IoStep::failed;
    }
    // A non-blocking send may take only part of the buffer (a short write): keep the rest for later.
    connection.pending_offset += static_cast<std::size_t>(sent);
    sent_any = true;
  }
  connection.pending.clear();
  connection.pending_offset = 0;
  return IoStep::progress;
}

IoStep echo_readable(AppContext& ctx, EchoConnection& connection, std::vector<std::byte>& scratch) {
  for (;;) {
    const long received = ctx.os.recv(connection.fd, scratch.data(), scratch.size(), 0);
    if (received > 0) {
      connection.pending.assign(scratch.begin(), scratch.begin() + received);
      connection.pending_offset = 0;
      // Try to echo right away: usually the send buffer has room and the bytes never wait in `pending`.
      const IoStep flushed = echo_flush(ctx, connection);
      return flushed == IoStep::failed ? IoStep::failed : IoStep::progress;
    }
    if (received == 0) return IoStep::peer_closed;
    const int error = ctx.os.last_errno();
    if (error == E::INTR) continue;
    if (error == E::AGAIN) return IoStep::would_block;  // readiness was stale or spurious: not an error
    fail(ctx, "recv");
    return IoStep::failed;
  }
}

void echo_select_ready(AppContext& ctx, std::vector<EchoConnection>& connections,
                       std::vector<std::byte>& scratch, const fd_set& readable, const fd_set& writable) {
  for (std::size_t index = 0; index < connections.size() && ctx.error.empty();) {
    EchoConnection& connection = connections[index];
    IoStep step = IoStep::would_block;
    if (writable.is_set(connection.fd)) {
      step = echo_flush(ctx, connection);
    } else if (readable.is_set(connection.fd)) {
      step = echo_readable(ctx, connection, scratch);
    }
    if (step == IoStep::peer_closed) {
      close_fd(ctx, connection.fd);
      connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(index));
    } else {
      ++index;
    }
  }
}

std::string send_all_blocking(Os& os, int fd, const std::byte* data, std::size_t len) {
  for (std::size_t sent_total = 0; sent_total < len;) {
    const long sent = os.send(fd, data + sent_total, len - sent_total, MSG::NOSIGNAL);
    if (sent >= 0) {
      sent_total += static_cast<std::size_t>(sent);
    } else if (os.last_errno() != E::INTR) {
      return call_error(os, "send");
    }
  }
  return {};
}

int echo_select_interest(int listen_fd, const std::vector<EchoConnection>& connections, fd_set& readable,
                         fd_set& writable) {
  readable.zero();
  writable.zero();
  if (listen_fd >= 0) readable.set(listen_fd);
  int highest_fd = listen_fd;
  for (const EchoConnection& connection : connections) {
    (connection.has_pending() ? writable : readable).set(connection.fd);
    highest_fd = std::max(highest_fd, connection.fd);
  }
  return highest_fd + 1;
}

}  // namespace iosim::servers
