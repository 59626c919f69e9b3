// bench/iocp_bench.cpp — IOCP on the simulator: echo round trips through a completion port (overlapped
// WSARecv/WSASend, one GetQueuedCompletionStatus per completion) and the cost of a GetQueuedCompletionStatus
// hand-off with n threads waiting on the port. The same workloads (bench/iocp_workloads.*) run on WindowsOs
// under Wine in bench/windows/, whose numbers the iosim_bench summary puts beside these.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backends/windows/wine_process.hpp"
#include "bench/bench_support.hpp"
#include "bench/iocp_workloads.hpp"

namespace iosim::bench {
namespace {

constexpr std::int64_t round_trips_per_iteration = 1000;
constexpr std::int64_t hand_offs_per_iteration = 1000;

std::int64_t real_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One simulated world per iteration; the iteration's time is the workload's measured loop only (manual
// time), so thread and socket set-up (n threads for the wake benchmark) is left out.
template <class Workload>
void run_on_sim(benchmark::State& state, const char* counter, Workload workload) {
  std::int64_t total_operations = 0;
  double total_ns = 0;
  for (auto _ : state) {
    SimOs os(timing_sim_config("random"));
    IocpTiming timing;
    require_completed(os.run([&] { timing = workload(os); }));
    state.SetIterationTime(static_cast<double>(timing.elapsed_ns) / 1e9);
    total_operations += timing.operations;
    total_ns += static_cast<double>(timing.elapsed_ns);
  }
  state.SetItemsProcessed(total_operations);
  state.counters[counter] = total_operations ? total_ns / static_cast<double>(total_operations) : 0;
}

void iocp_echo_on_sim(benchmark::State& state) {
  run_on_sim(state, "ns_per_round_trip",
             [](Os& os) { return iocp_echo_round_trips(os, round_trips_per_iteration, real_clock_ns); });
}

void gqcs_wake_on_sim(benchmark::State& state) {
  const int waiters = static_cast<int>(state.range(0));
  run_on_sim(state, "ns_per_hand_off", [waiters](Os& os) {
    return gqcs_wake_hand_offs(os, waiters, hand_offs_per_iteration, real_clock_ns);
  });
}

// --- the same workloads on WindowsOs under Wine (build/windows/iocp_bench.exe) ---

// Each Wine run costs seconds of start-up, so one run is one iteration and the exe's own loop, timed inside
// Windows with QueryPerformanceCounter, is the measurement.
constexpr std::int64_t wine_operations = 5'000;

void run_under_wine_bench(benchmark::State& state, const char* counter,
                          const std::vector<std::string>& args) {
  const Result<WineSetup> setup = find_wine(default_wine_prefix());
  if (!setup) return state.SkipWithError(setup.error().c_str());
  if (Status booted = ensure_wine_prefix(*setup); !booted)
    return state.SkipWithError(booted.message().c_str());
  const std::string exe = std::string(IOSIM_WINDOWS_DIR) + "/iocp_bench.exe";
  std::int64_t total_operations = 0;
  double total_ns = 0;
  for (auto _ : state) {
    const Result<WineRunResult> run = run_under_wine(*setup, exe, args);
    if (!run) return state.SkipWithError(run.error().c_str());
    if (run->exit_code != 0) return state.SkipWithError(("iocp_bench.exe failed: " + run->err).c_str());
    const nlohmann::json timing = nlohmann::json::parse(run->out, nullptr, false);
    if (!timing.is_object() || !timing.contains("elapsed_ns") || !timing.contains("operations"))
      return state.SkipWithError(("iocp_bench.exe printed no timing: " + run->out).c_str());
    const double elapsed_ns = timing["elapsed_ns"].get<double>();
    state.SetIterationTime(elapsed_ns / 1e9);
    total_operations += timing["operations"].get<std::int64_t>();
    total_ns += elapsed_ns;
  }
  state.SetItemsProcessed(total_operations);
  state.counters[counter] = total_operations ? total_ns / static_cast<double>(total_operations) : 0;
}

void iocp_echo_on_wine(benchmark::State& state) {
  run_under_wine_bench(state, "ns_per_round_trip", {"echo", std::to_string(wine_operations)});
}

void gqcs_wake_on_wine(benchmark::State& state) {
  run_under_wine_bench(state, "ns_per_hand_off",
                       {"wake", std::to_string(state.range(0)), std::to_string(wine_operations)});
}

const bool registered = [] {
  benchmark::RegisterBenchmark("iocp/echo/sim", iocp_echo_on_sim)
      ->Unit(benchmark::kMicrosecond)
      ->UseManualTime();
  benchmark::RegisterBenchmark("iocp/gqcs_wake/sim", gqcs_wake_on_sim)
      ->Unit(benchmark::kMicrosecond)
      ->UseManualTime()
      ->Arg(1)
      ->Arg(8)
      ->Arg(64)
      ->Arg(512);
  benchmark::RegisterBenchmark("iocp/echo/wine", iocp_echo_on_wine)
      ->Unit(benchmark::kMicrosecond)
      ->UseManualTime()
      ->Iterations(1);
  benchmark::RegisterBenchmark("iocp/gqcs_wake/wine", gqcs_wake_on_wine)
      ->Unit(benchmark::kMicrosecond)
      ->UseManualTime()
      ->Iterations(1)
      ->Arg(1)
      ->Arg(8)
      ->Arg(64)
      ->Arg(512);
  return true;
}();

}  // namespace
}  // namespace iosim::bench
