// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: errors.h
// -----------------------------------------------------------------------------
//
// Diego's BBS error model (`models.Error{type, message}`) expressed as
// `absl::Status`. Every BBS error type maps to a canonical status code, and the
// exact Diego type travels in a status payload so the HTTP/protobuf layer can
// turn a status back into the identical `Error{type, message}`.
//
// The mapping (style guide 5.8):
//
//   | Diego `Error.Type`                                   | `absl::StatusCode`   |
//   | ---------------------------------------------------- | -------------------- |
//   | ResourceNotFound                                     | kNotFound            |
//   | ResourceExists                                       | kAlreadyExists       |
//   | InvalidRecord, InvalidRequest, InvalidJSON,          | kInvalidArgument     |
//   |   InvalidProtobufMessage                             |                      |
//   | InvalidStateTransition, ActualLRPCannotBe*,          | kFailedPrecondition  |
//   |   RunningOnDifferentCell                             |                      |
//   | ResourceConflict, Deadlock, LockCollision            | kAborted             |
//   | Timeout                                              | kDeadlineExceeded    |
//   | Deserialize, FailedToOpenEnvelope                    | kDataLoss            |
//   | InvalidResponse, GUIDGeneration, RouterError,        | kInternal            |
//   |   Unrecoverable                                      |                      |
//   | UnknownError, and any number not in the enum         | kUnknown             |
//
// Typical use, on the server side of a BBS endpoint:
//
//   absl::Status status = store.ClaimActualLrp(...);
//   if (!status.ok()) *response.mutable_error() = diego::model::ToBbsError(status);
//
// and on the client side:
//
//   if (response.has_error()) return diego::model::FromBbsError(response.error());
//
// Every function here is pure and thread-safe.

#ifndef DIEGO_MODEL_ERRORS_H_
#define DIEGO_MODEL_ERRORS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "diego/model/v1/error.pb.h"
#include "diego/model/v1/task.pb.h"

namespace diego::model {

// The payload type URL under which `BbsError()` stores a serialized
// `v1::Error` (type and message) in the status. Stable: other processes may
// look for it.
inline constexpr absl::string_view kBbsErrorTypeUrl = "type.googleapis.com/diego.model.v1.Error";

// Returns the canonical code for a Diego error type (table above). Numbers that
// are not members of `v1::Error::Type` map to `kUnknown`. Never returns `kOk`.
absl::StatusCode BbsErrorCode(v1::Error::Type type);

// Returns a status with the canonical code for `type` and `message` verbatim,
// carrying `type` as a payload so `BbsErrorType()` recovers it.
[[nodiscard]] absl::Status BbsError(v1::Error::Type type, absl::string_view message);

// Returns the Diego error type carried by `status`, or `std::nullopt` when
// `status` is OK or was not made by `BbsError()` (no payload, or a payload
// that does not parse). Wrapping a status in a new `absl::Status` drops the
// payload; copy it with `SetPayload` if the type must survive.
std::optional<v1::Error::Type> BbsErrorType(const absl::Status& status);

// True iff `status` carries the Diego error type `type`. This is Diego's
// `Error.Equal`, which compares types only (messages may differ).
bool HasBbsErrorType(const absl::Status& status, v1::Error::Type type);

// Converts a failed status to the `Error` message a BBS response carries.
//
// - A status made by `BbsError()` converts back exactly: the carried type and
//   `status.message()`.
// - Any other status is mapped by code, keeping its message: `kNotFound` ->
//   `ResourceNotFound`, `kAlreadyExists` -> `ResourceExists`,
//   `kInvalidArgument` and `kOutOfRange` -> `InvalidRequest`, `kAborted` ->
//   `ResourceConflict`, `kDeadlineExceeded` -> `Timeout`, `kDataLoss` ->
//   `Deserialize`, everything else -> `UnknownError` (Diego's `ConvertError`
//   turns every foreign error into `UnknownError` with its text).
// - An OK status yields a default `Error` (`UnknownError`, empty message);
//   callers are expected to leave the response's `error` unset instead.
v1::Error ToBbsError(const absl::Status& status);

// Converts a BBS `Error` back to a status: `BbsError(error.type(),
// error.message())`. The result is never OK, so check `has_error()` first.
[[nodiscard]] absl::Status FromBbsError(const v1::Error& error);

// -----------------------------------------------------------------------------
// Diego's predefined errors (bbs `models/errors.go`), with their exact
// messages. Each returns a fresh status made by `BbsError()`.
// -----------------------------------------------------------------------------

// `ResourceNotFound`: "the requested resource could not be found".
[[nodiscard]] absl::Status ErrResourceNotFound();

// `ResourceExists`: "the requested resource already exists".
[[nodiscard]] absl::Status ErrResourceExists();

// `ResourceConflict`: "the requested resource is in a conflicting state".
[[nodiscard]] absl::Status ErrResourceConflict();

// `Deadlock`: "the request failed due to deadlock".
[[nodiscard]] absl::Status ErrDeadlock();

// `InvalidRequest`: "the request received is invalid".
[[nodiscard]] absl::Status ErrBadRequest();

// `UnknownError`: "the request failed for an unknown reason".
[[nodiscard]] absl::Status ErrUnknownError();

// `Deserialize`: "could not deserialize record".
[[nodiscard]] absl::Status ErrDeserialize();

// `FailedToOpenEnvelope`: "could not open envelope".
[[nodiscard]] absl::Status ErrFailedToOpenEnvelope();

// `ActualLRPCannotBeClaimed`: "cannot claim actual LRP".
[[nodiscard]] absl::Status ErrActualLrpCannotBeClaimed();

// `ActualLRPCannotBeStarted`: "cannot start actual LRP".
[[nodiscard]] absl::Status ErrActualLrpCannotBeStarted();

// `ActualLRPCannotBeCrashed`: "cannot crash actual LRP".
[[nodiscard]] absl::Status ErrActualLrpCannotBeCrashed();

// `ActualLRPCannotBeFailed`: "cannot fail actual LRP".
[[nodiscard]] absl::Status ErrActualLrpCannotBeFailed();

// `ActualLRPCannotBeRemoved`: "cannot remove actual LRP".
[[nodiscard]] absl::Status ErrActualLrpCannotBeRemoved();

// `ActualLRPCannotBeUnclaimed`: "cannot unclaim actual LRP".
[[nodiscard]] absl::Status ErrActualLrpCannotBeUnclaimed();

// `GUIDGeneration`: "cannot generate random guid".
[[nodiscard]] absl::Status ErrGuidGeneration();

// `LockCollision`: "lock already exists".
[[nodiscard]] absl::Status ErrLockCollision();

// `InvalidStateTransition`: "Cannot transition from <from> to <to>", with the
// states' enum names (`Pending`, `Running`, ...). A number outside the enum is
// printed as its decimal value, as Go's `String()` does.
[[nodiscard]] absl::Status NewTaskTransitionError(v1::Task::State from, v1::Task::State to);

// `RunningOnDifferentCell`: "Running on cell <actual_cell_id> not
// <expected_cell_id>". `expected_cell_id` is the cell the caller claimed to
// be; `actual_cell_id` is where the task really runs.
[[nodiscard]] absl::Status NewRunningOnDifferentCellError(absl::string_view expected_cell_id,
                                                          absl::string_view actual_cell_id);

// `Unrecoverable`: "Unrecoverable Error: <error_text>". Diego's BBS exits when
// it returns one of these (its SQL connection is unusable).
[[nodiscard]] absl::Status NewUnrecoverableError(absl::string_view error_text);

}  // namespace diego::model

#endif  // DIEGO_MODEL_ERRORS_H_
