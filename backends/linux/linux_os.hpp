// backends/linux/linux_os.hpp — LinuxOs: iosim::Os on real Linux syscalls and std::thread.
// Stateless apart from the per-thread errno slot; every call is one syscall plus value translation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "iosim/os.hpp"

namespace iosim {

// The native backend. iosim's constants are Linux's own values (static_asserts in linux_os.cpp prove it), so
// most calls pass their arguments straight through; SockAddr, fd_set, timeval, pollfd and epoll_event (packed
// by Linux on x86-64, naturally aligned in iosim) are converted to and from the libc structures. The
// constructor ignores SIGPIPE process-wide: the simulator treats SIGPIPE as ignored, so a send on a closed
// connection returns EPIPE on both backends instead of killing the process.
class LinuxOs final : public Os {
 public:
  LinuxOs();

  std::string_view backend_name() const override { return "linux"; }
  int last_errno() const override;
  void set_last_errno(int error) override;

  int socket(int domain, int type, int protocol) override;
  int socketpair(int domain, int type, int protocol, int sv[2]) override;
  int pipe2(int fds[2], int flags) override;
  int bind(int fd, const SockAddr& addr) override;
  int listen(int fd, int backlog) override;
  int accept4(int fd, SockAddr* peer, int flags) override;
  int connect(int fd, const SockAddr& addr) override;
  long send(int fd, const void* buf, std::size_t len, int flags) override;
  long recv(int fd, void* buf, std::size_t len, int flags) override;
  long read(int fd, void* buf, std::size_t len) override;
  long write(int fd, const void* buf, std::size_t len) override;
  int shutdown(int fd, int how) override;
  int close(int fd) override;
  int dup(int fd) override;
  int fcntl(int fd, int cmd, int arg) override;
  int getsockopt(int fd, int level, int name, int* value) override;
  int setsockopt(int fd, int level, int name, int value) override;
  int set_linger(int fd, bool on, int linger_seconds) override;
  int getsockname(int fd, SockAddr* addr) override;
  int getpeername(int fd, SockAddr* addr) override;
  int name_fd(int fd, std::string_view name) override;

  int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) override;
  int poll(pollfd* fds, std::size_t nfds, int timeout_ms) override;
  int epoll_create1(int flags) override;
  int epoll_ctl(int epfd, int op, int fd, epoll_event* event) override;
  int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) override;
  int eventfd(unsigned int initval, int flags) override;

  std::unique_ptr<Thread> thread_create(std::string name, std::function<void()> body) override;
  std::unique_ptr<Mutex> mutex_create(std::string_view name = {}) override;
  std::unique_ptr<CondVar> condvar_create(std::string_view name = {}) override;
  void sleep_for(std::int64_t duration_ns) override;
  std::int64_t monotonic_ns() override;
};

}  // namespace iosim
