// backends/linux/linux_os.cpp — LinuxOs: each Os call is the Linux syscall of the same name plus conversion
// of iosim's value types; errno is captured into a thread_local right after the failing call.
#include "backends/linux/linux_os.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "backends/native/std_threads.hpp"
#include "iosim/assert.hpp"

namespace iosim {

// iosim speaks the Linux ABI (include/iosim/abi.hpp); these prove it, so the calls below may pass values
// through without a translation table. A mismatch here is a bug in abi.hpp, caught at compile time.
static_assert(E::PERM == EPERM && E::NOENT == ENOENT && E::INTR == EINTR && E::IO == EIO && E::BADF == EBADF);
static_assert(E::AGAIN == EAGAIN && E::NOMEM == ENOMEM && E::ACCES == EACCES && E::FAULT == EFAULT);
static_assert(E::EXIST == EEXIST && E::NOTDIR == ENOTDIR && E::INVAL == EINVAL && E::NFILE == ENFILE);
static_assert(E::NOSPC == ENOSPC);
static_assert(E::MFILE == EMFILE && E::PIPE == EPIPE && E::NOSYS == ENOSYS && E::LOOP == ELOOP);
static_assert(E::NOTSOCK == ENOTSOCK && E::DESTADDRREQ == EDESTADDRREQ && E::MSGSIZE == EMSGSIZE);
static_assert(E::PROTOTYPE == EPROTOTYPE && E::NOPROTOOPT == ENOPROTOOPT &&
              E::PROTONOSUPPORT == EPROTONOSUPPORT);
static_assert(E::OPNOTSUPP == EOPNOTSUPP && E::AFNOSUPPORT == EAFNOSUPPORT && E::ADDRINUSE == EADDRINUSE);
static_assert(E::ADDRNOTAVAIL == EADDRNOTAVAIL && E::NETUNREACH == ENETUNREACH &&
              E::CONNABORTED == ECONNABORTED);
static_assert(E::CONNRESET == ECONNRESET && E::NOBUFS == ENOBUFS && E::ISCONN == EISCONN &&
              E::NOTCONN == ENOTCONN);
static_assert(E::TIMEDOUT == ETIMEDOUT && E::CONNREFUSED == ECONNREFUSED && E::ALREADY == EALREADY);
static_assert(E::INPROGRESS == EINPROGRESS);
static_assert(POLL::IN == POLLIN && POLL::PRI == POLLPRI && POLL::OUT == POLLOUT && POLL::ERR == POLLERR);
static_assert(POLL::HUP == POLLHUP && POLL::NVAL == POLLNVAL && POLL::RDNORM == POLLRDNORM);
static_assert(POLL::RDBAND == POLLRDBAND && POLL::WRNORM == POLLWRNORM && POLL::WRBAND == POLLWRBAND);
static_assert(POLL::MSG == POLLMSG && POLL::RDHUP == POLLRDHUP);
static_assert(EPOLL::IN == EPOLLIN && EPOLL::PRI == EPOLLPRI && EPOLL::OUT == EPOLLOUT &&
              EPOLL::ERR == EPOLLERR);
static_assert(EPOLL::HUP == EPOLLHUP && EPOLL::RDNORM == EPOLLRDNORM && EPOLL::RDBAND == EPOLLRDBAND);
static_assert(EPOLL::WRNORM == EPOLLWRNORM && EPOLL::WRBAND == EPOLLWRBAND && EPOLL::MSG == EPOLLMSG);
static_assert(EPOLL::RDHUP == EPOLLRDHUP && EPOLL::EXCLUSIVE == EPOLLEXCLUSIVE &&
              EPOLL::WAKEUP == EPOLLWAKEUP);
static_assert(EPOLL::ONESHOT == EPOLLONESHOT && EPOLL::ET == EPOLLET);
static_assert(EPOLL::CTL_ADD == EPOLL_CTL_ADD && EPOLL::CTL_DEL == EPOLL_CTL_DEL &&
              EPOLL::CTL_MOD == EPOLL_CTL_MOD);
static_assert(EPOLL::CLOEXEC == EPOLL_CLOEXEC);
static_assert(EFD::SEMAPHORE == EFD_SEMAPHORE && EFD::NONBLOCK == EFD_NONBLOCK &&
              EFD::CLOEXEC == EFD_CLOEXEC);
static_assert(AF::UNIX == AF_UNIX && AF::INET == AF_INET);
static_assert(SOCK::STREAM == SOCK_STREAM && SOCK::DGRAM == SOCK_DGRAM && SOCK::NONBLOCK == SOCK_NONBLOCK);
static_assert(SOCK::CLOEXEC == SOCK_CLOEXEC);
static_assert(MSG::PEEK == MSG_PEEK && MSG::DONTWAIT == MSG_DONTWAIT && MSG::WAITALL == MSG_WAITALL);
static_assert(MSG::NOSIGNAL == MSG_NOSIGNAL);
static_assert(SHUT::RD == SHUT_RD && SHUT::WR == SHUT_WR && SHUT::RDWR == SHUT_RDWR);
static_assert(F::DUPFD == F_DUPFD && F::GETFD == F_GETFD && F::SETFD == F_SETFD && F::GETFL == F_GETFL);
static_assert(F::SETFL == F_SETFL && F::FD_CLOEXEC_ == FD_CLOEXEC);
static_assert(O::RDONLY == O_RDONLY && O::WRONLY == O_WRONLY && O::RDWR == O_RDWR &&
              O::NONBLOCK == O_NONBLOCK);
static_assert(O::CLOEXEC == O_CLOEXEC);
static_assert(SOL::SOCKET == SOL_SOCKET && IPPROTO::IP == IPPROTO_IP && IPPROTO::TCP == IPPROTO_TCP);
static_assert(SO::REUSEADDR == SO_REUSEADDR && SO::TYPE == SO_TYPE && SO::ERROR == SO_ERROR);
static_assert(SO::SNDBUF == SO_SNDBUF && SO::RCVBUF == SO_RCVBUF && SO::KEEPALIVE == SO_KEEPALIVE);
static_assert(SO::LINGER == SO_LINGER && SO::REUSEPORT == SO_REUSEPORT && SO::RCVLOWAT == SO_RCVLOWAT);
static_assert(SO::SNDLOWAT == SO_SNDLOWAT && SO::ACCEPTCONN == SO_ACCEPTCONN && SO::DOMAIN == SO_DOMAIN);
static_assert(TCP::NODELAY == TCP_NODELAY);
// select: our fd_set is glibc's bitmap word for word, so copying the words is the whole conversion.
static_assert(FD_SETSIZE_ == FD_SETSIZE && sizeof(fd_set) == sizeof(::fd_set));
static_assert(sizeof(pollfd) == sizeof(::pollfd));
// epoll_wait converts in place, which needs the kernel's record to be no larger than ours (12 vs 16 bytes on
// x86-64, where Linux packs struct epoll_event; 16 vs 16 elsewhere).
static_assert(sizeof(::epoll_event) <= sizeof(epoll_event));

namespace {

// The errno of the last failed call on this thread. libc's errno would do, but any libc call made between
// the failing syscall and Os::last_errno() (an allocation, a log line, fmt) may overwrite it.
thread_local int t_last_errno = 0;

// Records errno when `result` signals failure (-1); returns `result` unchanged.
template <typename Result>
Result capture_errno(Result result) {
  if (result < 0) t_last_errno = errno;
  return result;
}

// For calls that fail inside the backend without reaching the kernel (EINVAL for an oversized select).
int fail_with(int error) {
  t_last_errno = error;
  return -1;
}

sockaddr_in to_sockaddr_in(const SockAddr& addr) {
  sockaddr_in native{};
  native.sin_family = AF_INET;
  native.sin_addr.s_addr = htonl(addr.ip);
  native.sin_port = htons(addr.port);
  return native;
}

// AF_UNIX ends (socketpair) have no IPv4 address; iosim reports them as 0.0.0.0:0.
SockAddr from_sockaddr(const sockaddr_storage& native) {
  if (native.ss_family != AF_INET) return SockAddr{};
  const auto& in = reinterpret_cast<const sockaddr_in&>(native);
  return SockAddr{ntohl(in.sin_addr.s_addr), ntohs(in.sin_port)};
}

void copy_to_native(const fd_set* from, ::fd_set* to) {
  if (from != nullptr) std::memcpy(to, from->words(), sizeof(::fd_set));
}

void copy_from_native(const ::fd_set* from, fd_set* to) {
  if (to != nullptr) std::memcpy(to->words(), from, sizeof(::fd_set));
}

}  // namespace

LinuxOs::LinuxOs() {
  // A send on a connection the peer has closed raises SIGPIPE, whose default action kills the process. The
  // simulator models SIGPIPE as ignored (the call fails with EPIPE), so do the same here for every thread.
  ::signal(SIGPIPE, SIG_IGN);
}

void LinuxOs::set_last_errno(int error) {
  t_last_errno = error;
}

int LinuxOs::last_errno() const {
  return t_last_errno;
}

int LinuxOs::socket(int domain, int type, int protocol) {
  return capture_errno(::socket(domain, type, protocol));
}

int LinuxOs::socketpair(int domain, int type, int protocol, int sv[2]) {
  return capture_errno(::socketpair(domain, type, protocol, sv));
}

int LinuxOs::pipe2(int fds[2], int flags) {
  return capture_errno(::pipe2(fds, flags));
}

int LinuxOs::bind(int fd, const SockAddr& addr) {
  const sockaddr_in native = to_sockaddr_in(addr);
  return capture_errno(::bind(fd, reinterpret_cast<const sockaddr*>(&native), sizeof(native)));
}

int LinuxOs::listen(int fd, int backlog) {
  return capture_errno(::listen(fd, backlog));
}

int LinuxOs::accept4(int fd, SockAddr* peer, int flags) {
  sockaddr_storage native{};
  socklen_t length = sizeof(native);
  const int accepted = capture_errno(::accept4(fd, reinterpret_cast<sockaddr*>(&native), &length, flags));
  if (accepted >= 0 && peer != nullptr) *peer = from_sockaddr(native);
  return accepted;
}

int LinuxOs::connect(int fd, const SockAddr& addr) {
  const sockaddr_in native = to_sockaddr_in(addr);
  return capture_errno(::connect(fd, reinterpret_cast<const sockaddr*>(&native), sizeof(native)));
}

long LinuxOs::send(int fd, const void* buf, std::size_t len, int flags) {
  return capture_errno(::send(fd, buf, len, flags));
}

long LinuxOs::recv(int fd, void* buf, std::size_t len, int flags) {
  return capture_errno(::recv(fd, buf, len, flags));
}

long LinuxOs::read(int fd, void* buf, std::size_t len) {
  return capture_errno(::read(fd, buf, len));
}

long LinuxOs::write(int fd, const void* buf, std::size_t len) {
  return capture_errno(::write(fd, buf, len));
}

int LinuxOs::shutdown(int fd, int how) {
  return capture_errno(::shutdown(fd, how));
}

// No retry on EINTR: Linux releases the descriptor even when close reports EINTR, and a retry could close
// an fd that another thread has just been given.
int LinuxOs::close(int fd) {
  return capture_errno(::close(fd));
}

// Names are the simulator's; the real kernel has none. Only fd is checked, as SimOs does (EBADF).
int LinuxOs::name_fd(int fd, std::string_view) {
  return capture_errno(::fcntl(fd, F_GETFD) < 0 ? -1 : 0);
}

int LinuxOs::dup(int fd) {
  return capture_errno(::dup(fd));
}

int LinuxOs::fcntl(int fd, int cmd, int arg) {
  return capture_errno(::fcntl(fd, cmd, arg));
}

int LinuxOs::getsockopt(int fd, int level, int name, int* value) {
  socklen_t length = sizeof(*value);
  return capture_errno(::getsockopt(fd, level, name, value, &length));
}

int LinuxOs::setsockopt(int fd, int level, int name, int value) {
  return capture_errno(::setsockopt(fd, level, name, &value, sizeof(value)));
}

int LinuxOs::set_linger(int fd, bool on, int linger_seconds) {
  const ::linger native{on ? 1 : 0, linger_seconds};
  return capture_errno(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &native, sizeof(native)));
}

