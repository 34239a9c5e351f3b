// Copyright 2026 The libdiego Authors.
//
// SqlStore's DesiredLrpStore on both engines (storage split and exact round
// trip, filters, projections, desire/update/remove with their actual-LRP
// consequences and events), plus domains, cell presences and counts.
//
// Actual-LRP rows are set up and inspected with plain SQL against the fixed
// schema (schema.h), so these tests pin the desired-LRP behaviour
// independently of the actual-LRP lifecycle calls.

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/bbs/events.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/errors.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/events.pb.h"
#include "diego/model/v1/task.pb.h"
#include "diego/model/wire.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/recording_event_sink.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "store_event_matchers.h"
#include "test_databases.h"

// The full-LRP fixture sets the fields the protos mark deprecated.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::bbs {
namespace {

using ::diego::fakes::FakeClock;
using ::diego::fakes::StatusIs;
using ::diego::model::v1::ActualLRP;
using ::diego::model::v1::DesiredLRP;
using ::diego::model::v1::DesiredLRPRunInfo;
using ::diego::model::v1::DesiredLRPSchedulingInfo;
using ::diego::model::v1::DesiredLRPUpdate;
using ::diego::model::v1::Error;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::InsertLocketRow;
using ::testing::IsEmpty;
using ::testing::SizeIs;

using RecordingSink = ::diego::fakes::RecordingEventSink;


std::vector<std::string> Types(const std::vector<BbsEvent>& events) {
  std::vector<std::string> types;
  for (const BbsEvent& event : events) types.push_back(event.type);
  return types;
}

int64_t Nanos(absl::Time t) { return absl::ToUnixNanos(t); }

// A DesiredLRP with every field set (except the modification tag, which the
// store assigns).
DesiredLRP FullLrp(absl::string_view process_guid = "app-1-v1") {
  DesiredLRP lrp;
  const bool parsed = google::protobuf::TextFormat::ParseFromString(
      R"pb(
        domain: "cf-apps"
        root_fs: "preloaded:cflinuxfs4"
        instances: 2
        environment_variables { name: "A" value: "1" }
        setup { download_action { from: "http://x/y" to: "/app" cache_key: "k" user: "vcap" } }
        action { run_action { path: "/bin/run" args: "-x" user: "vcap" } }
        start_timeout_ms: 60000
        deprecated_start_timeout_s: 60
        monitor { run_action { path: "/bin/check" user: "vcap" } }
        disk_mb: 1024
        memory_mb: 256
        cpu_weight: 50
        privileged: true
        ports: 8080
        ports: 2222
        routes {
          routes { key: "cf-router" value: "[{\"hostnames\":[\"a.example.com\"],\"port\":8080}]" }
          routes { key: "internal-router" value: "[{\"hostname\":\"a.apps.internal\"}]" }
        }
        log_source: "APP"
        log_guid: "log-1"
        metrics_guid: "metrics-1"
        annotation: "etag-1"
        egress_rules { protocol: "tcp" destinations: "10.0.0.0/8" ports: 443 log: true }
        cached_dependencies {
          name: "bp"
          from: "http://x/bp"
          to: "/tmp/bp"
          cache_key: "bp"
          log_source: "BP"
        }
        legacy_download_user: "vcap"
        trusted_system_certificates_path: "/etc/certs"
        volume_mounts {
          driver: "nfs"
          container_dir: "/data"
          mode: "rw"
          shared { volume_id: "vol-1" mount_config: "{}" }
        }
        volume_mounts {
          driver: "smb"
          container_dir: "/smb"
          mode: "r"
          shared { volume_id: "v2" }
        }
        network { properties { key: "policy_group_id" value: "g" } }
        PlacementTags: "isolation-a"
        max_pids: 1024
        certificate_properties { organizational_unit: "app:1" }
        image_username: "user"
        image_password: "pass"
        check_definition {
          checks { http_check { port: 8080 path: "/health" } }
          log_source: "HC"
        }
        image_layers {
          name: "layer"
          url: "http://x/l.tgz"
          destination_path: "/l"
          layer_type: SHARED
          media_type: TGZ
        }
        metric_tags {
          key: "source_id"
          value { static: "app-1" }
        }
        metric_tags {
          key: "instance_index"
          value { dynamic: INDEX }
        }
        sidecars {
          action { run_action { path: "/bin/side" user: "vcap" } }
          disk_mb: 10
          memory_mb: 20
        }
        log_rate_limit { bytes_per_second: 4096 }
        volume_mounted_files { path: "/etc/f" content: "x" }
        update_strategy: RECREATE
      )pb",
      &lrp);
  EXPECT_TRUE(parsed);
  lrp.set_process_guid(std::string(process_guid));
  return lrp;
}

// A small LRP.
DesiredLRP Lrp(absl::string_view process_guid, absl::string_view domain, int32_t instances) {
  DesiredLRP lrp;
  lrp.set_process_guid(std::string(process_guid));
  lrp.set_domain(std::string(domain));
  lrp.set_log_guid("log");
  lrp.set_root_fs("preloaded:cflinuxfs4");
  lrp.set_instances(instances);
  lrp.mutable_action()->mutable_run_action()->set_path("/bin/run");
  lrp.set_memory_mb(128);
  (*lrp.mutable_routes()->mutable_routes())["cf-router"] = R"([{"port":8080}])";
  (*lrp.mutable_metric_tags())["source_id"].set_static_("app");
  return lrp;
}

// An actual-LRP row of `process_guid` in domain "cf-apps".
ActualLRP ActualRow(absl::string_view process_guid, int32_t index, ActualLRP::Presence presence,
                    absl::string_view state, absl::string_view cell = "") {
  ActualLRP lrp;
  lrp.mutable_actual_lrp_key()->set_process_guid(std::string(process_guid));
  lrp.mutable_actual_lrp_key()->set_index(index);
  lrp.mutable_actual_lrp_key()->set_domain("cf-apps");
  if (!cell.empty()) {
    lrp.mutable_actual_lrp_instance_key()->set_instance_guid(
        absl::StrCat("ig-", index, "-", static_cast<int>(presence)));
    lrp.mutable_actual_lrp_instance_key()->set_cell_id(std::string(cell));
  }
  if (state == model::kActualLrpStateRunning) {
    lrp.mutable_actual_lrp_net_info()->set_address("10.0.0.1");
  }
  lrp.set_state(std::string(state));
  lrp.set_presence(presence);
  lrp.set_since(1);
  lrp.mutable_modification_tag()->set_epoch("actual-epoch");
  lrp.mutable_modification_tag()->set_index(1);
  return lrp;
}

