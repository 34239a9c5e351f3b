#include "diego/base/status_macros.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::Pointee;

absl::Status ReturnIfError(absl::Status status, int* reached) {
  DIEGO_RETURN_IF_ERROR(status);
  ++*reached;
  return absl::OkStatus();
}

TEST(ReturnIfErrorTest, ContinuesOnOk) {
  int reached = 0;
  EXPECT_THAT(ReturnIfError(absl::OkStatus(), &reached), IsOk());
  EXPECT_EQ(reached, 1);
}

TEST(ReturnIfErrorTest, ReturnsTheErrorUnchanged) {
  int reached = 0;
  EXPECT_THAT(ReturnIfError(absl::NotFoundError("task 't1' not found"), &reached),
              StatusIs(absl::StatusCode::kNotFound, "task 't1' not found"));
  EXPECT_EQ(reached, 0);
}

TEST(ReturnIfErrorTest, EvaluatesItsArgumentOnce) {
  int calls = 0;
  auto fail = [&calls] {
    ++calls;
    return absl::InternalError("boom");
  };
  auto run = [&]() -> absl::Status {
    DIEGO_RETURN_IF_ERROR(fail());
    return absl::OkStatus();
  };
  EXPECT_THAT(run(), StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(calls, 1);
}

TEST(ReturnIfErrorTest, WorksInFunctionsReturningStatusOr) {
  auto run = [](absl::Status status) -> absl::StatusOr<int> {
    DIEGO_RETURN_IF_ERROR(status);
    return 7;
  };
  EXPECT_THAT(run(absl::OkStatus()), IsOk());
  EXPECT_THAT(run(absl::AbortedError("conflict")), StatusIs(absl::StatusCode::kAborted));
}

TEST(ReturnIfErrorTest, IsASingleStatementUnderAnUnbracedIf) {
  auto run = [](bool check) -> absl::Status {
    if (check)
      DIEGO_RETURN_IF_ERROR(absl::CancelledError("stopped"));
    else
      return absl::OkStatus();
    return absl::UnknownError("unreachable when check is true");
  };
  EXPECT_THAT(run(true), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(run(false), IsOk());
}

absl::StatusOr<std::string> Greeting(bool ok) {
  if (!ok) {
    return absl::InvalidArgumentError("no greeting");
  }
  return std::string("hello");
}

TEST(AssignOrReturnTest, DeclaresAndAssignsTheValue) {
  auto run = []() -> absl::StatusOr<std::size_t> {
    DIEGO_ASSIGN_OR_RETURN(std::string greeting, Greeting(true));
    return greeting.size();
  };
  absl::StatusOr<std::size_t> result = run();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(*result, 5u);
}

TEST(AssignOrReturnTest, ReturnsTheErrorAndSkipsTheRest) {
  bool reached = false;
  auto run = [&reached]() -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(std::string greeting, Greeting(false));
    reached = true;
    return absl::OkStatus();
  };
  EXPECT_THAT(run(), StatusIs(absl::StatusCode::kInvalidArgument, "no greeting"));
  EXPECT_FALSE(reached);
}

TEST(AssignOrReturnTest, AssignsToAnExistingLvalue) {
  std::string target = "before";
  auto run = [&target]() -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(target, Greeting(true));
    return absl::OkStatus();
  };
  EXPECT_THAT(run(), IsOk());
  EXPECT_EQ(target, "hello");
}

TEST(AssignOrReturnTest, MovesMoveOnlyValues) {
  auto make = []() -> absl::StatusOr<std::unique_ptr<int>> { return std::make_unique<int>(42); };
  std::unique_ptr<int> out;
  auto run = [&]() -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(out, make());
    return absl::OkStatus();
  };
  EXPECT_THAT(run(), IsOk());
  EXPECT_THAT(out, Pointee(42));
}

TEST(AssignOrReturnTest, CanBeUsedTwiceInOneFunction) {
  auto run = []() -> absl::StatusOr<std::string> {
    DIEGO_ASSIGN_OR_RETURN(std::string a, Greeting(true));
    DIEGO_ASSIGN_OR_RETURN(auto b, Greeting(true));
    return a + " " + b;
  };
  absl::StatusOr<std::string> result = run();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(*result, "hello hello");
}

}  // namespace
}  // namespace diego
