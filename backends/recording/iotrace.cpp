// backends/recording/iotrace.cpp — writing and strictly parsing .iotrace files (see iotrace.hpp and
// docs/file-formats.md). Every rejection says "<file>:<line>: what is wrong"; no input can crash the parser.
#include "backends/recording/iotrace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>

#include "iosim/abi.hpp"
#include "iosim/win32_abi.hpp"

namespace iosim {
namespace {

using ordered_json = nlohmann::ordered_json;

// What each event kind carries beyond seq, t_ns, thread, kind, result and errno.
struct KindFields {
  std::string_view kind;
  bool takes_fd;
  bool takes_conn;                         // the fd may be a connection ("conn" present when it is)
  bool takes_data;                         // "data" holds the bytes moved when result > 0
  std::array<std::string_view, 3> detail;  // integer-or-array fields kept in IoEvent::detail
  bool opens_conn = false;   // a success numbers a new connection: "conn" is required and must be the next
  bool win32_error = false;  // "errno" is a Win32 error (GetLastError) rather than a Linux errno
};

constexpr KindFields kind_table[] = {
    {"socket", false, false, false, {}},
    {"bind", true, false, false, {}},
    {"listen", true, false, false, {}},
    {"accept4", true, false, false, {}, true},
    {"recv", true, true, true, {}},
    {"read", true, true, true, {}},
    {"send", true, true, true, {}},
    {"write", true, true, true, {}},
    {"shutdown", true, true, false, {"how"}},
    {"close", true, true, false, {}},
    {"dup", true, true, false, {}},
    {"poll", false, false, false, {"fds"}},
    {"select", false, false, false, {"read", "write", "except"}},
    {"epoll_create1", false, false, false, {}},
    {"epoll_ctl", true, false, false, {"op", "target", "events"}},
    {"epoll_wait", true, false, false, {"events"}},
    {"eventfd", false, false, false, {}},
    // Overlapped I/O (RecordingOs's Win32 calls), one event when the application learns the outcome: the
    // call's immediate success or failure, else the completion it dequeued. fd is the listening socket for
    // AcceptEx (its data: the bytes received with the connection), the socket for the others.
    {"AcceptEx", true, false, true, {}, true, true},
    {"WSARecv", true, true, true, {}, false, true},
    {"WSASend", true, true, true, {}, false, true},
    {"closesocket", true, true, false, {}, false, true},
};

// Win32 errors fit in 16 bits (winerror.h's codes and Winsock's WSAE*).
constexpr std::int64_t win32_error_max = 0xFFFF;
constexpr std::int64_t linux_errno_max = 4095;

const KindFields* find_kind(std::string_view kind) {
  for (const KindFields& fields : kind_table) {
    if (fields.kind == kind) return &fields;
  }
  return nullptr;
}

std::string hex(std::span<const std::byte> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto value = static_cast<unsigned>(bytes[i]);
    text[2 * i] = digits[value >> 4];
    text[2 * i + 1] = digits[value & 15];
  }
  return text;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

ordered_json event_json(const IoEvent& event) {
  const KindFields* fields = find_kind(event.kind);
  IOSIM_ASSERT(fields != nullptr, "RecordingOs recorded a kind the format does not know");
  ordered_json line = {
      {"seq", event.seq}, {"t_ns", event.t_ns}, {"thread", event.thread}, {"kind", event.kind}};
  if (fields->takes_fd) line["fd"] = event.fd;
  line["result"] = event.result;
  line["errno"] = event.error;
  if (event.conn > 0) line["conn"] = event.conn;
  if (fields->takes_data && event.result > 0) line["data"] = hex(event.data);
  for (std::string_view name : fields->detail) {
    if (!name.empty() && event.detail.contains(name))
      line[std::string(name)] = event.detail.at(std::string(name));
  }
  return line;
}

ordered_json header_json(const IoTraceHeader& header) {
  return {{"format", iotrace_format_name},
          {"version", iotrace_version},
          {"scenario", header.scenario},
          {"name", header.name},
          {"app", header.app},
          {"params", header.params},
          {"connections", header.connections},
          {"backend", header.backend},
          {"latency_us", header.latency_us},
          {"seed", header.seed},
          {"strategy", header.strategy},
          {"step_max", header.step_max}};
}

// Reads the fields of one line's JSON object; the first defect is kept and later reads return defaults.
class LineFields {
 public:
  LineFields(const nlohmann::json& object, const std::string& origin, std::size_t line)
      : object_(object), origin_(origin), line_(line) {}

