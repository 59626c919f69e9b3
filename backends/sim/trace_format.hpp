// backends/sim/trace_format.hpp — a captured run as text: one readable line per event (--explain, `iosim
// explain`) and JSON lines (--trace-out, IOSIM_ARTIFACTS), with task and object names resolved. Everything
// renders a TraceView, so a run in memory and a trace file read back (tools/analysis/trace_file.hpp) print
// the same.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "backends/sim/sim_os.hpp"
#include "sim/trace_view.hpp"

namespace iosim {

// The captured trace of `os` (SimConfig::capture_trace) with its seed, strategy and trace-hash.
sim::TraceView trace_view(SimOs& os);

// "   12.400us client-1    recv(5, 4096) = 4096", "            server     sleeps on sk_sleep(tcp#3)" ...
std::string format_event(const sim::TraceView& view, const sim::TraceEvent& event);

// The first line_max lines of a readable timeline: calls that return at once are folded into one line.
std::vector<std::string> format_timeline(const sim::TraceView& view, std::size_t line_max);

// What --explain and `iosim explain` print: a "timeline  (first N lines of M events; ...)" heading, then the
// first line_max lines of format_timeline, each ending in a newline.
std::string timeline_text(const sim::TraceView& view, std::size_t line_max);

// A kernel trace event in words: "fd 3 = tcp#4", "tcp#4 queues bytes [0, 64)", "tcp#4 reads end of stream
// after byte 64"; other kernel events as "<what> <object> <arg0>".
std::string describe_kernel_event(std::string_view what, std::string_view object, std::int64_t arg0,
                                  std::int64_t arg1);

// "recv(fd=5, len=4096)": a syscall event's name with its two arguments labelled (SimOs::enter passes them).
std::string format_call(const sim::TraceView& view, std::string_view call, std::int64_t arg0,
                        std::int64_t arg1);

// One JSON object per line: {"t_ns":..,"task":"client-1","kind":"sys_exit","name":"recv","object":"",
// "arg0":4096,"arg1":0}. The first line is a header naming the format version (docs/file-formats.md).
void write_trace_jsonl(std::ostream& out, const sim::TraceView& view);
void write_trace_jsonl(std::ostream& out, SimOs& os);

}  // namespace iosim
