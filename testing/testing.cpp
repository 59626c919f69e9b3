// testing/testing.cpp — include/iosim/testing.hpp: the seed loop behind IOSIM_TEST, the environment
// (IOSIM_SEED, IOSIM_SEEDS, IOSIM_STRATEGY), fatal gtest failures that stop a world, and iosim::check's
// report.
#include "iosim/testing.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "iosim/assert.hpp"

namespace iosim::testing {
namespace {

// Set while a world started here runs: the Os its tasks use, and whether fatal failures must stop it.
Os* current_os = nullptr;

// Thrown out of a fatal gtest failure (ASSERT_*, FAIL) raised inside a world: it ends the failing task and
// the scheduler stops the world (task_failed), so no task runs on after its test has given up.
class FatalFailureInWorld : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class StopWorldOnFatalFailure : public ::testing::EmptyTestEventListener {
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (current_os == nullptr || !result.fatally_failed() || std::uncaught_exceptions() > 0) return;
    const std::string what = fmt::format("fatal failure at {}:{}", result.file_name() ? result.file_name() : "?",
                                         result.line_number());
    stop_world(what);  // the world stops here; this task unwinds later, after the threads it started
    throw FatalFailureInWorld(what);
  }
};

void install_listener_once() {
  static bool installed = false;
  if (installed) return;
  ::testing::UnitTest::GetInstance()->listeners().Append(new StopWorldOnFatalFailure);
  installed = true;
}

WorldResult run_in_world(const WorldConfig& world, const std::function<void(Os&)>& body) {
  install_listener_once();
  WorldResult result = run_world(world, [&](Os& os) {
    current_os = &os;
    body(os);
  });
  current_os = nullptr;
  return result;
}

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// An unsigned decimal from the environment; nullopt if unset; an error message if malformed.
std::optional<std::uint64_t> number_from_environment(const char* name, std::string* error) {
  const std::optional<std::string> text = environment(name);
  if (!text) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, status] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (status != std::errc{} || end != text->data() + text->size()) {
    *error = fmt::format("{}='{}' is not an unsigned decimal number", name, *text);
  }
  return value;
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
  return fmt::format(" --gtest_filter={}.{}", test->test_suite_name(), test->name());
}

std::string test_name() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return test ? fmt::format("{}.{}", test->test_suite_name(), test->name()) : "iosim::testing::run_seeds";
}

std::string strategy_prefix() {
  const std::optional<std::string> strategy = environment("IOSIM_STRATEGY");
  return strategy ? fmt::format("IOSIM_STRATEGY={} ", *strategy) : "";
}

// "IOSIM_SEED=17 [IOSIM_STRATEGY=pct ]./my_tests --gtest_filter=Suite.Name": runs this test at this seed
// only.
std::string reproduce_line(std::uint64_t seed) {
  return fmt::format("IOSIM_SEED={} {}{}{}", seed, strategy_prefix(), program_name(), gtest_filter());
}

// The index of the next gtest part result of the current test, so a seed's own failures can be told apart.
int part_count() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return test ? test->result()->total_part_count() : 0;
}

bool failed_since(int first_part) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  if (test == nullptr) return false;
  for (int i = first_part; i < test->result()->total_part_count(); ++i) {
    if (test->result()->GetTestPartResult(i).failed()) return true;
  }
  return false;
}

struct SeedPlan {
  std::uint64_t first = 1;
  std::uint64_t count = 0;
  WorldConfig world;
  std::string error;  // the environment was malformed: nothing runs
};

SeedPlan plan_seeds(const Settings& settings) {
  SeedPlan plan{settings.first_seed, settings.seeds, settings.world, ""};
  if (const auto count = number_from_environment("IOSIM_SEEDS", &plan.error)) plan.count = *count;
  if (const auto seed = number_from_environment("IOSIM_SEED", &plan.error)) {
    plan.first = *seed;
    plan.count = 1;
  }
  if (const auto strategy = environment("IOSIM_STRATEGY")) plan.world.strategy = *strategy;
  if (!is_strategy_name(plan.world.strategy)) {
    plan.error = fmt::format("strategy '{}' (IOSIM_STRATEGY or Settings::world) is not random, rr or pct",
                             plan.world.strategy);
  }
  return plan;
}

