// backends/recording/iotrace.hpp — the .iotrace file: what a server saw at its syscall boundary during one
// run (RecordingOs writes it, `iosim replay` reads it). JSON lines, versioned; see docs/file-formats.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "iosim/status.hpp"

namespace iosim {

inline constexpr std::string_view iotrace_format_name = "iosim-iotrace";
inline constexpr int iotrace_version = 1;
inline constexpr std::size_t iotrace_file_bytes_max = std::size_t{256} << 20;
inline constexpr std::size_t iotrace_line_bytes_max = std::size_t{64} << 20;
// Event times beyond this (about 116 days) are rejected: replay adds them to a clock, which must not
// overflow.
inline constexpr std::int64_t iotrace_t_ns_max = 10'000'000'000'000'000;

// One completed call of the recorded application. `kind` is the call's name (socket, accept4, recv, ...).
// `detail` holds what only some kinds carry (the ready lists of poll/select/epoll_wait, epoll_ctl's op ...).
struct IoEvent {
  std::uint64_t seq = 0;  // 1, 2, 3 ... in the order the calls completed
  std::int64_t t_ns = 0;  // since the recording started, on the recorded backend's monotonic clock
  std::string thread;     // the calling thread's name
  std::string kind;
  int fd = -1;      // the fd argument (epfd for epoll_ctl / epoll_wait); -1 when the call takes none
  long result = 0;  // the return value
  int error = 0;    // errno when result is -1, else 0
  int conn = 0;     // 1-based accept order of the connection `fd` belongs to; 0 for other fds
  std::vector<std::byte> data;  // recv/read: the bytes received; send/write: the bytes the kernel took
  nlohmann::json detail = nlohmann::json::object();
};

// What the recording was made of: enough to rebuild the server app on another backend.
struct IoTraceHeader {
  std::string scenario;  // the scenario file's path (informational)
  std::string name;      // the scenario's name
  std::string app;       // the server app (scenarios/registry.hpp)
  nlohmann::json params = nlohmann::json::object();
  int connections = 0;           // AppContext::connections: how many connections the app serves
  std::string backend;           // where it was recorded: linux | sim
  std::int64_t latency_us = 50;  // the scenario's simulated loopback latency (used by replay)
  std::uint64_t seed = 1;        // the scenario's sim seed and strategy (used by replay)
  std::string strategy = "random";
  std::uint64_t step_max = 20'000'000;
};

// The last record: its presence proves the file is complete.
struct IoTraceEnd {
  int connections = 0;       // connections accepted (accept4 results >= 0)
  std::string server_error;  // AppContext::error after the app returned ("" when none)
  std::string summary;       // the clients' one-line summary of the recorded run (informational)
  // How the run ended: "completed", or on the simulator the reason it stopped ("deadlock", ...).
  std::string run = "completed";
};

struct IoTrace {
  IoTraceHeader header;
  std::vector<IoEvent> events;
  IoTraceEnd end;
};

// The kinds an event may have (the end record aside), in the order docs/file-formats.md lists them.
std::vector<std::string_view> iotrace_event_kinds();

// Which way an event's "data" went: into the server (recv, read, WSARecv, and AcceptEx's first bytes) or
// out of it (send, write, WSASend).
enum class DataDirection { none, in, out };
DataDirection data_direction(std::string_view kind);
// An event whose failure is the peer's reset: ECONNRESET (EPIPE on a send), or for overlapped I/O the
// Win32 error the application saw (ERROR_NETNAME_DELETED, WSAECONNRESET).
bool is_peer_reset(const IoEvent& event);

std::string format_iotrace(const IoTrace& trace);
Status write_iotrace(const std::string& path, const IoTrace& trace);
// Strict: every defect is "ORIGIN:LINE: what is wrong" (invalid JSON adds the column).
Result<IoTrace> parse_iotrace(std::string_view text, const std::string& origin);
Result<IoTrace> read_iotrace(const std::string& path);

}  // namespace iosim