  void fail(const std::string& what) {
    if (status_) status_ = Status::error(fmt::format("{}:{}: {}", origin_, line_, what));
  }
  const Status& status() const { return status_; }
  bool has(std::string_view key) const { return object_.contains(key); }

  const nlohmann::json* field(std::string_view key) {
    const auto found = object_.find(key);
    if (found != object_.end()) return &*found;
    fail(fmt::format("missing field \"{}\"", key));
    return nullptr;
  }
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max) {
    const nlohmann::json* value = field(key);
    if (value == nullptr) return min;
    if (value->is_number_integer() &&
        !(value->is_number_unsigned() && value->get<std::uint64_t>() > INT64_MAX)) {
      const auto number = value->get<std::int64_t>();
      if (number >= min && number <= max) return number;
    }
    fail(fmt::format("field \"{}\": expected an integer in {}..{}, got {}", key, min, max,
                     value->dump().substr(0, 40)));
    return min;
  }
  std::uint64_t unsigned_integer(std::string_view key) {
    const nlohmann::json* value = field(key);
    if (value != nullptr && value->is_number_unsigned()) return value->get<std::uint64_t>();
    if (value != nullptr) fail(fmt::format("field \"{}\": expected an unsigned integer", key));
    return 0;
  }
  std::string string(std::string_view key) {
    const nlohmann::json* value = field(key);
    if (value != nullptr && value->is_string()) return value->get<std::string>();
    if (value != nullptr) fail(fmt::format("field \"{}\": expected a string", key));
    return {};
  }
  void reject_unknown(std::span<const std::string_view> known) {
    for (const auto& [key, value] : object_.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end())
        fail(fmt::format("unknown field \"{}\"", key));
    }
  }

 private:
  const nlohmann::json& object_;
  const std::string& origin_;
  std::size_t line_;
  Status status_ = Status::ok();
};

Status line_error(const std::string& origin, std::size_t line, const std::string& what) {
  return Status::error(fmt::format("{}:{}: {}", origin, line, what));
}

// The JSON object on one line; invalid JSON names the column.
Result<nlohmann::json> parse_line(std::string_view text, const std::string& origin, std::size_t line) {
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    return Status::error(fmt::format("{}:{}:{}: invalid JSON: {}", origin, line, error.byte, error.what()));
  }
  if (!value.is_object()) return line_error(origin, line, "expected a JSON object");
  return value;
}

Result<IoTraceHeader> parse_header(const nlohmann::json& object, const std::string& origin) {
  const auto format = object.find("format");
  if (format == object.end() || !format->is_string() || format->get<std::string>() != iotrace_format_name) {
    return line_error(origin, 1,
                      "not an iosim iotrace file (line 1 must be {\"format\":\"iosim-iotrace\",...})");
  }
  const auto version = object.find("version");
  if (version == object.end() || !version->is_number_integer() ||
      version->get<std::int64_t>() != iotrace_version) {
    return line_error(origin, 1,
                      fmt::format("unsupported version {} (this iosim reads version {})",
                                  version == object.end() ? "(none)" : version->dump(), iotrace_version));
  }
  LineFields fields(object, origin, 1);
  static constexpr std::string_view known[] = {"format",     "version", "scenario",    "name",
                                               "app",        "params",  "connections", "backend",
                                               "latency_us", "seed",    "strategy",    "step_max"};
  fields.reject_unknown(known);
  IoTraceHeader header;
  header.scenario = fields.string("scenario");
  header.name = fields.string("name");
  header.app = fields.string("app");
  if (const nlohmann::json* params = fields.field("params"); params != nullptr) {
    if (params->is_object())
      header.params = *params;
    else
      fields.fail("field \"params\": expected an object");
  }
  header.connections = static_cast<int>(fields.integer("connections", 0, 1 << 20));
  header.backend = fields.string("backend");
  header.latency_us = fields.integer("latency_us", 0, 60'000'000);
  header.seed = fields.unsigned_integer("seed");
  header.strategy = fields.string("strategy");
  header.step_max = fields.unsigned_integer("step_max");
  if (!fields.status()) return fields.status();
  return header;
}

// An array of integer tuples of `width` (width 1: plain integers), as poll/select/epoll_wait lists are.
bool integer_list(const nlohmann::json& value, std::size_t width) {
  if (!value.is_array()) return false;
  for (const nlohmann::json& item : value) {
    if (width == 1 && !item.is_number_integer()) return false;
    if (width == 1) continue;
    if (!item.is_array() || item.size() != width) return false;
    for (const nlohmann::json& number : item) {
      if (!number.is_number_integer()) return false;
    }
  }
  return true;
}

