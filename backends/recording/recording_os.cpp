// backends/recording/recording_os.cpp — RecordingOs: each recorded call runs on the inner Os first, then its
// outcome is copied into an IoEvent and appended under the mutex (see recording_os.hpp for the fd
// discipline).
#include "backends/recording/recording_os.hpp"

#include <algorithm>
#include <span>

namespace iosim {
namespace {

// The name given to RecordingOs::thread_create for this OS thread (native backends run one OS thread each).
thread_local std::string recorded_thread_name = "main";

std::vector<std::byte> copy_bytes(const void* buffer, long count) {
  if (count <= 0) return {};
  const auto* bytes = static_cast<const std::byte*>(buffer);
  return {bytes, bytes + count};
}

nlohmann::json ready_fds(const fd_set* set, int nfds) {
  nlohmann::json fds = nlohmann::json::array();
  if (set == nullptr) return fds;
  for (int fd = 0; fd < std::min(nfds, FD_SETSIZE_); ++fd) {
    if (set->is_set(fd)) fds.push_back(fd);
  }
  return fds;
}

}  // namespace

RecordingOs::RecordingOs(Os& inner, RecordingHooks hooks) : inner_(inner), hooks_(std::move(hooks)) {
  origin_ns_ = now_ns();
}

std::int64_t RecordingOs::now_ns() {
  return hooks_.clock_ns ? hooks_.clock_ns() : inner_.monotonic_ns();
}

std::vector<IoEvent> RecordingOs::take_events() {
  std::lock_guard lock(mutex_);
  return std::move(events_);
}

int RecordingOs::connections_accepted() const {
  std::lock_guard lock(mutex_);
  return accepted_;
}

IoEvent RecordingOs::outcome(std::string_view kind, int fd, long result) {
  IoEvent event;
  event.kind = kind;
  event.fd = fd;
  event.result = result < 0 ? -1 : result;
  event.error = result < 0 ? inner_.last_errno() : 0;
  return event;
}

void RecordingOs::append(IoEvent event, bool look_up_conn) {
  event.thread = hooks_.thread_name ? hooks_.thread_name() : recorded_thread_name;
  std::lock_guard lock(mutex_);
  event.seq = events_.size() + 1;
  // Read under the lock, so the times of successive events never go backwards.
  event.t_ns = std::max<std::int64_t>(0, now_ns() - origin_ns_);
  if (look_up_conn && event.conn == 0 && event.fd >= 0) {
    const auto found = conn_of_fd_.find(event.fd);
    if (found != conn_of_fd_.end()) event.conn = found->second;
  }
  events_.push_back(std::move(event));
}

int RecordingOs::socket(int domain, int type, int protocol) {
  const int result = inner_.socket(domain, type, protocol);
  append(outcome("socket", -1, result));
  return result;
}

int RecordingOs::bind(int fd, const SockAddr& addr) {
  const int result = inner_.bind(fd, addr);
  append(outcome("bind", fd, result));
  return result;
}

int RecordingOs::listen(int fd, int backlog) {
  const int result = inner_.listen(fd, backlog);
  append(outcome("listen", fd, result));
  return result;
}

int RecordingOs::accept4(int fd, SockAddr* peer, int flags) {
  const int result = inner_.accept4(fd, peer, flags);
  IoEvent event = outcome("accept4", fd, result);
  if (result >= 0) {
    std::lock_guard lock(mutex_);
    event.conn = ++accepted_;
    conn_of_fd_[result] = event.conn;
  }
  append(std::move(event));
  return result;
}

long RecordingOs::send(int fd, const void* buf, std::size_t len, int flags) {
  const long result = inner_.send(fd, buf, len, flags);
  IoEvent event = outcome("send", fd, result);
  event.data = copy_bytes(buf, result);
  append(std::move(event));
  return result;
}

long RecordingOs::recv(int fd, void* buf, std::size_t len, int flags) {
  const long result = inner_.recv(fd, buf, len, flags);
  IoEvent event = outcome("recv", fd, result);
  event.data = copy_bytes(buf, result);
  append(std::move(event));
  return result;
}

long RecordingOs::read(int fd, void* buf, std::size_t len) {
  const long result = inner_.read(fd, buf, len);
  IoEvent event = outcome("read", fd, result);
  event.data = copy_bytes(buf, result);
  append(std::move(event));
  return result;
}

long RecordingOs::write(int fd, const void* buf, std::size_t len) {
  const long result = inner_.write(fd, buf, len);
  IoEvent event = outcome("write", fd, result);
  event.data = copy_bytes(buf, result);
  append(std::move(event));
  return result;
}

int RecordingOs::shutdown(int fd, int how) {
  const int result = inner_.shutdown(fd, how);
  IoEvent event = outcome("shutdown", fd, result);
  event.detail["how"] = how;
  append(std::move(event));
  return result;
}

int RecordingOs::close(int fd) {
  int conn = 0;
  {
    std::lock_guard lock(mutex_);
    if (const auto found = conn_of_fd_.find(fd); found != conn_of_fd_.end()) {
      conn = found->second;
      conn_of_fd_.erase(found);
    }
  }
  const int result = inner_.close(fd);
  IoEvent event = outcome("close", fd, result);
  event.conn = conn;
  // The fd may already belong to a new connection: record the old one, never look the fd up again.
  append(std::move(event), false);
  return result;
}

int RecordingOs::dup(int fd) {
  const int result = inner_.dup(fd);
  IoEvent event = outcome("dup", fd, result);
  if (result >= 0) {
    std::lock_guard lock(mutex_);
    if (const auto found = conn_of_fd_.find(fd); found != conn_of_fd_.end())
      conn_of_fd_[result] = found->second;
  }
  append(std::move(event));
  return result;
}

int RecordingOs::select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) {
  const int result = inner_.select(nfds, readfds, writefds, exceptfds, timeout);
  IoEvent event = outcome("select", -1, result);
  const int ready_nfds = result > 0 ? nfds : 0;
  event.detail["read"] = ready_fds(readfds, ready_nfds);
  event.detail["write"] = ready_fds(writefds, ready_nfds);
  event.detail["except"] = ready_fds(exceptfds, ready_nfds);
  append(std::move(event));
  return result;
}

