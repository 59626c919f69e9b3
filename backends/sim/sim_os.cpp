// backends/sim/sim_os.cpp — every Os call as a scheduling point into the virtual kernel, plus threads, mutexes
// and condition variables as runtime tasks and wait lists. Kernel results are negative errno; Os returns -1.
#include "backends/sim/sim_os.hpp"

#include <deque>
#include <exception>
#include <fmt/format.h>

#include "iosim/assert.hpp"

namespace iosim {
namespace {

enum Call : std::uint32_t {
  c_socket, c_socketpair, c_pipe2, c_bind, c_listen, c_accept4, c_connect, c_send, c_recv, c_read, c_write,
  c_shutdown, c_close, c_dup, c_fcntl, c_getsockopt, c_setsockopt, c_set_linger, c_getsockname, c_getpeername,
  c_select, c_poll, c_thread_create, c_thread_join, c_mutex_lock, c_mutex_unlock, c_cond_wait, c_cond_signal,
  c_cond_broadcast, c_sleep, c_clock, c_epoll_create1, c_epoll_ctl, c_epoll_wait, c_eventfd, c_count
};
constexpr const char* call_names[c_count] = {
    "socket", "socketpair", "pipe2", "bind", "listen", "accept4", "connect", "send", "recv", "read", "write",
    "shutdown", "close", "dup", "fcntl", "getsockopt", "setsockopt", "setsockopt(SO_LINGER)", "getsockname",
    "getpeername", "select", "poll", "thread_create", "thread_join", "mutex_lock", "mutex_unlock",
    "cond_wait", "cond_signal", "cond_broadcast", "sleep", "clock_gettime", "epoll_create1", "epoll_ctl",
    "epoll_wait", "eventfd"};
static_assert(c_count <= 40);

// True while the current task unwinds an exception (each task has its own count: the scheduler switches the
// C++ exception state with the stack). A torn-down task must then neither block nor throw again.
bool unwinding() { return std::uncaught_exceptions() > 0; }

// The calls that run in destructors (closing, joining, waking, locking and unlocking). In a task being torn
// down they return normally instead of throwing TaskKilled (a throw out of a destructor would end the
// process), within the scheduler's teardown grace; the task unwinds at its next other call.
constexpr bool runs_in_destructors(std::uint32_t call) {
  return call == c_close || call == c_shutdown || call == c_thread_join || call == c_mutex_lock ||
         call == c_mutex_unlock || call == c_cond_signal || call == c_cond_broadcast;
}

// True when `call`, made by a task being torn down, must unwind it; spends the teardown grace when it does not.
bool unwinds_at(sim::Scheduler& scheduler, std::uint32_t call) {
  if (!scheduler.killed() || unwinding()) return false;
  if (!runs_in_destructors(call) || !scheduler.teardown_grace_left()) return true;
  scheduler.spend_teardown_grace();
  return false;
}


class SimThread final : public Thread {
 public:
  SimThread(SimOs& os, sim::task_id task) : os_(os), task_(task) {}
  // std::thread would call std::terminate; the simulator fails the run and names the thread.
  ~SimThread() override {
    sim::Scheduler& scheduler = os_.scheduler();
    if (joined_ || unwinding() || scheduler.killed() || scheduler.current() == sim::no_task) return;
    scheduler.fail_run(fmt::format("iosim::Thread {} destroyed without join() by {}", scheduler.task_name(task_),
                                   scheduler.task_name(scheduler.current())));
  }
  void join() override {
    os_.enter(c_thread_join, task_, 0);
    os_.scheduler().join(task_);
    joined_ = true;
    os_.leave(c_thread_join, 0);
  }

