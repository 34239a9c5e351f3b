// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: errors.h
// -----------------------------------------------------------------------------
//
// Garden's typed errors as `absl::Status`. Garden's HTTP server answers errors
// as JSON `{"Type":..., "Message":..., "Handle":..., "ProcessID":...}`; the
// type name travels in a status payload so it survives the trip through the
// HTTP client and back out of a server. Messages are Garden's, exactly
// (`unknown handle: <h>`), because clients and operators match on them.
//
//   | Garden type               | absl code          | HTTP |
//   |---------------------------|--------------------|------|
//   | ContainerNotFoundError    | kNotFound          | 404  |
//   | ProcessNotFoundError      | kNotFound          | 404  |
//   | ExecutableNotFoundError   | kFailedPrecondition| 500  |
//   | ServiceUnavailableError   | kUnavailable       | 503  |
//   | UnrecoverableError        | kInternal          | 500  |
//   | (none: a plain error)     | any other          | 500  |

#ifndef DIEGO_GARDEN_ERRORS_H_
#define DIEGO_GARDEN_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace diego::garden {

// The wire names of Garden's error types.
inline constexpr absl::string_view kContainerNotFoundErrorType = "ContainerNotFoundError";
inline constexpr absl::string_view kProcessNotFoundErrorType = "ProcessNotFoundError";
inline constexpr absl::string_view kExecutableNotFoundErrorType = "ExecutableNotFoundError";
inline constexpr absl::string_view kServiceUnavailableErrorType = "ServiceUnavailableError";
inline constexpr absl::string_view kUnrecoverableErrorType = "UnrecoverableError";

// Message: "unknown handle: <handle>".
absl::Status ContainerNotFoundError(absl::string_view handle);
// Message: "unknown process: <process_id>".
absl::Status ProcessNotFoundError(absl::string_view process_id);
// `message` is shown as is (e.g. "exec: \"nope\": executable file not found in $PATH").
absl::Status ExecutableNotFoundError(absl::string_view message);
absl::Status ServiceUnavailableError(absl::string_view message);
absl::Status UnrecoverableError(absl::string_view message);

// Everything Garden's JSON error carries. `type` is empty for plain errors.
struct ErrorInfo {
  std::string type;
  std::string message;
  std::string handle;
  std::string process_id;
};

// Reads the Garden type (from the payload), message, handle and process id of
// `status`. `status` must not be OK.
ErrorInfo GetErrorInfo(const absl::Status& status);

// The inverse of GetErrorInfo: a status with the code of the table above (for
// an empty or unknown type, the code that `http_status` suggests: 404
// NotFound, 503 Unavailable, 400 InvalidArgument, else Unknown) and the type,
// handle and process id as payloads.
absl::Status FromErrorInfo(const ErrorInfo& info, int http_status);

// The HTTP status a server answers `status` with (table above; plain errors
// 500, except kInvalidArgument 400, kNotFound 404, kAlreadyExists 409,
// kResourceExhausted 503 (capacity), kUnavailable 503, kDeadlineExceeded 504).
int HttpStatusFor(const absl::Status& status);

// True when `status` carries Garden type `type`.
bool HasErrorType(const absl::Status& status, absl::string_view type);

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_ERRORS_H_
