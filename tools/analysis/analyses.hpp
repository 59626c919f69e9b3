// tools/analysis/analyses.hpp — questions asked of a TraceGraph: fd races (unordered conflicting calls),
// deadlock cycles in the wait-for graph, the critical path, and a Graphviz rendering.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "sim/scheduler.hpp"
#include "tools/analysis/trace_graph.hpp"

namespace iosim::analysis {

// Two calls on the same fd number by different tasks that no happens-before path orders, where at least one
// closes the fd, gets it reused, or both write (use-after-close, fd reuse after close, concurrent send).
struct Race {
  FdOperation first, second;  // first.event < second.event
  std::string kind;           // "use after close", "fd reuse", "concurrent write"
  std::size_t count = 1;      // unordered pairs of this kind between the same two tasks on this fd
};
std::vector<Race> find_races(const TraceGraph& graph);
// "race: close(fd=5) by closer at 12.400us [event 120]  vs  recv(fd=5) by reader at 12.600us [event 131] ..."
std::string format_race(const TraceGraph& graph, const Race& race);

// A blocked task in a cycle of the wait-for graph: what it sleeps on and which task it waits for.
struct WaitForNode {
  sim::task_id task = 0;
  std::string task_name;
  std::string channel;
  sim::task_id waits_for = 0;  // 0: no single task can wake it (a socket, a condvar)
  std::string why;             // "mutex#2 held by worker-2", "join(client-1)"
};
struct DeadlockCycle {
  std::vector<WaitForNode> tasks;  // in cycle order
};
// At a run's end (deadlock or hang), the wait-for graph of the blocked tasks: a mutex waiter waits for the
// mutex's holder (from the trace's lock/unlock calls), a joiner for the joined task. Its strong components
// with more than one task (or a task waiting for itself) are the deadlock cycles.
std::vector<DeadlockCycle> find_deadlocks(const TraceGraph& graph,
                                          const std::vector<sim::BlockedTask>& blocked);
std::vector<WaitForNode> wait_for_nodes(const TraceGraph& graph,
                                        const std::vector<sim::BlockedTask>& blocked);

// The longest chain of dependent work through the graph: each task's virtual time between consecutive events
// counts, except while it sleeps (a block until its next event); cross-task edges hand the chain over for
// free.
struct CriticalPath {
  std::vector<HbVertex> vertices;  // first to last
  std::int64_t start_ns = 0, end_ns = 0;
  std::int64_t busy_ns = 0;  // the chain's length: the work along it
};
CriticalPath critical_path(const TraceGraph& graph);

// A Graphviz digraph: one cluster per task (a lane, time flowing left to right), the events of window
// [first_event, last_event] that have a cross-task edge (plus each lane's first and last), program order
// folded between them, edges coloured by kind. Deterministic: the same trace gives the same bytes.
struct DotOptions {
  std::uint32_t first_event = 0;
  std::uint32_t last_event = UINT32_MAX;
  std::vector<HbVertex> highlight;  // drawn bold red (a race's two calls, the critical path)
};
void write_dot(std::ostream& out, const TraceGraph& graph, const DotOptions& options);

}  // namespace iosim::analysis
