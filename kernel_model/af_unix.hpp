// kernel_model/af_unix.hpp — AF_UNIX stream sockets made by socketpair() (Linux net/unix/af_unix.c).
// A send queues chunks (skbs) straight on the peer's receive queue, charged to the sender until read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "kernel_model/socket.hpp"
#include "kernel_model/tcp.hpp"  // tcp_state: af_unix.c reuses TCP_ESTABLISHED / TCP_CLOSE (net/tcp_states.h)

namespace iosim::kernel {

// x86-64 sizes behind Linux's skb memory accounting (include/linux/skbuff.h), all after SKB_DATA_ALIGN
// (64-byte cache lines): struct skb_shared_info and struct sk_buff, and the page size.
inline constexpr std::size_t skb_shared_info_bytes = 320;
inline constexpr std::size_t sk_buff_bytes = 256;
inline constexpr std::size_t skb_page_bytes = 4096;
// The largest payload of one stream skb besides the (sk_sndbuf >> 1) - 64 rule of unix_stream_sendmsg:
// SKB_MAX_HEAD(0) + UNIX_SKB_FRAGS_SZ (the "allow fallback to order-0 allocations" cap): a head of one page
// minus skb_shared_info, plus 32 KiB of page fragments.
inline constexpr std::size_t unix_skb_max_head_bytes = skb_page_bytes - skb_shared_info_bytes;  // 3776
inline constexpr std::size_t unix_skb_frags_bytes = 32768;  // UNIX_SKB_FRAGS_SZ
inline constexpr std::size_t unix_skb_payload_max_bytes = unix_skb_max_head_bytes + unix_skb_frags_bytes;

// skb->truesize of a unix stream skb carrying `size` payload bytes, as sock_alloc_send_pskb builds it: a
// kmalloc'ed head (kmalloc_size_roundup(SKB_DATA_ALIGN(head) + shared info)) plus struct sk_buff, plus
// whole pages for the fragment part. Checked against SIOCOUTQ on Linux 6.x (e.g. 1 byte → 768, 4032 →
// 4864, 36544 → 37120).
std::size_t unix_skb_truesize(std::size_t size);

struct unix_sock;

// One queued send (Linux struct sk_buff with UNIXCB(skb).consumed). `owner` is skb->sk: the sender, whose
// wmem_alloc carries this skb's truesize until the reader has consumed all of it (sock_wfree).
struct unix_skb {
  std::shared_ptr<unix_sock> owner;
  std::vector<char> data;
  std::size_t truesize = 0;
  std::size_t consumed = 0;
  std::size_t unix_skb_len() const { return data.size() - consumed; }
};

// Trace event names, interned once per socket.
struct unix_trace_names {
  std::uint32_t send = 0, recv = 0, shutdown = 0, release = 0;
};

// Linux struct unix_sock (the stream part).
struct unix_sock final : sock {
  unix_sock(kernel& k, std::uint32_t name);

  tcp_state sk_state = TCP_CLOSE;
  bool dead = false;                   // SOCK_DEAD: the file was released (sock_orphan)
  std::shared_ptr<unix_sock> peer;     // unix_peer(sk): holds the peer alive (sock_hold) until release
  std::deque<unix_skb> receive_queue;  // sk_receive_queue: skbs the peer sent us
  // sk_wmem_alloc_get(sk): the truesize of the skbs we sent that the peer has not fully consumed (Linux's
  // refcount sk_wmem_alloc is this plus the 1 it starts at; unix_writable reads the refcount).
  std::size_t wmem_alloc = 0;
  unix_trace_names names;

  // Linux unix_inq_len: unread bytes in our receive queue.
  std::size_t unix_inq_len() const;
};

// The socket file of one end (Linux struct socket with unix_stream_ops).
class unix_stream_socket final : public socket {
 public:
  unix_stream_socket(kernel& k, int f_flags, std::shared_ptr<unix_sock> sk);

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
  void buffer_sizes_changed() override;

  const std::shared_ptr<unix_sock> unix_sk;  // Linux unix_sk(sock->sk)

 private:
  int sock_alloc_send_pskb(bool nonblock);
  long unix_stream_read_generic(void* buf, std::size_t len, int flags);
  std::size_t unix_stream_peek(char* out, std::size_t len) const;
  std::size_t unix_stream_consume(char* out, std::size_t len);
};

// socketpair(AF_UNIX, SOCK_STREAM | type_flags, 0): two connected socket files (Linux __sys_socketpair with
// unix_socketpair). SOCK_NONBLOCK in type_flags sets O_NONBLOCK on both; the caller installs the fds.
int unix_stream_socketpair(kernel& k, int type_flags, file_ref* first, file_ref* second);

}  // namespace iosim::kernel
