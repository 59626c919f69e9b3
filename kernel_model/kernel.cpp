// kernel_model/kernel.cpp — syscall entry points: fd lookup, argument checks with Linux's errno, and dispatch
// to the file or socket (net/socket.c __sys_* and fs/ fcntl, dup, close, read_write).
#include "kernel_model/kernel.hpp"

#include "iosim/assert.hpp"
#include "kernel_model/af_unix.hpp"
#include "kernel_model/iocp.hpp"
#include "kernel_model/pipe.hpp"
#include "kernel_model/socket.hpp"
#include "kernel_model/tcp.hpp"

namespace iosim::kernel {

kernel::kernel(sim::Runtime& runtime, kernel_config config)
    : runtime_(runtime), config_(config), files_(config.fd_count_max), net_(std::make_unique<loopback_net>(*this)),
      fault_prng_(config.fault_seed) {
  name_timeout_ = intern("timeout");
  name_select_ = intern("select");
  name_poll_ = intern("poll");
  name_select_slack_ = intern("select.slack_ns");
  name_poll_slack_ = intern("poll.slack_ns");
  name_kernel_ = intern("sigpipe");
  name_fd_install_ = intern("fd.install");
  name_fd_close_ = intern("fd.close");
}

kernel::~kernel() {
  tearing_down_ = true;
  for (int fd = 0; fd < files_.max_fds(); ++fd) files_.close_fd(fd);
  net_.reset();
  iocp_.reset();  // after every port is gone: removes the scheduler's block hook
}

void kernel::trace_event(std::uint32_t what, std::uint32_t object, std::int64_t arg0, std::int64_t arg1) {
  trace().record({runtime_.now_ns(), runtime_.current(), sim::EventKind::kernel, what, object, arg0, arg1});
}

bool kernel::fault(double probability, std::uint32_t fault_name, std::uint32_t object) {
  if (probability <= 0 || !fault_prng_.bernoulli(probability)) return false;
  trace().record({runtime_.now_ns(), runtime_.current(), sim::EventKind::fault, fault_name, object, 0, 0});
  return true;
}

void kernel::send_sigpipe() {
  trace().record({runtime_.now_ns(), runtime_.current(), sim::EventKind::kernel, name_kernel_, 0, 0, 0});
}

int kernel::autoremove_wake_function(wait_queue_entry* wq_entry, unsigned mode, int wake_flags, void* key) {
  const int woken = default_wake_function(wq_entry, mode, wake_flags, key);
  if (woken) wq_entry->entry.unlink();
  return woken;
}

void kernel::schedule_timeout(std::uint32_t channel, std::int64_t deadline_ns) {
  sim::TimerId timer;
  if (deadline_ns >= 0) {
    const sim::task_id task = runtime_.current();
    sim::Runtime* runtime = &runtime_;
    const std::uint32_t name = name_timeout_;
    timer = runtime_.add_timer(deadline_ns, name_timeout_, [runtime, task, name] { runtime->wake(task, name); });
  }
  runtime_.block(channel);
  runtime_.cancel_timer(timer);
}

int kernel::install_fd(file_ref f, int flags) {
  const std::uint32_t name = f->name();
  return traced_install(files_.alloc_fd(std::move(f), (flags & O::CLOEXEC) != 0), name);
}

// fd.install / fd.close name the file behind an fd number while a syscall changes the table, so an analysis
// of the trace (iosim graph) can tell which file a later call on that number meant.
int kernel::traced_install(int fd, std::uint32_t file_name) {
  if (fd >= 0) trace_event(name_fd_install_, file_name, fd);
  return fd;
}

socket* kernel::sockfd_lookup(int fd, int* error, file_ref* keep) {
  *keep = files_.fget(fd);
  if (!*keep) {
    *error = -E::BADF;
    return nullptr;
  }
  socket* sock = (*keep)->as_socket();
  if (!sock) *error = -E::NOTSOCK;
  return sock;
}

int kernel::sys_socket(int domain, int type, int protocol) {
  // Linux __sys_socket: flags outside SOCK_NONBLOCK|SOCK_CLOEXEC are EINVAL; then the family decides.
  const int flags = type & ~SOCK::type_mask;
  if (flags & ~(SOCK::NONBLOCK | SOCK::CLOEXEC)) return -E::INVAL;
  const int kind = type & SOCK::type_mask;
  if (domain == AF::UNIX) return -E::AFNOSUPPORT;  // iosim models AF_UNIX through socketpair() only
  if (domain != AF::INET) return -E::AFNOSUPPORT;
  if (kind != SOCK::STREAM) return -E::PROTONOSUPPORT;  // iosim models TCP only (no UDP yet)
  if (protocol != 0 && protocol != IPPROTO::TCP) return -E::PROTONOSUPPORT;
  const int f_flags = O::RDWR | ((flags & SOCK::NONBLOCK) ? O::NONBLOCK : 0);
  return install_fd(make_file<tcp_socket>(*this, f_flags, net_->create_sock()), flags);
}

int kernel::sys_socketpair(int domain, int type, int protocol, int sv[2]) {
  const int flags = type & ~SOCK::type_mask;
  if (flags & ~(SOCK::NONBLOCK | SOCK::CLOEXEC)) return -E::INVAL;
  if (domain == AF::INET) return (type & SOCK::type_mask) == SOCK::STREAM ? -E::OPNOTSUPP : -E::PROTONOSUPPORT;
  if (domain != AF::UNIX) return -E::AFNOSUPPORT;
  if ((type & SOCK::type_mask) != SOCK::STREAM) return -E::PROTONOSUPPORT;  // iosim: stream only
  if (protocol != 0) return -E::PROTONOSUPPORT;
  if (files_.open_count() + 2 > files_.fd_count_max()) return -E::MFILE;
  file_ref first, second;
  const int error = unix_stream_socketpair(*this, flags, &first, &second);
  if (error < 0) return error;
  sv[0] = install_fd(std::move(first), flags);
  sv[1] = install_fd(std::move(second), flags);
  return 0;
}

int kernel::sys_pipe2(int fds[2], int flags) {
  if (flags & ~(O::NONBLOCK | O::CLOEXEC)) return -E::INVAL;
  if (files_.open_count() + 2 > files_.fd_count_max()) return -E::MFILE;
  file_ref read_end, write_end;
  const int error = create_pipe(*this, flags, &read_end, &write_end);
  if (error < 0) return error;
  fds[0] = install_fd(std::move(read_end), flags);
  fds[1] = install_fd(std::move(write_end), flags);
  return 0;
}

int kernel::sys_bind(int fd, const SockAddr& addr) {
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  return sock ? sock->bind(addr) : error;
}

int kernel::sys_listen(int fd, int backlog) {
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  return sock ? sock->listen(backlog) : error;
}

int kernel::sys_accept4(int fd, SockAddr* peer, int flags) {
  // Linux __sys_accept4: bad flags first, then the fd is reserved before waiting (EMFILE leaves the
  // connection queued).
  if (flags & ~(SOCK::NONBLOCK | SOCK::CLOEXEC)) return -E::INVAL;
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  if (!sock) return error;
  if (files_.open_count() >= files_.fd_count_max()) return -E::MFILE;
  file_ref accepted;
  error = sock->accept(&accepted, peer, flags);
  if (error < 0) return error;
  return install_fd(std::move(accepted), flags);
}

int kernel::sys_connect(int fd, const SockAddr& addr) {
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  return sock ? sock->connect(addr) : error;
}

long kernel::sys_sendto(int fd, const void* buf, std::size_t len, int flags) {
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  return sock ? sock->sendmsg(buf, len, flags) : error;
}

long kernel::sys_recvfrom(int fd, void* buf, std::size_t len, int flags) {
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  return sock ? sock->recvmsg(buf, len, flags) : error;
}

long kernel::sys_read(int fd, void* buf, std::size_t len) {
  const file_ref f = files_.fget(fd);
  return f ? f->read(buf, len) : -E::BADF;
}

long kernel::sys_write(int fd, const void* buf, std::size_t len) {
  const file_ref f = files_.fget(fd);
  return f ? f->write(buf, len) : -E::BADF;
}

int kernel::sys_shutdown(int fd, int how) {
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  return sock ? sock->shutdown(how) : error;
}

void kernel::replace_fd(int fd, file_ref f) {
  const file* old = files_.fget_light(fd);
  IOSIM_ASSERT(old != nullptr, "replace_fd of a closed fd");
  trace_event(name_fd_close_, old->name(), fd);
  const std::uint32_t name = f->name();
  files_.replace_fd(fd, std::move(f));
  traced_install(fd, name);
}

int kernel::sys_close(int fd) {
  const file* f = files_.fget_light(fd);
  if (!f) return files_.close_fd(fd);
  trace_event(name_fd_close_, f->name(), fd);
  return files_.close_fd(fd);
}

int kernel::sys_name_fd(int fd, std::string_view label) {
  const file_ref f = files_.fget(fd);
  if (!f) return -E::BADF;
  f->set_label(label);
  trace_event(intern("fd.name"), f->name(), fd);  // interned here, so runs that name nothing keep their ids
  return 0;
}

int kernel::sys_dup(int fd) {
  file_ref f = files_.fget(fd);
  if (!f) return -E::BADF;
  const std::uint32_t name = f->name();
  return traced_install(files_.alloc_fd(std::move(f), false), name);  // Linux dup: never FD_CLOEXEC
}

int kernel::sys_fcntl(int fd, int cmd, int arg) {
  // Linux do_fcntl for the commands iosim models; F_SETFL changes only O_NONBLOCK (and O_APPEND, O_ASYNC,
  // O_DIRECT, O_NOATIME, which iosim does not model); the access mode cannot change.
  const file_ref f = files_.fget(fd);
  if (!f) return -E::BADF;
  switch (cmd) {
    case F::GETFL: return f->f_flags;
    case F::SETFL: f->f_flags = (f->f_flags & ~O::NONBLOCK) | (arg & O::NONBLOCK); return 0;
    case F::GETFD: return files_.cloexec(fd) ? F::FD_CLOEXEC_ : 0;
    case F::SETFD: files_.set_cloexec(fd, (arg & F::FD_CLOEXEC_) != 0); return 0;
    case F::DUPFD: {
      if (arg < 0 || arg >= files_.fd_count_max()) return -E::INVAL;
      return traced_install(files_.alloc_fd_from(f, arg), f->name());
    }
    default: return -E::INVAL;
  }
}

int kernel::sys_getsockopt(int fd, int level, int name, int* value) {
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  if (!sock) return error;
  return level == SOL::SOCKET ? sock->getsockopt_socket(name, value) : sock->getsockopt_proto(level, name, value);
}

int kernel::sys_setsockopt(int fd, int level, int name, int value) {
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  if (!sock) return error;
  return level == SOL::SOCKET ? sock->setsockopt_socket(name, value) : sock->setsockopt_proto(level, name, value);
}

int kernel::sys_set_linger(int fd, bool on, int linger_seconds) {
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  return sock ? sock->set_linger(on, linger_seconds) : error;
}

int kernel::sys_getsockname(int fd, SockAddr* addr) {
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  return sock ? sock->getname(addr, false) : error;
}

int kernel::sys_getpeername(int fd, SockAddr* addr) {
  int error = 0;
  file_ref keep;
  socket* sock = sockfd_lookup(fd, &error, &keep);
  return sock ? sock->getname(addr, true) : error;
}

}  // namespace iosim::kernel
