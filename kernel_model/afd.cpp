// kernel_model/afd.cpp — WSARecv, WSASend, AcceptEx, ConnectEx, CancelIoEx on the simulated TCP sockets.
// An IRP completes at once when the socket allows it, else pends FIFO and a deferred pass (the DPC) retries
// it whenever the sock's wait queue is woken, as Wine's ws2_32 async queues do on top of readiness.
#include "kernel_model/afd.hpp"

#include <algorithm>

#include "iosim/assert.hpp"
#include "kernel_model/iocp.hpp"
#include "kernel_model/kernel.hpp"
#include "kernel_model/tcp.hpp"

namespace iosim::kernel {
namespace {

using win32::DWORD;
using win32::NTSTATUS;
using win32::STATUS;
using win32::WSA;

enum class outcome : std::uint8_t { pending, done, moved };

std::size_t total_length(const std::vector<win32::WSABUF>& buffers) {
  std::size_t total = 0;
  for (const win32::WSABUF& buffer : buffers) total += buffer.len;
  return total;
}

NTSTATUS status_from_errno(int error) {
  switch (error) {
    case E::CONNRESET:
    case E::PIPE:
      return STATUS::CONNECTION_RESET;
    case E::CONNREFUSED:
      return STATUS::CONNECTION_REFUSED;
    default:
      return STATUS::CONNECTION_ABORTED;
  }
}

void afd_process(tcp_socket& s);

// The sock's wait queue was woken (data, ACK, FIN, RST, a new connection): retry the pending requests in a
// deferred pass, never inside the waker (it may be the network delivering to this very socket).
int afd_wake(wait_queue_entry* wq_entry, unsigned, int, void*) {
  auto& s = *static_cast<tcp_socket*>(wq_entry->private_);
  afd_endpoint& endpoint = *s.afd();
  if (endpoint.process_queued || !endpoint.any_pending()) return 0;
  endpoint.process_queued = true;
  std::weak_ptr<file> ref = s.weak_from_this();
  sim::Runtime& runtime = s.k().runtime();
  runtime.add_timer(runtime.now_ns(), s.k().iocp().name_afd_dpc, [ref] {
    if (const file_ref f = ref.lock()) afd_process(static_cast<tcp_socket&>(*f));
  });
  return 0;  // not a task wake-up: exclusive waiters are unaffected
}

// Queues an I/O completion's packet to its port, now or — the delayed_completion fault — 1..1000 us later,
// as when the completing DPC or the I/O manager's thread runs late. The OVERLAPPED already holds the result:
// HasOverlappedIoCompleted is true before GetQueuedCompletionStatus can return the packet, as Windows allows.
void queue_completion(kernel& k, std::uint32_t object, const std::shared_ptr<completion_port>& port,
                      const completion_packet& packet) {
  iocp_dispatcher& dispatcher = k.iocp();
  if (!k.fault(k.config().faults.delayed_completion, dispatcher.name_fault_delayed_completion, object)) {
    port->insert_queue(packet, false);
    return;
  }
  sim::Runtime& runtime = k.runtime();
  const auto delay_ns = static_cast<std::int64_t>(k.fault_below(completion_delay_ns_max)) + 1;
  runtime.add_timer(runtime.now_ns() + delay_ns, dispatcher.name_delayed_packet,
                    [port, packet] { port->insert_queue(packet, false); });
}

// IoCompleteRequest + IopCompleteRequest: write the IO_STATUS_BLOCK into the OVERLAPPED, queue the packet to
// the handle's port unless FILE_SKIP_COMPLETION_PORT_ON_SUCCESS applies, wake WSAGetOverlappedResult.
void complete(kernel& k, std::uint32_t object, afd_irp& irp, NTSTATUS status, std::size_t bytes,
              bool skip_port) {
  irp.overlapped->Internal = static_cast<std::uint32_t>(status);
  irp.overlapped->InternalHigh = bytes;
  iocp_dispatcher& dispatcher = k.iocp();
  k.trace_event(dispatcher.name_afd_complete, object, status, static_cast<std::int64_t>(bytes));
  if (irp.port && !skip_port) queue_completion(k, object, irp.port, {irp.key, irp.overlapped, status, bytes});
  __wake_up(k.runtime(), dispatcher.overlapped_wq, 1, 0, nullptr);
}

outcome try_receive(tcp_socket& s, afd_irp& irp, NTSTATUS* status, std::size_t* bytes) {
  tcp_sock& tp = *s.tcp;
  *bytes = 0;
  *status = STATUS::SUCCESS;
  if (!tp.receive_queue.empty()) {
    if (total_length(irp.buffers) == 0) return outcome::done;  // zero-byte receive: data is there, none taken
    for (const win32::WSABUF& buffer : irp.buffers) {
      const std::size_t copied = tp.receive_queue.peek(buffer.buf, buffer.len, 0);
      tp.receive_queue.pop(copied);
      *bytes += copied;
      if (copied < buffer.len) break;
    }
    if (tp.state != TCP_CLOSE) s.k().net().window_update(tp);  // tcp_cleanup_rbuf
    return outcome::done;
  }
  if (tp.sk_err) {
    *status = status_from_errno(-tp.sock_error());
    return outcome::done;
  }
  // AFD keeps a reset endpoint aborted: every receive pending at the RST, and every later one, fails with
  // STATUS_CONNECTION_RESET, not only the first (Linux's sk_err is reported once). Wine fails every pending
  // one too; found by the IOCP differential suite (a zero-byte WSARecv pending behind another).
  if (tp.reset_received) {
    *status = STATUS::CONNECTION_RESET;
    return outcome::done;
  }
  if (tp.done || (tp.sk_shutdown & RCV_SHUTDOWN)) return outcome::done;  // graceful close: 0 bytes
  return outcome::pending;
}

std::size_t copy_into_write_queue(tcp_socket& s, afd_irp& irp) {
  tcp_sock& tp = *s.tcp;
  std::size_t moved = 0;
  std::size_t skip = irp.transferred;
  for (const win32::WSABUF& buffer : irp.buffers) {
    if (skip >= buffer.len) {
      skip -= buffer.len;
      continue;
    }
    std::size_t offset = skip;
    skip = 0;
    while (offset < buffer.len && tp.stream_memory_free()) {
      const std::size_t chunk =
          std::min<std::size_t>(buffer.len - offset, tp.send_capacity() - tp.write_queue.size());
      tp.write_queue.push(buffer.buf + offset, chunk);
      offset += chunk;
      moved += chunk;
      irp.transferred += chunk;
      s.k().net().tcp_push(tp);  // an ACK on loopback may free room at once
    }
    if (offset < buffer.len) break;
  }
  return moved;
}

outcome try_send(tcp_socket& s, afd_irp& irp, NTSTATUS* status, std::size_t* bytes) {
  tcp_sock& tp = *s.tcp;
  *status = STATUS::SUCCESS;
  if (tp.sk_err || (tp.sk_shutdown & SEND_SHUTDOWN) || tp.state == TCP_CLOSE) {
    *status = tp.sk_err ? status_from_errno(-tp.sock_error()) : STATUS::CONNECTION_ABORTED;
    *bytes = irp.transferred;
    return outcome::done;
  }
  copy_into_write_queue(s, irp);
  *bytes = irp.transferred;
  if (irp.transferred == total_length(irp.buffers)) return outcome::done;  // all of it is the kernel's now
  tp.nospace = true;  // SOCK_NOSPACE: the ACK that frees room wakes the sock's queue, and so this request
  return outcome::pending;
}

outcome try_accept(tcp_socket& listener, afd_irp& irp, NTSTATUS* status, std::size_t* bytes) {
  kernel& k = listener.k();
  tcp_sock& lp = *listener.tcp;
  *status = STATUS::SUCCESS;
  *bytes = 0;
  if (lp.state != TCP_LISTEN) {
    *status = STATUS::CANCELLED;
    return outcome::done;
  }
  if (lp.accept_queue.empty()) return outcome::pending;
  const file_ref current = k.files().fget(irp.accept_handle);
  if (!current || current != irp.accept_file.lock()) {  // the accept socket was closed meanwhile
    *status = STATUS::CANCELLED;
    return outcome::done;
  }
  std::shared_ptr<tcp_sock> child = std::move(lp.accept_queue.front());
  lp.accept_queue.pop_front();
  child->listener.reset();
  // The connection takes over the accept socket's handle, with that handle's completion context.
  auto accepted = make_file<tcp_socket>(k, O::RDWR, std::move(child));
  afd_endpoint& endpoint = accepted->afd_state();
  if (afd_endpoint* old = static_cast<tcp_socket&>(*current).afd()) {
    endpoint.port = old->port;
    endpoint.key = old->key;
    endpoint.skip_completion_port_on_success = old->skip_completion_port_on_success;
  }
  endpoint.accept_context_pending = true;
  k.replace_fd(irp.accept_handle, accepted);
  if (irp.buffers.empty() || irp.buffers[0].len == 0) return outcome::done;
  // AcceptEx with a receive: the request completes with the connection's first data (or its close).
  irp.type = afd_irp::kind::receive;
  if (try_receive(*accepted, irp, status, bytes) == outcome::done) return outcome::done;
  endpoint.receives.push_back(std::move(irp));
  return outcome::moved;
}

outcome try_connect(tcp_socket& s, afd_irp& irp, NTSTATUS* status, std::size_t* bytes) {
  tcp_sock& tp = *s.tcp;
  *status = STATUS::SUCCESS;
  *bytes = 0;
  if (tp.state == TCP_SYN_SENT || tp.state == TCP_SYN_RECV) return outcome::pending;
  tp.connecting = false;
  if (tp.state == TCP_CLOSE) {  // refused, reset or timed out
    const int error = tp.sock_error();
    *status = status_from_errno(error ? -error : E::CONNREFUSED);
    s.k().net().tcp_disconnect(tp);
    return outcome::done;
  }
  copy_into_write_queue(s, irp);  // ConnectEx's send buffer: what fits goes out with the connection
  *bytes = irp.transferred;
  return outcome::done;
}

outcome attempt(tcp_socket& s, afd_irp& irp, NTSTATUS* status, std::size_t* bytes) {
  switch (irp.type) {
    case afd_irp::kind::receive:
      return try_receive(s, irp, status, bytes);
    case afd_irp::kind::send:
      return try_send(s, irp, status, bytes);
    case afd_irp::kind::accept:
      return try_accept(s, irp, status, bytes);
    case afd_irp::kind::connect:
      return try_connect(s, irp, status, bytes);
  }
  return outcome::pending;
}

// A pending request completes to the port its handle is associated with *when it completes*
// (IopCompleteRequest reads FILE_OBJECT.CompletionContext then), so a CreateIoCompletionPort made after the
// request was issued still gets its packet (Windows and Wine agree; found by the IOCP differential suite).
// An AcceptEx keeps the listener's context, read at issue: with a receive it finishes on the accepted socket.
void take_completion_context(tcp_socket& s, afd_irp& irp) {
  if (irp.accept_handle >= 0) return;  // an AcceptEx, also once it waits on the accepted socket
  if (const afd_endpoint* endpoint = s.afd()) {
    irp.port = endpoint->port;
    irp.key = endpoint->key;
  }
}

void process_list(tcp_socket& s, std::deque<afd_irp>& list) {
  while (!list.empty()) {
    NTSTATUS status = STATUS::SUCCESS;
    std::size_t bytes = 0;
    const outcome result = attempt(s, list.front(), &status, &bytes);
    if (result == outcome::pending) break;
    afd_irp irp = std::move(list.front());
    list.pop_front();
    take_completion_context(s, irp);
    if (result == outcome::done) complete(s.k(), s.name(), irp, status, bytes, false);
  }
}

void afd_process(tcp_socket& s) {
  afd_endpoint& endpoint = *s.afd();
  endpoint.process_queued = false;
  process_list(s, endpoint.connects);
  process_list(s, endpoint.accepts);
  process_list(s, endpoint.receives);
  process_list(s, endpoint.sends);
}

std::deque<afd_irp>& list_for(afd_endpoint& endpoint, afd_irp::kind type) {
  switch (type) {
    case afd_irp::kind::receive:
      return endpoint.receives;
    case afd_irp::kind::send:
      return endpoint.sends;
    case afd_irp::kind::accept:
      return endpoint.accepts;
    case afd_irp::kind::connect:
      return endpoint.connects;
  }
  return endpoint.receives;
}

// msafd's WSPRecv/WSPSend set the IOSB (OVERLAPPED::Internal) to STATUS_PENDING before their IOCTL reaches
// AFD, and a request AFD fails at once leaves it so (ReactOS dll/win32/msafd sndrcv.c; Wine agrees): after an
// immediate failure WSAGetOverlappedResult says WSA_IO_INCOMPLETE. Found by the IOCP differential suite.
void mark_pending(win32::OVERLAPPED* overlapped) {
  if (!overlapped) return;
  overlapped->Internal = static_cast<std::uint32_t>(STATUS::PENDING);
  overlapped->InternalHigh = 0;
}

// The common path of every overlapped call: try at once unless earlier requests of the same kind pend
// (they keep their order); an immediate success completes like any other (a packet unless skip-on-success),
// an immediate failure is only returned (no packet), else the request pends and the call says IO_PENDING.
DWORD issue(tcp_socket& s, afd_irp irp, DWORD* bytes) {
  kernel& k = s.k();
  afd_endpoint& endpoint = s.afd_state();
  irp.port = endpoint.port;
  irp.key = endpoint.key;
  irp.sequence = ++k.iocp().irp_sequence;
  mark_pending(irp.overlapped);  // AcceptEx and ConnectEx reach here first; WSARecv/WSASend marked it already
  std::deque<afd_irp>& list = list_for(endpoint, irp.type);
  if (list.empty()) {
    NTSTATUS status = STATUS::SUCCESS;
    std::size_t moved = 0;
    const outcome result = attempt(s, irp, &status, &moved);
    if (result == outcome::moved) return win32::Error::IO_PENDING;
    if (result == outcome::done) {
      // A request that fails at once leaves its OVERLAPPED as the call set it (STATUS_PENDING): the I/O
      // manager writes the IOSB only for a success or a pended request (ReactOS IopCompleteRequest:
      // "!NT_ERROR
      // || PendingReturned"), so WSAGetOverlappedResult says WSA_IO_INCOMPLETE, as on Wine. Found by the IOCP
      // differential suite (a WSASend on a reset connection).
      if (status != STATUS::SUCCESS) return static_cast<DWORD>(win32::nt_status_to_wsa_error(status));
      if (bytes) *bytes = static_cast<DWORD>(moved);
      complete(k, s.name(), irp, status, moved, endpoint.skip_completion_port_on_success);
      return win32::Error::SUCCESS;
    }
  }
  list.push_back(std::move(irp));
  return win32::Error::IO_PENDING;
}

tcp_socket* afd_lookup(kernel& k, int s, file_ref* keep) {
  *keep = k.files().fget(s);
  return *keep ? dynamic_cast<tcp_socket*>(keep->get()) : nullptr;
}

bool never_connected(const tcp_sock& tp) {
  return tp.state == TCP_LISTEN || tp.state == TCP_SYN_SENT ||
         (tp.state == TCP_CLOSE && tp.sk_shutdown == 0 && !tp.sk_err && !tp.done);
}

}  // namespace

int wsa_error_from_errno(int error) {
  switch (error) {
    case E::BADF:
    case E::NOTSOCK:
      return WSA::NOTSOCK;
    case E::MFILE:
      return WSA::MFILE;
    case E::AFNOSUPPORT:
      return WSA::AFNOSUPPORT;
    case E::PROTONOSUPPORT:
      return WSA::PROTONOSUPPORT;
    case E::OPNOTSUPP:
      return WSA::OPNOTSUPP;
    case E::ADDRINUSE:
      return WSA::ADDRINUSE;
    case E::ADDRNOTAVAIL:
      return WSA::ADDRNOTAVAIL;
    case E::NETUNREACH:
      return WSA::NETUNREACH;
    case E::CONNABORTED:
      return WSA::CONNABORTED;
    case E::PIPE:
    case E::CONNRESET:
      return WSA::CONNRESET;
    case E::ISCONN:
      return WSA::ISCONN;
    case E::NOTCONN:
      return WSA::NOTCONN;
    case E::TIMEDOUT:
      return WSA::TIMEDOUT;
    case E::CONNREFUSED:
      return WSA::CONNREFUSED;
    case E::ALREADY:
      return WSA::ALREADY;
    case E::AGAIN:
      return WSA::WOULDBLOCK;
    case E::NOBUFS:
      return WSA::NOBUFS;
    default:
      return WSA::INVAL;
  }
}

int afd_cancel(tcp_socket& s, const win32::OVERLAPPED* only, NTSTATUS status, cancel_order order) {
  afd_endpoint* endpoint = s.afd();
  if (!endpoint) return 0;
  std::vector<afd_irp> cancelled;
  for (std::deque<afd_irp>* list :
       {&endpoint->receives, &endpoint->sends, &endpoint->accepts, &endpoint->connects}) {
    for (auto it = list->begin(); it != list->end();) {
      if (only && it->overlapped != only) {
        ++it;
        continue;
      }
      cancelled.push_back(std::move(*it));
      it = list->erase(it);
    }
  }
  std::sort(cancelled.begin(), cancelled.end(), [order](const afd_irp& a, const afd_irp& b) {
    return order == cancel_order::issue ? a.sequence < b.sequence : a.sequence > b.sequence;
  });
  for (afd_irp& irp : cancelled) {
    if (irp.type == afd_irp::kind::connect && !s.k().tearing_down()) s.k().net().tcp_disconnect(*s.tcp);
    take_completion_context(s, irp);
    complete(s.k(), s.name(), irp, status, irp.transferred, false);
  }
  return static_cast<int>(cancelled.size());
}

afd_endpoint& tcp_socket::afd_state() {
  if (!afd_) {
    afd_ = std::make_unique<afd_endpoint>();
    afd_->wait.private_ = this;
    afd_->wait.func = afd_wake;
    add_wait_queue(tcp->wq, afd_->wait);
  }
  return *afd_;
}

// --- the Win32 calls ---

DWORD kernel::afd_recv(int s, const win32::WSABUF* buffers, std::size_t count, DWORD* bytes,
                       win32::OVERLAPPED* overlapped) {
  file_ref keep;
  tcp_socket* sock = afd_lookup(*this, s, &keep);
  if (!sock) return WSA::NOTSOCK;
  mark_pending(overlapped);
  if (!buffers && count > 0) return WSA::FAULT;
  if (never_connected(*sock->tcp)) return WSA::NOTCONN;
  if (!overlapped) {
    // A blocking WSARecv: one recvmsg per buffer, waiting only for the first.
    DWORD total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const long got = sock->recvmsg(buffers[i].buf, buffers[i].len, i == 0 ? 0 : MSG::DONTWAIT);
      if (got < 0) {
        if (i == 0) return static_cast<DWORD>(wsa_error_from_errno(static_cast<int>(-got)));
        break;
      }
      total += static_cast<DWORD>(got);
      if (static_cast<std::size_t>(got) < buffers[i].len) break;
    }
    if (bytes) *bytes = total;
    return win32::Error::SUCCESS;
  }
  afd_irp irp;
  irp.type = afd_irp::kind::receive;
  irp.overlapped = overlapped;
  irp.buffers.assign(buffers, buffers + count);
  return issue(*sock, std::move(irp), bytes);
}

