// sim/scheduler.hpp — tasks as Boost.Context fibers on one OS thread, a virtual clock with timers, and the
// choice made at every scheduling point. Task states: runnable <-> blocked -> done; kill unwinds at teardown.
#pragma once

#include <boost/context/fiber.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/prng.hpp"
#include "sim/runtime.hpp"
#include "sim/strategy.hpp"
#include "sim/trace.hpp"

namespace iosim::sim {

struct SchedulerLimits {
  std::uint64_t step_max = 20'000'000;                // scheduling points before the run is called a livelock
  std::int64_t time_max_ns = 3600LL * 1'000'000'000;  // virtual time before the run is stopped
  std::size_t stack_bytes = 256 * 1024;               // per task, with a guard page
};

enum class TaskState : std::uint8_t { runnable, blocked, done };

// The C++ runtime's exception state of one context (Itanium C++ ABI 2.2.2, __cxa_eh_globals: the caught
// exceptions and the count std::uncaught_exceptions() reads). The runtime keeps one per OS thread; every
// fiber switch swaps it, so an exception unwinding one task is invisible to the others.
struct ExceptionState {
  void* caught_exceptions = nullptr;
  unsigned int uncaught_exceptions = 0;
};

// Where a context's stack lies, for AddressSanitizer's fiber-switch annotations (unused in other builds).
struct StackBounds {
  const void* bottom = nullptr;
  std::size_t size = 0;
};

struct BlockedTask {
  task_id id;
  std::string name;
  std::string channel;  // what it waits on: "recv sk_sleep(sock 127.0.0.1:8080<-127.0.0.1:32768)", "join(client-1)"
};

struct RunResult {
  enum class Outcome { completed, deadlock, step_limit, time_limit, task_failed };
  Outcome outcome = Outcome::completed;
  std::vector<BlockedTask> blocked;  // every task not finished when the run stopped, with its wait channel
  std::string failure;               // for task_failed: which task threw what
  std::uint64_t steps = 0;
  std::int64_t end_time_ns = 0;
};
std::string_view outcome_name(RunResult::Outcome outcome);

// Thrown inside a task that was killed at teardown, to unwind its stack; the task's entry catches it.
struct TaskKilled {};

inline constexpr std::uint64_t teardown_grace_calls_max = 10'000;

class Scheduler final : public Runtime {
 public:
  Scheduler(Trace& trace, Strategy& strategy, SchedulerLimits limits = {});
  ~Scheduler() override;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  task_id spawn(std::string name, std::function<void()> body);

  // Runs until every task is done, or the run deadlocks, livelocks, runs out of virtual time or a task throws.
  // Unfinished tasks are then killed and their stacks unwound one at a time, the newest task first and
  // "main" last: a thread's destructors run while the objects its parent owns (the server on main's stack,
  // its mutexes) still exist, so no unwinding touches what another task's unwinding freed.
  RunResult run();

  // --- called from inside a task ---
  task_id current() const override { return current_; }
  std::string_view task_name(task_id id) const override { return tasks_[id - 1]->name; }
  // A scheduling point: the current task stays runnable and the strategy picks who runs next.
  void yield();
  // Parks the current task until wake(); `channel` (an interned name) says what it waits for. Returns at
  // once when the task has been killed: callers then see killed() and give up (as Linux's signal_pending).
  void block(std::uint32_t channel) override;
  bool killed() const override { return current_ != no_task && tasks_[current_ - 1]->killed; }
  // A misuse the application cannot survive (a mutex destroyed while held, a Thread destroyed unjoined):
  // the run stops at once with outcome task_failed and `message`; the current task is parked where it is
  // and unwound with the others. During teardown the message is added to the report instead.
  void fail_run(std::string message);
  // A torn-down task's calls that run in destructors (close, join, lock, unlock ...) return normally, so no
  // exception leaves a destructor; past teardown_grace_calls_max of them the task is taken to loop on them,
  // and the next one unwinds it.
  bool teardown_grace_left() const { return teardown_calls_ < teardown_grace_calls_max; }
  void spend_teardown_grace() { ++teardown_calls_; }
  // Blocks the current task until `task` is done (or the current task is killed).
  void join(task_id task);
  std::uint32_t wait_channel(task_id id) const { return tasks_[id - 1]->channel; }

