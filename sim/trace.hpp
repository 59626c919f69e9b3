// sim/trace.hpp — the event stream of a run and its 64-bit trace-hash.
// Events are small PODs (names interned once) so tracing stays cheap on the hot path; the hash covers every event.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace iosim::sim {

using task_id = std::uint32_t;
inline constexpr task_id no_task = 0;  // tasks are numbered from 1; 0 is "the kernel / no task"

enum class EventKind : std::uint8_t {
  task_spawn,   // subject: task name; arg0: parent task
  task_exit,    //
  sys_enter,    // subject: syscall name; arg0, arg1: first arguments
  sys_exit,     // subject: syscall name; arg0: result; arg1: errno
  block,        // subject: wait channel
  wake,         // subject: wait queue; arg0: woken task (the event's task is the waker)
  timer_fire,   // subject: timer purpose; arg0: timer sequence number
  kernel,       // subject: kernel event name (tcp.deliver, tcp.state, ...); object, arg0, arg1: its data
  fault,        // subject: fault name
  note,         // subject: free text
};

std::string_view event_kind_name(EventKind kind);

struct TraceEvent {
  std::int64_t time_ns;
  task_id task;
  EventKind kind;
  std::uint32_t subject;  // an interned name
  std::uint32_t object;   // an interned object name (socket, wait queue ...) or 0
  std::int64_t arg0;
  std::int64_t arg1;
};

// Interns names, hashes every event and, when asked, keeps them for --trace-out.
class Trace {
 public:
  Trace();

  // Returns the id of `name`, adding it the first time. Ids are assigned in call order, so they are
  // deterministic for a deterministic run. Id 0 is the empty name.
  std::uint32_t intern(std::string_view name);
  std::string_view name(std::uint32_t id) const { return names_[id]; }
  // Gives id a new content (an object named by the program: "tcp#4" becomes "tcp#4(listener)"). Events keep
  // their ids, so every event of the object, before and after, reads the new name; events already recorded
  // were hashed with the old one. Two ids may end up with the same content; intern() then finds the lower.
  void rename(std::uint32_t id, std::string_view name);
  std::size_t name_count() const { return names_.size(); }

  void record(const TraceEvent& event);

  void set_capture(bool capture) { capture_ = capture; }
  const std::vector<TraceEvent>& events() const { return events_; }
  std::uint64_t hash() const { return hash_; }
  std::uint64_t event_count() const { return event_count_; }

 private:
  std::uint32_t find(std::string_view name) const;
  void index_names(std::size_t slot_count);

  std::vector<std::string> names_;
  std::vector<std::uint64_t> name_hashes_;  // content hash of names_[i], so events hash names by content
  std::vector<std::uint32_t> name_slots_;  // open-addressing index into names_, keyed by content hash
  std::vector<TraceEvent> events_;
  std::uint64_t hash_;
  std::uint64_t event_count_ = 0;
  bool capture_ = false;
};

// 64-bit content hash of a byte string (FNV-1a then a SplitMix finalizer): stable across machines.
std::uint64_t hash_bytes(std::string_view bytes, std::uint64_t seed = 0);

}  // namespace iosim::sim
