// scenarios/http_protocol.cpp — request-line parsing and response building for the HTTP/1.0 subset. Pure
// functions over strings: the server (scenarios/apps/reactor_http.cpp) and the client oracle share them.
#include "scenarios/http_protocol.hpp"

#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "sim/prng.hpp"

namespace iosim::http {
namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    default:
      return "Unknown";
  }
}

// An error response carries its reason as a short text body, as most servers do.
std::string error_response(int status) {
  return response(status, fmt::format("{}\n", reason_phrase(status)));
}

// The whole of `text` as an unsigned number in `base`, or nothing (empty, a sign, junk, overflow).
std::optional<std::uint64_t> parse_whole(std::string_view text, int base) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The answer for a well-formed GET of `target`.
std::string respond_to_get(std::string_view target, std::int64_t body_bytes_max) {
  constexpr std::string_view prefix = "/bytes/";
  if (!target.starts_with(prefix)) return error_response(404);
  target.remove_prefix(prefix.size());
  const std::size_t slash = target.find('/');
  if (slash == std::string_view::npos) return error_response(404);
  const std::optional<std::uint64_t> body_bytes = parse_whole(target.substr(0, slash), 10);
  const std::optional<std::uint64_t> seed = parse_whole(target.substr(slash + 1), 16);
  if (!body_bytes || !seed || *body_bytes > static_cast<std::uint64_t>(body_bytes_max)) {
    return error_response(404);
  }
  return response(200, bytes_body(static_cast<std::int64_t>(*body_bytes), *seed));
}

}  // namespace

std::string bytes_path(std::int64_t body_bytes, std::uint64_t seed) {
  return fmt::format("/bytes/{}/{:016x}", body_bytes, seed);
}

std::string request(std::string_view path) {
  return fmt::format("GET {} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
}

std::string bytes_body(std::int64_t body_bytes, std::uint64_t seed) {
  constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string body(static_cast<std::size_t>(body_bytes), '\0');
  std::uint64_t state = seed;
  std::uint64_t word = 0;
  for (std::size_t index = 0; index < body.size(); ++index) {
    if (index % 10 == 0) word = sim::splitmix64(state);  // ten 6-bit symbols per 64-bit word
    body[index] = alphabet[(word >> (6 * (index % 10))) & 63];
  }
  return body;
}

std::string response(int status, std::string_view body) {
  return fmt::format("HTTP/1.0 {} {}\r\nContent-Length: {}\r\n\r\n{}", status, reason_phrase(status),
                     body.size(), body);
}

std::string respond(std::string_view head, std::int64_t body_bytes_max) {
  // Only the request line matters to this server; the header lines after it are read and ignored.
  const std::size_t line_end = head.find("\r\n");
  if (line_end == std::string_view::npos) return error_response(400);
  const std::string_view line = head.substr(0, line_end);
  const std::size_t first_space = line.find(' ');
  const std::size_t last_space = line.rfind(' ');
  if (first_space == std::string_view::npos || first_space == last_space) return error_response(400);
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, last_space - first_space - 1);
  const std::string_view version = line.substr(last_space + 1);
  if (target.empty() || target.find(' ') != std::string_view::npos || !version.starts_with("HTTP/1.")) {
    return error_response(400);
  }
  if (method != "GET") return error_response(501);
  return respond_to_get(target, body_bytes_max);
}

std::string head_too_large_response() {
  return error_response(431);
}

}  // namespace iosim::http
