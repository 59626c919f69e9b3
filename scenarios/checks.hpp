// scenarios/checks.hpp — the named checks a scenario lists, and their evaluation on an Observation.
// "all_tasks_finished" is known here but evaluated by the simulator driver (it needs the scheduler's view).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scenarios/scenario.hpp"
#include "scenarios/workload.hpp"

namespace iosim {

struct CheckResult {
  std::string check;
  bool passed = false;
  std::string detail;  // what held ("4 clients, 70212 bytes") or the first thing that did not
};

// Every check name a scenario may list, in a fixed order.
std::vector<std::string_view> known_checks();

// True for checks evaluate_checks() decides from an Observation; false for the driver's own checks.
bool is_observation_check(std::string_view check);

// The workload kind a check judges (echo_in_order: echo, http_responses_ok: http, app_checks: none); nothing
// when it judges any run (all_tasks_finished).
std::optional<WorkloadKind> check_workload_kind(std::string_view check);

// The checks of a scenario file that lists none: the kind's own check, then all_tasks_finished.
std::vector<std::string> default_checks(WorkloadKind kind);

// echo_in_order: the observation has one report per workload client, and each client connected, got back
// exactly what it sent (bytes_received == bytes_sent, transcript hash equal to the workload's), in order,
// with no error; and the server reported no error.
CheckResult check_echo_in_order(const ScenarioSpec& spec, const Observation& observation);

// http_responses_ok: the observation has one report per workload client, and each client got exactly the
// expected response to every request (bytes_received and transcript hash equal to the workload's oracle,
// http_exchanges), with no error; and the server reported no error.
CheckResult check_http_responses_ok(const ScenarioSpec& spec, const Observation& observation);

// app_checks (a world app, workload none): the world function returned; no app_check failed and nothing else
// was thrown out of it (the detail is what was: "app_check failed: <message> (<file>:<line>)").
CheckResult check_app_checks(const Observation& observation);

// The results of the observation checks in spec.checks, in the order listed (driver checks are skipped).
std::vector<CheckResult> evaluate_checks(const ScenarioSpec& spec, const Observation& observation);

}  // namespace iosim
