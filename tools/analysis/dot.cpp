// tools/analysis/dot.cpp — Graphviz rendering of a window of the happens-before graph: one cluster (lane) per
// task, only the events that take part in a cross-task edge (program order is folded between them).
#include <fmt/format.h>

#include <set>

#include "tools/analysis/analyses.hpp"

namespace iosim::analysis {
namespace {

constexpr const char* edge_colours[edge_kind_count] = {
    "gray55", "darkgreen", "darkgreen", "blue", "darkorange", "purple", "brown", "magenta", "teal"};

std::string escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

bool in_window(const TraceGraph& graph, HbVertex v, const DotOptions& options) {
  const std::uint32_t event = graph.graph()[v].event;
  return event >= options.first_event && event <= options.last_event;
}

// The vertices drawn: every end of a cross-task edge inside the window, each lane's first and last event in
// the window, and the highlighted ones.
std::set<HbVertex> shown_vertices(const TraceGraph& graph, const DotOptions& options) {
  const HbGraph& g = graph.graph();
  std::set<HbVertex> shown(options.highlight.begin(), options.highlight.end());
  std::vector<std::int64_t> first(graph.clocks().lane_count(), -1), last(graph.clocks().lane_count(), -1);
  for (HbVertex v = 0; v < boost::num_vertices(g); ++v) {
    if (!in_window(graph, v, options)) continue;
    const std::uint32_t lane = g[v].lane;
    if (first[lane] < 0) first[lane] = static_cast<std::int64_t>(v);
    last[lane] = static_cast<std::int64_t>(v);
    for (const auto edge : boost::make_iterator_range(boost::out_edges(v, g))) {
      const HbVertex to = boost::target(edge, g);
      if (g[edge].kind == EdgeKind::program_order || !in_window(graph, to, options)) continue;
      shown.insert(v);
      shown.insert(to);
    }
  }
  for (std::size_t lane = 0; lane < first.size(); ++lane) {
    if (first[lane] >= 0) shown.insert(static_cast<HbVertex>(first[lane]));
    if (last[lane] >= 0) shown.insert(static_cast<HbVertex>(last[lane]));
  }
  std::erase_if(shown, [&](HbVertex v) { return !in_window(graph, v, options); });
  return shown;
}

void write_lanes(std::ostream& out, const TraceGraph& graph, const std::set<HbVertex>& shown,
                 const DotOptions& options) {
  const HbGraph& g = graph.graph();
  const std::set<HbVertex> highlight(options.highlight.begin(), options.highlight.end());
  for (std::uint32_t lane = 0; lane < graph.clocks().lane_count(); ++lane) {
    const sim::task_id task = graph.task_of_lane(lane);
    std::vector<HbVertex> members;
    for (const HbVertex v : shown) {
      if (g[v].lane == lane) members.push_back(v);
    }
    if (members.empty()) continue;
    out << fmt::format(
        "  subgraph cluster_lane{} {{\n    label=\"{}\"; style=filled; fillcolor=gray96; color=gray70;\n",
        lane, escape(graph.view().task_name(task)));
    for (const HbVertex v : members) {
      const sim::TraceEvent& event = graph.event_of(v);
      out << fmt::format("    e{} [label=\"{:.3f}us #{}\\n{}\"{}];\n", g[v].event,
                         static_cast<double>(event.time_ns) / 1000.0, g[v].event, escape(graph.describe(v)),
                         highlight.contains(v) ? ", color=red, penwidth=3, fontcolor=red" : "");
    }
    // Program order, folded: one edge between consecutive drawn events of the lane.
    for (std::size_t i = 1; i < members.size(); ++i) {
      const std::uint32_t skipped = g[members[i]].event - g[members[i - 1]].event;
      out << fmt::format("    e{} -> e{} [color={}, weight=10{}];\n", g[members[i - 1]].event,
                         g[members[i]].event, edge_colours[0],
                         skipped > 1 ? fmt::format(", label=\"…\", fontcolor=gray55") : "");
    }
    out << "  }\n";
  }
}

}  // namespace

void write_dot(std::ostream& out, const TraceGraph& graph, const DotOptions& options) {
  const HbGraph& g = graph.graph();
  const std::set<HbVertex> shown = shown_vertices(graph, options);
  out << "digraph happens_before {\n";
  out << "  rankdir=LR; newrank=true; node [shape=box, style=\"rounded,filled\", fillcolor=white, "
         "fontname=\"Helvetica\", fontsize=10]; edge [fontsize=9, arrowsize=0.7];\n";
  out << "  label=\"iosim happens-before graph: one lane per task; gray program order (… = events folded), "
         "green create/join, blue wake, orange send→recv, purple connect→accept, brown unlock→lock, "
         "magenta close→fd reuse, teal epoll arm→deliver\"; labelloc=t; fontname=\"Helvetica\";\n";
  write_lanes(out, graph, shown, options);
  for (const HbVertex v : shown) {
    for (const auto edge : boost::make_iterator_range(boost::out_edges(v, g))) {
      const EdgeKind kind = g[edge].kind;
      const HbVertex to = boost::target(edge, g);
      if (kind == EdgeKind::program_order || !shown.contains(to)) continue;
      out << fmt::format("  e{} -> e{} [color={}, fontcolor={}, label=\"{}\", constraint=false];\n",
                         g[v].event, g[to].event, edge_colours[static_cast<int>(kind)],
                         edge_colours[static_cast<int>(kind)], edge_kind_name(kind));
    }
  }
  out << "}\n";
}

}  // namespace iosim::analysis
