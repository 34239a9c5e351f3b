#include "diego/testing/status_matchers.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"

namespace diego::fakes {
namespace {

using ::testing::DescribeMatcher;
using ::testing::HasSubstr;
using ::testing::Matcher;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::StringMatchResultListener;

// Returns the explanation `matcher` gives for `value`.
template <typename T, typename M>
std::string Explain(const M& matcher, const T& value) {
  StringMatchResultListener listener;
  ::testing::ExplainMatchResult(matcher, value, &listener);
  return listener.str();
}

TEST(IsOkTest, MatchesOkStatusAndStatusOrWithValue) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(absl::StatusOr<int>(3), IsOk());
}

TEST(IsOkTest, RejectsErrorsAndExplainsThem) {
  EXPECT_THAT(absl::NotFoundError("gone"), Not(IsOk()));
  EXPECT_THAT(absl::StatusOr<int>(absl::InternalError("x")), Not(IsOk()));
  EXPECT_EQ(Explain(IsOk(), absl::NotFoundError("gone")), "which is NOT_FOUND: gone");
}

TEST(IsOkTest, DescribesItself) {
  EXPECT_EQ(DescribeMatcher<absl::Status>(IsOk()), "is OK");
  EXPECT_EQ(DescribeMatcher<absl::Status>(IsOk(), /*negation=*/true), "is not OK");
}

TEST(StatusIsTest, MatchesTheCode) {
  EXPECT_THAT(absl::NotFoundError("gone"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(absl::StatusOr<std::string>(absl::AbortedError("conflict")),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(absl::StatusOr<int>(5), StatusIs(absl::StatusCode::kOk));
}

TEST(StatusIsTest, RejectsAnotherCode) {
  EXPECT_THAT(absl::NotFoundError("gone"), Not(StatusIs(absl::StatusCode::kInternal)));
  EXPECT_THAT(absl::StatusOr<int>(5), Not(StatusIs(absl::StatusCode::kNotFound)));
  EXPECT_EQ(Explain(StatusIs(absl::StatusCode::kInternal), absl::NotFoundError("gone")),
            "which is NOT_FOUND: gone");
}

TEST(StatusIsTest, MatchesCodeAndExactMessage) {
  const absl::Status status = absl::InvalidArgumentError("process_guid is empty");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, "process_guid is empty"));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kInvalidArgument, "process_guid")));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kNotFound, "process_guid is empty")));
}

TEST(StatusIsTest, MatchesMessageWithAMatcher) {
  const absl::StatusOr<int> result = absl::InvalidArgumentError("process_guid is empty");
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("process_guid")));
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("process")));
  EXPECT_THAT(result, Not(StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("domain"))));
}

TEST(StatusIsTest, FailureMessageShowsTheActualStatus) {
  EXPECT_NONFATAL_FAILURE(
      EXPECT_THAT(absl::UnavailableError("refused"), StatusIs(absl::StatusCode::kOk)),
      "which is UNAVAILABLE: refused");
}

TEST(StatusMacrosTest, ExpectOkPassesAndFails) {
  EXPECT_OK(absl::OkStatus());
  EXPECT_OK(absl::StatusOr<int>(1));
  EXPECT_NONFATAL_FAILURE(EXPECT_OK(absl::InternalError("boom")), "INTERNAL: boom");
}

TEST(StatusMacrosTest, AssertOkFailsFatally) {
  EXPECT_FATAL_FAILURE(ASSERT_OK(absl::DataLossError("corrupt")), "DATA_LOSS: corrupt");
}

absl::StatusOr<std::unique_ptr<int>> MakeInt(bool ok) {
  if (!ok) {
    return absl::ResourceExhaustedError("no memory");
  }
  return std::make_unique<int>(9);
}

TEST(AssertOkAndAssignTest, DeclaresTheValue) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<int> value, MakeInt(true));
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 9);
}

TEST(AssertOkAndAssignTest, AssignsToAnExistingVariable) {
  std::unique_ptr<int> value;
  ASSERT_OK_AND_ASSIGN(value, MakeInt(true));
  EXPECT_EQ(*value, 9);
}

void AssignFromError() {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<int> value, MakeInt(false));
  (void)value;
}

TEST(AssertOkAndAssignTest, FailsFatallyOnError) {
  EXPECT_FATAL_FAILURE(AssignFromError(), "RESOURCE_EXHAUSTED: no memory");
}

TEST(StatusMatchersTest, WorkAsPolymorphicMatchers) {
  Matcher<absl::Status> status_matcher = StatusIs(absl::StatusCode::kCancelled, "stop");
  Matcher<const absl::StatusOr<std::string>&> status_or_matcher =
      StatusIs(absl::StatusCode::kCancelled, "stop");
  EXPECT_TRUE(status_matcher.Matches(absl::CancelledError("stop")));
  EXPECT_TRUE(status_or_matcher.Matches(absl::CancelledError("stop")));
  EXPECT_FALSE(status_or_matcher.Matches(std::string("value")));
}

}  // namespace
}  // namespace diego::fakes