DWORD kernel::afd_send(int s, const win32::WSABUF* buffers, std::size_t count, DWORD* bytes,
                       win32::OVERLAPPED* overlapped) {
  file_ref keep;
  tcp_socket* sock = afd_lookup(*this, s, &keep);
  if (!sock) return WSA::NOTSOCK;
  mark_pending(overlapped);
  if (!buffers && count > 0) return WSA::FAULT;
  const tcp_sock& tp = *sock->tcp;
  if (!tp.sk_err && never_connected(tp)) return WSA::NOTCONN;
  // A reset connection stays aborted for AFD: every later send fails with WSAECONNRESET (Linux reports
  // ECONNRESET once, then EPIPE). Wine agrees; found by the IOCP differential suite.
  if (tp.reset_received && !tp.sk_err) return WSA::CONNRESET;
  if (!tp.sk_err && (tp.sk_shutdown & SEND_SHUTDOWN)) return WSA::SHUTDOWN;
  if (!overlapped) {
    DWORD total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const long sent = sock->sendmsg(buffers[i].buf, buffers[i].len, MSG::NOSIGNAL);
      if (sent < 0) return static_cast<DWORD>(wsa_error_from_errno(static_cast<int>(-sent)));
      total += static_cast<DWORD>(sent);
    }
    if (bytes) *bytes = total;
    return win32::Error::SUCCESS;
  }
  afd_irp irp;
  irp.type = afd_irp::kind::send;
  irp.overlapped = overlapped;
  irp.buffers.assign(buffers, buffers + count);
  return issue(*sock, std::move(irp), bytes);
}