 private:
  SimOs& os_;
  sim::task_id task_;
  bool joined_ = false;
};

// The names of the tasks among `tasks` that have not finished: "holder" or "worker, worker".
std::string live_task_names(sim::Scheduler& scheduler, const std::deque<sim::task_id>& tasks) {
  std::string names;
  for (const sim::task_id task : tasks) {
    if (task == sim::no_task || scheduler.is_done(task)) continue;
    names += fmt::format("{}{}", names.empty() ? "" : ", ", scheduler.task_name(task));
  }
  return names;
}

// A wait list shared by a synchronisation object and the tasks parked on it: a task resumed after the
// object was destroyed (the run has failed, and the task is being unwound) still finds the list alive.
struct SyncState {
  sim::task_id owner = sim::no_task;  // mutexes only
  std::deque<sim::task_id> waiters;
};

// A non-recursive mutex with a FIFO of waiters. unlock() wakes the first waiter, which competes again for
// the lock when it runs (no hand-off), as a futex-based pthread mutex does.
class SimMutex final : public Mutex {
 public:
  SimMutex(SimOs& os, std::uint32_t channel) : os_(os), channel_(channel) {}
  // pthread_mutex_destroy on a mutex in use is EBUSY (and undefined behaviour): the run fails, naming it.
  // A task killed inside its own critical section may drop the mutex it holds: that is the teardown's doing.
  ~SimMutex() override {
    sim::Scheduler& scheduler = os_.scheduler();
    const bool dropped_by_teardown = scheduler.killed() && state_->owner == scheduler.current();
    const std::string holder = dropped_by_teardown ? "" : live_task_names(scheduler, {state_->owner});
    const std::string waiters = live_task_names(scheduler, state_->waiters);
    if (holder.empty() && waiters.empty()) return;
    release_guards();  // the holder's LockGuard must not unlock this object once it is gone
    scheduler.fail_run(fmt::format("iosim::Mutex {} destroyed while {}{}{}", os_.trace().name(channel_),
                                   holder.empty() ? "" : "held by " + holder,
                                   !holder.empty() && !waiters.empty() ? " and " : "",
                                   waiters.empty() ? "" : "waited for by " + waiters));
  }
  void lock() override {
    sim::Scheduler& scheduler = os_.scheduler();
    if (scheduler.killed()) {  // teardown runs one task alone: take the mutex if free, never wait
      if (unwinds_at(scheduler, c_mutex_lock)) throw sim::TaskKilled{};
      if (state_->owner == sim::no_task) state_->owner = scheduler.current();
      return;
    }
    os_.enter(c_mutex_lock, channel_, 0);
    const std::shared_ptr<SyncState> state = state_;
    while (state->owner != sim::no_task) {
      if (state->owner == scheduler.current()) {  // a pthread default mutex would hang here for good
        scheduler.fail_run(fmt::format("iosim::Mutex {} locked twice by {} (a non-recursive mutex: self-deadlock)",
                                       os_.trace().name(channel_), scheduler.task_name(scheduler.current())));
        return;  // fail_run returns only when teardown unwinds this task
      }
      state->waiters.push_back(scheduler.current());
      scheduler.block(channel_);
      if (scheduler.killed()) {  // torn down while waiting: return without it (lock runs in destructors)
        std::erase(state->waiters, scheduler.current());
        return;
      }
    }
    state->owner = scheduler.current();
    os_.leave(c_mutex_lock, 0);
  }
  // Never throws: unlock runs in destructors (~LockGuard), and TaskKilled leaving a destructor would
  // terminate the process. A task killed while suspended here returns normally; its next call unwinds it.
  void unlock() override {
    if (os_.scheduler().killed()) {
      release();
      return;
    }
    os_.enter(c_mutex_unlock, channel_, 0);
    release();
    os_.leave_without_kill(c_mutex_unlock, 0);
  }
  std::uint32_t channel() const { return channel_; }
  // Gives the mutex up and wakes the first waiter, with no scheduling point: CondVar::wait relies on that to
  // release the mutex and go to sleep atomically (else a notify could slip in between and be lost).
  void release() {
    sim::Scheduler& scheduler = os_.scheduler();
    if (state_->owner != scheduler.current()) {
      if (scheduler.killed()) return;  // a torn-down task's guard may not hold it any more
      scheduler.fail_run(fmt::format("iosim::Mutex {} unlocked by {}, which does not hold it (pthreads: EPERM "
                                     "or undefined behaviour)",
                                     os_.trace().name(channel_), scheduler.task_name(scheduler.current())));
      return;
    }
    state_->owner = sim::no_task;
    if (!state_->waiters.empty()) {
      const sim::task_id next = state_->waiters.front();
      state_->waiters.pop_front();
      scheduler.wake(next, channel_);
    }
  }

