// tests/scenario_epoll_test.cpp — the epoll servers, the Reactor, selectors and the http workload: each
// bundled scenario passes seeds 1..200 (sim) and Linux with equal observations; plus what each teaches.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "backends/linux/linux_os.hpp"
#include "backends/sim/sim_os.hpp"
#include "scenarios/checks.hpp"
#include "scenarios/http_client.hpp"
#include "scenarios/http_protocol.hpp"
#include "scenarios/reactor/reactor.hpp"
#include "scenarios/registry.hpp"
#include "scenarios/selectors/selectors.hpp"
#include "tools/driver.hpp"

namespace iosim {
namespace {

const char* const epoll_scenarios[] = {"echo_epoll_lt",        "echo_epoll_et", "echo_epoll_oneshot_threads",
                                       "echo_epoll_exclusive", "reactor_echo",  "reactor_http",
                                       "echo_selectors"};

std::string source_dir() {
  const char* dir = std::getenv("IOSIM_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

ScenarioSpec load_bundled(std::string_view name) {
  Result<ScenarioSpec> loaded = load_scenario_file(fmt::format("{}/scenarios/{}.json", source_dir(), name));
  EXPECT_TRUE(loaded.is_ok()) << loaded.error();
  return loaded.is_ok() ? *loaded : ScenarioSpec{};
}

// Runs `body` as the main task of a fresh simulated machine and requires the run to complete.
void on_sim(const std::function<void(Os&)>& body, SimConfig config = {}) {
  SimOs os(config);
  const SimOutcome outcome = os.run([&] { body(os); });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed) << outcome.run.failure;
}

// How often each syscall was entered by the task named `task` in a captured trace.
std::map<std::string, int> calls_by_task(SimOs& os, std::string_view task) {
  std::map<std::string, int> calls;
  for (const sim::TraceEvent& event : os.trace().events()) {
    if (event.kind == sim::EventKind::sys_enter && event.task != sim::no_task &&
        os.scheduler().task_name(event.task) == task) {
      ++calls[std::string(os.trace().name(event.subject))];
    }
  }
  return calls;
}

// --- every bundled epoll-era scenario: 200 seeds on the simulator, then Linux, then `iosim diff` ---

class EpollScenario : public ::testing::TestWithParam<const char*> {};

TEST_P(EpollScenario, LoadsWithItsOwnNameAppAndSmallWorkload) {
  const ScenarioSpec spec = load_bundled(GetParam());
  EXPECT_EQ(spec.name, GetParam());
  EXPECT_EQ(spec.app, GetParam());
  EXPECT_FALSE(spec.description.empty());
  EXPECT_LE(workload_connections(spec.workload), 32) << "bundled runs are meant to be small";
}

TEST_P(EpollScenario, PassesOnTheSimulatorForSeeds1To200) {
  const ScenarioSpec spec = load_bundled(GetParam());
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    const RunReport report = run_scenario(spec, RunRequest{"sim", seed, std::nullopt, false});
    ASSERT_TRUE(report.passed) << "reproduce: " << reproduce_command(spec, report) << "\n"
                               << report.observation.summary();
  }
}

// What `iosim diff` checks: both backends pass and their observations (per-client bytes, transcript hashes,
// errors) are equal.
TEST_P(EpollScenario, PassesOnLinuxWithTheSimulatorsObservation) {
  const ScenarioSpec spec = load_bundled(GetParam());
  const RunReport simulated = run_scenario(spec, RunRequest{"sim", std::nullopt, std::nullopt, false});
  const RunReport native = run_scenario(spec, RunRequest{"linux", std::nullopt, std::nullopt, false});
  EXPECT_TRUE(simulated.passed) << simulated.observation.summary();
  EXPECT_TRUE(native.passed) << native.observation.summary();
  const std::vector<std::string> differences =
      compare_observations(simulated.observation, native.observation);
  EXPECT_TRUE(differences.empty()) << fmt::format("{}", fmt::join(differences, "\n"));
  EXPECT_EQ(native.observation.clients.size(), static_cast<std::size_t>(spec.workload.clients));
}

INSTANTIATE_TEST_SUITE_P(Bundled, EpollScenario, ::testing::ValuesIn(epoll_scenarios));

// --- edge-triggered epoll: why every event must be drained until EAGAIN ---

// With one recv per edge, the rest of a message stays in the receive buffer, no new data comes (the client
// waits for its echo), so no new edge: the simulator must report the run as a deadlock, server in epoll_wait.
TEST(EchoEpollEt, OneRecvPerEdgeDeadlocksAndTheSimulatorSaysWhere) {
  ScenarioSpec spec = load_bundled("echo_epoll_et");
  spec.params["drain_until_eagain"] = 0;
  const RunReport report = run_scenario(spec, RunRequest{"sim", 1, std::nullopt, false});
  EXPECT_FALSE(report.passed);
  ASSERT_TRUE(report.sim);
  EXPECT_EQ(report.sim->run.outcome, sim::RunResult::Outcome::deadlock);
  bool server_in_epoll_wait = false;
  for (const sim::BlockedTask& task : report.sim->run.blocked) {
    if (task.name == "server" && task.channel.find("eventpoll") != std::string::npos)
      server_in_epoll_wait = true;
  }
  EXPECT_TRUE(server_in_epoll_wait);
}

// --- EPOLLEXCLUSIVE: fewer threads woken for nothing ---

// Wake-ups that came back from epoll_wait to user space and found nothing to accept: the thread's first
// accept4 after the epoll_wait said EAGAIN, because another thread had taken the connection.
int wasted_accept_wakeups(SimOs& os) {
  std::map<sim::task_id, bool> just_woke;
  int wasted = 0;
  for (const sim::TraceEvent& event : os.trace().events()) {
    if (event.kind != sim::EventKind::sys_exit) continue;
    const std::string_view call = os.trace().name(event.subject);
    if (call == "epoll_wait") {
      just_woke[event.task] = event.arg0 > 0;
    } else if (call == "accept4") {
      if (just_woke[event.task] && event.arg0 < 0 && event.arg1 == E::AGAIN) ++wasted;
      just_woke[event.task] = false;
    }
  }
  return wasted;
}

// The same burst of connections, with and without EPOLLEXCLUSIVE on the shared listener: without it every
// thread's epoll is woken per connection (the thundering herd), and many more threads return from epoll_wait
// only to have accept say EAGAIN.
TEST(EchoEpollExclusive, ExclusiveWakesFewerThreadsForNothing) {
  ScenarioSpec spec = load_bundled("echo_epoll_exclusive");
  spec.params["threads"] = 6;
  spec.workload.clients = 12;
  spec.workload.messages = 1;
  std::map<int, int> wasted;  // by the exclusive param
  for (const int exclusive : {0, 1}) {
    spec.params["exclusive"] = exclusive;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      const RunReport report =
          run_scenario(spec, RunRequest{"sim", seed, std::nullopt, true},
                       [&](SimOs& os) { wasted[exclusive] += wasted_accept_wakeups(os); });
      ASSERT_TRUE(report.passed) << reproduce_command(spec, report);
    }
  }
  EXPECT_GT(wasted[0], wasted[1] * 3 / 2) << "herd " << wasted[0] << ", exclusive " << wasted[1];
}

// --- selectors: DefaultSelector's choice, forced kinds, and one behaviour on every mechanism ---

TEST(Selectors, DefaultSelectorPicksEpollOnBothBackends) {
  on_sim([](Os& os) { EXPECT_EQ(selectors::default_selector(os)->name(), "epoll"); });
  LinuxOs linux_os;
  EXPECT_EQ(selectors::default_selector(linux_os)->name(), "epoll");
}

TEST(Selectors, MakeSelectorGivesTheKindAskedFor) {
  const auto names = [](Os& os) {
    std::string error;
    std::vector<std::string> result;
    for (auto kind : {selectors::SelectorKind::automatic, selectors::SelectorKind::epoll,
                      selectors::SelectorKind::poll, selectors::SelectorKind::select}) {
      result.emplace_back(selectors::make_selector(os, kind, error)->name());
    }
    EXPECT_EQ(error, "");
    return result;
  };
  const std::vector<std::string> expected{"epoll", "epoll", "poll", "select"};
  on_sim([&](Os& os) { EXPECT_EQ(names(os), expected); });
  LinuxOs linux_os;
  EXPECT_EQ(names(linux_os), expected);
}

// An Os without epoll (and optionally without poll): the calls fail with ENOSYS, as on a kernel built without
// them. Everything else goes to the real kernel.
class ReducedOs final : public Os {
 public:
  ReducedOs(Os& inner, bool has_poll) : inner_(inner), has_poll_(has_poll) {}
  std::string_view backend_name() const override { return "reduced"; }
  int last_errno() const override { return inner_.last_errno(); }
  void set_last_errno(int error) override { inner_.set_last_errno(error); }
  int epoll_create1(int) override { return unavailable(); }
  int poll(pollfd* fds, std::size_t nfds, int timeout_ms) override {
    return has_poll_ ? inner_.poll(fds, nfds, timeout_ms) : unavailable();
  }
  // The rest forwards unchanged.
  int socket(int d, int t, int p) override { return inner_.socket(d, t, p); }
  int socketpair(int d, int t, int p, int sv[2]) override { return inner_.socketpair(d, t, p, sv); }
  int pipe2(int fds[2], int flags) override { return inner_.pipe2(fds, flags); }
  int bind(int fd, const SockAddr& a) override { return inner_.bind(fd, a); }
  int listen(int fd, int b) override { return inner_.listen(fd, b); }
  int accept4(int fd, SockAddr* p, int f) override { return inner_.accept4(fd, p, f); }
  int connect(int fd, const SockAddr& a) override { return inner_.connect(fd, a); }
  long send(int fd, const void* b, std::size_t n, int f) override { return inner_.send(fd, b, n, f); }
  long recv(int fd, void* b, std::size_t n, int f) override { return inner_.recv(fd, b, n, f); }
  long read(int fd, void* b, std::size_t n) override { return inner_.read(fd, b, n); }
  long write(int fd, const void* b, std::size_t n) override { return inner_.write(fd, b, n); }
  int shutdown(int fd, int how) override { return inner_.shutdown(fd, how); }
  int close(int fd) override { return inner_.close(fd); }
  int dup(int fd) override { return inner_.dup(fd); }
  int fcntl(int fd, int c, int a) override { return inner_.fcntl(fd, c, a); }
  int getsockopt(int fd, int l, int n, int* v) override { return inner_.getsockopt(fd, l, n, v); }
  int setsockopt(int fd, int l, int n, int v) override { return inner_.setsockopt(fd, l, n, v); }
  int set_linger(int fd, bool on, int s) override { return inner_.set_linger(fd, on, s); }
  int getsockname(int fd, SockAddr* a) override { return inner_.getsockname(fd, a); }
  int getpeername(int fd, SockAddr* a) override { return inner_.getpeername(fd, a); }
  int name_fd(int fd, std::string_view name) override { return inner_.name_fd(fd, name); }
  int select(int n, fd_set* r, fd_set* w, fd_set* e, timeval* t) override {
    return inner_.select(n, r, w, e, t);
  }
  int epoll_ctl(int ep, int op, int fd, epoll_event* e) override { return inner_.epoll_ctl(ep, op, fd, e); }
  int epoll_wait(int ep, epoll_event* e, int m, int t) override { return inner_.epoll_wait(ep, e, m, t); }
  int eventfd(unsigned int v, int f) override { return inner_.eventfd(v, f); }
  std::unique_ptr<Thread> thread_create(std::string n, std::function<void()> b) override {
    return inner_.thread_create(std::move(n), std::move(b));
  }
  std::unique_ptr<Mutex> mutex_create(std::string_view name = {}) override { return inner_.mutex_create(name); }
  std::unique_ptr<CondVar> condvar_create(std::string_view name = {}) override {
    return inner_.condvar_create(name);
  }
  void sleep_for(std::int64_t ns) override { inner_.sleep_for(ns); }
  std::int64_t monotonic_ns() override { return inner_.monotonic_ns(); }

