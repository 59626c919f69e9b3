// scenarios/apps/proactor_echo.cpp — echo server on the Proactor library (scenarios/proactor): accept → read
// → write all → read, each step the completion handler of the one before. One thread, in Proactor::run().
//
// The same server code runs over an I/O completion port (the kernel does the reads and writes) or over
// epoll (the library does them when epoll says the socket is ready): param impl 0 = auto (IOCP when the Os
// has it), 1 = iocp, 2 = epoll. run() returns by itself once the listener is closed (after the last wanted
// connection was accepted) and every connection has ended: no operation is outstanding.
#include <map>
#include <memory>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"
#include "scenarios/proactor/proactor.hpp"

namespace iosim::servers {
namespace {

using proactor::Result;
using proactor::Status;

constexpr AppParam impl_param{"impl", 0, 0, 2,
                              "0 auto (IOCP when CreateIoCompletionPort works, else epoll), 1 iocp, 2 epoll"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, impl_param};

class ProactorEchoServer {
 public:
  ProactorEchoServer(AppContext& ctx, proactor::Proactor& io) : ctx_(ctx), io_(io) {}
  void run();

 private:
  struct Connection {
    std::vector<char> buffer;
  };
  void accept();
  void on_accept(const Result& result, int socket);
  void read(int socket);
  void on_read(int socket, const Result& result, std::size_t bytes);
  void finish(int socket, const Result& result);
  void record(const Result& result);

  AppContext& ctx_;
  proactor::Proactor& io_;
  int listener_ = -1;
  int accepted_ = 0;
  std::map<int, Connection> connections_;  // by socket
};

void ProactorEchoServer::record(const Result& result) {
  if (ctx_.error.empty()) ctx_.error = result.error;
}

void ProactorEchoServer::accept() {
  io_.async_accept(listener_, [this](const Result& result, int socket) { on_accept(result, socket); });
}

void ProactorEchoServer::on_accept(const Result& result, int socket) {
  if (result.status == Status::aborted) return;  // we closed the listener
  if (!result.ok()) {
    record(result);
    io_.close(listener_);  // accepting failed: serve who is here, take nobody else
    return;
  }
  connections_[socket].buffer.resize(static_cast<std::size_t>(param_int(ctx_.params, read_chunk_param)));
  if (param_int(ctx_.params, tcp_nodelay_param) != 0 &&
      ctx_.os.setsockopt(socket, IPPROTO::TCP, TCP::NODELAY, 1) < 0) {
    fail(ctx_, "setsockopt(TCP_NODELAY)");
  }
  read(socket);
  if (++accepted_ < ctx_.connections) {
    accept();
  } else {
    io_.close(listener_);  // every wanted connection is here
  }
}

void ProactorEchoServer::read(int socket) {
  std::vector<char>& buffer = connections_.at(socket).buffer;
  io_.async_read(socket, buffer.data(), buffer.size(),
                 [this, socket](const Result& result, std::size_t bytes) { on_read(socket, result, bytes); });
}

void ProactorEchoServer::on_read(int socket, const Result& result, std::size_t bytes) {
  if (!result.ok() || bytes == 0) return finish(socket, result);  // error, or the client's FIN
  io_.async_write(socket, connections_.at(socket).buffer.data(), bytes,
                  [this, socket](const Result& written, std::size_t) {
                    if (!written.ok()) return finish(socket, written);
                    read(socket);  // every byte went out: read the next message
                  });
}

// The connection is over. A reset is the client's doing, not the server's failure.
void ProactorEchoServer::finish(int socket, const Result& result) {
  if (!result.ok() && result.status != Status::reset) record(result);
  io_.close(socket);
  connections_.erase(socket);
}

void ProactorEchoServer::run() {
  std::uint16_t port = 0;
  listener_ = io_.listen_loopback(static_cast<int>(param_int(ctx_.params, backlog_param)), &port);
  if (listener_ < 0) {
    ctx_.error = io_.error();
    return;
  }
  ctx_.ready(port);
  if (ctx_.connections > 0) {
    accept();
  } else {
    io_.close(listener_);
  }
  if (!io_.run()) record({Status::failed, io_.error()});
  // After a failed loop: whatever is still open is closed by the proactor's destructor.
}

void proactor_echo_main(AppContext& ctx) {
  const auto impl = static_cast<proactor::Impl>(param_int(ctx.params, impl_param));
  std::string error;
  std::unique_ptr<proactor::Proactor> io = proactor::make_proactor(ctx.os, impl, &error);
  if (!io) {
    ctx.error = error;
    return;
  }
  ProactorEchoServer server(ctx, *io);
  server.run();
}

}  // namespace

AppInfo proactor_echo_app() {
  AppInfo info{"proactor_echo",
               "echo server on the Proactor library: async_accept/async_read/async_write with completion "
               "handlers, over IOCP when the Os has it (impl=0/1), else emulated over epoll (impl=2)",
               proactor_echo_main, params};
  info.native_backend = "windows";
  return info;
}

}  // namespace iosim::servers
