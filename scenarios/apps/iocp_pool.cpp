// scenarios/apps/iocp_pool.cpp — the classic IOCP worker pool: one completion port, 2·CPU+2 worker threads
// all blocked in GetQueuedCompletionStatus, per-I/O data with the OVERLAPPED first, AcceptEx pre-posted.
//
// The shape of Microsoft's iocpserver sample and of every Windows server book since Richter's: the port, not
// the application, decides which thread runs. NumberOfConcurrentThreads caps the workers *running* for the
// port (the I/O manager counts a thread as running from its return from GQCS until it calls GQCS again or
// blocks), and the LIFO wake-up keeps the same few threads hot. More threads than CPUs exist only so that a
// worker that blocks elsewhere (a lock, a page fault) leaves another to take its slot.
//
// Each connection has one request in flight at a time, in one per-I/O struct whose OVERLAPPED is the first
// member, so the OVERLAPPED* that GQCS hands back *is* the struct: READ completes → WSASend of those bytes
// (re-posting the remainder after a partial completion) → WRITE completes → WSARecv again. A zero-byte read
// is the client's FIN; ERROR_NETNAME_DELETED is its reset; both close the socket. Lock discipline: the pool's
// mutex guards only the counters, the stop flag and the ownership lists; a connection's own state is touched
// only by the worker that dequeued its single pending completion. Nothing is freed until every worker has
// been joined and the port closed, so a late packet (an aborted AcceptEx) never points at freed memory.
#include <fmt/format.h>

#include <cstddef>
#include <memory>
#include <type_traits>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"
#include "scenarios/apps/iocp_server_support.hpp"

namespace iosim::servers {
namespace {

using namespace win32;

constexpr AppParam cpus_param{"cpus", 2, 1, 32, "the CPU count the pool is sized for (threads = 2*cpus+2)"};
constexpr AppParam threads_param{"threads", 0, 0, 66,
                                 "worker threads in GetQueuedCompletionStatus; 0 = 2*cpus+2"};
constexpr AppParam concurrency_param{
    "concurrency", 0, 0, 64,
    "NumberOfConcurrentThreads of the port: workers allowed to run at once (0 = the OS's processor count)"};
constexpr AppParam params[] = {backlog_param, read_chunk_param,  tcp_nodelay_param, cpus_param,
                               threads_param, concurrency_param, accept_depth_param};

enum class Operation : std::uint8_t { accept, read, write };

struct Connection;
struct AcceptSlot;

// Per-I/O data. Standard layout with the OVERLAPPED at offset 0: the pointer GQCS returns converts back.
struct IoData {
  OVERLAPPED overlapped;
  Operation operation;
  Connection* connection;  // read/write: whose request this is
  AcceptSlot* slot;        // accept: which pre-posted AcceptEx
  DWORD length;            // write: bytes to send in all
  DWORD offset;            // write: bytes already sent
};
static_assert(std::is_standard_layout_v<IoData> && offsetof(IoData, overlapped) == 0);

IoData* io_data_of(OVERLAPPED* overlapped) {
  return reinterpret_cast<IoData*>(overlapped);
}

struct Connection {
  SOCKET socket = INVALID_SOCKET_;
  std::vector<char> buffer;
  IoData io{};
  bool open = true;
};

struct AcceptSlot {
  SOCKET socket = INVALID_SOCKET_;  // the fresh socket AcceptEx accepts into; the slot's until it completes
  bool pending = false;             // its AcceptEx's packet has not been dequeued yet
  IoData io{};
  char addresses[2 * accept_address_bytes_min] = {};  // AcceptEx's local and remote address slots
};

class IocpPool {
 public:
  explicit IocpPool(AppContext& ctx);
  void run();

 private:
  void worker();
  // One dequeued packet. False when it was a quit packet (the worker returns).
  bool handle_packet(BOOL ok, DWORD bytes, ULONG_PTR key, OVERLAPPED* overlapped);
  void on_accept(AcceptSlot& slot, BOOL ok);
  void on_read(Connection& connection, BOOL ok, DWORD bytes);
  void on_write(Connection& connection, BOOL ok, DWORD bytes);
  bool post_accept(AcceptSlot& slot);
  void post_read(Connection& connection);
  void post_write(Connection& connection);
  // An overlapped call returned: 0 or ERROR_IO_PENDING means a packet will come; anything else fails it now.
  void check_issue(Connection& connection, int result, const char* call);
  void close_connection(Connection& connection, DWORD error, const char* call);
  void record_error(std::string message);
  // Posts one quit packet per worker (once).
  void stop();
  bool stopping();
  void cleanup();

