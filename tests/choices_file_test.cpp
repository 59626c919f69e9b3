// tests/choices_file_test.cpp — the .choices format: a round trip, and every malformed input rejected with
// its file and line (never a crash).
#include <gtest/gtest.h>

#include "sim/choices_file.hpp"

namespace iosim {
namespace {

TEST(ChoicesFile, RoundTrips) {
  ChoicesFile file{"scenarios/echo_select.json", 42, "replay", {}};
  for (std::uint32_t i = 0; i < 100; ++i) file.choices.push_back(i % 3);
  Result<ChoicesFile> parsed = parse_choices_file(format_choices_file(file), "x.choices");
  ASSERT_TRUE(parsed) << parsed.status().message();
  EXPECT_EQ(parsed.value().scenario, file.scenario);
  EXPECT_EQ(parsed.value().seed, 42u);
  EXPECT_EQ(parsed.value().choices, file.choices);
}

struct Malformed {
  const char* name;
  std::string text;
  const char* message;
};

class ChoicesFileRejects : public ::testing::TestWithParam<Malformed> {};

TEST_P(ChoicesFileRejects, WithFileAndLine) {
  Result<ChoicesFile> parsed = parse_choices_file(GetParam().text, "bad.choices");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.status().message().find(GetParam().message), std::string::npos) << parsed.status().message();
  EXPECT_EQ(parsed.status().message().rfind("bad.choices:", 0), 0u) << parsed.status().message();
}

const std::string good_head = "# iosim choices v1\nscenario s.json\nseed 1\nstrategy replay\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, ChoicesFileRejects,
    ::testing::Values(Malformed{"Empty", "", ":1: empty file"},
                      Malformed{"NotOurs", "\x7f" "ELF garbage\n", ":1: not an iosim choices file"},
                      Malformed{"TruncatedHeader", "# iosim choices v1\nscenario s.json\n", ":3: truncated header"},
                      Malformed{"BadSeed", "# iosim choices v1\nscenario s.json\nseed -4\nstrategy r\nchoices 0\n",
                                ":3: expected an unsigned integer"},
                      Malformed{"MissingKey", "# iosim choices v1\nscenario s.json\nsed 4\nstrategy r\nchoices 0\n",
                                ":3: expected \"seed <value>\""},
                      Malformed{"BadChoice", good_head + "choices 2\n0 x\n", ":6: expected an unsigned integer"},
                      Malformed{"HugeChoice", good_head + "choices 1\n99999999\n", ":6: choice 99999999 is out of range"},
                      Malformed{"Truncated", good_head + "choices 3\n0 1\n", "announces 3 choices but the file holds 2"}),
    [](const ::testing::TestParamInfo<Malformed>& test) { return test.param.name; });

}  // namespace
}  // namespace iosim
