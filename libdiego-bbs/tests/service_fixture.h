// Copyright 2026 The libdiego Authors.
//
// The fixture shared by BbsService's suite (service_test.cc) and the
// Converger's (converger_test.cc): a BbsService over a real SqlStore on a
// fresh SQLite database, with a FakeClock, a recording EventSink, fake
// auctioneer and rep clients and a recording TaskCompletionHandler; helpers to
// build ActualLRP keys in `kDomain` and to register and remove Locket cell
// presences in the store's `locks` table. Each suite is its own binary and
// includes this once.

#ifndef DIEGO_BBS_TESTS_SERVICE_FIXTURE_H_
#define DIEGO_BBS_TESTS_SERVICE_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "diego/bbs/outbound.h"
#include "diego/bbs/service.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/go_json.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/model/v1/task.pb.h"
#include "diego/testing/fake_auctioneer_client.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/fake_rep_client.h"
#include "diego/testing/recording_event_sink.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gtest/gtest.h"
#include "test_databases.h"

namespace diego::bbs {
namespace {

using ::diego::fakes::FakeAuctioneerClient;
using ::diego::fakes::FakeClock;
using ::diego::fakes::FakeRepClientFactory;
using ::diego::fakes::TestLogger;

using RecordingSink = ::diego::fakes::RecordingEventSink;

// The domain of every record the suites make.
constexpr char kDomain[] = "test-domain";

model::v1::ActualLRPKey LrpKey(const std::string& guid, int32_t index) {
  model::v1::ActualLRPKey key;
  key.set_process_guid(guid);
  key.set_index(index);
  key.set_domain(kDomain);
  return key;
}

model::v1::ActualLRPInstanceKey InstanceKey(const std::string& instance, const std::string& cell) {
  model::v1::ActualLRPInstanceKey key;
  key.set_instance_guid(instance);
  key.set_cell_id(cell);
  return key;
}

// Records every task handed over for completion.
class RecordingCompletions final : public TaskCompletionHandler {
 public:
  void TaskCompleted(const model::v1::Task& task) override {
    absl::MutexLock lock(&mu_);
    tasks_.push_back(task);
  }
  std::vector<model::v1::Task> tasks() const {
    absl::MutexLock lock(&mu_);
    return tasks_;
  }
  std::vector<std::string> guids() const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> guids;
    for (const model::v1::Task& task : tasks_) guids.push_back(task.task_guid());
    return guids;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<model::v1::Task> tasks_ ABSL_GUARDED_BY(mu_);
};

class BbsServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(database_, testing::OpenTestDatabase(SqlEngine::kSqlite));
    store_ = std::make_unique<SqlStore>(database_.db.get(), &sink_, &clock_);
    service_ = std::make_unique<BbsService>(store_.get(), &auctioneer_, &reps_, &completions_,
                                            *log_.logger(), BbsService::Options());
  }

  // Registers `cell` as a Locket presence (owner "owner-<cell_id>") in the
  // store's `locks` table, as a rep does: the cell set the service and the
  // SqlStore convergence read.
  void RegisterPresence(const model::v1::CellPresence& cell) {
    ASSERT_OK_AND_ASSIGN(std::string json, model::ToGoJson(cell));
    ASSERT_OK(testing::InsertLocketRow(*database_.db, cell.cell_id(), "owner-" + cell.cell_id(),
                                       json, /*type_code=*/2));
  }

  // Removes the presence of `cell_id` (it expired).
  void RemovePresence(const std::string& cell_id) {
    ASSERT_OK(testing::DeleteLocketRow(*database_.db, cell_id));
  }

  FakeClock clock_;
  TestLogger log_{"bbs", &clock_};
  RecordingSink sink_;
  FakeAuctioneerClient auctioneer_;
  FakeRepClientFactory reps_;
  RecordingCompletions completions_;
  testing::TestDatabase database_;
  std::unique_ptr<SqlStore> store_;
  std::unique_ptr<BbsService> service_;
};

}  // namespace
}  // namespace diego::bbs

#endif  // DIEGO_BBS_TESTS_SERVICE_FIXTURE_H_
