// tests/scenario_iocp_test.cpp — the IOCP servers (iocp_pool, iocp_accept_callbacks, proactor_echo) and the
// Proactor library: many seeds, faults, and what each design teaches, read from the simulator's trace.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "backends/fault/fault_plan.hpp"
#include "backends/linux/linux_os.hpp"
#include "backends/sim/sim_os.hpp"
#include "scenarios/checks.hpp"
#include "scenarios/proactor/proactor.hpp"
#include "scenarios/registry.hpp"
#include "tools/driver.hpp"

namespace iosim {
namespace {

const char* const iocp_scenarios[] = {"iocp_pool", "iocp_accept_callbacks", "proactor_echo",
                                      "proactor_echo_epoll"};

std::string source_dir() {
  const char* dir = std::getenv("IOSIM_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

ScenarioSpec load_bundled(std::string_view name) {
  Result<ScenarioSpec> loaded = load_scenario_file(fmt::format("{}/scenarios/{}.json", source_dir(), name));
  EXPECT_TRUE(loaded.is_ok()) << loaded.error();
  return loaded.is_ok() ? *loaded : ScenarioSpec{};
}

RunRequest sim_request(std::uint64_t seed, std::string strategy = "random", bool capture = false) {
  RunRequest request;
  request.seed = seed;
  request.strategy = std::move(strategy);
  request.capture_trace = capture;
  return request;
}

class IocpScenario : public ::testing::TestWithParam<const char*> {};

TEST_P(IocpScenario, PassesOnTheSimulatorForSeeds1To200WithRandomAndPct) {
  const ScenarioSpec spec = load_bundled(GetParam());
  EXPECT_EQ(find_app(spec.app)->native_backend, "windows");
  for (const char* strategy : {"random", "pct"}) {
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
      const RunReport report = run_scenario(spec, sim_request(seed, strategy));
      ASSERT_TRUE(report.passed) << "reproduce: " << reproduce_command(spec, report) << "\n"
                                 << report.observation.summary();
    }
  }
}

// short_write makes an overlapped WSASend take only part of its buffer (FaultOs): the completion reports
// fewer bytes than asked, and the server must send the rest. The fault must really have hit a WSASend.
TEST_P(IocpScenario, RepostsTheRestOfAPartialSend) {
  const ScenarioSpec spec = load_bundled(GetParam());
  int short_writes = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    RunRequest request = sim_request(seed, "random", true);
    request.fault_arguments = {"short_write=0.5"};
    const RunReport report = run_scenario(spec, request, [&](SimOs& os) {
      for (const sim::TraceEvent& event : os.trace().events()) {
        if (event.kind == sim::EventKind::fault && os.trace().name(event.subject) == "short_write" &&
            !os.scheduler().task_name(event.task).starts_with("client")) {
          ++short_writes;
        }
      }
    });
    ASSERT_TRUE(report.passed) << "reproduce: " << reproduce_command(spec, report) << "\n"
                               << report.observation.summary();
  }
  EXPECT_GT(short_writes, 0);
}

// Every fault of the plan at p = 0.3: a run may fail its checks (a reset client cannot get its echo), but the
// simulation itself never fails (no assertion, no exception in a task, no step limit).
TEST_P(IocpScenario, EveryFaultEndsInPassOrACheckFailureNeverACrash) {
  const ScenarioSpec spec = load_bundled(GetParam());
  for (const std::string_view fault : fault_names()) {
    if (fault == "jitter_us") continue;
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      RunRequest request = sim_request(seed);
      request.fault_arguments = {fmt::format("{}=0.3", fault)};
      const RunReport report = run_scenario(spec, request);
      ASSERT_TRUE(report.sim);
      const auto outcome = report.sim->run.outcome;
      EXPECT_TRUE(outcome == sim::RunResult::Outcome::completed ||
                  outcome == sim::RunResult::Outcome::deadlock)
          << fault << " seed " << seed << ": " << report.sim->run.failure;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Bundled, IocpScenario, ::testing::ValuesIn(iocp_scenarios));

// --- iocp_pool: what the port does with the pool ---

// Per worker, from the trace: "running for the port" from its return from GetQueuedCompletionStatus until it
// calls it again, blocks on anything, or exits (the I/O manager's accounting, minus the re-count of a thread
// woken from another wait). Returns how often a worker got a packet while another was running.
int overlapping_dequeues(SimOs& os) {
  std::set<sim::task_id> running;
  int overlaps = 0;
  for (const sim::TraceEvent& event : os.trace().events()) {
    if (event.task == sim::no_task || os.scheduler().task_name(event.task).rfind("worker", 0) != 0) continue;
    const bool gqcs = os.trace().name(event.subject) == "GetQueuedCompletionStatus";
    if ((event.kind == sim::EventKind::sys_enter && gqcs) || event.kind == sim::EventKind::block ||
        event.kind == sim::EventKind::task_exit) {
      running.erase(event.task);
    } else if (event.kind == sim::EventKind::sys_exit && gqcs) {
      if (!running.empty() && !running.contains(event.task)) ++overlaps;
      running.insert(event.task);
    }
  }
  return overlaps;
}

int overlaps_over_seeds(std::int64_t concurrency) {
  ScenarioSpec spec = load_bundled("iocp_pool");
  spec.params["concurrency"] = concurrency;
  int overlaps = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    const RunReport report = run_scenario(spec, sim_request(seed, "random", true),
                                          [&](SimOs& os) { overlaps += overlapping_dequeues(os); });
    EXPECT_TRUE(report.passed) << reproduce_command(spec, report);
  }
  return overlaps;
}

// NumberOfConcurrentThreads = 1: six workers wait, but a packet goes to one only while no other runs.
TEST(IocpPool, ConcurrencyOneRunsOneWorkerAtATime) {
  EXPECT_EQ(overlaps_over_seeds(1), 0);
  EXPECT_GT(overlaps_over_seeds(6), 0);  // the control: with six slots, workers do run side by side
}

// The classic shutdown: one quit packet per worker, each worker takes one and returns, the port is closed.
TEST(IocpPool, OneQuitPacketPerWorkerStopsEveryWorker) {
  for (const std::int64_t threads : {1, 3, 6}) {
    ScenarioSpec spec = load_bundled("iocp_pool");
    spec.params["threads"] = threads;
    int posts = 0, exits = 0, closes = 0;
    const RunReport report = run_scenario(spec, sim_request(3, "random", true), [&](SimOs& os) {
      for (const sim::TraceEvent& event : os.trace().events()) {
        const std::string_view name = os.trace().name(event.subject);
        const bool worker =
            event.task != sim::no_task && os.scheduler().task_name(event.task).rfind("worker", 0) == 0;
        if (event.kind == sim::EventKind::sys_enter && name == "PostQueuedCompletionStatus") ++posts;
        if (event.kind == sim::EventKind::task_exit && worker) ++exits;
        if (event.kind == sim::EventKind::sys_exit && name == "CloseHandle" && event.arg0 == 1) ++closes;
      }
    });
    EXPECT_TRUE(report.passed) << threads << ": " << report.observation.summary();
    EXPECT_EQ(posts, threads);
    EXPECT_EQ(exits, threads);
    EXPECT_EQ(closes, 1) << "the port is closed once, after the workers";
  }
}

// --- a client that resets its connection: the pending WSARecv fails with ERROR_NETNAME_DELETED ---

// Runs app `app_name` serving `connections` connections, with `client` as the one client thread; returns the
// app's error and counts the overlapped requests the kernel completed with STATUS_CONNECTION_RESET (what
// GetQueuedCompletionStatus reports as ERROR_NETNAME_DELETED).
std::string run_with_client(std::string_view app_name, const nlohmann::json& params, int connections,
                            const std::function<void(Os&, std::uint16_t)>& client, int* netname_deleted) {
  const AppInfo* app = find_app(app_name);
  EXPECT_NE(app, nullptr);
  SimConfig config;
  config.capture_trace = true;
  SimOs os(config);
  std::string error;
  const SimOutcome outcome = os.run([&] {
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
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed) << outcome.run.failure;
  *netname_deleted = 0;
  for (const sim::TraceEvent& event : os.trace().events()) {
    const std::string_view name = os.trace().name(event.subject);
    if (event.kind == sim::EventKind::kernel && name == "afd.complete" &&
        event.arg0 == win32::STATUS::CONNECTION_RESET) {
      ++*netname_deleted;
    }
  }
  return error;
}

int connect_to(Os& os, std::uint16_t port) {
  const int fd = os.socket(AF::INET, SOCK::STREAM, 0);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(os.connect(fd, SockAddr{loopback_ip, port}), 0);
  return fd;
}

// First connection: one echo, then an abortive close (SO_LINGER 0 sends RST) while the server's WSARecv
// waits. Second connection: a normal echo — the server carried on.
void reset_then_echo(Os& os, std::uint16_t port) {
  const int first = connect_to(os, port);
  char echo[4];
  EXPECT_EQ(os.send(first, "ping", 4, 0), 4);
  EXPECT_EQ(os.recv(first, echo, sizeof echo, MSG::WAITALL), 4);
  os.sleep_for(1'000'000);  // the server has posted its next receive by now: the reset fails a pending one
  EXPECT_EQ(os.set_linger(first, true, 0), 0);
  EXPECT_EQ(os.close(first), 0);
  const int second = connect_to(os, port);
  EXPECT_EQ(os.send(second, "pong", 4, 0), 4);
  EXPECT_EQ(os.recv(second, echo, sizeof echo, MSG::WAITALL), 4);
  EXPECT_EQ(std::string(echo, 4), "pong");
  EXPECT_EQ(os.close(second), 0);
}

TEST(IocpServers, APeerResetFailsTheReceiveAndOnlyThatConnectionCloses) {
  const std::vector<std::pair<std::string, nlohmann::json>> servers = {
      {"iocp_pool", nlohmann::json::object()},
      {"iocp_accept_callbacks", nlohmann::json::object()},
      {"proactor_echo", {{"impl", 1}}}};
  for (const auto& [app, params] : servers) {
    int netname_deleted = 0;
    EXPECT_EQ(run_with_client(app, params, 2, reset_then_echo, &netname_deleted), "") << app;
    EXPECT_EQ(netname_deleted, 1) << app << ": the reset reached the server as ERROR_NETNAME_DELETED";
  }
}

// --- the Proactor library ---

TEST(Proactor, AutoPicksIocpOnTheSimulatorAndEpollOnLinux) {
  SimOs sim_os(SimConfig{});
  sim_os.run([&] {
    std::string error;
    EXPECT_EQ(proactor::make_proactor(sim_os, proactor::Impl::automatic, &error)->name(), "iocp");
    EXPECT_EQ(proactor::make_proactor(sim_os, proactor::Impl::epoll, &error)->name(), "epoll");
  });
  LinuxOs linux_os;
  std::string error;
  EXPECT_EQ(proactor::make_proactor(linux_os, proactor::Impl::automatic, &error)->name(), "epoll");
  EXPECT_EQ(proactor::make_proactor(linux_os, proactor::Impl::iocp, &error), nullptr);
  EXPECT_EQ(error, "CreateIoCompletionPort: ERROR_NOT_SUPPORTED");
}

// Asio's rule: a handler never runs inside the call that started the operation, even when the data is already
// there; async_write's handler sees every byte written, however many sends it took.
void check_handlers_run_from_run(Os& os, proactor::Impl impl) {
  std::string error;
  auto io = proactor::make_proactor(os, impl, &error);
  ASSERT_NE(io, nullptr) << error;
  std::uint16_t port = 0;
  const int listener = io->listen_loopback(8, &port);
  ASSERT_GE(listener, 0) << io->error();
  constexpr std::size_t big_bytes = 1 << 20;
  std::string big(big_bytes, 'x');
  std::unique_ptr<Thread> client = os.thread_create("client", [&] {
    const int fd = connect_to(os, port);
    EXPECT_EQ(os.send(fd, "hi", 2, 0), 2);
    std::vector<char> sink(big_bytes);
    std::size_t received = 0;
    for (long n = 1; n > 0 && received < big_bytes; received += n > 0 ? static_cast<std::size_t>(n) : 0) {
      n = os.recv(fd, sink.data() + received, sink.size() - received, 0);
    }
    EXPECT_EQ(received, big_bytes);
    os.close(fd);
  });
  bool read_done = false, write_done = false;
  char buffer[16];
  io->async_accept(listener, [&](const proactor::Result& accepted, int socket) {
    ASSERT_TRUE(accepted.ok()) << accepted.error;
    io->close(listener);
    os.sleep_for(1'000'000);  // "hi" is surely in the receive buffer now
    io->async_read(socket, buffer, sizeof buffer,
                   [&, socket](const proactor::Result& result, std::size_t bytes) {
                     EXPECT_TRUE(result.ok()) << result.error;
                     EXPECT_EQ(std::string(buffer, bytes), "hi");
                     read_done = true;
                     io->async_write(socket, big.data(), big.size(),
                                     [&, socket](const proactor::Result& written, std::size_t n) {
                                       EXPECT_TRUE(written.ok()) << written.error;
                                       EXPECT_EQ(n, big_bytes);
                                       write_done = true;
                                       io->close(socket);
                                     });
                     EXPECT_FALSE(write_done);
                   });
    EXPECT_FALSE(read_done) << "the handler ran inside async_read";
  });
  EXPECT_TRUE(io->run()) << io->error();
  EXPECT_TRUE(read_done && write_done);
  client->join();
}

TEST(Proactor, HandlersRunFromRunAndWritesCompleteWhole) {
  for (const proactor::Impl impl : {proactor::Impl::iocp, proactor::Impl::epoll}) {
    SimOs os(SimConfig{});
    const SimOutcome outcome = os.run([&] { check_handlers_run_from_run(os, impl); });
    EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed) << outcome.run.failure;
    for (const sim::BlockedTask& task : outcome.run.blocked) ADD_FAILURE() << task.name << " in " << task.channel;
  }
  LinuxOs linux_os;
  check_handlers_run_from_run(linux_os, proactor::Impl::epoll);
}

// What `iosim diff scenarios/proactor_echo_epoll.json` checks: the epoll emulation observes the same on the
// simulator and on Linux.
TEST(ProactorEcho, EpollEmulationAgreesWithLinux) {
  const ScenarioSpec spec = load_bundled("proactor_echo_epoll");
  const RunReport simulated = run_scenario(spec, RunRequest{"sim", std::nullopt, std::nullopt, false});
  const RunReport native = run_scenario(spec, RunRequest{"linux", std::nullopt, std::nullopt, false});
  EXPECT_TRUE(simulated.passed) << simulated.observation.summary();
  EXPECT_TRUE(native.passed) << native.observation.summary();
  EXPECT_TRUE(compare_observations(simulated.observation, native.observation).empty());
  EXPECT_EQ(native.observation.clients.size(), static_cast<std::size_t>(spec.workload.clients));
}

}  // namespace
}  // namespace iosim
