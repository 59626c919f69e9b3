// tests/iocp_ops.hpp — the IOCP differential suite's op language: ops over completion ports, overlapped
// slots and a connected loopback TCP pair, and an interpreter that runs them on any Os, one result line each.
// Plain Os code (no Windows header): the same interpreter runs on SimOs and, in iocp_ops_server.exe, on
// WindowsOs.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "iosim/os.hpp"

namespace iosim::iocp_ops {

enum class Kind {
  create_port,        // CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, concurrency): a new port
  close_port,         // CloseHandle(port)
  associate,          // CreateIoCompletionPort(socket, port, key, 0)
  post,               // PostQueuedCompletionStatus(port, bytes, key, post slot or NULL)
  get,                // GetQueuedCompletionStatus(port, timeout_ms)
  get_ex,             // GetQueuedCompletionStatusEx(port, count entries, timeout_ms)
  wsarecv,            // WSARecv(socket, WSABUFs of `buffers` lengths, I/O slot)
  wsasend,            // WSASend(socket, WSABUFs of `buffers` lengths, I/O slot)
  send,               // plain send(socket, bytes): the peer's data arrives, then the effect settles
  skip_on_success,    // SetFileCompletionNotificationModes(socket, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS)
  cancel,             // CancelIoEx(socket, I/O slot, or NULL = all when slot < 0)
  overlapped_result,  // WSAGetOverlappedResult(socket of the slot, slot, fWait = FALSE)
  close_socket,       // closesocket(socket), abortive (RST) when `reset`
  threaded_get,       // `count` threads wait in GQCS(port), count + extra packets are posted, all joined
  spawn_get,          // one thread waits in GQCS(port, timeout_ms); its result is recorded at `join`
  join,               // joins every spawn_get thread, one line each, in spawn order
  sleep,              // sleep_for(timeout_ms): a blocking wait (gives a port's running slot back)
  busy,               // spin on the monotonic clock for timeout_ms without blocking
};

NLOHMANN_JSON_SERIALIZE_ENUM(Kind, {{Kind::create_port, "create_port"},
                                    {Kind::close_port, "close_port"},
                                    {Kind::associate, "associate"},
                                    {Kind::post, "post"},
                                    {Kind::get, "get"},
                                    {Kind::get_ex, "get_ex"},
                                    {Kind::wsarecv, "wsarecv"},
                                    {Kind::wsasend, "wsasend"},
                                    {Kind::send, "send"},
                                    {Kind::skip_on_success, "skip_on_success"},
                                    {Kind::cancel, "cancel"},
                                    {Kind::overlapped_result, "overlapped_result"},
                                    {Kind::close_socket, "close_socket"},
                                    {Kind::threaded_get, "threaded_get"},
                                    {Kind::spawn_get, "spawn_get"},
                                    {Kind::join, "join"},
                                    {Kind::sleep, "sleep"},
                                    {Kind::busy, "busy"}})

// The sequence's fixed world: port 0 (concurrency 0) with socket 0 ("s", the accepted end) associated under
// key 42; socket 1 ("c", the connecting end) associated with nothing. create_port adds ports 1, 2, ...
inline constexpr int ports_max = 3;
inline constexpr int socket_count = 2;
inline constexpr int io_slot_count = 6;    // OVERLAPPEDs for WSARecv/WSASend: "ov0".."ov5"
inline constexpr int post_slot_count = 3;  // OVERLAPPEDs only ever posted: "p0".."p2"
inline constexpr int slot_bytes = 64;      // each I/O slot's buffer, split among its WSABUFs
inline constexpr int buffers_max = 3;
inline constexpr int threads_max = 4;
inline constexpr int bytes_per_socket_max = 4096;  // far below any send buffer: plain sends never block
inline constexpr win32::ULONG_PTR server_key = 42;

// One op; the fields an op kind does not use keep their defaults (docs on Kind say which it uses).
struct Op {
  Kind kind = Kind::get;
  int port = 0;
  int socket = 0;
  int slot = -1;  // I/O slot, post slot, or -1 (NULL; for cancel: all)
  int key = 0;
  int bytes = 0;
  int timeout_ms = 0;
  int count = 1;
  int extra = 0;
  bool reset = false;
  std::vector<int> buffers;  // WSABUF lengths; their sum is at most slot_bytes
  // Run the op even where Wine is known to differ and the interpreter would skip it (a WSARecv after the
  // peer's reset); the pinning tests set it, generators never do.
  bool even_if_wine_differs = false;
  friend bool operator==(const Op&, const Op&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Op, kind, port, socket, slot, key, bytes, timeout_ms, count,
                                                extra, reset, buffers, even_if_wine_differs)

// Runs `ops` on `os` in a fresh world (its own ports and connected pair), from the calling thread, and
// returns one canonical line per op that did something ("setup" first): return value, last error by name,
// bytes, key, overlapped by slot name — never an address or a handle value. Ops on closed handles, on busy
// slots, or over a bound are skipped without a line; which ones is decided by earlier results only, so two
// backends that agreed so far skip the same ops.
std::vector<std::string> run_sequence(Os& os, const std::vector<Op>& ops);

// A line's wording for a Win32 error: "ERROR_IO_PENDING", or "error676" when iosim has no name for it.
std::string error_text(win32::DWORD error);

}  // namespace iosim::iocp_ops
