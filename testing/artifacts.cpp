// testing/artifacts.cpp — IOSIM_ARTIFACTS: a failing world's schedule, shrunk by replays
// (sim/choice_shrink.hpp) to one that fails the same way, as a .choices file, and that run's trace as the
// JSON lines of --trace-out.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include "sim/choice_shrink.hpp"
#include "sim/choices_file.hpp"
#include "testing/internal.hpp"

namespace iosim::testing::internal {
namespace {

// "Suite/Param.Name/3" -> "Suite_Param.Name_3": deterministic, and safe as a file name everywhere.
std::string file_safe(const std::string& name) {
  std::string safe = name;
  for (char& c : safe) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    if (!keep) c = '_';
  }
  return safe;
}

// Replays `choices` of the failing world: does it fail the same way (the same outcome, and a gtest failure
// again if the original recorded one)?
bool fails_the_same_way(const ArtifactsRequest& request, const std::function<void(Os&)>& body,
                        const std::vector<std::uint32_t>& choices) {
  WorldConfig world = request.world;
  world.replay_choices = choices;
  // What an IOSIM_ASSERT that stops the process in a replay prints: this is not the seed's own run.
  world.reproduce = "a replay while shrinking the failing seed's schedule (IOSIM_ARTIFACTS); the seed: " +
                    request.world.reproduce;
  const QuietRun run = run_quietly(world, body);
  if (run.world.outcome != request.failing->outcome) return false;
  return !request.gtest_failed || run.gtest_failures > 0;
}

struct Schedule {
  std::optional<std::vector<std::uint32_t>> choices;  // nullopt: the recorded log did not replay the failure
  std::string note;                                   // how it was shrunk, or why not
};

Schedule shrunk_schedule(const ArtifactsRequest& request, const std::function<void(Os&)>& body) {
  const std::vector<std::uint32_t>& recorded = request.failing->choice_log;
  const sim::StillFails still_fails = [&](const std::vector<std::uint32_t>& choices) {
    return fails_the_same_way(request, body, choices);
  };
  if (!still_fails(recorded)) {
    return {std::nullopt,
            "replaying the recorded schedule does not fail the same way (does the test depend on "
            "state outside the world?); no .choices written"};
  }
  const sim::ShrinkResult shrunk = sim::shrink_choices(recorded, still_fails, request.shrink_run_max - 1);
  return {
      shrunk.choices,
      fmt::format("schedule shrunk from {} choices ({} non-default) to {} ({} non-default) in {} replays{}",
                  recorded.size(), sim::non_default_choices(recorded), shrunk.choices.size(),
                  sim::non_default_choices(shrunk.choices), shrunk.runs + 1,
                  shrunk.budget_reached ? " (replay budget reached)" : "")};
}

// Runs the world once more on `schedule` (or as it first ran) and writes its trace to `path`.
Status write_trace(const ArtifactsRequest& request, const std::function<void(Os&)>& body,
                   const Schedule& schedule, const std::string& path, WorldResult& traced) {
  std::ofstream out(path);
  if (!out) return Status::error(fmt::format("{}: cannot open for writing", path));
  WorldConfig world = request.world;
  world.replay_choices = schedule.choices;
  world.trace_out = &out;
  traced = run_quietly(world, body).world;
  out.close();
  if (!out) return Status::error(fmt::format("{}: write failed", path));
  return Status::ok();
}

std::string commands(const ArtifactsRequest& request, const Artifacts& written, const WorldResult& traced) {
  std::string text;
  if (!written.trace_path.empty()) {
    text += fmt::format("  trace:    {} (trace-hash {})\n", written.trace_path, traced.trace_hash_hex());
    text += fmt::format("    iosim graph {}\n", written.trace_path);
    text += fmt::format("    iosim trace {} --perfetto {}.perfetto.json\n", written.trace_path,
                        written.trace_path.substr(0, written.trace_path.size() - 6));
    text += fmt::format("    iosim explain {}\n", written.trace_path);
  }
  if (!written.choices_path.empty()) {
    text += fmt::format("  choices:  {}\n", written.choices_path);
    text += fmt::format("    {}IOSIM_CHOICES={} {}{}{}\n", request.replay_prefix, written.choices_path,
                        environment_prefix(), program_name(), gtest_filter());
  }
  return text;
}

}  // namespace

Artifacts write_artifacts(const ArtifactsRequest& request, const std::function<void(Os&)>& body) {
  Artifacts written;
  std::error_code error;
  std::filesystem::create_directories(request.dir, error);
  if (error) {
    written.report = fmt::format("  artifacts: cannot create {}: {}\n", request.dir, error.message());
    return written;
  }
  const std::string stem = (std::filesystem::path(request.dir) /
                            fmt::format("{}-seed{}", file_safe(test_name()), request.world.seed))
                               .string();
  const Schedule schedule = shrunk_schedule(request, body);
  written.report = fmt::format("  artifacts: {}\n", schedule.note);
  WorldResult traced;
  if (Status status = write_trace(request, body, schedule, stem + ".jsonl", traced); status) {
    written.trace_path = stem + ".jsonl";
  } else {
    written.report += fmt::format("  artifacts: {}\n", status.message());
  }
  if (schedule.choices) {
    const ChoicesFile file{choices_scenario(), request.world.seed, "replay", *schedule.choices};
    if (Status status = write_choices_file(stem + ".choices", file); status) {
      written.choices_path = stem + ".choices";
    } else {
      written.report += fmt::format("  artifacts: {}\n", status.message());
    }
  }
  written.report += commands(request, written, traced);
  return written;
}

}  // namespace iosim::testing::internal
