// Copyright 2026 The libdiego Authors.

#include "diego/model/errors.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"

namespace diego::model {
namespace {

// Go prints an enum through its generated `String()`: the name when known,
// otherwise the decimal number.
std::string TaskStateName(v1::Task::State state) {
  if (v1::Task::State_IsValid(state)) {
    return v1::Task::State_Name(state);
  }
  return absl::StrCat(static_cast<int>(state));
}

}  // namespace

// The table of style guide 5.8 (also in errors.h). Concurrency conflicts are
// kAborted so callers may retry; corrupt records are kDataLoss.
absl::StatusCode BbsErrorCode(v1::Error::Type type) {
  switch (type) {
    case v1::Error::ResourceNotFound:
      return absl::StatusCode::kNotFound;
    case v1::Error::ResourceExists:
      return absl::StatusCode::kAlreadyExists;
    case v1::Error::InvalidRecord:
    case v1::Error::InvalidRequest:
    case v1::Error::InvalidJSON:
    case v1::Error::InvalidProtobufMessage:
      return absl::StatusCode::kInvalidArgument;
    case v1::Error::InvalidStateTransition:
    case v1::Error::ActualLRPCannotBeClaimed:
    case v1::Error::ActualLRPCannotBeStarted:
    case v1::Error::ActualLRPCannotBeCrashed:
    case v1::Error::ActualLRPCannotBeFailed:
    case v1::Error::ActualLRPCannotBeRemoved:
    case v1::Error::ActualLRPCannotBeUnclaimed:
    case v1::Error::RunningOnDifferentCell:
      return absl::StatusCode::kFailedPrecondition;
    case v1::Error::ResourceConflict:
    case v1::Error::Deadlock:
    case v1::Error::LockCollision:
      return absl::StatusCode::kAborted;
    case v1::Error::Timeout:
      return absl::StatusCode::kDeadlineExceeded;
    case v1::Error::Deserialize:
    case v1::Error::FailedToOpenEnvelope:
      return absl::StatusCode::kDataLoss;
    case v1::Error::InvalidResponse:
    case v1::Error::GUIDGeneration:
    case v1::Error::RouterError:
    case v1::Error::Unrecoverable:
      return absl::StatusCode::kInternal;
    case v1::Error::UnknownError:
    default:
      // proto3 enums are open: a newer BBS may send a type we do not know.
      return absl::StatusCode::kUnknown;
  }
}

// The payload is a whole serialized v1::Error rather than a bare number, so a
// status can be inspected with ordinary protobuf tooling.
absl::Status BbsError(v1::Error::Type type, absl::string_view message) {
  absl::Status status(BbsErrorCode(type), message);
  v1::Error error;
  error.set_type(type);
  error.set_message(std::string(message));
  status.SetPayload(kBbsErrorTypeUrl, absl::Cord(error.SerializeAsString()));
  return status;
}

std::optional<v1::Error::Type> BbsErrorType(const absl::Status& status) {
  if (status.ok()) {
    return std::nullopt;
  }
  absl::optional<absl::Cord> payload = status.GetPayload(kBbsErrorTypeUrl);
  if (!payload.has_value()) {
    return std::nullopt;
  }
  v1::Error error;
  if (!error.ParseFromString(std::string(*payload))) {
    return std::nullopt;
  }
  return error.type();
}

bool HasBbsErrorType(const absl::Status& status, v1::Error::Type type) {
  std::optional<v1::Error::Type> carried = BbsErrorType(status);
  return carried.has_value() && *carried == type;
}

// The status message, not the payload's copy, is the message of record: code
// that rebuilds a status with more context and copies the payload should have
// its new text reach the client.
v1::Error ToBbsError(const absl::Status& status) {
  v1::Error error;
  if (status.ok()) {
    return error;
  }
  error.set_message(std::string(status.message()));
  if (std::optional<v1::Error::Type> type = BbsErrorType(status); type.has_value()) {
    error.set_type(*type);
    return error;
  }
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      error.set_type(v1::Error::ResourceNotFound);
      break;
    case absl::StatusCode::kAlreadyExists:
      error.set_type(v1::Error::ResourceExists);
      break;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      error.set_type(v1::Error::InvalidRequest);
      break;
    case absl::StatusCode::kAborted:
      error.set_type(v1::Error::ResourceConflict);
      break;
    case absl::StatusCode::kDeadlineExceeded:
      error.set_type(v1::Error::Timeout);
      break;
    case absl::StatusCode::kDataLoss:
      error.set_type(v1::Error::Deserialize);
      break;
    default:
      // Mirrors models.ConvertError: a foreign error becomes UnknownError
      // with its text.
      error.set_type(v1::Error::UnknownError);
      break;
  }
  return error;
}

