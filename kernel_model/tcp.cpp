// kernel_model/tcp.cpp — the TCP socket calls (Linux inet_stream_ops: inet_bind, inet_listen, inet_accept,
// inet_stream_connect, tcp_sendmsg, tcp_recvmsg, inet_shutdown, tcp_poll, tcp_close).
#include "kernel_model/tcp.hpp"

#include <fmt/format.h>

#include "iosim/assert.hpp"
#include "kernel_model/kernel.hpp"
#include "kernel_model/poll.hpp"

namespace iosim::kernel {

const char* tcp_state_name(tcp_state state) {
  static constexpr const char* names[] = {"?",         "ESTABLISHED", "SYN_SENT",   "SYN_RECV",
                                          "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT",  "CLOSE",
                                          "CLOSE_WAIT", "LAST_ACK",   "LISTEN",     "CLOSING"};
  return state <= TCP_CLOSING ? names[state] : "?";
}

tcp_sock::tcp_sock(kernel& k_, std::uint32_t name_) : sock(k_, AF::INET, SOCK::STREAM, name_) {
  sk_sndbuf = k.config().tcp_wmem_default_bytes;
  sk_rcvbuf = k.config().tcp_rmem_default_bytes;
}

tcp_sock::~tcp_sock() = default;

bool tcp_sock::stream_writeable() const {
  const std::size_t queued = write_queue.size();
  const std::size_t space = queued >= send_capacity() ? 0 : send_capacity() - queued;
  return space >= queued / 2;
}

tcp_socket::tcp_socket(kernel& k_, int f_flags_, std::shared_ptr<tcp_sock> sk_)
    : socket(k_, sk_->name, f_flags_, *sk_), tcp(std::move(sk_)) {}

__poll_t tcp_socket::poll(poll_table* pt) {
  // Linux tcp_poll, bit for bit.
  poll_wait(this, &tcp->wq, pt);
  const tcp_sock& tp = *tcp;
  if (tp.state == TCP_LISTEN) return tp.accept_queue.empty() ? 0 : (POLL::IN | POLL::RDNORM);  // inet_csk_listen_poll
  __poll_t mask = 0;
  if (tp.sk_shutdown == SHUTDOWN_MASK || tp.state == TCP_CLOSE) mask |= POLL::HUP;
  if (tp.sk_shutdown & RCV_SHUTDOWN) mask |= POLL::IN | POLL::RDNORM | POLL::RDHUP;
  if (tp.state != TCP_SYN_SENT && tp.state != TCP_SYN_RECV) {
    const std::size_t target = tp.sock_rcvlowat(false, INT32_MAX);
    if (!tp.receive_queue.empty() && tp.receive_queue.size() >= target) mask |= POLL::IN | POLL::RDNORM;
    if (!(tp.sk_shutdown & SEND_SHUTDOWN)) {
      if (tp.stream_writeable()) {
        mask |= POLL::OUT | POLL::WRNORM;
      } else {
        tcp->nospace = true;  // set_bit(SOCK_NOSPACE): the next ACK that frees room wakes this poller
      }
    } else {
      mask |= POLL::OUT | POLL::WRNORM;
    }
  }
  if (tp.sk_err) mask |= POLL::ERR;
  return mask;
}

int tcp_socket::bind(const SockAddr& addr) {
  // Linux __inet_bind.
  if (addr.ip != any_ip && (addr.ip >> 24) != 127) return -E::ADDRNOTAVAIL;
  if (tcp->state != TCP_CLOSE || tcp->bound) return -E::INVAL;
  const int error = k().net().get_port(*tcp, addr);
  if (error < 0) return error;
  tcp->user_bound = true;
  return 0;
}

int tcp_socket::listen(int backlog) {
  // Linux inet_listen: only an unconnected stream socket in CLOSE (or LISTEN, to change the backlog).
  if (tcp->connecting || (tcp->state != TCP_CLOSE && tcp->state != TCP_LISTEN)) return -E::INVAL;
  // (unsigned)backlog > somaxconn → somaxconn: a negative backlog means "as many as allowed".
  const auto cap = static_cast<unsigned>(k().config().somaxconn);
  tcp->max_ack_backlog = static_cast<int>(static_cast<unsigned>(backlog) > cap ? cap : static_cast<unsigned>(backlog));
  if (tcp->state == TCP_LISTEN) return 0;
  // inet_csk_listen_start re-checks the port: two SO_REUSEADDR sockets may share a port, not two listeners.
  const int error = k().net().get_port(*tcp, tcp->bound ? tcp->local : SockAddr{any_ip, 0});
  if (error < 0) return error;
  k().net().set_state(*tcp, TCP_LISTEN);
  return 0;
}

int tcp_socket::accept(file_ref* accepted, SockAddr* peer, int flags) {
  // Linux inet_csk_accept: exclusive waiters, so one new connection wakes one accepting thread.
  if (tcp->state != TCP_LISTEN) return -E::INVAL;
  if (tcp->accept_queue.empty()) {
    if (nonblocking()) return -E::AGAIN;
    const int waited = k().wait_event(tcp->wq, -1, true,
                                      [&] { return !tcp->accept_queue.empty() || tcp->state != TCP_LISTEN; });
    if (waited < 0) return waited;
    if (tcp->state != TCP_LISTEN) return -E::INVAL;
  }
  std::shared_ptr<tcp_sock> child = std::move(tcp->accept_queue.front());
  tcp->accept_queue.pop_front();
  child->listener.reset();
  const int accepted_flags = O::RDWR | ((flags & SOCK::NONBLOCK) ? O::NONBLOCK : 0);
  if (peer) *peer = child->remote;
  const std::shared_ptr<tcp_sock> client = child->peer.lock();
  k().trace_event(k().net().name_accept(), child->name, client ? client->name : 0);
  *accepted = make_file<tcp_socket>(k(), accepted_flags, std::move(child));
  return 0;
}

int tcp_socket::wait_for_connect(std::int64_t deadline_ns) {
  // Linux inet_wait_for_connect: sleep until the handshake leaves SYN_SENT / SYN_RECV.
  return k().wait_event(tcp->wq, deadline_ns, false,
                        [&] { return tcp->state != TCP_SYN_SENT && tcp->state != TCP_SYN_RECV; });
}

int tcp_socket::connect(const SockAddr& addr) {
  // Linux __inet_stream_connect, with the socket lock held across tcp_v4_connect (see release_sock).
  loopback_net& net = k().net();
  int error = 0;
  if (tcp->connecting) {
    error = -E::ALREADY;  // SS_CONNECTING: a second call reports progress, or the outcome below
  } else {
    if (tcp->connected() || tcp->state == TCP_LISTEN || tcp->state != TCP_CLOSE) return -E::ISCONN;
    tcp->owned_by_user = true;
    error = net.connect(*tcp, addr);
    if (error < 0) {
      net.release_sock(*tcp);
      return error;
    }
    tcp->connecting = true;
    error = -E::INPROGRESS;
  }
  if (tcp->state == TCP_SYN_SENT || tcp->state == TCP_SYN_RECV) {
    if (nonblocking()) {
      net.release_sock(*tcp);
      return error;
    }
    net.release_sock(*tcp);
    const int waited = wait_for_connect(-1);
    if (waited < 0) return waited;
  }
  net.release_sock(*tcp);
  if (tcp->state == TCP_CLOSE) {  // refused, reset or timed out: the sock_error path
    const int sk_error = tcp->sock_error();
    tcp->connecting = false;
    net.tcp_disconnect(*tcp);  // sk_prot->disconnect: poll shows OUT|HUP, no IN/RDHUP; recv is ENOTCONN
    return sk_error ? sk_error : -E::CONNABORTED;
  }
  tcp->connecting = false;
  return 0;
}

long tcp_socket::sendmsg(const void* buf, std::size_t len, int flags) {
  // Linux tcp_sendmsg_locked: wait for the connection, then copy into the write queue as space allows.
  const bool nonblock = nonblocking_for(flags);
  loopback_net& net = k().net();
  int error = 0;
  std::size_t copied = 0;
  if (!tcp->connected()) {
    // sk_stream_wait_connect
    if (tcp->sk_err) return tcp->sock_error();
    if (tcp->state != TCP_SYN_SENT && tcp->state != TCP_SYN_RECV) {
      error = -E::PIPE;
    } else if (nonblock) {
      return -E::AGAIN;
    } else {
      const int waited = wait_for_connect(-1);
      if (waited < 0) return waited;
      if (!tcp->connected()) return tcp->sk_err ? tcp->sock_error() : -E::PIPE;
    }
  }
  const auto* bytes = static_cast<const char*>(buf);
  while (error == 0 && copied < len) {
    if (tcp->sk_err || (tcp->sk_shutdown & SEND_SHUTDOWN)) {
      error = -E::PIPE;
      break;
    }
    if (!tcp->stream_memory_free()) {  // wait_for_space: set_bit(SOCK_NOSPACE), then sk_stream_wait_memory
      tcp->nospace = true;
      if (nonblock) {
        error = -E::AGAIN;
        break;
      }
      const int waited = k().wait_event(tcp->wq, -1, false, [&] {
        return tcp->stream_memory_free() || tcp->sk_err || (tcp->sk_shutdown & SEND_SHUTDOWN);
      });
      if (waited < 0) error = waited;
      continue;
    }
    const std::size_t chunk = std::min(len - copied, tcp->send_capacity() - tcp->write_queue.size());
    tcp->write_queue.push(bytes + copied, chunk);
    k().trace_event(net.name_sendmsg(), tcp->name, static_cast<std::int64_t>(tcp->write_seq),
                    static_cast<std::int64_t>(chunk));
    tcp->write_seq += chunk;
    copied += chunk;
    net.tcp_push(*tcp);
  }
  if (copied > 0) net.trace_queues(*tcp);
  if (copied > 0) return static_cast<long>(copied);
  // Linux sk_stream_error: a pending error beats EPIPE; EPIPE raises SIGPIPE unless MSG_NOSIGNAL.
  if (error == -E::PIPE) {
    const int pending = tcp->sock_error();
    if (pending) return pending;
    if (!(flags & MSG::NOSIGNAL)) k().send_sigpipe();
  }
  return error;
}

long tcp_socket::recv_copy(void* buf, std::size_t len, int flags, std::size_t* copied) {
  const bool peek = (flags & MSG::PEEK) != 0;
  const std::size_t offset = peek ? *copied : 0;
  const std::size_t n = tcp->receive_queue.peek(static_cast<char*>(buf) + *copied, len - *copied, offset);
  if (!peek && n > 0) {
    tcp->receive_queue.pop(n);
    k().net().trace_queues(*tcp);
    k().trace_event(k().net().name_recvmsg(), tcp->name, static_cast<std::int64_t>(tcp->copied_seq),
                    static_cast<std::int64_t>(n));
    tcp->copied_seq += n;
  }
  *copied += n;
  return static_cast<long>(n);
}

long tcp_socket::recvmsg(void* buf, std::size_t len, int flags) {
  // Linux tcp_recvmsg_locked: copy what is queued; stop at the target (SO_RCVLOWAT / MSG_WAITALL); when
  // nothing was copied, report in this order: FIN seen (0), pending error, shut down (0), never connected
  // (ENOTCONN), non-blocking (EAGAIN); else sleep.
  if (tcp->state == TCP_LISTEN) return -E::NOTCONN;
  const bool nonblock = nonblocking_for(flags);
  const std::size_t target = tcp->sock_rcvlowat((flags & MSG::WAITALL) != 0, len);
  std::size_t copied = 0;
  long result = 0;
  std::size_t consumed = 0;
  // A do-while, as Linux's loop: recv(len 0) still reports EAGAIN / ENOTCONN / an error on an empty queue,
  // and returns 0 at once when data is queued (found_ok_skb copies 0 bytes).
  do {
    const bool data_queued = tcp->receive_queue.size() > ((flags & MSG::PEEK) ? copied : 0);
    consumed += static_cast<std::size_t>(recv_copy(buf, len, flags, &copied));
    if (copied >= target || (data_queued && copied == len)) break;
    if (copied) {
      if (nonblock || tcp->sk_err || tcp->state == TCP_CLOSE || (tcp->sk_shutdown & RCV_SHUTDOWN)) break;
    } else {
      if (tcp->done) {
        // End of stream: a zero-length tcp.recvmsg at the FIN's offset pairs this recv with the peer's FIN.
        k().trace_event(k().net().name_recvmsg(), tcp->name, static_cast<std::int64_t>(tcp->copied_seq), 0);
        break;
      }
      if (tcp->sk_err) {
        result = tcp->sock_error();
        break;
      }
      if (tcp->sk_shutdown & RCV_SHUTDOWN) break;
      if (tcp->state == TCP_CLOSE) {
        result = -E::NOTCONN;
        break;
      }
      if (nonblock) {
        result = -E::AGAIN;
        break;
      }
    }
    // tcp_cleanup_rbuf before sk_wait_data: advertise the window this call's copies freed, or a sender
    // blocked on a full window and this reader waiting for more (MSG_WAITALL, SO_RCVLOWAT) sleep forever.
    if (consumed > 0 && tcp->state != TCP_CLOSE) k().net().window_update(*tcp);
    consumed = 0;
    const std::size_t seen = (flags & MSG::PEEK) ? copied : 0;
    const int waited = k().wait_event(tcp->wq, -1, false, [&] {
      return tcp->receive_queue.size() > seen || tcp->sk_err || (tcp->sk_shutdown & RCV_SHUTDOWN) ||
             tcp->state == TCP_CLOSE || tcp->done;
    });
    if (waited < 0) {
      if (!copied) result = waited;
      break;
    }
  } while (copied < len);
  if (consumed > 0 && tcp->state != TCP_CLOSE) k().net().window_update(*tcp);  // tcp_cleanup_rbuf
  return copied > 0 ? static_cast<long>(copied) : result;
}

int tcp_socket::shutdown(int how) {
  // Linux inet_shutdown + tcp_shutdown.
  if (how < SHUT::RD || how > SHUT::RDWR) return -E::INVAL;
  const int mode = how + 1;  // SHUT_RD → RCV_SHUTDOWN, SHUT_WR → SEND_SHUTDOWN, SHUT_RDWR → both
  loopback_net& net = k().net();
  int error = 0;
  switch (tcp->state) {
    case TCP_CLOSE:
      error = -E::NOTCONN;
      tcp->sk_shutdown |= mode;  // Linux sets the bits anyway, so pollers see EPOLLHUP
      break;
    case TCP_LISTEN:
      if (!(mode & RCV_SHUTDOWN)) break;
      [[fallthrough]];
    case TCP_SYN_SENT:
      // tcp_disconnect: a listener drops its queue (inet_csk_listen_stop), a connecting socket gives up with
      // ECONNRESET; both go to CLOSE.
      for (auto& child : tcp->accept_queue) {
        child->dead = true;
        net.send_active_reset(*child);
      }
      tcp->accept_queue.clear();
      net.tcp_disconnect(*tcp);
      tcp->connecting = false;
      break;
    default:
      tcp->sk_shutdown |= mode;
      if ((mode & SEND_SHUTDOWN) && !tcp->fin_queued) {
        if (tcp->state == TCP_ESTABLISHED || tcp->state == TCP_SYN_RECV) net.set_state(*tcp, TCP_FIN_WAIT1);
        if (tcp->state == TCP_CLOSE_WAIT) net.set_state(*tcp, TCP_LAST_ACK);
        tcp->fin_queued = true;  // tcp_send_fin: after the queued data
        k().trace_event(net.name_sendmsg(), tcp->name, static_cast<std::int64_t>(tcp->write_seq), 0);  // the FIN
        net.tcp_push(*tcp);
      }
      break;
  }
  __wake_up(k().runtime(), tcp->wq, 1, 0, nullptr);  // sk_state_change
  return error;
}

int tcp_socket::getname(SockAddr* addr, bool peer) {
  // Linux inet_getname: the peer only while connected (not CLOSE or SYN_SENT).
  if (peer) {
    if (tcp->remote.port == 0 || tcp->state == TCP_CLOSE || tcp->state == TCP_SYN_SENT) return -E::NOTCONN;
    *addr = tcp->remote;
    return 0;
  }
  *addr = tcp->bound ? tcp->local : SockAddr{};
  return 0;
}

int tcp_socket::getsockopt_proto(int level, int name, int* value) {
  if (level != IPPROTO::TCP) return -E::NOPROTOOPT;
  if (name != TCP::NODELAY) return -E::NOPROTOOPT;
  *value = tcp->nodelay ? 1 : 0;
  return 0;
}

int tcp_socket::setsockopt_proto(int level, int name, int value) {
  if (level != IPPROTO::TCP) return -E::NOPROTOOPT;
  if (name != TCP::NODELAY) return -E::NOPROTOOPT;
  tcp->nodelay = value != 0;
  return 0;
}

void tcp_socket::buffer_sizes_changed() {
  if (tcp->stream_writeable()) wake_up_poll(k().runtime(), tcp->wq, POLL::OUT | POLL::WRNORM | POLL::WRBAND);
  if (tcp->connected()) k().net().tcp_push(*tcp);
}

void tcp_socket::release() {
  // Linux tcp_close.
  if (k().tearing_down()) return;
  // IRP_MJ_CLEANUP: the requests still pending on the handle complete with STATUS_CANCELLED first.
  if (afd_) afd_cancel(*this, nullptr, win32::STATUS::CANCELLED, cancel_order::issue);
  loopback_net& net = k().net();
  tcp_sock& tp = *tcp;
  tp.sk_shutdown = SHUTDOWN_MASK;
  if (tp.state == TCP_LISTEN) {
    for (auto& child : tp.accept_queue) {  // inet_csk_listen_stop: unaccepted connections are reset
      child->dead = true;
      net.send_active_reset(*child);
    }
    tp.accept_queue.clear();
    net.set_state(tp, TCP_CLOSE);
  } else if (tp.state != TCP_CLOSE) {
    const bool data_was_unread = !tp.receive_queue.empty();
    tp.receive_queue.clear();
    if (data_was_unread) net.trace_queues(tp);
    if (data_was_unread || (tp.linger_on && tp.linger_seconds == 0)) {
      // Unread data, or SO_LINGER {1, 0}: abort with a RST instead of a FIN.
      net.send_active_reset(tp);
    } else if (!tp.fin_queued) {
      if (tp.state == TCP_ESTABLISHED || tp.state == TCP_SYN_RECV) net.set_state(tp, TCP_FIN_WAIT1);
      else if (tp.state == TCP_CLOSE_WAIT) net.set_state(tp, TCP_LAST_ACK);
      else if (tp.state == TCP_SYN_SENT) net.tcp_done(tp);
      if (tp.state != TCP_CLOSE) {
        tp.fin_queued = true;
        k().trace_event(net.name_sendmsg(), tp.name, static_cast<std::int64_t>(tp.write_seq), 0);  // the FIN
        net.tcp_push(tp);
      }
    }
    if (tp.linger_on && tp.linger_seconds > 0 && !k().tearing_down() && k().runtime().current() != sim::no_task) {
      // sk_stream_wait_close: block until the FIN is acknowledged or the linger time passes.
      const std::int64_t deadline = k().runtime().now_ns() + std::int64_t{tp.linger_seconds} * 1'000'000'000;
      k().wait_event(tp.wq, deadline, false, [&] {
        return tp.state != TCP_FIN_WAIT1 && tp.state != TCP_CLOSING && tp.state != TCP_LAST_ACK;
      });
    }
  }
  tp.dead = true;  // sock_orphan
  net.maybe_destroy(tp);
}

}  // namespace iosim::kernel
