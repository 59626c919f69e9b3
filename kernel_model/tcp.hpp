// kernel_model/tcp.hpp — TCP stream sockets on the simulated loopback (net/ipv4/tcp*.c, inet_connection_sock.c).
// States follow Linux's TCP state machine; segments cross the loopback after config.latency_ns, in order.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel_model/afd.hpp"
#include "kernel_model/byte_queue.hpp"
#include "kernel_model/socket.hpp"

namespace iosim::kernel {

// Linux's enum (include/net/tcp_states.h), same numbers.
enum tcp_state : std::uint8_t {
  TCP_ESTABLISHED = 1,
  TCP_SYN_SENT,
  TCP_SYN_RECV,
  TCP_FIN_WAIT1,
  TCP_FIN_WAIT2,
  TCP_TIME_WAIT,
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_LAST_ACK,
  TCP_LISTEN,
  TCP_CLOSING,
};
const char* tcp_state_name(tcp_state state);

class loopback_net;

// Linux struct tcp_sock (with the inet_sock and inet_connection_sock parts iosim needs).
struct tcp_sock final : sock, std::enable_shared_from_this<tcp_sock> {
  tcp_sock(kernel& k, std::uint32_t name);
  ~tcp_sock() override;

  std::uint32_t number = 0;       // creation number: the key of loopback_net's table of live socks
  tcp_state state = TCP_CLOSE;
  SockAddr local{};   // inet_rcv_saddr:inet_num (port 0 while unbound)
  SockAddr remote{};  // inet_daddr:inet_dport
  bool bound = false;
  bool user_bound = false;        // bound by bind(), not autobound (Linux SOCK_BINDPORT_LOCK)
  bool dead = false;              // SOCK_DEAD: the file was closed (orphan)
  bool done = false;              // SOCK_DONE: a FIN was received
  bool reset_received = false;    // a RST aborted the connection (AFD keeps the endpoint aborted: WSAECONNRESET)
  bool nodelay = false;           // TCP_NODELAY (accepted, no Nagle modelled)
  bool connecting = false;        // struct socket state SS_CONNECTING
  bool nospace = false;           // Linux SOCK_NOSPACE: a writer found no room; the ACK that frees room wakes it

  std::weak_ptr<tcp_sock> peer;   // the other end on the loopback (the route a 4-tuple lookup would find)
  byte_queue receive_queue;       // sk_receive_queue: in-order bytes not yet read
  byte_queue write_queue;         // sk_write_queue: accepted by send(), not yet acknowledged
  std::size_t snd_nxt = 0;        // bytes of write_queue already transmitted (in flight)
  std::uint64_t write_seq = 0;    // Linux tp->write_seq (from 0): stream bytes ever queued by send()
  std::uint64_t copied_seq = 0;   // Linux tp->copied_seq (from 0): stream bytes ever read by recv()
  std::int64_t last_arrival_ns = 0;  // when the last segment sent will arrive: jitter never reorders a stream
  bool fin_queued = false;        // a FIN follows the queued data (close or shutdown(SHUT_WR))
  bool fin_sent = false;

  // Listener state (inet_connection_sock's accept queue).
  int max_ack_backlog = 0;
  std::deque<std::shared_ptr<tcp_sock>> accept_queue;
  std::weak_ptr<tcp_sock> listener;  // for a child not yet accepted

  sim::TimerId syn_timer;         // SYN retransmission while SYN_SENT
  int syn_retransmits = 0;
  sim::TimerId time_wait_timer;
  // Linux lock_sock: while a syscall owns the socket, segments for it wait in the backlog until release_sock.
  bool owned_by_user = false;
  std::vector<std::function<void()>> backlog;

  // Payload bytes the queues may hold: half of sk_sndbuf / sk_rcvbuf, the other half standing for sk_buff
  // overhead (Linux doubles SO_SNDBUF/SO_RCVBUF for exactly that reason; see docs/semantics.md).
  std::size_t send_capacity() const { return static_cast<std::size_t>(sk_sndbuf) / 2; }
  std::size_t receive_capacity() const { return static_cast<std::size_t>(sk_rcvbuf) / 2; }
  // Linux __sk_stream_is_writeable: free space >= half of what is queued (sk_stream_min_wspace).
  bool stream_writeable() const;
  bool stream_memory_free() const { return write_queue.size() < send_capacity(); }
  bool connected() const { return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT; }
};

// The TCP socket file (Linux struct socket with inet_stream_ops).
class tcp_socket final : public socket {
 public:
  tcp_socket(kernel& k, int f_flags, std::shared_ptr<tcp_sock> sk);

  __poll_t poll(poll_table* pt) override;
  void release() override;
  int bind(const SockAddr& addr) override;
  int listen(int backlog) override;
  int accept(file_ref* accepted, SockAddr* peer, int flags) override;
  int connect(const SockAddr& addr) override;
  long sendmsg(const void* buf, std::size_t len, int flags) override;
  long recvmsg(void* buf, std::size_t len, int flags) override;
  int shutdown(int how) override;
  int getname(SockAddr* addr, bool peer) override;
  int getsockopt_proto(int level, int name, int* value) override;
  int setsockopt_proto(int level, int name, int value) override;
  void buffer_sizes_changed() override;
  bool listening() const override { return tcp->state == TCP_LISTEN; }

