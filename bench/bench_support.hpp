// bench/bench_support.hpp — helpers shared by the benchmark programs: fail-fast checks, the simulator's
// configuration for timing runs, RLIMIT_NOFILE, and the names the summary in main.cpp matches on.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "backends/sim/sim_os.hpp"
#include "iosim/os.hpp"

namespace iosim::bench {

// A benchmark whose Os call fails measures nothing: stop at once with the call and its errno. (Inside a
// benchmark loop there is no clean way out, and inside a sim task an exception would end the run instead.)
inline void require(bool holds, const char* what, Os& os) {
  if (holds) return;
  std::fprintf(stderr, "iosim_bench: %s failed on %s (errno %d)\n", what,
               std::string(os.backend_name()).c_str(), os.last_errno());
  std::abort();
}

// The simulator as the project runs it (SimConfig{}: seed 1, latency_ns = 0), minus the limits that would
// stop a long timing run: Google Benchmark may run millions of iterations inside one SimOs::run.
inline SimConfig timing_sim_config(const char* strategy = "random") {
  SimConfig config;
  config.strategy = strategy;
  config.limits.step_max = std::numeric_limits<std::uint64_t>::max();
  config.limits.time_max_ns = std::numeric_limits<std::int64_t>::max() / 2;
  return config;
}

// A run that did not complete timed something else than asked; say so loudly.
inline void require_completed(const SimOutcome& outcome) {
  if (outcome.run.outcome == sim::RunResult::Outcome::completed) return;
  std::fprintf(stderr, "iosim_bench: simulation ended with %s: %s\n",
               std::string(sim::outcome_name(outcome.run.outcome)).c_str(), outcome.run.failure.c_str());
  std::abort();
}

// Raises the soft RLIMIT_NOFILE to at least `fd_count` (capped at the hard limit); false if that is not
// enough.
bool raise_nofile_limit(std::uint64_t fd_count);

}  // namespace iosim::bench
