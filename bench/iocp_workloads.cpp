// bench/iocp_workloads.cpp — the IOCP benchmark workloads over iosim::Os (see the header). A failed call
// ends the process with the call and its error: a benchmark whose I/O failed measured nothing.
#include "bench/iocp_workloads.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace iosim::bench {
namespace {

using namespace win32;

void require_ok(bool holds, const char* what, Os& os) {
  if (holds) return;
  std::fprintf(stderr, "iocp benchmark: %s failed on %s (errno %d, GetLastError %u)\n", what,
               std::string(os.backend_name()).c_str(), os.last_errno(), os.GetLastError());
  std::abort();
}

HANDLE as_handle(int fd) {
  return reinterpret_cast<HANDLE>(static_cast<std::uintptr_t>(fd));
}

constexpr ULONG_PTR echo_key = 1;
constexpr ULONG_PTR quit_key = 0;
constexpr ULONG_PTR hand_off_key = 2;

// Waits for the completion of the one overlapped request the echo server has in flight.
DWORD wait_completion(Os& os, HANDLE port, OVERLAPPED* expected) {
  DWORD bytes = 0;
  ULONG_PTR key = 0;
  OVERLAPPED* overlapped = nullptr;
  require_ok(os.GetQueuedCompletionStatus(port, &bytes, &key, &overlapped, INFINITE_) != FALSE_,
             "GetQueuedCompletionStatus (echo)", os);
  require_ok(overlapped == expected && key == echo_key, "the completion of the request in flight", os);
  return bytes;
}

// The proactor side: one WSARecv in flight until a message is whole, then one WSASend, until the client
// shuts its side down (a zero-byte completion).
void serve_iocp_echo(Os& os, int connection) {
  const HANDLE port = os.CreateIoCompletionPort(as_handle(connection), nullptr, echo_key, 1);
  require_ok(port != nullptr, "CreateIoCompletionPort", os);
  char buffer[iocp_echo_message_bytes];
  std::size_t got = 0;
  for (;;) {
    OVERLAPPED overlapped{};
    WSABUF wsabuf{static_cast<ULONG>(sizeof buffer - got), buffer + got};
    DWORD flags = 0;
    const int received =
        os.WSARecv(static_cast<SOCKET>(connection), &wsabuf, 1, nullptr, &flags, &overlapped);
    require_ok(received == 0 || os.WSAGetLastError() == WSA::IO_PENDING, "WSARecv", os);
    const DWORD bytes = wait_completion(os, port, &overlapped);  // an immediate success still posts a packet
    if (bytes == 0) break;
    got += bytes;
    if (got < sizeof buffer) continue;
    std::size_t sent = 0;
    while (sent < sizeof buffer) {
      OVERLAPPED send_overlapped{};
      WSABUF out{static_cast<ULONG>(sizeof buffer - sent), buffer + sent};
      const int result = os.WSASend(static_cast<SOCKET>(connection), &out, 1, nullptr, 0, &send_overlapped);
      require_ok(result == 0 || os.WSAGetLastError() == WSA::IO_PENDING, "WSASend", os);
      sent += wait_completion(os, port, &send_overlapped);
    }
    got = 0;
  }
  require_ok(os.closesocket(static_cast<SOCKET>(connection)) == 0, "closesocket (server)", os);
  require_ok(os.CloseHandle(port) != FALSE_, "CloseHandle (port)", os);
}

int listen_on_loopback(Os& os, SockAddr* bound) {
  const int listener = os.socket(AF::INET, SOCK::STREAM, 0);
  require_ok(listener >= 0, "socket (listener)", os);
  require_ok(os.bind(listener, SockAddr{loopback_ip, 0}) == 0, "bind", os);
  require_ok(os.listen(listener, 4) == 0, "listen", os);
  require_ok(os.getsockname(listener, bound) == 0, "getsockname", os);
  return listener;
}

void send_all(Os& os, int fd, const char* data, std::size_t len) {
  while (len > 0) {
    const long sent = os.send(fd, data, len, 0);
    require_ok(sent > 0, "send (client)", os);
    data += sent;
    len -= static_cast<std::size_t>(sent);
  }
}

void recv_exact(Os& os, int fd, char* data, std::size_t len) {
  for (std::size_t got = 0; got < len;) {
    const long received = os.recv(fd, data + got, len - got, 0);
    require_ok(received > 0, "recv (client)", os);
    got += static_cast<std::size_t>(received);
  }
}

}  // namespace

