// tools/shrink.cpp — `iosim shrink`: cut a failing run's choice log down to a small one that still fails the
// same checks (truncate to the shortest failing prefix, then delta-debug non-default choices to 0).
#include <fmt/format.h>

#include <cstdio>

#include "sim/choice_shrink.hpp"
#include "sim/choices_file.hpp"
#include "tools/commands.hpp"
#include "tools/driver.hpp"

namespace iosim::cli {
namespace {

// Replays `choices` of the failing run (past their end every choice is 0): do the same checks fail?
bool same_checks_fail(const ScenarioSpec& spec, const ShrinkOptions& options,
                      const std::vector<std::string>& failure, const std::vector<std::uint32_t>& choices) {
  RunRequest request{"sim", options.seed, std::nullopt, false};
  (void)apply_faults(request, options.faults);  // validated by shrink_command
  request.replay_choices = choices;
  return run_scenario(spec, request).failed_checks() == failure;
}

}  // namespace

int shrink_command(const ShrinkOptions& options) {
  Result<ScenarioSpec> loaded = load_scenario_file(options.scenario);
  if (!loaded) {
    std::fprintf(stderr, "iosim: %s\n", loaded.status().message().c_str());
    return exit_bad_input;
  }
  const ScenarioSpec& spec = loaded.value();
  RunRequest request{"sim", options.seed, options.strategy, false};
  request.strategy_options = options.strategy_options;
  if (Status faults = apply_faults(request, options.faults); !faults) {
    std::fprintf(stderr, "iosim: %s\n", faults.message().c_str());
    return exit_bad_input;
  }
  const RunReport original = run_scenario(spec, request);
  if (original.passed) {
    std::fprintf(
        stderr,
        "iosim: shrink: %s passes with seed %llu; shrink needs a failing run (find one with explore)\n",
        spec.name.c_str(), static_cast<unsigned long long>(original.seed));
    return exit_bad_input;
  }
  const std::vector<std::string> failure = original.failed_checks();
  const sim::StillFails still_fails = [&](const std::vector<std::uint32_t>& choices) {
    return same_checks_fail(spec, options, failure, choices);
  };
  const std::vector<std::uint32_t>& recorded = original.sim->choices;
  fmt::print("shrinking {} seed {}: {} choices ({} non-default), failing {}\n", spec.name, original.seed,
             recorded.size(), sim::non_default_choices(recorded), fmt::join(failure, ", "));
  if (!still_fails(recorded)) {
    std::fprintf(stderr, "iosim: shrink: replaying the recorded choices does not reproduce the failure\n");
    return exit_bad_input;
  }
  // The check above is the first of the run_max replays.
  const sim::ShrinkResult result = sim::shrink_choices(recorded, still_fails, options.run_max - 1);
  const std::vector<std::uint32_t>& shrunk = result.choices;
  const ChoicesFile file{spec.path, original.seed, "replay", shrunk};
  if (Status written = write_choices_file(options.output, file); !written) {
    std::fprintf(stderr, "iosim: %s\n", written.message().c_str());
    return exit_bad_input;
  }
  fmt::print("shrunk to {} choices ({} non-default) in {} replays{}: {} written\n", shrunk.size(),
             sim::non_default_choices(shrunk), result.runs + 1,
             result.budget_reached ? " (replay budget reached)" : "", options.output);
  std::string fault_flags;
  for (const std::string& fault : options.faults) fault_flags += " --fault " + fault;
  fmt::print("reproduce: {} run {} --choices {}{}\n", program_name(), spec.path, options.output, fault_flags);
  fmt::print("shrink: {} -> {} choices, {} -> {} non-default\n", recorded.size(), shrunk.size(),
             sim::non_default_choices(recorded), sim::non_default_choices(shrunk));
  return exit_check_failed;
}

}  // namespace iosim::cli