std::string failure_report(const SeedsReport& report, const SeedPlan& plan, bool gtest_failed) {
  const WorldResult& world = report.failing;
  std::string text =
      fmt::format("iosim: {} failed at seed {} (strategy {}; seed {} of {}..{})\n", test_name(), world.seed,
                  world.strategy, report.seeds_run, plan.first, plan.first + plan.count - 1);
  text += fmt::format("  world: {}\n", world.summary());
  if (gtest_failed) text += "  the failures above were recorded while this seed ran\n";
  text += fmt::format("  trace-hash: {}\n", world.trace_hash_hex());
  text += fmt::format("reproduce: {}", report.reproduce);
  return text;
}

// What the last failing property case ran; after shrinking, that is the smallest counterexample's world.
WorldResult& last_failing_case() {
  static WorldResult world;
  return world;
}

}  // namespace

Os& os() {
  IOSIM_ASSERT(current_os != nullptr,
               "iosim::testing::os() called outside an IOSIM_TEST body or iosim::check");
  return *current_os;
}

SeedsReport run_seeds(const Settings& settings, const std::function<void(Os&)>& body) {
  SeedsReport report;
  const SeedPlan plan = plan_seeds(settings);
  if (!plan.error.empty()) {
    ADD_FAILURE() << "iosim: " << plan.error;
    report.failed = true;
    return report;
  }
  for (std::uint64_t i = 0; i < plan.count; ++i) {
    WorldConfig world = plan.world;
    world.seed = plan.first + i;
    world.reproduce = reproduce_line(world.seed);
    const int first_part = part_count();
    WorldResult result = run_in_world(world, body);
    ++report.seeds_run;
    const bool gtest_failed = failed_since(first_part);
    if (result.passed() && !gtest_failed) continue;
    report.failed = true;
    report.reproduce = world.reproduce;
    result.exception = nullptr;  // reported through the world's failure text
    report.failing = std::move(result);
    ADD_FAILURE() << failure_report(report, plan, gtest_failed);
    break;
  }
  return report;
}

namespace detail {

rc::Gen<std::uint64_t> world_seed() {
  std::string error;
  if (const auto seed = number_from_environment("IOSIM_SEED", &error); seed && error.empty()) {
    return rc::gen::just(*seed);
  }
  return rc::gen::arbitrary<std::uint64_t>();
}

void run_case(const WorldConfig& world, std::uint64_t seed, const std::function<void(Os&)>& body) {
  WorldConfig config = world;
  config.seed = seed;
  WorldResult result = run_in_world(config, body);
  if (result.passed()) return;
  const std::exception_ptr thrown = result.exception;
  try {
    if (thrown) std::rethrow_exception(thrown);
  } catch (const rc::detail::CaseResult& case_result) {
    if (case_result.type == rc::detail::CaseResult::Type::Discard) throw;  // RC_PRE: not a failure
    result.failure = "the property failed in task main";
    result.exception = nullptr;
    last_failing_case() = result;
    throw;
  } catch (...) {
    result.exception = nullptr;
    last_failing_case() = result;
    throw;
  }
  last_failing_case() = result;
  RC_FAIL(fmt::format("the world did not complete: {}", result.summary()));
}

bool apply_environment(WorldConfig& world) {
  const SeedPlan plan = plan_seeds(Settings{.world = world});
  if (!plan.error.empty()) {
    ADD_FAILURE() << "iosim: " << plan.error;
    return false;
  }
  world = plan.world;
  return true;
}

rc::detail::TestMetadata check_metadata(const std::string& description) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  rc::detail::TestMetadata metadata;
  metadata.id =
      test ? fmt::format("{}/{}/{}", test->test_suite_name(), test->name(), description) : description;
  metadata.description = description;
  return metadata;
}

bool report_check(const rc::detail::TestMetadata& metadata, const rc::detail::TestResult& result) {
  if (result.is<rc::detail::SuccessResult>()) return true;
  std::ostringstream text;
  text << "iosim::check \"" << metadata.description << "\" failed\n";
  rc::detail::printResultMessage(result, text);
  rc::detail::FailureResult failure;
  if (result.match(failure)) {
    const WorldResult& world = last_failing_case();
    text << fmt::format("\niosim: the smallest failing case ran world seed {} (strategy {}): {}\n",
                        world.seed, world.strategy, world.summary());
    text << fmt::format("  trace-hash: {}\n", world.trace_hash_hex());
    rc::detail::Configuration config = rc::detail::configuration();
    config.reproduce = {{metadata.id, failure.reproduce}};
    text << fmt::format("reproduce: RC_PARAMS=\"{}\" {}{}{}", rc::detail::configToMinimalString(config),
                        strategy_prefix(), program_name(), gtest_filter());
  }
  ADD_FAILURE() << text.str();
  return false;
}

}  // namespace detail
}  // namespace iosim::testing
