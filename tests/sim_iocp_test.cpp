// tests/sim_iocp_test.cpp — overlapped sockets on SimOs: immediate vs pending completion, skip-on-success,
// scatter/partial/zero-byte receives, sends that pend, AcceptEx, ConnectEx, CancelIoEx, closesocket, resets.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/sim/sim_os.hpp"
#include "tests/iocp_support.hpp"

namespace iosim {
namespace {

using namespace win32;
using iocp_test::get;
using iocp_test::Got;

constexpr ULONG_PTR server_key = 42;

template <class Body>
void run_sim(std::uint64_t seed, Body body) {
  SimConfig config;
  config.seed = seed;
  SimOs os(config);
  const SimOutcome outcome = os.run([&] { body(os); });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed) << outcome.run.failure;
}

SOCKET overlapped_socket(Os& os) {
  const SOCKET s = os.WSASocketW(AF::INET, SOCK::STREAM, IPPROTO::TCP, WSA_FLAG_OVERLAPPED_);
  EXPECT_NE(s, INVALID_SOCKET_);
  return s;
}

SOCKET bound_listener(Os& os, SockAddr* addr) {
  const SOCKET listener = overlapped_socket(os);
  EXPECT_EQ(os.bind(static_cast<int>(listener), SockAddr{loopback_ip, 0}), 0);
  EXPECT_EQ(os.listen(static_cast<int>(listener), 8), 0);
  EXPECT_EQ(os.getsockname(static_cast<int>(listener), addr), 0);
  return listener;
}

// A connected pair; the server end is associated with a new port under server_key.
struct Pair {
  SOCKET server, client;
  HANDLE port;
};
Pair connected_pair(Os& os) {
  SockAddr addr;
  const SOCKET listener = bound_listener(os, &addr);
  const SOCKET client = overlapped_socket(os);
  EXPECT_EQ(os.connect(static_cast<int>(client), addr), 0);
  const int server = os.accept4(static_cast<int>(listener), nullptr, 0);
  EXPECT_GE(server, 0);
  os.closesocket(listener);
  HANDLE port = os.CreateIoCompletionPort(reinterpret_cast<HANDLE>(static_cast<std::uintptr_t>(server)),
                                          nullptr, server_key, 1);
  EXPECT_NE(port, nullptr);
  return {static_cast<SOCKET>(server), client, port};
}

void send_text(Os& os, SOCKET s, const std::string& text) {
  EXPECT_EQ(os.send(static_cast<int>(s), text.data(), text.size(), 0), static_cast<long>(text.size()));
}

// WSARecv into one buffer; returns the call's result and leaves GetLastError for the caller.
int recv_into(Os& os, SOCKET s, char* buffer, ULONG len, OVERLAPPED* overlapped, DWORD* bytes = nullptr) {
  WSABUF wsabuf{len, buffer};
  DWORD flags = 0;
  return os.WSARecv(s, &wsabuf, 1, bytes, &flags, overlapped);
}

TEST(SimIocp, ImmediateReceiveScattersAndStillQueuesACompletion) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    send_text(os, pair.client, "hello");
    char first[3], second[10];
    WSABUF buffers[2] = {{3, first}, {10, second}};
    OVERLAPPED overlapped{};
    DWORD bytes = 0, flags = 0;
    ASSERT_EQ(os.WSARecv(pair.server, buffers, 2, &bytes, &flags, &overlapped), 0);
    EXPECT_EQ(bytes, 5u);
    EXPECT_EQ(std::string(first, 3) + std::string(second, 2), "hello");
    const Got got = get(os, pair.port, 0);  // success at once still posts a packet
    EXPECT_TRUE(got.ok);
    EXPECT_EQ(got.overlapped, &overlapped);
    EXPECT_EQ(got.bytes, 5u);
    EXPECT_EQ(got.key, server_key);
    EXPECT_EQ(get(os, pair.port, 0).error, Error::WAIT_TIMEOUT_);
  });
}

