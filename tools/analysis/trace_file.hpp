// tools/analysis/trace_file.hpp — reads a trace written by `iosim run --trace-out F` (JSON lines, version 1,
// with the header's "names" table) back into a TraceView, so `iosim graph` can analyse a saved run.
#pragma once

#include <string>

#include "iosim/status.hpp"
#include "tools/analysis/trace_graph.hpp"

namespace iosim::analysis {

// Errors name the file and the line: "t.jsonl:12: unknown event kind \"bogus\"".
Result<TraceView> read_trace_jsonl(const std::string& path);

}  // namespace iosim::analysis