void parse_detail(LineFields& fields, const nlohmann::json& object, const KindFields& kind, IoEvent& event) {
  for (std::string_view name : kind.detail) {
    if (name.empty()) continue;
    const nlohmann::json* value = fields.field(name);
    if (value == nullptr) return;
    bool valid = value->is_number_integer();
    if (name == "fds") valid = integer_list(*value, 3);
    if (name == "read" || name == "write" || name == "except") valid = integer_list(*value, 1);
    if (kind.kind == "epoll_wait" && name == "events") valid = integer_list(*value, 2);
    if (!valid) fields.fail(fmt::format("field \"{}\": malformed for {}", name, kind.kind));
    event.detail[std::string(name)] = object.at(std::string(name));
  }
}

void parse_data(LineFields& fields, const KindFields& kind, IoEvent& event) {
  if (!kind.takes_data || event.result <= 0) return;
  const std::string text = fields.string("data");
  if (!fields.status()) return;
  if (text.size() != 2 * static_cast<std::size_t>(event.result)) {
    return fields.fail(
        fmt::format("field \"data\": {} hex digits for a result of {} bytes", text.size(), event.result));
  }
  event.data.resize(text.size() / 2);
  for (std::size_t i = 0; i < event.data.size(); ++i) {
    const int high = hex_digit(text[2 * i]), low = hex_digit(text[2 * i + 1]);
    if (high < 0 || low < 0) return fields.fail("field \"data\": expected lower-case hex digits");
    event.data[i] = static_cast<std::byte>(high * 16 + low);
  }
}

// Sequence, time and connection numbering carried from line to line.
struct ParseState {
  std::uint64_t seq = 0;
  std::int64_t t_ns = 0;
  int accepted = 0;
};

Result<IoEvent> parse_event(const nlohmann::json& object, const std::string& origin, std::size_t line,
                            ParseState& state) {
  LineFields fields(object, origin, line);
  IoEvent event;
  event.seq = fields.unsigned_integer("seq");
  if (fields.status() && event.seq != state.seq + 1) {
    fields.fail(fmt::format("out-of-order sequence number: expected {}, got {}", state.seq + 1, event.seq));
  }
  event.t_ns = fields.integer("t_ns", state.t_ns, iotrace_t_ns_max);
  event.kind = fields.string("kind");
  if (!fields.status()) return fields.status();
  const KindFields* kind = find_kind(event.kind);
  if (kind == nullptr)
    return line_error(origin, line, fmt::format("unknown event kind \"{}\"", event.kind.substr(0, 40)));
  std::vector<std::string_view> known = {"seq", "t_ns", "thread", "kind", "result", "errno"};
  if (kind->takes_fd) known.push_back("fd");
  if (kind->takes_conn || kind->opens_conn) known.push_back("conn");
  if (kind->takes_data) known.push_back("data");
  for (std::string_view name : kind->detail) {
    if (!name.empty()) known.push_back(name);
  }
  fields.reject_unknown(known);
  event.thread = fields.string("thread");
  if (kind->takes_fd) event.fd = static_cast<int>(fields.integer("fd", -1, INT32_MAX));
  event.result = static_cast<long>(fields.integer("result", -1, INT64_MAX));
  const std::int64_t error_max = kind->win32_error ? win32_error_max : linux_errno_max;
  event.error =
      static_cast<int>(fields.integer("errno", event.result < 0 ? 1 : 0, event.result < 0 ? error_max : 0));
  const bool new_connection = kind->opens_conn && event.result >= 0;
  if (new_connection || fields.has("conn")) {
    const int conn_max = new_connection ? state.accepted + 1 : state.accepted;
    event.conn = static_cast<int>(fields.integer("conn", new_connection ? conn_max : 1, conn_max));
  }
  parse_data(fields, *kind, event);
  parse_detail(fields, object, *kind, event);
  if (!fields.status()) return fields.status();
  state.seq = event.seq;
  state.t_ns = event.t_ns;
  if (new_connection) ++state.accepted;
  return event;
}

Result<IoTraceEnd> parse_end(const nlohmann::json& object, const std::string& origin, std::size_t line,
                             const ParseState& state) {
  LineFields fields(object, origin, line);
  static constexpr std::string_view known[] = {"seq",          "t_ns",    "kind", "connections",
                                               "server_error", "summary", "run"};
  fields.reject_unknown(known);
  const std::uint64_t seq = fields.unsigned_integer("seq");
  if (fields.status() && seq != state.seq + 1) {
    fields.fail(fmt::format("out-of-order sequence number: expected {}, got {}", state.seq + 1, seq));
  }
  fields.integer("t_ns", state.t_ns, iotrace_t_ns_max);
  IoTraceEnd end;
  end.connections = static_cast<int>(fields.integer("connections", state.accepted, state.accepted));
  end.server_error = fields.string("server_error");
  end.summary = fields.string("summary");
  end.run = fields.string("run");
  if (!fields.status()) return fields.status();
  return end;
}

}  // namespace

