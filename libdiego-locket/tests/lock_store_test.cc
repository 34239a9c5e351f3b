// Copyright 2026 The libdiego Authors.
//
// LockStore on both SQL engines: Lock/Release/Fetch/FetchAll semantics and
// errors (bbs-wire-reference.md 7.4), modified_id/modified_index, type
// normalisation, compare-and-delete, and two stores (two Locket processes)
// on one database.

#include "diego/locket/lock_store.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "diego/locket/errors.h"
#include "diego/testing/locket_requests.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_databases.h"

// `Resource.type` is deprecated upstream; these tests check it on purpose.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::locket {
namespace {

using ::diego::bbs::SqlEngine;
using ::diego::bbs::testing::kTestEngines;
using ::diego::bbs::testing::OpenTestDatabase;
using ::diego::bbs::testing::TestDatabase;
using ::diego::bbs::testing::TestEngineName;
using ::diego::fakes::IsOk;
using ::diego::fakes::MakeResource;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Keys(const std::vector<model::v1::Resource>& resources) {
  std::vector<std::string> keys;
  for (const model::v1::Resource& r : resources) keys.push_back(r.key());
  return keys;
}

class LockStoreTest : public ::testing::TestWithParam<SqlEngine> {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(t_, OpenTestDatabase(GetParam()));
    store_ = std::make_unique<LockStore>(t_.db.get(), [this] {
      return absl::StrCat("guid-", ++guids_);
    });
  }

  // A row written behind the store's back (an old Locket, a crash).
  void InsertRaw(absl::string_view key, absl::string_view owner, int64_t type_code,
                 absl::string_view modified_id, int64_t modified_index) {
    ASSERT_OK(t_.db->Write([&](bbs::SqlTx& tx) -> absl::Status {
      const bbs::SqlParam params[] = {bbs::Text(key),   bbs::Text(owner),
                                      bbs::Int(type_code), bbs::Text(modified_id),
                                      bbs::Int(modified_index)};
      return tx
          .Exec("INSERT INTO locks (path, owner, value, type, type_code, ttl, modified_id,"
                " modified_index) VALUES (?, ?, '', '', ?, 10, ?, ?)",
                params)
          .status();
    }));
  }

  LockRow OnlyRow() {
    absl::StatusOr<std::vector<LockRow>> rows = store_->AllRows();
    EXPECT_THAT(rows, IsOk());
    EXPECT_EQ(rows->size(), 1u);
    return rows->empty() ? LockRow() : rows->front();
  }

  TestDatabase t_;
  int guids_ = 0;
  std::unique_ptr<LockStore> store_;
};

TEST_P(LockStoreTest, LockInsertsARowWithANewIdAndIndexOne) {
  ASSERT_OK_AND_ASSIGN(LockRow row,
                       store_->Lock(MakeResource("bbs", "bbs-1", model::v1::LOCK, "v"), 15));
  EXPECT_EQ(row.modified_id, "guid-1");
  EXPECT_EQ(row.modified_index, 1);
  EXPECT_EQ(row.ttl_seconds, 15);
  EXPECT_EQ(row.resource.type(), "lock");

  ASSERT_OK_AND_ASSIGN(model::v1::Resource fetched, store_->Fetch("bbs"));
  EXPECT_EQ(fetched.key(), "bbs");
  EXPECT_EQ(fetched.owner(), "bbs-1");
  EXPECT_EQ(fetched.value(), "v");
  EXPECT_EQ(fetched.type(), "lock");
  EXPECT_EQ(fetched.type_code(), model::v1::LOCK);

  LockRow stored = OnlyRow();
  EXPECT_EQ(stored.modified_id, "guid-1");
  EXPECT_EQ(stored.modified_index, 1);
  EXPECT_EQ(stored.ttl_seconds, 15);
}

