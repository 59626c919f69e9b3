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

// Whether a sim line and a Wine line say the same, or differ only as docs/semantics.md's "Where Wine
// differs" table says (each pinned by a test in tests/iocp_differential_test.cpp); nothing else is forgiven.
inline bool agrees(const std::string& sim_line, const std::string& wine_line) {
  if (sim_line == wine_line) return true;
  std::string wine = wine_line;
  // CancelIoEx(NULL) with nothing to cancel: Windows fails with ERROR_NOT_FOUND, Wine 8.0 returns TRUE.
  if (starts_with(wine, "cancel(") && wine.find(", all) pending=0: TRUE") != std::string::npos &&
      sim_line.ends_with(": FALSE ERROR_NOT_FOUND"))
    replace_all(wine, ": TRUE", ": FALSE ERROR_NOT_FOUND");
  // GQCSEx that times out: Wine reports one entry removed, Windows none.
  if (starts_with(wine, "get_ex(") && wine.ends_with("FALSE WAIT_TIMEOUT removed=1"))
    replace_all(wine, "removed=1", "removed=0");
  // closesocket with I/O pending: Wine completes it with STATUS_HANDLES_CLOSED (GQCS error 676), Windows with
  // ERROR_OPERATION_ABORTED as the closesocket documentation says.
  // (GQCSEx shows the entry's status itself.)
  if (wine.find("[closed]") != std::string::npos) {
    replace_all(wine, "error676", "ERROR_OPERATION_ABORTED");
    replace_all(wine, "status0x8000000a", "ERROR_OPERATION_ABORTED");
  }
  return sim_line == wine;
}

// "" when the two records agree; otherwise both records side by side, the first difference marked.
inline std::string compare_records(const Lines& sim, const Lines& wine) {
  std::size_t first = 0;
  while (first < sim.size() && first < wine.size() && agrees(sim[first], wine[first])) ++first;
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
