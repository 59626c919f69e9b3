// backends/fault/fault_os.cpp — the fault decisions of FaultOs, one PRNG draw per eligible call.
// An injected error is reported through the inner Os's errno of the calling thread (set_last_errno).
#include "backends/fault/fault_os.hpp"

#include <algorithm>
#include <vector>

namespace iosim {

FaultOs::FaultOs(Os& inner, SyscallFaults faults, std::uint64_t seed,
                 std::function<void(std::string_view)> on_fault)
    : inner_(inner), faults_(faults), prng_(seed), on_fault_(std::move(on_fault)) {}

bool FaultOs::inject(double probability, std::string_view fault) {
  if (probability <= 0) return false;
  bool hit = false;
  {
    std::lock_guard lock(prng_mutex_);
    hit = prng_.bernoulli(probability);
  }
  if (hit && on_fault_) on_fault_(fault);
  return hit;
}

std::size_t FaultOs::shorten(std::size_t len) {
  if (len <= 1) return len;
  std::lock_guard lock(prng_mutex_);
  return 1 + static_cast<std::size_t>(prng_.below(len));
}

bool FaultOs::nonblocking(int fd, int flags) {
  if (flags & MSG::DONTWAIT) return true;
  const int fl = inner_.fcntl(fd, F::GETFL, 0);
  return fl >= 0 && (fl & O::NONBLOCK);
}

int FaultOs::fail(int error) {
  inner_.set_last_errno(error);
  return -1;
}

int FaultOs::socket(int domain, int type, int protocol) {
  if (inject(faults_.enomem, "enomem")) return fail(E::NOMEM);
  return inner_.socket(domain, type, protocol);
}

int FaultOs::epoll_create1(int flags) {
  if (inject(faults_.enomem, "enomem")) return fail(E::NOMEM);
  return inner_.epoll_create1(flags);
}

int FaultOs::accept4(int fd, SockAddr* peer, int flags) {
  if (inject(faults_.eintr, "eintr")) return fail(E::INTR);
  if (inject(faults_.enomem, "enomem")) return fail(E::NOMEM);  // sock_alloc fails before the dequeue
  if (faults_.spurious_eagain > 0 && nonblocking(fd, 0) &&
      inject(faults_.spurious_eagain, "spurious_eagain")) {
    return fail(E::AGAIN);
  }
  const int accepted = inner_.accept4(fd, peer, flags);
  if (accepted >= 0 && inject(faults_.accept_aborted, "accept_econnaborted")) {
    inner_.close(accepted);
    return fail(E::CONNABORTED);
  }
  return accepted;
}

// No EINTR at connect's entry: Linux interrupts a blocking connect only after the SYN is out, and the
// handshake then goes on in the background (the caller must poll and read SO_ERROR). Returning EINTR before
// anything happened would describe a socket that is not connecting, which Linux never reports.
int FaultOs::connect(int fd, const SockAddr& addr) {
  return inner_.connect(fd, addr);
}

long FaultOs::send(int fd, const void* buf, std::size_t len, int flags) {
  if (inject(faults_.eintr, "eintr")) return fail(E::INTR);
  if (inject(faults_.enobufs, "enobufs")) return fail(E::NOBUFS);
  if (faults_.short_write > 0 && nonblocking(fd, flags) && inject(faults_.short_write, "short_write"))
    len = shorten(len);
  return inner_.send(fd, buf, len, flags);
}

// The WSABUF array is the caller's to reuse once WSASend returns (Winsock copies it), so a shortened copy
// on the stack is what the inner Os sees.
int FaultOs::WSASend(win32::SOCKET s, win32::WSABUF* buffers, win32::DWORD count, win32::DWORD* sent,
                     win32::DWORD flags, win32::OVERLAPPED* overlapped) {
  std::size_t total = 0;
  for (win32::DWORD i = 0; buffers != nullptr && i < count; ++i) total += buffers[i].len;
  if (faults_.short_write <= 0 || overlapped == nullptr || total == 0 ||
      !inject(faults_.short_write, "short_write")) {
    return inner_.WSASend(s, buffers, count, sent, flags, overlapped);
  }
  std::size_t offered = shorten(total);
  std::vector<win32::WSABUF> shortened;
  for (win32::DWORD i = 0; i < count && offered > 0; ++i) {
    const auto len = static_cast<win32::ULONG>(std::min<std::size_t>(buffers[i].len, offered));
    shortened.push_back({len, buffers[i].buf});
    offered -= len;
  }
  return inner_.WSASend(s, shortened.data(), static_cast<win32::DWORD>(shortened.size()), sent, flags,
                        overlapped);
}

long FaultOs::recv(int fd, void* buf, std::size_t len, int flags) {
  if (inject(faults_.eintr, "eintr")) return fail(E::INTR);
  if (faults_.spurious_eagain > 0 && nonblocking(fd, flags) &&
      inject(faults_.spurious_eagain, "spurious_eagain")) {
    return fail(E::AGAIN);
  }
  if (inject(faults_.short_read, "short_read")) len = shorten(len);
  return inner_.recv(fd, buf, len, flags);
}

long FaultOs::read(int fd, void* buf, std::size_t len) {
  if (inject(faults_.eintr, "eintr")) return fail(E::INTR);
  if (faults_.spurious_eagain > 0 && nonblocking(fd, 0) &&
      inject(faults_.spurious_eagain, "spurious_eagain")) {
    return fail(E::AGAIN);
  }
  return inner_.read(fd, buf,
                     len);  // no short reads: read() may be on an eventfd, which moves 8 bytes or none
}

long FaultOs::write(int fd, const void* buf, std::size_t len) {
  if (inject(faults_.eintr, "eintr")) return fail(E::INTR);
  return inner_.write(fd, buf, len);  // no short writes: write() may be on an eventfd (8 bytes or EINVAL)
}

int FaultOs::select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) {
  if (inject(faults_.eintr, "eintr")) return fail(E::INTR);
  if (inject(faults_.enomem, "enomem")) return fail(E::NOMEM);
  return inner_.select(nfds, readfds, writefds, exceptfds, timeout);
}

int FaultOs::poll(pollfd* fds, std::size_t nfds, int timeout_ms) {
  if (inject(faults_.eintr, "eintr")) return fail(E::INTR);
  if (inject(faults_.enomem, "enomem")) return fail(E::NOMEM);
  return inner_.poll(fds, nfds, timeout_ms);
}

int FaultOs::epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  if (inject(faults_.eintr, "eintr")) return fail(E::INTR);
  return inner_.epoll_wait(epfd, events, maxevents, timeout_ms);
}

}  // namespace iosim
