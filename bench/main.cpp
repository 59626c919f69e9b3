// bench/main.cpp — the iosim_bench driver: Google Benchmark's flags and output, then a closing summary that
// puts every simulator number beside its bound or its native twin (the ratios the project tracks).
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_support.hpp"

namespace iosim::bench {

bool raise_nofile_limit(std::uint64_t fd_count) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < fd_count) {
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? fd_count : std::min<rlim_t>(fd_count, limit.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  }
  return limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= fd_count;
}

namespace {

// One benchmark's representative result: the median aggregate when repetitions > 1, else the single run.
struct Measured {
  double real_ns = 0;
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
    results_[key] = Measured{run.GetAdjustedRealTime() * ns_per_unit, run.counters};
  }

  std::string render() const {
    std::string out =
        "\niosim summary (medians of the repetitions; single runs when --benchmark_repetitions=1)\n";
    out += render_switch() + render_trace() + render_echo() + render_readiness();
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
      out += fmt::format("  switch  raw fiber round trip            {:8.1f} ns  (the bound)\n", raw->real_ns);
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
    for (const char* transport : {"tcp", "unix"}) {
      const Measured* native = find(fmt::format("echo/{}/linux", transport));
      for (const char* variant : {"sim", "sim_rr"}) {
        const Measured* sim = find(fmt::format("echo/{}/{}", transport, variant));
        if (!sim) continue;
        const double sim_rate = sim->counter("items_per_second");
        out += fmt::format("  echo {:4} {:6}  {:10.0f} RT/s ({:4.1f} steps/RT, {:4.1f} trace events/RT)",
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
        out += fmt::format("  echo {:4} linux   {:10.0f} RT/s\n", transport,
                           native->counter("items_per_second"));
      }
    }
    return out;
  }

  std::string render_readiness() const {
    std::string out;
    for (const char* call : {"poll", "select"}) {
      for (const int n : {10, 100, 500, 1000}) {
        const Measured* sim = find(fmt::format("{}/sim/{}", call, n));
        const Measured* native = find(fmt::format("{}/linux/{}", call, n));
        if (!sim && !native) continue;
        out += fmt::format("  {:6} n={:<5}", call, n);
        out += sim ? fmt::format("  sim {:9.0f} ns/call ({:6.2f} ns/fd)", sim->real_ns, sim->real_ns / n)
                   : std::string(39, ' ');
        if (native)
          out +=
              fmt::format("   linux {:9.0f} ns/call ({:6.2f} ns/fd)", native->real_ns, native->real_ns / n);
        if (sim && native && native->real_ns > 0)
          out += fmt::format("   sim/linux = {:5.2f}x", sim->real_ns / native->real_ns);
        out += "\n";
      }
    }
    return out;
  }

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
