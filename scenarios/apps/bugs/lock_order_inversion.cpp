// scenarios/apps/bugs/lock_order_inversion.cpp — bug zoo: two mutexes taken in opposite orders by different
// threads (same_order=0), the textbook deadlock; same_order=1 takes them in one global order.
//
// The lock discipline. Each connection's worker echoes every message while holding both `ledger` and
// `journal` (as a server would update two shared tables for one request). The fixed workers always lock
// ledger, then journal. The buggy even-numbered workers lock journal first. If worker-1 holds ledger and
// worker-2 holds journal, each waits for the mutex the other holds, forever: the run deadlocks, and
// `iosim graph --deadlocks` shows the cycle worker-1 → worker-2 → worker-1 in the wait-for graph.
#include <memory>
#include <vector>

#include "scenarios/apps/apps.hpp"
#include "scenarios/apps/echo_support.hpp"

namespace iosim::servers {
namespace {

constexpr AppParam same_order_param{"same_order", 1, 0, 1,
                                    "1: every worker locks ledger then journal; 0: even workers lock journal "
                                    "first (the deadlock)"};
constexpr AppParam params[] = {backlog_param, read_chunk_param, tcp_nodelay_param, same_order_param};

struct Tables {
  std::unique_ptr<Mutex> ledger;
  std::unique_ptr<Mutex> journal;
};

// Echoes each message under both locks, in the order given, until the client hangs up; then closes.
std::string serve(Os& os, int fd, Mutex& first, Mutex& second, std::size_t read_chunk_bytes) {
  std::vector<std::byte> buffer(read_chunk_bytes);
  std::string error;
  for (;;) {
    const long received = os.recv(fd, buffer.data(), buffer.size(), 0);
    if (received == 0) break;
    if (received < 0) {
      if (os.last_errno() == E::INTR) continue;
      error = call_error(os, "recv");
      break;
    }
    LockGuard hold_first(first);
    LockGuard hold_second(second);
    error = send_all_blocking(os, fd, buffer.data(), static_cast<std::size_t>(received));
    if (!error.empty()) break;
  }
  if (os.close(fd) < 0 && error.empty()) error = call_error(os, "close");
  return error;
}

void lock_order_inversion_main(AppContext& ctx) {
  const int listen_fd = listen_on_loopback(ctx, 0);
  if (listen_fd < 0) return;
  Tables tables{ctx.os.mutex_create(), ctx.os.mutex_create()};
  const bool same_order = param_int(ctx.params, same_order_param) != 0;
  const auto read_chunk_bytes = static_cast<std::size_t>(param_int(ctx.params, read_chunk_param));
  std::vector<std::string> errors(static_cast<std::size_t>(ctx.connections));
  std::vector<std::unique_ptr<Thread>> workers;
  for (int index = 0; index < ctx.connections; ++index) {
    const int fd = ctx.os.accept4(listen_fd, nullptr, 0);
    if (fd < 0) {
      fail(ctx, "accept4");
      break;
    }
    const bool inverted = !same_order && index % 2 == 1;
    Mutex& first = inverted ? *tables.journal : *tables.ledger;
    Mutex& second = inverted ? *tables.ledger : *tables.journal;
    workers.push_back(ctx.os.thread_create("worker-" + std::to_string(index + 1),
                                           [&os = ctx.os, fd, &first, &second, read_chunk_bytes,
                                            &error = errors[static_cast<std::size_t>(index)]] {
                                             error = serve(os, fd, first, second, read_chunk_bytes);
                                           }));
  }
  close_fd(ctx, listen_fd);
  for (std::size_t index = 0; index < workers.size(); ++index) {
    workers[index]->join();
    if (ctx.error.empty() && !errors[index].empty()) ctx.error = errors[index];
  }
}

}  // namespace

AppInfo lock_order_inversion_app() {
  return {
      "lock_order_inversion",
      "bug zoo: workers lock two mutexes; same_order=0 makes even workers take them in the opposite order "
      "(deadlock)",
      lock_order_inversion_main, params};
}

}  // namespace iosim::servers
