// examples/echo_server/echo_server.cpp — the acceptor thread accepts Options::connections connections and
// starts one worker per connection; a worker echoes until its client half-closes, then closes.
#include "echo_server.hpp"

#include <algorithm>
#include <string>

namespace echo {
namespace {

// A blocking call interrupted by a signal (EINTR, which IOSIM_FAULTS=eintr=P injects) did nothing: call it
// again. Any other failure, or a result >= 0, is the caller's.
template <typename Call>
long retrying_eintr(iosim::Os& os, Call call) {
  for (;;) {
    const long result = call();
    if (result >= 0 || os.last_errno() != iosim::E::INTR) return result;
  }
}

bool send_all(iosim::Os& os, int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const long sent = retrying_eintr(os, [&] { return os.send(fd, data, size, iosim::MSG::NOSIGNAL); });
    if (sent <= 0) return false;
    data += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

}  // namespace

EchoServer::EchoServer(iosim::Os& os, Options options)
    : os_(os), options_(options), mutex_(os.mutex_create("bytes_echoed")) {}

EchoServer::~EchoServer() {
  wait();
}

iosim::SockAddr EchoServer::start() {
  listener_ = os_.socket(iosim::AF::INET, iosim::SOCK::STREAM, 0);
  iosim::SockAddr address{iosim::loopback_ip, 0};
  // Names show in iosim's traces, graphs and deadlock listings: tcp#1(listener), not tcp#1.
  if (listener_ < 0 || os_.name_fd(listener_, "listener") != 0 || os_.bind(listener_, address) != 0 || os_.listen(listener_, options_.backlog) != 0 ||
      os_.getsockname(listener_, &address) != 0) {
    return {};
  }
  acceptor_ = os_.thread_create("acceptor", [this] { accept_loop(); });
  return address;
}

void EchoServer::wait() {
  if (!acceptor_) return;
  acceptor_->join();
  acceptor_.reset();
  for (auto& worker : workers_) worker->join();
  workers_.clear();
}

void EchoServer::accept_loop() {
  for (int served = 0; served < options_.connections; ++served) {
    const int fd = static_cast<int>(retrying_eintr(os_, [this] { return os_.accept4(listener_, nullptr, 0); }));
    if (fd < 0) break;
    os_.name_fd(fd, "connection " + std::to_string(served + 1));
    workers_.push_back(os_.thread_create("worker", [this, fd] { serve(fd); }));
  }
  os_.close(listener_);
}

void EchoServer::serve(int fd) {
  char buffer[4096];
  for (;;) {
    const long got = retrying_eintr(os_, [&] { return os_.recv(fd, buffer, sizeof buffer, 0); });
    if (got <= 0) break;
    const std::uint64_t seen_before_send = bytes_echoed_;
    if (!send_all(os_, fd, buffer, static_cast<std::size_t>(got))) break;
    count(got, seen_before_send);
  }
  os_.close(fd);
}

void EchoServer::count(long bytes, std::uint64_t seen_before_send) {
  if (options_.racy_byte_count) {
    // The bug: the total read before send() is stored back after it; another worker's update in between is
    // lost.
    bytes_echoed_ = seen_before_send + static_cast<std::uint64_t>(bytes);
    return;
  }
  iosim::LockGuard lock(*mutex_);
  bytes_echoed_ += static_cast<std::uint64_t>(bytes);
}

std::vector<char> echo_round_trip(iosim::Os& os, iosim::SockAddr server, const std::vector<char>& message,
                                  std::size_t chunk_bytes) {
  const int fd = os.socket(iosim::AF::INET, iosim::SOCK::STREAM, 0);
  if (fd < 0 || os.connect(fd, server) != 0) return {};
  for (std::size_t offset = 0; offset < message.size(); offset += chunk_bytes) {
    const std::size_t size = std::min(chunk_bytes, message.size() - offset);
    if (!send_all(os, fd, message.data() + offset, size)) return {};
  }
  os.shutdown(fd, iosim::SHUT::WR);
  std::vector<char> received;
  char buffer[4096];
  for (long got; (got = retrying_eintr(os, [&] { return os.recv(fd, buffer, sizeof buffer, 0); })) > 0;)
    received.insert(received.end(), buffer, buffer + got);
  os.close(fd);
  return received;
}

}  // namespace echo
