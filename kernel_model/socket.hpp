// kernel_model/socket.hpp — a socket file (Linux struct socket + the generic part of struct sock) and the
// protocol operations each family implements (Linux struct proto_ops). Defaults are Linux's sock_no_* results.
#pragma once

#include <cstdint>

#include "iosim/os.hpp"
#include "kernel_model/file.hpp"
#include "kernel_model/wait.hpp"

namespace iosim::kernel {

// sk->sk_shutdown bits (include/net/sock.h).
inline constexpr int RCV_SHUTDOWN = 1;
inline constexpr int SEND_SHUTDOWN = 2;
inline constexpr int SHUTDOWN_MASK = 3;

// Linux SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF on x86-64 (2 * (2048 + sizeof(struct sk_buff)), and half of it).
inline constexpr int SOCK_MIN_SNDBUF = 4608;
inline constexpr int SOCK_MIN_RCVBUF = 2304;

class socket : public file {
 public:
  socket(kernel& k, std::uint32_t name, int f_flags, int family, int type);
  socket* as_socket() override { return this; }

  // Linux sock_read_iter / sock_write_iter: read and write are recvmsg and sendmsg with no flags.
  long read(void* buf, std::size_t len) override { return recvmsg(buf, len, 0); }
  long write(const void* buf, std::size_t len) override { return sendmsg(buf, len, 0); }

  // --- proto_ops ---
  virtual int bind(const SockAddr&) { return -E::OPNOTSUPP; }
  virtual int listen(int) { return -E::OPNOTSUPP; }
  // Dequeues one connection as a new socket file (not yet in the fd table).
  virtual int accept(file_ref*, SockAddr*, int) { return -E::OPNOTSUPP; }
  virtual int connect(const SockAddr&) { return -E::OPNOTSUPP; }
  virtual long sendmsg(const void* buf, std::size_t len, int flags) = 0;
  virtual long recvmsg(void* buf, std::size_t len, int flags) = 0;
  virtual int shutdown(int how) = 0;
  virtual int getname(SockAddr* addr, bool peer) = 0;
  // Protocol-level options (level != SOL_SOCKET); Linux: sock->ops->setsockopt or -EOPNOTSUPP.
  virtual int getsockopt_proto(int, int, int*) { return -E::OPNOTSUPP; }
  virtual int setsockopt_proto(int, int, int) { return -E::OPNOTSUPP; }
  // Hook for families that react to a buffer size change (wake writers, reopen a window).
  virtual void buffer_sizes_changed() {}
  virtual bool listening() const { return false; }

  // Linux sock_getsockopt / sock_setsockopt for SOL_SOCKET.
  int getsockopt_socket(int name, int* value);
  int setsockopt_socket(int name, int value);
  int set_linger(bool on, int linger_seconds);

  // Linux sock_error: returns -sk_err and clears it.
  int sock_error();
  // Linux sock_rcvlowat: how many bytes a read waits for.
  std::size_t sock_rcvlowat(bool waitall, std::size_t len) const;
  // MSG_DONTWAIT or O_NONBLOCK (Linux sock_rcvtimeo/sock_sndtimeo returning 0).
  bool nonblocking_for(int flags) const { return nonblocking() || (flags & MSG::DONTWAIT) != 0; }

  const int family;
  const int type;
  wait_queue_head wq;  // Linux sk->sk_wq->wait (sk_sleep): every reader, writer, poller of this socket
  int sk_err = 0;
  int sk_shutdown = 0;
  int sk_sndbuf;
  int sk_rcvbuf;
  int sk_rcvlowat = 1;
  bool sk_reuse = false;
  bool sk_keepalive = false;
  bool linger_on = false;
  int linger_seconds = 0;
};

}  // namespace iosim::kernel
