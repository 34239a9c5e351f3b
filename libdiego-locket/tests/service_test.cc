// Copyright 2026 The libdiego Authors.
//
// LocketService: Diego's validation (order and exact errors), the four calls,
// and expiry on a FakeClock: TTL timers, refresh, compare-and-delete, the
// sweep for rows written elsewhere, metrics, and the background loop.

#include "diego/locket/service.h"

#include <functional>
#include <memory>
#include <string>

#include "diego/locket/errors.h"
#include "diego/testing/child_process.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/locket_requests.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_databases.h"

// `type` is deprecated upstream but part of the validation under test.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::locket {
namespace {

using ::diego::fakes::FakeClock;
using ::diego::fakes::IsOk;
using ::diego::fakes::MakeFetchAllRequest;
using ::diego::fakes::MakeFetchRequest;
using ::diego::fakes::MakeLockRequest;
using ::diego::fakes::MakeReleaseRequest;
using ::diego::fakes::StatusIs;
using ::testing::IsEmpty;

constexpr absl::Duration kNoTimeout = absl::Seconds(10);

// Waits (real time, bounded) for what another thread does after a wake-up
// that is not a FakeClock deadline (`BlockUntilSleepers` cannot tell it from
// the wait it left).
bool Eventually(const std::function<bool()>& condition) {
  return fakes::PollUntil(condition, absl::Seconds(30), absl::Milliseconds(1));
}

class LocketServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(t_, bbs::testing::OpenTestDatabase(bbs::SqlEngine::kSqlite));
    store_ = std::make_unique<LockStore>(t_.db.get());
    service_ = std::make_unique<LocketService>(store_.get(), &clock_, *logs_.logger());
    // Another Locket process on the same database.
    other_ = std::make_unique<LocketService>(store_.get(), &clock_, *logs_.logger());
  }

  bool Present(absl::string_view key) {
    return service_->Fetch(MakeFetchRequest(key), kNoTimeout).ok();
  }

  int Expire(LocketService& service) {
    absl::StatusOr<int> expired = service.ExpireDue();
    EXPECT_THAT(expired, IsOk());
    return expired.ok() ? *expired : -1;
  }

  FakeClock clock_;
  fakes::TestLogger logs_{"locket", &clock_};
  bbs::testing::TestDatabase t_;
  std::unique_ptr<LockStore> store_;
  std::unique_ptr<LocketService> service_;
  std::unique_ptr<LocketService> other_;
};

// ---------------------------------------------------------------------------
// Validation and calls.

TEST_F(LocketServiceTest, LockValidatesInDiegosOrder) {
  // Type first, then ttl, then owner (handlers.go).
  model::v1::LockRequest all_bad = MakeLockRequest("k", "", 0, model::v1::UNKNOWN);
  EXPECT_THAT(service_->Lock(all_bad, kNoTimeout),
              StatusIs(absl::StatusCode::kNotFound, "invalid-type"));
  EXPECT_THAT(service_->Lock(MakeLockRequest("k", "", 0), kNoTimeout),
              StatusIs(absl::StatusCode::kInvalidArgument, "invalid-ttl"));
  EXPECT_THAT(service_->Lock(MakeLockRequest("k", "", -5), kNoTimeout),
              StatusIs(absl::StatusCode::kInvalidArgument, "invalid-ttl"));
  EXPECT_THAT(service_->Lock(MakeLockRequest("k", "", 15), kNoTimeout),
              StatusIs(absl::StatusCode::kInvalidArgument, "invalid-owner"));
  EXPECT_FALSE(Present("k"));
}