DWORD kernel::afd_accept(int listen_s, int accept_s, void* output, DWORD receive_bytes, DWORD local_bytes,
                         DWORD remote_bytes, DWORD* bytes, win32::OVERLAPPED* overlapped) {
  file_ref keep_listener, keep_accept;
  tcp_socket* listener = afd_lookup(*this, listen_s, &keep_listener);
  tcp_socket* accepted = afd_lookup(*this, accept_s, &keep_accept);
  if (!listener || !accepted) return WSA::NOTSOCK;
  if (!overlapped) return WSA::INVAL;  // AcceptEx is overlapped-only
  if (listener->tcp->state != TCP_LISTEN) return WSA::INVAL;
  // The accept socket must be fresh (neither bound nor connected), and each address slot big enough.
  if (accepted->tcp->state != TCP_CLOSE || accepted->tcp->bound) return WSA::INVAL;
  if (local_bytes < win32::accept_address_bytes_min || remote_bytes < win32::accept_address_bytes_min) {
    return WSA::INVAL;
  }
  if (receive_bytes > 0 && !output) return WSA::FAULT;
  afd_irp irp;
  irp.type = afd_irp::kind::accept;
  irp.overlapped = overlapped;
  if (receive_bytes > 0) irp.buffers.push_back({receive_bytes, static_cast<char*>(output)});
  irp.accept_handle = accept_s;
  irp.accept_file = keep_accept;
  keep_accept.reset();
  return issue(*listener, std::move(irp), bytes);
}

