// tests/user_apps/user_apps.cpp — a user's own binary: two apps registered with IOSIM_APP (a server and two
// world functions) and nothing else; linked with iosim::cli_main, its main is the iosim CLI on them.
#include <iosim/app.hpp>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr iosim::AppParam sequential_params[] = {
    {"backlog", 16, 1, 1024, "listen(2) backlog: clients queue here while one is served"},
};

bool send_all(iosim::Os& os, int fd, const char* data, long length) {
  for (long sent = 0; sent < length;) {
    const long n = os.send(fd, data + sent, static_cast<std::size_t>(length - sent), iosim::MSG::NOSIGNAL);
    if (n < 0) return false;
    sent += n;
  }
  return true;
}

// Echo server that serves one connection at a time, to the end, then accepts the next: correct for echo
// clients, whose connections the kernel queues meanwhile.
void sequential_echo(iosim::AppContext& ctx) {
  iosim::Os& os = ctx.os;
  const int listener = os.socket(iosim::AF::INET, iosim::SOCK::STREAM, 0);
  iosim::SockAddr local{iosim::loopback_ip, 0};
  if (listener < 0 || os.bind(listener, local) < 0 ||
      os.listen(listener, static_cast<int>(iosim::param_int(ctx.params, sequential_params[0]))) < 0 ||
      os.getsockname(listener, &local) < 0) {
    ctx.error = "listen failed";
    return;
  }
  ctx.ready(local.port);
  std::vector<char> buffer(4096);
  for (int served = 0; served < ctx.connections; ++served) {
    const int fd = os.accept4(listener, nullptr, 0);
    if (fd < 0) {
      ctx.error = "accept4 failed";
      break;
    }
    for (long n; (n = os.recv(fd, buffer.data(), buffer.size(), 0)) > 0;) {
      if (!send_all(os, fd, buffer.data(), n)) break;
    }
    os.close(fd);
  }
  os.close(listener);
}

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

// The same with the update under a mutex: holds on every schedule.
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
  std::unique_ptr<iosim::Thread> first = os.thread_create("adder-1", add_one);
  std::unique_ptr<iosim::Thread> second = os.thread_create("adder-2", add_one);
  first->join();
  second->join();
  iosim::app_check(counter == 2, "both increments are kept, counter is " + std::to_string(counter));
}

}  // namespace

IOSIM_APP(user_sequential_echo, "a user's echo server: one connection at a time", sequential_echo,
          sequential_params);
IOSIM_APP(user_lost_update, "a user's world: two threads race on a counter (fails on some seeds)",
          lost_update);
IOSIM_APP(user_locked_update, "a user's world: the counter under a mutex (holds on every seed)",
          locked_update);
