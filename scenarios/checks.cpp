// scenarios/checks.cpp — evaluation of the observation checks. Each check reports the first violation it
// finds, in client order, so the same observation always gives the same detail text.
#include "scenarios/checks.hpp"

#include <fmt/format.h>

namespace iosim {
namespace {

constexpr std::string_view echo_in_order = "echo_in_order";
constexpr std::string_view all_tasks_finished = "all_tasks_finished";

// Empty when the client's report shows a complete, exact echo; otherwise what is wrong with it.
std::string client_violation(const WorkloadSpec& workload, const ClientReport& report) {
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

}  // namespace

std::vector<std::string_view> known_checks() {
  return {echo_in_order, all_tasks_finished};
}

bool is_observation_check(std::string_view check) {
  return check == echo_in_order;
}

CheckResult check_echo_in_order(const ScenarioSpec& spec, const Observation& observation) {
  CheckResult result{std::string(echo_in_order), false, {}};
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
    if (std::string violation = client_violation(spec.workload, report); !violation.empty()) {
      result.detail = fmt::format("client {}: {}", report.client, violation);
      return result;
    }
    bytes += report.bytes_received;
  }
  result.passed = true;
  result.detail = fmt::format("{} clients, {} bytes echoed in order", observation.clients.size(), bytes);
  return result;
}

std::vector<CheckResult> evaluate_checks(const ScenarioSpec& spec, const Observation& observation) {
  std::vector<CheckResult> results;
  for (const std::string& check : spec.checks) {
    if (check == echo_in_order) results.push_back(check_echo_in_order(spec, observation));
  }
  return results;
}

}  // namespace iosim
