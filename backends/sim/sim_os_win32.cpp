// backends/sim/sim_os_win32.cpp — SimOs's Win32-shaped calls: argument checks and BOOL / SOCKET_ERROR results
// around the kernel's Nt*/AFD entry points, and the per-task GetLastError value they set.
#include <climits>

#include "backends/sim/sim_os.hpp"
#include "iosim/assert.hpp"
#include "kernel_model/afd.hpp"
#include "kernel_model/iocp.hpp"

namespace iosim {
namespace {

using win32::DWORD;
using win32::Error;
using win32::WSA;

enum Win32Call : int {
  w_create_port,
  w_gqcs,
  w_gqcs_ex,
  w_post,
  w_close_handle,
  w_wsa_socket,
  w_closesocket,
  w_wsa_recv,
  w_wsa_send,
  w_accept_ex,
  w_connect_ex,
  w_get_overlapped_result,
  w_cancel_io_ex,
  w_set_notification_modes,
  w_count
};
constexpr const char* win32_call_names[w_count] = {"CreateIoCompletionPort",
                                                   "GetQueuedCompletionStatus",
                                                   "GetQueuedCompletionStatusEx",
                                                   "PostQueuedCompletionStatus",
                                                   "CloseHandle",
                                                   "WSASocketW",
                                                   "closesocket",
                                                   "WSARecv",
                                                   "WSASend",
                                                   "AcceptEx",
                                                   "ConnectEx",
                                                   "WSAGetOverlappedResult",
                                                   "CancelIoEx",
                                                   "SetFileCompletionNotificationModes"};

// A handle's fd; -1 for NULL-like and INVALID_HANDLE_VALUE (no fd has those numbers).
int handle_fd(win32::HANDLE handle) {
  const auto value = reinterpret_cast<std::uintptr_t>(handle);
  return value > static_cast<std::uintptr_t>(INT_MAX) ? -1 : static_cast<int>(value);
}
int socket_fd(win32::SOCKET s) {
  return s > static_cast<win32::SOCKET>(INT_MAX) ? -1 : static_cast<int>(s);
}
win32::HANDLE fd_handle(int fd) {
  return reinterpret_cast<win32::HANDLE>(static_cast<std::uintptr_t>(fd));
}
// GetQueuedCompletionStatus's dwMilliseconds as the kernel's timeout (-1: forever).
std::int64_t timeout_of(DWORD milliseconds) {
  return milliseconds == win32::INFINITE_ ? -1 : static_cast<std::int64_t>(milliseconds);
}

// As runs_in_destructors in sim_os.cpp: in a task being torn down these return instead of unwinding it.
constexpr bool win32_runs_in_destructors(int call) {
  return call == w_closesocket || call == w_close_handle || call == w_cancel_io_ex;
}

// A task being torn down unwinds at its next call, unless it is unwinding already or the call is one that
// runs in destructors (within the scheduler's teardown grace, which it then spends).
bool unwinds_here(sim::Scheduler& scheduler, int call) {
  if (!scheduler.killed() || std::uncaught_exceptions() > 0) return false;
  if (!win32_runs_in_destructors(call) || !scheduler.teardown_grace_left()) return true;
  scheduler.spend_teardown_grace();
  return false;
}

}  // namespace

void SimOs::win32_enter(int call, std::int64_t arg0, std::int64_t arg1) {
  if (!win32_names_[0]) {  // interned on first use: runs without Win32 calls keep their name table
    for (int i = 0; i < w_count; ++i) win32_names_[i] = trace_.intern(win32_call_names[i]);
  }
  if (unwinds_here(*scheduler_, call)) throw sim::TaskKilled{};
  trace_.record({scheduler_->now_ns(), scheduler_->current(), sim::EventKind::sys_enter, win32_names_[call],
                 0, arg0, arg1});
  scheduler_->yield();
  scheduler_->consume(config_.syscall_cost_ns);
}

bool SimOs::win32_leave(int call, bool ok, std::int64_t result, DWORD error) {
  trace_.record({scheduler_->now_ns(), scheduler_->current(), sim::EventKind::sys_exit, win32_names_[call], 0,
                 result, ok ? 0 : error});
  if (unwinds_here(*scheduler_, call)) throw sim::TaskKilled{};
  if (!ok) SetLastError(error);
  return ok;
}

DWORD SimOs::GetLastError() {
  const sim::task_id task = scheduler_->current();
  return task < win32_errors_.size() ? win32_errors_[task] : Error::SUCCESS;
}

void SimOs::SetLastError(DWORD error) {
  const sim::task_id task = scheduler_->current();
  if (task >= win32_errors_.size()) win32_errors_.resize(task + 1, Error::SUCCESS);
  win32_errors_[task] = error;
}

win32::HANDLE SimOs::CreateIoCompletionPort(win32::HANDLE file, win32::HANDLE port, win32::ULONG_PTR key,
                                            DWORD threads) {
  win32_enter(w_create_port, handle_fd(file), handle_fd(port));
  DWORD error = Error::SUCCESS;
  int port_fd = handle_fd(port);
  if (file == win32::INVALID_HANDLE_VALUE_) {
    // A new port, associated with nothing; ExistingCompletionPort must then be NULL.
    error = port ? Error::INVALID_PARAMETER
                 : kernel_->nt_create_io_completion(static_cast<int>(threads), &port_fd);
  } else if (!port) {
    // A new port and the file's association with it, in one call.
    error = kernel_->nt_create_io_completion(static_cast<int>(threads), &port_fd);
    if (!error) error = kernel_->nt_set_completion_port(handle_fd(file), port_fd, key);
    if (error && port_fd >= 0) kernel_->nt_close(port_fd);
  } else {
    error = kernel_->nt_set_completion_port(handle_fd(file), port_fd, key);
  }
  win32_leave(w_create_port, !error, error ? 0 : port_fd, error);
  return error ? nullptr : fd_handle(port_fd);
}

win32::BOOL SimOs::GetQueuedCompletionStatus(win32::HANDLE port, DWORD* bytes, win32::ULONG_PTR* key,
                                             win32::OVERLAPPED** overlapped, DWORD timeout_ms) {
  win32_enter(w_gqcs, handle_fd(port), timeout_ms);
  if (!bytes || !key || !overlapped) return win32_leave(w_gqcs, false, 0, Error::INVALID_PARAMETER);
  *overlapped = nullptr;
  kernel::completion_packet packet;
  unsigned removed = 0;
  DWORD error =
      kernel_->nt_remove_io_completion(handle_fd(port), timeout_of(timeout_ms), &packet, 1, &removed);
  if (removed == 1) {
    *bytes = static_cast<DWORD>(packet.information);
    *key = packet.key;
    *overlapped = packet.overlapped;
    // A failed I/O is a dequeued packet too: FALSE with *lpOverlapped set and the error of its status.
    error = win32::nt_status_to_dos_error(packet.status);
  }
  return win32_leave(w_gqcs, !error, static_cast<std::int64_t>(packet.key), error) ? win32::TRUE_
                                                                                   : win32::FALSE_;
}

win32::BOOL SimOs::GetQueuedCompletionStatusEx(win32::HANDLE port, win32::OVERLAPPED_ENTRY* entries,
                                               win32::ULONG count, win32::ULONG* removed, DWORD timeout_ms,
                                               win32::BOOL) {
  win32_enter(w_gqcs_ex, handle_fd(port), count);
  if (!entries || !removed || count == 0) return win32_leave(w_gqcs_ex, false, 0, Error::INVALID_PARAMETER);
  *removed = 0;
  std::vector<kernel::completion_packet> packets(count);
  unsigned got = 0;
  const DWORD error =
      kernel_->nt_remove_io_completion(handle_fd(port), timeout_of(timeout_ms), packets.data(), count, &got);
  for (unsigned i = 0; i < got; ++i) {
    entries[i] = {packets[i].key, packets[i].overlapped, static_cast<std::uint32_t>(packets[i].status),
                  static_cast<DWORD>(packets[i].information)};
  }
  *removed = got;
  return win32_leave(w_gqcs_ex, !error, got, error) ? win32::TRUE_ : win32::FALSE_;
}

win32::BOOL SimOs::PostQueuedCompletionStatus(win32::HANDLE port, DWORD bytes, win32::ULONG_PTR key,
                                              win32::OVERLAPPED* overlapped) {
  win32_enter(w_post, handle_fd(port), static_cast<std::int64_t>(key));
  const DWORD error =
      kernel_->nt_set_io_completion(handle_fd(port), {key, overlapped, win32::STATUS::SUCCESS, bytes});
  return win32_leave(w_post, !error, !error, error) ? win32::TRUE_ : win32::FALSE_;
}

win32::BOOL SimOs::CloseHandle(win32::HANDLE object) {
  win32_enter(w_close_handle, handle_fd(object), 0);
  const DWORD error = kernel_->nt_close(handle_fd(object));
  return win32_leave(w_close_handle, !error, !error, error) ? win32::TRUE_ : win32::FALSE_;
}

win32::SOCKET SimOs::WSASocketW(int af, int type, int protocol, DWORD) {
  win32_enter(w_wsa_socket, af, type);
  const int fd = kernel_->sys_socket(af, type, protocol);
  const DWORD error = fd < 0 ? static_cast<DWORD>(kernel::wsa_error_from_errno(-fd)) : 0;
  win32_leave(w_wsa_socket, fd >= 0, fd, error);
  return fd < 0 ? win32::INVALID_SOCKET_ : static_cast<win32::SOCKET>(fd);
}

int SimOs::closesocket(win32::SOCKET s) {
  win32_enter(w_closesocket, socket_fd(s), 0);
  const kernel::file_ref f = kernel_->files().fget(socket_fd(s));
  const DWORD error =
      !f || !f->as_socket() ? static_cast<DWORD>(WSA::NOTSOCK) : kernel_->nt_close(socket_fd(s));
  return win32_leave(w_closesocket, !error, 0, error) ? 0 : win32::SOCKET_ERROR_;
}

int SimOs::WSARecv(win32::SOCKET s, win32::WSABUF* buffers, DWORD count, DWORD* received, DWORD* flags,
                   win32::OVERLAPPED* overlapped) {
  win32_enter(w_wsa_recv, socket_fd(s), count);
  if (flags) *flags = 0;
  const DWORD error = kernel_->afd_recv(socket_fd(s), buffers, count, received, overlapped);
  return win32_leave(w_wsa_recv, !error, !error && received ? *received : 0, error) ? 0
                                                                                    : win32::SOCKET_ERROR_;
}

int SimOs::WSASend(win32::SOCKET s, win32::WSABUF* buffers, DWORD count, DWORD* sent, DWORD,
                   win32::OVERLAPPED* overlapped) {
  win32_enter(w_wsa_send, socket_fd(s), count);
  const DWORD error = kernel_->afd_send(socket_fd(s), buffers, count, sent, overlapped);
  return win32_leave(w_wsa_send, !error, !error && sent ? *sent : 0, error) ? 0 : win32::SOCKET_ERROR_;
}

win32::BOOL SimOs::AcceptEx(win32::SOCKET listener, win32::SOCKET accepted, void* buffer, DWORD receive_bytes,
                            DWORD local_bytes, DWORD remote_bytes, DWORD* received,
                            win32::OVERLAPPED* overlapped) {
  win32_enter(w_accept_ex, socket_fd(listener), socket_fd(accepted));
  const DWORD error = kernel_->afd_accept(socket_fd(listener), socket_fd(accepted), buffer, receive_bytes,
                                          local_bytes, remote_bytes, received, overlapped);
  return win32_leave(w_accept_ex, !error, !error, error) ? win32::TRUE_ : win32::FALSE_;
}

win32::BOOL SimOs::ConnectEx(win32::SOCKET s, const SockAddr& name, const void* buffer, DWORD length,
                             DWORD* sent, win32::OVERLAPPED* overlapped) {
  win32_enter(w_connect_ex, socket_fd(s), name.port);
  const DWORD error = kernel_->afd_connect(socket_fd(s), name, buffer, length, sent, overlapped);
  return win32_leave(w_connect_ex, !error, !error, error) ? win32::TRUE_ : win32::FALSE_;
}

win32::BOOL SimOs::WSAGetOverlappedResult(win32::SOCKET s, win32::OVERLAPPED* overlapped, DWORD* transferred,
                                          win32::BOOL wait, DWORD* flags) {
  win32_enter(w_get_overlapped_result, socket_fd(s), wait);
  if (flags) *flags = 0;
  const DWORD error = kernel_->afd_get_overlapped_result(socket_fd(s), overlapped, wait != 0, transferred);
  return win32_leave(w_get_overlapped_result, !error, !error, error) ? win32::TRUE_ : win32::FALSE_;
}

win32::BOOL SimOs::CancelIoEx(win32::HANDLE file, win32::OVERLAPPED* overlapped) {
  win32_enter(w_cancel_io_ex, handle_fd(file), 0);
  const DWORD error = kernel_->afd_cancel_io(handle_fd(file), overlapped);
  return win32_leave(w_cancel_io_ex, !error, !error, error) ? win32::TRUE_ : win32::FALSE_;
}

win32::BOOL SimOs::SetFileCompletionNotificationModes(win32::HANDLE file, win32::UCHAR flags) {
  win32_enter(w_set_notification_modes, handle_fd(file), flags);
  const DWORD error = kernel_->afd_set_notification_modes(handle_fd(file), flags);
  return win32_leave(w_set_notification_modes, !error, !error, error) ? win32::TRUE_ : win32::FALSE_;
}

}  // namespace iosim
