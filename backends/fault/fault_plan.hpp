// backends/fault/fault_plan.hpp — FaultPlan: every fault a run may inject, by name, with its probability. A
// scenario's "faults", --fault NAME=P and WorldConfig::faults fill it through the one set_fault table.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backends/fault/fault_os.hpp"
#include "iosim/status.hpp"
#include "kernel_model/network_faults.hpp"

namespace iosim {

// At the syscall boundary (FaultOs, any backend) and in the simulated network (kernel_model, sim only).
struct FaultPlan {
  SyscallFaults syscalls;
  kernel::network_faults network;
  bool any() const { return syscalls.any() || network.any(); }
};

inline constexpr double fault_jitter_us_max = 60e6;

// The fault names, in a fixed order: the probabilities, then jitter_us.
std::vector<std::string_view> fault_names();
// What the fault does, one line (for --help and `iosim list`); empty for an unknown name.
std::string_view fault_meaning(std::string_view name);

// Sets fault `name` to `value`: a probability in 0..1, or for jitter_us microseconds in 0..60000000. The
// error says what was wrong without naming where the value came from (callers prefix "--fault x=y" or the
// file and field).
Status set_fault(FaultPlan& plan, std::string_view name, double value);

// Applies "name=value" (eintr=0.01, segment_split=0.5, jitter_us=200 ...) to `plan`; the error starts with
// "--fault name=value" and lists the known faults when the name is not one.
Status apply_fault(FaultPlan& plan, const std::string& assignment);

// Applies a comma-separated list of "name=value" ("short_write=0.3,eintr=0.01"; empty: none), as
// WorldConfig::faults and IOSIM_FAULTS spell a plan; the error starts with the assignment that is wrong.
Status apply_fault_list(FaultPlan& plan, std::string_view assignments);

// The seed of FaultOs's PRNG for a run with schedule seed `run_seed`, the same on every backend (the Windows
// runner derives it too), so a faulty run injects the same decisions wherever it runs.
std::uint64_t syscall_fault_seed(std::uint64_t run_seed);
// The seed of the simulated kernel's network-fault PRNG (kernel_config::fault_seed) for schedule seed
// `run_seed`.
std::uint64_t network_fault_seed(std::uint64_t run_seed);

}  // namespace iosim
