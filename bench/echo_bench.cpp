// bench/echo_bench.cpp — echo round trips per second, the same application code on SimOs and on LinuxOs:
// a client sends 64 bytes and reads them back from a server thread that blocks in recv, or in epoll_wait.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "backends/linux/linux_os.hpp"
#include "backends/sim/sim_os.hpp"
#include "bench/bench_support.hpp"
#include "iosim/os.hpp"

namespace iosim::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t message_bytes = 64;
constexpr int round_trips_per_iteration = 100;

enum class Transport { tcp, unix_socketpair };

// How the server waits for the next request; the client is the same for both.
using ServeEcho = void (*)(Os& os, int fd);

// One echo benchmark's setup: the connection and the server's loop.
struct EchoSetup {
  Transport transport;
  ServeEcho serve;
};

// --- the application: written against iosim::Os only, run unchanged on both backends ---

void send_all(Os& os, int fd, const char* data, std::size_t len) {
  while (len > 0) {
    const long sent = os.send(fd, data, len, MSG::NOSIGNAL);
    require(sent > 0, "send", os);
    data += sent;
    len -= static_cast<std::size_t>(sent);
  }
}

// Reads exactly `len` bytes; false on an orderly end of stream before the first byte.
bool recv_exact(Os& os, int fd, char* data, std::size_t len) {
  std::size_t got = 0;
  while (got < len) {
    const long received = os.recv(fd, data + got, len - got, 0);
    if (received == 0 && got == 0) return false;
    require(received > 0, "recv", os);
    got += static_cast<std::size_t>(received);
  }
  return true;
}

// Blocking echo: one message in, the same message out, until the client shuts its side down.
void serve_echo_blocking(Os& os, int fd) {
  char buffer[message_bytes];
  while (recv_exact(os, fd, buffer, message_bytes)) send_all(os, fd, buffer, message_bytes);
  require(os.close(fd) == 0, "close (server)", os);
}

// Event-loop echo: the server sleeps in epoll_wait (level-triggered EPOLLIN), then takes whatever a
// non-blocking recv finds, and echoes each whole message; until the client shuts its side down.
void serve_echo_epoll(Os& os, int fd) {
  const int flags = os.fcntl(fd, F::GETFL, 0);
  require(flags >= 0 && os.fcntl(fd, F::SETFL, flags | O::NONBLOCK) == 0, "fcntl(O_NONBLOCK)", os);
  const int epfd = os.epoll_create1(EPOLL::CLOEXEC);
  require(epfd >= 0, "epoll_create1", os);
  epoll_event interest{EPOLL::IN, static_cast<std::uint64_t>(fd)};
  require(os.epoll_ctl(epfd, EPOLL::CTL_ADD, fd, &interest) == 0, "epoll_ctl(EPOLL_CTL_ADD)", os);
  char buffer[message_bytes];
  std::size_t got = 0;
  for (;;) {
    epoll_event ready;
    require(os.epoll_wait(epfd, &ready, 1, -1) == 1, "epoll_wait", os);
    const long received = os.recv(fd, buffer + got, message_bytes - got, 0);
    if (received == 0) break;                                   // the client's shutdown(SHUT_WR)
    if (received < 0 && os.last_errno() == E::AGAIN) continue;  // readiness without data: wait again
    require(received > 0, "recv", os);
    got += static_cast<std::size_t>(received);
    if (got < message_bytes) continue;
    send_all(os, fd, buffer, message_bytes);  // 64 bytes into an empty send buffer: never EAGAIN
    got = 0;
  }
  require(got == 0, "recv (a partial message at the end of the stream)", os);
  require(os.close(epfd) == 0, "close (epoll)", os);
  require(os.close(fd) == 0, "close (server)", os);
}

struct EchoSession {
  int client_fd = -1;
  std::unique_ptr<Thread> server;
};

// A listener on 127.0.0.1 (ephemeral port), a server thread that accepts one connection and echoes on it,
// and a connected client socket.
EchoSession open_tcp_session(Os& os, ServeEcho serve) {
  const int listener = os.socket(AF::INET, SOCK::STREAM, 0);
  require(listener >= 0, "socket (listener)", os);
  require(os.setsockopt(listener, SOL::SOCKET, SO::REUSEADDR, 1) == 0, "setsockopt(SO_REUSEADDR)", os);
  require(os.bind(listener, SockAddr{loopback_ip, 0}) == 0, "bind", os);
  require(os.listen(listener, 16) == 0, "listen", os);
  SockAddr bound;
  require(os.getsockname(listener, &bound) == 0, "getsockname", os);
  EchoSession session;
  session.server = os.thread_create("echo-server", [&os, listener, serve] {
    const int connection = os.accept4(listener, nullptr, 0);
    require(connection >= 0, "accept4", os);
    require(os.close(listener) == 0, "close (listener)", os);
    require(os.setsockopt(connection, IPPROTO::TCP, TCP::NODELAY, 1) == 0, "setsockopt(TCP_NODELAY)", os);
    serve(os, connection);
  });
  session.client_fd = os.socket(AF::INET, SOCK::STREAM, 0);
  require(session.client_fd >= 0, "socket (client)", os);
  require(os.connect(session.client_fd, SockAddr{loopback_ip, bound.port}) == 0, "connect", os);
  require(os.setsockopt(session.client_fd, IPPROTO::TCP, TCP::NODELAY, 1) == 0, "setsockopt(TCP_NODELAY)",
          os);
  return session;
}

