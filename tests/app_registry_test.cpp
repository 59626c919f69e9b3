// tests/app_registry_test.cpp — IOSIM_APP's registry: registered apps join the bundled ones in name order, a
// name registered twice is reported (never silently replaced), and a world app's scenario needs no clients.
#include <gtest/gtest.h>

#include <algorithm>

#include "iosim/app.hpp"
#include "scenarios/registry.hpp"
#include "scenarios/scenario.hpp"

namespace {

void a_world(iosim::Os&) {}

}  // namespace

IOSIM_APP(zz_registered_world, "a registered world app", a_world);
IOSIM_APP(echo_poll, "a registration that takes a bundled app's name", a_world);

namespace iosim {
namespace {

TEST(AppRegistry, RegisteredAppsJoinTheBundledOnesInNameOrder) {
  const auto all = apps();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const AppInfo& a, const AppInfo& b) { return a.name < b.name; }));
  const AppInfo* registered = find_app("zz_registered_world");
  ASSERT_NE(registered, nullptr);
  EXPECT_FALSE(registered->bundled);
  EXPECT_EQ(registered->world, &a_world);
  EXPECT_EQ(registered->main, nullptr);
  EXPECT_EQ(registered->workload, WorkloadKind::none);
}

TEST(AppRegistry, ANameRegisteredTwiceIsReportedAndTheBundledAppKept) {
  const Status status = check_app_registry();
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("app \"echo_poll\" registered twice"), std::string::npos)
      << status.message();
  const AppInfo* kept = find_app("echo_poll");
  ASSERT_NE(kept, nullptr);
  EXPECT_TRUE(kept->bundled);
  EXPECT_EQ(
      std::count_if(apps().begin(), apps().end(), [](const AppInfo& app) { return app.name == "echo_poll"; }),
      1);
}

TEST(AppRegistry, AWorldAppsScenarioHasNoClientsAndChecksItsAppChecks) {
  Result<ScenarioSpec> spec = parse_scenario(R"({"app": "zz_registered_world"})", "world.json");
  ASSERT_TRUE(spec) << spec.status().message();
  EXPECT_EQ(spec->workload.kind, WorkloadKind::none);
  EXPECT_EQ(spec->workload.clients, 0);
  EXPECT_EQ(spec->checks, (std::vector<std::string>{"app_checks", "all_tasks_finished"}));
  Result<ScenarioSpec> echo =
      parse_scenario(R"({"app": "zz_registered_world", "workload": {"kind": "echo"}})", "world.json");
  ASSERT_FALSE(echo);
  EXPECT_NE(echo.status().message().find("workload.kind: app zz_registered_world serves none clients"),
            std::string::npos)
      << echo.status().message();
}

TEST(AppRegistry, AppCheckThrowsItsMessageAndPlace) {
  EXPECT_NO_THROW(app_check(true, "holds"));
  try {
    app_check(false, "counter is 1");
    FAIL() << "app_check(false) returned";
  } catch (const AppCheckFailed& failed) {
    EXPECT_NE(std::string(failed.what()).find("app_check failed: counter is 1 ("), std::string::npos);
    EXPECT_NE(std::string(failed.what()).find("app_registry_test.cpp:"), std::string::npos);
  }
}

}  // namespace
}  // namespace iosim
