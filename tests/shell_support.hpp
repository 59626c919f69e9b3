// tests/shell_support.hpp — what the tests that run a program as a subprocess share (the CLI, a failing test
// binary, the CLI under Wine): run a shell command, collect its stdout and stderr together and its exit code.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace iosim::test {

struct ShellOutcome {
  int exit_code;       // 128 + signal when the program was killed
  std::string output;  // stdout and stderr together
  std::string last_line() const {
    const std::size_t end = output.find_last_not_of('\n');
    if (end == std::string::npos) return "";
    const std::size_t start = output.rfind('\n', end);
    const std::size_t first = start == std::string::npos ? 0 : start + 1;
    return output.substr(first, end - first + 1);
  }
};

// Runs `command` with /bin/sh, stderr joined to stdout.
inline ShellOutcome run_shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::string output;
  std::array<char, 4096> buffer;
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), output};
}

// The environment variable, or `fallback` when it is not set.
inline std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value ? value : fallback;
}

}  // namespace iosim::test
