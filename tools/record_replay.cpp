// tools/record_replay.cpp — recording a scenario's server (RecordingOs over LinuxOs or SimOs) and replaying
// the recording on SimOs: one peer thread per recorded connection plays the outside world back in order.
#include "tools/record_replay.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "backends/linux/linux_os.hpp"
#include "backends/recording/recording_os.hpp"
#include "scenarios/registry.hpp"

namespace iosim {
namespace {

// On SimOs the recorder must not call the Os for the time (a scheduling point would change the run).
RecordingHooks sim_hooks(SimOs& os) {
  return {[&os] { return os.scheduler().now_ns(); },
          [&os] {
            const sim::task_id task = os.scheduler().current();
            return task == sim::no_task ? std::string("kernel") : std::string(os.scheduler().task_name(task));
          }};
}

IoTraceHeader header_for(const ScenarioSpec& spec, const std::string& backend, std::uint64_t seed) {
  IoTraceHeader header;
  header.scenario = spec.path;
  header.name = spec.name;
  header.app = spec.app;
  header.params = spec.params;
  header.connections = workload_connections(spec.workload);
  header.backend = backend;
  header.latency_us = spec.network.latency_us;
  header.seed = seed;
  header.strategy = spec.sim.strategy;
  header.step_max = spec.sim.step_max;
  return header;
}

// The server tells the world its port (ready) or that it returned without one, as in scenarios/workload.cpp.
struct Rendezvous {
  std::unique_ptr<Mutex> mutex;
  std::unique_ptr<CondVar> changed;
  bool ready = false;
  bool returned = false;
  std::uint16_t port = 0;

