// kernel_model/socket.hpp — Linux's split between struct socket (the file-facing handle, proto_ops) and
// struct sock (the protocol state that may outlive the file: orphaned TCP, unaccepted children).
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

// The generic part of Linux struct sock. Protocols derive from it (tcp_sock, unix_sock).
struct sock {
  sock(kernel& k, int family, int type, std::uint32_t name);
  virtual ~sock() = default;
  sock(const sock&) = delete;
  sock& operator=(const sock&) = delete;

  // Linux sock_error: returns -sk_err and clears it.
  int sock_error();
  // Linux sock_rcvlowat: how many bytes a read waits for (MSG_WAITALL: all of len; else SO_RCVLOWAT).
  std::size_t sock_rcvlowat(bool waitall, std::size_t len) const;

  kernel& k;
  const int family;
  const int type;
  std::uint32_t name;      // interned trace name, e.g. "tcp#4"
  wait_queue_head wq;      // Linux sk->sk_wq->wait (sk_sleep): readers, writers and pollers of this sock
  int sk_err = 0;          // pending error, reported once (SO_ERROR, the next call)
  int sk_shutdown = 0;     // RCV_SHUTDOWN | SEND_SHUTDOWN
  int sk_sndbuf = 0;       // bytes, as getsockopt(SO_SNDBUF) reports them (Linux doubles what is set)
  int sk_rcvbuf = 0;
  int sk_rcvlowat = 1;
  bool sk_reuse = false;   // SO_REUSEADDR
  bool sk_keepalive = false;
  bool linger_on = false;  // SO_LINGER
  int linger_seconds = 0;
};

class socket : public file {
 public:
  socket(kernel& k, std::uint32_t name, int f_flags, sock& sk);
  socket* as_socket() override { return this; }

  // Linux sock_read_iter / sock_write_iter: read and write are recvmsg and sendmsg with no flags, except
  // that a zero-length read returns 0 at once (sock_read_iter: "if (!iov_iter_count(to)) return 0").
  long read(void* buf, std::size_t len) override { return len == 0 ? 0 : recvmsg(buf, len, 0); }
  long write(const void* buf, std::size_t len) override { return sendmsg(buf, len, 0); }

  // --- proto_ops; the defaults are Linux's sock_no_* results ---
  virtual int bind(const SockAddr&) { return -E::OPNOTSUPP; }
  virtual int listen(int) { return -E::OPNOTSUPP; }
  // Dequeues one connection as a new socket file (the caller installs the fd).
  virtual int accept(file_ref*, SockAddr*, int) { return -E::OPNOTSUPP; }
  virtual int connect(const SockAddr&) { return -E::OPNOTSUPP; }
  virtual long sendmsg(const void* buf, std::size_t len, int flags) = 0;
  virtual long recvmsg(void* buf, std::size_t len, int flags) = 0;
  virtual int shutdown(int how) = 0;
  virtual int getname(SockAddr* addr, bool peer) = 0;
  // Protocol-level options (level != SOL_SOCKET); Linux: sock->ops->setsockopt, or -EOPNOTSUPP without one.
  virtual int getsockopt_proto(int, int, int*) { return -E::OPNOTSUPP; }
  virtual int setsockopt_proto(int, int, int) { return -E::OPNOTSUPP; }
  // Called after SO_SNDBUF / SO_RCVBUF / SO_RCVLOWAT change, so writers or readers can be woken.
  virtual void buffer_sizes_changed() {}
  virtual bool listening() const { return false; }

  // Linux sock_getsockopt / sock_setsockopt for SOL_SOCKET.
  int getsockopt_socket(int name, int* value);
  int setsockopt_socket(int name, int value);
  int set_linger(bool on, int linger_seconds);

  // MSG_DONTWAIT or O_NONBLOCK (Linux sock_rcvtimeo / sock_sndtimeo returning 0).
  bool nonblocking_for(int flags) const { return nonblocking() || (flags & MSG::DONTWAIT) != 0; }

  sock& sk;  // Linux sock->sk

 protected:
  void rename_derived(std::string_view name) override;
};

}  // namespace iosim::kernel
