// scenarios/proactor/proactor.cpp — choosing the Proactor implementation: IOCP where the Os has completion
// ports, the epoll emulation elsewhere (asked for explicitly, or when CreateIoCompletionPort fails).
#include "scenarios/proactor/proactor.hpp"

namespace iosim::proactor {

// Auto-detection by trying, as portable code must: a backend without Win32 I/O fails every Win32 call with
// ERROR_NOT_SUPPORTED, so the first CreateIoCompletionPort tells. The IOCP implementation's own port is the
// probe; nothing is created twice.
std::unique_ptr<Proactor> make_proactor(Os& os, Impl impl, std::string* error) {
  switch (impl) {
    case Impl::iocp:
      return make_iocp_proactor(os, error);
    case Impl::epoll:
      return make_epoll_proactor(os, error);
    case Impl::automatic:
      break;
  }
  std::string ignored;
  if (auto iocp = make_iocp_proactor(os, &ignored)) return iocp;
  return make_epoll_proactor(os, error);
}

}  // namespace iosim::proactor
