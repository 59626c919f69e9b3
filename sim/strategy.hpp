// sim/strategy.hpp — how the scheduler picks the next task at a scheduling point.
// random: uniform from the run's PRNG; rr: round robin by task id; replay: follow a recorded choice log.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
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

// Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010): every task
// gets a random priority above `depth`; depth-1 change points are drawn uniformly from the first
// `expected_steps` choice points; the runnable task with the highest priority always runs, and at the i-th
// change point the task about to run drops to priority i (below every initial one). For a bug of depth d
// in a run of k choice points among n tasks, one run finds it with probability at least 1/(n * k^(d-1)).
class PctStrategy final : public Strategy {
 public:
  PctStrategy(Prng& prng, int depth, std::uint64_t expected_steps);
  std::string_view name() const override { return "pct"; }
  std::size_t pick(std::span<const task_id> runnable) override;

 private:
  std::uint64_t priority_of(task_id task);

  Prng& prng_;
  std::vector<std::uint64_t> priorities_;      // by task id; 0 = not seen yet
  // (choice-point number k_i, priority i), sorted by k_i: the i-th drawn point lowers a task to priority i.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> change_points_;
  std::uint64_t step_ = 0;
  std::size_t next_change_ = 0;
  std::uint64_t base_;                         // initial priorities are base_ + random, above every change value
};

struct StrategyOptions {
  int pct_depth = 3;
  std::uint64_t pct_steps = 10'000;  // the expected number of choice points of a run
};

// "random", "rr" or "pct"; null for any other name.
std::unique_ptr<Strategy> make_strategy(std::string_view name, Prng& prng, const StrategyOptions& options = {});
inline constexpr std::string_view strategy_names[] = {"random", "rr", "pct"};

}  // namespace iosim::sim
