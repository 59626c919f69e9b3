// scenarios/echo_client.cpp — the echo client: blocking connect, then a non-blocking socket driven by poll on
// that one fd, sending each message while reading its echo; then half-close and read to end-of-file.
//
// Why send and receive at the same time: a client that sends a whole message before reading any of the echo
// deadlocks once the message exceeds what the buffers between the two can hold (our send buffer, the
// server's receive buffer, the server's send buffer, our receive buffer): the server blocks sending the echo
// we are not reading, so it stops reading, so our send blocks. Polling for POLLIN and POLLOUT together and
// doing whichever is possible keeps both directions moving at any message size.
#include "scenarios/echo_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace iosim {
namespace {

// What one client thread needs while it runs.
struct ClientRun {
  Os& os;
  ClientReport& report;
  int fd = -1;
  TranscriptHash transcript;
  std::vector<std::byte> scratch = std::vector<std::byte>(64 * 1024);  // heap: fiber stacks are small
};

// Records the first error only (later ones are consequences). Returns false, so a failing step can end with
// `return record(...)`.
bool record(ClientRun& run, std::string error) {
  if (run.report.error.empty()) run.report.error = std::move(error);
  return false;
}

// Records "<call>: <errno name>" for the call that just failed. Returns false.
bool record_call(ClientRun& run, std::string_view call) {
  return record(run, fmt::format("{}: {}", call, errno_name(run.os.last_errno())));
}

// Waits until `fd` reports one of `events` (or an error/hang-up condition). Returns revents, or -1 after
// recording the error. EINTR restarts the wait.
int wait_for(ClientRun& run, short events) {
  for (;;) {
    pollfd entry{run.fd, events, 0};
    if (run.os.poll(&entry, 1, -1) >= 0) {
      if (entry.revents & POLL::NVAL) {
        record(run, "poll: POLLNVAL (the fd is not open)");
        return -1;
      }
      return entry.revents;
    }
    if (run.os.last_errno() != E::INTR) {
      record_call(run, "poll");
      return -1;
    }
  }
}

// Blocking connect. If a signal interrupts it (EINTR) the kernel carries on connecting in the background:
// wait for writability, then SO_ERROR tells how the attempt ended. Then switch to non-blocking for the
// exchange (the reason is in the file banner).
bool connect_to_server(ClientRun& run, std::uint16_t port) {
  run.fd = run.os.socket(AF::INET, SOCK::STREAM, 0);
  if (run.fd < 0) return record_call(run, "socket");
  if (run.os.connect(run.fd, SockAddr{loopback_ip, port}) < 0) {
    if (run.os.last_errno() != E::INTR) return record_call(run, "connect");
    int error = 0;
    if (wait_for(run, POLL::OUT) < 0) return false;
    if (run.os.getsockopt(run.fd, SOL::SOCKET, SO::ERROR, &error) < 0) return record_call(run, "getsockopt");
    if (error != 0) return record(run, fmt::format("connect: {}", errno_name(error)));
  }
  run.report.connected = true;
  const int flags = run.os.fcntl(run.fd, F::GETFL, 0);
  if (flags < 0) return record_call(run, "fcntl(F_GETFL)");
  if (run.os.fcntl(run.fd, F::SETFL, flags | O::NONBLOCK) < 0) return record_call(run, "fcntl(F_SETFL)");
  return true;
}

// One non-blocking send of what is left of the message. EAGAIN/EINTR just mean "not now".
bool send_some(ClientRun& run, const std::vector<std::byte>& message, std::size_t& sent) {
  const long count = run.os.send(run.fd, message.data() + sent, message.size() - sent, MSG::NOSIGNAL);
  if (count >= 0) {
    sent += static_cast<std::size_t>(count);
    run.report.bytes_sent += static_cast<std::uint64_t>(count);
    return true;
  }
  if (run.os.last_errno() == E::AGAIN || run.os.last_errno() == E::INTR) return true;
  record_call(run, "send");
  return false;
}

// One non-blocking recv of at most what is still owed for this message, checked against what was sent.
// Asking for no more than that keeps a wrongly long echo from being hidden in the next message.
bool receive_some(ClientRun& run, const std::vector<std::byte>& message, int index, std::size_t& received) {
  const std::size_t wanted = std::min(run.scratch.size(), message.size() - received);
  const long count = run.os.recv(run.fd, run.scratch.data(), wanted, 0);
  if (count < 0) {
    if (run.os.last_errno() == E::AGAIN || run.os.last_errno() == E::INTR) return true;
    return record_call(run, "recv");
  }
  if (count == 0) {
    return record(run, fmt::format("recv: end of file after {} of {} bytes of message {}", received,
                                   message.size(), index + 1));
  }
  const auto got = std::span<const std::byte>(run.scratch.data(), static_cast<std::size_t>(count));
  const auto mismatch = std::mismatch(got.begin(), got.end(), message.begin() + static_cast<long>(received));
  run.transcript.add(got);
  run.report.bytes_received += got.size();
  if (mismatch.first != got.end()) {
    const auto offset = received + static_cast<std::size_t>(mismatch.first - got.begin());
    return record(run, fmt::format("echo differs in message {} at byte {}: sent 0x{:02x}, got 0x{:02x}",
                                   index + 1, offset, static_cast<unsigned>(*mismatch.second),
                                   static_cast<unsigned>(*mismatch.first)));
  }
  received += got.size();
  return true;
}

// Sends one message and reads its echo, both directions at once, until the whole echo is back.
bool exchange(ClientRun& run, const std::vector<std::byte>& message, int index) {
  std::size_t sent = 0, received = 0;
  while (received < message.size()) {
    const short events = static_cast<short>(POLL::IN | (sent < message.size() ? POLL::OUT : 0));
    const int revents = wait_for(run, events);
    if (revents < 0) return false;
    // ERR/HUP: the next call reports what happened (ECONNRESET, EPIPE, end of file).
    if (sent < message.size() && (revents & (POLL::OUT | POLL::ERR | POLL::HUP))) {
      if (!send_some(run, message, sent)) return false;
    }
    if (revents & (POLL::IN | POLL::ERR | POLL::HUP)) {
      if (!receive_some(run, message, index, received)) return false;
    }
  }
  return true;
}

// Half-close: shutdown(SHUT_WR) sends FIN, telling the server we are done; the server's recv returns 0, it
// closes, and our recv returns 0. Anything received before that is an echo of nothing: an error.
bool finish(ClientRun& run) {
  if (run.os.shutdown(run.fd, SHUT::WR) < 0) return record_call(run, "shutdown");
  for (;;) {
    if (wait_for(run, POLL::IN) < 0) return false;
    const long count = run.os.recv(run.fd, run.scratch.data(), run.scratch.size(), 0);
    if (count == 0) return true;
    if (count > 0) return record(run, fmt::format("recv: {} bytes after the last echo", count));
    if (run.os.last_errno() != E::AGAIN && run.os.last_errno() != E::INTR) return record_call(run, "recv");
  }
}

}  // namespace

