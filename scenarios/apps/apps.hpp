// scenarios/apps/apps.hpp — one function per bundled app returning its registry entry (see registry.cpp).
// Functions, not global AppInfo objects, so the registry never depends on static initialisation order.
#pragma once

#include "scenarios/registry.hpp"

namespace iosim::servers {

AppInfo echo_blocking_threads_app();
AppInfo echo_epoll_et_app();
AppInfo echo_epoll_exclusive_app();
AppInfo echo_epoll_lt_app();
AppInfo echo_epoll_oneshot_threads_app();
AppInfo echo_nonblocking_poll_loop_app();
AppInfo echo_poll_app();
AppInfo echo_select_app();
AppInfo echo_selectors_app();
AppInfo iocp_accept_callbacks_app();
AppInfo iocp_inline_success_app();  // bug zoo (scenarios/apps/bugs/)
AppInfo iocp_overlapped_reuse_app();  // bug zoo
AppInfo iocp_pool_app();
AppInfo lost_wakeup_pool_app();  // bug zoo (scenarios/apps/bugs/)
AppInfo close_while_reading_app();   // bug zoo
AppInfo lock_order_inversion_app();  // bug zoo
AppInfo proactor_echo_app();
AppInfo reactor_echo_app();
AppInfo reactor_http_app();
AppInfo select_prefork_app();  // bug zoo (scenarios/apps/bugs/)

}  // namespace iosim::servers
