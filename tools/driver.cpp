// tools/driver.cpp — scenario runs on SimOs, LinuxOs and WindowsOs (under Wine), the driver-level check
// (all_tasks_finished), and the comparison behind `iosim diff`.
#include "tools/driver.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>

#include "backends/linux/linux_os.hpp"
#include "tools/windows_backend.hpp"

namespace iosim {
namespace {

CheckResult check_all_tasks_finished(const RunReport& report) {
  CheckResult result{"all_tasks_finished", true, "every thread returned"};
  if (!report.sim) return result;  // natively, run_workload returning means every thread was joined
  const sim::RunResult& run = report.sim->run;
  if (run.outcome == sim::RunResult::Outcome::completed) return result;
  result.passed = false;
  result.detail = fmt::format("run stopped: {}", sim::outcome_name(run.outcome));
  if (!run.failure.empty()) result.detail += " (" + run.failure + ")";
  for (const sim::BlockedTask& task : run.blocked) {
    result.detail += task.channel == "(runnable)" ? fmt::format("; {} was runnable", task.name)
                                                  : fmt::format("; {} waits on {}", task.name, task.channel);
  }
  return result;
}

void judge(const ScenarioSpec& spec, RunReport& report) {
  report.checks = evaluate_checks(spec, report.observation);
  for (const std::string& check : spec.checks) {
    if (check == "all_tasks_finished") report.checks.push_back(check_all_tasks_finished(report));
  }
  report.passed = true;
  for (const CheckResult& check : report.checks) report.passed = report.passed && check.passed;
}

}  // namespace

Status apply_faults(RunRequest& request, const std::vector<std::string>& assignments) {
  FaultPlan scratch;
  for (const std::string& assignment : assignments) {
    if (Status applied = apply_fault(scratch, assignment); !applied) return applied;
    request.fault_arguments.push_back(assignment);
  }
  return Status::ok();
}

FaultPlan effective_faults(const ScenarioSpec& spec, const RunRequest& request) {
  FaultPlan plan = spec.faults;
  for (const std::string& assignment : request.fault_arguments) (void)apply_fault(plan, assignment);
  return plan;
}

SimConfig sim_config_for(const ScenarioSpec& spec, const RunRequest& request) {
  SimConfig config;
  config.seed = request.seed.value_or(spec.sim.seed);
  config.strategy = request.strategy.value_or(spec.sim.strategy);
  config.capture_trace = request.capture_trace;
  config.strategy_options = request.strategy_options;
  if (request.replay_choices) {
    config.strategy = "replay";
    config.replay_choices = *request.replay_choices;
  }
  config.kernel.latency_ns = spec.network.latency_us * 1000;
  config.limits.step_max = spec.sim.step_max;
  config.kernel.faults = effective_faults(spec, request).network;
  config.kernel.fault_seed = network_fault_seed(config.seed);
  return config;
}

RunReport run_scenario(const ScenarioSpec& spec, const RunRequest& request,
                       const std::function<void(SimOs&)>& inspect) {
  RunReport report;
  report.backend = request.backend;
  report.seed = request.seed.value_or(spec.sim.seed);
  report.strategy = request.strategy.value_or(spec.sim.strategy);
  report.strategy_options = request.strategy_options;
  report.choices_path = request.choices_path;
  report.fault_arguments = request.fault_arguments;
  const std::uint64_t fault_seed = syscall_fault_seed(report.seed);
  const SyscallFaults syscall_faults = effective_faults(spec, request).syscalls;
  if (request.backend == "windows") {
    Result<Observation> observation = run_on_windows(spec, report.seed, request.fault_arguments);
    if (!observation) {
      report.host_error = observation.error();
      return report;
    }
    report.observation = std::move(observation).value();
  } else if (request.backend == "linux") {
    LinuxOs os;
    FaultOs faulty(os, syscall_faults, fault_seed);
    report.observation = run_workload(syscall_faults.any() ? static_cast<Os&>(faulty) : os, spec);
  } else {
    SimOs os(sim_config_for(spec, request));
    FaultOs faulty(os, syscall_faults, fault_seed, [&os](std::string_view fault) { os.trace_fault(fault); });
    Os& app_os = syscall_faults.any() ? static_cast<Os&>(faulty) : os;
    Observation observation;
    report.sim = os.run([&] { observation = run_workload(app_os, spec); });
    report.observation = std::move(observation);
    if (inspect) inspect(os);
  }
  judge(spec, report);
  return report;
}

void judge_run(const ScenarioSpec& spec, RunReport& report) {
  judge(spec, report);
}

std::string& program_name_storage() {
  static std::string name = "iosim";
  return name;
}

const std::string& program_name() {
  return program_name_storage();
}

void set_program_name(std::string name) {
  program_name_storage() = std::move(name);
}

std::string reproduce_command(const ScenarioSpec& spec, const RunReport& report) {
  std::string command = fmt::format("{} run {}", program_name(), spec.path.empty() ? spec.name : spec.path);
  for (const std::string& fault : report.fault_arguments) command += " --fault " + fault;
  if (report.backend != "sim") return command + " --backend " + report.backend;
  if (!report.choices_path.empty())
    return command + fmt::format(" --seed {} --choices {}", report.seed, report.choices_path);
  command += fmt::format(" --seed {} --strategy {}", report.seed, report.strategy);
  if (report.strategy == "pct") {
    command += fmt::format(" --pct-depth {} --pct-steps {}", report.strategy_options.pct_depth,
                           report.strategy_options.pct_steps);
  }
  return command;
}

std::vector<std::string> RunReport::failed_checks() const {
  std::vector<std::string> failed;
  for (const CheckResult& check : checks) {
    if (!check.passed) failed.push_back(check.check);
  }
  return failed;
}

std::vector<std::string> compare_observations(const Observation& sim, const Observation& native,
                                              std::string_view native_backend) {
  std::vector<std::string> differences;
  if (sim.server_error != native.server_error) {
    differences.push_back(fmt::format("server error: sim \"{}\", {} \"{}\"", sim.server_error, native_backend,
                                      native.server_error));
  }
  if (sim.clients.size() != native.clients.size()) {
    differences.push_back(
        fmt::format("clients: sim {}, {} {}", sim.clients.size(), native_backend, native.clients.size()));
    return differences;
  }
  for (std::size_t i = 0; i < sim.clients.size(); ++i) {
    const ClientReport& a = sim.clients[i];
    const ClientReport& b = native.clients[i];
    const auto field = [&](std::string_view name, auto sim_value, auto native_value) {
      if (sim_value != native_value) {
        differences.push_back(fmt::format("client-{} {}: sim {}, {} {}", a.client, name, sim_value,
                                          native_backend, native_value));
      }
    };
    field("connected", a.connected, b.connected);
    field("bytes_sent", a.bytes_sent, b.bytes_sent);
    field("bytes_received", a.bytes_received, b.bytes_received);
    field("echoed_in_order", a.echoed_in_order, b.echoed_in_order);
    field("transcript_hash", fmt::format("{:016x}", a.transcript_hash),
          fmt::format("{:016x}", b.transcript_hash));
    field("error", '"' + a.error + '"', '"' + b.error + '"');
  }
  return differences;
}

}  // namespace iosim
