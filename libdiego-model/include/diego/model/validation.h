// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: validation.h
// -----------------------------------------------------------------------------
//
// The validation rules of Diego's BBS `models` package for the
// `diego::model::v1` messages. The BBS server runs them on every request;
// clients and CLI tools run them to fail early with the BBS's own message.
//
// Contract shared by every function below:
//
//   * OK, or `BbsError(v1::Error::InvalidRequest, message)` (code
//     kInvalidArgument, Diego type in the payload; see errors.h).
//   * Every failure of the record is collected, in Diego's check order, and
//     joined with ", " as Go's `models.ValidationError` prints:
//       "Invalid field: domain, Invalid field: rootfs, invalid action type"
//   * Entries are "Invalid field: <Diego's name>" except where Diego uses free
//     text ("invalid action type", "invalid volume_mount mode", ...).
//   * A failing nested record adds a marker, then its own entries, flattened:
//       "Invalid field: action, Invalid field: path, Invalid field: user"
//   * Checks Diego runs twice are reported twice (a DesiredLRP checks `domain`
//     itself and via its key; an empty `rootfs` is both missing and
//     scheme-less), so messages match the Go BBS byte for byte.
//
// Where C++ protobuf cannot mirror Go exactly:
//
//   * `DesiredLRP.metric_tags` must be non-nil in Go. A proto map cannot be
//     nil and Go decodes an absent (empty) map from the wire as nil, so an
//     EMPTY map fails with "Invalid field: metric_tags".
//   * An Action wrapper with no member set: "Invalid field: inner-action" at
//     the top (ValidateAction, setup, action, monitor) as in Go; as the child
//     of timeout / try / emit_progress "Invalid field: action", and as an entry
//     of parallel / serial / codependent "Invalid field: action at index <i>"
//     (Go's messages for a nil child; Go itself would panic).
//   * A wrapper with several members set validates only the first in field
//     order (download, upload, run, timeout, ...), like Go's `GetValue()`.
//   * A Check with neither tcp_check nor http_check reads "Invalid field:
//     port" (Go falls through to a nil TCP check, port 0); with both, "check".
//   * Egress rules: "icmpv6" follows the "icmp" rules; ports and port_range
//     bounds are 1..65535.
//   * TaskDefinition.volume_mounted_files has the DesiredLRP's 1 MiB limit
//     ("Invalid field: volumeMountedFiles", checked last).
//   * ActualLRPsByProcessGuidsRequest needs a process guid ("process_guids").
//   * Placement errors are trimmed of ASCII whitespace only.
//   * Action trees: Go recurses without a bound. Here an Action nested more
//     than `kMaxActionDepth` (100) wrappers deep, counting the one validated
//     as 1, is not followed further; it adds "Invalid field: action nested
//     deeper than 100 levels" (once per branch that goes too deep), so a
//     hostile tree cannot exhaust the stack. Protobuf and Go-JSON parsing
//     stop at 100 nested messages (about 50 action levels), so no parsed
//     record reaches the bound.
//
// Not enforced, as in Diego: cpu_weight, start_timeout_ms, ports, network,
// placement_tags, certificate_properties, and a Task's metric_tags.

#ifndef DIEGO_MODEL_VALIDATION_H_
#define DIEGO_MODEL_VALIDATION_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "diego/model/v1/actions.pb.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/actual_lrp_requests.pb.h"
#include "diego/model/v1/cached_dependency.pb.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/model/v1/check_definition.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/desired_lrp_requests.pb.h"
#include "diego/model/v1/domain.pb.h"
#include "diego/model/v1/environment_variables.pb.h"
#include "diego/model/v1/evacuation.pb.h"
#include "diego/model/v1/image_layer.pb.h"
#include "diego/model/v1/metric_tags.pb.h"
#include "diego/model/v1/security_group.pb.h"
#include "diego/model/v1/sidecar.pb.h"
#include "diego/model/v1/task.pb.h"
#include "diego/model/v1/task_requests.pb.h"
#include "diego/model/v1/volume_mount.pb.h"
#include "google/protobuf/map.h"
#include "google/protobuf/message.h"

