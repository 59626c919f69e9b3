// scenarios/proactor/proactor_iocp.cpp — the Proactor over an I/O completion port: the kernel performs each
// operation; run() dequeues one completion packet at a time and calls the handler of its OVERLAPPED.
//
// Each operation is an Operation (OVERLAPPED first, the handler, the progress of a write) owned by
// `pending_`, keyed by its OVERLAPPED's address, from before the call is issued until its packet is dequeued
// — an immediate success still posts a packet, since FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is not set, so
// every handler runs from run(). A write whose completion moved fewer bytes than asked is re-issued for the
// rest under the same Operation. An immediate failure posts nothing: its handler waits in `deferred_`.
#include <fmt/format.h>

#include <deque>
#include <map>
#include <set>
#include <utility>

#include "scenarios/proactor/proactor.hpp"

namespace iosim::proactor {
namespace {

using namespace win32;

HANDLE as_handle(int socket) {
  return reinterpret_cast<HANDLE>(static_cast<std::uintptr_t>(socket));
}
SOCKET as_socket(int socket) {
  return static_cast<SOCKET>(socket);
}

Result result_of(std::string_view call, DWORD error) {
  if (error == Error::SUCCESS) return {};
  Status status = Status::failed;
  if (error == Error::OPERATION_ABORTED) {
    status = Status::aborted;
  } else if (is_connection_reset_error(error) || is_connection_aborted_error(error)) {
    status = Status::reset;
  }
  return {status, fmt::format("{}: {}", call, win32_error_name(error))};
}

enum class Kind : std::uint8_t { accept, read, write };

struct Operation {
  OVERLAPPED overlapped{};
  Kind kind = Kind::read;
  int socket = -1;                    // the listener for accept
  SOCKET accepted = INVALID_SOCKET_;  // accept: the socket AcceptEx accepts into
  char* data = nullptr;
  std::size_t len = 0;
  std::size_t transferred = 0;  // write: bytes already written
  char addresses[2 * accept_address_bytes_min] = {};
  AcceptHandler on_accept;
  IoHandler on_io;
};

class IocpProactor final : public Proactor {
 public:
  IocpProactor(Os& os, HANDLE port) : os_(os), port_(port) {}
  ~IocpProactor() override;
  std::string_view name() const override { return "iocp"; }
  int listen_loopback(int backlog, std::uint16_t* port) override;
  void async_accept(int listener, AcceptHandler handler) override;
  void async_read(int socket, void* buffer, std::size_t len, IoHandler handler) override;
  void async_write(int socket, const void* data, std::size_t len, IoHandler handler) override;
  void close(int socket) override;
  bool run() override;

 private:
  bool associate(int socket);
  Operation& add(std::unique_ptr<Operation> operation);
  // Issues the operation's call; false with GetLastError set when it failed at once.
  bool issue(Operation& operation);
  void start(std::unique_ptr<Operation> operation, std::string_view call);
  void complete(std::unique_ptr<Operation> operation, DWORD error, DWORD bytes);
  void call_handler(Operation& operation, const Result& result);
  static std::string_view call_of(Kind kind);

