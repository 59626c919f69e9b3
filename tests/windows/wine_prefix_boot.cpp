// tests/windows/wine_prefix_boot.cpp — the ctest fixture `wine_prefix` (FIXTURES_SETUP): creates and boots
// the test Wine prefix ($WINEPREFIX, in the build tree) once, so the Wine tests after it never race a first
// start.
#include <chrono>
#include <cstdio>

#include "backends/windows/wine_process.hpp"

int main() {
  const auto setup = iosim::find_wine(iosim::default_wine_prefix());
  if (!setup) {
    std::fprintf(stderr, "wine_prefix_boot: %s\n", setup.error().c_str());
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  const iosim::Status booted = iosim::ensure_wine_prefix(*setup);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!booted) {
    std::fprintf(stderr, "wine_prefix_boot: %s\n", booted.message().c_str());
    return 1;
  }
  std::printf("wine prefix %s ready in %.1f s\n", setup->prefix.c_str(), seconds);
  return 0;
}
