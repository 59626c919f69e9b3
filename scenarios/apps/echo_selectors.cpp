// scenarios/apps/echo_selectors.cpp — echo server on the selectors library, written as the seed article's
// Python server: register each fd with its callback; for key, events in sel.select(): key.data(key, events).
//
// The I/O model is I/O multiplexing, with the mechanism chosen at run time. The server code is the same for
// epoll, poll and select; the param `selector` picks one, and 0 lets DefaultSelector pick the best the system
// has — epoll on Linux and on the simulator, as Python's selectors.DefaultSelector does. The interest rule
// is the one every level-triggered server here follows: EVENT_READ while idle, EVENT_WRITE (and no reading)
// while output is pending. A switch is selector.modify(fd, events, callback): the key's data changes with its
// events, so the callback that runs is always the one for what the connection is waiting for.
#include <fmt/format.h>

#include <map>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"
#include "scenarios/selectors/selectors.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam selector_param{
    "selector", 0, 0, 3,
    "0 auto (DefaultSelector: epoll, else poll, else select), 1 epoll, 2 poll, 3 select"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, selector_param};

using selectors::EVENT_READ;
using selectors::EVENT_WRITE;
using selectors::SelectorKey;

class SelectorsEchoServer {
 public:
  SelectorsEchoServer(AppContext& ctx, selectors::Selector& selector)
      : ctx_(ctx),
        selector_(selector),
        scratch_(static_cast<std::size_t>(param_int(ctx.params, read_chunk_param))) {}

  void run();

 private:
  void accept(const SelectorKey& key, std::uint32_t events);
  void read(const SelectorKey& key, std::uint32_t events);
  void write(const SelectorKey& key, std::uint32_t events);
  void close_connection(int fd);
  // Records a selector failure as the app's error. Returns `ok`.
  bool check(bool ok);

  selectors::Callback read_callback() {
    return [this](const SelectorKey& key, std::uint32_t events) { read(key, events); };
  }
  selectors::Callback write_callback() {
    return [this](const SelectorKey& key, std::uint32_t events) { write(key, events); };
  }

  AppContext& ctx_;
  selectors::Selector& selector_;
  std::vector<std::byte> scratch_;
  int listen_fd_ = -1;
  int accepted_ = 0;
  std::map<int, EchoConnection> connections_;  // by fd
};

bool SelectorsEchoServer::check(bool ok) {
  if (!ok && ctx_.error.empty()) ctx_.error = selector_.error();
  return ok;
}

// The listener's callback: accept every queued client and register it for reading.
void SelectorsEchoServer::accept(const SelectorKey& key, std::uint32_t) {
  while (accepted_ < ctx_.connections) {
    const int fd = accept_nonblocking(ctx_, key.fd);
    if (fd < 0) return;  // the queue is empty (or ctx_.error: accept4 failed)
    connections_.emplace(fd, EchoConnection{fd});
    ++accepted_;
    if (!configure_connection(ctx_, fd) || !check(selector_.register_fd(fd, EVENT_READ, read_callback()))) {
      return;
    }
  }
  check(selector_.unregister(key.fd));  // every wanted connection is here
}

// A connection's callback while it waits for input: one recv and its echo; on a short send, wait for
// writability instead.
void SelectorsEchoServer::read(const SelectorKey& key, std::uint32_t) {
  EchoConnection& connection = connections_.at(key.fd);
  const IoStep step = echo_readable(ctx_, connection, scratch_);
  if (step == IoStep::peer_closed) {
    close_connection(key.fd);
  } else if (step != IoStep::failed && connection.has_pending()) {
    check(selector_.modify(key.fd, EVENT_WRITE, write_callback()));
  }
}

// A connection's callback while output is pending: flush; once it is all out, wait for input again.
void SelectorsEchoServer::write(const SelectorKey& key, std::uint32_t) {
  EchoConnection& connection = connections_.at(key.fd);
  if (echo_flush(ctx_, connection) != IoStep::failed && !connection.has_pending()) {
    check(selector_.modify(key.fd, EVENT_READ, read_callback()));
  }
}

// Unregister first, then close — the order Python's documentation asks for: the epoll selector tells the
// kernel, which needs the fd still open (EPOLL_CTL_DEL on a closed fd is EBADF).
void SelectorsEchoServer::close_connection(int fd) {
  check(selector_.unregister(fd));
  close_fd(ctx_, fd);
  connections_.erase(fd);
}

void SelectorsEchoServer::run() {
  listen_fd_ = listen_on_loopback(ctx_, SOCK::NONBLOCK);
  if (listen_fd_ < 0) return;
  const bool registered = check(selector_.register_fd(
      listen_fd_, EVENT_READ, [this](const SelectorKey& key, std::uint32_t events) { accept(key, events); }));
  std::vector<selectors::ReadyKey> ready;
  while (registered && ctx_.error.empty() && (accepted_ < ctx_.connections || !connections_.empty())) {
    if (!check(selector_.select(-1, ready))) break;  // EINTR is retried inside select()
    for (const selectors::ReadyKey& entry : ready) {
      if (!ctx_.error.empty()) break;
      // Unregistered by an earlier callback of this round (ready holds a copy of the key): skip it.
      if (selector_.get_key(entry.key.fd) == nullptr) continue;
      entry.key.data(entry.key, entry.events);  // the Python idiom: callback = key.data; callback(key, mask)
    }
  }
  for (const auto& [fd, connection] : connections_) ctx_.os.close(fd);  // after an error
  close_fd(ctx_, listen_fd_);
}

void echo_selectors_main(AppContext& ctx) {
  const auto kind = static_cast<selectors::SelectorKind>(param_int(ctx.params, selector_param));
  std::string unavailable;
  const std::unique_ptr<selectors::Selector> selector = selectors::make_selector(ctx.os, kind, unavailable);
  if (selector == nullptr) {
    ctx.error = unavailable;
    return;
  }
  SelectorsEchoServer server(ctx, *selector);
  server.run();
}

}  // namespace

AppInfo echo_selectors_app() {
  return {"echo_selectors",
          "echo server on a Python-style selectors library: DefaultSelector (epoll, else poll, else select) "
          "or one forced by param",
          echo_selectors_main, params};
}

}  // namespace iosim::servers
