// scenarios/scenario.cpp — scenario validation: the JSON document (from json_text.cpp) checked field by field
// against closed lists, so a typo is an error, never a silently ignored key. FieldError stays in this file.
#include "scenarios/scenario.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>

#include "scenarios/checks.hpp"
#include "scenarios/json_text.hpp"
#include "scenarios/registry.hpp"

namespace iosim {
namespace {

using nlohmann::json;

// A defect in one field. `path` is the dotted field name ("workload.clients"), empty for the whole file.
struct FieldError {
  std::string path;
  std::string message;
};

constexpr std::string_view top_level_fields[] = {"name",    "description", "app", "params", "workload",
                                                 "network", "faults",      "sim", "checks", "native_backend"};
constexpr std::string_view native_backends[] = {"linux", "windows"};
constexpr std::string_view workload_fields[] = {"kind",     "clients",           "seed",
                                                "messages", "message_bytes_min", "message_bytes_max",
                                                "requests", "body_bytes_min",    "body_bytes_max"};
// Fields that mean something for one kind only; in the other they would be silently ignored, so they are
// errors.
constexpr std::string_view echo_workload_fields[] = {"messages", "message_bytes_min", "message_bytes_max"};
constexpr std::string_view http_workload_fields[] = {"requests", "body_bytes_min", "body_bytes_max"};
constexpr std::string_view workload_kinds[] = {"echo", "http", "none"};
constexpr std::string_view none_workload_fields[] = {"kind"};  // a world app has no clients to describe
constexpr std::string_view network_fields[] = {"latency_us"};
constexpr std::string_view sim_fields[] = {"seed", "strategy", "step_max"};
constexpr std::string_view strategies[] = {"random", "rr", "pct"};

std::string join(std::span<const std::string_view> names) {
  std::string joined;
  for (std::string_view name : names) joined += (joined.empty() ? "" : ", ") + std::string(name);
  return joined;
}

// Levenshtein distance, for "did you mean" hints; names are short, so O(n·m) is nothing.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean \"clients\"?)" when one known name is a likely typo of `name`, else "".
std::string suggestion(std::string_view name, std::span<const std::string_view> known) {
  std::string_view best;
  std::size_t best_distance = 3;  // more than two edits away is not a typo
  for (std::string_view candidate : known) {
    const std::size_t distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", best);
}

// How a wrong value is shown in a message: scalars as JSON (strings quoted, cut short), containers by kind
// (dumping them could be huge).
std::string describe(const json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

std::string child_path(std::string_view parent, std::string_view field) {
  return parent.empty() ? std::string(field) : fmt::format("{}.{}", parent, field);
}

void reject_unknown_fields(const json& object, std::string_view path,
                           std::span<const std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    throw FieldError{std::string(path), fmt::format("unknown field \"{}\"{}; known fields: {}", key,
                                                    suggestion(key, known), join(known))};
  }
}

const json& require_object(const json& value, const std::string& path) {
  if (!value.is_object()) throw FieldError{path, fmt::format("expected an object, got {}", describe(value))};
  return value;
}

std::string read_string(const json& value, const std::string& path) {
  if (!value.is_string()) throw FieldError{path, fmt::format("expected a string, got {}", describe(value))};
  return value.get<std::string>();
}

// An integer in [min, max]. Floats ("4.0"), strings ("4") and booleans are wrong types, not integers.
std::int64_t read_integer(const json& value, const std::string& path, std::int64_t min, std::int64_t max) {
  const char* kind = min == 1 ? "a positive integer" : min == 0 ? "a non-negative integer" : "an integer";
  const bool too_large =
      value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(max);
  if (!value.is_number_integer() || (!too_large && value.get<std::int64_t>() < min)) {
    throw FieldError{path, fmt::format("expected {}, got {}", kind, describe(value))};
  }
  if (too_large || value.get<std::int64_t>() > max) {
    throw FieldError{path, fmt::format("must be at most {}, got {}", max, describe(value))};
  }
  return value.get<std::int64_t>();
}

// Any 64-bit unsigned value: seeds use the whole range.
std::uint64_t read_unsigned(const json& value, const std::string& path) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  throw FieldError{path,
                   fmt::format("expected a non-negative integer (up to 2^64-1), got {}", describe(value))};
}

WorkloadKind parse_workload_kind(const json& object) {
  if (!object.contains("kind")) return WorkloadKind::echo;
  const std::string kind = read_string(object["kind"], "workload.kind");
  if (kind == "echo") return WorkloadKind::echo;
  if (kind == "http") return WorkloadKind::http;
  if (kind == "none") return WorkloadKind::none;
  throw FieldError{"workload.kind", fmt::format("unknown workload kind \"{}\"{}; known kinds: {}", kind,
                                                suggestion(kind, workload_kinds), join(workload_kinds))};
}

// Rejects the fields of the other kind, naming the kind that would use them.
void reject_fields_of_other_kind(const json& object, WorkloadKind kind) {
  const auto foreign = kind == WorkloadKind::echo ? std::span<const std::string_view>(http_workload_fields)
                                                  : std::span<const std::string_view>(echo_workload_fields);
  const WorkloadKind owner = kind == WorkloadKind::echo ? WorkloadKind::http : WorkloadKind::echo;
  for (std::string_view field : foreign) {
    if (!object.contains(field)) continue;
    throw FieldError{
        child_path("workload", field),
        fmt::format("only an {} workload has this field, and this one is {} (\"kind\": \"{}\")",
                    workload_kind_name(owner), workload_kind_name(kind), workload_kind_name(owner))};
  }
}

void parse_echo_fields(const json& object, WorkloadSpec& workload) {
  if (object.contains("messages")) {
    workload.messages =
        static_cast<int>(read_integer(object["messages"], "workload.messages", 0, workload_messages_max));
  }
  if (object.contains("message_bytes_min")) {
    workload.message_bytes_min = read_integer(object["message_bytes_min"], "workload.message_bytes_min", 1,
                                              workload_message_bytes_max);
  }
  if (object.contains("message_bytes_max")) {
    workload.message_bytes_max = read_integer(object["message_bytes_max"], "workload.message_bytes_max", 1,
                                              workload_message_bytes_max);
  }
  if (workload.message_bytes_min > workload.message_bytes_max) {
    throw FieldError{"workload", fmt::format("message_bytes_min ({}) is greater than message_bytes_max ({})",
                                             workload.message_bytes_min, workload.message_bytes_max)};
  }
}

void parse_http_fields(const json& object, WorkloadSpec& workload) {
  if (object.contains("requests")) {
    workload.requests =
        static_cast<int>(read_integer(object["requests"], "workload.requests", 0, workload_requests_max));
  }
  if (object.contains("body_bytes_min")) {
    workload.body_bytes_min =
        read_integer(object["body_bytes_min"], "workload.body_bytes_min", 0, http_body_bytes_max);
  }
  if (object.contains("body_bytes_max")) {
    workload.body_bytes_max =
        read_integer(object["body_bytes_max"], "workload.body_bytes_max", 0, http_body_bytes_max);
  }
  if (workload.body_bytes_min > workload.body_bytes_max) {
    throw FieldError{"workload", fmt::format("body_bytes_min ({}) is greater than body_bytes_max ({})",
                                             workload.body_bytes_min, workload.body_bytes_max)};
  }
}

void parse_workload(const json& object, WorkloadSpec& workload) {
  require_object(object, "workload");
  reject_unknown_fields(object, "workload", workload_fields);
  workload.kind = parse_workload_kind(object);
  if (workload.kind == WorkloadKind::none) {
    reject_unknown_fields(object, "workload", none_workload_fields);
    workload.clients = 0;
    return;
  }
  reject_fields_of_other_kind(object, workload.kind);
  if (object.contains("clients")) {
    workload.clients =
        static_cast<int>(read_integer(object["clients"], "workload.clients", 1, workload_clients_max));
  }
  if (workload.kind == WorkloadKind::echo) {
    parse_echo_fields(object, workload);
  } else {
    parse_http_fields(object, workload);
  }
  if (object.contains("seed")) workload.seed = read_unsigned(object["seed"], "workload.seed");
}

void parse_network(const json& object, NetworkSpec& network) {
  require_object(object, "network");
  reject_unknown_fields(object, "network", network_fields);
  if (object.contains("latency_us")) {
    network.latency_us = read_integer(object["latency_us"], "network.latency_us", 0, network_latency_us_max);
  }
}

// {"eintr": 0.01, "jitter_us": 200, ...}: the names and ranges of --fault (backends/fault/fault_plan.hpp).
void parse_faults(const json& object, FaultPlan& faults) {
  require_object(object, "faults");
  const std::vector<std::string_view> known = fault_names();
  for (const auto& [key, value] : object.items()) {
    const std::string path = child_path("faults", key);
    if (fault_meaning(key).empty()) {
      throw FieldError{"faults", fmt::format("unknown fault \"{}\"{}; known faults: {}", key,
                                             suggestion(key, known), join(known))};
    }
    if (!value.is_number()) throw FieldError{path, fmt::format("expected a number, got {}", describe(value))};
    if (Status status = set_fault(faults, key, value.get<double>()); !status) {
      throw FieldError{path, std::string(status.message())};
    }
  }
}

void parse_sim(const json& object, SimSpec& sim) {
  require_object(object, "sim");
  reject_unknown_fields(object, "sim", sim_fields);
  if (object.contains("seed")) sim.seed = read_unsigned(object["seed"], "sim.seed");
  if (object.contains("strategy")) {
    sim.strategy = read_string(object["strategy"], "sim.strategy");
    if (std::find(std::begin(strategies), std::end(strategies), sim.strategy) == std::end(strategies)) {
      throw FieldError{"sim.strategy", fmt::format("unknown strategy \"{}\"; known strategies: {}",
                                                   sim.strategy, join(strategies))};
    }
  }
  if (object.contains("step_max")) {
    sim.step_max = static_cast<std::uint64_t>(
        read_integer(object["step_max"], "sim.step_max", 1, std::numeric_limits<std::int64_t>::max()));
  }
}

void parse_checks(const json& array, WorkloadKind kind, std::vector<std::string>& checks) {
  if (!array.is_array()) {
    throw FieldError{"checks", fmt::format("expected an array of check names, got {}", describe(array))};
  }
  checks.clear();
  const std::vector<std::string_view> known = known_checks();
  for (std::size_t index = 0; index < array.size(); ++index) {
    const std::string path = fmt::format("checks[{}]", index);
    std::string check = read_string(array[index], path);
    if (std::find(known.begin(), known.end(), check) == known.end()) {
      throw FieldError{path, fmt::format("unknown check \"{}\"{}; known checks: {}", check,
                                         suggestion(check, known), join(known))};
    }
    if (std::find(checks.begin(), checks.end(), check) != checks.end()) {
      throw FieldError{path, fmt::format("check \"{}\" is listed twice", check)};
    }
    if (const std::optional<WorkloadKind> judged = check_workload_kind(check); judged && *judged != kind) {
      throw FieldError{path, fmt::format("check \"{}\" judges an {} workload, and this one is {}", check,
                                         workload_kind_name(*judged), workload_kind_name(kind))};
    }
    checks.push_back(std::move(check));
  }
}

const AppInfo& resolve_app(const json& object, std::string& app_name) {
  std::vector<std::string_view> names;
  for (const AppInfo& app : apps()) names.push_back(app.name);
  if (!object.contains("app")) {
    throw FieldError{"app",
                     fmt::format("missing (every scenario names its app); known apps: {}", join(names))};
  }
  app_name = read_string(object["app"], "app");
  const AppInfo* app = find_app(app_name);
  if (app == nullptr) {
    throw FieldError{"app", fmt::format("unknown app \"{}\"{}; known apps: {}", app_name,
                                        suggestion(app_name, names), join(names))};
  }
  return *app;
}

void parse_params(const json& object, const AppInfo& app) {
  require_object(object, "params");
  std::vector<std::string_view> known;
  for (const AppParam& param : app.params) known.push_back(param.name);
  for (const auto& [key, value] : object.items()) {
    const AppParam* param = find_param(app, key);
    if (param == nullptr) {
      throw FieldError{
          "params", fmt::format("unknown parameter \"{}\" for app {}{}; known parameters: {}", key, app.name,
                                suggestion(key, known), known.empty() ? "none" : join(known))};
    }
    read_integer(value, child_path("params", key), param->min_value, param->max_value);
  }
}

// The whole document → ScenarioSpec. `stem` is the default name (file name without extension).
ScenarioSpec parse_document(const json& document, std::string_view stem) {
  if (!document.is_object()) {
    throw FieldError{"", fmt::format("expected a JSON object at the top level, got {}", describe(document))};
  }
  reject_unknown_fields(document, "", top_level_fields);
  ScenarioSpec spec;
  spec.name = std::string(stem);
  if (document.contains("name")) spec.name = read_string(document["name"], "name");
  if (spec.name.empty()) throw FieldError{"name", "must not be empty"};
  if (document.contains("description"))
    spec.description = read_string(document["description"], "description");
  const AppInfo& app = resolve_app(document, spec.app);
  if (document.contains("params")) {
    parse_params(document["params"], app);
    spec.params = document["params"];
  }
  spec.workload.kind = app.workload;  // a file without "workload" gets the app's own kind
  if (app.workload == WorkloadKind::none) spec.workload.clients = 0;
  if (document.contains("workload")) parse_workload(document["workload"], spec.workload);
  if (app.workload != spec.workload.kind) {
    throw FieldError{"workload.kind",
                     fmt::format("app {} serves {} clients, and this workload is {}", app.name,
                                 workload_kind_name(app.workload), workload_kind_name(spec.workload.kind))};
  }
  if (document.contains("network")) parse_network(document["network"], spec.network);
  if (document.contains("faults")) parse_faults(document["faults"], spec.faults);
  if (document.contains("sim")) parse_sim(document["sim"], spec.sim);
  spec.checks = default_checks(spec.workload.kind);
  if (document.contains("checks")) parse_checks(document["checks"], spec.workload.kind, spec.checks);
  spec.native_backend = app.native_backend;
  if (document.contains("native_backend")) {
    spec.native_backend = read_string(document["native_backend"], "native_backend");
    if (std::find(std::begin(native_backends), std::end(native_backends), spec.native_backend) ==
        std::end(native_backends)) {
      throw FieldError{"native_backend",
                       fmt::format("expected \"linux\" or \"windows\", got \"{}\"", spec.native_backend)};
    }
  }
  return spec;
}

std::string format_field_error(std::string_view origin, const FieldError& error) {
  if (error.path.empty()) return fmt::format("{}: {}", origin, error.message);
  return fmt::format("{}: {}: {}", origin, error.path, error.message);
}

}  // namespace

Result<ScenarioSpec> parse_scenario(std::string_view text, std::string_view origin) {
  Result<json> document = parse_json_text(text, origin, scenario_nesting_depth_max);
  if (!document) return document.status();
  const std::string stem = std::filesystem::path(origin).stem().string();
  try {
    ScenarioSpec spec = parse_document(*document, stem);
    spec.path = std::string(origin);
    return spec;
  } catch (const FieldError& error) {
    return Status::error(format_field_error(origin, error));
  } catch (const std::exception& error) {
    // Unreachable if the checks above are complete; still a message, never a crash, for a bad input file.
    return Status::error(fmt::format("{}: cannot be used as a scenario: {}", origin, error.what()));
  }
}

Result<ScenarioSpec> load_scenario_file(const std::string& path) {
  Result<std::string> text = read_text_file(path, scenario_file_bytes_max);
  if (!text) return text.status();
  return parse_scenario(*text, path);
}

std::string_view workload_kind_name(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::echo:
      return "echo";
    case WorkloadKind::http:
      return "http";
    case WorkloadKind::none:
      return "none";
  }
  return "?";
}

int workload_connections(const WorkloadSpec& workload) {
  if (workload.kind == WorkloadKind::http) return workload.clients * workload.requests;
  if (workload.kind == WorkloadKind::none) return 0;
  return workload.clients;
}

std::vector<std::string_view> scenario_fields() {
  return {std::begin(top_level_fields), std::end(top_level_fields)};
}
std::vector<std::string_view> sim_strategies() {
  return {std::begin(strategies), std::end(strategies)};
}

}  // namespace iosim
