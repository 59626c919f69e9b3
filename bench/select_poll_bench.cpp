// bench/select_poll_bench.cpp — one select() / poll() call with timeout 0 over n registered eventfds, 10 of
// them readable, on SimOs and LinuxOs. Both are O(n) per call (Linux do_select / do_poll too);
// epoll_bench.cpp times epoll_wait on the same fd sets.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "iosim/os.hpp"

namespace iosim::bench {
namespace {

// --- the application: the same calls on both backends ---

void poll_loop(benchmark::State& state, Os& os, int n) {
  const std::vector<int> fds = open_eventfds(os, n);
  std::vector<pollfd> entries;
  entries.reserve(fds.size());
  for (const int fd : fds) entries.push_back(pollfd{fd, POLL::IN, 0});
  for (auto _ : state) {
    const int ready = os.poll(entries.data(), entries.size(), 0);
    if (ready != ready_fd_count) require(false, "poll (expected exactly the ready eventfds)", os);
  }
  close_fds(os, fds);
}

void select_loop(benchmark::State& state, Os& os, int n) {
  const std::vector<int> fds = open_eventfds(os, n);
  fd_set wanted;
  wanted.zero();
  int max_fd = -1;
  for (const int fd : fds) {
    if (fd >= FD_SETSIZE_) {
      state.SkipWithError("an fd above FD_SETSIZE: select cannot watch it");
      close_fds(os, fds);
      return;
    }
    wanted.set(fd);
    max_fd = std::max(max_fd, fd);
  }
  for (auto _ : state) {
    fd_set readable = wanted;  // select overwrites its sets, so every call starts from a copy (as loops do)
    timeval zero{0, 0};
    const int ready = os.select(max_fd + 1, &readable, nullptr, nullptr, &zero);
    if (ready != ready_fd_count) require(false, "select (expected exactly the ready eventfds)", os);
  }
  close_fds(os, fds);
}

const bool registered = [] {
  for (const char* backend : {"sim", "linux"}) {
    const auto harness = std::string(backend) == "sim" ? readiness_on_sim : readiness_on_linux;
    benchmark::RegisterBenchmark((std::string("poll/") + backend).c_str(), harness, poll_loop)
        ->Unit(benchmark::kNanosecond)
        ->Arg(10)
        ->Arg(1000)
        ->Arg(10000)
        ->Arg(100000)
        ->Complexity(benchmark::oN);
    // select: every fd must stay below FD_SETSIZE = 1024, so n = 1000 is the largest set it can watch.
    benchmark::RegisterBenchmark((std::string("select/") + backend).c_str(), harness, select_loop)
        ->Unit(benchmark::kNanosecond)
        ->Arg(10)
        ->Arg(1000)
        ->Complexity(benchmark::oN);
  }
  return true;
}();

}  // namespace
}  // namespace iosim::bench
