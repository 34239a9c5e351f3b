// Copyright 2026 The libdiego Authors.

#include "diego/locket/errors.h"

namespace diego::locket {
namespace {

constexpr absl::string_view kLockCollision = "lock-collision";

}  // namespace

absl::Status ErrLockCollision() { return absl::AlreadyExistsError(kLockCollision); }

absl::Status ErrInvalidTtl() { return absl::InvalidArgumentError("invalid-ttl"); }

absl::Status ErrInvalidOwner() { return absl::InvalidArgumentError("invalid-owner"); }

absl::Status ErrResourceNotFound() { return absl::NotFoundError("resource-not-found"); }

absl::Status ErrInvalidType() { return absl::NotFoundError("invalid-type"); }

bool IsLockCollision(const absl::Status& status) {
  return status.code() == absl::StatusCode::kAlreadyExists && status.message() == kLockCollision;
}

}  // namespace diego::locket
