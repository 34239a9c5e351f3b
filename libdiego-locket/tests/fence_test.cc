// Copyright 2026 The libdiego Authors.
//
// Write fencing on both SQL engines: `SqlDatabase::Options::before_commit`
// itself (a failing hook fails the whole batch, stores nothing and drops
// AfterCommit callbacks; a passing one commits), and `MakeLockFence` over a
// LockRunner holding the "bbs" lock in the same database's `locks` table.

#include "diego/locket/fence.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "diego/locket/lock_runner.h"
#include "diego/locket/lock_store.h"
#include "diego/locket/service.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_databases.h"

namespace diego::locket {
namespace {

using ::diego::bbs::SqlDatabase;
using ::diego::bbs::SqlEngine;
using ::diego::bbs::SqlTx;
using ::diego::bbs::testing::kTestEngines;
using ::diego::bbs::testing::OpenTestDatabase;
using ::diego::bbs::testing::TestDatabase;
using ::diego::bbs::testing::TestEngineName;
using ::diego::fakes::FakeClock;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::HasSubstr;

absl::Status InsertDomain(SqlTx& tx, absl::string_view domain) {
  const bbs::SqlParam params[] = {bbs::Text(domain)};
  return tx.Exec("INSERT INTO domains (domain, expire_time) VALUES (?, 0)", params).status();
}

absl::Status WriteDomain(SqlDatabase& db, absl::string_view domain) {
  return db.Write([&](SqlTx& tx) { return InsertDomain(tx, domain); });
}

int64_t CountDomains(SqlDatabase& db) {
  int64_t count = -1;
  EXPECT_OK(db.Read([&](SqlTx& tx) {
    return tx.Query("SELECT COUNT(*) FROM domains", {}, [&](const bbs::SqlRow& row) {
      count = row.Int(0);
      return absl::OkStatus();
    });
  }));
  return count;
}

// ---------------------------------------------------------------------------
// The SQL layer's before_commit hook.

class BeforeCommitTest : public ::testing::TestWithParam<SqlEngine> {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(TestDatabase t, OpenTestDatabase(GetParam()));
    url_ = t.url;
    plain_ = std::move(t.db);
    SqlDatabase::Options options;
    options.before_commit = [this](SqlTx& tx) -> absl::Status {
      ++hook_runs_;
      // Runs after the batch's writes: it sees them.
      int64_t seen = 0;
      absl::Status read = tx.Query("SELECT COUNT(*) FROM domains", {}, [&](const bbs::SqlRow& r) {
        seen = r.Int(0);
        return absl::OkStatus();
      });
      if (!read.ok()) return read;
      last_seen_ = seen;
      absl::MutexLock lock(&mu_);
      return verdict_;
    };
    ASSERT_OK_AND_ASSIGN(fenced_, SqlDatabase::Open(url_, options));
  }

  void SetVerdict(absl::Status verdict) {
    absl::MutexLock lock(&mu_);
    verdict_ = std::move(verdict);
  }

