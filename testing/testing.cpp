// testing/testing.cpp — include/iosim/testing.hpp: the seed loop behind IOSIM_TEST, fatal gtest failures that
// stop a world, failure reports (with artifacts when asked), and iosim::check's report.
#include "iosim/testing.hpp"

#include <fmt/format.h>
#include <gtest/gtest-spi.h>

#include <charconv>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "iosim/assert.hpp"
#include "testing/internal.hpp"

namespace iosim::testing {
namespace {

// Set while a world started here runs: the Os its tasks use, and whether fatal failures must stop it.
Os* current_os = nullptr;

// Thrown out of a fatal gtest failure (ASSERT_*, FAIL) raised inside a world: it ends the failing task and
// the scheduler stops the world (task_failed), so no task runs on after its test has given up.
class FatalFailureInWorld : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

void stop_world_on_fatal(const ::testing::TestPartResult& result) {
  if (current_os == nullptr || !result.fatally_failed() || std::uncaught_exceptions() > 0) return;
  const std::string what = fmt::format("fatal failure at {}:{}", result.file_name() ? result.file_name() : "?",
                                       result.line_number());
  stop_world(what);  // the world stops here; this task unwinds later, after the threads it started
  throw FatalFailureInWorld(what);
}

class StopWorldOnFatalFailure : public ::testing::EmptyTestEventListener {
  void OnTestPartResult(const ::testing::TestPartResult& result) override { stop_world_on_fatal(result); }
};

// Installed while a shrink replay runs: its gtest failures are counted, not reported (they would repeat the
// failure once per replay), and a fatal one still stops the world.
class CountFailures : public ::testing::ScopedFakeTestPartResultReporter {
 public:
  CountFailures() : ScopedFakeTestPartResultReporter(INTERCEPT_ONLY_CURRENT_THREAD, &unused_) {}
  void ReportTestPartResult(const ::testing::TestPartResult& result) override {
    if (result.failed()) ++failures;
    stop_world_on_fatal(result);
  }
  int failures = 0;

