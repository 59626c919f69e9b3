// tools/cli.cpp — the iosim command line (CLI11), iosim::cli::main: parses, validates, and hands each
// subcommand to commands.cpp. Usage errors exit 2 with a message that names the argument; --help works on
// every subcommand. build/iosim and every binary linked with iosim::cli_main (tools/main.cpp) run it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string_view>

#include "iosim/app.hpp"
#include "backends/fault/fault_plan.hpp"
#include "iosim/sim.hpp"
#include "scenarios/registry.hpp"
#include "tools/commands.hpp"
#include "tools/driver.hpp"

namespace {

// --seed takes the full unsigned 64-bit range; CLI11 would wrap "-5" around, so digits only.
const CLI::Validator seed_digits(
    [](std::string& text) -> std::string {
      const bool digits =
          !text.empty() && text.size() <= 20 && text.find_first_not_of("0123456789") == std::string::npos;
      if (!digits || (text.size() == 20 && text > "18446744073709551615")) {
        return "must be an unsigned 64-bit integer, got '" + text + "'";
      }
      return {};
    },
    "UINT64", "seed");

constexpr std::string_view commands[] = {"run",    "explore", "shrink", "diff",    "record",
                                         "replay", "trace",   "graph",  "explain", "list"};

bool is_command(const std::string& word) {
  return std::find(std::begin(commands), std::end(commands), word) != std::end(commands);
}

// "A..B" with A <= B, both unsigned 64-bit.
bool parse_seed_range(const std::string& text, std::uint64_t& first, std::uint64_t& last) {
  const std::size_t dots = text.find("..");
  if (dots == std::string::npos) return false;
  std::string a = text.substr(0, dots), b = text.substr(dots + 2);
  if (!seed_digits(a).empty() || !seed_digits(b).empty()) return false;
  first = std::stoull(a);
  last = std::stoull(b);
  return first <= last;
}

// "K/N" with 1 <= K <= N.
bool parse_shard(const std::string& text, std::uint64_t& index, std::uint64_t& count) {
  const std::size_t slash = text.find('/');
  if (slash == std::string::npos) return false;
  std::string k = text.substr(0, slash), n = text.substr(slash + 1);
  if (!seed_digits(k).empty() || !seed_digits(n).empty()) return false;
  index = std::stoull(k);
  count = std::stoull(n);
  return index >= 1 && index <= count;
}

void add_fault_option(CLI::App* command, std::vector<std::string>& faults) {
  command
      ->add_option("--fault", faults,
                   fmt::format("Inject faults, repeatable (over the scenario's \"faults\"): NAME=P, P the "
                               "probability per call or segment, or jitter_us=N; NAME one of {}",
                               fmt::join(iosim::fault_names(), ", ")))
      ->expected(1)
      ->take_all();
}

void add_strategy_options(CLI::App* command, std::optional<std::string>& strategy,
                          iosim::sim::StrategyOptions& pct) {
  command->add_option("--strategy", strategy, "Scheduling strategy (default: the scenario's sim.strategy)")
      ->check(CLI::IsMember({"random", "rr", "pct"}));
  command->add_option("--pct-depth", pct.pct_depth, "pct: bug depth d (d-1 priority change points)")
      ->check(CLI::Range(1, iosim::pct_depth_max))
      ->capture_default_str();
  command->add_option("--pct-steps", pct.pct_steps, "pct: expected choice points per run (see `iosim run`)")
      ->check(CLI::Range(std::uint64_t{1}, iosim::pct_steps_max))
      ->capture_default_str();
}

constexpr const char* overview =
    "iosim: a deterministic simulator of the operating system's I/O interface.\n"
    "Runs server applications (bundled, or registered in this binary with IOSIM_APP) on a virtual Linux\n"
    "kernel driven by one seed (same seed, same run, same trace-hash), or on the real kernel, and checks "
    "what\n"
    "their clients observed; a world app is one function that checks itself (iosim::app_check).\n"
    "Exit codes: 0 the checks hold, 1 a check failed (a `reproduce:` line follows), 2 bad usage or input.";

void add_run(CLI::App& app, iosim::cli::RunOptions& options) {
  CLI::App* run =
      app.add_subcommand("run", "Run a scenario once and check it; the last line is its trace-hash");
  run->add_option("scenario", options.scenario, "Scenario file (JSON), e.g. scenarios/echo_select.json")
      ->required();
  run->add_option("--seed", options.seed, "Schedule seed (default: the scenario's sim.seed)")
      ->check(seed_digits);
  add_strategy_options(run, options.strategy, options.strategy_options);
  run->add_option("--choices", options.choices,
                  "Replay a .choices file (from `iosim shrink`) instead of a strategy");
  add_fault_option(run, options.faults);
  run->add_option("--backend", options.backend,
                  "Where to run: the simulator, the real Linux kernel, or real Win32 under Wine")
      ->check(CLI::IsMember({"sim", "linux", "windows"}))
      ->capture_default_str();
  run->add_option("--trace-out", options.trace_out,
                  "Write every trace event as JSON lines to this file (sim)");
  run->add_flag("--explain", options.explain, "Print a readable timeline of the run's first events (sim)");
  run->add_option("--explain-lines", options.explain_lines, "How many timeline lines --explain prints")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
}

void add_diff(CLI::App& app, iosim::cli::DiffOptions& options) {
  CLI::App* diff = app.add_subcommand(
      "diff", "Run a scenario on the simulator and on a real OS; compare what clients saw");
  diff->add_option("scenario", options.scenario, "Scenario file (JSON)")->required();
  diff->add_option("--seed", options.seed, "Schedule seed for the simulator run")->check(seed_digits);
  diff->add_option("--backend", options.backend,
                   "The real OS to compare with (default: the app's native backend, linux for most)")
      ->check(CLI::IsMember({"linux", "windows"}));
}

void add_explore(CLI::App& app, iosim::cli::ExploreOptions& options, std::string& seeds, std::string& shard) {
  CLI::App* explore =
      app.add_subcommand("explore", "Run many seeds; report every failure with its reproduce line");
  explore->add_option("scenario", options.scenario, "Scenario file (JSON)")->required();
  explore->add_option("--seeds", seeds, "Seed range A..B (inclusive)")->required();
  add_strategy_options(explore, options.strategy, options.strategy_options);
  explore->add_option("--jobs", options.jobs, "Worker processes")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  explore->add_option("--shard", shard, "K/N: run only the K-th of N interleaved slices of the range");
  explore->add_option("--results", options.results_path, "Write one JSON line per seed to this file");
  explore->add_flag("--keep-going", options.keep_going,
                    "Record every failure instead of stopping at the first");
  add_fault_option(explore, options.faults);
}

void add_shrink(CLI::App& app, iosim::cli::ShrinkOptions& options) {
  CLI::App* shrink =
      app.add_subcommand("shrink", "Cut a failing seed's choice log to a small one that fails the same way");
  shrink->add_option("scenario", options.scenario, "Scenario file (JSON)")->required();
  shrink->add_option("--seed", options.seed, "The failing seed")->required()->check(seed_digits);
  add_strategy_options(shrink, options.strategy, options.strategy_options);
  shrink->add_option("-o,--output", options.output, "Where to write the shrunk .choices file")->required();
  add_fault_option(shrink, options.faults);
  shrink->add_option("--max-runs", options.run_max, "Replays before shrink stops with what it has")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
}

void add_trace(CLI::App& app, iosim::cli::TraceOptions& options) {
  CLI::App* trace = app.add_subcommand(
      "trace", "Export a run's trace for Perfetto: a scenario run on the simulator, or a saved trace file");
  trace
      ->add_option("scenario", options.scenario,
                   "Scenario file (JSON), or a trace saved by run --trace-out (.jsonl)")
      ->required();
  trace->add_option("--seed", options.seed, "Schedule seed (default: the scenario's sim.seed)")
      ->check(seed_digits);
  add_strategy_options(trace, options.strategy, options.strategy_options);
  trace->add_option("--choices", options.choices,
                    "Replay a .choices file (from `iosim shrink`) instead of a strategy");
  add_fault_option(trace, options.faults);
  trace->add_option("--perfetto", options.perfetto, "Write Chrome/Perfetto trace-event JSON to this file")
      ->required();
}

void add_record(CLI::App& app, iosim::cli::RecordOptions& options) {
  CLI::App* record =
      app.add_subcommand("record", "Run a scenario with its server recorded into a .iotrace file");
  record->add_option("scenario", options.scenario, "Scenario file (JSON)")->required();
  record->add_option("--backend", options.backend, "Where to run: the real Linux kernel or the simulator")
      ->check(CLI::IsMember({"linux", "sim"}))
      ->capture_default_str();
  record->add_option("-o,--output", options.output, "Where to write the recording (.iotrace)")->required();
  record->add_option("--seed", options.seed, "Schedule seed (sim; default: the scenario's sim.seed)")
      ->check(seed_digits);
}

void add_replay(CLI::App& app, iosim::cli::ReplayCommandOptions& options) {
  CLI::App* replay =
      app.add_subcommand("replay", "Re-run a recorded server on the simulator against the recorded world");
  replay->add_option("recording", options.path, "A .iotrace file from `iosim record`")->required();
  replay->add_option("--seed", options.seed, "Schedule seed (default: the recording's)")->check(seed_digits);
  replay->add_option("--record-out", options.record_out,
                     "Also write the replayed server's view as a .iotrace file");
}

void add_explain(CLI::App& app, iosim::cli::ExplainOptions& options) {
  CLI::App* explain =
      app.add_subcommand("explain", "Print a saved trace as a readable timeline (what run --explain prints)");
  explain->add_option("trace", options.path, "A trace saved by run --trace-out (.jsonl)")->required();
  explain->add_option("--lines", options.lines, "How many timeline lines to print")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
}

void add_graph(CLI::App& app, iosim::cli::GraphOptions& options) {
  CLI::App* graph =
      app.add_subcommand("graph", "Happens-before analysis of one simulated run: races, deadlocks, DOT");
  graph
      ->add_option("scenario", options.scenario,
                   "Scenario file (JSON), or a trace saved by run --trace-out (.jsonl)")
      ->required();
  graph->add_option("--seed", options.seed, "Schedule seed (default: the scenario's sim.seed)")
      ->check(seed_digits);
  add_strategy_options(graph, options.strategy, options.strategy_options);
  add_fault_option(graph, options.faults);
  graph->add_option("--dot", options.dot_path,
                    "Write the graph (or --window of it) as Graphviz DOT to this file");
  graph->add_option("--window", options.window, "A..B: draw only trace events A to B in the DOT file");
  graph->add_flag("--races", options.races,
                  "Report unordered fd calls that conflict (close, fd reuse, two writers)");
  graph->add_flag("--deadlocks", options.deadlocks,
                  "At a deadlock or hang, report the wait-for graph's cycles");
  graph->add_flag("--critical-path", options.critical_path,
                  "Print the chain of events that decided the end time");
}

// How reproduce lines name this program: "iosim", or the user's binary that linked iosim::cli_main.
std::string name_from_argv0(const char* argv0) {
  const std::string name = std::filesystem::path(argv0 != nullptr ? argv0 : "").filename().string();
  return name.empty() ? std::string("iosim") : name;
}

}  // namespace

