// scenarios/registry.hpp — every application by name, the bundled ones and those a binary registers with
// IOSIM_APP (include/iosim/app.hpp, which also defines AppContext and AppParam): what a scenario's "app"
// names.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "iosim/app.hpp"
#include "iosim/os.hpp"
#include "iosim/status.hpp"
#include "scenarios/scenario.hpp"

namespace iosim {

// A server app has `main` and serves `workload`; a world app (workload none) has `world` instead.
struct AppInfo {
  std::string_view name;
  std::string_view description;
  ServerApp main;
  std::span<const AppParam> params;            // every parameter the app reads from AppContext::params
  WorkloadKind workload = WorkloadKind::echo;  // the clients it serves; the loader rejects any other kind
  std::string_view native_backend = "linux";  // what iosim diff compares the simulator with by default
  WorldApp world = nullptr;                   // a world app's function (main is then null)
  bool bundled = true;                        // false: registered by this binary with IOSIM_APP
};

// Every bundled and registered app, in a fixed order (sorted by name); a name registered twice is kept once
// (the first) and reported by check_app_registry.
std::span<const AppInfo> apps();
// An error naming every app name registered more than once (or a registered name that is a bundled one's).
Status check_app_registry();
// nullptr when no app has this name.
const AppInfo* find_app(std::string_view name);
// nullptr when `app` has no parameter of this name.
const AppParam* find_param(const AppInfo& app, std::string_view name);

}  // namespace iosim
