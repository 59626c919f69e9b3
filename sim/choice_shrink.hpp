// sim/choice_shrink.hpp — cutting a failing run's choice log down to a small one that still fails: the
// shortest failing prefix, then ddmin of the non-default choices, within a replay budget (iosim shrink,
// IOSIM_ARTIFACTS).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace iosim::sim {

// Replays a choice log (past its end every choice is 0) and says whether the run fails the same way.
using StillFails = std::function<bool(const std::vector<std::uint32_t>& choices)>;

struct ShrinkResult {
  std::vector<std::uint32_t> choices;  // fails the same way (or is the input, when nothing smaller did)
  int runs = 0;                        // calls to still_fails
  bool budget_reached = false;         // stopped at run_max with what it had
};

// Precondition: still_fails(choices) holds. Calls still_fails at most run_max times (plus one re-check of the
// prefix the binary search settles on, which need not fail: failure is not monotone in the prefix length).
ShrinkResult shrink_choices(std::vector<std::uint32_t> choices, const StillFails& still_fails, int run_max);

// How many choices differ from the default 0.
std::size_t non_default_choices(const std::vector<std::uint32_t>& choices);

}  // namespace iosim::sim
