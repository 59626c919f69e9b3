// backends/windows/windows_os.cpp — WindowsOs: Win32-shaped calls pass straight to Win32; POSIX-shaped calls
// go through Winsock with WSAE* codes translated to Linux errno values, kept in a per-thread slot.
#include "backends/windows/windows_os.hpp"

// iosim's headers come first: <windows.h> defines IN, OUT and ERROR as macros, which abi.hpp uses as names.
#define FD_SETSIZE 1024  // must equal windows_fd_set_sockets_max; set before <winsock2.h> sizes fd_set
#define WIN32_LEAN_AND_MEAN
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <mswsock.h>
#include <windows.h>
#include <winsock2.h>
#include <ws2tcpip.h>
#undef IN
#undef OUT
#undef ERROR

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "backends/native/std_threads.hpp"
#include "iosim/assert.hpp"

namespace iosim {

// The reinterpret_casts below hand the application's structures to Win32; these prove the layouts agree.
static_assert(sizeof(win32::OVERLAPPED) == sizeof(::OVERLAPPED));
static_assert(offsetof(win32::OVERLAPPED, Internal) == offsetof(::OVERLAPPED, Internal));
static_assert(offsetof(win32::OVERLAPPED, InternalHigh) == offsetof(::OVERLAPPED, InternalHigh));
static_assert(offsetof(win32::OVERLAPPED, hEvent) == offsetof(::OVERLAPPED, hEvent));
static_assert(sizeof(win32::WSABUF) == sizeof(::WSABUF) &&
              offsetof(win32::WSABUF, buf) == offsetof(::WSABUF, buf));
static_assert(sizeof(win32::OVERLAPPED_ENTRY) == sizeof(::OVERLAPPED_ENTRY));
static_assert(offsetof(win32::OVERLAPPED_ENTRY, lpOverlapped) == offsetof(::OVERLAPPED_ENTRY, lpOverlapped));
static_assert(offsetof(win32::OVERLAPPED_ENTRY, dwNumberOfBytesTransferred) ==
              offsetof(::OVERLAPPED_ENTRY, dwNumberOfBytesTransferred));
static_assert(sizeof(win32::DWORD) == sizeof(::DWORD) && sizeof(win32::ULONG_PTR) == sizeof(::ULONG_PTR));
static_assert(sizeof(win32::SOCKET) == sizeof(::SOCKET) && win32::INVALID_SOCKET_ == INVALID_SOCKET);
// Values passed through unchanged.
static_assert(AF::INET == AF_INET && SOCK::STREAM == SOCK_STREAM && IPPROTO::TCP == IPPROTO_TCP);
static_assert(SHUT::RD == SD_RECEIVE && SHUT::WR == SD_SEND && SHUT::RDWR == SD_BOTH);
static_assert(MSG::PEEK == MSG_PEEK && TCP::NODELAY == TCP_NODELAY);
static_assert(windows_fd_set_sockets_max == FD_SETSIZE);

namespace {

thread_local int t_last_errno = 0;

int fail_with(int error) {
  t_last_errno = error;
  return -1;
}

// WSAE* (WSAGetLastError after a failed Winsock call) → the Linux errno value.
int errno_from_wsa(int wsa_error) {
  switch (wsa_error) {
    case WSAEINTR:
      return E::INTR;
    case WSAEBADF:
    case WSAENOTSOCK:
    case WSA_INVALID_HANDLE:
      return E::BADF;
    case WSAEACCES:
      return E::ACCES;
    case WSAEFAULT:
      return E::FAULT;
    case WSAEINVAL:
      return E::INVAL;
    case WSAEMFILE:
      return E::MFILE;
    case WSAEWOULDBLOCK:
      return E::AGAIN;
    case WSAEINPROGRESS:
      return E::INPROGRESS;
    case WSAEALREADY:
      return E::ALREADY;
    case WSAEDESTADDRREQ:
      return E::DESTADDRREQ;
    case WSAEMSGSIZE:
      return E::MSGSIZE;
    case WSAEPROTOTYPE:
      return E::PROTOTYPE;
    case WSAENOPROTOOPT:
      return E::NOPROTOOPT;
    case WSAEPROTONOSUPPORT:
    case WSAESOCKTNOSUPPORT:
      return E::PROTONOSUPPORT;
    case WSAEOPNOTSUPP:
      return E::OPNOTSUPP;
    case WSAEAFNOSUPPORT:
    case WSAEPFNOSUPPORT:
      return E::AFNOSUPPORT;
    case WSAEADDRINUSE:
      return E::ADDRINUSE;
    case WSAEADDRNOTAVAIL:
      return E::ADDRNOTAVAIL;
    case WSAENETDOWN:
    case WSAENETUNREACH:
    case WSAEHOSTUNREACH:
    case WSAEHOSTDOWN:
      return E::NETUNREACH;
    case WSAECONNABORTED:
      return E::CONNABORTED;
    case WSAECONNRESET:
    case WSAENETRESET:
      return E::CONNRESET;
    case WSAENOBUFS:
    case WSA_NOT_ENOUGH_MEMORY:
      return E::NOBUFS;
    case WSAEISCONN:
      return E::ISCONN;
    case WSAENOTCONN:
      return E::NOTCONN;
    case WSAESHUTDOWN:
      return E::PIPE;
    case WSAETIMEDOUT:
      return E::TIMEDOUT;
    case WSAECONNREFUSED:
      return E::CONNREFUSED;
    default:
      return E::IO;
  }
}

// For a Winsock call that returned SOCKET_ERROR: records the translated errno and returns -1.
int fail_from_wsa() {
  return fail_with(errno_from_wsa(::WSAGetLastError()));
}

template <typename Result>
Result check(Result result) {
  if (result == SOCKET_ERROR) return fail_from_wsa();
  return result;
}

::SOCKET to_socket(int fd) {
  return fd < 0 ? INVALID_SOCKET : static_cast<::SOCKET>(fd);
}

// An fd is the SOCKET value; Windows hands out small multiples of 4 in practice, and iosim needs an int.
int to_fd(::SOCKET socket) {
  IOSIM_ASSERT(socket <= static_cast<::SOCKET>(INT_MAX), "a SOCKET value does not fit in an iosim fd (int)");
  return static_cast<int>(socket);
}

sockaddr_in to_sockaddr_in(const SockAddr& addr) {
  sockaddr_in native{};
  native.sin_family = AF_INET;
  native.sin_addr.s_addr = htonl(addr.ip);
  native.sin_port = htons(addr.port);
  return native;
}

SockAddr from_sockaddr(const sockaddr_storage& native) {
  if (native.ss_family != AF_INET) return SockAddr{};
  const auto& in = reinterpret_cast<const sockaddr_in&>(native);
  return SockAddr{ntohl(in.sin_addr.s_addr), ntohs(in.sin_port)};
}

int clamp_length(std::size_t len) {
  return len > INT_MAX ? INT_MAX : static_cast<int>(len);
}

void start_winsock() {
  static std::once_flag once;
  std::call_once(once, [] {
    WSADATA data{};
    const int error = ::WSAStartup(MAKEWORD(2, 2), &data);
    IOSIM_ASSERT(error == 0, "WSAStartup(2.2) failed");
  });
}

// WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER): the provider's AcceptEx or ConnectEx, or null on failure
// (GetLastError says why).
void* load_extension(::SOCKET socket, GUID guid) {
  void* function = nullptr;
  DWORD bytes = 0;
  if (::WSAIoctl(socket, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &function, sizeof function,
                 &bytes, nullptr, nullptr) == SOCKET_ERROR)
    return nullptr;
  return function;
}

}  // namespace

// Windows cannot report whether a socket is non-blocking, so F_GETFL answers from what WindowsOs set.
struct WindowsOs::State {
  std::mutex mutex;
  std::set<::SOCKET> nonblocking;  // guarded by mutex
  std::atomic<LPFN_ACCEPTEX> accept_ex{nullptr};
  std::atomic<LPFN_CONNECTEX> connect_ex{nullptr};

