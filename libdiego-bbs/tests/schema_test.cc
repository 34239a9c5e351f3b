// Copyright 2026 The libdiego Authors.
//
// Schema migrations on both engines: a fresh database reaches version 1 with
// every table and index, reruns are no-ops, a newer schema is refused, and two
// processes migrating the same database at once both succeed.

#include "diego/bbs/schema.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "diego/bbs/sql.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_databases.h"

namespace diego::bbs {
namespace {

using ::diego::fakes::StatusIs;
using testing::kTestEngines;
using testing::NewTestDatabaseUrl;
using testing::OpenTestDatabase;
using testing::TestDatabase;
using testing::TestEngineName;

MATCHER_P(IsOkAndHolds, value, "") {
  if (!arg.ok()) {
    *result_listener << "which is " << arg.status();
    return false;
  }
  *result_listener << "which holds " << *arg;
  return *arg == value;
}

constexpr const char* kTables[] = {"domains", "desired_lrps", "actual_lrps", "tasks", "locks"};
constexpr const char* kIndexes[] = {"desired_lrps_domain",     "actual_lrps_cell_id",
                                    "actual_lrps_domain",      "actual_lrps_state_since",
                                    "tasks_domain",            "tasks_cell_id",
                                    "tasks_state"};

class SchemaTest : public ::testing::TestWithParam<SqlEngine> {
 protected:
  absl::StatusOr<std::unique_ptr<SqlDatabase>> OpenFresh(std::string* url) {
    absl::StatusOr<std::string> u = NewTestDatabaseUrl(GetParam());
    if (!u.ok()) return u.status();
    *url = *u;
    return SqlDatabase::Open(*url);
  }

  static absl::StatusOr<int64_t> CountRows(SqlDatabase& db, absl::string_view table) {
    int64_t n = -1;
    absl::Status s = db.Read([&](SqlTx& tx) {
      return tx.Query(absl::StrCat("SELECT COUNT(*) FROM ", table), {}, [&](const SqlRow& row) {
        n = row.Int(0);
        return absl::OkStatus();
      });
    });
    if (!s.ok()) return s;
    return n;
  }

  static absl::StatusOr<bool> IndexExists(SqlDatabase& db, absl::string_view index) {
    const char* sql = db.engine() == SqlEngine::kSqlite
                          ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?"
                          : "SELECT COUNT(*) FROM pg_indexes WHERE indexname = ?";
    int64_t n = 0;
    absl::Status s = db.Read([&](SqlTx& tx) {
      return tx.Query(sql, {Text(index)}, [&](const SqlRow& row) {
        n = row.Int(0);
        return absl::OkStatus();
      });
    });
    if (!s.ok()) return s;
    return n == 1;
  }
};

INSTANTIATE_TEST_SUITE_P(Engines, SchemaTest, ::testing::ValuesIn(kTestEngines),
                         TestEngineName);

TEST_P(SchemaTest, FreshDatabaseMigratesToVersionOneWithAllTables) {
  std::string url;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> db, OpenFresh(&url));
  ASSERT_OK_AND_ASSIGN(int64_t before, ReadSchemaVersion(*db));
  EXPECT_EQ(before, 0);
  EXPECT_THAT(CountRows(*db, "tasks"), StatusIs(absl::StatusCode::kInternal));

  ASSERT_OK(MigrateSchema(*db));
  ASSERT_OK_AND_ASSIGN(int64_t after, ReadSchemaVersion(*db));
  EXPECT_EQ(after, kCurrentSchemaVersion);
  EXPECT_EQ(kCurrentSchemaVersion, 1);
  for (const char* table : kTables) {
    absl::StatusOr<int64_t> n = CountRows(*db, table);
    ASSERT_OK(n) << table;
    EXPECT_EQ(*n, 0) << table;
  }
  for (const char* index : kIndexes) {
    EXPECT_THAT(IndexExists(*db, index), IsOkAndHolds(true)) << index;
  }