  void announce(bool listening, std::uint16_t bound_port) {
    {
      LockGuard lock(*mutex);
      (listening ? ready : returned) = true;
      if (listening) port = bound_port;
    }
    changed->notify_all();
  }
  bool wait_until_listening() {
    LockGuard lock(*mutex);
    while (!ready && !returned) changed->wait(*mutex);
    return ready;
  }
};

// What one replayed peer saw: every byte the server sent it, and its own failure if any.
struct PeerResult {
  std::vector<std::byte> received;
  std::string error;
};

std::string errno_text(Os& os, std::string_view call) {
  return fmt::format("{}: {}", call, errno_name(os.last_errno()));
}

// The peer's socket state while it plays its steps back.
struct PeerState {
  std::size_t step = 0;       // next step to play
  std::size_t offset = 0;     // bytes of the current data step already sent
  bool send_blocked = false;  // the last send could not take everything: wait for POLLOUT
  bool read_open = true;      // the server has not closed its side yet
};

// Plays every step that is due. Returns false after a reset (the fd is closed then).
bool play_due_steps(Os& os, int fd, const RecordedConnection& connection, std::int64_t origin_ns,
                    PeerState& state, PeerResult& result) {
  const std::int64_t now = os.monotonic_ns();
  while (state.step < connection.steps.size() && origin_ns + connection.steps[state.step].t_ns <= now) {
    const PeerStep& step = connection.steps[state.step];
    if (step.kind == PeerStep::Kind::eof) {
      os.shutdown(fd, SHUT::WR);
    } else if (step.kind == PeerStep::Kind::reset) {
      os.set_linger(fd, true, 0);  // close with linger 0 sends RST: the server sees ECONNRESET
      os.close(fd);
      return false;
    } else {
      const long sent =
          os.send(fd, step.bytes.data() + state.offset, step.bytes.size() - state.offset, MSG::NOSIGNAL);
      if (sent < 0 && os.last_errno() != E::AGAIN) {
        result.error = errno_text(os, "send");
        state.step = connection.steps.size();  // the server is gone: nothing more can be delivered
        return true;
      }
      state.offset += sent > 0 ? static_cast<std::size_t>(sent) : 0;
      state.send_blocked = state.offset < step.bytes.size();
      if (state.send_blocked) return true;
      state.offset = 0;
    }
    ++state.step;
  }
  return true;
}

void drain_input(Os& os, int fd, PeerState& state, PeerResult& result) {
  std::vector<std::byte> buffer(64 * 1024);
  for (;;) {
    const long received = os.recv(fd, buffer.data(), buffer.size(), 0);
    if (received > 0) {
      result.received.insert(result.received.end(), buffer.begin(), buffer.begin() + received);
      continue;
    }
    if (received < 0 && os.last_errno() == E::AGAIN) return;
    if (received < 0 && result.error.empty()) result.error = errno_text(os, "recv");
    state.read_open = false;
    return;
  }
}

// One recorded connection's peer: a non-blocking socket, select() for input, output space and the next
// step's time (select takes microseconds, so steps keep their recorded spacing).
void play_connection(Os& os, int fd, const RecordedConnection& connection, std::int64_t origin_ns,
                     PeerResult& result) {
  os.fcntl(fd, F::SETFL, os.fcntl(fd, F::GETFL, 0) | O::NONBLOCK);
  PeerState state;
  for (;;) {
    if (!play_due_steps(os, fd, connection, origin_ns, state, result)) return;
    const bool steps_left = state.step < connection.steps.size();
    if (!steps_left && !state.read_open) break;
    fd_set readable, writable;
    if (state.read_open) readable.set(fd);
    if (steps_left && state.send_blocked) writable.set(fd);
    timeval timeout;
    timeval* wait = nullptr;
    if (steps_left && !state.send_blocked) {
      const std::int64_t delay_ns =
          std::max<std::int64_t>(0, origin_ns + connection.steps[state.step].t_ns - os.monotonic_ns());
      timeout.tv_sec = delay_ns / 1'000'000'000;
      timeout.tv_usec = (delay_ns % 1'000'000'000 + 999) / 1000;
      wait = &timeout;
    }
    if (os.select(fd + 1, &readable, &writable, nullptr, wait) < 0) {
      result.error = errno_text(os, "select");
      break;
    }
    if (readable.is_set(fd)) drain_input(os, fd, state, result);
  }
  os.close(fd);
}

// The replayed world: the server app on `server_os`, then one peer per recorded connection, connected at
// the recorded accept time in accept order. Returns the server's error.
std::string play_world(SimOs& os, Os& server_os, const AppInfo& app, const IoTraceHeader& header,
                       const std::vector<RecordedConnection>& world, std::vector<PeerResult>& peers) {
  Rendezvous rendezvous{os.mutex_create(), os.condvar_create()};
  AppContext context{server_os,
                     header.params,
                     header.connections,
                     [&rendezvous](std::uint16_t port) { rendezvous.announce(true, port); },
                     {}};
  auto server = server_os.thread_create("server", [&app, &context, &rendezvous] {
    app.main(context);
    rendezvous.announce(false, 0);
  });
  const bool listening = rendezvous.wait_until_listening();
  if (listening) {
    const std::int64_t origin_ns = os.monotonic_ns();
    std::vector<std::unique_ptr<Thread>> threads;
    for (std::size_t k = 0; k < world.size(); ++k) {
      const std::int64_t delay_ns = origin_ns + world[k].accept_ns - os.monotonic_ns();
      if (delay_ns > 0) os.sleep_for(delay_ns);
      const int fd = os.socket(AF::INET, SOCK::STREAM, 0);
      if (fd < 0 || os.connect(fd, SockAddr{loopback_ip, rendezvous.port}) < 0) {
        peers[k].error = errno_text(os, fd < 0 ? "socket" : "connect");
        if (fd >= 0) os.close(fd);
        continue;
      }
      threads.push_back(
          os.thread_create(fmt::format("peer-{}", k + 1), [&os, fd, &world, &peers, k, origin_ns] {
            play_connection(os, fd, world[k], origin_ns, peers[k]);
          }));
    }
    for (auto& thread : threads) thread->join();
  }
  server->join();
  if (!listening && context.error.empty()) return "server returned without listening";
  return context.error;
}

std::string byte_difference(std::size_t conn, const std::vector<std::byte>& native,
                            const std::vector<std::byte>& replayed) {
  const auto mismatch = std::mismatch(native.begin(), native.end(), replayed.begin(), replayed.end());
  const auto at = static_cast<std::size_t>(mismatch.first - native.begin());
  std::string text = fmt::format(
      "connection {}: the server sent {} bytes in the recording and {} in the replay; "
      "first difference at byte {}",
      conn, native.size(), replayed.size(), at);
  if (mismatch.first != native.end() && mismatch.second != replayed.end()) {
    text += fmt::format(" (0x{:02x} recorded, 0x{:02x} replayed)", static_cast<unsigned>(*mismatch.first),
                        static_cast<unsigned>(*mismatch.second));
  }
  return text;
}

std::vector<std::string> compare_replay(const IoTrace& recorded, const std::vector<RecordedConnection>& world,
                                        const std::vector<PeerResult>& peers, const ReplayReport& report) {
  std::vector<std::string> differences;
  const sim::RunResult& run = report.sim.run;
  if (report.replayed.end.run != recorded.end.run) {
    std::string line = fmt::format("the run: {} in the recording, {} in the replay", recorded.end.run,
                                   report.replayed.end.run);
    if (!run.failure.empty()) line += " (" + run.failure + ")";
    for (const sim::BlockedTask& task : run.blocked)
      line += fmt::format("; {} waits on {}", task.name, task.channel);
    differences.push_back(line);
  }
  if (report.replayed.end.connections != recorded.end.connections) {
    differences.push_back(fmt::format("connections accepted: {} in the recording, {} in the replay",
                                      recorded.end.connections, report.replayed.end.connections));
  }
  if (report.replayed.end.server_error != recorded.end.server_error) {
    differences.push_back(fmt::format("server error: \"{}\" in the recording, \"{}\" in the replay",
                                      recorded.end.server_error, report.replayed.end.server_error));
  }
  for (std::size_t k = 0; k < world.size(); ++k) {
    if (!peers[k].error.empty() && peers[k].error.starts_with("connect")) {
      differences.push_back(
          fmt::format("connection {}: the replayed peer could not connect ({})", k + 1, peers[k].error));
    } else if (peers[k].received != world[k].sent_by_server) {
      differences.push_back(byte_difference(k + 1, world[k].sent_by_server, peers[k].received));
    }
  }
  return differences;
}

}  // namespace

RecordOutcome record_scenario(const ScenarioSpec& spec, const std::string& backend,
                              std::optional<std::uint64_t> seed) {
  RecordOutcome outcome;
  RunReport& report = outcome.report;
  const RunRequest request{backend, seed, std::nullopt, false};
  report.backend = backend;
  report.seed = seed.value_or(spec.sim.seed);
  report.strategy = spec.sim.strategy;
  if (backend == "linux") {
    LinuxOs os;
    RecordingOs recording(os);
    report.observation = run_workload(os, recording, spec);
    outcome.trace.events = recording.take_events();
    outcome.trace.end.connections = recording.connections_accepted();
  } else {
    SimOs os(sim_config_for(spec, request));
    RecordingOs recording(os, sim_hooks(os));
    Observation observation;
    report.sim = os.run([&] { observation = run_workload(os, recording, spec); });
    report.observation = std::move(observation);
    outcome.trace.events = recording.take_events();
    outcome.trace.end.connections = recording.connections_accepted();
    outcome.trace.end.run = sim::outcome_name(report.sim->run.outcome);
  }
  judge_run(spec, report);
  outcome.trace.header = header_for(spec, backend, report.seed);
  outcome.trace.end.server_error = report.observation.server_error;
  outcome.trace.end.summary = report.observation.summary();
  return outcome;
}

std::vector<RecordedConnection> recorded_world(const IoTrace& trace) {
  std::int64_t origin_ns = 0;
  const auto listen = std::find_if(trace.events.begin(), trace.events.end(), [](const IoEvent& event) {
    return event.kind == "listen" && event.result == 0;
  });
  if (listen != trace.events.end()) origin_ns = listen->t_ns;
  std::vector<RecordedConnection> world;
  for (const IoEvent& event : trace.events) {
    const std::int64_t t_ns = std::max<std::int64_t>(0, event.t_ns - origin_ns);
    const bool accepted = (event.kind == "accept4" || event.kind == "AcceptEx") && event.conn > 0;
    if (accepted) {
      world.resize(std::max<std::size_t>(world.size(), static_cast<std::size_t>(event.conn)));
      world[static_cast<std::size_t>(event.conn - 1)].accept_ns = t_ns;
    }
    if (event.conn <= 0 || static_cast<std::size_t>(event.conn) > world.size()) continue;
    RecordedConnection& connection = world[static_cast<std::size_t>(event.conn - 1)];
    const bool ended = !connection.steps.empty() && connection.steps.back().kind != PeerStep::Kind::data;
    const bool input = data_direction(event.kind) == DataDirection::in;
    const bool output = data_direction(event.kind) == DataDirection::out;
    if (output && event.result > 0) {
      connection.sent_by_server.insert(connection.sent_by_server.end(), event.data.begin(), event.data.end());
    }
    if (ended || !(input || output)) continue;
    if (input && event.result > 0) connection.steps.push_back({PeerStep::Kind::data, t_ns, event.data});
    // A zero-byte result is the end of the stream, except for AcceptEx: a connection that came with no data.
    if (input && event.result == 0 && event.kind != "AcceptEx")
      connection.steps.push_back({PeerStep::Kind::eof, t_ns, {}});
    if (is_peer_reset(event)) connection.steps.push_back({PeerStep::Kind::reset, t_ns, {}});
  }
  return world;
}

ReplayReport replay_iotrace(const IoTrace& trace, const ReplayOptions& options) {
  const AppInfo* app = find_app(trace.header.app);
  IOSIM_ASSERT(app != nullptr, "replay_iotrace needs a recording of a bundled app");
  ReplayReport report;
  report.seed = options.seed.value_or(trace.header.seed);
  const std::vector<RecordedConnection> world = recorded_world(trace);
  report.connections = world.size();
  for (const RecordedConnection& connection : world) report.bytes_sent += connection.sent_by_server.size();
  SimConfig config;
  config.seed = report.seed;
  config.strategy = trace.header.strategy;
  config.capture_trace = options.capture_trace;
  config.kernel.latency_ns = trace.header.latency_us * 1000;
  config.limits.step_max = trace.header.step_max;
  SimOs os(config);
  RecordingOs recording(os, sim_hooks(os));
  std::vector<PeerResult> peers(world.size());
  std::string server_error;
  report.sim = os.run([&] { server_error = play_world(os, recording, *app, trace.header, world, peers); });
  report.replayed.header = trace.header;
  report.replayed.header.backend = "sim";
  report.replayed.header.seed = report.seed;
  report.replayed.events = recording.take_events();
  report.replayed.end = {recording.connections_accepted(), server_error, "replay of a recording",
                         std::string(sim::outcome_name(report.sim.run.outcome))};
  report.differences = compare_replay(trace, world, peers, report);
  return report;
}

}  // namespace iosim
