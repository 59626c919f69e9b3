// include/iosim/abi.hpp — the Linux ABI values iosim speaks: errno numbers, socket/poll/fcntl flags, and the
// fd_set, timeval and pollfd shapes. Own definitions, no OS header, so the virtual kernel stays host-independent.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace iosim {

// Scoped names instead of the libc macros (EAGAIN, POLLIN, ... are macros that would collide); the values
// are Linux's (include/uapi/asm-generic/errno-base.h, errno.h, poll.h, socket.h, fcntl.h).
struct E {
  static constexpr int PERM = 1, NOENT = 2, INTR = 4, IO = 5, BADF = 9, AGAIN = 11, NOMEM = 12, ACCES = 13,
                       FAULT = 14, EXIST = 17, NOTDIR = 20, INVAL = 22, NFILE = 23, MFILE = 24, NOSPC = 28, PIPE = 32,
                       NOSYS = 38, LOOP = 40, NOTSOCK = 88, DESTADDRREQ = 89, MSGSIZE = 90, PROTOTYPE = 91,
                       NOPROTOOPT = 92, PROTONOSUPPORT = 93, OPNOTSUPP = 95, AFNOSUPPORT = 97, ADDRINUSE = 98,
                       ADDRNOTAVAIL = 99, NETUNREACH = 101, CONNABORTED = 103, CONNRESET = 104, NOBUFS = 105,
                       ISCONN = 106, NOTCONN = 107, TIMEDOUT = 110, CONNREFUSED = 111, ALREADY = 114,
                       INPROGRESS = 115;
};
// "EAGAIN" for 11; "E?" for numbers iosim does not name.
constexpr std::string_view errno_name(int error) {
  switch (error) {
    case 0: return "0";
    case E::PERM: return "EPERM";
    case E::NOENT: return "ENOENT";
    case E::INTR: return "EINTR";
    case E::IO: return "EIO";
    case E::BADF: return "EBADF";
    case E::AGAIN: return "EAGAIN";
    case E::NOMEM: return "ENOMEM";
    case E::ACCES: return "EACCES";
    case E::FAULT: return "EFAULT";
    case E::EXIST: return "EEXIST";
    case E::NOTDIR: return "ENOTDIR";
    case E::INVAL: return "EINVAL";
    case E::NFILE: return "ENFILE";
    case E::MFILE: return "EMFILE";
    case E::NOSPC: return "ENOSPC";
    case E::PIPE: return "EPIPE";
    case E::NOSYS: return "ENOSYS";
    case E::LOOP: return "ELOOP";
    case E::NOTSOCK: return "ENOTSOCK";
    case E::DESTADDRREQ: return "EDESTADDRREQ";
    case E::MSGSIZE: return "EMSGSIZE";
    case E::PROTOTYPE: return "EPROTOTYPE";
    case E::NOPROTOOPT: return "ENOPROTOOPT";
    case E::PROTONOSUPPORT: return "EPROTONOSUPPORT";
    case E::OPNOTSUPP: return "EOPNOTSUPP";
    case E::AFNOSUPPORT: return "EAFNOSUPPORT";
    case E::ADDRINUSE: return "EADDRINUSE";
    case E::ADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case E::NETUNREACH: return "ENETUNREACH";
    case E::CONNABORTED: return "ECONNABORTED";
    case E::CONNRESET: return "ECONNRESET";
    case E::NOBUFS: return "ENOBUFS";
    case E::ISCONN: return "EISCONN";
    case E::NOTCONN: return "ENOTCONN";
    case E::TIMEDOUT: return "ETIMEDOUT";
    case E::CONNREFUSED: return "ECONNREFUSED";
    case E::ALREADY: return "EALREADY";
    case E::INPROGRESS: return "EINPROGRESS";
    default: return "E?";
  }
}

struct POLL {
  static constexpr short IN = 0x001, PRI = 0x002, OUT = 0x004, ERR = 0x008, HUP = 0x010, NVAL = 0x020,
                         RDNORM = 0x040, RDBAND = 0x080, WRNORM = 0x100, WRBAND = 0x200, MSG = 0x400,
                         RDHUP = 0x2000;
};