TEST_F(LocketServiceTest, KeyOwnerAndValueAreLimitedToDiegosColumnSizes) {
  model::v1::LockRequest at_limit = MakeLockRequest(std::string(kMaxKeyBytes, 'k'), "o", 15);
  at_limit.mutable_resource()->set_owner(std::string(kMaxOwnerBytes, 'o'));
  at_limit.mutable_resource()->set_value(std::string(kMaxValueBytes, 'v'));
  EXPECT_OK(service_->Lock(at_limit, kNoTimeout).status());

  model::v1::LockRequest long_key = MakeLockRequest(std::string(kMaxKeyBytes + 1, 'k'), "o", 15);
  EXPECT_THAT(service_->Lock(long_key, kNoTimeout),
              StatusIs(absl::StatusCode::kInvalidArgument, "key longer than 255 bytes"));
  model::v1::LockRequest long_owner =
      MakeLockRequest("k2", std::string(kMaxOwnerBytes + 1, 'o'), 15);
  EXPECT_THAT(service_->Lock(long_owner, kNoTimeout),
              StatusIs(absl::StatusCode::kInvalidArgument, "owner longer than 255 bytes"));
  model::v1::LockRequest long_value = MakeLockRequest("k3", "o", 15);
  long_value.mutable_resource()->set_value(std::string(kMaxValueBytes + 1, 'v'));
  EXPECT_THAT(service_->Lock(long_value, kNoTimeout),
              StatusIs(absl::StatusCode::kInvalidArgument, "value longer than 4096 bytes"));
  EXPECT_FALSE(Present("k2"));
  EXPECT_FALSE(Present("k3"));
}

TEST_F(LocketServiceTest, TypePairRules) {
  model::v1::LockRequest request = MakeLockRequest("k", "o", 15, model::v1::UNKNOWN);
  request.mutable_resource()->set_type("lock");  // legacy client: type only
  EXPECT_OK(service_->Lock(request, kNoTimeout).status());
  ASSERT_OK_AND_ASSIGN(model::v1::FetchResponse fetched,
                       service_->Fetch(MakeFetchRequest("k"), kNoTimeout));
  EXPECT_EQ(fetched.resource().type_code(), model::v1::LOCK);

  request = MakeLockRequest("p", "o", 15, model::v1::LOCK);
  request.mutable_resource()->set_type("presence");  // mismatch
  EXPECT_THAT(service_->Lock(request, kNoTimeout),
              StatusIs(absl::StatusCode::kNotFound, "invalid-type"));
  request = MakeLockRequest("p", "o", 15, model::v1::PRESENCE);
  request.mutable_resource()->set_type("lock");
  EXPECT_THAT(service_->Lock(request, kNoTimeout),
              StatusIs(absl::StatusCode::kNotFound, "invalid-type"));
  request = MakeLockRequest("p", "o", 15, static_cast<model::v1::TypeCode>(7));  // no such value
  EXPECT_THAT(service_->Lock(request, kNoTimeout),
              StatusIs(absl::StatusCode::kNotFound, "invalid-type"));
  request = MakeLockRequest("p", "o", 15, model::v1::UNKNOWN);
  request.mutable_resource()->set_type("mutex");
  EXPECT_THAT(service_->Lock(request, kNoTimeout),
              StatusIs(absl::StatusCode::kNotFound, "invalid-type"));
  EXPECT_FALSE(Present("p"));

  EXPECT_THAT(service_->FetchAll(MakeFetchAllRequest(model::v1::UNKNOWN), kNoTimeout),
              StatusIs(absl::StatusCode::kNotFound, "invalid-type"));
  EXPECT_THAT(service_->FetchAll(MakeFetchAllRequest(model::v1::LOCK, "presence"), kNoTimeout),
              StatusIs(absl::StatusCode::kNotFound, "invalid-type"));
  ASSERT_OK_AND_ASSIGN(
      model::v1::FetchAllResponse locks,
      service_->FetchAll(MakeFetchAllRequest(model::v1::UNKNOWN, "lock"), kNoTimeout));
  ASSERT_EQ(locks.resources_size(), 1);
  EXPECT_EQ(locks.resources(0).key(), "k");
}

