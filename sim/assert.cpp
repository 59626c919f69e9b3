// sim/assert.cpp — the one place a violated invariant ends the process (see include/iosim/assert.hpp).
// The run context names the seed so the failure can be replayed.
#include "iosim/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace iosim {
namespace {
std::string& assert_context() {
  static std::string context;
  return context;
}
}  // namespace

void set_assert_context(std::string context) { assert_context() = std::move(context); }

void assert_fail(const char* expression, const char* file, int line, const char* message) {
  std::fprintf(stderr, "iosim: assertion failed: %s at %s:%d%s%s\n", expression, file, line,
               *message ? ": " : "", message);
  if (!assert_context().empty()) std::fprintf(stderr, "iosim: while running %s\n", assert_context().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace iosim