EchoSession open_unix_session(Os& os, ServeEcho serve) {
  int ends[2];
  require(os.socketpair(AF::UNIX, SOCK::STREAM, 0, ends) == 0, "socketpair", os);
  EchoSession session;
  const int server_end = ends[1];
  session.server = os.thread_create("echo-server", [&os, server_end, serve] { serve(os, server_end); });
  session.client_fd = ends[0];
  return session;
}

struct EchoTiming {
  Clock::duration elapsed{};
  std::int64_t round_trips = 0;
};

// The client: opens a session, then each benchmark iteration does round_trips_per_iteration echoes.
EchoTiming run_echo_client(benchmark::State& state, Os& os, EchoSetup setup) {
  EchoSession session = setup.transport == Transport::tcp ? open_tcp_session(os, setup.serve)
                                                          : open_unix_session(os, setup.serve);
  char request[message_bytes], reply[message_bytes];
  for (std::size_t i = 0; i < message_bytes; ++i) request[i] = static_cast<char>('a' + i % 26);
  EchoTiming timing;
  const Clock::time_point start = Clock::now();
  for (auto _ : state) {
    for (int i = 0; i < round_trips_per_iteration; ++i) {
      send_all(os, session.client_fd, request, message_bytes);
      require(recv_exact(os, session.client_fd, reply, message_bytes), "recv (echo)", os);
    }
  }
  timing.elapsed = Clock::now() - start;
  timing.round_trips = state.iterations() * round_trips_per_iteration;
  require(std::memcmp(request, reply, message_bytes) == 0, "echo content check", os);
  require(os.shutdown(session.client_fd, SHUT::WR) == 0, "shutdown", os);
  session.server->join();
  require(os.close(session.client_fd) == 0, "close (client)", os);
  return timing;
}

// --- the two harnesses ---

void report_round_trips(benchmark::State& state, const EchoTiming& timing) {
  state.SetItemsProcessed(timing.round_trips);  // items_per_second = round trips per second
  const double elapsed_ns =
      static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(timing.elapsed).count());
  state.counters["ns_per_round_trip"] =
      timing.round_trips ? elapsed_ns / static_cast<double>(timing.round_trips) : 0;
}

void echo_on_sim(benchmark::State& state, EchoSetup setup, const char* strategy) {
  SimOs os(timing_sim_config(strategy));  // latency_ns = 0: the network itself costs no virtual time
  EchoTiming timing;
  std::uint64_t loop_steps = 0;
  const SimOutcome outcome = os.run([&] {
    const std::uint64_t first_step = os.scheduler().steps();
    timing = run_echo_client(state, os, setup);
    loop_steps = os.scheduler().steps() - first_step;
  });
  require_completed(outcome);
  report_round_trips(state, timing);
  // Includes the session's setup and teardown (a few dozen steps), negligible against the round trips.
  const double round_trips = timing.round_trips ? static_cast<double>(timing.round_trips) : 1;
  state.counters["steps_per_round_trip"] = static_cast<double>(loop_steps) / round_trips;
  // Every event is hashed into the trace-hash, so this is the tracing work per round trip.
  state.counters["events_per_round_trip"] = static_cast<double>(outcome.event_count) / round_trips;
}

void echo_on_linux(benchmark::State& state, EchoSetup setup) {
  LinuxOs os;
  report_round_trips(state, run_echo_client(state, os, setup));
}

const bool registered = [] {
  const struct {
    const char* name;
    EchoSetup setup;
  } setups[] = {{"tcp", {Transport::tcp, serve_echo_blocking}},
                {"unix", {Transport::unix_socketpair, serve_echo_blocking}},
                {"tcp_epoll", {Transport::tcp, serve_echo_epoll}},
                {"unix_epoll", {Transport::unix_socketpair, serve_echo_epoll}}};
  for (const auto& [name, setup] : setups) {
    const std::string prefix = std::string("echo/") + name;
    // Real time: on LinuxOs the server is another OS thread, whose CPU time the client's clock would miss.
    benchmark::RegisterBenchmark((prefix + "/sim").c_str(), echo_on_sim, setup, "random")
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((prefix + "/sim_rr").c_str(), echo_on_sim, setup, "rr")
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((prefix + "/linux").c_str(), echo_on_linux, setup)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace
}  // namespace iosim::bench
