// tests/graph_test.cpp — the happens-before analysis (tools/analysis): vector clocks against brute-force
// reachability, the edges built from a trace, races in the bug zoo and none in race-free scenarios, the
// deadlock cycle of lock_order_inversion, and byte-identical DOT for the same seed.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tools/analysis/analyses.hpp"
#include "tools/analysis/trace_file.hpp"
#include "tools/driver.hpp"
#include "backends/sim/trace_format.hpp"

namespace iosim::analysis {
namespace {

const std::string source_dir = [] {
  const char* dir = std::getenv("IOSIM_SOURCE_DIR");
  return std::string(dir != nullptr ? dir : ".");
}();

struct AnalysedRun {
  RunReport report;
  std::optional<TraceGraph> graph;
};

AnalysedRun analyse(const std::string& scenario, std::uint64_t seed, std::vector<std::string> faults = {}) {
  Result<ScenarioSpec> spec = load_scenario_file(source_dir + "/" + scenario);
  EXPECT_TRUE(spec.is_ok()) << scenario;
  RunRequest request;
  request.seed = seed;
  request.capture_trace = true;
  EXPECT_TRUE(apply_faults(request, faults).is_ok());
  AnalysedRun run;
  run.report = run_scenario(spec.value(), request, [&](SimOs& os) {
    run.graph.emplace(make_trace_view(os.trace(), os.scheduler()));
  });
  return run;
}

// ---- vector clocks agree with reachability ----

// A random DAG shaped like a trace: vertices in order, each on a random lane, linked to the previous vertex
// of its lane (program order) and, sometimes, from a random earlier vertex of another lane.
HbGraph random_trace_graph(int vertex_count, int lane_count, const std::vector<int>& lanes,
                           const std::vector<int>& sources) {
  HbGraph g;
  std::vector<std::int64_t> last(static_cast<std::size_t>(lane_count), -1);
  for (int v = 0; v < vertex_count; ++v) {
    const int lane = lanes[static_cast<std::size_t>(v)];
    boost::add_vertex(EventVertex{static_cast<std::uint32_t>(v), static_cast<std::uint32_t>(lane)}, g);
    if (last[static_cast<std::size_t>(lane)] >= 0) {
      boost::add_edge(static_cast<HbVertex>(last[static_cast<std::size_t>(lane)]), v, OrderEdge{}, g);
    }
    last[static_cast<std::size_t>(lane)] = v;
    const int source = sources[static_cast<std::size_t>(v)];
    if (source >= 0 && source < v) boost::add_edge(source, v, OrderEdge{EdgeKind::wake}, g);
  }
  return g;
}

bool reachable(const HbGraph& g, HbVertex from, HbVertex to) {
  std::vector<bool> seen(boost::num_vertices(g), false);
  std::vector<HbVertex> stack{from};
  while (!stack.empty()) {
    const HbVertex v = stack.back();
    stack.pop_back();
    for (const auto edge : boost::make_iterator_range(boost::out_edges(v, g))) {
      const HbVertex next = boost::target(edge, g);
      if (next == to) return true;
      if (!seen[next]) {
        seen[next] = true;
        stack.push_back(next);
      }
    }
  }
  return false;
}

TEST(VectorClocks, AgreeWithBruteForceReachabilityOnRandomGraphs) {
  const bool holds = rc::check("vector clocks == reachability", [] {
    const int lane_count = *rc::gen::inRange(1, 6);
    const int vertex_count = *rc::gen::inRange(1, 40);
    const auto lanes = *rc::gen::container<std::vector<int>>(static_cast<std::size_t>(vertex_count),
                                                             rc::gen::inRange(0, lane_count));
    const auto sources = *rc::gen::container<std::vector<int>>(static_cast<std::size_t>(vertex_count),
                                                               rc::gen::inRange(-vertex_count, vertex_count));
    const HbGraph g = random_trace_graph(vertex_count, lane_count, lanes, sources);
    const VectorClocks clocks(g, static_cast<std::uint32_t>(lane_count));
    for (HbVertex a = 0; a < boost::num_vertices(g); ++a) {
      for (HbVertex b = 0; b < boost::num_vertices(g); ++b) {
        RC_ASSERT(clocks.happens_before(a, b) == (a != b && reachable(g, a, b)));
      }
    }
  });
  EXPECT_TRUE(holds);
}

// ---- edges built from a trace ----

// A hand-written trace: main spawns child; child sends 10 bytes on tcp#2 (its peer tcp#1 accepted by main),
// main receives them, joins the child. Names are interned by hand.
TraceView small_trace() {
  TraceView view;
  view.names = {"",           "main",  "child", "thread_join", "tcp.sendmsg", "tcp.recvmsg",
                "tcp.accept", "tcp#1", "tcp#2", "note"};
  view.task_names = {"kernel", "main", "child"};
  using K = sim::EventKind;
  view.events = {
      {0, 0, K::task_spawn, 1, 0, 0, 0},  // 0: kernel spawns main (task 1)
      {1, 1, K::note, 9, 0, 0, 0},        // 1: main, before anything
      {2, 1, K::task_spawn, 2, 0, 1, 0},  // 2: main spawns child (task 2)
      {3, 1, K::kernel, 6, 7, 8, 0},      // 3: main accepts tcp#1, client tcp#2
      {4, 2, K::note, 9, 0, 0, 0},        // 4: child's first event
      {5, 2, K::kernel, 4, 8, 0, 10},     // 5: child queues bytes [0, 10) on tcp#2
      {6, 1, K::kernel, 5, 7, 0, 4},      // 6: main reads [0, 4) on tcp#1
      {7, 2, K::task_exit, 2, 0, 0, 0},   // 7: child returns
      {8, 1, K::sys_enter, 3, 0, 2, 0},   // 8: main joins child
      {9, 1, K::sys_exit, 3, 0, 0, 0},    // 9: join returns
  };
  return view;
}

TEST(TraceGraph, LinksSpawnSendRecvAndJoinAcrossTasks) {
  const TraceGraph graph(small_trace());
  auto v = [&](std::uint32_t event) { return *graph.vertex_of(event); };
  EXPECT_FALSE(graph.vertex_of(0).has_value()) << "kernel-context events have no vertex";
  const VectorClocks& clocks = graph.clocks();
  EXPECT_TRUE(clocks.happens_before(v(2), v(4))) << "thread_create";
  EXPECT_TRUE(clocks.happens_before(v(5), v(6))) << "send -> recv of the same bytes";
  EXPECT_TRUE(clocks.happens_before(v(7), v(9))) << "exit -> join";
  EXPECT_FALSE(clocks.ordered(v(3), v(4))) << "main's accept and the child's first event are concurrent";
  EXPECT_FALSE(clocks.ordered(v(6), v(7))) << "main's recv and the child's exit are concurrent";
  EXPECT_EQ(graph.edge_count(EdgeKind::thread_create), 1u);
  EXPECT_EQ(graph.edge_count(EdgeKind::send_recv), 1u);
  EXPECT_EQ(graph.edge_count(EdgeKind::thread_join), 1u);
}

TEST(TraceGraph, EndOfStreamFollowsThePeersFin) {
  TraceView view;
  view.names = {"", "server", "client", "tcp.sendmsg", "tcp.recvmsg", "tcp.accept", "tcp#1", "tcp#2"};
  view.task_names = {"kernel", "server", "client"};
  using K = sim::EventKind;
  view.events = {
      {0, 0, K::task_spawn, 1, 0, 0, 0},  // kernel spawns server and client
      {0, 0, K::task_spawn, 2, 0, 0, 0},
      {1, 1, K::kernel, 5, 6, 7, 0},  // 2: server accepts tcp#1, whose client is tcp#2
      {2, 2, K::kernel, 3, 7, 4, 4},  // 3: client queues bytes [4, 8) (its first 4 were read elsewhere)
      {3, 2, K::kernel, 3, 7, 8, 0},  // 4: client queues its FIN after byte 8
      {4, 1, K::kernel, 4, 6, 4, 4},  // 5: server reads [4, 8)
      {5, 1, K::kernel, 4, 6, 8, 0},  // 6: server reads end of stream after byte 8
  };
  const TraceGraph graph(std::move(view));
  auto v = [&](std::uint32_t event) { return *graph.vertex_of(event); };
  EXPECT_TRUE(graph.clocks().happens_before(v(3), v(5)));
  EXPECT_TRUE(graph.clocks().happens_before(v(4), v(6))) << "FIN -> the recv that returns 0";
  EXPECT_FALSE(graph.clocks().happens_before(v(4), v(5))) << "the FIN is not among bytes [4, 8)";
  EXPECT_EQ(graph.edge_count(EdgeKind::send_recv), 2u);
}

// ---- races ----

// Task a reads fd 3, task b closes it, task a reads it again: nothing orders b's close against either read.
TEST(Races, ACloseIsComparedWithTheCallsBeforeAndAfterIt) {
  TraceView view;
  view.names = {"", "a", "b", "recv", "close", "fd.close", "tcp#1"};
  view.task_names = {"kernel", "a", "b"};
  using K = sim::EventKind;
  view.events = {
      {0, 0, K::task_spawn, 1, 0, 0, 0}, {0, 0, K::task_spawn, 2, 0, 0, 0}, {1, 1, K::sys_enter, 3, 0, 3, 64},
      {2, 1, K::sys_exit, 3, 0, 5, 0},   {3, 2, K::sys_enter, 4, 0, 3, 0},  {4, 2, K::kernel, 5, 6, 3, 0},
      {4, 2, K::sys_exit, 4, 0, 0, 0},   {5, 1, K::sys_enter, 3, 0, 3, 64}, {6, 1, K::sys_exit, 3, 0, -1, 9},
  };
  const TraceGraph graph(std::move(view));
  const std::vector<Race> races = find_races(graph);
  ASSERT_EQ(races.size(), 1u);
  EXPECT_EQ(races[0].count, 2u) << "the read before the close and the read after it";
  EXPECT_EQ(graph.view().name(races[0].first.call), "recv");
  EXPECT_EQ(graph.view().name(races[0].second.call), "close");
  EXPECT_EQ(races[0].second.file, 6u) << "the close names the file it released";
}

TEST(Races, CloseWhileReadingReportsTheCloseAndTheReadersCall) {
  for (const std::uint64_t seed : {1, 2, 3, 4, 5}) {
    const AnalysedRun run = analyse("scenarios/bugs/close_while_reading.json", seed, {"jitter_us=100"});
    const std::vector<Race> races = find_races(*run.graph);
    ASSERT_EQ(races.size(), 1u) << "seed " << seed;
    const Race& race = races[0];
    const TraceView& view = run.graph->view();
    EXPECT_EQ(race.kind, "use after close");
    EXPECT_EQ(race.first.fd, race.second.fd);
    const FdOperation& close = race.first.access == FdAccess::close ? race.first : race.second;
    const FdOperation& use = race.first.access == FdAccess::close ? race.second : race.first;
    EXPECT_EQ(view.name(close.call), "close");
    EXPECT_EQ(view.task_name(close.task), "server");
    EXPECT_EQ(view.task_name(use.task), "reader-1");
    EXPECT_TRUE(view.name(use.call) == "recv" || view.name(use.call) == "send") << view.name(use.call);
    const std::string text = format_race(*run.graph, race);
    EXPECT_NE(text.find("close(fd="), std::string::npos) << text;
    EXPECT_NE(text.find("by reader-1"), std::string::npos) << text;
  }
}

std::vector<std::string> race_free_scenarios() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(source_dir + "/scenarios")) {
    if (entry.path().extension() == ".json") files.push_back("scenarios/" + entry.path().filename().string());
  }
  for (const auto& entry : std::filesystem::directory_iterator(source_dir + "/scenarios/bugs")) {
    if (entry.path().stem().string().ends_with("_fixed"))
      files.push_back("scenarios/bugs/" + entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Races, NoneInTheFixedTwinsOrTheBundledServers) {
  const std::vector<std::string> files = race_free_scenarios();
  ASSERT_GE(files.size(), 14u);
  for (const std::string& file : files) {
    for (const std::uint64_t seed : {1, 2, 3}) {
      const AnalysedRun run = analyse(file, seed);
      ASSERT_TRUE(run.graph.has_value()) << file;
      const std::vector<Race> races = find_races(*run.graph);
      EXPECT_TRUE(races.empty()) << file << " seed " << seed << ": "
                                 << format_race(*run.graph, races.front());
    }
  }
}

// ---- deadlocks ----

TEST(Deadlocks, LockOrderInversionReportsTheTwoWorkersCycle) {
  std::size_t deadlocked = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const AnalysedRun run = analyse("scenarios/bugs/lock_order_inversion.json", seed);
    const std::vector<DeadlockCycle> cycles = find_deadlocks(*run.graph, run.report.sim->run.blocked);
    if (run.report.sim->run.outcome != sim::RunResult::Outcome::deadlock) {
      EXPECT_TRUE(cycles.empty()) << "seed " << seed;
      continue;
    }
    ++deadlocked;
    ASSERT_EQ(cycles.size(), 1u) << "seed " << seed;
    const DeadlockCycle& cycle = cycles[0];
    ASSERT_EQ(cycle.tasks.size(), 2u);
    EXPECT_EQ(cycle.tasks[0].task_name, "worker-1");
    EXPECT_EQ(cycle.tasks[1].task_name, "worker-2");
    EXPECT_EQ(cycle.tasks[0].waits_for, cycle.tasks[1].task);
    EXPECT_EQ(cycle.tasks[1].waits_for, cycle.tasks[0].task);
    EXPECT_TRUE(cycle.tasks[0].channel.starts_with("mutex#"));
    EXPECT_NE(cycle.tasks[0].channel, cycle.tasks[1].channel);
  }
  EXPECT_GE(deadlocked, 3u) << "the inversion should deadlock on several of 20 seeds";
}

TEST(Deadlocks, LostWakeupHangsWithoutACycleAndTheFixedInversionNeverDeadlocks) {
  const AnalysedRun lost = analyse("scenarios/bugs/lost_wakeup.json", 8);
  ASSERT_EQ(lost.report.sim->run.outcome, sim::RunResult::Outcome::deadlock);
  EXPECT_TRUE(find_deadlocks(*lost.graph, lost.report.sim->run.blocked).empty())
      << "a worker asleep on a condvar waits for no particular task";
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const AnalysedRun run = analyse("scenarios/bugs/lock_order_inversion_fixed.json", seed);
    EXPECT_EQ(run.report.sim->run.outcome, sim::RunResult::Outcome::completed) << "seed " << seed;
  }
}

