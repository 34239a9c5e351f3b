// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: errors.h
// -----------------------------------------------------------------------------
//
// Locket's errors (bbs-wire-reference.md 7.4) as absl::Status. The absl code
// is the gRPC code Locket answers with, and the message is Locket's exact
// text, so the gRPC server forwards them unchanged and the gRPC client turns
// a server's status back into the same absl::Status.

#ifndef DIEGO_LOCKET_ERRORS_H_
#define DIEGO_LOCKET_ERRORS_H_

#include "absl/status/status.h"

namespace diego::locket {

// kAlreadyExists "lock-collision": Lock of a key held by a different
// non-empty owner; Release by a non-owner.
absl::Status ErrLockCollision();
// kInvalidArgument "invalid-ttl": Lock with ttl_in_seconds <= 0.
absl::Status ErrInvalidTtl();
// kInvalidArgument "invalid-owner": Lock with an empty owner.
absl::Status ErrInvalidOwner();
// kNotFound "resource-not-found": Fetch of a missing key (or empty owner).
absl::Status ErrResourceNotFound();
// kNotFound "invalid-type": type_code not LOCK/PRESENCE (Lock, FetchAll).
absl::Status ErrInvalidType();

// True if `status` is `ErrLockCollision()` (code and message).
bool IsLockCollision(const absl::Status& status);

}  // namespace diego::locket

#endif  // DIEGO_LOCKET_ERRORS_H_
