// examples/echo_server/echo_server_app.cpp — the example's own apps in its own iosim CLI (echo_iosim, linked
// with iosim::cli_main): the echo server under the scenario's echo clients, and the racy byte count as a world.
#include <iosim/app.hpp>
#include <string>

#include "echo_server.hpp"

namespace {

// The server app: serve exactly the scenario's connections, then stop (AppContext, include/iosim/app.hpp).
void echo_server_app(iosim::AppContext& context) {
  echo::EchoServer server(context.os, {.connections = context.connections});
  const iosim::SockAddr address = server.start();
  if (address.port == 0) {
    context.error = "start: a call failed";
    return;
  }
  context.ready(address.port);
  server.wait();
}

// The racy variant as a world: two clients echo 500 bytes each; the unlocked byte count loses an update on
// some schedules, and app_check names it.
void racy_byte_count(iosim::Os& os) {
  echo::EchoServer server(os, {.connections = 2, .racy_byte_count = true});
  const iosim::SockAddr address = server.start();
  iosim::app_check(address.port != 0, "the server listens");
  const std::vector<char> message(500, 'x');
  auto other = os.thread_create("client", [&] { echo::echo_round_trip(os, address, message, 50); });
  echo::echo_round_trip(os, address, message, 50);
  other->join();
  server.wait();
  iosim::app_check(server.bytes_echoed() == 1000,
                   "every echoed byte is counted, counted " + std::to_string(server.bytes_echoed()));
}

}  // namespace

IOSIM_APP(example_echo_server, "examples/echo_server: thread-per-connection echo server", echo_server_app);
IOSIM_APP(example_racy_byte_count, "examples/echo_server: the racy byte count under two clients (fails)",
          racy_byte_count);
