// examples/echo_server/echo_server.hpp — a small thread-per-connection echo server written against iosim::Os,
// as a user of iosim would write one: it runs on the simulator in tests and on any other Os unchanged.
#pragma once

#include <cstdint>
#include <iosim/os.hpp>
#include <memory>
#include <vector>

namespace echo {

class EchoServer {
 public:
  struct Options {
    int connections = 1;  // the server accepts this many connections, serves them and stops
    int backlog = 16;
    bool racy_byte_count = false;  // the bug under test: bytes_echoed() updated without the lock
  };

  EchoServer(iosim::Os& os, Options options);
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  // Listens on 127.0.0.1 (an ephemeral port) and starts the acceptor thread; returns the address to connect
  // to, or port 0 when a call failed.
  iosim::SockAddr start();
  // Waits until every connection has been served and closed.
  void wait();
  // Bytes echoed over all connections so far.
  std::uint64_t bytes_echoed() const { return bytes_echoed_; }

 private:
  void accept_loop();
  void serve(int fd);
  void count(long bytes, std::uint64_t seen_before_send);

  iosim::Os& os_;
  Options options_;
  int listener_ = -1;
  std::unique_ptr<iosim::Mutex> mutex_;
  std::uint64_t bytes_echoed_ = 0;
  std::unique_ptr<iosim::Thread> acceptor_;
  std::vector<std::unique_ptr<iosim::Thread>> workers_;
};

// A blocking client: connects, sends `message` in chunks of `chunk_bytes`, half-closes, and returns every
// byte the server sent back until it closed (empty on a failed call).
std::vector<char> echo_round_trip(iosim::Os& os, iosim::SockAddr server, const std::vector<char>& message,
                                  std::size_t chunk_bytes);

}  // namespace echo
