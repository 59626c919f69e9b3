// bench/explore_bench.cpp — what `iosim explore` and `iosim shrink` cost per run: one seed of a 2-client echo
// scenario judged end to end (load once, then run_scenario per seed, as each explore worker does), and one
// replay of a shrunk bug-zoo choice log (the unit shrink repeats). Process start-up and the fork/pipe of
// --jobs are not in these numbers; `iosim explore` prints its own seeds/s for the whole command.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tools/driver.hpp"

namespace iosim::bench {
namespace {

ScenarioSpec load_bundled(const std::string& relative_path) {
  const std::string path = std::string(IOSIM_SOURCE_DIR) + "/scenarios/" + relative_path;
  Result<ScenarioSpec> spec = load_scenario_file(path);
  if (!spec) {
    std::fprintf(stderr, "iosim_bench: %s\n", spec.status().message().c_str());
    std::abort();
  }
  return spec.value();
}

// A seed of echo_select with 2 clients (8 messages each), judged: what explore does for every seed.
void BM_ExploreSeed(benchmark::State& state, const char* scenario, const char* strategy) {
  ScenarioSpec spec = load_bundled(scenario);
  spec.workload.clients = 2;
  std::uint64_t seed = 1, failures = 0;
  for (auto _ : state) {
    const RunReport report = run_scenario(spec, RunRequest{"sim", seed++, std::string(strategy), false});
    failures += report.passed ? 0 : 1;
  }
  if (failures > 0) state.SkipWithError("a seed failed: the benchmark measured a failing run");
  state.SetItemsProcessed(state.iterations());
  state.counters["seeds_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// One replay of a failing bug-zoo run from its recorded choices: shrink's unit of work.
void BM_ShrinkReplay(benchmark::State& state, const char* scenario, std::uint64_t seed) {
  const ScenarioSpec spec = load_bundled(scenario);
  const RunReport original = run_scenario(spec, RunRequest{"sim", seed, std::nullopt, false});
  if (original.passed || !original.sim) {
    state.SkipWithError("the seed no longer fails: update the benchmark");
    return;
  }
  RunRequest replay{"sim", seed, std::nullopt, false};
  replay.replay_choices = original.sim->choices;
  for (auto _ : state) benchmark::DoNotOptimize(run_scenario(spec, replay).passed);
  state.counters["choices"] = static_cast<double>(original.sim->choices.size());
}

BENCHMARK_CAPTURE(BM_ExploreSeed, echo_select_2_clients_random, "echo_select.json", "random")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ExploreSeed, echo_select_2_clients_pct, "echo_select.json", "pct")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ExploreSeed, echo_epoll_lt_2_clients_random, "echo_epoll_lt.json", "random")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ShrinkReplay, lost_wakeup_seed_8, "bugs/lost_wakeup.json", 8)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ShrinkReplay, accept_after_rst_seed_10, "bugs/accept_after_rst.json", 10)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace iosim::bench
