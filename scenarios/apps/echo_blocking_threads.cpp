// scenarios/apps/echo_blocking_threads.cpp — echo server, blocking I/O, one thread per connection.
// The main thread blocks in accept; each connection thread blocks in recv and send and owns its fd alone.
//
// The I/O model. Every call here blocks its thread through both phases of an I/O: waiting until the kernel
// has data (or buffer space), then copying it. That makes the code a straight line — recv, send it all back,
// repeat — and the price is one thread (a stack, a scheduler entry) per connection, idle most of the time.
// It is the first server everyone writes, and the one the other echo servers in this folder improve on.
#include <memory>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param};

// What one connection thread owns. The thread writes only its own slot; the main thread reads `error` after
// join(), and join() orders those accesses, so no lock is needed.
struct ConnectionSlot {
  int fd = -1;
  std::string error;
  std::unique_ptr<Thread> thread;
};

// Blocking send of all `length` bytes. A blocking send may still return a short count (interrupted after some
// bytes moved), so loop until everything is out.
bool send_all(Os& os, int fd, const std::byte* data, std::size_t length, std::string& error) {
  std::size_t sent_total = 0;
  while (sent_total < length) {
    const long sent = os.send(fd, data + sent_total, length - sent_total, MSG::NOSIGNAL);
    if (sent < 0) {
      if (os.last_errno() == E::INTR) continue;
      error = call_error(os, "send");
      return false;
    }
    sent_total += static_cast<std::size_t>(sent);
  }
  return true;
}

// The whole life of one connection: read what arrives, write it back, until the client closes its side.
void serve_connection(Os& os, ConnectionSlot& slot, std::size_t read_chunk_bytes) {
  // On the heap, not the stack: simulated threads are fibers with small stacks.
  std::vector<std::byte> buffer(read_chunk_bytes);
  for (;;) {
    const long received = os.recv(slot.fd, buffer.data(), buffer.size(), 0);
    if (received == 0) break;  // orderly shutdown by the client: every byte has been echoed
    if (received < 0) {
      if (os.last_errno() == E::INTR) continue;
      slot.error = call_error(os, "recv");
      break;
    }
    if (!send_all(os, slot.fd, buffer.data(), static_cast<std::size_t>(received), slot.error)) break;
  }
  if (os.close(slot.fd) < 0 && slot.error.empty()) slot.error = call_error(os, "close");
}

// Blocks until a client connects. EINTR (a signal) and ECONNABORTED (the client gave up while queued) are
// not this server's failures: accept again. Returns -1 with ctx.error set on anything else.
int accept_blocking(AppContext& ctx, int listen_fd) {
  for (;;) {
    const int fd = ctx.os.accept4(listen_fd, nullptr, 0);
    if (fd >= 0) {
      if (configure_connection(ctx, fd)) return fd;
      ctx.os.close(fd);
      return -1;
    }
    const int error = ctx.os.last_errno();
    if (error == E::INTR || error == E::CONNABORTED) continue;
    fail(ctx, "accept4");
    return -1;
  }
}

void echo_blocking_threads_main(AppContext& ctx) {
  const int listen_fd = listen_on_loopback(ctx, 0);
  if (listen_fd < 0) return;
  const auto read_chunk_bytes = static_cast<std::size_t>(param_int(ctx.params, read_chunk_param));
  // Slots never move once created (unique_ptr): each thread holds a reference to its own.
  std::vector<std::unique_ptr<ConnectionSlot>> slots;
  for (int index = 0; index < ctx.connections; ++index) {
    const int fd = accept_blocking(ctx, listen_fd);
    if (fd < 0) break;  // stop accepting, but still join the threads already running
    auto slot = std::make_unique<ConnectionSlot>();
    slot->fd = fd;
    ConnectionSlot& slot_ref = *slot;
    slot->thread = ctx.os.thread_create(
        "conn-" + std::to_string(index + 1),
        [&os = ctx.os, &slot_ref, read_chunk_bytes] { serve_connection(os, slot_ref, read_chunk_bytes); });
    slots.push_back(std::move(slot));
  }
  close_fd(ctx, listen_fd);  // no more connections wanted: later connects are refused
  // Every connection ends when its client closes, so these joins finish once all clients are done.
  for (auto& slot : slots) {
    slot->thread->join();
    if (ctx.error.empty() && !slot->error.empty()) ctx.error = slot->error;
  }
}

}  // namespace

AppInfo echo_blocking_threads_app() {
  return {"echo_blocking_threads", "echo server: blocking accept loop, one thread per connection",
          echo_blocking_threads_main, params};
}

}  // namespace iosim::servers