// ---- a saved trace ----

TEST(TraceFile, ReadsBackTheSameGraphAsTheRunThatWroteIt) {
  Result<ScenarioSpec> spec = load_scenario_file(source_dir + "/scenarios/bugs/close_while_reading.json");
  ASSERT_TRUE(spec.is_ok());
  RunRequest request;
  request.capture_trace = true;
  const std::string path = (std::filesystem::temp_directory_path() / "iosim_graph_test.jsonl").string();
  std::optional<TraceGraph> live;
  run_scenario(spec.value(), request, [&](SimOs& os) {
    live.emplace(make_trace_view(os.trace(), os.scheduler()));
    std::ofstream out(path);
    write_trace_jsonl(out, os);
  });
  Result<TraceView> read = read_trace_jsonl(path);
  ASSERT_TRUE(read.is_ok()) << read.status().message();
  const TraceGraph saved(std::move(read.value()));
  std::ostringstream live_dot, saved_dot;
  write_dot(live_dot, *live, DotOptions{});
  write_dot(saved_dot, saved, DotOptions{});
  EXPECT_EQ(live_dot.str(), saved_dot.str());
  ASSERT_EQ(find_races(saved).size(), 1u);
  EXPECT_EQ(format_race(saved, find_races(saved)[0]), format_race(*live, find_races(*live)[0]));
}

