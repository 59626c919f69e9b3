// tools/trace_command.cpp — `iosim trace SCENARIO --perfetto F.json`: run a scenario on the simulator with
// the trace captured and export it as trace-event JSON; the checks still decide the exit code, as for `iosim
// run`.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>

#include "sim/choices_file.hpp"
#include "tools/commands.hpp"
#include "tools/driver.hpp"
#include "tools/perfetto.hpp"

namespace iosim::cli {
namespace {

int bad_input(const std::string& message) {
  std::fprintf(stderr, "iosim: %s\n", message.c_str());
  return exit_bad_input;
}

}  // namespace

int trace_command(const TraceOptions& options) {
  Result<ScenarioSpec> loaded = load_scenario_file(options.scenario);
  if (!loaded) return bad_input(loaded.status().message());
  const ScenarioSpec& spec = loaded.value();
  RunRequest request{"sim", options.seed, options.strategy, true};
  request.strategy_options = options.strategy_options;
  if (Status faults = apply_faults(request, options.faults); !faults) return bad_input(faults.message());
  if (!options.choices.empty()) {
    Result<ChoicesFile> choices = read_choices_file(options.choices);
    if (!choices) return bad_input(choices.status().message());
    request.seed = choices.value().seed;
    request.replay_choices = choices.value().choices;
    request.choices_path = options.choices;
  }
  std::ofstream file(options.perfetto, std::ios::binary);
  if (!file) return bad_input(fmt::format("--perfetto {}: cannot open for writing", options.perfetto));
  fmt::print("scenario  {}: {}\n", spec.name, spec.description);
  PerfettoSummary summary;
  const RunReport report =
      run_scenario(spec, request, [&](SimOs& os) { summary = write_perfetto_json(file, os); });
  file.close();
  if (!file) return bad_input(fmt::format("--perfetto {}: write failed", options.perfetto));
  const SimOutcome& sim = *report.sim;
  fmt::print("run       {}: seed {}, strategy {}, {} events, {:.3f} ms virtual\n",
             sim::outcome_name(sim.run.outcome), report.seed, report.strategy, sim.event_count,
             static_cast<double>(sim.run.end_time_ns) / 1e6);
  for (const CheckResult& check : report.checks) {
    fmt::print("check     {:<20} {}  {}\n", check.check, check.passed ? "pass" : "FAIL", check.detail);
  }
  fmt::print("open      {} in https://ui.perfetto.dev (Open trace file) or chrome://tracing (Load)\n",
             options.perfetto);
  fmt::print("result    {}\n", report.passed ? "pass" : "FAIL");
  if (!report.passed) fmt::print("reproduce: {}\n", reproduce_command(spec, report));
  fmt::print("perfetto: {} events, {} tracks, {} flows written to {} (trace-hash {:016x})\n",
             summary.event_count, summary.track_count, summary.flow_count, options.perfetto, sim.trace_hash);
  return report.passed ? exit_holds : exit_check_failed;
}

}  // namespace iosim::cli
