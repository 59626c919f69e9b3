// bench/select_poll_bench.cpp — one select() / poll() call with timeout 0 over n registered AF_UNIX
// socketpair ends, one of them readable, on SimOs and LinuxOs. Both are O(n) per call (Linux do_select /
// do_poll too).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backends/linux/linux_os.hpp"
#include "backends/sim/sim_os.hpp"
#include "bench/bench_support.hpp"
#include "iosim/os.hpp"

namespace iosim::bench {
namespace {

// Each registered fd costs a socketpair (two fds), so n watched fds need 2n descriptors plus a margin for
// stdin/out/err and whatever the harness holds open.
constexpr int fd_margin = 64;

// n socketpairs: `watched` are the ends select/poll look at, `peers` the other ends. The last watched end
// has one byte waiting, so every call finds exactly one ready fd and never sleeps.
struct WatchedFds {
  std::vector<int> watched, peers;
};

WatchedFds open_watched(Os& os, int n) {
  WatchedFds fds;
  for (int i = 0; i < n; ++i) {
    int ends[2];
    require(os.socketpair(AF::UNIX, SOCK::STREAM, 0, ends) == 0, "socketpair", os);
    fds.watched.push_back(ends[0]);
    fds.peers.push_back(ends[1]);
  }
  const char byte = 'x';
  require(os.write(fds.peers.back(), &byte, 1) == 1, "write (readiness byte)", os);
  return fds;
}

void close_watched(Os& os, const WatchedFds& fds) {
  for (const int fd : fds.watched) require(os.close(fd) == 0, "close", os);
  for (const int fd : fds.peers) require(os.close(fd) == 0, "close", os);
}

// --- the application: the same calls on both backends ---

void poll_loop(benchmark::State& state, Os& os, int n) {
  const WatchedFds fds = open_watched(os, n);
  std::vector<pollfd> entries;
  for (const int fd : fds.watched) entries.push_back(pollfd{fd, POLL::IN, 0});
  for (auto _ : state) {
    const int ready = os.poll(entries.data(), entries.size(), 0);
    if (ready != 1) require(false, "poll (expected exactly one ready fd)", os);
  }
  close_watched(os, fds);
  state.SetComplexityN(n);
}

void select_loop(benchmark::State& state, Os& os, int n) {
  const WatchedFds fds = open_watched(os, n);
  fd_set wanted;
  int max_fd = -1;
  for (const int fd : fds.watched) {
    if (fd >= FD_SETSIZE_) {
      state.SkipWithError("an fd above FD_SETSIZE: select cannot watch it");
      close_watched(os, fds);
      return;
    }
    wanted.set(fd);
    max_fd = std::max(max_fd, fd);
  }
  for (auto _ : state) {
    fd_set readable = wanted;  // select overwrites its sets, so every call starts from a copy (as loops do)
    timeval zero{0, 0};
    const int ready = os.select(max_fd + 1, &readable, nullptr, nullptr, &zero);
    if (ready != 1) require(false, "select (expected exactly one ready fd)", os);
  }
  close_watched(os, fds);
  state.SetComplexityN(n);
}

// --- the two harnesses ---

using Loop = void (*)(benchmark::State&, Os&, int);

void on_sim(benchmark::State& state, Loop loop) {
  const int n = static_cast<int>(state.range(0));
  SimConfig config = timing_sim_config();
  config.kernel.fd_count_max = std::max(config.kernel.fd_count_max, 2 * n + fd_margin);
  SimOs os(config);
  require_completed(os.run([&] { loop(state, os, n); }));
}

void on_linux(benchmark::State& state, Loop loop) {
  const int n = static_cast<int>(state.range(0));
  if (!raise_nofile_limit(static_cast<std::uint64_t>(2 * n + fd_margin))) {
    state.SkipWithError("RLIMIT_NOFILE hard limit too low for this n");
    for (auto _ : state) {
    }
    return;
  }
  LinuxOs os;
  loop(state, os, n);
}

const bool registered = [] {
  // select: n <= 500 pairs keeps every fd (2n + 3) below FD_SETSIZE = 1024.
  for (const char* backend : {"sim", "linux"}) {
    const bool sim = std::string(backend) == "sim";
    benchmark::RegisterBenchmark((std::string("poll/") + backend).c_str(), sim ? on_sim : on_linux, poll_loop)
        ->Unit(benchmark::kNanosecond)
        ->Arg(10)
        ->Arg(100)
        ->Arg(1000)
        ->Complexity(benchmark::oN);
    benchmark::RegisterBenchmark((std::string("select/") + backend).c_str(), sim ? on_sim : on_linux,
                                 select_loop)
        ->Unit(benchmark::kNanosecond)
        ->Arg(10)
        ->Arg(100)
        ->Arg(500)
        ->Complexity(benchmark::oN);
  }
  return true;
}();

}  // namespace
}  // namespace iosim::bench
