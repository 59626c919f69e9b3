// bench/main.cpp — the iosim_bench driver: Google Benchmark's flags and output, then a closing summary that
// puts every simulator number beside its bound or its native twin (the ratios the project tracks).
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_support.hpp"

namespace iosim::bench {
namespace {

// One benchmark's representative result: the median aggregate when repetitions > 1, else the single run.
struct Measured {
  double real_ns = 0;
  double cpu_ns = 0;  // the calling thread's CPU time (user + system)
  benchmark::UserCounters counters;
  double counter(const std::string& name) const {
    const auto found = counters.find(name);
    return found == counters.end() ? 0 : found->second.value;
  }
};

class Summary {
 public:
  void collect(const benchmark::BenchmarkReporter::Run& run) {
    if (run.error_occurred) return;
    const bool median =
        run.run_type == benchmark::BenchmarkReporter::Run::RT_Aggregate && run.aggregate_name == "median";
    const bool single =
        run.run_type == benchmark::BenchmarkReporter::Run::RT_Iteration && run.repetitions <= 1;
    if (!median && !single) return;
    std::string key = run.run_name.function_name;
    if (!run.run_name.args.empty()) key += "/" + run.run_name.args;
    const double ns_per_unit = 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
    results_[key] = Measured{run.GetAdjustedRealTime() * ns_per_unit, run.GetAdjustedCPUTime() * ns_per_unit,
                             run.counters};
  }

  std::string render() const {
    std::string out =
        "\niosim summary (medians of the repetitions; single runs when --benchmark_repetitions=1)\n";
    out += render_switch() + render_trace() + render_echo() + render_iocp() + render_readiness() +
           render_cpu_sharing();
    return out;
  }

 private:
  const Measured* find(const std::string& key) const {
    const auto found = results_.find(key);
    return found == results_.end() ? nullptr : &found->second;
  }

  std::string render_switch() const {
    const Measured* raw = find("switch/raw_fiber_round_trip");
    std::string out;
    if (raw)
      out += fmt::format(
          "  switch  raw fiber round trip            {:8.1f} ns  (the bound: two switches; a step makes one "
          "at most)\n",
          raw->real_ns);
    for (const char* name : {"switch/bare_scheduler/rr", "switch/bare_scheduler/random", "switch/sim_os/rr",
                             "switch/sim_os/random"}) {
      const Measured* sim = find(name);
      if (!sim) continue;
      const double step_ns = sim->counter("ns_per_step");
      out += fmt::format("  {:38} {:8.1f} ns/step", std::string_view(name).substr(7), step_ns);
      if (raw && raw->real_ns > 0)
        out += fmt::format("  = {:5.2f}x raw   (target <= 2x)", step_ns / raw->real_ns);
      out += "\n";
    }
    return out;
  }

  std::string render_trace() const {
    std::string out;
    const Measured* current = find("trace/record/current");
    for (const char* name :
         {"trace/record/current", "trace/record/proto_parallel_splitmix", "trace/record/proto_mum"}) {
      const Measured* measured = find(name);
      if (!measured) continue;
      out += fmt::format("  {:38} {:8.1f} ns/event", name, measured->real_ns);
      if (current && measured != current)
        out += fmt::format("  = {:5.2f}x current", measured->real_ns / current->real_ns);
      out += "\n";
    }
    return out;
  }

