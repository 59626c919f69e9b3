// backends/linux/make_linux_os.cpp — make_linux_os (include/iosim/linux.hpp): the public way to a LinuxOs,
// whose class stays private to backends/.
#include "backends/linux/linux_os.hpp"
#include "iosim/linux.hpp"

namespace iosim {

std::unique_ptr<Os> make_linux_os() {
  return std::make_unique<LinuxOs>();
}

}  // namespace iosim