 private:
  int unavailable() {
    inner_.set_last_errno(E::NOSYS);
    return -1;
  }
  Os& inner_;
  bool has_poll_;
};

// Python's order: epoll if an epoll object can be made, else poll if poll(0) works, else select.
TEST(Selectors, DefaultSelectorFallsBackToPollThenSelect) {
  LinuxOs linux_os;
  ReducedOs without_epoll(linux_os, true);
  EXPECT_EQ(selectors::default_selector(without_epoll)->name(), "poll");
  ReducedOs without_epoll_and_poll(linux_os, false);
  EXPECT_EQ(selectors::default_selector(without_epoll_and_poll)->name(), "select");
  std::string error;
  EXPECT_EQ(selectors::make_selector(without_epoll, selectors::SelectorKind::epoll, error), nullptr);
  EXPECT_EQ(error, "epoll_create1: ENOSYS");
}

// The same register/select/modify/unregister sequence gives the same answers on every mechanism and backend.
std::vector<std::string> selector_sequence(Os& os, selectors::SelectorKind kind) {
  using selectors::EVENT_READ;
  using selectors::EVENT_WRITE;
  std::vector<std::string> seen;
  std::string error;
  const auto selector = selectors::make_selector(os, kind, error);
  int pair[2];
  EXPECT_EQ(os.socketpair(AF::UNIX, SOCK::STREAM | SOCK::NONBLOCK, 0, pair), 0);
  std::vector<selectors::ReadyKey> ready;
  const auto look = [&](std::string_view step) {
    EXPECT_TRUE(selector->select(0, ready)) << selector->error();
    std::string text(step);
    for (const selectors::ReadyKey& entry : ready)
      text += fmt::format(" fd{}:{}", entry.key.fd == pair[0] ? 0 : 9, entry.events);
    seen.push_back(text);
  };
  int called = 0;
  EXPECT_TRUE(selector->register_fd(pair[0], EVENT_READ | EVENT_WRITE,
                                    [&](const selectors::SelectorKey&, std::uint32_t) { ++called; }));
  look("idle");  // writable only
  EXPECT_EQ(os.write(pair[1], "x", 1), 1);
  look("after write");                                              // readable and writable
  ready.front().key.data(ready.front().key, ready.front().events);  // key.data is the callback
  EXPECT_TRUE(selector->modify(pair[0], EVENT_READ, {}));
  look("read only");
  EXPECT_TRUE(selector->unregister(pair[0]));
  look("unregistered");
  EXPECT_EQ(selector->get_key(pair[0]), nullptr);
  EXPECT_EQ(called, 1);
  os.close(pair[0]);
  os.close(pair[1]);
  return seen;
}

TEST(Selectors, EveryMechanismReportsTheSameReadiness) {
  const std::vector<std::string> expected{"idle fd0:2", "after write fd0:3", "read only fd0:1",
                                          "unregistered"};
  for (auto kind :
       {selectors::SelectorKind::epoll, selectors::SelectorKind::poll, selectors::SelectorKind::select}) {
    on_sim([&](Os& os) { EXPECT_EQ(selector_sequence(os, kind), expected) << static_cast<int>(kind); });
    LinuxOs linux_os;
    EXPECT_EQ(selector_sequence(linux_os, kind), expected) << static_cast<int>(kind);
  }
}

// Forcing a mechanism in the app really changes the server's syscalls (the simulator's trace shows them), and
// the server still passes on both backends.
TEST(EchoSelectors, ForcedSelectorIsTheOneTheServerWaitsIn) {
  const std::map<int, std::string> wait_call{
      {0, "epoll_wait"}, {1, "epoll_wait"}, {2, "poll"}, {3, "select"}};
  for (const auto& [selector, call] : wait_call) {
    ScenarioSpec spec = load_bundled("echo_selectors");
    spec.params["selector"] = selector;
    std::map<std::string, int> calls;
    const RunReport simulated = run_scenario(spec, RunRequest{"sim", 7, std::nullopt, true},
                                             [&](SimOs& os) { calls = calls_by_task(os, "server"); });
    EXPECT_TRUE(simulated.passed) << "selector " << selector << ": " << simulated.observation.summary();
    EXPECT_GT(calls[call], 0) << "selector " << selector;
    for (const std::string other : {"epoll_wait", "poll", "select"}) {
      if (other != call) {
        EXPECT_EQ(calls[other], 0) << "selector " << selector << " also called " << other;
      }
    }
    EXPECT_TRUE(run_scenario(spec, RunRequest{"linux", std::nullopt, std::nullopt, false}).passed)
        << selector;
  }
}

// --- the Reactor ---

// Timers fire in deadline order (first-in first-out on equal deadlines), not before their deadline, and the
// loop sleeps in epoll_wait until the next one instead of spinning; a cancelled timer never fires.
void check_timers(Os& os, bool virtual_time) {
  reactor::Reactor loop(os);
  ASSERT_TRUE(loop.open()) << loop.error();
  const std::int64_t start_ns = loop.now_ns();
  std::vector<std::string> fired;
  const auto timer = [&](std::string label, std::int64_t delay_ms, bool last = false) {
    return loop.add_timer(delay_ms * 1'000'000, [&, label, delay_ms, last] {
      const std::int64_t late_ns = os.monotonic_ns() - start_ns - delay_ms * 1'000'000;
      EXPECT_GE(late_ns, 0) << label << " fired early";
      // Virtual time: the wait rounds up to whole milliseconds, so at most 1 ms (plus call costs) late.
      if (virtual_time) {
        EXPECT_LT(late_ns, 1'100'000) << label;
      }
      fired.push_back(label);
      if (last) loop.stop();
    });
  };
  timer("30ms", 30, true);
  timer("10ms-a", 10);
  const reactor::TimerId cancelled = timer("15ms-cancelled", 15);
  timer("20ms", 20);
  timer("10ms-b", 10);
  EXPECT_TRUE(loop.cancel_timer(cancelled));
  EXPECT_FALSE(loop.cancel_timer(cancelled));
  EXPECT_TRUE(loop.run()) << loop.error();
  EXPECT_EQ(fired, (std::vector<std::string>{"10ms-a", "10ms-b", "20ms", "30ms"}));
  EXPECT_EQ(loop.timer_count(), 0u);
}

TEST(Reactor, TimersFireInDeadlineOrderOnBothBackends) {
  SimConfig config;
  config.capture_trace = true;
  SimOs os(config);
  const SimOutcome outcome = os.run([&] { check_timers(os, true); });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed);
  // Three distinct deadlines: three sleeping waits (plus at most one that returns at once), not a busy loop.
  EXPECT_LE(calls_by_task(os, "main")["epoll_wait"], 4);
  LinuxOs linux_os;
  check_timers(linux_os, false);
}

