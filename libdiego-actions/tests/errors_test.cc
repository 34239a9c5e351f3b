// Copyright 2026 The libdiego Authors.

#include "diego/actions/errors.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::actions {
namespace {

TEST(ErrorsTest, CancelledIsNotDisplayable) {
  absl::Status s = CancelledError();
  EXPECT_EQ(s.message(), "cancelled");
  EXPECT_TRUE(IsCancelledError(s));
  EXPECT_FALSE(IsDisplayable(s));
  EXPECT_FALSE(IsEmittable(s));
}

TEST(ErrorsTest, ExceededGracefulShutdownIntervalIsNotDisplayable) {
  absl::Status s = ExceededGracefulShutdownIntervalError();
  EXPECT_EQ(s.message(), "exceeded graceful shutdown interval");
  EXPECT_TRUE(IsExceededGracefulShutdownInterval(s));
  EXPECT_FALSE(IsExceededGracefulShutdownInterval(absl::DeadlineExceededError("other")));
  EXPECT_FALSE(IsDisplayable(s));
}

TEST(ErrorsTest, EmittableErrorWrapsInnerOnANewLine) {
  absl::Status plain = EmittableError("Exited with status 1");
  EXPECT_EQ(plain.message(), "Exited with status 1");
  EXPECT_TRUE(IsEmittable(plain));
  EXPECT_EQ(EmittableMessage(plain), "Exited with status 1");

  absl::Status wrapped = EmittableError("Downloading app failed", absl::UnavailableError("EOF"));
  EXPECT_EQ(wrapped.message(), "Downloading app failed\nEOF");
  EXPECT_EQ(EmittableMessage(wrapped), "Downloading app failed");
  EXPECT_TRUE(IsDisplayable(wrapped));

  EXPECT_FALSE(IsEmittable(absl::InternalError("x")));
  EXPECT_EQ(EmittableMessage(absl::InternalError("x")), "");
  EXPECT_EQ(EmittableMessage(absl::OkStatus()), "");
}

TEST(ErrorsTest, EmittableMarkSurvivesCopies) {
  absl::Status a = EmittableError("boom");
  absl::Status b = a;
  EXPECT_TRUE(IsEmittable(b));
}

TEST(ErrorsTest, AggregateOfNothingOrOkIsOk) {
  EXPECT_TRUE(AggregateError({}).ok());
  EXPECT_TRUE(AggregateError({absl::OkStatus(), absl::OkStatus()}).ok());
}

TEST(ErrorsTest, AggregateJoinsDisplayableMessagesInOrder) {
  absl::Status agg = AggregateError({EmittableError("first"), absl::OkStatus(), CancelledError(),
                                     absl::InternalError("second"),
                                     ExceededGracefulShutdownIntervalError(),
                                     EmittableError("third")});
  EXPECT_EQ(agg.message(), "first; second; third");
  EXPECT_TRUE(IsEmittable(agg));
  EXPECT_EQ(EmittableMessage(agg), "first; third");
  EXPECT_TRUE(IsDisplayable(agg));
}

TEST(ErrorsTest, AggregateWithoutEmittableMembersIsNotEmittable) {
  absl::Status agg = AggregateError({absl::InternalError("a"), absl::InternalError("b")});
  EXPECT_EQ(agg.message(), "a; b");
  EXPECT_FALSE(IsEmittable(agg));
}

TEST(ErrorsTest, AggregateOfOnlyNonDisplayableKeepsTheFirst) {
  EXPECT_TRUE(IsCancelledError(AggregateError({CancelledError(), CancelledError()})));
  EXPECT_TRUE(IsExceededGracefulShutdownInterval(
      AggregateError({absl::OkStatus(), ExceededGracefulShutdownIntervalError(), CancelledError()})));
}

}  // namespace
}  // namespace diego::actions
