// scenarios/http_client.hpp — one client of the http workload: a new connection per request, the request
// sent, the response read to end of file and compared byte for byte with the expected one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "iosim/os.hpp"
#include "scenarios/scenario.hpp"
#include "scenarios/workload.hpp"

namespace iosim {

// One request of a client and the exact bytes the server must answer with.
struct HttpExchange {
  std::string path;      // "/bytes/<n>/<seed>"
  std::string response;  // "HTTP/1.0 200 OK\r\nContent-Length: n\r\n\r\n" + body
};

// The requests of client number `client` (1-based), in order. Each draws its body size in [body_bytes_min,
// body_bytes_max] and then its body seed from the client's Prng (client_seed), so they depend on nothing
// else.
std::vector<HttpExchange> http_exchanges(const WorkloadSpec& workload, int client);

struct HttpClientOutcome {
  ClientReport report;
  int connections_made = 0;  // connects that succeeded: the server counts each as a connection served
};

// Runs client number `client` of `workload` against 127.0.0.1:`port`: workload.requests requests, one after
// the other, each on its own connection (HTTP/1.0 without keep-alive: the server closes after responding).
// Stops at the first failure. Never throws; the failure is in the report.
HttpClientOutcome run_http_client(Os& os, const WorkloadSpec& workload, std::uint16_t port, int client);

}  // namespace iosim