// A handler closes another registered fd and a new fd gets the same number within one batch: the event
// epoll collected for the old file must not reach the new registration's handler.
void check_stale_events_are_dropped(Os& os) {
  reactor::Reactor loop(os);
  ASSERT_TRUE(loop.open());
  int first[2], second[2];
  ASSERT_EQ(os.socketpair(AF::UNIX, SOCK::STREAM | SOCK::NONBLOCK, 0, first), 0);
  ASSERT_EQ(os.socketpair(AF::UNIX, SOCK::STREAM | SOCK::NONBLOCK, 0, second), 0);
  ASSERT_EQ(os.write(first[1], "a", 1), 1);
  ASSERT_EQ(os.write(second[1], "b", 1),
            1);  // both first[0] and second[0] are readable: one batch holds both
  int reused_calls = 0;
  int victim = -1;
  int replacement[2] = {-1, -1};
  const auto close_the_other = [&](int self, int other) {
    return [&, self, other](std::uint32_t) {
      loop.remove(self);
      if (victim >= 0) return;  // the other one ran first and removed us: cannot happen, we were removed
      victim = other;
      loop.remove(other);
      os.close(other);
      // The lowest free fd is `other`: the new socket takes its number.
      ASSERT_EQ(os.socketpair(AF::UNIX, SOCK::STREAM | SOCK::NONBLOCK, 0, replacement), 0);
      EXPECT_EQ(replacement[0], other);
      loop.add(replacement[0], reactor::readable, [&](std::uint32_t) { ++reused_calls; });
      loop.add_timer(0, [&] { loop.stop(); });  // end after this batch
    };
  };
  loop.add(first[0], reactor::readable, close_the_other(first[0], second[0]));
  loop.add(second[0], reactor::readable, close_the_other(second[0], first[0]));
  EXPECT_TRUE(loop.run()) << loop.error();
  EXPECT_EQ(reused_calls, 0) << "a stale event reached the handler of a reused fd number";
  for (int fd : {first[0], first[1], second[0], second[1], replacement[0], replacement[1]}) {
    if (fd != victim) os.close(fd);
  }
}

