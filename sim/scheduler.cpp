// sim/scheduler.cpp — the run loop: fire due timers, pick a runnable task (recording the choice), switch to it.
// Only this file switches fibers; every other layer sees yield(), block() and wake().
#include "sim/scheduler.hpp"

#include <boost/context/protected_fixedsize_stack.hpp>
#include <exception>
#include <fmt/format.h>

#include "iosim/assert.hpp"

namespace iosim::sim {

std::string_view outcome_name(RunResult::Outcome outcome) {
  switch (outcome) {
    case RunResult::Outcome::completed: return "completed";
    case RunResult::Outcome::deadlock: return "deadlock";
    case RunResult::Outcome::step_limit: return "step_limit";
    case RunResult::Outcome::time_limit: return "time_limit";
    case RunResult::Outcome::task_failed: return "task_failed";
  }
  return "?";
}

Scheduler::Scheduler(Trace& trace, Strategy& strategy, SchedulerLimits limits)
    : trace_(trace), strategy_(strategy), limits_(limits) {
  name_timer_ = trace_.intern("timer");
  name_killed_ = trace_.intern("killed");
}

Scheduler::~Scheduler() { IOSIM_ASSERT(current_ == no_task, "scheduler destroyed from inside a task"); }

void Scheduler::emit(EventKind kind, std::uint32_t subject, std::uint32_t object, std::int64_t arg0,
                     std::int64_t arg1) {
  trace_.record({now_ns_, current_, kind, subject, object, arg0, arg1});
}

task_id Scheduler::spawn(std::string name, std::function<void()> body) {
  const auto id = static_cast<task_id>(tasks_.size() + 1);
  auto task = std::make_unique<Task>();
  task->id = id;
  task->name = std::move(name);
  task->name_id = trace_.intern(task->name);
  task->body = std::move(body);
  Task* raw = task.get();
  task->fiber = boost::context::fiber(
      std::allocator_arg, boost::context::protected_fixedsize_stack(limits_.stack_bytes),
      [this, raw](boost::context::fiber&& scheduler) {
        scheduler_fiber_ = std::move(scheduler);
        try {
          raw->body();
        } catch (const TaskKilled&) {
          // Unwound at teardown: nothing to report.
        } catch (const boost::context::detail::forced_unwind&) {
          throw;
        } catch (const std::exception& error) {
          if (failure_.empty()) failure_ = fmt::format("task {} threw: {}", raw->name, error.what());
        } catch (...) {
          if (failure_.empty()) failure_ = fmt::format("task {} threw a non-standard exception", raw->name);
        }
        finish(*raw);
        return std::move(scheduler_fiber_);
      });
  tasks_.push_back(std::move(task));
  emit(EventKind::task_spawn, raw->name_id, 0, current_);
  make_runnable(*raw);
  return id;
}

void Scheduler::make_runnable(Task& task) {
  task.state = TaskState::runnable;
  task.channel = 0;
  task.runnable_index = runnable_.size();
  runnable_.push_back(task.id);
}

void Scheduler::remove_runnable(Task& task) {
  const task_id last = runnable_.back();
  runnable_[task.runnable_index] = last;
  tasks_[last - 1]->runnable_index = task.runnable_index;
  runnable_.pop_back();
}

void Scheduler::finish(Task& task) {
  emit(EventKind::task_exit, task.name_id);
  remove_runnable(task);
  task.state = TaskState::done;
  ++done_count_;
  for (const task_id joiner : task.joiners) wake(joiner, task.name_id);
  task.joiners.clear();
}

void Scheduler::switch_to(Task& task) {
  current_ = task.id;
  task.fiber = std::move(task.fiber).resume();
  current_ = no_task;
}

void Scheduler::switch_to_scheduler() { scheduler_fiber_ = std::move(scheduler_fiber_).resume(); }

void Scheduler::yield() {
  IOSIM_ASSERT(current_ != no_task, "yield outside a task");
  switch_to_scheduler();
}

void Scheduler::block(std::uint32_t channel) {
  IOSIM_ASSERT(current_ != no_task, "block outside a task");
  Task& task = *tasks_[current_ - 1];
  if (task.killed) return;
  remove_runnable(task);
  task.state = TaskState::blocked;
  task.channel = channel;
  emit(EventKind::block, channel);
  switch_to_scheduler();
}

void Scheduler::join(task_id target) {
  while (!is_done(target) && !killed()) {
    tasks_[target - 1]->joiners.push_back(current_);
    block(trace_.intern(fmt::format("join({})", task_name(target))));
  }
}

bool Scheduler::wake(task_id id, std::uint32_t queue) {
  Task& task = *tasks_[id - 1];
  if (task.state != TaskState::blocked) return false;
  emit(EventKind::wake, queue, 0, id);
  make_runnable(task);
  return true;
}

TimerId Scheduler::add_timer(std::int64_t deadline_ns, std::uint32_t purpose, std::function<void()> callback) {
  const TimerId id{std::max(deadline_ns, now_ns_), ++timer_sequence_};
  timers_.emplace(std::pair{id.deadline_ns, id.sequence}, Timer{purpose, std::move(callback)});
  return id;
}

void Scheduler::cancel_timer(TimerId& timer) {
  if (timer.armed()) timers_.erase({timer.deadline_ns, timer.sequence});
  timer = TimerId{};
}

void Scheduler::fire_due_timers() {
  while (!timers_.empty() && timers_.begin()->first.first <= now_ns_) {
    auto node = timers_.extract(timers_.begin());
    emit(EventKind::timer_fire, node.mapped().purpose, 0, static_cast<std::int64_t>(node.key().second));
    node.mapped().callback();
  }
}

bool Scheduler::advance_to_next_timer() {
  if (timers_.empty()) return false;
  now_ns_ = std::max(now_ns_, timers_.begin()->first.first);
  return true;
}

RunResult Scheduler::run() {
  RunResult result;
  using Outcome = RunResult::Outcome;
  for (;;) {
    fire_due_timers();
    if (!failure_.empty()) {
      result.outcome = Outcome::task_failed;
      break;
    }
    if (runnable_.empty()) {
      if (done_count_ == tasks_.size()) break;
      if (!advance_to_next_timer()) {
        result.outcome = Outcome::deadlock;
        break;
      }
      if (now_ns_ > limits_.time_max_ns) {
        result.outcome = Outcome::time_limit;
        break;
      }
      continue;
    }
    if (steps_ >= limits_.step_max) {
      result.outcome = Outcome::step_limit;
      break;
    }
    std::size_t index = 0;
    if (runnable_.size() > 1) {
      index = strategy_.pick(runnable_);
      IOSIM_ASSERT(index < runnable_.size());
      choices_.push_back(static_cast<std::uint32_t>(index));
    }
    ++steps_;
    switch_to(*tasks_[runnable_[index] - 1]);
  }
  result.failure = failure_;
  result.blocked = unfinished_tasks();
  result.steps = steps_;
  result.end_time_ns = now_ns_;
  kill_unfinished();
  return result;
}

std::vector<BlockedTask> Scheduler::unfinished_tasks() const {
  std::vector<BlockedTask> unfinished;
  for (const auto& task : tasks_) {
    if (task->state == TaskState::done) continue;
    const std::string_view channel =
        task->state == TaskState::runnable ? std::string_view("(runnable)") : trace_.name(task->channel);
    unfinished.push_back({task->id, task->name, std::string(channel)});
  }
  return unfinished;
}

// Teardown: mark every unfinished task killed and run it until its stack has unwound. A killed task's
// blocking calls return at once (block() does not park) and SimOs throws TaskKilled at its next syscall.
void Scheduler::kill_unfinished() {
  for (auto& task : tasks_) {
    if (task->state == TaskState::done) continue;
    task->killed = true;
    if (task->state == TaskState::blocked) make_runnable(*task);
  }
  constexpr std::uint64_t unwind_step_max = 1'000'000;
  for (std::uint64_t step = 0; !runnable_.empty(); ++step) {
    IOSIM_ASSERT(step < unwind_step_max, "a killed task keeps running instead of unwinding");
    switch_to(*tasks_[runnable_.front() - 1]);
  }
  timers_.clear();
}

}  // namespace iosim::sim
