// scenarios/apps/iocp_accept_callbacks.cpp — one thread, one completion port, and a map from OVERLAPPED
// address to the callback to run: the event loop of CPython's asyncio ProactorEventLoop (IocpProactor, over
// the _overlapped module).
//
// Every operation gets its own Operation (OVERLAPPED + buffer + callback), registered in `pending_` by the
// OVERLAPPED's address *before* the call is issued — an immediate success still posts its packet, which may
// be dequeued by the very next GetQueuedCompletionStatusEx. The loop takes packets in batches, pops each
// entry's Operation from the map and calls its callback; the map owns the Operation until then, so a
// buffer is never freed while the kernel may still write into it. Closing is IocpProactor.close(): close the
// sockets (their requests complete with ERROR_OPERATION_ABORTED) and keep polling until the map is empty.
// Serial by construction: callbacks run one at a time on the loop thread and never block.
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"
#include "scenarios/apps/iocp_server_support.hpp"

namespace iosim::servers {
namespace {

using namespace win32;

constexpr AppParam batch_param{"batch_entries", 16, 1, 1024,
                               "OVERLAPPED_ENTRY slots per GetQueuedCompletionStatusEx"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, batch_param};

// What a completion reports to its callback: ok, or the packet's Win32 error; the bytes transferred.
struct Completion {
  DWORD error = Error::SUCCESS;
  DWORD bytes = 0;
};
using Callback = std::function<void(const Completion&)>;

struct Operation {
  OVERLAPPED overlapped{};
  std::vector<char> buffer;
  Callback callback;
};

class CallbackLoop {
 public:
  explicit CallbackLoop(AppContext& ctx)
      : ctx_(ctx), os_(ctx.os), entries_(static_cast<std::size_t>(param_int(ctx.params, batch_param))) {}
  void run();

 private:
  // Registers `operation` under its OVERLAPPED's address and returns it for the call that issues it.
  Operation& register_operation(std::unique_ptr<Operation> operation);
  // The issuing call returned: pending (or done at once) leaves it registered; an immediate failure
  // unregisters it and runs its callback now with the error.
  void issued(Operation& operation, bool failed_at_once);
  bool poll_batch();
  void accept_next();
  void read(SOCKET s);
  void write(SOCKET s, std::vector<char> data, std::size_t offset);
  void close_connection(SOCKET s, DWORD error, const char* call);
  void shut_down();