  // The columns are the documented ones, with the engine's blob type.
  ASSERT_OK(db->Write([](SqlTx& tx) -> absl::Status {
    absl::Status s =
        tx.Exec("INSERT INTO tasks (guid, domain, state, cell_id, created_at, updated_at,"
                " first_completed_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                {Text("g"), Text("d"), Int(1), Text("c"), Int(2), Int(3), Int(0),
                 Blob(std::string("\0\1", 2))})
            .status();
    if (!s.ok()) return s;
    s = tx.Exec("INSERT INTO actual_lrps (process_guid, instance_index, presence, domain, state,"
                " instance_guid, cell_id, since, modification_tag_epoch,"
                " modification_tag_index, crash_count, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                {Text("p"), Int(0), Int(0), Text("d"), Text("UNCLAIMED"), Text(""), Text(""),
                 Int(5), Text("e"), Int(0), Int(0), Blob("x")})
            .status();
    if (!s.ok()) return s;
    s = tx.Exec("INSERT INTO desired_lrps (process_guid, domain, log_guid, instances,"
                " modification_tag_epoch, modification_tag_index, scheduling_info, run_info,"
                " metric_tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                {Text("p"), Text("d"), Text("l"), Int(1), Text("e"), Int(0), Blob("s"),
                 Blob("r"), Blob("")})
            .status();
    if (!s.ok()) return s;
    s = tx.Exec("INSERT INTO domains (domain) VALUES (?)", {Text("d")}).status();
    if (!s.ok()) return s;
    return tx.Exec("INSERT INTO locks (path, owner, value, type, type_code, ttl, modified_id,"
                   " modified_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   {Text("cell-1"), Text("o"), Text("v"), Text("presence"), Int(2), Int(5),
                    Text("m"), Int(1)})
        .status();
  }));
  // Two rows at one (process_guid, index) with different presences are fine.
  EXPECT_OK(db->Write([](SqlTx& tx) {
    return tx.Exec("INSERT INTO actual_lrps (process_guid, instance_index, presence, domain,"
                   " state, instance_guid, cell_id, since, modification_tag_epoch,"
                   " modification_tag_index, crash_count, data)"
                   " VALUES ('p', 0, 1, 'd', 'RUNNING', 'i', 'c', 5, 'e', 0, 0, ?)",
                   {Blob("y")})
        .status();
  }));
  EXPECT_THAT(CountRows(*db, "actual_lrps"), IsOkAndHolds(2));
}

TEST_P(SchemaTest, RerunIsANoOpThatKeepsData) {
  std::string url;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> db, OpenFresh(&url));
  ASSERT_OK(MigrateSchema(*db));
  ASSERT_OK(db->Write([](SqlTx& tx) {
    return tx.Exec("INSERT INTO domains (domain, expire_time) VALUES ('cf-apps', 0)").status();
  }));
  ASSERT_OK(MigrateSchema(*db));
  db.reset();
  ASSERT_OK_AND_ASSIGN(db, SqlDatabase::Open(url));
  ASSERT_OK(MigrateSchema(*db));
  ASSERT_OK_AND_ASSIGN(int64_t version, ReadSchemaVersion(*db));
  EXPECT_EQ(version, 1);
  EXPECT_THAT(CountRows(*db, "domains"), IsOkAndHolds(1));
}

TEST_P(SchemaTest, NewerSchemaIsRefused) {
  std::string url;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> db, OpenFresh(&url));
  ASSERT_OK(MigrateSchema(*db));
  ASSERT_OK(db->Write([](SqlTx& tx) {
    return tx.Exec("UPDATE diego_schema_version SET version = 99 WHERE id = 1").status();
  }));
  EXPECT_THAT(MigrateSchema(*db),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "database schema version 99 is newer than this diego-bbs supports (1); "
                       "run a newer diego-bbs or restore a matching backup"));
  ASSERT_OK_AND_ASSIGN(int64_t version, ReadSchemaVersion(*db));
  EXPECT_EQ(version, 99);
  // Refusing wrote nothing: still 99, and a later attempt refuses the same way.
  EXPECT_THAT(MigrateSchema(*db), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(SchemaTest, ConcurrentMigrationsFromTwoProcessesBothSucceed) {
  for (int round = 0; round < 3; ++round) {
    std::string url;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> a, OpenFresh(&url));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> b, SqlDatabase::Open(url));
    absl::Status sa, sb;
    std::thread ta([&] { sa = MigrateSchema(*a); });
    std::thread tb([&] { sb = MigrateSchema(*b); });
    ta.join();
    tb.join();
    EXPECT_OK(sa) << "round " << round;
    EXPECT_OK(sb) << "round " << round;
    ASSERT_OK_AND_ASSIGN(int64_t version, ReadSchemaVersion(*b));
    EXPECT_EQ(version, 1);
    EXPECT_THAT(CountRows(*a, "tasks"), IsOkAndHolds(0));
  }
}

TEST_P(SchemaTest, ConcurrentMigrationsOnOneDatabaseBothSucceed) {
  std::string url;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> db, OpenFresh(&url));
  absl::Status s1, s2;
  std::thread t1([&] { s1 = MigrateSchema(*db); });
  std::thread t2([&] { s2 = MigrateSchema(*db); });
  t1.join();
  t2.join();
  EXPECT_OK(s1);
  EXPECT_OK(s2);
  ASSERT_OK_AND_ASSIGN(int64_t version, ReadSchemaVersion(*db));
  EXPECT_EQ(version, 1);
}

TEST_P(SchemaTest, OpenTestDatabaseIsMigrated) {
  ASSERT_OK_AND_ASSIGN(TestDatabase t, OpenTestDatabase(GetParam()));
  ASSERT_OK_AND_ASSIGN(int64_t version, ReadSchemaVersion(*t.db));
  EXPECT_EQ(version, kCurrentSchemaVersion);
  EXPECT_EQ(t.db->engine(), GetParam());
  EXPECT_FALSE(t.url.empty());
}

}  // namespace
}  // namespace diego::bbs
