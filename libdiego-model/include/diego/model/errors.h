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

#ifndef DIEGO_MODEL_ERRORS_H_
#define DIEGO_MODEL_ERRORS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "diego/model/v1/error.pb.h"

namespace diego::model {

// Returns a status with the canonical code for `type` and `message` verbatim,
// carrying `type` as a payload so `BbsErrorType()` recovers it.
absl::Status BbsError(v1::Error::Type type, absl::string_view message);

}  // namespace diego::model

#endif  // DIEGO_MODEL_ERRORS_H_
