// sim/strategy.cpp — the scheduling strategies (see sim/strategy.hpp).
// Each is a pure function of its own state and the runnable list, so a run is a function of the seed.
#include "sim/strategy.hpp"

namespace iosim::sim {

std::size_t RoundRobinStrategy::pick(std::span<const task_id> runnable) {
  std::size_t best = runnable.size();
  std::size_t lowest = 0;
  for (std::size_t i = 0; i < runnable.size(); ++i) {
    if (runnable[i] < runnable[lowest]) lowest = i;
    if (runnable[i] > last_ && (best == runnable.size() || runnable[i] < runnable[best])) best = i;
  }
  const std::size_t chosen = best == runnable.size() ? lowest : best;
  last_ = runnable[chosen];
  return chosen;
}

std::size_t ReplayStrategy::pick(std::span<const task_id> runnable) {
  if (next_ < choices_.size() && choices_[next_] < runnable.size()) return choices_[next_++];
  ++next_;
  ++divergences_;
  return 0;
}

std::unique_ptr<Strategy> make_strategy(std::string_view name, Prng& prng) {
  if (name == "random") return std::make_unique<RandomStrategy>(prng);
  if (name == "rr") return std::make_unique<RoundRobinStrategy>();
  return nullptr;
}

}  // namespace iosim::sim
