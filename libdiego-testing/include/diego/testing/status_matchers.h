// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: status_matchers.h
// -----------------------------------------------------------------------------
//
// gMock matchers for `absl::Status` and `absl::StatusOr<T>` (GoogleTest 1.12
// and Abseil 20220623 ship none):
//
//   EXPECT_THAT(store.Get("x"), IsOk());
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
//                                ::testing::HasSubstr("process_guid")));
//   ASSERT_OK_AND_ASSIGN(auto lrp, store.Get("x"));

#ifndef DIEGO_TESTING_STATUS_MATCHERS_H_
#define DIEGO_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace diego::fakes {
namespace status_matchers_internal {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace status_matchers_internal

// Matches an OK `Status` or a `StatusOr` holding a value.
MATCHER(IsOk, negation ? "is not OK" : "is OK") {
  const absl::Status& status = status_matchers_internal::GetStatus(arg);
  if (!status.ok()) {
    *result_listener << "which is " << status;
  }
  return status.ok();
}

// Matches a `Status` / `StatusOr` whose code is `code` and, in the two-argument
// form, whose message matches `message_matcher` (a string or a matcher).
MATCHER_P(StatusIs, code, "") {
  const absl::Status& status = status_matchers_internal::GetStatus(arg);
  *result_listener << "which is " << status;
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& status = status_matchers_internal::GetStatus(arg);
  *result_listener << "which is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

}  // namespace diego::fakes

#define DIEGO_TESTING_CONCAT_INNER_(x, y) x##y
#define DIEGO_TESTING_CONCAT_(x, y) DIEGO_TESTING_CONCAT_INNER_(x, y)

// Fails the test (ASSERT) unless `expr` is OK; otherwise moves its value into
// `lhs` (a declaration or an lvalue).
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                      \
  auto DIEGO_TESTING_CONCAT_(diego_statusor_, __LINE__) = (expr);            \
  ASSERT_TRUE(DIEGO_TESTING_CONCAT_(diego_statusor_, __LINE__).ok())         \
      << DIEGO_TESTING_CONCAT_(diego_statusor_, __LINE__).status();          \
  lhs = std::move(DIEGO_TESTING_CONCAT_(diego_statusor_, __LINE__)).value()

#define EXPECT_OK(expr) EXPECT_THAT((expr), ::diego::fakes::IsOk())
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::diego::fakes::IsOk())

#endif  // DIEGO_TESTING_STATUS_MATCHERS_H_