  bool is_nonblocking(::SOCKET socket) {
    std::lock_guard lock(mutex);
    return nonblocking.count(socket) != 0;
  }
  // ioctlsocket(FIONBIO) and the remembered mode; -1 with errno on failure.
  int set_nonblocking(::SOCKET socket, bool on) {
    u_long mode = on ? 1 : 0;
    if (::ioctlsocket(socket, FIONBIO, &mode) == SOCKET_ERROR) return fail_from_wsa();
    std::lock_guard lock(mutex);
    if (on)
      nonblocking.insert(socket);
    else
      nonblocking.erase(socket);
    return 0;
  }
  void forget(::SOCKET socket) {
    std::lock_guard lock(mutex);
    nonblocking.erase(socket);
  }
};

WindowsOs::WindowsOs() : state_(std::make_unique<State>()) {
  start_winsock();
}
WindowsOs::~WindowsOs() = default;

int WindowsOs::last_errno() const {
  return t_last_errno;
}
void WindowsOs::set_last_errno(int error) {
  t_last_errno = error;
}

int WindowsOs::socket(int domain, int type, int protocol) {
  if (domain != AF::INET) return fail_with(E::AFNOSUPPORT);
  const int kind = type & SOCK::type_mask;
  const ::SOCKET socket =
      ::WSASocketW(AF_INET, kind, protocol, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (socket == INVALID_SOCKET) return fail_from_wsa();
  if ((type & SOCK::NONBLOCK) != 0 && state_->set_nonblocking(socket, true) != 0) {
    const int error = t_last_errno;
    ::closesocket(socket);
    return fail_with(error);
  }
  return to_fd(socket);
}

int WindowsOs::socketpair(int, int, int, int[2]) {
  return fail_with(E::NOSYS);
}
int WindowsOs::pipe2(int[2], int) {
  return fail_with(E::NOSYS);
}

int WindowsOs::bind(int fd, const SockAddr& addr) {
  const sockaddr_in native = to_sockaddr_in(addr);
  return check(::bind(to_socket(fd), reinterpret_cast<const sockaddr*>(&native), sizeof native));
}

int WindowsOs::listen(int fd, int backlog) {
  return check(::listen(to_socket(fd), backlog));
}

int WindowsOs::accept4(int fd, SockAddr* peer, int flags) {
  sockaddr_storage native{};
  int length = sizeof native;
  const ::SOCKET socket = ::accept(to_socket(fd), reinterpret_cast<sockaddr*>(&native), &length);
  if (socket == INVALID_SOCKET) return fail_from_wsa();
  // Winsock copies the listening socket's mode; Linux's accept4 takes it from flags only.
  if (state_->set_nonblocking(socket, (flags & SOCK::NONBLOCK) != 0) != 0) {
    const int error = t_last_errno;
    ::closesocket(socket);
    return fail_with(error);
  }
  if (peer != nullptr) *peer = from_sockaddr(native);
  return to_fd(socket);
}

int WindowsOs::connect(int fd, const SockAddr& addr) {
  const sockaddr_in native = to_sockaddr_in(addr);
  if (::connect(to_socket(fd), reinterpret_cast<const sockaddr*>(&native), sizeof native) == 0) return 0;
  const int error = ::WSAGetLastError();
  // A non-blocking connect in progress: Winsock says WSAEWOULDBLOCK where Linux says EINPROGRESS.
  return fail_with(error == WSAEWOULDBLOCK ? E::INPROGRESS : errno_from_wsa(error));
}

namespace {
// Winsock flags for iosim's MSG_* flags; MSG_NOSIGNAL has no meaning without SIGPIPE, MSG_DONTWAIT is
// handled by the caller.
int to_wsa_flags(int flags) {
  int native = 0;
  if ((flags & MSG::PEEK) != 0) native |= MSG_PEEK;
  if ((flags & MSG::WAITALL) != 0) native |= MSG_WAITALL;
  return native;
}
}  // namespace

long WindowsOs::send(int fd, const void* buf, std::size_t len, int flags) {
  const ::SOCKET socket = to_socket(fd);
  const bool dont_wait = (flags & MSG::DONTWAIT) != 0 && !state_->is_nonblocking(socket);
  if (dont_wait && state_->set_nonblocking(socket, true) != 0) return -1;
  const int sent = ::send(socket, static_cast<const char*>(buf), clamp_length(len), to_wsa_flags(flags));
  const int error = ::WSAGetLastError();
  if (dont_wait) state_->set_nonblocking(socket, false);
  return sent == SOCKET_ERROR ? fail_with(errno_from_wsa(error)) : sent;
}

long WindowsOs::recv(int fd, void* buf, std::size_t len, int flags) {
  const ::SOCKET socket = to_socket(fd);
  const bool dont_wait = (flags & MSG::DONTWAIT) != 0 && !state_->is_nonblocking(socket);
  if (dont_wait && state_->set_nonblocking(socket, true) != 0) return -1;
  const int received = ::recv(socket, static_cast<char*>(buf), clamp_length(len), to_wsa_flags(flags));
  const int error = ::WSAGetLastError();
  if (dont_wait) state_->set_nonblocking(socket, false);
  return received == SOCKET_ERROR ? fail_with(errno_from_wsa(error)) : received;
}

long WindowsOs::read(int fd, void* buf, std::size_t len) {
  return recv(fd, buf, len, 0);
}
long WindowsOs::write(int fd, const void* buf, std::size_t len) {
  return send(fd, buf, len, 0);
}

int WindowsOs::shutdown(int fd, int how) {
  return check(::shutdown(to_socket(fd), how));
}

int WindowsOs::close(int fd) {
  const ::SOCKET socket = to_socket(fd);
  if (::closesocket(socket) == SOCKET_ERROR) return fail_from_wsa();
  state_->forget(socket);
  return 0;
}

// Names are the simulator's; Windows has none. Only the socket is checked, as fcntl checks it (EBADF).
int WindowsOs::name_fd(int fd, std::string_view) {
  return fcntl(fd, F::GETFD, 0) < 0 ? -1 : 0;
}

int WindowsOs::dup(int) {
  return fail_with(E::NOSYS);
}

int WindowsOs::fcntl(int fd, int cmd, int arg) {
  const ::SOCKET socket = to_socket(fd);
  int type = 0;
  int length = sizeof type;
  // Validates the fd as Linux's fcntl would (EBADF).
  if (::getsockopt(socket, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &length) == SOCKET_ERROR)
    return fail_from_wsa();
  switch (cmd) {
    case F::GETFL:
      return O::RDWR | (state_->is_nonblocking(socket) ? O::NONBLOCK : 0);
    case F::SETFL:
      return state_->set_nonblocking(socket, (arg & O::NONBLOCK) != 0);
    case F::GETFD:
      return F::FD_CLOEXEC_;
    case F::SETFD:
      return 0;
    default:
      return fail_with(E::INVAL);
  }
}

namespace {
struct NativeOption {
  int level = 0;
  int name = 0;
};
// iosim's (Linux) level and option → Winsock's; false when Winsock has no such integer option.
bool to_native_option(int level, int name, NativeOption* native) {
  if (level == IPPROTO::TCP && name == TCP::NODELAY) {
    *native = {IPPROTO_TCP, TCP_NODELAY};
    return true;
  }
  if (level != SOL::SOCKET) return false;
  switch (name) {
    case SO::REUSEADDR:
      *native = {SOL_SOCKET, SO_REUSEADDR};
      return true;
    case SO::TYPE:
      *native = {SOL_SOCKET, SO_TYPE};
      return true;
    case SO::ERROR:
      *native = {SOL_SOCKET, SO_ERROR};
      return true;
    case SO::SNDBUF:
      *native = {SOL_SOCKET, SO_SNDBUF};
      return true;
    case SO::RCVBUF:
      *native = {SOL_SOCKET, SO_RCVBUF};
      return true;
    case SO::KEEPALIVE:
      *native = {SOL_SOCKET, SO_KEEPALIVE};
      return true;
    case SO::ACCEPTCONN:
      *native = {SOL_SOCKET, SO_ACCEPTCONN};
      return true;
    default:
      return false;
  }
}
}  // namespace

int WindowsOs::getsockopt(int fd, int level, int name, int* value) {
  NativeOption native;
  if (!to_native_option(level, name, &native)) return fail_with(E::NOPROTOOPT);
  int result = 0;
  int length = sizeof result;
  if (::getsockopt(to_socket(fd), native.level, native.name, reinterpret_cast<char*>(&result), &length) ==
      SOCKET_ERROR)
    return fail_from_wsa();
  if (native.name == SO_ERROR && native.level == SOL_SOCKET && result != 0) result = errno_from_wsa(result);
  // Winsock's BOOL options may come back as a single byte; a DWORD read covers both.
  *value = result;
  return 0;
}

int WindowsOs::setsockopt(int fd, int level, int name, int value) {
  const ::SOCKET socket = to_socket(fd);
  if (level == SOL::SOCKET && name == win32::SO_UPDATE_ACCEPT_CONTEXT_) {
    const ::SOCKET listener = to_socket(value);
    return check(::setsockopt(socket, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                              reinterpret_cast<const char*>(&listener), sizeof listener));
  }
  if (level == SOL::SOCKET && name == win32::SO_UPDATE_CONNECT_CONTEXT_)
    return check(::setsockopt(socket, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0));
  NativeOption native;
  if (!to_native_option(level, name, &native)) return fail_with(E::NOPROTOOPT);
  return check(
      ::setsockopt(socket, native.level, native.name, reinterpret_cast<const char*>(&value), sizeof value));
}

int WindowsOs::set_linger(int fd, bool on, int linger_seconds) {
  ::linger native{static_cast<u_short>(on ? 1 : 0), static_cast<u_short>(linger_seconds)};
  return check(::setsockopt(to_socket(fd), SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&native),
                            sizeof native));
}

int WindowsOs::getsockname(int fd, SockAddr* addr) {
  sockaddr_storage native{};
  int length = sizeof native;
  if (::getsockname(to_socket(fd), reinterpret_cast<sockaddr*>(&native), &length) == SOCKET_ERROR)
    return fail_from_wsa();
  *addr = from_sockaddr(native);
  return 0;
}

int WindowsOs::getpeername(int fd, SockAddr* addr) {
  sockaddr_storage native{};
  int length = sizeof native;
  if (::getpeername(to_socket(fd), reinterpret_cast<sockaddr*>(&native), &length) == SOCKET_ERROR)
    return fail_from_wsa();
  *addr = from_sockaddr(native);
  return 0;
}

namespace {
// iosim's Linux-layout bitmap → Winsock's list of sockets; false when more than FD_SETSIZE are set.
bool to_native_set(int nfds, const fd_set* from, ::fd_set* to) {
  to->fd_count = 0;
  if (from == nullptr) return true;
  for (int fd = 0; fd < nfds; ++fd) {
    if (!from->is_set(fd)) continue;
    if (to->fd_count == FD_SETSIZE) return false;
    to->fd_array[to->fd_count++] = static_cast<::SOCKET>(fd);
  }
  return true;
}

bool native_set_has(const ::fd_set& set, int fd) {
  for (u_int i = 0; i < set.fd_count; ++i) {
    if (set.fd_array[i] == static_cast<::SOCKET>(fd)) return true;
  }
  return false;
}

// Sets, in `to`, the fds of [0, nfds) that the native result holds; returns how many.
int from_native_set(int nfds, const ::fd_set& native, fd_set* to) {
  if (to == nullptr) return 0;
  int count = 0;
  for (int fd = 0; fd < nfds; ++fd) {
    if (!to->is_set(fd)) continue;
    if (native_set_has(native, fd)) {
      ++count;
    } else {
      to->clear(fd);
    }
  }
  return count;
}

void sleep_ms(std::int64_t timeout_ms) {
  if (timeout_ms < 0) {
    ::Sleep(INFINITE);
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
  }
}
}  // namespace

// Winsock's select fails (WSAEINVAL) with three empty sets, and reports a failed non-blocking connect in
// exceptfds only; Linux sleeps, and reports the socket writable. Both are made Linux-shaped here.
int WindowsOs::select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) {
  if (nfds < 0 || nfds > FD_SETSIZE_) return fail_with(E::INVAL);
  auto native =
      std::make_unique<::fd_set[]>(4);  // read, write, except, connect-failed (32 KiB: not on stack)
  if (!to_native_set(nfds, readfds, &native[0]) || !to_native_set(nfds, writefds, &native[1]) ||
      !to_native_set(nfds, exceptfds, &native[2]) || !to_native_set(nfds, writefds, &native[3]))
    return fail_with(E::INVAL);
  for (u_int i = 0; i < native[3].fd_count && native[2].fd_count < FD_SETSIZE; ++i) {
    if (!native_set_has(native[2], static_cast<int>(native[3].fd_array[i])))
      native[2].fd_array[native[2].fd_count++] = native[3].fd_array[i];
  }
  const std::int64_t timeout_ms = timeout == nullptr ? -1 : timeout->tv_sec * 1000 + timeout->tv_usec / 1000;
  if (native[0].fd_count + native[1].fd_count + native[2].fd_count == 0) {
    sleep_ms(timeout_ms);
    return 0;
  }
  ::timeval native_timeout{};
  if (timeout != nullptr) {
    native_timeout.tv_sec = static_cast<long>(timeout->tv_sec);
    native_timeout.tv_usec = static_cast<long>(timeout->tv_usec);
  }
  if (::select(0, &native[0], &native[1], &native[2], timeout ? &native_timeout : nullptr) == SOCKET_ERROR)
    return fail_from_wsa();
  // A failed connect shows up in exceptfds; Linux reports it as writable.
  for (u_int i = 0; i < native[2].fd_count && native[1].fd_count < FD_SETSIZE; ++i) {
    const int fd = static_cast<int>(native[2].fd_array[i]);
    if (writefds != nullptr && writefds->is_set(fd) && !native_set_has(native[1], fd))
      native[1].fd_array[native[1].fd_count++] = native[2].fd_array[i];
  }
  return from_native_set(nfds, native[0], readfds) + from_native_set(nfds, native[1], writefds) +
         from_native_set(nfds, native[2], exceptfds);
}

