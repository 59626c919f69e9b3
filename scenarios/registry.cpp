// scenarios/registry.cpp — the table of bundled apps, built once on first use (sorted by name).
// Adding an app: write scenarios/apps/<name>.cpp with a <name>_app() function and list it here.
#include "scenarios/registry.hpp"

#include <algorithm>
#include <array>

#include "scenarios/apps/apps.hpp"

namespace iosim {

std::span<const AppInfo> apps() {
  // A function-local static: initialised on first call, after every app's translation unit is ready.
  static const std::array<AppInfo, 20> table = [] {
    std::array<AppInfo, 20> entries = {servers::echo_blocking_threads_app(),
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
    std::sort(entries.begin(), entries.end(),
              [](const AppInfo& a, const AppInfo& b) { return a.name < b.name; });
    return entries;
  }();
  return table;
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
