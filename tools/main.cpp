// tools/main.cpp — iosim::cli_main's main (as gtest_main's): the iosim CLI on every bundled app and every app
// the binary registers with IOSIM_APP. build/iosim is this file linked with the bundled apps alone.
#include "iosim/app.hpp"

int main(int argc, char** argv) {
  return iosim::cli::main(argc, argv);
}
