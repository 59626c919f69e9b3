// scenarios/proactor/proactor_epoll.cpp — the Proactor emulated over level-triggered epoll, as Boost.Asio's
// reactive_socket_service does on Linux: readiness is turned into completion by performing the operation in
// user space, on a non-blocking socket.
//
// Each socket has a FIFO of reads (accepts count as reads) and one of writes. Starting an operation first
// tries it at once when nothing is queued ahead of it (Asio's speculative read/write: often the data is
// already there and no epoll round trip is needed); a done operation goes to `ready_`, never straight to its
// handler. What would block waits in its queue, and the socket is registered for exactly the directions
// that have waiting operations — removed from epoll while none wait, because EPOLLERR and EPOLLHUP are
// reported whatever the interest, and a level-triggered hang-up nobody asked about would spin the loop.
// Lock discipline: none; everything runs on the thread in run().
#include <fmt/format.h>

#include <deque>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "scenarios/proactor/proactor.hpp"

namespace iosim::proactor {
namespace {

constexpr int epoll_events_max = 64;

enum class Kind : std::uint8_t { accept, read, write };
enum class Attempt : std::uint8_t { done, would_block };

struct Op {
  Kind kind = Kind::read;
  char* data = nullptr;
  std::size_t len = 0;
  std::size_t transferred = 0;
  int accepted = -1;
  AcceptHandler on_accept;
  IoHandler on_io;
};

struct Descriptor {
  std::deque<Op> reads;  // accepts and reads, in issue order
  std::deque<Op> writes;
  std::uint32_t registered = 0;  // the events epoll watches for it; 0 = not in the epoll set
};

struct Ready {
  Op op;
  Result result;
};

Result errno_result(std::string_view call, int error) {
  Status status = Status::failed;
  if (error == E::CONNRESET || error == E::PIPE || error == E::CONNABORTED) status = Status::reset;
  return {status, fmt::format("{}: {}", call, errno_name(error))};
}

class EpollProactor final : public Proactor {
 public:
  EpollProactor(Os& os, int epoll_fd) : os_(os), epoll_fd_(epoll_fd), events_(epoll_events_max) {}
  ~EpollProactor() override;
  std::string_view name() const override { return "epoll"; }
  int listen_loopback(int backlog, std::uint16_t* port) override;
  void async_accept(int listener, AcceptHandler handler) override;
  void async_read(int socket, void* buffer, std::size_t len, IoHandler handler) override;
  void async_write(int socket, const void* data, std::size_t len, IoHandler handler) override;
  void close(int socket) override;
  bool run() override;

 private:
  void start(int socket, Op op);
  // One non-blocking attempt of `op` (retrying EINTR); sets `result` when done.
  Attempt attempt(int socket, Op& op, Result& result);
  Attempt attempt_accept(int socket, Op& op, Result& result);
  Attempt attempt_read(int socket, Op& op, Result& result);
  Attempt attempt_write(int socket, Op& op, Result& result);
  // Performs the queued operations of `queue` in order until one would block.
  void perform(int socket, std::deque<Op>& queue);
  bool update_interest(int socket, Descriptor& descriptor);
  bool fail(std::string_view call);

