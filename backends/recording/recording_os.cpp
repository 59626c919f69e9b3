// backends/recording/recording_os.cpp — RecordingOs: each recorded call runs on the inner Os first, then its
// outcome is copied into an IoEvent and appended under the mutex (see recording_os.hpp for the fd
// discipline).
#include "backends/recording/recording_os.hpp"

#include <algorithm>
#include <span>

namespace iosim {
namespace {

// The name given to RecordingOs::thread_create for this OS thread (native backends run one OS thread each).
thread_local std::string recorded_thread_name = "main";

std::vector<std::byte> copy_bytes(const void* buffer, long count) {
  if (count <= 0) return {};
  const auto* bytes = static_cast<const std::byte*>(buffer);
  return {bytes, bytes + count};
}

nlohmann::json ready_fds(const fd_set* set, int nfds) {
  nlohmann::json fds = nlohmann::json::array();
  if (set == nullptr) return fds;
  for (int fd = 0; fd < std::min(nfds, FD_SETSIZE_); ++fd) {
    if (set->is_set(fd)) fds.push_back(fd);
  }
  return fds;
}

}  // namespace

RecordingOs::RecordingOs(Os& inner, RecordingHooks hooks) : inner_(inner), hooks_(std::move(hooks)) {
  origin_ns_ = now_ns();
}

std::int64_t RecordingOs::now_ns() {
  return hooks_.clock_ns ? hooks_.clock_ns() : inner_.monotonic_ns();
}

std::vector<IoEvent> RecordingOs::take_events() {
  std::lock_guard lock(mutex_);
  return std::move(events_);
}

int RecordingOs::connections_accepted() const {
  std::lock_guard lock(mutex_);
  return accepted_;
}

IoEvent RecordingOs::outcome(std::string_view kind, int fd, long result) {
  IoEvent event;
  event.kind = kind;
  event.fd = fd;
  event.result = result < 0 ? -1 : result;
  event.error = result < 0 ? inner_.last_errno() : 0;
  return event;
}

void RecordingOs::append(IoEvent event, bool look_up_conn) {
  event.thread = hooks_.thread_name ? hooks_.thread_name() : recorded_thread_name;
  std::lock_guard lock(mutex_);
  event.seq = events_.size() + 1;
  // Read under the lock, so the times of successive events never go backwards.
  event.t_ns = std::max<std::int64_t>(0, now_ns() - origin_ns_);
  if (look_up_conn && event.conn == 0 && event.fd >= 0) {
    const auto found = conn_of_fd_.find(event.fd);
    if (found != conn_of_fd_.end()) event.conn = found->second;
  }
  events_.push_back(std::move(event));
}

int RecordingOs::socket(int domain, int type, int protocol) {
  const int result = inner_.socket(domain, type, protocol);
  append(outcome("socket", -1, result));
  return result;
}

int RecordingOs::bind(int fd, const SockAddr& addr) {
  const int result = inner_.bind(fd, addr);
  append(outcome("bind", fd, result));
  return result;
}

int RecordingOs::listen(int fd, int backlog) {
  const int result = inner_.listen(fd, backlog);
  append(outcome("listen", fd, result));
  return result;
}

int RecordingOs::accept4(int fd, SockAddr* peer, int flags) {
  const int result = inner_.accept4(fd, peer, flags);
  IoEvent event = outcome("accept4", fd, result);
  if (result >= 0) {
    std::lock_guard lock(mutex_);
    event.conn = ++accepted_;
    conn_of_fd_[result] = event.conn;
  }
  append(std::move(event));
  return result;
}

long RecordingOs::send(int fd, const void* buf, std::size_t len, int flags) {
  const long result = inner_.send(fd, buf, len, flags);
  IoEvent event = outcome("send", fd, result);
  event.data = copy_bytes(buf, result);
  append(std::move(event));
  return result;
}

long RecordingOs::recv(int fd, void* buf, std::size_t len, int flags) {
  const long result = inner_.recv(fd, buf, len, flags);
  IoEvent event = outcome("recv", fd, result);
  event.data = copy_bytes(buf, result);
  append(std::move(event));
  return result;
}

long RecordingOs::read(int fd, void* buf, std::size_t len) {
  const long result = inner_.read(fd, buf, len);
  IoEvent event = outcome("read", fd, result);
  event.data = copy_bytes(buf, result);
  append(std::move(event));
  return result;
}

long RecordingOs::write(int fd, const void* buf, std::size_t len) {
  const long result = inner_.write(fd, buf, len);
  IoEvent event = outcome("write", fd, result);
  event.data = copy_bytes(buf, result);
  append(std::move(event));
  return result;
}

int RecordingOs::shutdown(int fd, int how) {
  const int result = inner_.shutdown(fd, how);
  IoEvent event = outcome("shutdown", fd, result);
  event.detail["how"] = how;
  append(std::move(event));
  return result;
}

int RecordingOs::forget_conn(int fd) {
  std::lock_guard lock(mutex_);
  const auto found = conn_of_fd_.find(fd);
  if (found == conn_of_fd_.end()) return 0;
  const int conn = found->second;
  conn_of_fd_.erase(found);
  return conn;
}

int RecordingOs::close(int fd) {
  const int conn = forget_conn(fd);
  const int result = inner_.close(fd);
  IoEvent event = outcome("close", fd, result);
  event.conn = conn;
  // The fd may already belong to a new connection: record the old one, never look the fd up again.
  append(std::move(event), false);
  return result;
}

int RecordingOs::dup(int fd) {
  const int result = inner_.dup(fd);
  IoEvent event = outcome("dup", fd, result);
  if (result >= 0) {
    std::lock_guard lock(mutex_);
    if (const auto found = conn_of_fd_.find(fd); found != conn_of_fd_.end())
      conn_of_fd_[result] = found->second;
  }
  append(std::move(event));
  return result;
}

int RecordingOs::select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) {
  const int result = inner_.select(nfds, readfds, writefds, exceptfds, timeout);
  IoEvent event = outcome("select", -1, result);
  const int ready_nfds = result > 0 ? nfds : 0;
  event.detail["read"] = ready_fds(readfds, ready_nfds);
  event.detail["write"] = ready_fds(writefds, ready_nfds);
  event.detail["except"] = ready_fds(exceptfds, ready_nfds);
  append(std::move(event));
  return result;
}

