// include/iosim/os.hpp — the contract: every call application code may make to an operating system.
// POSIX-shaped calls return -1 and set the calling thread's errno (read it with Os::last_errno()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "iosim/abi.hpp"
#include "iosim/win32_abi.hpp"

namespace iosim {

// An IPv4 endpoint in host byte order. AF_INET is the only address family connect/bind take; AF_UNIX
// exists through socketpair() only.
struct SockAddr {
  std::uint32_t ip = 0;    // 0x7f000001 is 127.0.0.1; 0 is INADDR_ANY
  std::uint16_t port = 0;  // 0 asks bind() for an ephemeral port
  friend bool operator==(const SockAddr&, const SockAddr&) = default;
};

inline constexpr std::uint32_t loopback_ip = 0x7f000001;
inline constexpr std::uint32_t any_ip = 0;

// A thread of the application. Destroying a joinable Thread without join() is a programmer error
// (std::thread calls std::terminate); the simulator fails the run and names the thread.
class Thread {
 public:
  virtual ~Thread() = default;
  virtual void join() = 0;
};

// A non-recursive mutex. Destroying one that a thread holds or waits for is a programmer error (pthreads:
// EBUSY); the simulator fails the run and names it. A LockGuard that outlives its mutex lets go of it
// instead of unlocking freed memory, so a world torn down after such an error never touches it again.
class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  virtual ~Mutex() = default;
  virtual void lock() = 0;
  virtual void unlock() = 0;

 protected:
  // Every LockGuard taken so far lets go of this mutex (its destructor will not unlock it): what a backend
  // that reports the destruction of a mutex in use calls first. Destroying the mutex does the same.
  void release_guards() { alive_.reset(); }

 private:
  friend class LockGuard;
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);  // expires with the mutex
};

class CondVar {
 public:
  virtual ~CondVar() = default;
  // Atomically releases `mutex`, sleeps until notified (spurious wake-ups are allowed, as with pthreads),
  // and re-acquires `mutex` before returning.
  virtual void wait(Mutex& mutex) = 0;
  virtual void notify_one() = 0;
  virtual void notify_all() = 0;
};

// Scoped lock over iosim::Mutex, so application code reads like std::lock_guard code.
class LockGuard {
 public:
  explicit LockGuard(Mutex& mutex) : mutex_(mutex), alive_(mutex.alive_) { mutex_.lock(); }
  ~LockGuard() {
    if (!alive_.expired()) mutex_.unlock();  // expired: the mutex was destroyed first (the run has failed)
  }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Mutex& mutex_;
  std::weak_ptr<const bool> alive_;
};

// The seam between application code and an operating system (in the manner of LevelDB's Env). The same
// application runs on SimOs (the deterministic virtual kernel) and on LinuxOs (real syscalls and threads).
// Every numeric constant (errno values, flags, poll bits) is the Linux value, defined in iosim/abi.hpp.
class Os {
 public:
  virtual ~Os() = default;

  virtual std::string_view backend_name() const = 0;

  // errno of the calling thread, set by the last call that failed.
  virtual int last_errno() const = 0;
  // Sets the calling thread's errno (as C code may assign errno); decorators such as FaultOs report the
  // failures they inject through it.
  virtual void set_last_errno(int error) = 0;

  // --- files and sockets: same arguments and results as the Linux syscalls of the same name ---
  virtual int socket(int domain, int type, int protocol) = 0;
  virtual int socketpair(int domain, int type, int protocol, int sv[2]) = 0;
  virtual int pipe2(int fds[2], int flags) = 0;
  virtual int bind(int fd, const SockAddr& addr) = 0;
  virtual int listen(int fd, int backlog) = 0;
  virtual int accept4(int fd, SockAddr* peer, int flags) = 0;
  virtual int connect(int fd, const SockAddr& addr) = 0;
  virtual long send(int fd, const void* buf, std::size_t len, int flags) = 0;
  virtual long recv(int fd, void* buf, std::size_t len, int flags) = 0;
  virtual long read(int fd, void* buf, std::size_t len) = 0;
  virtual long write(int fd, const void* buf, std::size_t len) = 0;
  virtual int shutdown(int fd, int how) = 0;
  virtual int close(int fd) = 0;
  virtual int dup(int fd) = 0;
  virtual int fcntl(int fd, int cmd, int arg) = 0;
  // Integer-valued options (SO_REUSEADDR, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_RCVLOWAT, TCP_NODELAY, ...).
  virtual int getsockopt(int fd, int level, int name, int* value) = 0;
  virtual int setsockopt(int fd, int level, int name, int value) = 0;
  virtual int set_linger(int fd, bool on, int linger_seconds) = 0;  // setsockopt(SO_LINGER)
  virtual int getsockname(int fd, SockAddr* addr) = 0;
  virtual int getpeername(int fd, SockAddr* addr) = 0;
  // Not a Linux call: names the open file behind fd for the simulator's deadlock listings, traces and graphs,
  // "tcp#4(listener)" instead of "tcp#4" in every event of its life, its wait queues too
  // ("sk_sleep(tcp#4(listener))"). The name belongs to the open file: dup'ed fds share it, a later file on
  // the same fd number does not have it. An empty name removes it. Returns 0, or -1 with EBADF when fd is not
  // open; other backends only check fd. Not a scheduling point: naming changes no schedule.
  virtual int name_fd(int fd, std::string_view name) = 0;