  std::string render_echo() const {
    std::string out;
    for (const char* transport : {"tcp", "unix", "tcp_epoll", "unix_epoll"}) {
      const Measured* native = find(fmt::format("echo/{}/linux", transport));
      for (const char* variant : {"sim", "sim_rr"}) {
        const Measured* sim = find(fmt::format("echo/{}/{}", transport, variant));
        if (!sim) continue;
        const double sim_rate = sim->counter("items_per_second");
        out += fmt::format("  echo {:10} {:6}  {:10.0f} RT/s ({:4.1f} steps/RT, {:4.1f} trace events/RT)",
                           transport, variant, sim_rate, sim->counter("steps_per_round_trip"),
                           sim->counter("events_per_round_trip"));
        if (native && native->counter("items_per_second") > 0) {
          const double native_rate = native->counter("items_per_second");
          out += fmt::format("   linux {:8.0f} RT/s   sim/linux = {:5.1f}x (target >= 50x)", native_rate,
                             sim_rate / native_rate);
        }
        out += "\n";
      }
      if (native && !find(fmt::format("echo/{}/sim", transport))) {
        out += fmt::format("  echo {:10} linux   {:10.0f} RT/s\n", transport,
                           native->counter("items_per_second"));
      }
    }
    return out;
  }

  // IOCP on the simulator beside WindowsOs under Wine (bench/windows/): per echo round trip, and per
  // GetQueuedCompletionStatus hand-off with n threads waiting on the port.
  std::string render_iocp() const {
    std::string out;
    const auto line = [&](const std::string& what, const std::string& sim_key, const std::string& wine_key,
                          const char* counter, const char* unit) {
      const Measured* sim = find(sim_key);
      const Measured* wine = find(wine_key);
      if (!sim && !wine) return;
      out += fmt::format("  iocp {:24}", what);
      out += sim ? fmt::format("  sim {:8.0f} ns/{}", sim->counter(counter), unit) : std::string(20, ' ');
      if (wine) out += fmt::format("   wine {:8.0f} ns/{}", wine->counter(counter), unit);
      if (sim && wine && sim->counter(counter) > 0)
        out += fmt::format("   wine/sim = {:5.1f}x", wine->counter(counter) / sim->counter(counter));
      out += "\n";
    };
    line("echo", "iocp/echo/sim", "iocp/echo/wine", "ns_per_round_trip", "RT");
    for (const int waiters : {1, 8, 64, 512}) {
      line(fmt::format("gqcs wake, {} waiting", waiters), fmt::format("iocp/gqcs_wake/sim/{}", waiters),
           fmt::format("iocp/gqcs_wake/wine/{}", waiters), "ns_per_hand_off", "hand-off");
    }
    return out;
  }

  // One line per (call, n) with both backends, then how each backend's cost grows from n = 10 to the largest
  // n it measured: about n / 10 for select and poll (O(n)), about 1 for epoll (O(ready)).
  std::string render_readiness() const {
    std::string out;
    for (const char* call : {"epoll", "poll", "select"}) {
      const bool per_fd = std::string_view(call) != "epoll";  // epoll's cost does not follow n
      for (const int n : readiness_counts) {
        const Measured* sim = find(fmt::format("{}/sim/{}", call, n));
        const Measured* native = find(fmt::format("{}/linux/{}", call, n));
        if (!sim && !native) continue;
        out += fmt::format("  {:6} n={:<6}", call, n);
        out += sim ? fmt::format("  sim {:10.0f} ns/call", sim->real_ns) : std::string(26, ' ');
        out += sim && per_fd ? fmt::format(" ({:6.2f} ns/fd)", sim->real_ns / n)
                             : std::string(per_fd ? 16 : 0, ' ');
        if (native) {
          out += fmt::format("   linux {:10.0f} ns/call", native->real_ns);
          if (per_fd) out += fmt::format(" ({:6.2f} ns/fd)", native->real_ns / n);
        }
        if (sim && native && native->real_ns > 0)
          out += fmt::format("   sim/linux = {:5.2f}x", sim->real_ns / native->real_ns);
        out += "\n";
      }
      out += render_scaling(call);
    }
    return out;
  }

