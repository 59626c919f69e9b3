// tests/windows/windows_os_smoke.cpp — windows_os_smoke.exe: WindowsOs end to end under Wine (or Windows).
// One line per check ("ok NAME" / "FAILED NAME: why") and a last line "windows_os_smoke: P/N checks passed".
// `echo` and `exit N` modes give the Linux-side launcher tests (wine_process_test) a known peer; `run ...`
// (the runner's arguments) crashes, standing in for a crashing iosim-windows.exe (windows_backend_test).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backends/windows/windows_os.hpp"

namespace {

using namespace iosim;

int g_checks = 0;
int g_passed = 0;

void expect(bool ok, const char* name, const std::string& why = {}) {
  ++g_checks;
  g_passed += ok ? 1 : 0;
  if (ok) {
    std::printf("ok %s\n", name);
  } else {
    std::printf("FAILED %s: %s\n", name, why.c_str());
  }
}

std::string errno_text(Os& os) {
  return std::string(errno_name(os.last_errno()));
}

struct Connection {
  int listener = -1, client = -1, server = -1;
};

Connection connect_pair(Os& os) {
  Connection c;
  c.listener = os.socket(AF::INET, SOCK::STREAM, 0);
  expect(c.listener >= 0 && os.bind(c.listener, {loopback_ip, 0}) == 0 && os.listen(c.listener, 8) == 0,
         "listen_on_loopback", errno_text(os));
  SockAddr bound;
  expect(os.getsockname(c.listener, &bound) == 0 && bound.port != 0 && bound.ip == loopback_ip,
         "getsockname_ephemeral_port");
  c.client = os.socket(AF::INET, SOCK::STREAM, 0);
  expect(os.connect(c.client, bound) == 0, "blocking_connect", errno_text(os));
  SockAddr peer;
  c.server = os.accept4(c.listener, &peer, 0);
  expect(c.server >= 0 && peer.ip == loopback_ip, "accept4_peer_is_loopback", errno_text(os));
  return c;
}

void check_posix_calls(Os& os, const Connection& c) {
  expect(os.send(c.client, "ping", 4, MSG::NOSIGNAL) == 4, "send", errno_text(os));
  char buf[16] = {};
  expect(os.recv(c.server, buf, sizeof buf, 0) == 4 && std::memcmp(buf, "ping", 4) == 0, "recv_same_bytes");
  expect(
      os.fcntl(c.server, F::SETFL, O::NONBLOCK) == 0 && (os.fcntl(c.server, F::GETFL, 0) & O::NONBLOCK) != 0,
      "fcntl_nonblock_remembered");
  expect(os.recv(c.server, buf, sizeof buf, 0) == -1 && os.last_errno() == E::AGAIN,
         "nonblocking_recv_eagain", errno_text(os));
  iosim::pollfd idle{c.server, POLL::IN, 0};
  expect(os.poll(&idle, 1, 0) == 0 && idle.revents == 0, "poll_idle_is_0");
  expect(os.write(c.client, "pong", 4) == 4, "write");
  iosim::pollfd ready{c.server, POLL::IN, 0};
  expect(os.poll(&ready, 1, 1000) == 1 && (ready.revents & POLL::IN) != 0, "poll_readable");
  iosim::fd_set writable;
  writable.set(c.client);
  iosim::timeval zero{};
  expect(os.select(c.client + 1, nullptr, &writable, nullptr, &zero) == 1 && writable.is_set(c.client),
         "select_writable");
  expect(os.read(c.server, buf, sizeof buf) == 4 && std::memcmp(buf, "pong", 4) == 0, "read");
  int error = -1;
  expect(os.getsockopt(c.client, SOL::SOCKET, SO::ERROR, &error) == 0 && error == 0, "so_error_zero");
  expect(os.setsockopt(c.client, IPPROTO::TCP, TCP::NODELAY, 1) == 0, "tcp_nodelay", errno_text(os));
  expect(os.epoll_create1(0) == -1 && os.last_errno() == E::NOSYS, "epoll_is_enosys", errno_text(os));
}

// A non-blocking connect: EINPROGRESS, then select reports it writable and SO_ERROR says how it ended — also
// when it was refused (Winsock reports that in exceptfds only; Linux, and WindowsOs, in writefds).
void check_nonblocking_connect(Os& os, SockAddr to, int expected_error, const char* name) {
  const int fd = os.socket(AF::INET, SOCK::STREAM | SOCK::NONBLOCK, 0);
  const int started = os.connect(fd, to);
  const bool in_progress = started == 0 || os.last_errno() == E::INPROGRESS;
  iosim::fd_set writable;
  writable.set(fd);
  iosim::timeval five_seconds{5, 0};
  const int ready = os.select(fd + 1, nullptr, &writable, nullptr, &five_seconds);
  int error = -1;
  os.getsockopt(fd, SOL::SOCKET, SO::ERROR, &error);
  expect(in_progress && ready == 1 && writable.is_set(fd) && error == expected_error, name,
         "connect " + std::to_string(started) + " " + errno_text(os) + ", select " + std::to_string(ready) +
             ", SO_ERROR " + std::string(errno_name(error)));
  os.close(fd);
}

void check_iocp(Os& os, const Connection& c) {
  const win32::HANDLE port = os.CreateIoCompletionPort(win32::INVALID_HANDLE_VALUE_, nullptr, 0, 1);
  expect(port != nullptr, "create_port");
  win32::DWORD bytes = 0;
  win32::ULONG_PTR key = 0;
  win32::OVERLAPPED* got = nullptr;
  expect(!os.GetQueuedCompletionStatus(port, &bytes, &key, &got, 0) &&
             os.GetLastError() == win32::Error::WAIT_TIMEOUT_ && got == nullptr,
         "gqcs_timeout");
  win32::OVERLAPPED posted{};
  os.PostQueuedCompletionStatus(port, 7, 1, &posted);
  expect(
      os.GetQueuedCompletionStatus(port, &bytes, &key, &got, 0) && got == &posted && bytes == 7 && key == 1,
      "post_then_get_same_overlapped");
  const auto server_socket = static_cast<win32::SOCKET>(c.server);
  expect(os.CreateIoCompletionPort(reinterpret_cast<win32::HANDLE>(server_socket), port, 2, 0) == port,
         "associate_socket");
  char data[8] = {};
  win32::WSABUF buffer{sizeof data, data};
  win32::DWORD flags = 0;
  win32::OVERLAPPED receive{};
  const int started = os.WSARecv(server_socket, &buffer, 1, nullptr, &flags, &receive);
  expect(started == win32::SOCKET_ERROR_ && os.WSAGetLastError() == win32::WSA::IO_PENDING, "wsarecv_pending",
         std::to_string(os.WSAGetLastError()));
  os.send(c.client, "iocp", 4, 0);
  expect(os.GetQueuedCompletionStatus(port, &bytes, &key, &got, 5000) && got == &receive && bytes == 4 &&
             key == 2 && std::memcmp(data, "iocp", 4) == 0,
         "wsarecv_completes_on_port");
  expect(os.CloseHandle(port) != 0, "close_port");
}

void check_threads(Os& os) {
  auto mutex = os.mutex_create();
  auto condvar = os.condvar_create();
  bool done = false;
  auto thread = os.thread_create("worker", [&] {
    LockGuard lock(*mutex);
    done = true;
    condvar->notify_all();
  });
  {
    LockGuard lock(*mutex);
    while (!done) condvar->wait(*mutex);
  }
  thread->join();
  expect(done, "thread_condvar_handshake");
}

// `echo`: answers each stdin line with "echo: LINE" until end of input; `exit N`: exits with N; `run`: a
// write through a null pointer (an unhandled exception).
int run_launcher_mode(int argc, char** argv) {
  if (std::strcmp(argv[1], "exit") == 0 && argc == 3) return std::atoi(argv[2]);
  if (std::strcmp(argv[1], "run") == 0) {
    volatile int* nowhere = nullptr;
    *nowhere = 1;
  }
  if (std::strcmp(argv[1], "echo") != 0) return 2;
  char line[4096];
  while (std::fgets(line, sizeof line, stdin) != nullptr) {
    line[std::strcspn(line, "\r\n")] = '\0';
    std::printf("echo: %s\n", line);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) return run_launcher_mode(argc, argv);
  WindowsOs os;
  expect(os.backend_name() == "windows", "backend_name");
  const Connection c = connect_pair(os);
  check_posix_calls(os, c);
  SockAddr listening;
  os.getsockname(c.listener, &listening);
  check_nonblocking_connect(os, listening, 0, "nonblocking_connect_writable");
  const int closed = os.socket(AF::INET, SOCK::STREAM, 0);
  SockAddr unused_port;
  os.bind(closed, {loopback_ip, 0});
  os.getsockname(closed, &unused_port);
  os.close(closed);
  check_nonblocking_connect(os, unused_port, E::CONNREFUSED, "refused_connect_writable_with_so_error");
  check_iocp(os, c);
  check_threads(os);
  os.close(c.client);
  os.close(c.server);
  const int listener = c.listener;
  os.close(listener);
  char buf[4];
  expect(os.recv(listener, buf, sizeof buf, 0) == -1 && os.last_errno() == E::BADF, "closed_fd_is_ebadf",
         errno_text(os));
  std::printf("windows_os_smoke: %d/%d checks passed\n", g_passed, g_checks);
  return g_passed == g_checks ? 0 : 1;
}