TEST_F(LocketServiceTest, LockFetchFetchAllRelease) {
  model::v1::LockRequest presence = MakeLockRequest("cell-1", "rep-1", 15, model::v1::PRESENCE);
  presence.mutable_resource()->set_value("{\"cell_id\":\"cell-1\"}");
  ASSERT_OK(service_->Lock(presence, kNoTimeout).status());
  ASSERT_OK(service_->Lock(MakeLockRequest("bbs", "bbs-1", 15), kNoTimeout).status());
  // Re-lock by the same owner refreshes.
  ASSERT_OK(service_->Lock(MakeLockRequest("bbs", "bbs-1", 15), kNoTimeout).status());
  EXPECT_THAT(service_->Lock(MakeLockRequest("bbs", "bbs-2", 15), kNoTimeout),
              StatusIs(absl::StatusCode::kAlreadyExists, "lock-collision"));

  ASSERT_OK_AND_ASSIGN(model::v1::FetchResponse fetched,
                       service_->Fetch(MakeFetchRequest("cell-1"), kNoTimeout));
  EXPECT_EQ(fetched.resource().owner(), "rep-1");
  EXPECT_EQ(fetched.resource().value(), "{\"cell_id\":\"cell-1\"}");
  EXPECT_EQ(fetched.resource().type(), "presence");
  EXPECT_THAT(service_->Fetch(MakeFetchRequest("nope"), kNoTimeout),
              StatusIs(absl::StatusCode::kNotFound, "resource-not-found"));

  ASSERT_OK_AND_ASSIGN(
      model::v1::FetchAllResponse presences,
      service_->FetchAll(MakeFetchAllRequest(model::v1::PRESENCE, "presence"), kNoTimeout));
  ASSERT_EQ(presences.resources_size(), 1);
  EXPECT_EQ(presences.resources(0).key(), "cell-1");

  EXPECT_OK(service_->Release(MakeReleaseRequest("nope", "x"), kNoTimeout).status());
  EXPECT_THAT(service_->Release(MakeReleaseRequest("bbs", "bbs-2"), kNoTimeout),
              StatusIs(absl::StatusCode::kAlreadyExists, "lock-collision"));
  EXPECT_OK(service_->Release(MakeReleaseRequest("bbs", "bbs-1"), kNoTimeout).status());
  EXPECT_FALSE(Present("bbs"));
  ASSERT_OK(service_->Lock(MakeLockRequest("bbs", "bbs-2", 15), kNoTimeout).status());
}

// ---------------------------------------------------------------------------
// Expiry.

TEST_F(LocketServiceTest, ALockNotRefreshedForItsTtlIsDeleted) {
  ASSERT_OK(service_->Lock(MakeLockRequest("bbs", "bbs-1", 10), kNoTimeout).status());
  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(Expire(*service_), 0);
  EXPECT_TRUE(Present("bbs"));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Expire(*service_), 1);
  EXPECT_FALSE(Present("bbs"));
  EXPECT_EQ(service_->metrics().locks_expired, 1);
  EXPECT_EQ(service_->metrics().presences_expired, 0);
  EXPECT_TRUE(logs_.Contains("lock-expired"));
  // The timer is gone with the row.
  clock_.Advance(absl::Seconds(60));
  EXPECT_EQ(Expire(*service_), 0);
  EXPECT_EQ(service_->metrics().locks_expired, 1);
}

TEST_F(LocketServiceTest, ARefreshBeforeTheTtlPostponesExpiry) {
  ASSERT_OK(service_->Lock(MakeLockRequest("bbs", "bbs-1", 10), kNoTimeout).status());
  clock_.Advance(absl::Seconds(6));
  ASSERT_OK(
      service_->Lock(MakeLockRequest("bbs", "bbs-1", 10), kNoTimeout).status());  // due at +16
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(Expire(*service_), 0);
  EXPECT_TRUE(Present("bbs"));
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Expire(*service_), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Expire(*service_), 1);
  EXPECT_FALSE(Present("bbs"));
}

TEST_F(LocketServiceTest, PresencesCountSeparately) {
  ASSERT_OK(service_->Lock(MakeLockRequest("cell-1", "rep-1", 5, model::v1::PRESENCE), kNoTimeout)
                .status());
  ASSERT_OK(service_->Lock(MakeLockRequest("cell-2", "rep-2", 5, model::v1::PRESENCE), kNoTimeout)
                .status());
  ASSERT_OK(service_->Lock(MakeLockRequest("bbs", "bbs-1", 50), kNoTimeout).status());
  ASSERT_OK(service_->Sweep());
  EXPECT_EQ(service_->metrics().active_locks, 1);
  EXPECT_EQ(service_->metrics().active_presences, 2);

  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Expire(*service_), 2);
  EXPECT_EQ(service_->metrics().presences_expired, 2);
  EXPECT_EQ(service_->metrics().locks_expired, 0);
  // Gauges are counted at sweeps.
  EXPECT_EQ(service_->metrics().active_presences, 2);
  ASSERT_OK(service_->Sweep());
  EXPECT_EQ(service_->metrics().active_presences, 0);
  EXPECT_EQ(service_->metrics().active_locks, 1);
}

