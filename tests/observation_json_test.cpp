// tests/observation_json_test.cpp — Observation::from_json (how `--backend windows` reads the Windows
// runner's answer) against to_json, its errors, and compare_observations naming the backend it compared with.
#include <gtest/gtest.h>

#include "scenarios/workload.hpp"
#include "tools/driver.hpp"

namespace iosim {
namespace {

Observation two_clients() {
  Observation observation;
  observation.workload = WorkloadKind::http;
  observation.server_error = "accept4: EMFILE";
  observation.clients.push_back({1, 100, 90, false, "recv: ECONNRESET", 0xfedcba9876543210ULL, true});
  observation.clients.push_back({2, 7, 7, true, "", 0x1ULL, false});
  return observation;
}

TEST(ObservationJson, FromJsonInvertsToJson) {
  const Observation original = two_clients();
  const Result<Observation> parsed = Observation::from_json(original.to_json());
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->to_json(), original.to_json());
  EXPECT_EQ(parsed->workload, WorkloadKind::http);
  EXPECT_EQ(parsed->clients.at(0).transcript_hash, 0xfedcba9876543210ULL);  // above 2^53: carried as hex text
  EXPECT_EQ(parsed->clients.at(1).connected, false);
  EXPECT_TRUE(compare_observations(original, *parsed).empty());
}

TEST(ObservationJson, ErrorsNameTheField) {
  nlohmann::json json = two_clients().to_json();
  json["clients"][1].erase("bytes_sent");
  EXPECT_EQ(Observation::from_json(json).error(), "observation.clients[1]: missing field \"bytes_sent\"");
  json = two_clients().to_json();
  json["clients"][0]["transcript_hash"] = "12";
  EXPECT_EQ(Observation::from_json(json).error(),
            "observation.clients[0].transcript_hash: \"12\" is not 16 hex digits");
  json = two_clients().to_json();
  json["server_error"] = 3;
  EXPECT_EQ(Observation::from_json(json).error(), "observation.server_error: wrong type (number)");
  json = two_clients().to_json();
  json["workload"] = "ftp";
  EXPECT_EQ(Observation::from_json(json).error(), "observation.workload: unknown kind \"ftp\"");
  EXPECT_FALSE(Observation::from_json(nlohmann::json::array()));
}

TEST(ObservationJson, DifferencesNameTheComparedBackend) {
  const Observation simulated = two_clients();
  Observation native = two_clients();
  native.clients.at(1).bytes_received = 5;
  native.server_error = "";
  const std::vector<std::string> differences = compare_observations(simulated, native, "windows");
  ASSERT_EQ(differences.size(), 2u);
  EXPECT_EQ(differences[0], "server error: sim \"accept4: EMFILE\", windows \"\"");
  EXPECT_EQ(differences[1], "client-2 bytes_received: sim 7, windows 5");
}

}  // namespace
}  // namespace iosim
