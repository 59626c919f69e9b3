// scenarios/apps/bugs/close_while_reading.cpp — bug zoo: a thread per connection echoes until the client
// hangs up, but with close_after_join=0 the acceptor closes every connection after a fixed "request timeout",
// whether or not its reader is still in recv or send on that fd (use after close; the number may be reused).
//
// The ownership rule. An fd has one owner that closes it, after everyone else is done with it. Here the
// reader thread uses the fd until recv returns 0; the acceptor owns it. The fixed acceptor joins the reader
// first and closes after (the join orders the close after the reader's last call). The buggy acceptor sleeps
// `close_after_us` and closes at once, betting that every client is done by then. Nothing orders that close
// against the reader's calls: when a client is slow, the reader's next recv or send finds the fd closed
// (EBADF) and its client never gets the rest of its echo. `iosim graph --races` reports the race even on the
// seeds where the bet happens to win.
#include <memory>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam close_after_join_param{
    "close_after_join", 1, 0, 1,
    "1: join the reader, then close its fd; 0: close after close_after_us "
    "while the reader may still use it (the bug)"};
constexpr AppParam close_after_param{"close_after_us", 300, 0, 10'000'000,
                                     "close_after_join=0: the 'request timeout' after which fds are closed"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, close_after_join_param,
                               close_after_param};

struct Reader {
  int fd = -1;
  std::string error;  // written by the reader thread, read by the acceptor after join()
  std::unique_ptr<Thread> thread;
};

// Blocking echo until the client shuts down its side (recv returns 0) or a call fails.
void echo_until_hang_up(Os& os, Reader& reader, std::size_t read_chunk_bytes) {
  std::vector<std::byte> buffer(read_chunk_bytes);  // heap: fiber stacks are small
  for (;;) {
    const long received = os.recv(reader.fd, buffer.data(), buffer.size(), 0);
    if (received == 0) return;
    if (received < 0) {
      if (os.last_errno() == E::INTR) continue;
      reader.error = call_error(os, "recv");
      return;
    }
    reader.error = send_all_blocking(os, reader.fd, buffer.data(), static_cast<std::size_t>(received));
    if (!reader.error.empty()) return;
  }
}

int accept_blocking(AppContext& ctx, int listen_fd) {
  for (;;) {
    const int fd = ctx.os.accept4(listen_fd, nullptr, 0);
    if (fd >= 0) return configure_connection(ctx, fd) ? fd : -1;
    if (ctx.os.last_errno() != E::INTR && ctx.os.last_errno() != E::CONNABORTED) {
      fail(ctx, "accept4");
      return -1;
    }
  }
}

void close_while_reading_main(AppContext& ctx) {
  const int listen_fd = listen_on_loopback(ctx, 0);
  if (listen_fd < 0) return;
  const bool close_after_join = param_int(ctx.params, close_after_join_param) != 0;
  const auto read_chunk_bytes = static_cast<std::size_t>(param_int(ctx.params, read_chunk_param));
  std::vector<std::unique_ptr<Reader>> readers;
  for (int index = 0; index < ctx.connections; ++index) {
    const int fd = accept_blocking(ctx, listen_fd);
    if (fd < 0) break;
    auto reader = std::make_unique<Reader>();
    reader->fd = fd;
    Reader* self = reader.get();
    reader->thread = ctx.os.thread_create(
        "reader-" + std::to_string(index + 1),
        [&os = ctx.os, self, read_chunk_bytes] { echo_until_hang_up(os, *self, read_chunk_bytes); });
    readers.push_back(std::move(reader));
  }
  close_fd(ctx, listen_fd);
  if (!close_after_join) {
    // THE BUG: a timeout instead of an order. The readers may still be in recv or send on these fds.
    ctx.os.sleep_for(param_int(ctx.params, close_after_param) * 1000);
    for (const auto& reader : readers) close_fd(ctx, reader->fd);
  }
  for (const auto& reader : readers) {
    reader->thread->join();
    if (close_after_join) close_fd(ctx, reader->fd);  // the reader is done with it: join orders the two
    if (ctx.error.empty() && !reader->error.empty()) ctx.error = reader->error;
  }
}

}  // namespace

AppInfo close_while_reading_app() {
  return {
      "close_while_reading",
      "bug zoo: thread per connection; close_after_join=0 closes each fd after a timeout while its reader "
      "may still recv/send on it (use after close)",
      close_while_reading_main, params};
}

}  // namespace iosim::servers