// The delayed_completion fault (issue 6's fault plan): the I/O is done — the OVERLAPPED holds its result —
// but the packet reaches the port 1..1000 us later, so a zero-timeout GQCS sees nothing yet and a waiting
// one gets it after the delay.
TEST(SimIocp, DelayedCompletionHoldsThePacketBackButNotTheResult) {
  SimConfig config;
  config.kernel.faults.delayed_completion = 1;
  SimOs os(config);
  const SimOutcome outcome = os.run([&] {
    const Pair pair = connected_pair(os);
    send_text(os, pair.client, "hello");
    char buffer[16];
    OVERLAPPED overlapped{};
    DWORD bytes = 0;
    ASSERT_EQ(recv_into(os, pair.server, buffer, sizeof buffer, &overlapped, &bytes), 0);
    EXPECT_EQ(bytes, 5u);
    EXPECT_TRUE(win32::has_overlapped_io_completed(overlapped));
    EXPECT_EQ(get(os, pair.port, 0).error, Error::WAIT_TIMEOUT_);  // not queued yet
    const std::int64_t before_ns = os.monotonic_ns();
    const Got got = get(os, pair.port, INFINITE_);
    EXPECT_TRUE(got.ok);
    EXPECT_EQ(got.overlapped, &overlapped);
    EXPECT_EQ(got.bytes, 5u);
    EXPECT_GT(os.monotonic_ns() - before_ns, 0);
    EXPECT_LE(os.monotonic_ns() - before_ns, kernel::completion_delay_ns_max + 10'000);
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed) << outcome.run.failure;
}

TEST(SimIocp, SkipOnSuccessQueuesNothingForImmediateSuccessOnly) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    ASSERT_TRUE(os.SetFileCompletionNotificationModes(reinterpret_cast<HANDLE>(pair.server),
                                                      FILE_SKIP_COMPLETION_PORT_ON_SUCCESS_));
    send_text(os, pair.client, "abc");
    char buffer[16];
    OVERLAPPED immediate{}, pending{};
    DWORD bytes = 0;
    ASSERT_EQ(recv_into(os, pair.server, buffer, sizeof buffer, &immediate, &bytes), 0);
    EXPECT_EQ(bytes, 3u);
    EXPECT_EQ(get(os, pair.port, 0).error, Error::WAIT_TIMEOUT_);  // skipped
    ASSERT_EQ(recv_into(os, pair.server, buffer, sizeof buffer, &pending), SOCKET_ERROR_);
    EXPECT_EQ(os.WSAGetLastError(), WSA::IO_PENDING);
    send_text(os, pair.client, "de");
    const Got got = get(os, pair.port, INFINITE_);  // a pending request always completes to the port
    EXPECT_TRUE(got.ok);
    EXPECT_EQ(got.overlapped, &pending);
    EXPECT_EQ(got.bytes, 2u);
  });
}

TEST(SimIocp, PendingReceivesCompleteInOrderWithWhatArrived) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    char a[1], b[100];
    OVERLAPPED first{}, second{};
    ASSERT_EQ(recv_into(os, pair.server, a, sizeof a, &first), SOCKET_ERROR_);
    EXPECT_EQ(os.WSAGetLastError(), WSA::IO_PENDING);
    EXPECT_FALSE(has_overlapped_io_completed(first));
    ASSERT_EQ(recv_into(os, pair.server, b, sizeof b, &second), SOCKET_ERROR_);
    send_text(os, pair.client, "xyz");
    Got got = get(os, pair.port, INFINITE_);
    EXPECT_EQ(got.overlapped, &first);
    EXPECT_EQ(got.bytes, 1u);
    got = get(os, pair.port, INFINITE_);
    EXPECT_EQ(got.overlapped, &second);
    EXPECT_EQ(got.bytes, 2u);  // a partial completion: what had arrived, not the buffer's 100
    EXPECT_EQ(std::string(a, 1) + std::string(b, 2), "xyz");
    DWORD transferred = 0, flags = 0;
    EXPECT_TRUE(os.WSAGetOverlappedResult(pair.server, &second, &transferred, FALSE_, &flags));
    EXPECT_EQ(transferred, 2u);
  });
}

