// tools/trace_command.cpp — `iosim trace SCENARIO|F.jsonl --perfetto F.json` and `iosim explain F.jsonl`: a
// scenario runs on the simulator with the trace captured (its checks decide the exit code, as for `iosim
// run`); a trace file (`run --trace-out`, a failing IOSIM_TEST) is read back and rendered the same way.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>

#include "sim/choices_file.hpp"
#include "tools/analysis/trace_file.hpp"
#include "tools/commands.hpp"
#include "tools/driver.hpp"
#include "tools/perfetto.hpp"
#include "backends/sim/trace_format.hpp"

namespace iosim::cli {
namespace {

bool has_run_options(const TraceOptions& options) {
  return options.seed || options.strategy || !options.choices.empty() || !options.faults.empty();
}

// A saved run: nothing to judge, so the exit code is 0 once the file is written.
int trace_file_command(const TraceOptions& options) {
  if (has_run_options(options)) return bad_input(analysis::run_options_need_a_scenario(options.scenario));
  Result<sim::TraceView> view = analysis::read_trace_jsonl(options.scenario);
  if (!view) return bad_input(view.status().message());
  std::ofstream file(options.perfetto, std::ios::binary);
  if (!file) return bad_input(fmt::format("--perfetto {}: cannot open for writing", options.perfetto));
  const Result<PerfettoSummary> written = write_perfetto_json(file, view.value());
  if (!written) return bad_input(fmt::format("{}:{}", options.scenario, written.status().message()));
  const PerfettoSummary& summary = written.value();
  file.close();
  if (!file) return bad_input(fmt::format("--perfetto {}: write failed", options.perfetto));
  fmt::print("trace     {}: seed {}, strategy {}, {} events\n", options.scenario, view.value().seed,
             view.value().strategy, view.value().events.size());
  fmt::print("open      {} in https://ui.perfetto.dev (Open trace file) or chrome://tracing (Load)\n",
             options.perfetto);
  fmt::print("perfetto: {} events, {} tracks, {} flows written to {} (trace-hash {:016x})\n",
             summary.event_count, summary.track_count, summary.flow_count, options.perfetto,
             view.value().trace_hash);
  return exit_holds;
}

}  // namespace

int explain_command(const ExplainOptions& options) {
  if (!analysis::is_trace_file(options.path)) {
    return bad_input(
        fmt::format("{}: not a trace file (*.jsonl, from run --trace-out); for a scenario, use run "
                    "--explain",
                    options.path));
  }
  Result<sim::TraceView> view = analysis::read_trace_jsonl(options.path);
  if (!view) return bad_input(view.status().message());
  const sim::TraceView& trace = view.value();
  fmt::print("trace     {}: seed {}, strategy {}, {} events\n", options.path, trace.seed, trace.strategy,
             trace.events.size());
  fmt::print("{}", timeline_text(trace, static_cast<std::size_t>(options.lines)));
  fmt::print("explain: {} events of {} (trace-hash {:016x})\n", trace.events.size(), options.path,
             trace.trace_hash);
  return exit_holds;
}

int trace_command(const TraceOptions& options) {
  if (analysis::is_trace_file(options.scenario)) return trace_file_command(options);
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