TEST_F(LocketServiceTest, CompareAndDeleteSparesARowRefreshedElsewhere) {
  ASSERT_OK(service_->Lock(MakeLockRequest("bbs", "bbs-1", 10), kNoTimeout).status());
  clock_.Advance(absl::Seconds(5));
  // The holder's refresh reaches the other Locket process.
  ASSERT_OK(other_->Lock(MakeLockRequest("bbs", "bbs-1", 10), kNoTimeout).status());
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Expire(*service_), 0);  // index changed
  EXPECT_TRUE(Present("bbs"));
  EXPECT_EQ(service_->metrics().locks_expired, 0);
  // The other process's own timer still expires it on time.
  EXPECT_EQ(Expire(*other_), 0);
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Expire(*other_), 1);
  EXPECT_FALSE(Present("bbs"));
}

TEST_F(LocketServiceTest, CompareAndDeleteSparesARowRecreatedOrTakenOver) {
  ASSERT_OK(service_->Lock(MakeLockRequest("a", "owner-1", 10), kNoTimeout).status());
  ASSERT_OK(service_->Lock(MakeLockRequest("b", "owner-1", 10), kNoTimeout).status());
  // Elsewhere: "a" is released and re-created by the same owner (new
  // modified_id, index 1 again); "b" is released and taken by another owner.
  ASSERT_OK(other_->Release(MakeReleaseRequest("a", "owner-1"), kNoTimeout).status());
  ASSERT_OK(other_->Lock(MakeLockRequest("a", "owner-1", 10), kNoTimeout).status());
  ASSERT_OK(other_->Release(MakeReleaseRequest("b", "owner-1"), kNoTimeout).status());
  ASSERT_OK(other_->Lock(MakeLockRequest("b", "owner-2", 10), kNoTimeout).status());
  // "a" now differs only in modified_id (same owner, index 1 again).
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Expire(*service_), 0);
  EXPECT_TRUE(Present("a"));
  EXPECT_TRUE(Present("b"));
}

TEST_F(LocketServiceTest, TheSweepArmsTimersForRowsWrittenElsewhere) {
  ASSERT_OK(other_->Lock(MakeLockRequest("bbs", "bbs-1", 10), kNoTimeout).status());
  ASSERT_OK(other_->Lock(MakeLockRequest("cell-1", "rep-1", 20, model::v1::PRESENCE), kNoTimeout)
                .status());
  other_.reset();  // That process dies; its timers with it.
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(Expire(*service_), 0);  // Not known yet.
  EXPECT_TRUE(Present("bbs"));

  ASSERT_OK(service_->Sweep());  // Due ttl after the sweep saw them.
  EXPECT_EQ(service_->metrics().active_locks, 1);
  EXPECT_EQ(service_->metrics().active_presences, 1);
  clock_.Advance(absl::Seconds(9));
  ASSERT_OK(service_->Sweep());  // Known rows keep their timers.
  EXPECT_EQ(Expire(*service_), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Expire(*service_), 1);
  EXPECT_FALSE(Present("bbs"));
  EXPECT_TRUE(Present("cell-1"));
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Expire(*service_), 1);
  EXPECT_FALSE(Present("cell-1"));
  EXPECT_EQ(service_->metrics().locks_expired, 1);
  EXPECT_EQ(service_->metrics().presences_expired, 1);
}

