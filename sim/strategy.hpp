// sim/strategy.hpp — how the scheduler picks the next task at a scheduling point.
// random: uniform from the run's PRNG; rr: round robin by task id; replay: follow a recorded choice log.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/prng.hpp"
#include "sim/trace.hpp"

namespace iosim::sim {

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string_view name() const = 0;
  // Index into `runnable` (at least two tasks, in the scheduler's deterministic order).
  virtual std::size_t pick(std::span<const task_id> runnable) = 0;
};

class RandomStrategy final : public Strategy {
 public:
  explicit RandomStrategy(Prng& prng) : prng_(prng) {}
  std::string_view name() const override { return "random"; }
  std::size_t pick(std::span<const task_id> runnable) override { return prng_.below(runnable.size()); }

 private:
  Prng& prng_;
};

// Picks the runnable task with the smallest id above the last one picked, wrapping around: every runnable
// task runs in turn, like a fair time-slicing kernel with a one-syscall quantum.
class RoundRobinStrategy final : public Strategy {
 public:
  std::string_view name() const override { return "rr"; }
  std::size_t pick(std::span<const task_id> runnable) override;

 private:
  task_id last_ = 0;
};

// Replays a choice log; past its end it falls back to index 0, and counts how often that happened.
class ReplayStrategy final : public Strategy {
 public:
  explicit ReplayStrategy(std::vector<std::uint32_t> choices) : choices_(std::move(choices)) {}
  std::string_view name() const override { return "replay"; }
  std::size_t pick(std::span<const task_id> runnable) override;
  std::uint64_t divergences() const { return divergences_; }

 private:
  std::vector<std::uint32_t> choices_;
  std::size_t next_ = 0;
  std::uint64_t divergences_ = 0;
};

// "random" or "rr"; nullopt for any other name.
std::unique_ptr<Strategy> make_strategy(std::string_view name, Prng& prng);
inline constexpr std::string_view strategy_names[] = {"random", "rr"};

}  // namespace iosim::sim
