// Copyright 2026 The libdiego Authors.
//
// Garden's typed errors (garden/errors.go) carried in absl::Status payloads.

#include "diego/garden/errors.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace diego::garden {
namespace {

// Payload type URLs. Private to this file: everything else goes through
// GetErrorInfo / HasErrorType.
constexpr absl::string_view kTypePayload = "diego.cloudfoundry.org/garden.Error.Type";
constexpr absl::string_view kHandlePayload = "diego.cloudfoundry.org/garden.Error.Handle";
constexpr absl::string_view kProcessIdPayload = "diego.cloudfoundry.org/garden.Error.ProcessID";

std::string PayloadOf(const absl::Status& status, absl::string_view url) {
  auto payload = status.GetPayload(url);
  return payload.has_value() ? std::string(*payload) : std::string();
}

absl::Status Typed(absl::StatusCode code, absl::string_view message, absl::string_view type,
                   absl::string_view handle = {}, absl::string_view process_id = {}) {
  absl::Status status(code, message);
  status.SetPayload(kTypePayload, absl::Cord(type));
  if (!handle.empty()) {
    status.SetPayload(kHandlePayload, absl::Cord(handle));
  }
  if (!process_id.empty()) {
    status.SetPayload(kProcessIdPayload, absl::Cord(process_id));
  }
  return status;
}

// The absl code of each Garden type; nullopt for unknown types.
std::optional<absl::StatusCode> CodeForType(absl::string_view type) {
  if (type == kContainerNotFoundErrorType || type == kProcessNotFoundErrorType) {
    return absl::StatusCode::kNotFound;
  }
  if (type == kExecutableNotFoundErrorType) {
    return absl::StatusCode::kFailedPrecondition;
  }
  if (type == kServiceUnavailableErrorType) {
    return absl::StatusCode::kUnavailable;
  }
  if (type == kUnrecoverableErrorType) {
    return absl::StatusCode::kInternal;
  }
  return std::nullopt;
}

// The inverse of the plain-error part of HttpStatusFor.
absl::StatusCode CodeForHttpStatus(int http_status) {
  switch (http_status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAlreadyExists;
    case 503:
      return absl::StatusCode::kUnavailable;
    case 504:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return absl::StatusCode::kUnknown;
  }
}

}  // namespace

absl::Status ContainerNotFoundError(absl::string_view handle) {
  return Typed(absl::StatusCode::kNotFound, absl::StrCat("unknown handle: ", handle),
               kContainerNotFoundErrorType, handle);
}

absl::Status ProcessNotFoundError(absl::string_view process_id) {
  return Typed(absl::StatusCode::kNotFound, absl::StrCat("unknown process: ", process_id),
               kProcessNotFoundErrorType, {}, process_id);
}

absl::Status ExecutableNotFoundError(absl::string_view message) {
  return Typed(absl::StatusCode::kFailedPrecondition, message, kExecutableNotFoundErrorType);
}

absl::Status ServiceUnavailableError(absl::string_view message) {
  return Typed(absl::StatusCode::kUnavailable, message, kServiceUnavailableErrorType);
}

absl::Status UnrecoverableError(absl::string_view message) {
  return Typed(absl::StatusCode::kInternal, message, kUnrecoverableErrorType);
}

ErrorInfo GetErrorInfo(const absl::Status& status) {
  ErrorInfo info;
  if (status.ok()) {
    return info;
  }
  info.type = PayloadOf(status, kTypePayload);
  info.message = std::string(status.message());
  info.handle = PayloadOf(status, kHandlePayload);
  info.process_id = PayloadOf(status, kProcessIdPayload);
  return info;
}

absl::Status FromErrorInfo(const ErrorInfo& info, int http_status) {
  std::optional<absl::StatusCode> typed = CodeForType(info.type);
  if (!typed.has_value()) {
    // A plain error (or a type this version does not know): Garden's client
    // keeps only the message.
    absl::StatusCode code = CodeForHttpStatus(http_status);
    return absl::Status(code, info.message);
  }
  // Like Garden's client, the not-found errors are rebuilt from their
  // identifiers, so the message is Garden's whatever the server wrote.
  if (info.type == kContainerNotFoundErrorType && !info.handle.empty()) {
    return ContainerNotFoundError(info.handle);
  }
  if (info.type == kProcessNotFoundErrorType && !info.process_id.empty()) {
    return ProcessNotFoundError(info.process_id);
  }
  return Typed(*typed, info.message, info.type, info.handle, info.process_id);
}

int HttpStatusFor(const absl::Status& status) {
  if (status.ok()) {
    return 200;
  }
  const std::string type = PayloadOf(status, kTypePayload);
  if (type == kContainerNotFoundErrorType || type == kProcessNotFoundErrorType) {
    return 404;
  }
  if (type == kServiceUnavailableErrorType) {
    return 503;
  }
  if (type == kExecutableNotFoundErrorType || type == kUnrecoverableErrorType) {
    return 500;
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

bool HasErrorType(const absl::Status& status, absl::string_view type) {
  if (status.ok()) {
    return false;
  }
  auto payload = status.GetPayload(kTypePayload);
  return payload.has_value() && *payload == type;
}

}  // namespace diego::garden