DataDirection data_direction(std::string_view kind) {
  if (kind == "recv" || kind == "read" || kind == "WSARecv" || kind == "AcceptEx") return DataDirection::in;
  if (kind == "send" || kind == "write" || kind == "WSASend") return DataDirection::out;
  return DataDirection::none;
}

bool is_peer_reset(const IoEvent& event) {
  if (event.result >= 0) return false;
  const KindFields* kind = find_kind(event.kind);
  if (kind != nullptr && kind->win32_error) {
    return win32::is_connection_reset_error(static_cast<win32::DWORD>(event.error));
  }
  return event.error == E::CONNRESET ||
         (data_direction(event.kind) == DataDirection::out && event.error == E::PIPE);
}

std::vector<std::string_view> iotrace_event_kinds() {
  std::vector<std::string_view> kinds;
  for (const KindFields& fields : kind_table) kinds.push_back(fields.kind);
  return kinds;
}

namespace {

// One line at a time, so writing a large recording needs no second copy of it in memory.
void write_lines(std::ostream& out, const IoTrace& trace) {
  constexpr auto replace = nlohmann::json::error_handler_t::replace;  // names are ASCII; never throw on bytes
  out << header_json(trace.header).dump(-1, ' ', false, replace) << '\n';
  std::int64_t last_ns = 0;
  for (const IoEvent& event : trace.events) {
    out << event_json(event).dump(-1, ' ', false, replace) << '\n';
    last_ns = event.t_ns;
  }
  const ordered_json end = {{"seq", trace.events.size() + 1},
                            {"t_ns", last_ns},
                            {"kind", "end"},
                            {"connections", trace.end.connections},
                            {"server_error", trace.end.server_error},
                            {"summary", trace.end.summary},
                            {"run", trace.end.run}};
  out << end.dump(-1, ' ', false, replace) << '\n';
}

}  // namespace

std::string format_iotrace(const IoTrace& trace) {
  std::ostringstream text;
  write_lines(text, trace);
  return std::move(text).str();
}

Status write_iotrace(const std::string& path, const IoTrace& trace) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status::error(fmt::format("{}: cannot open for writing", path));
  write_lines(out, trace);
  out.close();
  if (!out) return Status::error(fmt::format("{}: write failed", path));
  return Status::ok();
}

Result<IoTrace> parse_iotrace(std::string_view text, const std::string& origin) {
  if (text.empty()) return line_error(origin, 1, "empty file; expected an iosim iotrace header");
  IoTrace trace;
  ParseState state;
  bool ended = false;
  std::size_t line = 0;
  for (std::size_t start = 0; start < text.size();) {
    ++line;
    const std::size_t newline = text.find('\n', start);
    if (newline == std::string_view::npos) {
      return line_error(origin, line,
                        "truncated: the last line has no newline (the recording stopped early?)");
    }
    const std::string_view content = text.substr(start, newline - start);
    start = newline + 1;
    if (ended) return line_error(origin, line, "data after the end record");
    if (content.size() > iotrace_line_bytes_max) return line_error(origin, line, "line longer than 64 MiB");
    Result<nlohmann::json> object = parse_line(content, origin, line);
    if (!object) return object.status();
    if (line == 1) {
      Result<IoTraceHeader> header = parse_header(object.value(), origin);
      if (!header) return header.status();
      trace.header = std::move(header.value());
      continue;
    }
    const auto kind = object.value().find("kind");
    if (kind != object.value().end() && kind->is_string() && kind->get<std::string>() == "end") {
      Result<IoTraceEnd> end = parse_end(object.value(), origin, line, state);
      if (!end) return end.status();
      trace.end = std::move(end.value());
      ended = true;
      continue;
    }
    Result<IoEvent> event = parse_event(object.value(), origin, line, state);
    if (!event) return event.status();
    trace.events.push_back(std::move(event.value()));
  }
  if (!ended) return line_error(origin, line + 1, "truncated: no end record (the recording stopped early?)");
  return trace;
}

Result<IoTrace> read_iotrace(const std::string& path) {
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  std::ifstream in(path, std::ios::binary);
  if (error || !in) return Status::error(fmt::format("{}: cannot open (does it exist?)", path));
  if (size > iotrace_file_bytes_max) return Status::error(fmt::format("{}: larger than 256 MiB", path));
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return parse_iotrace(text, path);
}

}  // namespace iosim
