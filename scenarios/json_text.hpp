// scenarios/json_text.hpp — file path to JSON document, with messages a person can act on: missing file,
// empty, binary, not UTF-8, invalid JSON at line:column, repeated keys, nesting too deep.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "iosim/status.hpp"

namespace iosim {

// The whole file as bytes. Errors: "<path>: no such file", "<path>: is a directory ...", "<path>: cannot be
// read: Permission denied", "<path>: larger than <bytes_max> bytes ...".
Result<std::string> read_text_file(const std::string& path, std::size_t bytes_max);

// Parses JSON text with comments (// and /* */) allowed. Rejects, with `origin` and a line:column where one
// exists: empty text, control bytes (binary data), ill-formed UTF-8, syntax errors (and truncation), a key
// repeated in one object (JSON parsers silently keep the last), and nesting deeper than `depth_max`.
Result<nlohmann::json> parse_json_text(std::string_view text, std::string_view origin, int depth_max);

// 1-based line and column of a byte offset in `text` (offset == size() is the end of the text).
struct TextPosition {
  std::size_t line;
  std::size_t column;
};
TextPosition position_of(std::string_view text, std::size_t offset);

}  // namespace iosim
