// sim/trace_view.cpp — copying a finished run's captured trace into a TraceView.
// The copy is taken after the run: it never changes what was hashed.
#include "sim/trace_view.hpp"

namespace iosim::sim {

std::string_view TraceView::task_name(task_id task) const {
  if (task == no_task) return "kernel";
  return task < task_names.size() ? std::string_view(task_names[task]) : std::string_view("?");
}

TraceView make_trace_view(const Trace& trace, const Runtime& runtime) {
  TraceView view;
  view.events = trace.events();
  view.trace_hash = trace.hash();
  view.names.reserve(trace.name_count());
  for (std::uint32_t id = 0; id < trace.name_count(); ++id) view.names.emplace_back(trace.name(id));
  view.task_names.emplace_back("kernel");
  task_id task_count = 0;
  for (const TraceEvent& event : view.events) task_count += event.kind == EventKind::task_spawn ? 1 : 0;
  for (task_id id = 1; id <= task_count; ++id) view.task_names.emplace_back(runtime.task_name(id));
  return view;
}

}  // namespace iosim::sim
