// tools/windows_backend.cpp — the Linux side of `--backend windows`: wine + iosim-windows.exe, its JSON line
// turned back into an Observation; every host-level failure comes back as a Status for exit code 2.
#include "tools/windows_backend.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace iosim {
namespace {

constexpr int runner_exit_bad_input = 2;  // tools/windows_runner.cpp's exit code for bad input

// The application died under Wine (an unhandled exception: Wine prints "wine: Unhandled page fault on write
// access to ..." and a backtrace on stderr). That is the app's failure, not bad input: an Observation without
// clients whose server error quotes Wine's "Unhandled" line, so the checks fail and the CLI prints its
// reproduce line.
Observation crashed_run(const ScenarioSpec& spec, const WineRunResult& run) {
  const std::string& text = run.err.empty() ? run.out : run.err;
  const std::size_t unhandled = text.find("Unhandled");
  const std::size_t start =
      unhandled == std::string::npos ? 0 : text.rfind('\n', unhandled) + 1;  // npos + 1 == 0
  const std::string first_line = text.substr(start, text.find('\n', start) - start);
  Observation observation;
  observation.workload = spec.workload.kind;
  observation.server_error =
      fmt::format("iosim-windows.exe exited with {} and no observation: {}", run.exit_code, first_line);
  return observation;
}

}  // namespace

std::string windows_runner_path() {
  if (const char* path = std::getenv("IOSIM_WINDOWS_RUNNER")) return path;
  const std::string build_dir = IOSIM_WINDOWS_BUILD_DIR;
  return build_dir.empty() ? std::string() : build_dir + "/iosim-windows.exe";
}

Result<WineSetup> prepare_windows_backend() {
  const std::string runner = windows_runner_path();
  if (runner.empty())
    return Status::error(
        "--backend windows: this iosim was built without the Windows build (IOSIM_WINDOWS=OFF): run "
        "tools/install-deps (mingw-w64, wine) and reconfigure");
  if (!std::filesystem::is_regular_file(runner))
    return Status::error(fmt::format(
        "--backend windows: {} not found: build it (`cmake --build build`, which cross-compiles it with "
        "mingw-w64 from tools/install-deps), or set IOSIM_WINDOWS_RUNNER",
        runner));
  Result<WineSetup> setup = find_wine(default_wine_prefix());
  if (!setup) return Status::error("--backend windows: " + setup.error());
  if (Status booted = ensure_wine_prefix(*setup); !booted)
    return Status::error("--backend windows: " + booted.message());
  return setup;
}

std::string wine_z_path(const std::string& unix_path) {
  std::string path = "Z:" + std::filesystem::absolute(unix_path).lexically_normal().string();
  for (char& c : path) {
    if (c == '/') c = '\\';
  }
  return path;
}

Result<Observation> run_on_windows(const ScenarioSpec& spec, std::uint64_t seed,
                                   const std::vector<std::string>& fault_arguments) {
  if (spec.path.empty())
    return Status::error("--backend windows needs a scenario file (the runner reads it)");
  Result<WineSetup> setup = prepare_windows_backend();
  if (!setup) return setup.status();
  std::vector<std::string> args{"run", wine_z_path(spec.path), "--seed", std::to_string(seed)};
  for (const std::string& fault : fault_arguments) {
    args.push_back("--fault");
    args.push_back(fault);
  }
  const Result<WineRunResult> run = run_under_wine(*setup, windows_runner_path(), args);
  if (!run) return Status::error("--backend windows: " + run.error());
  if (run->exit_code == runner_exit_bad_input)
    return Status::error(
        fmt::format("--backend windows: iosim-windows.exe rejected its input: {}", run->err));
  const nlohmann::json json = nlohmann::json::parse(run->out, nullptr, /*allow_exceptions=*/false);
  if (run->exit_code != 0 || json.is_discarded()) return crashed_run(spec, *run);
  Result<Observation> observation = Observation::from_json(json);
  if (!observation)
    return Status::error("--backend windows: iosim-windows.exe printed " + observation.error());
  return observation;
}

}  // namespace iosim