DWORD kernel::afd_connect(int s, const SockAddr& addr, const void* data, DWORD length, DWORD* bytes,
                          win32::OVERLAPPED* overlapped) {
  file_ref keep;
  tcp_socket* sock = afd_lookup(*this, s, &keep);
  if (!sock) return WSA::NOTSOCK;
  if (!overlapped) return WSA::INVAL;
  if (!sock->tcp->bound) return WSA::INVAL;  // ConnectEx's famous rule: bind first
  if (sock->tcp->state != TCP_CLOSE || sock->tcp->connecting) return WSA::ISCONN;
  const int saved_flags = sock->f_flags;
  sock->f_flags |= O::NONBLOCK;
  const int started = sock->connect(addr);
  sock->f_flags = saved_flags;
  if (started < 0 && started != -E::INPROGRESS) return static_cast<DWORD>(wsa_error_from_errno(-started));
  afd_irp irp;
  irp.type = afd_irp::kind::connect;
  irp.overlapped = overlapped;
  if (length > 0) irp.buffers.push_back({length, static_cast<char*>(const_cast<void*>(data))});
  return issue(*sock, std::move(irp), bytes);
}

DWORD kernel::afd_get_overlapped_result(int s, win32::OVERLAPPED* overlapped, bool wait, DWORD* bytes) {
  file_ref keep;
  if (!afd_lookup(*this, s, &keep)) return WSA::NOTSOCK;
  if (!overlapped) return WSA::FAULT;
  if (wait && !win32::has_overlapped_io_completed(*overlapped)) {
    const int waited = wait_event(iocp().overlapped_wq, -1, false,
                                  [&] { return win32::has_overlapped_io_completed(*overlapped); });
    if (waited < 0) return WSA::INTR;
  }
  if (!win32::has_overlapped_io_completed(*overlapped)) return WSA::IO_INCOMPLETE;
  if (bytes) *bytes = static_cast<DWORD>(overlapped->InternalHigh);
  return static_cast<DWORD>(
      win32::nt_status_to_wsa_error(static_cast<NTSTATUS>(static_cast<std::uint32_t>(overlapped->Internal))));
}