absl::Status FromBbsError(const v1::Error& error) {
  return BbsError(error.type(), error.message());
}

// Messages below are Diego's exact wire text (bbs models/errors.go).

absl::Status ErrResourceNotFound() {
  return BbsError(v1::Error::ResourceNotFound, "the requested resource could not be found");
}

absl::Status ErrResourceExists() {
  return BbsError(v1::Error::ResourceExists, "the requested resource already exists");
}

absl::Status ErrResourceConflict() {
  return BbsError(v1::Error::ResourceConflict, "the requested resource is in a conflicting state");
}

absl::Status ErrDeadlock() {
  return BbsError(v1::Error::Deadlock, "the request failed due to deadlock");
}

absl::Status ErrBadRequest() {
  return BbsError(v1::Error::InvalidRequest, "the request received is invalid");
}

absl::Status ErrUnknownError() {
  return BbsError(v1::Error::UnknownError, "the request failed for an unknown reason");
}

absl::Status ErrDeserialize() {
  return BbsError(v1::Error::Deserialize, "could not deserialize record");
}

absl::Status ErrFailedToOpenEnvelope() {
  return BbsError(v1::Error::FailedToOpenEnvelope, "could not open envelope");
}

absl::Status ErrActualLrpCannotBeClaimed() {
  return BbsError(v1::Error::ActualLRPCannotBeClaimed, "cannot claim actual LRP");
}

absl::Status ErrActualLrpCannotBeStarted() {
  return BbsError(v1::Error::ActualLRPCannotBeStarted, "cannot start actual LRP");
}

absl::Status ErrActualLrpCannotBeCrashed() {
  return BbsError(v1::Error::ActualLRPCannotBeCrashed, "cannot crash actual LRP");
}

absl::Status ErrActualLrpCannotBeFailed() {
  return BbsError(v1::Error::ActualLRPCannotBeFailed, "cannot fail actual LRP");
}

absl::Status ErrActualLrpCannotBeRemoved() {
  return BbsError(v1::Error::ActualLRPCannotBeRemoved, "cannot remove actual LRP");
}

absl::Status ErrActualLrpCannotBeUnclaimed() {
  return BbsError(v1::Error::ActualLRPCannotBeUnclaimed, "cannot unclaim actual LRP");
}

absl::Status ErrGuidGeneration() {
  return BbsError(v1::Error::GUIDGeneration, "cannot generate random guid");
}

absl::Status ErrLockCollision() {
  return BbsError(v1::Error::LockCollision, "lock already exists");
}

absl::Status NewTaskTransitionError(v1::Task::State from, v1::Task::State to) {
  return BbsError(
      v1::Error::InvalidStateTransition,
      absl::StrCat("Cannot transition from ", TaskStateName(from), " to ", TaskStateName(to)));
}

absl::Status NewRunningOnDifferentCellError(absl::string_view expected_cell_id,
                                            absl::string_view actual_cell_id) {
  // Diego prints the actual cell first: "Running on cell <actual> not <expected>".
  return BbsError(v1::Error::RunningOnDifferentCell,
                  absl::StrCat("Running on cell ", actual_cell_id, " not ", expected_cell_id));
}

absl::Status NewUnrecoverableError(absl::string_view error_text) {
  return BbsError(v1::Error::Unrecoverable, absl::StrCat("Unrecoverable Error: ", error_text));
}

}  // namespace diego::model
