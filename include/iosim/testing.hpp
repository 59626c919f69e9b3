// include/iosim/testing.hpp — GoogleTest and rapidcheck on simulated worlds: IOSIM_TEST runs a test body once
// per seed, iosim::check generates and shrinks a property's input and its schedule seed together.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>

#include "iosim/sim.hpp"

namespace iosim::testing {

// How an IOSIM_TEST explores. The environment overrides it (docs/testing-api.md): IOSIM_SEED=N runs seed N
// only, IOSIM_SEEDS=N runs N seeds, IOSIM_STRATEGY=random|rr|pct, IOSIM_PCT_DEPTH, IOSIM_PCT_STEPS,
// IOSIM_LATENCY_US and IOSIM_FAULTS="short_write=0.3,eintr=0.01" set the world's, IOSIM_ARTIFACTS=DIR sets
// artifacts_dir, and IOSIM_CHOICES=F replays the schedule file F (one seed, the one F names).
struct Settings {
  std::uint64_t seeds = 100;  // seeds first_seed, first_seed + 1, ...
  std::uint64_t first_seed = 1;
  WorldConfig world;  // strategy, pct depth, loopback latency, faults, limits (its seed is set per run)
  // Set: a failing seed's schedule, shrunk, (DIR/<test>-seed<N>.choices) and the trace of that run
  // (DIR/<test>-seed<N>.jsonl) are written here, and the report prints the commands that open and replay them.
  std::string artifacts_dir;
  int shrink_run_max = 500;  // replays the schedule shrink may spend on one failing seed
};

struct SeedsReport {
  std::uint64_t seeds_run = 0;
  bool failed = false;
  WorldResult failing;    // the first failing seed's world (when failed)
  std::string reproduce;  // "IOSIM_SEED=17 ./my_tests --gtest_filter=Suite.Name"
  std::string trace_path;    // with artifacts_dir: the failing world's trace (JSON lines), when written
  std::string choices_path;  // with artifacts_dir: its shrunk schedule (.choices), when written
};

// The Os of the world the calling IOSIM_TEST body or iosim::check property runs in (for helpers that are not
// handed one). Calling it outside a world is a programmer error.
Os& os();

// What IOSIM_TEST does: runs `body` as the main task of one world per seed and stops at the first seed that
// fails (a gtest failure recorded while it ran, a deadlock, a step or time limit, an exception in a task).
// That failure is reported as one more gtest failure naming the seed, strategy, outcome, trace-hash and the
// reproduce line. A fatal gtest failure (ASSERT_*, FAIL) in any task stops that seed's world at once.
SeedsReport run_seeds(const Settings& settings, const std::function<void(Os&)>& body);

namespace detail {

template <typename>
inline constexpr bool always_false = false;

// The world seed of one property case: generated (and shrunk) by rapidcheck, or IOSIM_SEED when set. (Under
// IOSIM_CHOICES it is still drawn, so RC_PARAMS replays the same inputs, and the file's seed is used.)
rc::Gen<std::uint64_t> world_seed();
// Runs one property case in a world; a failed world fails the case (RC_FAIL) and is remembered, with `body`
// (which owns copies of the case's inputs), for the report and its artifacts.
void run_case(const WorldConfig& world, std::uint64_t seed, std::function<void(Os&)> body);
// The environment (IOSIM_STRATEGY, IOSIM_FAULTS ...) applied to `world`; false (and a gtest failure) when it
// is not valid.
bool apply_environment(WorldConfig& world);
rc::detail::TestMetadata check_metadata(const std::string& description);
// Reports a failed check as a gtest failure with the world seed, the trace-hash and the reproduce line.
bool report_check(const rc::detail::TestMetadata& metadata, const rc::detail::TestResult& result);

template <typename Property, typename ArgTypes>
struct WorldProperty {
  static_assert(always_false<Property>, "iosim::check: the property's first parameter must be iosim::Os&");
};

template <typename Property, typename... Args>
struct WorldProperty<Property, rc::detail::TypeList<Os&, Args...>> {
  Property property;
  WorldConfig world;
  // rapidcheck generates one value per parameter; the world seed is drawn as one more value of the case. The
  // body keeps copies of the inputs, so a failing case can be replayed after rapidcheck is done with it.
  void operator()(const std::decay_t<Args>&... args) const {
    const std::uint64_t seed = *world_seed();
    run_case(world, seed, [property = property, ... inputs = args](Os& os) { property(os, inputs...); });
  }
};

}  // namespace detail
}  // namespace iosim::testing

namespace iosim {

// Checks `property(Os&, inputs...)` with rapidcheck: each case draws the inputs and a world seed, runs the
// property as the main task of a simulated world, and fails on RC_ASSERT or on a world that does not
// complete. rapidcheck shrinks inputs and seed together; a failure becomes a gtest failure whose message has
// the counterexample, the world seed, its trace-hash and the reproduce line. Returns true when the property
// held.
template <typename Property>
bool check(const std::string& description, Property property, WorldConfig world = {}) {
  if (!testing::detail::apply_environment(world)) return false;
  using Args = rc::detail::ArgTypes<Property>;
  testing::detail::WorldProperty<Property, Args> adapter{std::move(property), world};
  const rc::detail::TestMetadata metadata = testing::detail::check_metadata(description);
  return testing::detail::report_check(metadata, rc::detail::checkTestable(adapter, metadata));
}

}  // namespace iosim

// IOSIM_TEST(Suite, Name) { ... } — a gtest test whose body runs as the main task of a simulated world, once
// per seed; `os` (an iosim::Os&) is the world's operating system.
#define IOSIM_TEST(Suite, Name) IOSIM_TEST_WITH(Suite, Name, {})
// IOSIM_TEST_SEEDS(Suite, Name, 500) — the same with another default seed count.
#define IOSIM_TEST_SEEDS(Suite, Name, count) IOSIM_TEST_WITH(Suite, Name, {.seeds = (count)})
// IOSIM_TEST_WITH(Suite, Name, {.seeds = 50, .world = {.strategy = "pct", .latency_ns = 50'000}}) — any
// Settings.
#define IOSIM_TEST_WITH(Suite, Name, ...)                                           \
  static void iosim_test_body_##Suite##_##Name(::iosim::Os& os);                    \
  TEST(Suite, Name) {                                                               \
    const ::iosim::testing::Settings iosim_settings __VA_ARGS__;                    \
    ::iosim::testing::run_seeds(iosim_settings, &iosim_test_body_##Suite##_##Name); \
  }                                                                                 \
  static void iosim_test_body_##Suite##_##Name([[maybe_unused]] ::iosim::Os& os)
