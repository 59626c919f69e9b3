// tools/graph_command.cpp — `iosim graph`: runs a scenario with its trace captured, builds the happens-before
// graph (tools/analysis) and answers --races, --deadlocks, --critical-path and --dot. Exit 1 when a race or a
// deadlock is found (with a reproduce line), 2 on bad input.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>

#include "tools/analysis/analyses.hpp"
#include "tools/analysis/trace_file.hpp"
#include "tools/commands.hpp"
#include "tools/driver.hpp"

namespace iosim::cli {
namespace {

// "A..B" (trace event indices, A <= B).
bool parse_window(const std::string& text, analysis::DotOptions& options) {
  const std::size_t dots = text.find("..");
  if (dots == std::string::npos) return false;
  const std::string a = text.substr(0, dots), b = text.substr(dots + 2);
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(a) || !digits(b)) return false;
  options.first_event = static_cast<std::uint32_t>(std::stoul(a));
  options.last_event = static_cast<std::uint32_t>(std::stoul(b));
  return options.first_event <= options.last_event;
}

// Prints every race; their calls are drawn highlighted in the DOT file.
std::size_t print_races(const analysis::TraceGraph& graph, analysis::DotOptions& dot_options) {
  const std::vector<analysis::Race> races = analysis::find_races(graph);
  for (const analysis::Race& race : races) {
    fmt::print("{}\n", analysis::format_race(graph, race));
    for (const analysis::FdOperation* op : {&race.first, &race.second}) {
      dot_options.highlight.push_back(op->first);
      dot_options.highlight.push_back(op->last);
    }
  }
  fmt::print("races     {} unordered conflicting fd call pair(s)\n", races.size());
  return races.size();
}

// Returns how many problems it reports: cycles, or 1 for a deadlock or hang without a cycle.
std::size_t print_deadlocks(const analysis::TraceGraph& graph, const SimOutcome& outcome) {
  using Outcome = sim::RunResult::Outcome;
  if (outcome.run.outcome == Outcome::completed) {
    fmt::print("deadlocks none: the run completed\n");
    return 0;
  }
  for (const analysis::WaitForNode& node : analysis::wait_for_nodes(graph, outcome.run.blocked)) {
    fmt::print("blocked   {} on {} ({})\n", node.task_name, node.channel, node.why);
  }
  const std::vector<analysis::DeadlockCycle> cycles = analysis::find_deadlocks(graph, outcome.run.blocked);
  for (const analysis::DeadlockCycle& cycle : cycles) {
    std::string text = "deadlock cycle:";
    for (const analysis::WaitForNode& node : cycle.tasks) {
      text += fmt::format(" {} waits for {} ({});", node.task_name, graph.view().task_name(node.waits_for),
                          node.why);
    }
    text.pop_back();
    fmt::print("{}\n", text);
  }
  fmt::print("deadlocks run ended in {}: {} wait-for cycle(s)\n", sim::outcome_name(outcome.run.outcome),
             cycles.size());
  return cycles.empty() ? 1 : cycles.size();
}

void print_critical_path(const analysis::TraceGraph& graph, const analysis::CriticalPath& path) {
  // One line per stretch on one task; a line break means a cross-task edge handed the chain over.
  std::size_t begin = 0;
  for (std::size_t i = 1; i <= path.vertices.size(); ++i) {
    const bool lane_ends = i == path.vertices.size() ||
                           graph.graph()[path.vertices[i]].lane != graph.graph()[path.vertices[begin]].lane;
    if (!lane_ends) continue;
    const analysis::HbVertex first = path.vertices[begin], last = path.vertices[i - 1];
    fmt::print("  {:>12.3f}us .. {:>12.3f}us  {:<12} {} event(s), ends with {}\n",
               static_cast<double>(graph.event_of(first).time_ns) / 1000.0,
               static_cast<double>(graph.event_of(last).time_ns) / 1000.0,
               graph.view().task_name(graph.event_of(first).task), i - begin, graph.describe(last));
    begin = i;
  }
  fmt::print("critical  {} events from {:.3f}us to {:.3f}us, {:.3f}us of it busy (not waiting)\n",
             path.vertices.size(), static_cast<double>(path.start_ns) / 1000.0,
             static_cast<double>(path.end_ns) / 1000.0, static_cast<double>(path.busy_ns) / 1000.0);
}

int write_dot_file(const analysis::TraceGraph& graph, const std::string& path,
                   const analysis::DotOptions& options) {
  std::ofstream out(path);
  if (!out) return bad_input(fmt::format("--dot {}: cannot open for writing", path));
  analysis::write_dot(out, graph, options);
  if (!out.flush()) return bad_input(fmt::format("--dot {}: write failed", path));
  fmt::print("dot       {} (events {}..{})\n", path, options.first_event,
             std::min<std::size_t>(options.last_event, graph.view().events.size() - 1));
  return exit_holds;
}

std::string graph_reproduce(const ScenarioSpec& spec, const RunReport& report, const GraphOptions& options) {
  std::string command = reproduce_command(spec, report);
  const std::string run = program_name() + " run ";
  if (command.starts_with(run)) command = program_name() + " graph " + command.substr(run.size());
  if (options.races) command += " --races";
  if (options.deadlocks) command += " --deadlocks";
  return command;
}

// What the analyses work on: a graph, and for a scenario run its outcome and the command that reproduces it.
struct Subject {
  std::optional<analysis::TraceGraph> graph;
  std::optional<SimOutcome> outcome;  // unset for a trace file
  std::string reproduce;
};

int load_scenario_run(const GraphOptions& options, Subject& subject) {
  Result<ScenarioSpec> loaded = load_scenario_file(options.scenario);
  if (!loaded) return bad_input(loaded.status().message());
  const ScenarioSpec& spec = loaded.value();
  RunRequest request;
  request.seed = options.seed;
  request.strategy = options.strategy;
  request.strategy_options = options.strategy_options;
  request.capture_trace = true;
  if (Status applied = apply_faults(request, options.faults); !applied) return bad_input(applied.message());
  const RunReport report = run_scenario(spec, request, [&](SimOs& os) {
    subject.graph.emplace(sim::make_trace_view(os.trace(), os.scheduler()));
  });
  if (!report.sim || !subject.graph) return bad_input("iosim graph needs a simulated run");
  subject.outcome = *report.sim;
  subject.reproduce = graph_reproduce(spec, report, options);
  fmt::print("run       {} seed {} strategy {}: {}, {} events, {:.3f} ms virtual\n", spec.name, report.seed,
             report.strategy, sim::outcome_name(report.sim->run.outcome), report.sim->event_count,
             static_cast<double>(report.sim->run.end_time_ns) / 1e6);
  return exit_holds;
}

// A trace saved by `iosim run --trace-out F.jsonl`: no run, so no seed options and no end state to judge.
int load_trace_file(const GraphOptions& options, Subject& subject) {
  if (options.seed || options.strategy || !options.faults.empty()) {
    return bad_input(analysis::run_options_need_a_scenario(options.scenario));
  }
  if (options.deadlocks) {
    return bad_input(
        fmt::format("{}: --deadlocks needs the scenario (a trace file does not record which "
                    "tasks were blocked when the run stopped)",
                    options.scenario));
  }
  Result<sim::TraceView> view = analysis::read_trace_jsonl(options.scenario);
  if (!view) return bad_input(view.status().message());
  subject.graph.emplace(std::move(view.value()));
  subject.reproduce =
      fmt::format("{} graph {}{}", program_name(), options.scenario, options.races ? " --races" : "");
  fmt::print("trace     {}: {} events\n", options.scenario, subject.graph->view().events.size());
  return exit_holds;
}

}  // namespace

