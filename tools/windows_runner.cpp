// tools/windows_runner.cpp — iosim-windows.exe, the Windows half of `iosim run --backend windows`: runs a
// scenario's workload on WindowsOs (under Wine or on Windows) and prints the Observation as one JSON line.
//   iosim-windows.exe run SCENARIO.json [--seed N] [--fault NAME=VALUE]...
// Exit codes as the CLI's: 0 the Observation was printed (the Linux side judges the checks), 2 bad input.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "backends/fault/fault_os.hpp"
#include "backends/fault/fault_plan.hpp"
#include "backends/windows/windows_os.hpp"
#include "scenarios/scenario.hpp"
#include "scenarios/workload.hpp"

namespace {

constexpr int exit_printed = 0;
constexpr int exit_bad_input = 2;

int bad_input(const std::string& message) {
  std::fprintf(stderr, "iosim-windows: %s\n", message.c_str());
  return exit_bad_input;
}

struct RunnerOptions {
  std::string scenario;
  std::optional<std::uint64_t> seed;  // the run's seed; only the syscall-fault PRNG uses it here
  std::vector<std::string> faults;    // applied over the scenario's "faults", as the CLI does
};

int run(const RunnerOptions& options) {
  iosim::Result<iosim::ScenarioSpec> loaded = iosim::load_scenario_file(options.scenario);
  if (!loaded) return bad_input(loaded.status().message());
  const iosim::ScenarioSpec& spec = loaded.value();
  iosim::FaultPlan plan = spec.faults;
  for (const std::string& assignment : options.faults) {
    if (iosim::Status applied = iosim::apply_fault(plan, assignment); !applied)
      return bad_input(applied.message());
  }
  iosim::WindowsOs os;
  iosim::FaultOs faulty(os, plan.syscalls, iosim::syscall_fault_seed(options.seed.value_or(spec.sim.seed)));
  const iosim::Observation observation =
      iosim::run_workload(plan.syscalls.any() ? static_cast<iosim::Os&>(faulty) : os, spec);
  std::printf("%s\n", observation.to_json().dump().c_str());
  std::fflush(stdout);
  return exit_printed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"iosim-windows: runs an iosim scenario on WindowsOs and prints the Observation as JSON"};
  app.require_subcommand(1);
  app.allow_windows_style_options(false);  // "/path" is a path (under Wine), not an option
  RunnerOptions options;
  CLI::App* run_command = app.add_subcommand("run", "Run SCENARIO.json's workload on WindowsOs");
  run_command->add_option("scenario", options.scenario, "Scenario file (JSON)")->required();
  run_command->add_option("--seed", options.seed, "The run's seed (seeds the syscall-fault PRNG)");
  run_command->add_option("--fault", options.faults, "NAME=VALUE over the scenario's faults (repeatable)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : exit_bad_input;
  }
  return run(options);
}
