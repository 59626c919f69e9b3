// bench/bench_support.cpp — the shared helpers of bench_support.hpp that need more than a few lines: raising
// RLIMIT_NOFILE on the host, the eventfd sets, and the SimOs / LinuxOs harnesses of the readiness benchmarks.
#include "bench/bench_support.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "backends/linux/linux_os.hpp"
#include "iosim/assert.hpp"

namespace iosim::bench {
namespace {

// fs.nr_open: the ceiling of RLIMIT_NOFILE even for a privileged process; 0 if it cannot be read.
std::uint64_t nr_open() {
  std::ifstream file("/proc/sys/fs/nr_open");
  std::uint64_t value = 0;
  file >> value;
  return value;
}

std::string describe_limit(rlim_t value) {
  return value == RLIM_INFINITY ? std::string("unlimited") : std::to_string(value);
}

}  // namespace

Status raise_nofile_limit(std::uint64_t fd_count) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return Status::error(fmt::format("getrlimit(RLIMIT_NOFILE): {}", std::strerror(errno)));
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= fd_count) return Status::ok();
  const bool hard_too_low = limit.rlim_max != RLIM_INFINITY && limit.rlim_max < fd_count;
  const rlimit wanted{static_cast<rlim_t>(fd_count),
                      hard_too_low ? static_cast<rlim_t>(fd_count) : limit.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &wanted) == 0) return Status::ok();
  const int error = errno;
  std::string why = std::strerror(error);
  if (error == EPERM && hard_too_low) {
    const std::uint64_t ceiling = nr_open();
    why += ceiling != 0 && fd_count > ceiling
               ? fmt::format(": above fs.nr_open = {}", ceiling)
               : std::string(": raising the hard limit needs CAP_SYS_RESOURCE, which this process lacks");
  }
  return Status::error(
      fmt::format("RLIMIT_NOFILE: {} descriptors needed, soft limit {}, hard limit {}; "
                  "setrlimit failed ({})",
                  fd_count, describe_limit(limit.rlim_cur), describe_limit(limit.rlim_max), why));
}

std::vector<int> open_eventfds(Os& os, int n) {
  IOSIM_ASSERT(n >= ready_fd_count, "a readiness benchmark needs at least ready_fd_count fds");
  const int stride = n / ready_fd_count;  // ready fds at stride - 1, 2 * stride - 1, ...: spread, not bunched
  std::vector<int> fds;
  fds.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const bool ready = i % stride == stride - 1 && i / stride < ready_fd_count;
    const int fd = os.eventfd(ready ? 1 : 0, EFD::CLOEXEC);
    require(fd >= 0, "eventfd", os);
    fds.push_back(fd);
  }
  return fds;
}

void close_fds(Os& os, const std::vector<int>& fds) {
  for (const int fd : fds) require(os.close(fd) == 0, "close", os);
}

void readiness_on_sim(benchmark::State& state, ReadinessLoop loop) {
  const int n = static_cast<int>(state.range(0));
  SimConfig config = timing_sim_config();
  config.kernel.fd_count_max = std::max(config.kernel.fd_count_max, n + fd_margin);
  SimOs os(config);
  require_completed(os.run([&] { loop(state, os, n); }));
  state.SetComplexityN(n);
}

void readiness_on_linux(benchmark::State& state, ReadinessLoop loop) {
  const int n = static_cast<int>(state.range(0));
  const Status raised = raise_nofile_limit(static_cast<std::uint64_t>(n) + fd_margin);
  if (!raised) {
    state.SkipWithError(raised.message().c_str());
    for (auto _ : state) {
    }
    return;
  }
  LinuxOs os;
  loop(state, os, n);
  state.SetComplexityN(n);
}

}  // namespace iosim::bench
