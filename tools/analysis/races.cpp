// tools/analysis/races.cpp — fd race detection: for each call, compare it with the latest conflicting call of
// every other task on the same fd number; if the vector clocks order neither way, the two may swap.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "tools/analysis/analyses.hpp"

namespace iosim::analysis {
namespace {

// Writers interleave only on byte streams; an eventfd or an epoll fd counts its writes atomically.
bool is_stream(const TraceView& view, std::uint32_t file) {
  const std::string_view name = view.name(file);
  return name.starts_with("tcp#") || name.starts_with("unix#") || name.starts_with("pipe#");
}

bool strong(FdAccess access) {
  return access == FdAccess::close || access == FdAccess::install;
}

struct LastOps {
  std::optional<FdOperation> any, strong_op, write;  // latest call of one task on one fd, by class
};

std::string race_kind(const FdOperation& a, const FdOperation& b) {
  if (a.access == FdAccess::close || b.access == FdAccess::close) return "use after close";
  if (a.access == FdAccess::install || b.access == FdAccess::install) return "fd reuse";
  return "concurrent write";
}

}  // namespace

std::vector<Race> find_races(const TraceGraph& graph) {
  std::vector<FdOperation> ops = graph.fd_operations();
  // Stretches never overlap (each runs without a scheduling point), so sorting by start orders them in time.
  std::stable_sort(ops.begin(), ops.end(),
                   [](const FdOperation& a, const FdOperation& b) { return a.first < b.first; });
  const VectorClocks& clocks = graph.clocks();
  std::map<std::int64_t, std::map<sim::task_id, LastOps>> last;  // fd → task → its latest calls
  std::map<std::tuple<std::int64_t, sim::task_id, sim::task_id, std::string>, std::size_t> seen;
  std::vector<Race> races;
  auto report = [&](const FdOperation& a, const FdOperation& b) {
    if (a.first == b.first || clocks.happens_before(a.first, b.last)) return;
    // One report per fd, pair of tasks and kind: a loop of recvs racing one close is one race.
    const std::string kind = race_kind(a, b);
    const auto key = std::tuple{b.fd, std::min(a.task, b.task), std::max(a.task, b.task), kind};
    if (auto it = seen.find(key); it != seen.end()) {
      ++races[it->second].count;
      return;
    }
    seen.emplace(key, races.size());
    races.push_back({a, b, kind, 1});
  };
  for (const FdOperation& op : ops) {
    std::map<sim::task_id, LastOps>& tasks = last[op.fd];
    for (const auto& [task, previous] : tasks) {
      if (task == op.task) continue;
      if (strong(op.access)) {
        if (previous.any) report(*previous.any, op);
        continue;
      }
      if (previous.strong_op) report(*previous.strong_op, op);
      if (op.access == FdAccess::write && previous.write && is_stream(graph.view(), op.file) &&
          previous.write->file == op.file)
        report(*previous.write, op);
    }
    LastOps& mine = tasks[op.task];
    mine.any = op;
    if (strong(op.access)) mine.strong_op = op;
    if (op.access == FdAccess::write) mine.write = op;
  }
  return races;
}

std::string format_race(const TraceGraph& graph, const Race& race) {
  const TraceView& view = graph.view();
  auto side = [&](const FdOperation& op) {
    const std::string file = op.file ? fmt::format(" on {}", view.name(op.file)) : std::string();
    return fmt::format("{}(fd={}){} by {} at {:.3f}us [event {}]", view.name(op.call), op.fd, file,
                       view.task_name(op.task), static_cast<double>(op.time_ns) / 1000.0, op.event);
  };
  std::string text = fmt::format("race ({}): {}  vs  {}: not ordered by happens-before", race.kind,
                                 side(race.first), side(race.second));
  if (race.count > 1) text += fmt::format(" ({} such pairs)", race.count);
  return text;
}

}  // namespace iosim::analysis