  // --- readiness ---
  // nfds above FD_SETSIZE is EINVAL here (the fixed-size fd_set cannot hold it; see docs/semantics.md).
  virtual int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) = 0;
  virtual int poll(pollfd* fds, std::size_t nfds, int timeout_ms) = 0;
  virtual int epoll_create1(int flags) = 0;
  // `event` may be null only for EPOLL_CTL_DEL.
  virtual int epoll_ctl(int epfd, int op, int fd, epoll_event* event) = 0;
  virtual int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) = 0;
  virtual int eventfd(unsigned int initval, int flags) = 0;

  // --- threads, locks, time ---
  virtual std::unique_ptr<Thread> thread_create(std::string name, std::function<void()> body) = 0;
  // `name` (optional) is how the simulator calls the object in deadlock listings, traces and graphs:
  // "mutex#2(queue)" instead of "mutex#2". Other backends ignore it.
  virtual std::unique_ptr<Mutex> mutex_create(std::string_view name = {}) = 0;
  virtual std::unique_ptr<CondVar> condvar_create(std::string_view name = {}) = 0;
  virtual void sleep_for(std::int64_t duration_ns) = 0;
  virtual std::int64_t monotonic_ns() = 0;

  // --- Win32-shaped calls: I/O completion ports and overlapped sockets (docs/semantics.md, "Windows") ---
  // Same names, arguments and results as the Win32 functions (iosim/win32_abi.hpp has the types): BOOL calls
  // return FALSE_ and set the calling thread's GetLastError(); Winsock calls return SOCKET_ERROR_ /
  // INVALID_SOCKET_ and set the same per-thread value (WSAGetLastError() == GetLastError(), as on Windows).
  // Parameters Windows takes but iosim does not model are left out: completion routines (APCs),
  // lpProtocolInfo and group, and AcceptEx/ConnectEx addresses (SockAddr instead of sockaddr + length).
  // A SOCKET is also an `int fd` for the POSIX-shaped calls above (bind, listen, setsockopt, getpeername).
  //
  // A backend without Win32 I/O (LinuxOs) keeps these defaults: every call fails and GetLastError() reports
  // Error::NOT_SUPPORTED, so portable code can detect the missing proactor and fall back.
  virtual win32::HANDLE CreateIoCompletionPort(win32::HANDLE FileHandle, win32::HANDLE ExistingCompletionPort,
                                               win32::ULONG_PTR CompletionKey,
                                               win32::DWORD NumberOfConcurrentThreads) {
    (void)FileHandle, (void)ExistingCompletionPort, (void)CompletionKey, (void)NumberOfConcurrentThreads;
    return nullptr;
  }
  virtual win32::BOOL GetQueuedCompletionStatus(win32::HANDLE CompletionPort,
                                                win32::DWORD* lpNumberOfBytesTransferred,
                                                win32::ULONG_PTR* lpCompletionKey,
                                                win32::OVERLAPPED** lpOverlapped,
                                                win32::DWORD dwMilliseconds) {
    (void)CompletionPort, (void)lpNumberOfBytesTransferred, (void)lpCompletionKey, (void)dwMilliseconds;
    if (lpOverlapped) *lpOverlapped = nullptr;
    return win32::FALSE_;
  }
  // fAlertable is accepted and ignored: iosim models no APCs.
  virtual win32::BOOL GetQueuedCompletionStatusEx(win32::HANDLE CompletionPort,
                                                  win32::OVERLAPPED_ENTRY* lpCompletionPortEntries,
                                                  win32::ULONG ulCount, win32::ULONG* ulNumEntriesRemoved,
                                                  win32::DWORD dwMilliseconds, win32::BOOL fAlertable) {
    (void)CompletionPort, (void)lpCompletionPortEntries, (void)ulCount, (void)dwMilliseconds,
        (void)fAlertable;
    if (ulNumEntriesRemoved) *ulNumEntriesRemoved = 0;
    return win32::FALSE_;
  }
  virtual win32::BOOL PostQueuedCompletionStatus(win32::HANDLE CompletionPort,
                                                 win32::DWORD dwNumberOfBytesTransferred,
                                                 win32::ULONG_PTR dwCompletionKey,
                                                 win32::OVERLAPPED* lpOverlapped) {
    (void)CompletionPort, (void)dwNumberOfBytesTransferred, (void)dwCompletionKey, (void)lpOverlapped;
    return win32::FALSE_;
  }
  virtual win32::BOOL CloseHandle(win32::HANDLE hObject) {
    (void)hObject;
    return win32::FALSE_;
  }
  // WSASocketW(af, type, protocol, lpProtocolInfo = NULL, g = 0, dwFlags); af/type/protocol take iosim's
  // (Linux) AF::INET, SOCK::STREAM, IPPROTO::TCP, which have the Windows values too.
  virtual win32::SOCKET WSASocketW(int af, int type, int protocol, win32::DWORD dwFlags) {
    (void)af, (void)type, (void)protocol, (void)dwFlags;
    return win32::INVALID_SOCKET_;
  }
  virtual int closesocket(win32::SOCKET s) {
    (void)s;
    return win32::SOCKET_ERROR_;
  }
  virtual int WSARecv(win32::SOCKET s, win32::WSABUF* lpBuffers, win32::DWORD dwBufferCount,
                      win32::DWORD* lpNumberOfBytesRecvd, win32::DWORD* lpFlags,
                      win32::OVERLAPPED* lpOverlapped) {
    (void)s, (void)lpBuffers, (void)dwBufferCount, (void)lpNumberOfBytesRecvd, (void)lpFlags,
        (void)lpOverlapped;
    return win32::SOCKET_ERROR_;
  }
  virtual int WSASend(win32::SOCKET s, win32::WSABUF* lpBuffers, win32::DWORD dwBufferCount,
                      win32::DWORD* lpNumberOfBytesSent, win32::DWORD dwFlags,
                      win32::OVERLAPPED* lpOverlapped) {
    (void)s, (void)lpBuffers, (void)dwBufferCount, (void)lpNumberOfBytesSent, (void)dwFlags,
        (void)lpOverlapped;
    return win32::SOCKET_ERROR_;
  }
  // The addresses AcceptEx writes after the received data are not modelled: call setsockopt(
  // SO_UPDATE_ACCEPT_CONTEXT_) and getpeername/getsockname, which is what GetAcceptExSockaddrs replaces.
  virtual win32::BOOL AcceptEx(win32::SOCKET sListenSocket, win32::SOCKET sAcceptSocket, void* lpOutputBuffer,
                               win32::DWORD dwReceiveDataLength, win32::DWORD dwLocalAddressLength,
                               win32::DWORD dwRemoteAddressLength, win32::DWORD* lpdwBytesReceived,
                               win32::OVERLAPPED* lpOverlapped) {
    (void)sListenSocket, (void)sAcceptSocket, (void)lpOutputBuffer, (void)dwReceiveDataLength;
    (void)dwLocalAddressLength, (void)dwRemoteAddressLength, (void)lpdwBytesReceived, (void)lpOverlapped;
    return win32::FALSE_;
  }
  // The LPFN_CONNECTEX that WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) returns on Windows; `s` must be
  // bound.
  virtual win32::BOOL ConnectEx(win32::SOCKET s, const SockAddr& name, const void* lpSendBuffer,
                                win32::DWORD dwSendDataLength, win32::DWORD* lpdwBytesSent,
                                win32::OVERLAPPED* lpOverlapped) {
    (void)s, (void)name, (void)lpSendBuffer, (void)dwSendDataLength, (void)lpdwBytesSent, (void)lpOverlapped;
    return win32::FALSE_;
  }
  virtual win32::BOOL WSAGetOverlappedResult(win32::SOCKET s, win32::OVERLAPPED* lpOverlapped,
                                             win32::DWORD* lpcbTransfer, win32::BOOL fWait,
                                             win32::DWORD* lpdwFlags) {
    (void)s, (void)lpOverlapped, (void)lpcbTransfer, (void)fWait, (void)lpdwFlags;
    return win32::FALSE_;
  }
  virtual win32::BOOL CancelIoEx(win32::HANDLE hFile, win32::OVERLAPPED* lpOverlapped) {
    (void)hFile, (void)lpOverlapped;
    return win32::FALSE_;
  }
  virtual win32::BOOL SetFileCompletionNotificationModes(win32::HANDLE FileHandle, win32::UCHAR Flags) {
    (void)FileHandle, (void)Flags;
    return win32::FALSE_;
  }
  // The calling thread's last Win32 error. The default is for backends without Win32 I/O, whose every Win32
  // call fails with it.
  virtual win32::DWORD GetLastError() { return win32::Error::NOT_SUPPORTED; }
  virtual void SetLastError(win32::DWORD dwErrCode) { (void)dwErrCode; }
  virtual int WSAGetLastError() { return static_cast<int>(GetLastError()); }
};

}  // namespace iosim
