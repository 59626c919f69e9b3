// tests/package_core/run_a_world.cpp — runs one world through the installed <iosim/sim.hpp> (with a fault, so
// the fault layer links too) and exits 0 when it completed.
#include <cstdio>
#include <string>

#include "iosim/sim.hpp"

int main() {
  long sent = 0;
  const iosim::WorldResult result = iosim::run_world({.seed = 7, .faults = "short_write=1"}, [&](iosim::Os& os) {
    int fds[2];
    if (os.socketpair(iosim::AF::UNIX, iosim::SOCK::STREAM, 0, fds) != 0) return;
    const std::string block(100, 'x');
    sent = os.send(fds[0], block.data(), block.size(), iosim::MSG::DONTWAIT);
  });
  std::printf("%s; sent %ld of 100; trace-hash %s\n", result.summary().c_str(), sent,
              result.trace_hash_hex().c_str());
  return result.passed() && sent > 0 && sent < 100 ? 0 : 1;
}
