// sim/trace_view.hpp — a captured run detached from the world that made it: what the timeline, the JSON-lines
// writer, the Perfetto export and the happens-before analysis all read, from memory or from a trace file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/runtime.hpp"
#include "sim/trace.hpp"

namespace iosim::sim {

// Events, the interned names they refer to, the task names (index = task id; 0 is the kernel), and what the
// run was (a trace file's header says the same).
struct TraceView {
  std::vector<TraceEvent> events;
  std::vector<std::string> names;
  std::vector<std::string> task_names;
  std::uint64_t seed = 0;
  std::string strategy;
  std::uint64_t trace_hash = 0;
  std::string_view name(std::uint32_t id) const { return id < names.size() ? names[id] : std::string_view(); }
  std::string_view task_name(task_id task) const;
};

// Copies a finished run's captured trace (Trace::set_capture) and its task names.
TraceView make_trace_view(const Trace& trace, const Runtime& runtime);

}  // namespace iosim::sim
