// testing/internal.hpp — what testing.cpp, environment.cpp and artifacts.cpp share inside iosim::testing: the
// seed plan read from Settings and the IOSIM_* environment, worlds run with gtest failures routed, test
// names.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "iosim/testing.hpp"

namespace iosim::testing::internal {

// What run_seeds runs: Settings with the environment applied.
struct SeedPlan {
  std::uint64_t first = 1;
  std::uint64_t count = 0;
  WorldConfig world;
  std::string artifacts_dir;
  int shrink_run_max = 0;
  std::string choices_path;  // IOSIM_CHOICES: the schedule file world.replay_choices came from
  std::string error;         // the environment or the settings were malformed: nothing runs
};

SeedPlan plan_seeds(const Settings& settings);
// The one seed IOSIM_SEED asks for, if set (and IOSIM_CHOICES is not: its file names the seed).
std::optional<std::uint64_t> fixed_seed();
std::optional<std::string> environment(const char* name);
// The variables that change a run (IOSIM_FAULTS, IOSIM_STRATEGY, IOSIM_PCT_*, IOSIM_LATENCY_US) as set now,
// "NAME=value " each, for reproduce lines.
std::string environment_prefix();

std::string program_name();  // argv[0] of this process
std::string gtest_filter();  // " --gtest_filter=Suite.Name", or "" outside a test
std::string test_name();     // "Suite.Name"
// The .choices `scenario` line of the current test: "gtest:Suite.Name" (docs/file-formats.md).
std::string choices_scenario();

// Runs `body` in a world whose gtest fatal failures stop it (iosim::testing::os() works inside).
WorldResult run_in_world(const WorldConfig& world, const std::function<void(Os&)>& body);
// Like run_in_world, but the gtest failures it raises are counted instead of reported (shrink replays).
struct QuietRun {
  WorldResult world;
  int gtest_failures = 0;
};
QuietRun run_quietly(const WorldConfig& world, const std::function<void(Os&)>& body);

// The files IOSIM_ARTIFACTS asks for, of a world that failed: the schedule shrunk to one that fails the same
// way (same outcome; a gtest failure again when the original recorded one) and the trace of that run.
struct ArtifactsRequest {
  std::string dir;
  int shrink_run_max = 0;
  WorldConfig world;  // the failing world's config
  const WorldResult* failing = nullptr;
  bool gtest_failed = false;
  std::string replay_prefix;  // what the IOSIM_CHOICES command needs besides ("RC_PARAMS=... " for a check)
};
struct Artifacts {
  std::string trace_path, choices_path;  // empty when not written
  std::string report;                    // lines for the failure report: where, how small, the commands
};
Artifacts write_artifacts(const ArtifactsRequest& request, const std::function<void(Os&)>& body);

}  // namespace iosim::testing::internal
