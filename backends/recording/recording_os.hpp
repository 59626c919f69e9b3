// backends/recording/recording_os.hpp — RecordingOs: a decorator over any Os that keeps, in memory, what the
// application saw at its syscall boundary (results, errno, bytes received and sent, readiness) as IoEvents.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "backends/recording/iotrace.hpp"
#include "iosim/os.hpp"

namespace iosim {

// How the recorder reads the time and the calling thread's name without disturbing the recorded run.
struct RecordingHooks {
  // Default: inner.monotonic_ns(). On SimOs that call is a scheduling point, so give the scheduler's clock.
  std::function<std::int64_t()> clock_ns;
  // Default: the name passed to this RecordingOs's thread_create for the calling OS thread ("main" for
  // others). SimOs runs every thread on one OS thread, so give it the scheduler's current task name.
  std::function<std::string()> thread_name;
};

// Every call is passed to `inner` unchanged; its outcome is appended to an in-memory list under a mutex
// (never held across an inner call), so the recorded run behaves as it would unrecorded, apart from the cost
// of the copy. The fd -> connection map makes each connection's events findable although fds are reused:
// accept4 numbers connections 1, 2, ... in the order they were accepted; close forgets the fd *before* the
// inner close, so a concurrent accept4 that gets the same fd back cannot be mistaken for the old connection.
// Recorded: socket, bind, listen, accept4, recv, read, send, write, shutdown, close, dup, poll, select,
// epoll_create1, epoll_ctl, epoll_wait, eventfd, and the overlapped socket calls AcceptEx, WSARecv, WSASend
// and closesocket. Everything else (options, fcntl, threads, locks, time, the completion port calls)
// passes through unrecorded.
//
// Overlapped I/O is recorded once, when the application learns its outcome: at the call when it succeeds
// or fails at once, else when its completion is dequeued (GetQueuedCompletionStatus/Ex) or read with
// WSAGetOverlappedResult. Until then the request waits in a map keyed by its OVERLAPPED, with what the
// event will need: the socket's connection (taken at the call, since a closesocket may come first), the
// receive buffers (valid until the completion, as overlapped I/O requires) or a copy of the bytes to send.
// A zero-byte WSARecv is a readiness probe, not a read, and is not recorded.
class RecordingOs final : public Os {
 public:
  explicit RecordingOs(Os& inner, RecordingHooks hooks = {});

  // The events so far, in completion order (seq 1, 2, ...). Call after the recorded threads are joined.
  std::vector<IoEvent> take_events();
  int connections_accepted() const;

  std::string_view backend_name() const override { return inner_.backend_name(); }
  int last_errno() const override { return inner_.last_errno(); }
  void set_last_errno(int error) override { inner_.set_last_errno(error); }

