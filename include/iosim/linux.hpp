// include/iosim/linux.hpp — the real kernel behind iosim::Os (LinuxOs: real syscalls, std::thread; Linux
// builds only), so the code you test on the simulator runs under real clients too.
#pragma once

#include <memory>

#include "iosim/os.hpp"

namespace iosim {

// A new LinuxOs. It ignores SIGPIPE process-wide, as the simulator does: a send on a connection the peer
// closed fails with EPIPE on both backends instead of killing the process.
std::unique_ptr<Os> make_linux_os();

}  // namespace iosim