int LinuxOs::getsockname(int fd, SockAddr* addr) {
  sockaddr_storage native{};
  socklen_t length = sizeof(native);
  const int result = capture_errno(::getsockname(fd, reinterpret_cast<sockaddr*>(&native), &length));
  if (result == 0 && addr != nullptr) *addr = from_sockaddr(native);
  return result;
}

int LinuxOs::getpeername(int fd, SockAddr* addr) {
  sockaddr_storage native{};
  socklen_t length = sizeof(native);
  const int result = capture_errno(::getpeername(fd, reinterpret_cast<sockaddr*>(&native), &length));
  if (result == 0 && addr != nullptr) *addr = from_sockaddr(native);
  return result;
}

// The kernel accepts nfds above FD_SETSIZE and reads past a glibc fd_set (undefined behaviour for the
// caller); the iosim contract makes it EINVAL so both backends agree and no memory past the set is touched.
int LinuxOs::select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) {
  if (nfds < 0 || nfds > FD_SETSIZE_) return fail_with(E::INVAL);
  ::fd_set native_read{}, native_write{}, native_except{};
  copy_to_native(readfds, &native_read);
  copy_to_native(writefds, &native_write);
  copy_to_native(exceptfds, &native_except);
  ::timeval native_timeout{};
  if (timeout != nullptr) native_timeout = {timeout->tv_sec, timeout->tv_usec};
  const int ready =
      capture_errno(::select(nfds, readfds ? &native_read : nullptr, writefds ? &native_write : nullptr,
                             exceptfds ? &native_except : nullptr, timeout ? &native_timeout : nullptr));
  // Linux writes the unslept time back into the timeout (also on EINTR); pass that on as Linux does.
  if (timeout != nullptr) *timeout = {native_timeout.tv_sec, native_timeout.tv_usec};
  // On failure the kernel leaves the sets unmodified, so only copy results back on success.
  if (ready >= 0) {
    copy_from_native(&native_read, readfds);
    copy_from_native(&native_write, writefds);
    copy_from_native(&native_except, exceptfds);
  }
  return ready;
}

