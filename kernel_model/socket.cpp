// kernel_model/socket.cpp — the protocol-independent socket options (Linux net/core/sock.c, sock_setsockopt
// and sock_getsockopt) and sock_error / sock_rcvlowat.
#include "kernel_model/socket.hpp"

#include <algorithm>
#include <climits>
#include <string>

#include <fmt/format.h>

#include "kernel_model/kernel.hpp"

namespace iosim::kernel {

namespace {

std::string sk_sleep_name(std::string_view sock_name) { return fmt::format("sk_sleep({})", sock_name); }

}  // namespace

sock::sock(kernel& k_, int family_, int type_, std::uint32_t name_)
    : k(k_), family(family_), type(type_), name(name_) {
  wq.name = k.intern(sk_sleep_name(k.trace().name(name)));
}

int sock::sock_error() {
  const int error = sk_err;
  sk_err = 0;
  return -error;
}

std::size_t sock::sock_rcvlowat(bool waitall, std::size_t len) const {
  const std::size_t target = waitall ? len : std::min<std::size_t>(static_cast<std::size_t>(sk_rcvlowat), len);
  return std::max<std::size_t>(target, 1);
}

socket::socket(kernel& k_, std::uint32_t name_, int f_flags_, sock& sk_) : file(k_, name_, f_flags_), sk(sk_) {}

// The socket file and its sock share one name ("tcp#4"); the sock's wait queue is named after it.
void socket::rename_derived(std::string_view name) { k().trace().rename(sk.wq.name, sk_sleep_name(name)); }

int socket::getsockopt_socket(int name, int* value) {
  switch (name) {
    case SO::REUSEADDR: *value = sk.sk_reuse ? 1 : 0; return 0;
    case SO::KEEPALIVE: *value = sk.sk_keepalive ? 1 : 0; return 0;
    case SO::TYPE: *value = sk.type; return 0;
    case SO::DOMAIN: *value = sk.family; return 0;
    case SO::ERROR: *value = -sk.sock_error(); return 0;
    case SO::SNDBUF: *value = sk.sk_sndbuf; return 0;
    case SO::RCVBUF: *value = sk.sk_rcvbuf; return 0;
    case SO::RCVLOWAT: *value = sk.sk_rcvlowat; return 0;
    case SO::SNDLOWAT: *value = 1; return 0;  // Linux: fixed at 1
    case SO::ACCEPTCONN: *value = listening() ? 1 : 0; return 0;
    case SO::LINGER: *value = sk.linger_on ? 1 : 0; return 0;
    default: return -E::NOPROTOOPT;
  }
}

int socket::setsockopt_socket(int name, int value) {
  switch (name) {
    case SO::REUSEADDR: sk.sk_reuse = value != 0; return 0;
    case SO::KEEPALIVE: sk.sk_keepalive = value != 0; return 0;
    case SO::SNDBUF:
      // Linux: clamp to net.core.wmem_max, then double to leave room for struct sk_buff overhead.
      sk.sk_sndbuf = std::max(std::clamp(value, 0, k().config().wmem_max_bytes) * 2, SOCK_MIN_SNDBUF);
      buffer_sizes_changed();
      return 0;
    case SO::RCVBUF:
      sk.sk_rcvbuf = std::max(std::clamp(value, 0, k().config().rmem_max_bytes) * 2, SOCK_MIN_RCVBUF);
      buffer_sizes_changed();
      return 0;
    case SO::RCVLOWAT:
      // Linux: a negative value means INT_MAX; 0 means 1.
      sk.sk_rcvlowat = value < 0 ? INT_MAX : (value == 0 ? 1 : value);
      buffer_sizes_changed();
      return 0;
    default:
      // SO_SNDLOWAT is not changeable on Linux (socket(7)); SO_TYPE, SO_ERROR ... are read-only.
      return -E::NOPROTOOPT;
  }
}

int socket::set_linger(bool on, int seconds) {
  sk.linger_on = on;
  sk.linger_seconds = seconds;
  return 0;
}

}  // namespace iosim::kernel