TEST_P(LockStoreTest, SameOwnerReLockRefreshesAndKeepsTheId) {
  ASSERT_OK(store_->Lock(MakeResource("bbs", "bbs-1", model::v1::LOCK, "old"), 15).status());
  ASSERT_OK_AND_ASSIGN(LockRow row,
                       store_->Lock(MakeResource("bbs", "bbs-1", model::v1::LOCK, "new"), 30));
  EXPECT_EQ(row.modified_id, "guid-1");
  EXPECT_EQ(row.modified_index, 2);
  ASSERT_OK_AND_ASSIGN(row, store_->Lock(MakeResource("bbs", "bbs-1", model::v1::LOCK, "new"), 30));
  EXPECT_EQ(row.modified_index, 3);

  LockRow stored = OnlyRow();
  EXPECT_EQ(stored.modified_id, "guid-1");
  EXPECT_EQ(stored.modified_index, 3);
  EXPECT_EQ(stored.ttl_seconds, 30);
  EXPECT_EQ(stored.resource.value(), "new");
  EXPECT_EQ(guids_, 1);
}

TEST_P(LockStoreTest, DifferentOwnerCollidesAndChangesNothing) {
  ASSERT_OK(store_->Lock(MakeResource("bbs", "bbs-1", model::v1::LOCK, "mine"), 15).status());
  absl::StatusOr<LockRow> other =
      store_->Lock(MakeResource("bbs", "bbs-2", model::v1::LOCK, "theirs"), 15);
  EXPECT_THAT(other, StatusIs(absl::StatusCode::kAlreadyExists, "lock-collision"));
  EXPECT_TRUE(IsLockCollision(other.status()));

  LockRow stored = OnlyRow();
  EXPECT_EQ(stored.resource.owner(), "bbs-1");
  EXPECT_EQ(stored.resource.value(), "mine");
  EXPECT_EQ(stored.modified_index, 1);
}

TEST_P(LockStoreTest, ARowWithAnEmptyOwnerCanBeTakenAndKeepsItsId) {
  InsertRaw("bbs", "", model::v1::LOCK, "old-id", 4);
  ASSERT_OK_AND_ASSIGN(LockRow row, store_->Lock(MakeResource("bbs", "bbs-2"), 15));
  EXPECT_EQ(row.modified_id, "old-id");
  EXPECT_EQ(row.modified_index, 5);
  ASSERT_OK_AND_ASSIGN(model::v1::Resource fetched, store_->Fetch("bbs"));
  EXPECT_EQ(fetched.owner(), "bbs-2");
}

TEST_P(LockStoreTest, ReleaseDeletesOnlyTheOwnersRow) {
  EXPECT_OK(store_->Release(MakeResource("missing", "anyone")));

  ASSERT_OK(store_->Lock(MakeResource("bbs", "bbs-1"), 15).status());
  EXPECT_THAT(store_->Release(MakeResource("bbs", "bbs-2")),
              StatusIs(absl::StatusCode::kAlreadyExists, "lock-collision"));
  EXPECT_OK(store_->Fetch("bbs").status());

  EXPECT_OK(store_->Release(MakeResource("bbs", "bbs-1")));
  EXPECT_THAT(store_->Fetch("bbs"), StatusIs(absl::StatusCode::kNotFound, "resource-not-found"));
  ASSERT_OK_AND_ASSIGN(std::vector<LockRow> rows, store_->AllRows());
  EXPECT_THAT(rows, IsEmpty());

  // A new Lock after a release is a new row (new id, index 1).
  ASSERT_OK_AND_ASSIGN(LockRow row, store_->Lock(MakeResource("bbs", "bbs-2"), 15));
  EXPECT_EQ(row.modified_id, "guid-2");
  EXPECT_EQ(row.modified_index, 1);
}

