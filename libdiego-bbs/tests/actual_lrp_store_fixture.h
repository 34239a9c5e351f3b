// Copyright 2026 The libdiego Authors.
//
// The fixture shared by the ActualLRP store suites (sql_store_actual_test.cc,
// sql_store_evacuation_test.cc): a SqlStore on a fresh database of the
// parameter's engine, a FakeClock, a recording EventSink, and helpers to build
// keys and rows, insert rows directly and check events and stored columns.
// Each suite is its own binary and includes this once.

#ifndef DIEGO_BBS_TESTS_ACTUAL_LRP_STORE_FIXTURE_H_
#define DIEGO_BBS_TESTS_ACTUAL_LRP_STORE_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>


#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/bbs/events.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/bbs/store.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/errors.h"
#include "diego/model/restart_policy.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/events.pb.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/recording_event_sink.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "sql_store_internal.h"
#include "test_databases.h"

namespace diego::bbs {
namespace {

using ::diego::fakes::FakeClock;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using model::v1::ActualLRP;
using model::v1::Error;

constexpr char kTrace[] = "trace-1234";

using RecordingSink = ::diego::fakes::RecordingEventSink;

std::vector<std::string> Types(const std::vector<BbsEvent>& events) {
  std::vector<std::string> types;
  for (const BbsEvent& e : events) types.push_back(e.type);
  return types;
}

// The trace id an instance event carries ("" for crash events, which have none).
std::string TraceIdOf(const BbsEvent& e) {
  if (e.type == "actual_lrp_instance_created") {
    model::v1::ActualLRPInstanceCreatedEvent m;
    EXPECT_TRUE(m.ParseFromString(e.payload));
    return m.trace_id();
  }
  if (e.type == "actual_lrp_instance_changed") {
    model::v1::ActualLRPInstanceChangedEvent m;
    EXPECT_TRUE(m.ParseFromString(e.payload));
    return m.trace_id();
  }
  if (e.type == "actual_lrp_instance_removed") {
    model::v1::ActualLRPInstanceRemovedEvent m;
    EXPECT_TRUE(m.ParseFromString(e.payload));
    return m.trace_id();
  }
  return "";
}

// `actual` equals what the event builders make for `changes`: same types,
// payloads and cell filters in the same order, every instance event carrying
// `trace`.
void ExpectEvents(const std::vector<BbsEvent>& actual,
                  std::vector<internal::ActualLrpRowChange> changes,
                  absl::string_view trace = kTrace) {
  const std::vector<BbsEvent> expected = internal::ActualLrpEvents(changes, trace);
  ASSERT_EQ(Types(actual), Types(expected));
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].payload, expected[i].payload) << "event " << i << " " << actual[i].type;
    EXPECT_EQ(actual[i].cell_ids, expected[i].cell_ids) << "event " << i;
    EXPECT_EQ(actual[i].stream, EventStream::kLrpInstances);
    if (actual[i].type != "actual_lrp_crashed") {
      EXPECT_EQ(TraceIdOf(actual[i]), std::string(trace)) << "event " << i;
    }
  }
}

MATCHER_P(EqualsProto, expected, "") {
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, arg)) return true;
  *result_listener << diff;
  return false;
}

const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER_P(HasBbsType, type, "") {
  *result_listener << "which is " << StatusOf(arg);
  return model::HasBbsErrorType(StatusOf(arg), type);
}

model::v1::ActualLRPKey Key(absl::string_view guid, int32_t index,
                            absl::string_view domain = "domain-1") {
  model::v1::ActualLRPKey key;
  key.set_process_guid(std::string(guid));
  key.set_index(index);
  key.set_domain(std::string(domain));
  return key;
}

model::v1::ActualLRPInstanceKey Ik(absl::string_view guid, absl::string_view cell) {
  model::v1::ActualLRPInstanceKey key;
  key.set_instance_guid(std::string(guid));
  key.set_cell_id(std::string(cell));
  return key;
}

model::StartActualLrpParams Params(const model::v1::ActualLRPKey& key,
                                   const model::v1::ActualLRPInstanceKey& ik,
                                   absl::string_view address = "10.0.0.1") {
  model::StartActualLrpParams params;
  params.key = key;
  params.instance_key = ik;
  params.net_info.set_address(std::string(address));
  params.net_info.set_instance_address("10.255.0.7");
  auto* port = params.net_info.add_ports();
  port->set_container_port(8080);
  port->set_host_port(61000);
  params.internal_routes.emplace_back();
  params.internal_routes.back().set_hostname("app.apps.internal");
  params.metric_tags["source_id"] = "app-guid";
  params.routable = true;
  params.availability_zone = "z1";
  return params;
}

