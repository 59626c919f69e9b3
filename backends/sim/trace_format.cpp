// backends/sim/trace_format.cpp — text and JSON-lines renderings of a captured trace (iosim run --trace-out,
// --explain, `iosim explain`, IOSIM_ARTIFACTS). Rendering only reads the trace; it never changes what was hashed.
#include "backends/sim/trace_format.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "iosim/win32_abi.hpp"
#include "kernel_model/tcp.hpp"

namespace iosim {
namespace {

using sim::TraceView;

std::string task_label(const TraceView& view, sim::task_id task) {
  return std::string(view.task_name(task));
}

// The meaning of a syscall event's two arguments (SimOs::enter passes them), for readable timelines.
struct CallArguments {
  std::string_view call, first, second;
};
constexpr CallArguments call_arguments[] = {
    {"socket", "domain", "type"},    {"socketpair", "domain", "type"}, {"pipe2", "flags", ""},
    {"bind", "fd", "port"},          {"listen", "fd", "backlog"},      {"accept4", "fd", "flags"},
    {"connect", "fd", "port"},       {"send", "fd", "len"},            {"recv", "fd", "len"},
    {"read", "fd", "len"},           {"write", "fd", "len"},           {"shutdown", "fd", "how"},
    {"close", "fd", ""},             {"dup", "fd", ""},                {"fcntl", "fd", "cmd"},
    {"getsockopt", "fd", "option"},  {"setsockopt", "fd", "option"},   {"getsockname", "fd", ""},
    {"getpeername", "fd", ""},       {"select", "nfds", "timeout_us"}, {"poll", "nfds", "timeout_ms"},
    {"sleep", "ns", ""},             {"thread_join", "task", ""},
};

bool names_object(std::string_view call) {
  return call.starts_with("mutex_") || call.starts_with("cond_");
}

std::string call_text(const TraceView& view, std::string_view call, std::int64_t arg0, std::int64_t arg1) {
  if (names_object(call)) return fmt::format("{}({})", call, view.name(static_cast<std::uint32_t>(arg0)));
  for (const CallArguments& arguments : call_arguments) {
    if (arguments.call != call) continue;
    if (arguments.second.empty()) return fmt::format("{}({}={})", call, arguments.first, arg0);
    return fmt::format("{}({}={}, {}={})", call, arguments.first, arg0, arguments.second, arg1);
  }
  return fmt::format("{}()", call);
}

// What a call returned. POSIX-shaped calls: the result, or -1 and the errno name. A Win32-shaped call that
// returned FALSE / SOCKET_ERROR has its GetLastError value in arg1 (e.g. "WSASend = ERROR_IO_PENDING": the
// request pends; a WSASend done at once shows its byte count instead).
std::string exit_result(const sim::TraceEvent& exit) {
  if (exit.arg0 < 0) return fmt::format("-1 {}", errno_name(static_cast<int>(exit.arg1)));
  if (exit.arg1 != 0) return std::string(win32::win32_error_name(static_cast<win32::DWORD>(exit.arg1)));
  return fmt::format("{}", exit.arg0);
}

std::string describe(const TraceView& view, const sim::TraceEvent& event) {
  const std::string_view subject = view.name(event.subject);
  const std::string_view object = view.name(event.object);
  switch (event.kind) {
    case sim::EventKind::task_spawn: return fmt::format("starts thread {}", subject);
    case sim::EventKind::task_exit: return "returns";
    case sim::EventKind::sys_enter:
      return call_text(view, subject, event.arg0, event.arg1) + " ...";
    case sim::EventKind::sys_exit:
      return fmt::format("{} = {}", subject, exit_result(event));
    case sim::EventKind::block: return fmt::format("sleeps on {}", subject);
    case sim::EventKind::wake:
      return fmt::format("wakes {} through {}", task_label(view, static_cast<sim::task_id>(event.arg0)),
                         subject);
    case sim::EventKind::timer_fire: return fmt::format("timer: {}", subject);
    case sim::EventKind::kernel:
      if (subject == "tcp.state") {
        return fmt::format("{} {} -> {}", object, kernel::tcp_state_name(static_cast<kernel::tcp_state>(event.arg0)),
                           kernel::tcp_state_name(static_cast<kernel::tcp_state>(event.arg1)));
      }
      if (subject == "tcp.queues")
        return fmt::format("{} recv-Q {}, send-Q {}", object, event.arg0, event.arg1);
      if (subject == "tcp.deliver") {
        return fmt::format("tcp.deliver {} segment {}, recv-Q {}", object, event.arg0, event.arg1);
      }
      return describe_kernel_event(subject, object, event.arg0, event.arg1);
    case sim::EventKind::fault: return fmt::format("fault {} {}", subject, object);
    case sim::EventKind::note: return std::string(subject);
  }
  return "?";
}

}  // namespace

std::string describe_kernel_event(std::string_view what, std::string_view object, std::int64_t arg0,
                                  std::int64_t arg1) {
  if (what == "fd.install") return fmt::format("fd {} = {}", arg0, object);
  if (what == "fd.close") return fmt::format("fd {} closed ({})", arg0, object);
  if (what == "fd.name") return fmt::format("fd {} is named: {}", arg0, object);
  if (what == "tcp.sendmsg") {
    if (arg1 == 0) return fmt::format("{} queues FIN after byte {}", object, arg0);
    return fmt::format("{} queues bytes [{}, {})", object, arg0, arg0 + arg1);
  }
  if (what == "tcp.recvmsg") {
    if (arg1 == 0) return fmt::format("{} reads end of stream after byte {}", object, arg0);
    return fmt::format("{} reads bytes [{}, {})", object, arg0, arg0 + arg1);
  }
  if (what == "tcp.accept") return fmt::format("{} accepted", object);
  return fmt::format("{} {} {}", what, object, arg0);
}

sim::TraceView trace_view(SimOs& os) {
  sim::TraceView view = sim::make_trace_view(os.trace(), os.scheduler());
  view.seed = os.config().seed;
  view.strategy = os.config().strategy;
  return view;
}

std::string format_call(const TraceView& view, std::string_view call, std::int64_t arg0, std::int64_t arg1) {
  return call_text(view, call, arg0, arg1);
}

std::string format_event(const TraceView& view, const sim::TraceEvent& event) {
  return fmt::format("{:>12.3f}us {:<10} {}", static_cast<double>(event.time_ns) / 1000.0,
                     task_label(view, event.task), describe(view, event));
}

std::vector<std::string> format_timeline(const TraceView& view, std::size_t line_max) {
  // A call whose exit is the very next event prints as one line "call(args) = result"; any other event
  // prints on its own line, so the timeline stays in time order.
  const auto& events = view.events;
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < events.size() && lines.size() < line_max; ++i) {
    const sim::TraceEvent& event = events[i];
    const bool folds = event.kind == sim::EventKind::sys_enter && i + 1 < events.size() &&
                       events[i + 1].kind == sim::EventKind::sys_exit && events[i + 1].task == event.task;
    if (!folds) {
      lines.push_back(format_event(view, event));
      continue;
    }
    const sim::TraceEvent& exit = events[++i];
    const std::string result = exit_result(exit);
    lines.push_back(fmt::format("{:>12.3f}us {:<10} {} = {}", static_cast<double>(event.time_ns) / 1000.0,
                                task_label(view, event.task),
                                call_text(view, view.name(event.subject), event.arg0, event.arg1), result));
  }
  return lines;
}

