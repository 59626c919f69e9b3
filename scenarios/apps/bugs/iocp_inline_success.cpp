// scenarios/apps/bugs/iocp_inline_success.cpp — bug zoo: an IOCP echo server that handles a WSARecv which
// succeeded at once right there, inline, and forgets that without FILE_SKIP_COMPLETION_PORT_ON_SUCCESS the
// same receive still posts a completion packet. skip_on_success=0 is the bug; 1 sets the mode (the fix).
//
// One thread, one completion port, one read in flight per connection (per-I/O data with the OVERLAPPED
// first), echo with blocking sends. After an echo the server posts the next WSARecv; when the client's bytes
// are already there (the rest of a message split over several segments), WSARecv returns 0 with the byte
// count, and the server echoes them at once and posts another WSARecv on the same OVERLAPPED. Without the
// skip mode the I/O manager has also queued a packet for that first receive: when the loop dequeues it, the
// server takes it for the completion of the receive now pending and echoes the buffer a second time — the
// client gets bytes it never sent (echo_in_order fails), and the OVERLAPPED was reused while its packet was
// still queued. With FILE_SKIP_COMPLETION_PORT_ON_SUCCESS set on each socket, an immediate success posts no
// packet, and handling it inline is exactly right (the optimisation .NET and Boost.Asio use).
#include <memory>
#include <type_traits>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"
#include "scenarios/apps/iocp_server_support.hpp"

namespace iosim::servers {
namespace {

using namespace win32;

constexpr AppParam skip_param{
    "skip_on_success", 1, 0, 1,
    "1: SetFileCompletionNotificationModes(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) on "
    "each socket; 0: handle immediate successes inline anyway (the bug)"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, skip_param};

struct Connection;

// Per-I/O data, OVERLAPPED first. `connection` is null for the listener's AcceptEx.
struct IoData {
  OVERLAPPED overlapped;
  Connection* connection;
};
static_assert(std::is_standard_layout_v<IoData> && offsetof(IoData, overlapped) == 0);

struct Connection {
  SOCKET socket = INVALID_SOCKET_;
  std::vector<char> buffer;
  IoData io{};
  bool open = true;
  bool receive_pending = false;  // a WSARecv pends: its packet is still to come
};

class InlineSuccessServer {
 public:
  explicit InlineSuccessServer(AppContext& ctx)
      : ctx_(ctx), os_(ctx.os), skip_on_success_(param_int(ctx.params, skip_param) != 0) {}
  void run();

 private:
  bool post_accept();
  void on_accept(BOOL ok);
  // Posts WSARecv until one pends; each immediate success is echoed inline.
  void read_more(Connection& connection);
  // Echoes `bytes` of the buffer; false when the connection ended.
  bool echo(Connection& connection, DWORD bytes);
  void close_connection(Connection& connection, DWORD error, const char* call);
  void cleanup();