TEST_P(LockStoreTest, FetchOfAMissingOrOwnerlessKeyIsNotFound) {
  EXPECT_THAT(store_->Fetch("nope"), StatusIs(absl::StatusCode::kNotFound, "resource-not-found"));
  InsertRaw("ownerless", "", model::v1::LOCK, "id", 1);
  EXPECT_THAT(store_->Fetch("ownerless"),
              StatusIs(absl::StatusCode::kNotFound, "resource-not-found"));
}

TEST_P(LockStoreTest, FetchAllFiltersByTypeSkipsEmptyOwnersAndSortsByKey) {
  ASSERT_OK(store_->Lock(MakeResource("cell-b", "rep-b", model::v1::PRESENCE, "{}"), 15).status());
  ASSERT_OK(store_->Lock(MakeResource("cell-a", "rep-a", model::v1::PRESENCE, "{}"), 15).status());
  ASSERT_OK(store_->Lock(MakeResource("bbs", "bbs-1", model::v1::LOCK), 15).status());
  ASSERT_OK(store_->Lock(MakeResource("auctioneer", "auc-1", model::v1::LOCK), 15).status());
  InsertRaw("cell-c", "", model::v1::PRESENCE, "id", 1);

  ASSERT_OK_AND_ASSIGN(std::vector<model::v1::Resource> presences,
                       store_->FetchAll(model::v1::PRESENCE));
  EXPECT_THAT(Keys(presences), ElementsAre("cell-a", "cell-b"));
  EXPECT_EQ(presences[0].owner(), "rep-a");
  EXPECT_EQ(presences[0].type(), "presence");
  EXPECT_EQ(presences[0].value(), "{}");

  ASSERT_OK_AND_ASSIGN(std::vector<model::v1::Resource> locks, store_->FetchAll(model::v1::LOCK));
  EXPECT_THAT(Keys(locks), ElementsAre("auctioneer", "bbs"));

  ASSERT_OK_AND_ASSIGN(std::vector<LockRow> rows, store_->AllRows());
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].resource.key(), "auctioneer");
  EXPECT_EQ(rows[4].resource.key(), "cell-c");
}

TEST_P(LockStoreTest, LockStoresTheNormalisedType) {
  model::v1::Resource legacy = MakeResource("cell-1", "rep-1", model::v1::UNKNOWN);
  legacy.set_type("presence");
  ASSERT_OK_AND_ASSIGN(LockRow row, store_->Lock(legacy, 15));
  EXPECT_EQ(row.resource.type_code(), model::v1::PRESENCE);
  ASSERT_OK_AND_ASSIGN(model::v1::Resource fetched, store_->Fetch("cell-1"));
  EXPECT_EQ(fetched.type_code(), model::v1::PRESENCE);
  EXPECT_EQ(fetched.type(), "presence");
  ASSERT_OK_AND_ASSIGN(std::vector<model::v1::Resource> presences,
                       store_->FetchAll(model::v1::PRESENCE));
  EXPECT_THAT(Keys(presences), ElementsAre("cell-1"));
}