int iosim::cli::main(int argc, char** argv) {
  iosim::set_program_name(name_from_argv0(argc > 0 ? argv[0] : nullptr));
  if (iosim::Status registry = iosim::check_app_registry(); !registry)
    return iosim::cli::bad_input(registry.message());
  CLI::App app(overview, iosim::program_name());
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  iosim::cli::RunOptions run_options;
  iosim::cli::DiffOptions diff_options;
  add_run(app, run_options);
  add_diff(app, diff_options);
  iosim::cli::ExploreOptions explore_options;
  std::string seeds_text, shard_text;
  add_explore(app, explore_options, seeds_text, shard_text);
  iosim::cli::ShrinkOptions shrink_options;
  add_shrink(app, shrink_options);
  iosim::cli::TraceOptions trace_options;
  add_trace(app, trace_options);
  iosim::cli::RecordOptions record_options;
  add_record(app, record_options);
  iosim::cli::ReplayCommandOptions replay_options;
  add_replay(app, replay_options);
  iosim::cli::GraphOptions graph_options;
  add_graph(app, graph_options);
  iosim::cli::ExplainOptions explain_options;
  add_explain(app, explain_options);
  app.add_subcommand("list", "List the applications (bundled and registered) and the scenario files");
  if (argc > 1 && argv[1][0] != '-' && !is_command(argv[1])) {
    fmt::print(stderr, "{0}: unknown command '{1}' (commands: {2})\nRun '{0} --help' for usage.\n",
               iosim::program_name(), argv[1], fmt::join(commands, ", "));
    return iosim::cli::exit_bad_input;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    fmt::print(stderr, "{0}: {1}\nRun '{0} --help' for usage.\n", iosim::program_name(), error.what());
    return iosim::cli::exit_bad_input;
  }
  if (app.got_subcommand("run")) return iosim::cli::run_command(run_options);
  if (app.got_subcommand("diff")) return iosim::cli::diff_command(diff_options);
  if (app.got_subcommand("explore")) {
    if (!parse_seed_range(seeds_text, explore_options.seed_first, explore_options.seed_last)) {
      return iosim::cli::bad_input(
          fmt::format("--seeds: expected A..B with A <= B (unsigned 64-bit), got '{}'", seeds_text));
    }
    if (!shard_text.empty() &&
        !parse_shard(shard_text, explore_options.shard_index, explore_options.shard_count)) {
      return iosim::cli::bad_input(
          fmt::format("--shard: expected K/N with 1 <= K <= N, got '{}'", shard_text));
    }
    return iosim::cli::explore_command(explore_options);
  }
  if (app.got_subcommand("shrink")) return iosim::cli::shrink_command(shrink_options);
  if (app.got_subcommand("trace")) return iosim::cli::trace_command(trace_options);
  if (app.got_subcommand("record")) return iosim::cli::record_command(record_options);
  if (app.got_subcommand("replay")) return iosim::cli::replay_command(replay_options);
  if (app.got_subcommand("graph")) return iosim::cli::graph_command(graph_options);
  if (app.got_subcommand("explain")) return iosim::cli::explain_command(explain_options);
  return iosim::cli::list_command();
}
