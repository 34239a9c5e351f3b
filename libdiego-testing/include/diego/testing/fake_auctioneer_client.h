// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: fake_auctioneer_client.h
// -----------------------------------------------------------------------------
//
// `diego::fakes::FakeAuctioneerClient` is an in-memory `bbs::AuctioneerClient`
// (Diego's counterfeiter `FakeClient` of the auctioneer package): it records
// every batch of LRP and task start requests the BBS sends, and can be told
// to fail. Nothing is auctioned.
//
//   FakeAuctioneerClient auctioneer;
//   BbsService service(&store, &auctioneer, &reps, logger);
//   service.DesireDesiredLrp(request, ctx);
//   ASSERT_EQ(auctioneer.LrpBatches().size(), 1);
//   EXPECT_THAT(auctioneer.LrpBatches()[0][0].indices, ElementsAre(0, 1, 2));
//
//   auctioneer.SetError(absl::UnavailableError("auctioneer down"));
//   // Every later call is recorded, then returns that error.
//
// Like the real client, an empty batch is OK and is neither sent nor
// recorded. Thread-safe: the BBS may call it from any thread while the test
// reads.

#ifndef DIEGO_TESTING_FAKE_AUCTIONEER_CLIENT_H_
#define DIEGO_TESTING_FAKE_AUCTIONEER_CLIENT_H_

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "diego/auction/types.h"
#include "diego/bbs/outbound.h"

namespace diego::fakes {

class FakeAuctioneerClient final : public bbs::AuctioneerClient {
 public:
  FakeAuctioneerClient() = default;
  FakeAuctioneerClient(const FakeAuctioneerClient&) = delete;
  FakeAuctioneerClient& operator=(const FakeAuctioneerClient&) = delete;

  // bbs::AuctioneerClient. Records the non-empty batch, then returns the
  // error set with `SetError` (OK by default).
  absl::Status RequestLrpAuctions(absl::Span<const auction::LrpStartRequest> requests) override;
  absl::Status RequestTaskAuctions(absl::Span<const auction::TaskStartRequest> requests) override;

  // Makes every later call (recorded as usual) return `error`; OK restores
  // success.
  void SetError(absl::Status error);

  // Every recorded batch, in call order.
  std::vector<std::vector<auction::LrpStartRequest>> LrpBatches() const;
  std::vector<std::vector<auction::TaskStartRequest>> TaskBatches() const;

  // Every recorded request, batches concatenated in call order.
  std::vector<auction::LrpStartRequest> LrpStartRequests() const;
  std::vector<auction::TaskStartRequest> TaskStartRequests() const;

  // Forgets every recorded batch (the error stays).
  void Clear();

 private:
  mutable absl::Mutex mu_;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<auction::LrpStartRequest>> lrp_batches_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<auction::TaskStartRequest>> task_batches_ ABSL_GUARDED_BY(mu_);
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_FAKE_AUCTIONEER_CLIENT_H_
