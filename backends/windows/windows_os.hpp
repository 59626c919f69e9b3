// backends/windows/windows_os.hpp — WindowsOs: iosim::Os on real Winsock2/Win32 (IOCP) and std::thread,
// cross-compiled with mingw-w64 and run under Wine. Only this directory may include Windows headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "iosim/os.hpp"

namespace iosim {

// The Windows backend. The Win32-shaped calls (IOCP, overlapped sockets) are the real functions: iosim's
// OVERLAPPED, WSABUF and OVERLAPPED_ENTRY have Windows' layout, so application pointers pass straight through
// and per-I/O data with the OVERLAPPED first comes back from GetQueuedCompletionStatus as the same pointer.
// GetLastError/WSAGetLastError are the real per-thread values. AcceptEx and ConnectEx are the provider's
// functions, loaded once through WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER).
//
// The POSIX-shaped calls map onto Winsock for sockets, which are the only kind of fd here: an fd is the
// SOCKET value (asserted to fit in an int). A failed call's WSAE* code becomes the Linux errno iosim speaks
// (iosim/abi.hpp), kept per thread, with these Windows differences made Linux-shaped:
//  - connect on a non-blocking socket: WSAEWOULDBLOCK is reported as EINPROGRESS; a failed connect that
//    Winsock's select reports in exceptfds is reported writable (then SO_ERROR says why), as Linux does.
//  - WSAENOTSOCK (a closed or never-opened fd) is EBADF; WSAESHUTDOWN (send after shutdown(SHUT_WR)) is
//  EPIPE.
//  - fcntl: F_GETFL/F_SETFL know only O_NONBLOCK (ioctlsocket FIONBIO; Windows cannot read the mode back,
//    so WindowsOs remembers it per socket); F_GETFD answers FD_CLOEXEC and F_SETFD is accepted (WindowsOs
//    creates no inheritable handles). accept4 sets the accepted socket's mode from its flags, since Winsock
//    copies the listening socket's mode while Linux starts blocking.
//  - MSG_NOSIGNAL is dropped (Windows has no SIGPIPE); MSG_DONTWAIT switches FIONBIO on for that one call.
//  - getsockopt/setsockopt map SO_REUSEADDR, SO_TYPE, SO_ERROR (translated to errno), SO_SNDBUF, SO_RCVBUF,
//    SO_KEEPALIVE, SO_ACCEPTCONN, TCP_NODELAY and the Win32 SO_UPDATE_ACCEPT_CONTEXT_/
//    SO_UPDATE_CONNECT_CONTEXT_; any other option is ENOPROTOOPT (e.g. SO_RCVLOWAT, which Winsock rejects).
//  - poll is WSAPoll: POLLIN/POLLOUT/POLLRDNORM/POLLRDBAND/POLLWRNORM/POLLWRBAND are asked for, POLLPRI and
//    POLLRDHUP are not (WSAPoll rejects POLLPRI); POLLERR/POLLHUP/POLLNVAL come back as on Linux. With no fd
//    to watch it sleeps for the timeout (WSAPoll would fail with WSAEINVAL).
//  - select converts iosim's Linux-layout fd_set bitmap to Winsock's fd_set (a list of at most
//    windows_fd_set_sockets_max sockets per set; more is EINVAL). With no fd it sleeps for the timeout.
//    Linux's write-back of the unslept timeout is not emulated (the timeout is left as passed).
//  - read/write are recv/send with no flags (every fd is a socket).
// Calls with no Windows equivalent fail with ENOSYS: socketpair, pipe2, dup, epoll_create1, epoll_ctl,
// epoll_wait, eventfd. socket() takes AF_INET stream sockets only (AF_UNIX is EAFNOSUPPORT).
class WindowsOs final : public Os {
 public:
  WindowsOs();  // WSAStartup, once per process (never cleaned up: the process exit does it)
  ~WindowsOs() override;

  std::string_view backend_name() const override { return "windows"; }
  int last_errno() const override;
  void set_last_errno(int error) override;

  int socket(int domain, int type, int protocol) override;
  int socketpair(int domain, int type, int protocol, int sv[2]) override;
  int pipe2(int fds[2], int flags) override;
  int bind(int fd, const SockAddr& addr) override;
  int listen(int fd, int backlog) override;
  int accept4(int fd, SockAddr* peer, int flags) override;
  int connect(int fd, const SockAddr& addr) override;
  long send(int fd, const void* buf, std::size_t len, int flags) override;
  long recv(int fd, void* buf, std::size_t len, int flags) override;
  long read(int fd, void* buf, std::size_t len) override;
  long write(int fd, const void* buf, std::size_t len) override;
  int shutdown(int fd, int how) override;
  int close(int fd) override;
  int dup(int fd) override;
  int fcntl(int fd, int cmd, int arg) override;
  int getsockopt(int fd, int level, int name, int* value) override;
  int setsockopt(int fd, int level, int name, int value) override;
  int set_linger(int fd, bool on, int linger_seconds) override;
  int getsockname(int fd, SockAddr* addr) override;
  int getpeername(int fd, SockAddr* addr) override;
  int name_fd(int fd, std::string_view name) override;

