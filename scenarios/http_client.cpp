// scenarios/http_client.cpp — the HTTP/1.0 client: blocking connect, blocking send of the request, blocking
// recv until the server closes, then a byte-for-byte comparison with the oracle (http_protocol.hpp).
//
// Why blocking I/O is safe here, when the echo client needs poll: a request is a few dozen bytes, and the
// server reads the whole request head before it writes a byte of the response. So the client never has to
// read while it is still sending — the deadlock echo_client.cpp avoids cannot happen.
#include "scenarios/http_client.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "scenarios/http_protocol.hpp"
#include "sim/prng.hpp"

namespace iosim {
namespace {

struct HttpClientRun {
  Os& os;
  HttpClientOutcome& outcome;
  TranscriptHash transcript;
  std::vector<char> scratch = std::vector<char>(16 * 1024);  // heap: fiber stacks are small
};

// Records the first error only (later ones are consequences). Returns false.
bool record(HttpClientRun& run, std::string error) {
  if (run.outcome.report.error.empty()) run.outcome.report.error = std::move(error);
  return false;
}

bool record_call(HttpClientRun& run, std::string_view call) {
  return record(run, fmt::format("{}: {}", call, errno_name(run.os.last_errno())));
}

// Blocking connect. A signal (EINTR) does not stop the handshake: wait until the socket is writable, then
// SO_ERROR says how it ended.
bool connect_completed(HttpClientRun& run, int fd, std::uint16_t port) {
  if (run.os.connect(fd, SockAddr{loopback_ip, port}) == 0) return true;
  if (run.os.last_errno() != E::INTR) return record_call(run, "connect");
  pollfd entry{fd, POLL::OUT, 0};
  while (run.os.poll(&entry, 1, -1) < 0) {
    if (run.os.last_errno() != E::INTR) return record_call(run, "poll");
  }
  int error = 0;
  if (run.os.getsockopt(fd, SOL::SOCKET, SO::ERROR, &error) < 0) return record_call(run, "getsockopt");
  if (error != 0) return record(run, fmt::format("connect: {}", errno_name(error)));
  return true;
}

// A connected socket, or -1 with the error recorded.
int connect_to_server(HttpClientRun& run, std::uint16_t port) {
  const int fd = run.os.socket(AF::INET, SOCK::STREAM, 0);
  if (fd < 0) {
    record_call(run, "socket");
    return -1;
  }
  if (connect_completed(run, fd, port)) return fd;
  run.os.close(fd);
  return -1;
}

bool send_request(HttpClientRun& run, int fd, const std::string& request) {
  std::size_t sent = 0;
  while (sent < request.size()) {
    const long count = run.os.send(fd, request.data() + sent, request.size() - sent, MSG::NOSIGNAL);
    if (count < 0) {
      if (run.os.last_errno() == E::INTR) continue;
      return record_call(run, "send");
    }
    run.outcome.report.bytes_sent += static_cast<std::uint64_t>(count);
    sent += static_cast<std::size_t>(count);
  }
  return true;
}

// Reads until end of file, checking each chunk against `expected` as it arrives. At most one byte beyond
// the expected response is asked for, so a server that sends too much is caught at its first extra byte.
bool receive_response(HttpClientRun& run, int fd, const HttpExchange& exchange, int index) {
  std::size_t received = 0;
  for (;;) {
    const std::size_t wanted = std::min(run.scratch.size(), exchange.response.size() + 1 - received);
    const long count = run.os.recv(fd, run.scratch.data(), wanted, 0);
    if (count < 0) {
      if (run.os.last_errno() == E::INTR) continue;
      return record_call(run, "recv");
    }
    if (count == 0) break;  // the server closed: HTTP/1.0's end of the response
    const auto got = std::string_view(run.scratch.data(), static_cast<std::size_t>(count));
    run.transcript.add(std::as_bytes(std::span(got)));
    run.outcome.report.bytes_received += got.size();
    const std::string_view expected = std::string_view(exchange.response).substr(received);
    const auto mismatch = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end());
    if (mismatch.first != got.end()) {
      const std::size_t offset = received + static_cast<std::size_t>(mismatch.first - got.begin());
      if (mismatch.second == expected.end()) {
        return record(run, fmt::format("response {} to GET {}: bytes after the expected {}", index + 1,
                                       exchange.path, exchange.response.size()));
      }
      return record(
          run, fmt::format("response {} to GET {} differs at byte {}: expected 0x{:02x}, got 0x{:02x}",
                           index + 1, exchange.path, offset, static_cast<unsigned char>(*mismatch.second),
                           static_cast<unsigned char>(*mismatch.first)));
    }
    received += got.size();
  }
  if (received == exchange.response.size()) return true;
  return record(run, fmt::format("response {} to GET {}: end of file after {} of {} bytes", index + 1,
                                 exchange.path, received, exchange.response.size()));
}

// One request on a fresh connection, to the end of the response.
bool exchange_once(HttpClientRun& run, std::uint16_t port, const HttpExchange& exchange, int index) {
  const int fd = connect_to_server(run, port);
  if (fd < 0) return false;
  ++run.outcome.connections_made;
  run.outcome.report.connected = true;
  bool ok = send_request(run, fd, http::request(exchange.path)) && receive_response(run, fd, exchange, index);
  if (run.os.close(fd) < 0) ok = record_call(run, "close");
  return ok;
}

}  // namespace

std::vector<HttpExchange> http_exchanges(const WorkloadSpec& workload, int client) {
  sim::Prng prng(client_seed(workload.seed, client));
  std::vector<HttpExchange> exchanges;
  for (int index = 0; index < workload.requests; ++index) {
    const std::int64_t body_bytes = prng.between(workload.body_bytes_min, workload.body_bytes_max);
    const std::uint64_t seed = prng.next();
    exchanges.push_back(
        {http::bytes_path(body_bytes, seed), http::response(200, http::bytes_body(body_bytes, seed))});
  }
  return exchanges;
}

HttpClientOutcome run_http_client(Os& os, const WorkloadSpec& workload, std::uint16_t port, int client) {
  HttpClientOutcome outcome;
  outcome.report.client = client;
  HttpClientRun run{os, outcome};
  const std::vector<HttpExchange> exchanges = http_exchanges(workload, client);
  bool all_exact = true;
  for (std::size_t index = 0; all_exact && index < exchanges.size(); ++index) {
    all_exact = exchange_once(run, port, exchanges[index], static_cast<int>(index));
  }
  // A client with no requests sent nothing and expected nothing: vacuously exact, and never connected.
  outcome.report.echoed_in_order = all_exact;
  outcome.report.transcript_hash = run.transcript.value();
  return outcome;
}

}  // namespace iosim
