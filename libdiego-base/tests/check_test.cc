#include "diego/base/check.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace diego {
namespace {

int CountingTrue(int* calls) {
  ++*calls;
  return true;
}

std::string Describe(int* calls) {
  ++*calls;
  return "described";
}

TEST(CheckTest, PassingCheckDoesNothingAndSkipsTheMessage) {
  int condition_calls = 0;
  int message_calls = 0;
  DIEGO_CHECK(CountingTrue(&condition_calls)) << Describe(&message_calls);
  EXPECT_EQ(condition_calls, 1);
  EXPECT_EQ(message_calls, 0);
}

TEST(CheckTest, PassingCheckOkEvaluatesOnce) {
  int calls = 0;
  auto ok = [&calls] {
    ++calls;
    return absl::OkStatus();
  };
  DIEGO_CHECK_OK(ok()) << "never printed";
  EXPECT_EQ(calls, 1);
}

TEST(CheckTest, WorksAsTheBodyOfAnUnbracedIfElse) {
  int branch = 0;
  bool flag = false;
  if (flag)
    DIEGO_CHECK(false) << "not reached";
  else
    branch = 2;
  EXPECT_EQ(branch, 2);
  if (!flag)
    DIEGO_CHECK_OK(absl::OkStatus());
  else
    branch = 3;
  EXPECT_EQ(branch, 2);
}

TEST(CheckDeathTest, FailingCheckPrintsLocationConditionAndMessage) {
  const int index = 7;
  EXPECT_DEATH(DIEGO_CHECK(index < 3) << "index " << index << " out of range",
               "check_test\\.cc:[0-9]+: DIEGO_CHECK failed: index < 3: index 7 out of range");
}

TEST(CheckDeathTest, FailingCheckWithoutMessagePrintsTheCondition) {
  int* dependency = nullptr;
  EXPECT_DEATH(DIEGO_CHECK(dependency != nullptr), "DIEGO_CHECK failed: dependency != nullptr");
}

TEST(CheckDeathTest, FailingCheckOkPrintsTheStatus) {
  EXPECT_DEATH(DIEGO_CHECK_OK(absl::InternalError("disk full")) << "opening store",
               "DIEGO_CHECK failed: absl::InternalError\\(\"disk full\"\\) is OK "
               "\\(INTERNAL: disk full\\): opening store");
}

}  // namespace
}  // namespace diego