 private:
  SimOs& os_;
  std::uint32_t channel_;
  std::shared_ptr<SyncState> state_ = std::make_shared<SyncState>();
};

class SimCondVar final : public CondVar {
 public:
  SimCondVar(SimOs& os, std::uint32_t channel) : os_(os), channel_(channel) {}
  // pthread_cond_destroy with waiters is EBUSY (and undefined behaviour): the run fails, naming it.
  ~SimCondVar() override {
    const std::string waiters = live_task_names(os_.scheduler(), state_->waiters);
    if (waiters.empty()) return;
    os_.scheduler().fail_run(fmt::format("iosim::CondVar {} destroyed while {} waited on it",
                                         os_.trace().name(channel_), waiters));
  }
  void wait(Mutex& mutex) override {
    if (unwinding() && os_.scheduler().killed()) return;  // a torn-down task's destructor: nobody will notify
    auto* sim_mutex = dynamic_cast<SimMutex*>(&mutex);
    IOSIM_ASSERT(sim_mutex != nullptr, "CondVar::wait with a Mutex from another Os");
    os_.enter(c_cond_wait, channel_, sim_mutex->channel());  // arg1: the mutex it releases (for iosim graph)
    sim::Scheduler& scheduler = os_.scheduler();
    const std::shared_ptr<SyncState> state = state_;
    state->waiters.push_back(scheduler.current());
    sim_mutex->release();  // atomically with the block below: no scheduling point in between
    scheduler.block(channel_);
    std::erase(state->waiters, scheduler.current());
    // Killed: unwind without touching this object or `mutex`, either of which may be gone by now.
    if (scheduler.killed()) throw sim::TaskKilled{};
    mutex.lock();
    os_.leave(c_cond_wait, 0);
  }
  void notify_one() override {
    os_.enter(c_cond_signal, channel_, 0);
    if (!state_->waiters.empty()) {
      const sim::task_id next = state_->waiters.front();
      state_->waiters.pop_front();
      os_.scheduler().wake(next, channel_);
    }
    os_.leave(c_cond_signal, 0);
  }
  void notify_all() override {
    os_.enter(c_cond_broadcast, channel_, 0);
    for (const sim::task_id waiter : state_->waiters) os_.scheduler().wake(waiter, channel_);
    state_->waiters.clear();
    os_.leave(c_cond_broadcast, 0);
  }

