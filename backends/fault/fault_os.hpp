// backends/fault/fault_os.hpp — FaultOs: a decorator over any Os that injects the failures a real kernel may
// legally return at a call boundary (EINTR, spurious EAGAIN, short reads and writes, ENOBUFS, ENOMEM,
// ECONNABORTED).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "iosim/os.hpp"
#include "sim/prng.hpp"

namespace iosim {

// Probabilities in [0, 1] per eligible call. Every injected fault is a result Linux itself can return:
// - eintr: recv, send, read, write, accept4, select, poll or epoll_wait returns EINTR before doing anything,
//   as when a signal handler without SA_RESTART runs (connect is excluded: see fault_os.cpp);
// - spurious_eagain: a non-blocking recv/read/accept4 returns EAGAIN although readiness was reported, as when
//   another reader took the data or the connection. Linux does this only with competing readers, so code
//   that rightly takes EAGAIN as "drained" (edge-triggered epoll) is expected to stall under this fault;
// - short_read: recv asks the kernel for fewer bytes (1..len) than the caller did (not read(): an eventfd
//   moves 8 bytes or none);
// - short_write: a non-blocking send offers only 1..len bytes (not write(), for the same reason); an
//   overlapped WSASend offers only the first 1..len bytes of its WSABUFs, so its completion reports fewer
//   bytes than asked — the partial completion Windows may give under memory pressure, which IOCP servers
//   must answer by sending the rest;
// - enobufs: send fails with ENOBUFS;
// - enomem: socket, accept4, select, poll or epoll_create1 fails with ENOMEM before doing anything, as when
//   the kernel cannot allocate the socket, the new file, or select/poll's table (accept4 takes no
//   connection: Linux allocates the socket before it dequeues one);
// - accept_aborted: accept4 takes a connection, drops it, and returns ECONNABORTED (the connection was
//   reset while it waited in the queue). The client loses its connection, so a workload that counts on every
//   connection (the bundled echo workloads do) fails under it.
struct SyscallFaults {
  double eintr = 0;
  double spurious_eagain = 0;
  double short_read = 0;
  double short_write = 0;
  double enobufs = 0;
  double enomem = 0;
  double accept_aborted = 0;
  bool any() const {
    return eintr > 0 || spurious_eagain > 0 || short_read > 0 || short_write > 0 || enobufs > 0 ||
           enomem > 0 || accept_aborted > 0;
  }
};

class FaultOs final : public Os {
 public:
  // `on_fault` is told the name of every fault injected (the simulator traces it). Decisions come from a
  // PRNG seeded with `seed`, so on the simulator a run with faults replays exactly.
  FaultOs(Os& inner, SyscallFaults faults, std::uint64_t seed,
          std::function<void(std::string_view)> on_fault = {});

  std::string_view backend_name() const override { return inner_.backend_name(); }
  int last_errno() const override { return inner_.last_errno(); }
  void set_last_errno(int error) override { inner_.set_last_errno(error); }

  int socket(int domain, int type, int protocol) override;
  int socketpair(int domain, int type, int protocol, int sv[2]) override {
    return inner_.socketpair(domain, type, protocol, sv);
  }
  int pipe2(int fds[2], int flags) override { return inner_.pipe2(fds, flags); }
  int bind(int fd, const SockAddr& addr) override { return inner_.bind(fd, addr); }
  int listen(int fd, int backlog) override { return inner_.listen(fd, backlog); }
  int accept4(int fd, SockAddr* peer, int flags) override;
  int connect(int fd, const SockAddr& addr) override;
  long send(int fd, const void* buf, std::size_t len, int flags) override;
  long recv(int fd, void* buf, std::size_t len, int flags) override;
  long read(int fd, void* buf, std::size_t len) override;
  long write(int fd, const void* buf, std::size_t len) override;
  int shutdown(int fd, int how) override { return inner_.shutdown(fd, how); }
  int close(int fd) override { return inner_.close(fd); }
  int dup(int fd) override { return inner_.dup(fd); }
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
  int epoll_ctl(int epfd, int op, int fd, epoll_event* event) override {
    return inner_.epoll_ctl(epfd, op, fd, event);
  }
  int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) override;
  int eventfd(unsigned int initval, int flags) override { return inner_.eventfd(initval, flags); }

  std::unique_ptr<Thread> thread_create(std::string name, std::function<void()> body) override {
    return inner_.thread_create(std::move(name), std::move(body));
  }
  std::unique_ptr<Mutex> mutex_create(std::string_view name = {}) override { return inner_.mutex_create(name); }
  std::unique_ptr<CondVar> condvar_create(std::string_view name = {}) override {
    return inner_.condvar_create(name);
  }
  void sleep_for(std::int64_t duration_ns) override { inner_.sleep_for(duration_ns); }
  std::int64_t monotonic_ns() override { return inner_.monotonic_ns(); }