  // The cost at the largest n a backend measured over its cost at the smallest (Linux skips an n its
  // RLIMIT_NOFILE cannot hold, so its largest n may be smaller than the simulator's).
  std::string render_scaling(const char* call) const {
    std::string out;
    const int smallest_n = readiness_counts[0];
    for (const char* backend : {"sim", "linux"}) {
      const Measured* smallest = find(fmt::format("{}/{}/{}", call, backend, smallest_n));
      const Measured* largest = nullptr;
      int largest_n = 0;
      for (const int n : readiness_counts) {
        const Measured* measured =
            n == smallest_n ? nullptr : find(fmt::format("{}/{}/{}", call, backend, n));
        if (measured) largest = measured, largest_n = n;
      }
      if (!smallest || !largest || smallest->real_ns <= 0) continue;
      out += fmt::format("  {:6} {:5} n={}/n={}: {:8.2f}x", call, backend, largest_n, smallest_n,
                         largest->real_ns / smallest->real_ns);
      if (std::string_view(call) == "epoll") out += "   (O(ready): target <= 2x)";
      out += "\n";
    }
    return out;
  }

  // Every benchmark but echo/ and iocp/ runs on one thread that never sleeps, so its real time should equal
  // its CPU time. More means the thread waited for a CPU that other processes were using (a shared machine),
  // and every real-time number above is inflated by about that factor; the CPU column is then the steadier
  // one.
  std::string render_cpu_sharing() const {
    std::vector<double> ratios;
    for (const auto& [name, measured] : results_) {
      if (!name.starts_with("echo/") && !name.starts_with("iocp/") && measured.cpu_ns > 0)
        ratios.push_back(measured.real_ns / measured.cpu_ns);
    }
    if (ratios.empty()) return "";
    std::sort(ratios.begin(), ratios.end());
    return fmt::format(
        "  real / CPU time {:5.2f}   (median over the single-threaded benchmarks: 1.00 on an idle CPU, "
        "above it the CPU was shared and real times are inflated by that much)\n",
        ratios[ratios.size() / 2]);
  }

  static constexpr int readiness_counts[] = {10, 1000, 10000, 100000};

  std::map<std::string, Measured> results_;
};

// Wraps the reporter Google Benchmark would have chosen, so --benchmark_format keeps working, and appends the
// summary (to stdout for the console format, to stderr for json so the machine-readable output stays valid).
template <class Base>
class SummarizingReporter final : public Base {
 public:
  template <class... BaseArguments>
  explicit SummarizingReporter(std::FILE* summary_stream, BaseArguments... base_arguments)
      : Base(base_arguments...), summary_stream_(summary_stream) {}
  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& reports) override {
    Base::ReportRuns(reports);
    for (const auto& run : reports) summary_.collect(run);
  }
  void Finalize() override {
    Base::Finalize();
    this->GetOutputStream().flush();
    std::fputs(summary_.render().c_str(), summary_stream_);
  }

 private:
  std::FILE* summary_stream_;
  Summary summary_;
};

std::string requested_format(int argc, char** argv) {
  constexpr std::string_view flag = "--benchmark_format=";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with(flag)) return std::string(arg.substr(flag.size()));
  }
  return "console";
}

}  // namespace
}  // namespace iosim::bench

int main(int argc, char** argv) {
  using namespace iosim::bench;
  const std::string format = requested_format(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (format == "json") {
    SummarizingReporter<benchmark::JSONReporter> reporter(stderr);
    benchmark::RunSpecifiedBenchmarks(&reporter);
  } else if (format != "console") {
    benchmark::RunSpecifiedBenchmarks();  // csv (deprecated by Google Benchmark): its own reporter, no
                                          // summary
  } else {
    // Colour only on a terminal, as Google Benchmark's own default reporter decides (--benchmark_color=auto).
    const auto options = isatty(fileno(stdout)) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                : benchmark::ConsoleReporter::OO_Tabular;
    SummarizingReporter<benchmark::ConsoleReporter> reporter(stdout, options);
    benchmark::RunSpecifiedBenchmarks(&reporter);
  }
  benchmark::Shutdown();
  return 0;
}