 private:
  ::testing::TestPartResultArray unused_;
};

void install_listener_once() {
  static bool installed = false;
  if (installed) return;
  ::testing::UnitTest::GetInstance()->listeners().Append(new StopWorldOnFatalFailure);
  installed = true;
}

// "IOSIM_SEED=17 [IOSIM_STRATEGY=pct ...]./my_tests --gtest_filter=Suite.Name": runs this test at this seed
// only (or on the schedule IOSIM_CHOICES named).
std::string reproduce_line(const internal::SeedPlan& plan, std::uint64_t seed) {
  const std::string run = plan.choices_path.empty() ? fmt::format("IOSIM_SEED={}", seed)
                                                    : fmt::format("IOSIM_CHOICES={}", plan.choices_path);
  return fmt::format("{} {}{}{}", run, internal::environment_prefix(), internal::program_name(),
                     internal::gtest_filter());
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

// "120 steps, 37 choice points": pct spreads its priority changes over pct_steps choice points, so it finds
// shallow bugs best when pct_steps is near the real count.
std::string schedule_line(const WorldResult& world) {
  return fmt::format(
      "  schedule: {} steps, {} choice points (with strategy pct, set IOSIM_PCT_STEPS or "
      "Settings::world.pct_steps near {})\n",
      world.steps, world.choices, world.choices);
}

std::string failure_report(const SeedsReport& report, const internal::SeedPlan& plan, bool gtest_failed,
                           const std::string& artifacts) {
  const WorldResult& world = report.failing;
  std::string text =
      fmt::format("iosim: {} failed at seed {} (strategy {}; seed {} of {}..{})\n", internal::test_name(),
                  world.seed, world.strategy, report.seeds_run, plan.first, plan.first + plan.count - 1);
  text += fmt::format("  world: {}\n", world.summary());
  if (gtest_failed) text += "  the failures above were recorded while this seed ran\n";
  text += schedule_line(world);
  if (!plan.world.faults.empty()) text += fmt::format("  faults: {}\n", plan.world.faults);
  text += fmt::format("  trace-hash: {}\n", world.trace_hash_hex());
  text += artifacts;
  text += fmt::format("reproduce: {}", report.reproduce);
  return text;
}

// What the last failing property case ran; after shrinking, that is the smallest counterexample's world.
struct FailingCase {
  WorldResult world;
  WorldConfig config;
  std::function<void(Os&)> body;
};
FailingCase& last_failing_case() {
  static FailingCase failing;
  return failing;
}

// IOSIM_ARTIFACTS for a failed check: the smallest case's schedule and trace; the replay needs its inputs
// too.
std::string check_artifacts(const std::string& rc_params) {
  const internal::SeedPlan plan = internal::plan_seeds(Settings{});
  const FailingCase& failing = last_failing_case();
  if (plan.artifacts_dir.empty() || !failing.body) return "";
  const internal::ArtifactsRequest request{
      plan.artifacts_dir, plan.shrink_run_max, failing.config, &failing.world, false, rc_params};
  return internal::write_artifacts(request, failing.body).report;
}

}  // namespace

namespace internal {

WorldResult run_in_world(const WorldConfig& world, const std::function<void(Os&)>& body) {
  install_listener_once();
  WorldResult result = run_world(world, [&](Os& os) {
    current_os = &os;
    body(os);
  });
  current_os = nullptr;
  return result;
}

QuietRun run_quietly(const WorldConfig& world, const std::function<void(Os&)>& body) {
  CountFailures failures;
  WorldResult result = run_in_world(world, body);
  result.exception = nullptr;
  return {std::move(result), failures.failures};
}

}  // namespace internal

Os& os() {
  IOSIM_ASSERT(current_os != nullptr,
               "iosim::testing::os() called outside an IOSIM_TEST body or iosim::check");
  return *current_os;
}

SeedsReport run_seeds(const Settings& settings, const std::function<void(Os&)>& body) {
  SeedsReport report;
  const internal::SeedPlan plan = internal::plan_seeds(settings);
  if (!plan.error.empty()) {
    ADD_FAILURE() << "iosim: " << plan.error;
    report.failed = true;
    return report;
  }
  for (std::uint64_t i = 0; i < plan.count; ++i) {
    WorldConfig world = plan.world;
    world.seed = plan.first + i;
    world.reproduce = reproduce_line(plan, world.seed);
    const int first_part = part_count();
    WorldResult result = internal::run_in_world(world, body);
    ++report.seeds_run;
    const bool gtest_failed = failed_since(first_part);
    if (result.passed() && !gtest_failed) continue;
    report.failed = true;
    report.reproduce = world.reproduce;
    result.exception = nullptr;  // reported through the world's failure text
    report.failing = std::move(result);
    std::string artifacts;
    if (!plan.artifacts_dir.empty()) {
      const internal::Artifacts written = internal::write_artifacts(
          {plan.artifacts_dir, plan.shrink_run_max, world, &report.failing, gtest_failed, ""}, body);
      report.trace_path = written.trace_path;
      report.choices_path = written.choices_path;
      artifacts = written.report;
    }
    ADD_FAILURE() << failure_report(report, plan, gtest_failed, artifacts);
    break;
  }
  return report;
}

namespace detail {

rc::Gen<std::uint64_t> world_seed() {
  if (const std::optional<std::uint64_t> seed = internal::fixed_seed()) return rc::gen::just(*seed);
  return rc::gen::arbitrary<std::uint64_t>();
}

void run_case(const WorldConfig& world, std::uint64_t seed, std::function<void(Os&)> body) {
  WorldConfig config = world;
  if (!config.replay_choices) config.seed = seed;  // IOSIM_CHOICES: the seed of its file (apply_environment)
  WorldResult result = internal::run_in_world(config, body);
  if (result.passed()) return;
  const std::exception_ptr thrown = result.exception;
  result.exception = nullptr;
  FailingCase& failing = last_failing_case();
  failing = {std::move(result), config, std::move(body)};
  try {
    if (thrown) std::rethrow_exception(thrown);
  } catch (const rc::detail::CaseResult& case_result) {
    if (case_result.type == rc::detail::CaseResult::Type::Discard) throw;  // RC_PRE: not a failure
    failing.world.failure = "the property failed in task main";
    throw;
  }
  RC_FAIL(fmt::format("the world did not complete: {}", failing.world.summary()));
}

bool apply_environment(WorldConfig& world) {
  const internal::SeedPlan plan = internal::plan_seeds(Settings{.world = world});
  if (!plan.error.empty()) {
    ADD_FAILURE() << "iosim: " << plan.error;
    return false;
  }
  world = plan.world;
  if (world.replay_choices) world.seed = plan.first;  // IOSIM_CHOICES: the seed its file names
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
    const WorldResult& world = last_failing_case().world;
    text << fmt::format("\niosim: the smallest failing case ran world seed {} (strategy {}): {}\n",
                        world.seed, world.strategy, world.summary());
    text << schedule_line(world);
    text << fmt::format("  trace-hash: {}\n", world.trace_hash_hex());
    rc::detail::Configuration config = rc::detail::configuration();
    config.reproduce = {{metadata.id, failure.reproduce}};
    const std::string rc_params = fmt::format("RC_PARAMS=\"{}\" ", rc::detail::configToMinimalString(config));
    text << check_artifacts(rc_params);
    const std::optional<std::string> choices = internal::environment("IOSIM_CHOICES");
    text << fmt::format("reproduce: {}{}{}{}{}", rc_params, choices ? "IOSIM_CHOICES=" + *choices + " " : "",
                        internal::environment_prefix(), internal::program_name(), internal::gtest_filter());
  }
  ADD_FAILURE() << text.str();
  return false;
}

}  // namespace detail
}  // namespace iosim::testing
