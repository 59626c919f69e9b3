// scenarios/workload.cpp — run_echo_workload: start the server, wait for its port (Mutex + CondVar from the
// Os), run the clients, join everything; plus the Observation's JSON and one-line summary.
#include "scenarios/workload.hpp"

#include <fmt/format.h>

#include "scenarios/echo_client.hpp"
#include "scenarios/registry.hpp"
#include "sim/prng.hpp"

namespace iosim {
namespace {

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

// The server serves exactly `clients` connections. A client that never connected would leave it waiting in
// accept forever, so connect once in its place and close at once: the server sees an empty connection.
void stand_in_for_missing_clients(Os& os, const std::vector<ClientReport>& reports, std::uint16_t port) {
  for (const ClientReport& report : reports) {
    if (report.connected) continue;
    const int fd = os.socket(AF::INET, SOCK::STREAM, 0);
    if (fd < 0) continue;
    os.connect(fd, SockAddr{loopback_ip, port});  // failure is fine: the server may be gone already
    os.close(fd);
  }
}

std::vector<ClientReport> run_clients(Os& os, const WorkloadSpec& workload, std::uint16_t port) {
  std::vector<ClientReport> reports(static_cast<std::size_t>(workload.clients));
  std::vector<std::unique_ptr<Thread>> threads;
  for (int client = 1; client <= workload.clients; ++client) {
    // Each thread writes only its own report; join() orders that write before our read.
    ClientReport& report = reports[static_cast<std::size_t>(client - 1)];
    threads.push_back(os.thread_create(
        fmt::format("client-{}", client),
        [&os, &workload, &report, port, client] { report = run_echo_client(os, workload, port, client); }));
  }
  for (auto& thread : threads) thread->join();
  return reports;
}

}  // namespace

void TranscriptHash::add(std::span<const std::byte> bytes) {
  for (std::byte byte : bytes) {
    std::uint64_t mixed = state_ ^ static_cast<std::uint64_t>(byte);
    state_ = sim::splitmix64(mixed);
  }
}

std::uint64_t client_seed(std::uint64_t workload_seed, int client) {
  std::uint64_t state = workload_seed;
  std::uint64_t mixed = sim::splitmix64(state) ^ static_cast<std::uint64_t>(client);
  return sim::splitmix64(mixed);
}

std::uint64_t expected_transcript_hash(const WorkloadSpec& workload, int client) {
  sim::Prng prng(client_seed(workload.seed, client));
  TranscriptHash transcript;
  std::vector<std::byte> message;
  for (int index = 0; index < workload.messages; ++index) {
    next_message(prng, workload, message);
    transcript.add(message);
  }
  return transcript.value();
}

Observation run_echo_workload(Os& os, const ScenarioSpec& spec) {
  Observation observation;
  const AppInfo* app = find_app(spec.app);
  if (app == nullptr) {
    observation.server_error = fmt::format("unknown app \"{}\"", spec.app);
    return observation;
  }
  ServerRendezvous rendezvous{os.mutex_create(), os.condvar_create()};
  AppContext context{os,
                     spec.params,
                     spec.workload.clients,
                     [&rendezvous](std::uint16_t port) { announce(rendezvous, true, port); },
                     {}};
  auto server = os.thread_create("server", [app, &context, &rendezvous] {
    app->main(context);
    announce(rendezvous, false, 0);
  });
  std::uint16_t port = 0;
  const bool listening = wait_until_listening(rendezvous, port);
  if (listening) {
    observation.clients = run_clients(os, spec.workload, port);
    stand_in_for_missing_clients(os, observation.clients, port);
  }
  server->join();
  observation.server_error = context.error;
  if (!listening && observation.server_error.empty())
    observation.server_error = "server returned without listening";
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
  return {{"clients", std::move(clients_json)}, {"server_error", server_error}};
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
  return fmt::format("{}/{} clients echoed in order, {} bytes echoed{}; server {}", in_order, clients.size(),
                     bytes, first_error, server_error.empty() ? "ok" : server_error);
}

}  // namespace iosim
