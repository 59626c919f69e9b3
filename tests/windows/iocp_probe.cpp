// tests/windows/iocp_probe.cpp — asks a real Win32 (Wine, or Windows) what iosim's IOCP model answers, one
// "rule: result" line per rule. Not built by CMake yet; tests/windows/README.md says how to run it.
#include <mswsock.h>
#include <windows.h>
#include <winsock2.h>

#include <cstdio>
#include <string>

namespace {

struct Got {
  BOOL ok;
  DWORD error, bytes;
  ULONG_PTR key;
  OVERLAPPED* overlapped;
};

Got get(HANDLE port, DWORD timeout_ms) {
  Got got{};
  got.ok = GetQueuedCompletionStatus(port, &got.bytes, &got.key, &got.overlapped, timeout_ms);
  got.error = got.ok ? 0 : GetLastError();
  return got;
}

std::string hex(ULONG_PTR value) {
  char text[32];
  std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(value));
  return text;
}

void say(const char* rule, const std::string& result) {
  std::printf("%s: %s\n", rule, result.c_str());
}
std::string describe(const Got& got) {
  return std::string(got.ok ? "TRUE" : "FALSE") + " error=" + std::to_string(got.error) +
         " key=" + std::to_string(got.key) + " bytes=" + std::to_string(got.bytes) +
         (got.overlapped ? " overlapped(Internal=0x" + hex(got.overlapped->Internal) + ")" : " null");
}

HANDLE new_port(DWORD concurrency) {
  return CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, concurrency);
}

void spin(DWORD ms) {
  const ULONGLONG end = GetTickCount64() + ms;
  while (GetTickCount64() < end) {
  }
}

template <class Body>
HANDLE start(Body* body) {
  return CreateThread(
      nullptr, 0,
      [](void* arg) -> DWORD {
        (*static_cast<Body*>(arg))();
        return 0;
      },
      body, 0, nullptr);
}

void probe_port_rules() {
  HANDLE port = new_port(1);
  say("gqcs_timeout_0", describe(get(port, 0)));
  say("gqcs_timeout_50", describe(get(port, 50)));
  OVERLAPPED posted{};
  PostQueuedCompletionStatus(port, 7, 1, &posted);
  const Got got = get(port, 0);
  say("post_get_same_overlapped", describe(got) + (got.overlapped == &posted ? " same" : " different"));
  for (ULONG_PTR key = 1; key <= 3; ++key) PostQueuedCompletionStatus(port, 0, key, nullptr);
  OVERLAPPED_ENTRY entries[2];
  ULONG removed = 0;
  BOOL ok = GetQueuedCompletionStatusEx(port, entries, 2, &removed, 0, FALSE);
  say("gqcs_ex_2_of_3", std::to_string(ok) + " removed=" + std::to_string(removed) +
                            " first_key=" + std::to_string(entries[0].lpCompletionKey));
  ok = GetQueuedCompletionStatusEx(port, entries, 2, &removed, 0, FALSE);
  removed = 99;
  ok = GetQueuedCompletionStatusEx(port, entries, 2, &removed, 0, FALSE);
  say("gqcs_ex_empty", std::to_string(ok) + " error=" + std::to_string(GetLastError()) +
                           " removed=" + std::to_string(removed));
  CloseHandle(port);
}

void probe_lifo() {
  HANDLE port = new_port(3);
  std::string order[3];
  HANDLE threads[3];
  struct Waiter {
    HANDLE port;
    std::string* slot;
    void operator()() const { *slot = std::to_string(get(port, 5000).key); }
  } waiters[3] = {{port, &order[0]}, {port, &order[1]}, {port, &order[2]}};
  for (int i = 0; i < 3; ++i) {
    threads[i] = start(&waiters[i]);
    Sleep(100);
  }
  for (ULONG_PTR key = 1; key <= 3; ++key) PostQueuedCompletionStatus(port, 0, key, nullptr);
  WaitForMultipleObjects(3, threads, TRUE, INFINITE);
  say("lifo_wake (waiters 1,2,3 got keys)", order[0] + "," + order[1] + "," + order[2] + " (Windows: 3,2,1)");
  CloseHandle(port);
}

void probe_concurrency() {
  HANDLE port = new_port(1);
  std::string first_keys;
  Got second{};
  auto first_body = [&] {
    first_keys += std::to_string(get(port, 5000).key);
    spin(400);  // running, never blocking
    first_keys += "," + std::to_string(get(port, 0).key);
  };
  HANDLE first = start(&first_body);
  Sleep(100);
  PostQueuedCompletionStatus(port, 0, 1, nullptr);
  PostQueuedCompletionStatus(port, 0, 2, nullptr);
  auto second_body = [&] { second = get(port, 200); };
  HANDLE later = start(&second_body);
  WaitForSingleObject(first, INFINITE);
  WaitForSingleObject(later, INFINITE);
  say("concurrency_1_second_waiter", describe(second) + " (Windows: FALSE error=258)");
  say("concurrency_1_first_keys", first_keys + " (Windows: 1,2)");
  CloseHandle(port);

  port = new_port(1);
  PostQueuedCompletionStatus(port, 0, 1, nullptr);
  PostQueuedCompletionStatus(port, 0, 2, nullptr);
  ULONGLONG second_done = 0, first_woke = 0;
  auto sleeper = [&] {
    get(port, 0);
    Sleep(300);  // blocks elsewhere: the slot goes back to the port
    first_woke = GetTickCount64();
  };
  auto waiter = [&] {
    Sleep(50);
    second = get(port, 1000);
    second_done = GetTickCount64();
  };
  first = start(&sleeper);
  later = start(&waiter);
  WaitForSingleObject(first, INFINITE);
  WaitForSingleObject(later, INFINITE);
  say("blocked_thread_releases_slot", describe(second) + (second_done < first_woke ? " before" : " after") +
                                          " the sleeper woke (Windows: TRUE key=2 before)");
  CloseHandle(port);
}