namespace {
short to_wsapoll_events(short events) {
  short native = 0;
  if ((events & (POLL::IN | POLL::RDNORM)) != 0) native |= POLLRDNORM;
  if ((events & POLL::RDBAND) != 0) native |= POLLRDBAND;
  if ((events & (POLL::OUT | POLL::WRNORM)) != 0) native |= POLLWRNORM;
  if ((events & POLL::WRBAND) != 0) native |= POLLWRBAND;
  return native;
}

// WSAPoll's revents → Linux's, limited to what was asked for plus the always-reported ERR/HUP/NVAL.
short from_wsapoll_revents(short native, short asked) {
  short revents = 0;
  if ((native & (POLLRDNORM | POLLRDBAND)) != 0) revents |= POLL::IN | POLL::RDNORM;
  if ((native & POLLRDBAND) != 0) revents |= POLL::RDBAND;
  if ((native & POLLWRNORM) != 0) revents |= POLL::OUT | POLL::WRNORM;
  if ((native & POLLWRBAND) != 0) revents |= POLL::WRBAND;
  revents &= asked;
  if ((native & POLLERR) != 0) revents |= POLL::ERR;
  if ((native & POLLHUP) != 0) revents |= POLL::HUP;
  if ((native & POLLNVAL) != 0) revents |= POLL::NVAL;
  return revents;
}
}  // namespace