TEST(TraceFile, RejectsAFileWithoutTheNamesTableNamingTheLine) {
  const std::string path = (std::filesystem::temp_directory_path() / "iosim_graph_test_old.jsonl").string();
  std::ofstream(path) << R"({"format":"iosim-trace","version":1,"seed":1})"
                      << "\n";
  const Result<TraceView> read = read_trace_jsonl(path);
  ASSERT_FALSE(read.is_ok());
  EXPECT_NE(read.status().message().find(path + ":1: the header has no \"names\""), std::string::npos)
      << read.status().message();
}

// ---- DOT and the critical path ----

std::string dot_of(const AnalysedRun& run) {
  std::ostringstream out;
  write_dot(out, *run.graph, DotOptions{});
  return out.str();
}

TEST(Dot, SameSeedGivesTheSameBytesAndEveryTaskALane) {
  const std::string first = dot_of(analyse("scenarios/echo_epoll_oneshot_threads.json", 7));
  const std::string second = dot_of(analyse("scenarios/echo_epoll_oneshot_threads.json", 7));
  EXPECT_EQ(first, second);
  EXPECT_NE(first, dot_of(analyse("scenarios/echo_epoll_oneshot_threads.json", 8)));
  for (const char* lane :
       {"label=\"main\"", "label=\"server\"", "label=\"worker-1\"", "label=\"client-1\""}) {
    EXPECT_NE(first.find(lane), std::string::npos) << lane;
  }
  for (const char* edge :
       {"label=\"send_recv\"", "label=\"epoll_arm\"", "label=\"wake\"", "label=\"thread_join\""}) {
    EXPECT_NE(first.find(edge), std::string::npos) << edge;
  }
}

