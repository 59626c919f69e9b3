// tools/analysis/trace_graph.cpp — one pass over the trace that links each task's events (program order) and
// adds the cross-task edges the runtime and the kernel traced: spawn, join, wake, tcp byte ranges, accept,
// mutex hand-over, fd reuse and epoll arming. Timer callbacks run in no task and get no vertex.
#include "tools/analysis/trace_graph.hpp"

#include "backends/sim/trace_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>

namespace iosim::analysis {
namespace {

constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();
using sim::EventKind;

// Calls whose first argument is an fd, and how they touch it.
struct FdCall {
  std::string_view call;
  FdAccess access;
};
constexpr FdCall fd_calls[] = {
    {"bind", FdAccess::use},        {"listen", FdAccess::use},      {"accept4", FdAccess::use},
    {"connect", FdAccess::use},     {"send", FdAccess::write},      {"recv", FdAccess::use},
    {"read", FdAccess::use},        {"write", FdAccess::write},     {"shutdown", FdAccess::use},
    {"close", FdAccess::close},     {"dup", FdAccess::use},         {"fcntl", FdAccess::use},
    {"getsockopt", FdAccess::use},  {"setsockopt", FdAccess::use},  {"setsockopt(SO_LINGER)", FdAccess::use},
    {"getsockname", FdAccess::use}, {"getpeername", FdAccess::use}, {"epoll_wait", FdAccess::use},
    {"epoll_ctl", FdAccess::use},
};

}  // namespace

std::string_view fd_access_name(FdAccess access) {
  switch (access) {
    case FdAccess::use:
      return "use";
    case FdAccess::write:
      return "write";
    case FdAccess::close:
      return "close";
    case FdAccess::install:
      return "install";
  }
  return "?";
}

// The builder's running state: per task, per name (mutex, socket, epoll item) and per fd number.
class GraphBuilder {
 public:
  explicit GraphBuilder(TraceGraph& out) : g_(out), view_(out.view_) {
    std::map<std::string_view, std::uint32_t> ids;
    for (std::uint32_t id = 0; id < view_.names.size(); ++id) ids.emplace(view_.names[id], id);
    auto id_of = [&](std::string_view name) { return ids.contains(name) ? ids[name] : none; };
    n_ = {id_of("mutex_lock"),  id_of("mutex_unlock"), id_of("cond_wait"),  id_of("thread_join"),
          id_of("connect"),     id_of("epoll_ctl"),    id_of("fd.install"), id_of("fd.close"),
          id_of("tcp.sendmsg"), id_of("tcp.recvmsg"),  id_of("tcp.accept"), id_of("ep.insert"),
          id_of("ep.modify"),   id_of("ep.deliver")};
    fd_access_.assign(view_.names.size(), -1);
    for (const FdCall& call : fd_calls) {
      if (const std::uint32_t id = id_of(call.call); id != none)
        fd_access_[id] = static_cast<int>(call.access);
    }
    by_name_.assign(view_.names.size(), NameState{});
  }

  void run() {
    for (std::uint32_t i = 0; i < view_.events.size(); ++i) add_event(i);
    g_.clocks_ = VectorClocks(g_.graph_, static_cast<std::uint32_t>(g_.lane_tasks_.size()));
  }

 private:
  struct Names {
    std::uint32_t mutex_lock, mutex_unlock, cond_wait, thread_join, connect, epoll_ctl, fd_install, fd_close,
        tcp_sendmsg, tcp_recvmsg, tcp_accept, ep_insert, ep_modify, ep_deliver;
  };
  struct PendingCall {
    std::uint32_t call;
    std::int64_t arg0, arg1;
    std::uint32_t enter_event;
    std::int64_t stretch_first = -1;  // first event since the call's last scheduling point
    std::uint32_t closed_file = 0;    // set by fd.close: the file this close released
    bool closed = false;
    std::vector<std::size_t> installs;  // FdOperations of fds this call got, completed at its return
  };
  struct TaskState {
    std::int64_t lane = -1;
    std::int64_t last = -1;
    std::int64_t exit = -1;
    std::vector<std::pair<HbVertex, EdgeKind>> incoming;  // attached to the task's next event
    std::vector<PendingCall> calls;
  };
  struct SendChunk {
    std::int64_t seq, length;
    HbVertex vertex;
  };
  struct NameState {
    std::int64_t release = -1;  // mutex: last unlock
    std::int64_t connect = -1;  // socket: first connect call
    std::int64_t armed = -1;    // epoll item: last ADD/MOD
    std::uint32_t peer = none;  // socket: the other end
    std::vector<SendChunk> sends;
  };

