// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: fake_rep_client.h
// -----------------------------------------------------------------------------
//
// In-memory rep clients for what the BBS asks of reps (outbound.h):
//
//   * `FakeRepClient` records every StopLrpInstance / CancelTask /
//     UpdateLrpInstance call made to one cell and can be told to fail them.
//   * `FakeRepClientFactory` hands out one `FakeRepClient` per cell id (the
//     same object every time), records the presences it was asked for, and
//     can be told to fail `ForCell` itself.
//
//   FakeRepClientFactory reps;
//   BbsService service(&store, &auctioneer, &reps, logger);
//   reps.ClientFor("cell-1")->SetError(absl::UnavailableError("rep down"), 2);
//   service.RetireActualLrp(request, ctx);   // Fails twice, then stops it.
//   EXPECT_EQ(reps.ClientFor("cell-1")->StopCalls().size(), 3);
//
// Thread-safe: the BBS may call them from any thread while the test reads.

#ifndef DIEGO_TESTING_FAKE_REP_CLIENT_H_
#define DIEGO_TESTING_FAKE_REP_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "diego/bbs/outbound.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/cells.pb.h"

namespace diego::fakes {

// The rep of one cell. Every call is recorded (also the ones made to fail).
class FakeRepClient final : public bbs::RepClient {
 public:
  // Fail every later call (see `SetError`).
  static constexpr int kForever = -1;

  struct StopCall {
    model::v1::ActualLRPKey key;
    model::v1::ActualLRPInstanceKey instance_key;
  };
  struct UpdateCall {
    model::v1::ActualLRPKey key;
    model::v1::ActualLRPInstanceKey instance_key;
    std::vector<model::v1::ActualLRPInternalRoute> internal_routes;
    std::map<std::string, std::string> metric_tags;
  };

  explicit FakeRepClient(std::string cell_id);
  FakeRepClient(const FakeRepClient&) = delete;
  FakeRepClient& operator=(const FakeRepClient&) = delete;

  const std::string& cell_id() const { return cell_id_; }

  // bbs::RepClient. Record the call, then return the error if one is armed.
  absl::Status StopLrpInstance(const model::v1::ActualLRPKey& key,
                               const model::v1::ActualLRPInstanceKey& instance_key) override;
  absl::Status CancelTask(absl::string_view task_guid) override;
  absl::Status UpdateLrpInstance(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      absl::Span<const model::v1::ActualLRPInternalRoute> internal_routes,
      const std::map<std::string, std::string>& metric_tags) override;

  // Makes the next `times` calls (of any kind) return `error`, or every later
  // call with `kForever`. An OK `error` clears it.
  void SetError(absl::Status error, int times = kForever);

  std::vector<StopCall> StopCalls() const;
  std::vector<std::string> CancelCalls() const;  // Task guids, in call order.
  std::vector<UpdateCall> UpdateCalls() const;

 private:
  absl::Status NextResult() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string cell_id_;
  mutable absl::Mutex mu_;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  int error_times_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<StopCall> stops_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> cancels_ ABSL_GUARDED_BY(mu_);
  std::vector<UpdateCall> updates_ ABSL_GUARDED_BY(mu_);
};

// Hands out one FakeRepClient per cell id.
class FakeRepClientFactory final : public bbs::RepClientFactory {
 public:
  FakeRepClientFactory() = default;
  FakeRepClientFactory(const FakeRepClientFactory&) = delete;
  FakeRepClientFactory& operator=(const FakeRepClientFactory&) = delete;

  // bbs::RepClientFactory: records `cell`, then returns the error set with
  // `SetError` or the client of `cell.cell_id()` (created on first use).
  absl::StatusOr<std::shared_ptr<bbs::RepClient>> ForCell(
      const model::v1::CellPresence& cell) override;

  // The client of `cell_id`, created on first use; the same object
  // `ForCell` returns for that cell.
  std::shared_ptr<FakeRepClient> ClientFor(absl::string_view cell_id);

  // Whether a client for `cell_id` exists (was asked for).
  bool HasClient(absl::string_view cell_id) const;

  // Makes every later `ForCell` return `error`; OK restores success.
  void SetError(absl::Status error);

  // Every presence `ForCell` was called with, in call order.
  std::vector<model::v1::CellPresence> ForCellCalls() const;

 private:
  std::shared_ptr<FakeRepClient> ClientForLocked(absl::string_view cell_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<FakeRepClient>> clients_ ABSL_GUARDED_BY(mu_);
  std::vector<model::v1::CellPresence> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_FAKE_REP_CLIENT_H_