int RecordingOs::poll(pollfd* fds, std::size_t nfds, int timeout_ms) {
  const int result = inner_.poll(fds, nfds, timeout_ms);
  IoEvent event = outcome("poll", -1, result);
  nlohmann::json entries = nlohmann::json::array();
  for (std::size_t i = 0; result >= 0 && i < nfds; ++i)
    entries.push_back({fds[i].fd, fds[i].events, fds[i].revents});
  event.detail["fds"] = std::move(entries);
  append(std::move(event));
  return result;
}

int RecordingOs::epoll_create1(int flags) {
  const int result = inner_.epoll_create1(flags);
  append(outcome("epoll_create1", -1, result));
  return result;
}

int RecordingOs::epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  const int result = inner_.epoll_ctl(epfd, op, fd, event);
  IoEvent recorded = outcome("epoll_ctl", epfd, result);
  recorded.detail["op"] = op;
  recorded.detail["target"] = fd;
  recorded.detail["events"] = event != nullptr ? event->events : 0;
  append(std::move(recorded));
  return result;
}

int RecordingOs::epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  const int result = inner_.epoll_wait(epfd, events, maxevents, timeout_ms);
  IoEvent event = outcome("epoll_wait", epfd, result);
  nlohmann::json ready = nlohmann::json::array();
  for (int i = 0; i < result; ++i) ready.push_back({events[i].events, events[i].data});
  event.detail["events"] = std::move(ready);
  append(std::move(event));
  return result;
}

int RecordingOs::eventfd(unsigned int initval, int flags) {
  const int result = inner_.eventfd(initval, flags);
  append(outcome("eventfd", -1, result));
  return result;
}

std::unique_ptr<Thread> RecordingOs::thread_create(std::string name, std::function<void()> body) {
  return inner_.thread_create(name, [name, body = std::move(body)] {
    recorded_thread_name = name;
    body();
  });
}

}  // namespace iosim

// --- overlapped I/O (see recording_os.hpp) ---

