// tools/analysis/trace_graph.hpp — builds the happens-before graph of a captured run from its trace events
// (one pass, trace order) and lists the fd operations that race detection compares.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/runtime.hpp"
#include "sim/trace.hpp"
#include "sim/trace_view.hpp"
#include "tools/analysis/happens_before.hpp"

namespace iosim::analysis {

// A captured run (sim/trace_view.hpp): the analyses read it as the renderers do.
using sim::TraceView;
using sim::make_trace_view;

// What an fd operation does to the fd, for race detection.
enum class FdAccess : std::uint8_t {
  use,      // reads or inspects the file behind the fd (recv, accept4, getsockopt ...)
  write,    // send / write: two unordered writers interleave their bytes
  close,    // close(fd): frees the number
  install,  // a call that got this fd number (socket, accept4, dup ...): reuses it
};
std::string_view fd_access_name(FdAccess access);

// One call on one fd number. A call runs atomically from its last scheduling point (its entry's yield, or its
// last sleep) to its return: that stretch, [first, last], is where it touches the fd. Two calls are ordered
// when the earlier one's `first` happens before the later one's `last`.
struct FdOperation {
  std::uint32_t event = 0;  // trace index of `first`, as reports name it
  HbVertex first = 0;
  HbVertex last = 0;
  sim::task_id task = 0;
  std::uint32_t call = 0;  // interned call name
  std::int64_t fd = -1;
  std::int64_t result = 0;
  std::uint32_t file = 0;  // interned name of the file the fd meant then ("tcp#3"), 0 if unknown
  FdAccess access = FdAccess::use;
  std::int64_t time_ns = 0;
};

class TraceGraph {
 public:
  explicit TraceGraph(TraceView view);

  const TraceView& view() const { return view_; }
  const HbGraph& graph() const { return graph_; }
  const VectorClocks& clocks() const { return clocks_; }
  const std::vector<FdOperation>& fd_operations() const { return operations_; }
  // The vertex of trace event `event`, if it has one (timer callbacks, which run in no task, have none).
  std::optional<HbVertex> vertex_of(std::uint32_t event) const;
  const sim::TraceEvent& event_of(HbVertex v) const { return view_.events[graph_[v].event]; }
  sim::task_id task_of_lane(std::uint32_t lane) const { return lane_tasks_[lane]; }
  std::size_t edge_count(EdgeKind kind) const { return edge_counts_[static_cast<int>(kind)]; }
  // "recv(fd=5, len=4096) = 100", "wake client-1 via sk_sleep(tcp#3)": a short label for reports and DOT.
  std::string describe(HbVertex v) const;

 private:
  friend class GraphBuilder;
  TraceView view_;
  HbGraph graph_;
  VectorClocks clocks_;
  std::vector<FdOperation> operations_;
  std::vector<std::int64_t> vertex_of_event_;  // -1: no vertex
  std::vector<sim::task_id> lane_tasks_;
  std::vector<std::uint32_t> call_enter_;  // per vertex: the sys_enter event its sys_exit closes, or none
  std::size_t edge_counts_[edge_kind_count] = {};
};

}  // namespace iosim::analysis
