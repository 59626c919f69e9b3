// tests/windows/wine_process_test.cpp — the Wine launcher (backends/windows/wine_process.hpp) against the
// Windows build's windows_os_smoke.exe: run to completion, exit codes, line-by-line child, clear errors.
#include "backends/windows/wine_process.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>

namespace iosim {
namespace {

const std::string smoke_exe = std::string(IOSIM_WINDOWS_DIR) + "/windows_os_smoke.exe";

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value == nullptr) {
      ::unsetenv(name);
    } else {
      ::setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

WineSetup wine_or_skip() {
  auto setup = find_wine(default_wine_prefix());
  if (!setup) return {};
  return *setup;
}

TEST(WineProcess, RunsTheWindowsOsSmokeExeToCompletion) {
  const WineSetup setup = wine_or_skip();
  if (setup.wine.empty()) GTEST_SKIP() << "wine not installed";
  const auto run = run_under_wine(setup, smoke_exe, {});
  ASSERT_TRUE(run) << run.error();
  EXPECT_EQ(run->exit_code, 0) << run->out << run->err;
  EXPECT_NE(run->out.find("windows_os_smoke: 28/28 checks passed"), std::string::npos) << run->out;
  EXPECT_EQ(run->out.find("FAILED"), std::string::npos) << run->out;
}

TEST(WineProcess, PassesArgumentsAndTheExitCodeThrough) {
  const WineSetup setup = wine_or_skip();
  if (setup.wine.empty()) GTEST_SKIP() << "wine not installed";
  const auto run = run_under_wine(setup, smoke_exe, {"exit", "7"});
  ASSERT_TRUE(run) << run.error();
  EXPECT_EQ(run->exit_code, 7);
}

TEST(WineProcess, ChildAnswersOneLinePerRequest) {
  const WineSetup setup = wine_or_skip();
  if (setup.wine.empty()) GTEST_SKIP() << "wine not installed";
  auto child = WineChild::start(setup, smoke_exe, {"echo"});
  ASSERT_TRUE(child) << child.error();
  for (const std::string request : {R"({"op": 1})", "second line"}) {
    ASSERT_TRUE((*child)->write_line(request));
    const auto reply = (*child)->read_line(std::chrono::seconds(60));
    ASSERT_TRUE(reply) << reply.error();
    EXPECT_EQ(*reply, "echo: " + request);
  }
  const auto exit_code = (*child)->finish();
  ASSERT_TRUE(exit_code) << exit_code.error();
  EXPECT_EQ(*exit_code, 0);
}

TEST(WineProcess, MissingExeIsAnErrorNamingIt) {
  const WineSetup setup{"/usr/bin/wine", "/nonexistent-prefix"};
  const auto run = run_under_wine(setup, "/nonexistent/iosim-windows.exe", {});
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error(), "/nonexistent/iosim-windows.exe: no such file");
  EXPECT_FALSE(WineChild::start(setup, "/nonexistent/iosim-windows.exe", {}));
}

TEST(WineProcess, MissingWineNamesTheInstallStep) {
  ScopedEnv no_override(wine_env_override, nullptr);
  ScopedEnv empty_path("PATH", "/nonexistent-bin");
  const auto setup = find_wine("/prefix");
  ASSERT_FALSE(setup);
  EXPECT_NE(setup.error().find("tools/install-deps"), std::string::npos) << setup.error();
}

TEST(WineProcess, IosimWineOverridesAndIsChecked) {
  ScopedEnv bad_override(wine_env_override, "/nonexistent/wine");
  const auto setup = find_wine("/prefix");
  ASSERT_FALSE(setup);
  EXPECT_EQ(setup.error(), "IOSIM_WINE=/nonexistent/wine is not an executable wine");
  ScopedEnv good_override(wine_env_override, "/bin/true");
  const auto overridden = find_wine("/prefix");
  ASSERT_TRUE(overridden) << overridden.error();
  EXPECT_EQ(overridden->wine, "/bin/true");
}

TEST(WineProcess, WineprefixWinsOverTheDefault) {
  ScopedEnv override_wine(wine_env_override, "/bin/true");
  {
    ScopedEnv prefix(wine_prefix_env, "/tmp/some-prefix");
    EXPECT_EQ(find_wine("/default")->prefix, "/tmp/some-prefix");
  }
  ScopedEnv no_prefix(wine_prefix_env, nullptr);
  EXPECT_EQ(find_wine("/default")->prefix, "/default");
  ScopedEnv cache("XDG_CACHE_HOME", "/home/u/.cache");
  EXPECT_EQ(default_wine_prefix(), "/home/u/.cache/iosim/wine-prefix");
}

}  // namespace
}  // namespace iosim