TEST(Dot, WindowKeepsOnlyItsEvents) {
  const AnalysedRun run = analyse("scenarios/echo_select.json", 1);
  std::ostringstream out;
  write_dot(out, *run.graph, DotOptions{100, 200, {}});
  const std::string dot = out.str();
  EXPECT_NE(dot.find(" e100 ["), std::string::npos);
  EXPECT_EQ(dot.find(" e99 ["), std::string::npos);
  EXPECT_EQ(dot.find(" e201 ["), std::string::npos);
  EXPECT_EQ(dot.find(" e1 ["), std::string::npos);
}

TEST(CriticalPath, IsAConnectedChainFromTheStartToTheLastEvent) {
  const AnalysedRun run = analyse("scenarios/echo_blocking_threads.json", 1);
  const CriticalPath path = critical_path(*run.graph);
  ASSERT_GE(path.vertices.size(), 2u);
  const HbGraph& g = run.graph->graph();
  for (std::size_t i = 1; i < path.vertices.size(); ++i) {
    EXPECT_TRUE(boost::edge(path.vertices[i - 1], path.vertices[i], g).second) << "step " << i;
  }
  EXPECT_EQ(path.start_ns, 0);
  EXPECT_EQ(path.end_ns, run.report.sim->run.end_time_ns);
  EXPECT_GT(path.busy_ns, 0);
  EXPECT_LT(path.busy_ns, path.end_ns - path.start_ns) << "sleeping on the way is not work";
  std::set<std::uint32_t> lanes;
  for (const HbVertex v : path.vertices) lanes.insert(g[v].lane);
  EXPECT_GE(lanes.size(), 2u) << "the chain crosses tasks";
}

}  // namespace
}  // namespace iosim::analysis