  std::string url_;
  std::unique_ptr<SqlDatabase> plain_;
  std::unique_ptr<SqlDatabase> fenced_;
  std::atomic<int> hook_runs_{0};
  std::atomic<int64_t> last_seen_{-1};
  absl::Mutex mu_;
  absl::Status verdict_ ABSL_GUARDED_BY(mu_);
};

TEST_P(BeforeCommitTest, APassingHookSeesTheBatchAndCommits) {
  bool after_commit_ran = false;
  ASSERT_OK(fenced_->Write([&](SqlTx& tx) {
    tx.AfterCommit([&] { after_commit_ran = true; });
    return InsertDomain(tx, "cf-apps");
  }));
  EXPECT_TRUE(after_commit_ran);
  EXPECT_EQ(hook_runs_.load(), 1);
  EXPECT_EQ(last_seen_.load(), 1);
  EXPECT_EQ(CountDomains(*plain_), 1);

  // A write that fails on a statement of its own keeps its error; the hook
  // still runs (after that write was rolled back) and the batch commits.
  EXPECT_THAT(fenced_->Write([&](SqlTx& tx) { return InsertDomain(tx, "cf-apps"); }),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(hook_runs_.load(), 2);
  EXPECT_EQ(last_seen_.load(), 1);
  EXPECT_OK(WriteDomain(*fenced_, "cf-tasks"));
  EXPECT_EQ(CountDomains(*plain_), 2);
}

TEST_P(BeforeCommitTest, AFailingHookFailsEveryWriteOfTheBatch) {
  SetVerdict(absl::FailedPreconditionError("fenced"));
  bool after_commit_ran = false;
  EXPECT_THAT(fenced_->Write([&](SqlTx& tx) {
    tx.AfterCommit([&] { after_commit_ran = true; });
    return InsertDomain(tx, "cf-apps");
  }),
              StatusIs(absl::StatusCode::kFailedPrecondition, "fenced"));
  EXPECT_FALSE(after_commit_ran);
  EXPECT_EQ(last_seen_.load(), 1);  // The write ran, then was rolled back.
  // A write that failed on its own keeps its own error.
  EXPECT_THAT(fenced_->Write([](SqlTx&) { return absl::NotFoundError("mine"); }),
              StatusIs(absl::StatusCode::kNotFound, "mine"));
  // Not retried, even for kAborted.
  SetVerdict(absl::AbortedError("hook aborted"));
  const int runs = hook_runs_.load();
  EXPECT_THAT(WriteDomain(*fenced_, "x"), StatusIs(absl::StatusCode::kAborted, "hook aborted"));
  EXPECT_EQ(hook_runs_.load(), runs + 1);
  SetVerdict(absl::FailedPreconditionError("fenced"));

  // Concurrent writers, however the writer batches them: all refused.
  std::vector<std::thread> writers;
  std::atomic<int> refused{0};
  for (int i = 0; i < 8; ++i) {
    writers.emplace_back([&, i] {
      absl::Status s = WriteDomain(*fenced_, absl::StrCat("d-", i));
      if (s.code() == absl::StatusCode::kFailedPrecondition && s.message() == "fenced") ++refused;
    });
  }
  for (std::thread& w : writers) w.join();
  EXPECT_EQ(refused.load(), 8);
  EXPECT_EQ(CountDomains(*plain_), 0);
  EXPECT_EQ(CountDomains(*fenced_), 0);

  // Exclusive() is not fenced.
  EXPECT_OK(fenced_->Exclusive([](SqlTx& tx) { return InsertDomain(tx, "exclusive"); }));
  EXPECT_EQ(CountDomains(*plain_), 1);

  SetVerdict(absl::OkStatus());
  EXPECT_OK(WriteDomain(*fenced_, "cf-apps"));
  EXPECT_EQ(CountDomains(*plain_), 2);
}

TEST_P(BeforeCommitTest, AHookWhoseStatementFailsFailsTheBatch) {
  SqlDatabase::Options options;
  options.before_commit = [](SqlTx& tx) -> absl::Status {
    // Swallows its statement's error: the batch must still fail.
    (void)tx.Exec("SELECT no_such_column FROM domains", {});
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> broken, SqlDatabase::Open(url_, options));
  EXPECT_THAT(WriteDomain(*broken, "cf-apps"), ::testing::Not(IsOk()));
  EXPECT_EQ(CountDomains(*plain_), 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, BeforeCommitTest, ::testing::ValuesIn(kTestEngines),
                         TestEngineName);

// ---------------------------------------------------------------------------
// MakeLockFence.

class LockFenceTest : public ::testing::TestWithParam<SqlEngine> {
 protected:
  void SetUp() override {
    // Locket's rows live in the same database (diego-bbs serving Locket):
    // the Locket side writes through its own, unfenced connection.
    ASSERT_OK_AND_ASSIGN(TestDatabase t, OpenTestDatabase(GetParam()));
    url_ = t.url;
    locket_db_ = std::move(t.db);
    store_ = std::make_unique<LockStore>(locket_db_.get());
    service_ = std::make_unique<LocketService>(store_.get(), &clock_, *logs_.logger());
    LockRunner::Options options;
    options.resource.set_key("bbs");
    options.resource.set_owner("bbs-1");
    options.ttl = absl::Seconds(15);
    options.retry_interval = absl::Seconds(5);
    runner_ = std::make_unique<LockRunner>(service_.get(), &clock_, *logs_.logger(), options);
  }

  std::unique_ptr<SqlDatabase> OpenFenced(bool check_table) {
    SqlDatabase::Options options;
    options.before_commit =
        MakeLockFence(runner_.get(), &clock_, {.key = "bbs", .owner = "bbs-1",
                                               .check_table = check_table});
    absl::StatusOr<std::unique_ptr<SqlDatabase>> db = SqlDatabase::Open(url_, options);
    EXPECT_THAT(db, IsOk());
    return db.ok() ? *std::move(db) : nullptr;
  }

  model::v1::Resource Bbs(absl::string_view owner) {
    model::v1::Resource r;
    r.set_key("bbs");
    r.set_owner(std::string(owner));
    r.set_type_code(model::v1::LOCK);
    return r;
  }

  FakeClock clock_;
  fakes::TestLogger logs_{"bbs", &clock_};
  std::string url_;
  std::unique_ptr<SqlDatabase> locket_db_;
  std::unique_ptr<LockStore> store_;
  std::unique_ptr<LocketService> service_;
  std::unique_ptr<LockRunner> runner_;
};

TEST(ErrFencedTest, NamesTheLockAndTheReason) {
  EXPECT_THAT(ErrFenced("bbs", "the locks row is gone"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "not the active holder of lock \"bbs\"; refusing to write: the locks row "
                       "is gone"));
  EXPECT_THAT(ErrFenced("bbs", ""),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "not the active holder of lock \"bbs\"; refusing to write"));
}

TEST_P(LockFenceTest, RefusedUntilTheLockIsHeldThenAllowed) {
  std::unique_ptr<SqlDatabase> db = OpenFenced(/*check_table=*/true);
  ASSERT_NE(db, nullptr);
  EXPECT_THAT(WriteDomain(*db, "cf-apps"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not the active holder of lock \"bbs\"")));
  EXPECT_EQ(CountDomains(*locket_db_), 0);

  ASSERT_OK(runner_->AttemptOnce());
  EXPECT_OK(WriteDomain(*db, "cf-apps"));
  EXPECT_EQ(CountDomains(*locket_db_), 1);
}

TEST_P(LockFenceTest, RefusedOnceTheLeasePassed) {
  std::unique_ptr<SqlDatabase> db = OpenFenced(/*check_table=*/false);
  ASSERT_NE(db, nullptr);
  ASSERT_OK(runner_->AttemptOnce());  // lease: now + 15s
  clock_.Advance(absl::Seconds(14));
  EXPECT_OK(WriteDomain(*db, "a"));
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(WriteDomain(*db, "b"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                              HasSubstr("lease expired")));
  // A refresh renews the lease.
  ASSERT_OK(runner_->AttemptOnce());
  EXPECT_OK(WriteDomain(*db, "c"));
  EXPECT_EQ(CountDomains(*locket_db_), 2);
}

TEST_P(LockFenceTest, RefusedWhenTheLocksRowIsGone) {
  std::unique_ptr<SqlDatabase> db = OpenFenced(/*check_table=*/true);
  ASSERT_NE(db, nullptr);
  ASSERT_OK(runner_->AttemptOnce());
  ASSERT_OK(store_->Release(Bbs("bbs-1")));  // e.g. expired by Locket
  EXPECT_THAT(WriteDomain(*db, "a"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                              HasSubstr("the locks row is gone")));
  EXPECT_EQ(CountDomains(*locket_db_), 0);

  // Without the table check only the (still valid) lease counts.
  std::unique_ptr<SqlDatabase> lease_only = OpenFenced(/*check_table=*/false);
  ASSERT_NE(lease_only, nullptr);
  EXPECT_OK(WriteDomain(*lease_only, "a"));
}

TEST_P(LockFenceTest, RefusedWhenAnotherOwnerHoldsTheRow) {
  std::unique_ptr<SqlDatabase> db = OpenFenced(/*check_table=*/true);
  ASSERT_NE(db, nullptr);
  ASSERT_OK(runner_->AttemptOnce());
  EXPECT_OK(WriteDomain(*db, "a"));
  // Our row expired and another BBS took the lock before we noticed.
  ASSERT_OK(store_->Release(Bbs("bbs-1")));
  ASSERT_OK(store_->Lock(Bbs("bbs-2"), 15).status());
  EXPECT_THAT(WriteDomain(*db, "b"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                              HasSubstr("held by \"bbs-2\"")));
  EXPECT_EQ(CountDomains(*locket_db_), 1);
  // And our runner learns it at its next refresh.
  EXPECT_FALSE(runner_->AttemptOnce().ok());
  EXPECT_FALSE(runner_->held());
}

INSTANTIATE_TEST_SUITE_P(Engines, LockFenceTest, ::testing::ValuesIn(kTestEngines),
                         TestEngineName);

}  // namespace
}  // namespace diego::locket
