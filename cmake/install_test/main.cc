// Uses the installed headers and libraries of diego::base, diego::model and
// diego::testing, and exits non-zero if anything behaves unexpectedly.
#include <cstdio>
#include <string>

#include "diego/base/status_macros.h"
#include "diego/model/errors.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/validation.h"
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
