// sim/choices_file.cpp — writing and strictly parsing .choices files (see sim/choices_file.hpp).
// Every rejection says "<file>:<line>: what is wrong"; nothing in the input can crash the parser.
#include "sim/choices_file.hpp"

#include <charconv>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace iosim {
namespace {

constexpr std::string_view header = "# iosim choices v1";

Status line_error(const std::string& origin, std::size_t line, const std::string& what) {
  return Status::error(fmt::format("{}:{}: {}", origin, line, what));
}

// "key value" with the expected key; returns the value.
Result<std::string> keyed(const std::string& origin, std::size_t number, const std::string& line, std::string_view key) {
  if (line.rfind(std::string(key) + " ", 0) != 0 || line.size() <= key.size() + 1) {
    return line_error(origin, number, fmt::format("expected \"{} <value>\", got \"{}\"", key, line.substr(0, 60)));
  }
  return line.substr(key.size() + 1);
}

Result<std::uint64_t> number_value(const std::string& origin, std::size_t line, const std::string& text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return line_error(origin, line, fmt::format("expected an unsigned integer, got \"{}\"", text.substr(0, 40)));
  }
  return value;
}

}  // namespace

std::string format_choices_file(const ChoicesFile& file) {
  std::string text = fmt::format("{}\nscenario {}\nseed {}\nstrategy {}\nchoices {}\n", header, file.scenario,
                                 file.seed, file.strategy, file.choices.size());
  for (std::size_t i = 0; i < file.choices.size(); ++i) {
    text += fmt::format("{}{}", file.choices[i], (i + 1) % 32 == 0 || i + 1 == file.choices.size() ? "\n" : " ");
  }
  return text;
}

Status write_choices_file(const std::string& path, const ChoicesFile& file) {
  std::ofstream out(path);
  if (!out) return Status::error(fmt::format("{}: cannot open for writing", path));
  out << format_choices_file(file);
  out.close();
  if (!out) return Status::error(fmt::format("{}: write failed", path));
  return Status::ok();
}

Result<ChoicesFile> parse_choices_file(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> head;
  for (std::size_t i = 0; i < 5 && std::getline(in, line); ++i) head.push_back(line);
  if (head.empty()) return line_error(origin, 1, "empty file; expected \"# iosim choices v1\"");
  if (head[0] != header) return line_error(origin, 1, "not an iosim choices file (expected \"# iosim choices v1\")");
  if (head.size() < 5) return line_error(origin, head.size() + 1, "truncated header");
  ChoicesFile file;
  Result<std::string> scenario = keyed(origin, 2, head[1], "scenario");
  if (!scenario) return scenario.status();
  file.scenario = scenario.value();
  Result<std::string> seed = keyed(origin, 3, head[2], "seed");
  if (!seed) return seed.status();
  Result<std::uint64_t> seed_value = number_value(origin, 3, seed.value());
  if (!seed_value) return seed_value.status();
  file.seed = seed_value.value();
  Result<std::string> strategy = keyed(origin, 4, head[3], "strategy");
  if (!strategy) return strategy.status();
  file.strategy = strategy.value();
  Result<std::string> count_text = keyed(origin, 5, head[4], "choices");
  if (!count_text) return count_text.status();
  Result<std::uint64_t> count = number_value(origin, 5, count_text.value());
  if (!count) return count.status();
  std::size_t number = 5;
  while (std::getline(in, line)) {
    ++number;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      Result<std::uint64_t> choice = number_value(origin, number, word);
      if (!choice) return choice.status();
      if (choice.value() >= choice_index_max) return line_error(origin, number, fmt::format("choice {} is out of range", word));
      file.choices.push_back(static_cast<std::uint32_t>(choice.value()));
    }
  }
  if (file.choices.size() != count.value()) {
    return line_error(origin, number, fmt::format("the header announces {} choices but the file holds {} (truncated?)",
                                                  count.value(), file.choices.size()));
  }
  return file;
}

Result<ChoicesFile> read_choices_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(fmt::format("{}: cannot open (does it exist?)", path));
  std::string text;
  text.resize(choices_file_bytes_max + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > choices_file_bytes_max) return Status::error(fmt::format("{}: larger than 64 MiB", path));
  return parse_choices_file(text, path);
}

}  // namespace iosim
