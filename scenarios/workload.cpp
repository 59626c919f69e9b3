// scenarios/workload.cpp — run_workload: start the server, wait for its port (Mutex + CondVar from the Os),
// run the clients of the workload's kind, join everything; plus the Observation's JSON and one-line summary.
#include "scenarios/workload.hpp"

#include <fmt/format.h>

#include <bit>
#include <charconv>
#include <cstring>

#include "scenarios/echo_client.hpp"
#include "scenarios/http_client.hpp"
#include "scenarios/registry.hpp"
#include "sim/prng.hpp"

namespace iosim {
namespace {

// The 8 bytes at `bytes` as a little-endian word, on any host.
std::uint64_t load_little_endian(const std::byte* bytes) {
  std::uint64_t word = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&word, bytes, sizeof word);
  } else {
    for (int index = 7; index >= 0; --index) word = (word << 8) | static_cast<std::uint64_t>(bytes[index]);
  }
  return word;
}

// The server thread tells the driver its port (ready) or that it returned without one (failed early).
// Guarded by `mutex`; `changed` is notified on every update.
struct ServerRendezvous {
  std::unique_ptr<Mutex> mutex;
  std::unique_ptr<CondVar> changed;
  bool ready = false;
  bool returned = false;
  std::uint16_t port = 0;
};

void announce(ServerRendezvous& rendezvous, bool ready, std::uint16_t port) {
  {
    LockGuard lock(*rendezvous.mutex);
    if (ready) {
      rendezvous.ready = true;
      rendezvous.port = port;
    } else {
      rendezvous.returned = true;
    }
  }
  rendezvous.changed->notify_all();
}

// Blocks until the server is listening or has returned. The loop re-checks the predicate because condition
// variables may wake spuriously.
bool wait_until_listening(ServerRendezvous& rendezvous, std::uint16_t& port) {
  LockGuard lock(*rendezvous.mutex);
  while (!rendezvous.ready && !rendezvous.returned) rendezvous.changed->wait(*rendezvous.mutex);
  port = rendezvous.port;
  return rendezvous.ready;
}

// What one client thread leaves: its report, and how many of the connections the server waits for it never
// made (it failed before connecting).
struct ClientOutcome {
  ClientReport report;
  int connections_missing = 0;
};
using ClientMain = std::function<ClientOutcome(Os& os, std::uint16_t port, int client)>;

// The server serves exactly workload_connections() connections. A client that failed before making all of
// its connections would leave the server waiting in accept forever, so connect in its place and close at
// once: the server sees an empty connection.
void stand_in_for_missing_clients(Os& os, const std::vector<ClientOutcome>& outcomes, std::uint16_t port) {
  for (const ClientOutcome& outcome : outcomes) {
    for (int missing = 0; missing < outcome.connections_missing; ++missing) {
      const int fd = os.socket(AF::INET, SOCK::STREAM, 0);
      if (fd < 0) continue;
      os.connect(fd, SockAddr{loopback_ip, port});  // failure is fine: the server may be gone already
      os.close(fd);
    }
  }
}

std::vector<ClientOutcome> run_clients(Os& os, int clients, const ClientMain& client_main,
                                       std::uint16_t port) {
  std::vector<ClientOutcome> outcomes(static_cast<std::size_t>(clients));
  std::vector<std::unique_ptr<Thread>> threads;
  for (int client = 1; client <= clients; ++client) {
    // Each thread writes only its own outcome; join() orders that write before our read.
    ClientOutcome& outcome = outcomes[static_cast<std::size_t>(client - 1)];
    threads.push_back(os.thread_create(
        fmt::format("client-{}", client),
        [&os, &client_main, &outcome, port, client] { outcome = client_main(os, port, client); }));
  }
  for (auto& thread : threads) thread->join();
  return outcomes;
}

// The server app in thread "server" (on `server_os`), then the clients once it listens, then the joins.
Observation run_server_and_clients(Os& os, Os& server_os, const ScenarioSpec& spec,
                                   const ClientMain& client_main) {
  Observation observation;
  const AppInfo* app = find_app(spec.app);
  if (app == nullptr) {
    observation.server_error = fmt::format("unknown app \"{}\"", spec.app);
    return observation;
  }
  ServerRendezvous rendezvous{os.mutex_create(), os.condvar_create()};
  AppContext context{server_os,
                     spec.params,
                     workload_connections(spec.workload),
                     [&rendezvous](std::uint16_t port) { announce(rendezvous, true, port); },
                     {}};
  auto server = server_os.thread_create("server", [app, &context, &rendezvous] {
    app->main(context);
    announce(rendezvous, false, 0);
  });
  std::uint16_t port = 0;
  const bool listening = wait_until_listening(rendezvous, port);
  if (listening) {
    const std::vector<ClientOutcome> outcomes = run_clients(os, spec.workload.clients, client_main, port);
    stand_in_for_missing_clients(os, outcomes, port);
    for (const ClientOutcome& outcome : outcomes) observation.clients.push_back(outcome.report);
  }
  server->join();
  observation.server_error = context.error;
  if (!listening && observation.server_error.empty())
    observation.server_error = "server returned without listening";
  return observation;
}

}  // namespace

