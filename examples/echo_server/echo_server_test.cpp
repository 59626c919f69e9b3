// examples/echo_server/echo_server_test.cpp — the echo server tested on simulated worlds: IOSIM_TEST over
// seeds and strategies, an iosim::check property over messages and schedules, and the racy variant's bug
// found by exploring seeds with iosim::run_world.
#include "echo_server.hpp"

#include <iosim/sim.hpp>
#include <iosim/testing.hpp>
#include <string>
#include <vector>

namespace {

std::vector<char> message_of(std::size_t size, char first) {
  std::vector<char> message(size);
  for (std::size_t i = 0; i < size; ++i) message[i] = static_cast<char>(first + static_cast<char>(i % 23));
  return message;
}

// Three clients at once, each in its own thread; every client must get back exactly what it sent.
void three_clients(iosim::Os& os, echo::EchoServer& server, iosim::SockAddr address) {
  std::vector<std::vector<char>> received(3);
  std::vector<std::unique_ptr<iosim::Thread>> clients;
  for (std::size_t c = 0; c < 3; ++c) {
    clients.push_back(os.thread_create("client", [&, c] {
      received[c] = echo::echo_round_trip(os, address, message_of(1000 + c, static_cast<char>('a' + c)), 300);
    }));
  }
  for (auto& client : clients) client->join();
  server.wait();
  for (std::size_t c = 0; c < 3; ++c)
    EXPECT_EQ(received[c], message_of(1000 + c, static_cast<char>('a' + c)));
  EXPECT_EQ(server.bytes_echoed(), 1000u + 1001u + 1002u);
}

// The body runs as the main task of a simulated world, once per seed (100 by default; IOSIM_SEEDS=N,
// IOSIM_SEED=N and IOSIM_STRATEGY=random|rr|pct override).
IOSIM_TEST(EchoServer, EchoesEveryByteToEveryClient) {
  echo::EchoServer server(os, {.connections = 3});
  const iosim::SockAddr address = server.start();
  ASSERT_NE(address.port, 0);
  three_clients(os, server, address);
}

// The same under PCT with 50 us of loopback latency, over 200 seeds.
IOSIM_TEST_WITH(EchoServer, EchoesUnderLatencyWithPct,
                {.seeds = 200, .world = {.strategy = "pct", .pct_steps = 400, .latency_ns = 50'000}}) {
  echo::EchoServer server(os, {.connections = 3});
  const iosim::SockAddr address = server.start();
  ASSERT_NE(address.port, 0);
  three_clients(os, server, address);
}

// rapidcheck draws the messages and the world seed together and shrinks both when the property fails.
TEST(EchoServer, EchoesAnyMessagesOnAnySchedule) {
  iosim::check("any messages, any schedule", [](iosim::Os& os, const std::vector<std::string>& messages) {
    const std::size_t count = std::min<std::size_t>(messages.size(), 4);
    echo::EchoServer server(os, {.connections = static_cast<int>(count)});
    const iosim::SockAddr address = server.start();
    RC_ASSERT(address.port != 0);
    std::vector<std::vector<char>> received(count);
    std::vector<std::unique_ptr<iosim::Thread>> clients;
    for (std::size_t c = 0; c < count; ++c) {
      clients.push_back(os.thread_create("client", [&, c] {
        const std::vector<char> message(messages[c].begin(), messages[c].end());
        received[c] = echo::echo_round_trip(os, address, message, 7);
      }));
    }
    for (auto& client : clients) client->join();
    server.wait();
    for (std::size_t c = 0; c < count; ++c) {
      RC_ASSERT(std::string(received[c].begin(), received[c].end()) == messages[c]);
    }
  });
}

// The racy variant loses byte counts under some interleavings. Exploring seeds with iosim::run_world must
// find one, and replaying that seed must give the same run (the same trace-hash, the same wrong count).
TEST(RacyEchoServer, ExploringSeedsFindsTheLostUpdate) {
  auto run = [](std::uint64_t seed, std::uint64_t* counted) {
    return iosim::run_world({.seed = seed}, [counted](iosim::Os& os) {
      echo::EchoServer server(os, {.connections = 2, .racy_byte_count = true});
      const iosim::SockAddr address = server.start();
      auto other =
          os.thread_create("client", [&] { echo::echo_round_trip(os, address, message_of(500, 'x'), 50); });
      echo::echo_round_trip(os, address, message_of(500, 'y'), 50);
      other->join();
      server.wait();
      *counted = server.bytes_echoed();
    });
  };
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    std::uint64_t counted = 0;
    const iosim::WorldResult result = run(seed, &counted);
    ASSERT_TRUE(result.passed()) << result.summary();
    if (counted == 1000) continue;
    std::uint64_t replayed_count = 0;
    EXPECT_EQ(run(seed, &replayed_count).trace_hash, result.trace_hash) << "seed " << seed;
    EXPECT_EQ(replayed_count, counted);
    std::printf("the lost update shows at seed %llu: %llu of 1000 bytes counted, trace-hash %s\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(counted),
                result.trace_hash_hex().c_str());
    return;
  }
  ADD_FAILURE() << "no seed in 1..200 exposed the racy byte count";
}

}  // namespace

namespace {

// The racy count as an IOSIM_TEST: it fails on some seeds. DISABLED_ keeps it out of this project's ctest run;
// iosim's walkthrough (tests/example_walkthrough.cmake) runs it with --gtest_also_run_disabled_tests and
// IOSIM_ARTIFACTS to show what a failing seed leaves behind (docs/your-own-server.md).
IOSIM_TEST_SEEDS(RacyEchoServer, DISABLED_CountsEveryByte, 300) {
  echo::EchoServer server(os, {.connections = 2, .racy_byte_count = true});
  const iosim::SockAddr address = server.start();
  ASSERT_NE(address.port, 0);
  auto other = os.thread_create("client", [&] { echo::echo_round_trip(os, address, message_of(500, 'x'), 50); });
  echo::echo_round_trip(os, address, message_of(500, 'y'), 50);
  other->join();
  server.wait();
  EXPECT_EQ(server.bytes_echoed(), 1000u);
}

}  // namespace
