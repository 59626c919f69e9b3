// sim/scheduler.cpp — the run loop: fire due timers, pick a runnable task (recording the choice), switch to it.
// Only this file switches fibers; every other layer sees yield(), block() and wake().
#include "sim/scheduler.hpp"

#include <cxxabi.h>

#include <boost/context/protected_fixedsize_stack.hpp>
#include <cstring>
#include <exception>
#include <fmt/format.h>

#include "iosim/assert.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define IOSIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IOSIM_ASAN 1
#endif
#endif
#ifdef IOSIM_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace iosim::sim {
namespace {

// AddressSanitizer must be told of every stack switch, or poison left by frames unwound on one fiber's stack
// shows up as false reports on another (compiler-rt's fiber API: start before the jump, finish after it).
// `save` is null when the context switching away ends for good; `from` learns who switched to us.
void asan_start_switch([[maybe_unused]] void** save, [[maybe_unused]] const StackBounds& to) {
#ifdef IOSIM_ASAN
  __sanitizer_start_switch_fiber(save, to.bottom, to.size);
#endif
}

void asan_finish_switch([[maybe_unused]] void* save, [[maybe_unused]] StackBounds* from) {
#ifdef IOSIM_ASAN
  const void* bottom = nullptr;
  std::size_t size = 0;
  __sanitizer_finish_switch_fiber(save, &bottom, &size);
  if (from != nullptr) *from = {bottom, size};
#endif
}

// Saves the running context's C++ exception state into `save` (unless it ends for good: null) and installs
// `load`, the state of the context about to run. Without this, std::uncaught_exceptions() in one task would
// count an exception another task is unwinding, and a catch block left open across a switch would be
// popped by another task's.
void switch_exceptions(ExceptionState* save, const ExceptionState& load) {
  static_assert(sizeof(ExceptionState) == 2 * sizeof(void*), "__cxa_eh_globals of an LP64 Itanium ABI target");
  abi::__cxa_eh_globals* const globals = abi::__cxa_get_globals();
  if (save != nullptr) std::memcpy(static_cast<void*>(save), globals, sizeof(ExceptionState));
  std::memcpy(static_cast<void*>(globals), &load, sizeof(ExceptionState));
}

// protected_fixedsize_stack (a guard page below each stack) that also notes where the stack lies.
class BoundedStack {
 public:
  BoundedStack(std::size_t bytes, StackBounds& bounds) : inner_(bytes), bounds_(&bounds) {}
  boost::context::stack_context allocate() {
    boost::context::stack_context stack = inner_.allocate();
    *bounds_ = {static_cast<const char*>(stack.sp) - stack.size, stack.size};
    return stack;
  }
  void deallocate(boost::context::stack_context& stack) noexcept { inner_.deallocate(stack); }