int graph_command(const GraphOptions& options) {
  analysis::DotOptions dot_options;
  if (!options.window.empty() && !parse_window(options.window, dot_options)) {
    return bad_input(
        fmt::format("--window: expected A..B (trace event indices, A <= B), got '{}'", options.window));
  }
  Subject subject;
  const bool trace_file = analysis::is_trace_file(options.scenario);
  const int loaded = trace_file ? load_trace_file(options, subject) : load_scenario_run(options, subject);
  if (loaded != exit_holds) return loaded;
  const analysis::TraceGraph& graph = *subject.graph;
  std::string kinds;
  for (int kind = 0; kind < analysis::edge_kind_count; ++kind) {
    kinds += fmt::format(" {}={}", analysis::edge_kind_name(static_cast<analysis::EdgeKind>(kind)),
                         graph.edge_count(static_cast<analysis::EdgeKind>(kind)));
  }
  fmt::print("graph     {} vertices, {} edges ({} )\n", boost::num_vertices(graph.graph()),
             boost::num_edges(graph.graph()), kinds);
  std::size_t problems = 0;
  if (options.races) problems += print_races(graph, dot_options);
  if (options.deadlocks) problems += print_deadlocks(graph, *subject.outcome);
  if (options.critical_path) {
    const analysis::CriticalPath path = analysis::critical_path(graph);
    print_critical_path(graph, path);
    if (!options.dot_path.empty())
      dot_options.highlight.insert(dot_options.highlight.end(), path.vertices.begin(), path.vertices.end());
  }
  if (!options.dot_path.empty()) {
    if (const int written = write_dot_file(graph, options.dot_path, dot_options); written != exit_holds)
      return written;
  }
  if (problems == 0) {
    fmt::print("result    no race or deadlock found\n");
    return exit_holds;
  }
  fmt::print("reproduce: {}\n", subject.reproduce);
  fmt::print("result    {} problem(s) found\n", problems);
  return exit_check_failed;
}

}  // namespace iosim::cli
