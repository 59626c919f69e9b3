// tests/user_apps/user_recorder.cpp — a user's own recording program: its server (sequential_echo) on the
// real kernel behind iosim::Recording, served to real client threads, written to the .iotrace named by
// argv[1] for user_app_cli to replay. Exit 0 when every client got its bytes back, 1 when not, 2 on bad
// usage.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iosim/linux.hpp>
#include <iosim/recording.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sequential_echo.hpp"

namespace {

constexpr int client_count = 3;
constexpr int messages_per_client = 3;

// One real client: connect, send each message and read it back, close. False on any difference.
bool run_client(iosim::Os& os, std::uint16_t port, int client) {
  const int fd = os.socket(iosim::AF::INET, iosim::SOCK::STREAM, 0);
  if (fd < 0 || os.connect(fd, iosim::SockAddr{iosim::loopback_ip, port}) < 0) return false;
  bool same = true;
  for (int index = 0; index < messages_per_client && same; ++index) {
    const std::string message =
        "client " + std::to_string(client) + " says " + std::string(index * 100 + 1, 'x');
    std::string back(message.size(), '\0');
    same = user_apps::send_all(os, fd, message.data(), static_cast<long>(message.size()));
    for (std::size_t got = 0; same && got < back.size();) {
      const long n = os.recv(fd, back.data() + got, back.size() - got, 0);
      same = n > 0;
      got += same ? static_cast<std::size_t>(n) : 0;
    }
    same = same && back == message;
  }
  os.close(fd);
  return same;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: user_recorder OUT.iotrace\n");
    return 2;
  }
  std::unique_ptr<iosim::Os> kernel = iosim::make_linux_os();
  iosim::Recording recording(*kernel);
  const nlohmann::json params = {{"backlog", 8}};
  std::mutex mutex;
  std::condition_variable changed;
  std::uint16_t port = 0;
  bool started = false;
  iosim::AppContext context{recording.os(), params, client_count, [&](std::uint16_t bound) {
                              const std::lock_guard lock(mutex);
                              port = bound;
                              started = true;
                              changed.notify_all();
                            }};
  std::unique_ptr<iosim::Thread> server = recording.os().thread_create("server", [&] {
    user_apps::sequential_echo(context);
    const std::lock_guard lock(mutex);
    started = true;  // also when it returned without listening
    changed.notify_all();
  });
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return started; });
  }
  std::atomic<int> echoed = 0;
  std::vector<std::thread> clients;
  for (int client = 1; client <= client_count && port != 0; ++client) {
    clients.emplace_back([&, client] { echoed += run_client(*kernel, port, client) ? 1 : 0; });
  }
  for (std::thread& client : clients) client.join();
  server->join();
  const iosim::Status written =
      recording.write(argv[1], {"user_sequential_echo", params.dump(), client_count}, context.error);
  if (!written) {
    std::fprintf(stderr, "user_recorder: %s\n", written.message().c_str());
    return 2;
  }
  std::printf("recorded %d/%d clients echoed, server %s -> %s\n", echoed.load(), client_count,
              context.error.empty() ? "ok" : context.error.c_str(), argv[1]);
  return echoed == client_count ? 0 : 1;
}