  AppContext& ctx_;
  Os& os_;
  HANDLE port_ = nullptr;
  SOCKET listener_ = INVALID_SOCKET_;
  SOCKET accept_socket_ = INVALID_SOCKET_;
  std::vector<OVERLAPPED_ENTRY> entries_;
  std::map<OVERLAPPED*, std::unique_ptr<Operation>> pending_;  // lookups only: no order leaks out
  std::map<SOCKET, bool> open_;                                // the open connections
  int accepted_ = 0;
  int finished_ = 0;
  bool closing_ = false;
};

Operation& CallbackLoop::register_operation(std::unique_ptr<Operation> operation) {
  Operation& registered = *operation;
  pending_.emplace(&registered.overlapped, std::move(operation));
  return registered;
}

void CallbackLoop::issued(Operation& operation, bool failed_at_once) {
  if (!failed_at_once) return;
  const DWORD error = os_.GetLastError();
  if (error == Error::IO_PENDING) return;
  auto found = pending_.find(&operation.overlapped);
  std::unique_ptr<Operation> owned = std::move(found->second);
  pending_.erase(found);
  owned->callback({error, 0});
}

// One GetQueuedCompletionStatusEx: wait for the first packet, take what else is queued (up to the batch),
// and run each entry's callback. False when the port failed.
bool CallbackLoop::poll_batch() {
  ULONG removed = 0;
  if (!os_.GetQueuedCompletionStatusEx(port_, entries_.data(), static_cast<ULONG>(entries_.size()), &removed,
                                       INFINITE_, FALSE_)) {
    win32_fail(ctx_, "GetQueuedCompletionStatusEx", os_.GetLastError());
    return false;
  }
  for (ULONG i = 0; i < removed; ++i) {
    const OVERLAPPED_ENTRY& entry = entries_[i];
    auto found = pending_.find(entry.lpOverlapped);
    if (found == pending_.end()) {  // CPython raises here too: a packet for nothing we issued
      win32_fail(ctx_, "GetQueuedCompletionStatusEx", Error::INVALID_PARAMETER);
      return false;
    }
    std::unique_ptr<Operation> operation = std::move(found->second);
    pending_.erase(found);
    const auto status = static_cast<NTSTATUS>(entry.Internal);
    operation->callback({nt_status_to_dos_error(status), entry.dwNumberOfBytesTransferred});
  }
  return true;
}

void CallbackLoop::accept_next() {
  accept_socket_ = overlapped_socket(ctx_);
  if (accept_socket_ == INVALID_SOCKET_) return shut_down();
  auto operation = std::make_unique<Operation>();
  operation->buffer.resize(2 * accept_address_bytes_min);
  operation->callback = [this](const Completion& done) {
    const SOCKET accepted = accept_socket_;
    accept_socket_ = INVALID_SOCKET_;
    if (closing_) {
      os_.closesocket(accepted);
    } else if (done.error != Error::SUCCESS) {
      os_.closesocket(accepted);
      if (is_peer_reset(done.error)) return accept_next();  // the client reset while queued: take the next
      win32_fail(ctx_, "AcceptEx", done.error);
      shut_down();  // the client reset while queued: accept the next one
    } else if (!finish_accept(ctx_, listener_, accepted) || !associate(ctx_, port_, accepted)) {
      os_.closesocket(accepted);
      shut_down();
    } else {
      open_[accepted] = true;
      read(accepted);
      if (++accepted_ < ctx_.connections) accept_next();
    }
  };
  Operation& registered = register_operation(std::move(operation));
  DWORD received = 0;
  issued(registered,
         !os_.AcceptEx(listener_, accept_socket_, registered.buffer.data(), 0, accept_address_bytes_min,
                       accept_address_bytes_min, &received, &registered.overlapped));
}

void CallbackLoop::read(SOCKET s) {
  auto operation = std::make_unique<Operation>();
  operation->buffer.resize(static_cast<std::size_t>(param_int(ctx_.params, read_chunk_param)));
  Operation* raw = operation.get();
  operation->callback = [this, s, raw](const Completion& done) {
    if (done.error != Error::SUCCESS) return close_connection(s, done.error, "WSARecv");
    if (done.bytes == 0) return close_connection(s, Error::SUCCESS, "");
    raw->buffer.resize(done.bytes);
    write(s, std::move(raw->buffer), 0);
  };
  Operation& registered = register_operation(std::move(operation));
  WSABUF wsabuf{static_cast<ULONG>(registered.buffer.size()), registered.buffer.data()};
  DWORD flags = 0;
  issued(registered, os_.WSARecv(s, &wsabuf, 1, nullptr, &flags, &registered.overlapped) != 0);
}

// Sends data[offset..]; a partial completion re-posts the rest, a full one goes back to reading.
void CallbackLoop::write(SOCKET s, std::vector<char> data, std::size_t offset) {
  auto operation = std::make_unique<Operation>();
  operation->buffer = std::move(data);
  Operation* raw = operation.get();
  operation->callback = [this, s, raw, offset](const Completion& done) {
    if (done.error != Error::SUCCESS) return close_connection(s, done.error, "WSASend");
    const std::size_t sent = offset + done.bytes;
    if (sent < raw->buffer.size()) return write(s, std::move(raw->buffer), sent);
    read(s);
  };
  Operation& registered = register_operation(std::move(operation));
  WSABUF wsabuf{static_cast<ULONG>(registered.buffer.size() - offset), registered.buffer.data() + offset};
  issued(registered, os_.WSASend(s, &wsabuf, 1, nullptr, 0, &registered.overlapped) != 0);
}

void CallbackLoop::close_connection(SOCKET s, DWORD error, const char* call) {
  if (open_.erase(s) == 0) return;  // already closed by shut_down: this is its aborted request
  if (error != Error::SUCCESS && !is_peer_reset(error)) win32_fail(ctx_, call, error);
  if (os_.closesocket(s) != 0) win32_fail(ctx_, "closesocket", os_.GetLastError());
  if (++finished_ == ctx_.connections || !ctx_.error.empty()) shut_down();
}

// IocpProactor.close(): close what is open; the requests still pending complete, aborted, through the port
// and run() keeps polling until there are none.
void CallbackLoop::shut_down() {
  if (closing_) return;
  closing_ = true;
  if (listener_ != INVALID_SOCKET_) os_.closesocket(listener_);  // aborts the pending AcceptEx
  listener_ = INVALID_SOCKET_;
  const std::map<SOCKET, bool> still_open = std::move(open_);
  open_.clear();
  for (const auto& [s, open] : still_open) os_.closesocket(s);
}

void CallbackLoop::run() {
  port_ = os_.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, nullptr, 0, 1);
  if (port_ == nullptr) return win32_fail(ctx_, "CreateIoCompletionPort", os_.GetLastError());
  listener_ = overlapped_listener(ctx_);
  if (listener_ != INVALID_SOCKET_ && associate(ctx_, port_, listener_) && ctx_.connections > 0) {
    accept_next();
  } else {
    shut_down();
  }
  while (!pending_.empty() && poll_batch()) {
  }
  shut_down();
  if (!os_.CloseHandle(port_)) win32_fail(ctx_, "CloseHandle", os_.GetLastError());
}

void iocp_accept_callbacks_main(AppContext& ctx) {
  CallbackLoop loop(ctx);
  loop.run();
}

}  // namespace

AppInfo iocp_accept_callbacks_app() {
  AppInfo info{"iocp_accept_callbacks",
               "echo server: one thread, a map from OVERLAPPED address to the callback to run, batches from "
               "GetQueuedCompletionStatusEx (CPython's asyncio ProactorEventLoop)",
               iocp_accept_callbacks_main, params};
  info.native_backend = "windows";
  return info;
}

}  // namespace iosim::servers