namespace diego::model {

// -----------------------------------------------------------------------------
// Limits
// -----------------------------------------------------------------------------

// Largest `annotation` of a Task or DesiredLRP, in bytes.
inline constexpr std::size_t kMaxAnnotationBytes = 10 * 1024;

// Largest sum of the byte lengths of all `routes` values of a DesiredLRP.
inline constexpr std::size_t kMaxRoutesBytes = 128 * 1024;

// Largest sum of the `content` lengths of all `volume_mounted_files`.
inline constexpr std::size_t kMaxVolumeMountedFilesBytes = 1024 * 1024;

// Deepest Action nesting that is validated (not a Diego limit; see the file
// comment): the action handed to a validator is level 1, its children 2.
inline constexpr int kMaxActionDepth = 100;

// -----------------------------------------------------------------------------
// Predicates
// -----------------------------------------------------------------------------

// True if `guid` matches Diego's task / process guid pattern
// `^[a-zA-Z0-9_-]+$`.
bool IsValidGuid(absl::string_view guid);

// True if Go's `url.Parse(rootfs)` would succeed with a non-empty scheme:
// "preloaded:cflinuxfs4", "docker:///org/img#tag" pass; "", "ploop", ":x",
// bad %-escapes, ports or hosts fail. To parse a rootfs, see rootfs.h.
bool IsValidRootfsUrl(absl::string_view rootfs);

// -----------------------------------------------------------------------------
// Records
// -----------------------------------------------------------------------------

// Validates a DesiredLRP: volume_mounted_files, domain, rootfs, instances,
// memory_mb, disk_mb, log_rate_limit, annotation, max_pids, routes and
// metric_tags, then all of `ValidateDesiredLrpRunInfo`.
[[nodiscard]] absl::Status ValidateDesiredLrp(const v1::DesiredLRP& lrp);

// Validates an update: instances >= 0, annotation and routes sizes, metric
// tag values (an update may carry no tags).
[[nodiscard]] absl::Status ValidateDesiredLrpUpdate(const v1::DesiredLRPUpdate& update);

// Validates a DesiredLRPKey: domain non-empty, process_guid a valid guid.
[[nodiscard]] absl::Status ValidateDesiredLrpKey(const v1::DesiredLRPKey& key);

// Validates a DesiredLRPResource: rootfs scheme; memory, disk, max_pids >= 0.
[[nodiscard]] absl::Status ValidateDesiredLrpResource(const v1::DesiredLRPResource& resource);

// Validates key, resource, routes size, instances >= 0, annotation size.
[[nodiscard]] absl::Status ValidateDesiredLrpSchedulingInfo(
    const v1::DesiredLRPSchedulingInfo& info);

// Validates key, volume_mounted_files, setup, action, monitor, env,
// egress_rules, cached_dependencies, image_layers, sidecars, volume_mounts,
// image credentials, check_definition and log_rate_limit.
[[nodiscard]] absl::Status ValidateDesiredLrpRunInfo(const v1::DesiredLRPRunInfo& info);

// Validates rootfs, action, memory_mb, disk_mb, log_rate_limit, max_pids,
// annotation, egress_rules (a bad rule adds only "Invalid field:
// egress_rules", as in Go), image credentials, cached_dependencies,
// image_layers and volume_mounted_files.
[[nodiscard]] absl::Status ValidateTaskDefinition(const v1::TaskDefinition& definition);

// Validates domain, task_guid and a present, valid task_definition.
[[nodiscard]] absl::Status ValidateTask(const v1::Task& task);

// Validates an action tree recursively. download: from, to, user, checksum
// pair, md5/sha1/sha256 in any case; upload: to, from, user; run: path, user;
// timeout: action, timeout_ms > 0; emit_progress, try: action; parallel,
// serial, codependent: non-empty `actions`. No "action" marker is added.
// Nesting deeper than `kMaxActionDepth` is reported, not followed.
[[nodiscard]] absl::Status ValidateAction(const v1::Action& action);

// Validates an egress rule. tcp, udp: exactly one of ports / port_range,
// bounds 1..65535, start <= end, no icmp_info. icmp, icmpv6: icmp_info, no
// ports. all: only destinations. Destinations (IP, CIDR, ascending "a-b")
// fail as "Invalid field: destinations [ Invalid IP, ... ]".
[[nodiscard]] absl::Status ValidateSecurityGroupRule(const v1::SecurityGroupRule& rule);

// Validates from, to, and the checksum pair and algorithm.
[[nodiscard]] absl::Status ValidateCachedDependency(const v1::CachedDependency& dependency);

// Validates url, destination_path, layer_type, media_type and the digest
// (EXCLUSIVE needs both parts; each part needs the other). The record holding
// an EXCLUSIVE layer must also set legacy_download_user.
[[nodiscard]] absl::Status ValidateImageLayer(const v1::ImageLayer& layer);

// Validates driver, mode ("r" or "rw") and shared.volume_id when present.
[[nodiscard]] absl::Status ValidateVolumeMount(const v1::VolumeMount& mount);

// Validates every Check in `checks` and `readiness_checks`.
[[nodiscard]] absl::Status ValidateCheckDefinition(const v1::CheckDefinition& definition);

// Validates one Check: exactly one of tcp_check / http_check, port 1..65535.
[[nodiscard]] absl::Status ValidateCheck(const v1::Check& check);

// Validates that exactly one of `static` / a known `dynamic` is set.
[[nodiscard]] absl::Status ValidateMetricTagValue(const v1::MetricTagValue& value);

// Validates every value and, for a non-empty map with `metrics_guid` set, a
// `source_id` tag whose static value equals it.
[[nodiscard]] absl::Status ValidateMetricTags(
    const google::protobuf::Map<std::string, v1::MetricTagValue>& tags,
    absl::string_view metrics_guid);

// Validates action (required), memory_mb >= 0, disk_mb >= 0.
[[nodiscard]] absl::Status ValidateSidecar(const v1::Sidecar& sidecar);

// Validates that the name is not blank.
[[nodiscard]] absl::Status ValidateEnvironmentVariable(const v1::EnvironmentVariable& variable);

// Validates process_guid (non-empty only), index >= 0, domain.
[[nodiscard]] absl::Status ValidateActualLrpKey(const v1::ActualLRPKey& key);

// Validates cell_id, then instance_guid.
[[nodiscard]] absl::Status ValidateActualLrpInstanceKey(const v1::ActualLRPInstanceKey& key);

// Validates address.
[[nodiscard]] absl::Status ValidateActualLrpNetInfo(const v1::ActualLRPNetInfo& info);

// Validates key, since != 0 and the state's invariants. UNCLAIMED: no
// instance key or net info, presence ORDINARY. CLAIMED: instance key, no net
// info or placement error. RUNNING: instance key, address, no placement
// error. CRASHED: none of these. Other states fail "Invalid field: state".
[[nodiscard]] absl::Status ValidateActualLrp(const v1::ActualLRP& lrp);

// Validates cell_id, rep_address and capacity (memory, containers > 0).
[[nodiscard]] absl::Status ValidateCellPresence(const v1::CellPresence& cell);

// -----------------------------------------------------------------------------
// Requests (one per request message the BBS validates)
// -----------------------------------------------------------------------------
//
// "required" means the sub-message must be present (`has_...()`); a missing
// one reads "Invalid field: <field name>". A present sub-message contributes
// its own errors without a marker.

// desired_lrp required and valid (ValidateDesiredLrp).
[[nodiscard]] absl::Status ValidateDesireLrpRequest(const v1::DesireLRPRequest& request);
// process_guid non-empty; `update`, when present, valid.
[[nodiscard]] absl::Status ValidateUpdateDesiredLrpRequest(
    const v1::UpdateDesiredLRPRequest& request);
// process_guid non-empty.
[[nodiscard]] absl::Status ValidateRemoveDesiredLrpRequest(
    const v1::RemoveDesiredLRPRequest& request);
// process_guid non-empty.
[[nodiscard]] absl::Status ValidateDesiredLrpByProcessGuidRequest(
    const v1::DesiredLRPByProcessGuidRequest& request);

// task_guid a valid guid, domain non-empty, task_definition required, valid.
[[nodiscard]] absl::Status ValidateDesireTaskRequest(const v1::DesireTaskRequest& request);
// task_guid a valid guid, cell_id non-empty.
[[nodiscard]] absl::Status ValidateStartTaskRequest(const v1::StartTaskRequest& request);
// task_guid a valid guid, cell_id non-empty.
[[nodiscard]] absl::Status ValidateCompleteTaskRequest(const v1::CompleteTaskRequest& request);
// task_guid a valid guid, failure_reason non-empty.
[[nodiscard]] absl::Status ValidateFailTaskRequest(const v1::FailTaskRequest& request);
// task_guid a valid guid, rejection_reason non-empty (reported, as in Go, as
// "Invalid field: failure_reason").
[[nodiscard]] absl::Status ValidateRejectTaskRequest(const v1::RejectTaskRequest& request);
// task_guid non-empty. Used by cancel, resolving and delete.
[[nodiscard]] absl::Status ValidateTaskGuidRequest(const v1::TaskGuidRequest& request);
// task_guid non-empty.
[[nodiscard]] absl::Status ValidateTaskByGuidRequest(const v1::TaskByGuidRequest& request);

// process_guid non-empty; actual_lrp_instance_key required and valid.
[[nodiscard]] absl::Status ValidateClaimActualLrpRequest(const v1::ClaimActualLRPRequest& request);
// actual_lrp_key, actual_lrp_instance_key, actual_lrp_net_info required, valid.
[[nodiscard]] absl::Status ValidateStartActualLrpRequest(const v1::StartActualLRPRequest& request);
// actual_lrp_key, actual_lrp_instance_key required and valid.
[[nodiscard]] absl::Status ValidateCrashActualLrpRequest(const v1::CrashActualLRPRequest& request);
// actual_lrp_key required and valid; error_message non-empty.
[[nodiscard]] absl::Status ValidateFailActualLrpRequest(const v1::FailActualLRPRequest& request);
// actual_lrp_key required and valid.
[[nodiscard]] absl::Status ValidateRetireActualLrpRequest(
    const v1::RetireActualLRPRequest& request);
// process_guid non-empty, index >= 0 (the instance key is not checked).
[[nodiscard]] absl::Status ValidateRemoveActualLrpRequest(
    const v1::RemoveActualLRPRequest& request);
// actual_lrp_key, actual_lrp_instance_key required and valid.
[[nodiscard]] absl::Status ValidateRemoveEvacuatingActualLrpRequest(
    const v1::RemoveEvacuatingActualLRPRequest& request);
// actual_lrp_key, actual_lrp_instance_key required and valid.
[[nodiscard]] absl::Status ValidateEvacuateClaimedActualLrpRequest(
    const v1::EvacuateClaimedActualLRPRequest& request);
// actual_lrp_key, actual_lrp_instance_key, actual_lrp_net_info required, valid.
[[nodiscard]] absl::Status ValidateEvacuateRunningActualLrpRequest(
    const v1::EvacuateRunningActualLRPRequest& request);
// actual_lrp_key, actual_lrp_instance_key required and valid.
[[nodiscard]] absl::Status ValidateEvacuateStoppedActualLrpRequest(
    const v1::EvacuateStoppedActualLRPRequest& request);
// actual_lrp_key, actual_lrp_instance_key required and valid; error_message
// non-empty.
[[nodiscard]] absl::Status ValidateEvacuateCrashedActualLrpRequest(
    const v1::EvacuateCrashedActualLRPRequest& request);
// process_guid non-empty (deprecated group API).
[[nodiscard]] absl::Status ValidateActualLrpGroupsByProcessGuidRequest(
    const v1::ActualLRPGroupsByProcessGuidRequest& request);
// process_guid non-empty, index >= 0 (deprecated group API).
[[nodiscard]] absl::Status ValidateActualLrpGroupByProcessGuidAndIndexRequest(
    const v1::ActualLRPGroupByProcessGuidAndIndexRequest& request);
// At least one process guid.
[[nodiscard]] absl::Status ValidateActualLrpsByProcessGuidsRequest(
    const v1::ActualLRPsByProcessGuidsRequest& request);

// domain non-empty (ttl 0 is valid and means "never expires").
[[nodiscard]] absl::Status ValidateUpsertDomainRequest(const v1::UpsertDomainRequest& request);

// -----------------------------------------------------------------------------
// Generic entry point
// -----------------------------------------------------------------------------

// Runs the validator for `message`'s type, found by full name; covers every
// type above plus each action message and CellCapacity. Types without rules
// (DesiredLRPsRequest, responses, events, ...) are OK. Dynamic messages of
// known types are re-parsed first (InvalidProtobufMessage if that fails).
[[nodiscard]] absl::Status ValidateMessage(const google::protobuf::Message& message);

}  // namespace diego::model

#endif  // DIEGO_MODEL_VALIDATION_H_