  AppContext& ctx_;
  Os& os_;
  int thread_count_;
  std::size_t read_chunk_;
  HANDLE port_ = nullptr;
  SOCKET listener_ = INVALID_SOCKET_;
  std::unique_ptr<Mutex> mutex_;
  // Guarded by mutex_:
  int accepted_ = 0;
  int finished_ = 0;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<AcceptSlot>> slots_;
};

IocpPool::IocpPool(AppContext& ctx)
    : ctx_(ctx),
      os_(ctx.os),
      thread_count_(static_cast<int>(param_int(ctx.params, threads_param))),
      read_chunk_(static_cast<std::size_t>(param_int(ctx.params, read_chunk_param))),
      mutex_(ctx.os.mutex_create()) {
  if (thread_count_ == 0) thread_count_ = 2 * static_cast<int>(param_int(ctx.params, cpus_param)) + 2;
}

void IocpPool::record_error(std::string message) {
  LockGuard lock(*mutex_);
  if (ctx_.error.empty()) ctx_.error = std::move(message);
}

bool IocpPool::stopping() {
  LockGuard lock(*mutex_);
  return stopping_;
}

// The classic shutdown: one quit packet (key quit_key, no OVERLAPPED) per worker. Each worker takes exactly
// one and returns, so every worker stops however the packets interleave with I/O completions.
void IocpPool::stop() {
  {
    LockGuard lock(*mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  for (int i = 0; i < thread_count_; ++i) {
    if (!os_.PostQueuedCompletionStatus(port_, 0, quit_key, nullptr)) {
      record_error(win32_call_error("PostQueuedCompletionStatus", os_.GetLastError()));
    }
  }
}

bool IocpPool::post_accept(AcceptSlot& slot) {
  slot.socket = overlapped_socket(ctx_);
  if (slot.socket == INVALID_SOCKET_) return false;
  slot.io = IoData{};
  slot.io.operation = Operation::accept;
  slot.io.slot = &slot;
  DWORD received = 0;
  if (!os_.AcceptEx(listener_, slot.socket, slot.addresses, 0, accept_address_bytes_min,
                    accept_address_bytes_min, &received, &slot.io.overlapped)) {
    const DWORD error = os_.GetLastError();
    if (error != Error::IO_PENDING) {
      record_error(win32_call_error("AcceptEx", error));
      return false;
    }
  }
  slot.pending = true;
  return true;  // pending, or done at once: either way its packet comes through the port
}

void IocpPool::post_read(Connection& connection) {
  connection.io.overlapped = OVERLAPPED{};  // reused only now that its previous request completed
  connection.io.operation = Operation::read;
  WSABUF wsabuf{static_cast<ULONG>(connection.buffer.size()), connection.buffer.data()};
  DWORD flags = 0;
  check_issue(connection,
              os_.WSARecv(connection.socket, &wsabuf, 1, nullptr, &flags, &connection.io.overlapped),
              "WSARecv");
}

void IocpPool::post_write(Connection& connection) {
  connection.io.overlapped = OVERLAPPED{};
  connection.io.operation = Operation::write;
  WSABUF wsabuf{connection.io.length - connection.io.offset, connection.buffer.data() + connection.io.offset};
  check_issue(connection, os_.WSASend(connection.socket, &wsabuf, 1, nullptr, 0, &connection.io.overlapped),
              "WSASend");
}

void IocpPool::check_issue(Connection& connection, int result, const char* call) {
  if (result == 0) return;  // done at once; without FILE_SKIP_COMPLETION_PORT_ON_SUCCESS a packet still comes
  const DWORD error = os_.GetLastError();
  if (error == Error::IO_PENDING) return;
  close_connection(connection, error, call);  // failed at once: no packet will come
}

// The connection is over: closed by the client (error 0), reset by it, or failed. Only a failure that is
// not the peer's doing is the server's error.
void IocpPool::close_connection(Connection& connection, DWORD error, const char* call) {
  if (error != Error::SUCCESS && !is_peer_reset(error)) record_error(win32_call_error(call, error));
  connection.open = false;
  if (os_.closesocket(connection.socket) != 0) {
    record_error(win32_call_error("closesocket", os_.GetLastError()));
  }
  bool all_served = false;
  {
    LockGuard lock(*mutex_);
    all_served = ++finished_ == ctx_.connections;
  }
  if (all_served) stop();
}

void IocpPool::on_accept(AcceptSlot& slot, BOOL ok) {
  slot.pending = false;
  if (!ok) {
    const DWORD error = os_.GetLastError();
    if (stopping()) return;  // the listener was closed under it; cleanup() closes slot.socket
    os_.closesocket(slot.socket);
    if (!is_peer_reset(error)) {
      record_error(win32_call_error("AcceptEx", error));
      stop();
      return;
    }
    if (!post_accept(slot)) stop();  // the client reset while queued: accept the next one instead
    return;
  }
  auto connection = std::make_unique<Connection>();
  connection->socket = slot.socket;
  connection->buffer.resize(read_chunk_);
  connection->io.connection = connection.get();
  slot.socket = INVALID_SOCKET_;
  Connection& accepted = *connection;
  bool post_another = false;
  {
    LockGuard lock(*mutex_);
    connections_.push_back(std::move(connection));
    post_another = ++accepted_ < ctx_.connections && !stopping_;
  }
  if (!finish_accept(ctx_, listener_, accepted.socket) || !associate(ctx_, port_, accepted.socket)) {
    close_connection(accepted, Error::SUCCESS, "");
    stop();
    return;
  }
  post_read(accepted);
  // Keep accept_depth requests pending while connections are still to come.
  if (post_another && !post_accept(slot)) stop();
}

void IocpPool::on_read(Connection& connection, BOOL ok, DWORD bytes) {
  if (!ok) return close_connection(connection, os_.GetLastError(), "WSARecv");
  if (bytes == 0) return close_connection(connection, Error::SUCCESS, "");  // the client's FIN
  connection.io.length = bytes;
  connection.io.offset = 0;
  post_write(connection);
}

void IocpPool::on_write(Connection& connection, BOOL ok, DWORD bytes) {
  if (!ok) return close_connection(connection, os_.GetLastError(), "WSASend");
  connection.io.offset += bytes;
  if (connection.io.offset < connection.io.length) return post_write(connection);  // partial: the rest
  post_read(connection);
}

bool IocpPool::handle_packet(BOOL ok, DWORD bytes, ULONG_PTR key, OVERLAPPED* overlapped) {
  if (overlapped == nullptr) {
    if (ok && key == quit_key) return false;
    // No OVERLAPPED and not ours: the port itself failed (closed under us); nothing more will come.
    record_error(
        win32_call_error("GetQueuedCompletionStatus", ok ? Error::INVALID_PARAMETER : os_.GetLastError()));
    return false;
  }
  IoData& io = *io_data_of(overlapped);
  switch (io.operation) {
    case Operation::accept:
      on_accept(*io.slot, ok);
      break;
    case Operation::read:
      if (io.connection->open) on_read(*io.connection, ok, bytes);
      break;
    case Operation::write:
      if (io.connection->open) on_write(*io.connection, ok, bytes);
      break;
  }
  return true;
}

void IocpPool::worker() {
  for (;;) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* overlapped = nullptr;
    const BOOL ok = os_.GetQueuedCompletionStatus(port_, &bytes, &key, &overlapped, INFINITE_);
    if (!handle_packet(ok, bytes, key, overlapped)) return;
  }
}

// After every worker returned: close the listener and whatever is still open, wait for the packets of their
// aborted requests (the kernel writes each OVERLAPPED until then), close the port, and only then may the
// per-I/O data go.
void IocpPool::cleanup() {
  int outstanding = 0;  // requests whose packet is still to come: pending accepts, open connections' I/O
  if (listener_ != INVALID_SOCKET_) os_.closesocket(listener_);
  for (const auto& slot : slots_) {
    outstanding += slot->pending ? 1 : 0;
    if (slot->socket != INVALID_SOCKET_) os_.closesocket(slot->socket);
  }
  for (const auto& connection : connections_) {
    if (!connection->open) continue;
    ++outstanding;  // one request in flight per open connection
    os_.closesocket(connection->socket);
  }
  if (port_ != nullptr) drain_aborted_requests(ctx_, port_, outstanding);
  if (port_ != nullptr && !os_.CloseHandle(port_)) {
    win32_fail(ctx_, "CloseHandle", os_.GetLastError());
  }
}

void IocpPool::run() {
  const auto concurrency = static_cast<DWORD>(param_int(ctx_.params, concurrency_param));
  port_ = os_.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, nullptr, 0, concurrency);
  if (port_ == nullptr) return win32_fail(ctx_, "CreateIoCompletionPort", os_.GetLastError());
  listener_ = overlapped_listener(ctx_);
  if (listener_ == INVALID_SOCKET_ || !associate(ctx_, port_, listener_)) return cleanup();
  const auto depth = static_cast<int>(param_int(ctx_.params, accept_depth_param));
  for (int i = 0; i < depth && i < ctx_.connections; ++i) {
    slots_.push_back(std::make_unique<AcceptSlot>());
    if (!post_accept(*slots_.back())) return cleanup();
  }
  std::vector<std::unique_ptr<Thread>> workers;
  for (int i = 0; i < thread_count_; ++i) {
    workers.push_back(os_.thread_create(fmt::format("worker{}", i), [this] { worker(); }));
  }
  if (ctx_.connections == 0) stop();
  for (auto& thread : workers) thread->join();
  cleanup();
}

void iocp_pool_main(AppContext& ctx) {
  IocpPool pool(ctx);
  pool.run();
}

}  // namespace

AppInfo iocp_pool_app() {
  AppInfo info{"iocp_pool",
               "echo server: the classic IOCP worker pool (2*CPU+2 threads in GetQueuedCompletionStatus, "
               "per-I/O data with the OVERLAPPED first, AcceptEx pre-posted, quit packets to stop)",
               iocp_pool_main, params};
  info.native_backend = "windows";
  return info;
}

}  // namespace iosim::servers
