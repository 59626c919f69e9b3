// tests/user_apps/user_apps.cpp — a user's own binary: three apps registered with IOSIM_APP (a server and two
// world functions) and nothing else; linked with iosim::cli_main, its main is the iosim CLI on them.
#include <iosim/app.hpp>
#include <memory>
#include <string>
#include <vector>

#include "sequential_echo.hpp"

namespace {

// Two threads add to a counter with a read-modify-write that spans a scheduling point: the schedules that run
// the other thread there lose an update, and app_check says so.
void lost_update(iosim::Os& os) {
  int counter = 0;
  auto add_one = [&os, &counter] {
    const int seen = counter;
    (void)os.monotonic_ns();  // every Os call is a scheduling point: the other thread may run here
    counter = seen + 1;
  };
  std::unique_ptr<iosim::Thread> first = os.thread_create("adder-1", add_one);
  std::unique_ptr<iosim::Thread> second = os.thread_create("adder-2", add_one);
  first->join();
  second->join();
  iosim::app_check(counter == 2, "both increments are kept, counter is " + std::to_string(counter));
}

// The same with the update under a mutex: holds on every schedule. Both threads have one name, as pool
// threads often do: traces must still tell them apart.
void locked_update(iosim::Os& os) {
  int counter = 0;
  std::unique_ptr<iosim::Mutex> mutex = os.mutex_create();
  auto add_one = [&] {
    mutex->lock();
    const int seen = counter;
    os.sleep_for(1000);
    counter = seen + 1;
    mutex->unlock();
  };
  std::unique_ptr<iosim::Thread> first = os.thread_create("adder", add_one);
  std::unique_ptr<iosim::Thread> second = os.thread_create("adder", add_one);
  first->join();
  second->join();
  iosim::app_check(counter == 2, "both increments are kept, counter is " + std::to_string(counter));
}

}  // namespace

IOSIM_APP(user_sequential_echo, "a user's echo server: one connection at a time", user_apps::sequential_echo,
          user_apps::sequential_params);
IOSIM_APP(user_lost_update, "a user's world: two threads race on a counter (fails on some seeds)",
          lost_update);
IOSIM_APP(user_locked_update, "a user's world: the counter under a mutex (holds on every seed)",
          locked_update);
