// backends/windows/wine_process.cpp — posix_spawn of `wine EXE ARGS...` with WINEPREFIX/WINEDEBUG set, pipes
// read with poll() so a child filling stderr never blocks one that is read on stdout, and kill on timeout.
#include "backends/windows/wine_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <thread>

extern char** environ;

namespace iosim {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr int poll_slice_ms = 20;  // how often a read loop checks whether the wine process has exited

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

bool is_executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0 && !fs::is_directory(path);
}

// `name` as given when it contains a '/', else the first executable PATH entry; empty when none.
std::string search_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return is_executable(name) ? name : std::string();
  const std::string path = env_or_empty("PATH");
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find(':', start), path.size());
    const std::string candidate = (end > start ? path.substr(start, end - start) : ".") + "/" + name;
    if (is_executable(candidate)) return candidate;
    start = end + 1;
  }
  return {};
}

// The child's environment: ours with WINEPREFIX replaced and WINEDEBUG=-all unless the user set WINEDEBUG
// (to debug a run).
std::vector<std::string> child_environment(const WineSetup& setup) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (text.starts_with("WINEPREFIX=")) continue;
    env.emplace_back(text);
  }
  env.push_back("WINEPREFIX=" + setup.prefix);
  if (std::getenv("WINEDEBUG") == nullptr) env.emplace_back("WINEDEBUG=-all");
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

struct Pipe {
  int read_end = -1, write_end = -1;
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read_end = fds[0];
    write_end = fds[1];
    return true;
  }
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Spawns `wine command...`; each of child_stdin/out/err is dup'ed onto 0/1/2 when >= 0 (else inherited).
Result<pid_t> spawn_wine(const WineSetup& setup, const std::vector<std::string>& command, int child_stdin,
                         int child_stdout, int child_stderr) {
  std::vector<std::string> argv_strings{setup.wine};
  argv_strings.insert(argv_strings.end(), command.begin(), command.end());
  std::vector<std::string> env_strings = child_environment(setup);
  auto argv = c_strings(argv_strings);
  auto envp = c_strings(env_strings);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (child_stdin >= 0) posix_spawn_file_actions_adddup2(&actions, child_stdin, 0);
  if (child_stdout >= 0) posix_spawn_file_actions_adddup2(&actions, child_stdout, 1);
  if (child_stderr >= 0) posix_spawn_file_actions_adddup2(&actions, child_stderr, 2);
  pid_t pid = -1;
  const int error = ::posix_spawn(&pid, setup.wine.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return Status::error(fmt::format("cannot start {}: {}", setup.wine, std::strerror(error)));
  return pid;
}

std::vector<std::string> exe_command(const std::string& exe, const std::vector<std::string>& args) {
  std::vector<std::string> command{exe};
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits up to `wait` for `pid`, then kills it; returns the exit code (128 + signal when killed).
int reap(pid_t pid, std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    ::usleep(2000);
  }
  return exit_code_of(status);
}

// Appends what is readable on `fd` to `into`; false at end of file.
bool drain_once(int fd, std::string& into) {
  char buf[4096];
  const ssize_t got = ::read(fd, buf, sizeof buf);
  if (got > 0) into.append(buf, static_cast<std::size_t>(got));
  return got > 0 || (got < 0 && errno == EINTR);
}

// The exit code when `pid` has exited (reaping it), nothing while it runs.
std::optional<int> try_reap(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return std::nullopt;
  return exit_code_of(status);
}

// What is left in a pipe whose writer has exited (no blocking: Wine's own background processes, such as
// services.exe, inherit the pipe and keep it open for seconds after the program is gone).
void drain_rest(int fd, std::string& into) {
  if (fd < 0) return;
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  while (drain_once(fd, into)) {
  }
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

std::string default_wine_prefix() {
  const std::string cache = env_or_empty("XDG_CACHE_HOME");
  if (!cache.empty()) return cache + "/iosim/wine-prefix";
  const std::string home = env_or_empty("HOME");
  return (home.empty() ? std::string("/tmp") : home) + "/.cache/iosim/wine-prefix";
}

Result<WineSetup> find_wine(const std::string& default_prefix) {
  const std::string override_name = env_or_empty(wine_env_override);
  const std::string wine = search_path(override_name.empty() ? "wine" : override_name);
  if (wine.empty()) {
    if (!override_name.empty())
      return Status::error(fmt::format("{}={} is not an executable wine", wine_env_override, override_name));
    return Status::error(
        "wine not found on PATH: run tools/install-deps (installs wine and wine64), or set IOSIM_WINE");
  }
  const std::string prefix = env_or_empty(wine_prefix_env);
  return WineSetup{wine, prefix.empty() ? default_prefix : prefix};
}

namespace {
// Runs `wine command...` to completion, stdout and stderr captured through poll() (so neither pipe can fill
// up and stall the child), killed after `timeout`.
Result<WineRunResult> run_command(const WineSetup& setup, const std::vector<std::string>& command,
                                  std::chrono::milliseconds timeout) {
  Pipe out, err;
  if (!out.open() || !err.open()) return Status::error(fmt::format("pipe: {}", std::strerror(errno)));
  const auto pid = spawn_wine(setup, command, -1, out.write_end, err.write_end);
  close_fd(out.write_end);
  close_fd(err.write_end);
  WineRunResult result;
  const auto deadline = Clock::now() + timeout;
  std::optional<int> exit_code;
  // Read until the program exits (not until end of file: see drain_rest), in slices so its exit is seen.
  while (pid && !exit_code && remaining_ms(deadline) > 0) {
    ::pollfd fds[2] = {{out.read_end, POLLIN, 0}, {err.read_end, POLLIN, 0}};
    const int ready = ::poll(fds, 2, std::min(remaining_ms(deadline), poll_slice_ms));
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0 && fds[0].revents != 0 && !drain_once(out.read_end, result.out)) close_fd(out.read_end);
    if (ready > 0 && fds[1].revents != 0 && !drain_once(err.read_end, result.err)) close_fd(err.read_end);
    exit_code = try_reap(*pid);
  }
  drain_rest(out.read_end, result.out);
  drain_rest(err.read_end, result.err);
  close_fd(out.read_end);
  close_fd(err.read_end);
  if (!pid) return pid.status();
  if (!exit_code) {
    reap(*pid, std::chrono::milliseconds(0));
    return Status::error(
        fmt::format("wine {} did not finish within {} ms (killed)", command.front(), timeout.count()));
  }
  result.exit_code = *exit_code;
  return result;
}
}  // namespace

Status ensure_wine_prefix(const WineSetup& setup) {
  const fs::path prefix(setup.prefix);
  std::error_code error;
  fs::create_directories(prefix.parent_path(), error);
  if (error)
    return Status::error(fmt::format("cannot create {}: {}", prefix.parent_path().string(), error.message()));
  const std::string lock_path = setup.prefix + ".lock";
  const int lock = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock < 0) return Status::error(fmt::format("cannot open {}: {}", lock_path, std::strerror(errno)));
  ::flock(lock, LOCK_EX);  // released by the close below
  Status status = Status::ok();
  if (!fs::exists(prefix / "system.reg")) {
    const auto boot = run_command(setup, {"wineboot", "--init"}, std::chrono::minutes(3));
    // wineboot returns before the wineserver has written the registry files (it writes them when it
    // exits, about 3 s after the last Wine process): wait for them, or the next check would boot again.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (boot && boot->exit_code == 0 && !fs::exists(prefix / "system.reg") &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!boot || boot->exit_code != 0 || !fs::exists(prefix / "system.reg"))
      status = Status::error(fmt::format("wine could not create the prefix {}: {}", setup.prefix,
                                         boot ? boot->err : boot.error()));
  }
  ::close(lock);
  return status;
}

