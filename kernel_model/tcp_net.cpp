// kernel_model/tcp_net.cpp — the loopback network: port table, handshake, segment delivery, FIN and RST.
// Segments from one socket arrive in order after config.latency_ns (inline when 0); ACKs travel instantly.
#include <fmt/format.h>

#include "iosim/assert.hpp"
#include "kernel_model/kernel.hpp"
#include "kernel_model/tcp.hpp"

namespace iosim::kernel {

struct loopback_net::segment {
  enum class kind : std::uint8_t { data, fin, rst } type;
  std::string bytes;
  std::int64_t sequence = 0;  // set by transmit
};

namespace {
// Linux sock_def_readable's key, and sk_stream_write_space's.
constexpr __poll_t readable_key = POLL::IN | POLL::PRI | POLL::RDNORM | POLL::RDBAND;
constexpr __poll_t writable_key = POLL::OUT | POLL::WRNORM | POLL::WRBAND;

bool is_loopback(std::uint32_t ip) { return (ip >> 24) == 127; }
bool addresses_overlap(std::uint32_t a, std::uint32_t b) { return a == any_ip || b == any_ip || a == b; }

// Linux sock_def_wakeup (sk_state_change): wake every waiter, no key.
void state_change(tcp_sock& sk) { __wake_up(sk.k.runtime(), sk.wq, 1, 0, nullptr); }
}  // namespace

loopback_net::loopback_net(kernel& k) : k_(k), next_ephemeral_(k.config().ephemeral_port_first) {
  name_fault_split_ = k.intern("segment_split");
  name_fault_reset_ = k.intern("connection_reset");
  name_syn_ = k.intern("tcp.syn");
  name_synack_ = k.intern("tcp.synack");
  name_data_ = k.intern("tcp.data");
  name_fin_ = k.intern("tcp.fin");
  name_rst_ = k.intern("tcp.rst");
  name_window_ = k.intern("tcp.window_update");
  name_state_ = k.intern("tcp.state");
  name_time_wait_ = k.intern("tcp.time_wait_expired");
  name_syn_retry_ = k.intern("tcp.syn_retransmit");
  name_listen_drop_ = k.intern("tcp.listen_overflow");
  name_deliver_ = k.intern("tcp.deliver");
  name_queues_ = k.intern("tcp.queues");
  name_sendmsg_ = k.intern("tcp.sendmsg");
  name_recvmsg_ = k.intern("tcp.recvmsg");
  name_accept_ = k.intern("tcp.accept");
}

void loopback_net::trace_queues(const tcp_sock& sk) {
  k_.trace_event(name_queues_, sk.name, static_cast<std::int64_t>(sk.receive_queue.size()),
                 static_cast<std::int64_t>(sk.write_queue.size()));
}

loopback_net::~loopback_net() = default;

std::shared_ptr<tcp_sock> loopback_net::create_sock() {
  const std::uint32_t number = k_.next_object_number();
  auto sk = std::make_shared<tcp_sock>(k_, k_.intern(fmt::format("tcp#{}", number)));
  sk->number = number;
  socks_.emplace(number, sk);
  return sk;
}

void loopback_net::after_latency(std::uint32_t purpose, std::function<void()> action) {
  if (k_.config().latency_ns == 0) {
    action();
    return;
  }
  sim::Runtime& runtime = k_.runtime();
  runtime.add_timer(runtime.now_ns() + k_.config().latency_ns, purpose, std::move(action));
}

// --- ports ---

bool loopback_net::port_conflict(const tcp_sock& sk, SockAddr addr) const {
  // Linux inet_csk_bind_conflict: another sock on the port conflicts unless both set SO_REUSEADDR and the
  // other is not listening (a TIME_WAIT sock keeps the reuse flag of the sock it replaced).
  const auto it = ports_.find(addr.port);
  if (it == ports_.end()) return false;
  for (const tcp_sock* other : it->second) {
    if (other == &sk || !addresses_overlap(other->local.ip, addr.ip)) continue;
    if (!(sk.sk_reuse && other->sk_reuse && other->state != TCP_LISTEN)) return true;
  }
  return false;
}

int loopback_net::pick_ephemeral_port(const tcp_sock& sk, SockAddr addr) {
  // Linux hashes a random offset into ip_local_port_range; iosim walks it in order, which is deterministic
  // and equally unpredictable to the application.
  const int first = k_.config().ephemeral_port_first;
  const int count = k_.config().ephemeral_port_last - first + 1;
  for (int tried = 0; tried < count; ++tried) {
    const int port = next_ephemeral_;
    next_ephemeral_ = next_ephemeral_ >= k_.config().ephemeral_port_last ? first : next_ephemeral_ + 1;
    addr.port = static_cast<std::uint16_t>(port);
    if (ports_.find(addr.port) == ports_.end() && !port_conflict(sk, addr)) return port;
  }
  return -E::ADDRINUSE;  // Linux inet_csk_get_port with the range exhausted (connect: -EADDRNOTAVAIL)
}

int loopback_net::get_port(tcp_sock& sk, SockAddr addr) {
  if (addr.port == 0) {
    const int port = pick_ephemeral_port(sk, addr);
    if (port < 0) return port;
    addr.port = static_cast<std::uint16_t>(port);
  } else if (port_conflict(sk, addr)) {
    return -E::ADDRINUSE;
  }
  if (sk.bound) unhash(sk);
  sk.local = addr;
  sk.bound = true;
  ports_[addr.port].push_back(&sk);
  return 0;
}

void loopback_net::unhash(tcp_sock& sk) {
  if (!sk.bound) return;
  const auto it = ports_.find(sk.local.port);
  if (it != ports_.end()) {
    std::erase(it->second, &sk);
    if (it->second.empty()) ports_.erase(it);
  }
  sk.bound = false;
}

tcp_sock* loopback_net::find_listener(SockAddr dst) {
  const auto it = ports_.find(dst.port);
  if (it == ports_.end()) return nullptr;
  for (tcp_sock* candidate : it->second) {
    if (candidate->state == TCP_LISTEN && addresses_overlap(candidate->local.ip, dst.ip)) return candidate;
  }
  return nullptr;
}

// --- state ---

void loopback_net::set_state(tcp_sock& sk, tcp_state state) {
  if (sk.state == state) return;
  k_.trace_event(name_state_, sk.name, sk.state, state);
  sk.state = state;
  // Linux tcp_set_state(TCP_CLOSE): an autobound port is released at once; a bind()-ed one stays until close.
  if (state == TCP_CLOSE && !sk.user_bound) unhash(sk);
}

void loopback_net::tcp_done(tcp_sock& sk) {
  k_.runtime().cancel_timer(sk.syn_timer);
  set_state(sk, TCP_CLOSE);
  sk.sk_shutdown = SHUTDOWN_MASK;
  if (!sk.dead) state_change(sk);
  maybe_destroy(sk);
}

void loopback_net::maybe_destroy(tcp_sock& sk) {
  if (!sk.dead || (sk.state != TCP_CLOSE && sk.state != TCP_LISTEN)) return;
  k_.runtime().cancel_timer(sk.time_wait_timer);
  unhash(sk);
  socks_.erase(sk.number);  // may delete sk: nothing may touch it after this
}

// --- transmit ---

void loopback_net::transmit(tcp_sock& from, segment seg) {
  const std::uint32_t what =
      seg.type == segment::kind::data ? name_data_ : (seg.type == segment::kind::fin ? name_fin_ : name_rst_);
  seg.sequence = ++segment_sequence_;
  k_.trace_event(what, from.name, static_cast<std::int64_t>(seg.bytes.size()), seg.sequence);
  std::weak_ptr<tcp_sock> to = from.peer;
  std::weak_ptr<tcp_sock> self = from.weak_from_this();
  auto arrive = [this, to, self, seg = std::move(seg)]() mutable { deliver(to, self, std::move(seg)); };
  const network_faults& faults = k_.config().faults;
  if (k_.config().latency_ns == 0 && faults.latency_jitter_ns == 0) {
    arrive();
    return;
  }
  // Jitter delays a segment, but a stream's segments still arrive in the order they were sent.
  sim::Runtime& runtime = k_.runtime();
  std::int64_t arrival = runtime.now_ns() + k_.config().latency_ns;
  if (faults.latency_jitter_ns > 0) arrival += static_cast<std::int64_t>(k_.fault_below(faults.latency_jitter_ns + 1));
  arrival = std::max(arrival, from.last_arrival_ns);
  from.last_arrival_ns = arrival;
  runtime.add_timer(arrival, what, std::move(arrive));
}

void loopback_net::tcp_push(tcp_sock& sk) {
  const auto peer = sk.peer.lock();
  const std::size_t mss = static_cast<std::size_t>(k_.config().tcp_mss_bytes);
  while (sk.snd_nxt < sk.write_queue.size()) {
    // The receive window the peer advertises: its free receive space minus what is already in flight.
    std::size_t window = mss;
    if (peer) {
      const std::size_t used = peer->receive_queue.size() + sk.snd_nxt;
      window = used >= peer->receive_capacity() ? 0 : peer->receive_capacity() - used;
    }
    std::size_t length = std::min({sk.write_queue.size() - sk.snd_nxt, mss, window});
    if (length == 0) break;  // zero window: window_update() resumes
    if (length > 1 && k_.fault(k_.config().faults.segment_split, name_fault_split_, sk.name)) {
      length = 1 + static_cast<std::size_t>(k_.fault_below(length));  // the rest goes in the next segment
    }
    segment seg{segment::kind::data, std::string(length, '\0')};
    sk.write_queue.peek(seg.bytes.data(), length, sk.snd_nxt);
    sk.snd_nxt += length;
    transmit(sk, std::move(seg));
  }
  if (sk.fin_queued && !sk.fin_sent && sk.snd_nxt == sk.write_queue.size()) {
    sk.fin_sent = true;
    transmit(sk, segment{segment::kind::fin, {}});
  }
}

void loopback_net::window_update(tcp_sock& receiver) {
  // Only a sender with bytes (or a FIN) waiting for window needs the update; any later push reads the
  // receiver's free space directly.
  const auto peer = receiver.peer.lock();
  if (!peer || (peer->snd_nxt >= peer->write_queue.size() && !(peer->fin_queued && !peer->fin_sent))) return;
  std::weak_ptr<tcp_sock> sender = peer;
  after_latency(name_window_, [this, sender] {
    if (const auto sk = sender.lock(); sk && sk->state != TCP_CLOSE) tcp_push(*sk);
  });
}

void loopback_net::send_active_reset(tcp_sock& sk) {
  if (!sk.peer.expired()) transmit(sk, segment{segment::kind::rst, {}});
  sk.write_queue.clear();
  sk.snd_nxt = 0;
  trace_queues(sk);
  sk.peer.reset();
  tcp_done(sk);
}

// --- receive ---

void loopback_net::deliver(const std::weak_ptr<tcp_sock>& to_ref, const std::weak_ptr<tcp_sock>& from_ref,
                           segment seg) {
  const auto to = to_ref.lock();
  const auto from = from_ref.lock();
  const bool listening_or_gone = !to || to->state == TCP_CLOSE || to->state == TCP_LISTEN;
  if (listening_or_gone) {
    // No connection owns this 4-tuple any more: answer anything but a RST with a RST (tcp_v4_send_reset).
    if (seg.type != segment::kind::rst && from) after_latency(name_rst_, [this, from_ref] {
        if (const auto sender = from_ref.lock()) on_reset(*sender);
      });
    return;
  }
  if (seg.type == segment::kind::data && k_.fault(k_.config().faults.reset, name_fault_reset_, to->name)) {
    send_active_reset(*to);  // the receiver resets the connection: its peer gets the RST, it sees ECONNRESET
    to->sk_err = E::CONNRESET;
    if (!to->dead) wake_up_poll(k_.runtime(), to->wq, POLL::ERR);
    return;
  }
  switch (seg.type) {
    case segment::kind::data: on_data(*to, from.get(), seg); break;
    case segment::kind::fin:
      on_fin(*to);
      if (from) on_ack_of_fin(*from);
      break;
    case segment::kind::rst: on_reset(*to); break;
  }
}

void loopback_net::on_data(tcp_sock& to, tcp_sock* from, const segment& seg) {
  // Linux tcp_rcv_state_process: new data for a socket that shut down reading after sending its FIN
  // (close() or shutdown(SHUT_RDWR)) aborts the connection: tcp_reset(sk) gives this socket ECONNRESET
  // (POLLERR, the next call fails) and tcp_v4_send_reset answers the sender with a RST.
  if ((to.state == TCP_FIN_WAIT1 || to.state == TCP_FIN_WAIT2) && (to.sk_shutdown & RCV_SHUTDOWN)) {
    // tcp_reset runs first (this socket's waiters wake), then the RST goes out to the sender.
    const auto keep = to.shared_from_this();
    const bool dead = to.dead;
    const std::weak_ptr<tcp_sock> sender = to.peer;
    to.sk_err = E::CONNRESET;
    to.write_queue.clear();
    to.snd_nxt = 0;
    trace_queues(to);
    to.peer.reset();
    tcp_done(to);
    if (!dead) wake_up_poll(k_.runtime(), to.wq, POLL::ERR);  // sk_error_report
    k_.trace_event(name_rst_, to.name);
    after_latency(name_rst_, [this, sender] {
      if (const auto peer = sender.lock()) on_reset(*peer);
    });
    return;
  }
  if (to.state == TCP_TIME_WAIT) return;
  to.receive_queue.push(seg.bytes.data(), seg.bytes.size());
  // One event for both ends: the receiver's queue grows, the sender's write queue shrinks by the segment (the
  // ACK below); tcp.data with the same sequence number named the sender and the size.
  k_.trace_event(name_deliver_, to.name, seg.sequence, static_cast<std::int64_t>(to.receive_queue.size()));
  if (from) {  // the ACK: the sender frees what was delivered (Linux tcp_clean_rtx_queue)
    from->write_queue.pop(seg.bytes.size());
    from->snd_nxt -= std::min(from->snd_nxt, seg.bytes.size());
    // tcp_check_space: only a writer that ran out of room (SOCK_NOSPACE) is woken, by sk_stream_write_space.
    if (from->nospace && from->stream_writeable()) {
      from->nospace = false;
      wake_up_poll(k_.runtime(), from->wq, writable_key);
    }
  }
  wake_up_poll(k_.runtime(), to.wq, readable_key);  // sk_data_ready
}

void loopback_net::on_fin(tcp_sock& to) {
  // Linux tcp_fin.
  to.sk_shutdown |= RCV_SHUTDOWN;
  to.done = true;
  switch (to.state) {
    case TCP_SYN_RECV:
    case TCP_ESTABLISHED: set_state(to, TCP_CLOSE_WAIT); break;
    case TCP_FIN_WAIT1: set_state(to, TCP_CLOSING); break;  // simultaneous close
    case TCP_FIN_WAIT2: set_state(to, TCP_TIME_WAIT); break;
    default: break;
  }
  if (!to.dead) state_change(to);
  if (to.state == TCP_TIME_WAIT) on_ack_of_fin(to);
}

void loopback_net::on_ack_of_fin(tcp_sock& sk) {
  switch (sk.state) {
    case TCP_FIN_WAIT1: set_state(sk, TCP_FIN_WAIT2); break;
    case TCP_CLOSING: set_state(sk, TCP_TIME_WAIT); break;
    case TCP_LAST_ACK: tcp_done(sk); return;
    default: break;
  }
  if (sk.state != TCP_TIME_WAIT || sk.time_wait_timer.armed()) return;
  // Linux tcp_time_wait: a timewait sock keeps the port for TCP_TIMEWAIT_LEN; the socket itself is done.
  auto tw = create_sock();
  tw->local = sk.local;
  tw->remote = sk.remote;
  tw->sk_reuse = sk.sk_reuse;
  tw->dead = true;
  tw->state = TCP_TIME_WAIT;
  tw->bound = true;
  ports_[tw->local.port].push_back(tw.get());
  std::weak_ptr<tcp_sock> tw_ref = tw;
  tw->time_wait_timer = k_.runtime().add_timer(k_.runtime().now_ns() + k_.config().time_wait_ns, name_time_wait_,
                                               [this, tw_ref] {
                                                 if (const auto expired = tw_ref.lock()) {
                                                   expired->state = TCP_CLOSE;
                                                   expired->time_wait_timer = {};
                                                   maybe_destroy(*expired);
                                                 }
                                               });
  sk.peer.reset();
  tcp_done(sk);
}

void loopback_net::on_reset(tcp_sock& sk) {
  // Linux tcp_reset: the error depends on the state; the unread receive queue stays readable.
  int error = E::CONNRESET;
  switch (sk.state) {
    case TCP_SYN_SENT: error = E::CONNREFUSED; break;
    case TCP_CLOSE_WAIT: error = E::PIPE; break;
    case TCP_CLOSE:
    case TCP_LISTEN: return;
    case TCP_TIME_WAIT: sk.state = TCP_CLOSE; maybe_destroy(sk); return;  // RFC 1337 assassination
    default: break;
  }
  sk.sk_err = error;
  sk.reset_received = true;
  sk.write_queue.clear();
  sk.snd_nxt = 0;
  trace_queues(sk);
  sk.peer.reset();
  const bool dead = sk.dead;
  auto keep = sk.shared_from_this();
  tcp_done(sk);
  if (!dead) wake_up_poll(k_.runtime(), sk.wq, POLL::ERR);  // sk_error_report
}

// --- handshake ---

int loopback_net::connect(tcp_sock& sk, const SockAddr& addr) {
  SockAddr dst = addr;
  if (dst.ip == any_ip) dst.ip = loopback_ip;  // Linux ip_route_connect: INADDR_ANY means this host
  if (!is_loopback(dst.ip)) return -E::NETUNREACH;
  if (!sk.bound) {
    const int port = pick_ephemeral_port(sk, SockAddr{dst.ip, 0});
    if (port < 0) return -E::ADDRNOTAVAIL;  // Linux __inet_hash_connect with the range exhausted
    sk.local = SockAddr{dst.ip, static_cast<std::uint16_t>(port)};
    sk.bound = true;
    ports_[sk.local.port].push_back(&sk);
  } else if (sk.local.ip == any_ip) {
    sk.local.ip = dst.ip;
  }
  sk.remote = dst;
  set_state(sk, TCP_SYN_SENT);
  sk.syn_retransmits = 0;
  send_syn(sk);
  return 0;
}

void loopback_net::send_syn(tcp_sock& sk) {
  k_.trace_event(name_syn_, sk.name, sk.remote.port, sk.syn_retransmits);
  std::weak_ptr<tcp_sock> client = sk.weak_from_this();
  const SockAddr dst = sk.remote;
  // Linux tcp_connect arms the retransmit timer: TCP_TIMEOUT_INIT, doubling on every retransmission.
  const std::int64_t timeout_ns = k_.config().syn_timeout_ns << sk.syn_retransmits;
  sk.syn_timer = k_.runtime().add_timer(k_.runtime().now_ns() + timeout_ns, name_syn_retry_,
                                        [this, client] { retransmit_syn(client); });
  after_latency(name_syn_, [this, client, dst] { on_syn(client, dst); });
}

void loopback_net::retransmit_syn(const std::weak_ptr<tcp_sock>& client_ref) {
  const auto client = client_ref.lock();
  if (!client || client->state != TCP_SYN_SENT) return;
  client->syn_timer = {};
  if (++client->syn_retransmits > k_.config().syn_retries) {
    // Linux tcp_write_err: the connect attempt times out.
    client->sk_err = E::TIMEDOUT;
    tcp_done(*client);
    if (!client->dead) wake_up_poll(k_.runtime(), client->wq, POLL::ERR);
    return;
  }
  send_syn(*client);
}

void loopback_net::on_syn(const std::weak_ptr<tcp_sock>& client_ref, SockAddr dst) {
  const auto client = client_ref.lock();
  if (!client || client->state != TCP_SYN_SENT) return;
  tcp_sock* listener = find_listener(dst);
  if (!listener) {  // nothing listens: the host answers with a RST
    after_latency(name_rst_, [this, client_ref] { on_refused(client_ref); });
    return;
  }
  // Linux tcp_conn_request: a full accept queue (sk_acceptq_is_full: more than the backlog) drops the SYN;
  // the client retransmits it later.
  if (listener->accept_queue.size() > static_cast<std::size_t>(listener->max_ack_backlog)) {
    k_.trace_event(name_listen_drop_, listener->name, static_cast<std::int64_t>(listener->accept_queue.size()));
    return;
  }
  auto child = create_sock();  // Linux inet_csk_clone_lock: the child inherits the listener's options
  child->sk_sndbuf = listener->sk_sndbuf;
  child->sk_rcvbuf = listener->sk_rcvbuf;
  child->sk_rcvlowat = listener->sk_rcvlowat;
  child->sk_reuse = listener->sk_reuse;
  child->nodelay = listener->nodelay;
  child->user_bound = listener->user_bound;
  child->local = SockAddr{dst.ip, dst.port};
  child->remote = client->local;
  child->bound = true;
  ports_[dst.port].push_back(child.get());
  child->state = TCP_SYN_RECV;
  child->listener = listener->weak_from_this();
  child->peer = client;
  std::weak_ptr<tcp_sock> child_ref = child;
  after_latency(name_synack_, [this, client_ref, child_ref] { on_synack(client_ref, child_ref); });
}

void loopback_net::on_refused(const std::weak_ptr<tcp_sock>& client_ref) {
  const auto client = client_ref.lock();
  if (!client || client->state != TCP_SYN_SENT) return;
  // Linux tcp_v4_rcv: a segment for a socket a syscall owns waits in its backlog until release_sock. On
  // loopback the RST arrives while connect() still holds the lock, so a non-blocking connect returns
  // EINPROGRESS and the refusal shows up afterwards (poll: POLLERR, SO_ERROR: ECONNREFUSED).
  if (client->owned_by_user) {
    client->backlog.push_back([this, client_ref] { on_refused(client_ref); });
    return;
  }
  on_reset(*client);
}

void loopback_net::on_synack(const std::weak_ptr<tcp_sock>& client_ref, const std::weak_ptr<tcp_sock>& child_ref) {
  const auto child = child_ref.lock();
  const auto client = client_ref.lock();
  if (!child) return;
  if (!client || client->state != TCP_SYN_SENT) {  // the client gave up: the child is reset
    child->dead = true;
    child->peer.reset();
    tcp_done(*child);
    return;
  }
  if (client->owned_by_user) {  // Linux: the socket is locked by connect(); process at release_sock
    client->backlog.push_back([this, client_ref, child_ref] { on_synack(client_ref, child_ref); });
    return;
  }
  k_.runtime().cancel_timer(client->syn_timer);
  client->peer = child;
  set_state(*client, TCP_ESTABLISHED);  // Linux tcp_finish_connect
  if (!client->dead) state_change(*client);
  after_latency(name_synack_, [this, child_ref] { on_handshake_ack(child_ref); });
}

void loopback_net::on_handshake_ack(const std::weak_ptr<tcp_sock>& child_ref) {
  const auto child = child_ref.lock();
  if (!child || child->state != TCP_SYN_RECV) return;
  set_state(*child, TCP_ESTABLISHED);
  const auto listener = child->listener.lock();
  if (!listener || listener->state != TCP_LISTEN) {
    child->dead = true;
    send_active_reset(*child);
    return;
  }
  listener->accept_queue.push_back(child);  // Linux inet_csk_reqsk_queue_add
  wake_up_poll(k_.runtime(), listener->wq, readable_key);
}

void loopback_net::tcp_disconnect(tcp_sock& sk) {
  // Linux tcp_disconnect: back to a fresh unconnected socket that may connect again. A connect attempt that
  // is abandoned (shutdown in SYN_SENT) reports ECONNRESET; sk_shutdown and SOCK_DONE are cleared, so poll no
  // longer reports POLLIN/POLLRDHUP and recv says ENOTCONN.
  const tcp_state old_state = sk.state;
  k_.runtime().cancel_timer(sk.syn_timer);
  set_state(sk, TCP_CLOSE);
  if (old_state == TCP_SYN_SENT) sk.sk_err = E::CONNRESET;
  sk.receive_queue.clear();
  sk.write_queue.clear();
  sk.snd_nxt = 0;
  trace_queues(sk);
  sk.fin_queued = sk.fin_sent = false;
  sk.peer.reset();
  sk.remote = {};
  if (!sk.user_bound) sk.local.ip = any_ip;  // inet_reset_saddr unless SOCK_BINDADDR_LOCK
  sk.sk_shutdown = 0;
  sk.done = false;
}

void loopback_net::release_sock(tcp_sock& sk) {
  sk.owned_by_user = false;
  std::vector<std::function<void()>> backlog = std::move(sk.backlog);
  sk.backlog.clear();
  for (auto& deferred : backlog) deferred();
}

}  // namespace iosim::kernel