void TranscriptHash::mix_word(std::uint64_t word) {
  std::uint64_t mixed = state_ ^ word;
  state_ = sim::splitmix64(mixed);
}

void TranscriptHash::add(std::span<const std::byte> bytes) {
  std::size_t index = 0;
  // Complete the word a previous call left partial, a byte at a time.
  for (; index < bytes.size() && length_ % 8 != 0; ++index, ++length_) {
    partial_word_ |= static_cast<std::uint64_t>(bytes[index]) << (8 * (length_ % 8));
    if ((length_ + 1) % 8 == 0) {
      mix_word(partial_word_);
      partial_word_ = 0;
    }
  }
  for (; index + 8 <= bytes.size(); index += 8, length_ += 8)
    mix_word(load_little_endian(bytes.data() + index));
  for (; index < bytes.size(); ++index, ++length_) {
    partial_word_ |= static_cast<std::uint64_t>(bytes[index]) << (8 * (length_ % 8));
  }
}

std::uint64_t TranscriptHash::value() const {
  std::uint64_t state = state_ ^ partial_word_;
  state = sim::splitmix64(state) ^ length_;
  return sim::splitmix64(state);
}

std::uint64_t client_seed(std::uint64_t workload_seed, int client) {
  std::uint64_t state = workload_seed;
  std::uint64_t mixed = sim::splitmix64(state) ^ static_cast<std::uint64_t>(client);
  return sim::splitmix64(mixed);
}

std::uint64_t expected_transcript_hash(const WorkloadSpec& workload, int client) {
  if (workload.kind == WorkloadKind::http) {
    TranscriptHash transcript;
    for (const HttpExchange& exchange : http_exchanges(workload, client)) {
      transcript.add(std::as_bytes(std::span(exchange.response)));
    }
    return transcript.value();
  }
  sim::Prng prng(client_seed(workload.seed, client));
  TranscriptHash transcript;
  std::vector<std::byte> message;
  for (int index = 0; index < workload.messages; ++index) {
    next_message(prng, workload, message);
    transcript.add(message);
  }
  return transcript.value();
}

std::uint64_t expected_bytes_received(const WorkloadSpec& workload, int client) {
  std::uint64_t bytes = 0;
  if (workload.kind == WorkloadKind::http) {
    for (const HttpExchange& exchange : http_exchanges(workload, client)) bytes += exchange.response.size();
    return bytes;
  }
  sim::Prng prng(client_seed(workload.seed, client));
  std::vector<std::byte> message;
  for (int index = 0; index < workload.messages; ++index) {
    next_message(prng, workload, message);
    bytes += message.size();
  }
  return bytes;
}

Observation run_echo_workload(Os& os, const ScenarioSpec& spec) {
  return run_echo_workload(os, os, spec);
}

Observation run_echo_workload(Os& os, Os& server_os, const ScenarioSpec& spec) {
  const WorkloadSpec& workload = spec.workload;
  Observation observation =
      run_server_and_clients(os, server_os, spec, [&workload](Os& client_os, std::uint16_t port, int client) {
        ClientReport report = run_echo_client(client_os, workload, port, client);
        const int missing = report.connected ? 0 : 1;
        return ClientOutcome{std::move(report), missing};
      });
  observation.workload = WorkloadKind::echo;
  return observation;
}

Observation run_workload(Os& os, const ScenarioSpec& spec) {
  return run_workload(os, os, spec);
}

// A world app is the whole run: its function on the calling task (the world's main); an exception out of it
// (a failed app_check) is the verdict, as a server's fatal error is.
Observation run_world_app(Os& os, const ScenarioSpec& spec) {
  Observation observation;
  observation.workload = WorkloadKind::none;
  const AppInfo* app = find_app(spec.app);
  if (app == nullptr || app->world == nullptr) {
    observation.server_error = fmt::format("\"{}\" is not a world app", spec.app);
    return observation;
  }
  try {
    app->world(os);
  } catch (const std::exception& error) {
    observation.server_error = error.what();
  }
  return observation;
}

