// tests/windows/iocp_ops_server.cpp — iocp_ops_server.exe: the Windows side of the IOCP differential suite.
// Reads one JSON op sequence per stdin line, runs it on WindowsOs in a fresh world (tests/iocp_ops.hpp) and
// writes its result lines as one JSON line: {"lines":[...]}, or {"error":"..."} for a line it cannot parse.
#include <cstdio>
#include <iostream>
#include <string>

#include "backends/windows/windows_os.hpp"
#include "tests/iocp_ops.hpp"

int main() {
  iosim::WindowsOs os;
  std::string request;
  while (std::getline(std::cin, request)) {
    if (!request.empty() && request.back() == '\r') request.pop_back();
    if (request.empty()) continue;
    nlohmann::json reply;
    try {
      const auto ops = nlohmann::json::parse(request).get<std::vector<iosim::iocp_ops::Op>>();
      reply["lines"] = iosim::iocp_ops::run_sequence(os, ops);
    } catch (const nlohmann::json::exception& error) {
      reply["error"] = std::string("bad op sequence: ") + error.what();
    }
    std::cout << reply.dump() << std::endl;  // one line, flushed: the Linux side waits for it
  }
  return 0;
}