TEST(SimIocp, ZeroByteReceiveWaitsForDataWithoutTakingIt) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    OVERLAPPED overlapped{};
    ASSERT_EQ(recv_into(os, pair.server, nullptr, 0, &overlapped), SOCKET_ERROR_);
    EXPECT_EQ(os.WSAGetLastError(), WSA::IO_PENDING);
    EXPECT_EQ(get(os, pair.port, 0).error, Error::WAIT_TIMEOUT_);
    send_text(os, pair.client, "data");
    const Got got = get(os, pair.port, INFINITE_);
    EXPECT_TRUE(got.ok);
    EXPECT_EQ(got.bytes, 0u);
    char buffer[8];
    EXPECT_EQ(os.recv(static_cast<int>(pair.server), buffer, sizeof buffer, 0), 4);  // still all there
  });
}

TEST(SimIocp, CancelIoExAbortsThePendingReceive) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    char buffer[8];
    OVERLAPPED overlapped{};
    ASSERT_EQ(recv_into(os, pair.server, buffer, sizeof buffer, &overlapped), SOCKET_ERROR_);
    ASSERT_TRUE(os.CancelIoEx(reinterpret_cast<HANDLE>(pair.server), &overlapped));
    const Got got = get(os, pair.port, 0);
    EXPECT_FALSE(got.ok);
    EXPECT_EQ(got.error, Error::OPERATION_ABORTED);
    EXPECT_EQ(got.overlapped, &overlapped);  // a failed I/O still hands its OVERLAPPED back
    DWORD transferred = 1, flags = 0;
    EXPECT_FALSE(os.WSAGetOverlappedResult(pair.server, &overlapped, &transferred, FALSE_, &flags));
    EXPECT_EQ(os.WSAGetLastError(), WSA::OPERATION_ABORTED);
    EXPECT_FALSE(os.CancelIoEx(reinterpret_cast<HANDLE>(pair.server), &overlapped));
    EXPECT_EQ(os.GetLastError(), Error::NOT_FOUND);
  });
}

// CancelIoEx(NULL) walks the I/O manager's per-thread IRP list, filled at the head: the newest request
// completes first (found by tests/iocp_differential_test.cpp against Wine; ReactOS agrees). closesocket
// (below) completes in issue order instead.
TEST(SimIocp, CancelIoExOfAllCompletesTheNewestRequestFirst) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    char buffer[12];
    OVERLAPPED first{}, second{}, third{};
    ASSERT_EQ(recv_into(os, pair.server, buffer, 4, &first), SOCKET_ERROR_);
    ASSERT_EQ(recv_into(os, pair.server, buffer + 4, 4, &second), SOCKET_ERROR_);
    ASSERT_EQ(recv_into(os, pair.server, buffer + 8, 4, &third), SOCKET_ERROR_);
    ASSERT_TRUE(os.CancelIoEx(reinterpret_cast<HANDLE>(pair.server), nullptr));
    for (OVERLAPPED* expected : {&third, &second, &first}) {
      const Got got = get(os, pair.port, 0);
      EXPECT_EQ(got.error, Error::OPERATION_ABORTED);
      EXPECT_EQ(got.overlapped, expected);
    }
  });
}

