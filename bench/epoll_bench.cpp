// bench/epoll_bench.cpp — one epoll_wait(timeout 0, maxevents 64) over n registered eventfds (level-triggered
// EPOLLIN), 10 of them readable, on SimOs and LinuxOs. Linux's ep_poll only walks the ready list, so the cost
// is O(ready), not O(n); the simulator's eventpoll (rdllist) must be too.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "iosim/os.hpp"

namespace iosim::bench {
namespace {

constexpr int maxevents = 64;

void epoll_wait_loop(benchmark::State& state, Os& os, int n) {
  const std::vector<int> fds = open_eventfds(os, n);
  const int epfd = os.epoll_create1(EPOLL::CLOEXEC);
  require(epfd >= 0, "epoll_create1", os);
  for (const int fd : fds) {
    epoll_event event{EPOLL::IN, static_cast<std::uint64_t>(fd)};  // level-triggered: ready fds stay ready
    require(os.epoll_ctl(epfd, EPOLL::CTL_ADD, fd, &event) == 0, "epoll_ctl(EPOLL_CTL_ADD)", os);
  }
  epoll_event events[maxevents];
  for (auto _ : state) {
    const int ready = os.epoll_wait(epfd, events, maxevents, 0);
    if (ready != ready_fd_count) require(false, "epoll_wait (expected exactly the ready eventfds)", os);
  }
  // The epoll fd first: its release drops every item at once, instead of one eventpoll_release per close.
  require(os.close(epfd) == 0, "close (epoll)", os);
  close_fds(os, fds);
}

const bool registered = [] {
  for (const char* backend : {"sim", "linux"}) {
    const auto harness = std::string(backend) == "sim" ? readiness_on_sim : readiness_on_linux;
    benchmark::RegisterBenchmark((std::string("epoll/") + backend).c_str(), harness, epoll_wait_loop)
        ->Unit(benchmark::kNanosecond)
        ->Arg(10)
        ->Arg(1000)
        ->Arg(10000)
        ->Arg(100000)
        ->Complexity(benchmark::o1);
  }
  return true;
}();

}  // namespace
}  // namespace iosim::bench
