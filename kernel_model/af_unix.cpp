// kernel_model/af_unix.cpp — AF_UNIX stream socketpairs, rule for rule after Linux net/unix/af_unix.c.
// Flow control is the sender's: sk_wmem_alloc against sk_sndbuf; the receiver's sk_rcvbuf plays no part.
#include "kernel_model/af_unix.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "iosim/assert.hpp"
#include "kernel_model/kernel.hpp"
#include "kernel_model/poll.hpp"

namespace iosim::kernel {
namespace {

// A sock whose file is gone has no wait queue any more (sock_orphan clears sk->sk_wq), so wake-ups
// addressed to it reach nobody (Linux skwq_has_sleeper on a null sk_wq).
bool skwq_has_sleeper(const unix_sock& sk) {
  return !sk.dead && sk.wq.active();
}

// Linux sock_def_readable (sk->sk_data_ready): one exclusive waiter and every poller, with this key.
void sock_def_readable(unix_sock& sk) {
  if (!skwq_has_sleeper(sk)) return;
  wake_up_poll(sk.k.runtime(), sk.wq, POLL::IN | POLL::PRI | POLL::RDNORM | POLL::RDBAND);
}

// Linux sock_def_wakeup (sk->sk_state_change): wake_up_interruptible_all, no key, so every poll entry
// fires whatever events it asked for.
void sock_def_wakeup(unix_sock& sk) {
  if (!skwq_has_sleeper(sk)) return;
  __wake_up(sk.k.runtime(), sk.wq, 1, 0, nullptr);
}

// Linux unix_writable: a quarter of sk_sndbuf in flight at most, counting the refcount's initial 1. It does
// not look at the peer at all, so a socket whose peer is gone is writable (the peer's release freed our
// skbs) and send reports EPIPE.
bool unix_writable(const unix_sock& sk) {
  return sk.sk_state != TCP_LISTEN && ((sk.wmem_alloc + 1) << 2) <= static_cast<std::size_t>(sk.sk_sndbuf);
}

// Linux unix_write_space (sk->sk_write_space), run each time one of our skbs is freed.
void unix_write_space(unix_sock& sk) {
  if (!unix_writable(sk) || !skwq_has_sleeper(sk)) return;
  wake_up_poll(sk.k.runtime(), sk.wq, POLL::OUT | POLL::WRNORM | POLL::WRBAND);
}

// Linux sock_wfree, the destructor of a consumed or purged skb: return its bytes to the sender.
void sock_wfree(unix_skb& skb) {
  unix_sock& owner = *skb.owner;
  IOSIM_ASSERT(owner.wmem_alloc >= skb.truesize, "sk_wmem_alloc underflow");
  owner.wmem_alloc -= skb.truesize;
  unix_write_space(owner);
}

// Linux kmalloc_size_roundup for the kmalloc-* caches an skb head can come from (up to one page).
std::size_t kmalloc_size_roundup(std::size_t size) {
  static constexpr std::size_t caches[] = {8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096};
  for (const std::size_t cache : caches)
    if (size <= cache) return cache;
  IOSIM_ASSERT(false, "skb head larger than a page");
  return size;
}

// Linux SKB_DATA_ALIGN (to SMP_CACHE_BYTES, 64 on x86-64) and PAGE_ALIGN.
std::size_t skb_data_align(std::size_t size) {
  return (size + 63) & ~std::size_t{63};
}
std::size_t page_align(std::size_t size) {
  return (size + skb_page_bytes - 1) & ~(skb_page_bytes - 1);
}

// The payload of the next skb of unix_stream_sendmsg: "keep two messages in the pipe so it schedules
// better" ((sk_sndbuf >> 1) - 64), and no more than one head page plus UNIX_SKB_FRAGS_SZ of fragments.
std::size_t unix_stream_skb_bytes(const unix_sock& sk, std::size_t remaining) {
  const auto half = static_cast<std::size_t>(std::max((sk.sk_sndbuf >> 1) - 64, 0));
  return std::min({remaining, half, unix_skb_payload_max_bytes});
}

// Linux unix_release_sock for a stream socket: we are closed for good; the peer can neither send to us
// nor expect more from us (SHUTDOWN_MASK), and learns ECONNRESET if we leave its data unread.
void unix_release_sock(unix_sock& sk) {
  sk.dead = true;  // sock_orphan
  sk.sk_shutdown = SHUTDOWN_MASK;
  sk.sk_state = TCP_CLOSE;
  const std::shared_ptr<unix_sock> skpair = std::move(sk.peer);
  if (sk.k.tearing_down()) {
    sk.receive_queue.clear();  // break the peer <-> skb owner cycles; nobody is left to wake or trace
    return;
  }
  const bool reset_peer = skpair && !sk.receive_queue.empty();
  // unix.release: unread bytes thrown away, and whether the peer was told ECONNRESET.
  sk.k.trace_event(sk.names.release, sk.name, static_cast<std::int64_t>(sk.unix_inq_len()), reset_peer);
  if (skpair) {
    skpair->sk_shutdown = SHUTDOWN_MASK;
    if (reset_peer) skpair->sk_err = E::CONNRESET;
    sock_def_wakeup(*skpair);
  }
  // Throw out the unread skbs; each one freed gives its sender (the peer) write space back.
  while (!sk.receive_queue.empty()) {
    unix_skb skb = std::move(sk.receive_queue.front());
    sk.receive_queue.pop_front();
    sock_wfree(skb);
  }
}

}  // namespace

std::size_t unix_skb_truesize(std::size_t size) {
  // unix_stream_sendmsg's split: what does not fit a one-page head goes to page fragments, page-aligned.
  const std::size_t over_head = size > unix_skb_max_head_bytes ? size - unix_skb_max_head_bytes : 0;
  const std::size_t data_len = std::min(size, page_align(over_head));
  const std::size_t head = kmalloc_size_roundup(skb_data_align(size - data_len) + skb_shared_info_bytes);
  return head + sk_buff_bytes + page_align(data_len);  // __alloc_skb, then alloc_skb_with_frags
}

unix_sock::unix_sock(kernel& k_, std::uint32_t name_) : sock(k_, AF::UNIX, SOCK::STREAM, name_) {
  // Linux sock_init_data: net.core.wmem_default / rmem_default.
  sk_sndbuf = k.config().wmem_default_bytes;
  sk_rcvbuf = k.config().rmem_default_bytes;
  names.send = k.intern("unix.send");
  names.recv = k.intern("unix.recv");
  names.shutdown = k.intern("unix.shutdown");
  names.release = k.intern("unix.release");
}

std::size_t unix_sock::unix_inq_len() const {
  std::size_t amount = 0;
  for (const unix_skb& skb : receive_queue) amount += skb.unix_skb_len();
  return amount;
}

unix_stream_socket::unix_stream_socket(kernel& kern, int flags, std::shared_ptr<unix_sock> usk)
    : socket(kern, usk->name, flags, *usk), unix_sk(std::move(usk)) {}

__poll_t unix_stream_socket::poll(poll_table* pt) {
  // Linux unix_poll, bit for bit (no OOB, no BPF sk_is_readable).
  poll_wait(this, &unix_sk->wq, pt);  // sock_poll_wait
  const unix_sock& u = *unix_sk;
  __poll_t mask = 0;
  if (u.sk_err) mask |= POLL::ERR;
  if (u.sk_shutdown == SHUTDOWN_MASK) mask |= POLL::HUP;
  if (u.sk_shutdown & RCV_SHUTDOWN) mask |= POLL::RDHUP | POLL::IN | POLL::RDNORM;
  if (!u.receive_queue.empty()) mask |= POLL::IN | POLL::RDNORM;
  if (u.sk_state == TCP_CLOSE) mask |= POLL::HUP;  // connection-based: terminated
  if (unix_writable(u)) mask |= POLL::OUT | POLL::WRNORM | POLL::WRBAND;
  return mask;
}

void unix_stream_socket::release() {
  unix_release_sock(*unix_sk);
}

// A socketpair end is connected and unbound. iosim's SockAddr is an AF_INET address, which unix_bind and
// unix_stream_connect reject in unix_validate_addr (sun_family != AF_UNIX) before anything else.
int unix_stream_socket::bind(const SockAddr&) {
  return -E::INVAL;
}
int unix_stream_socket::connect(const SockAddr&) {
  return -E::INVAL;
}
// Linux unix_listen: "no listens on an unbound socket".
int unix_stream_socket::listen(int) {
  return -E::INVAL;
}
// Linux unix_accept: the socket is not in TCP_LISTEN.
int unix_stream_socket::accept(file_ref*, SockAddr*, int) {
  return -E::INVAL;
}

int unix_stream_socket::getname(SockAddr* addr, bool peer) {
  // Linux unix_getname: an unbound socket (both ends of a socketpair) has the empty name, AF_UNIX with no
  // sun_path. iosim's SockAddr cannot carry a sun_path, so the empty name is the zero SockAddr.
  if (peer && !unix_sk->peer) return -E::NOTCONN;
  *addr = SockAddr{};
  return 0;
}

void unix_stream_socket::buffer_sizes_changed() {
  // Linux sk_setsockopt(SO_SNDBUF) calls sk->sk_write_space: a larger sk_sndbuf may let writers go on.
  unix_write_space(*unix_sk);
}

int unix_stream_socket::shutdown(int how) {
  // Linux unix_shutdown: SHUT_RD/WR/RDWR map to RCV/SEND/both; the peer gets the mirror image.
  if (how < SHUT::RD || how > SHUT::RDWR) return -E::INVAL;
  const int mode = how + 1;
  unix_sock& u = *unix_sk;
  u.sk_shutdown |= mode;
  const std::shared_ptr<unix_sock> other = u.peer;
  u.k.trace_event(u.names.shutdown, u.name, how, u.sk_shutdown);
  sock_def_wakeup(u);
  if (other) {
    int peer_mode = 0;
    if (mode & RCV_SHUTDOWN) peer_mode |= SEND_SHUTDOWN;
    if (mode & SEND_SHUTDOWN) peer_mode |= RCV_SHUTDOWN;
    other->sk_shutdown |= peer_mode;
    sock_def_wakeup(*other);
  }
  return 0;
}

int unix_stream_socket::sock_alloc_send_pskb(bool nonblock) {
  // Linux sock_alloc_send_pskb: a pending error first (and consumed), then SEND_SHUTDOWN, then room: an
  // skb may be allocated while sk_wmem_alloc < sk_sndbuf, whatever its size (so the total can overshoot).
  unix_sock& u = *unix_sk;
  for (;;) {
    if (const int error = u.sock_error()) return error;
    if (u.sk_shutdown & SEND_SHUTDOWN) return -E::PIPE;
    if (u.wmem_alloc < static_cast<std::size_t>(u.sk_sndbuf)) return 0;
    if (nonblock) return -E::AGAIN;
    if (k().runtime().killed()) return -E::INTR;  // signal_pending → sock_intr_errno
    // sock_wait_for_wmem: a plain (non-exclusive) wait on sk_sleep, woken by unix_write_space.
    k().wait_event(u.wq, -1, false, [&] {
      return u.wmem_alloc < static_cast<std::size_t>(u.sk_sndbuf) || (u.sk_shutdown & SEND_SHUTDOWN) ||
             u.sk_err != 0;
    });
  }
}

long unix_stream_socket::sendmsg(const void* buf, std::size_t len, int flags) {
  // Linux unix_stream_sendmsg (no MSG_OOB, SCM_RIGHTS or MSG_SPLICE_PAGES in iosim).
  unix_sock& u = *unix_sk;
  const std::shared_ptr<unix_sock> other = u.peer;
  if (!other) return -E::NOTCONN;
  if (u.sk_shutdown & SEND_SHUTDOWN) {
    if (!(flags & MSG::NOSIGNAL)) k().send_sigpipe();
    return -E::PIPE;
  }
  const auto* bytes = static_cast<const char*>(buf);
  std::size_t sent = 0;
  while (sent < len) {
    const std::size_t size = unix_stream_skb_bytes(u, len - sent);
    const int error = sock_alloc_send_pskb(nonblocking_for(flags));
    if (error < 0) return sent ? static_cast<long>(sent) : error;
    if (other->dead || (other->sk_shutdown & RCV_SHUTDOWN)) {
      // out_pipe: SIGPIPE only when nothing went through; a partial send reports its count.
      if (!sent && !(flags & MSG::NOSIGNAL)) k().send_sigpipe();
      return sent ? static_cast<long>(sent) : -E::PIPE;
    }
    unix_skb& skb = other->receive_queue.emplace_back();
    skb.owner = unix_sk;  // skb_set_owner_w
    skb.data.assign(bytes + sent, bytes + sent + size);
    skb.truesize = unix_skb_truesize(size);
    u.wmem_alloc += skb.truesize;
    k().trace_event(u.names.send, u.name, static_cast<std::int64_t>(size),
                    static_cast<std::int64_t>(u.wmem_alloc));
    sock_def_readable(*other);
    sent += size;
  }
  return static_cast<long>(sent);
}

std::size_t unix_stream_socket::unix_stream_peek(char* out, std::size_t len) const {
  // MSG_PEEK walks every queued skb from the head, copying what fits, and consumes nothing.
  std::size_t copied = 0;
  for (const unix_skb& skb : unix_sk->receive_queue) {
    const std::size_t chunk = std::min(skb.unix_skb_len(), len - copied);
    if (chunk > 0) std::memcpy(out + copied, skb.data.data() + skb.consumed, chunk);
    copied += chunk;
  }
  return copied;
}

std::size_t unix_stream_socket::unix_stream_consume(char* out, std::size_t len) {
  // Copies from the head skb and marks it consumed; a fully read skb is unlinked and freed, which gives the
  // sender its truesize back (sock_wfree). An skb is uncharged only as a whole, as in Linux.
  unix_skb& head = unix_sk->receive_queue.front();
  const std::size_t chunk = std::min(head.unix_skb_len(), len);
  if (chunk > 0) std::memcpy(out, head.data.data() + head.consumed, chunk);
  head.consumed += chunk;
  if (head.unix_skb_len() == 0) {
    unix_skb skb = std::move(head);
    unix_sk->receive_queue.pop_front();
    sock_wfree(skb);
  }
  return chunk;
}

long unix_stream_socket::unix_stream_read_generic(void* buf, std::size_t len, int flags) {
  // Linux unix_stream_read_generic: copy until `len`, stop early once `target` (sock_rcvlowat) bytes are in
  // and the queue is empty; report what was copied, else the error that stopped us.
  unix_sock& u = *unix_sk;
  if (u.sk_state != TCP_ESTABLISHED) return -E::INVAL;
  const std::size_t target = u.sock_rcvlowat((flags & MSG::WAITALL) != 0, len);
  const bool nonblock = nonblocking_for(flags);
  auto* out = static_cast<char*>(buf);
  std::size_t copied = 0;
  int error = 0;
  for (;;) {
    if (u.dead) {
      error = -E::CONNRESET;
      break;
    }
    if (u.receive_queue.empty()) {
      if (copied >= target) break;
      // "POSIX 1003.1g mandates this order": a pending error, then end of file, then EAGAIN or sleep.
      error = u.sock_error();
      if (error || (u.sk_shutdown & RCV_SHUTDOWN)) break;
      if (nonblock) {
        error = -E::AGAIN;
        break;
      }
      // unix_stream_data_wait: non-exclusive, until data, an error, RCV_SHUTDOWN or death.
      error = k().wait_event(u.wq, -1, false, [&] {
        return !u.receive_queue.empty() || u.sk_err != 0 || (u.sk_shutdown & RCV_SHUTDOWN) || u.dead;
      });
      if (error < 0) break;
      continue;  // Linux "goto redo": look at the queue again
    }
    if (flags & MSG::PEEK) {
      copied += unix_stream_peek(out + copied, len - copied);
      break;
    }
    const std::size_t before = u.receive_queue.size();
    copied += unix_stream_consume(out + copied, len - copied);
    if (u.receive_queue.size() == before || copied == len) break;  // head skb left partly read, or size 0
  }
  if (copied > 0)
    k().trace_event(u.names.recv, u.name, static_cast<std::int64_t>(copied),
                    static_cast<std::int64_t>(u.unix_inq_len()));
  return copied ? static_cast<long>(copied) : error;
}

long unix_stream_socket::recvmsg(void* buf, std::size_t len, int flags) {
  // Linux unix_stream_recvmsg → unix_stream_read_generic with the copy-to-user actor.
  return unix_stream_read_generic(buf, len, flags);
}

int unix_stream_socketpair(kernel& k, int type_flags, file_ref* first, file_ref* second) {
  // Linux __sys_socketpair: two unix_create1 socks joined by unix_socketpair, then sock_alloc_file with
  // O_RDWR | (SOCK_NONBLOCK → O_NONBLOCK).
  const std::uint32_t number = k.next_object_number();
  auto ska = std::make_shared<unix_sock>(k, k.intern(fmt::format("unix#{}a", number)));
  auto skb = std::make_shared<unix_sock>(k, k.intern(fmt::format("unix#{}b", number)));
  ska->peer = skb;  // sock_hold both ways: each keeps the other alive until its own release
  skb->peer = ska;
  ska->sk_state = TCP_ESTABLISHED;
  skb->sk_state = TCP_ESTABLISHED;
  const int f_flags = O::RDWR | ((type_flags & SOCK::NONBLOCK) ? O::NONBLOCK : 0);
  *first = make_file<unix_stream_socket>(k, f_flags, std::move(ska));
  *second = make_file<unix_stream_socket>(k, f_flags, std::move(skb));
  return 0;
}

}  // namespace iosim::kernel
