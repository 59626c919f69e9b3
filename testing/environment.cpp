// testing/environment.cpp — the IOSIM_* variables an IOSIM_TEST reads, each checked with a message naming it,
// the seed plan they make of Settings, and the names (test, program) reproduce lines are made of.
#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <string_view>

#include "sim/choices_file.hpp"
#include "testing/internal.hpp"

namespace iosim::testing::internal {
namespace {

// The variables that change what a run does, in the order a reproduce line repeats them.
constexpr const char* run_variables[] = {"IOSIM_FAULTS", "IOSIM_STRATEGY", "IOSIM_PCT_DEPTH",
                                         "IOSIM_PCT_STEPS", "IOSIM_LATENCY_US"};

void set_error(SeedPlan& plan, std::string message) {
  if (plan.error.empty()) plan.error = std::move(message);  // the first mistake is the one reported
}

// An unsigned decimal in low..high from the environment; nullopt if unset or malformed (then plan.error says
// so).
std::optional<std::uint64_t> number_from_environment(const char* name, SeedPlan& plan, std::uint64_t low = 0,
                                                     std::uint64_t high = UINT64_MAX) {
  const std::optional<std::string> text = environment(name);
  if (!text) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, status] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (status != std::errc{} || end != text->data() + text->size()) {
    set_error(plan, fmt::format("{}='{}' is not an unsigned decimal number", name, *text));
    return std::nullopt;
  }
  if (value < low || value > high) {
    set_error(plan, fmt::format("{}={} is out of range {}..{}", name, value, low, high));
    return std::nullopt;
  }
  return value;
}

void read_seeds(SeedPlan& plan) {
  if (const auto count = number_from_environment("IOSIM_SEEDS", plan)) plan.count = *count;
  if (const auto seed = number_from_environment("IOSIM_SEED", plan)) {
    plan.first = *seed;
    plan.count = 1;
  }
}

void read_world(SeedPlan& plan) {
  WorldConfig& world = plan.world;
  if (const auto strategy = environment("IOSIM_STRATEGY")) world.strategy = *strategy;
  if (!is_strategy_name(world.strategy)) {
    set_error(plan, fmt::format("strategy '{}' (IOSIM_STRATEGY or Settings::world) is not random, rr or pct",
                                world.strategy));
  }
  if (const auto depth = number_from_environment("IOSIM_PCT_DEPTH", plan, 1, pct_depth_max))
    world.pct_depth = static_cast<int>(*depth);
  if (const auto steps = number_from_environment("IOSIM_PCT_STEPS", plan, 1, pct_steps_max))
    world.pct_steps = *steps;
  if (const auto latency = number_from_environment("IOSIM_LATENCY_US", plan, 0, latency_ns_max / 1000))
    world.latency_ns = static_cast<std::int64_t>(*latency) * 1000;
  const std::optional<std::string> faults = environment("IOSIM_FAULTS");
  if (faults) world.faults = *faults;
  if (const Status valid = check_faults(world.faults); !valid) {
    set_error(plan,
              fmt::format("{}: {}", faults ? "IOSIM_FAULTS" : "Settings::world.faults", valid.message()));
  }
}

// IOSIM_CHOICES=F: exactly the seed F names, on the schedule F holds, which must be this test's.
void read_choices(SeedPlan& plan) {
  const std::optional<std::string> path = environment("IOSIM_CHOICES");
  if (!path) return;
  const Result<ChoicesFile> file = read_choices_file(*path);
  if (!file) return set_error(plan, fmt::format("IOSIM_CHOICES: {}", file.status().message()));
  if (file.value().scenario != choices_scenario()) {
    return set_error(plan, fmt::format("IOSIM_CHOICES: {}:2: the schedule of '{}', not of this test ('{}')",
                                       *path, file.value().scenario, choices_scenario()));
  }
  plan.first = file.value().seed;
  plan.count = 1;
  plan.world.replay_choices = file.value().choices;
  plan.choices_path = *path;
}

// A value as one shell word: quoted unless it is made of characters the shell leaves alone.
std::string shell_word(const std::string& value) {
  const bool plain = !value.empty() && value.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789_=,.:/+-") == std::string::npos;
  if (plain) return value;
  std::string quoted = "'";
  for (const char c : value) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::string environment_prefix() {
  std::string prefix;
  for (const char* name : run_variables) {
    if (const auto value = environment(name)) prefix += fmt::format("{}={} ", name, shell_word(*value));
  }
  return prefix;
}

SeedPlan plan_seeds(const Settings& settings) {
  SeedPlan plan{.first = settings.first_seed,
                .count = settings.seeds,
                .world = settings.world,
                .artifacts_dir = settings.artifacts_dir,
                .shrink_run_max = settings.shrink_run_max};
  read_seeds(plan);
  read_world(plan);
  if (const auto artifacts = environment("IOSIM_ARTIFACTS")) plan.artifacts_dir = *artifacts;
  read_choices(plan);
  return plan;
}

std::optional<std::uint64_t> fixed_seed() {
  const SeedPlan plan = plan_seeds(Settings{});
  if (!plan.error.empty()) return std::nullopt;  // reported by whoever applied the environment
  if (plan.choices_path.empty() && environment("IOSIM_SEED")) return plan.first;
  return std::nullopt;
}

// The command line that started this process (argv), as the reproduce line must repeat it.
std::string program_name() {
  std::ifstream cmdline("/proc/self/cmdline");
  std::string argv0;
  if (cmdline && std::getline(cmdline, argv0, '\0') && !argv0.empty()) return argv0;
  return "<test binary>";
}

std::string gtest_filter() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  if (test == nullptr) return "";
  // A disabled test (DISABLED_ in its suite or name) runs only when asked for: the command must ask.
  const bool disabled = std::string_view(test->test_suite_name()).starts_with("DISABLED_") ||
                        std::string_view(test->name()).starts_with("DISABLED_");
  return fmt::format("{} --gtest_filter={}.{}", disabled ? " --gtest_also_run_disabled_tests" : "",
                     test->test_suite_name(), test->name());
}

std::string test_name() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return test ? fmt::format("{}.{}", test->test_suite_name(), test->name()) : "iosim::testing::run_seeds";
}

std::string choices_scenario() {
  return "gtest:" + test_name();
}

}  // namespace iosim::testing::internal