DWORD kernel::afd_cancel_io(int handle, const win32::OVERLAPPED* overlapped) {
  file_ref keep = files_.fget(handle);
  if (!keep) return win32::Error::INVALID_HANDLE;
  auto* sock = dynamic_cast<tcp_socket*>(keep.get());
  if (!sock || afd_cancel(*sock, overlapped, STATUS::CANCELLED, cancel_order::newest_first) == 0)
    return win32::Error::NOT_FOUND;
  return win32::Error::SUCCESS;
}

DWORD kernel::afd_set_notification_modes(int handle, win32::UCHAR flags) {
  file_ref keep = files_.fget(handle);
  if (!keep) return win32::Error::INVALID_HANDLE;
  auto* sock = dynamic_cast<tcp_socket*>(keep.get());
  if (!sock) return win32::Error::NOT_SUPPORTED;
  sock->afd_state().skip_completion_port_on_success =
      (flags & win32::FILE_SKIP_COMPLETION_PORT_ON_SUCCESS_) != 0;
  return win32::Error::SUCCESS;
}

DWORD kernel::afd_update_accept_context(int s, int listen_s) {
  file_ref keep, keep_listener;
  tcp_socket* sock = afd_lookup(*this, s, &keep);
  if (!sock || !afd_lookup(*this, listen_s, &keep_listener)) return WSA::NOTSOCK;
  if (sock->afd()) sock->afd()->accept_context_pending = false;
  return win32::Error::SUCCESS;
}

bool kernel::afd_accept_context_pending(int s) {
  file_ref keep;
  tcp_socket* sock = afd_lookup(*this, s, &keep);
  return sock && sock->afd() && sock->afd()->accept_context_pending;
}

}  // namespace iosim::kernel