  Os& os_;
  int epoll_fd_;
  std::vector<epoll_event> events_;
  std::map<int, Descriptor> descriptors_;  // by fd
  std::deque<Ready> ready_;                // done, handler not yet run
  std::size_t queued_ = 0;                 // operations waiting in descriptors_
  std::set<int> sockets_;                  // created here and not closed yet
};

EpollProactor::~EpollProactor() {
  for (const int socket : sockets_) os_.close(socket);
  os_.close(epoll_fd_);
}

bool EpollProactor::fail(std::string_view call) {
  if (error_.empty()) error_ = fmt::format("{}: {}", call, errno_name(os_.last_errno()));
  return false;
}

int EpollProactor::listen_loopback(int backlog, std::uint16_t* port) {
  const int fd = os_.socket(AF::INET, SOCK::STREAM | SOCK::NONBLOCK, 0);
  if (fd < 0) return fail("socket"), -1;
  SockAddr local{loopback_ip, 0};
  if (os_.bind(fd, local) < 0 || os_.listen(fd, backlog) < 0 || os_.getsockname(fd, &local) < 0) {
    fail("listen");
    os_.close(fd);
    return -1;
  }
  sockets_.insert(fd);
  *port = local.port;
  return fd;
}

Attempt EpollProactor::attempt_accept(int socket, Op& op, Result& result) {
  for (;;) {
    const int fd = os_.accept4(socket, nullptr, SOCK::NONBLOCK);
    if (fd >= 0) {
      op.accepted = fd;
      sockets_.insert(fd);
      return Attempt::done;
    }
    const int error = os_.last_errno();
    if (error == E::AGAIN) return Attempt::would_block;
    if (error == E::INTR || error == E::CONNABORTED) continue;  // reset while queued: take the next one
    result = errno_result("accept4", error);
    return Attempt::done;
  }
}

Attempt EpollProactor::attempt_read(int socket, Op& op, Result& result) {
  for (;;) {
    const long n = os_.recv(socket, op.data, op.len, 0);
    if (n >= 0) {
      op.transferred = static_cast<std::size_t>(n);
      return Attempt::done;
    }
    const int error = os_.last_errno();
    if (error == E::AGAIN) return Attempt::would_block;
    if (error == E::INTR) continue;
    result = errno_result("recv", error);
    return Attempt::done;
  }
}

// Writes until every byte is gone ("done") or the socket is full; a partial write stays queued.
Attempt EpollProactor::attempt_write(int socket, Op& op, Result& result) {
  while (op.transferred < op.len) {
    const long n = os_.send(socket, op.data + op.transferred, op.len - op.transferred, MSG::NOSIGNAL);
    if (n >= 0) {
      op.transferred += static_cast<std::size_t>(n);
      continue;
    }
    const int error = os_.last_errno();
    if (error == E::AGAIN) return Attempt::would_block;
    if (error == E::INTR) continue;
    result = errno_result("send", error);
    return Attempt::done;
  }
  return Attempt::done;
}

Attempt EpollProactor::attempt(int socket, Op& op, Result& result) {
  switch (op.kind) {
    case Kind::accept:
      return attempt_accept(socket, op, result);
    case Kind::read:
      return attempt_read(socket, op, result);
    case Kind::write:
      return attempt_write(socket, op, result);
  }
  return Attempt::done;
}

void EpollProactor::perform(int socket, std::deque<Op>& queue) {
  while (!queue.empty()) {
    Result result;
    if (attempt(socket, queue.front(), result) == Attempt::would_block) return;
    ready_.push_back({std::move(queue.front()), std::move(result)});
    queue.pop_front();
    --queued_;
  }
}

bool EpollProactor::update_interest(int socket, Descriptor& descriptor) {
  const std::uint32_t wanted =
      (descriptor.reads.empty() ? 0 : EPOLL::IN) | (descriptor.writes.empty() ? 0 : EPOLL::OUT);
  if (wanted == descriptor.registered) return true;
  const int op = wanted == 0 ? EPOLL::CTL_DEL : descriptor.registered == 0 ? EPOLL::CTL_ADD : EPOLL::CTL_MOD;
  epoll_event event{wanted, static_cast<std::uint64_t>(socket)};
  if (os_.epoll_ctl(epoll_fd_, op, socket, &event) < 0) return fail("epoll_ctl");
  descriptor.registered = wanted;
  return true;
}

// Queues `op`; when nothing of its direction waits ahead of it, tries it at once.
void EpollProactor::start(int socket, Op op) {
  Descriptor& descriptor = descriptors_[socket];
  std::deque<Op>& queue = op.kind == Kind::write ? descriptor.writes : descriptor.reads;
  queue.push_back(std::move(op));
  ++queued_;
  if (queue.size() == 1) perform(socket, queue);
  update_interest(socket, descriptor);
}

void EpollProactor::async_accept(int listener, AcceptHandler handler) {
  Op op;
  op.kind = Kind::accept;
  op.on_accept = std::move(handler);
  start(listener, std::move(op));
}

void EpollProactor::async_read(int socket, void* buffer, std::size_t len, IoHandler handler) {
  Op op;
  op.kind = Kind::read;
  op.data = static_cast<char*>(buffer);
  op.len = len;
  op.on_io = std::move(handler);
  start(socket, std::move(op));
}

void EpollProactor::async_write(int socket, const void* data, std::size_t len, IoHandler handler) {
  Op op;
  op.kind = Kind::write;
  op.data = const_cast<char*>(static_cast<const char*>(data));  // send only reads it
  op.len = len;
  op.on_io = std::move(handler);
  start(socket, std::move(op));
}

// Out of epoll first, then the waiting operations to `ready_` as aborted, then close(2).
void EpollProactor::close(int socket) {
  const auto found = descriptors_.find(socket);
  if (found != descriptors_.end()) {
    Descriptor& descriptor = found->second;
    if (descriptor.registered != 0 && os_.epoll_ctl(epoll_fd_, EPOLL::CTL_DEL, socket, nullptr) < 0) {
      fail("epoll_ctl");
    }
    for (std::deque<Op>* queue : {&descriptor.reads, &descriptor.writes}) {
      for (Op& op : *queue) ready_.push_back({std::move(op), {Status::aborted, "close: operation aborted"}});
      queued_ -= queue->size();
    }
    descriptors_.erase(found);
  }
  sockets_.erase(socket);
  if (os_.close(socket) < 0) fail("close");
}

bool EpollProactor::run() {
  while (queued_ > 0 || !ready_.empty()) {
    while (!ready_.empty()) {
      Ready ready = std::move(ready_.front());
      ready_.pop_front();
      if (ready.op.kind == Kind::accept) {
        ready.op.on_accept(ready.result, ready.result.ok() ? ready.op.accepted : -1);
      } else {
        ready.op.on_io(ready.result, ready.op.transferred);
      }
    }
    if (!error_.empty()) return false;
    if (queued_ == 0) break;
    const int n = os_.epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), -1);
    if (n < 0) {
      if (os_.last_errno() == E::INTR) continue;
      return fail("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const int socket = static_cast<int>(events_[static_cast<std::size_t>(i)].data);
      const std::uint32_t events = events_[static_cast<std::size_t>(i)].events;
      Descriptor& descriptor = descriptors_.at(socket);  // no handler ran since epoll_wait: none closed
      if (events & (EPOLL::IN | EPOLL::ERR | EPOLL::HUP)) perform(socket, descriptor.reads);
      if (events & (EPOLL::OUT | EPOLL::ERR | EPOLL::HUP)) perform(socket, descriptor.writes);
      if (!update_interest(socket, descriptor)) return false;
    }
  }
  return error_.empty();
}

}  // namespace

std::unique_ptr<Proactor> make_epoll_proactor(Os& os, std::string* error) {
  const int epoll_fd = os.epoll_create1(EPOLL::CLOEXEC);
  if (epoll_fd < 0) {
    *error = fmt::format("epoll_create1: {}", errno_name(os.last_errno()));
    return nullptr;
  }
  return std::make_unique<EpollProactor>(os, epoll_fd);
}

}  // namespace iosim::proactor
