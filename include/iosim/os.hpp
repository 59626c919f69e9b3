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

// A thread of the application. Destroying a joinable Thread without join() is a programmer error.
class Thread {
 public:
  virtual ~Thread() = default;
  virtual void join() = 0;
};

class Mutex {
 public:
  virtual ~Mutex() = default;
  virtual void lock() = 0;
  virtual void unlock() = 0;
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
  explicit LockGuard(Mutex& mutex) : mutex_(mutex) { mutex_.lock(); }
  ~LockGuard() { mutex_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Mutex& mutex_;
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
  virtual std::unique_ptr<Mutex> mutex_create() = 0;
  virtual std::unique_ptr<CondVar> condvar_create() = 0;
  virtual void sleep_for(std::int64_t duration_ns) = 0;
  virtual std::int64_t monotonic_ns() = 0;
};

}  // namespace iosim
