// tools/commands.cpp — run, diff and list: load the scenario (bad input → exit 2), drive it through
// tools/driver, print a short report whose last line is the summary (trace-hash for a simulated run).
#include "tools/commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "backends/sim/trace_format.hpp"
#include "scenarios/registry.hpp"
#include "sim/choices_file.hpp"
#include "tools/driver.hpp"
#include "tools/windows_backend.hpp"

namespace iosim::cli {
namespace {

void print_run(const ScenarioSpec& spec, const RunReport& report) {
  fmt::print("backend   {}", report.backend);
  if (report.sim) {
    fmt::print(" (seed {}, strategy {}, loopback latency {}us)", report.seed, report.strategy,
               spec.network.latency_us);
  }
  fmt::print("\nclients   {}\n", report.observation.summary());
  if (report.sim) {
    const SimOutcome& sim = *report.sim;
    fmt::print("run       {}: {} scheduling steps, {} choices, {} events, {:.3f} ms virtual\n",
               sim::outcome_name(sim.run.outcome), sim.run.steps, sim.choices.size(), sim.event_count,
               static_cast<double>(sim.run.end_time_ns) / 1e6);
  }
  for (const CheckResult& check : report.checks) {
    fmt::print("check     {:<20} {}  {}\n", check.check, check.passed ? "pass" : "FAIL", check.detail);
  }
}

// Wine and the Windows runner for --backend windows (checked before any output, so a missing one is only the
// exit-2 message); every other backend is always there.
Status native_backend_ready(const std::string& backend) {
  if (backend != "windows") return Status::ok();
  return prepare_windows_backend().status();
}

std::filesystem::path scenario_directory() {
  if (const char* dir = std::getenv("IOSIM_SCENARIO_DIR")) return dir;
  if (std::filesystem::is_directory("scenarios")) return "scenarios";
  return std::filesystem::path(IOSIM_SOURCE_DIR) / "scenarios";
}

}  // namespace

int bad_input(const std::string& message) {
  fmt::print(stderr, "{}: {}\n", program_name(), message);
  return exit_bad_input;
}

int run_command(const RunOptions& options) {
  Result<ScenarioSpec> loaded = load_scenario_file(options.scenario);
  if (!loaded) return bad_input(loaded.status().message());
  const ScenarioSpec& spec = loaded.value();
  const bool wants_trace = !options.trace_out.empty() || options.explain;
  if (wants_trace && options.backend != "sim")
    return bad_input("--trace-out and --explain need --backend sim");
  if (Status ready = native_backend_ready(options.backend); !ready) return bad_input(ready.message());
  std::ofstream trace_file;
  if (!options.trace_out.empty()) {
    trace_file.open(options.trace_out);
    if (!trace_file)
      return bad_input(fmt::format("--trace-out {}: cannot open for writing", options.trace_out));
  }
  RunRequest request{options.backend, options.seed, options.strategy, wants_trace};
  request.strategy_options = options.strategy_options;
  if (Status faults = apply_faults(request, options.faults); !faults) return bad_input(faults.message());
  if (!options.choices.empty()) {
    if (options.backend != "sim") return bad_input("--choices needs --backend sim");
    Result<ChoicesFile> choices = read_choices_file(options.choices);
    if (!choices) return bad_input(choices.status().message());
    request.seed = choices.value().seed;
    request.replay_choices = choices.value().choices;
    request.choices_path = options.choices;
  }
  fmt::print("scenario  {}: {}\n", spec.name, spec.description);
  const RunReport report = run_scenario(spec, request, [&](SimOs& os) {
    const sim::TraceView view = trace_view(os);
    if (trace_file.is_open()) write_trace_jsonl(trace_file, view);
    if (options.explain)
      fmt::print("{}", timeline_text(view, static_cast<std::size_t>(options.explain_lines)));
  });
  if (!report.host_error.empty()) return bad_input(report.host_error);
  print_run(spec, report);
  if (trace_file.is_open()) {
    trace_file.close();
    if (!trace_file) return bad_input(fmt::format("--trace-out {}: write failed", options.trace_out));
    fmt::print("trace     written to {}\n", options.trace_out);
  }
  fmt::print("result    {}\n", report.passed ? "pass" : "FAIL");
  if (!report.passed) fmt::print("reproduce: {}\n", reproduce_command(spec, report));
  if (report.sim) fmt::print("trace-hash: {:016x}\n", report.sim->trace_hash);
  return report.passed ? exit_holds : exit_check_failed;
}

int diff_command(const DiffOptions& options) {
  Result<ScenarioSpec> loaded = load_scenario_file(options.scenario);
  if (!loaded) return bad_input(loaded.status().message());
  const ScenarioSpec& spec = loaded.value();
  const std::string backend = options.backend.value_or(spec.native_backend);
  if (Status ready = native_backend_ready(backend); !ready) return bad_input(ready.message());
  fmt::print("scenario  {}: {}\n", spec.name, spec.description);
  const RunReport native = run_scenario(spec, RunRequest{backend, std::nullopt, std::nullopt, false});
  if (!native.host_error.empty()) return bad_input(native.host_error);
  const RunReport simulated = run_scenario(spec, RunRequest{"sim", options.seed, std::nullopt, false});
  print_run(spec, simulated);
  print_run(spec, native);
  const std::vector<std::string> differences =
      compare_observations(simulated.observation, native.observation, backend);
  for (const std::string& difference : differences) fmt::print("differs   {}\n", difference);
  if (!simulated.passed) fmt::print("reproduce: {}\n", reproduce_command(spec, simulated));
  if (!native.passed) fmt::print("reproduce: {}\n", reproduce_command(spec, native));
  const bool holds = differences.empty() && simulated.passed && native.passed;
  fmt::print("diff: {} ({} clients compared; sim {}, {} {})\n", differences.empty() ? "equal" : "DIFFERENT",
             simulated.observation.clients.size(), simulated.passed ? "pass" : "FAIL", backend,
             native.passed ? "pass" : "FAIL");
  return holds ? exit_holds : exit_check_failed;
}

int list_command() {
  const bool registered =
      std::any_of(apps().begin(), apps().end(), [](const AppInfo& app) { return !app.bundled; });
  fmt::print("applications (the \"app\" of a scenario file{}):\n",
             registered ? fmt::format("; [registered] ones come from IOSIM_APP in {}", program_name()) : "");
  for (const AppInfo& app : apps()) {
    fmt::print("  {:<28} {}{}{}\n", app.name, app.bundled ? "" : "[registered] ", app.world ? "[world] " : "",
               app.description);
    for (const AppParam& param : app.params) {
      fmt::print("  {:<28}   param {} (default {}, {}..{}): {}\n", "", param.name, param.default_value,
                 param.min_value, param.max_value, param.description);
    }
  }
  const std::filesystem::path directory = scenario_directory();
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory, error)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  fmt::print("scenarios in {}:\n", directory.string());
  for (const auto& path : files) {
    Result<ScenarioSpec> loaded = load_scenario_file(path.string());
    fmt::print("  {:<44} {}\n", path.string(),
               loaded ? loaded.value().description : "(invalid: " + loaded.status().message() + ")");
  }
  fmt::print("{} applications, {} scenarios\n", apps().size(), files.size());
  return exit_holds;
}

}  // namespace iosim::cli