namespace iosim {
namespace {

// What the request's buffers hold in their first `count` bytes.
std::vector<std::byte> gather(const std::vector<win32::WSABUF>& buffers, win32::DWORD count) {
  std::vector<std::byte> bytes;
  for (const win32::WSABUF& buffer : buffers) {
    const win32::DWORD take =
        std::min<win32::DWORD>(buffer.len, count - static_cast<win32::DWORD>(bytes.size()));
    const auto* first = reinterpret_cast<const std::byte*>(buffer.buf);
    bytes.insert(bytes.end(), first, first + take);
    if (bytes.size() == count) break;
  }
  return bytes;
}

int fd_of(win32::SOCKET s) {
  return static_cast<int>(s);
}

}  // namespace

int RecordingOs::conn_of(int fd) {
  std::lock_guard lock(mutex_);
  const auto found = conn_of_fd_.find(fd);
  return found == conn_of_fd_.end() ? 0 : found->second;
}

IoEvent RecordingOs::overlapped_outcome(const PendingIo& io, win32::DWORD bytes, win32::DWORD error) {
  IoEvent event;
  event.kind = io.kind;
  event.fd = io.fd;
  event.conn = io.conn;
  event.result = error == 0 ? static_cast<long>(bytes) : -1;
  event.error = static_cast<int>(error);
  if (error != 0) return event;
  if (io.kind == "WSASend") {
    event.data.assign(io.data.begin(), io.data.begin() + std::min<std::size_t>(bytes, io.data.size()));
  } else {
    event.data = gather(io.buffers, bytes);
  }
  return event;
}

void RecordingOs::finish_overlapped(const PendingIo& io, win32::DWORD bytes, win32::DWORD error) {
  IoEvent event = overlapped_outcome(io, bytes, error);
  if (io.kind == "AcceptEx" && error == 0) {
    std::lock_guard lock(mutex_);
    event.conn = ++accepted_;
    conn_of_fd_[io.accept_socket] = event.conn;
  }
  append(std::move(event), false);
}

void RecordingOs::start_overlapped(PendingIo io, win32::OVERLAPPED* overlapped, bool succeeded,
                                   win32::DWORD bytes) {
  if (succeeded) return finish_overlapped(io, bytes, 0);
  const win32::DWORD error = inner_.GetLastError();
  if (error != win32::Error::IO_PENDING || overlapped == nullptr) return finish_overlapped(io, 0, error);
  std::lock_guard lock(mutex_);
  pending_io_[overlapped] = std::move(io);
}

void RecordingOs::complete_overlapped(win32::OVERLAPPED* overlapped, win32::DWORD bytes, win32::DWORD error) {
  PendingIo io;
  {
    std::lock_guard lock(mutex_);
    const auto found = pending_io_.find(overlapped);
    if (found == pending_io_.end()) return;  // a posted packet, or a request already recorded at its call
    io = std::move(found->second);
    pending_io_.erase(found);
  }
  finish_overlapped(io, bytes, error);
}

int RecordingOs::WSARecv(win32::SOCKET s, win32::WSABUF* lpBuffers, win32::DWORD dwBufferCount,
                         win32::DWORD* lpNumberOfBytesRecvd, win32::DWORD* lpFlags,
                         win32::OVERLAPPED* lpOverlapped) {
  win32::DWORD bytes = 0;  // the count is learnt even when the application passes no pointer for it
  const int result =
      inner_.WSARecv(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd ? lpNumberOfBytesRecvd : &bytes,
                     lpFlags, lpOverlapped);
  if (lpNumberOfBytesRecvd) bytes = *lpNumberOfBytesRecvd;
  PendingIo io{"WSARecv", fd_of(s), conn_of(fd_of(s)), {}, {}, -1};
  std::uint64_t length = 0;
  for (win32::DWORD i = 0; lpBuffers != nullptr && i < dwBufferCount; ++i) {
    io.buffers.push_back(lpBuffers[i]);
    length += lpBuffers[i].len;
  }
  if (length == 0) return result;  // a zero-byte receive waits for readiness and reads nothing
  start_overlapped(std::move(io), lpOverlapped, result == 0, bytes);
  return result;
}

int RecordingOs::WSASend(win32::SOCKET s, win32::WSABUF* lpBuffers, win32::DWORD dwBufferCount,
                         win32::DWORD* lpNumberOfBytesSent, win32::DWORD dwFlags,
                         win32::OVERLAPPED* lpOverlapped) {
  PendingIo io{"WSASend", fd_of(s), conn_of(fd_of(s)), {}, {}, -1};
  for (win32::DWORD i = 0; lpBuffers != nullptr && i < dwBufferCount; ++i) {
    const auto* first = reinterpret_cast<const std::byte*>(lpBuffers[i].buf);
    io.data.insert(io.data.end(), first, first + lpBuffers[i].len);  // before the call: a send may complete
  }
  win32::DWORD bytes = 0;
  const int result = inner_.WSASend(
      s, lpBuffers, dwBufferCount, lpNumberOfBytesSent ? lpNumberOfBytesSent : &bytes, dwFlags, lpOverlapped);
  if (lpNumberOfBytesSent) bytes = *lpNumberOfBytesSent;
  start_overlapped(std::move(io), lpOverlapped, result == 0, bytes);
  return result;
}

win32::BOOL RecordingOs::AcceptEx(win32::SOCKET sListenSocket, win32::SOCKET sAcceptSocket,
                                  void* lpOutputBuffer, win32::DWORD dwReceiveDataLength,
                                  win32::DWORD dwLocalAddressLength, win32::DWORD dwRemoteAddressLength,
                                  win32::DWORD* lpdwBytesReceived, win32::OVERLAPPED* lpOverlapped) {
  win32::DWORD bytes = 0;
  const win32::BOOL accepted =
      inner_.AcceptEx(sListenSocket, sAcceptSocket, lpOutputBuffer, dwReceiveDataLength, dwLocalAddressLength,
                      dwRemoteAddressLength, lpdwBytesReceived ? lpdwBytesReceived : &bytes, lpOverlapped);
  if (lpdwBytesReceived) bytes = *lpdwBytesReceived;
  PendingIo io{"AcceptEx", fd_of(sListenSocket), 0, {}, {}, fd_of(sAcceptSocket)};
  io.buffers.push_back({dwReceiveDataLength, static_cast<char*>(lpOutputBuffer)});
  start_overlapped(std::move(io), lpOverlapped, accepted != win32::FALSE_, bytes);
  return accepted;
}

win32::BOOL RecordingOs::GetQueuedCompletionStatus(win32::HANDLE CompletionPort,
                                                   win32::DWORD* lpNumberOfBytesTransferred,
                                                   win32::ULONG_PTR* lpCompletionKey,
                                                   win32::OVERLAPPED** lpOverlapped,
                                                   win32::DWORD dwMilliseconds) {
  const win32::BOOL got = inner_.GetQueuedCompletionStatus(CompletionPort, lpNumberOfBytesTransferred,
                                                           lpCompletionKey, lpOverlapped, dwMilliseconds);
  // FALSE with an OVERLAPPED is a failed I/O request dequeued; FALSE without one is the wait that failed.
  if (lpOverlapped != nullptr && *lpOverlapped != nullptr) {
    complete_overlapped(*lpOverlapped, lpNumberOfBytesTransferred ? *lpNumberOfBytesTransferred : 0,
                        got ? 0 : inner_.GetLastError());
  }
  return got;
}

win32::BOOL RecordingOs::GetQueuedCompletionStatusEx(win32::HANDLE CompletionPort,
                                                     win32::OVERLAPPED_ENTRY* lpCompletionPortEntries,
                                                     win32::ULONG ulCount, win32::ULONG* ulNumEntriesRemoved,
                                                     win32::DWORD dwMilliseconds, win32::BOOL fAlertable) {
  const win32::BOOL got = inner_.GetQueuedCompletionStatusEx(CompletionPort, lpCompletionPortEntries, ulCount,
                                                             ulNumEntriesRemoved, dwMilliseconds, fAlertable);
  for (win32::ULONG i = 0; got && ulNumEntriesRemoved != nullptr && i < *ulNumEntriesRemoved; ++i) {
    const win32::OVERLAPPED_ENTRY& entry = lpCompletionPortEntries[i];
    const auto status = static_cast<win32::NTSTATUS>(entry.Internal);
    complete_overlapped(entry.lpOverlapped, entry.dwNumberOfBytesTransferred,
                        win32::nt_status_to_dos_error(status));
  }
  return got;
}

win32::BOOL RecordingOs::WSAGetOverlappedResult(win32::SOCKET s, win32::OVERLAPPED* lpOverlapped,
                                                win32::DWORD* lpcbTransfer, win32::BOOL fWait,
                                                win32::DWORD* lpdwFlags) {
  const win32::BOOL done = inner_.WSAGetOverlappedResult(s, lpOverlapped, lpcbTransfer, fWait, lpdwFlags);
  const win32::DWORD error = done ? 0 : static_cast<win32::DWORD>(inner_.WSAGetLastError());
  if (error != win32::WSA::IO_INCOMPLETE)
    complete_overlapped(lpOverlapped, lpcbTransfer ? *lpcbTransfer : 0, error);
  return done;
}

int RecordingOs::closesocket(win32::SOCKET s) {
  const int conn = forget_conn(fd_of(s));  // before the inner call, as close() does
  const int result = inner_.closesocket(s);
  IoEvent event;
  event.kind = "closesocket";
  event.fd = fd_of(s);
  event.conn = conn;
  event.result = result == 0 ? 0 : -1;
  event.error = result == 0 ? 0 : inner_.WSAGetLastError();
  append(std::move(event), false);
  return result;
}

}  // namespace iosim