 private:
  SimOs& os_;
  std::uint32_t channel_;
  std::shared_ptr<SyncState> state_ = std::make_shared<SyncState>();
};

// "mutex#3" or, named, "mutex#3(queue)": the prefix stays, so the analyses still know what it is.
std::string sync_object_name(std::string_view kind, std::uint32_t number, std::string_view name) {
  return name.empty() ? fmt::format("{}#{}", kind, number) : fmt::format("{}#{}({})", kind, number, name);
}

}  // namespace

SimOs::SimOs(SimConfig config) : config_(std::move(config)), prng_(config_.seed) {
  if (config_.strategy == "replay") {
    strategy_ = std::make_unique<sim::ReplayStrategy>(config_.replay_choices);
  } else {
    strategy_ = sim::make_strategy(config_.strategy, prng_, config_.strategy_options);
  }
  IOSIM_ASSERT(strategy_ != nullptr, "unknown strategy (the caller validates names)");
  trace_.set_capture(config_.capture_trace);
  for (std::uint32_t call = 0; call < c_count; ++call) names_[call] = trace_.intern(call_names[call]);
  scheduler_ = std::make_unique<sim::Scheduler>(trace_, *strategy_, config_.limits);
  kernel_ = std::make_unique<kernel::kernel>(*scheduler_, config_.kernel);
}

SimOs::~SimOs() {
  kernel_.reset();  // closes every file while the scheduler still exists
  scheduler_.reset();
}

SimOutcome SimOs::run(std::function<void()> main) {
  IOSIM_ASSERT(!ran_, "SimOs::run called twice");
  ran_ = true;
  scheduler_->spawn("main", std::move(main));
  SimOutcome outcome;
  outcome.run = scheduler_->run();
  outcome.trace_hash = trace_.hash();
  outcome.event_count = trace_.event_count();
  outcome.choices = scheduler_->choices();
  return outcome;
}

int SimOs::last_errno() const { return scheduler_->task_errno(scheduler_->current()); }

void SimOs::set_last_errno(int error) { scheduler_->task_errno(scheduler_->current()) = error; }

void SimOs::enter(std::uint32_t call, std::int64_t arg0, std::int64_t arg1) {
  if (unwinds_at(*scheduler_, call)) throw sim::TaskKilled{};
  trace_.record({scheduler_->now_ns(), scheduler_->current(), sim::EventKind::sys_enter, names_[call], 0, arg0, arg1});
  scheduler_->yield();
  scheduler_->consume(config_.syscall_cost_ns);
}

long SimOs::leave(std::uint32_t call, long result) {
  const long returned = leave_without_kill(call, result);
  if (scheduler_->killed() && !unwinding() && !runs_in_destructors(call)) throw sim::TaskKilled{};
  return returned;
}

long SimOs::leave_without_kill(std::uint32_t call, long result) {
  const int error = result < 0 ? static_cast<int>(-result) : 0;
  trace_.record({scheduler_->now_ns(), scheduler_->current(), sim::EventKind::sys_exit, names_[call], 0,
                 result < 0 ? -1 : result, error});
  if (result >= 0) return result;
  scheduler_->task_errno(scheduler_->current()) = error;
  return -1;
}

void SimOs::trace_fault(std::string_view fault) {
  trace_.record({scheduler_->now_ns(), scheduler_->current(), sim::EventKind::fault, trace_.intern(fault), 0, 0, 0});
}

#define IOSIM_SIM_CALL(call, arg0, arg1, expression) \
  do {                                               \
    enter(call, arg0, arg1);                         \
    return leave(call, (expression));                \
  } while (false)

int SimOs::socket(int domain, int type, int protocol) {
  IOSIM_SIM_CALL(c_socket, domain, type, kernel_->sys_socket(domain, type, protocol));
}
int SimOs::socketpair(int domain, int type, int protocol, int sv[2]) {
  IOSIM_SIM_CALL(c_socketpair, domain, type, kernel_->sys_socketpair(domain, type, protocol, sv));
}
int SimOs::pipe2(int fds[2], int flags) { IOSIM_SIM_CALL(c_pipe2, flags, 0, kernel_->sys_pipe2(fds, flags)); }
int SimOs::bind(int fd, const SockAddr& addr) { IOSIM_SIM_CALL(c_bind, fd, addr.port, kernel_->sys_bind(fd, addr)); }
int SimOs::listen(int fd, int backlog) { IOSIM_SIM_CALL(c_listen, fd, backlog, kernel_->sys_listen(fd, backlog)); }
int SimOs::accept4(int fd, SockAddr* peer, int flags) {
  IOSIM_SIM_CALL(c_accept4, fd, flags, kernel_->sys_accept4(fd, peer, flags));
}
int SimOs::connect(int fd, const SockAddr& addr) {
  IOSIM_SIM_CALL(c_connect, fd, addr.port, kernel_->sys_connect(fd, addr));
}
long SimOs::send(int fd, const void* buf, std::size_t len, int flags) {
  IOSIM_SIM_CALL(c_send, fd, static_cast<std::int64_t>(len), kernel_->sys_sendto(fd, buf, len, flags));
}
long SimOs::recv(int fd, void* buf, std::size_t len, int flags) {
  IOSIM_SIM_CALL(c_recv, fd, static_cast<std::int64_t>(len), kernel_->sys_recvfrom(fd, buf, len, flags));
}
long SimOs::read(int fd, void* buf, std::size_t len) {
  IOSIM_SIM_CALL(c_read, fd, static_cast<std::int64_t>(len), kernel_->sys_read(fd, buf, len));
}
long SimOs::write(int fd, const void* buf, std::size_t len) {
  IOSIM_SIM_CALL(c_write, fd, static_cast<std::int64_t>(len), kernel_->sys_write(fd, buf, len));
}
int SimOs::shutdown(int fd, int how) {
  IOSIM_SIM_CALL(c_shutdown, fd, how,
                 kernel_->afd_accept_context_pending(fd) ? -E::NOTCONN : kernel_->sys_shutdown(fd, how));
}
int SimOs::close(int fd) { IOSIM_SIM_CALL(c_close, fd, 0, kernel_->sys_close(fd)); }
int SimOs::dup(int fd) { IOSIM_SIM_CALL(c_dup, fd, 0, kernel_->sys_dup(fd)); }
int SimOs::fcntl(int fd, int cmd, int arg) { IOSIM_SIM_CALL(c_fcntl, fd, cmd, kernel_->sys_fcntl(fd, cmd, arg)); }
int SimOs::getsockopt(int fd, int level, int name, int* value) {
  IOSIM_SIM_CALL(c_getsockopt, fd, name, kernel_->sys_getsockopt(fd, level, name, value));
}
int SimOs::setsockopt(int fd, int level, int name, int value) {
  IOSIM_SIM_CALL(c_setsockopt, fd, name, setsockopt_win32(fd, level, name, value));
}
int SimOs::set_linger(int fd, bool on, int linger_seconds) {
  IOSIM_SIM_CALL(c_set_linger, fd, linger_seconds, kernel_->sys_set_linger(fd, on, linger_seconds));
}
// An AcceptEx socket has no addresses until SO_UPDATE_ACCEPT_CONTEXT (Windows: WSAENOTCONN).
int SimOs::getsockname(int fd, SockAddr* addr) {
  IOSIM_SIM_CALL(c_getsockname, fd, 0,
                 kernel_->afd_accept_context_pending(fd) ? -E::NOTCONN : kernel_->sys_getsockname(fd, addr));
}
int SimOs::getpeername(int fd, SockAddr* addr) {
  IOSIM_SIM_CALL(c_getpeername, fd, 0,
                 kernel_->afd_accept_context_pending(fd) ? -E::NOTCONN : kernel_->sys_getpeername(fd, addr));
}
// No enter(): naming changes no kernel state, so it is no scheduling point and a program that names its
// fds keeps every schedule it had.
int SimOs::name_fd(int fd, std::string_view name) {
  const int result = kernel_->sys_name_fd(fd, name);
  if (result == 0) return 0;
  set_last_errno(-result);
  return -1;
}
int SimOs::select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) {
  IOSIM_SIM_CALL(c_select, nfds, timeout ? timeout->tv_sec * 1'000'000 + timeout->tv_usec : -1,
                 kernel_->sys_select(nfds, readfds, writefds, exceptfds, timeout));
}
int SimOs::poll(pollfd* fds, std::size_t nfds, int timeout_ms) {
  IOSIM_SIM_CALL(c_poll, static_cast<std::int64_t>(nfds), timeout_ms, kernel_->sys_poll(fds, nfds, timeout_ms));
}

