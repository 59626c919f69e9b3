// kernel_model/kernel.hpp — the virtual kernel of one simulated machine: its process fd table, its loopback
// network and the syscalls. Every sys_* returns a result >= 0 or a negative errno, as Linux's do.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "iosim/abi.hpp"
#include "iosim/os.hpp"
#include "iosim/win32_abi.hpp"
#include "kernel_model/fdtable.hpp"
#include "kernel_model/network_faults.hpp"
#include "kernel_model/wait.hpp"
#include "sim/prng.hpp"
#include "sim/runtime.hpp"

namespace iosim::kernel {

class loopback_net;
class iocp_dispatcher;
class completion_port;
struct completion_packet;

// Every limit of the model, named with its unit. Defaults are Linux 6.1's.
struct kernel_config {
  int fd_count_max = 1024;              // RLIMIT_NOFILE soft limit
  int somaxconn = 4096;                 // net.core.somaxconn: listen() backlog cap
  int tcp_wmem_default_bytes = 16384;   // net.ipv4.tcp_wmem[1]: initial sk_sndbuf
  int tcp_rmem_default_bytes = 131072;  // net.ipv4.tcp_rmem[1]: initial sk_rcvbuf
  int wmem_default_bytes = 212992;      // net.core.wmem_default: AF_UNIX sk_sndbuf
  int rmem_default_bytes = 212992;      // net.core.rmem_default: AF_UNIX sk_rcvbuf
  int wmem_max_bytes = 212992;          // net.core.wmem_max: SO_SNDBUF cap (before doubling)
  int rmem_max_bytes = 212992;          // net.core.rmem_max: SO_RCVBUF cap (before doubling)
  int tcp_mss_bytes = 65483;            // loopback MTU 65536 minus IP and TCP headers
  int ephemeral_port_first = 32768;     // net.ipv4.ip_local_port_range
  int ephemeral_port_last = 60999;
  std::int64_t latency_ns = 0;                  // one-way loopback delay of every segment
  std::int64_t syn_timeout_ns = 1'000'000'000;  // TCP_TIMEOUT_INIT: first SYN retransmission
  int syn_retries = 6;                          // net.ipv4.tcp_syn_retries
  std::int64_t time_wait_ns = 60'000'000'000;   // TCP_TIMEWAIT_LEN
  std::int64_t timer_slack_ns = 50'000;         // current->timer_slack_ns (select/poll slack, traced only)
  long epoll_watches_max = 1'000'000;           // fs.epoll.max_user_watches (ENOSPC beyond it)
  int processor_count = 2;                  // KeNumberProcessors: a port's concurrency when 0 is asked for
  long completion_packets_max = 1'000'000;  // packets a port holds before PostQueuedCompletionStatus fails
                                            // (ERROR_NO_SYSTEM_RESOURCES: Windows runs out of nonpaged pool)
  network_faults faults;
  std::uint64_t fault_seed = 0;
};

// Blocking waits give up with one of these (0 means the condition holds).
inline constexpr int wait_timed_out = 1;

class kernel {
 public:
  kernel(sim::Runtime& runtime, kernel_config config);
  ~kernel();
  kernel(const kernel&) = delete;
  kernel& operator=(const kernel&) = delete;

  sim::Runtime& runtime() { return runtime_; }
  sim::Trace& trace() { return runtime_.trace(); }
  const kernel_config& config() const { return config_; }
  fdtable& files() { return files_; }
  loopback_net& net() { return *net_; }
  std::uint32_t intern(std::string_view name) { return runtime_.trace().intern(name); }
  // A kernel-level trace event (tcp state change, segment delivery, ...) attributed to the current task.
  void trace_event(std::uint32_t what, std::uint32_t object, std::int64_t arg0 = 0, std::int64_t arg1 = 0);
  long epoll_watches = 0;  // epoll items alive (Linux: the user's epoll_watches counter)

