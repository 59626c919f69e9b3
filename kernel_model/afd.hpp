// kernel_model/afd.hpp — overlapped socket I/O as Windows' AFD driver (afd.sys; ReactOS drivers/network/afd)
// runs it: IRPs pend per endpoint in FIFO order and complete to the handle's port when the socket moves.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "iosim/win32_abi.hpp"
#include "kernel_model/file.hpp"
#include "kernel_model/wait.hpp"

namespace iosim::kernel {

class completion_port;

// One pending request (an IRP with its IO_STACK_LOCATION, reduced to what AFD needs).
struct afd_irp {
  enum class kind : std::uint8_t { receive, send, accept, connect };
  kind type = kind::receive;
  win32::OVERLAPPED* overlapped = nullptr;  // the caller's; Internal/InternalHigh are the IO_STATUS_BLOCK
  std::vector<win32::WSABUF> buffers;       // receive/send: the caller's memory (scatter/gather)
  std::size_t transferred = 0;              // send: bytes already in the socket's write queue
  bool peeked_only = false;                 // a zero-byte receive: completes on data without consuming it
  // Where the completion goes: the port and key of the handle the request was issued on, read again when
  // it completes (a handle associated after the request was issued still gets the packet).
  std::shared_ptr<completion_port> port;
  win32::ULONG_PTR key = 0;
  // AcceptEx: the accept socket's handle and file, and the initial receive (its buffer is buffers[0]).
  int accept_handle = -1;
  std::weak_ptr<file> accept_file;
  std::uint64_t sequence = 0;  // issue order: a cancel completes requests by it (see cancel_order)
};

// Per-socket AFD state (AFD_FCB) plus the FILE_OBJECT's completion context and notification modes.
struct afd_endpoint {
  std::shared_ptr<completion_port> port;  // FILE_OBJECT.CompletionContext->Port (one per handle, for life)
  win32::ULONG_PTR key = 0;               // ... ->Key
  bool skip_completion_port_on_success = false;  // FILE_SKIP_COMPLETION_PORT_ON_SUCCESS
  bool accept_context_pending = false;           // accepted by AcceptEx; SO_UPDATE_ACCEPT_CONTEXT not yet set
  std::deque<afd_irp> receives, sends, accepts, connects;  // pending IRPs, each list FIFO
  wait_queue_entry wait;        // on the sock's wait queue: socket activity schedules afd_process
  bool process_queued = false;  // a deferred afd_process (the DPC) is already scheduled
  bool any_pending() const {
    return !receives.empty() || !sends.empty() || !accepts.empty() || !connects.empty();
  }
};

class tcp_socket;

// The Winsock error for a (positive) Linux errno of the socket layer: what ws2_32 reports for the same cause.
int wsa_error_from_errno(int error);

// The order in which a cancel completes several requests. closesocket's IRP_MJ_CLEANUP walks AFD's own
// pending lists: issue order. CancelIoEx walks the I/O manager's per-thread IRP list, which
// IopQueueIrpToThread fills at the head (ReactOS ntoskrnl/io/iomgr): newest first. Wine 8.0 does the same.
enum class cancel_order { issue, newest_first };

// Completes every pending request of `s` with `status` (closesocket → IRP_MJ_CLEANUP, CancelIoEx), in
// `order`. `only` limits it to one OVERLAPPED (null: all). Returns how many were cancelled.
int afd_cancel(tcp_socket& s, const win32::OVERLAPPED* only, win32::NTSTATUS status, cancel_order order);

}  // namespace iosim::kernel