  TaskState& task(sim::task_id id) {
    if (id >= tasks_.size()) tasks_.resize(id + 1);
    return tasks_[id];
  }
  std::int64_t& fd_slot(std::vector<std::int64_t>& table, std::int64_t fd) {
    const auto index = static_cast<std::size_t>(std::max<std::int64_t>(fd, 0));
    if (index >= table.size()) table.resize(index + 1, -1);
    return table[index];
  }

  void link(std::int64_t from, HbVertex to, EdgeKind kind) {
    if (from < 0) return;
    const auto source = static_cast<HbVertex>(from);
    if (kind != EdgeKind::program_order && g_.graph_[source].lane == g_.graph_[to].lane) return;  // implied
    boost::add_edge(source, to, OrderEdge{kind}, g_.graph_);
    ++g_.edge_counts_[static_cast<int>(kind)];
  }

  void add_event(std::uint32_t index) {
    const sim::TraceEvent& event = view_.events[index];
    if (event.kind == EventKind::task_spawn) ++spawn_count_;
    if (event.task == sim::no_task) {
      g_.vertex_of_event_.push_back(-1);
      return;
    }
    TaskState& self = task(event.task);
    if (self.lane < 0) {
      self.lane = static_cast<std::int64_t>(g_.lane_tasks_.size());
      g_.lane_tasks_.push_back(event.task);
    }
    const HbVertex v =
        boost::add_vertex(EventVertex{index, static_cast<std::uint32_t>(self.lane)}, g_.graph_);
    g_.vertex_of_event_.push_back(static_cast<std::int64_t>(v));
    g_.call_enter_.push_back(none);
    link(self.last, v, EdgeKind::program_order);
    for (const auto& [from, kind] : self.incoming) link(static_cast<std::int64_t>(from), v, kind);
    self.incoming.clear();
    self.last = static_cast<std::int64_t>(v);
    track_stretch(self, event, v);
    switch (event.kind) {
      case EventKind::task_spawn:
        task(spawn_count_).incoming.emplace_back(v, EdgeKind::thread_create);
        break;
      case EventKind::task_exit:
        task(event.task).exit = static_cast<std::int64_t>(v);
        break;
      case EventKind::sys_enter:
        on_enter(event, index, v);
        break;
      case EventKind::sys_exit:
        on_exit(event, v);
        break;
      case EventKind::block:
        on_block(event, v);
        break;
      case EventKind::wake:
        task(static_cast<sim::task_id>(event.arg0)).incoming.emplace_back(v, EdgeKind::wake);
        break;
      case EventKind::kernel:
        on_kernel(event, v);
        break;
      default:
        break;
    }
  }

  // The atomic stretch of the innermost call: a sleep ends it; the first event after its entry or a sleep
  // starts the next one (the entry yields, so other tasks may run between it and the call's next event).
  static void track_stretch(TaskState& self, const sim::TraceEvent& event, HbVertex v) {
    if (self.calls.empty() || event.kind == sim::EventKind::sys_enter) return;
    PendingCall& call = self.calls.back();
    if (event.kind == sim::EventKind::block) {
      call.stretch_first = -1;
    } else if (call.stretch_first < 0) {
      call.stretch_first = static_cast<std::int64_t>(v);
    }
  }

  void on_enter(const sim::TraceEvent& event, std::uint32_t index, HbVertex v) {
    task(event.task).calls.push_back({event.subject, event.arg0, event.arg1, index});
    if (event.subject == n_.connect && event.arg0 >= 0) {
      const std::int64_t file = fd_slot(file_of_fd_, event.arg0);
      if (file > 0 && by_name_[file].connect < 0) by_name_[file].connect = static_cast<std::int64_t>(v);
    }
  }

