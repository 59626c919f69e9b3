// backends/sim/sim_os.hpp — SimOs: iosim::Os on the virtual kernel and the deterministic runtime.
// One SimOs is one simulated machine for one run: construct, run(main) once, read the outcome and trace.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "iosim/os.hpp"
#include "kernel_model/kernel.hpp"
#include "sim/prng.hpp"
#include "sim/scheduler.hpp"
#include "sim/strategy.hpp"
#include "sim/trace.hpp"

namespace iosim {

struct SimConfig {
  std::uint64_t seed = 1;
  std::string strategy = "random";   // random | rr | pct (see sim::strategy_names), or replay
  sim::StrategyOptions strategy_options;  // pct depth and expected steps
  std::vector<std::uint32_t> replay_choices;  // used when strategy == "replay"
  std::int64_t syscall_cost_ns = 200;  // virtual time each Os call consumes, so busy loops advance the clock
  bool capture_trace = false;          // keep every event (for --trace-out); the hash is computed regardless
  kernel::kernel_config kernel;
  sim::SchedulerLimits limits;
};

struct SimOutcome {
  sim::RunResult run;
  std::uint64_t trace_hash = 0;
  std::uint64_t event_count = 0;
  std::vector<std::uint32_t> choices;
};

class SimOs final : public Os {
 public:
  explicit SimOs(SimConfig config);
  ~SimOs() override;

  // Runs `main` as the first task ("main") and everything it starts, to completion or until the run stops
  // (deadlock, step or time limit, an exception). Call once.
  SimOutcome run(std::function<void()> main);

  const SimConfig& config() const { return config_; }
  sim::Trace& trace() { return trace_; }
  sim::Scheduler& scheduler() { return *scheduler_; }
  kernel::kernel& kernel() { return *kernel_; }

  std::string_view backend_name() const override { return "sim"; }
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

  // Win32-shaped calls on the virtual kernel's completion ports and AFD (kernel_model/iocp.cpp, afd.cpp).
  // A HANDLE or SOCKET is the fd of the object in the one handle table; a port's is never 0 (NULL).
  win32::HANDLE CreateIoCompletionPort(win32::HANDLE file, win32::HANDLE port, win32::ULONG_PTR key,
                                       win32::DWORD threads) override;
  win32::BOOL GetQueuedCompletionStatus(win32::HANDLE port, win32::DWORD* bytes, win32::ULONG_PTR* key,
                                        win32::OVERLAPPED** overlapped, win32::DWORD timeout_ms) override;
  win32::BOOL GetQueuedCompletionStatusEx(win32::HANDLE port, win32::OVERLAPPED_ENTRY* entries,
                                          win32::ULONG count, win32::ULONG* removed, win32::DWORD timeout_ms,
                                          win32::BOOL alertable) override;
  win32::BOOL PostQueuedCompletionStatus(win32::HANDLE port, win32::DWORD bytes, win32::ULONG_PTR key,
                                         win32::OVERLAPPED* overlapped) override;
  win32::BOOL CloseHandle(win32::HANDLE object) override;
  win32::SOCKET WSASocketW(int af, int type, int protocol, win32::DWORD flags) override;
  int closesocket(win32::SOCKET s) override;
  int WSARecv(win32::SOCKET s, win32::WSABUF* buffers, win32::DWORD count, win32::DWORD* received,
              win32::DWORD* flags, win32::OVERLAPPED* overlapped) override;
  int WSASend(win32::SOCKET s, win32::WSABUF* buffers, win32::DWORD count, win32::DWORD* sent,
              win32::DWORD flags, win32::OVERLAPPED* overlapped) override;
  win32::BOOL AcceptEx(win32::SOCKET listener, win32::SOCKET accepted, void* buffer,
                       win32::DWORD receive_bytes, win32::DWORD local_bytes, win32::DWORD remote_bytes,
                       win32::DWORD* received, win32::OVERLAPPED* overlapped) override;
  win32::BOOL ConnectEx(win32::SOCKET s, const SockAddr& name, const void* buffer, win32::DWORD length,
                        win32::DWORD* sent, win32::OVERLAPPED* overlapped) override;
  win32::BOOL WSAGetOverlappedResult(win32::SOCKET s, win32::OVERLAPPED* overlapped,
                                     win32::DWORD* transferred, win32::BOOL wait,
                                     win32::DWORD* flags) override;
  win32::BOOL CancelIoEx(win32::HANDLE file, win32::OVERLAPPED* overlapped) override;
  win32::BOOL SetFileCompletionNotificationModes(win32::HANDLE file, win32::UCHAR flags) override;
  win32::DWORD GetLastError() override;
  void SetLastError(win32::DWORD error) override;
  int WSAGetLastError() override { return static_cast<int>(GetLastError()); }

  // The scheduling point every call starts with: trace the entry, let the strategy pick who runs, charge the
  // call's virtual cost. Throws sim::TaskKilled in a task being torn down.
  void enter(std::uint32_t call, std::int64_t arg0, std::int64_t arg1);
  // Traces the exit; a negative kernel result becomes -1 with the task's errno set. Throws sim::TaskKilled
  // when the task was killed while inside the call.
  long leave(std::uint32_t call, long result);
  // The same, never throwing: for calls that run in destructors (Mutex::unlock); the kill then waits for the
  // task's next call.
  long leave_without_kill(std::uint32_t call, long result);
  // Traces a fault a decorator (FaultOs) injected into the current task's call.
  void trace_fault(std::string_view fault);

 private:
  SimConfig config_;
  sim::Trace trace_;
  sim::Prng prng_;
  std::unique_ptr<sim::Strategy> strategy_;
  std::unique_ptr<sim::Scheduler> scheduler_;
  std::unique_ptr<kernel::kernel> kernel_;
  bool ran_ = false;
  std::uint32_t names_[40]{};
  std::uint32_t mutex_count_ = 0, condvar_count_ = 0;
  int setsockopt_win32(int fd, int level, int name, int value);
  // Win32 calls: entry and exit traced like the others; the exit's arg1 is the Win32 error it set.
  void win32_enter(int call, std::int64_t arg0, std::int64_t arg1);
  // Records the exit and, when the call failed, sets the task's last error (a success leaves it alone, as
  // on Windows). Returns `ok`.
  bool win32_leave(int call, bool ok, std::int64_t result, win32::DWORD error);
  std::uint32_t win32_names_[20]{};
  std::vector<win32::DWORD> win32_errors_;  // GetLastError per task, indexed by task id
};

}  // namespace iosim
