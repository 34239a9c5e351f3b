// Copyright 2026 The libdiego Authors.
//
// The executor's step errors (errors.h). The emittable mark and the
// user-facing message ride in a status payload so they survive copies.

#include "diego/actions/errors.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace diego::actions {
namespace {

constexpr char kEmittableUrl[] = "type.libdiego.io/diego.actions.Emittable";
constexpr char kCancelledMessage[] = "cancelled";
constexpr char kExceededMessage[] = "exceeded graceful shutdown interval";

std::optional<std::string> EmittablePayload(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kEmittableUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace

absl::Status CancelledError() { return absl::CancelledError(kCancelledMessage); }

bool IsCancelledError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kCancelled;
}

absl::Status ExceededGracefulShutdownIntervalError() {
  return absl::DeadlineExceededError(kExceededMessage);
}

bool IsExceededGracefulShutdownInterval(const absl::Status& status) {
  return status.code() == absl::StatusCode::kDeadlineExceeded &&
         status.message() == kExceededMessage;
}

absl::Status EmittableError(absl::string_view message, const absl::Status& inner) {
  std::string text(message);
  if (!inner.ok()) absl::StrAppend(&text, "\n", inner.message());
  absl::Status status(absl::StatusCode::kUnknown, text);
  status.SetPayload(kEmittableUrl, absl::Cord(message));
  return status;
}

bool IsEmittable(const absl::Status& status) {
  return !status.ok() && EmittablePayload(status).has_value();
}

std::string EmittableMessage(const absl::Status& status) {
  if (status.ok()) return "";
  return EmittablePayload(status).value_or("");
}

bool IsDisplayable(const absl::Status& status) {
  return !status.ok() && !IsCancelledError(status) && !IsExceededGracefulShutdownInterval(status);
}

absl::Status AggregateError(const std::vector<absl::Status>& errors) {
  const absl::Status* first_error = nullptr;
  std::vector<absl::string_view> messages;
  std::vector<std::string> emittable;
  for (const absl::Status& e : errors) {
    if (e.ok()) continue;
    if (first_error == nullptr) first_error = &e;
    if (!IsDisplayable(e)) continue;
    if (!e.message().empty()) messages.push_back(e.message());
    if (std::optional<std::string> m = EmittablePayload(e); m.has_value()) {
      emittable.push_back(*std::move(m));
    }
  }
  if (first_error == nullptr) return absl::OkStatus();
  if (messages.empty() && emittable.empty()) {
    // Nothing displayable: keep the first error (cancelled, exceeded, or a
    // displayable error with an empty message).
    return *first_error;
  }
  absl::Status aggregate(absl::StatusCode::kUnknown, absl::StrJoin(messages, "; "));
  if (!emittable.empty()) {
    aggregate.SetPayload(kEmittableUrl, absl::Cord(absl::StrJoin(emittable, "; ")));
  }
  return aggregate;
}

}  // namespace diego::actions
