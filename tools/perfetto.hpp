// tools/perfetto.hpp — a captured simulated run as Chrome/Perfetto trace-event JSON (`iosim trace
// --perfetto`): one track per task and per kernel object, syscall and sleep slices, counters, and flow
// arrows.
#pragma once

#include <cstddef>
#include <ostream>

#include "backends/sim/sim_os.hpp"
#include "iosim/status.hpp"
#include "tools/analysis/trace_graph.hpp"

namespace iosim {

// Processes (pids) group the tracks. Thread ids are global in the format, so tasks keep their task id as tid
// and every other track takes a tid from perfetto_object_tid_first on, in order of first appearance.
inline constexpr int perfetto_pid_tasks = 1;   // one thread per task
inline constexpr int perfetto_pid_kernel = 2;  // kernel context (timers, network) and unclassified objects
inline constexpr int perfetto_pid_wait_queues = 3;       // one thread per wait queue / wait channel
inline constexpr int perfetto_pid_eventpolls = 4;        // one thread per eventpoll, with its rdllist counter
inline constexpr int perfetto_pid_sockets = 5;           // TCP and AF_UNIX sockets, with queue counters
inline constexpr int perfetto_pid_files = 6;             // pipes and eventfds
inline constexpr int perfetto_pid_completion_ports = 7;  // reserved for IOCP completion ports
inline constexpr long long perfetto_object_tid_first = 1'000'000;

struct PerfettoSummary {
  std::size_t event_count = 0;  // entries of traceEvents, metadata included
  std::size_t track_count = 0;  // threads: tasks, the kernel context, wait queues, kernel objects
  std::size_t flow_count = 0;   // flow arrows (wake-ups, data segments, thread starts)
};

// Writes {"displayTimeUnit":"ns","otherData":{...},"traceEvents":[...]} for a captured run: a trace file read
// back (tools/analysis/trace_file.hpp) or the trace `os` captured (SimConfig::capture_trace). Timestamps are
// virtual microseconds with nanosecond precision. The output depends only on the trace, so the same seed
// gives the same bytes, from the run or from its trace file. A trace file whose events cannot be one run's
// (edited, lines lost) writes nothing and fails with
// "<line>: <what>", the line of the first event that does not fit.
Result<PerfettoSummary> write_perfetto_json(std::ostream& out, const sim::TraceView& view);
PerfettoSummary write_perfetto_json(std::ostream& out, SimOs& os);

}  // namespace iosim