int RecordingOs::poll(pollfd* fds, std::size_t nfds, int timeout_ms) {
  const int result = inner_.poll(fds, nfds, timeout_ms);
  IoEvent event = outcome("poll", -1, result);
  nlohmann::json entries = nlohmann::json::array();
  for (std::size_t i = 0; result >= 0 && i < nfds; ++i)
    entries.push_back({fds[i].fd, fds[i].events, fds[i].revents});
  event.detail["fds"] = std::move(entries);
  append(std::move(event));
  return result;
}

int RecordingOs::epoll_create1(int flags) {
  const int result = inner_.epoll_create1(flags);
  append(outcome("epoll_create1", -1, result));
  return result;
}

int RecordingOs::epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  const int result = inner_.epoll_ctl(epfd, op, fd, event);
  IoEvent recorded = outcome("epoll_ctl", epfd, result);
  recorded.detail["op"] = op;
  recorded.detail["target"] = fd;
  recorded.detail["events"] = event != nullptr ? event->events : 0;
  append(std::move(recorded));
  return result;
}

int RecordingOs::epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  const int result = inner_.epoll_wait(epfd, events, maxevents, timeout_ms);
  IoEvent event = outcome("epoll_wait", epfd, result);
  nlohmann::json ready = nlohmann::json::array();
  for (int i = 0; i < result; ++i) ready.push_back({events[i].events, events[i].data});
  event.detail["events"] = std::move(ready);
  append(std::move(event));
  return result;
}

int RecordingOs::eventfd(unsigned int initval, int flags) {
  const int result = inner_.eventfd(initval, flags);
  append(outcome("eventfd", -1, result));
  return result;
}

std::unique_ptr<Thread> RecordingOs::thread_create(std::string name, std::function<void()> body) {
  return inner_.thread_create(name, [name, body = std::move(body)] {
    recorded_thread_name = name;
    body();
  });
}

}  // namespace iosim