IocpTiming iocp_echo_round_trips(Os& os, std::int64_t round_trips, const NanosecondClock& clock) {
  SockAddr bound;
  const int listener = listen_on_loopback(os, &bound);
  std::unique_ptr<Thread> server = os.thread_create("iocp-echo-server", [&os, listener] {
    const int connection = os.accept4(listener, nullptr, 0);
    require_ok(connection >= 0, "accept", os);
    require_ok(os.setsockopt(connection, IPPROTO::TCP, TCP::NODELAY, 1) == 0, "setsockopt(TCP_NODELAY)", os);
    serve_iocp_echo(os, connection);
  });
  const int client = os.socket(AF::INET, SOCK::STREAM, 0);
  require_ok(client >= 0, "socket (client)", os);
  require_ok(os.connect(client, SockAddr{loopback_ip, bound.port}) == 0, "connect", os);
  require_ok(os.setsockopt(client, IPPROTO::TCP, TCP::NODELAY, 1) == 0, "setsockopt(TCP_NODELAY)", os);
  char request[iocp_echo_message_bytes], reply[iocp_echo_message_bytes];
  for (std::size_t i = 0; i < sizeof request; ++i) request[i] = static_cast<char>('a' + i % 26);
  IocpTiming timing;
  const std::int64_t start_ns = clock();
  for (std::int64_t i = 0; i < round_trips; ++i) {
    send_all(os, client, request, sizeof request);
    recv_exact(os, client, reply, sizeof reply);
  }
  timing.elapsed_ns = clock() - start_ns;
  timing.operations = round_trips;
  require_ok(std::memcmp(request, reply, sizeof request) == 0, "echo content check", os);
  require_ok(os.shutdown(client, SHUT::WR) == 0, "shutdown (client)", os);
  server->join();
  require_ok(os.close(client) == 0, "close (client)", os);
  require_ok(os.close(listener) == 0, "close (listener)", os);
  return timing;
}

IocpTiming gqcs_wake_hand_offs(Os& os, int waiters, std::int64_t hand_offs, const NanosecondClock& clock) {
  const HANDLE work = os.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, nullptr, 0, 0);
  const HANDLE acks = os.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, nullptr, 0, 0);
  require_ok(work != nullptr && acks != nullptr, "CreateIoCompletionPort (new port)", os);
  std::vector<std::unique_ptr<Thread>> threads;
  for (int i = 0; i < waiters; ++i) {
    threads.push_back(os.thread_create("gqcs-waiter-" + std::to_string(i), [&os, work, acks] {
      for (;;) {
        DWORD bytes = 0;
        ULONG_PTR key = 0;
        OVERLAPPED* overlapped = nullptr;
        require_ok(os.GetQueuedCompletionStatus(work, &bytes, &key, &overlapped, INFINITE_) != FALSE_,
                   "GetQueuedCompletionStatus (waiter)", os);
        if (key == quit_key) return;
        require_ok(os.PostQueuedCompletionStatus(acks, bytes, key, nullptr) != FALSE_,
                   "PostQueuedCompletionStatus (ack)", os);
      }
    }));
  }
  os.sleep_for(20'000'000);  // let every waiter reach GetQueuedCompletionStatus before the timing starts
  IocpTiming timing;
  const std::int64_t start_ns = clock();
  for (std::int64_t i = 0; i < hand_offs; ++i) {
    require_ok(os.PostQueuedCompletionStatus(work, 1, hand_off_key, nullptr) != FALSE_,
               "PostQueuedCompletionStatus (work)", os);
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* overlapped = nullptr;
    require_ok(os.GetQueuedCompletionStatus(acks, &bytes, &key, &overlapped, INFINITE_) != FALSE_,
               "GetQueuedCompletionStatus (ack)", os);
  }
  timing.elapsed_ns = clock() - start_ns;
  timing.operations = hand_offs;
  for (int i = 0; i < waiters; ++i) {
    require_ok(os.PostQueuedCompletionStatus(work, 0, quit_key, nullptr) != FALSE_,
               "PostQueuedCompletionStatus (quit)", os);
  }
  for (std::unique_ptr<Thread>& thread : threads) thread->join();
  require_ok(os.CloseHandle(work) != FALSE_ && os.CloseHandle(acks) != FALSE_, "CloseHandle (ports)", os);
  return timing;
}

}  // namespace iosim::bench