  AppContext& ctx_;
  Os& os_;
  bool skip_on_success_;
  HANDLE port_ = nullptr;
  SOCKET listener_ = INVALID_SOCKET_;
  SOCKET accept_socket_ = INVALID_SOCKET_;
  IoData accept_io_{};
  char addresses_[2 * accept_address_bytes_min] = {};
  std::vector<std::unique_ptr<Connection>> connections_;  // freed after the port is closed
  int finished_ = 0;
};

bool InlineSuccessServer::post_accept() {
  accept_socket_ = overlapped_socket(ctx_);
  if (accept_socket_ == INVALID_SOCKET_) return false;
  accept_io_ = IoData{};
  DWORD received = 0;
  if (!os_.AcceptEx(listener_, accept_socket_, addresses_, 0, accept_address_bytes_min,
                    accept_address_bytes_min, &received, &accept_io_.overlapped) &&
      os_.GetLastError() != Error::IO_PENDING) {
    win32_fail(ctx_, "AcceptEx", os_.GetLastError());
    return false;
  }
  return true;
}

void InlineSuccessServer::close_connection(Connection& connection, DWORD error, const char* call) {
  if (error != Error::SUCCESS && !is_peer_reset(error)) win32_fail(ctx_, call, error);
  connection.open = false;
  if (os_.closesocket(connection.socket) != 0) win32_fail(ctx_, "closesocket", os_.GetLastError());
  ++finished_;
}

bool InlineSuccessServer::echo(Connection& connection, DWORD bytes) {
  if (bytes == 0) {
    close_connection(connection, Error::SUCCESS, "");  // the client's FIN
    return false;
  }
  const std::string error = send_all_blocking(
      os_, as_fd(connection.socket), reinterpret_cast<const std::byte*>(connection.buffer.data()), bytes);
  if (error.empty()) return true;
  const int send_errno = os_.last_errno();
  if (send_errno != E::CONNRESET && send_errno != E::PIPE && ctx_.error.empty()) ctx_.error = error;
  close_connection(connection, Error::SUCCESS, "");
  return false;
}

void InlineSuccessServer::read_more(Connection& connection) {
  for (;;) {
    connection.io.overlapped = OVERLAPPED{};
    WSABUF wsabuf{static_cast<ULONG>(connection.buffer.size()), connection.buffer.data()};
    DWORD bytes = 0, flags = 0;
    if (os_.WSARecv(connection.socket, &wsabuf, 1, &bytes, &flags, &connection.io.overlapped) != 0) {
      const DWORD error = os_.GetLastError();
      if (error != Error::IO_PENDING) return close_connection(connection, error, "WSARecv");
      connection.receive_pending = true;
      return;  // its packet brings the bytes
    }
    // Done at once. Right only with skip-on-success: otherwise a packet for this receive is queued too.
    if (!echo(connection, bytes)) return;
  }
}

void InlineSuccessServer::on_accept(BOOL ok) {
  const SOCKET accepted = accept_socket_;
  accept_socket_ = INVALID_SOCKET_;
  if (!ok) {
    os_.closesocket(accepted);
    if (!is_peer_reset(os_.GetLastError())) win32_fail(ctx_, "AcceptEx", os_.GetLastError());
  } else {
    auto connection = std::make_unique<Connection>();
    connection->socket = accepted;
    connection->buffer.resize(static_cast<std::size_t>(param_int(ctx_.params, read_chunk_param)));
    connection->io.connection = connection.get();
    connections_.push_back(std::move(connection));
    Connection& added = *connections_.back();
    if (!finish_accept(ctx_, listener_, accepted) || !associate(ctx_, port_, accepted)) return;
    if (skip_on_success_ &&
        !os_.SetFileCompletionNotificationModes(as_handle(accepted), FILE_SKIP_COMPLETION_PORT_ON_SUCCESS_)) {
      return win32_fail(ctx_, "SetFileCompletionNotificationModes", os_.GetLastError());
    }
    read_more(added);
  }
  if (static_cast<int>(connections_.size()) < ctx_.connections && ctx_.error.empty()) post_accept();
}

// Close what is open, wait for the packets of the requests that closing aborts (the kernel writes their
// OVERLAPPEDs until then), close the port; only then may the per-I/O data go.
void InlineSuccessServer::cleanup() {
  int outstanding = accept_socket_ != INVALID_SOCKET_ ? 1 : 0;  // an AcceptEx pends while it has a socket
  if (listener_ != INVALID_SOCKET_) os_.closesocket(listener_);
  if (accept_socket_ != INVALID_SOCKET_) os_.closesocket(accept_socket_);
  for (const auto& connection : connections_) {
    outstanding += connection->receive_pending ? 1 : 0;
    if (connection->open) os_.closesocket(connection->socket);
  }
  if (port_ != nullptr) drain_aborted_requests(ctx_, port_, outstanding);
  if (port_ != nullptr) os_.CloseHandle(port_);
}

void InlineSuccessServer::run() {
  port_ = os_.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, nullptr, 0, 1);
  if (port_ == nullptr) return win32_fail(ctx_, "CreateIoCompletionPort", os_.GetLastError());
  listener_ = overlapped_listener(ctx_);
  if (listener_ == INVALID_SOCKET_ || !associate(ctx_, port_, listener_) ||
      (ctx_.connections > 0 && !post_accept())) {
    return cleanup();
  }
  IoPacket packet;
  while (finished_ < ctx_.connections && ctx_.error.empty() && next_io_packet(ctx_, port_, &packet)) {
    const BOOL ok = packet.ok;
    const DWORD bytes = packet.bytes;
    IoData& io = *reinterpret_cast<IoData*>(packet.overlapped);
    if (io.connection != nullptr) io.connection->receive_pending = false;
    if (io.connection == nullptr) {
      on_accept(ok);
    } else if (io.connection->open) {  // a packet for a closed connection is its aborted receive
      if (!ok) {
        close_connection(*io.connection, os_.GetLastError(), "WSARecv");
      } else if (echo(*io.connection, bytes)) {
        read_more(*io.connection);
      }
    }
  }
  cleanup();
}

void iocp_inline_success_main(AppContext& ctx) {
  InlineSuccessServer server(ctx);
  server.run();
}

}  // namespace

AppInfo iocp_inline_success_app() {
  AppInfo info{
      "iocp_inline_success",
      "bug zoo: IOCP echo server handling immediate WSARecv successes inline; skip_on_success=0 forgets "
      "that they still post a completion packet (bytes echoed twice)",
      iocp_inline_success_main, params};
  info.native_backend = "windows";
  return info;
}

}  // namespace iosim::servers
