// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: errors.h
// -----------------------------------------------------------------------------
//
// The executor's step errors (diego-spec.md 2.2) as absl::Status values.
//
//   CancelledError()          kCancelled "cancelled"; not displayable.
//   ExceededGracefulShutdownIntervalError()
//                             kDeadlineExceeded
//                             "exceeded graceful shutdown interval"; not
//                             displayable.
//   EmittableError(message, inner)
//                             kUnknown with `message` (plus "\n<inner
//                             message>" when `inner` is not OK, as Diego's
//                             EmittableError.Error()), marked *emittable*:
//                             its `EmittableMessage` (`message` alone) is
//                             meant for users.
//   AggregateError(errors)    OK when every error is OK. Otherwise, when at
//                             least one error is displayable (not cancelled,
//                             not exceeded-graceful-shutdown), kUnknown whose
//                             message joins the displayable errors' messages
//                             with "; " in order (Diego's multiErrorFormat),
//                             emittable when any member is, with an
//                             EmittableMessage joining the members'
//                             emittable messages with "; ". When none is
//                             displayable, the first non-OK error itself
//                             (so an all-cancelled aggregate is
//                             CancelledError()).
//
// The emittable mark travels as a status payload, so it survives copies and
// wrapping by `absl::Status` code.

#ifndef DIEGO_ACTIONS_ERRORS_H_
#define DIEGO_ACTIONS_ERRORS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace diego::actions {

absl::Status CancelledError();
bool IsCancelledError(const absl::Status& status);

absl::Status ExceededGracefulShutdownIntervalError();
bool IsExceededGracefulShutdownInterval(const absl::Status& status);

absl::Status EmittableError(absl::string_view message,
                            const absl::Status& inner = absl::OkStatus());
bool IsEmittable(const absl::Status& status);
// The user-facing text of an emittable error (its own message, without the
// inner error's); "" for any other status.
std::string EmittableMessage(const absl::Status& status);

// Displayable = not OK, not cancelled, not exceeded-graceful-shutdown.
bool IsDisplayable(const absl::Status& status);

absl::Status AggregateError(const std::vector<absl::Status>& errors);

}  // namespace diego::actions

#endif  // DIEGO_ACTIONS_ERRORS_H_