TEST(Reactor, EventsForARemovedFdDoNotReachItsSuccessor) {
  on_sim([](Os& os) { check_stale_events_are_dropped(os); });
  LinuxOs linux_os;
  check_stale_events_are_dropped(linux_os);
}

// Runs `app` on the simulator for `connections` connections; `client` runs in its own thread once the server
// listens, and gets the port. Returns the app's error.
std::string run_app_with_client(std::string_view app_name, const nlohmann::json& params, int connections,
                                const std::function<void(Os&, std::uint16_t)>& client) {
  const AppInfo* app = find_app(app_name);
  EXPECT_NE(app, nullptr);
  std::string error;
  on_sim([&](Os& os) {
    std::unique_ptr<Thread> client_thread;
    AppContext ctx{os,
                   params,
                   connections,
                   [&](std::uint16_t port) {
                     client_thread = os.thread_create("client", [&os, &client, port] { client(os, port); });
                   },
                   {}};
    auto server = os.thread_create("server", [&] { app->main(ctx); });
    server->join();
    if (client_thread) client_thread->join();
    error = ctx.error;
  });
  return error;
}

int connect_blocking(Os& os, std::uint16_t port) {
  const int fd = os.socket(AF::INET, SOCK::STREAM, 0);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(os.connect(fd, SockAddr{loopback_ip, port}), 0);
  return fd;
}

