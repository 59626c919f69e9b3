// scenarios/http_protocol.hpp — the HTTP/1.0 subset that reactor_http serves and the http workload speaks:
// one resource, /bytes/<n>/<seed>, whose exact response bytes are known in advance (the workload's oracle).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace iosim::http {

// A request head ends with an empty line: the server reads until it has seen this.
inline constexpr std::string_view head_end = "\r\n\r\n";

// "/bytes/<n>/<seed as 16 hex digits>": asks for n body bytes generated from seed (like httpbin's /bytes/n).
std::string bytes_path(std::int64_t body_bytes, std::uint64_t seed);

// The complete request a client sends for `path`: "GET <path> HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".
std::string request(std::string_view path);

// The body of /bytes/<n>/<seed>: n printable bytes ([A-Za-z0-9+/]) from a SplitMix64 stream seeded with
// seed, so a transcript stays readable in a trace and the client can rebuild every byte.
std::string bytes_body(std::int64_t body_bytes, std::uint64_t seed);

// A whole response: "HTTP/1.0 <status> <reason>\r\nContent-Length: <body size>\r\n\r\n<body>".
std::string response(int status, std::string_view body);

// What the server answers to one complete request head (everything up to and including head_end):
//   200 with bytes_body(n, seed) for "GET /bytes/<n>/<seed> HTTP/1.x" with n <= body_bytes_max,
//   404 for any other path (or n too large), 501 for a method other than GET, 400 for a malformed line.
std::string respond(std::string_view head, std::int64_t body_bytes_max);

// 431 Request Header Fields Too Large: the answer to a head that does not fit the server's buffer.
std::string head_too_large_response();

}  // namespace iosim::http
