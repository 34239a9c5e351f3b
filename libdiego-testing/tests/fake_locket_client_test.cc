// Copyright 2026 The libdiego Authors.

#include "diego/testing/fake_locket_client.h"

#include <string>
#include <thread>
#include <vector>

#include "diego/testing/locket_requests.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// `type` is deprecated upstream; the fake normalises it like Locket.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::fakes {
namespace {

using Method = FakeLocketClient::Method;

constexpr absl::Duration kTimeout = absl::Seconds(5);

TEST(FakeLocketClientTest, HasLocketsSemantics) {
  FakeLocketClient locket;
  ASSERT_OK(locket.Lock(MakeLockRequest("bbs", "bbs-1", 15), kTimeout).status());
  ASSERT_OK(locket.Lock(MakeLockRequest("bbs", "bbs-1", 15), kTimeout).status());  // refresh
  EXPECT_THAT(locket.Lock(MakeLockRequest("bbs", "bbs-2", 15), kTimeout),
              StatusIs(absl::StatusCode::kAlreadyExists, "lock-collision"));
  EXPECT_THAT(locket.Lock(MakeLockRequest("x", "", 15), kTimeout),
              StatusIs(absl::StatusCode::kInvalidArgument, "invalid-owner"));
  EXPECT_THAT(locket.Lock(MakeLockRequest("x", "o", 15, model::v1::UNKNOWN), kTimeout),
              StatusIs(absl::StatusCode::kNotFound, "invalid-type"));

  ASSERT_OK_AND_ASSIGN(model::v1::FetchResponse fetched,
                       locket.Fetch(MakeFetchRequest("bbs"), kTimeout));
  EXPECT_EQ(fetched.resource().owner(), "bbs-1");
  EXPECT_EQ(fetched.resource().type(), "lock");
  EXPECT_THAT(locket.Fetch(MakeFetchRequest("x"), kTimeout),
              StatusIs(absl::StatusCode::kNotFound, "resource-not-found"));

  ASSERT_OK(
      locket.Lock(MakeLockRequest("cell-2", "rep-2", 15, model::v1::PRESENCE), kTimeout).status());
  ASSERT_OK(
      locket.Lock(MakeLockRequest("cell-1", "rep-1", 15, model::v1::PRESENCE), kTimeout).status());
  model::v1::FetchAllRequest all;
  all.set_type("presence");
  ASSERT_OK_AND_ASSIGN(model::v1::FetchAllResponse presences, locket.FetchAll(all, kTimeout));
  ASSERT_EQ(presences.resources_size(), 2);
  EXPECT_EQ(presences.resources(0).key(), "cell-1");
  EXPECT_EQ(presences.resources(1).key(), "cell-2");
  EXPECT_THAT(locket.FetchAll(model::v1::FetchAllRequest(), kTimeout),
              StatusIs(absl::StatusCode::kNotFound, "invalid-type"));

  EXPECT_THAT(locket.Release(MakeReleaseRequest("bbs", "bbs-2"), kTimeout),
              StatusIs(absl::StatusCode::kAlreadyExists, "lock-collision"));
  EXPECT_OK(locket.Release(MakeReleaseRequest("bbs", "bbs-1"), kTimeout).status());
  EXPECT_OK(locket.Release(MakeReleaseRequest("bbs", "bbs-1"), kTimeout).status());  // missing: OK
  EXPECT_FALSE(locket.Get("bbs").has_value());
}

TEST(FakeLocketClientTest, ErrorsPutRemoveAndCalls) {
  FakeLocketClient locket;
  locket.SetError(Method::kLock, absl::UnavailableError("down"), 1);
  locket.SetError(absl::InternalError("any"), 1);
  EXPECT_THAT(locket.Lock(MakeLockRequest("bbs", "bbs-1", 15), kTimeout),
              StatusIs(absl::StatusCode::kUnavailable, "down"));
  EXPECT_THAT(locket.Fetch(MakeFetchRequest("bbs"), kTimeout),
              StatusIs(absl::StatusCode::kInternal, "any"));
  EXPECT_FALSE(locket.Get("bbs").has_value());  // A failed call changes nothing.
  ASSERT_OK(locket.Lock(MakeLockRequest("bbs", "bbs-1", 15), kTimeout).status());

  model::v1::Resource other;
  other.set_key("bbs");
  other.set_owner("bbs-2");
  other.set_type("lock");
  locket.Put(other);
  EXPECT_EQ(locket.Get("bbs")->type_code(), model::v1::LOCK);  // normalised
  EXPECT_THAT(locket.Lock(MakeLockRequest("bbs", "bbs-1", 15), kTimeout),
              StatusIs(absl::StatusCode::kAlreadyExists));
  locket.Remove("bbs");
  EXPECT_OK(locket.Lock(MakeLockRequest("bbs", "bbs-1", 15), absl::Seconds(7)).status());

  std::vector<FakeLocketClient::Call> calls = locket.Calls();
  ASSERT_EQ(calls.size(), 5u);
  EXPECT_EQ(calls[1].method, Method::kFetch);
  EXPECT_EQ(calls[1].resource.key(), "bbs");
  EXPECT_EQ(calls[4].timeout, absl::Seconds(7));
  EXPECT_EQ(calls[4].ttl_in_seconds, 15);
  EXPECT_EQ(locket.Calls(Method::kLock).size(), 4u);
}

TEST(FakeLocketClientTest, BlockedCallsWaitForUnblock) {
  FakeLocketClient locket;
  locket.Block();
  std::thread caller(
      [&] { EXPECT_OK(locket.Lock(MakeLockRequest("bbs", "bbs-1", 15), kTimeout).status()); });
  locket.WaitForBlockedCalls(1);
  EXPECT_EQ(locket.Calls().size(), 1u);  // Recorded before blocking.
  EXPECT_FALSE(locket.Get("bbs").has_value());
  locket.Unblock();
  caller.join();
  EXPECT_EQ(locket.Get("bbs")->owner(), "bbs-1");
}

}  // namespace
}  // namespace diego::fakes
