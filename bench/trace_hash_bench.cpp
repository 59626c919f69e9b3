// bench/trace_hash_bench.cpp — cost of hashing one trace event: sim::Trace::record as it is, against two
// prototypes (bench-only, not used by iosim) that cut the serial dependency chain through the running hash.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "sim/prng.hpp"
#include "sim/trace.hpp"

namespace iosim::bench {
namespace {

// Events shaped like a simulated syscall stream: a handful of names, a clock moving 200 ns per call.
struct EventSource {
  std::uint32_t names[4]{};
  sim::TraceEvent next(std::uint64_t i) const {
    return {static_cast<std::int64_t>(i * 200),
            static_cast<sim::task_id>(1 + (i & 1)),
            (i & 1) ? sim::EventKind::sys_exit : sim::EventKind::sys_enter,
            names[i & 3],
            names[(i + 1) & 3],
            static_cast<std::int64_t>(i & 0xff),
            64};
  }
};

void record_current(benchmark::State& state) {
  sim::Trace trace;
  EventSource source;
  for (std::uint32_t i = 0; i < 4; ++i) source.names[i] = trace.intern("name" + std::to_string(i));
  std::uint64_t i = 0;
  for (auto _ : state) trace.record(source.next(i++));
  benchmark::DoNotOptimize(trace.hash());
  state.SetItemsProcessed(state.iterations());
}

// What the prototypes share with Trace: the per-name content hashes, the running hash, the bounds assert.
class PrototypeTrace {
 public:
  explicit PrototypeTrace(sim::Trace& names, std::uint32_t name_count) {
    for (std::uint32_t id = 0; id < name_count; ++id) name_hashes_.push_back(sim::hash_bytes(names.name(id)));
  }
  std::uint64_t hash() const { return hash_; }

  // Prototype 1: the same SplitMix64 finaliser, but the six fields are mixed independently (they can run in
  // parallel in the out-of-order core) and only one finaliser sits on the chain through hash_.
  [[gnu::noinline]] void record_parallel_splitmix(const sim::TraceEvent& event) {
    check(event);
    const std::uint64_t fields =
        finalise(static_cast<std::uint64_t>(event.time_ns) ^ 0x9e3779b97f4a7c15ULL) ^
        finalise(((std::uint64_t{event.task} << 8) | static_cast<std::uint64_t>(event.kind)) ^
                 0xbf58476d1ce4e5b9ULL) ^
        rotl(finalise(name_hashes_[event.subject] ^ 0x94d049bb133111ebULL), 11) ^
        rotl(finalise(name_hashes_[event.object] ^ 0x2545f4914f6cdd1dULL), 23) ^
        rotl(finalise(static_cast<std::uint64_t>(event.arg0) ^ 0xd6e8feb86659fd93ULL), 37) ^
        rotl(finalise(static_cast<std::uint64_t>(event.arg1) ^ 0xa0761d6478bd642fULL), 49);
    hash_ = finalise(hash_ ^ fields);
  }

  // Prototype 2: wyhash-style 64x64->128 multiply-fold ("mum"): three independent multiplies for the event,
  // one on the chain.
  [[gnu::noinline]] void record_mum(const sim::TraceEvent& event) {
    check(event);
    const std::uint64_t a = mum(
        static_cast<std::uint64_t>(event.time_ns) ^ 0xa0761d6478bd642fULL,
        ((std::uint64_t{event.task} << 8) | static_cast<std::uint64_t>(event.kind)) ^ 0xe7037ed1a0b428dbULL);
    const std::uint64_t b = mum(name_hashes_[event.subject] ^ 0x8ebc6af09c88c6e3ULL,
                                name_hashes_[event.object] ^ 0x589965cc75374cc3ULL);
    const std::uint64_t c = mum(static_cast<std::uint64_t>(event.arg0) ^ 0x1d8e4e27c47d124fULL,
                                static_cast<std::uint64_t>(event.arg1) ^ 0x9e3779b97f4a7c15ULL);
    hash_ = mum(hash_ ^ a ^ rotl(b, 21) ^ rotl(c, 42), 0xbf58476d1ce4e5b9ULL);
  }

 private:
  void check(const sim::TraceEvent& event) const {
    if (event.subject >= name_hashes_.size() || event.object >= name_hashes_.size()) __builtin_trap();
  }
  static std::uint64_t finalise(std::uint64_t value) { return sim::splitmix64(value); }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t mum(std::uint64_t a, std::uint64_t b) {
    const __uint128_t product = static_cast<__uint128_t>(a) * b;
    return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
  }

  std::vector<std::uint64_t> name_hashes_;
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

template <void (PrototypeTrace::*Record)(const sim::TraceEvent&)>
void record_prototype(benchmark::State& state) {
  sim::Trace names;
  EventSource source;
  for (std::uint32_t i = 0; i < 4; ++i) source.names[i] = names.intern("name" + std::to_string(i));
  PrototypeTrace trace(names, 5);
  std::uint64_t i = 0;
  for (auto _ : state) (trace.*Record)(source.next(i++));
  benchmark::DoNotOptimize(trace.hash());
  state.SetItemsProcessed(state.iterations());
}

const bool registered = [] {
  benchmark::RegisterBenchmark("trace/record/current", record_current)->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("trace/record/proto_parallel_splitmix",
                               record_prototype<&PrototypeTrace::record_parallel_splitmix>)
      ->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("trace/record/proto_mum", record_prototype<&PrototypeTrace::record_mum>)
      ->Unit(benchmark::kNanosecond);
  return true;
}();

}  // namespace
}  // namespace iosim::bench
