// include/iosim/assert.hpp — IOSIM_ASSERT: invariants that stay on in every build type.
// A violation prints the expression, the place and the run context (seed), then aborts.
#pragma once

#include <string>

namespace iosim {

[[noreturn]] void assert_fail(const char* expression, const char* file, int line, const char* message);

// What a failed assertion prints after its message, e.g. "seed 42, strategy random" (set by the runner).
void set_assert_context(std::string context);

}  // namespace iosim

#define IOSIM_ASSERT(expression, ...)                                                           \
  do {                                                                                          \
    if (!(expression)) ::iosim::assert_fail(#expression, __FILE__, __LINE__, "" __VA_ARGS__); \
  } while (false)