int WindowsOs::poll(pollfd* fds, std::size_t nfds, int timeout_ms) {
  std::vector<::WSAPOLLFD> native(nfds);
  bool any_socket = false;
  for (std::size_t i = 0; i < nfds; ++i) {
    native[i].fd = fds[i].fd < 0 ? INVALID_SOCKET : static_cast<::SOCKET>(fds[i].fd);
    native[i].events = to_wsapoll_events(fds[i].events);
    any_socket = any_socket || fds[i].fd >= 0;
  }
  if (!any_socket) {  // WSAPoll rejects an empty array; Linux sleeps
    sleep_ms(timeout_ms);
    for (std::size_t i = 0; i < nfds; ++i) fds[i].revents = 0;
    return 0;
  }
  if (::WSAPoll(native.data(), static_cast<ULONG>(nfds), timeout_ms) == SOCKET_ERROR) return fail_from_wsa();
  int ready = 0;  // recounted: a bit WSAPoll reports but the caller did not ask for is dropped
  for (std::size_t i = 0; i < nfds; ++i) {
    fds[i].revents = fds[i].fd < 0 ? 0 : from_wsapoll_revents(native[i].revents, fds[i].events);
    ready += fds[i].revents != 0 ? 1 : 0;
  }
  return ready;
}

int WindowsOs::epoll_create1(int) {
  return fail_with(E::NOSYS);
}
int WindowsOs::epoll_ctl(int, int, int, epoll_event*) {
  return fail_with(E::NOSYS);
}
int WindowsOs::epoll_wait(int, epoll_event*, int, int) {
  return fail_with(E::NOSYS);
}
int WindowsOs::eventfd(unsigned int, int) {
  return fail_with(E::NOSYS);
}

