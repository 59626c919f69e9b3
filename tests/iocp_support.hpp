// tests/iocp_support.hpp — what the IOCP tests share: one GetQueuedCompletionStatus call with everything it
// returned, GetLastError included, as a value to compare.
#pragma once

#include "iosim/os.hpp"

namespace iosim::iocp_test {

struct Got {
  win32::BOOL ok;
  win32::DWORD error, bytes;
  win32::ULONG_PTR key;
  win32::OVERLAPPED* overlapped;
};

inline Got get(Os& os, win32::HANDLE port, win32::DWORD timeout_ms) {
  Got got{};
  got.ok = os.GetQueuedCompletionStatus(port, &got.bytes, &got.key, &got.overlapped, timeout_ms);
  got.error = got.ok ? 0 : os.GetLastError();
  return got;
}

}  // namespace iosim::iocp_test