  Os& os_;
  HANDLE port_;
  std::map<OVERLAPPED*, std::unique_ptr<Operation>> pending_;           // lookups only: no order leaks out
  std::deque<std::pair<std::unique_ptr<Operation>, Result>> deferred_;  // failed at once, handler not yet run
  std::set<int> sockets_;  // every socket this proactor created and nobody closed yet (by fd: a fixed order)
};

IocpProactor::~IocpProactor() {
  // Requests still pending (after a failed run) must not outlive their OVERLAPPEDs and buffers: close their
  // sockets, so they abort; wait for their packets, since Windows writes STATUS_CANCELLED into each
  // OVERLAPPED only when it completes the request, after closesocket returned; then close the port. Only then
  // may the Operations go. A port silent for 10 s leaves the rest to the process's end.
  for (const int socket : sockets_) os_.closesocket(as_socket(socket));
  while (!pending_.empty()) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* overlapped = nullptr;
    const BOOL ok = os_.GetQueuedCompletionStatus(port_, &bytes, &key, &overlapped, 10'000);
    if (overlapped != nullptr) {
      pending_.erase(overlapped);
    } else if (!ok) {
      break;
    }
  }
  os_.CloseHandle(port_);
}

std::string_view IocpProactor::call_of(Kind kind) {
  switch (kind) {
    case Kind::accept:
      return "AcceptEx";
    case Kind::read:
      return "WSARecv";
    case Kind::write:
      return "WSASend";
  }
  return "?";
}

bool IocpProactor::associate(int socket) {
  if (os_.CreateIoCompletionPort(as_handle(socket), port_, static_cast<ULONG_PTR>(socket), 0) != nullptr) {
    return true;
  }
  if (error_.empty()) error_ = result_of("CreateIoCompletionPort", os_.GetLastError()).error;
  return false;
}

int IocpProactor::listen_loopback(int backlog, std::uint16_t* port) {
  const SOCKET listener = os_.WSASocketW(AF::INET, SOCK::STREAM, IPPROTO::TCP, WSA_FLAG_OVERLAPPED_);
  if (listener == INVALID_SOCKET_) {
    error_ = result_of("WSASocketW", os_.GetLastError()).error;
    return -1;
  }
  const int fd = static_cast<int>(listener);
  SockAddr local{loopback_ip, 0};
  if (os_.bind(fd, local) < 0 || os_.listen(fd, backlog) < 0 || os_.getsockname(fd, &local) < 0) {
    error_ = fmt::format("listen: {}", errno_name(os_.last_errno()));
    os_.closesocket(listener);
    return -1;
  }
  if (!associate(fd)) {
    os_.closesocket(listener);
    return -1;
  }
  *port = local.port;
  sockets_.insert(fd);
  return fd;
}

Operation& IocpProactor::add(std::unique_ptr<Operation> operation) {
  Operation& added = *operation;
  pending_.emplace(&added.overlapped, std::move(operation));
  return added;
}

bool IocpProactor::issue(Operation& operation) {
  operation.overlapped = OVERLAPPED{};
  switch (operation.kind) {
    case Kind::accept: {
      DWORD received = 0;
      return os_.AcceptEx(as_socket(operation.socket), operation.accepted, operation.addresses, 0,
                          accept_address_bytes_min, accept_address_bytes_min, &received,
                          &operation.overlapped) != FALSE_;
    }
    case Kind::read: {
      WSABUF wsabuf{static_cast<ULONG>(operation.len), operation.data};
      DWORD flags = 0;
      return os_.WSARecv(as_socket(operation.socket), &wsabuf, 1, nullptr, &flags, &operation.overlapped) ==
             0;
    }
    case Kind::write: {
      WSABUF wsabuf{static_cast<ULONG>(operation.len - operation.transferred),
                    operation.data + operation.transferred};
      return os_.WSASend(as_socket(operation.socket), &wsabuf, 1, nullptr, 0, &operation.overlapped) == 0;
    }
  }
  return false;
}

// Registers, then issues: the packet of an immediate success may be the next one dequeued.
void IocpProactor::start(std::unique_ptr<Operation> operation, std::string_view call) {
  Operation& added = add(std::move(operation));
  if (issue(added)) return;
  const DWORD error = os_.GetLastError();
  if (error == Error::IO_PENDING) return;
  auto found = pending_.find(&added.overlapped);
  deferred_.emplace_back(std::move(found->second), result_of(call, error));
  pending_.erase(found);
}

void IocpProactor::async_accept(int listener, AcceptHandler handler) {
  auto operation = std::make_unique<Operation>();
  operation->kind = Kind::accept;
  operation->socket = listener;
  operation->on_accept = std::move(handler);
  operation->accepted = os_.WSASocketW(AF::INET, SOCK::STREAM, IPPROTO::TCP, WSA_FLAG_OVERLAPPED_);
  if (operation->accepted == INVALID_SOCKET_) {
    deferred_.emplace_back(std::move(operation), result_of("WSASocketW", os_.GetLastError()));
    return;
  }
  sockets_.insert(static_cast<int>(operation->accepted));
  start(std::move(operation), "AcceptEx");
}

void IocpProactor::async_read(int socket, void* buffer, std::size_t len, IoHandler handler) {
  auto operation = std::make_unique<Operation>();
  operation->kind = Kind::read;
  operation->socket = socket;
  operation->data = static_cast<char*>(buffer);
  operation->len = len;
  operation->on_io = std::move(handler);
  start(std::move(operation), "WSARecv");
}

void IocpProactor::async_write(int socket, const void* data, std::size_t len, IoHandler handler) {
  auto operation = std::make_unique<Operation>();
  operation->kind = Kind::write;
  operation->socket = socket;
  // WSASend only reads the buffer; the WSABUF's pointer is non-const by Winsock's signature.
  operation->data = const_cast<char*>(static_cast<const char*>(data));
  operation->len = len;
  operation->on_io = std::move(handler);
  start(std::move(operation), "WSASend");
}

void IocpProactor::close(int socket) {
  sockets_.erase(socket);
  if (os_.closesocket(as_socket(socket)) != 0 && error_.empty()) {
    error_ = result_of("closesocket", os_.GetLastError()).error;
  }
}

void IocpProactor::call_handler(Operation& operation, const Result& result) {
  if (operation.kind != Kind::accept) return operation.on_io(result, operation.transferred);
  int accepted = -1;
  if (result.ok()) {
    accepted = static_cast<int>(operation.accepted);
  } else if (operation.accepted != INVALID_SOCKET_) {
    close(static_cast<int>(operation.accepted));
  }
  operation.on_accept(result, accepted);
}

// A dequeued packet: finish the accept (update its context, associate it), or continue a partial write, or
// hand the result to the handler.
void IocpProactor::complete(std::unique_ptr<Operation> operation, DWORD error, DWORD bytes) {
  Result result = result_of(call_of(operation->kind), error);
  if (result.ok() && operation->kind == Kind::accept) {
    const int accepted = static_cast<int>(operation->accepted);
    if (os_.setsockopt(accepted, SOL::SOCKET, SO_UPDATE_ACCEPT_CONTEXT_, operation->socket) < 0) {
      result = {Status::failed,
                fmt::format("setsockopt(SO_UPDATE_ACCEPT_CONTEXT): {}", errno_name(os_.last_errno()))};
    } else if (!associate(accepted)) {
      result = {Status::failed, error_};
    }
  }
  operation->transferred += bytes;
  if (result.ok() && operation->kind == Kind::write && operation->transferred < operation->len && bytes > 0) {
    return start(std::move(operation), "WSASend");  // a partial completion: write the rest
  }
  call_handler(*operation, result);
}

bool IocpProactor::run() {
  while (!pending_.empty() || !deferred_.empty()) {
    while (!deferred_.empty()) {
      auto [operation, result] = std::move(deferred_.front());
      deferred_.pop_front();
      call_handler(*operation, result);
    }
    if (pending_.empty()) break;
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* overlapped = nullptr;
    const BOOL ok = os_.GetQueuedCompletionStatus(port_, &bytes, &key, &overlapped, INFINITE_);
    const DWORD error = ok ? Error::SUCCESS : os_.GetLastError();
    const auto found = overlapped ? pending_.find(overlapped) : pending_.end();
    if (found == pending_.end()) {  // the port failed, or a packet for nothing we issued
      if (error_.empty())
        error_ = result_of("GetQueuedCompletionStatus", ok ? Error::INVALID_PARAMETER : error).error;
      return false;
    }
    std::unique_ptr<Operation> operation = std::move(found->second);
    pending_.erase(found);
    complete(std::move(operation), error, bytes);
  }
  return true;
}

}  // namespace

std::unique_ptr<Proactor> make_iocp_proactor(Os& os, std::string* error) {
  const HANDLE port = os.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, nullptr, 0, 1);
  if (port == nullptr) {
    *error = result_of("CreateIoCompletionPort", os.GetLastError()).error;
    return nullptr;
  }
  return std::make_unique<IocpProactor>(os, port);
}

}  // namespace iosim::proactor