// epoll(7) (include/uapi/linux/eventpoll.h): the poll bits above plus the epoll-private flags.
struct EPOLL {
  static constexpr std::uint32_t IN = 0x001, PRI = 0x002, OUT = 0x004, ERR = 0x008, HUP = 0x010, RDNORM = 0x040,
                                 RDBAND = 0x080, WRNORM = 0x100, WRBAND = 0x200, MSG = 0x400, RDHUP = 0x2000,
                                 EXCLUSIVE = 1u << 28, WAKEUP = 1u << 29, ONESHOT = 1u << 30, ET = 1u << 31;
  static constexpr int CTL_ADD = 1, CTL_DEL = 2, CTL_MOD = 3;
  static constexpr int CLOEXEC = 02000000;
};

// eventfd(2) flags.
struct EFD {
  static constexpr int SEMAPHORE = 1, NONBLOCK = 04000, CLOEXEC = 02000000;
};

// struct epoll_event. Linux packs it on x86-64 (12 bytes); iosim's is the natural layout, and LinuxOs copies.
struct epoll_event {
  std::uint32_t events = 0;
  std::uint64_t data = 0;  // epoll_data_t as a 64-bit integer (u64 / fd / ptr)
};

struct AF {
  static constexpr int UNIX = 1, INET = 2;
};
struct SOCK {
  static constexpr int STREAM = 1, DGRAM = 2, NONBLOCK = 04000, CLOEXEC = 02000000;
  static constexpr int type_mask = 0xf;
};
struct MSG {
  static constexpr int PEEK = 0x2, DONTWAIT = 0x40, WAITALL = 0x100, NOSIGNAL = 0x4000;
};
struct SHUT {
  static constexpr int RD = 0, WR = 1, RDWR = 2;
};
struct F {
  static constexpr int DUPFD = 0, GETFD = 1, SETFD = 2, GETFL = 3, SETFL = 4;
  static constexpr int FD_CLOEXEC_ = 1;
};
struct O {
  static constexpr int RDONLY = 0, WRONLY = 1, RDWR = 2, NONBLOCK = 04000, CLOEXEC = 02000000;
};
struct SOL {
  static constexpr int SOCKET = 1;
};
struct IPPROTO {
  static constexpr int IP = 0, TCP = 6;
};
struct SO {
  static constexpr int REUSEADDR = 2, TYPE = 3, ERROR = 4, SNDBUF = 7, RCVBUF = 8, KEEPALIVE = 9, LINGER = 13,
                       REUSEPORT = 15, RCVLOWAT = 18, SNDLOWAT = 19, ACCEPTCONN = 30, DOMAIN = 39;
};
struct TCP {
  static constexpr int NODELAY = 1;
};

// FD_SETSIZE as glibc defines it: the bit count of an fd_set.
inline constexpr int FD_SETSIZE_ = 1024;

// The fd_set of select(2): a fixed bitmap of FD_SETSIZE bits, laid out as glibc's (64-bit words).
class fd_set {
 public:
  void zero() { bits_.fill(0); }
  void set(int fd) { bits_[word(fd)] |= mask(fd); }
  void clear(int fd) { bits_[word(fd)] &= ~mask(fd); }
  bool is_set(int fd) const { return (bits_[word(fd)] & mask(fd)) != 0; }
  std::uint64_t* words() { return bits_.data(); }
  const std::uint64_t* words() const { return bits_.data(); }
  static constexpr int word_bits = 64;
  static constexpr int word_count = FD_SETSIZE_ / word_bits;

 private:
  static int word(int fd) { return fd / word_bits; }
  static std::uint64_t mask(int fd) { return std::uint64_t{1} << (fd % word_bits); }
  std::array<std::uint64_t, word_count> bits_{};
};

struct timeval {
  std::int64_t tv_sec = 0;
  std::int64_t tv_usec = 0;
};

struct pollfd {
  int fd = -1;
  short events = 0;
  short revents = 0;
};

}  // namespace iosim