TEST_P(LockStoreTest, DeleteIfUnchangedComparesOwnerIdAndIndex) {
  ASSERT_OK(store_->Lock(MakeResource("bbs", "bbs-1"), 15).status());
  ASSERT_OK(store_->Lock(MakeResource("bbs", "bbs-1"), 15).status());  // index 2

  auto deleted = [&](absl::string_view key, absl::string_view owner, absl::string_view id,
                     int64_t index) {
    absl::StatusOr<bool> result = store_->DeleteIfUnchanged(key, owner, id, index);
    EXPECT_THAT(result, IsOk());
    return result.ok() && *result;
  };
  EXPECT_FALSE(deleted("bbs", "bbs-1", "guid-1", 1));  // refreshed since
  EXPECT_FALSE(deleted("bbs", "bbs-2", "guid-1", 2));  // another owner
  EXPECT_FALSE(deleted("bbs", "bbs-1", "guid-9", 2));  // deleted and re-created
  EXPECT_FALSE(deleted("other", "bbs-1", "guid-1", 2));
  EXPECT_OK(store_->Fetch("bbs").status());

  EXPECT_TRUE(deleted("bbs", "bbs-1", "guid-1", 2));
  EXPECT_THAT(store_->Fetch("bbs"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(LockStoreTest, TwoStoresOnOneDatabaseCannotBothHoldALock) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<bbs::SqlDatabase> db2, bbs::SqlDatabase::Open(t_.url));
  LockStore store2(db2.get());

  ASSERT_OK(store_->Lock(MakeResource("bbs", "bbs-1"), 15).status());
  EXPECT_THAT(store2.Lock(MakeResource("bbs", "bbs-2"), 15),
              StatusIs(absl::StatusCode::kAlreadyExists, "lock-collision"));
  EXPECT_THAT(store2.Release(MakeResource("bbs", "bbs-2")),
              StatusIs(absl::StatusCode::kAlreadyExists, "lock-collision"));
  ASSERT_OK_AND_ASSIGN(model::v1::Resource fetched, store2.Fetch("bbs"));
  EXPECT_EQ(fetched.owner(), "bbs-1");

  // Both race for fresh keys at once: exactly one owner wins each key.
  constexpr int kKeys = 20;
  std::atomic<int> wins1{0};
  std::atomic<int> wins2{0};
  absl::Notification go;
  auto race = [&](LockStore* store, absl::string_view owner, std::atomic<int>* wins) {
    go.WaitForNotification();
    for (int i = 0; i < kKeys; ++i) {
      absl::StatusOr<LockRow> row = store->Lock(MakeResource(absl::StrCat("race-", i), owner), 15);
      if (row.ok()) {
        ++*wins;
      } else {
        EXPECT_TRUE(IsLockCollision(row.status())) << row.status();
      }
    }
  };
  std::thread a(race, store_.get(), "owner-a", &wins1);
  std::thread b(race, &store2, "owner-b", &wins2);
  go.Notify();
  a.join();
  b.join();
  EXPECT_EQ(wins1 + wins2, kKeys);
  ASSERT_OK_AND_ASSIGN(std::vector<model::v1::Resource> locks, store2.FetchAll(model::v1::LOCK));
  EXPECT_EQ(locks.size(), static_cast<size_t>(kKeys + 1));
  for (const model::v1::Resource& lock : locks) {
    if (lock.key() == "bbs") continue;
    ASSERT_OK_AND_ASSIGN(model::v1::Resource seen, store_->Fetch(lock.key()));
    EXPECT_EQ(seen.owner(), lock.owner());
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, LockStoreTest, ::testing::ValuesIn(kTestEngines),
                         TestEngineName);

TEST(NormalizeResourceTypeTest, TypeCodeWinsAndUnknownIsDerivedFromType) {
  model::v1::Resource r = MakeResource("k", "o", model::v1::LOCK);
  EXPECT_EQ(NormalizeResourceType(r).type(), "lock");
  r.set_type("presence");  // A mismatch: type_code decides.
  EXPECT_EQ(NormalizeResourceType(r).type(), "lock");

  r = MakeResource("k", "o", model::v1::PRESENCE);
  EXPECT_EQ(NormalizeResourceType(r).type(), "presence");

  r = MakeResource("k", "o", model::v1::UNKNOWN);
  r.set_type("lock");
  EXPECT_EQ(NormalizeResourceType(r).type_code(), model::v1::LOCK);
  r.set_type("presence");
  EXPECT_EQ(NormalizeResourceType(r).type_code(), model::v1::PRESENCE);
  r.set_type("other");
  model::v1::Resource unknown = NormalizeResourceType(r);
  EXPECT_EQ(unknown.type_code(), model::v1::UNKNOWN);
  EXPECT_EQ(unknown.type(), "other");
  EXPECT_EQ(unknown.key(), "k");
  EXPECT_EQ(unknown.owner(), "o");
}

}  // namespace
}  // namespace diego::locket
