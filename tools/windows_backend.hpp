// tools/windows_backend.hpp — `--backend windows` from Linux: runs the Windows build's iosim-windows.exe
// under Wine (backends/windows/wine_process.hpp) and reads back the Observation it prints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/windows/wine_process.hpp"
#include "iosim/status.hpp"
#include "scenarios/scenario.hpp"
#include "scenarios/workload.hpp"

namespace iosim {

// $IOSIM_WINDOWS_RUNNER, else this build's <build>/windows/iosim-windows.exe; empty when iosim was built
// without the Windows build (IOSIM_WINDOWS=OFF).
std::string windows_runner_path();

// Finds wine and the runner, and boots the Wine prefix on first use (~15 s once). Errors name the missing
// piece and the step that installs or builds it.
Result<WineSetup> prepare_windows_backend();

// The absolute Unix path as Wine's Z: drive sees it ("Z:\work\x.json"), the form a Windows program opens.
std::string wine_z_path(const std::string& unix_path);

// Runs the scenario's workload on WindowsOs under Wine with the run's seed and --fault arguments. The error
// says what kept the run from happening (wine or the runner missing, the runner rejecting its input, output
// that is not an Observation); a runner that crashed gives an Observation with no clients and a server_error
// quoting Wine's "Unhandled ..." line, so the run fails its checks like any broken server.
Result<Observation> run_on_windows(const ScenarioSpec& spec, std::uint64_t seed,
                                   const std::vector<std::string>& fault_arguments);

}  // namespace iosim
