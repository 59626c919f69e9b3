// scenarios/apps/bugs/iocp_overlapped_reuse.cpp — bug zoo: a full-duplex IOCP echo server that keeps ONE
// per-I/O struct (OVERLAPPED first + operation type) per connection and reuses it while a request is pending.
// io_structs=1 is the bug; io_structs=2 gives each connection one struct for reads and one for writes (the
// fix).
//
// One thread, one completion port, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS on every accepted socket (so a call
// that succeeds at once posts no packet and is handled inline). Full duplex: as soon as a read completes the
// server queues its bytes for sending, starts a WSASend if none is in flight, and re-posts its WSARecv. While
// every WSASend finishes at once that is correct even with one struct: the send is over before the receive
// reuses the OVERLAPPED. But when the socket's send buffer is full (a client that reads late, a small
// SO_SNDBUF, a burst of segments), the WSASend pends, and the WSARecv then goes out on the same OVERLAPPED:
// two IRPs in flight on one OVERLAPPED. Each writes its status into it and each queues a packet carrying the
// same pointer, so GetQueuedCompletionStatus returns that pointer twice, and the operation field says only
// what was written last ("read"). The send's completion is taken for a read of N bytes: N stale bytes of the
// read buffer are queued for echo, another WSARecv goes out on the same OVERLAPPED, and the server never
// learns that its send finished, so it sends nothing more on that connection and the client waits forever for
// the rest of its echo. (The other order, a read taken for a send, loses the read's bytes; it needs a client
// that sends before its echo is complete.) It happens only under the interleavings where a send is still
// pending when the next WSARecv is posted. Windows' rule: an OVERLAPPED may be reused only once its request
// has completed (and, with a port, once its packet has been dequeued).
#include <algorithm>
#include <memory>
#include <type_traits>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"
#include "scenarios/apps/iocp_server_support.hpp"

namespace iosim::servers {
namespace {

using namespace win32;

constexpr AppParam io_structs_param{
    "io_structs", 2, 1, 2,
    "per-I/O structs per connection: 2 = one for reads, one for writes (the fix); 1 = one for both, reused "
    "while a WSASend is still pending (the bug)"};
constexpr AppParam send_buffer_param{
    "send_buffer_bytes", 0, 0, 1 << 20,
    "SO_SNDBUF of each accepted socket (0 = the default); small values make WSASend pend more often"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, io_structs_param,
                               send_buffer_param};

enum class Operation : std::uint8_t { accept, read, write };

struct Connection;

// Per-I/O data, OVERLAPPED first, so the OVERLAPPED* GQCS returns is the struct. `connection` is null for the
// listener's AcceptEx.
struct IoData {
  OVERLAPPED overlapped;
  Operation operation;
  Connection* connection;
};
static_assert(std::is_standard_layout_v<IoData> && offsetof(IoData, overlapped) == 0);

struct Connection {
  SOCKET socket = INVALID_SOCKET_;
  std::vector<char> read_buffer;  // WSARecv's buffer
  std::vector<char> outbox;       // bytes read and not yet handed to a WSASend
  std::vector<char> sending;      // the bytes of the current WSASend (at most one in flight)
  std::size_t sent = 0;           // bytes of `sending` already sent
  IoData read_io{};
  IoData write_io{};     // used only with io_structs=2
  bool writing = false;  // a WSASend is pending
  int in_flight = 0;     // requests whose packet is still to come
  bool open = true;
};

class OverlappedReuseServer {
 public:
  explicit OverlappedReuseServer(AppContext& ctx)
      : ctx_(ctx),
        os_(ctx.os),
        separate_write_io_(param_int(ctx.params, io_structs_param) == 2),
        read_chunk_(static_cast<std::size_t>(param_int(ctx.params, read_chunk_param))) {}
  void run();

 private:
  // The struct a WSASend uses: its own with the fix, the read's with the bug.
  IoData& write_io(Connection& connection) {
    return separate_write_io_ ? connection.write_io : connection.read_io;
  }
  bool post_accept();
  void on_accept(BOOL ok);
  bool configure(Connection& connection);
  // Posts WSARecv until one pends; each immediate success is handled inline (skip-on-success: no packet).
  void post_read(Connection& connection);
  // Queues `bytes` of the read buffer for the client; false when the read was the client's FIN.
  bool on_read_bytes(Connection& connection, DWORD bytes);
  // Issues WSASends of the queued bytes until one pends or nothing is left.
  void pump_writes(Connection& connection);
  void handle_packet(BOOL ok, DWORD bytes, IoData& io);
  void close_connection(Connection& connection, DWORD error, const char* call);
  void cleanup();

