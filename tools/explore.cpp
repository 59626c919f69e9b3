// tools/explore.cpp — `iosim explore`: run a range of seeds, in J worker processes, and report each failure
// with the command that reproduces it. Workers stream one JSON line per seed to the parent through a pipe.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "tools/commands.hpp"
#include "tools/driver.hpp"

namespace iosim::cli {
namespace {

nlohmann::json run_seed(const ScenarioSpec& spec, const ExploreOptions& options, std::uint64_t seed) {
  RunRequest request{"sim", seed, options.strategy, false};
  request.strategy_options = options.strategy_options;
  (void)apply_faults(request, options.faults);  // validated before exploring began
  const RunReport report = run_scenario(spec, request);
  nlohmann::json line{{"seed", seed},
                      {"passed", report.passed},
                      {"trace_hash", fmt::format("{:016x}", report.sim->trace_hash)},
                      {"steps", report.sim->run.steps},
                      {"outcome", sim::outcome_name(report.sim->run.outcome)}};
  if (!report.passed) {
    std::string detail;
    for (const CheckResult& check : report.checks) {
      if (!check.passed) detail += (detail.empty() ? "" : "; ") + check.check + ": " + check.detail;
    }
    line["failed"] = report.failed_checks();
    line["detail"] = detail;
    line["reproduce"] = reproduce_command(spec, report);
  }
  return line;
}

// The seeds of this shard, in order.
std::vector<std::uint64_t> shard_seeds(const ExploreOptions& options) {
  std::vector<std::uint64_t> seeds;
  for (std::uint64_t seed = options.seed_first;; ++seed) {
    if ((seed - options.seed_first) % options.shard_count == options.shard_index - 1) seeds.push_back(seed);
    if (seed == options.seed_last) break;
  }
  return seeds;
}

struct Progress {
  bool terminal = isatty(STDOUT_FILENO) != 0;
  std::size_t total = 0, done = 0, failures = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point drawn{};

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  void draw(bool force) {
    if (!terminal) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - drawn < std::chrono::milliseconds(100)) return;
    drawn = now;
    constexpr int width = 30;
    const int filled = total ? static_cast<int>(width * done / total) : width;
    fmt::print("\r[{:<{}}] {}/{} seeds, {:.0f} seeds/s, {} failures ", std::string(filled, '#'), width, done, total,
               done / std::max(seconds(), 1e-9), failures);
    std::fflush(stdout);
  }
  void clear() {
    if (terminal) fmt::print("\r{:<80}\r", "");
  }
};

// Handles one finished seed; returns false when exploring should stop.
bool record(const nlohmann::json& line, const ExploreOptions& options, Progress& progress, std::ofstream& results) {
  ++progress.done;
  if (results.is_open()) results << line.dump() << '\n';
  if (!line.at("passed").get<bool>()) {
    ++progress.failures;
    progress.clear();
    fmt::print("seed {}: FAIL {}\nreproduce: {}\n", line.at("seed").get<std::uint64_t>(),
               line.at("detail").get<std::string>(), line.at("reproduce").get<std::string>());
    if (!options.keep_going) return false;
  }
  progress.draw(false);
  return true;
}

void explore_inline(const ScenarioSpec& spec, const ExploreOptions& options, const std::vector<std::uint64_t>& seeds,
                    Progress& progress, std::ofstream& results) {
  for (const std::uint64_t seed : seeds) {
    if (!record(run_seed(spec, options, seed), options, progress, results)) return;
  }
}

// Worker j takes every J-th seed of the shard and writes one JSON line per seed to its pipe.
[[noreturn]] void worker(const ScenarioSpec& spec, const ExploreOptions& options,
                         const std::vector<std::uint64_t>& seeds, int j, int fd) {
  for (std::size_t i = static_cast<std::size_t>(j); i < seeds.size(); i += static_cast<std::size_t>(options.jobs)) {
    const std::string text = run_seed(spec, options, seeds[i]).dump() + "\n";
    for (std::size_t written = 0; written < text.size();) {
      const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
      if (n <= 0) _exit(3);
      written += static_cast<std::size_t>(n);
    }
  }
  _exit(0);
}

void explore_parallel(const ScenarioSpec& spec, const ExploreOptions& options, const std::vector<std::uint64_t>& seeds,
                      Progress& progress, std::ofstream& results) {
  std::fflush(stdout);
  std::vector<pid_t> children;
  std::vector<::pollfd> pipes;
  std::vector<std::string> pending;
  for (int j = 0; j < options.jobs; ++j) {
    int fds[2];
    if (::pipe(fds) != 0) break;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      worker(spec, options, seeds, j, fds[1]);
    }
    ::close(fds[1]);
    children.push_back(pid);
    pipes.push_back({fds[0], POLLIN, 0});
    pending.emplace_back();
  }
  bool keep_running = true;
  for (std::size_t open = pipes.size(); open > 0 && keep_running;) {
    if (::poll(pipes.data(), pipes.size(), -1) < 0) continue;
    for (std::size_t i = 0; i < pipes.size() && keep_running; ++i) {
      if (pipes[i].fd < 0 || !(pipes[i].revents & (POLLIN | POLLHUP))) continue;
      char buffer[4096];
      const ssize_t n = ::read(pipes[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        ::close(pipes[i].fd);
        pipes[i].fd = -1;
        --open;
        continue;
      }
      pending[i].append(buffer, static_cast<std::size_t>(n));
      for (std::size_t end; keep_running && (end = pending[i].find('\n')) != std::string::npos;) {
        keep_running = record(nlohmann::json::parse(pending[i].substr(0, end)), options, progress, results);
        pending[i].erase(0, end + 1);
      }
    }
  }
  for (const pid_t child : children) {
    if (!keep_running) ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  for (const ::pollfd& pipe : pipes) {
    if (pipe.fd >= 0) ::close(pipe.fd);
  }
}

}  // namespace

int explore_command(const ExploreOptions& options) {
  Result<ScenarioSpec> loaded = load_scenario_file(options.scenario);
  if (!loaded) return bad_input(loaded.status().message());
  const ScenarioSpec& spec = loaded.value();
  RunRequest probe;
  if (Status faults = apply_faults(probe, options.faults); !faults) return bad_input(faults.message());
  std::ofstream results;
  if (!options.results_path.empty()) {
    results.open(options.results_path);
    if (!results)
      return bad_input(fmt::format("--results {}: cannot open for writing", options.results_path));
  }
  const std::vector<std::uint64_t> seeds = shard_seeds(options);
  Progress progress;
  progress.total = seeds.size();
  fmt::print("exploring {} seeds {}..{} (shard {}/{}) with strategy {}, {} job(s)\n", spec.name, options.seed_first,
             options.seed_last, options.shard_index, options.shard_count, options.strategy.value_or(spec.sim.strategy),
             options.jobs);
  if (options.jobs <= 1) {
    explore_inline(spec, options, seeds, progress, results);
  } else {
    explore_parallel(spec, options, seeds, progress, results);
  }
  progress.clear();
  const double seconds = progress.seconds();
  fmt::print("explore: {} of {} seeds run, {} failure(s), {:.2f} s, {:.0f} seeds/s\n", progress.done, seeds.size(),
             progress.failures, seconds, progress.done / std::max(seconds, 1e-9));
  return progress.failures ? exit_check_failed : exit_holds;
}

}  // namespace iosim::cli
