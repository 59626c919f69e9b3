// tools/analysis/deadlocks.cpp — the wait-for graph of the tasks blocked at a run's end and its cycles
// (Boost.Graph strong_components). Mutex holders come from the trace's lock/unlock calls.
#include <fmt/format.h>

#include <boost/graph/strong_components.hpp>
#include <map>

#include "tools/analysis/analyses.hpp"

namespace iosim::analysis {
namespace {

// Who holds each mutex (by interned name) at the end of the trace.
std::map<std::uint32_t, sim::task_id> mutex_holders(const TraceView& view) {
  std::map<std::uint32_t, sim::task_id> holders;
  std::map<sim::task_id, std::vector<sim::TraceEvent>> calls;
  for (const sim::TraceEvent& event : view.events) {
    std::vector<sim::TraceEvent>& stack = calls[event.task];
    if (event.kind == sim::EventKind::sys_enter) stack.push_back(event);
    if (event.kind == sim::EventKind::block && !stack.empty() &&
        view.name(stack.back().subject) == "cond_wait")
      holders.erase(static_cast<std::uint32_t>(stack.back().arg1));
    if (event.kind != sim::EventKind::sys_exit) continue;
    while (!stack.empty() && stack.back().subject != event.subject) stack.pop_back();
    if (stack.empty()) continue;
    const sim::TraceEvent enter = stack.back();
    stack.pop_back();
    const std::string_view call = view.name(enter.subject);
    if (call == "mutex_lock") holders[static_cast<std::uint32_t>(enter.arg0)] = event.task;
    if (call == "mutex_unlock") holders.erase(static_cast<std::uint32_t>(enter.arg0));
  }
  return holders;
}

sim::task_id task_named(const TraceView& view, std::string_view name) {
  for (sim::task_id id = 1; id < view.task_names.size(); ++id) {
    if (view.task_names[id] == name) return id;
  }
  return sim::no_task;
}

}  // namespace

std::vector<WaitForNode> wait_for_nodes(const TraceGraph& graph,
                                        const std::vector<sim::BlockedTask>& blocked) {
  const TraceView& view = graph.view();
  std::map<std::string_view, std::uint32_t> name_ids;
  for (std::uint32_t id = 0; id < view.names.size(); ++id) name_ids.emplace(view.names[id], id);
  const auto holders = mutex_holders(view);
  std::vector<WaitForNode> nodes;
  for (const sim::BlockedTask& task : blocked) {
    WaitForNode node{task.id, task.name, task.channel, sim::no_task, "no single task can wake it"};
    const std::string& channel = task.channel;
    if (channel.starts_with("mutex#") && name_ids.contains(channel)) {
      const auto holder = holders.find(name_ids[channel]);
      if (holder != holders.end()) {
        node.waits_for = holder->second;
        node.why = fmt::format("{} is held by {}", channel, view.task_name(holder->second));
      }
    } else if (channel.starts_with("join(") && channel.ends_with(")")) {
      node.waits_for = task_named(view, std::string_view(channel).substr(5, channel.size() - 6));
      node.why = fmt::format("waits for {} to return", view.task_name(node.waits_for));
    }
    nodes.push_back(node);
  }
  return nodes;
}

std::vector<DeadlockCycle> find_deadlocks(const TraceGraph& graph,
                                          const std::vector<sim::BlockedTask>& blocked) {
  const std::vector<WaitForNode> nodes = wait_for_nodes(graph, blocked);
  std::map<sim::task_id, std::size_t> index_of;
  for (std::size_t i = 0; i < nodes.size(); ++i) index_of[nodes[i].task] = i;
  using WaitForGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
  WaitForGraph wait_for(nodes.size());
  std::vector<bool> self_loop(nodes.size(), false);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto target = index_of.find(nodes[i].waits_for);
    if (target == index_of.end()) continue;
    boost::add_edge(i, target->second, wait_for);
    if (target->second == i) self_loop[i] = true;
  }
  std::vector<std::size_t> component(nodes.size());
  const std::size_t component_count =
      nodes.empty() ? 0 : boost::strong_components(wait_for, component.data());
  std::vector<DeadlockCycle> cycles;
  for (std::size_t c = 0; c < component_count; ++c) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (component[i] == c) members.push_back(i);
    }
    if (members.size() < 2 && !(members.size() == 1 && self_loop[members[0]])) continue;
    // Walk the cycle from its lowest task id, following who each waits for.
    DeadlockCycle cycle;
    std::size_t at = members.front();
    for (std::size_t step = 0; step < members.size(); ++step) {
      cycle.tasks.push_back(nodes[at]);
      at = index_of.at(nodes[at].waits_for);
    }
    cycles.push_back(std::move(cycle));
  }
  std::sort(cycles.begin(), cycles.end(), [](const DeadlockCycle& a, const DeadlockCycle& b) {
    return a.tasks.front().task < b.tasks.front().task;
  });
  return cycles;
}

}  // namespace iosim::analysis