TEST_F(LocketServiceTest, TheSweepRearmsARowRefreshedElsewhere) {
  ASSERT_OK(service_->Lock(MakeLockRequest("bbs", "bbs-1", 10), kNoTimeout).status());
  clock_.Advance(absl::Seconds(8));
  ASSERT_OK(other_->Lock(MakeLockRequest("bbs", "bbs-1", 10), kNoTimeout).status());  // index 2
  other_.reset();
  ASSERT_OK(service_->Sweep());  // A version it does not know: due 8 + 10.
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(Expire(*service_), 0);
  clock_.Advance(absl::Seconds(7));
  EXPECT_EQ(Expire(*service_), 0);
  EXPECT_TRUE(Present("bbs"));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Expire(*service_), 1);
  EXPECT_FALSE(Present("bbs"));
}

TEST_F(LocketServiceTest, ARestartedServiceExpiresRowsFromBefore) {
  ASSERT_OK(service_->Lock(MakeLockRequest("bbs", "bbs-1", 10), kNoTimeout).status());
  service_ = std::make_unique<LocketService>(store_.get(), &clock_, *logs_.logger());
  ASSERT_OK(service_->Sweep());
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Expire(*service_), 1);
  EXPECT_FALSE(Present("bbs"));
}

TEST_F(LocketServiceTest, ALockAfterAReleaseHasItsOwnTimer) {
  ASSERT_OK(service_->Lock(MakeLockRequest("bbs", "bbs-1", 10), kNoTimeout).status());
  ASSERT_OK(service_->Release(MakeReleaseRequest("bbs", "bbs-1"), kNoTimeout).status());
  // The same owner locks again later: a new row version, due ttl after that.
  clock_.Advance(absl::Seconds(5));
  ASSERT_OK(service_->Lock(MakeLockRequest("bbs", "bbs-1", 10), kNoTimeout).status());
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Expire(*service_), 0);
  EXPECT_TRUE(Present("bbs"));
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Expire(*service_), 1);
}

// ---------------------------------------------------------------------------
// The background loop.

TEST_F(LocketServiceTest, TheLoopSweepsExpiresAndWakesForAnEarlierTimer) {
  service_ = std::make_unique<LocketService>(store_.get(), &clock_, *logs_.logger(),
                                             LocketService::Options{absl::Seconds(5)});
  // A row from another process before the start: the first sweep arms it.
  ASSERT_OK(other_->Lock(MakeLockRequest("old", "x", 8), kNoTimeout).status());
  other_.reset();
  service_->Start();
  service_->Start();  // idempotent
  clock_.BlockUntilSleepers(1);  // Swept at once, now waiting for the next sweep (+5).

  // A Lock due before the loop's deadline wakes it to re-plan.
  ASSERT_OK(service_->Lock(MakeLockRequest("short", "y", 2), kNoTimeout).status());
  clock_.Advance(absl::Seconds(2));
  EXPECT_TRUE(Eventually([&] { return service_->metrics().locks_expired == 1; }));
  EXPECT_FALSE(Present("short"));
  EXPECT_TRUE(Present("old"));

  // Next: the sweep at +5 (counts "old"), then "old" is due at +8.
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(3));
  clock_.BlockUntilSleepers(1);
  EXPECT_EQ(service_->metrics().active_locks, 1);
  EXPECT_TRUE(Present("old"));
  clock_.Advance(absl::Seconds(3));
  clock_.BlockUntilSleepers(1);
  EXPECT_FALSE(Present("old"));
  EXPECT_EQ(service_->metrics().locks_expired, 2);

  service_->Stop();
  service_->Stop();  // idempotent
  EXPECT_EQ(clock_.Sleepers(), 0);
}

TEST_F(LocketServiceTest, TheLoopArmsRowsOtherProcessesWriteLater) {
  service_->Start();
  clock_.BlockUntilSleepers(1);
  ASSERT_OK(other_->Lock(MakeLockRequest("late", "x", 4), kNoTimeout).status());
  other_.reset();
  clock_.Advance(absl::Seconds(5));  // sweep: due at +9
  clock_.BlockUntilSleepers(1);
  EXPECT_TRUE(Present("late"));
  EXPECT_EQ(service_->metrics().active_locks, 1);
  clock_.Advance(absl::Seconds(4));
  clock_.BlockUntilSleepers(1);
  EXPECT_FALSE(Present("late"));
  EXPECT_EQ(service_->metrics().locks_expired, 1);
  service_->Stop();
}

}  // namespace
}  // namespace diego::locket