  void on_exit(const sim::TraceEvent& event, HbVertex v) {
    std::vector<PendingCall>& calls = task(event.task).calls;
    // A killed task unwinds without returning from its call: drop entries above the one this exit closes.
    while (!calls.empty() && calls.back().call != event.subject) calls.pop_back();
    if (calls.empty()) return;
    PendingCall call = std::move(calls.back());
    calls.pop_back();
    if (call.stretch_first < 0) call.stretch_first = static_cast<std::int64_t>(v);
    for (const std::size_t install : call.installs) g_.operations_[install].last = v;
    g_.call_enter_[v] = call.enter_event;
    if (call.call == n_.mutex_lock) link(by_name_[call.arg0].release, v, EdgeKind::unlock_lock);
    if (call.call == n_.mutex_unlock) by_name_[call.arg0].release = static_cast<std::int64_t>(v);
    if (call.call == n_.thread_join)
      link(task(static_cast<sim::task_id>(call.arg0)).exit, v, EdgeKind::thread_join);
    const int access = fd_access_[call.call];
    if (access < 0) return;
    add_operation(event, call, call.arg0, static_cast<FdAccess>(access), v);
    if (call.call == n_.epoll_ctl)
      add_operation(event, call, static_cast<std::int32_t>(call.arg1), FdAccess::use, v);
  }

  void add_operation(const sim::TraceEvent& exit, const PendingCall& call, std::int64_t fd, FdAccess access,
                     HbVertex v) {
    if (fd < 0) return;
    const auto first = static_cast<HbVertex>(call.stretch_first);
    std::uint32_t file = static_cast<std::uint32_t>(std::max<std::int64_t>(fd_slot(file_of_fd_, fd), 0));
    if (access == FdAccess::close) {
      if (call.closed)
        file = call.closed_file;
      else
        access = FdAccess::use;  // close(bad fd) = EBADF: it freed nothing
    }
    const std::int64_t result = exit.arg0 < 0 ? -exit.arg1 : exit.arg0;
    g_.operations_.push_back({g_.graph_[first].event, first, v, exit.task, call.call, fd, result, file,
                              access, view_.events[g_.graph_[first].event].time_ns});
  }

  void on_block(const sim::TraceEvent& event, HbVertex v) {
    // cond_wait releases its mutex and sleeps with no scheduling point in between: the block is the unlock.
    const std::vector<PendingCall>& calls = task(event.task).calls;
    if (!calls.empty() && calls.back().call == n_.cond_wait)
      by_name_[calls.back().arg1].release = static_cast<std::int64_t>(v);
  }

  void on_kernel(const sim::TraceEvent& event, HbVertex v) {
    const std::uint32_t what = event.subject;
    NameState& object = by_name_[event.object];
    if (what == n_.fd_install) {
      link(fd_slot(last_close_, event.arg0), v, EdgeKind::fd_reuse);
      fd_slot(file_of_fd_, event.arg0) = event.object;
      std::vector<PendingCall>& calls = task(event.task).calls;
      if (calls.empty()) return;
      const HbVertex first = static_cast<HbVertex>(calls.back().stretch_first);
      calls.back().installs.push_back(g_.operations_.size());
      g_.operations_.push_back({g_.graph_[first].event, first, v, event.task, calls.back().call, event.arg0,
                                event.arg0, event.object, FdAccess::install, g_.event_of(first).time_ns});
    } else if (what == n_.fd_close) {
      fd_slot(last_close_, event.arg0) = static_cast<std::int64_t>(v);
      fd_slot(file_of_fd_, event.arg0) = 0;
      std::vector<PendingCall>& calls = task(event.task).calls;
      if (!calls.empty()) {
        calls.back().closed = true;
        calls.back().closed_file = event.object;
      }
    } else if (what == n_.tcp_sendmsg) {
      object.sends.push_back({event.arg0, event.arg1, v});
    } else if (what == n_.tcp_recvmsg) {
      link_sends(object.peer, event.arg0, event.arg0 + event.arg1, v);
    } else if (what == n_.tcp_accept) {
      const auto client = static_cast<std::uint32_t>(event.arg0);
      if (client == 0 || client >= by_name_.size()) return;
      object.peer = client;
      by_name_[client].peer = event.object;
      link(by_name_[client].connect, v, EdgeKind::connect_accept);
    } else if (what == n_.ep_insert || what == n_.ep_modify) {
      object.armed = static_cast<std::int64_t>(v);
    } else if (what == n_.ep_deliver) {
      link(object.armed, v, EdgeKind::epoll_arm);
    }
  }

