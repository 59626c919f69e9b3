// sim/strategy.cpp — the scheduling strategies (see sim/strategy.hpp).
// Each is a pure function of its own state and the runnable list, so a run is a function of the seed.
#include "sim/strategy.hpp"

#include <algorithm>

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

PctStrategy::PctStrategy(Prng& prng, int depth, std::uint64_t expected_steps)
    : prng_(prng), base_(static_cast<std::uint64_t>(depth) << 32) {
  const std::uint64_t steps = expected_steps == 0 ? 1 : expected_steps;
  for (int i = 1; i < depth; ++i) change_points_.emplace_back(1 + prng_.below(steps), i);
  std::sort(change_points_.begin(), change_points_.end());
}

std::uint64_t PctStrategy::priority_of(task_id task) {
  if (task >= priorities_.size()) priorities_.resize(task + 1, 0);
  // A new task gets a random place among the initial priorities (ties broken by id below).
  if (priorities_[task] == 0) priorities_[task] = base_ + 1 + (prng_.next() >> 33);
  return priorities_[task];
}

std::size_t PctStrategy::pick(std::span<const task_id> runnable) {
  ++step_;
  const auto highest = [&] {
    std::size_t best = 0;
    for (std::size_t i = 1; i < runnable.size(); ++i) {
      const std::uint64_t a = priority_of(runnable[i]), b = priority_of(runnable[best]);
      if (a > b || (a == b && runnable[i] < runnable[best])) best = i;
    }
    return best;
  };
  std::size_t chosen = highest();
  // Every change point at this step lowers the task about to run to that change point's rank.
  while (next_change_ < change_points_.size() && change_points_[next_change_].first <= step_) {
    priorities_[runnable[chosen]] = change_points_[next_change_].second;
    ++next_change_;
    chosen = highest();
  }
  return chosen;
}

std::unique_ptr<Strategy> make_strategy(std::string_view name, Prng& prng, const StrategyOptions& options) {
  if (name == "random") return std::make_unique<RandomStrategy>(prng);
  if (name == "rr") return std::make_unique<RoundRobinStrategy>();
  if (name == "pct") return std::make_unique<PctStrategy>(prng, options.pct_depth, options.pct_steps);
  return nullptr;
}

}  // namespace iosim::sim