// The port is the one the handle has when the request completes, not when it was issued (IopCompleteRequest
// reads FILE_OBJECT.CompletionContext; found against Wine by tests/iocp_differential_test.cpp).
TEST(SimIocp, ARequestIssuedBeforeTheAssociationCompletesToThePort) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    char buffer[8];
    OVERLAPPED overlapped{};
    ASSERT_EQ(recv_into(os, pair.client, buffer, sizeof buffer, &overlapped), SOCKET_ERROR_);  // no port yet
    ASSERT_EQ(os.CreateIoCompletionPort(reinterpret_cast<HANDLE>(pair.client), pair.port, 7, 0), pair.port);
    send_text(os, pair.server, "hi");
    const Got got = get(os, pair.port, INFINITE_);
    EXPECT_TRUE(got.ok);
    EXPECT_EQ(got.key, 7u);
    EXPECT_EQ(got.overlapped, &overlapped);
    EXPECT_EQ(got.bytes, 2u);
  });
}

// After a RST every send fails with WSAECONNRESET, not only the first (Linux's EPIPE afterwards would be
// WSAESHUTDOWN); found against Wine by tests/iocp_differential_test.cpp.
TEST(SimIocp, EverySendAfterAResetFailsWithConnReset) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    os.set_linger(static_cast<int>(pair.client), true, 0);
    os.closesocket(pair.client);  // SO_LINGER {1, 0}: a RST
    os.sleep_for(1'000'000);
    for (int attempt = 0; attempt < 3; ++attempt) {
      char data[4] = {'a', 'b', 'c', 'd'};
      WSABUF buffer{sizeof data, data};
      OVERLAPPED overlapped{};
      DWORD bytes = 0;
      EXPECT_EQ(os.WSASend(pair.server, &buffer, 1, &bytes, 0, &overlapped), SOCKET_ERROR_);
      EXPECT_EQ(os.WSAGetLastError(), WSA::CONNRESET) << "attempt " << attempt;
    }
  });
}

TEST(SimIocp, ClosesocketAbortsEveryPendingRequest) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    char buffer[8];
    OVERLAPPED first{}, second{};
    ASSERT_EQ(recv_into(os, pair.server, buffer, 4, &first), SOCKET_ERROR_);
    ASSERT_EQ(recv_into(os, pair.server, buffer + 4, 4, &second), SOCKET_ERROR_);
    ASSERT_EQ(os.closesocket(pair.server), 0);
    for (OVERLAPPED* expected : {&first, &second}) {
      const Got got = get(os, pair.port, 0);
      EXPECT_FALSE(got.ok);
      EXPECT_EQ(got.error, Error::OPERATION_ABORTED);
      EXPECT_EQ(got.overlapped, expected);
    }
  });
}

TEST(SimIocp, PeerResetFailsThePendingReceiveAndTheNextOneAtOnce) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    char buffer[8];
    OVERLAPPED overlapped{};
    ASSERT_EQ(recv_into(os, pair.server, buffer, sizeof buffer, &overlapped), SOCKET_ERROR_);
    os.set_linger(static_cast<int>(pair.client), true, 0);
    os.closesocket(pair.client);  // SO_LINGER {1, 0}: a RST
    const Got got = get(os, pair.port, INFINITE_);
    EXPECT_FALSE(got.ok);
    EXPECT_EQ(got.error, Error::NETNAME_DELETED);
    DWORD transferred = 0, flags = 0;
    EXPECT_FALSE(os.WSAGetOverlappedResult(pair.server, &overlapped, &transferred, TRUE_, &flags));
    EXPECT_EQ(os.WSAGetLastError(), WSA::CONNRESET);
    // AFD keeps the endpoint aborted: the next receive fails at once too (Linux would report ECONNRESET once,
    // then end of stream).
    OVERLAPPED next{};
    EXPECT_EQ(recv_into(os, pair.server, buffer, sizeof buffer, &next), SOCKET_ERROR_);
    EXPECT_EQ(os.WSAGetLastError(), WSA::CONNRESET);
  });
}

