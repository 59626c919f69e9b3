// tests/user_apps/sequential_echo.hpp — a user's echo server that serves one connection at a time, to the
// end, then accepts the next (correct for echo clients, whose connections the kernel queues meanwhile).
// Registered as an app in user_apps.cpp and recorded on the real kernel by user_recorder.cpp.
#pragma once

#include <iosim/app.hpp>
#include <vector>

namespace user_apps {

inline constexpr iosim::AppParam sequential_params[] = {
    {"backlog", 16, 1, 1024, "listen(2) backlog: clients queue here while one is served"},
};

inline bool send_all(iosim::Os& os, int fd, const char* data, long length) {
  for (long sent = 0; sent < length;) {
    const long n = os.send(fd, data + sent, static_cast<std::size_t>(length - sent), iosim::MSG::NOSIGNAL);
    if (n < 0) return false;
    sent += n;
  }
  return true;
}

inline void sequential_echo(iosim::AppContext& ctx) {
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

}  // namespace user_apps
