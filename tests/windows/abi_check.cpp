// tests/windows/abi_check.cpp — checks iosim/win32_abi.hpp against the real mingw-w64 headers: every value
// and layout. Compile-only: x86_64-w64-mingw32-g++-posix -std=c++20 -fsyntax-only -Iinclude (README.md).
#define WIN32_NO_STATUS
#include <mswsock.h>
#include <windows.h>
#include <winsock2.h>
#undef WIN32_NO_STATUS
#include <ntstatus.h>

#include <cstddef>

#include "iosim/win32_abi.hpp"

namespace w = iosim::win32;

static_assert(w::Error::INVALID_HANDLE == ERROR_INVALID_HANDLE);
static_assert(w::Error::NOT_SUPPORTED == ERROR_NOT_SUPPORTED);
static_assert(w::Error::NETNAME_DELETED == ERROR_NETNAME_DELETED);
static_assert(w::Error::INVALID_PARAMETER == ERROR_INVALID_PARAMETER);
static_assert(w::Error::CALL_NOT_IMPLEMENTED == ERROR_CALL_NOT_IMPLEMENTED);
static_assert(w::Error::WAIT_TIMEOUT_ == WAIT_TIMEOUT);
static_assert(w::Error::ABANDONED_WAIT_0 == ERROR_ABANDONED_WAIT_0);
static_assert(w::Error::OPERATION_ABORTED == ERROR_OPERATION_ABORTED);
static_assert(w::Error::IO_INCOMPLETE == ERROR_IO_INCOMPLETE);
static_assert(w::Error::IO_PENDING == ERROR_IO_PENDING);
static_assert(w::Error::NOT_FOUND == ERROR_NOT_FOUND);
static_assert(w::Error::CONNECTION_REFUSED == ERROR_CONNECTION_REFUSED);
static_assert(w::Error::CONNECTION_ABORTED == ERROR_CONNECTION_ABORTED);
static_assert(w::Error::NO_SYSTEM_RESOURCES == ERROR_NO_SYSTEM_RESOURCES);
static_assert(w::WSA::INVAL == WSAEINVAL && w::WSA::NOTSOCK == WSAENOTSOCK && w::WSA::FAULT == WSAEFAULT);
static_assert(w::WSA::CONNRESET == WSAECONNRESET && w::WSA::CONNABORTED == WSAECONNABORTED);
static_assert(w::WSA::NOTCONN == WSAENOTCONN && w::WSA::SHUTDOWN == WSAESHUTDOWN &&
              w::WSA::ISCONN == WSAEISCONN);
static_assert(w::WSA::CONNREFUSED == WSAECONNREFUSED && w::WSA::TIMEDOUT == WSAETIMEDOUT);
static_assert(w::WSA::MFILE == WSAEMFILE && w::WSA::AFNOSUPPORT == WSAEAFNOSUPPORT);
static_assert(w::WSA::PROTONOSUPPORT == WSAEPROTONOSUPPORT && w::WSA::OPNOTSUPP == WSAEOPNOTSUPP);
static_assert(w::WSA::WOULDBLOCK == WSAEWOULDBLOCK && w::WSA::ALREADY == WSAEALREADY &&
              w::WSA::NOBUFS == WSAENOBUFS);
