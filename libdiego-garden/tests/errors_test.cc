#include "diego/garden/errors.h"

#include <string>

#include "absl/status/status.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::garden {
namespace {

using ::diego::fakes::StatusIs;

TEST(ErrorsTest, ContainerNotFoundUsesGardensMessageCodeAndPayloads) {
  absl::Status s = ContainerNotFoundError("app-1");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, "unknown handle: app-1"));
  EXPECT_TRUE(HasErrorType(s, kContainerNotFoundErrorType));
  EXPECT_FALSE(HasErrorType(s, kProcessNotFoundErrorType));
  ErrorInfo info = GetErrorInfo(s);
  EXPECT_EQ(info.type, "ContainerNotFoundError");
  EXPECT_EQ(info.message, "unknown handle: app-1");
  EXPECT_EQ(info.handle, "app-1");
  EXPECT_EQ(info.process_id, "");
  EXPECT_EQ(HttpStatusFor(s), 404);
}

TEST(ErrorsTest, ProcessNotFoundUsesGardensMessageCodeAndPayloads) {
  absl::Status s = ProcessNotFoundError("proc-9");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, "unknown process: proc-9"));
  EXPECT_TRUE(HasErrorType(s, kProcessNotFoundErrorType));
  ErrorInfo info = GetErrorInfo(s);
  EXPECT_EQ(info.type, "ProcessNotFoundError");
  EXPECT_EQ(info.process_id, "proc-9");
  EXPECT_EQ(info.handle, "");
  EXPECT_EQ(HttpStatusFor(s), 404);
}

TEST(ErrorsTest, MessageTypedErrorsKeepTheMessageAsIs) {
  const std::string msg = "exec: \"nope\": executable file not found in $PATH";
  absl::Status exe = ExecutableNotFoundError(msg);
  EXPECT_THAT(exe, StatusIs(absl::StatusCode::kFailedPrecondition, msg));
  EXPECT_TRUE(HasErrorType(exe, kExecutableNotFoundErrorType));
  EXPECT_EQ(HttpStatusFor(exe), 500);

  absl::Status unavailable = ServiceUnavailableError("garden is draining");
  EXPECT_THAT(unavailable, StatusIs(absl::StatusCode::kUnavailable, "garden is draining"));
  EXPECT_TRUE(HasErrorType(unavailable, kServiceUnavailableErrorType));
  EXPECT_EQ(HttpStatusFor(unavailable), 503);

  absl::Status unrecoverable = UnrecoverableError("depot corrupt");
  EXPECT_THAT(unrecoverable, StatusIs(absl::StatusCode::kInternal, "depot corrupt"));
  EXPECT_TRUE(HasErrorType(unrecoverable, kUnrecoverableErrorType));
  EXPECT_EQ(HttpStatusFor(unrecoverable), 500);
  EXPECT_EQ(GetErrorInfo(unrecoverable).type, "UnrecoverableError");
}

TEST(ErrorsTest, PlainErrorsHaveNoTypeAndMapByCode) {
  EXPECT_EQ(GetErrorInfo(absl::InternalError("boom")).type, "");
  EXPECT_EQ(GetErrorInfo(absl::InternalError("boom")).message, "boom");
  EXPECT_FALSE(HasErrorType(absl::InternalError("boom"), kUnrecoverableErrorType));
  EXPECT_FALSE(HasErrorType(absl::OkStatus(), kContainerNotFoundErrorType));

  EXPECT_EQ(HttpStatusFor(absl::OkStatus()), 200);
  EXPECT_EQ(HttpStatusFor(absl::InvalidArgumentError("x")), 400);
  EXPECT_EQ(HttpStatusFor(absl::NotFoundError("x")), 404);
  EXPECT_EQ(HttpStatusFor(absl::AlreadyExistsError("Handle 'a' already in use")), 409);
  EXPECT_EQ(HttpStatusFor(absl::ResourceExhaustedError("max containers reached")), 503);
  EXPECT_EQ(HttpStatusFor(absl::UnavailableError("x")), 503);
  EXPECT_EQ(HttpStatusFor(absl::DeadlineExceededError("x")), 504);
  EXPECT_EQ(HttpStatusFor(absl::InternalError("x")), 500);
  EXPECT_EQ(HttpStatusFor(absl::FailedPreconditionError("x")), 500);
  EXPECT_EQ(HttpStatusFor(absl::UnknownError("x")), 500);
}

