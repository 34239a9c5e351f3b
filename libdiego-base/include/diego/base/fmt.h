// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: fmt.h
// -----------------------------------------------------------------------------
//
// `fmt::formatter` specialisations for the Abseil vocabulary types libdiego
// uses everywhere. fmt 9 cannot print any of them on its own (and Debian's
// `absl::string_view` is not `std::string_view`), so include this header
// wherever one of these types is passed to `fmt::format` or `fmt::print`:
//
//   | Type                  | Output                                           |
//   | --------------------- | ------------------------------------------------ |
//   | `absl::string_view`   | the characters, honouring width/fill/align specs |
//   | `absl::Status`        | `absl::Status::ToString()`: `OK` or              |
//   |                       | `NOT_FOUND: actual lrp 'web' not found`          |
//   | `absl::StatusCode`    | the canonical name: `NOT_FOUND`                  |
//   | `absl::Duration`      | `absl::FormatDuration()`: `1h2m3.5s`, `250ms`    |
//   | `absl::Time`          | RFC 3339 in UTC with only the fractional digits  |
//   |                       | needed: `2016-05-27T22:43:03.7105Z`              |
//   | `absl::StatusOr<T>`   | the value formatted as `T` (format specs apply   |
//   |                       | to it), or the status when there is none         |
//
// Example:
//
//   fmt::print(stderr, "diego-bbs: {}\n", status);
//   std::string line = fmt::format("{:<12}|{}", absl::string_view(name), elapsed);
//
// Every formatter except `absl::string_view` and `absl::StatusOr<T>` accepts
// the string format specs (`{:>20}`), applied to the rendered text.
//
// All formatters are stateless apart from parsed specs and are safe to use
// from any thread.

#ifndef DIEGO_BASE_FMT_H_
#define DIEGO_BASE_FMT_H_

#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fmt/core.h"
#include "fmt/format.h"

namespace diego::fmt_internal {

// Renders `t` as RFC 3339 in UTC ("2016-05-27T22:43:03.710515738Z"), or
// "infinite-future" / "infinite-past". `%E*S` prints only the fractional digits
// that are needed; `Z` replaces the "+00:00" that `absl::RFC3339_full` gives.
inline std::string FormatTimeUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

}  // namespace diego::fmt_internal

// `absl::string_view` prints like any other string, specs included.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view s, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};

// `OK` or `<CODE>: <message>` (plus any payloads), as `absl::Status::ToString()`.
template <>
struct fmt::formatter<absl::Status> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(const absl::Status& status, FormatContext& ctx) const -> decltype(ctx.out()) {
    const std::string text = status.ToString();
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(text), ctx);
  }
};

// The canonical code name, e.g. `NOT_FOUND`.
template <>
struct fmt::formatter<absl::StatusCode> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::StatusCode code, FormatContext& ctx) const -> decltype(ctx.out()) {
    const std::string text = absl::StatusCodeToString(code);
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(text), ctx);
  }
};

// `absl::FormatDuration()`: `1h2m3.5s`, `250ms`, `0`, `inf`.
template <>
struct fmt::formatter<absl::Duration> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::Duration d, FormatContext& ctx) const -> decltype(ctx.out()) {
    const std::string text = absl::FormatDuration(d);
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(text), ctx);
  }
};

// RFC 3339 in UTC with a `Z` suffix and as many fractional digits as needed.
template <>
struct fmt::formatter<absl::Time> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::Time t, FormatContext& ctx) const -> decltype(ctx.out()) {
    const std::string text = diego::fmt_internal::FormatTimeUtc(t);
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(text), ctx);
  }
};

// The value when there is one (format specs are those of `T`), otherwise the
// status as above. Only available when `T` itself is formattable, so
// `fmt::is_formattable<absl::StatusOr<T>>` is false for an unprintable `T`.
//
//   absl::StatusOr<int> found = 42;
//   absl::StatusOr<int> missing = absl::NotFoundError("x");
//   fmt::format("{:04}", found);    // "0042"
//   fmt::format("{:04}", missing);  // "NOT_FOUND: x"
//
// In the error case the specs are ignored: they are `T`'s and need not make
// sense for text (`{:.3f}` for a double).
template <typename T>
struct fmt::formatter<absl::StatusOr<T>, char,
                      std::enable_if_t<fmt::is_formattable<T, char>::value>> {
  // Parses `T`'s specs; runs at compile time for literal format strings.
  constexpr auto parse(fmt::format_parse_context& ctx) -> decltype(ctx.begin()) {
    return value_formatter_.parse(ctx);
  }

  template <typename FormatContext>
  auto format(const absl::StatusOr<T>& status_or, FormatContext& ctx) const -> decltype(ctx.out()) {
    if (status_or.ok()) {
      // A copy, so this works whether or not `T`'s formatter has a const
      // `format` (fmt 10 requires const; `mutable` would break constexpr parse).
      fmt::formatter<T, char> value_formatter = value_formatter_;
      return value_formatter.format(*status_or, ctx);
    }
    return fmt::format_to(ctx.out(), "{}", status_or.status());
  }

 private:
  // Holds the parsed specs, applied only to a value.
  fmt::formatter<T, char> value_formatter_;
};

#endif  // DIEGO_BASE_FMT_H_
