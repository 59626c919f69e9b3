// scenarios/registry.cpp — the table of every app: the bundled ones, then those registered with IOSIM_APP
// (static initialisers, before main), built once on first use and sorted by name; duplicates are kept aside.
// Adding a bundled app: write scenarios/apps/<name>.cpp with a <name>_app() function and list it here.
#include "scenarios/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "iosim/assert.hpp"
#include "scenarios/apps/apps.hpp"

namespace iosim {
namespace {

std::array<AppInfo, 20> bundled_apps() {
  return {servers::echo_blocking_threads_app(),
          servers::echo_epoll_et_app(),
          servers::echo_epoll_exclusive_app(),
          servers::echo_epoll_lt_app(),
          servers::echo_epoll_oneshot_threads_app(),
          servers::echo_nonblocking_poll_loop_app(),
          servers::echo_poll_app(),
          servers::echo_select_app(),
          servers::echo_selectors_app(),
          servers::iocp_accept_callbacks_app(),
          servers::iocp_inline_success_app(),
          servers::iocp_overlapped_reuse_app(),
          servers::iocp_pool_app(),
          servers::lost_wakeup_pool_app(),
          servers::close_while_reading_app(),
          servers::lock_order_inversion_app(),
          servers::proactor_echo_app(),
          servers::reactor_echo_app(),
          servers::reactor_http_app(),
          servers::select_prefork_app()};
}

// IOSIM_APP registrations, in the order the static initialisers ran.
std::vector<AppInfo>& registered_apps() {
  static std::vector<AppInfo> registered;
  return registered;
}

struct Table {
  std::vector<AppInfo> apps;            // sorted by name, each name once
  std::vector<std::string> duplicates;  // names registered more than once
  bool built = false;
};

Table& table() {
  static Table table;
  return table;
}

void build_table(Table& built) {
  const std::array<AppInfo, 20> bundled = bundled_apps();
  built.apps.assign(bundled.begin(), bundled.end());
  for (const AppInfo& app : registered_apps()) {
    const bool taken = std::any_of(built.apps.begin(), built.apps.end(),
                                   [&](const AppInfo& other) { return other.name == app.name; });
    if (taken) {
      built.duplicates.emplace_back(app.name);
      continue;
    }
    built.apps.push_back(app);
  }
  std::stable_sort(built.apps.begin(), built.apps.end(),
                   [](const AppInfo& a, const AppInfo& b) { return a.name < b.name; });
  built.built = true;
}

void register_app(AppInfo app) {
  IOSIM_ASSERT(!table().built,
               "IOSIM_APP ran after the app table was first used (register at namespace scope)");
  app.bundled = false;
  registered_apps().push_back(app);
}

}  // namespace

AppRegistration::AppRegistration(std::string_view name, std::string_view description, ServerApp main,
                                 std::span<const AppParam> params, WorkloadKind workload) {
  IOSIM_ASSERT(main != nullptr && workload != WorkloadKind::none, "a server app serves echo or http clients");
  register_app(AppInfo{name, description, main, params, workload});
}

AppRegistration::AppRegistration(std::string_view name, std::string_view description, WorldApp world) {
  IOSIM_ASSERT(world != nullptr, "a world app needs its function");
  AppInfo app{name, description, nullptr, {}, WorkloadKind::none};
  app.world = world;
  register_app(app);
}

std::span<const AppInfo> apps() {
  // Built once, on first use (a thread-safe static), after every static initialiser of main's binary ran.
  static const bool built = (build_table(table()), true);
  (void)built;
  return table().apps;
}

Status check_app_registry() {
  (void)apps();
  const std::vector<std::string>& duplicates = table().duplicates;
  if (duplicates.empty()) return Status::ok();
  std::string names;
  for (const std::string& name : duplicates) names += (names.empty() ? "\"" : ", \"") + name + "\"";
  return Status::error(
      fmt::format("app {} registered twice (IOSIM_APP names must differ from each other and "
                  "from the bundled apps')",
                  names));
}

void app_check(bool condition, std::string_view message, std::source_location where) {
  if (condition) return;
  throw AppCheckFailed(fmt::format("app_check failed: {} ({}:{})", message, where.file_name(), where.line()));
}

const AppInfo* find_app(std::string_view name) {
  for (const AppInfo& app : apps()) {
    if (app.name == name) return &app;
  }
  return nullptr;
}

const AppParam* find_param(const AppInfo& app, std::string_view name) {
  for (const AppParam& param : app.params) {
    if (param.name == name) return &param;
  }
  return nullptr;
}

std::int64_t param_int(const nlohmann::json& params, const AppParam& param) {
  if (!params.is_object()) return param.default_value;
  const auto found = params.find(param.name);
  if (found == params.end() || !found->is_number_integer()) return param.default_value;
  // Unsigned values above int64 max compare as out of range (get<int64_t> would wrap them negative).
  if (found->is_number_unsigned() &&
      found->get<std::uint64_t>() > static_cast<std::uint64_t>(param.max_value)) {
    return param.default_value;
  }
  const auto value = found->get<std::int64_t>();
  if (value < param.min_value || value > param.max_value) return param.default_value;
  return value;
}

}  // namespace iosim
