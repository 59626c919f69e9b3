// tests/choice_shrink_test.cpp — sim::shrink_choices, the algorithm behind `iosim shrink` and
// IOSIM_ARTIFACTS: the result still fails, is as small as the failure allows, and the replay budget is kept.
#include "sim/choice_shrink.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace iosim::sim {
namespace {

using Choices = std::vector<std::uint32_t>;

// Choice i of `choices`, or the default 0 past its end (as a replay reads it).
std::uint32_t at(const Choices& choices, std::size_t i) {
  return i < choices.size() ? choices[i] : 0;
}

TEST(ShrinkChoices, KeepsOnlyTheChoicesTheFailureNeeds) {
  // Fails when choice 5 is 3 and choice 9 is non-zero: everything else is noise.
  const Choices recorded = {1, 2, 1, 1, 2, 3, 1, 2, 1, 1, 2, 1, 2, 1, 1, 2};
  int calls = 0;
  const StillFails still_fails = [&](const Choices& choices) {
    ++calls;
    return at(choices, 5) == 3 && at(choices, 9) != 0;
  };
  const ShrinkResult result = shrink_choices(recorded, still_fails, 1000);
  EXPECT_TRUE(still_fails(result.choices));
  EXPECT_EQ(result.choices, (Choices{0, 0, 0, 0, 0, 3, 0, 0, 0, 1}));
  EXPECT_EQ(non_default_choices(result.choices), 2u);
  EXPECT_EQ(result.runs, calls - 1);
  EXPECT_FALSE(result.budget_reached);
}

TEST(ShrinkChoices, AFailureOfTheDefaultScheduleShrinksToNothing) {
  const ShrinkResult result = shrink_choices(
      {2, 1, 3}, [](const Choices&) { return true; }, 1000);
  EXPECT_TRUE(result.choices.empty());
}

TEST(ShrinkChoices, StopsAtTheReplayBudgetWithAFailingLog) {
  Choices recorded(512, 1);
  recorded[300] = 2;
  const StillFails still_fails = [](const Choices& choices) { return at(choices, 300) == 2; };
  const ShrinkResult result = shrink_choices(recorded, still_fails, 5);
  EXPECT_TRUE(result.budget_reached);
  EXPECT_LE(result.runs, 6);  // run_max, plus the re-check of the prefix the search settled on
  EXPECT_TRUE(still_fails(result.choices));
  EXPECT_LE(result.choices.size(), recorded.size());
}

TEST(ShrinkChoices, NonDefaultChoicesCountsTheNonZeros) {
  EXPECT_EQ(non_default_choices({}), 0u);
  EXPECT_EQ(non_default_choices({0, 2, 0, 1}), 2u);
}

}  // namespace
}  // namespace iosim::sim
