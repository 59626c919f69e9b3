// scenarios/apps/reactor_echo.cpp — echo server on the Reactor (scenarios/reactor): a handler per fd, an
// idle timer per connection. Everything runs on the reactor's one thread; handlers never block.
//
// The I/O model is echo_epoll_lt.cpp's — level-triggered epoll, one step per event, EPOLLOUT only while
// output is pending — with the loop moved into a library. What the server itself writes is only "what to
// do when": when the listener is readable, accept; when a connection is readable, echo; when it is
// writable, flush; when it has been silent for idle_timeout_ms, close it. The reactor decides when.
//
// The idle timer shows how event loops keep per-connection timeouts cheap (libev's "be smart about
// timeouts"): activity does not re-arm the timer, it only stamps the connection with the loop's clock. When
// the timer fires it looks at the stamp: silent long enough, close; otherwise arm again for the rest of the
// period. One timer operation per timeout period instead of two map operations per event.
#include <map>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"
#include "scenarios/reactor/reactor.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam idle_timeout_param{"idle_timeout_ms", 10'000, 1, 3'600'000,
                                      "a connection silent this long is closed by its idle timer"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, max_events_param,
                               idle_timeout_param};

class ReactorEchoServer {
 public:
  explicit ReactorEchoServer(AppContext& ctx)
      : ctx_(ctx),
        reactor_(ctx.os, static_cast<int>(param_int(ctx.params, max_events_param))),
        idle_timeout_ns_(param_int(ctx.params, idle_timeout_param) * 1'000'000),
        scratch_(static_cast<std::size_t>(param_int(ctx.params, read_chunk_param))) {}

  void run();

 private:
  struct Connection {
    EchoConnection echo;
    std::int64_t last_activity_ns = 0;  // the reactor's clock when bytes last moved
    reactor::TimerId idle_timer;
  };

  void on_listener(std::uint32_t events);
  void on_connection(int fd, std::uint32_t events);
  void on_idle_timer(int fd);
  void arm_idle_timer(int fd, Connection& connection, std::int64_t delay_ns);
  void finish(int fd);
  // Records a reactor failure as the app's error and stops the loop. Returns `ok`.
  bool check(bool ok);

  AppContext& ctx_;
  reactor::Reactor reactor_;
  std::int64_t idle_timeout_ns_;
  std::vector<std::byte> scratch_;
  int listen_fd_ = -1;
  int accepted_ = 0;
  int finished_ = 0;
  std::map<int, Connection> connections_;  // by fd
};

bool ReactorEchoServer::check(bool ok) {
  if (!ok) {
    if (ctx_.error.empty()) ctx_.error = reactor_.error();
    reactor_.stop();
  }
  return ok;
}

// Level-triggered, so accepting one connection per call would do; accepting until EAGAIN saves a loop
// round per queued client.
void ReactorEchoServer::on_listener(std::uint32_t) {
  while (accepted_ < ctx_.connections) {
    const int fd = accept_nonblocking(ctx_, listen_fd_);
    if (fd < 0) {
      if (!ctx_.error.empty()) reactor_.stop();  // accept4 failed; otherwise the queue is just empty
      return;
    }
    Connection& connection = connections_[fd];
    connection.echo.fd = fd;
    connection.last_activity_ns = reactor_.now_ns();
    ++accepted_;
    if (!configure_connection(ctx_, fd)) {
      reactor_.stop();
      return;
    }
    if (!check(reactor_.add(fd, reactor::readable,
                            [this, fd](std::uint32_t events) { on_connection(fd, events); })))
      return;
    arm_idle_timer(fd, connection, idle_timeout_ns_);
  }
  check(reactor_.remove(listen_fd_));  // every wanted connection is here
}

void ReactorEchoServer::on_connection(int fd, std::uint32_t) {
  Connection& connection = connections_.at(fd);
  const bool had_pending = connection.echo.has_pending();
  const IoStep step =
      had_pending ? echo_flush(ctx_, connection.echo) : echo_readable(ctx_, connection.echo, scratch_);
  if (step == IoStep::failed) {
    reactor_.stop();
    return;
  }
  if (step == IoStep::peer_closed) {
    finish(fd);
    return;
  }
  if (step == IoStep::progress) connection.last_activity_ns = reactor_.now_ns();
  if (connection.echo.has_pending() != had_pending) {
    check(reactor_.modify(fd, connection.echo.has_pending() ? reactor::writable : reactor::readable));
  }
}

void ReactorEchoServer::arm_idle_timer(int fd, Connection& connection, std::int64_t delay_ns) {
  connection.idle_timer = reactor_.add_timer(delay_ns, [this, fd] { on_idle_timer(fd); });
}

void ReactorEchoServer::on_idle_timer(int fd) {
  Connection& connection = connections_.at(fd);
  const std::int64_t silent_ns = reactor_.now_ns() - connection.last_activity_ns;
  if (silent_ns < idle_timeout_ns_) {
    arm_idle_timer(fd, connection, idle_timeout_ns_ - silent_ns);  // it was active since: wait for the rest
  } else {
    finish(fd);  // the client has said nothing for idle_timeout_ms: free the connection
  }
}

// The connection is over (the client closed, or it idled out): out of the reactor, then closed — in that
// order, so no event collected for this fd reaches a connection that reuses the number.
void ReactorEchoServer::finish(int fd) {
  Connection& connection = connections_.at(fd);
  reactor_.cancel_timer(connection.idle_timer);
  check(reactor_.remove(fd));
  close_fd(ctx_, fd);
  connections_.erase(fd);
  if (++finished_ == ctx_.connections) reactor_.stop();
}

void ReactorEchoServer::run() {
  listen_fd_ = listen_on_loopback(ctx_, SOCK::NONBLOCK);
  if (listen_fd_ < 0) return;
  const bool ready =
      check(reactor_.open()) && check(reactor_.add(listen_fd_, reactor::readable,
                                                   [this](std::uint32_t events) { on_listener(events); }));
  if (ready && ctx_.connections > 0) check(reactor_.run());
  for (const auto& [fd, connection] : connections_) ctx_.os.close(fd);  // after an error
  close_fd(ctx_, listen_fd_);
}

void reactor_echo_main(AppContext& ctx) {
  ReactorEchoServer server(ctx);
  server.run();
}

}  // namespace

AppInfo reactor_echo_app() {
  return {"reactor_echo",
          "echo server on the Reactor library: per-fd handlers over level-triggered epoll, an idle timer per "
          "connection",
          reactor_echo_main, params};
}

}  // namespace iosim::servers
