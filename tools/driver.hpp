// tools/driver.hpp — runs a scenario on a backend and judges it: the one place the CLI and the tests turn a
// ScenarioSpec into a verdict (observation, checks, and on the simulator the run's outcome and trace-hash).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backends/fault/fault_plan.hpp"
#include "backends/sim/sim_os.hpp"
#include "scenarios/checks.hpp"
#include "scenarios/scenario.hpp"
#include "scenarios/workload.hpp"

namespace iosim {

// apply_fault (one "name=value" onto a FaultPlan) lives in backends/fault/fault_plan.hpp.
// Checks every "name=value" and keeps them in request.fault_arguments: they override the scenario's faults
// and are repeated in reproduce lines.
Status apply_faults(struct RunRequest& request, const std::vector<std::string>& assignments);

struct RunRequest {
  std::string backend = "sim";            // sim | linux | windows
  std::optional<std::uint64_t> seed;      // default: the scenario's sim.seed
  std::optional<std::string> strategy;    // default: the scenario's sim.strategy
  bool capture_trace = false;             // keep every event, for --trace-out and --explain
  sim::StrategyOptions strategy_options;  // --pct-depth, --pct-steps
  std::optional<std::vector<std::uint32_t>> replay_choices;  // follow this choice log instead of a strategy
  std::string choices_path;                  // where replay_choices came from (for the reproduce line)
  std::vector<std::string> fault_arguments;  // --fault NAME=VALUE, applied over the scenario's "faults"
};

// The faults a run injects: the scenario file's "faults", then each --fault over them.
FaultPlan effective_faults(const ScenarioSpec& spec, const RunRequest& request);

struct RunReport {
  std::string backend;
  std::uint64_t seed = 0;
  std::string strategy;
  Observation observation;
  std::vector<CheckResult> checks;
  bool passed = false;
  std::optional<SimOutcome> sim;  // set on the simulator
  sim::StrategyOptions strategy_options;
  std::string choices_path;
  std::vector<std::string> fault_arguments;

  // Set when the run could not happen at all (windows: wine or the runner missing or failing): a host-level
  // failure (exit code 2), not a verdict; observation and checks are then empty.
  std::string host_error;

  // The names of the checks that failed, in order: what "the same failure" means to shrink.
  std::vector<std::string> failed_checks() const;
};

// The SimConfig a scenario asks for (seed, strategy, latency, step limit).
SimConfig sim_config_for(const ScenarioSpec& spec, const RunRequest& request);

// Runs the scenario. `inspect` (simulator only) sees the SimOs after the run, before it is destroyed, to read
// the captured trace. Never throws for a scenario that loaded: failures are in the report.
RunReport run_scenario(const ScenarioSpec& spec, const RunRequest& request,
                       const std::function<void(SimOs&)>& inspect = {});

// Evaluates the scenario's checks on report.observation (and report.sim) and sets report.passed: what
// run_scenario does after a run, for callers that drive the run themselves (iosim record).
void judge_run(const ScenarioSpec& spec, RunReport& report);

// The name reproduce lines start with: "iosim", or the user's binary (iosim::cli::main sets it from argv[0]).
const std::string& program_name();
void set_program_name(std::string name);

// "iosim run scenarios/x.json --seed 7 --strategy random": the command that replays this run.
std::string reproduce_command(const ScenarioSpec& spec, const RunReport& report);

// What the two backends' observations disagree on, one line each, naming the native backend ("client-1
// bytes_received: sim 10, windows 8"); empty when they agree.
std::vector<std::string> compare_observations(const Observation& sim, const Observation& native,
                                              std::string_view native_backend = "linux");

inline constexpr std::string_view backend_names[] = {"sim", "linux", "windows"};

}  // namespace iosim
