// tools/analysis/critical_path.cpp — the longest chain of dependent work: a longest path in the DAG (vertex
// order is topological) where a program-order edge weighs the virtual time between its events, except after a
// block (sleeping is not work), and a cross-task edge weighs nothing (it hands the chain over).
#include "tools/analysis/analyses.hpp"

namespace iosim::analysis {
namespace {

std::int64_t edge_weight(const TraceGraph& graph, HbVertex from, HbVertex to, EdgeKind kind) {
  const sim::TraceEvent& source = graph.event_of(from);
  if (kind != EdgeKind::program_order || source.kind == sim::EventKind::block) return 0;
  return graph.event_of(to).time_ns - source.time_ns;
}

}  // namespace

CriticalPath critical_path(const TraceGraph& graph) {
  const HbGraph& g = graph.graph();
  CriticalPath path;
  const std::size_t count = boost::num_vertices(g);
  if (count == 0) return path;
  std::vector<std::int64_t> best(count, 0);
  std::vector<std::int64_t> previous(count, -1);
  HbVertex end = 0;
  for (HbVertex v = 0; v < count; ++v) {
    for (const auto edge : boost::make_iterator_range(boost::in_edges(v, g))) {
      const HbVertex u = boost::source(edge, g);
      const std::int64_t length = best[u] + edge_weight(graph, u, v, g[edge].kind);
      // Ties go to the later predecessor, so the result does not depend on edge insertion order.
      if (previous[v] < 0 || length > best[v] ||
          (length == best[v] && static_cast<std::int64_t>(u) > previous[v])) {
        best[v] = length;
        previous[v] = static_cast<std::int64_t>(u);
      }
    }
    if (best[v] >= best[end]) end = v;
  }
  for (std::int64_t at = static_cast<std::int64_t>(end); at >= 0;
       at = previous[static_cast<std::size_t>(at)]) {
    path.vertices.push_back(static_cast<HbVertex>(at));
  }
  std::reverse(path.vertices.begin(), path.vertices.end());
  path.start_ns = graph.event_of(path.vertices.front()).time_ns;
  path.end_ns = graph.event_of(path.vertices.back()).time_ns;
  path.busy_ns = best[end];
  return path;
}

}  // namespace iosim::analysis
