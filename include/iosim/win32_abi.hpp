// include/iosim/win32_abi.hpp — the Win32 ABI values and shapes iosim speaks for IOCP: error codes
// (winerror.h), Winsock errors (winsock2.h), NTSTATUS (ntstatus.h), HANDLE/SOCKET, OVERLAPPED, WSABUF,
// OVERLAPPED_ENTRY.
#pragma once

#include <cstdint>
#include <string_view>

namespace iosim::win32 {

// Own definitions, no OS header (kernel_model/ includes this file). The real names (ERROR_IO_PENDING, TRUE,
// INFINITE, WAIT_TIMEOUT, INVALID_SOCKET, ...) are macros in <windows.h>, so they are scoped here, as
// iosim/abi.hpp scopes the errno macros (Error::IO_PENDING is ERROR_IO_PENDING). Values and layouts are the
// x86-64 Windows ones; tests/windows/abi_check.cpp static_asserts each against the mingw-w64 headers.
using BOOL = int;
using DWORD = std::uint32_t;
using ULONG = std::uint32_t;  // 32 bits on Windows (LLP64), also where it stands for u_long
using UCHAR = std::uint8_t;
using ULONG_PTR = std::uintptr_t;
using NTSTATUS = std::int32_t;
using HANDLE = void*;           // as on Windows, so application code casts (HANDLE)socket the usual way
using SOCKET = std::uintptr_t;  // UINT_PTR on Windows

inline constexpr BOOL TRUE_ = 1, FALSE_ = 0;
inline constexpr DWORD INFINITE_ = 0xFFFFFFFF;  // a timeout that never expires
inline const HANDLE INVALID_HANDLE_VALUE_ = reinterpret_cast<HANDLE>(~std::uintptr_t{0});
inline constexpr SOCKET INVALID_SOCKET_ = ~SOCKET{0};
inline constexpr int SOCKET_ERROR_ = -1;

// Win32 error codes: GetLastError() after a BOOL call failed, and GetQueuedCompletionStatus's error for a
// failed packet (the packet's NTSTATUS through RtlNtStatusToDosError).
struct Error {
  static constexpr DWORD SUCCESS = 0, INVALID_FUNCTION = 1, INVALID_HANDLE = 6, NOT_ENOUGH_MEMORY = 8,
                         NOT_SUPPORTED = 50, NETNAME_DELETED = 64, INVALID_PARAMETER = 87,
                         CALL_NOT_IMPLEMENTED = 120, WAIT_TIMEOUT_ = 258, ABANDONED_WAIT_0 = 735,
                         OPERATION_ABORTED = 995, IO_INCOMPLETE = 996, IO_PENDING = 997, NOT_FOUND = 1168,
                         CONNECTION_REFUSED = 1225, CONNECTION_ABORTED = 1236, NO_SYSTEM_RESOURCES = 1450;
};

// Winsock error codes (WSAGetLastError; WSAE* = WSABASEERR 10000 + the BSD number). WSA_IO_PENDING,
// WSA_OPERATION_ABORTED and WSA_IO_INCOMPLETE are the Win32 codes above.
struct WSA {
  static constexpr int INTR = 10004, BADF = 10009, FAULT = 10014, INVAL = 10022, MFILE = 10024,
                       WOULDBLOCK = 10035, INPROGRESS = 10036, ALREADY = 10037, NOTSOCK = 10038,
                       MSGSIZE = 10040, NOPROTOOPT = 10042, PROTONOSUPPORT = 10043, OPNOTSUPP = 10045,
                       AFNOSUPPORT = 10047, ADDRINUSE = 10048, ADDRNOTAVAIL = 10049, NETUNREACH = 10051,
                       CONNABORTED = 10053, CONNRESET = 10054, NOBUFS = 10055, ISCONN = 10056,
                       NOTCONN = 10057, SHUTDOWN = 10058, TIMEDOUT = 10060, CONNREFUSED = 10061,
                       IO_PENDING = 997, OPERATION_ABORTED = 995, IO_INCOMPLETE = 996;
};

// The NTSTATUS values a completed I/O carries in OVERLAPPED::Internal (the IO_STATUS_BLOCK's Status).
struct STATUS {
  static constexpr NTSTATUS SUCCESS = 0, TIMEOUT = 0x102, PENDING = 0x103,
                            CANCELLED = static_cast<NTSTATUS>(0xC0000120),
                            LOCAL_DISCONNECT = static_cast<NTSTATUS>(0xC000013B),
                            REMOTE_DISCONNECT = static_cast<NTSTATUS>(0xC000013C),
                            CONNECTION_RESET = static_cast<NTSTATUS>(0xC000020D),
                            CONNECTION_REFUSED = static_cast<NTSTATUS>(0xC0000236),
                            CONNECTION_ABORTED = static_cast<NTSTATUS>(0xC0000241);
};

// RtlNtStatusToDosError for the statuses above (what GetQueuedCompletionStatus reports for a failed packet).
constexpr DWORD nt_status_to_dos_error(NTSTATUS status) {
  switch (status) {
    case STATUS::SUCCESS:
      return Error::SUCCESS;
    case STATUS::TIMEOUT:
      return Error::WAIT_TIMEOUT_;
    case STATUS::PENDING:
      return Error::IO_PENDING;
    case STATUS::CANCELLED:
      return Error::OPERATION_ABORTED;
    case STATUS::LOCAL_DISCONNECT:
    case STATUS::REMOTE_DISCONNECT:
    case STATUS::CONNECTION_RESET:
      return Error::NETNAME_DELETED;
    case STATUS::CONNECTION_REFUSED:
      return Error::CONNECTION_REFUSED;
    case STATUS::CONNECTION_ABORTED:
      return Error::CONNECTION_ABORTED;
    default:
      return Error::INVALID_FUNCTION;
  }
}

// ws2_32's NtStatusToWSAError (Wine dlls/ws2_32): what WSAGetOverlappedResult reports for the same packet.
constexpr int nt_status_to_wsa_error(NTSTATUS status) {
  switch (status) {
    case STATUS::SUCCESS:
      return 0;
    case STATUS::PENDING:
      return WSA::IO_INCOMPLETE;
    case STATUS::CANCELLED:
      return WSA::OPERATION_ABORTED;
    case STATUS::LOCAL_DISCONNECT:
    case STATUS::CONNECTION_ABORTED:
      return WSA::CONNABORTED;
    case STATUS::REMOTE_DISCONNECT:
    case STATUS::CONNECTION_RESET:
      return WSA::CONNRESET;
    case STATUS::CONNECTION_REFUSED:
      return WSA::CONNREFUSED;
    default:
      return WSA::INVAL;
  }
}

// The errors an overlapped request reports when the peer reset the connection: ERROR_NETNAME_DELETED through
// GetLastError after a dequeue (STATUS_CONNECTION_RESET), WSAECONNRESET through WSAGetLastError.
constexpr bool is_connection_reset_error(DWORD error) {
  return error == Error::NETNAME_DELETED || error == static_cast<DWORD>(WSA::CONNRESET);
}
// ... and when the connection was aborted (ERROR_CONNECTION_ABORTED / WSAECONNABORTED).
constexpr bool is_connection_aborted_error(DWORD error) {
  return error == Error::CONNECTION_ABORTED || error == static_cast<DWORD>(WSA::CONNABORTED);
}

// SetFileCompletionNotificationModes flags (winbase.h).
inline constexpr UCHAR FILE_SKIP_COMPLETION_PORT_ON_SUCCESS_ = 0x1;
inline constexpr UCHAR FILE_SKIP_SET_EVENT_ON_HANDLE_ = 0x2;
// WSASocket dwFlags (winsock2.h).
inline constexpr DWORD WSA_FLAG_OVERLAPPED_ = 0x01;
// Socket options (mswsock.h), passed with iosim's SOL::SOCKET level: the option value is the listening
// (accept) socket, or nothing (connect).
inline constexpr int SO_UPDATE_ACCEPT_CONTEXT_ = 0x700B;
inline constexpr int SO_UPDATE_CONNECT_CONTEXT_ = 0x7010;
// AcceptEx's address slots must each hold a sockaddr_in plus 16 bytes (the documented minimum).
inline constexpr DWORD accept_address_bytes_min = 16 + 16;

// OVERLAPPED, laid out as Windows' (Internal = IO_STATUS_BLOCK.Status, InternalHigh = .Information), so a
// WindowsOs passes the application's pointer straight through and per-I/O data with the OVERLAPPED first
// comes back from GetQueuedCompletionStatus as the same pointer.
struct OVERLAPPED {
  ULONG_PTR Internal = 0;
  ULONG_PTR InternalHigh = 0;
  union {
    struct {
      DWORD Offset;
      DWORD OffsetHigh;
    } offsets;
    void* Pointer = nullptr;
  };
  HANDLE hEvent = nullptr;
};
static_assert(sizeof(OVERLAPPED) == 4 * sizeof(void*));

// HasOverlappedIoCompleted (a macro in winbase.h): the I/O manager rewrites Internal when the request
// completes.
inline bool has_overlapped_io_completed(const OVERLAPPED& overlapped) {
  return static_cast<NTSTATUS>(overlapped.Internal) != STATUS::PENDING;
}

struct WSABUF {
  ULONG len;
  char* buf;
};

// One entry of GetQueuedCompletionStatusEx (Internal holds the packet's NTSTATUS).
struct OVERLAPPED_ENTRY {
  ULONG_PTR lpCompletionKey;
  OVERLAPPED* lpOverlapped;
  ULONG_PTR Internal;
  DWORD dwNumberOfBytesTransferred;
};

// "ERROR_IO_PENDING" for 997, "WSAECONNRESET" for 10054; "?" for numbers iosim does not name.
constexpr std::string_view win32_error_name(DWORD error) {
  switch (error) {
    case Error::SUCCESS:
      return "ERROR_SUCCESS";
    case Error::INVALID_FUNCTION:
      return "ERROR_INVALID_FUNCTION";
    case Error::INVALID_HANDLE:
      return "ERROR_INVALID_HANDLE";
    case Error::NOT_ENOUGH_MEMORY:
      return "ERROR_NOT_ENOUGH_MEMORY";
    case Error::NOT_SUPPORTED:
      return "ERROR_NOT_SUPPORTED";
    case Error::NETNAME_DELETED:
      return "ERROR_NETNAME_DELETED";
    case Error::INVALID_PARAMETER:
      return "ERROR_INVALID_PARAMETER";
    case Error::CALL_NOT_IMPLEMENTED:
      return "ERROR_CALL_NOT_IMPLEMENTED";
    case Error::WAIT_TIMEOUT_:
      return "WAIT_TIMEOUT";
    case Error::ABANDONED_WAIT_0:
      return "ERROR_ABANDONED_WAIT_0";
    case Error::OPERATION_ABORTED:
      return "ERROR_OPERATION_ABORTED";
    case Error::IO_INCOMPLETE:
      return "ERROR_IO_INCOMPLETE";
    case Error::IO_PENDING:
      return "ERROR_IO_PENDING";
    case Error::NOT_FOUND:
      return "ERROR_NOT_FOUND";
    case Error::CONNECTION_REFUSED:
      return "ERROR_CONNECTION_REFUSED";
    case Error::CONNECTION_ABORTED:
      return "ERROR_CONNECTION_ABORTED";
    case Error::NO_SYSTEM_RESOURCES:
      return "ERROR_NO_SYSTEM_RESOURCES";
    case WSA::INVAL:
      return "WSAEINVAL";
    case WSA::MFILE:
      return "WSAEMFILE";
    case WSA::NOTSOCK:
      return "WSAENOTSOCK";
    case WSA::FAULT:
      return "WSAEFAULT";
    case WSA::OPNOTSUPP:
      return "WSAEOPNOTSUPP";
    case WSA::AFNOSUPPORT:
      return "WSAEAFNOSUPPORT";
    case WSA::PROTONOSUPPORT:
      return "WSAEPROTONOSUPPORT";
    case WSA::CONNABORTED:
      return "WSAECONNABORTED";
    case WSA::CONNRESET:
      return "WSAECONNRESET";
    case WSA::NOTCONN:
      return "WSAENOTCONN";
    case WSA::SHUTDOWN:
      return "WSAESHUTDOWN";
    case WSA::CONNREFUSED:
      return "WSAECONNREFUSED";
    case WSA::ISCONN:
      return "WSAEISCONN";
    default:
      return "?";
  }
}

}  // namespace iosim::win32
