#include "diego/base/fmt.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "fmt/format.h"
#include "gtest/gtest.h"

namespace diego {
namespace {

TEST(FmtTest, FormatsAbslStringView) {
  const absl::string_view name = "cell-z1-0";
  EXPECT_EQ(fmt::format("cell {}", name), "cell cell-z1-0");
  EXPECT_EQ(fmt::format("[{:>10}]", absl::string_view("web")), "[       web]");
  EXPECT_EQ(fmt::format("[{:-<6}]", absl::string_view("ab")), "[ab----]");
}

TEST(FmtTest, FormatsAStringViewThatIsNotNulTerminated) {
  const std::string text = "process-guid";
  EXPECT_EQ(fmt::format("{}", absl::string_view(text).substr(0, 7)), "process");
}

TEST(FmtTest, FormatsOkStatus) { EXPECT_EQ(fmt::format("{}", absl::OkStatus()), "OK"); }

TEST(FmtTest, FormatsErrorStatusWithCodeAndMessage) {
  EXPECT_EQ(fmt::format("diego-bbs: {}", absl::NotFoundError("actual lrp 'web' not found")),
            "diego-bbs: NOT_FOUND: actual lrp 'web' not found");
  EXPECT_EQ(fmt::format("{:>14}", absl::CancelledError("x")), "  CANCELLED: x");
}

TEST(FmtTest, FormatsStatusCode) {
  EXPECT_EQ(fmt::format("{}", absl::StatusCode::kFailedPrecondition), "FAILED_PRECONDITION");
  EXPECT_EQ(fmt::format("{}", absl::StatusCode::kOk), "OK");
  EXPECT_EQ(fmt::format("[{:<10}]", absl::StatusCode::kAborted), "[ABORTED   ]");
}

TEST(FmtTest, FormatsDuration) {
  EXPECT_EQ(fmt::format("{}", absl::Seconds(90)), "1m30s");
  EXPECT_EQ(fmt::format("{}", absl::Milliseconds(250)), "250ms");
  EXPECT_EQ(fmt::format("{}", absl::ZeroDuration()), "0");
  EXPECT_EQ(fmt::format("{}", -absl::Seconds(2)), "-2s");
  EXPECT_EQ(fmt::format("{}", absl::InfiniteDuration()), "inf");
}

TEST(FmtTest, FormatsTimeAsRfc3339Utc) {
  const absl::Time t =
      absl::FromCivil(absl::CivilSecond(2016, 5, 27, 22, 43, 3), absl::UTCTimeZone());
  EXPECT_EQ(fmt::format("{}", t), "2016-05-27T22:43:03Z");
  EXPECT_EQ(fmt::format("{}", t + absl::Nanoseconds(710515738)), "2016-05-27T22:43:03.710515738Z");
  EXPECT_EQ(fmt::format("{}", t + absl::Milliseconds(500)), "2016-05-27T22:43:03.5Z");
  EXPECT_EQ(fmt::format("{}", absl::UnixEpoch()), "1970-01-01T00:00:00Z");
  EXPECT_EQ(fmt::format("{}", absl::InfiniteFuture()), "infinite-future");
}

TEST(FmtTest, FormatsStatusOrValue) {
  absl::StatusOr<int> value = 42;
  EXPECT_EQ(fmt::format("{}", value), "42");
  // Format specs are the value's.
  EXPECT_EQ(fmt::format("{:04}", value), "0042");
  absl::StatusOr<std::string> text = std::string("ok");
  EXPECT_EQ(fmt::format("[{:>4}]", text), "[  ok]");
}

TEST(FmtTest, FormatsStatusOrError) {
  absl::StatusOr<int> error = absl::UnavailableError("connection refused");
  EXPECT_EQ(fmt::format("{}", error), "UNAVAILABLE: connection refused");
  EXPECT_EQ(fmt::format("{:04}", error), "UNAVAILABLE: connection refused");
}

TEST(FmtTest, FormatsStatusOrOfAnotherAbslType) {
  absl::StatusOr<absl::Duration> elapsed = absl::Seconds(3);
  EXPECT_EQ(fmt::format("{}", elapsed), "3s");
}

TEST(FmtTest, StatusOrIsFormattableOnlyForFormattableValues) {
  struct Opaque {};
  EXPECT_TRUE((fmt::is_formattable<absl::StatusOr<int>>::value));
  EXPECT_FALSE((fmt::is_formattable<absl::StatusOr<Opaque>>::value));
}

}  // namespace
}  // namespace diego
