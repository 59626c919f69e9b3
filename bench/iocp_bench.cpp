// bench/iocp_bench.cpp — IOCP on the simulator: echo round trips through a completion port (overlapped
// WSARecv/WSASend, one GetQueuedCompletionStatus per completion) and the cost of a GetQueuedCompletionStatus
// hand-off with n threads waiting on the port. The same workloads (bench/iocp_workloads.*) run on WindowsOs
// under Wine in bench/windows/, whose numbers the iosim_bench summary puts beside these.
#include <benchmark/benchmark.h>

#include <chrono>

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
  run_on_sim(state, "ns_per_round_trip", [](Os& os) {
    return iocp_echo_round_trips(os, round_trips_per_iteration, real_clock_ns);
  });
}

void gqcs_wake_on_sim(benchmark::State& state) {
  const int waiters = static_cast<int>(state.range(0));
  run_on_sim(state, "ns_per_hand_off", [waiters](Os& os) {
    return gqcs_wake_hand_offs(os, waiters, hand_offs_per_iteration, real_clock_ns);
  });
}

const bool registered = [] {
  benchmark::RegisterBenchmark("iocp/echo/sim", iocp_echo_on_sim)->Unit(benchmark::kMicrosecond)->UseManualTime();
  benchmark::RegisterBenchmark("iocp/gqcs_wake/sim", gqcs_wake_on_sim)
      ->Unit(benchmark::kMicrosecond)
      ->UseManualTime()
      ->Arg(1)
      ->Arg(8)
      ->Arg(64)
      ->Arg(512);
  return true;
}();

}  // namespace
}  // namespace iosim::bench
