// bench/iocp_workloads.hpp — the IOCP benchmark workloads as plain iosim::Os code, so the same functions
// run on SimOs (bench/iocp_bench.cpp) and on WindowsOs under Wine (bench/windows/iocp_bench_main.cpp):
// echo round trips through a completion port, and the cost of one GetQueuedCompletionStatus wake-up with
// many threads waiting on the port.
#pragma once

#include <cstdint>
#include <functional>

#include "iosim/os.hpp"

namespace iosim::bench {

// What one workload run measured: its measured loop only, without the set-up (threads, sockets, ports).
struct IocpTiming {
  std::int64_t operations = 0;  // round trips, or wake-up hand-offs
  std::int64_t elapsed_ns = 0;  // `clock` around the measured loop
};

// The clock that times the measured loop. On a real backend, os.monotonic_ns(); on SimOs the caller passes
// a real clock, since the virtual clock measures the simulated system, not the simulator's cost.
using NanosecondClock = std::function<std::int64_t()>;

inline constexpr std::size_t iocp_echo_message_bytes = 64;

// A server thread accepts one TCP connection on 127.0.0.1, associates it with a completion port and echoes
// with overlapped WSARecv/WSASend, one GetQueuedCompletionStatus per completion; the calling thread is a
// blocking client (send, then recv until the 64 bytes are back) that does `round_trips` echoes.
IocpTiming iocp_echo_round_trips(Os& os, std::int64_t round_trips, const NanosecondClock& clock);

// `waiters` threads block in GetQueuedCompletionStatus on one port. The calling thread posts a packet, one
// waiter wakes and posts an acknowledgement to a second port the caller waits on: one hand-off = two posts
// and two wakes. Measures `hand_offs` of them, then posts one quit packet per waiter and joins.
IocpTiming gqcs_wake_hand_offs(Os& os, int waiters, std::int64_t hand_offs, const NanosecondClock& clock);

}  // namespace iosim::bench
