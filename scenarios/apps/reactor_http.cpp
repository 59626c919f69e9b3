// scenarios/apps/reactor_http.cpp — an HTTP/1.0 server on the Reactor (scenarios/reactor). Each connection is
// a small state machine: reading the request head → writing the response → closed. No keep-alive.
//
// The I/O model is the Reactor's (level-triggered epoll, handlers that never block). What HTTP adds is
// framing: bytes arrive in whatever pieces TCP delivers, so the server appends each recv to the connection's
// buffer and looks for the blank line ("\r\n\r\n") that ends a request head; only then does it know the
// request and build the response (scenarios/http_protocol.hpp). The response goes out through the same
// non-blocking send loop as an echo: what the socket does not take now waits for EPOLLOUT.
//
// HTTP/1.0 without keep-alive: one request per connection, and the server closes once the response is sent.
// The close is part of the protocol — the client reads until end of file — and it makes the connection count
// simple: every request is one connection served. Two limits protect the server from a client that never
// finishes its head: request_bytes_max (a head that does not fit is answered 431 and closed) and
// request_timeout_ms (a reactor timer per connection; a head still incomplete when it fires is dropped, the
// defence against slowloris-style clients).
#include <map>
#include <string>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"
#include "scenarios/http_protocol.hpp"
#include "scenarios/reactor/reactor.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam request_timeout_param{"request_timeout_ms", 10'000, 1, 3'600'000,
                                         "time a client has to send its whole request head"};
constexpr AppParam request_bytes_param{"request_bytes_max", 8192, 64, 1 << 20,
                                       "largest request head accepted; a longer one is answered 431"};
constexpr AppParam body_bytes_param{"body_bytes_max", http_body_bytes_max, 0, http_body_bytes_max,
                                    "largest /bytes/<n> body served; a larger n is answered 404"};
constexpr AppParam params[] = {backlog_param,    read_chunk_param,      tcp_nodelay_param,
                               max_events_param, request_timeout_param, request_bytes_param,
                               body_bytes_param};

struct HttpConnection {
  int fd = -1;
  std::string head;      // request bytes received so far (reading state)
  std::string response;  // set once the head is complete (writing state)
  std::size_t response_sent = 0;
  reactor::TimerId request_timer;
  bool responding() const { return !response.empty(); }
};

enum class Progress { waiting, done, failed };

class ReactorHttpServer {
 public:
  explicit ReactorHttpServer(AppContext& ctx)
      : ctx_(ctx),
        reactor_(ctx.os, static_cast<int>(param_int(ctx.params, max_events_param))),
        request_timeout_ns_(param_int(ctx.params, request_timeout_param) * 1'000'000),
        request_bytes_max_(static_cast<std::size_t>(param_int(ctx.params, request_bytes_param))),
        body_bytes_max_(param_int(ctx.params, body_bytes_param)),
        scratch_(static_cast<std::size_t>(param_int(ctx.params, read_chunk_param))) {}

  void run();

 private:
  void on_listener(std::uint32_t events);
  void on_connection(int fd, std::uint32_t events);
  Progress read_head(HttpConnection& connection);
  Progress write_response(HttpConnection& connection);
  void start_response(HttpConnection& connection, std::string response);
  void finish(int fd);
  bool check(bool ok);

  AppContext& ctx_;
  reactor::Reactor reactor_;
  std::int64_t request_timeout_ns_;
  std::size_t request_bytes_max_;
  std::int64_t body_bytes_max_;
  std::vector<char> scratch_;
  int listen_fd_ = -1;
  int accepted_ = 0;
  int finished_ = 0;
  std::map<int, HttpConnection> connections_;  // by fd
};

bool ReactorHttpServer::check(bool ok) {
  if (!ok) {
    if (ctx_.error.empty()) ctx_.error = reactor_.error();
    reactor_.stop();
  }
  return ok;
}

void ReactorHttpServer::on_listener(std::uint32_t) {
  while (accepted_ < ctx_.connections) {
    const int fd = accept_nonblocking(ctx_, listen_fd_);
    if (fd < 0) {
      if (!ctx_.error.empty()) reactor_.stop();  // accept4 failed; otherwise the queue is just empty
      return;
    }
    HttpConnection& connection = connections_[fd];
    connection.fd = fd;
    ++accepted_;
    if (!configure_connection(ctx_, fd)) {
      reactor_.stop();
      return;
    }
    if (!check(reactor_.add(fd, reactor::readable,
                            [this, fd](std::uint32_t events) { on_connection(fd, events); }))) {
      return;
    }
    // Dropped if the head is not complete in time; cancelled when it is.
    connection.request_timer = reactor_.add_timer(request_timeout_ns_, [this, fd] { finish(fd); });
  }
  check(reactor_.remove(listen_fd_));  // every wanted connection is here
}