// iosim::pollfd has the libc layout, but copying keeps this correct without relying on aliasing rules.
int LinuxOs::poll(pollfd* fds, std::size_t nfds, int timeout_ms) {
  std::vector<::pollfd> native(nfds);
  for (std::size_t i = 0; i < nfds; ++i) native[i] = {fds[i].fd, fds[i].events, 0};
  const int ready = capture_errno(::poll(native.data(), nfds, timeout_ms));
  if (ready >= 0) {
    for (std::size_t i = 0; i < nfds; ++i) fds[i].revents = native[i].revents;
  }
  return ready;
}

int LinuxOs::epoll_create1(int flags) {
  return capture_errno(::epoll_create1(flags));
}

int LinuxOs::epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  if (event == nullptr)
    return capture_errno(::epoll_ctl(epfd, op, fd, nullptr));  // EPOLL_CTL_DEL (or EFAULT)
  ::epoll_event native{};
  native.events = event->events;
  native.data.u64 = event->data;
  return capture_errno(::epoll_ctl(epfd, op, fd, &native));
}

// The kernel writes its (smaller, on x86-64 packed) records into the caller's array, and we widen them in
// place from the last to the first: record i moves from byte 12·i to byte 16·i, which never overwrites a
// record not yet widened. So any maxevents the kernel accepts works without allocating a second array.
int LinuxOs::epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  auto* bytes = reinterpret_cast<unsigned char*>(events);
  const int ready =
      capture_errno(::epoll_wait(epfd, reinterpret_cast<::epoll_event*>(bytes), maxevents, timeout_ms));
  for (int i = ready - 1; i >= 0; --i) {
    ::epoll_event native;
    std::memcpy(&native, bytes + sizeof(::epoll_event) * static_cast<std::size_t>(i), sizeof(native));
    const epoll_event widened{native.events, native.data.u64};
    std::memcpy(bytes + sizeof(epoll_event) * static_cast<std::size_t>(i), &widened, sizeof(widened));
  }
  return ready;
}

