// include/iosim/app.hpp — your own apps in the iosim CLI: IOSIM_APP registers a server app or a world
// function by name at static initialisation (as TEST and BENCHMARK do); link iosim::cli_main for a `main`
// that is the CLI.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <source_location>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "iosim/os.hpp"

namespace iosim {

// What the clients of a scenario speak. An app declares the one it serves; a scenario file's workload.kind
// must match it.
enum class WorkloadKind {
  echo,  // each client sends seeded messages on one connection and expects them back byte for byte
  http,  // each client sends HTTP/1.0 GET requests, one connection per request
  none,  // no clients: a world function is the whole run
};

// What a server app is given. The app serves exactly `connections` connections (each until the client
// closes it, or until the app's protocol ends it), then closes everything and returns.
struct AppContext {
  Os& os;
  const nlohmann::json& params;  // the scenario's "params" object (validated against the app's AppParams)
  int connections;               // serve exactly this many connections, then return
  std::function<void(std::uint16_t port)> ready;  // call once listening, with the bound port
  std::string error;  // set on a fatal error: "<call>: <errno name>", e.g. "accept4: EMFILE"
};

// One integer parameter of an app; the scenario loader rejects unknown names and out-of-range values.
struct AppParam {
  std::string_view name;
  std::int64_t default_value;
  std::int64_t min_value;
  std::int64_t max_value;
  std::string_view description;
};

// The value of `param` in `params` (AppContext::params), or its default when absent. Values are range-checked
// by the scenario loader; unchecked params give the default for anything that is not an in-range integer.
std::int64_t param_int(const nlohmann::json& params, const AppParam& param);

using ServerApp = void (*)(AppContext&);
using WorldApp = void (*)(Os&);  // runs as the world's main task; its verdict: it returns, no check failed

// One registration (use IOSIM_APP). Names are unique across the bundled apps and every registered one; a
// duplicate makes every CLI command exit 2 naming it.
class AppRegistration {
 public:
  AppRegistration(std::string_view name, std::string_view description, ServerApp main,
                  std::span<const AppParam> params = {}, WorkloadKind workload = WorkloadKind::echo);
  AppRegistration(std::string_view name, std::string_view description, WorldApp world);
};

// A failed app_check: thrown through the app's task; the run fails, naming the message and where it was.
class AppCheckFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Checks a condition of a world function (or a server): when false, throws AppCheckFailed with
// "app_check failed: <message> (<file>:<line>)", which the run reports as a failed check with its reproduce
// line.
void app_check(bool condition, std::string_view message,
               std::source_location where = std::source_location::current());

namespace cli {
// The iosim command line on every bundled and registered app; returns the process exit code (0 holds, 1 a
// check failed, 2 bad usage or input). iosim::cli_main's main() is `return iosim::cli::main(argc, argv);`.
int main(int argc, char** argv);
}  // namespace cli

}  // namespace iosim

#define IOSIM_APP_CONCAT_INNER(a, b) a##b
#define IOSIM_APP_CONCAT(a, b) IOSIM_APP_CONCAT_INNER(a, b)

// IOSIM_APP(my_echo, "echo server on my reactor", my_echo_main [, params [, iosim::WorkloadKind::http]]) with
// `void my_echo_main(iosim::AppContext&)`, or IOSIM_APP(my_world, "what it checks", my_world_main) with
// `void my_world_main(iosim::Os&)`. A scenario file then says "app": "my_echo". Put it in a source file of
// the executable itself (an unreferenced object in a static library is not linked, and its app not
// registered).
#define IOSIM_APP(name, description, ...)                                                                   \
  static const ::iosim::AppRegistration IOSIM_APP_CONCAT(iosim_app_registration_, name)(#name, description, \
                                                                                        __VA_ARGS__)
