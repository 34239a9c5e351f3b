// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: locket_requests.h
// -----------------------------------------------------------------------------
//
// Builders of Locket's request messages (models.Locket's LockRequest,
// ReleaseRequest, FetchRequest, FetchAllRequest and their Resource), for tests
// of Locket servers and clients (LocketService, the gRPC pair, diego-locket,
// FakeLocketClient):
//
//   ASSERT_OK(client->Lock(MakeLockRequest("bbs", "bbs-1", /*ttl_seconds=*/15), timeout));
//   ASSERT_OK(client->Lock(
//       MakeLockRequest(MakeResource("cell-1", "rep-1", model::v1::PRESENCE, json), 15),
//       timeout));
//   EXPECT_EQ(client->Fetch(MakeFetchRequest("bbs"), timeout)->resource().owner(), "bbs-1");
//
// Each sets only the fields named by its parameters; in particular the
// deprecated `type` strings stay empty unless given (Locket derives them from
// `type_code`).

#ifndef DIEGO_TESTING_LOCKET_REQUESTS_H_
#define DIEGO_TESTING_LOCKET_REQUESTS_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "diego/model/v1/locket.pb.h"

namespace diego::fakes {

// A Resource with `key`, `owner`, `type_code` and `value`.
model::v1::Resource MakeResource(absl::string_view key, absl::string_view owner,
                                 model::v1::TypeCode type_code = model::v1::LOCK,
                                 absl::string_view value = "");

// A LockRequest for `resource` with `ttl_seconds`.
model::v1::LockRequest MakeLockRequest(model::v1::Resource resource, int64_t ttl_seconds);

// A LockRequest for `MakeResource(key, owner, type_code)` with `ttl_seconds`.
model::v1::LockRequest MakeLockRequest(absl::string_view key, absl::string_view owner,
                                       int64_t ttl_seconds,
                                       model::v1::TypeCode type_code = model::v1::LOCK);

// A ReleaseRequest for `resource`.
model::v1::ReleaseRequest MakeReleaseRequest(model::v1::Resource resource);

// A ReleaseRequest whose resource has only `key` and `owner` (all Release
// reads).
model::v1::ReleaseRequest MakeReleaseRequest(absl::string_view key, absl::string_view owner);

// A FetchRequest for `key`.
model::v1::FetchRequest MakeFetchRequest(absl::string_view key);

// A FetchAllRequest for `type_code` and, if not empty, the deprecated `type`.
model::v1::FetchAllRequest MakeFetchAllRequest(model::v1::TypeCode type_code,
                                               absl::string_view type = "");

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_LOCKET_REQUESTS_H_
