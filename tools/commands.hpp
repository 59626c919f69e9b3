// tools/commands.hpp — the iosim subcommands. Each returns the process exit code: 0 holds, 1 a check failed
// (after printing a `reproduce:` line), 2 bad usage or bad input (after printing what and where).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/strategy.hpp"

namespace iosim::cli {

inline constexpr int exit_holds = 0;
inline constexpr int exit_check_failed = 1;
inline constexpr int exit_bad_input = 2;

// Prints "<program>: <message>" (program_name(): iosim, or the user's binary) to stderr; returns
// exit_bad_input.
int bad_input(const std::string& message);

struct RunOptions {
  std::string scenario;
  std::optional<std::uint64_t> seed;
  std::optional<std::string> strategy;
  std::string backend = "sim";
  std::string trace_out;
  bool explain = false;
  int explain_lines = 60;
  sim::StrategyOptions strategy_options;
  std::string choices;              // replay this .choices file
  std::vector<std::string> faults;  // --fault name=value
};
int run_command(const RunOptions& options);

struct DiffOptions {
  std::string scenario;
  std::optional<std::uint64_t> seed;
  std::optional<std::string> backend;  // linux | windows; default: the scenario's native_backend
};
int diff_command(const DiffOptions& options);

int list_command();

struct ExploreOptions {
  std::string scenario;
  std::uint64_t seed_first = 1, seed_last = 100;
  std::optional<std::string> strategy;
  sim::StrategyOptions strategy_options;
  int jobs = 1;
  std::uint64_t shard_index = 1,
                shard_count = 1;  // K/N: this machine runs every N-th seed, starting at the K-th
  std::string results_path;
  bool keep_going = false;
  std::vector<std::string> faults;
};
int explore_command(const ExploreOptions& options);

struct ShrinkOptions {
  std::string scenario;
  std::uint64_t seed = 1;
  std::optional<std::string> strategy;
  sim::StrategyOptions strategy_options;
  std::string output;
  int run_max = 2000;  // replays before shrink stops with what it has
  std::vector<std::string> faults;
};
int shrink_command(const ShrinkOptions& options);

struct TraceOptions {
  std::string scenario;  // a scenario file, or a trace file (*.jsonl) from run --trace-out
  std::optional<std::uint64_t> seed;
  std::optional<std::string> strategy;
  sim::StrategyOptions strategy_options;
  std::string choices;  // replay this .choices file
  std::vector<std::string> faults;
  std::string perfetto;  // where the trace-event JSON goes
};
int trace_command(const TraceOptions& options);  // tools/trace_command.cpp

// iosim explain F.jsonl [--lines N]: a saved trace as a readable timeline (tools/trace_command.cpp).
struct ExplainOptions {
  std::string path;
  int lines = 60;
};
int explain_command(const ExplainOptions& options);

// iosim record SCENARIO --backend linux|sim -o F.iotrace (tools/record_command.cpp)
struct RecordOptions {
  std::string scenario;
  std::string backend = "linux";
  std::string output;
  std::optional<std::uint64_t> seed;  // sim: the schedule seed
};
int record_command(const RecordOptions& options);

// iosim replay F.iotrace [--seed N] [--record-out G.iotrace] (tools/record_command.cpp)
struct ReplayCommandOptions {
  std::string path;
  std::optional<std::uint64_t> seed;  // default: the recording's seed
  std::string record_out;             // also write the replayed server's view here
};
int replay_command(const ReplayCommandOptions& options);

// iosim graph: the happens-before analysis of one simulated run (tools/graph_command.cpp).
struct GraphOptions {
  std::string scenario;
  std::optional<std::uint64_t> seed;
  std::optional<std::string> strategy;
  sim::StrategyOptions strategy_options;
  std::vector<std::string> faults;
  std::string dot_path;
  std::string window;  // "A..B": trace event indices drawn in the DOT file
  bool races = false;
  bool deadlocks = false;
  bool critical_path = false;
};
int graph_command(const GraphOptions& options);

}  // namespace iosim::cli
