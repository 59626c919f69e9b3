// tests/stream_property_test.cpp — rapidcheck: a simulated TCP stream delivers exactly the bytes written, in
// order, for any chunking of writes and reads, any SO_SNDBUF/SO_RCVBUF, any latency and any schedule.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "backends/sim/sim_os.hpp"

namespace iosim {
namespace {

std::string pattern(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + i / 251) & 0xff);
  return bytes;
}

struct StreamCase {
  std::vector<int> write_sizes;
  std::vector<int> read_sizes;
  int sndbuf_bytes;  // 0: leave the default
  int rcvbuf_bytes;
  std::int64_t latency_ns;
  std::uint64_t seed;
};

// Blocking send of all of `size` bytes from `data`; false if a send failed.
bool send_all(Os& os, int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const long sent = os.send(fd, data, size, MSG::NOSIGNAL);
    if (sent <= 0) return false;
    data += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

void set_buffers(Os& os, int fd, const StreamCase& c) {
  if (c.sndbuf_bytes > 0) RC_ASSERT(os.setsockopt(fd, SOL::SOCKET, SO::SNDBUF, c.sndbuf_bytes) == 0);
  if (c.rcvbuf_bytes > 0) RC_ASSERT(os.setsockopt(fd, SOL::SOCKET, SO::RCVBUF, c.rcvbuf_bytes) == 0);
}

// Runs the writer (a thread) and the reader (main) over one loopback connection; returns what was read.
std::string run_stream(Os& os, const StreamCase& c, const std::string& sent, bool* writer_ok) {
  const int listener = os.socket(AF::INET, SOCK::STREAM, 0);
  set_buffers(os, listener, c);  // the accepted socket inherits them (inet_csk_clone_lock)
  os.bind(listener, SockAddr{loopback_ip, 0});
  os.listen(listener, 4);
  SockAddr address{};
  os.getsockname(listener, &address);
  const int client = os.socket(AF::INET, SOCK::STREAM, 0);
  set_buffers(os, client, c);
  RC_ASSERT(os.connect(client, address) == 0);
  const int server = os.accept4(listener, nullptr, 0);
  RC_ASSERT(server >= 0);
  auto writer = os.thread_create("writer", [&] {
    std::size_t offset = 0;
    for (const int size : c.write_sizes) {
      if (!send_all(os, client, sent.data() + offset, static_cast<std::size_t>(size))) *writer_ok = false;
      offset += static_cast<std::size_t>(size);
    }
    os.shutdown(client, SHUT::WR);
  });
  std::string received;
  std::vector<char> buffer(64 * 1024);
  for (std::size_t i = 0;; ++i) {
    const auto size = static_cast<std::size_t>(c.read_sizes[i % c.read_sizes.size()]);
    const long got = os.recv(server, buffer.data(), size, 0);
    if (got <= 0) break;
    received.append(buffer.data(), static_cast<std::size_t>(got));
  }
  writer->join();
  return received;
}

RC_GTEST_PROP(StreamProperty, TcpDeliversExactlyTheBytesWrittenInOrder, ()) {
  StreamCase c;
  c.write_sizes = *rc::gen::container<std::vector<int>>(rc::gen::inRange(1, 20'000));
  c.read_sizes = *rc::gen::nonEmpty(rc::gen::container<std::vector<int>>(rc::gen::inRange(1, 20'000)));
  c.sndbuf_bytes = *rc::gen::oneOf(rc::gen::just(0), rc::gen::inRange(1, 64 * 1024));
  c.rcvbuf_bytes = *rc::gen::oneOf(rc::gen::just(0), rc::gen::inRange(1, 64 * 1024));
  c.latency_ns = *rc::gen::element<std::int64_t>(0, 1, 100'000, 20'000'000);
  c.seed = *rc::gen::arbitrary<std::uint64_t>();
  std::size_t total = 0;
  for (const int size : c.write_sizes) total += static_cast<std::size_t>(size);
  const std::string sent = pattern(total);

  SimConfig config;
  config.seed = c.seed;
  config.kernel.latency_ns = c.latency_ns;
  SimOs os(config);
  std::string received;
  bool writer_ok = true;
  const SimOutcome outcome = os.run([&] { received = run_stream(os, c, sent, &writer_ok); });
  RC_ASSERT(outcome.run.outcome == sim::RunResult::Outcome::completed);
  RC_ASSERT(writer_ok);
  RC_ASSERT(received.size() == sent.size());
  RC_ASSERT(received == sent);
  RC_TAG(total > 100000 ? "big" : "small", c.latency_ns > 0 ? "latency" : "inline");
}

}  // namespace
}  // namespace iosim