  // --- called from tasks or timer callbacks ---
  // Makes a blocked task runnable; `queue` names the wait queue it was woken through. No-op if not blocked.
  bool wake(task_id task, std::uint32_t queue) override;
  bool is_done(task_id task) const { return tasks_[task - 1]->state == TaskState::done; }
  int& task_errno(task_id task) { return tasks_[task - 1]->errno_value; }

  // --- virtual time ---
  std::int64_t now_ns() const override { return now_ns_; }
  // Lets the current task consume virtual time (a syscall's cost), so busy loops still move the clock.
  void consume(std::int64_t duration_ns) { now_ns_ += duration_ns; }
  TimerId add_timer(std::int64_t deadline_ns, std::uint32_t purpose, std::function<void()> callback) override;
  void cancel_timer(TimerId& timer) override;

  Trace& trace() override { return trace_; }
  void set_block_hook(BlockHook* hook) override { block_hook_ = hook; }
  const std::vector<std::uint32_t>& choices() const { return choices_; }
  std::uint64_t steps() const { return steps_; }

 private:
  struct Task {
    task_id id;
    std::string name;
    std::uint32_t name_id;
    std::function<void()> body;
    boost::context::fiber fiber;
    TaskState state = TaskState::runnable;
    std::uint32_t channel = 0;       // interned wait channel while blocked
    std::size_t runnable_index = 0;  // position in runnable_ while runnable
    std::vector<task_id> joiners;
    int errno_value = 0;
    bool killed = false;
    ExceptionState exceptions;       // saved while it is switched out
    StackBounds stack;               // its fiber's stack
    void* fake_stack = nullptr;      // ASan's fake-stack handle while it is switched out
  };
  struct Timer {
    std::uint32_t purpose;
    std::function<void()> callback;
  };

  void make_runnable(Task& task);
  void remove_runnable(Task& task);
  // The scheduling decision, run on whichever stack is current: fire due timers, advance the clock, pick
  // the next task (recording the choice). Null when the run stops (stop_ then says why).
  Task* next_task();
  // Switches from the current task (or the scheduler's own context, when `from` is null) straight to `to`:
  // one fiber switch per step. Returns when someone switches back.
  void transfer(Task* from, Task* to);
  // The current task gives the CPU to whoever the scheduler picks next (itself included).
  void reschedule(Task& self);
  // Stores the continuation of the context that just switched to us (Boost.Context hands it over).
  void adopt(boost::context::fiber&& resumer);
  void fire_due_timers();
  bool advance_to_next_timer();
  void finish(Task& task);
  void kill_unfinished();
  void kill(Task& task);
  std::vector<BlockedTask> unfinished_tasks() const;
  void emit(EventKind kind, std::uint32_t subject, std::uint32_t object = 0, std::int64_t arg0 = 0,
            std::int64_t arg1 = 0);

  Trace& trace_;
  Strategy& strategy_;
  SchedulerLimits limits_;
  std::vector<std::unique_ptr<Task>> tasks_;  // index = id - 1
  std::vector<task_id> runnable_;             // deterministic order: the order tasks became runnable (swap-remove)
  std::map<std::pair<std::int64_t, std::uint64_t>, Timer> timers_;
  std::uint64_t timer_sequence_ = 0;
  std::vector<std::uint32_t> choices_;
  boost::context::fiber scheduler_fiber_;  // run()'s context: entered at the start and when the run stops
  Task* previous_ = nullptr;               // who switched last (null: run()'s context)
  ExceptionState scheduler_exceptions_;    // run()'s, while a task runs
  StackBounds scheduler_stack_;            // run()'s stack, learnt at the first switch away from it (ASan)
  void* scheduler_fake_stack_ = nullptr;
  std::optional<RunResult::Outcome> stop_;
  bool killing_ = false;                   // teardown: unwinding unfinished tasks, no strategy, no timers
  Task* victim_ = nullptr;                 // teardown: the one task unwinding now
  std::uint64_t teardown_calls_ = 0;       // teardown: the victim's calls that returned instead of unwinding
  std::vector<std::string> teardown_failures_;  // misuse found while unwinding (fail_run during teardown)
  std::uint64_t kill_steps_ = 0;
  task_id current_ = no_task;
  std::int64_t now_ns_ = 0;
  std::uint64_t steps_ = 0;
  std::size_t done_count_ = 0;
  std::string failure_;
  std::uint32_t name_timer_ = 0, name_killed_ = 0;
  BlockHook* block_hook_ = nullptr;
};

}  // namespace iosim::sim
