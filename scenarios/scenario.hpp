// scenarios/scenario.hpp — ScenarioSpec: a scenario file (JSON with comments) parsed and validated.
// Loading never throws and never crashes: any defect becomes an error Status naming the file and the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "backends/fault/fault_plan.hpp"
#include "iosim/app.hpp"
#include "iosim/sim.hpp"
#include "iosim/status.hpp"

namespace iosim {

// Limits of a scenario file; a value beyond them is rejected with a message (units last).
inline constexpr std::size_t scenario_file_bytes_max = 1 << 20;
inline constexpr int scenario_nesting_depth_max = 32;
inline constexpr std::int64_t workload_clients_max = 256;  // 2 fds per client in-process; select caps at 1024
inline constexpr std::int64_t workload_messages_max = 1'000'000;
inline constexpr std::int64_t workload_message_bytes_max = 16 << 20;
inline constexpr std::int64_t workload_requests_max = 10'000;  // per client; HTTP/1.0: one connection each
inline constexpr std::int64_t http_body_bytes_max = 16 << 20;
inline constexpr std::int64_t network_latency_us_max = latency_ns_max / 1000;

// What the clients of a scenario speak (WorkloadKind: include/iosim/app.hpp). An app declares the one it
// serves (AppInfo::workload); a world app's is none (no clients).
std::string_view workload_kind_name(WorkloadKind kind);

// The client side of a scenario. Identical on every backend and every schedule seed: message sizes, bytes
// and request paths come from a Prng seeded by `seed` and the client index. The fields after `seed` were
// added with the http kind; echo fields are rejected in an http workload and the other way round.
struct WorkloadSpec {
  int clients = 4;   // concurrent clients, each one thread
  int messages = 8;  // echo: messages sent by each client, one after the other, on one connection
  std::int64_t message_bytes_min = 1;
  std::int64_t message_bytes_max = 4096;
  std::uint64_t seed = 1;
  WorkloadKind kind = WorkloadKind::echo;
  int requests = 4;  // http: requests sent by each client, one after the other, each on a new connection
  std::int64_t body_bytes_min = 0;  // http: the response body size each request asks for
  std::int64_t body_bytes_max = 4096;
};

// How many connections the server must serve for this workload (AppContext::connections): one per echo
// client, one per HTTP request, none without clients.
int workload_connections(const WorkloadSpec& workload);

struct NetworkSpec {
  std::int64_t latency_us = 50;  // one-way delay of the simulated loopback (ignored by native backends)
};

struct SimSpec {
  std::uint64_t seed = 1;               // schedule seed (the CLI's --seed overrides it)
  std::string strategy = "random";      // "random" | "rr" | "pct" (pct's depth and steps: the CLI's flags)
  std::uint64_t step_max = 20'000'000;  // scheduling steps before the run is declared livelocked
};

struct ScenarioSpec {
  std::string name;  // defaults to the file name without ".json"
  std::string description;
  std::string app;                                   // a name from apps() (scenarios/registry.hpp)
  nlohmann::json params = nlohmann::json::object();  // validated against the app's AppInfo::params
  WorkloadSpec workload;
  NetworkSpec network;
  FaultPlan faults;  // "faults": {"eintr": 0.01, "jitter_us": 200, ...}; the CLI's --fault overrides by name
  SimSpec sim;
  std::vector<std::string> checks{"echo_in_order", "all_tasks_finished"};
  // The real OS `iosim diff` compares with by default: the file's "native_backend" ("linux" | "windows"),
  // else the app's AppInfo::native_backend (e.g. proactor_echo is "windows", unless forced to epoll).
  std::string native_backend = "linux";
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