int SimOs::epoll_create1(int flags) { IOSIM_SIM_CALL(c_epoll_create1, flags, 0, kernel_->sys_epoll_create1(flags)); }
int SimOs::epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  IOSIM_SIM_CALL(c_epoll_ctl, epfd, (std::int64_t{op} << 32) | static_cast<std::uint32_t>(fd),
                 kernel_->sys_epoll_ctl(epfd, op, fd, event));
}
int SimOs::epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  IOSIM_SIM_CALL(c_epoll_wait, epfd, timeout_ms, kernel_->sys_epoll_wait(epfd, events, maxevents, timeout_ms));
}
int SimOs::eventfd(unsigned int initval, int flags) {
  IOSIM_SIM_CALL(c_eventfd, initval, flags, kernel_->sys_eventfd2(initval, flags));
}

#undef IOSIM_SIM_CALL

int SimOs::setsockopt_win32(int fd, int level, int name, int value) {
  // The Winsock-only options: SO_UPDATE_ACCEPT_CONTEXT (value: the listening socket) gives an AcceptEx socket
  // its addresses; SO_UPDATE_CONNECT_CONTEXT is accepted (a ConnectEx socket already has them in iosim).
  if (level == SOL::SOCKET && name == win32::SO_UPDATE_ACCEPT_CONTEXT_) {
    return kernel_->afd_update_accept_context(fd, value) ? -E::NOTSOCK : 0;
  }
  if (level == SOL::SOCKET && name == win32::SO_UPDATE_CONNECT_CONTEXT_) return 0;
  return kernel_->sys_setsockopt(fd, level, name, value);
}

std::unique_ptr<Thread> SimOs::thread_create(std::string name, std::function<void()> body) {
  enter(c_thread_create, 0, 0);
  const sim::task_id task = scheduler_->spawn(std::move(name), std::move(body));
  leave(c_thread_create, task);
  return std::make_unique<SimThread>(*this, task);
}

std::unique_ptr<Mutex> SimOs::mutex_create(std::string_view name) {
  return std::make_unique<SimMutex>(*this, trace_.intern(sync_object_name("mutex", ++mutex_count_, name)));
}

std::unique_ptr<CondVar> SimOs::condvar_create(std::string_view name) {
  return std::make_unique<SimCondVar>(*this, trace_.intern(sync_object_name("condvar", ++condvar_count_, name)));
}

void SimOs::sleep_for(std::int64_t duration_ns) {
  enter(c_sleep, duration_ns, 0);
  if (duration_ns > 0) {
    kernel::wait_queue_head nobody;  // a sleep is woken only by its timer
    nobody.name = names_[c_sleep];
    const std::int64_t deadline = scheduler_->now_ns() + duration_ns;
    while (scheduler_->now_ns() < deadline && !scheduler_->killed()) kernel_->schedule_timeout(nobody.name, deadline);
  }
  leave(c_sleep, 0);
}

std::int64_t SimOs::monotonic_ns() {
  enter(c_clock, 0, 0);
  return leave(c_clock, scheduler_->now_ns());
}

}  // namespace iosim