std::string timeline_text(const TraceView& view, std::size_t line_max) {
  const std::vector<std::string> lines = format_timeline(view, line_max);
  std::string text =
      fmt::format("timeline  (first {} lines of {} events; --trace-out F writes every event as JSON)\n",
                  lines.size(), view.events.size());
  for (const std::string& line : lines) text += line + '\n';
  return text;
}

void write_trace_jsonl(std::ostream& out, const TraceView& view) {
  // "names": the interned name table, so a reader can resolve arguments that carry name ids (the mutex of a
  // mutex_lock, the client socket of tcp.accept) — `iosim graph` on a trace file needs them.
  out << nlohmann::json{{"format", "iosim-trace"},
                        {"version", 1},
                        {"seed", view.seed},
                        {"strategy", view.strategy},
                        {"trace_hash", fmt::format("{:016x}", view.trace_hash)},
                        {"names", view.names}}
             .dump()
      << '\n';
  for (const sim::TraceEvent& event : view.events) {
    out << nlohmann::json{{"t_ns", event.time_ns},
                          {"task", task_label(view, event.task)},
                          {"task_id", event.task},
                          {"kind", sim::event_kind_name(event.kind)},
                          {"name", view.name(event.subject)},
                          {"object", view.name(event.object)},
                          {"arg0", event.arg0},
                          {"arg1", event.arg1},
                          {"text", describe(view, event)}}
               .dump()
        << '\n';
  }
}

void write_trace_jsonl(std::ostream& out, SimOs& os) {
  write_trace_jsonl(out, trace_view(os));
}

}  // namespace iosim