std::unique_ptr<Thread> WindowsOs::thread_create(std::string, std::function<void()> body) {
  return std::make_unique<native::StdThread>(std::move(body));
}
std::unique_ptr<Mutex> WindowsOs::mutex_create(std::string_view) {
  return std::make_unique<native::StdMutex>();
}
std::unique_ptr<CondVar> WindowsOs::condvar_create(std::string_view) {
  return std::make_unique<native::StdCondVar>();
}

void WindowsOs::sleep_for(std::int64_t duration_ns) {
  if (duration_ns > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(duration_ns));
}

// steady_clock is QueryPerformanceCounter in mingw-w64's libstdc++.
std::int64_t WindowsOs::monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// --- Win32: the real functions, the application's structures passed through (layouts asserted above) ---

win32::HANDLE WindowsOs::CreateIoCompletionPort(win32::HANDLE FileHandle,
                                                win32::HANDLE ExistingCompletionPort,
                                                win32::ULONG_PTR CompletionKey,
                                                win32::DWORD NumberOfConcurrentThreads) {
  return ::CreateIoCompletionPort(FileHandle, ExistingCompletionPort, CompletionKey,
                                  NumberOfConcurrentThreads);
}

win32::BOOL WindowsOs::GetQueuedCompletionStatus(win32::HANDLE CompletionPort,
                                                 win32::DWORD* lpNumberOfBytesTransferred,
                                                 win32::ULONG_PTR* lpCompletionKey,
                                                 win32::OVERLAPPED** lpOverlapped,
                                                 win32::DWORD dwMilliseconds) {
  return ::GetQueuedCompletionStatus(CompletionPort, reinterpret_cast<::DWORD*>(lpNumberOfBytesTransferred),
                                     reinterpret_cast<::ULONG_PTR*>(lpCompletionKey),
                                     reinterpret_cast<::LPOVERLAPPED*>(lpOverlapped), dwMilliseconds);
}