absl::Status InsertActualRow(SqlDatabase& db, const ActualLRP& lrp) {
  return db.Write([&](SqlTx& tx) -> absl::Status {
    const std::string data = lrp.SerializeAsString();
    const SqlParam params[] = {Text(lrp.actual_lrp_key().process_guid()),
                               Int(lrp.actual_lrp_key().index()),
                               Int(lrp.presence()),
                               Text(lrp.actual_lrp_key().domain()),
                               Text(lrp.state()),
                               Text(lrp.actual_lrp_instance_key().instance_guid()),
                               Text(lrp.actual_lrp_instance_key().cell_id()),
                               Int(lrp.since()),
                               Text(lrp.modification_tag().epoch()),
                               Int(lrp.modification_tag().index()),
                               Int(lrp.crash_count()),
                               Blob(data)};
    return tx
        .Exec(
            "INSERT INTO actual_lrps (process_guid, instance_index, presence, domain, state,"
            " instance_guid, cell_id, since, modification_tag_epoch, modification_tag_index,"
            " crash_count, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params)
        .status();
  });
}

// The actual-LRP rows of `process_guid`, by (index, presence).
std::vector<ActualLRP> ActualRows(SqlDatabase& db, absl::string_view process_guid) {
  std::vector<ActualLRP> rows;
  EXPECT_OK(db.Read([&](SqlTx& tx) -> absl::Status {
    rows.clear();
    const SqlParam params[] = {Text(process_guid)};
    return tx.Query(
        "SELECT data FROM actual_lrps WHERE process_guid = ? ORDER BY instance_index, presence",
        params, [&](const SqlRow& row) -> absl::Status {
          ActualLRP lrp;
          if (!lrp.ParseFromString(std::string(row.Blob(0)))) {
            return absl::DataLossError("bad actual row");
          }
          rows.push_back(std::move(lrp));
          return absl::OkStatus();
        });
  }));
  return rows;
}

std::string Describe(const ActualLRP& row) {
  return absl::StrCat(row.actual_lrp_key().index(), "/", static_cast<int>(row.presence()), "/",
                      row.state());
}

std::vector<std::string> Describe(const std::vector<ActualLRP>& rows) {
  std::vector<std::string> out;
  for (const ActualLRP& row : rows) out.push_back(Describe(row));
  return out;
}

std::vector<std::string> Guids(const std::vector<DesiredLRP>& lrps) {
  std::vector<std::string> guids;
  for (const DesiredLRP& lrp : lrps) guids.push_back(lrp.process_guid());
  return guids;
}

class SqlStoreDesiredTest : public ::testing::TestWithParam<SqlEngine> {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::TestDatabase> db = testing::OpenTestDatabase(GetParam());
    ASSERT_OK(db);
    database_ = *std::move(db);
    SqlStore::Options options;
    options.generate_guid = [this] { return absl::StrCat("epoch-", ++epochs_); };
    store_ = std::make_unique<SqlStore>(database_.db.get(), &sink_, &clock_, std::move(options));
  }

  SqlDatabase& db() { return *database_.db; }

  DesiredLRP Desire(const DesiredLRP& lrp) {
    absl::StatusOr<DesireLrpResult> result = store_->DesireLrp(lrp, "trace-desire");
    EXPECT_OK(result);
    sink_.Take();
    return result.ok() ? result->lrp : DesiredLRP();
  }

  DesiredLRP Stored(absl::string_view process_guid) {
    absl::StatusOr<DesiredLRP> lrp = store_->DesiredLrpByProcessGuid(process_guid);
    EXPECT_OK(lrp);
    return lrp.ok() ? *lrp : DesiredLRP();
  }

  // Reads the raw stored pieces of `process_guid`.
  void ReadColumns(absl::string_view process_guid, DesiredLRPSchedulingInfo* scheduling,
                   DesiredLRPRunInfo* run, DesiredLRP* metric_tags, int64_t* update_strategy,
                   int64_t* instances, std::string* epoch, int64_t* tag_index) {
    EXPECT_OK(db().Read([&](SqlTx& tx) -> absl::Status {
      const SqlParam params[] = {Text(process_guid)};
      return tx.Query(
          "SELECT scheduling_info, run_info, metric_tags, update_strategy, instances,"
          " modification_tag_epoch, modification_tag_index, domain, log_guid"
          " FROM desired_lrps WHERE process_guid = ?",
          params, [&](const SqlRow& row) -> absl::Status {
            EXPECT_TRUE(scheduling->ParseFromString(std::string(row.Blob(0))));
            EXPECT_TRUE(run->ParseFromString(std::string(row.Blob(1))));
            EXPECT_TRUE(metric_tags->ParseFromString(std::string(row.Blob(2))));
            *update_strategy = row.Int(3);
            *instances = row.Int(4);
            *epoch = std::string(row.Text(5));
            *tag_index = row.Int(6);
            EXPECT_EQ(row.Text(7), scheduling->desired_lrp_key().domain());
            EXPECT_EQ(row.Text(8), scheduling->desired_lrp_key().log_guid());
            return absl::OkStatus();
          });
    }));
  }

  int epochs_ = 0;
  FakeClock clock_;
  RecordingSink sink_;
  testing::TestDatabase database_;
  std::unique_ptr<SqlStore> store_;
};

// -----------------------------------------------------------------------------
// Desire and reads.
// -----------------------------------------------------------------------------

TEST_P(SqlStoreDesiredTest, FullLrpFixtureSetsEveryFieldButTheTag) {
  const DesiredLRP lrp = FullLrp();
  std::vector<const google::protobuf::FieldDescriptor*> set;
  lrp.GetReflection()->ListFields(lrp, &set);
  const google::protobuf::Descriptor* descriptor = DesiredLRP::descriptor();
  EXPECT_EQ(set.size(), static_cast<size_t>(descriptor->field_count() - 1));
  EXPECT_FALSE(lrp.has_modification_tag());
}

TEST_P(SqlStoreDesiredTest, DesireLrpRoundTripsEveryField) {
  const DesiredLRP input = FullLrp();
  ASSERT_OK_AND_ASSIGN(DesireLrpResult result, store_->DesireLrp(input, "trace-1"));

  DesiredLRP expected = input;
  expected.mutable_modification_tag()->set_epoch("epoch-1");
  expected.mutable_modification_tag()->set_index(0);
  EXPECT_THAT(result.lrp, EqualsProto(expected));
  EXPECT_THAT(Stored("app-1-v1"), EqualsProto(expected));
  ASSERT_OK_AND_ASSIGN(std::vector<DesiredLRP> all, store_->DesiredLrps({}));
  ASSERT_THAT(all, SizeIs(1));
  EXPECT_THAT(all[0], EqualsProto(expected));
}

TEST_P(SqlStoreDesiredTest, DesireLrpStoresDiegosSplit) {
  clock_.Advance(absl::Seconds(42));
  const DesiredLRP stored = Desire(FullLrp());

  DesiredLRPSchedulingInfo scheduling;
  DesiredLRPRunInfo run;
  DesiredLRP metric_tags;
  int64_t update_strategy = -1, instances = -1, tag_index = -1;
  std::string epoch;
  ReadColumns("app-1-v1", &scheduling, &run, &metric_tags, &update_strategy, &instances, &epoch,
              &tag_index);

  DesiredLRPSchedulingInfo expected_scheduling;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        desired_lrp_key { process_guid: "app-1-v1" domain: "cf-apps" log_guid: "log-1" }
        annotation: "etag-1"
        instances: 2
        desired_lrp_resource {
          memory_mb: 256
          disk_mb: 1024
          root_fs: "preloaded:cflinuxfs4"
          max_pids: 1024
        }
        modification_tag { epoch: "epoch-1" index: 0 }
        volume_placement { driver_names: "nfs" driver_names: "smb" }
        PlacementTags: "isolation-a"
      )pb",
      &expected_scheduling));
  *expected_scheduling.mutable_routes() = FullLrp().routes();
  EXPECT_THAT(scheduling, EqualsProto(expected_scheduling));

  // Run info: the rest, with created_at stamped by the store.
  EXPECT_EQ(run.created_at(), Nanos(clock_.Now()));
  EXPECT_EQ(run.desired_lrp_key().process_guid(), "app-1-v1");
  EXPECT_EQ(run.image_username(), "user");
  EXPECT_EQ(run.start_timeout_ms(), 60000);
  EXPECT_EQ(run.action().run_action().path(), "/bin/run");
  EXPECT_TRUE(run.metric_tags().empty());

  DesiredLRP expected_tags;
  *expected_tags.mutable_metric_tags() = FullLrp().metric_tags();
  EXPECT_THAT(metric_tags, EqualsProto(expected_tags));
  EXPECT_EQ(update_strategy, DesiredLRP::RECREATE);
  EXPECT_EQ(instances, 2);
  EXPECT_EQ(epoch, "epoch-1");
  EXPECT_EQ(tag_index, 0);
  EXPECT_EQ(stored.modification_tag().epoch(), "epoch-1");
}

