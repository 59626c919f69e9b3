// tools/shrink.cpp — `iosim shrink`: cut a failing run's choice log down to a small one that still fails the
// same checks (truncate to the shortest failing prefix, then delta-debug non-default choices to 0).
#include <cstdio>
#include <fmt/format.h>

#include "tools/choices_file.hpp"
#include "tools/commands.hpp"
#include "tools/driver.hpp"

namespace iosim::cli {
namespace {

struct Shrinker {
  const ScenarioSpec& spec;
  const ShrinkOptions& options;
  std::vector<std::string> failure;  // the failed checks to preserve
  int runs = 0;

  // Replays `choices` (past their end every choice is 0) and says whether the same checks fail.
  bool still_fails(const std::vector<std::uint32_t>& choices) {
    ++runs;
    RunRequest request{"sim", options.seed, std::nullopt, false};
    (void)apply_faults(request, options.faults);  // validated by shrink_command
    request.replay_choices = choices;
    return run_scenario(spec, request).failed_checks() == failure;
  }

  bool out_of_budget() const { return runs >= options.run_max; }

  // The shortest prefix that still fails (binary search; failure need not be monotone, so it is re-checked).
  std::vector<std::uint32_t> truncate(std::vector<std::uint32_t> choices) {
    std::size_t low = 0, high = choices.size();
    while (low < high && !out_of_budget()) {
      const std::size_t middle = low + (high - low) / 2;
      if (still_fails({choices.begin(), choices.begin() + static_cast<std::ptrdiff_t>(middle)})) {
        high = middle;
      } else {
        low = middle + 1;
      }
    }
    std::vector<std::uint32_t> prefix(choices.begin(), choices.begin() + static_cast<std::ptrdiff_t>(high));
    return still_fails(prefix) ? prefix : choices;
  }

  // ddmin over the non-default choices: zero ever smaller chunks while the failure persists.
  std::vector<std::uint32_t> zero_chunks(std::vector<std::uint32_t> choices) {
    for (std::size_t chunk = std::max<std::size_t>(choices.size() / 2, 1); chunk >= 1 && !out_of_budget(); chunk /= 2) {
      for (std::size_t start = 0; start < choices.size() && !out_of_budget(); start += chunk) {
        const std::size_t end = std::min(choices.size(), start + chunk);
        bool any = false;
        for (std::size_t i = start; i < end; ++i) any = any || choices[i] != 0;
        if (!any) continue;
        std::vector<std::uint32_t> candidate = choices;
        std::fill(candidate.begin() + static_cast<std::ptrdiff_t>(start), candidate.begin() + static_cast<std::ptrdiff_t>(end), 0);
        if (still_fails(candidate)) choices = std::move(candidate);
      }
      if (chunk == 1) break;
    }
    while (!choices.empty() && choices.back() == 0) choices.pop_back();  // trailing zeros are the default
    return choices;
  }
};

std::size_t non_default(const std::vector<std::uint32_t>& choices) {
  return static_cast<std::size_t>(std::count_if(choices.begin(), choices.end(), [](std::uint32_t c) { return c != 0; }));
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
    std::fprintf(stderr, "iosim: shrink: %s passes with seed %llu; shrink needs a failing run (find one with explore)\n",
                 spec.name.c_str(), static_cast<unsigned long long>(original.seed));
    return exit_bad_input;
  }
  Shrinker shrinker{spec, options, original.failed_checks()};
  const std::vector<std::uint32_t>& recorded = original.sim->choices;
  fmt::print("shrinking {} seed {}: {} choices ({} non-default), failing {}\n", spec.name, original.seed,
             recorded.size(), non_default(recorded), fmt::join(shrinker.failure, ", "));
  if (!shrinker.still_fails(recorded)) {
    std::fprintf(stderr, "iosim: shrink: replaying the recorded choices does not reproduce the failure\n");
    return exit_bad_input;
  }
  std::vector<std::uint32_t> shrunk = shrinker.zero_chunks(shrinker.truncate(recorded));
  const ChoicesFile file{spec.path, original.seed, "replay", shrunk};
  if (Status written = write_choices_file(options.output, file); !written) {
    std::fprintf(stderr, "iosim: %s\n", written.message().c_str());
    return exit_bad_input;
  }
  fmt::print("shrunk to {} choices ({} non-default) in {} replays{}: {} written\n", shrunk.size(), non_default(shrunk),
             shrinker.runs, shrinker.out_of_budget() ? " (replay budget reached)" : "", options.output);
  std::string fault_flags;
  for (const std::string& fault : options.faults) fault_flags += " --fault " + fault;
  fmt::print("reproduce: {} run {} --choices {}{}\n", program_name(), spec.path, options.output, fault_flags);
  fmt::print("shrink: {} -> {} choices, {} -> {} non-default\n", recorded.size(), shrunk.size(), non_default(recorded),
             non_default(shrunk));
  return exit_check_failed;
}

}  // namespace iosim::cli
