// backends/windows/wine_process.hpp — runs the Windows build's .exe files under Wine from Linux: once to
// completion (output captured), or as a long-lived child spoken to one line at a time. Linux-only, no Win32.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "iosim/status.hpp"

namespace iosim {

// Where Wine is and which prefix (its C: drive and registry) it uses.
struct WineSetup {
  std::string wine;    // path of the wine launcher
  std::string prefix;  // WINEPREFIX
};

// The environment variables the launcher reads.
inline constexpr const char* wine_env_override = "IOSIM_WINE";  // path (or PATH name) of wine to use
inline constexpr const char* wine_prefix_env = "WINEPREFIX";    // Wine's own; wins over every default

// ~/.cache/iosim/wine-prefix ($XDG_CACHE_HOME/iosim/wine-prefix when set): the CLI's default prefix.
std::string default_wine_prefix();

// Finds wine ($IOSIM_WINE, else `wine` on PATH) and picks the prefix ($WINEPREFIX, else `default_prefix`).
// The error names what is missing and how to install it.
Result<WineSetup> find_wine(const std::string& default_prefix);

// Creates and boots the prefix if it has never been booted (`wine wineboot --init`, ~11 s the first time),
// under an flock on PREFIX.lock so parallel first starts do not race; a no-op for a booted prefix.
Status ensure_wine_prefix(const WineSetup& setup);

struct WineRunResult {
  int exit_code = -1;  // the .exe's exit code; 128 + signal if wine itself was killed
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr (Wine's own messages land here too)
};

// Runs `exe args...` under Wine to completion, capturing stdout and stderr. Fails (without running anything)
// when the exe does not exist, and when the run takes longer than `timeout` (the process is killed).
Result<WineRunResult> run_under_wine(const WineSetup& setup, const std::string& exe,
                                     const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout = std::chrono::minutes(5));

// A long-lived `wine exe args...` with pipes to its stdin and stdout (stderr is inherited): write one request
// line, read one reply line. Destroying it closes stdin, then waits for the process (killing it after
// `exit_wait`).
class WineChild {
 public:
  static Result<std::unique_ptr<WineChild>> start(const WineSetup& setup, const std::string& exe,
                                                  const std::vector<std::string>& args);
  ~WineChild();
  WineChild(const WineChild&) = delete;
  WineChild& operator=(const WineChild&) = delete;

  // Writes `line` and a newline.
  Status write_line(const std::string& line);
  // Reads up to the next newline (not included); an error at end of output or after `timeout`.
  Result<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::minutes(1));
  // Closes stdin and waits for the exit code (128 + signal if killed).
  Result<int> finish(std::chrono::milliseconds exit_wait = std::chrono::seconds(30));

 private:
  WineChild(int pid, int stdin_fd, int stdout_fd) : pid_(pid), stdin_fd_(stdin_fd), stdout_fd_(stdout_fd) {}
  int pid_;
  int stdin_fd_;
  int stdout_fd_;
  std::string buffered_;          // bytes read past the last returned line
  std::optional<int> exit_code_;  // once the process has been reaped
  bool finished_ = false;
};

}  // namespace iosim