// Regression (found by the IOCP differential suite against Wine): a RST fails *every* pending receive, a
// zero-byte one behind a normal one included; the simulator reported the reset to the first only and
// completed the second as a graceful end (0 bytes).
TEST(SimIocp, APeerResetFailsEveryPendingReceive) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    char buffer[8];
    OVERLAPPED first{}, zero_byte{};
    ASSERT_EQ(recv_into(os, pair.server, buffer, sizeof buffer, &first), SOCKET_ERROR_);
    ASSERT_EQ(recv_into(os, pair.server, nullptr, 0, &zero_byte), SOCKET_ERROR_);
    os.set_linger(static_cast<int>(pair.client), true, 0);
    os.closesocket(pair.client);  // a RST
    for (OVERLAPPED* expected : {&first, &zero_byte}) {
      const Got got = get(os, pair.port, INFINITE_);
      EXPECT_FALSE(got.ok);
      EXPECT_EQ(got.error, Error::NETNAME_DELETED);
      EXPECT_EQ(got.overlapped, expected);
    }
  });
}

// Regression (found by the IOCP differential suite against Wine): a request that fails at once leaves its
// OVERLAPPED as the call set it, STATUS_PENDING — the I/O manager writes the IOSB only for a success or a
// pended request (ReactOS IopCompleteRequest) — so WSAGetOverlappedResult says WSA_IO_INCOMPLETE.
TEST(SimIocp, ARequestThatFailsAtOnceLeavesItsOverlappedIncomplete) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    os.set_linger(static_cast<int>(pair.client), true, 0);
    os.closesocket(pair.client);  // a RST
    os.sleep_for(1'000'000);
    char text[] = "x";
    WSABUF wsabuf{1, text};
    OVERLAPPED overlapped{};
    ASSERT_EQ(os.WSASend(pair.server, &wsabuf, 1, nullptr, 0, &overlapped), SOCKET_ERROR_);
    EXPECT_EQ(os.WSAGetLastError(), WSA::CONNRESET);
    EXPECT_FALSE(has_overlapped_io_completed(overlapped));
    DWORD transferred = 0, flags = 0;
    EXPECT_FALSE(os.WSAGetOverlappedResult(pair.server, &overlapped, &transferred, FALSE_, &flags));
    EXPECT_EQ(os.WSAGetLastError(), WSA::IO_INCOMPLETE);
    EXPECT_EQ(get(os, pair.port, 0).error, Error::WAIT_TIMEOUT_);  // and no packet
    // The second send fails before AFD queues anything (the endpoint is aborted), and leaves it so too.
    OVERLAPPED second{};
    ASSERT_EQ(os.WSASend(pair.server, &wsabuf, 1, nullptr, 0, &second), SOCKET_ERROR_);
    EXPECT_EQ(os.WSAGetLastError(), WSA::CONNRESET);
    EXPECT_FALSE(os.WSAGetOverlappedResult(pair.server, &second, &transferred, FALSE_, &flags));
    EXPECT_EQ(os.WSAGetLastError(), WSA::IO_INCOMPLETE);
  });
}

TEST(SimIocp, AcceptExWithoutDataCompletesOnTheConnection) {
  run_sim(1, [](Os& os) {
    SockAddr addr;
    const SOCKET listener = bound_listener(os, &addr);
    HANDLE port = os.CreateIoCompletionPort(reinterpret_cast<HANDLE>(listener), nullptr, 1, 1);
    const SOCKET accepted = overlapped_socket(os);
    char addresses[2 * 32];
    OVERLAPPED overlapped{};
    DWORD bytes = 0;
    ASSERT_FALSE(os.AcceptEx(listener, accepted, addresses, 0, 32, 32, &bytes, &overlapped));
    ASSERT_EQ(os.GetLastError(), Error::IO_PENDING);
    const SOCKET client = overlapped_socket(os);
    ASSERT_EQ(os.connect(static_cast<int>(client), addr), 0);
    const Got got = get(os, port, INFINITE_);
    EXPECT_TRUE(got.ok);
    EXPECT_EQ(got.overlapped, &overlapped);
    EXPECT_EQ(got.key, 1u);
    SockAddr peer;
    EXPECT_EQ(os.getpeername(static_cast<int>(accepted), &peer), -1);  // no context yet
    EXPECT_EQ(os.last_errno(), E::NOTCONN);
    ASSERT_EQ(os.setsockopt(static_cast<int>(accepted), SOL::SOCKET, SO_UPDATE_ACCEPT_CONTEXT_,
                            static_cast<int>(listener)),
              0);
    EXPECT_EQ(os.getpeername(static_cast<int>(accepted), &peer), 0);
    send_text(os, client, "hi");
    char buffer[4];
    EXPECT_EQ(os.recv(static_cast<int>(accepted), buffer, sizeof buffer, 0), 2);
  });
}

