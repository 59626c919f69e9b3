// scenarios/scenario.hpp — ScenarioSpec: a scenario file (JSON with comments) parsed and validated.
// Loading never throws and never crashes: any defect becomes an error Status naming the file and the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "iosim/status.hpp"

namespace iosim {

// Limits of a scenario file; a value beyond them is rejected with a message (units last).
inline constexpr std::size_t scenario_file_bytes_max = 1 << 20;
inline constexpr int scenario_nesting_depth_max = 32;
inline constexpr std::int64_t workload_clients_max = 256;  // 2 fds per client in-process; select caps at 1024
inline constexpr std::int64_t workload_messages_max = 1'000'000;
inline constexpr std::int64_t workload_message_bytes_max = 16 << 20;
inline constexpr std::int64_t network_latency_us_max = 60'000'000;

// The client side of an echo scenario. Identical on every backend and every schedule seed: message sizes
// and bytes come from a Prng seeded by `seed` and the client index.
struct WorkloadSpec {
  int clients = 4;   // concurrent client connections, each one thread
  int messages = 8;  // messages sent by each client, one after the other
  std::int64_t message_bytes_min = 1;
  std::int64_t message_bytes_max = 4096;
  std::uint64_t seed = 1;
};

struct NetworkSpec {
  std::int64_t latency_us = 50;  // one-way delay of the simulated loopback (ignored by native backends)
};

struct SimSpec {
  std::uint64_t seed = 1;               // schedule seed (the CLI's --seed overrides it)
  std::string strategy = "random";      // "random" | "rr"
  std::uint64_t step_max = 20'000'000;  // scheduling steps before the run is declared livelocked
};

struct ScenarioSpec {
  std::string name;  // defaults to the file name without ".json"
  std::string description;
  std::string app;                                   // a name from apps() (scenarios/registry.hpp)
  nlohmann::json params = nlohmann::json::object();  // validated against the app's AppInfo::params
  WorkloadSpec workload;
  NetworkSpec network;
  SimSpec sim;
  std::vector<std::string> checks{"echo_in_order", "all_tasks_finished"};
  std::string path;  // the file it was loaded from ("" when parsed from text)
};

// Reads and validates a scenario file. Errors start with `path`, e.g.
//   scenarios/x.json: workload.clients: expected a positive integer, got "abc"
//   scenarios/x.json:3:14: invalid JSON: syntax error while parsing object - unexpected end of input ...
Result<ScenarioSpec> load_scenario_file(const std::string& path);

// Parses scenario text; `origin` names it in error messages (a path, or e.g. "<inline>").
Result<ScenarioSpec> parse_scenario(std::string_view text, std::string_view origin);

// The known top-level fields and strategy names, for messages and for `iosim list`.
std::vector<std::string_view> scenario_fields();
std::vector<std::string_view> sim_strategies();

}  // namespace iosim
