// scenarios/apps/iocp_server_support.hpp — what the IOCP servers share: Win32 error messages, handle casts,
// the overlapped loopback listener, and fresh accept sockets for AcceptEx. Plain Os calls, no Windows header.
#pragma once

#include <string>
#include <string_view>

#include "scenarios/registry.hpp"

namespace iosim::servers {

// The completion key of the "quit" packets the pools post to stop their workers (a real key never has it:
// the servers use socket handles as keys).
inline constexpr win32::ULONG_PTR quit_key = ~win32::ULONG_PTR{0};

inline constexpr AppParam accept_depth_param{"accept_depth", 4, 1, 64,
                                             "AcceptEx requests kept pre-posted on the listening socket"};

// A SOCKET is a HANDLE for CreateIoCompletionPort, CancelIoEx and SetFileCompletionNotificationModes.
inline win32::HANDLE as_handle(win32::SOCKET s) {
  return reinterpret_cast<win32::HANDLE>(s);
}
// A SOCKET is also the int fd of the POSIX-shaped calls (bind, listen, setsockopt).
inline int as_fd(win32::SOCKET s) {
  return static_cast<int>(s);
}

// "<Call>: <ERROR_NAME>", e.g. "WSARecv: WSAECONNRESET", for a Win32 error code.
std::string win32_call_error(std::string_view call, win32::DWORD error);
// Records "<Call>: <ERROR_NAME>" of `error` as the app's error, unless one is already recorded.
void win32_fail(AppContext& ctx, std::string_view call, win32::DWORD error);

// True for the errors a completion reports when the peer reset or aborted the connection: the server closes
// that socket and carries on (it is the client's doing, not the server's failure).
bool is_peer_reset(win32::DWORD error);

// WSASocketW(WSA_FLAG_OVERLAPPED) + bind 127.0.0.1:0 + listen(backlog) + getsockname, then ctx.ready(port).
// Returns INVALID_SOCKET_ with ctx.error set on failure.
win32::SOCKET overlapped_listener(AppContext& ctx);
// A fresh overlapped socket for AcceptEx to accept into. INVALID_SOCKET_ with ctx.error set on failure.
win32::SOCKET overlapped_socket(AppContext& ctx);
// CreateIoCompletionPort(socket, port, key = the socket's handle value). False with ctx.error set.
bool associate(AppContext& ctx, win32::HANDLE port, win32::SOCKET s);
// After AcceptEx completed: SO_UPDATE_ACCEPT_CONTEXT (so getpeername, shutdown work), then the connection
// options of the params (TCP_NODELAY). False with ctx.error set.
bool finish_accept(AppContext& ctx, win32::SOCKET listener, win32::SOCKET accepted);

// One packet as GetQueuedCompletionStatus returned it.
struct IoPacket {
  win32::BOOL ok = win32::FALSE_;  // FALSE with an OVERLAPPED: the request failed (GetLastError says why)
  win32::DWORD bytes = 0;
  win32::ULONG_PTR key = 0;
  win32::OVERLAPPED* overlapped = nullptr;
};
// Waits (INFINITE) for the next I/O packet. False, with ctx.error set, when none came back with an
// OVERLAPPED: the port itself failed (a single-threaded server posts no packets of its own).
bool next_io_packet(AppContext& ctx, win32::HANDLE port, IoPacket* packet);

// Closing a socket aborts its pending requests, but Windows completes them later: the I/O manager writes
// STATUS_CANCELLED into each OVERLAPPED and queues its packet after closesocket has returned (Wine does the
// same; a server that frees its per-I/O data at once crashes ~1 run in 20 under Wine). So per-I/O data may be
// freed only once those packets are dequeued: this dequeues until `outstanding` packets with an OVERLAPPED
// came back (quit packets, which carry none, are skipped). False with ctx.error set when the port stays
// silent for `timeout_ms` first.
bool drain_aborted_requests(AppContext& ctx, win32::HANDLE port, int outstanding,
                            win32::DWORD timeout_ms = 10'000);

}  // namespace iosim::servers