TEST_P(SqlStoreDesiredTest, DesireLrpCreatesUnclaimedInstancesAndPublishesEvents) {
  clock_.Advance(absl::Seconds(7));
  ASSERT_OK_AND_ASSIGN(DesireLrpResult result, store_->DesireLrp(Lrp("web", "d", 3), "trace-1"));
  EXPECT_THAT(result.created_indices, ElementsAre(0, 1, 2));

  const std::vector<ActualLRP> rows = ActualRows(db(), "web");
  ASSERT_THAT(rows, SizeIs(3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(rows[i].actual_lrp_key().process_guid(), "web");
    EXPECT_EQ(rows[i].actual_lrp_key().index(), i);
    EXPECT_EQ(rows[i].actual_lrp_key().domain(), "d");
    EXPECT_EQ(rows[i].state(), "UNCLAIMED");
    EXPECT_EQ(rows[i].presence(), ActualLRP::ORDINARY);
    EXPECT_EQ(rows[i].since(), Nanos(clock_.Now()));
    // The desired LRP took epoch-1; each instance has its own fresh epoch.
    EXPECT_EQ(rows[i].modification_tag().epoch(), absl::StrCat("epoch-", i + 2));
    EXPECT_EQ(rows[i].modification_tag().index(), 0u);
  }

  const std::vector<BbsEvent> events = sink_.Take();
  EXPECT_THAT(Types(events),
              ElementsAre("desired_lrp_created", "actual_lrp_instance_created",
                          "actual_lrp_instance_created", "actual_lrp_instance_created"));
  auto created = Decode<model::v1::DesiredLRPCreatedEvent>(events[0]);
  EXPECT_THAT(created.desired_lrp(), EqualsProto(result.lrp));
  EXPECT_EQ(created.trace_id(), "trace-1");
  EXPECT_FALSE(events[0].cell_filtered);
  for (int i = 0; i < 3; ++i) {
    auto instance = Decode<model::v1::ActualLRPInstanceCreatedEvent>(events[i + 1]);
    EXPECT_THAT(instance.actual_lrp(), EqualsProto(rows[i]));
    EXPECT_EQ(instance.trace_id(), "trace-1");
  }
}

TEST_P(SqlStoreDesiredTest, DesireLrpWithZeroInstancesCreatesNoRows) {
  ASSERT_OK_AND_ASSIGN(DesireLrpResult result, store_->DesireLrp(Lrp("web", "d", 0), ""));
  EXPECT_THAT(result.created_indices, IsEmpty());
  EXPECT_THAT(ActualRows(db(), "web"), IsEmpty());
  EXPECT_THAT(Types(sink_.Take()), ElementsAre("desired_lrp_created"));
}

TEST_P(SqlStoreDesiredTest, DesireLrpDuplicateIsResourceExistsAndChangesNothing) {
  const DesiredLRP first = Desire(Lrp("web", "d", 1));
  DesiredLRP second = Lrp("web", "other", 3);
  second.set_annotation("second");
  absl::StatusOr<DesireLrpResult> result = store_->DesireLrp(second, "");
  EXPECT_THAT(result,
              StatusIs(absl::StatusCode::kAlreadyExists, "the requested resource already exists"));
  EXPECT_TRUE(model::HasBbsErrorType(result.status(), Error::ResourceExists));
  EXPECT_THAT(Stored("web"), EqualsProto(first));
  EXPECT_THAT(ActualRows(db(), "web"), SizeIs(1));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreDesiredTest, DesireLrpSkipsIndicesThatAlreadyHaveAnOrdinaryRow) {
  // A leftover RUNNING instance of a previous incarnation, and a SUSPECT row
  // (which does not occupy the ordinary slot).
  const ActualLRP leftover = ActualRow("web", 1, ActualLRP::ORDINARY, "RUNNING", "cell-1");
  ASSERT_OK(InsertActualRow(db(), leftover));
  ASSERT_OK(InsertActualRow(db(), ActualRow("web", 2, ActualLRP::SUSPECT, "RUNNING", "cell-2")));

  ASSERT_OK_AND_ASSIGN(DesireLrpResult result, store_->DesireLrp(Lrp("web", "d", 3), ""));
  EXPECT_THAT(result.created_indices, ElementsAre(0, 2));
  EXPECT_THAT(Describe(ActualRows(db(), "web")),
              ElementsAre("0/0/UNCLAIMED", "1/0/RUNNING", "2/0/UNCLAIMED", "2/2/RUNNING"));
  EXPECT_THAT(ActualRows(db(), "web")[1], EqualsProto(leftover));
  EXPECT_THAT(Types(sink_.Take()), ElementsAre("desired_lrp_created", "actual_lrp_instance_created",
                                               "actual_lrp_instance_created"));
}

TEST_P(SqlStoreDesiredTest, ReadsOfAMissingLrpAreResourceNotFound) {
  Desire(Lrp("web", "d", 0));
  absl::StatusOr<DesiredLRP> lrp = store_->DesiredLrpByProcessGuid("nope");
  EXPECT_THAT(lrp,
              StatusIs(absl::StatusCode::kNotFound, "the requested resource could not be found"));
  EXPECT_TRUE(model::HasBbsErrorType(lrp.status(), Error::ResourceNotFound));
  absl::StatusOr<DesiredLRPSchedulingInfo> info =
      store_->DesiredLrpSchedulingInfoByProcessGuid("nope");
  EXPECT_THAT(info, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(model::HasBbsErrorType(info.status(), Error::ResourceNotFound));
}

TEST_P(SqlStoreDesiredTest, MinimalLrpComesBackWithEmptyRoutesAsInDiego) {
  DesiredLRP lrp = Lrp("web", "d", 0);
  lrp.clear_routes();
  const DesiredLRP stored = Desire(lrp);
  EXPECT_TRUE(stored.has_routes());
  EXPECT_TRUE(stored.routes().routes().empty());
  DesiredLRP expected = lrp;
  expected.mutable_routes();
  *expected.mutable_modification_tag() = stored.modification_tag();
  EXPECT_THAT(Stored("web"), EqualsProto(expected));
}

// -----------------------------------------------------------------------------
// Filters and projections.
// -----------------------------------------------------------------------------

class SqlStoreDesiredFilterTest : public SqlStoreDesiredTest {
 protected:
  void SetUp() override {
    SqlStoreDesiredTest::SetUp();
    Desire(Lrp("app-b-v1", "d1", 1));
    Desire(Lrp("app-a-v2", "d2", 2));
    Desire(Lrp("app-a-v1", "d1", 3));
    Desire(Lrp("other", "d2", 0));
  }
};

TEST_P(SqlStoreDesiredFilterTest, DesiredLrpsFiltersAndOrdersByProcessGuid) {
  const auto list = [&](DesiredLrpFilter filter) {
    absl::StatusOr<std::vector<DesiredLRP>> lrps = store_->DesiredLrps(filter);
    EXPECT_OK(lrps);
    return lrps.ok() ? Guids(*lrps) : std::vector<std::string>{"error"};
  };
  EXPECT_THAT(list({}), ElementsAre("app-a-v1", "app-a-v2", "app-b-v1", "other"));
  EXPECT_THAT(list({.domain = "d1"}), ElementsAre("app-a-v1", "app-b-v1"));
  EXPECT_THAT(list({.process_guids = {"other", "app-b-v1", "missing"}}),
              ElementsAre("app-b-v1", "other"));
  EXPECT_THAT(list({.app_guids = {"app-a"}}), ElementsAre("app-a-v1", "app-a-v2"));
  EXPECT_THAT(list({.app_guids = {"app-b", "oth"}}), ElementsAre("app-b-v1", "other"));
  EXPECT_THAT(list({.domain = "d2", .app_guids = {"app-a"}}), ElementsAre("app-a-v2"));
  EXPECT_THAT(list({.domain = "d1", .process_guids = {"app-a-v1", "app-a-v2"}}),
              ElementsAre("app-a-v1"));
  EXPECT_THAT(
      list({.domain = "d1", .process_guids = {"app-a-v1", "app-b-v1"}, .app_guids = {"app-b"}}),
      ElementsAre("app-b-v1"));
  EXPECT_THAT(list({.domain = "none"}), IsEmpty());
}

TEST_P(SqlStoreDesiredFilterTest, AppGuidMatchesLikeDiegosLikePattern) {
  const auto list = [&](std::vector<std::string> app_guids) {
    absl::StatusOr<std::vector<DesiredLRP>> lrps =
        store_->DesiredLrps({.app_guids = std::move(app_guids)});
    EXPECT_OK(lrps);
    return lrps.ok() ? Guids(*lrps) : std::vector<std::string>{"error"};
  };
  // Case-sensitive on both engines.
  EXPECT_THAT(list({"APP-A"}), IsEmpty());
  // `_` and `%` are LIKE wildcards, `\` escapes them.
  EXPECT_THAT(list({"app_a"}), ElementsAre("app-a-v1", "app-a-v2"));
  EXPECT_THAT(list({"app%v1"}), ElementsAre("app-a-v1", "app-b-v1"));
  EXPECT_THAT(list({"app\\_a"}), IsEmpty());
  // GLOB metacharacters are plain characters.
  EXPECT_THAT(list({"app*"}), IsEmpty());
  EXPECT_THAT(list({"app-[ab]"}), IsEmpty());
}

TEST_P(SqlStoreDesiredFilterTest, SchedulingInfosFilterOnDomainAndProcessGuidsOnly) {
  const auto list = [&](DesiredLrpFilter filter) {
    std::vector<std::string> guids;
    absl::StatusOr<std::vector<DesiredLRPSchedulingInfo>> infos =
        store_->DesiredLrpSchedulingInfos(filter);
    EXPECT_OK(infos);
    if (infos.ok()) {
      for (const auto& info : *infos) guids.push_back(info.desired_lrp_key().process_guid());
    }
    return guids;
  };
  EXPECT_THAT(list({}), ElementsAre("app-a-v1", "app-a-v2", "app-b-v1", "other"));
  EXPECT_THAT(list({.domain = "d2"}), ElementsAre("app-a-v2", "other"));
  EXPECT_THAT(list({.process_guids = {"app-a-v2", "app-b-v1"}}),
              ElementsAre("app-a-v2", "app-b-v1"));
  // Diego's scheduling-info query ignores app guids.
  EXPECT_THAT(list({.app_guids = {"app-b"}}),
              ElementsAre("app-a-v1", "app-a-v2", "app-b-v1", "other"));
}

TEST_P(SqlStoreDesiredFilterTest, RoutingInfosFilterOnProcessGuidsOnly) {
  const auto list = [&](DesiredLrpFilter filter) {
    absl::StatusOr<std::vector<DesiredLRP>> lrps = store_->DesiredLrpRoutingInfos(filter);
    EXPECT_OK(lrps);
    return lrps.ok() ? Guids(*lrps) : std::vector<std::string>{"error"};
  };
  EXPECT_THAT(list({}), ElementsAre("app-a-v1", "app-a-v2", "app-b-v1", "other"));
  EXPECT_THAT(list({.process_guids = {"other", "app-a-v1"}}), ElementsAre("app-a-v1", "other"));
  EXPECT_THAT(list({.domain = "d1"}), ElementsAre("app-a-v1", "app-a-v2", "app-b-v1", "other"));
  EXPECT_THAT(list({.app_guids = {"app-b"}}),
              ElementsAre("app-a-v1", "app-a-v2", "app-b-v1", "other"));
}

TEST_P(SqlStoreDesiredTest, SchedulingInfoHoldsTheSchedulingFields) {
  const DesiredLRP stored = Desire(FullLrp());
  DesiredLRPSchedulingInfo expected;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        desired_lrp_key { process_guid: "app-1-v1" domain: "cf-apps" log_guid: "log-1" }
        annotation: "etag-1"
        instances: 2
        desired_lrp_resource {
          memory_mb: 256
          disk_mb: 1024
          root_fs: "preloaded:cflinuxfs4"
          max_pids: 1024
        }
        modification_tag { epoch: "epoch-1" index: 0 }
        volume_placement { driver_names: "nfs" driver_names: "smb" }
        PlacementTags: "isolation-a"
      )pb",
      &expected));
  *expected.mutable_routes() = stored.routes();
  ASSERT_OK_AND_ASSIGN(DesiredLRPSchedulingInfo info,
                       store_->DesiredLrpSchedulingInfoByProcessGuid("app-1-v1"));
  EXPECT_THAT(info, EqualsProto(expected));
  ASSERT_OK_AND_ASSIGN(std::vector<DesiredLRPSchedulingInfo> infos,
                       store_->DesiredLrpSchedulingInfos({}));
  ASSERT_THAT(infos, SizeIs(1));
  EXPECT_THAT(infos[0], EqualsProto(expected));
}