// Reads until end of file; returns what arrived.
std::string read_to_eof(Os& os, int fd) {
  std::string received;
  char buffer[4096];
  for (;;) {
    const long count = os.recv(fd, buffer, sizeof buffer, 0);
    if (count <= 0) {
      EXPECT_EQ(count, 0) << errno_name(os.last_errno());
      return received;
    }
    received.append(buffer, static_cast<std::size_t>(count));
  }
}

// The idle timer closes a connection that stopped talking — and not before idle_timeout_ms of silence.
TEST(ReactorEcho, IdleConnectionIsClosedAfterTheTimeout) {
  std::int64_t silent_from_ns = 0, closed_at_ns = 0;
  const std::string error =
      run_app_with_client("reactor_echo", {{"idle_timeout_ms", 250}}, 1, [&](Os& os, std::uint16_t port) {
        const int fd = connect_blocking(os, port);
        os.sleep_for(100'000'000);  // silent, but less than the timeout: the first timer firing re-arms
        EXPECT_EQ(os.send(fd, "ping", 4, 0), 4);
        char echo[4];
        EXPECT_EQ(os.recv(fd, echo, sizeof echo, MSG::WAITALL), 4);
        silent_from_ns = os.monotonic_ns();
        EXPECT_EQ(read_to_eof(os, fd), "");  // the server closes us: end of file
        closed_at_ns = os.monotonic_ns();
        os.close(fd);
      });
  EXPECT_EQ(error, "");
  EXPECT_GE(closed_at_ns - silent_from_ns,
            249'000'000);  // the stamp is the loop's clock, read before our recv
  EXPECT_LT(closed_at_ns - silent_from_ns, 260'000'000);
}