  // Win32-shaped calls: forwarded unchanged (no Win32 fault is injected yet).
  win32::HANDLE CreateIoCompletionPort(win32::HANDLE file, win32::HANDLE port, win32::ULONG_PTR key,
                                       win32::DWORD threads) override {
    return inner_.CreateIoCompletionPort(file, port, key, threads);
  }
  win32::BOOL GetQueuedCompletionStatus(win32::HANDLE port, win32::DWORD* bytes, win32::ULONG_PTR* key,
                                        win32::OVERLAPPED** overlapped, win32::DWORD timeout_ms) override {
    return inner_.GetQueuedCompletionStatus(port, bytes, key, overlapped, timeout_ms);
  }
  win32::BOOL GetQueuedCompletionStatusEx(win32::HANDLE port, win32::OVERLAPPED_ENTRY* entries,
                                          win32::ULONG count, win32::ULONG* removed, win32::DWORD timeout_ms,
                                          win32::BOOL alertable) override {
    return inner_.GetQueuedCompletionStatusEx(port, entries, count, removed, timeout_ms, alertable);
  }
  win32::BOOL PostQueuedCompletionStatus(win32::HANDLE port, win32::DWORD bytes, win32::ULONG_PTR key,
                                         win32::OVERLAPPED* overlapped) override {
    return inner_.PostQueuedCompletionStatus(port, bytes, key, overlapped);
  }
  win32::BOOL CloseHandle(win32::HANDLE object) override { return inner_.CloseHandle(object); }
  win32::SOCKET WSASocketW(int af, int type, int protocol, win32::DWORD flags) override {
    return inner_.WSASocketW(af, type, protocol, flags);
  }
  int closesocket(win32::SOCKET s) override { return inner_.closesocket(s); }
  int WSARecv(win32::SOCKET s, win32::WSABUF* buffers, win32::DWORD count, win32::DWORD* received,
              win32::DWORD* flags, win32::OVERLAPPED* overlapped) override {
    return inner_.WSARecv(s, buffers, count, received, flags, overlapped);
  }
  int WSASend(win32::SOCKET s, win32::WSABUF* buffers, win32::DWORD count, win32::DWORD* sent,
              win32::DWORD flags, win32::OVERLAPPED* overlapped) override;
  win32::BOOL AcceptEx(win32::SOCKET listener, win32::SOCKET accepted, void* buffer,
                       win32::DWORD receive_bytes, win32::DWORD local_bytes, win32::DWORD remote_bytes,
                       win32::DWORD* received, win32::OVERLAPPED* overlapped) override {
    return inner_.AcceptEx(listener, accepted, buffer, receive_bytes, local_bytes, remote_bytes, received,
                           overlapped);
  }
  win32::BOOL ConnectEx(win32::SOCKET s, const SockAddr& name, const void* buffer, win32::DWORD length,
                        win32::DWORD* sent, win32::OVERLAPPED* overlapped) override {
    return inner_.ConnectEx(s, name, buffer, length, sent, overlapped);
  }
  win32::BOOL WSAGetOverlappedResult(win32::SOCKET s, win32::OVERLAPPED* overlapped,
                                     win32::DWORD* transferred, win32::BOOL wait,
                                     win32::DWORD* flags) override {
    return inner_.WSAGetOverlappedResult(s, overlapped, transferred, wait, flags);
  }
  win32::BOOL CancelIoEx(win32::HANDLE file, win32::OVERLAPPED* overlapped) override {
    return inner_.CancelIoEx(file, overlapped);
  }
  win32::BOOL SetFileCompletionNotificationModes(win32::HANDLE file, win32::UCHAR flags) override {
    return inner_.SetFileCompletionNotificationModes(file, flags);
  }
  win32::DWORD GetLastError() override { return inner_.GetLastError(); }
  void SetLastError(win32::DWORD error) override { inner_.SetLastError(error); }
  int WSAGetLastError() override { return inner_.WSAGetLastError(); }

 private:
  bool inject(double probability, std::string_view fault);
  std::size_t shorten(std::size_t len);
  bool nonblocking(int fd, int flags);
  int fail(int error);

  Os& inner_;
  SyscallFaults faults_;
  sim::Prng prng_;
  std::mutex prng_mutex_;  // LinuxOs threads share the decorator; on the simulator there is one OS thread
  std::function<void(std::string_view)> on_fault_;
};

}  // namespace iosim
