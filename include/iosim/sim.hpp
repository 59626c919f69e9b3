// include/iosim/sim.hpp — run application code in one simulated world: a seed and a strategy in, the outcome
// (completed, deadlock, limit, failed task), the trace-hash and the step count out. IOSIM_TEST builds on it.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iosim/os.hpp"
#include "iosim/status.hpp"

namespace iosim {

// The bounds of WorldConfig's knobs; the CLI's --pct-depth, --pct-steps and a scenario's latency_us check
// the same ones.
inline constexpr int pct_depth_max = 64;
inline constexpr std::uint64_t pct_steps_max = std::uint64_t{1} << 40;
inline constexpr std::int64_t latency_ns_max = 60'000'000'000;  // one minute

// How one world runs. The same config and the same code give the same run, bit for bit.
struct WorldConfig {
  std::uint64_t seed = 1;
  std::string strategy = "random";              // random | rr | pct (see is_strategy_name)
  int pct_depth = 3;                            // pct: the bug depth it aims at (1..pct_depth_max)
  std::uint64_t pct_steps = 10'000;             // pct: the expected number of choice points of a run
  std::int64_t latency_ns = 0;                  // one-way loopback delay of every TCP segment
  std::uint64_t step_max = 20'000'000;          // scheduling points before the run is called a livelock
  std::int64_t time_max_ns = 3600'000'000'000;  // virtual time before the run is stopped
  std::string
      reproduce;  // how to replay this run; an IOSIM_ASSERT that stops the process prints it with the seed
  // Faults to inject, as `iosim run --fault` names them: "short_write=0.3,eintr=0.01,jitter_us=200" (see
  // check_faults). Syscall faults wrap the world's Os in a fault-injecting Os (seeded from the seed, as the
  // CLI seeds it); network faults go to the simulated kernel.
  std::string faults;
  // Set: the world follows this schedule (the choice log of an earlier run; 0 past its end) instead of the
  // strategy. An empty log is the default schedule.
  std::optional<std::vector<std::uint32_t>> replay_choices;
  // Set: every trace event is written here as JSON lines, the format of `iosim run --trace-out`.
  std::ostream* trace_out = nullptr;
};

// A task that had not finished when the world stopped, and what it waited on.
struct WorldTask {
  std::string name;     // "main" or the name given to Os::thread_create
  std::string channel;  // e.g. "accept4 sk_sleep(...)", "join(client-1)"
};

struct WorldResult {
  enum class Outcome { completed, deadlock, step_limit, time_limit, task_failed };
  Outcome outcome = Outcome::completed;
  std::string failure;             // task_failed: which task threw what
  std::exception_ptr exception;    // what the first task threw (null if it returned or another task failed)
  std::vector<WorldTask> blocked;  // every unfinished task when the world stopped
  std::uint64_t seed = 0;
  std::string strategy;
  std::uint64_t steps = 0;       // scheduling points
  std::uint64_t choices = 0;     // points where the strategy picked among two or more tasks
  std::vector<std::uint32_t> choice_log;  // what it picked there, in order (WorldConfig::replay_choices)
  std::int64_t end_time_ns = 0;  // virtual time when the world stopped
  std::uint64_t trace_hash = 0;  // identifies the run: the same config and code give the same hash
  std::uint64_t event_count = 0;

  bool passed() const { return outcome == Outcome::completed; }
  // One line: "deadlock after 120 steps at 0.052 ms virtual; blocked: server in accept4 ..., main in
  // join(...)".
  std::string summary() const;
  std::string trace_hash_hex() const;  // 16 hex digits, as `iosim run` prints it
};

std::string_view outcome_name(WorldResult::Outcome outcome);
// True for the strategy names run_world accepts: "random", "rr", "pct".
bool is_strategy_name(std::string_view name);
// Whether `faults` is a valid WorldConfig::faults: ok, or what is wrong ("'eintr=2': eintr takes a
// probability in 0..1, got 2"; an unknown name lists the known ones). The same table as `iosim run --fault`.
Status check_faults(std::string_view faults);

// Runs `body` as the first task ("main") of a new simulated world (its Os is a SimOs), with everything it
// starts, until every task has returned or the world stops (deadlock, step or time limit, an exception in a
// task). Tasks left unfinished are unwound before run_world returns. An exception thrown by `body` stops the
// world; it is caught and handed back in WorldResult::exception (rethrow it to pass it on). Precondition:
// is_strategy_name(strategy) and check_faults(faults) is ok.
WorldResult run_world(const WorldConfig& config, const std::function<void(Os&)>& body);

// Called from a task of a running world: stops the world at once with outcome task_failed, as if the calling
// task had thrown `what`, but before any of its destructors run. The task then unwinds with the others, after
// every thread it started (IOSIM_TEST's fatal failures use this, so a server on the test body's stack is
// destroyed only after the threads that use it). Outside a world it does nothing.
void stop_world(std::string_view what);

}  // namespace iosim