TEST(ErrorsTest, TypedErrorsSurviveARoundTripThroughErrorInfo) {
  const absl::Status originals[] = {
      ContainerNotFoundError("h1"),
      ProcessNotFoundError("p1"),
      ExecutableNotFoundError("exec: \"x\": executable file not found in $PATH"),
      ServiceUnavailableError("busy"),
      UnrecoverableError("broken"),
  };
  for (const absl::Status& original : originals) {
    SCOPED_TRACE(original.ToString());
    absl::Status back = FromErrorInfo(GetErrorInfo(original), HttpStatusFor(original));
    EXPECT_EQ(back.code(), original.code());
    EXPECT_EQ(back.message(), original.message());
    EXPECT_EQ(GetErrorInfo(back).type, GetErrorInfo(original).type);
    EXPECT_EQ(GetErrorInfo(back).handle, GetErrorInfo(original).handle);
    EXPECT_EQ(GetErrorInfo(back).process_id, GetErrorInfo(original).process_id);
  }
}

TEST(ErrorsTest, NotFoundErrorsAreRebuiltFromTheirIdentifiersLikeGardensClient) {
  // Garden's client rebuilds ContainerNotFoundError from Handle alone.
  absl::Status s = FromErrorInfo(
      {.type = "ContainerNotFoundError", .message = "whatever", .handle = "h2"}, 404);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, "unknown handle: h2"));
  EXPECT_TRUE(HasErrorType(s, kContainerNotFoundErrorType));

  absl::Status p = FromErrorInfo(
      {.type = "ProcessNotFoundError", .message = "x", .process_id = "p2"}, 404);
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kNotFound, "unknown process: p2"));
}

TEST(ErrorsTest, TypedErrorCodeWinsOverHttpStatus) {
  absl::Status s = FromErrorInfo({.type = "UnrecoverableError", .message = "bad"}, 404);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInternal, "bad"));
  EXPECT_TRUE(HasErrorType(s, kUnrecoverableErrorType));
}

TEST(ErrorsTest, PlainOrUnknownTypesTakeTheirCodeFromTheHttpStatus) {
  EXPECT_THAT(FromErrorInfo({.message = "nf"}, 404), StatusIs(absl::StatusCode::kNotFound, "nf"));
  EXPECT_THAT(FromErrorInfo({.message = "busy"}, 503),
              StatusIs(absl::StatusCode::kUnavailable, "busy"));
  EXPECT_THAT(FromErrorInfo({.message = "bad"}, 400),
              StatusIs(absl::StatusCode::kInvalidArgument, "bad"));
  EXPECT_THAT(FromErrorInfo({.message = "dup"}, 409),
              StatusIs(absl::StatusCode::kAlreadyExists, "dup"));
  EXPECT_THAT(FromErrorInfo({.message = "slow"}, 504),
              StatusIs(absl::StatusCode::kDeadlineExceeded, "slow"));
  EXPECT_THAT(FromErrorInfo({.message = "boom"}, 500),
              StatusIs(absl::StatusCode::kUnknown, "boom"));
  absl::Status future = FromErrorInfo({.type = "SomeFutureError", .message = "new"}, 500);
  EXPECT_THAT(future, StatusIs(absl::StatusCode::kUnknown, "new"));
  EXPECT_EQ(GetErrorInfo(future).type, "");
}

TEST(ErrorsTest, GetErrorInfoOfOkIsEmpty) {
  ErrorInfo info = GetErrorInfo(absl::OkStatus());
  EXPECT_EQ(info.type, "");
  EXPECT_EQ(info.message, "");
}

}  // namespace
}  // namespace diego::garden