  int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) override;
  int poll(pollfd* fds, std::size_t nfds, int timeout_ms) override;
  int epoll_create1(int flags) override;
  int epoll_ctl(int epfd, int op, int fd, epoll_event* event) override;
  int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) override;
  int eventfd(unsigned int initval, int flags) override;

  std::unique_ptr<Thread> thread_create(std::string name, std::function<void()> body) override;
  std::unique_ptr<Mutex> mutex_create(std::string_view name = {}) override;
  std::unique_ptr<CondVar> condvar_create(std::string_view name = {}) override;
  void sleep_for(std::int64_t duration_ns) override;
  std::int64_t monotonic_ns() override;

  win32::HANDLE CreateIoCompletionPort(win32::HANDLE FileHandle, win32::HANDLE ExistingCompletionPort,
                                       win32::ULONG_PTR CompletionKey,
                                       win32::DWORD NumberOfConcurrentThreads) override;
  win32::BOOL GetQueuedCompletionStatus(win32::HANDLE CompletionPort,
                                        win32::DWORD* lpNumberOfBytesTransferred,
                                        win32::ULONG_PTR* lpCompletionKey, win32::OVERLAPPED** lpOverlapped,
                                        win32::DWORD dwMilliseconds) override;
  win32::BOOL GetQueuedCompletionStatusEx(win32::HANDLE CompletionPort,
                                          win32::OVERLAPPED_ENTRY* lpCompletionPortEntries,
                                          win32::ULONG ulCount, win32::ULONG* ulNumEntriesRemoved,
                                          win32::DWORD dwMilliseconds, win32::BOOL fAlertable) override;
  win32::BOOL PostQueuedCompletionStatus(win32::HANDLE CompletionPort,
                                         win32::DWORD dwNumberOfBytesTransferred,
                                         win32::ULONG_PTR dwCompletionKey,
                                         win32::OVERLAPPED* lpOverlapped) override;
  win32::BOOL CloseHandle(win32::HANDLE hObject) override;
  win32::SOCKET WSASocketW(int af, int type, int protocol, win32::DWORD dwFlags) override;
  int closesocket(win32::SOCKET s) override;
  int WSARecv(win32::SOCKET s, win32::WSABUF* lpBuffers, win32::DWORD dwBufferCount,
              win32::DWORD* lpNumberOfBytesRecvd, win32::DWORD* lpFlags,
              win32::OVERLAPPED* lpOverlapped) override;
  int WSASend(win32::SOCKET s, win32::WSABUF* lpBuffers, win32::DWORD dwBufferCount,
              win32::DWORD* lpNumberOfBytesSent, win32::DWORD dwFlags,
              win32::OVERLAPPED* lpOverlapped) override;
  win32::BOOL AcceptEx(win32::SOCKET sListenSocket, win32::SOCKET sAcceptSocket, void* lpOutputBuffer,
                       win32::DWORD dwReceiveDataLength, win32::DWORD dwLocalAddressLength,
                       win32::DWORD dwRemoteAddressLength, win32::DWORD* lpdwBytesReceived,
                       win32::OVERLAPPED* lpOverlapped) override;
  win32::BOOL ConnectEx(win32::SOCKET s, const SockAddr& name, const void* lpSendBuffer,
                        win32::DWORD dwSendDataLength, win32::DWORD* lpdwBytesSent,
                        win32::OVERLAPPED* lpOverlapped) override;
  win32::BOOL WSAGetOverlappedResult(win32::SOCKET s, win32::OVERLAPPED* lpOverlapped,
                                     win32::DWORD* lpcbTransfer, win32::BOOL fWait,
                                     win32::DWORD* lpdwFlags) override;
  win32::BOOL CancelIoEx(win32::HANDLE hFile, win32::OVERLAPPED* lpOverlapped) override;
  win32::BOOL SetFileCompletionNotificationModes(win32::HANDLE FileHandle, win32::UCHAR Flags) override;
  win32::DWORD GetLastError() override;
  void SetLastError(win32::DWORD dwErrCode) override;
  int WSAGetLastError() override;

 private:
  struct State;  // the remembered non-blocking modes and the extension function pointers
  std::unique_ptr<State> state_;
};

// The sockets one Winsock fd_set holds here (WindowsOs compiles with FD_SETSIZE set to this).
inline constexpr int windows_fd_set_sockets_max = 1024;

}  // namespace iosim