win32::BOOL WindowsOs::GetQueuedCompletionStatusEx(win32::HANDLE CompletionPort,
                                                   win32::OVERLAPPED_ENTRY* lpCompletionPortEntries,
                                                   win32::ULONG ulCount, win32::ULONG* ulNumEntriesRemoved,
                                                   win32::DWORD dwMilliseconds, win32::BOOL fAlertable) {
  return ::GetQueuedCompletionStatusEx(
      CompletionPort, reinterpret_cast<::LPOVERLAPPED_ENTRY>(lpCompletionPortEntries), ulCount,
      reinterpret_cast<::ULONG*>(ulNumEntriesRemoved), dwMilliseconds, fAlertable);
}

win32::BOOL WindowsOs::PostQueuedCompletionStatus(win32::HANDLE CompletionPort,
                                                  win32::DWORD dwNumberOfBytesTransferred,
                                                  win32::ULONG_PTR dwCompletionKey,
                                                  win32::OVERLAPPED* lpOverlapped) {
  return ::PostQueuedCompletionStatus(CompletionPort, dwNumberOfBytesTransferred, dwCompletionKey,
                                      reinterpret_cast<::LPOVERLAPPED>(lpOverlapped));
}

win32::BOOL WindowsOs::CloseHandle(win32::HANDLE hObject) {
  return ::CloseHandle(hObject);
}

