// tools/record_replay.hpp — record a scenario's server through RecordingOs (native or simulated) into an
// IoTrace, and replay an IoTrace: the same server app on SimOs against the world the recording saw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backends/recording/iotrace.hpp"
#include "tools/driver.hpp"

namespace iosim {

struct RecordOutcome {
  IoTrace trace;
  RunReport report;  // the recorded run, judged by the scenario's checks
};

// Runs the scenario on `backend` (linux | sim) with the server app on a RecordingOs and the clients on the
// bare backend, so the recording is exactly the server's view. On sim the run is the one `iosim run
// SCENARIO --seed SEED` makes (the recorder reads the scheduler's clock, adding no scheduling point).
RecordOutcome record_scenario(const ScenarioSpec& spec, const std::string& backend,
                              std::optional<std::uint64_t> seed = std::nullopt);

// One recorded connection as its peer (the outside world) must play it back.
struct PeerStep {
  enum class Kind { data, eof, reset };
  Kind kind = Kind::data;
  std::int64_t t_ns = 0;  // relative to the server's listen()
  std::vector<std::byte> bytes;
};
struct RecordedConnection {
  std::int64_t accept_ns = 0;  // relative to the server's listen()
  std::vector<PeerStep> steps;
  std::vector<std::byte> sent_by_server;  // every byte the server's send/write calls moved, in order
};
// The outside world of the recording: its connections in accept order.
std::vector<RecordedConnection> recorded_world(const IoTrace& trace);

struct ReplayOptions {
  std::optional<std::uint64_t> seed;  // default: the recording header's seed
  bool capture_trace = false;
};

struct ReplayReport {
  SimOutcome sim;
  IoTrace replayed;                      // the server's view during the replay (backend "sim")
  std::vector<std::string> differences;  // empty: the replay behaved as recorded
  std::size_t connections = 0;           // recorded connections
  std::uint64_t bytes_sent = 0;          // bytes the server sent in the recording
  std::uint64_t seed = 0;
  bool same() const { return differences.empty(); }
};

// Runs the recorded app on SimOs: a peer thread per recorded connection connects when the server accepted
// it natively, sends the recorded bytes in the recorded pieces at the recorded relative times, shuts down
// or resets where the server saw EOF or ECONNRESET, and collects what the server sends. Compares that, the
// accepted connection count and the server's error with the recording. Deterministic: same trace and seed,
// same trace-hash. The trace's app must exist (check with find_app first).
ReplayReport replay_iotrace(const IoTrace& trace, const ReplayOptions& options = {});

}  // namespace iosim
