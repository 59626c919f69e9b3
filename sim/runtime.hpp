// sim/runtime.hpp — the small interface the virtual kernel uses to park, wake and time tasks.
// kernel_model/ sees only this; the Scheduler (fibers) implements it.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "sim/trace.hpp"

namespace iosim::sim {

struct TimerId {
  std::int64_t deadline_ns = -1;
  std::uint64_t sequence = 0;
  bool armed() const { return deadline_ns >= 0; }
};

// Observes the parking of tasks (Windows: a thread associated with a completion port gives up its running
// slot when it waits on anything else — ReactOS KiActivateWaiterQueue — and takes it back when unwaited —
// KiUnlinkThread's Queue->CurrentCount++). Installed by the kernel only while a completion port exists.
class BlockHook {
 public:
  virtual ~BlockHook() = default;
  virtual void before_block(task_id task) = 0;  // the task is about to park
  virtual void on_wake(task_id task) = 0;       // a parked task was made runnable by wake()
  virtual void after_block(task_id task) = 0;   // the task runs again (after on_wake, or killed without one)
  virtual void on_exit(task_id task) = 0;       // the task finished (Windows KeTerminateThread)
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual task_id current() const = 0;
  virtual std::string_view task_name(task_id id) const = 0;
  // Parks the current task until wake(); returns at once if the task is being killed (see killed()).
  virtual void block(std::uint32_t channel) = 0;
  // The current task is being torn down: blocking waits must give up (Linux: fatal_signal_pending).
  virtual bool killed() const = 0;
  // Makes a blocked task runnable; true if it was blocked (Linux try_to_wake_up's result).
  virtual bool wake(task_id task, std::uint32_t queue) = 0;
  virtual std::int64_t now_ns() const = 0;
  virtual TimerId add_timer(std::int64_t deadline_ns, std::uint32_t purpose, std::function<void()> callback) = 0;
  virtual void cancel_timer(TimerId& timer) = 0;
  virtual Trace& trace() = 0;
  // One hook at a time; null removes it. Runtimes that cannot observe blocking ignore it.
  virtual void set_block_hook(BlockHook* hook) { (void)hook; }
};

}  // namespace iosim::sim
