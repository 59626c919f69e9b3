// tools/perfetto.cpp — trace-event JSON export: one pass over the captured events in time order, keeping per
// task the open slices (task > syscall > sleep | runnable) and per object its counters; flows are matched
// afterwards.
#include "tools/perfetto.hpp"

#include <fmt/format.h>

#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "iosim/abi.hpp"
#include "iosim/assert.hpp"
#include "kernel_model/tcp.hpp"
#include "backends/sim/trace_format.hpp"

namespace iosim {
namespace {

using json = nlohmann::json;
using sim::EventKind;
using sim::TraceEvent;

constexpr struct {
  int pid;
  std::string_view name;
} process_names[] = {
    {perfetto_pid_tasks, "tasks"},
    {perfetto_pid_kernel, "kernel context"},
    {perfetto_pid_wait_queues, "wait queues"},
    {perfetto_pid_eventpolls, "eventpolls"},
    {perfetto_pid_sockets, "sockets"},
    {perfetto_pid_files, "pipes and eventfds"},
    {perfetto_pid_completion_ports, "completion ports"},
};

// Which process an object's track belongs to, by the prefix of its trace name. IOCP's completion ports slot
// in here ("completion_port#") when kernel_model grows them.
constexpr struct {
  std::string_view prefix;
  int pid;
} object_classes[] = {
    {"eventpoll#", perfetto_pid_eventpolls}, {"tcp#", perfetto_pid_sockets},
    {"unix#", perfetto_pid_sockets},         {"pipe#", perfetto_pid_files},
    {"eventfd#", perfetto_pid_files},        {"completion_port#", perfetto_pid_completion_ports},
};

int object_pid(std::string_view name) {
  for (const auto& object_class : object_classes) {
    if (name.starts_with(object_class.prefix)) return object_class.pid;
  }
  return perfetto_pid_kernel;
}

// The track an object's events go to: an epitem "epi(eventpoll#2, fd 5)" belongs to its eventpoll, the two
// ends "pipe#3r" / "pipe#3w" to their pipe. Names may carry a label (Os::name_fd): "epi(eventpoll#2(loop),
// fd 5)", "pipe#3r(requests)".
std::string object_owner(std::string_view name) {
  if (name.starts_with("epi(")) {
    const std::size_t comma = name.rfind(", fd");
    if (comma != std::string_view::npos) return std::string(name.substr(4, comma - 4));
  }
  if (name.starts_with("pipe#")) {
    const std::size_t end = name.find_first_not_of("0123456789", 5);
    if (end != std::string_view::npos && (name[end] == 'r' || name[end] == 'w')) {
      return std::string(name.substr(0, end));
    }
  }
  return std::string(name);
}

// The line of event `index` in its trace file (the header is line 1).
std::size_t trace_file_line(std::size_t index) {
  return index + 2;
}

double micros(std::int64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

struct Track {
  int pid = 0;
  long long tid = 0;
  std::string name;
  std::vector<std::pair<std::string, std::string>> open;  // (name, category) of open B slices, innermost last
};

struct TaskState {
  std::size_t track = 0;
  bool sleeping = false;
  bool runnable = false;       // woken, not yet running again
  std::string sleep_channel;   // the wait queue it sleeps on
  std::int64_t wake_flow = 0;  // the flow that ends when it resumes
};

struct DataSegment {
  std::int64_t flow = 0;
  std::string sender;
  std::int64_t bytes = 0;
};

struct Record {
  json event;
  std::int64_t flow_start = 0;  // a flow start is written only if its finish was seen
};

class Exporter {
 public:
  explicit Exporter(const sim::TraceView& view) : view_(view) {}

  // Converts every event; stops at the first one that cannot follow the ones before it in any run (a trace
  // file edited or cut short) and returns what is wrong with it, "" when the trace converted.
  std::string convert();
  PerfettoSummary write(std::ostream& out) const;

 private:
  // --- tracks ---
  std::size_t add_track(int pid, long long tid, std::string name);
  Track& task_track(sim::task_id task);
  Track& kernel_track();
  Track& object_track(const std::string& name);
  Track& queue_track(const std::string& name);
  Track& actor(const TraceEvent& event);

  // --- output ---
  json base(const Track& track, char phase, std::int64_t time_ns) const;
  void begin(Track& track, std::int64_t time_ns, std::string name, std::string category, json args = {});
  void end(Track& track, std::int64_t time_ns, json args = {});
  void instant(Track& track, std::int64_t time_ns, std::string name, std::string category, json args = {});
  void counter(const Track& track, std::int64_t time_ns, json args);
  std::int64_t flow_start(Track& track, std::int64_t time_ns, std::string_view category);
  void flow_finish(Track& track, std::int64_t time_ns, std::int64_t flow, std::string_view category,
                   bool enclosing);

  // --- events ---
  void kernel_context(const TraceEvent& event);
  void resume(const TraceEvent& event);
  void on_spawn(const TraceEvent& event);
  void on_exit(const TraceEvent& event);
  void close_exited(const TraceEvent& event);
  void on_sys_exit(const TraceEvent& event);
  void on_block(const TraceEvent& event);
  void on_wake(const TraceEvent& event);
  void on_kernel(const TraceEvent& event);
  void on_tcp(const TraceEvent& event, std::string_view what, const std::string& object);
  void on_socket_queues(const std::string& socket, std::int64_t time_ns);
  void finish(std::int64_t end_ns);

  std::string name(std::uint32_t id) const { return std::string(view_.name(id)); }
  void note(std::string problem) {
    if (problem_.empty()) problem_ = std::move(problem);
  }

  const sim::TraceView& view_;
  std::deque<Track> tracks_;  // a deque: references stay valid while tracks are added
  std::map<std::pair<int, std::string>, std::size_t> object_tracks_;  // (pid, name) → tracks_ index
  std::vector<TaskState> tasks_;                                      // by task id - 1
  std::size_t kernel_track_ = 0;
  bool kernel_open_ = false;
  sim::task_id exiting_ = sim::no_task;  // returned; its task slice closes before the next task's event
  std::int64_t exit_ns_ = 0;
  std::int64_t kernel_last_ns_ = 0;
  long long next_object_tid_ = perfetto_object_tid_first + 1;
  std::int64_t next_flow_ = 1;
  std::vector<bool> flow_finished_{false};
  std::map<std::int64_t, DataSegment> segments_;  // tcp.data sequence → its flow, awaiting tcp.deliver
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> socket_queues_;  // socket → (recv-Q, send-Q)
  std::map<std::string, std::int64_t> sleepers_;  // wait queue → sleeping tasks
  std::vector<Record> records_;
  std::string problem_;  // the first inconsistency found in the events, if any
};

// --- tracks ---

std::size_t Exporter::add_track(int pid, long long tid, std::string name) {
  tracks_.push_back(Track{pid, tid, std::move(name), {}});
  return tracks_.size() - 1;
}

Track& Exporter::task_track(sim::task_id task) {
  IOSIM_ASSERT(task != sim::no_task && task <= tasks_.size(), "event of an unknown task");
  return tracks_[tasks_[task - 1].track];
}

Track& Exporter::kernel_track() {
  return tracks_[kernel_track_];
}

Track& Exporter::object_track(const std::string& object) {
  const std::string owner = object_owner(object);
  const int pid = object_pid(owner);
  const auto [it, added] = object_tracks_.try_emplace({pid, owner}, tracks_.size());
  if (added) add_track(pid, next_object_tid_++, owner);
  return tracks_[it->second];
}

Track& Exporter::queue_track(const std::string& queue) {
  const auto [it, added] = object_tracks_.try_emplace({perfetto_pid_wait_queues, queue}, tracks_.size());
  if (added) add_track(perfetto_pid_wait_queues, next_object_tid_++, queue);
  return tracks_[it->second];
}

// The track of whoever caused the event: its task, or the kernel context (timers, network delivery).
Track& Exporter::actor(const TraceEvent& event) {
  return event.task == sim::no_task ? kernel_track() : task_track(event.task);
}

// --- output ---

json Exporter::base(const Track& track, char phase, std::int64_t time_ns) const {
  return json{{"ph", std::string(1, phase)}, {"pid", track.pid}, {"tid", track.tid}, {"ts", micros(time_ns)}};
}

void Exporter::begin(Track& track, std::int64_t time_ns, std::string slice, std::string category, json args) {
  json event = base(track, 'B', time_ns);
  event["name"] = slice;
  event["cat"] = category;
  if (!args.is_null()) event["args"] = std::move(args);
  records_.push_back({std::move(event)});
  track.open.emplace_back(std::move(slice), std::move(category));
}

void Exporter::end(Track& track, std::int64_t time_ns, json args) {
  if (track.open.empty()) {
    note(fmt::format("on {}: a slice ends that never began", track.name));
    return;
  }
  json event = base(track, 'E', time_ns);
  event["name"] = track.open.back().first;
  event["cat"] = track.open.back().second;
  if (!args.is_null()) event["args"] = std::move(args);
  records_.push_back({std::move(event)});
  track.open.pop_back();
}

void Exporter::instant(Track& track, std::int64_t time_ns, std::string slice, std::string category,
                       json args) {
  json event = base(track, 'i', time_ns);
  event["name"] = std::move(slice);
  event["cat"] = std::move(category);
  event["s"] = "t";
  if (!args.is_null()) event["args"] = std::move(args);
  records_.push_back({std::move(event)});
}

// Counters belong to the object's process; the name is the object's, each argument one series
// (Perfetto shows "tcp#3 recv-Q bytes").
void Exporter::counter(const Track& track, std::int64_t time_ns, json args) {
  json event = base(track, 'C', time_ns);
  event["name"] = track.name;
  event["args"] = std::move(args);
  records_.push_back({std::move(event)});
}

// A flow start binds to the slice open on `track` at that moment (every actor has one: its task slice, its
// syscall, or the kernel context's timer slice).
std::int64_t Exporter::flow_start(Track& track, std::int64_t time_ns, std::string_view category) {
  if (track.open.empty()) {
    note(fmt::format("on {}: a {} arrow starts after the task returned", track.name, category));
    return 0;  // flow 0 is never written
  }
  const std::int64_t flow = next_flow_++;
  flow_finished_.push_back(false);
  json event = base(track, 's', time_ns);
  event["name"] = category;
  event["cat"] = category;
  event["id"] = flow;
  records_.push_back({std::move(event), flow});
  return flow;
}

// enclosing: bind to the slice open on `track` ("bp":"e"); otherwise to the next slice that begins on it.
void Exporter::flow_finish(Track& track, std::int64_t time_ns, std::int64_t flow, std::string_view category,
                           bool enclosing) {
  json event = base(track, 'f', time_ns);
  event["name"] = category;
  event["cat"] = category;
  event["id"] = flow;
  if (enclosing) event["bp"] = "e";
  records_.push_back({std::move(event)});
  flow_finished_[static_cast<std::size_t>(flow)] = true;
}

// --- events ---

// Events of no task run in the kernel context: a timer fired (its callback delivers segments, wakes
// sleepers). Each such stretch is one slice on the kernel track, named by the timer.
void Exporter::kernel_context(const TraceEvent& event) {
  Track& kernel = kernel_track();
  if (event.task != sim::no_task || event.kind == EventKind::timer_fire) {
    if (kernel_open_) end(kernel, kernel_last_ns_);
    kernel_open_ = false;
  }
  if (event.task != sim::no_task) return;
  if (!kernel_open_) {
    const bool timer = event.kind == EventKind::timer_fire;
    begin(kernel, event.time_ns, timer ? "timer " + name(event.subject) : "kernel", "kernel",
          timer ? json{{"timer", event.arg0}} : json{});
    kernel_open_ = true;
  }
  kernel_last_ns_ = event.time_ns;
}

// The first event of a woken task is its resumption: the wake flow ends there and "runnable" closes.
void Exporter::resume(const TraceEvent& event) {
  if (event.task == sim::no_task) return;
  TaskState& task = tasks_[event.task - 1];
  if (!task.runnable) return;
  Track& track = tracks_[task.track];
  flow_finish(track, event.time_ns, task.wake_flow, "wake", true);
  end(track, event.time_ns);
  task.runnable = false;
}

void Exporter::on_spawn(const TraceEvent& event) {
  // Tasks are numbered in spawn order from 1, so this event creates task tasks_.size() + 1.
  const auto id = static_cast<sim::task_id>(tasks_.size() + 1);
  IOSIM_ASSERT(view_.task_name(id) == view_.name(event.subject), "task ids follow spawn order");
  Track& parent = actor(event);
  const std::int64_t flow = flow_start(parent, event.time_ns, "spawn");
  tasks_.push_back(TaskState{add_track(perfetto_pid_tasks, id, name(event.subject))});
  Track& child = tracks_.back();
  flow_finish(child, event.time_ns, flow, "spawn", false);
  begin(child, event.time_ns, child.name, "task", json{{"task", id}});
}

// The task slice stays open while the exiting task still acts (it wakes its joiners after task_exit), and
// closes at the exit time before anyone else's next event.
void Exporter::on_exit(const TraceEvent& event) {
  Track& track = task_track(event.task);
  while (track.open.size() > 1) end(track, event.time_ns);
  exiting_ = event.task;
  exit_ns_ = event.time_ns;
}

void Exporter::close_exited(const TraceEvent& event) {
  if (exiting_ == sim::no_task || event.task == exiting_) return;
  Track& track = task_track(exiting_);
  while (!track.open.empty()) end(track, exit_ns_);
  exiting_ = sim::no_task;
}

void Exporter::on_sys_exit(const TraceEvent& event) {
  Track& track = task_track(event.task);
  json result{{"result", event.arg0}};
  if (event.arg0 < 0) result["errno"] = errno_name(static_cast<int>(event.arg1));
  // A syscall that returns closes what it opened inside (a sleep cut short by a kill).
  while (!track.open.empty() && track.open.back().second != "syscall") end(track, event.time_ns);
  if (!track.open.empty()) end(track, event.time_ns, std::move(result));
}

void Exporter::on_block(const TraceEvent& event) {
  TaskState& task = tasks_[event.task - 1];
  const std::string channel = name(event.subject);
  begin(tracks_[task.track], event.time_ns, "sleeps on " + channel, "sleep", json{{"wait_queue", channel}});
  task.sleeping = true;
  task.sleep_channel = channel;
  Track& queue = queue_track(channel);
  counter(queue, event.time_ns, json{{"sleepers", ++sleepers_[channel]}});
}

void Exporter::on_wake(const TraceEvent& event) {
  const auto woken_id = static_cast<sim::task_id>(event.arg0);
  TaskState& woken = tasks_[woken_id - 1];
  const std::string queue = name(event.subject);
  const std::string waker(view_.task_name(event.task));
  const std::int64_t flow = flow_start(actor(event), event.time_ns, "wake");
  Track& woken_track = tracks_[woken.track];
  instant(queue_track(queue), event.time_ns, "wake " + woken_track.name, "wake", json{{"waker", waker}});
  if (woken.sleeping) {
    end(woken_track, event.time_ns);
    woken.sleeping = false;
    Track& channel = queue_track(woken.sleep_channel);
    counter(channel, event.time_ns, json{{"sleepers", --sleepers_[woken.sleep_channel]}});
  }
  begin(woken_track, event.time_ns, "runnable", "sched", json{{"woken_by", waker}, {"through", queue}});
  woken.runnable = true;
  woken.wake_flow = flow;
}

void Exporter::on_socket_queues(const std::string& socket, std::int64_t time_ns) {
  const auto& [recv_q, send_q] = socket_queues_[socket];
  counter(object_track(socket), time_ns, json{{"recv-Q bytes", recv_q}, {"send-Q bytes", send_q}});
}

void Exporter::on_tcp(const TraceEvent& event, std::string_view what, const std::string& object) {
  Track& track = object_track(object);
  if (what == "tcp.data") {  // arg0 bytes, arg1 segment sequence number
    const std::int64_t flow = flow_start(actor(event), event.time_ns, "data");
    segments_[event.arg1] = DataSegment{flow, object, event.arg0};
    instant(track, event.time_ns, fmt::format("send {} B", event.arg0), "tcp",
            json{{"bytes", event.arg0}, {"segment", event.arg1}});
  } else if (what == "tcp.deliver") {  // arg0 segment sequence number, arg1 receive queue bytes after
    const auto segment = segments_.find(event.arg0);
    const std::int64_t bytes = segment == segments_.end() ? 0 : segment->second.bytes;
    if (segment != segments_.end()) flow_finish(track, event.time_ns, segment->second.flow, "data", false);
    instant(track, event.time_ns, fmt::format("deliver {} B", bytes), "tcp",
            json{{"bytes", bytes}, {"segment", event.arg0}, {"recv-Q bytes", event.arg1}});
    socket_queues_[object].first = event.arg1;
    on_socket_queues(object, event.time_ns);
    if (segment != segments_.end()) {  // the ACK frees the segment from the sender's write queue
      std::int64_t& send_q = socket_queues_[segment->second.sender].second;
      send_q = std::max<std::int64_t>(0, send_q - bytes);
      on_socket_queues(segment->second.sender, event.time_ns);
      segments_.erase(segment);
    }
  } else if (what == "tcp.queues") {  // arg0 receive queue bytes, arg1 write queue bytes
    socket_queues_[object] = {event.arg0, event.arg1};
    on_socket_queues(object, event.time_ns);
  } else if (what == "tcp.state") {
    const char* to = kernel::tcp_state_name(static_cast<kernel::tcp_state>(event.arg1));
    instant(track, event.time_ns, fmt::format("state {}", to), "tcp",
            json{{"from", kernel::tcp_state_name(static_cast<kernel::tcp_state>(event.arg0))}, {"to", to}});
  } else {
    instant(track, event.time_ns, std::string(what), "tcp", json{{"arg0", event.arg0}, {"arg1", event.arg1}});
  }
}

void Exporter::on_kernel(const TraceEvent& event) {
  const std::string what = name(event.subject);
  const std::string object = name(event.object);
  if (object.empty()) {  // sigpipe, select.slack_ns: about the calling task
    instant(actor(event), event.time_ns, what, "kernel", json{{"arg0", event.arg0}, {"arg1", event.arg1}});
    return;
  }
  if (what.starts_with("tcp.")) return on_tcp(event, what, object);
  Track& track = object_track(object);
  if (what == "ep.rdllist_len") return counter(track, event.time_ns, json{{"rdllist", event.arg0}});
  if (what.starts_with("ep.")) {
    return instant(track, event.time_ns, what, "epoll",
                   json{{"epitem", object}, {"events", fmt::format("{:#x}", event.arg0)}});
  }
  instant(track, event.time_ns, what, "kernel", json{{"arg0", event.arg0}, {"arg1", event.arg1}});
  if (what == "pipe.read" || what == "pipe.write")
    counter(track, event.time_ns, json{{"queued bytes", event.arg1}});
  if (what == "unix.recv") counter(track, event.time_ns, json{{"recv-Q bytes", event.arg1}});
  if (what == "unix.send") counter(track, event.time_ns, json{{"wmem_alloc bytes", event.arg1}});
}

void Exporter::finish(std::int64_t end_ns) {
  // Tasks still running or asleep when the run stopped (a deadlock, a step limit): close what is open.
  if (exiting_ != sim::no_task) {
    Track& track = task_track(exiting_);
    while (!track.open.empty()) end(track, exit_ns_);
  }
  for (Track& track : tracks_) {
    while (!track.open.empty()) end(track, std::max(end_ns, kernel_last_ns_));
  }
}

std::string Exporter::convert() {
  kernel_track_ = add_track(perfetto_pid_kernel, perfetto_object_tid_first, "kernel context");
  std::int64_t end_ns = 0;
  for (std::size_t index = 0; index < view_.events.size(); ++index) {
    if (!problem_.empty()) return fmt::format("{}: {}", trace_file_line(index - 1), problem_);
    const TraceEvent& event = view_.events[index];
    end_ns = event.time_ns;
    close_exited(event);
    kernel_context(event);
    resume(event);
    switch (event.kind) {
      case EventKind::task_spawn:
        on_spawn(event);
        break;
      case EventKind::task_exit:
        on_exit(event);
        break;
      case EventKind::sys_enter:
        begin(task_track(event.task), event.time_ns, name(event.subject), "syscall",
              json{{"call", format_call(view_, view_.name(event.subject), event.arg0, event.arg1)}});
        break;
      case EventKind::sys_exit:
        on_sys_exit(event);
        break;
      case EventKind::block:
        on_block(event);
        break;
      case EventKind::wake:
        on_wake(event);
        break;
      case EventKind::timer_fire:
        break;  // the kernel context slice is named after it
      case EventKind::kernel:
        on_kernel(event);
        break;
      case EventKind::fault:
        instant(actor(event), event.time_ns, "fault " + name(event.subject), "fault",
                json{{"object", name(event.object)}});
        break;
      case EventKind::note:
        instant(actor(event), event.time_ns, name(event.subject), "note");
        break;
    }
  }
  finish(end_ns);
  return problem_.empty() ? "" : fmt::format("{}: {}", trace_file_line(view_.events.size() - 1), problem_);
}

PerfettoSummary Exporter::write(std::ostream& out) const {
  PerfettoSummary summary;
  std::vector<json> metadata;
  std::map<int, bool> pids;
  for (const Track& track : tracks_) pids[track.pid] = true;
  for (const auto& process : process_names) {
    if (!pids.contains(process.pid)) continue;
    metadata.push_back(
        {{"ph", "M"}, {"pid", process.pid}, {"name", "process_name"}, {"args", {{"name", process.name}}}});
    metadata.push_back({{"ph", "M"},
                        {"pid", process.pid},
                        {"name", "process_sort_index"},
                        {"args", {{"sort_index", process.pid}}}});
  }
  for (std::size_t index = 0; index < tracks_.size(); ++index) {
    const Track& track = tracks_[index];
    metadata.push_back({{"ph", "M"},
                        {"pid", track.pid},
                        {"tid", track.tid},
                        {"name", "thread_name"},
                        {"args", {{"name", track.name}}}});
    metadata.push_back({{"ph", "M"},
                        {"pid", track.pid},
                        {"tid", track.tid},
                        {"name", "thread_sort_index"},
                        {"args", {{"sort_index", index}}}});
  }
  const json other{{"seed", view_.seed},
                   {"strategy", view_.strategy},
                   {"trace_hash", fmt::format("{:016x}", view_.trace_hash)},
                   {"source", "iosim trace --perfetto"}};
  out << "{\"displayTimeUnit\":\"ns\",\"otherData\":" << other.dump() << ",\"traceEvents\":[\n";
  bool first = true;
  auto emit = [&](const json& event) {
    out << (first ? "" : ",\n") << event.dump();
    first = false;
    ++summary.event_count;
  };
  for (const json& event : metadata) emit(event);
  for (const Record& record : records_) {
    if (record.flow_start != 0 && !flow_finished_[static_cast<std::size_t>(record.flow_start)]) continue;
    if (record.flow_start != 0) ++summary.flow_count;
    emit(record.event);
  }
  out << "\n]}\n";
  summary.track_count = tracks_.size();
  return summary;
}

}  // namespace

Result<PerfettoSummary> write_perfetto_json(std::ostream& out, const sim::TraceView& view) {
  Exporter exporter(view);
  if (std::string problem = exporter.convert(); !problem.empty()) return Status::error(problem);
  return exporter.write(out);
}

PerfettoSummary write_perfetto_json(std::ostream& out, SimOs& os) {
  Result<PerfettoSummary> written = write_perfetto_json(out, trace_view(os));
  IOSIM_ASSERT(written, "a captured run converts to Perfetto JSON");
  return written.value();
}

}  // namespace iosim
