// bench/windows/iocp_bench_main.cpp — iocp_bench.exe: the IOCP benchmark workloads (bench/iocp_workloads.*)
// on WindowsOs, run under Wine by iosim_bench. Prints one JSON line {"operations": N, "elapsed_ns": T}
// timed with the backend's monotonic clock (QueryPerformanceCounter).
//   iocp_bench.exe echo ROUND_TRIPS
//   iocp_bench.exe wake WAITERS HAND_OFFS
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backends/windows/windows_os.hpp"
#include "bench/iocp_workloads.hpp"

namespace {

// A positive integer argument, or exit 2 naming it.
long long positive_argument(const char* text, const char* name) {
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0) {
    std::fprintf(stderr, "iocp_bench: %s: expected a positive integer, got \"%s\"\n", name, text);
    std::exit(2);
  }
  return value;
}

int usage() {
  std::fprintf(stderr, "usage: iocp_bench.exe echo ROUND_TRIPS | iocp_bench.exe wake WAITERS HAND_OFFS\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace iosim;
  if (argc < 2) return usage();
  const std::string command = argv[1];
  WindowsOs os;
  const bench::NanosecondClock clock = [&os] { return os.monotonic_ns(); };
  bench::IocpTiming timing;
  if (command == "echo" && argc == 3) {
    timing = bench::iocp_echo_round_trips(os, positive_argument(argv[2], "ROUND_TRIPS"), clock);
  } else if (command == "wake" && argc == 4) {
    const int waiters = static_cast<int>(positive_argument(argv[2], "WAITERS"));
    timing = bench::gqcs_wake_hand_offs(os, waiters, positive_argument(argv[3], "HAND_OFFS"), clock);
  } else {
    return usage();
  }
  std::printf("{\"operations\": %lld, \"elapsed_ns\": %lld}\n", static_cast<long long>(timing.operations),
              static_cast<long long>(timing.elapsed_ns));
  return 0;
}
