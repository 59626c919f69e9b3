// scenarios/proactor/proactor.hpp — a small Proactor: start an operation with a completion handler, and run()
// calls the handler when the operation is done. Two implementations behind one interface: IOCP, where the
// kernel performs the operation and reports its completion, and an emulation over epoll, where readiness is
// turned into completion by performing the operation in user space (Boost.Asio on Linux, libuv's uv_read).
//
// The contract, as Asio's: a handler never runs inside the call that started the operation, only from run(),
// one at a time on the thread in run() (no locks needed). async_read completes with whatever arrived (at
// least one byte, or 0 at end of file); async_write completes only when every byte is written. The caller's
// buffers must live until the handler runs. close() ends a socket's pending operations with
// Status::aborted. run() returns when no operation is outstanding (Asio's "out of work").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "iosim/os.hpp"

namespace iosim::proactor {

enum class Status : std::uint8_t {
  ok,
  reset,    // the peer reset or aborted the connection (ECONNRESET, EPIPE, ERROR_NETNAME_DELETED ...)
  aborted,  // close() ended the operation (ERROR_OPERATION_ABORTED)
  failed,   // anything else: `error` names the call and the error
};

struct Result {
  Status status = Status::ok;
  std::string error;  // "<call>: <error name>" when status is not ok, e.g. "WSARecv: ERROR_NETNAME_DELETED"
  bool ok() const { return status == Status::ok; }
};

using AcceptHandler = std::function<void(const Result&, int socket)>;
using IoHandler = std::function<void(const Result&, std::size_t bytes)>;

// Which implementation: auto picks IOCP when CreateIoCompletionPort works on the Os, else epoll.
enum class Impl : std::uint8_t { automatic = 0, iocp = 1, epoll = 2 };

class Proactor {
 public:
  virtual ~Proactor() = default;
  virtual std::string_view name() const = 0;  // "iocp" or "epoll"

  // A listening TCP socket on 127.0.0.1, port chosen by the kernel (returned in *port), ready for
  // async_accept. -1 with error() set on failure.
  virtual int listen_loopback(int backlog, std::uint16_t* port) = 0;
  virtual void async_accept(int listener, AcceptHandler handler) = 0;
  virtual void async_read(int socket, void* buffer, std::size_t len, IoHandler handler) = 0;
  virtual void async_write(int socket, const void* data, std::size_t len, IoHandler handler) = 0;
  // Closes the socket; its pending operations complete with Status::aborted.
  virtual void close(int socket) = 0;
  // Runs handlers until no operation is outstanding. False when the loop itself failed (error() says so).
  virtual bool run() = 0;

  // The first failure of the loop itself, "<call>: <error name>"; empty while none.
  const std::string& error() const { return error_; }

 protected:
  std::string error_;
};

// The Proactor for `impl` on `os`; nullptr with *error set when it cannot be opened (e.g. impl=iocp on an Os
// without Win32 I/O: "CreateIoCompletionPort: ERROR_NOT_SUPPORTED").
std::unique_ptr<Proactor> make_proactor(Os& os, Impl impl, std::string* error);

// The two implementations (proactor_iocp.cpp, proactor_epoll.cpp); make_proactor chooses.
std::unique_ptr<Proactor> make_iocp_proactor(Os& os, std::string* error);
std::unique_ptr<Proactor> make_epoll_proactor(Os& os, std::string* error);

}  // namespace iosim::proactor
