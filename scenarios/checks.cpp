// scenarios/checks.cpp — evaluation of the observation checks. Each check reports the first violation it
// finds, in client order, so the same observation always gives the same detail text.
#include "scenarios/checks.hpp"

#include <fmt/format.h>

namespace iosim {
namespace {

constexpr std::string_view echo_in_order = "echo_in_order";
constexpr std::string_view all_tasks_finished = "all_tasks_finished";
constexpr std::string_view http_responses_ok = "http_responses_ok";
constexpr std::string_view app_checks = "app_checks";

// Empty when the client's report shows a complete, exact echo; otherwise what is wrong with it.
std::string echo_violation(const WorkloadSpec& workload, const ClientReport& report) {
  if (!report.error.empty()) return report.error;
  if (!report.connected) return "never connected";
  if (!report.echoed_in_order) return "echo not in order";
  if (report.bytes_received != report.bytes_sent) {
    return fmt::format("sent {} bytes, received {}", report.bytes_sent, report.bytes_received);
  }
  // The oracle: the workload is a pure function of its seed, so the exact transcript is known in advance.
  const std::uint64_t expected = expected_transcript_hash(workload, report.client);
  if (report.transcript_hash != expected) {
    return fmt::format("transcript hash {:016x}, expected {:016x}", report.transcript_hash, expected);
  }
  return {};
}

// Empty when the client got every response exactly; otherwise what is wrong.
std::string http_violation(const WorkloadSpec& workload, const ClientReport& report) {
  if (!report.error.empty()) return report.error;
  if (!report.connected && workload.requests > 0) return "never connected";
  if (!report.echoed_in_order) return "responses not exact";
  // The oracle: every response is known from the workload seed (http_exchanges).
  const std::uint64_t expected_bytes = expected_bytes_received(workload, report.client);
  if (report.bytes_received != expected_bytes) {
    return fmt::format("received {} bytes, expected {}", report.bytes_received, expected_bytes);
  }
  const std::uint64_t expected = expected_transcript_hash(workload, report.client);
  if (report.transcript_hash != expected) {
    return fmt::format("transcript hash {:016x}, expected {:016x}", report.transcript_hash, expected);
  }
  return {};
}

// The part both observation checks share: server error, one report per client, then `violation` per client
// in client order. Returns the first failure, or a pass whose detail counts clients and bytes.
template <typename Violation>
CheckResult check_clients(std::string_view check, const ScenarioSpec& spec, const Observation& observation,
                          Violation violation, std::string_view what_passed) {
  CheckResult result{std::string(check), false, {}};
  if (!observation.server_error.empty()) {
    result.detail = fmt::format("server: {}", observation.server_error);
    return result;
  }
  const auto clients_expected = static_cast<std::size_t>(spec.workload.clients);
  if (observation.clients.size() != clients_expected) {
    result.detail =
        fmt::format("{} client reports, expected {}", observation.clients.size(), clients_expected);
    return result;
  }
  std::uint64_t bytes = 0;
  for (const ClientReport& report : observation.clients) {
    if (std::string found = violation(spec.workload, report); !found.empty()) {
      result.detail = fmt::format("client {}: {}", report.client, found);
      return result;
    }
    bytes += report.bytes_received;
  }
  result.passed = true;
  result.detail = fmt::format("{} clients, {} bytes {}", observation.clients.size(), bytes, what_passed);
  return result;
}

}  // namespace

std::vector<std::string_view> known_checks() {
  return {echo_in_order, all_tasks_finished, http_responses_ok, app_checks};
}

bool is_observation_check(std::string_view check) {
  return check == echo_in_order || check == http_responses_ok || check == app_checks;
}

std::optional<WorkloadKind> check_workload_kind(std::string_view check) {
  if (check == echo_in_order) return WorkloadKind::echo;
  if (check == http_responses_ok) return WorkloadKind::http;
  if (check == app_checks) return WorkloadKind::none;
  return std::nullopt;
}

std::vector<std::string> default_checks(WorkloadKind kind) {
  const std::string_view own = kind == WorkloadKind::http   ? http_responses_ok
                               : kind == WorkloadKind::none ? app_checks
                                                            : echo_in_order;
  return {std::string(own), std::string(all_tasks_finished)};
}

CheckResult check_echo_in_order(const ScenarioSpec& spec, const Observation& observation) {
  return check_clients(echo_in_order, spec, observation, echo_violation, "echoed in order");
}

CheckResult check_http_responses_ok(const ScenarioSpec& spec, const Observation& observation) {
  return check_clients(http_responses_ok, spec, observation, http_violation, "of exact responses");
}

CheckResult check_app_checks(const Observation& observation) {
  if (observation.server_error.empty()) return {std::string(app_checks), true, "the world function returned"};
  return {std::string(app_checks), false, observation.server_error};
}

std::vector<CheckResult> evaluate_checks(const ScenarioSpec& spec, const Observation& observation) {
  std::vector<CheckResult> results;
  for (const std::string& check : spec.checks) {
    if (check == echo_in_order) results.push_back(check_echo_in_order(spec, observation));
    if (check == http_responses_ok) results.push_back(check_http_responses_ok(spec, observation));
    if (check == app_checks) results.push_back(check_app_checks(observation));
  }
  return results;
}

}  // namespace iosim