  int socket(int domain, int type, int protocol) override;
  int socketpair(int domain, int type, int protocol, int sv[2]) override {
    return inner_.socketpair(domain, type, protocol, sv);
  }
  int pipe2(int fds[2], int flags) override { return inner_.pipe2(fds, flags); }
  int bind(int fd, const SockAddr& addr) override;
  int listen(int fd, int backlog) override;
  int accept4(int fd, SockAddr* peer, int flags) override;
  int connect(int fd, const SockAddr& addr) override { return inner_.connect(fd, addr); }
  long send(int fd, const void* buf, std::size_t len, int flags) override;
  long recv(int fd, void* buf, std::size_t len, int flags) override;
  long read(int fd, void* buf, std::size_t len) override;
  long write(int fd, const void* buf, std::size_t len) override;
  int shutdown(int fd, int how) override;
  int close(int fd) override;
  int dup(int fd) override;
  int fcntl(int fd, int cmd, int arg) override { return inner_.fcntl(fd, cmd, arg); }
  int getsockopt(int fd, int level, int name, int* value) override {
    return inner_.getsockopt(fd, level, name, value);
  }
  int setsockopt(int fd, int level, int name, int value) override {
    return inner_.setsockopt(fd, level, name, value);
  }
  int set_linger(int fd, bool on, int linger_seconds) override {
    return inner_.set_linger(fd, on, linger_seconds);
  }
  int getsockname(int fd, SockAddr* addr) override { return inner_.getsockname(fd, addr); }
  int getpeername(int fd, SockAddr* addr) override { return inner_.getpeername(fd, addr); }
  int name_fd(int fd, std::string_view name) override { return inner_.name_fd(fd, name); }
  int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) override;
  int poll(pollfd* fds, std::size_t nfds, int timeout_ms) override;
  int epoll_create1(int flags) override;
  int epoll_ctl(int epfd, int op, int fd, epoll_event* event) override;
  int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) override;
  int eventfd(unsigned int initval, int flags) override;

  std::unique_ptr<Thread> thread_create(std::string name, std::function<void()> body) override;

  // --- Win32: the completion port calls pass through; they also finish the overlapped requests they report
  win32::HANDLE CreateIoCompletionPort(win32::HANDLE FileHandle, win32::HANDLE ExistingCompletionPort,
                                       win32::ULONG_PTR CompletionKey,
                                       win32::DWORD NumberOfConcurrentThreads) override {
    return inner_.CreateIoCompletionPort(FileHandle, ExistingCompletionPort, CompletionKey,
                                         NumberOfConcurrentThreads);
  }
  win32::BOOL GetQueuedCompletionStatus(win32::HANDLE CompletionPort,
                                        win32::DWORD* lpNumberOfBytesTransferred,
                                        win32::ULONG_PTR* lpCompletionKey, win32::OVERLAPPED** lpOverlapped,
                                        win32::DWORD dwMilliseconds) override;
  win32::BOOL GetQueuedCompletionStatusEx(win32::HANDLE CompletionPort,
                                          win32::OVERLAPPED_ENTRY* lpCompletionPortEntries,
                                          win32::ULONG ulCount, win32::ULONG* ulNumEntriesRemoved,
                                          win32::DWORD dwMilliseconds, win32::BOOL fAlertable) override;
  win32::BOOL PostQueuedCompletionStatus(win32::HANDLE CompletionPort,
                                         win32::DWORD dwNumberOfBytesTransferred,
                                         win32::ULONG_PTR dwCompletionKey,
                                         win32::OVERLAPPED* lpOverlapped) override {
    return inner_.PostQueuedCompletionStatus(CompletionPort, dwNumberOfBytesTransferred, dwCompletionKey,
                                             lpOverlapped);
  }
  win32::BOOL CloseHandle(win32::HANDLE hObject) override { return inner_.CloseHandle(hObject); }
  win32::SOCKET WSASocketW(int af, int type, int protocol, win32::DWORD dwFlags) override {
    return inner_.WSASocketW(af, type, protocol, dwFlags);
  }
  int closesocket(win32::SOCKET s) override;
  int WSARecv(win32::SOCKET s, win32::WSABUF* lpBuffers, win32::DWORD dwBufferCount,
              win32::DWORD* lpNumberOfBytesRecvd, win32::DWORD* lpFlags,
              win32::OVERLAPPED* lpOverlapped) override;
  int WSASend(win32::SOCKET s, win32::WSABUF* lpBuffers, win32::DWORD dwBufferCount,
              win32::DWORD* lpNumberOfBytesSent, win32::DWORD dwFlags,
              win32::OVERLAPPED* lpOverlapped) override;
  win32::BOOL AcceptEx(win32::SOCKET sListenSocket, win32::SOCKET sAcceptSocket, void* lpOutputBuffer,
                       win32::DWORD dwReceiveDataLength, win32::DWORD dwLocalAddressLength,
                       win32::DWORD dwRemoteAddressLength, win32::DWORD* lpdwBytesReceived,
                       win32::OVERLAPPED* lpOverlapped) override;
  win32::BOOL ConnectEx(win32::SOCKET s, const SockAddr& name, const void* lpSendBuffer,
                        win32::DWORD dwSendDataLength, win32::DWORD* lpdwBytesSent,
                        win32::OVERLAPPED* lpOverlapped) override {
    return inner_.ConnectEx(s, name, lpSendBuffer, dwSendDataLength, lpdwBytesSent, lpOverlapped);
  }
  win32::BOOL WSAGetOverlappedResult(win32::SOCKET s, win32::OVERLAPPED* lpOverlapped,
                                     win32::DWORD* lpcbTransfer, win32::BOOL fWait,
                                     win32::DWORD* lpdwFlags) override;
  win32::BOOL CancelIoEx(win32::HANDLE hFile, win32::OVERLAPPED* lpOverlapped) override {
    return inner_.CancelIoEx(hFile, lpOverlapped);
  }
  win32::BOOL SetFileCompletionNotificationModes(win32::HANDLE FileHandle, win32::UCHAR Flags) override {
    return inner_.SetFileCompletionNotificationModes(FileHandle, Flags);
  }
  win32::DWORD GetLastError() override { return inner_.GetLastError(); }
  void SetLastError(win32::DWORD dwErrCode) override { inner_.SetLastError(dwErrCode); }
  int WSAGetLastError() override { return inner_.WSAGetLastError(); }
  std::unique_ptr<Mutex> mutex_create(std::string_view name = {}) override { return inner_.mutex_create(name); }
  std::unique_ptr<CondVar> condvar_create(std::string_view name = {}) override {
    return inner_.condvar_create(name);
  }
  void sleep_for(std::int64_t duration_ns) override { inner_.sleep_for(duration_ns); }
  std::int64_t monotonic_ns() override { return inner_.monotonic_ns(); }

 private:
  // An event for `kind` on `fd` with the inner call's `result` (errno read when it is negative).
  IoEvent outcome(std::string_view kind, int fd, long result);
  // Stamps seq, time, thread and (when asked and not set) the fd's connection, and appends.
  void append(IoEvent event, bool look_up_conn = true);
  std::int64_t now_ns();

  // An overlapped request that has not reported its outcome yet.
  struct PendingIo {
    std::string kind;                    // AcceptEx | WSARecv | WSASend
    int fd = -1;                         // the socket (AcceptEx: the listening socket)
    int conn = 0;                        // the socket's connection at the call (WSARecv, WSASend)
    std::vector<win32::WSABUF> buffers;  // WSARecv: where the bytes land; AcceptEx: the output buffer
    std::vector<std::byte> data;         // WSASend: the bytes offered
    int accept_socket = -1;              // AcceptEx
  };
  // The event of an overlapped request that finished with `bytes` (error == 0) or failed with `error`.
  IoEvent overlapped_outcome(const PendingIo& io, win32::DWORD bytes, win32::DWORD error);
  // Records `io` with its outcome; AcceptEx's success numbers its connection.
  void finish_overlapped(const PendingIo& io, win32::DWORD bytes, win32::DWORD error);
  // Records the call's immediate outcome (result 0: success with `bytes`), or keeps `io` until it
  // completes (ERROR_IO_PENDING).
  void start_overlapped(PendingIo io, win32::OVERLAPPED* overlapped, bool succeeded, win32::DWORD bytes);
  // The completion of `overlapped` reached the application: record it if it is a request being waited for.
  void complete_overlapped(win32::OVERLAPPED* overlapped, win32::DWORD bytes, win32::DWORD error);
  int conn_of(int fd);
  // Removes fd's connection (0 when it has none) before the inner close: a concurrent accept may reuse fd.
  int forget_conn(int fd);

  Os& inner_;
  RecordingHooks hooks_;
  std::int64_t origin_ns_ = 0;
  mutable std::mutex mutex_;  // guards everything below
  std::vector<IoEvent> events_;
  std::map<int, int> conn_of_fd_;
  std::map<const win32::OVERLAPPED*, PendingIo> pending_io_;  // keyed by address, never iterated
  int accepted_ = 0;
};

}  // namespace iosim
