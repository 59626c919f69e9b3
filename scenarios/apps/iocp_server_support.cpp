// scenarios/apps/iocp_server_support.cpp — the IOCP servers' shared setup: listener, accept sockets, port
// association, error messages. Application code: only iosim::Os calls.
#include "scenarios/apps/iocp_server_support.hpp"

#include <fmt/format.h>

#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {

using namespace win32;

std::string win32_call_error(std::string_view call, DWORD error) {
  return fmt::format("{}: {}", call, win32_error_name(error));
}

void win32_fail(AppContext& ctx, std::string_view call, DWORD error) {
  if (ctx.error.empty()) ctx.error = win32_call_error(call, error);
}

bool is_peer_reset(DWORD error) {
  return is_connection_reset_error(error) || is_connection_aborted_error(error);
}

SOCKET overlapped_socket(AppContext& ctx) {
  const SOCKET s = ctx.os.WSASocketW(AF::INET, SOCK::STREAM, IPPROTO::TCP, WSA_FLAG_OVERLAPPED_);
  if (s == INVALID_SOCKET_) win32_fail(ctx, "WSASocketW", ctx.os.GetLastError());
  return s;
}

SOCKET overlapped_listener(AppContext& ctx) {
  Os& os = ctx.os;
  const SOCKET listener = overlapped_socket(ctx);
  if (listener == INVALID_SOCKET_) return INVALID_SOCKET_;
  SockAddr local{loopback_ip, 0};
  const auto backlog = static_cast<int>(param_int(ctx.params, backlog_param));
  const char* failed_call = nullptr;
  if (os.bind(as_fd(listener), local) < 0) {
    failed_call = "bind";
  } else if (os.listen(as_fd(listener), backlog) < 0) {
    failed_call = "listen";
  } else if (os.getsockname(as_fd(listener), &local) < 0) {
    failed_call = "getsockname";
  }
  if (failed_call != nullptr) {
    fail(ctx, failed_call);  // POSIX-shaped calls report through errno
    os.closesocket(listener);
    return INVALID_SOCKET_;
  }
  ctx.ready(local.port);
  return listener;
}

bool associate(AppContext& ctx, HANDLE port, SOCKET s) {
  if (ctx.os.CreateIoCompletionPort(as_handle(s), port, s, 0) == nullptr) {
    win32_fail(ctx, "CreateIoCompletionPort", ctx.os.GetLastError());
    return false;
  }
  return true;
}

bool next_io_packet(AppContext& ctx, HANDLE port, IoPacket* packet) {
  *packet = IoPacket{};
  packet->ok =
      ctx.os.GetQueuedCompletionStatus(port, &packet->bytes, &packet->key, &packet->overlapped, INFINITE_);
  if (packet->overlapped != nullptr) return true;
  win32_fail(ctx, "GetQueuedCompletionStatus", ctx.os.GetLastError());
  return false;
}

bool drain_aborted_requests(AppContext& ctx, HANDLE port, int outstanding, DWORD timeout_ms) {
  while (outstanding > 0) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* overlapped = nullptr;
    const BOOL ok = ctx.os.GetQueuedCompletionStatus(port, &bytes, &key, &overlapped, timeout_ms);
    if (overlapped != nullptr) {
      --outstanding;  // an aborted (or late) request: its OVERLAPPED is no longer the kernel's
    } else if (!ok) {
      win32_fail(ctx, "GetQueuedCompletionStatus (draining aborted requests)", ctx.os.GetLastError());
      return false;
    }
  }
  return true;
}

bool finish_accept(AppContext& ctx, SOCKET listener, SOCKET accepted) {
  Os& os = ctx.os;
  if (os.setsockopt(as_fd(accepted), SOL::SOCKET, SO_UPDATE_ACCEPT_CONTEXT_, as_fd(listener)) < 0) {
    fail(ctx, "setsockopt(SO_UPDATE_ACCEPT_CONTEXT)");
    return false;
  }
  if (param_int(ctx.params, tcp_nodelay_param) != 0 &&
      os.setsockopt(as_fd(accepted), IPPROTO::TCP, TCP::NODELAY, 1) < 0) {
    fail(ctx, "setsockopt(TCP_NODELAY)");
    return false;
  }
  return true;
}

}  // namespace iosim::servers
