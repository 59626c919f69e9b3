// tools/trace_format.cpp — text and JSON-lines renderings of a captured trace.
// Rendering only reads the trace; it never changes what was hashed.
#include "tools/trace_format.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernel_model/tcp.hpp"

namespace iosim {
namespace {

std::string task_label(SimOs& os, sim::task_id task) {
  return task == sim::no_task ? std::string("kernel") : std::string(os.scheduler().task_name(task));
}

std::string describe(SimOs& os, const sim::TraceEvent& event) {
  const sim::Trace& trace = os.trace();
  const std::string_view subject = trace.name(event.subject);
  const std::string_view object = trace.name(event.object);
  switch (event.kind) {
    case sim::EventKind::task_spawn: return fmt::format("starts thread {}", subject);
    case sim::EventKind::task_exit: return "returns";
    case sim::EventKind::sys_enter: return fmt::format("{}({}, {})", subject, event.arg0, event.arg1);
    case sim::EventKind::sys_exit:
      if (event.arg0 < 0) return fmt::format("{} = -1 {}", subject, errno_name(static_cast<int>(event.arg1)));
      return fmt::format("{} = {}", subject, event.arg0);
    case sim::EventKind::block: return fmt::format("sleeps on {}", subject);
    case sim::EventKind::wake:
      return fmt::format("wakes {} through {}", task_label(os, static_cast<sim::task_id>(event.arg0)), subject);
    case sim::EventKind::timer_fire: return fmt::format("timer: {}", subject);
    case sim::EventKind::kernel:
      if (subject == "tcp.state") {
        return fmt::format("{} {} -> {}", object, kernel::tcp_state_name(static_cast<kernel::tcp_state>(event.arg0)),
                           kernel::tcp_state_name(static_cast<kernel::tcp_state>(event.arg1)));
      }
      return fmt::format("{} {} {}", subject, object, event.arg0);
    case sim::EventKind::fault: return fmt::format("fault {} {}", subject, object);
    case sim::EventKind::note: return std::string(subject);
  }
  return "?";
}

}  // namespace

std::string format_event(SimOs& os, const sim::TraceEvent& event) {
  return fmt::format("{:>12.3f}us {:<10} {}", static_cast<double>(event.time_ns) / 1000.0, task_label(os, event.task),
                     describe(os, event));
}

void write_trace_jsonl(std::ostream& out, SimOs& os) {
  const sim::Trace& trace = os.trace();
  out << nlohmann::json{{"format", "iosim-trace"}, {"version", 1}, {"seed", os.config().seed},
                        {"strategy", os.config().strategy}, {"trace_hash", fmt::format("{:016x}", trace.hash())}}
             .dump()
      << '\n';
  for (const sim::TraceEvent& event : trace.events()) {
    out << nlohmann::json{{"t_ns", event.time_ns},
                          {"task", task_label(os, event.task)},
                          {"kind", sim::event_kind_name(event.kind)},
                          {"name", trace.name(event.subject)},
                          {"object", trace.name(event.object)},
                          {"arg0", event.arg0},
                          {"arg1", event.arg1},
                          {"text", describe(os, event)}}
               .dump()
        << '\n';
  }
}

}  // namespace iosim