// --- HTTP: the protocol functions, the server's error answers and limits, the workload and its check ---

TEST(HttpProtocol, ResponsesAreExactAndDeterministic) {
  EXPECT_EQ(http::bytes_path(5, 0xab), "/bytes/5/00000000000000ab");
  EXPECT_EQ(http::request("/x"), "GET /x HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(http::response(200, "hi"), "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi");
  const std::string body = http::bytes_body(1000, 42);
  EXPECT_EQ(body.size(), 1000u);
  EXPECT_EQ(body, http::bytes_body(1000, 42));
  EXPECT_NE(body, http::bytes_body(1000, 43));
  EXPECT_EQ(body.substr(0, 10), http::bytes_body(10, 42));  // a prefix of a longer body
  for (char c : body) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/');
}

TEST(HttpProtocol, ServerAnswersEachKindOfRequest) {
  const auto head = [](std::string_view line) { return fmt::format("{}\r\nHost: x\r\n\r\n", line); };
  EXPECT_EQ(http::respond(head("GET /bytes/7/ff HTTP/1.0"), 100),
            http::response(200, http::bytes_body(7, 0xff)));
  EXPECT_EQ(http::respond(head("GET /bytes/0/1 HTTP/1.1"), 100), http::response(200, ""));
  EXPECT_EQ(http::respond(head("GET /bytes/101/1 HTTP/1.0"), 100), http::response(404, "Not Found\n"));
  EXPECT_EQ(http::respond(head("GET /index.html HTTP/1.0"), 100), http::response(404, "Not Found\n"));
  EXPECT_EQ(http::respond(head("GET /bytes/x/1 HTTP/1.0"), 100), http::response(404, "Not Found\n"));
  EXPECT_EQ(http::respond(head("GET /bytes/-1/1 HTTP/1.0"), 100), http::response(404, "Not Found\n"));
  EXPECT_EQ(http::respond(head("POST /bytes/1/1 HTTP/1.0"), 100), http::response(501, "Not Implemented\n"));
  EXPECT_EQ(http::respond(head("GET /bytes/1/1"), 100), http::response(400, "Bad Request\n"));
  EXPECT_EQ(http::respond(head("GET  HTTP/1.0"), 100), http::response(400, "Bad Request\n"));
  EXPECT_EQ(http::respond(head("GET /a b HTTP/1.0"), 100), http::response(400, "Bad Request\n"));
  EXPECT_EQ(http::respond(head("GET / SPDY/3"), 100), http::response(400, "Bad Request\n"));
}

// A request sent one byte at a time still finds its blank line; an unknown path is answered 404 and closed.
TEST(ReactorHttp, AnswersRequestsSplitIntoSingleBytes) {
  const std::string error =
      run_app_with_client("reactor_http", {{"tcp_nodelay", 1}}, 2, [&](Os& os, std::uint16_t port) {
        for (const std::string path : {"/bytes/3/a", "/missing"}) {
          const int fd = connect_blocking(os, port);
          EXPECT_EQ(os.setsockopt(fd, IPPROTO::TCP, TCP::NODELAY, 1), 0);
          for (char byte : http::request(path)) {
            EXPECT_EQ(os.send(fd, &byte, 1, 0), 1);
            os.sleep_for(10'000);  // each byte its own segment
          }
          const std::string expected = path == std::string("/missing")
                                           ? http::response(404, "Not Found\n")
                                           : http::response(200, http::bytes_body(3, 0xa));
          EXPECT_EQ(read_to_eof(os, fd), expected);
          os.close(fd);
        }
      });
  EXPECT_EQ(error, "");
}

// The two limits on a request head: a head too long is answered 431; a head never finished is dropped when
// request_timeout_ms runs out.
TEST(ReactorHttp, OversizedHeadGets431AndAnUnfinishedHeadTimesOut) {
  std::int64_t sent_ns = 0, closed_ns = 0;
  const std::string error = run_app_with_client(
      "reactor_http", {{"request_bytes_max", 64}, {"request_timeout_ms", 500}}, 2,
      [&](Os& os, std::uint16_t port) {
        const int large = connect_blocking(os, port);
        const std::string head = "GET /bytes/1/1 HTTP/1.0\r\nX-Padding: " + std::string(40, 'p') + "\r\n\r\n";
        EXPECT_EQ(os.send(large, head.data(), head.size(), 0), static_cast<long>(head.size()));
        const std::string answer = read_to_eof(os, large);
        EXPECT_EQ(answer.substr(0, answer.find("\r\n")), "HTTP/1.0 431 Request Header Fields Too Large");
        os.close(large);
        const int slow = connect_blocking(os, port);
        EXPECT_EQ(os.send(slow, "GET /bytes/1/1 HTTP/1.0\r\n", 25, 0), 25);  // and never the blank line
        sent_ns = os.monotonic_ns();
        EXPECT_EQ(read_to_eof(os, slow), "");
        closed_ns = os.monotonic_ns();
        os.close(slow);
      });
  EXPECT_EQ(error, "");
  EXPECT_GE(closed_ns - sent_ns, 499'000'000);
  EXPECT_LT(closed_ns - sent_ns, 510'000'000);
}

TEST(HttpWorkload, RequestsDependOnlyOnSeedAndClient) {
  WorkloadSpec workload;
  workload.kind = WorkloadKind::http;
  workload.requests = 20;
  workload.body_bytes_min = 3;
  workload.body_bytes_max = 9;
  const std::vector<HttpExchange> first = http_exchanges(workload, 1);
  ASSERT_EQ(first.size(), 20u);
  EXPECT_EQ(first[0].path, http_exchanges(workload, 1)[0].path);
  EXPECT_NE(first[0].path, http_exchanges(workload, 2)[0].path);
  std::uint64_t bytes = 0;
  for (const HttpExchange& exchange : first) {
    EXPECT_TRUE(exchange.path.starts_with("/bytes/"));
    const std::string body = exchange.response.substr(exchange.response.find("\r\n\r\n") + 4);
    EXPECT_GE(body.size(), 3u);
    EXPECT_LE(body.size(), 9u);
    // The server's answer to the client's request is the client's expected response.
    EXPECT_EQ(http::respond(http::request(exchange.path), http_body_bytes_max), exchange.response);
    bytes += exchange.response.size();
  }
  EXPECT_EQ(expected_bytes_received(workload, 1), bytes);
  EXPECT_EQ(workload_connections(workload), workload.clients * 20);
}

// An observation that passes, then one defect at a time: each must fail http_responses_ok with a detail
// naming it.
TEST(HttpWorkload, ResponsesOkCatchesEachKindOfViolation) {
  ScenarioSpec spec;
  spec.app = "reactor_http";
  spec.workload.kind = WorkloadKind::http;
  spec.workload.clients = 2;
  spec.workload.requests = 3;
  Observation good;
  good.workload = WorkloadKind::http;
  for (int client = 1; client <= 2; ++client) {
    const std::uint64_t bytes = expected_bytes_received(spec.workload, client);
    good.clients.push_back(
        ClientReport{client, 100, bytes, true, "", expected_transcript_hash(spec.workload, client), true});
  }
  EXPECT_TRUE(check_http_responses_ok(spec, good).passed) << check_http_responses_ok(spec, good).detail;
  const auto fails_with = [&](const Observation& bad, std::string_view detail) {
    const CheckResult result = check_http_responses_ok(spec, bad);
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.detail, detail);
  };
  Observation bad = good;
  bad.server_error = "accept4: EMFILE";
  fails_with(bad, "server: accept4: EMFILE");
  bad = good;
  bad.clients[1].error = "response 2 to GET /bytes/1/1: end of file after 3 of 40 bytes";
  fails_with(bad, "client 2: response 2 to GET /bytes/1/1: end of file after 3 of 40 bytes");
  bad = good;
  bad.clients[0].echoed_in_order = false;
  fails_with(bad, "client 1: responses not exact");
  bad = good;
  bad.clients[0].bytes_received += 1;
  fails_with(bad, fmt::format("client 1: received {} bytes, expected {}", good.clients[0].bytes_received + 1,
                              good.clients[0].bytes_received));
  bad = good;
  bad.clients[1].transcript_hash ^= 1;
  fails_with(bad, fmt::format("client 2: transcript hash {:016x}, expected {:016x}",
                              good.clients[1].transcript_hash ^ 1, good.clients[1].transcript_hash));
  EXPECT_EQ(good.summary(), fmt::format("2/2 clients got every response exact, {} bytes received; server ok",
                                        good.clients[0].bytes_received + good.clients[1].bytes_received));
}

// A client stops at its first wrong response; the driver then connects in place of its remaining requests,
// so the server still gets every connection it waits for and the run ends with a failed check, not a hang.
TEST(HttpWorkload, ServerWithWrongAnswersFailsTheCheckWithoutHanging) {
  ScenarioSpec spec = load_bundled("reactor_http");
  spec.params["body_bytes_max"] = 100;  // the workload asks for up to 8192: most answers are 404
  const RunReport report = run_scenario(spec, RunRequest{"sim", 3, std::nullopt, false});
  EXPECT_FALSE(report.passed);
  ASSERT_TRUE(report.sim);
  EXPECT_EQ(report.sim->run.outcome, sim::RunResult::Outcome::completed);
  ASSERT_FALSE(report.checks.empty());
  EXPECT_NE(report.checks[0].detail.find("differs at byte 9: expected 0x32, got 0x34"), std::string::npos)
      << report.checks[0].detail;  // "HTTP/1.0 2.." expected, "HTTP/1.0 4.." received
}

}  // namespace
}  // namespace iosim
