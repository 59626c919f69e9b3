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
  int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) override;
  int poll(pollfd* fds, std::size_t nfds, int timeout_ms) override;
  int epoll_create1(int flags) override;
  int epoll_ctl(int epfd, int op, int fd, epoll_event* event) override;
  int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) override;
  int eventfd(unsigned int initval, int flags) override;

  std::unique_ptr<Thread> thread_create(std::string name, std::function<void()> body) override;
  std::unique_ptr<Mutex> mutex_create() override;
  std::unique_ptr<CondVar> condvar_create() override;
  void sleep_for(std::int64_t duration_ns) override;
  std::int64_t monotonic_ns() override;

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
};

}  // namespace iosim
