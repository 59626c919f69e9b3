// bench/graph_bench.cpp — `iosim graph` at scale: building the happens-before graph (edges and vector clocks)
// and the race query, on the first 10 000 and 100 000 events of a real run (a thread pool on one epoll fd).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include "tools/analysis/analyses.hpp"
#include "tools/driver.hpp"

namespace iosim::bench {
namespace {

// echo_epoll_oneshot_threads: 4 workers, 16 clients — mutexes, wake-ups, epoll arming and tcp byte ranges.
constexpr const char* scenario_json = R"({
  "name": "graph_bench", "app": "echo_epoll_oneshot_threads", "params": {"threads": 4},
  "workload": {"clients": 16, "messages": 200, "message_bytes_min": 1, "message_bytes_max": 512, "seed": 1},
  "network": {"latency_us": 50}, "sim": {"seed": 1, "strategy": "random", "step_max": 50000000},
  "checks": ["echo_in_order", "all_tasks_finished"]})";

// The captured trace of one run, cut to its first `event_count` events (a prefix of a trace is a trace).
const sim::TraceView& real_trace(std::size_t event_count) {
  static std::map<std::size_t, sim::TraceView> cache;
  if (auto found = cache.find(event_count); found != cache.end()) return found->second;
  Result<ScenarioSpec> spec = parse_scenario(scenario_json, "graph_bench");
  if (!spec) {
    std::fprintf(stderr, "iosim_bench: %s\n", spec.status().message().c_str());
    std::abort();
  }
  RunRequest request;
  request.capture_trace = true;
  sim::TraceView view;
  run_scenario(spec.value(), request,
               [&](SimOs& os) { view = sim::make_trace_view(os.trace(), os.scheduler()); });
  if (view.events.size() < event_count) {
    std::fprintf(stderr, "iosim_bench: the run has %zu events, fewer than %zu\n", view.events.size(),
                 event_count);
    std::abort();
  }
  view.events.resize(event_count);
  return cache.emplace(event_count, std::move(view)).first->second;
}

void graph_build(benchmark::State& state) {
  const sim::TraceView& view = real_trace(static_cast<std::size_t>(state.range(0)));
  std::size_t edges = 0;
  for (auto _ : state) {
    const analysis::TraceGraph graph(view);  // copies the view: part of what `iosim graph` pays
    edges = boost::num_edges(graph.graph());
    benchmark::DoNotOptimize(edges);
  }
  state.counters["edges"] = static_cast<double>(edges);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void graph_races(benchmark::State& state) {
  const analysis::TraceGraph graph(real_trace(static_cast<std::size_t>(state.range(0))));
  std::size_t races = 0;
  for (auto _ : state) {
    races = analysis::find_races(graph).size();
    benchmark::DoNotOptimize(races);
  }
  state.counters["fd_calls"] = static_cast<double>(graph.fd_operations().size());
  state.counters["races"] = static_cast<double>(races);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

const bool registered = [] {
  benchmark::RegisterBenchmark("graph/build/real", graph_build)
      ->Arg(10'000)
      ->Arg(100'000)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("graph/races/real", graph_races)
      ->Arg(10'000)
      ->Arg(100'000)
      ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
}  // namespace iosim::bench