void next_message(sim::Prng& prng, const WorkloadSpec& workload, std::vector<std::byte>& message) {
  const auto size =
      static_cast<std::size_t>(prng.between(workload.message_bytes_min, workload.message_bytes_max));
  message.resize(size);
  // Each PRNG word gives the next 8 bytes, least significant first (a memcpy on little-endian hosts).
  for (std::size_t offset = 0; offset < size; offset += 8) {
    const std::uint64_t word = prng.next();
    if (std::endian::native == std::endian::little && offset + 8 <= size) {
      std::memcpy(message.data() + offset, &word, sizeof word);
      continue;
    }
    for (std::size_t byte = 0; byte < 8 && offset + byte < size; ++byte) {
      message[offset + byte] = static_cast<std::byte>(word >> (8 * byte));
    }
  }
}

ClientReport run_echo_client(Os& os, const WorkloadSpec& workload, std::uint16_t port, int client) {
  ClientReport report;
  report.client = client;
  ClientRun run{os, report};
  bool in_order = connect_to_server(run, port);
  sim::Prng prng(client_seed(workload.seed, client));
  std::vector<std::byte> message;
  for (int index = 0; in_order && index < workload.messages; ++index) {
    next_message(prng, workload, message);
    in_order = exchange(run, message, index);
  }
  if (in_order) in_order = finish(run);
  report.echoed_in_order = in_order;
  report.transcript_hash = run.transcript.value();
  // Closing also on failure: the server then sees end of file or a reset instead of waiting forever.
  if (run.fd >= 0 && os.close(run.fd) < 0) record_call(run, "close");
  return report;
}

}  // namespace iosim
