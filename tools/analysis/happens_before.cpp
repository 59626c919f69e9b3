// tools/analysis/happens_before.cpp — vector clocks over a topologically numbered happens-before graph:
// one pass in vertex order, each clock the lane-wise maximum of its predecessors' plus its own position.
#include "tools/analysis/happens_before.hpp"

#include <algorithm>

#include "iosim/assert.hpp"

namespace iosim::analysis {

std::string_view edge_kind_name(EdgeKind kind) {
  switch (kind) {
    case EdgeKind::program_order:
      return "program_order";
    case EdgeKind::thread_create:
      return "thread_create";
    case EdgeKind::thread_join:
      return "thread_join";
    case EdgeKind::wake:
      return "wake";
    case EdgeKind::send_recv:
      return "send_recv";
    case EdgeKind::connect_accept:
      return "connect_accept";
    case EdgeKind::unlock_lock:
      return "unlock_lock";
    case EdgeKind::fd_reuse:
      return "fd_reuse";
    case EdgeKind::epoll_arm:
      return "epoll_arm";
  }
  return "?";
}

VectorClocks::VectorClocks(const HbGraph& graph, std::uint32_t lane_count) : lane_count_(lane_count) {
  const std::size_t vertex_count = boost::num_vertices(graph);
  clocks_.assign(vertex_count * lane_count_, 0);
  position_.resize(vertex_count);
  lane_.resize(vertex_count);
  std::vector<std::uint32_t> lane_length(lane_count_, 0);
  for (HbVertex v = 0; v < vertex_count; ++v) {
    const std::uint32_t lane = graph[v].lane;
    IOSIM_ASSERT(lane < lane_count_, "vertex lane out of range");
    std::uint32_t* clock = &clocks_[v * lane_count_];
    bool follows_lane = lane_length[lane] == 0;
    for (const auto edge : boost::make_iterator_range(boost::in_edges(v, graph))) {
      const HbVertex u = boost::source(edge, graph);
      IOSIM_ASSERT(u < v, "happens-before edge against vertex order");
      const std::uint32_t* from = &clocks_[u * lane_count_];
      for (std::uint32_t l = 0; l < lane_count_; ++l) clock[l] = std::max(clock[l], from[l]);
      if (graph[u].lane == lane && position_[u] == lane_length[lane]) follows_lane = true;
    }
    IOSIM_ASSERT(follows_lane, "a lane's consecutive vertices must be linked by program order");
    position_[v] = ++lane_length[lane];
    lane_[v] = lane;
    clock[lane] = position_[v];
  }
}

}  // namespace iosim::analysis
