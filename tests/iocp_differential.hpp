// tests/iocp_differential.hpp — the IOCP differential oracle: one op sequence on SimOs and on real Win32
// (Wine), result lines compared one by one, with the known Wine differences (docs/semantics.md) allowed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/sim/sim_os.hpp"
#include "tests/iocp_ops.hpp"

namespace iosim::iocp_ops {

using Lines = std::vector<std::string>;

// The sequence on a fresh simulated machine; a run that does not complete adds a last "sim run:" line.
inline Lines run_on_sim(const std::vector<Op>& ops, std::uint64_t seed = 1) {
  SimConfig config;
  config.seed = seed;
  SimOs os(config);
  Lines lines;
  const SimOutcome outcome = os.run([&] { lines = run_sequence(os, ops); });
  if (outcome.run.outcome != sim::RunResult::Outcome::completed)
    lines.push_back("sim run: " + outcome.run.failure);
  return lines;
}

inline bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

inline void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// A Wine line rewritten as Windows (and the simulator) would say it, for the differences docs/semantics.md
// lists and tests/iocp_wine_difference_test.cpp pins; every other line is compared as it is.
inline std::string as_windows_would_say(std::string wine_line) {
  // CancelIoEx with nothing to cancel: Wine leaves the last error alone (cleared before the call).
  if (starts_with(wine_line, "cancel(") && wine_line.ends_with("FALSE ERROR_SUCCESS"))
    replace_all(wine_line, "FALSE ERROR_SUCCESS", "FALSE ERROR_NOT_FOUND");
  // GQCSEx that times out: Wine reports one entry removed, Windows none.
  if (starts_with(wine_line, "get_ex(") && wine_line.ends_with("FALSE WAIT_TIMEOUT removed=1"))
    replace_all(wine_line, "removed=1", "removed=0");
  // closesocket with I/O pending: Wine completes it with STATUS_HANDLES_CLOSED (GQCS error 676), Windows with
  // ERROR_OPERATION_ABORTED as the closesocket documentation says.
  if (wine_line.find("[closed]") != std::string::npos)
    replace_all(wine_line, "error676", "ERROR_OPERATION_ABORTED");
  return wine_line;
}

// "" when the two records agree; otherwise both records side by side, the first difference marked.
inline std::string compare_records(const Lines& sim, const Lines& wine) {
  std::size_t first = 0;
  while (first < sim.size() && first < wine.size() && sim[first] == as_windows_would_say(wine[first]))
    ++first;
  if (first == sim.size() && first == wine.size()) return "";
  std::string text = "first difference at line " + std::to_string(first) + "\n";
  for (std::size_t i = 0; i < std::max(sim.size(), wine.size()); ++i) {
    text += (i == first ? ">> " : "   ") + std::to_string(i) + "\n";
    text += "   sim:  " + (i < sim.size() ? sim[i] : "(none)") + "\n";
    text += "   wine: " + (i < wine.size() ? wine[i] : "(none)") + "\n";
  }
  return text;
}

inline std::string to_json_line(const std::vector<Op>& ops) {
  return nlohmann::json(ops).dump();
}

}  // namespace iosim::iocp_ops
