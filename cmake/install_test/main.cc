// Uses the installed headers and libraries of diego::base, diego::model and
// diego::testing, and exits non-zero if anything behaves unexpectedly.
#include <cstdio>
#include <memory>
#include <string>

#include "diego/auction/scheduler.h"
#include "diego/auction/strategies.h"
#include "diego/base/status_macros.h"
#include "diego/model/errors.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/validation.h"
#include "diego/testing/fake_cell_client.h"
#include "diego/testing/fake_clock.h"

namespace {

absl::Status Check() {
  diego::model::v1::DesiredLRP lrp;
  lrp.set_process_guid("consumer-app");
  absl::Status invalid = diego::model::ValidateDesiredLrp(lrp);
  if (invalid.ok()) {
    return absl::InternalError("an incomplete DesiredLRP validated");
  }
  diego::model::v1::ActualLRP actual;
  actual.mutable_actual_lrp_key()->set_process_guid("consumer-app");
  std::string bytes;
  if (!actual.SerializeToString(&bytes)) {
    return absl::InternalError("serialize failed");
  }
  diego::fakes::FakeClock clock;
  absl::Time start = clock.Now();
  clock.Advance(absl::Seconds(5));
  if (clock.Now() - start != absl::Seconds(5)) {
    return absl::InternalError("fake clock did not advance");
  }
  DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<diego::auction::PlacementStrategy> strategy,
                         diego::auction::NewPlacementStrategy("diego"));
  diego::auction::Scheduler scheduler(strategy.get(), diego::auction::AuctionConfig{});
  diego::auction::CellState cell = diego::fakes::FakeCellClient::NewCellState(
      "cell-1", "z1", {.memory_mb = 1024, .disk_mb = 1024, .containers = 10});
  diego::auction::LrpStartRequest request;
  request.process_guid = "consumer-app";
  request.domain = "d";
  request.indices = {0};
  request.constraint.root_fs = "preloaded:cflinuxfs4";
  request.resource.memory_mb = 128;
  diego::auction::ScheduleOutput out = scheduler.Schedule(
      {cell}, diego::auction::LrpAuctionsFromRequest(request, clock.Now()), {});
  if (out.results.successful_lrps.size() != 1 ||
      out.results.successful_lrps[0].record.winner != "cell-1") {
    return absl::InternalError("the auction did not place the LRP on cell-1");
  }
  std::printf("consumer ok: %s\n", std::string(invalid.message()).c_str());
  return absl::OkStatus();
}

}  // namespace

int main() {
  absl::Status status = Check();
  if (!status.ok()) {
    std::fprintf(stderr, "consumer: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