TEST_P(SqlStoreDesiredTest, RoutingInfoHoldsOnlyTheRoutingFields) {
  const DesiredLRP stored = Desire(FullLrp());
  DesiredLRP expected;
  expected.set_process_guid("app-1-v1");
  expected.set_domain("cf-apps");
  expected.set_log_guid("log-1");
  expected.set_instances(2);
  *expected.mutable_routes() = stored.routes();
  *expected.mutable_modification_tag() = stored.modification_tag();
  *expected.mutable_metric_tags() = stored.metric_tags();
  ASSERT_OK_AND_ASSIGN(std::vector<DesiredLRP> infos, store_->DesiredLrpRoutingInfos({}));
  ASSERT_THAT(infos, SizeIs(1));
  EXPECT_THAT(infos[0], EqualsProto(expected));
}

TEST_P(SqlStoreDesiredTest, ProjectionsNeverReadRunInfoAndCorruptRowsAreDataLoss) {
  Desire(Lrp("web", "d", 1));
  ASSERT_OK(db().Write([](SqlTx& tx) -> absl::Status {
    const std::string garbage = "\xff\xff\xff\xff";
    const SqlParam params[] = {Blob(garbage)};
    return tx.Exec("UPDATE desired_lrps SET run_info = ? WHERE process_guid = 'web'", params)
        .status();
  }));
  EXPECT_OK(store_->DesiredLrpSchedulingInfos({}));
  EXPECT_OK(store_->DesiredLrpSchedulingInfoByProcessGuid("web"));
  EXPECT_OK(store_->DesiredLrpRoutingInfos({}));
  EXPECT_THAT(store_->DesiredLrpByProcessGuid("web"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupt desired lrp row web")));
  EXPECT_THAT(store_->DesiredLrps({}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupt desired lrp row web")));
  DesiredLRPUpdate update;
  update.set_annotation("x");
  EXPECT_THAT(store_->UpdateDesiredLrp("web", update, ""), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

// -----------------------------------------------------------------------------
// Update.
// -----------------------------------------------------------------------------

TEST_P(SqlStoreDesiredTest, UpdateChangesOnlyTheUpdatableFields) {
  const DesiredLRP before = Desire(FullLrp());
  DesiredLRPUpdate update;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        routes { routes { key: "cf-router" value: "[{\"port\":9090}]" } }
        annotation: "etag-2"
        metric_tags {
          key: "source_id"
          value { static: "renamed" }
        }
        image_username: "user-2"
        image_password: "pass-2"
      )pb",
      &update));
  ASSERT_OK_AND_ASSIGN(UpdateLrpResult result,
                       store_->UpdateDesiredLrp("app-1-v1", update, "trace-u"));

  DesiredLRP expected = before;
  *expected.mutable_routes() = update.routes();
  expected.set_annotation("etag-2");
  *expected.mutable_metric_tags() = update.metric_tags();
  expected.set_image_username("user-2");
  expected.set_image_password("pass-2");
  expected.mutable_modification_tag()->set_index(1);
  EXPECT_THAT(result.before, EqualsProto(before));
  EXPECT_THAT(result.after, EqualsProto(expected));
  EXPECT_THAT(Stored("app-1-v1"), EqualsProto(expected));
  EXPECT_THAT(result.created_indices, IsEmpty());
  EXPECT_THAT(result.to_stop, IsEmpty());

  const std::vector<BbsEvent> events = sink_.Take();
  ASSERT_THAT(Types(events), ElementsAre("desired_lrp_changed"));
  auto changed = Decode<model::v1::DesiredLRPChangedEvent>(events[0]);
  EXPECT_THAT(changed.before(), EqualsProto(before));
  EXPECT_THAT(changed.after(), EqualsProto(expected));
  EXPECT_EQ(changed.trace_id(), "trace-u");

  // The columns follow the blobs.
  DesiredLRPSchedulingInfo scheduling;
  DesiredLRPRunInfo run;
  DesiredLRP metric_tags;
  int64_t update_strategy = -1, instances = -1, tag_index = -1;
  std::string epoch;
  ReadColumns("app-1-v1", &scheduling, &run, &metric_tags, &update_strategy, &instances, &epoch,
              &tag_index);
  EXPECT_EQ(tag_index, 1);
  EXPECT_EQ(epoch, "epoch-1");
  EXPECT_EQ(run.image_username(), "user-2");
}

TEST_P(SqlStoreDesiredTest, UpdateWithOnlyAnnotationKeepsEverythingElse) {
  const DesiredLRP before = Desire(FullLrp());
  DesiredLRPUpdate update;
  update.set_annotation("");
  ASSERT_OK_AND_ASSIGN(UpdateLrpResult result, store_->UpdateDesiredLrp("app-1-v1", update, ""));
  DesiredLRP expected = before;
  expected.set_annotation("");
  expected.mutable_modification_tag()->set_index(1);
  EXPECT_THAT(result.after, EqualsProto(expected));
  EXPECT_THAT(result.to_update, IsEmpty());

  // A second update bumps the index again.
  update.set_annotation("again");
  ASSERT_OK_AND_ASSIGN(result, store_->UpdateDesiredLrp("app-1-v1", update, ""));
  EXPECT_EQ(result.after.modification_tag().index(), 2u);
  EXPECT_EQ(result.after.modification_tag().epoch(), "epoch-1");
}

TEST_P(SqlStoreDesiredTest, UpdateWithPresentEmptyRoutesClearsThem) {
  Desire(FullLrp());
  DesiredLRPUpdate update;
  update.mutable_routes();
  ASSERT_OK_AND_ASSIGN(UpdateLrpResult result, store_->UpdateDesiredLrp("app-1-v1", update, ""));
  EXPECT_THAT(result.before.routes().routes(), SizeIs(2));
  EXPECT_TRUE(result.after.routes().routes().empty());
  EXPECT_TRUE(Stored("app-1-v1").routes().routes().empty());
  ASSERT_OK_AND_ASSIGN(DesiredLRPSchedulingInfo info,
                       store_->DesiredLrpSchedulingInfoByProcessGuid("app-1-v1"));
  EXPECT_TRUE(info.routes().routes().empty());
}

TEST_P(SqlStoreDesiredTest, UpdateOfAMissingLrpIsResourceNotFound) {
  DesiredLRPUpdate update;
  update.set_instances(3);
  absl::StatusOr<UpdateLrpResult> result = store_->UpdateDesiredLrp("nope", update, "");
  EXPECT_THAT(result,
              StatusIs(absl::StatusCode::kNotFound, "the requested resource could not be found"));
  EXPECT_TRUE(model::HasBbsErrorType(result.status(), Error::ResourceNotFound));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreDesiredTest, ScaleUpCreatesTheNewIndices) {
  Desire(Lrp("web", "d", 2));
  // Index 3 already has an ordinary row (e.g. a leftover); it is skipped.
  ASSERT_OK(InsertActualRow(db(), ActualRow("web", 3, ActualLRP::ORDINARY, "CLAIMED", "c")));
  clock_.Advance(absl::Seconds(1));
  DesiredLRPUpdate update;
  update.set_instances(5);
  ASSERT_OK_AND_ASSIGN(UpdateLrpResult result, store_->UpdateDesiredLrp("web", update, "t-up"));
  EXPECT_EQ(result.before.instances(), 2);
  EXPECT_EQ(result.after.instances(), 5);
  EXPECT_THAT(result.created_indices, ElementsAre(2, 4));
  EXPECT_THAT(result.to_stop, IsEmpty());
  const std::vector<ActualLRP> rows = ActualRows(db(), "web");
  EXPECT_THAT(Describe(rows), ElementsAre("0/0/UNCLAIMED", "1/0/UNCLAIMED", "2/0/UNCLAIMED",
                                          "3/0/CLAIMED", "4/0/UNCLAIMED"));
  EXPECT_EQ(rows[2].since(), Nanos(clock_.Now()));

  const std::vector<BbsEvent> events = sink_.Take();
  EXPECT_THAT(Types(events), ElementsAre("desired_lrp_changed", "actual_lrp_instance_created",
                                         "actual_lrp_instance_created"));
  EXPECT_THAT(Decode<model::v1::ActualLRPInstanceCreatedEvent>(events[1]).actual_lrp(),
              EqualsProto(rows[2]));
  EXPECT_EQ(Decode<model::v1::ActualLRPInstanceCreatedEvent>(events[2]).trace_id(), "t-up");
  ASSERT_OK_AND_ASSIGN(DesiredLRPSchedulingInfo info,
                       store_->DesiredLrpSchedulingInfoByProcessGuid("web"));
  EXPECT_EQ(info.instances(), 5);
}

TEST_P(SqlStoreDesiredTest, ScaleDownDeletesIdleInstancesAndReturnsActiveOnesToStop) {
  Desire(Lrp("web", "d", 0));
  const std::vector<ActualLRP> setup = {
      ActualRow("web", 0, ActualLRP::ORDINARY, "RUNNING", "c0"),
      ActualRow("web", 1, ActualLRP::ORDINARY, "UNCLAIMED"),
      ActualRow("web", 2, ActualLRP::ORDINARY, "CRASHED"),
      ActualRow("web", 3, ActualLRP::ORDINARY, "CLAIMED", "c3"),
      ActualRow("web", 4, ActualLRP::ORDINARY, "RUNNING", "c4"),
      ActualRow("web", 4, ActualLRP::EVACUATING, "RUNNING", "c5"),
      ActualRow("web", 5, ActualLRP::ORDINARY, "UNCLAIMED"),
      ActualRow("web", 5, ActualLRP::SUSPECT, "RUNNING", "c6"),
  };
  for (const ActualLRP& row : setup) ASSERT_OK(InsertActualRow(db(), row));
  DesiredLRPUpdate grow;
  grow.set_instances(6);
  ASSERT_OK(store_->UpdateDesiredLrp("web", grow, ""));
  ASSERT_THAT(ActualRows(db(), "web"), SizeIs(8));
  sink_.Take();

  DesiredLRPUpdate update;
  update.set_instances(1);
  ASSERT_OK_AND_ASSIGN(UpdateLrpResult result, store_->UpdateDesiredLrp("web", update, "t-dn"));
  EXPECT_THAT(result.created_indices, IsEmpty());
  EXPECT_THAT(Describe(result.to_stop), ElementsAre("3/0/CLAIMED", "4/0/RUNNING", "5/2/RUNNING"));
  EXPECT_THAT(result.to_stop[0], EqualsProto(setup[3]));
  EXPECT_THAT(
      Describe(ActualRows(db(), "web")),
      ElementsAre("0/0/RUNNING", "3/0/CLAIMED", "4/0/RUNNING", "4/1/RUNNING", "5/2/RUNNING"));

  const std::vector<BbsEvent> events = sink_.Take();
  ASSERT_THAT(Types(events),
              ElementsAre("desired_lrp_changed", "actual_lrp_instance_removed",
                          "actual_lrp_instance_removed", "actual_lrp_instance_removed"));
  auto removed1 = Decode<model::v1::ActualLRPInstanceRemovedEvent>(events[1]);
  auto removed2 = Decode<model::v1::ActualLRPInstanceRemovedEvent>(events[2]);
  auto removed5 = Decode<model::v1::ActualLRPInstanceRemovedEvent>(events[3]);
  EXPECT_THAT(removed1.actual_lrp(), EqualsProto(setup[1]));
  EXPECT_THAT(removed2.actual_lrp(), EqualsProto(setup[2]));
  EXPECT_THAT(removed5.actual_lrp(), EqualsProto(setup[6]));
  EXPECT_EQ(removed2.trace_id(), "t-dn");
  EXPECT_TRUE(events[1].cell_filtered);
}

TEST_P(SqlStoreDesiredTest, SameInstanceCountTouchesNoInstances) {
  Desire(Lrp("web", "d", 2));
  DesiredLRPUpdate update;
  update.set_instances(2);
  ASSERT_OK_AND_ASSIGN(UpdateLrpResult result, store_->UpdateDesiredLrp("web", update, ""));
  EXPECT_THAT(result.created_indices, IsEmpty());
  EXPECT_THAT(result.to_stop, IsEmpty());
  EXPECT_EQ(result.after.modification_tag().index(), 1u);
  EXPECT_THAT(Types(sink_.Take()), ElementsAre("desired_lrp_changed"));
}

class SqlStoreDesiredInstancesTest : public SqlStoreDesiredTest {
 protected:
  void SetUp() override {
    SqlStoreDesiredTest::SetUp();
    DesiredLRP lrp = FullLrp("web");
    lrp.set_instances(0);
    Desire(lrp);
    for (const ActualLRP& row : rows_) ASSERT_OK(InsertActualRow(db(), row));
    DesiredLRPUpdate grow;
    grow.set_instances(4);
    ASSERT_OK(store_->UpdateDesiredLrp("web", grow, ""));
    sink_.Take();
  }

  // The instances a routes/metric-tags update is pushed to.
  std::vector<std::string> ToUpdate(const DesiredLRPUpdate& update) {
    absl::StatusOr<UpdateLrpResult> result = store_->UpdateDesiredLrp("web", update, "");
    EXPECT_OK(result);
    return result.ok() ? Describe(result->to_update) : std::vector<std::string>{"error"};
  }

  const std::vector<ActualLRP> rows_ = {
      ActualRow("web", 0, ActualLRP::ORDINARY, "RUNNING", "c0"),
      ActualRow("web", 0, ActualLRP::EVACUATING, "RUNNING", "c1"),
      ActualRow("web", 1, ActualLRP::ORDINARY, "CLAIMED", "c2"),
      ActualRow("web", 1, ActualLRP::SUSPECT, "RUNNING", "c3"),
      ActualRow("web", 2, ActualLRP::ORDINARY, "CRASHED"),
      ActualRow("web", 3, ActualLRP::ORDINARY, "UNCLAIMED"),
  };
};

TEST_P(SqlStoreDesiredInstancesTest, InternalRoutesChangeIsPushedToActiveInstances) {
  DesiredLRPUpdate update;
  *update.mutable_routes() = FullLrp().routes();
  (*update.mutable_routes()->mutable_routes())["internal-router"] =
      R"([{"hostname":"b.apps.internal"}])";
  EXPECT_THAT(ToUpdate(update), ElementsAre("0/0/RUNNING", "1/0/CLAIMED", "1/2/RUNNING"));
}

TEST_P(SqlStoreDesiredInstancesTest, UnchangedInternalRoutesAreNotPushed) {
  DesiredLRPUpdate update;
  *update.mutable_routes() = FullLrp().routes();
  (*update.mutable_routes()->mutable_routes())["cf-router"] = R"([{"port":1}])";
  EXPECT_THAT(ToUpdate(update), IsEmpty());
}

TEST_P(SqlStoreDesiredInstancesTest, RoutesWithoutInternalRoutesOnEitherSideCountAsChanged) {
  DesiredLRPUpdate clear;
  clear.mutable_routes();
  // Removing the internal routes is a change...
  EXPECT_THAT(ToUpdate(clear), ElementsAre("0/0/RUNNING", "1/0/CLAIMED", "1/2/RUNNING"));
  // ...and so, in Diego's IsRoutesGroupUpdated, is a routes update where
  // neither side has internal routes.
  EXPECT_THAT(ToUpdate(clear), ElementsAre("0/0/RUNNING", "1/0/CLAIMED", "1/2/RUNNING"));
}

TEST_P(SqlStoreDesiredInstancesTest, MetricTagsChangeIsPushedToActiveInstances) {
  DesiredLRPUpdate same;
  *same.mutable_metric_tags() = FullLrp().metric_tags();
  EXPECT_THAT(ToUpdate(same), IsEmpty());

  DesiredLRPUpdate changed;
  *changed.mutable_metric_tags() = FullLrp().metric_tags();
  (*changed.mutable_metric_tags())["source_id"].set_static_("other");
  EXPECT_THAT(ToUpdate(changed), ElementsAre("0/0/RUNNING", "1/0/CLAIMED", "1/2/RUNNING"));

  DesiredLRPUpdate fewer;
  (*fewer.mutable_metric_tags())["source_id"].set_static_("other");
  EXPECT_THAT(ToUpdate(fewer), ElementsAre("0/0/RUNNING", "1/0/CLAIMED", "1/2/RUNNING"));
  EXPECT_THAT(Stored("web").metric_tags(), SizeIs(1));
}

TEST_P(SqlStoreDesiredInstancesTest, AnnotationOrInstancesAloneAreNotPushed) {
  DesiredLRPUpdate update;
  update.set_annotation("x");
  EXPECT_THAT(ToUpdate(update), IsEmpty());
  update.set_instances(5);
  EXPECT_THAT(ToUpdate(update), IsEmpty());
}

TEST_P(SqlStoreDesiredInstancesTest, PushLeavesOutInstancesBeingScaledAway) {
  DesiredLRPUpdate update;
  update.set_instances(1);
  (*update.mutable_metric_tags())["source_id"].set_static_("other");
  ASSERT_OK_AND_ASSIGN(UpdateLrpResult result, store_->UpdateDesiredLrp("web", update, ""));
  EXPECT_THAT(Describe(result.to_update), ElementsAre("0/0/RUNNING"));
  EXPECT_THAT(Describe(result.to_stop), ElementsAre("1/0/CLAIMED", "1/2/RUNNING"));
}

TEST_P(SqlStoreDesiredTest, ConcurrentUpdatesAreNeitherLostNorReordered) {
  Desire(Lrp("web", "d", 0));
  constexpr int kThreads = 6;
  constexpr int kUpdates = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kUpdates; ++i) {
        DesiredLRPUpdate update;
        update.set_annotation(absl::StrCat(t, "-", i));
        EXPECT_OK(store_->UpdateDesiredLrp("web", update, ""));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(Stored("web").modification_tag().index(), static_cast<uint32_t>(kThreads * kUpdates));
  const std::vector<BbsEvent> events = sink_.Take();
  ASSERT_THAT(events, SizeIs(kThreads * kUpdates));
  for (int i = 0; i < kThreads * kUpdates; ++i) {
    auto changed = Decode<model::v1::DesiredLRPChangedEvent>(events[i]);
    EXPECT_EQ(changed.before().modification_tag().index(), static_cast<uint32_t>(i));
    EXPECT_EQ(changed.after().modification_tag().index(), static_cast<uint32_t>(i + 1));
  }
}

// -----------------------------------------------------------------------------
// Remove.
// -----------------------------------------------------------------------------

TEST_P(SqlStoreDesiredTest, RemoveDeletesTheLrpAndItsIdleInstances) {
  const DesiredLRP stored = Desire(Lrp("web", "d", 2));  // Rows 0, 1 UNCLAIMED.
  const std::vector<ActualLRP> extra = {
      ActualRow("web", 2, ActualLRP::ORDINARY, "RUNNING", "c2"),
      ActualRow("web", 2, ActualLRP::EVACUATING, "RUNNING", "c3"),
      ActualRow("web", 3, ActualLRP::ORDINARY, "CRASHED"),
      ActualRow("web", 4, ActualLRP::SUSPECT, "CLAIMED", "c4"),
  };
  for (const ActualLRP& row : extra) ASSERT_OK(InsertActualRow(db(), row));
  Desire(Lrp("other", "d", 1));
  const std::vector<ActualLRP> before = ActualRows(db(), "web");

  ASSERT_OK_AND_ASSIGN(RemoveLrpResult result, store_->RemoveDesiredLrp("web", "t-rm"));
  EXPECT_THAT(result.removed, EqualsProto(stored));
  EXPECT_THAT(Describe(result.to_stop), ElementsAre("2/0/RUNNING", "4/2/CLAIMED"));
  EXPECT_THAT(store_->DesiredLrpByProcessGuid("web"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Describe(ActualRows(db(), "web")),
              ElementsAre("2/0/RUNNING", "2/1/RUNNING", "4/2/CLAIMED"));
  EXPECT_THAT(ActualRows(db(), "other"), SizeIs(1));
  EXPECT_OK(store_->DesiredLrpByProcessGuid("other"));

  const std::vector<BbsEvent> events = sink_.Take();
  ASSERT_THAT(Types(events),
              ElementsAre("desired_lrp_removed", "actual_lrp_instance_removed",
                          "actual_lrp_instance_removed", "actual_lrp_instance_removed"));
  auto removed = Decode<model::v1::DesiredLRPRemovedEvent>(events[0]);
  EXPECT_THAT(removed.desired_lrp(), EqualsProto(stored));
  EXPECT_EQ(removed.trace_id(), "t-rm");
  std::vector<std::string> removed_rows;
  for (size_t i = 1; i < events.size(); ++i) {
    removed_rows.push_back(
        Describe(Decode<model::v1::ActualLRPInstanceRemovedEvent>(events[i]).actual_lrp()));
  }
  EXPECT_THAT(removed_rows, ElementsAre("0/0/UNCLAIMED", "1/0/UNCLAIMED", "3/0/CRASHED"));
  EXPECT_THAT(Decode<model::v1::ActualLRPInstanceRemovedEvent>(events[1]).actual_lrp(),
              EqualsProto(before[0]));
}

TEST_P(SqlStoreDesiredTest, RemoveOfAMissingLrpIsResourceNotFound) {
  absl::StatusOr<RemoveLrpResult> result = store_->RemoveDesiredLrp("nope", "");
  EXPECT_THAT(result,
              StatusIs(absl::StatusCode::kNotFound, "the requested resource could not be found"));
  EXPECT_TRUE(model::HasBbsErrorType(result.status(), Error::ResourceNotFound));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreDesiredTest, RemovedLrpCanBeDesiredAgainWithAFreshEpoch) {
  Desire(Lrp("web", "d", 1));
  ASSERT_OK(store_->RemoveDesiredLrp("web", ""));
  ASSERT_OK_AND_ASSIGN(DesireLrpResult again, store_->DesireLrp(Lrp("web", "d", 1), ""));
  EXPECT_EQ(again.lrp.modification_tag().epoch(), "epoch-3");
  EXPECT_EQ(again.lrp.modification_tag().index(), 0u);
  EXPECT_THAT(again.created_indices, ElementsAre(0));
}

// -----------------------------------------------------------------------------
// Domains, cells, counts.
// -----------------------------------------------------------------------------

TEST_P(SqlStoreDesiredTest, FreshDomainsExpireWithTheClock) {
  const auto fresh = [&] {
    absl::StatusOr<std::vector<std::string>> domains = store_->FreshDomains();
    EXPECT_OK(domains);
    return domains.ok() ? *domains : std::vector<std::string>{"error"};
  };
  ASSERT_OK(store_->UpsertDomain("b-short", absl::Seconds(10)));
  ASSERT_OK(store_->UpsertDomain("a-long", absl::Seconds(100)));
  ASSERT_OK(store_->UpsertDomain("c-forever", absl::ZeroDuration()));
  EXPECT_THAT(fresh(), ElementsAre("a-long", "b-short", "c-forever"));

  clock_.Advance(absl::Seconds(10));  // Expires at exactly now: no longer fresh.
  EXPECT_THAT(fresh(), ElementsAre("a-long", "c-forever"));

  // Upserting refreshes (and revives) a domain.
  ASSERT_OK(store_->UpsertDomain("b-short", absl::Seconds(100)));
  clock_.Advance(absl::Seconds(95));  // a-long expired 5 s ago.
  EXPECT_THAT(fresh(), ElementsAre("b-short", "c-forever"));

  // A zero ttl makes an expiring domain permanent.
  ASSERT_OK(store_->UpsertDomain("b-short", absl::ZeroDuration()));
  clock_.Advance(absl::Hours(1000));
  EXPECT_THAT(fresh(), ElementsAre("b-short", "c-forever"));
}

std::string PresenceJson(absl::string_view cell_id, absl::string_view zone) {
  return absl::StrCat(R"({"cell_id":")", cell_id, R"(","rep_address":"http://10.0.0.1:1800",)",
                      R"("zone":")", zone, R"(","capacity":{"memory_mb":1024,"disk_mb":2048,)",
                      R"("containers":100},"rootfs_provider_list":[{"name":"preloaded",)",
                      R"("properties":["cflinuxfs4"]}],"placement_tags":["t1"],)",
                      R"("rep_url":"https://)", cell_id, R"(.cell:1801"})");
}

TEST_P(SqlStoreDesiredTest, CellsAreTheParsablePresencesInCellOrder) {
  ASSERT_OK(InsertLocketRow(db(), "cell-b", "owner-b", PresenceJson("cell-b", "z2"), 2));
  ASSERT_OK(InsertLocketRow(db(), "cell-a", "owner-a", PresenceJson("cell-a", "z1"), 2));
  ASSERT_OK(InsertLocketRow(db(), "cell-c", "", PresenceJson("cell-c", "z1"), 2));  // No owner.
  ASSERT_OK(InsertLocketRow(db(), "bbs", "bbs-0", PresenceJson("bbs", "z1"), 1));   // A lock.
  ASSERT_OK(InsertLocketRow(db(), "cell-d", "owner-d", "{not json", 2));            // Corrupt.

  ASSERT_OK_AND_ASSIGN(std::vector<model::v1::CellPresence> cells, store_->Cells());
  ASSERT_THAT(cells, SizeIs(2));
  EXPECT_EQ(cells[0].cell_id(), "cell-a");
  EXPECT_EQ(cells[1].cell_id(), "cell-b");
  EXPECT_EQ(cells[1].zone(), "z2");
  EXPECT_EQ(cells[0].rep_address(), "http://10.0.0.1:1800");
  EXPECT_EQ(cells[0].rep_url(), "https://cell-a.cell:1801");
  EXPECT_EQ(cells[0].capacity().memory_mb(), 1024);
  EXPECT_EQ(cells[0].capacity().containers(), 100);
  ASSERT_THAT(cells[0].rootfs_providers(), SizeIs(1));
  EXPECT_EQ(cells[0].rootfs_providers(0).name(), "preloaded");
  EXPECT_THAT(cells[0].placement_tags(), ElementsAre("t1"));

  ASSERT_OK_AND_ASSIGN(model::v1::CellPresence b, store_->CellById("cell-b"));
  EXPECT_THAT(b, EqualsProto(cells[1]));
  for (absl::string_view missing : {"cell-x", "cell-c", "bbs"}) {
    absl::StatusOr<model::v1::CellPresence> cell = store_->CellById(missing);
    EXPECT_THAT(cell,
                StatusIs(absl::StatusCode::kNotFound, "the requested resource could not be found"))
        << missing;
    EXPECT_TRUE(model::HasBbsErrorType(cell.status(), Error::ResourceNotFound));
  }
  EXPECT_THAT(store_->CellById("cell-d"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cell-d")));
}

TEST_P(SqlStoreDesiredTest, CountsTallyLrpsTasksAndFreshDomains) {
  ASSERT_OK_AND_ASSIGN(StoreCounts empty, store_->Counts());
  EXPECT_EQ(empty.desired_lrps, 0);
  EXPECT_EQ(empty.lrps_desired, 0);
  EXPECT_EQ(empty.tasks_pending, 0);

  Desire(Lrp("web", "d", 3));  // 3 UNCLAIMED rows.
  Desire(Lrp("api", "d", 2));  // 2 UNCLAIMED rows.
  for (const ActualLRP& row : {
           ActualRow("x", 0, ActualLRP::ORDINARY, "CLAIMED", "c"),
           ActualRow("x", 1, ActualLRP::ORDINARY, "RUNNING", "c"),
           ActualRow("x", 2, ActualLRP::ORDINARY, "RUNNING", "c"),
           ActualRow("x", 3, ActualLRP::ORDINARY, "CRASHED"),
           ActualRow("x", 1, ActualLRP::EVACUATING, "RUNNING", "c"),
           ActualRow("x", 4, ActualLRP::SUSPECT, "RUNNING", "c"),
           ActualRow("x", 5, ActualLRP::SUSPECT, "CLAIMED", "c"),
       }) {
    ASSERT_OK(InsertActualRow(db(), row));
  }
  model::v1::TaskDefinition definition;
  definition.set_root_fs("preloaded:cflinuxfs4");
  for (absl::string_view guid : {"p1", "p2", "r", "c", "z"}) {
    ASSERT_OK(store_->DesireTask(definition, guid, "d"));
  }
  ASSERT_OK(store_->StartTask("r", "cell"));
  ASSERT_OK(store_->CancelTask("c"));
  ASSERT_OK(store_->CancelTask("z"));
  ASSERT_OK(store_->ResolvingTask("z"));
  ASSERT_OK(store_->UpsertDomain("fresh", absl::Seconds(60)));
  ASSERT_OK(store_->UpsertDomain("forever", absl::ZeroDuration()));
  ASSERT_OK(store_->UpsertDomain("stale", absl::Seconds(1)));
  clock_.Advance(absl::Seconds(2));

  ASSERT_OK_AND_ASSIGN(StoreCounts counts, store_->Counts());
  EXPECT_EQ(counts.desired_lrps, 2);
  EXPECT_EQ(counts.lrps_desired, 5);
  EXPECT_EQ(counts.lrps_unclaimed, 5);
  EXPECT_EQ(counts.lrps_claimed, 1);
  EXPECT_EQ(counts.lrps_running, 2);
  EXPECT_EQ(counts.crashed_actual_lrps, 1);
  EXPECT_EQ(counts.lrps_evacuating, 1);
  EXPECT_EQ(counts.suspect_lrps, 2);
  EXPECT_EQ(counts.tasks_pending, 2);
  EXPECT_EQ(counts.tasks_running, 1);
  EXPECT_EQ(counts.tasks_completed, 1);
  EXPECT_EQ(counts.tasks_resolving, 1);
  EXPECT_EQ(counts.domains, 2);
}

INSTANTIATE_TEST_SUITE_P(Engines, SqlStoreDesiredTest, ::testing::ValuesIn(testing::kTestEngines),
                         testing::TestEngineName);
INSTANTIATE_TEST_SUITE_P(Engines, SqlStoreDesiredFilterTest,
                         ::testing::ValuesIn(testing::kTestEngines), testing::TestEngineName);
INSTANTIATE_TEST_SUITE_P(Engines, SqlStoreDesiredInstancesTest,
                         ::testing::ValuesIn(testing::kTestEngines), testing::TestEngineName);

}  // namespace
}  // namespace diego::bbs