win32::SOCKET WindowsOs::WSASocketW(int af, int type, int protocol, win32::DWORD dwFlags) {
  const ::SOCKET socket = ::WSASocketW(af, type, protocol, nullptr, 0, dwFlags);
  if (socket != INVALID_SOCKET) to_fd(socket);  // asserts it can be used as an fd too
  return socket;
}

int WindowsOs::closesocket(win32::SOCKET s) {
  const int result = ::closesocket(s);
  if (result == 0) state_->forget(s);
  return result;
}

int WindowsOs::WSARecv(win32::SOCKET s, win32::WSABUF* lpBuffers, win32::DWORD dwBufferCount,
                       win32::DWORD* lpNumberOfBytesRecvd, win32::DWORD* lpFlags,
                       win32::OVERLAPPED* lpOverlapped) {
  return ::WSARecv(s, reinterpret_cast<::LPWSABUF>(lpBuffers), dwBufferCount,
                   reinterpret_cast<::DWORD*>(lpNumberOfBytesRecvd), reinterpret_cast<::DWORD*>(lpFlags),
                   reinterpret_cast<::LPWSAOVERLAPPED>(lpOverlapped), nullptr);
}

int WindowsOs::WSASend(win32::SOCKET s, win32::WSABUF* lpBuffers, win32::DWORD dwBufferCount,
                       win32::DWORD* lpNumberOfBytesSent, win32::DWORD dwFlags,
                       win32::OVERLAPPED* lpOverlapped) {
  return ::WSASend(s, reinterpret_cast<::LPWSABUF>(lpBuffers), dwBufferCount,
                   reinterpret_cast<::DWORD*>(lpNumberOfBytesSent), dwFlags,
                   reinterpret_cast<::LPWSAOVERLAPPED>(lpOverlapped), nullptr);
}

