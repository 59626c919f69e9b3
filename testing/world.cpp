// testing/world.cpp — include/iosim/sim.hpp on SimOs: one world per call, its outcome translated into the
// public WorldResult (no sim/ or kernel_model/ type leaks into the public header).
#include <fmt/format.h>

#include <algorithm>
#include <boost/context/fiber.hpp>

#include "backends/fault/fault_os.hpp"
#include "backends/fault/fault_plan.hpp"
#include "backends/sim/sim_os.hpp"
#include "backends/sim/trace_format.hpp"
#include "iosim/assert.hpp"
#include "iosim/sim.hpp"

namespace iosim {
namespace {

// The plan WorldConfig::faults names; run_world's precondition says it is valid.
FaultPlan fault_plan(const WorldConfig& config) {
  FaultPlan plan;
  const Status applied = apply_fault_list(plan, config.faults);
  IOSIM_ASSERT(applied.is_ok(), "run_world: WorldConfig::faults is not valid (check it with check_faults)");
  return plan;
}

// The SimOs configuration of a world, seeded as `iosim run` seeds a scenario's run.
SimConfig sim_config(const WorldConfig& config, const FaultPlan& faults) {
  SimConfig sim;
  sim.seed = config.seed;
  sim.strategy = config.strategy;
  if (config.replay_choices) {
    sim.strategy = "replay";
    sim.replay_choices = *config.replay_choices;
  }
  sim.strategy_options.pct_depth = config.pct_depth;
  sim.strategy_options.pct_steps = config.pct_steps;
  sim.capture_trace = config.trace_out != nullptr;
  sim.kernel.latency_ns = config.latency_ns;
  sim.kernel.faults = faults.network;
  sim.kernel.fault_seed = network_fault_seed(config.seed);
  sim.limits.step_max = config.step_max;
  sim.limits.time_max_ns = config.time_max_ns;
  return sim;
}

WorldResult::Outcome public_outcome(sim::RunResult::Outcome outcome) {
  using From = sim::RunResult::Outcome;
  using To = WorldResult::Outcome;
  switch (outcome) {
    case From::completed:
      return To::completed;
    case From::deadlock:
      return To::deadlock;
    case From::step_limit:
      return To::step_limit;
    case From::time_limit:
      return To::time_limit;
    case From::task_failed:
      return To::task_failed;
  }
  return To::task_failed;
}

// The world run_world is running on this thread, for stop_world.
SimOs* running_world = nullptr;

}  // namespace

void stop_world(std::string_view what) {
  if (running_world == nullptr) return;
  sim::Scheduler& scheduler = running_world->scheduler();
  if (scheduler.current() == sim::no_task) return;
  scheduler.fail_run(fmt::format("task {} threw: {}", scheduler.task_name(scheduler.current()), what));
}

std::string_view outcome_name(WorldResult::Outcome outcome) {
  switch (outcome) {
    case WorldResult::Outcome::completed:
      return "completed";
    case WorldResult::Outcome::deadlock:
      return "deadlock";
    case WorldResult::Outcome::step_limit:
      return "step_limit";
    case WorldResult::Outcome::time_limit:
      return "time_limit";
    case WorldResult::Outcome::task_failed:
      return "task_failed";
  }
  return "unknown";
}

bool is_strategy_name(std::string_view name) {
  return std::ranges::find(sim::strategy_names, name) != std::end(sim::strategy_names);
}

std::string WorldResult::trace_hash_hex() const {
  return fmt::format("{:016x}", trace_hash);
}

std::string WorldResult::summary() const {
  std::string text = fmt::format("{} after {} steps at {:.3f} ms virtual", outcome_name(outcome), steps,
                                 static_cast<double>(end_time_ns) / 1e6);
  if (!failure.empty()) text += "; " + failure;
  if (!blocked.empty()) {
    text += "; unfinished:";
    for (std::size_t i = 0; i < blocked.size(); ++i) {
      text += fmt::format("{} {} in {}", i == 0 ? "" : ",", blocked[i].name, blocked[i].channel);
    }
  }
  return text;
}

Status check_faults(std::string_view faults) {
  FaultPlan plan;
  return apply_fault_list(plan, faults);
}

namespace {

// Runs `body` on `os` (or on a FaultOs over it when the plan has syscall faults) as the world's main task; an
// exception `body` throws is kept in `result` and stops the world.
SimOutcome run_main(SimOs& os, const FaultPlan& faults, const std::function<void(Os&)>& body,
                    WorldResult& result) {
  FaultOs faulty(os, faults.syscalls, syscall_fault_seed(os.config().seed),
                 [&os](std::string_view fault) { os.trace_fault(fault); });
  Os& app_os = faults.syscalls.any() ? static_cast<Os&>(faulty) : os;
  return os.run([&] {
    try {
      body(app_os);
    } catch (const sim::TaskKilled&) {
      throw;  // teardown unwinding, not a failure of main
    } catch (const boost::context::detail::forced_unwind&) {
      throw;
    } catch (...) {
      result.exception = std::current_exception();
      throw;  // the scheduler stops the world with task_failed and names the exception
    }
  });
}

void fill_result(const WorldConfig& config, const SimOs& os, SimOutcome outcome, WorldResult& result) {
  result.outcome = public_outcome(outcome.run.outcome);
  result.failure = outcome.run.failure;
  for (const sim::BlockedTask& task : outcome.run.blocked)
    result.blocked.push_back({task.name, task.channel});
  result.seed = config.seed;
  result.strategy = os.config().strategy;
  result.steps = outcome.run.steps;
  result.choices = outcome.choices.size();
  result.choice_log = std::move(outcome.choices);
  result.end_time_ns = outcome.run.end_time_ns;
  result.trace_hash = outcome.trace_hash;
  result.event_count = outcome.event_count;
}

}  // namespace

WorldResult run_world(const WorldConfig& config, const std::function<void(Os&)>& body) {
  IOSIM_ASSERT(is_strategy_name(config.strategy),
               "run_world: unknown strategy (check is_strategy_name first)");
  const FaultPlan faults = fault_plan(config);
  set_assert_context(fmt::format("seed {}, strategy {}{}", config.seed, config.strategy,
                                 config.reproduce.empty() ? "" : "; reproduce: " + config.reproduce));
  SimOs os(sim_config(config, faults));
  WorldResult result;
  SimOs* const enclosing_world = running_world;
  running_world = &os;
  SimOutcome outcome = run_main(os, faults, body, result);
  running_world = enclosing_world;
  set_assert_context("");
  fill_result(config, os, std::move(outcome), result);
  if (config.trace_out != nullptr) write_trace_jsonl(*config.trace_out, os);
  return result;
}

}  // namespace iosim