void probe_abandoned() {
  HANDLE port = new_port(1);
  Got waited{};
  auto body = [&] { waited = get(port, 3000); };
  HANDLE thread = start(&body);
  Sleep(100);
  CloseHandle(port);
  WaitForSingleObject(thread, INFINITE);
  say("close_port_while_waiting", describe(waited) + " (Windows: FALSE error=735 null)");
}

// A connected loopback pair; the server end joins a new port under key 42.
struct Pair {
  SOCKET server, client;
  HANDLE port;
};
Pair connected_pair() {
  SOCKET listener = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(listener, 8);
  int len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  SOCKET client = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED);
  connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  SOCKET server = accept(listener, nullptr, nullptr);
  closesocket(listener);
  HANDLE port = CreateIoCompletionPort(reinterpret_cast<HANDLE>(server), nullptr, 42, 1);
  return {server, client, port};
}

int recv_into(SOCKET s, char* buffer, ULONG len, OVERLAPPED* overlapped, DWORD* bytes) {
  WSABUF wsabuf{len, buffer};
  DWORD flags = 0;
  return WSARecv(s, &wsabuf, 1, bytes, &flags, overlapped, nullptr);
}

void probe_sockets() {
  char buffer[64];
  DWORD bytes = 0;
  Pair pair = connected_pair();
  send(pair.client, "hello", 5, 0);
  Sleep(50);
  OVERLAPPED immediate{};
  int result = recv_into(pair.server, buffer, sizeof buffer, &immediate, &bytes);
  say("immediate_recv", std::to_string(result) + " bytes=" + std::to_string(bytes) + " then gqcs " +
                            describe(get(pair.port, 0)) + " (Windows: 0 bytes=5, TRUE)");
  SetFileCompletionNotificationModes(reinterpret_cast<HANDLE>(pair.server),
                                     FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
  send(pair.client, "abc", 3, 0);
  Sleep(50);
  result = recv_into(pair.server, buffer, sizeof buffer, &immediate, &bytes);
  say("skip_on_success_recv", std::to_string(result) + " bytes=" + std::to_string(bytes) + " then gqcs " +
                                  describe(get(pair.port, 0)) + " (Windows: FALSE error=258)");
  OVERLAPPED zero{};
  result = recv_into(pair.server, nullptr, 0, &zero, &bytes);
  const int pending_error = WSAGetLastError();
  send(pair.client, "data", 4, 0);
  say("zero_byte_recv", std::to_string(result) + "/" + std::to_string(pending_error) + " then " +
                            describe(get(pair.port, 1000)) +
                            " then recv=" + std::to_string(recv(pair.server, buffer, sizeof buffer, 0)));
  OVERLAPPED cancelled{};
  recv_into(pair.server, buffer, sizeof buffer, &cancelled, &bytes);
  const BOOL cancel = CancelIoEx(reinterpret_cast<HANDLE>(pair.server), &cancelled);
  say("cancel_pending_recv", std::to_string(cancel) + " then " + describe(get(pair.port, 1000)) +
                                 " (Windows: 1 then FALSE error=995 overlapped)");
  SetLastError(0);
  say("cancel_again", std::to_string(CancelIoEx(reinterpret_cast<HANDLE>(pair.server), &cancelled)) +
                          " error=" + std::to_string(GetLastError()) + " (Windows: 0 error=1168)");
  OVERLAPPED reset{};
  recv_into(pair.server, buffer, sizeof buffer, &reset, &bytes);
  linger abort{1, 0};
  setsockopt(pair.client, SOL_SOCKET, SO_LINGER, reinterpret_cast<char*>(&abort), sizeof abort);
  closesocket(pair.client);
  const Got got = get(pair.port, 1000);
  DWORD transferred = 0, flags = 0;
  const BOOL result_ok = WSAGetOverlappedResult(pair.server, &reset, &transferred, TRUE, &flags);
  say("peer_reset_pending_recv", describe(got) + " overlapped_result=" + std::to_string(result_ok) + "/" +
                                     std::to_string(WSAGetLastError()) +
                                     " (Windows: FALSE error=64, 0/10054)");
  closesocket(pair.server);
  CloseHandle(pair.port);

  pair = connected_pair();
  OVERLAPPED closing{};
  recv_into(pair.server, buffer, sizeof buffer, &closing, &bytes);
  closesocket(pair.server);
  say("closesocket_pending_recv", describe(get(pair.port, 1000)) + " (Windows: FALSE error=995 overlapped)");
  closesocket(pair.client);
  CloseHandle(pair.port);
}

}  // namespace

int main() {
  WSADATA data;
  WSAStartup(MAKEWORD(2, 2), &data);
  probe_port_rules();
  probe_lifo();
  probe_concurrency();
  probe_abandoned();
  probe_sockets();
  WSACleanup();
  return 0;
}