Observation run_workload(Os& os, Os& server_os, const ScenarioSpec& spec) {
  if (spec.workload.kind == WorkloadKind::none) return run_world_app(server_os, spec);
  if (spec.workload.kind == WorkloadKind::echo) return run_echo_workload(os, server_os, spec);
  const WorkloadSpec& workload = spec.workload;
  Observation observation =
      run_server_and_clients(os, server_os, spec, [&workload](Os& client_os, std::uint16_t port, int client) {
        HttpClientOutcome outcome = run_http_client(client_os, workload, port, client);
        return ClientOutcome{std::move(outcome.report), workload.requests - outcome.connections_made};
      });
  observation.workload = WorkloadKind::http;
  return observation;
}

nlohmann::json Observation::to_json() const {
  nlohmann::json clients_json = nlohmann::json::array();
  for (const ClientReport& report : clients) {
    clients_json.push_back({{"client", report.client},
                            {"bytes_sent", report.bytes_sent},
                            {"bytes_received", report.bytes_received},
                            {"echoed_in_order", report.echoed_in_order},
                            {"error", report.error},
                            {"transcript_hash", fmt::format("{:016x}", report.transcript_hash)},
                            {"connected", report.connected}});
  }
  return {{"workload", workload_kind_name(workload)},
          {"clients", std::move(clients_json)},
          {"server_error", server_error}};
}

namespace {

// json[key] as T, or an error naming `where`.key and the type expected.
template <typename T>
Status read_field(const nlohmann::json& json, std::string_view where, const char* key, T* value) {
  const auto found = json.find(key);
  if (found == json.end()) return Status::error(fmt::format("{}: missing field \"{}\"", where, key));
  try {
    *value = found->get<T>();
  } catch (const nlohmann::json::exception&) {
    return Status::error(fmt::format("{}.{}: wrong type ({})", where, key, found->type_name()));
  }
  return Status::ok();
}

Result<ClientReport> client_from_json(const nlohmann::json& json, std::string_view where) {
  if (!json.is_object()) return Status::error(fmt::format("{}: not an object", where));
  ClientReport report;
  std::string hash;
  for (Status status :
       {read_field(json, where, "client", &report.client),
        read_field(json, where, "bytes_sent", &report.bytes_sent),
        read_field(json, where, "bytes_received", &report.bytes_received),
        read_field(json, where, "echoed_in_order", &report.echoed_in_order),
        read_field(json, where, "error", &report.error), read_field(json, where, "transcript_hash", &hash),
        read_field(json, where, "connected", &report.connected)}) {
    if (!status) return status;
  }
  const auto [end, error] =
      std::from_chars(hash.data(), hash.data() + hash.size(), report.transcript_hash, 16);
  if (hash.size() != 16 || error != std::errc() || end != hash.data() + hash.size())
    return Status::error(fmt::format("{}.transcript_hash: \"{}\" is not 16 hex digits", where, hash));
  return report;
}

}  // namespace

Result<Observation> Observation::from_json(const nlohmann::json& json) {
  if (!json.is_object()) return Status::error("observation: not a JSON object");
  Observation observation;
  std::string kind;
  nlohmann::json clients;
  for (Status status : {read_field(json, "observation", "workload", &kind),
                        read_field(json, "observation", "clients", &clients),
                        read_field(json, "observation", "server_error", &observation.server_error)}) {
    if (!status) return status;
  }
  if (kind == workload_kind_name(WorkloadKind::echo)) {
    observation.workload = WorkloadKind::echo;
  } else if (kind == workload_kind_name(WorkloadKind::http)) {
    observation.workload = WorkloadKind::http;
  } else if (kind == workload_kind_name(WorkloadKind::none)) {
    observation.workload = WorkloadKind::none;
  } else {
    return Status::error(fmt::format("observation.workload: unknown kind \"{}\"", kind));
  }
  if (!clients.is_array()) return Status::error("observation.clients: not an array");
  for (std::size_t i = 0; i < clients.size(); ++i) {
    Result<ClientReport> client = client_from_json(clients[i], fmt::format("observation.clients[{}]", i));
    if (!client) return client.status();
    observation.clients.push_back(std::move(client).value());
  }
  return observation;
}

std::string Observation::summary() const {
  std::size_t in_order = 0;
  std::uint64_t bytes = 0;
  std::string first_error;
  for (const ClientReport& report : clients) {
    if (report.echoed_in_order && report.error.empty()) ++in_order;
    bytes += report.bytes_received;
    if (first_error.empty() && !report.error.empty()) {
      first_error = fmt::format("; client {}: {}", report.client, report.error);
    }
  }
  if (workload == WorkloadKind::none) {
    return fmt::format("no clients (a world app); world {}", server_error.empty() ? "ok" : server_error);
  }
  const bool http = workload == WorkloadKind::http;
  return fmt::format("{}/{} clients {}, {} bytes {}{}; server {}", in_order, clients.size(),
                     http ? "got every response exact" : "echoed in order", bytes,
                     http ? "received" : "echoed", first_error, server_error.empty() ? "ok" : server_error);
}

}  // namespace iosim