win32::BOOL WindowsOs::AcceptEx(win32::SOCKET sListenSocket, win32::SOCKET sAcceptSocket,
                                void* lpOutputBuffer, win32::DWORD dwReceiveDataLength,
                                win32::DWORD dwLocalAddressLength, win32::DWORD dwRemoteAddressLength,
                                win32::DWORD* lpdwBytesReceived, win32::OVERLAPPED* lpOverlapped) {
  LPFN_ACCEPTEX accept_ex = state_->accept_ex.load();
  if (accept_ex == nullptr) {
    GUID guid = WSAID_ACCEPTEX;
    accept_ex = reinterpret_cast<LPFN_ACCEPTEX>(load_extension(sListenSocket, guid));
    if (accept_ex == nullptr) return FALSE;  // WSAIoctl set the last error (e.g. WSAENOTSOCK)
    state_->accept_ex.store(accept_ex);
  }
  return accept_ex(sListenSocket, sAcceptSocket, lpOutputBuffer, dwReceiveDataLength, dwLocalAddressLength,
                   dwRemoteAddressLength, reinterpret_cast<::DWORD*>(lpdwBytesReceived),
                   reinterpret_cast<::LPOVERLAPPED>(lpOverlapped));
}

win32::BOOL WindowsOs::ConnectEx(win32::SOCKET s, const SockAddr& name, const void* lpSendBuffer,
                                 win32::DWORD dwSendDataLength, win32::DWORD* lpdwBytesSent,
                                 win32::OVERLAPPED* lpOverlapped) {
  LPFN_CONNECTEX connect_ex = state_->connect_ex.load();
  if (connect_ex == nullptr) {
    GUID guid = WSAID_CONNECTEX;
    connect_ex = reinterpret_cast<LPFN_CONNECTEX>(load_extension(s, guid));
    if (connect_ex == nullptr) return FALSE;
    state_->connect_ex.store(connect_ex);
  }
  const sockaddr_in native = to_sockaddr_in(name);
  return connect_ex(s, reinterpret_cast<const sockaddr*>(&native), sizeof native,
                    const_cast<void*>(lpSendBuffer), dwSendDataLength,
                    reinterpret_cast<::DWORD*>(lpdwBytesSent),
                    reinterpret_cast<::LPOVERLAPPED>(lpOverlapped));
}

win32::BOOL WindowsOs::WSAGetOverlappedResult(win32::SOCKET s, win32::OVERLAPPED* lpOverlapped,
                                              win32::DWORD* lpcbTransfer, win32::BOOL fWait,
                                              win32::DWORD* lpdwFlags) {
  return ::WSAGetOverlappedResult(s, reinterpret_cast<::LPWSAOVERLAPPED>(lpOverlapped),
                                  reinterpret_cast<::DWORD*>(lpcbTransfer), fWait,
                                  reinterpret_cast<::DWORD*>(lpdwFlags));
}

win32::BOOL WindowsOs::CancelIoEx(win32::HANDLE hFile, win32::OVERLAPPED* lpOverlapped) {
  return ::CancelIoEx(hFile, reinterpret_cast<::LPOVERLAPPED>(lpOverlapped));
}

win32::BOOL WindowsOs::SetFileCompletionNotificationModes(win32::HANDLE FileHandle, win32::UCHAR Flags) {
  return ::SetFileCompletionNotificationModes(FileHandle, Flags);
}

win32::DWORD WindowsOs::GetLastError() {
  return ::GetLastError();
}
void WindowsOs::SetLastError(win32::DWORD dwErrCode) {
  ::SetLastError(dwErrCode);
}
int WindowsOs::WSAGetLastError() {
  return ::WSAGetLastError();
}

}  // namespace iosim
