// scenarios/workload.hpp — a workload run: the server app plus N echo or http client threads, and the
// Observation it leaves (what each client sent, got back, and any error), comparable across backends.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "iosim/os.hpp"
#include "iosim/status.hpp"
#include "scenarios/scenario.hpp"

namespace iosim {

struct ClientReport {
  int client = 0;  // 1-based, as in the thread name "client-1"
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  // Every exchange was verified: echo — every message came back complete, byte for byte, and nothing more;
  // http — every response was exactly the expected bytes (status line, headers, body).
  bool echoed_in_order = false;
  std::string error;                  // "<call>: <errno name>" or what went wrong; empty when none
  std::uint64_t transcript_hash = 0;  // over every byte received, in order (see TranscriptHash)
  bool connected = false;             // connect() succeeded (http: the first request's connect)
};

struct Observation {
  std::vector<ClientReport> clients;
  std::string server_error;  // AppContext::error after the server returned; a world app: what it threw
  WorkloadKind workload = WorkloadKind::echo;

  // {"workload": "echo", "clients": [{client, bytes_sent, bytes_received, echoed_in_order, error,
  // transcript_hash (16 hex digits: JSON numbers lose precision above 2^53), connected}],
  // "server_error": ...}
  nlohmann::json to_json() const;
  // The inverse of to_json, for an Observation made in another process (the Windows runner under Wine). The
  // error names the field that is missing or of the wrong type.
  static Result<Observation> from_json(const nlohmann::json& json);
  // One line, e.g. "4/4 clients echoed in order, 70212 bytes echoed; server ok" (http: "4/4 clients got
  // every response exact, 9120 bytes received; server ok").
  std::string summary() const;
};

// 64-bit hash of a byte stream, independent of how it was split into chunks: SplitMix64 mixing of each
// little-endian 8-byte word at stream offsets 0, 8, 16 ..., a partial last word carried between add() calls,
// and the length at the end (never std::hash, whose values differ between standard libraries).
class TranscriptHash {
 public:
  void add(std::span<const std::byte> bytes);
  std::uint64_t value() const;

 private:
  void mix_word(std::uint64_t word);

  std::uint64_t state_ = 0x243f6a8885a308d3ULL;  // the first digits of pi: any fixed non-zero start
  std::uint64_t partial_word_ = 0;               // the stream's bytes past its last whole word
  std::uint64_t length_ = 0;                     // bytes added in all
};

// The Prng seed of one client: SplitMix64 of the workload seed, mixed with the client number. Depends on
// nothing else, so every backend and every schedule seed sends exactly the same bytes.
std::uint64_t client_seed(std::uint64_t workload_seed, int client);

// The transcript hash a client reports when every one of its messages was echoed exactly (echo), or every
// response was exact (http).
std::uint64_t expected_transcript_hash(const WorkloadSpec& workload, int client);
// The bytes such a client receives in all.
std::uint64_t expected_bytes_received(const WorkloadSpec& workload, int client);

// Runs the scenario's server app (thread "server") and workload.clients client threads ("client-1", ...) of
// the workload's kind on `os`, from the calling thread of the Os world; returns once every thread has been
// joined. A world app (workload none) runs on the calling thread instead, with no clients. Never throws:
// failures are recorded in the Observation.
Observation run_workload(Os& os, const ScenarioSpec& spec);
// The same, for callers that know the workload is an echo workload (the kind is not consulted).
Observation run_echo_workload(Os& os, const ScenarioSpec& spec);
// The same with the server app on `server_os` (a decorator over `os`, such as RecordingOs) and the clients
// and the driver's own synchronisation on `os`.
Observation run_workload(Os& os, Os& server_os, const ScenarioSpec& spec);
Observation run_echo_workload(Os& os, Os& server_os, const ScenarioSpec& spec);

}  // namespace iosim
