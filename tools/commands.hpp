// tools/commands.hpp — the iosim subcommands. Each returns the process exit code: 0 holds, 1 a check failed
// (after printing a `reproduce:` line), 2 bad usage or bad input (after printing what and where).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace iosim::cli {

inline constexpr int exit_holds = 0;
inline constexpr int exit_check_failed = 1;
inline constexpr int exit_bad_input = 2;

struct RunOptions {
  std::string scenario;
  std::optional<std::uint64_t> seed;
  std::optional<std::string> strategy;
  std::string backend = "sim";
  std::string trace_out;
  bool explain = false;
  int explain_lines = 60;
};
int run_command(const RunOptions& options);

struct DiffOptions {
  std::string scenario;
  std::optional<std::uint64_t> seed;
};
int diff_command(const DiffOptions& options);

int list_command();

}  // namespace iosim::cli
