// tools/analysis/happens_before.hpp — the happens-before graph of a run (a Boost.Graph adjacency_list whose
// vertices are trace events in trace order) and its vector clocks, which answer "does a happen before b?" in
// O(1).
#pragma once

#include <boost/graph/adjacency_list.hpp>
#include <cstdint>
#include <string_view>
#include <vector>

namespace iosim::analysis {

// Why one event is ordered before another. program_order links a task's consecutive events; every other
// kind crosses tasks through the kernel or the runtime.
enum class EdgeKind : std::uint8_t {
  program_order,  // the same task, one event after the other
  thread_create,  // thread_create → the child's first event
  thread_join,    // the child's exit → the join that returns
  wake,       // wake (of a wait queue, poll entry, eventpoll, mutex, condvar) → the woken task's next event
  send_recv,  // tcp send of bytes [a, b) → the recv that returns some of them; FIN → the recv that sees EOF
  connect_accept,  // connect → the accept that returns its connection
  unlock_lock,     // mutex unlock (or cond_wait's release) → the next lock of that mutex
  fd_reuse,        // close(fd) → the next call that gets the same fd number
  epoll_arm,       // epoll_ctl ADD/MOD of an item → the epoll_wait that delivers it
};
inline constexpr int edge_kind_count = 9;
std::string_view edge_kind_name(EdgeKind kind);

struct EventVertex {
  std::uint32_t event = 0;  // index into the trace's events
  std::uint32_t lane = 0;   // 0-based lane (one per task)
};
struct OrderEdge {
  EdgeKind kind = EdgeKind::program_order;
};

// Vertices are added in trace order and every edge goes from a lower to a higher vertex, so vertex order is a
// topological order (asserted when clocks are computed).
using HbGraph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, EventVertex, OrderEdge>;
using HbVertex = HbGraph::vertex_descriptor;

// Vector clocks over lanes: clock(v)[l] is the number of lane-l events that happen before or at v. Within a
// lane, consecutive vertices must be linked by a program_order edge (the graph builder guarantees it).
class VectorClocks {
 public:
  VectorClocks() = default;
  VectorClocks(const HbGraph& graph, std::uint32_t lane_count);

  // True when a happens before b (a != b): some path of edges leads from a to b.
  bool happens_before(HbVertex a, HbVertex b) const {
    if (a >= b) return false;
    return clocks_[static_cast<std::size_t>(b) * lane_count_ + lane_[a]] >= position_[a];
  }
  bool ordered(HbVertex a, HbVertex b) const { return happens_before(a, b) || happens_before(b, a); }
  std::uint32_t lane_count() const { return lane_count_; }

 private:
  std::uint32_t lane_count_ = 0;
  std::vector<std::uint32_t> clocks_;    // vertex-major: vertex * lane_count + lane
  std::vector<std::uint32_t> position_;  // 1-based position of each vertex in its lane
  std::vector<std::uint32_t> lane_;
};

}  // namespace iosim::analysis
