// scenarios/registry.hpp — the bundled applications by name: what a scenario file's "app" field refers to,
// the context an app runs in (AppContext) and the integer parameters each app accepts (AppParam).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "iosim/os.hpp"
#include "scenarios/scenario.hpp"

namespace iosim {

// What a server app is given. The app serves exactly `connections` connections (each until the client
// closes it, or until the app's protocol ends it), then closes everything and returns.
struct AppContext {
  Os& os;
  const nlohmann::json& params;  // the scenario's "params" object (validated against AppInfo::params)
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

struct AppInfo {
  std::string_view name;
  std::string_view description;
  void (*main)(AppContext&);
  std::span<const AppParam> params;            // every parameter the app reads from AppContext::params
  WorkloadKind workload = WorkloadKind::echo;  // the clients it serves; the loader rejects any other kind
  std::string_view native_backend = "linux";  // what iosim diff compares the simulator with by default
};

// Every bundled app, in a fixed order (sorted by name).
std::span<const AppInfo> apps();
// nullptr when no app has this name.
const AppInfo* find_app(std::string_view name);
// nullptr when `app` has no parameter of this name.
const AppParam* find_param(const AppInfo& app, std::string_view name);

// The value of `param` in `params`, or its default when absent. Values are range-checked by the scenario
// loader; an app run with unchecked params gets the default for anything that is not an in-range integer.
std::int64_t param_int(const nlohmann::json& params, const AppParam& param);

}  // namespace iosim