  // Every send chunk of `sender` that overlaps the stream bytes [first, last) happens before this recv.
  void link_sends(std::uint32_t sender, std::int64_t first, std::int64_t last, HbVertex v) {
    if (sender == none) return;
    const std::vector<SendChunk>& sends = by_name_[sender].sends;
    if (first == last) {  // end of stream: the peer's FIN, a zero-length chunk at the same offset
      for (auto fin = sends.rbegin(); fin != sends.rend() && fin->seq >= first; ++fin) {
        if (fin->seq == first && fin->length == 0)
          link(static_cast<std::int64_t>(fin->vertex), v, EdgeKind::send_recv);
      }
      return;
    }
    auto it = std::upper_bound(sends.begin(), sends.end(), first,
                               [](std::int64_t seq, const SendChunk& chunk) { return seq < chunk.seq; });
    if (it != sends.begin()) --it;
    std::int64_t previous = -1;
    for (; it != sends.end() && it->seq < last; ++it) {
      if (it->seq + it->length <= first || static_cast<std::int64_t>(it->vertex) == previous) continue;
      link(static_cast<std::int64_t>(it->vertex), v, EdgeKind::send_recv);
      previous = static_cast<std::int64_t>(it->vertex);
    }
  }

  TraceGraph& g_;
  const TraceView& view_;
  Names n_{};
  std::vector<int> fd_access_;
  std::vector<NameState> by_name_;
  std::vector<TaskState> tasks_;
  std::vector<std::int64_t> file_of_fd_, last_close_;
  sim::task_id spawn_count_ = 0;
};

TraceGraph::TraceGraph(TraceView view) : view_(std::move(view)) {
  vertex_of_event_.reserve(view_.events.size());
  GraphBuilder(*this).run();
}

std::optional<HbVertex> TraceGraph::vertex_of(std::uint32_t event) const {
  if (event >= vertex_of_event_.size() || vertex_of_event_[event] < 0) return std::nullopt;
  return static_cast<HbVertex>(vertex_of_event_[event]);
}

std::string TraceGraph::describe(HbVertex v) const {
  const sim::TraceEvent& event = event_of(v);
  const std::string_view subject = view_.name(event.subject);
  switch (event.kind) {
    case EventKind::task_spawn:
      return fmt::format("spawn {}", subject);
    case EventKind::task_exit:
      return "exit";
    case EventKind::sys_enter:
      if (subject.starts_with("mutex_") || subject.starts_with("cond_"))
        return fmt::format("{}({}) ...", subject, view_.name(static_cast<std::uint32_t>(event.arg0)));
      return fmt::format("{}({}, {}) ...", subject, event.arg0, event.arg1);
    case EventKind::sys_exit: {
      std::string call(subject);
      if (call_enter_[v] != none) {
        const sim::TraceEvent& enter = view_.events[call_enter_[v]];
        call = subject.starts_with("mutex_") || subject.starts_with("cond_")
                   ? fmt::format("{}({})", subject, view_.name(static_cast<std::uint32_t>(enter.arg0)))
                   : fmt::format("{}({}, {})", subject, enter.arg0, enter.arg1);
      }
      if (event.arg0 < 0) return fmt::format("{} = -1 errno {}", call, event.arg1);
      return fmt::format("{} = {}", call, event.arg0);
    }
    case EventKind::block:
      return fmt::format("sleeps on {}", subject);
    case EventKind::wake:
      return fmt::format("wakes {} via {}", view_.task_name(static_cast<sim::task_id>(event.arg0)), subject);
    case EventKind::kernel: {
      if (subject == "tcp.accept") {  // arg0 is the client socket's name id
        return fmt::format("{} accepted from {}", view_.name(event.object),
                           view_.name(static_cast<std::uint32_t>(event.arg0)));
      }
      return describe_kernel_event(subject, view_.name(event.object), event.arg0, event.arg1);
    }
    case EventKind::timer_fire:
      return fmt::format("timer {}", subject);
    case EventKind::fault:
      return fmt::format("fault {}", subject);
    case EventKind::note:
      return std::string(subject);
  }
  return "?";
}

}  // namespace iosim::analysis