// One recv (level-triggered: more is reported again), appended to the head; done once the blank line is in.
Progress ReactorHttpServer::read_head(HttpConnection& connection) {
  const long received = ctx_.os.recv(connection.fd, scratch_.data(), scratch_.size(), 0);
  if (received < 0) {
    const int error = ctx_.os.last_errno();
    if (error == E::AGAIN || error == E::INTR) return Progress::waiting;
    fail(ctx_, "recv");
    return Progress::failed;
  }
  // End of file before the blank line: the client left before finishing its request; nothing to answer.
  if (received == 0) return Progress::done;
  // The blank line may straddle two recvs: search from three bytes before the new data.
  const std::size_t search_from = connection.head.size() < 3 ? 0 : connection.head.size() - 3;
  connection.head.append(scratch_.data(), static_cast<std::size_t>(received));
  const std::size_t end = connection.head.find(http::head_end, search_from);
  if (end != std::string::npos && end + http::head_end.size() <= request_bytes_max_) {
    // A GET has no body, and HTTP/1.0 without keep-alive has no second request: bytes after the head are
    // not expected, and would be dropped with the connection.
    start_response(connection,
                   http::respond(std::string_view(connection.head).substr(0, end + http::head_end.size()),
                                 body_bytes_max_));
  } else if (connection.head.size() >= request_bytes_max_) {
    start_response(connection, http::head_too_large_response());
  } else {
    return Progress::waiting;
  }
  return write_response(connection);
}

void ReactorHttpServer::start_response(HttpConnection& connection, std::string response) {
  reactor_.cancel_timer(connection.request_timer);  // the head is complete: the request timeout is over
  connection.head.clear();
  connection.response = std::move(response);
}

// Sends until the response is out (done) or the socket is full (waiting for EPOLLOUT).
Progress ReactorHttpServer::write_response(HttpConnection& connection) {
  while (connection.response_sent < connection.response.size()) {
    const long sent = ctx_.os.send(connection.fd, connection.response.data() + connection.response_sent,
                                   connection.response.size() - connection.response_sent, MSG::NOSIGNAL);
    if (sent < 0) {
      const int error = ctx_.os.last_errno();
      if (error == E::INTR) continue;
      if (error == E::AGAIN) {
        // The rest waits for EPOLLOUT (modify is free once the interest is already writable).
        const bool watching = check(reactor_.modify(connection.fd, reactor::writable));
        return watching ? Progress::waiting : Progress::failed;
      }
      fail(ctx_, "send");
      return Progress::failed;
    }
    connection.response_sent += static_cast<std::size_t>(sent);
  }
  return Progress::done;
}

void ReactorHttpServer::on_connection(int fd, std::uint32_t) {
  HttpConnection& connection = connections_.at(fd);
  const Progress progress = connection.responding() ? write_response(connection) : read_head(connection);
  if (progress == Progress::failed) {
    reactor_.stop();
  } else if (progress == Progress::done) {
    finish(fd);  // HTTP/1.0: closing the connection ends the response
  }
}

// Out of the reactor, then closed: no event collected for this fd can reach a connection reusing the number.
void ReactorHttpServer::finish(int fd) {
  reactor_.cancel_timer(connections_.at(fd).request_timer);
  check(reactor_.remove(fd));
  close_fd(ctx_, fd);
  connections_.erase(fd);
  if (++finished_ == ctx_.connections) reactor_.stop();
}

void ReactorHttpServer::run() {
  listen_fd_ = listen_on_loopback(ctx_, SOCK::NONBLOCK);
  if (listen_fd_ < 0) return;
  const bool ready =
      check(reactor_.open()) && check(reactor_.add(listen_fd_, reactor::readable,
                                                   [this](std::uint32_t events) { on_listener(events); }));
  if (ready && ctx_.connections > 0) check(reactor_.run());
  for (const auto& [fd, connection] : connections_) ctx_.os.close(fd);  // after an error
  close_fd(ctx_, listen_fd_);
}

void reactor_http_main(AppContext& ctx) {
  ReactorHttpServer server(ctx);
  server.run();
}

}  // namespace

AppInfo reactor_http_app() {
  return {"reactor_http",
          "HTTP/1.0 server on the Reactor library: request heads read to the blank line, one response per "
          "connection, then close",
          reactor_http_main, params, WorkloadKind::http};
}

}  // namespace iosim::servers
