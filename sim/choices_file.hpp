// sim/choices_file.hpp — the .choices file: a choice log that `iosim run --choices F` and IOSIM_CHOICES=F
// replay. Text, versioned, line-oriented; the parser names the file and line of any defect.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "iosim/status.hpp"

namespace iosim {

// Format (docs/file-formats.md):
//   # iosim choices v1
//   scenario scenarios/echo_select.json
//   seed 42
//   strategy random
//   choices 5
//   0 1 0 2 1
struct ChoicesFile {
  std::string scenario;
  std::uint64_t seed = 0;
  std::string strategy;
  std::vector<std::uint32_t> choices;
};

inline constexpr std::size_t choices_file_bytes_max = 64 << 20;
inline constexpr std::uint32_t choice_index_max = 1 << 20;  // more runnable tasks than this is not a real run

std::string format_choices_file(const ChoicesFile& file);
Status write_choices_file(const std::string& path, const ChoicesFile& file);
Result<ChoicesFile> parse_choices_file(const std::string& text, const std::string& origin);
Result<ChoicesFile> read_choices_file(const std::string& path);

}  // namespace iosim