TEST(SimIocp, AcceptExWithDataWaitsForTheFirstBytes) {
  run_sim(1, [](Os& os) {
    SockAddr addr;
    const SOCKET listener = bound_listener(os, &addr);
    HANDLE port = os.CreateIoCompletionPort(reinterpret_cast<HANDLE>(listener), nullptr, 1, 1);
    const SOCKET accepted = overlapped_socket(os);
    char output[16 + 2 * 32];
    OVERLAPPED overlapped{};
    DWORD bytes = 0;
    ASSERT_FALSE(os.AcceptEx(listener, accepted, output, 16, 32, 32, &bytes, &overlapped));
    ASSERT_EQ(os.GetLastError(), Error::IO_PENDING);
    const SOCKET client = overlapped_socket(os);
    ASSERT_EQ(os.connect(static_cast<int>(client), addr), 0);
    EXPECT_EQ(get(os, port, 1).error, Error::WAIT_TIMEOUT_);  // connected, but no data yet
    send_text(os, client, "ping");
    const Got got = get(os, port, INFINITE_);
    EXPECT_TRUE(got.ok);
    EXPECT_EQ(got.bytes, 4u);
    EXPECT_EQ(std::string(output, 4), "ping");
  });
}

TEST(SimIocp, AcceptExRejectsAConnectedOrTooSmallSlot) {
  run_sim(1, [](Os& os) {
    SockAddr addr;
    const SOCKET listener = bound_listener(os, &addr);
    const SOCKET accepted = overlapped_socket(os);
    char output[64];
    OVERLAPPED overlapped{};
    DWORD bytes = 0;
    EXPECT_FALSE(os.AcceptEx(listener, accepted, output, 0, 16, 32, &bytes, &overlapped));
    EXPECT_EQ(os.WSAGetLastError(), WSA::INVAL);
    EXPECT_FALSE(os.AcceptEx(accepted, accepted, output, 0, 32, 32, &bytes, &overlapped));  // not listening
    EXPECT_EQ(os.WSAGetLastError(), WSA::INVAL);
  });
}

TEST(SimIocp, WSASendPendsUntilTheWholeBufferIsQueued) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    std::string big(1 << 20, 'x');
    WSABUF buffer{static_cast<ULONG>(big.size()), big.data()};
    OVERLAPPED overlapped{};
    DWORD sent = 0;
    ASSERT_EQ(os.WSASend(pair.server, &buffer, 1, &sent, 0, &overlapped), SOCKET_ERROR_);
    ASSERT_EQ(os.WSAGetLastError(), WSA::IO_PENDING);
    std::vector<char> sink(65536);
    std::size_t received = 0;
    while (received < big.size()) {
      const long got = os.recv(static_cast<int>(pair.client), sink.data(), sink.size(), 0);
      ASSERT_GT(got, 0);
      received += static_cast<std::size_t>(got);
    }
    const Got got = get(os, pair.port, INFINITE_);
    EXPECT_TRUE(got.ok);
    EXPECT_EQ(got.bytes, big.size());
  });
}

