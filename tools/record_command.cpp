// tools/record_command.cpp — `iosim record` (run a scenario with its server recorded into a .iotrace file)
// and `iosim replay` (re-run the recorded server on the simulator against the recorded world, and compare).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "scenarios/registry.hpp"
#include "tools/commands.hpp"
#include "tools/record_replay.hpp"

namespace iosim::cli {
namespace {

struct TraceTotals {
  std::uint64_t bytes_received = 0, bytes_sent = 0;
};

TraceTotals totals(const IoTrace& trace) {
  TraceTotals sum;
  for (const IoEvent& event : trace.events) {
    if (event.conn == 0 || event.result <= 0) continue;
    const DataDirection direction = data_direction(event.kind);
    if (direction == DataDirection::in) sum.bytes_received += static_cast<std::uint64_t>(event.result);
    if (direction == DataDirection::out) sum.bytes_sent += static_cast<std::uint64_t>(event.result);
  }
  return sum;
}

// A recording is of a server app's I/O with its clients; a world app has no clients to record.
Status check_server_app(std::string_view app, std::string_view where) {
  const AppInfo* info = find_app(app);
  if (info == nullptr || info->main != nullptr) return Status::ok();
  return Status::error(
      fmt::format("{}: app \"{}\" is a world app; record and replay take a server app", where, app));
}

// The header fields replay needs beyond what the parser checks: a known server app and a known strategy.
Status check_replayable(const IoTrace& trace, const std::string& path) {
  if (find_app(trace.header.app) == nullptr) {
    return Status::error(
        fmt::format("{}:1: unknown app \"{}\" (see {} list)", path, trace.header.app, program_name()));
  }
  if (Status server = check_server_app(trace.header.app, path + ":1"); !server) return server;
  const std::vector<std::string_view> strategies = sim_strategies();
  if (std::find(strategies.begin(), strategies.end(), trace.header.strategy) == strategies.end()) {
    return Status::error(fmt::format("{}:1: unknown strategy \"{}\"", path, trace.header.strategy));
  }
  if (trace.header.step_max == 0) return Status::error(fmt::format("{}:1: step_max must be positive", path));
  return Status::ok();
}

}  // namespace

int record_command(const RecordOptions& options) {
  Result<ScenarioSpec> loaded = load_scenario_file(options.scenario);
  if (!loaded) return bad_input(loaded.status().message());
  const ScenarioSpec& spec = loaded.value();
  if (Status server = check_server_app(spec.app, options.scenario); !server)
    return bad_input(server.message());
  {
    std::ofstream probe(options.output, std::ios::binary);  // fail before the run, not after it
    if (!probe) return bad_input(fmt::format("-o {}: cannot open for writing", options.output));
  }
  fmt::print("scenario  {}: {}\n", spec.name, spec.description);
  const RecordOutcome outcome = record_scenario(spec, options.backend, options.seed);
  const RunReport& report = outcome.report;
  fmt::print("backend   {} (server recorded through RecordingOs)\n", report.backend);
  fmt::print("clients   {}\n", report.observation.summary());
  for (const CheckResult& check : report.checks) {
    fmt::print("check     {:<20} {}  {}\n", check.check, check.passed ? "pass" : "FAIL", check.detail);
  }
  if (Status written = write_iotrace(options.output, outcome.trace); !written)
    return bad_input(written.message());
  const TraceTotals sum = totals(outcome.trace);
  fmt::print("recorded  {} events, {} connections, {} bytes received, {} bytes sent -> {}\n",
             outcome.trace.events.size(), outcome.trace.end.connections, sum.bytes_received, sum.bytes_sent,
             options.output);
  fmt::print("result    {}\n", report.passed ? "pass" : "FAIL");
  if (!report.passed) {
    std::string reproduce = fmt::format("{} record {} --backend {} -o {}", program_name(), options.scenario,
                                        options.backend, options.output);
    if (options.seed) reproduce += fmt::format(" --seed {}", *options.seed);
    fmt::print("reproduce: {}\n", reproduce);
  }
  if (report.sim) fmt::print("trace-hash: {:016x}\n", report.sim->trace_hash);
  return report.passed ? exit_holds : exit_check_failed;
}

int replay_command(const ReplayCommandOptions& options) {
  Result<IoTrace> loaded = read_iotrace(options.path);
  if (!loaded) return bad_input(loaded.status().message());
  const IoTrace& trace = loaded.value();
  if (Status replayable = check_replayable(trace, options.path); !replayable)
    return bad_input(replayable.message());
  fmt::print("recording {}: app {} on {}, {} events, {} connections\n", options.path, trace.header.app,
             trace.header.backend, trace.events.size(), trace.end.connections);
  const ReplayReport report = replay_iotrace(trace, ReplayOptions{options.seed, false});
  fmt::print("replay    sim (seed {}, strategy {}): {}, {} scheduling steps, {:.3f} ms virtual\n",
             report.seed, trace.header.strategy, sim::outcome_name(report.sim.run.outcome),
             report.sim.run.steps, static_cast<double>(report.sim.run.end_time_ns) / 1e6);
  if (!options.record_out.empty()) {
    if (Status written = write_iotrace(options.record_out, report.replayed); !written)
      return bad_input(written.message());
    fmt::print("recorded  the replayed server's view -> {}\n", options.record_out);
  }
  for (const std::string& difference : report.differences) fmt::print("differs   {}\n", difference);
  if (report.same()) {
    fmt::print("replay matches the recording: {} connections, {} bytes sent, same bytes\n",
               report.connections, report.bytes_sent);
  } else {
    fmt::print("replay DIFFERS from the recording: {} difference{}\n", report.differences.size(),
               report.differences.size() == 1 ? "" : "s");
    std::string reproduce = program_name() + " replay " + options.path;
    if (options.seed) reproduce += fmt::format(" --seed {}", *options.seed);
    fmt::print("reproduce: {}\n", reproduce);
  }
  fmt::print("trace-hash: {:016x}\n", report.sim.trace_hash);
  return report.same() ? exit_holds : exit_check_failed;
}

}  // namespace iosim::cli
