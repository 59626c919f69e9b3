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
    const auto task = task_ids.find(line.at("task").get<std::string>());
    if (task == task_ids.end()) return Status::error("a task that was never spawned");
    event.task = task->second;
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
