// Copyright 2026 The libdiego Authors.
//
// Schema migrations on both engines: a fresh database reaches the current
// version with every table and index, a version 1 database with rows is
// upgraded in place (rows kept, the convergence index computed for them),
// reruns are no-ops, a newer schema is refused, and two processes migrating
// the same database at once both succeed.

#include "diego/bbs/schema.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/bbs/convergence.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/recording_event_sink.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sql_store_convergence_index.h"
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

constexpr const char* kTables[] = {"domains", "desired_lrps", "actual_lrps",
                                   "tasks",   "locks",        "lrp_buckets"};
constexpr const char* kIndexes[] = {"desired_lrps_domain",       "desired_lrps_bucket",
                                    "actual_lrps_cell_id",       "actual_lrps_domain",
                                    "actual_lrps_state_since",   "actual_lrps_bucket",
                                    "actual_lrps_runtime_drift", "tasks_domain",
                                    "tasks_cell_id",             "tasks_state"};

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

TEST_P(SchemaTest, FreshDatabaseMigratesToCurrentVersionWithAllTables) {
  std::string url;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> db, OpenFresh(&url));
  ASSERT_OK_AND_ASSIGN(int64_t before, ReadSchemaVersion(*db));
  EXPECT_EQ(before, 0);
  EXPECT_THAT(CountRows(*db, "tasks"), StatusIs(absl::StatusCode::kInternal));

  ASSERT_OK(MigrateSchema(*db));
  ASSERT_OK_AND_ASSIGN(int64_t after, ReadSchemaVersion(*db));
  EXPECT_EQ(after, kCurrentSchemaVersion);
  EXPECT_EQ(kCurrentSchemaVersion, 2);
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
  EXPECT_EQ(version, kCurrentSchemaVersion);
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
                       "database schema version 99 is newer than this diego-bbs supports (2); "
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
    EXPECT_EQ(version, kCurrentSchemaVersion);
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
  EXPECT_EQ(version, kCurrentSchemaVersion);
}