  // A fresh number for naming objects in traces ("pipe#3"), deterministic in creation order.
  std::uint32_t next_object_number() { return ++object_count_; }
  std::uint64_t next_file_id() { return ++file_count_; }
  // Wait channels of select and poll sleepers (interned once).
  std::uint32_t name_select() const { return name_select_; }
  std::uint32_t name_poll() const { return name_poll_; }
  // A write to a broken pipe or reset socket without MSG_NOSIGNAL. iosim treats SIGPIPE as ignored (as
  // LinuxOs sets it, and as servers do), so the call just returns EPIPE; the signal is traced.
  void send_sigpipe();
  // Draws a network fault decision; a fault that happens is traced as a fault event on `object`.
  bool fault(double probability, std::uint32_t fault_name, std::uint32_t object);
  std::uint64_t fault_below(std::uint64_t bound) { return fault_prng_.below(bound); }
  // True while the kernel itself is being destroyed: release() must not block or wake anyone.
  bool tearing_down() const { return tearing_down_; }

  // Sleeps the current task on `wq` until `condition()` holds (returns 0), `deadline_ns` passes (returns
  // wait_timed_out; -1 waits forever) or the task is killed (returns -EINTR). Exclusive waiters are woken one
  // at a time (WQ_FLAG_EXCLUSIVE). Mirrors wait_event_interruptible_timeout with an autoremove entry.
  template <class Condition>
  int wait_event(wait_queue_head& wq, std::int64_t deadline_ns, bool exclusive, Condition&& condition) {
    wait_queue_entry wait;
    task_entry self{&runtime_, runtime_.current()};
    wait.private_ = &self;
    wait.func = autoremove_wake_function;
    int result = 0;
    for (;;) {
      if (!wait.queued()) exclusive ? add_wait_queue_exclusive(wq, wait) : add_wait_queue(wq, wait);
      if (condition()) break;
      if (runtime_.killed()) {
        result = -E::INTR;
        break;
      }
      if (deadline_ns >= 0 && runtime_.now_ns() >= deadline_ns) {
        result = wait_timed_out;
        break;
      }
      schedule_timeout(wq.name, deadline_ns);
    }
    remove_wait_queue(wq, wait);
    return result;
  }
  // Parks the current task until woken or until deadline_ns (-1: no deadline). Linux schedule_timeout.
  void schedule_timeout(std::uint32_t channel, std::int64_t deadline_ns);
  static int autoremove_wake_function(wait_queue_entry* wq_entry, unsigned mode, int wake_flags, void* key);

  // --- syscalls (negative errno on failure) ---
  int sys_socket(int domain, int type, int protocol);
  int sys_socketpair(int domain, int type, int protocol, int sv[2]);
  int sys_pipe2(int fds[2], int flags);
  int sys_bind(int fd, const SockAddr& addr);
  int sys_listen(int fd, int backlog);
  int sys_accept4(int fd, SockAddr* peer, int flags);
  int sys_connect(int fd, const SockAddr& addr);
  long sys_sendto(int fd, const void* buf, std::size_t len, int flags);
  long sys_recvfrom(int fd, void* buf, std::size_t len, int flags);
  long sys_read(int fd, void* buf, std::size_t len);
  long sys_write(int fd, const void* buf, std::size_t len);
  int sys_shutdown(int fd, int how);
  int sys_close(int fd);
  int sys_dup(int fd);
  // Os::name_fd (not a Linux call): labels the open file behind fd for traces, deadlock listings and graphs.
  int sys_name_fd(int fd, std::string_view label);
  int sys_fcntl(int fd, int cmd, int arg);
  int sys_getsockopt(int fd, int level, int name, int* value);
  int sys_setsockopt(int fd, int level, int name, int value);
  int sys_set_linger(int fd, bool on, int linger_seconds);
  int sys_getsockname(int fd, SockAddr* addr);
  int sys_getpeername(int fd, SockAddr* addr);
  int sys_select(int n, fd_set* inp, fd_set* outp, fd_set* exp, timeval* tvp);
  int sys_poll(pollfd* ufds, std::size_t nfds, int timeout_ms);
  // fs/eventpoll.c and fs/eventfd.c (kernel_model/eventpoll.cpp, eventfd.cpp).
  int sys_epoll_create1(int flags);
  int sys_epoll_ctl(int epfd, int op, int fd, const epoll_event* event);
  int sys_epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms);
  int sys_eventfd2(unsigned int count, int flags);