  AppContext& ctx_;
  Os& os_;
  bool separate_write_io_;
  std::size_t read_chunk_;
  HANDLE port_ = nullptr;
  SOCKET listener_ = INVALID_SOCKET_;
  SOCKET accept_socket_ = INVALID_SOCKET_;
  bool accept_pending_ = false;
  IoData accept_io_{};
  char addresses_[2 * accept_address_bytes_min] = {};
  std::vector<std::unique_ptr<Connection>> connections_;  // freed after the port is closed
  int finished_ = 0;
};

bool OverlappedReuseServer::post_accept() {
  accept_socket_ = overlapped_socket(ctx_);
  if (accept_socket_ == INVALID_SOCKET_) return false;
  accept_io_ = IoData{};
  accept_io_.operation = Operation::accept;
  DWORD received = 0;
  if (!os_.AcceptEx(listener_, accept_socket_, addresses_, 0, accept_address_bytes_min,
                    accept_address_bytes_min, &received, &accept_io_.overlapped) &&
      os_.GetLastError() != Error::IO_PENDING) {
    win32_fail(ctx_, "AcceptEx", os_.GetLastError());
    return false;
  }
  accept_pending_ = true;  // the listener has no skip mode: even an immediate accept posts its packet
  return true;
}

void OverlappedReuseServer::close_connection(Connection& connection, DWORD error, const char* call) {
  if (error != Error::SUCCESS && !is_peer_reset(error)) win32_fail(ctx_, call, error);
  connection.open = false;
  if (os_.closesocket(connection.socket) != 0) win32_fail(ctx_, "closesocket", os_.GetLastError());
  ++finished_;
}

bool OverlappedReuseServer::on_read_bytes(Connection& connection, DWORD bytes) {
  if (bytes == 0) {
    close_connection(connection, Error::SUCCESS, "");  // the client's FIN: every echo was read by then
    return false;
  }
  connection.outbox.insert(connection.outbox.end(), connection.read_buffer.begin(),
                           connection.read_buffer.begin() + bytes);
  pump_writes(connection);
  return connection.open;
}

void OverlappedReuseServer::pump_writes(Connection& connection) {
  while (connection.open && !connection.writing) {
    // >=, not ==: with the bug a read's packet taken for a send's may add more than was sent.
    if (connection.sent >= connection.sending.size()) {
      if (connection.outbox.empty()) return;
      // At most one read chunk per WSASend, as a server with fixed-size per-I/O buffers does.
      const std::size_t take = std::min(connection.outbox.size(), read_chunk_);
      connection.sending.assign(connection.outbox.begin(), connection.outbox.begin() + take);
      connection.outbox.erase(connection.outbox.begin(), connection.outbox.begin() + take);
      connection.sent = 0;
    }
    IoData& io = write_io(connection);
    io.overlapped = OVERLAPPED{};
    io.operation = Operation::write;
    WSABUF wsabuf{static_cast<ULONG>(connection.sending.size() - connection.sent),
                  connection.sending.data() + connection.sent};
    DWORD bytes = 0;
    if (os_.WSASend(connection.socket, &wsabuf, 1, &bytes, 0, &io.overlapped) == 0) {
      connection.sent += bytes;  // done at once; skip-on-success: no packet
      continue;
    }
    const DWORD error = os_.GetLastError();
    if (error != Error::IO_PENDING) return close_connection(connection, error, "WSASend");
    connection.writing = true;  // the send buffer is full: its packet comes when the client reads
    ++connection.in_flight;
  }
}

void OverlappedReuseServer::post_read(Connection& connection) {
  while (connection.open) {
    // With io_structs=1 this is THE bug: a WSASend may still be pending on this very OVERLAPPED.
    connection.read_io.overlapped = OVERLAPPED{};
    connection.read_io.operation = Operation::read;
    WSABUF wsabuf{static_cast<ULONG>(connection.read_buffer.size()), connection.read_buffer.data()};
    DWORD bytes = 0, flags = 0;
    if (os_.WSARecv(connection.socket, &wsabuf, 1, &bytes, &flags, &connection.read_io.overlapped) != 0) {
      const DWORD error = os_.GetLastError();
      if (error != Error::IO_PENDING) return close_connection(connection, error, "WSARecv");
      ++connection.in_flight;
      return;  // pending: its packet brings the bytes
    }
    if (!on_read_bytes(connection, bytes)) return;  // done at once; skip-on-success: no packet
  }
}

bool OverlappedReuseServer::configure(Connection& connection) {
  const SOCKET s = connection.socket;
  if (!finish_accept(ctx_, listener_, s) || !associate(ctx_, port_, s)) return false;
  if (!os_.SetFileCompletionNotificationModes(as_handle(s), FILE_SKIP_COMPLETION_PORT_ON_SUCCESS_)) {
    win32_fail(ctx_, "SetFileCompletionNotificationModes", os_.GetLastError());
    return false;
  }
  const auto send_buffer = static_cast<int>(param_int(ctx_.params, send_buffer_param));
  if (send_buffer > 0 && os_.setsockopt(as_fd(s), SOL::SOCKET, SO::SNDBUF, send_buffer) != 0) {
    fail(ctx_, "setsockopt(SO_SNDBUF)");
    return false;
  }
  return true;
}

void OverlappedReuseServer::on_accept(BOOL ok) {
  accept_pending_ = false;
  const SOCKET accepted = accept_socket_;
  accept_socket_ = INVALID_SOCKET_;
  if (!ok) {
    const DWORD error = os_.GetLastError();
    os_.closesocket(accepted);
    if (!is_peer_reset(error)) return win32_fail(ctx_, "AcceptEx", error);
  } else {
    auto connection = std::make_unique<Connection>();
    connection->socket = accepted;
    connection->read_buffer.resize(read_chunk_);
    connection->read_io.connection = connection.get();
    connection->write_io.connection = connection.get();
    connections_.push_back(std::move(connection));
    Connection& added = *connections_.back();
    if (!configure(added)) return;
    post_read(added);
  }
  if (static_cast<int>(connections_.size()) < ctx_.connections && ctx_.error.empty()) post_accept();
}

// Dispatches on the struct's operation field — which, with one struct and two requests in flight, says only
// what the last call wrote there.
void OverlappedReuseServer::handle_packet(BOOL ok, DWORD bytes, IoData& io) {
  if (io.operation == Operation::accept) return on_accept(ok);
  Connection& connection = *io.connection;
  --connection.in_flight;
  if (!connection.open) return;  // an aborted request of a closed connection
  if (io.operation == Operation::read) {
    if (!ok) return close_connection(connection, os_.GetLastError(), "WSARecv");
    if (on_read_bytes(connection, bytes)) post_read(connection);
    return;
  }
  connection.writing = false;
  if (!ok) return close_connection(connection, os_.GetLastError(), "WSASend");
  connection.sent += bytes;
  pump_writes(connection);
}

// Close what is open, wait for the packets of the requests that closing aborts (the kernel writes their
// OVERLAPPEDs until then), close the port; only then may the per-I/O data go.
void OverlappedReuseServer::cleanup() {
  int outstanding = accept_pending_ ? 1 : 0;
  if (listener_ != INVALID_SOCKET_) os_.closesocket(listener_);
  if (accept_socket_ != INVALID_SOCKET_) os_.closesocket(accept_socket_);
  for (const auto& connection : connections_) {
    outstanding += connection->in_flight;
    if (connection->open) os_.closesocket(connection->socket);
  }
  if (port_ != nullptr && outstanding > 0) drain_aborted_requests(ctx_, port_, outstanding);
  if (port_ != nullptr && !os_.CloseHandle(port_)) win32_fail(ctx_, "CloseHandle", os_.GetLastError());
}

void OverlappedReuseServer::run() {
  port_ = os_.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, nullptr, 0, 1);
  if (port_ == nullptr) return win32_fail(ctx_, "CreateIoCompletionPort", os_.GetLastError());
  listener_ = overlapped_listener(ctx_);
  if (listener_ == INVALID_SOCKET_ || !associate(ctx_, port_, listener_) ||
      (ctx_.connections > 0 && !post_accept())) {
    return cleanup();
  }
  IoPacket packet;
  while (finished_ < ctx_.connections && ctx_.error.empty() && next_io_packet(ctx_, port_, &packet)) {
    handle_packet(packet.ok, packet.bytes, *reinterpret_cast<IoData*>(packet.overlapped));
  }
  cleanup();
}

void iocp_overlapped_reuse_main(AppContext& ctx) {
  OverlappedReuseServer server(ctx);
  server.run();
}

}  // namespace

AppInfo iocp_overlapped_reuse_app() {
  AppInfo info{"iocp_overlapped_reuse",
               "bug zoo: full-duplex IOCP echo server; io_structs=1 re-posts WSARecv on the OVERLAPPED of a "
               "WSASend still pending (its packet is taken for a read: stale bytes queued, the echo stalls)",
               iocp_overlapped_reuse_main, params};
  info.native_backend = "windows";
  return info;
}

}  // namespace iosim::servers
