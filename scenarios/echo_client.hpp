// scenarios/echo_client.hpp — one client of the echo workload: connect, send seeded messages, verify the
// echo. Application code on iosim::Os; used by run_echo_workload (workload.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "iosim/os.hpp"
#include "scenarios/scenario.hpp"
#include "scenarios/workload.hpp"
#include "sim/prng.hpp"

namespace iosim {

// Draws the next message of a client from its Prng: first the size in [message_bytes_min,
// message_bytes_max], then the bytes, eight per Prng word.
void next_message(sim::Prng& prng, const WorkloadSpec& workload, std::vector<std::byte>& message);

// Connects to 127.0.0.1:`port` and runs client number `client` (1-based) of `workload` to the end. Never
// throws; every failure is in the report ("<call>: <errno name>" or a description of the bad echo).
ClientReport run_echo_client(Os& os, const WorkloadSpec& workload, std::uint16_t port, int client);

}  // namespace iosim
