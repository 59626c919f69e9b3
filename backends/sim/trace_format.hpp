// backends/sim/trace_format.hpp — a captured run as text: one readable line per event (--explain) and JSON
// lines (--trace-out, IOSIM_ARTIFACTS), with task and object names resolved.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "backends/sim/sim_os.hpp"

namespace iosim {

// "   12.400us client-1    recv(5, 4096) = 4096", "            server     sleeps on sk_sleep(tcp#3)" ...
std::string format_event(SimOs& os, const sim::TraceEvent& event);

// The first line_max lines of a readable timeline: calls that return at once are folded into one line.
std::vector<std::string> format_timeline(SimOs& os, std::size_t line_max);

// "recv(fd=5, len=4096)": a syscall event's name with its two arguments labelled (SimOs::enter passes them).
std::string format_call(SimOs& os, std::string_view call, std::int64_t arg0, std::int64_t arg1);

// A kernel trace event in words: "fd 3 = tcp#4", "tcp#4 queues bytes [0, 64)", "tcp#4 reads end of stream
// after byte 64"; other kernel events as "<what> <object> <arg0>".
std::string describe_kernel_event(std::string_view what, std::string_view object, std::int64_t arg0,
                                  std::int64_t arg1);

// One JSON object per line: {"t_ns":..,"task":"client-1","kind":"sys_exit","name":"recv","object":"",
// "arg0":4096,"arg1":0}. The first line is a header naming the format version.
void write_trace_jsonl(std::ostream& out, SimOs& os);

}  // namespace iosim