// The rule the bug zoo's overlapped_reuse breaks: nothing stops a second request on an OVERLAPPED that is
// still pending; both IRPs write it and both packets carry the same pointer, so the application cannot tell
// them apart by the OVERLAPPED (and its status fields hold only the last completion's result).
TEST(SimIocp, OneOverlappedForTwoPendingRequestsComesBackTwice) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    std::string big(1 << 20, 'x');
    WSABUF buffer{static_cast<ULONG>(big.size()), big.data()};
    OVERLAPPED overlapped{};
    ASSERT_EQ(os.WSASend(pair.server, &buffer, 1, nullptr, 0, &overlapped), SOCKET_ERROR_);
    ASSERT_EQ(os.WSAGetLastError(), WSA::IO_PENDING);
    char received[16];
    ASSERT_EQ(recv_into(os, pair.server, received, sizeof received, &overlapped), SOCKET_ERROR_);
    ASSERT_EQ(os.WSAGetLastError(), WSA::IO_PENDING);
    send_text(os, pair.client, "abc");
    const Got first = get(os, pair.port, INFINITE_);  // the receive: the send still waits for the client
    std::vector<char> sink(65536);
    for (std::size_t drained = 0; drained < big.size();) {
      const long got = os.recv(static_cast<int>(pair.client), sink.data(), sink.size(), 0);
      ASSERT_GT(got, 0);
      drained += static_cast<std::size_t>(got);
    }
    const Got second = get(os, pair.port, INFINITE_);
    EXPECT_EQ(first.overlapped, &overlapped);
    EXPECT_EQ(second.overlapped, &overlapped);
    EXPECT_EQ(first.bytes, 3u);
    EXPECT_EQ(second.bytes, big.size());
    EXPECT_EQ(overlapped.InternalHigh, big.size());  // the last writer's count
  });
}

TEST(SimIocp, ConnectExNeedsABoundSocket) {
  run_sim(1, [](Os& os) {
    SockAddr addr;
    const SOCKET listener = bound_listener(os, &addr);
    const SOCKET s = overlapped_socket(os);
    HANDLE port = os.CreateIoCompletionPort(reinterpret_cast<HANDLE>(s), nullptr, 5, 1);
    OVERLAPPED overlapped{};
    DWORD sent = 0;
    EXPECT_FALSE(os.ConnectEx(s, addr, "hey", 3, &sent, &overlapped));
    EXPECT_EQ(os.WSAGetLastError(), WSA::INVAL);
    ASSERT_EQ(os.bind(static_cast<int>(s), SockAddr{any_ip, 0}), 0);
    const BOOL at_once = os.ConnectEx(s, addr, "hey", 3, &sent, &overlapped);
    if (!at_once) {
      EXPECT_EQ(os.GetLastError(), Error::IO_PENDING);
    }
    const Got got = get(os, port, INFINITE_);  // immediate or not, the completion reaches the port
    EXPECT_TRUE(got.ok);
    EXPECT_EQ(got.bytes, 3u);
    const int server = os.accept4(static_cast<int>(listener), nullptr, 0);
    char buffer[4];
    EXPECT_EQ(os.recv(server, buffer, sizeof buffer, 0), 3);
  });
}

