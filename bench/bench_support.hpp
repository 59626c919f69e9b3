// bench/bench_support.hpp — helpers shared by the benchmark programs: fail-fast checks, the simulator's
// configuration for timing runs, RLIMIT_NOFILE, the eventfd sets and the two backend harnesses of the
// readiness benchmarks (select, poll, epoll), and the names the summary in main.cpp matches on.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "backends/sim/sim_os.hpp"
#include "iosim/os.hpp"
#include "iosim/status.hpp"

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

// Raises RLIMIT_NOFILE so that `fd_count` descriptors fit: the soft limit up to the hard one, and the hard
// one too when the process may (CAP_SYS_RESOURCE, up to /proc/sys/fs/nr_open). The error says what was
// needed, what the limits are and why they could not be raised.
Status raise_nofile_limit(std::uint64_t fd_count);

// --- the readiness benchmarks: n registered fds, ready_fd_count of them readable ---

// Readiness benchmarks watch this many ready fds, whatever the number registered.
inline constexpr int ready_fd_count = 10;
// Descriptors beyond the watched ones: stdin/out/err, an epoll fd, whatever the harness holds open.
inline constexpr int fd_margin = 64;

// n eventfds (one descriptor each, unlike a socketpair): ready_fd_count of them, spread evenly, start with a
// count of 1, so they are readable and stay readable (nobody reads them); the others start at 0 (idle).
// Requires n >= ready_fd_count.
std::vector<int> open_eventfds(Os& os, int n);
void close_fds(Os& os, const std::vector<int>& fds);

// The application side of a readiness benchmark: set up n fds, run the state loop, tear down.
using ReadinessLoop = void (*)(benchmark::State& state, Os& os, int n);

// Runs `loop` with n = state.range(0), its setup, state loop and teardown inside one SimOs::run, on a
// simulated process whose RLIMIT_NOFILE (kernel.fd_count_max) fits n + fd_margin descriptors.
void readiness_on_sim(benchmark::State& state, ReadinessLoop loop);
// Runs `loop` on LinuxOs after raising RLIMIT_NOFILE to n + fd_margin, or skips with the reason.
void readiness_on_linux(benchmark::State& state, ReadinessLoop loop);

}  // namespace iosim::bench
