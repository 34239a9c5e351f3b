// Copyright 2026 The libdiego Authors.

#include "diego/testing/sample_models.h"

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "diego/model/v1/desired_lrp.pb.h"

namespace diego::fakes {

model::v1::DesiredLRP SampleDesiredLrp(absl::string_view process_guid, int32_t instances) {
  model::v1::DesiredLRP lrp;
  lrp.set_process_guid(std::string(process_guid));
  lrp.set_domain("cf-apps");
  lrp.set_log_guid("log");
  lrp.set_root_fs("preloaded:cflinuxfs4");
  lrp.set_instances(instances);
  lrp.mutable_action()->mutable_run_action()->set_path("/bin/run");
  lrp.mutable_action()->mutable_run_action()->set_user("vcap");
  lrp.set_memory_mb(128);
  lrp.set_disk_mb(256);
  lrp.set_start_timeout_ms(60000);
  (*lrp.mutable_metric_tags())["source_id"].set_static_("app");
  return lrp;
}

}  // namespace diego::fakes