TEST(SimIocp, ConnectExPendsOverLatencyAndReportsRefusal) {
  SimConfig config;
  config.kernel.latency_ns = 1'000'000;
  SimOs os(config);
  const SimOutcome outcome = os.run([&] {
    SockAddr addr;
    const SOCKET listener = bound_listener(os, &addr);
    const SOCKET s = overlapped_socket(os);
    HANDLE port = os.CreateIoCompletionPort(reinterpret_cast<HANDLE>(s), nullptr, 5, 1);
    ASSERT_EQ(os.bind(static_cast<int>(s), SockAddr{any_ip, 0}), 0);
    OVERLAPPED overlapped{};
    EXPECT_FALSE(os.ConnectEx(s, addr, nullptr, 0, nullptr, &overlapped));
    EXPECT_EQ(os.GetLastError(), Error::IO_PENDING);
    EXPECT_TRUE(get(os, port, INFINITE_).ok);
    os.closesocket(listener);
    const SOCKET refused = overlapped_socket(os);
    HANDLE other = os.CreateIoCompletionPort(reinterpret_cast<HANDLE>(refused), nullptr, 6, 1);
    ASSERT_EQ(os.bind(static_cast<int>(refused), SockAddr{any_ip, 0}), 0);
    EXPECT_FALSE(os.ConnectEx(refused, addr, nullptr, 0, nullptr, &overlapped));
    EXPECT_EQ(os.GetLastError(), Error::IO_PENDING);
    const Got got = get(os, other, INFINITE_);
    EXPECT_FALSE(got.ok);
    EXPECT_EQ(got.error, Error::CONNECTION_REFUSED);
    DWORD transferred = 0, flags = 0;
    EXPECT_FALSE(os.WSAGetOverlappedResult(refused, &overlapped, &transferred, FALSE_, &flags));
    EXPECT_EQ(os.WSAGetLastError(), WSA::CONNREFUSED);
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed) << outcome.run.failure;
}

// A small IOCP echo (a worker pool of 2 on a port of concurrency 1, AcceptEx, WSARecv, WSASend) replays
// bit for bit: the same seed gives the same trace-hash.
std::uint64_t echo_hash(std::uint64_t seed) {
  SimConfig config;
  config.seed = seed;
  SimOs os(config);
  const SimOutcome outcome = os.run([&] {
    SockAddr addr;
    const SOCKET listener = bound_listener(os, &addr);
    HANDLE port = os.CreateIoCompletionPort(reinterpret_cast<HANDLE>(listener), nullptr, 1, 1);
    const SOCKET accepted = overlapped_socket(os);
    char buffer[32];
    OVERLAPPED accept_io{}, read_io{}, write_io{};
    DWORD bytes = 0;
    os.AcceptEx(listener, accepted, buffer, 0, 32, 32, &bytes, &accept_io);
    auto worker = os.thread_create("worker", [&] {
      for (;;) {
        const Got got = get(os, port, INFINITE_);
        if (got.key == 0) return;  // the stop packet
        if (got.overlapped == &accept_io) {
          os.CreateIoCompletionPort(reinterpret_cast<HANDLE>(accepted), port, 2, 0);
          recv_into(os, accepted, buffer, sizeof buffer, &read_io);
        } else if (got.overlapped == &read_io && got.bytes > 0) {
          WSABUF echo{got.bytes, buffer};
          os.WSASend(accepted, &echo, 1, nullptr, 0, &write_io);
        }
      }
    });
    const SOCKET client = overlapped_socket(os);
    EXPECT_EQ(os.connect(static_cast<int>(client), addr), 0);
    send_text(os, client, "echo me");
    char reply[16];
    EXPECT_EQ(os.recv(static_cast<int>(client), reply, sizeof reply, 0), 7);
    os.PostQueuedCompletionStatus(port, 0, 0, nullptr);
    worker->join();
  });
  EXPECT_EQ(outcome.run.outcome, sim::RunResult::Outcome::completed) << outcome.run.failure;
  return outcome.trace_hash;
}

TEST(SimIocp, AnEchoOverIocpIsDeterministicPerSeed) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed)
    EXPECT_EQ(echo_hash(seed), echo_hash(seed)) << "seed " << seed;
}

TEST(SimIocp, ImmediateFailureQueuesNoPacket) {
  run_sim(1, [](Os& os) {
    const Pair pair = connected_pair(os);
    os.set_linger(static_cast<int>(pair.client), true, 0);
    os.closesocket(pair.client);
    os.sleep_for(1'000'000);
    char buffer[8];
    OVERLAPPED overlapped{};
    EXPECT_EQ(recv_into(os, pair.server, buffer, sizeof buffer, &overlapped), SOCKET_ERROR_);
    EXPECT_EQ(os.WSAGetLastError(), WSA::CONNRESET);
    EXPECT_EQ(get(os, pair.port, 0).error, Error::WAIT_TIMEOUT_);
  });
}

}  // namespace
}  // namespace iosim
