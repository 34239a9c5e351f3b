// Copyright 2026 The libdiego Authors.
//
// Start-request builders (outbound.h). The HTTP clients live in
// http_outbound.cc.

#include "diego/bbs/outbound.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "diego/auction/types.h"

namespace diego::bbs {
namespace {

// Mirrors Diego's `NewPlacementConstraint(rootfs, placement_tags,
// volume_drivers)`.
auction::PlacementConstraint MakeConstraint(
    const std::string& root_fs, const google::protobuf::RepeatedPtrField<std::string>& tags,
    std::vector<std::string> volume_drivers) {
  auction::PlacementConstraint constraint;
  constraint.root_fs = root_fs;
  constraint.placement_tags.assign(tags.begin(), tags.end());
  constraint.volume_drivers = std::move(volume_drivers);
  return constraint;
}

}  // namespace

// Mirrors Diego's `NewLRPStartRequestFromSchedulingInfo`: key, resource
// (memory, disk, max pids) and placement (rootfs, placement tags, the volume
// placement's driver names).
auction::LrpStartRequest LrpStartRequestFromSchedulingInfo(
    const model::v1::DesiredLRPSchedulingInfo& info, absl::Span<const int32_t> indices) {
  auction::LrpStartRequest request;
  request.process_guid = info.desired_lrp_key().process_guid();
  request.domain = info.desired_lrp_key().domain();
  request.indices.assign(indices.begin(), indices.end());
  const model::v1::DesiredLRPResource& resource = info.desired_lrp_resource();
  request.resource.memory_mb = resource.memory_mb();
  request.resource.disk_mb = resource.disk_mb();
  request.resource.max_pids = resource.max_pids();
  const auto& drivers = info.volume_placement().driver_names();
  request.constraint = MakeConstraint(resource.root_fs(), info.placementtags(),
                                      std::vector<std::string>(drivers.begin(), drivers.end()));
  return request;
}

// Mirrors Diego's `NewLRPStartRequestFromModel`: the volume drivers are those
// of the LRP's volume mounts, in order.
auction::LrpStartRequest LrpStartRequestFromDesiredLrp(const model::v1::DesiredLRP& lrp,
                                                       absl::Span<const int32_t> indices) {
  auction::LrpStartRequest request;
  request.process_guid = lrp.process_guid();
  request.domain = lrp.domain();
  request.indices.assign(indices.begin(), indices.end());
  request.resource.memory_mb = lrp.memory_mb();
  request.resource.disk_mb = lrp.disk_mb();
  request.resource.max_pids = lrp.max_pids();
  std::vector<std::string> drivers;
  drivers.reserve(lrp.volume_mounts_size());
  for (const model::v1::VolumeMount& mount : lrp.volume_mounts()) {
    drivers.push_back(mount.driver());
  }
  request.constraint = MakeConstraint(lrp.root_fs(), lrp.placementtags(), std::move(drivers));
  return request;
}

// Mirrors Diego's `NewTaskStartRequestFromModel(task_guid, domain,
// definition)`. A task without a definition yields an empty resource and
// constraint (Diego would not store one).
auction::TaskStartRequest TaskStartRequestFromTask(const model::v1::Task& task) {
  auction::TaskStartRequest request;
  request.task_guid = task.task_guid();
  request.domain = task.domain();
  const model::v1::TaskDefinition& definition = task.task_definition();
  request.resource.memory_mb = definition.memory_mb();
  request.resource.disk_mb = definition.disk_mb();
  request.resource.max_pids = definition.max_pids();
  std::vector<std::string> drivers;
  drivers.reserve(definition.volume_mounts_size());
  for (const model::v1::VolumeMount& mount : definition.volume_mounts()) {
    drivers.push_back(mount.driver());
  }
  request.constraint =
      MakeConstraint(definition.root_fs(), definition.placement_tags(), std::move(drivers));
  return request;
}

}  // namespace diego::bbs
