// tools/analysis/trace_file.hpp — reads a trace written by `iosim run --trace-out F` (JSON lines, version 1,
// with the header's "names" table) back into a TraceView, so `iosim graph` can analyse a saved run.
#pragma once

#include <string>
#include <string_view>

#include "iosim/status.hpp"
#include "tools/analysis/trace_graph.hpp"

namespace iosim::analysis {

// A trace file is named *.jsonl (what `iosim run --trace-out` writes); any other path is a scenario.
bool is_trace_file(std::string_view path);

// The message when a command gets a trace file with an option only a scenario run takes (--seed ...).
std::string run_options_need_a_scenario(std::string_view path);

// Errors name the file and the line: "t.jsonl:12: unknown event kind \"bogus\"".
Result<TraceView> read_trace_jsonl(const std::string& path);

}  // namespace iosim::analysis