  // --- Win32 (kernel_model/iocp.cpp, afd.cpp). Handles are fds; results are Win32 or Winsock error codes
  // (0 = success, Error::IO_PENDING = queued), exactly what GetLastError() reports afterwards. ---
  iocp_dispatcher& iocp();  // created with the first completion port
  win32::DWORD nt_create_io_completion(int concurrency, int* handle);
  win32::DWORD nt_set_completion_port(int file_handle, int port_handle, win32::ULONG_PTR key);
  // timeout_ms -1 waits forever; fills 1..count packets on success.
  win32::DWORD nt_remove_io_completion(int port_handle, std::int64_t timeout_ms, completion_packet* packets,
                                       unsigned count, unsigned* removed);
  win32::DWORD nt_set_io_completion(int port_handle, const completion_packet& packet);
  win32::DWORD nt_close(int handle);
  win32::DWORD afd_recv(int s, const win32::WSABUF* buffers, std::size_t count, win32::DWORD* bytes,
                        win32::OVERLAPPED* overlapped);
  win32::DWORD afd_send(int s, const win32::WSABUF* buffers, std::size_t count, win32::DWORD* bytes,
                        win32::OVERLAPPED* overlapped);
  win32::DWORD afd_accept(int listen_s, int accept_s, void* output, win32::DWORD receive_bytes,
                          win32::DWORD local_bytes, win32::DWORD remote_bytes, win32::DWORD* bytes,
                          win32::OVERLAPPED* overlapped);
  win32::DWORD afd_connect(int s, const SockAddr& addr, const void* data, win32::DWORD length,
                           win32::DWORD* bytes, win32::OVERLAPPED* overlapped);
  // WSAGetOverlappedResult: the request's bytes, or its Winsock error (WSA_IO_INCOMPLETE while pending).
  win32::DWORD afd_get_overlapped_result(int s, win32::OVERLAPPED* overlapped, bool wait,
                                         win32::DWORD* bytes);
  win32::DWORD afd_cancel_io(int handle, const win32::OVERLAPPED* overlapped);
  win32::DWORD afd_set_notification_modes(int handle, win32::UCHAR flags);
  win32::DWORD afd_update_accept_context(int s, int listen_s);
  // `fd` (open) now refers to `f` (AcceptEx's connection taking over the accept socket's handle), traced as
  // the old file's fd.close and the new one's fd.install.
  void replace_fd(int fd, file_ref f);
  // An AcceptEx socket before SO_UPDATE_ACCEPT_CONTEXT: getpeername, getsockname and shutdown fail.
  bool afd_accept_context_pending(int s);

 private:
  // Linux sockfd_lookup: the socket behind fd, or null with *error set to -EBADF / -ENOTSOCK.
  class socket* sockfd_lookup(int fd, int* error, file_ref* keep);
  int install_fd(file_ref f, int flags);
  int traced_install(int fd, std::uint32_t file_name);
  completion_port* port_lookup(int handle, file_ref* keep);

  sim::Runtime& runtime_;
  kernel_config config_;
  fdtable files_;
  std::unique_ptr<loopback_net> net_;
  std::uint32_t object_count_ = 0;
  std::uint64_t file_count_ = 0;
  sim::Prng fault_prng_;
  bool tearing_down_ = false;
  std::uint32_t name_timeout_ = 0;
  std::uint32_t name_select_ = 0, name_poll_ = 0, name_select_slack_ = 0, name_poll_slack_ = 0;
  std::uint32_t name_kernel_ = 0;
  std::uint32_t name_fd_install_ = 0, name_fd_close_ = 0;
  std::unique_ptr<iocp_dispatcher> iocp_;
};

}  // namespace iosim::kernel
