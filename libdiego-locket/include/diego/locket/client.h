// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: client.h
// -----------------------------------------------------------------------------
//
// `LocketClient`: the four Locket calls (diego-spec.md 8,
// bbs-wire-reference.md 7) as a seam. Implementations:
//
//   * `LocketService` (service.h): in process, on a `LockStore`;
//   * `GrpcLocketClient` (grpc.h): a remote Locket over gRPC (Diego's or ours);
//   * `fakes::FakeLocketClient` (libdiego-testing): in memory, for tests.
//
// Errors are those of errors.h (the gRPC status of Locket), plus
// kDeadlineExceeded when `timeout` passes and kUnavailable when the server
// cannot be reached. Every call takes a timeout so a hung Locket cannot hang
// its caller (Diego's lock runner uses the retry interval).
//
// Thread-safety: implementations are thread-safe.

#ifndef DIEGO_LOCKET_CLIENT_H_
#define DIEGO_LOCKET_CLIENT_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "diego/model/v1/locket.pb.h"

namespace diego::locket {

class LocketClient {
 public:
  virtual ~LocketClient() = default;

  virtual absl::StatusOr<model::v1::LockResponse> Lock(const model::v1::LockRequest& request,
                                                       absl::Duration timeout) = 0;
  virtual absl::StatusOr<model::v1::FetchResponse> Fetch(const model::v1::FetchRequest& request,
                                                         absl::Duration timeout) = 0;
  virtual absl::StatusOr<model::v1::ReleaseResponse> Release(
      const model::v1::ReleaseRequest& request, absl::Duration timeout) = 0;
  virtual absl::StatusOr<model::v1::FetchAllResponse> FetchAll(
      const model::v1::FetchAllRequest& request, absl::Duration timeout) = 0;
};

}  // namespace diego::locket

#endif  // DIEGO_LOCKET_CLIENT_H_
