// sim/choice_shrink.cpp — sim/choice_shrink.hpp: binary search for the shortest failing prefix, then zero
// ever smaller chunks of non-default choices while the failure persists. Every replay goes through one
// counter.
#include "sim/choice_shrink.hpp"

#include <algorithm>

namespace iosim::sim {
namespace {

class Shrinker {
 public:
  Shrinker(const StillFails& still_fails, int run_max) : still_fails_(still_fails), run_max_(run_max) {}

  bool fails(const std::vector<std::uint32_t>& choices) {
    ++runs_;
    return still_fails_(choices);
  }
  bool out_of_budget() const { return runs_ >= run_max_; }
  int runs() const { return runs_; }

  // The shortest prefix that still fails (binary search; failure need not be monotone, so it is re-checked).
  std::vector<std::uint32_t> truncate(std::vector<std::uint32_t> choices) {
    std::size_t low = 0, high = choices.size();
    while (low < high && !out_of_budget()) {
      const std::size_t middle = low + (high - low) / 2;
      if (fails(prefix(choices, middle))) {
        high = middle;
      } else {
        low = middle + 1;
      }
    }
    if (high == choices.size()) return choices;
    std::vector<std::uint32_t> shortest = prefix(choices, high);
    return fails(shortest) ? shortest : choices;
  }

  // ddmin over the non-default choices: zero ever smaller chunks while the failure persists.
  std::vector<std::uint32_t> zero_chunks(std::vector<std::uint32_t> choices) {
    for (std::size_t chunk = std::max<std::size_t>(choices.size() / 2, 1); !out_of_budget(); chunk /= 2) {
      for (std::size_t start = 0; start < choices.size() && !out_of_budget(); start += chunk) {
        const std::size_t end = std::min(choices.size(), start + chunk);
        const auto first = choices.begin() + static_cast<std::ptrdiff_t>(start);
        const auto last = choices.begin() + static_cast<std::ptrdiff_t>(end);
        if (std::all_of(first, last, [](std::uint32_t choice) { return choice == 0; })) continue;
        std::vector<std::uint32_t> candidate = choices;
        std::fill(candidate.begin() + (first - choices.begin()), candidate.begin() + (last - choices.begin()),
                  0);
        if (fails(candidate)) choices = std::move(candidate);
      }
      if (chunk == 1) break;
    }
    while (!choices.empty() && choices.back() == 0) choices.pop_back();  // trailing zeros are the default
    return choices;
  }

 private:
  static std::vector<std::uint32_t> prefix(const std::vector<std::uint32_t>& choices, std::size_t length) {
    return {choices.begin(), choices.begin() + static_cast<std::ptrdiff_t>(length)};
  }

  const StillFails& still_fails_;
  int run_max_;
  int runs_ = 0;
};

}  // namespace

ShrinkResult shrink_choices(std::vector<std::uint32_t> choices, const StillFails& still_fails, int run_max) {
  Shrinker shrinker(still_fails, run_max);
  std::vector<std::uint32_t> shrunk = shrinker.zero_chunks(shrinker.truncate(std::move(choices)));
  return {std::move(shrunk), shrinker.runs(), shrinker.out_of_budget()};
}

std::size_t non_default_choices(const std::vector<std::uint32_t>& choices) {
  return static_cast<std::size_t>(
      std::count_if(choices.begin(), choices.end(), [](std::uint32_t c) { return c != 0; }));
}

}  // namespace iosim::sim
