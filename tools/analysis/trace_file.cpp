// tools/analysis/trace_file.cpp — JSON-lines trace → TraceView. Names keep the ids the run interned them
// with (from the header), tasks get their ids back from the order of task_spawn events.
#include "tools/analysis/trace_file.hpp"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace iosim::analysis {
namespace {

constexpr sim::EventKind event_kinds[] = {sim::EventKind::task_spawn, sim::EventKind::task_exit,
                                          sim::EventKind::sys_enter,  sim::EventKind::sys_exit,
                                          sim::EventKind::block,      sim::EventKind::wake,
                                          sim::EventKind::timer_fire, sim::EventKind::kernel,
                                          sim::EventKind::fault,      sim::EventKind::note};

struct Reader {
  TraceView view;
  std::map<std::string, std::uint32_t, std::less<>> name_ids;
  std::map<std::string, sim::task_id, std::less<>> task_ids{{"kernel", sim::no_task}};

  Status header(const nlohmann::json& line) {
    if (!line.is_object() || line.value("format", "") != "iosim-trace" || line.value("version", 0) != 1) {
      return Status::error(
          "not an iosim trace (expected a header {\"format\":\"iosim-trace\",\"version\":1,...})");
    }
    if (!line.contains("names") || !line["names"].is_array()) {
      return Status::error("the header has no \"names\" table (written by an older iosim: run it again)");
    }
    for (const auto& name : line["names"]) {
      if (!name.is_string()) return Status::error("\"names\" must hold strings");
      name_ids.emplace(name.get<std::string>(), static_cast<std::uint32_t>(view.names.size()));
      view.names.push_back(name.get<std::string>());
    }
    view.task_names = {"kernel"};
    return run_identity(line);
  }

  // seed, strategy and trace_hash: optional, for the reports; wrong types are errors, not zeros.
  Status run_identity(const nlohmann::json& line) {
    if (line.contains("seed")) {
      if (!line["seed"].is_number_unsigned()) return Status::error("\"seed\" must be an unsigned integer");
      view.seed = line["seed"].get<std::uint64_t>();
    }
    if (line.contains("strategy")) view.strategy = line["strategy"].get<std::string>();
    if (line.contains("trace_hash")) {
      const std::string hex = line["trace_hash"].get<std::string>();
      if (hex.size() != 16 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
        return Status::error("\"trace_hash\" must be 16 hex digits");
      view.trace_hash = std::stoull(hex, nullptr, 16);
    }
    return Status::ok();
  }

  // The event's task: by "task_id" when the line has it (threads may share a name), else by "task", the
  // name (a trace written before task_id, whose same-named threads cannot be told apart).
  Result<sim::task_id> task_of(const nlohmann::json& line) const {
    const std::string name = line.at("task").get<std::string>();
    if (!line.contains("task_id")) {
      const auto task = task_ids.find(name);
      if (task == task_ids.end()) return Status::error("a task that was never spawned");
      return task->second;
    }
    const auto id = line["task_id"].get<std::uint64_t>();
    if (id >= view.task_names.size() || view.task_names[id] != name) {
      return Status::error(fmt::format("task_id {} is not a spawned task named \"{}\"", id, name));
    }
    return static_cast<sim::task_id>(id);
  }

  // What the exporters rely on: calls, sleeps and exits belong to a task, and a wake names a task that
  // exists.
  Status check_tasks(const sim::TraceEvent& event) const {
    const bool needs_task = event.kind == sim::EventKind::sys_enter ||
                            event.kind == sim::EventKind::sys_exit || event.kind == sim::EventKind::block ||
                            event.kind == sim::EventKind::task_exit;
    if (needs_task && event.task == sim::no_task) {
      return Status::error(
          fmt::format("a {} event of the kernel (it needs a task)", sim::event_kind_name(event.kind)));
    }
    if (event.kind == sim::EventKind::wake &&
        (event.arg0 < 1 || event.arg0 >= static_cast<std::int64_t>(view.task_names.size()))) {
      return Status::error(fmt::format("a wake of task {}, which was never spawned", event.arg0));
    }
    return Status::ok();
  }

  Result<std::uint32_t> name_id(const nlohmann::json& line, const char* field) {
    const auto found = name_ids.find(line.at(field).get<std::string>());
    if (found == name_ids.end())
      return Status::error(fmt::format("\"{}\" is not in the header's names", field));
    return found->second;
  }

  Status event(const nlohmann::json& line) {
    sim::TraceEvent event{};
    const std::string kind = line.at("kind").get<std::string>();
    const auto* known = std::find_if(std::begin(event_kinds), std::end(event_kinds),
                                     [&](sim::EventKind k) { return sim::event_kind_name(k) == kind; });
    if (known == std::end(event_kinds)) return Status::error(fmt::format("unknown event kind \"{}\"", kind));
    event.kind = *known;
    event.time_ns = line.at("t_ns").get<std::int64_t>();
    event.arg0 = line.at("arg0").get<std::int64_t>();
    event.arg1 = line.at("arg1").get<std::int64_t>();
    Result<std::uint32_t> subject = name_id(line, "name"), object = name_id(line, "object");
    if (!subject) return subject.status();
    if (!object) return object.status();
    event.subject = subject.value();
    event.object = object.value();
    Result<sim::task_id> task = task_of(line);
    if (!task) return task.status();
    event.task = task.value();
    if (Status tasks = check_tasks(event); !tasks) return tasks;
    if (event.kind == sim::EventKind::task_spawn) {  // tasks are numbered in spawn order
      const auto id = static_cast<sim::task_id>(view.task_names.size());
      view.task_names.push_back(view.names[event.subject]);
      task_ids.emplace(view.names[event.subject], id);
    }
    view.events.push_back(event);
    return Status::ok();
  }
};

}  // namespace

bool is_trace_file(std::string_view path) {
  return path.ends_with(".jsonl");
}

std::string run_options_need_a_scenario(std::string_view path) {
  return fmt::format(
      "{}: a saved trace is one run already; --seed, --strategy, --choices and --fault apply "
      "to a scenario",
      path);
}

Result<TraceView> read_trace_jsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::error(fmt::format("{}: cannot open", path));
  Reader reader;
  std::string text;
  for (std::size_t line_number = 1; std::getline(in, text); ++line_number) {
    Status status = Status::ok();
    try {
      const nlohmann::json line = nlohmann::json::parse(text);
      status = line_number == 1 ? reader.header(line) : reader.event(line);
    } catch (const nlohmann::json::exception& error) {
      status = Status::error(error.what());
    }
    if (!status) return Status::error(fmt::format("{}:{}: {}", path, line_number, status.message()));
  }
  if (reader.view.names.empty()) return Status::error(fmt::format("{}: empty file", path));
  return std::move(reader.view);
}

}  // namespace iosim::analysis
