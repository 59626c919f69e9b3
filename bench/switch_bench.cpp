// bench/switch_bench.cpp — what one scheduling step costs, against its bound: a raw Boost.Context fiber round
// trip (main -> fiber -> main), the bare sim::Scheduler (yield only), and SimOs (every Os call is a step).
#include <benchmark/benchmark.h>

#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

#include "backends/sim/sim_os.hpp"
#include "bench/bench_support.hpp"
#include "sim/prng.hpp"
#include "sim/scheduler.hpp"
#include "sim/strategy.hpp"
#include "sim/trace.hpp"

namespace iosim::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Publishes the step count of the timed loop and its cost per step.
void report_steps(benchmark::State& state, std::uint64_t steps, Clock::duration elapsed) {
  const double elapsed_ns =
      static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
  state.SetItemsProcessed(static_cast<std::int64_t>(steps));
  state.counters["ns_per_step"] = steps ? elapsed_ns / static_cast<double>(steps) : 0;
  state.counters["steps_per_iter"] =
      state.iterations() ? static_cast<double>(steps) / static_cast<double>(state.iterations()) : 0;
}

// The bound: one resume into a fiber and one back (two switches). A scheduler step used to be exactly this
// (task -> scheduler fiber -> next task); it now switches task to task directly, one switch per step, none
// when the strategy picks the yielding task again. Same stack allocator as sim::Scheduler, same pages.
void raw_fiber_round_trip(benchmark::State& state) {
  namespace ctx = boost::context;
  bool stop = false;
  ctx::fiber partner(std::allocator_arg, ctx::protected_fixedsize_stack(sim::SchedulerLimits{}.stack_bytes),
                     [&stop](ctx::fiber&& caller) {
                       while (!stop) caller = std::move(caller).resume();
                       return std::move(caller);
                     });
  partner = std::move(partner).resume();  // first entry: not a round trip of the steady state
  const Clock::time_point start = Clock::now();
  for (auto _ : state) partner = std::move(partner).resume();
  const Clock::duration elapsed = Clock::now() - start;
  stop = true;
  partner = std::move(partner).resume();  // lets the fiber return, so its stack is released cleanly
  report_steps(state, static_cast<std::uint64_t>(state.iterations()), elapsed);
}

// The scheduler alone: two tasks that do nothing but yield(). Each yield is one scheduling point: due
// timers, the strategy's pick and the choice log append on the yielding task's stack, then a switch
// straight to the picked task (or none, if it is the yielding one).
void bare_scheduler_switch(benchmark::State& state, const char* strategy_name) {
  sim::Trace trace;
  sim::Prng prng(1);
  const std::unique_ptr<sim::Strategy> strategy = sim::make_strategy(strategy_name, prng);
  sim::Scheduler scheduler(trace, *strategy, timing_sim_config().limits);
  bool done = false;
  std::uint64_t steps = 0;
  Clock::duration elapsed{};
  scheduler.spawn("timed", [&] {
    const std::uint64_t first_step = scheduler.steps();
    const Clock::time_point start = Clock::now();
    for (auto _ : state) scheduler.yield();
    elapsed = Clock::now() - start;
    steps = scheduler.steps() - first_step;
    done = true;
  });
  scheduler.spawn("partner", [&] {
    while (!done) scheduler.yield();
  });
  const sim::RunResult result = scheduler.run();
  if (result.outcome != sim::RunResult::Outcome::completed)
    state.SkipWithError("scheduler run did not complete");
  report_steps(state, steps, elapsed);
}

// SimOs: two application threads that each call the cheapest Os call (monotonic_ns) in a loop. Every Os call
// enters through SimOs::enter (trace the entry, yield to the scheduler, charge the virtual cost) and leaves
// through SimOs::leave (trace the exit), so this is the floor under every simulated syscall.
void sim_os_switch(benchmark::State& state, const char* strategy_name) {
  SimOs os(timing_sim_config(strategy_name));
  bool done = false;
  std::uint64_t steps = 0;
  Clock::duration elapsed{};
  const SimOutcome outcome = os.run([&] {
    const std::unique_ptr<Thread> timed = os.thread_create("timed", [&] {
      const std::uint64_t first_step = os.scheduler().steps();
      const Clock::time_point start = Clock::now();
      for (auto _ : state) benchmark::DoNotOptimize(os.monotonic_ns());
      elapsed = Clock::now() - start;
      steps = os.scheduler().steps() - first_step;
      done = true;
    });
    const std::unique_ptr<Thread> partner = os.thread_create("partner", [&] {
      while (!done) benchmark::DoNotOptimize(os.monotonic_ns());
    });
    timed->join();
    partner->join();
  });
  require_completed(outcome);
  report_steps(state, steps, elapsed);
}

const bool registered = [] {
  benchmark::RegisterBenchmark("switch/raw_fiber_round_trip", raw_fiber_round_trip)
      ->Unit(benchmark::kNanosecond);
  for (const char* strategy : {"rr", "random"}) {
    benchmark::RegisterBenchmark((std::string("switch/bare_scheduler/") + strategy).c_str(),
                                 bare_scheduler_switch, strategy)
        ->Unit(benchmark::kNanosecond);
  }
  for (const char* strategy : {"rr", "random"}) {
    benchmark::RegisterBenchmark((std::string("switch/sim_os/") + strategy).c_str(), sim_os_switch, strategy)
        ->Unit(benchmark::kNanosecond);
  }
  return true;
}();

}  // namespace
}  // namespace iosim::bench
