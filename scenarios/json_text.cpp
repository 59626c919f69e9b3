// scenarios/json_text.cpp — reading a text file and parsing it as JSON with errors that point at the defect.
// The parse callback tracks the object path, to name repeated keys and to bound nesting depth.
#include "scenarios/json_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <vector>

namespace iosim {
namespace {

using nlohmann::json;

// A defect found by the parse callback (no byte position: nlohmann does not pass one to callbacks).
struct StructureError {
  std::string path;
  std::string message;
};

// Follows the parser through objects and arrays, knowing at each point the path ("workload", "checks[2]"),
// the keys already seen in the current object, and the depth.
class StructureTracker {
 public:
  explicit StructureTracker(int depth_max) : depth_max_(depth_max) {}

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        return enter(false);
      case json::parse_event_t::array_start:
        return enter(true);
      case json::parse_event_t::key:
        return see_key(parsed.get<std::string>());
      case json::parse_event_t::value:
        return finish_element();
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        return finish_element();
    }
    return true;
  }

 private:
  struct Frame {
    bool is_array;
    std::set<std::string> keys;  // keys seen so far in this object
    std::string key;             // the current key of this object
    std::size_t index = 0;       // the current element of this array
  };

  bool enter(bool is_array) {
    if (static_cast<int>(frames_.size()) >= depth_max_) {
      throw StructureError{path(), fmt::format("nested deeper than {} levels", depth_max_)};
    }
    frames_.push_back(Frame{is_array, {}, {}, 0});
    return true;
  }

  bool see_key(std::string key) {
    Frame& frame = frames_.back();
    if (!frame.keys.insert(key).second) {
      // Every JSON library keeps one of the two values silently; a repeated key is almost always a mistake.
      throw StructureError{path(), fmt::format("key \"{}\" appears twice in the same object", key)};
    }
    frame.key = std::move(key);
    return true;
  }

  bool finish_element() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
    return true;
  }

  // The path of the innermost open object or array.
  std::string path() const {
    std::string joined;
    for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
      const Frame& frame = frames_[i];
      if (frame.is_array) {
        joined += fmt::format("[{}]", frame.index);
      } else {
        joined += (joined.empty() ? "" : ".") + frame.key;
      }
    }
    return joined;
  }

  int depth_max_;
  std::vector<Frame> frames_;
};

// Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629), or npos.
std::size_t first_invalid_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = bytes[i];
    std::size_t length = 1;
    char32_t code_point = lead, smallest = 0;
    if (lead >= 0x80) {
      if ((lead >> 5) == 0x6)
        length = 2, code_point = lead & 0x1f, smallest = 0x80;
      else if ((lead >> 4) == 0xe)
        length = 3, code_point = lead & 0x0f, smallest = 0x800;
      else if ((lead >> 3) == 0x1e)
        length = 4, code_point = lead & 0x07, smallest = 0x10000;
      else
        return i;
      if (i + length > text.size()) return i;
      for (std::size_t k = 1; k < length; ++k) {
        if ((bytes[i + k] & 0xc0) != 0x80) return i;
        code_point = (code_point << 6) | (bytes[i + k] & 0x3f);
      }
      // Overlong encodings, surrogates and values past U+10FFFF are not UTF-8.
      if (code_point < smallest || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) {
        return i;
      }
    }
    i += length;
  }
  return std::string_view::npos;
}

// Offset of the first control byte (other than tab, newline, carriage return), or npos. JSON text never
// contains one unescaped, so one here means the file is binary (or corrupted), not a typo.
std::size_t first_control_byte(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r') || byte == 0x7f) return i;
  }
  return std::string_view::npos;
}

// Checks that come before parsing, so a binary file gets "binary data", not a confusing syntax error.
Status check_is_text(std::string_view text, std::string_view origin) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::error(fmt::format("{}: empty file: expected a JSON object", origin));
  }
  if (const std::size_t at = first_control_byte(text); at != std::string_view::npos) {
    const TextPosition where = position_of(text, at);
    return Status::error(fmt::format("{}:{}:{}: binary data (byte 0x{:02x}), not JSON text", origin,
                                     where.line, where.column, static_cast<unsigned char>(text[at])));
  }
  if (const std::size_t at = first_invalid_utf8(text); at != std::string_view::npos) {
    const TextPosition where = position_of(text, at);
    return Status::error(fmt::format("{}:{}:{}: not UTF-8 text (byte 0x{:02x})", origin, where.line,
                                     where.column, static_cast<unsigned char>(text[at])));
  }
  return Status::ok();
}

// nlohmann's message minus its "[json.exception.parse_error.101] parse error at line 1, column 5: " prefix,
// which we replace with our own position.
std::string parser_detail(const std::string& what) {
  const std::size_t column = what.find(", column ");
  const std::size_t colon = what.find(": ", column == std::string::npos ? 0 : column);
  if (colon != std::string::npos) return what.substr(colon + 2);
  const std::size_t bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

Status describe_parse_error(const json::parse_error& error, std::string_view text, std::string_view origin) {
  // `byte` counts the bytes the lexer read, so the offending byte is the last one read.
  const std::size_t offset = std::min<std::size_t>(error.byte == 0 ? 0 : error.byte - 1, text.size());
  const TextPosition where = position_of(text, offset);
  std::string detail = parser_detail(error.what());
  if (detail.find("unexpected end of input") != std::string::npos) detail += " (is the file truncated?)";
  return Status::error(fmt::format("{}:{}:{}: invalid JSON: {}", origin, where.line, where.column, detail));
}

}  // namespace

TextPosition position_of(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t line_start = before.rfind('\n');
  const std::size_t column = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
  return {line, column};
}

Result<std::string> read_text_file(const std::string& path, std::size_t bytes_max) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return Status::error(fmt::format("{}: no such file", path));
  }
  if (status.type() == std::filesystem::file_type::directory) {
    return Status::error(fmt::format("{}: is a directory, not a file", path));
  }
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr)
    return Status::error(fmt::format("{}: cannot be read: {}", path, std::strerror(errno)));
  std::string text;
  std::vector<char> chunk(64 * 1024);
  std::size_t got = 0;
  while ((got = std::fread(chunk.data(), 1, chunk.size(), file.get())) > 0 && text.size() <= bytes_max) {
    text.append(chunk.data(), got);
  }
  if (std::ferror(file.get())) {
    return Status::error(fmt::format("{}: cannot be read: {}", path, std::strerror(errno)));
  }
  if (text.size() > bytes_max) {
    return Status::error(fmt::format("{}: larger than {} bytes; not a scenario file?", path, bytes_max));
  }
  return text;
}

Result<json> parse_json_text(std::string_view text, std::string_view origin, int depth_max) {
  if (Status text_status = check_is_text(text, origin); !text_status) return text_status;
  StructureTracker tracker(depth_max);
  try {
    return json::parse(text.begin(), text.end(), std::ref(tracker), /*allow_exceptions=*/true,
                       /*ignore_comments=*/true);
  } catch (const StructureError& error) {
    return Status::error(
        fmt::format("{}: {}{}{}", origin, error.path, error.path.empty() ? "" : ": ", error.message));
  } catch (const json::parse_error& error) {
    return describe_parse_error(error, text, origin);
  } catch (const json::exception& error) {  // e.g. out_of_range.406: a number like 1e999 overflows a double
    return Status::error(fmt::format("{}: invalid JSON: {}", origin, parser_detail(error.what())));
  }
}

}  // namespace iosim