 private:
  boost::context::protected_fixedsize_stack inner_;
  StackBounds* bounds_;
};

}  // namespace

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
      std::allocator_arg, BoundedStack(limits_.stack_bytes, raw->stack),
      [this, raw](boost::context::fiber&& resumer) {
        asan_finish_switch(nullptr, previous_ == nullptr ? &scheduler_stack_ : nullptr);
        adopt(std::move(resumer));
        try {
          if (!raw->killed) raw->body();  // a task killed before it ever ran runs none of its code
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
        // The task's stack ends here: hand the CPU straight to the next task, or back to run().
        previous_ = raw;
        current_ = no_task;
        Task* next = next_task();
        switch_exceptions(nullptr, next ? next->exceptions : scheduler_exceptions_);
        asan_start_switch(nullptr, next ? next->stack : scheduler_stack_);  // this stack is done for good
        if (!next) return std::move(scheduler_fiber_);
        current_ = next->id;
        return std::move(next->fiber);
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
  if (block_hook_ && !killing_) block_hook_->on_exit(task.id);
  emit(EventKind::task_exit, task.name_id);
  remove_runnable(task);
  task.state = TaskState::done;
  ++done_count_;
  for (const task_id joiner : task.joiners) wake(joiner, task.name_id);
  task.joiners.clear();
}

void Scheduler::adopt(boost::context::fiber&& resumer) {
  if (previous_) {
    previous_->fiber = std::move(resumer);
  } else {
    scheduler_fiber_ = std::move(resumer);
  }
}

void Scheduler::transfer(Task* from, Task* to) {
  if (from == to) {
    current_ = to->id;
    return;
  }
  previous_ = from;
  current_ = to->id;
  void** const fake_stack = from ? &from->fake_stack : &scheduler_fake_stack_;
  switch_exceptions(from ? &from->exceptions : &scheduler_exceptions_, to->exceptions);
  asan_start_switch(fake_stack, to->stack);
  adopt(std::move(to->fiber).resume());
  asan_finish_switch(*fake_stack, nullptr);
  current_ = from ? from->id : no_task;
}

void Scheduler::reschedule(Task& self) {
  current_ = no_task;  // the decision (timers, wake-ups) runs as the kernel, not as this task
  Task* next = next_task();
  if (next) {
    transfer(&self, next);
    return;
  }
  previous_ = &self;  // the run stops: back to run(), which resumes us only to unwind (killing_)
  switch_exceptions(&self.exceptions, scheduler_exceptions_);
  asan_start_switch(&self.fake_stack, scheduler_stack_);
  adopt(std::move(scheduler_fiber_).resume());
  asan_finish_switch(self.fake_stack, nullptr);
  current_ = self.id;
}

void Scheduler::yield() {
  IOSIM_ASSERT(current_ != no_task, "yield outside a task");
  reschedule(*tasks_[current_ - 1]);
}

void Scheduler::block(std::uint32_t channel) {
  IOSIM_ASSERT(current_ != no_task, "block outside a task");
  Task& task = *tasks_[current_ - 1];
  if (task.killed) return;
  if (block_hook_) block_hook_->before_block(task.id);
  remove_runnable(task);
  task.state = TaskState::blocked;
  task.channel = channel;
  emit(EventKind::block, channel);
  reschedule(task);
  if (block_hook_) block_hook_->after_block(task.id);
}

void Scheduler::fail_run(std::string message) {
  if (killing_ || current_ == no_task) {
    teardown_failures_.push_back(std::move(message));
    return;
  }
  if (failure_.empty()) failure_ = std::move(message);
  reschedule(*tasks_[current_ - 1]);  // next_task() sees failure_ and stops the run
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
  if (block_hook_) block_hook_->on_wake(id);
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

Scheduler::Task* Scheduler::next_task() {
  using Outcome = RunResult::Outcome;
  if (killing_) {
    IOSIM_ASSERT(++kill_steps_ < 1'000'000, "a killed task keeps running instead of unwinding");
    return victim_->state == TaskState::done ? nullptr : victim_;
  }
  for (;;) {
    fire_due_timers();
    if (!failure_.empty()) {
      stop_ = Outcome::task_failed;
      return nullptr;
    }
    if (runnable_.empty()) {
      if (done_count_ == tasks_.size()) {
        stop_ = Outcome::completed;
        return nullptr;
      }
      if (!advance_to_next_timer()) {
        stop_ = Outcome::deadlock;
        return nullptr;
      }
      if (now_ns_ > limits_.time_max_ns) {
        stop_ = Outcome::time_limit;
        return nullptr;
      }
      continue;
    }
    if (steps_ >= limits_.step_max) {
      stop_ = Outcome::step_limit;
      return nullptr;
    }
    std::size_t index = 0;
    if (runnable_.size() > 1) {
      index = strategy_.pick(runnable_);
      IOSIM_ASSERT(index < runnable_.size());
      choices_.push_back(static_cast<std::uint32_t>(index));
    }
    ++steps_;
    return tasks_[runnable_[index] - 1].get();
  }
}

RunResult Scheduler::run() {
  IOSIM_ASSERT(current_ == no_task, "run() called from inside a task");
  if (Task* first = next_task()) transfer(nullptr, first);
  RunResult result;
  result.outcome = stop_.value_or(RunResult::Outcome::completed);
  result.blocked = unfinished_tasks();
  result.steps = steps_;
  result.end_time_ns = now_ns_;
  kill_unfinished();
  result.failure = failure_;
  for (const std::string& failure : teardown_failures_) {
    result.failure += fmt::format("{}while unwinding: {}", result.failure.empty() ? "" : "; ", failure);
  }
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

// Teardown: mark every unfinished task killed, then unwind them one at a time, newest first (a task is
// always newer than the task that started it, so children unwind before their parents and main last). A
// killed task's blocking calls return at once (block() does not park) and SimOs throws TaskKilled at its
// next syscall; the victim runs alone until its stack has unwound, whoever its destructors wake.
void Scheduler::kill_unfinished() {
  killing_ = true;
  for (auto& task : tasks_) task->killed = task->state != TaskState::done;
  for (auto task = tasks_.rbegin(); task != tasks_.rend(); ++task) {
    if ((*task)->state != TaskState::done) kill(**task);
  }
  victim_ = nullptr;
  timers_.clear();
}

void Scheduler::kill(Task& task) {
  if (task.state == TaskState::blocked) make_runnable(task);
  victim_ = &task;
  teardown_calls_ = 0;
  transfer(nullptr, &task);
  IOSIM_ASSERT(task.state == TaskState::done, "a killed task came back to the scheduler without unwinding");
}

}  // namespace iosim::sim