class ActualLrpStoreTest : public ::testing::TestWithParam<SqlEngine> {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(t_, testing::OpenTestDatabase(GetParam()));
    MakeStore(SqlStore::Options());
  }

  void MakeStore(SqlStore::Options options) {
    options.generate_guid = [this] { return absl::StrCat("epoch-", ++epochs_); };
    store_ = std::make_unique<SqlStore>(t_.db.get(), &sink_, &clock_, std::move(options));
  }

  int64_t NowNanos() { return absl::ToUnixNanos(clock_.Now()); }

  // Rows in the states the API makes, stamped one hour in the past.
  ActualLRP Unclaimed(absl::string_view guid, int32_t index,
                      absl::string_view domain = "domain-1") {
    ActualLRP lrp = model::NewUnclaimedActualLrp(Key(guid, index, domain), "seed",
                                                 clock_.Now() - absl::Hours(1));
    lrp.mutable_modification_tag()->set_index(3);
    return lrp;
  }
  ActualLRP Claimed(absl::string_view guid, int32_t index,
                    const model::v1::ActualLRPInstanceKey& ik,
                    absl::string_view domain = "domain-1") {
    ActualLRP lrp = Unclaimed(guid, index, domain);
    lrp.set_state(std::string(model::kActualLrpStateClaimed));
    *lrp.mutable_actual_lrp_instance_key() = ik;
    return lrp;
  }
  ActualLRP Running(absl::string_view guid, int32_t index,
                    const model::v1::ActualLRPInstanceKey& ik,
                    absl::string_view domain = "domain-1") {
    ActualLRP lrp = model::NewRunningActualLrp(Params(Key(guid, index, domain), ik), "seed",
                                               clock_.Now() - absl::Hours(1));
    lrp.mutable_modification_tag()->set_index(3);
    return lrp;
  }
  ActualLRP Crashed(absl::string_view guid, int32_t index, int32_t crash_count) {
    ActualLRP lrp = Unclaimed(guid, index);
    lrp.set_state(std::string(model::kActualLrpStateCrashed));
    lrp.set_crash_count(crash_count);
    lrp.set_crash_reason("boom");
    return lrp;
  }
  static ActualLRP As(ActualLRP lrp, ActualLRP::Presence presence) {
    lrp.set_presence(presence);
    return lrp;
  }

  void Insert(const ActualLRP& lrp) {
    ASSERT_OK(t_.db->Write([&](SqlTx& tx) { return internal::InsertActualLrp(tx, lrp); }));
  }

  std::optional<ActualLRP> Row(absl::string_view guid, int32_t index,
                               ActualLRP::Presence presence = ActualLRP::ORDINARY) {
    std::optional<ActualLRP> row;
    EXPECT_OK(t_.db->Read([&](SqlTx& tx) -> absl::Status {
      absl::StatusOr<std::optional<ActualLRP>> r =
          internal::ReadActualLrp(tx, guid, index, presence);
      if (!r.ok()) return r.status();
      row = *std::move(r);
      return absl::OkStatus();
    }));
    return row;
  }

  // Every row's columns agree with its `data` message.
  void ExpectColumnsMatchData() {
    int rows = 0;
    ASSERT_OK(t_.db->Read([&](SqlTx& tx) {
      return tx.Query(
          "SELECT process_guid, instance_index, presence, domain, state, instance_guid,"
          " cell_id, since, modification_tag_epoch, modification_tag_index, crash_count, data"
          " FROM actual_lrps",
          {}, [&](const SqlRow& row) {
            ++rows;
            ActualLRP lrp;
            absl::string_view data = row.Blob(11);
            EXPECT_TRUE(lrp.ParseFromArray(data.data(), static_cast<int>(data.size())));
            EXPECT_EQ(row.Text(0), lrp.actual_lrp_key().process_guid());
            EXPECT_EQ(row.Int(1), lrp.actual_lrp_key().index());
            EXPECT_EQ(row.Int(2), lrp.presence());
            EXPECT_EQ(row.Text(3), lrp.actual_lrp_key().domain());
            EXPECT_EQ(row.Text(4), lrp.state());
            EXPECT_EQ(row.Text(5), lrp.actual_lrp_instance_key().instance_guid());
            EXPECT_EQ(row.Text(6), lrp.actual_lrp_instance_key().cell_id());
            EXPECT_EQ(row.Int(7), lrp.since());
            EXPECT_EQ(row.Text(8), lrp.modification_tag().epoch());
            EXPECT_EQ(row.Int(9), lrp.modification_tag().index());
            EXPECT_EQ(row.Int(10), lrp.crash_count());
            return absl::OkStatus();
          });
    }));
    EXPECT_GT(rows, 0);
  }

  // A desired_lrps row with only what evacuation reads (instances and
  // update_strategy) meaningful.
  void InsertDesired(absl::string_view guid, int64_t instances,
                     model::v1::DesiredLRP::UpdateStrategy strategy) {
    ASSERT_OK(t_.db->Write([&](SqlTx& tx) {
      const SqlParam params[] = {Text(guid), Int(instances), Int(strategy), Blob("info"),
                                 Blob("run"), Blob("tags")};
      return tx
          .Exec("INSERT INTO desired_lrps (process_guid, domain, log_guid, instances,"
                " modification_tag_epoch, modification_tag_index, update_strategy,"
                " scheduling_info, run_info, metric_tags)"
                " VALUES (?, 'domain-1', 'log', ?, 'desired-epoch', 0, ?, ?, ?, ?)",
                params)
          .status();
    }));
  }

  testing::TestDatabase t_;
  FakeClock clock_;
  RecordingSink sink_;
  int epochs_ = 0;
  std::unique_ptr<SqlStore> store_;
};

}  // namespace
}  // namespace diego::bbs

#endif  // DIEGO_BBS_TESTS_ACTUAL_LRP_STORE_FIXTURE_H_
