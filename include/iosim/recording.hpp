// include/iosim/recording.hpp — record what a server saw of the outside world (RecordingOs: every accept,
// recv, send, close, poll, select and epoll_wait result, with its bytes and time) into an .iotrace file that
// `iosim replay` — or your binary linked with iosim::cli_main — re-runs on the simulator.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "iosim/os.hpp"
#include "iosim/status.hpp"

namespace iosim {

class RecordingOs;

// What replay needs to rebuild the server: the name of a server app registered with IOSIM_APP (or a bundled
// one), the params it ran with (a JSON object) and how many connections it served (AppContext::connections).
struct RecordedApp {
  std::string app;
  std::string params_json = "{}";
  int connections = 0;
};

// Give os() to the server app (its AppContext::os) and nothing else: the clients, being the outside world,
// use the inner Os directly. Typically the inner Os is make_linux_os() (include/iosim/linux.hpp).
class Recording {
 public:
  explicit Recording(Os& inner);
  ~Recording();
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;

  Os& os();

  // Once the server has returned (every thread it started joined): writes the .iotrace file, its events and
  // the end record with `server_error` (AppContext::error). Fails with a message naming the file or the
  // params when they cannot be written or parsed.
  Status write(const std::string& path, const RecordedApp& app, std::string_view server_error = {});

 private:
  std::unique_ptr<RecordingOs> os_;
};

}  // namespace iosim
