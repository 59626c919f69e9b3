// scenarios/apps/apps.hpp — one function per bundled app returning its registry entry (see registry.cpp).
// Functions, not global AppInfo objects, so the registry never depends on static initialisation order.
#pragma once

#include "scenarios/registry.hpp"

namespace iosim::servers {

AppInfo echo_blocking_threads_app();
AppInfo echo_nonblocking_poll_loop_app();
AppInfo echo_poll_app();
AppInfo echo_select_app();

}  // namespace iosim::servers