  const std::shared_ptr<tcp_sock> tcp;
  // Win32 overlapped I/O state (kernel_model/afd.cpp); created on first use, so POSIX-only runs never have it.
  afd_endpoint& afd_state();
  afd_endpoint* afd() { return afd_.get(); }

 private:
  std::unique_ptr<afd_endpoint> afd_;
  long recv_copy(void* buf, std::size_t len, int flags, std::size_t* copied);
  int wait_for_connect(std::int64_t deadline_ns);
};

// The loopback network: the port table (bind, ephemeral ports, listener lookup) and segment delivery.
class loopback_net {
 public:
  explicit loopback_net(kernel& k);
  ~loopback_net();

  std::shared_ptr<tcp_sock> create_sock();
  // Linux inet_csk_get_port: binds `sk` to addr (port 0: an ephemeral port); -EADDRINUSE on conflict.
  int get_port(tcp_sock& sk, SockAddr addr);
  void unhash(tcp_sock& sk);  // releases the port
  // Linux tcp_v4_connect up to sending the SYN.
  int connect(tcp_sock& sk, const SockAddr& addr);

  // Transmit what the window allows, then the FIN if queued (Linux tcp_push / tcp_write_xmit / tcp_send_fin).
  void tcp_push(tcp_sock& sk);
  // Abort the connection: RST to the peer (Linux tcp_send_active_reset), CLOSE locally.
  void send_active_reset(tcp_sock& sk);
  // Reading freed receive space: let the sender transmit more (the window update).
  void window_update(tcp_sock& receiver);
  // Linux tcp_set_state, with the side effects iosim needs (port release, TIME_WAIT timer, trace).
  void set_state(tcp_sock& sk, tcp_state state);
  // Linux tcp_disconnect: reset a closed or connecting socket to a fresh unconnected one.
  void tcp_disconnect(tcp_sock& sk);
  // Linux tcp_done: CLOSE, shutdown both ways, wake everyone.
  void tcp_done(tcp_sock& sk);
  // An orphan that reached CLOSE is forgotten (Linux inet_csk_destroy_sock).
  void maybe_destroy(tcp_sock& sk);
  // Linux release_sock: process the segments that arrived while a syscall owned the socket.
  void release_sock(tcp_sock& sk);

  std::size_t live_socks() const { return socks_.size(); }
  // iosim's queue event: tcp.queues (receive queue bytes, write queue bytes) after they changed, for the
  // buffer counters of `iosim trace --perfetto`. Delivery reports itself (tcp.deliver).
  void trace_queues(const tcp_sock& sk);
  // Trace names of the stream offsets send/recv move (tcp.sendmsg, tcp.recvmsg) and of accept pairing a
  // child with its client (tcp.accept), which `iosim graph` turns into happens-before edges.
  std::uint32_t name_sendmsg() const { return name_sendmsg_; }
  std::uint32_t name_recvmsg() const { return name_recvmsg_; }
  std::uint32_t name_accept() const { return name_accept_; }

 private:
  struct segment;
  void transmit(tcp_sock& from, segment seg);
  void deliver(const std::weak_ptr<tcp_sock>& to, const std::weak_ptr<tcp_sock>& from, segment seg);
  void on_syn(const std::weak_ptr<tcp_sock>& client, SockAddr dst);
  void on_synack(const std::weak_ptr<tcp_sock>& client, const std::weak_ptr<tcp_sock>& child);
  void on_refused(const std::weak_ptr<tcp_sock>& client);
  void on_data(tcp_sock& to, tcp_sock* from, const segment& seg);
  void on_fin(tcp_sock& to);
  void on_reset(tcp_sock& to);
  void on_ack_of_fin(tcp_sock& sk);
  void send_syn(tcp_sock& sk);
  void retransmit_syn(const std::weak_ptr<tcp_sock>& client);
  void on_handshake_ack(const std::weak_ptr<tcp_sock>& child);
  tcp_sock* find_listener(SockAddr dst);
  bool port_conflict(const tcp_sock& sk, SockAddr addr) const;
  int pick_ephemeral_port(const tcp_sock& sk, SockAddr addr);
  void after_latency(std::uint32_t purpose, std::function<void()> action);

  kernel& k_;
  std::map<std::uint32_t, std::shared_ptr<tcp_sock>> socks_;  // every live sock, by creation number
  std::map<std::uint16_t, std::vector<tcp_sock*>> ports_;     // bound socks by local port, bind order
  int next_ephemeral_;
  std::uint32_t name_fault_split_ = 0, name_fault_reset_ = 0;
  std::uint32_t name_syn_, name_synack_, name_data_, name_fin_, name_rst_, name_window_, name_state_,
      name_time_wait_, name_syn_retry_, name_listen_drop_, name_deliver_, name_queues_;
  std::int64_t segment_sequence_ = 0;  // numbers every segment (tcp.data arg1 = tcp.deliver arg0): a flow id
  std::uint32_t name_sendmsg_, name_recvmsg_, name_accept_;
};

}  // namespace iosim::kernel
