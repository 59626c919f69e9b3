// kernel_model/network_faults.hpp — the simulated network's fault probabilities, apart from the kernel so a
// fault plan can be named (backends/fault/fault_plan.hpp) in builds without the simulator (Windows runner).
#pragma once

#include <cstdint>

namespace iosim::kernel {

// Network faults, drawn from the kernel's own PRNG (kernel_config::fault_seed), so a run replays exactly.
// Each keeps TCP's guarantees: bytes arrive in order, or the connection is reset.
struct network_faults {
  double segment_split = 0;            // a data segment is cut to a random 1..len bytes (the rest follows)
  std::int64_t latency_jitter_ns = 0;  // each segment waits latency + a random 0..jitter (never overtaking)
  double reset = 0;                    // a data segment arrives as a RST: both ends see the connection reset
  double delayed_completion = 0;  // an overlapped I/O's completion packet reaches its port 1..1000 us late
  bool any() const {
    return segment_split > 0 || latency_jitter_ns > 0 || reset > 0 || delayed_completion > 0;
  }
};

// The longest a delayed_completion fault holds a packet back.
inline constexpr std::int64_t completion_delay_ns_max = 1'000'000;

}  // namespace iosim::kernel