// A version 1 database with rows: DesiredLRP "web" (2 instances, an internal
// route, metric tags with a dynamic INDEX), its RUNNING instances 0 (in sync)
// and 1 (reporting an old route), an orphan UNCLAIMED row, a row whose blob
// does not parse, a task and a fresh domain. Migration 2 keeps every row and
// computes the convergence index for them, so the first convergence pass
// on the upgraded database acts on exactly what is wrong.
TEST_P(SchemaTest, VersionOneDatabaseIsUpgradedInPlace) {
  std::string url;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> db, OpenFresh(&url));
  ASSERT_OK(MigrateSchemaTo(*db, 1));
  EXPECT_THAT(ReadSchemaVersion(*db), IsOkAndHolds(1));

  model::v1::DesiredLRPSchedulingInfo info;
  info.mutable_desired_lrp_key()->set_process_guid("web");
  info.mutable_desired_lrp_key()->set_domain("cf-apps");
  info.set_instances(2);
  (*info.mutable_routes()->mutable_routes())["internal-router"] =
      R"([{"hostname":"web.apps.internal"}])";
  model::v1::DesiredLRP tags;
  (*tags.mutable_metric_tags())["source_id"].set_static_("web");
  (*tags.mutable_metric_tags())["instance_id"].set_dynamic(model::v1::MetricTagValue::INDEX);
  auto running = [](int32_t index, absl::string_view route) {
    model::StartActualLrpParams params;
    params.key.set_process_guid("web");
    params.key.set_index(index);
    params.key.set_domain("cf-apps");
    params.instance_key.set_instance_guid(absl::StrCat("ig-", index));
    params.instance_key.set_cell_id("cell-1");
    params.net_info.set_address("10.0.0.1");
    params.internal_routes.emplace_back().set_hostname(std::string(route));
    params.metric_tags = {{"source_id", "web"}, {"instance_id", absl::StrCat(index)}};
    return model::NewRunningActualLrp(params, "epoch", absl::FromUnixSeconds(1700000000));
  };
  const model::v1::ActualLRP in_sync = running(0, "web.apps.internal");
  const model::v1::ActualLRP drifted = running(1, "old.apps.internal");
  model::v1::ActualLRPKey orphan_key;
  orphan_key.set_process_guid("gone");
  orphan_key.set_domain("cf-apps");
  const model::v1::ActualLRP orphan =
      model::NewUnclaimedActualLrp(orphan_key, "epoch", absl::FromUnixSeconds(1700000000));
  ASSERT_OK(db->Write([&](SqlTx& tx) -> absl::Status {
    const std::string info_blob = info.SerializeAsString();
    const std::string tags_blob = tags.SerializeAsString();
    absl::Status s = tx.Exec("INSERT INTO desired_lrps (process_guid, domain, log_guid, instances,"
                             " modification_tag_epoch, modification_tag_index, scheduling_info,"
                             " run_info, metric_tags) VALUES ('web', 'cf-apps', 'log', 2, 'e', 0,"
                             " ?, ?, ?)",
                             {Blob(info_blob), Blob(""), Blob(tags_blob)})
                         .status();
    if (!s.ok()) return s;
    auto insert = [&](const model::v1::ActualLRP& lrp, absl::string_view data) {
      return tx
          .Exec("INSERT INTO actual_lrps (process_guid, instance_index, presence, domain, state,"
                " instance_guid, cell_id, since, modification_tag_epoch,"
                " modification_tag_index, crash_count, data)"
                " VALUES (?, ?, 0, 'cf-apps', ?, ?, ?, ?, 'epoch', 0, 0, ?)",
                {Text(lrp.actual_lrp_key().process_guid()), Int(lrp.actual_lrp_key().index()),
                 Text(lrp.state()), Text(lrp.actual_lrp_instance_key().instance_guid()),
                 Text(lrp.actual_lrp_instance_key().cell_id()), Int(lrp.since()), Blob(data)})
          .status();
    };
    model::v1::ActualLRP corrupt = orphan;
    corrupt.mutable_actual_lrp_key()->set_process_guid("bad");
    for (const auto& [lrp, data] :
         {std::pair(in_sync, in_sync.SerializeAsString()),
          std::pair(drifted, drifted.SerializeAsString()),
          std::pair(orphan, orphan.SerializeAsString()), std::pair(corrupt, std::string("\xff"))}) {
      s = insert(lrp, data);
      if (!s.ok()) return s;
    }
    s = tx.Exec("INSERT INTO tasks (guid, domain, state, cell_id, created_at, updated_at,"
                " first_completed_at, data) VALUES ('t', 'd', 1, '', 1, 1, 0, ?)",
                {Blob("")})
            .status();
    if (!s.ok()) return s;
    return tx.Exec("INSERT INTO domains (domain, expire_time) VALUES ('cf-apps', 0)").status();
  }));

  ASSERT_OK(MigrateSchema(*db));
  EXPECT_THAT(ReadSchemaVersion(*db), IsOkAndHolds(kCurrentSchemaVersion));
  EXPECT_THAT(CountRows(*db, "desired_lrps"), IsOkAndHolds(1));
  EXPECT_THAT(CountRows(*db, "actual_lrps"), IsOkAndHolds(4));
  EXPECT_THAT(CountRows(*db, "tasks"), IsOkAndHolds(1));
  EXPECT_THAT(CountRows(*db, "domains"), IsOkAndHolds(1));

  // The computed columns are what the store writes for new rows.
  const internal::DesiredRuntimeFingerprints fps =
      internal::DesiredRuntimeFingerprint(info.routes(), tags.metric_tags());
  ASSERT_OK(db->Read([&](SqlTx& tx) -> absl::Status {
    int rows = 0;
    absl::Status s = tx.Query(
        "SELECT bucket, runtime_fp, runtime_fp_notags FROM desired_lrps", {},
        [&](const SqlRow& row) {
          ++rows;
          EXPECT_EQ(row.Int(0), internal::LrpBucket("web"));
          EXPECT_EQ(row.Int(1), fps.with_tags);
          EXPECT_EQ(row.Int(2), fps.without_tags);
          return absl::OkStatus();
        });
    EXPECT_EQ(rows, 1);
    if (!s.ok()) return s;
    return tx.Query(
        "SELECT process_guid, instance_index, bucket, runtime_fp, desired_fp, desired_fp_notags"
        " FROM actual_lrps",
        {}, [&](const SqlRow& row) {
          const std::string guid(row.Text(0));
          EXPECT_EQ(row.Int(2), internal::LrpBucket(guid)) << guid;
          if (guid == "web") {
            EXPECT_EQ(row.Int(3), internal::ActualRuntimeFingerprint(
                                      row.Int(1) == 0 ? in_sync : drifted));
            EXPECT_EQ(row.Int(4), fps.with_tags);
            EXPECT_EQ(row.Int(5), fps.without_tags);
          } else {
            EXPECT_TRUE(row.IsNull(4)) << guid;
            EXPECT_TRUE(row.IsNull(5)) << guid;
          }
          if (guid == "bad") EXPECT_EQ(row.Int(3), 0);
          return absl::OkStatus();
        });
  }));
  // web/0 is in sync: its fingerprint equals the desired one.
  EXPECT_EQ(internal::ActualRuntimeFingerprint(in_sync), fps.with_tags);

  // The bucket sums: web's two instances on both sides, one row each for
  // the orphans.
  std::map<int64_t, std::vector<int64_t>> buckets;
  ASSERT_OK(db->Read([&](SqlTx& tx) {
    return tx.Query(
        "SELECT bucket, desired_count, desired_sum1, desired_sum2, actual_count, actual_sum1,"
        " actual_sum2 FROM lrp_buckets",
        {}, [&](const SqlRow& row) {
          buckets[row.Int(0)] = {row.Int(1), row.Int(2), row.Int(3),
                                 row.Int(4), row.Int(5), row.Int(6)};
          return absl::OkStatus();
        });
  }));
  std::map<int64_t, std::vector<int64_t>> want;
  auto add = [&](absl::string_view guid, int64_t index, bool desired) {
    const internal::InstanceSums sums = internal::InstanceSumsOf(guid, index);
    std::vector<int64_t>& row = want[internal::LrpBucket(guid)];
    row.resize(6);
    const size_t at = desired ? 0 : 3;
    row[at] += sums.count;
    row[at + 1] += sums.sum1;
    row[at + 2] += sums.sum2;
  };
  for (int64_t i : {0, 1}) {
    add("web", i, true);
    add("web", i, false);
  }
  add("gone", 0, false);
  add("bad", 0, false);
  EXPECT_EQ(buckets, want);

  // A convergence pass acts on exactly what is wrong.
  fakes::FakeClock clock;
  fakes::RecordingEventSink sink;
  SqlStore store(db.get(), &sink, &clock);
  ASSERT_OK_AND_ASSIGN(LrpConvergenceResult result,
                       store.ConvergeLrps({"cell-1"}, ConvergenceOptions()));
  EXPECT_TRUE(result.start_requests.empty());
  ASSERT_EQ(result.keys_to_retire.size(), 2u);
  EXPECT_EQ(result.keys_to_retire[0].process_guid(), "bad");
  EXPECT_EQ(result.keys_to_retire[1].process_guid(), "gone");
  ASSERT_EQ(result.runtime_updates.size(), 1u);
  const RuntimeUpdate& update = result.runtime_updates[0];
  EXPECT_EQ(update.key.process_guid(), "web");
  EXPECT_EQ(update.key.index(), 1);
  EXPECT_EQ(update.instance_key.instance_guid(), "ig-1");
  ASSERT_EQ(update.internal_routes.size(), 1u);
  EXPECT_EQ(update.internal_routes[0].hostname(), "web.apps.internal");
  EXPECT_EQ(update.metric_tags,
            (std::map<std::string, std::string>{{"instance_id", "1"}, {"source_id", "web"}}));
  EXPECT_EQ(result.desired_instances, 2);
  EXPECT_EQ(result.running, 2);
  EXPECT_EQ(result.unclaimed, 2);
  EXPECT_TRUE(sink.events().empty());
}

TEST_P(SchemaTest, MigrateSchemaToRefusesUnknownVersions) {
  std::string url;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> db, OpenFresh(&url));
  EXPECT_THAT(MigrateSchemaTo(*db, 0), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MigrateSchemaTo(*db, kCurrentSchemaVersion + 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReadSchemaVersion(*db), IsOkAndHolds(0));
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