int LinuxOs::eventfd(unsigned int initval, int flags) {
  return capture_errno(::eventfd(initval, flags));
}

std::unique_ptr<Thread> LinuxOs::thread_create(std::string name, std::function<void()> body) {
  auto thread = std::make_unique<native::StdThread>(std::move(body));
  // Linux limits thread names to 15 bytes plus NUL; the name only helps debuggers (top -H, gdb).
  pthread_setname_np(thread->native().native_handle(), name.substr(0, 15).c_str());
  return thread;
}

std::unique_ptr<Mutex> LinuxOs::mutex_create(std::string_view) {
  return std::make_unique<native::StdMutex>();
}

std::unique_ptr<CondVar> LinuxOs::condvar_create(std::string_view) {
  return std::make_unique<native::StdCondVar>();
}

// nanosleep returns early with EINTR when a signal handler runs; sleep the remainder so sleep_for sleeps at
// least the requested duration, as the simulator's virtual clock does.
void LinuxOs::sleep_for(std::int64_t duration_ns) {
  if (duration_ns <= 0) return;
  constexpr std::int64_t ns_per_second = 1'000'000'000;
  ::timespec remaining{static_cast<time_t>(duration_ns / ns_per_second),
                       static_cast<long>(duration_ns % ns_per_second)};
  while (::nanosleep(&remaining, &remaining) != 0 && errno == EINTR) {
  }
}

std::int64_t LinuxOs::monotonic_ns() {
  ::timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace iosim
