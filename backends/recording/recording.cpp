// backends/recording/recording.cpp — iosim::Recording (include/iosim/recording.hpp): a RecordingOs over the
// caller's Os, and its events written as an .iotrace file with the header replay rebuilds the app from.
#include "iosim/recording.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "backends/recording/iotrace.hpp"
#include "backends/recording/recording_os.hpp"

namespace iosim {

Recording::Recording(Os& inner) : os_(std::make_unique<RecordingOs>(inner)) {}

Recording::~Recording() = default;

Os& Recording::os() {
  return *os_;
}

Status Recording::write(const std::string& path, const RecordedApp& app, std::string_view server_error) {
  const nlohmann::json params = nlohmann::json::parse(app.params_json, nullptr, false);
  if (!params.is_object()) {
    return Status::error(
        fmt::format("{}: params_json must be a JSON object, got '{}'", path, app.params_json));
  }
  IoTrace trace;
  trace.header.name = app.app;
  trace.header.app = app.app;
  trace.header.params = params;
  trace.header.connections = app.connections;
  trace.header.backend = std::string(os_->backend_name());
  trace.events = os_->take_events();
  trace.end.connections = os_->connections_accepted();
  trace.end.server_error = std::string(server_error);
  trace.end.summary = "recorded through iosim::Recording";
  return write_iotrace(path, trace);
}

}  // namespace iosim