Result<WineRunResult> run_under_wine(const WineSetup& setup, const std::string& exe,
                                     const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout) {
  if (!fs::is_regular_file(exe)) return Status::error(fmt::format("{}: no such file", exe));
  return run_command(setup, exe_command(exe, args), timeout);
}

Result<std::unique_ptr<WineChild>> WineChild::start(const WineSetup& setup, const std::string& exe,
                                                    const std::vector<std::string>& args) {
  if (!fs::is_regular_file(exe)) return Status::error(fmt::format("{}: no such file", exe));
  Pipe in, out;
  if (!in.open() || !out.open()) return Status::error(fmt::format("pipe: {}", std::strerror(errno)));
  const auto pid = spawn_wine(setup, exe_command(exe, args), in.read_end, out.write_end, -1);
  close_fd(in.read_end);
  close_fd(out.write_end);
  if (!pid) {
    close_fd(in.write_end);
    close_fd(out.read_end);
    return pid.status();
  }
  return std::unique_ptr<WineChild>(new WineChild(*pid, in.write_end, out.read_end));
}

WineChild::~WineChild() {
  if (!finished_) (void)finish();
}

Status WineChild::write_line(const std::string& line) {
  const std::string text = line + "\n";
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(stdin_fd_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::error(fmt::format("writing to the wine child: {}", std::strerror(errno)));
    written += static_cast<std::size_t>(n);
  }
  return Status::ok();
}

Result<std::string> WineChild::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::size_t newline;
  while ((newline = buffered_.find('\n')) == std::string::npos) {
    if (exit_code_)
      return Status::error(fmt::format("the wine child exited ({}) before a full line", *exit_code_));
    if (remaining_ms(deadline) == 0)
      return Status::error(fmt::format("no reply line from the wine child within {} ms", timeout.count()));
    ::pollfd fd{stdout_fd_, POLLIN, 0};
    const int ready = ::poll(&fd, 1, std::min(remaining_ms(deadline), poll_slice_ms));
    if (ready < 0 && errno != EINTR) return Status::error(fmt::format("poll: {}", std::strerror(errno)));
    if (ready > 0 && !drain_once(stdout_fd_, buffered_)) exit_code_ = reap(pid_, std::chrono::seconds(30));
    if (ready == 0 && (exit_code_ = try_reap(pid_))) drain_rest(stdout_fd_, buffered_);
  }
  std::string line = buffered_.substr(0, newline);
  buffered_.erase(0, newline + 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();  // a Windows program's text-mode "\r\n"
  return line;
}

Result<int> WineChild::finish(std::chrono::milliseconds exit_wait) {
  if (finished_) return Status::error("WineChild::finish called twice");
  finished_ = true;
  close_fd(stdin_fd_);
  if (!exit_code_) exit_code_ = reap(pid_, exit_wait);
  close_fd(stdout_fd_);
  return *exit_code_;
}

}  // namespace iosim