static_assert(w::WSA::ADDRINUSE == WSAEADDRINUSE && w::WSA::ADDRNOTAVAIL == WSAEADDRNOTAVAIL);
static_assert(w::WSA::NETUNREACH == WSAENETUNREACH && w::WSA::INTR == WSAEINTR);
static_assert(w::WSA::IO_PENDING == WSA_IO_PENDING && w::WSA::OPERATION_ABORTED == WSA_OPERATION_ABORTED);
static_assert(w::WSA::IO_INCOMPLETE == WSA_IO_INCOMPLETE);
static_assert(w::STATUS::PENDING == STATUS_PENDING && w::STATUS::TIMEOUT == STATUS_TIMEOUT);
static_assert(w::STATUS::CANCELLED == STATUS_CANCELLED);
static_assert(w::STATUS::CONNECTION_RESET == STATUS_CONNECTION_RESET);
static_assert(w::STATUS::CONNECTION_REFUSED == STATUS_CONNECTION_REFUSED);
static_assert(w::STATUS::CONNECTION_ABORTED == STATUS_CONNECTION_ABORTED);
static_assert(w::STATUS::LOCAL_DISCONNECT == STATUS_LOCAL_DISCONNECT);
static_assert(w::STATUS::REMOTE_DISCONNECT == STATUS_REMOTE_DISCONNECT);
static_assert(w::FILE_SKIP_COMPLETION_PORT_ON_SUCCESS_ == FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
static_assert(w::FILE_SKIP_SET_EVENT_ON_HANDLE_ == FILE_SKIP_SET_EVENT_ON_HANDLE);
static_assert(w::WSA_FLAG_OVERLAPPED_ == WSA_FLAG_OVERLAPPED);
static_assert(w::SO_UPDATE_ACCEPT_CONTEXT_ == SO_UPDATE_ACCEPT_CONTEXT);
static_assert(w::SO_UPDATE_CONNECT_CONTEXT_ == SO_UPDATE_CONNECT_CONTEXT);
static_assert(w::accept_address_bytes_min == sizeof(sockaddr_in) + 16);
static_assert(w::INFINITE_ == INFINITE && w::TRUE_ == TRUE && w::FALSE_ == FALSE &&
              w::SOCKET_ERROR_ == SOCKET_ERROR);
static_assert(w::INVALID_SOCKET_ == INVALID_SOCKET);
static_assert(sizeof(w::SOCKET) == sizeof(SOCKET) && sizeof(w::HANDLE) == sizeof(HANDLE));
static_assert(sizeof(w::DWORD) == sizeof(DWORD) && sizeof(w::ULONG) == sizeof(ULONG) &&
              sizeof(w::ULONG) == sizeof(u_long));

// Layouts: the same size and field offsets, so a WindowsOs may reinterpret_cast between them.
static_assert(sizeof(w::OVERLAPPED) == sizeof(OVERLAPPED));
static_assert(offsetof(w::OVERLAPPED, Internal) == offsetof(OVERLAPPED, Internal));
static_assert(offsetof(w::OVERLAPPED, InternalHigh) == offsetof(OVERLAPPED, InternalHigh));
static_assert(offsetof(w::OVERLAPPED, Pointer) == offsetof(OVERLAPPED, Pointer));
static_assert(offsetof(w::OVERLAPPED, hEvent) == offsetof(OVERLAPPED, hEvent));
static_assert(sizeof(w::WSABUF) == sizeof(WSABUF));
static_assert(offsetof(w::WSABUF, len) == offsetof(WSABUF, len) &&
              offsetof(w::WSABUF, buf) == offsetof(WSABUF, buf));
static_assert(sizeof(w::OVERLAPPED_ENTRY) == sizeof(OVERLAPPED_ENTRY));
static_assert(offsetof(w::OVERLAPPED_ENTRY, lpCompletionKey) == offsetof(OVERLAPPED_ENTRY, lpCompletionKey));
static_assert(offsetof(w::OVERLAPPED_ENTRY, lpOverlapped) == offsetof(OVERLAPPED_ENTRY, lpOverlapped));
static_assert(offsetof(w::OVERLAPPED_ENTRY, Internal) == offsetof(OVERLAPPED_ENTRY, Internal));
static_assert(offsetof(w::OVERLAPPED_ENTRY, dwNumberOfBytesTransferred) ==
              offsetof(OVERLAPPED_ENTRY, dwNumberOfBytesTransferred));

// The mappings GetQueuedCompletionStatus and WSAGetOverlappedResult apply.
static_assert(w::nt_status_to_dos_error(STATUS_CONNECTION_RESET) == ERROR_NETNAME_DELETED);
static_assert(w::nt_status_to_dos_error(STATUS_CANCELLED) == ERROR_OPERATION_ABORTED);
static_assert(w::nt_status_to_wsa_error(STATUS_CONNECTION_RESET) == WSAECONNRESET);

int main() {
  return 0;
}
