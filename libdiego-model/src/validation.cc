// Copyright 2026 The libdiego Authors.

#include "diego/model/validation.h"

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "diego/model/errors.h"
#include "diego/model/rootfs.h"

// Diego's rules read fields the protos mark deprecated (metrics_guid,
// legacy_download_user, DigestAlgorithm SHA512); reading them is intended.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::model {
namespace {

using ::google::protobuf::Map;
using ::google::protobuf::Message;
using ::google::protobuf::RepeatedPtrField;

// The entries of one record, in the order found: Go's `ValidationError`.
class Errors {
 public:
  void Add(std::string entry) { entries_.push_back(std::move(entry)); }
  void Field(absl::string_view name) { Add(absl::StrCat("Invalid field: ", name)); }
  void Append(const Errors& other) {
    entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
  }
  // Adds "Invalid field: <marker>" followed by `nested`'s entries, unless
  // `nested` is empty (Go: `Append(ErrInvalidField{marker}); Append(err)`).
  void Nested(absl::string_view marker, const Errors& nested) {
    if (nested.empty()) return;
    Field(marker);
    Append(nested);
  }
  bool empty() const { return entries_.empty(); }
  std::string Joined() const { return absl::StrJoin(entries_, ", "); }
  absl::Status ToStatus() const {
    if (empty()) return absl::OkStatus();
    return BbsError(v1::Error::InvalidRequest, Joined());
  }

 private:
  std::vector<std::string> entries_;
};

constexpr absl::string_view kInvalidActionType = "invalid action type";

bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

// --- IP addresses (Go's net.ParseIP / net.ParseCIDR) ------------------------

using Ip16 = std::array<unsigned char, 16>;

// Parses an IPv4 or IPv6 literal into Go's 16-byte form (IPv4 mapped into
// ::ffff:0:0/96). `is4` reports a dotted-quad IPv4 literal.
bool ParseIp(absl::string_view text, Ip16* out, bool* is4 = nullptr) {
  const std::string s(text);
  unsigned char v4[4];
  if (inet_pton(AF_INET, s.c_str(), v4) == 1) {
    *out = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3]};
    if (is4 != nullptr) *is4 = true;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out->data()) == 1) {
    if (is4 != nullptr) *is4 = false;
    return true;
  }
  return false;
}

bool ValidCidr(absl::string_view cidr) {
  const size_t slash = cidr.find('/');
  if (slash == absl::string_view::npos) return false;
  Ip16 ip;
  bool is4 = false;
  if (!ParseIp(cidr.substr(0, slash), &ip, &is4)) return false;
  const absl::string_view mask = cidr.substr(slash + 1);
  if (mask.empty() || mask.size() > 8) return false;
  int bits = 0;
  for (char c : mask) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    bits = bits * 10 + (c - '0');
  }
  return bits <= (is4 ? 32 : 128);
}

// Go's SecurityGroupRule.validateDestinations, including its quirk of
// reporting "Invalid IP" once per byte where the range start exceeds the end.
void CheckDestinations(const RepeatedPtrField<std::string>& destinations, Errors* out) {
  if (destinations.empty()) {
    out->Field("destinations [ Must have at least 1 destination ]");
    return;
  }
  Errors errors;
  for (const std::string& d : destinations) {
    const size_t n = d.find_first_of("-/");
    if (n == std::string::npos) {
      Ip16 ip;
      if (!ParseIp(d, &ip)) errors.Add("Invalid IP");
    } else if (d[n] == '/') {
      if (!ValidCidr(d)) errors.Add(absl::StrCat("invalid CIDR address: ", d));
    } else {
      Ip16 first;
      Ip16 second;
      const absl::string_view view(d);
      if (!ParseIp(view.substr(0, n), &first) || !ParseIp(view.substr(n + 1), &second)) {
        errors.Add("Invalid IP");
        continue;
      }
      for (size_t i = 0; i < first.size(); ++i) {
        if (first[i] < second[i]) break;
        if (first[i] == second[i]) continue;
        errors.Add("Invalid IP");
      }
    }
  }
  if (!errors.empty()) {
    out->Field(absl::StrCat("destinations [ ", errors.Joined(), " ]"));
  }
}

// --- Actions ----------------------------------------------------------------

bool IsEmptyAction(const v1::Action& a) {
  return !a.has_download_action() && !a.has_upload_action() && !a.has_run_action() &&
         !a.has_timeout_action() && !a.has_emit_progress_action() && !a.has_try_action() &&
         !a.has_parallel_action() && !a.has_serial_action() && !a.has_codependent_action();
}

// `depth` is the nesting level of the Action wrapper being checked: 1 for the
// action handed to the validator, 2 for its children, and so on.
void CheckAction(const v1::Action& a, Errors* out, int depth);

bool IsKnownChecksumAlgorithm(absl::string_view algorithm) {
  const std::string lower = absl::AsciiStrToLower(algorithm);
  return lower == "md5" || lower == "sha1" || lower == "sha256";
}

// The checksum pair shared by DownloadAction and CachedDependency.
void CheckChecksum(absl::string_view algorithm, absl::string_view value, Errors* out) {
  if (!value.empty() && algorithm.empty()) out->Field("checksum algorithm");
  if (value.empty() && !algorithm.empty()) out->Field("checksum value");
  if (!value.empty() && !algorithm.empty() && !IsKnownChecksumAlgorithm(algorithm)) {
    out->Field("invalid algorithm");
  }
}

void CheckDownload(const v1::DownloadAction& a, Errors* out) {
  if (a.from().empty()) out->Field("from");
  if (a.to().empty()) out->Field("to");
  if (a.user().empty()) out->Field("user");
  CheckChecksum(a.checksum_algorithm(), a.checksum_value(), out);
}

void CheckUpload(const v1::UploadAction& a, Errors* out) {
  if (a.to().empty()) out->Field("to");
  if (a.from().empty()) out->Field("from");
  if (a.user().empty()) out->Field("user");
}

void CheckRun(const v1::RunAction& a, Errors* out) {
  if (a.path().empty()) out->Field("path");
  if (a.user().empty()) out->Field("user");
}

// The single child of timeout / emit_progress / try, whose own wrapper is at
// level `depth`.
void CheckChild(bool has_child, const v1::Action& child, Errors* out, int depth) {
  if (!has_child || IsEmptyAction(child)) {
    out->Field("action");
  } else {
    CheckAction(child, out, depth + 1);
  }
}

// The inner actions below take the level of the wrapper holding them; the
// two-argument forms check one that is validated on its own (level 1).
void CheckTimeout(const v1::TimeoutAction& a, Errors* out, int depth) {
  CheckChild(a.has_action(), a.action(), out, depth);
  if (a.timeout_ms() <= 0) out->Field("timeout_ms");
}
void CheckTimeout(const v1::TimeoutAction& a, Errors* out) { CheckTimeout(a, out, 1); }

void CheckEmitProgress(const v1::EmitProgressAction& a, Errors* out, int depth) {
  CheckChild(a.has_action(), a.action(), out, depth);
}
void CheckEmitProgress(const v1::EmitProgressAction& a, Errors* out) {
  CheckEmitProgress(a, out, 1);
}

void CheckTry(const v1::TryAction& a, Errors* out, int depth) {
  CheckChild(a.has_action(), a.action(), out, depth);
}
void CheckTry(const v1::TryAction& a, Errors* out) { CheckTry(a, out, 1); }

// parallel / serial / codependent.
void CheckActionList(const RepeatedPtrField<v1::Action>& actions, Errors* out, int depth) {
  if (actions.empty()) {
    out->Field("actions");
    return;
  }
  for (int i = 0; i < actions.size(); ++i) {
    if (IsEmptyAction(actions.Get(i))) {
      out->Field(absl::StrCat("action at index ", i));
    } else {
      CheckAction(actions.Get(i), out, depth + 1);
    }
  }
}

// Go's Action.Validate(): the first member set, in field order. Go recurses
// without a bound (its stacks grow); here a tree nested deeper than
// kMaxActionDepth is reported instead of followed, so a hostile tree cannot
// exhaust the stack. No parser hands over such a tree: protobuf and Go JSON
// both stop at 100 nested messages, i.e. about 50 action levels.
void CheckAction(const v1::Action& a, Errors* out, int depth) {
  if (depth > kMaxActionDepth) {
    out->Field(absl::StrCat("action nested deeper than ", kMaxActionDepth, " levels"));
    return;
  }
  if (a.has_download_action()) return CheckDownload(a.download_action(), out);
  if (a.has_upload_action()) return CheckUpload(a.upload_action(), out);
  if (a.has_run_action()) return CheckRun(a.run_action(), out);
  if (a.has_timeout_action()) return CheckTimeout(a.timeout_action(), out, depth);
  if (a.has_emit_progress_action()) {
    return CheckEmitProgress(a.emit_progress_action(), out, depth);
  }
  if (a.has_try_action()) return CheckTry(a.try_action(), out, depth);
  if (a.has_parallel_action()) return CheckActionList(a.parallel_action().actions(), out, depth);
  if (a.has_serial_action()) return CheckActionList(a.serial_action().actions(), out, depth);
  if (a.has_codependent_action()) {
    return CheckActionList(a.codependent_action().actions(), out, depth);
  }
  out->Field("inner-action");
}

void CheckAction(const v1::Action& a, Errors* out) { CheckAction(a, out, 1); }

// An optional top-level action (setup, monitor): checked only when present.
void CheckOptionalAction(absl::string_view name, bool present, const v1::Action& a, Errors* out) {
  if (!present) return;
  Errors nested;
  CheckAction(a, &nested, 1);
  out->Nested(name, nested);
}

// A required top-level action (the main action of a Task, LRP or sidecar).
void CheckRequiredAction(bool present, const v1::Action& a, Errors* out) {
  if (!present) {
    out->Add(std::string(kInvalidActionType));
    return;
  }
  Errors nested;
  CheckAction(a, &nested, 1);
  out->Nested("action", nested);
}

// --- Supporting records -------------------------------------------------------

bool InPortRange(uint32_t port) { return port >= 1 && port <= 65535; }

void CheckRulePorts(const v1::SecurityGroupRule& rule, Errors* out) {
  const bool has_range = rule.has_port_range();
  const bool has_ports = !rule.ports().empty();
  if (!has_range && !has_ports) {
    out->Add("Missing required field: ports or port_range");
    return;
  }
  if (has_range && has_ports) {
    out->Add("Invalid: ports and port_range provided");
    return;
  }
  if (has_range) {
    const v1::PortRange& range = rule.port_range();
    if (!InPortRange(range.start())) out->Field("port_range");
    if (!InPortRange(range.end())) out->Field("port_range");
    if (range.start() > range.end()) out->Field("port_range");
  }
  for (uint32_t port : rule.ports()) {
    if (!InPortRange(port)) out->Field("ports");
  }
}

void CheckSecurityGroupRule(const v1::SecurityGroupRule& rule, Errors* out) {
  const std::string& protocol = rule.protocol();
  if (protocol == "tcp" || protocol == "udp") {
    CheckRulePorts(rule, out);
    if (rule.has_icmp_info()) out->Field("icmp_info");
  } else if (protocol == "icmp" || protocol == "icmpv6") {
    if (rule.has_port_range()) out->Field("port_range");
    if (!rule.ports().empty()) out->Field("ports");
    if (!rule.has_icmp_info()) out->Field("icmp_info");
  } else if (protocol == "all") {
    if (rule.has_port_range()) out->Field("port_range");
    if (!rule.ports().empty()) out->Field("ports");
    if (rule.has_icmp_info()) out->Field("icmp_info");
  } else {
    out->Field("protocol");
  }
  CheckDestinations(rule.destinations(), out);
}

void CheckCachedDependency(const v1::CachedDependency& dependency, Errors* out) {
  if (dependency.from().empty()) out->Field("from");
  if (dependency.to().empty()) out->Field("to");
  CheckChecksum(dependency.checksum_algorithm(), dependency.checksum_value(), out);
}

void CheckCachedDependencies(const RepeatedPtrField<v1::CachedDependency>& dependencies,
                             Errors* out) {
  for (const v1::CachedDependency& dependency : dependencies) {
    Errors nested;
    CheckCachedDependency(dependency, &nested);
    out->Nested("cached_dependency", nested);
  }
}

bool ValidLayerType(v1::ImageLayer::Type type) {
  return type == v1::ImageLayer::SHARED || type == v1::ImageLayer::EXCLUSIVE;
}

bool ValidMediaType(v1::ImageLayer::MediaType type) {
  return type == v1::ImageLayer::TGZ || type == v1::ImageLayer::TAR || type == v1::ImageLayer::ZIP;
}

bool ValidDigestAlgorithm(v1::ImageLayer::DigestAlgorithm algorithm) {
  return algorithm == v1::ImageLayer::SHA256 || algorithm == v1::ImageLayer::SHA512;
}

void CheckImageLayer(const v1::ImageLayer& layer, Errors* out) {
  const bool exclusive = layer.layer_type() == v1::ImageLayer::EXCLUSIVE;
  const bool no_algorithm = layer.digest_algorithm() == v1::ImageLayer::DigestAlgorithmInvalid;
  if (layer.url().empty()) out->Field("url");
  if (layer.destination_path().empty()) out->Field("destination_path");
  if (!ValidLayerType(layer.layer_type())) out->Field("layer_type");
  if (!ValidMediaType(layer.media_type())) out->Field("media_type");
  if ((!layer.digest_value().empty() || exclusive) && no_algorithm) {
    out->Field("digest_algorithm");
  }
  if ((!no_algorithm || exclusive) && layer.digest_value().empty()) out->Field("digest_value");
  if (!layer.digest_value().empty() && !ValidDigestAlgorithm(layer.digest_algorithm())) {
    out->Field("digest_algorithm");
  }
}

void CheckImageLayers(const RepeatedPtrField<v1::ImageLayer>& layers,
                      absl::string_view legacy_download_user, Errors* out) {
  bool needs_download_user = false;
  for (const v1::ImageLayer& layer : layers) {
    Errors nested;
    CheckImageLayer(layer, &nested);
    out->Nested("image_layer", nested);
    if (layer.layer_type() == v1::ImageLayer::EXCLUSIVE) needs_download_user = true;
  }
  if (needs_download_user && legacy_download_user.empty()) out->Field("legacy_download_user");
}

void CheckVolumeMount(const v1::VolumeMount& mount, Errors* out) {
  if (mount.driver().empty()) out->Add("invalid volume_mount driver");
  if (mount.mode() != "r" && mount.mode() != "rw") out->Add("invalid volume_mount mode");
  if (mount.has_shared() && mount.shared().volume_id().empty()) {
    out->Add("invalid volume_mount volume id");
  }
}

void CheckCheck(const v1::Check& check, Errors* out) {
  if (check.has_http_check() && check.has_tcp_check()) {
    out->Field("check");
    return;
  }
  const uint32_t port =
      check.has_http_check() ? check.http_check().port() : check.tcp_check().port();
  if (!InPortRange(port)) out->Field("port");
}

void CheckCheckDefinition(const v1::CheckDefinition& definition, Errors* out) {
  for (const v1::Check& check : definition.checks()) CheckCheck(check, out);
  for (const v1::Check& check : definition.readiness_checks()) CheckCheck(check, out);
}

void CheckMetricTagValue(const v1::MetricTagValue& value, Errors* out) {
  const bool dynamic = value.dynamic() == v1::MetricTagValue::INDEX ||
                       value.dynamic() == v1::MetricTagValue::INSTANCE_GUID;
  if (value.static_().empty() == !dynamic) {
    out->Field("static");
    out->Field("dynamic");
  }
}

void CheckMetricTags(const Map<std::string, v1::MetricTagValue>& tags,
                     absl::string_view metrics_guid, Errors* out) {
  for (const auto& [name, value] : tags) CheckMetricTagValue(value, out);
  if (!tags.empty() && !metrics_guid.empty()) {
    const auto source_id = tags.find("source_id");
    if (source_id == tags.end() || source_id->second.static_() != metrics_guid) {
      out->Field("source_id should match metrics_guid");
    }
  }
}

void CheckSidecar(const v1::Sidecar& sidecar, Errors* out) {
  CheckRequiredAction(sidecar.has_action(), sidecar.action(), out);
  if (sidecar.memory_mb() < 0) out->Field("memory_mb");
  if (sidecar.disk_mb() < 0) out->Field("disk_mb");
}

void CheckEnvironmentVariable(const v1::EnvironmentVariable& variable, Errors* out) {
  if (variable.name().empty()) out->Add("invalid field: name cannot be blank");
}

bool VolumeMountedFilesTooLarge(const RepeatedPtrField<v1::File>& files) {
  size_t total = 0;
  for (const v1::File& file : files) {
    total += file.content().size();
    if (total > kMaxVolumeMountedFilesBytes) return true;
  }
  return false;
}

bool RoutesTooLarge(const v1::ProtoRoutes& routes) {
  size_t total = 0;
  for (const auto& [name, value] : routes.routes()) total += value.size();
  return total > kMaxRoutesBytes;
}

void CheckDesiredLrpKey(absl::string_view process_guid, absl::string_view domain, Errors* out) {
  if (domain.empty()) out->Field("domain");
  if (!IsValidGuid(process_guid)) out->Field("process_guid");
}

// DesiredLRPRunInfo.Validate(), shared by DesiredLRP and DesiredLRPRunInfo
// (both messages spell these fields the same way).
template <typename RunInfo>
void CheckRunInfo(const RunInfo& info, absl::string_view process_guid, absl::string_view domain,
                  Errors* out) {
  CheckDesiredLrpKey(process_guid, domain, out);
  if (VolumeMountedFilesTooLarge(info.volume_mounted_files())) out->Field("volumeMountedFiles");
  CheckOptionalAction("setup", info.has_setup(), info.setup(), out);
  CheckRequiredAction(info.has_action(), info.action(), out);
  CheckOptionalAction("monitor", info.has_monitor(), info.monitor(), out);
  for (const v1::EnvironmentVariable& variable : info.environment_variables()) {
    CheckEnvironmentVariable(variable, out);
  }
  for (const v1::SecurityGroupRule& rule : info.egress_rules()) {
    Errors nested;
    CheckSecurityGroupRule(rule, &nested);
    out->Nested("egress_rules", nested);
  }
  CheckCachedDependencies(info.cached_dependencies(), out);
  CheckImageLayers(info.image_layers(), info.legacy_download_user(), out);
  Errors sidecars;
  for (const v1::Sidecar& sidecar : info.sidecars()) CheckSidecar(sidecar, &sidecars);
  out->Nested("sidecars", sidecars);
  for (const v1::VolumeMount& mount : info.volume_mounts()) CheckVolumeMount(mount, out);
  if (info.image_username().empty() && !info.image_password().empty()) {
    out->Field("image_username");
  }
  if (!info.image_username().empty() && info.image_password().empty()) {
    out->Field("image_password");
  }
  if (info.has_check_definition()) {
    Errors nested;
    CheckCheckDefinition(info.check_definition(), &nested);
    out->Nested("check_definition", nested);
  }
  if (info.has_log_rate_limit() && info.log_rate_limit().bytes_per_second() < -1) {
    out->Field("log_rate_limit");
  }
}

void CheckDesiredLrp(const v1::DesiredLRP& lrp, Errors* out) {
  if (VolumeMountedFilesTooLarge(lrp.volume_mounted_files())) out->Field("volumeMountedFiles");
  if (lrp.domain().empty()) out->Field("domain");
  if (lrp.root_fs().empty()) out->Field("rootfs");
  if (!IsValidRootfsUrl(lrp.root_fs())) out->Field("rootfs");
  if (lrp.instances() < 0) out->Field("instances");
  if (lrp.memory_mb() < 0) out->Field("memory_mb");
  if (lrp.disk_mb() < 0) out->Field("disk_mb");
  if (lrp.has_log_rate_limit() && lrp.log_rate_limit().bytes_per_second() < -1) {
    out->Field("log_rate_limit_bytes_per_second");
  }
  if (lrp.annotation().size() > kMaxAnnotationBytes) out->Field("annotation");
  if (lrp.max_pids() < 0) out->Field("max_pids");
  if (lrp.has_routes() && RoutesTooLarge(lrp.routes())) out->Field("routes");
  if (lrp.metric_tags().empty()) {
    out->Field("metric_tags");
  } else {
    Errors nested;
    CheckMetricTags(lrp.metric_tags(), lrp.metrics_guid(), &nested);
    out->Nested("metric_tags", nested);
  }
  CheckRunInfo(lrp, lrp.process_guid(), lrp.domain(), out);
}

void CheckDesiredLrpUpdate(const v1::DesiredLRPUpdate& update, Errors* out) {
  if (update.instances() < 0) out->Field("instances");
  if (update.annotation().size() > kMaxAnnotationBytes) out->Field("annotation");
  if (update.has_routes() && RoutesTooLarge(update.routes())) out->Field("routes");
  Errors nested;
  CheckMetricTags(update.metric_tags(), "", &nested);
  out->Nested("metric_tags", nested);
}

void CheckDesiredLrpResource(const v1::DesiredLRPResource& resource, Errors* out) {
  if (!IsValidRootfsUrl(resource.root_fs())) out->Field("rootfs");
  if (resource.memory_mb() < 0) out->Field("memory_mb");
  if (resource.disk_mb() < 0) out->Field("disk_mb");
  if (resource.max_pids() < 0) out->Field("max_pids");
}

void CheckTaskDefinition(const v1::TaskDefinition& definition, Errors* out) {
  if (definition.root_fs().empty() || !IsValidRootfsUrl(definition.root_fs())) {
    out->Field("rootfs");
  }
  CheckRequiredAction(definition.has_action(), definition.action(), out);
  if (definition.memory_mb() < 0) out->Field("memory_mb");
  if (definition.disk_mb() < 0) out->Field("disk_mb");
  if (definition.has_log_rate_limit() && definition.log_rate_limit().bytes_per_second() < -1) {
    out->Field("log_rate_limit");
  }
  if (definition.max_pids() < 0) out->Field("max_pids");
  if (definition.annotation().size() > kMaxAnnotationBytes) out->Field("annotation");
  for (const v1::SecurityGroupRule& rule : definition.egress_rules()) {
    Errors nested;
    CheckSecurityGroupRule(rule, &nested);
    if (!nested.empty()) out->Field("egress_rules");
  }
  if (definition.image_username().empty() && !definition.image_password().empty()) {
    out->Field("image_username");
  }
  if (!definition.image_username().empty() && definition.image_password().empty()) {
    out->Field("image_password");
  }
  CheckCachedDependencies(definition.cached_dependencies(), out);
  CheckImageLayers(definition.image_layers(), definition.legacy_download_user(), out);
  if (VolumeMountedFilesTooLarge(definition.volume_mounted_files())) {
    out->Field("volumeMountedFiles");
  }
}

// Task.Validate() and DesireTaskRequest.Validate() differ only in order.
void CheckTaskDefinitionField(bool present, const v1::TaskDefinition& definition, Errors* out) {
  if (!present) {
    out->Field("task_definition");
  } else {
    CheckTaskDefinition(definition, out);
  }
}

void CheckActualLrpKey(const v1::ActualLRPKey& key, Errors* out) {
  if (key.process_guid().empty()) out->Field("process_guid");
  if (key.index() < 0) out->Field("index");
  if (key.domain().empty()) out->Field("domain");
}

void CheckActualLrpInstanceKey(const v1::ActualLRPInstanceKey& key, Errors* out) {
  if (key.cell_id().empty()) out->Field("cell_id");
  if (key.instance_guid().empty()) out->Field("instance_guid");
}

void CheckActualLrpNetInfo(const v1::ActualLRPNetInfo& info, Errors* out) {
  if (info.address().empty()) out->Field("address");
}

bool InstanceKeyEmpty(const v1::ActualLRPInstanceKey& key) {
  return key.instance_guid().empty() && key.cell_id().empty();
}

bool NetInfoEmpty(const v1::ActualLRPNetInfo& info) {
  return info.address().empty() && info.ports().empty() &&
         info.preferred_address() == v1::ActualLRPNetInfo::UNKNOWN;
}

bool HasPlacementError(const v1::ActualLRP& lrp) {
  return !absl::StripAsciiWhitespace(lrp.placement_error()).empty();
}

void CheckActualLrp(const v1::ActualLRP& lrp, Errors* out) {
  CheckActualLrpKey(lrp.actual_lrp_key(), out);
  if (lrp.since() == 0) out->Field("since");
  const std::string& state = lrp.state();
  if (state == "UNCLAIMED") {
    if (!InstanceKeyEmpty(lrp.actual_lrp_instance_key())) {
      out->Add("instance key cannot be set when state is unclaimed");
    }
    if (!NetInfoEmpty(lrp.actual_lrp_net_info())) {
      out->Add("net info cannot be set when state is unclaimed");
    }
    if (lrp.presence() != v1::ActualLRP::ORDINARY) {
      out->Add("presence cannot be set when state is unclaimed");
    }
  } else if (state == "CLAIMED") {
    CheckActualLrpInstanceKey(lrp.actual_lrp_instance_key(), out);
    if (!NetInfoEmpty(lrp.actual_lrp_net_info())) {
      out->Add("net info cannot be set when state is claimed");
    }
    if (HasPlacementError(lrp)) out->Add("placement error cannot be set when state is claimed");
  } else if (state == "RUNNING") {
    CheckActualLrpInstanceKey(lrp.actual_lrp_instance_key(), out);
    CheckActualLrpNetInfo(lrp.actual_lrp_net_info(), out);
    if (HasPlacementError(lrp)) out->Add("placement error cannot be set when state is running");
  } else if (state == "CRASHED") {
    if (!InstanceKeyEmpty(lrp.actual_lrp_instance_key())) {
      out->Add("instance key cannot be set when state is crashed");
    }
    if (!NetInfoEmpty(lrp.actual_lrp_net_info())) {
      out->Add("net info cannot be set when state is crashed");
    }
    if (HasPlacementError(lrp)) out->Add("placement error cannot be set when state is crashed");
  } else {
    out->Field("state");
  }
}

void CheckCellCapacity(const v1::CellCapacity& capacity, Errors* out) {
  if (capacity.memory_mb() <= 0) out->Field("memory_mb");
  if (capacity.disk_mb() < 0) out->Field("disk_mb");
  if (capacity.containers() <= 0) out->Field("containers");
}

// "required sub-message" of the request validators.
template <typename T>
void CheckRequired(absl::string_view name, bool present, const T& value,
                   void (*check)(const T&, Errors*), Errors* out) {
  if (!present) {
    out->Field(name);
  } else {
    check(value, out);
  }
}

// Requests that carry a key and an instance key (crash, remove evacuating,
// evacuate claimed/stopped/crashed).
template <typename Request>
void CheckKeyAndInstanceKey(const Request& request, Errors* out) {
  CheckRequired("actual_lrp_key", request.has_actual_lrp_key(), request.actual_lrp_key(),
                &CheckActualLrpKey, out);
  CheckRequired("actual_lrp_instance_key", request.has_actual_lrp_instance_key(),
                request.actual_lrp_instance_key(), &CheckActualLrpInstanceKey, out);
}

// Start and evacuate-running also carry net info.
template <typename Request>
void CheckKeyInstanceKeyAndNetInfo(const Request& request, Errors* out) {
  CheckKeyAndInstanceKey(request, out);
  CheckRequired("actual_lrp_net_info", request.has_actual_lrp_net_info(),
                request.actual_lrp_net_info(), &CheckActualLrpNetInfo, out);
}

// Runs `check` on `value` and returns the collected status.
template <typename T>
absl::Status Run(const T& value, void (*check)(const T&, Errors*)) {
  Errors errors;
  check(value, &errors);
  return errors.ToStatus();
}

}  // namespace

bool IsValidGuid(absl::string_view guid) {
  if (guid.empty()) return false;
  for (char c : guid) {
    if (!IsAlnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

bool IsValidRootfsUrl(absl::string_view rootfs) {
  // The BBS accepts whatever Go's url.Parse accepts with a non-empty scheme;
  // rootfs.h reproduces exactly that parse.
  return ParseRootFs(rootfs).ok();
}

absl::Status ValidateDesiredLrp(const v1::DesiredLRP& lrp) { return Run(lrp, &CheckDesiredLrp); }

absl::Status ValidateDesiredLrpUpdate(const v1::DesiredLRPUpdate& update) {
  return Run(update, &CheckDesiredLrpUpdate);
}

absl::Status ValidateDesiredLrpKey(const v1::DesiredLRPKey& key) {
  Errors errors;
  CheckDesiredLrpKey(key.process_guid(), key.domain(), &errors);
  return errors.ToStatus();
}

absl::Status ValidateDesiredLrpResource(const v1::DesiredLRPResource& resource) {
  return Run(resource, &CheckDesiredLrpResource);
}

absl::Status ValidateDesiredLrpSchedulingInfo(const v1::DesiredLRPSchedulingInfo& info) {
  Errors errors;
  CheckDesiredLrpKey(info.desired_lrp_key().process_guid(), info.desired_lrp_key().domain(),
                     &errors);
  CheckDesiredLrpResource(info.desired_lrp_resource(), &errors);
  if (RoutesTooLarge(info.routes())) errors.Field("routes");
  if (info.instances() < 0) errors.Field("instances");
  if (info.annotation().size() > kMaxAnnotationBytes) errors.Field("annotation");
  return errors.ToStatus();
}

absl::Status ValidateDesiredLrpRunInfo(const v1::DesiredLRPRunInfo& info) {
  Errors errors;
  CheckRunInfo(info, info.desired_lrp_key().process_guid(), info.desired_lrp_key().domain(),
               &errors);
  return errors.ToStatus();
}

absl::Status ValidateTaskDefinition(const v1::TaskDefinition& definition) {
  return Run(definition, &CheckTaskDefinition);
}

absl::Status ValidateTask(const v1::Task& task) {
  Errors errors;
  if (task.domain().empty()) errors.Field("domain");
  if (!IsValidGuid(task.task_guid())) errors.Field("task_guid");
  CheckTaskDefinitionField(task.has_task_definition(), task.task_definition(), &errors);
  return errors.ToStatus();
}

absl::Status ValidateAction(const v1::Action& action) { return Run(action, &CheckAction); }

absl::Status ValidateSecurityGroupRule(const v1::SecurityGroupRule& rule) {
  return Run(rule, &CheckSecurityGroupRule);
}

absl::Status ValidateCachedDependency(const v1::CachedDependency& dependency) {
  return Run(dependency, &CheckCachedDependency);
}

absl::Status ValidateImageLayer(const v1::ImageLayer& layer) {
  return Run(layer, &CheckImageLayer);
}

absl::Status ValidateVolumeMount(const v1::VolumeMount& mount) {
  return Run(mount, &CheckVolumeMount);
}

absl::Status ValidateCheckDefinition(const v1::CheckDefinition& definition) {
  return Run(definition, &CheckCheckDefinition);
}

absl::Status ValidateCheck(const v1::Check& check) { return Run(check, &CheckCheck); }

absl::Status ValidateMetricTagValue(const v1::MetricTagValue& value) {
  return Run(value, &CheckMetricTagValue);
}

absl::Status ValidateMetricTags(const Map<std::string, v1::MetricTagValue>& tags,
                                absl::string_view metrics_guid) {
  Errors errors;
  CheckMetricTags(tags, metrics_guid, &errors);
  return errors.ToStatus();
}

absl::Status ValidateSidecar(const v1::Sidecar& sidecar) { return Run(sidecar, &CheckSidecar); }

absl::Status ValidateEnvironmentVariable(const v1::EnvironmentVariable& variable) {
  return Run(variable, &CheckEnvironmentVariable);
}

absl::Status ValidateActualLrpKey(const v1::ActualLRPKey& key) {
  return Run(key, &CheckActualLrpKey);
}

absl::Status ValidateActualLrpInstanceKey(const v1::ActualLRPInstanceKey& key) {
  return Run(key, &CheckActualLrpInstanceKey);
}

absl::Status ValidateActualLrpNetInfo(const v1::ActualLRPNetInfo& info) {
  return Run(info, &CheckActualLrpNetInfo);
}

absl::Status ValidateActualLrp(const v1::ActualLRP& lrp) { return Run(lrp, &CheckActualLrp); }

absl::Status ValidateCellPresence(const v1::CellPresence& cell) {
  Errors errors;
  if (cell.cell_id().empty()) errors.Field("cell_id");
  if (cell.rep_address().empty()) errors.Field("rep_address");
  CheckCellCapacity(cell.capacity(), &errors);
  return errors.ToStatus();
}

// --- Requests ------------------------------------------------------------------

absl::Status ValidateDesireLrpRequest(const v1::DesireLRPRequest& request) {
  Errors errors;
  CheckRequired("desired_lrp", request.has_desired_lrp(), request.desired_lrp(), &CheckDesiredLrp,
                &errors);
  return errors.ToStatus();
}

absl::Status ValidateUpdateDesiredLrpRequest(const v1::UpdateDesiredLRPRequest& request) {
  Errors errors;
  if (request.process_guid().empty()) errors.Field("process_guid");
  if (request.has_update()) CheckDesiredLrpUpdate(request.update(), &errors);
  return errors.ToStatus();
}

absl::Status ValidateRemoveDesiredLrpRequest(const v1::RemoveDesiredLRPRequest& request) {
  Errors errors;
  if (request.process_guid().empty()) errors.Field("process_guid");
  return errors.ToStatus();
}

absl::Status ValidateDesiredLrpByProcessGuidRequest(
    const v1::DesiredLRPByProcessGuidRequest& request) {
  Errors errors;
  if (request.process_guid().empty()) errors.Field("process_guid");
  return errors.ToStatus();
}

absl::Status ValidateDesireTaskRequest(const v1::DesireTaskRequest& request) {
  Errors errors;
  if (!IsValidGuid(request.task_guid())) errors.Field("task_guid");
  if (request.domain().empty()) errors.Field("domain");
  CheckTaskDefinitionField(request.has_task_definition(), request.task_definition(), &errors);
  return errors.ToStatus();
}

absl::Status ValidateStartTaskRequest(const v1::StartTaskRequest& request) {
  Errors errors;
  if (!IsValidGuid(request.task_guid())) errors.Field("task_guid");
  if (request.cell_id().empty()) errors.Field("cell_id");
  return errors.ToStatus();
}

absl::Status ValidateCompleteTaskRequest(const v1::CompleteTaskRequest& request) {
  Errors errors;
  if (!IsValidGuid(request.task_guid())) errors.Field("task_guid");
  if (request.cell_id().empty()) errors.Field("cell_id");
  return errors.ToStatus();
}

absl::Status ValidateFailTaskRequest(const v1::FailTaskRequest& request) {
  Errors errors;
  if (!IsValidGuid(request.task_guid())) errors.Field("task_guid");
  if (request.failure_reason().empty()) errors.Field("failure_reason");
  return errors.ToStatus();
}

absl::Status ValidateRejectTaskRequest(const v1::RejectTaskRequest& request) {
  Errors errors;
  if (!IsValidGuid(request.task_guid())) errors.Field("task_guid");
  if (request.rejection_reason().empty()) errors.Field("failure_reason");
  return errors.ToStatus();
}

absl::Status ValidateTaskGuidRequest(const v1::TaskGuidRequest& request) {
  Errors errors;
  if (request.task_guid().empty()) errors.Field("task_guid");
  return errors.ToStatus();
}

absl::Status ValidateTaskByGuidRequest(const v1::TaskByGuidRequest& request) {
  Errors errors;
  if (request.task_guid().empty()) errors.Field("task_guid");
  return errors.ToStatus();
}

absl::Status ValidateClaimActualLrpRequest(const v1::ClaimActualLRPRequest& request) {
  Errors errors;
  if (request.process_guid().empty()) errors.Field("process_guid");
  CheckRequired("actual_lrp_instance_key", request.has_actual_lrp_instance_key(),
                request.actual_lrp_instance_key(), &CheckActualLrpInstanceKey, &errors);
  return errors.ToStatus();
}

absl::Status ValidateStartActualLrpRequest(const v1::StartActualLRPRequest& request) {
  Errors errors;
  CheckKeyInstanceKeyAndNetInfo(request, &errors);
  return errors.ToStatus();
}

absl::Status ValidateCrashActualLrpRequest(const v1::CrashActualLRPRequest& request) {
  Errors errors;
  CheckKeyAndInstanceKey(request, &errors);
  return errors.ToStatus();
}

absl::Status ValidateFailActualLrpRequest(const v1::FailActualLRPRequest& request) {
  Errors errors;
  CheckRequired("actual_lrp_key", request.has_actual_lrp_key(), request.actual_lrp_key(),
                &CheckActualLrpKey, &errors);
  if (request.error_message().empty()) errors.Field("error_message");
  return errors.ToStatus();
}

absl::Status ValidateRetireActualLrpRequest(const v1::RetireActualLRPRequest& request) {
  Errors errors;
  CheckRequired("actual_lrp_key", request.has_actual_lrp_key(), request.actual_lrp_key(),
                &CheckActualLrpKey, &errors);
  return errors.ToStatus();
}

absl::Status ValidateRemoveActualLrpRequest(const v1::RemoveActualLRPRequest& request) {
  Errors errors;
  if (request.process_guid().empty()) errors.Field("process_guid");
  if (request.index() < 0) errors.Field("index");
  return errors.ToStatus();
}

absl::Status ValidateRemoveEvacuatingActualLrpRequest(
    const v1::RemoveEvacuatingActualLRPRequest& request) {
  Errors errors;
  CheckKeyAndInstanceKey(request, &errors);
  return errors.ToStatus();
}

absl::Status ValidateEvacuateClaimedActualLrpRequest(
    const v1::EvacuateClaimedActualLRPRequest& request) {
  Errors errors;
  CheckKeyAndInstanceKey(request, &errors);
  return errors.ToStatus();
}

absl::Status ValidateEvacuateRunningActualLrpRequest(
    const v1::EvacuateRunningActualLRPRequest& request) {
  Errors errors;
  CheckKeyInstanceKeyAndNetInfo(request, &errors);
  return errors.ToStatus();
}

absl::Status ValidateEvacuateStoppedActualLrpRequest(
    const v1::EvacuateStoppedActualLRPRequest& request) {
  Errors errors;
  CheckKeyAndInstanceKey(request, &errors);
  return errors.ToStatus();
}

absl::Status ValidateEvacuateCrashedActualLrpRequest(
    const v1::EvacuateCrashedActualLRPRequest& request) {
  Errors errors;
  CheckKeyAndInstanceKey(request, &errors);
  if (request.error_message().empty()) errors.Field("error_message");
  return errors.ToStatus();
}

absl::Status ValidateActualLrpGroupsByProcessGuidRequest(
    const v1::ActualLRPGroupsByProcessGuidRequest& request) {
  Errors errors;
  if (request.process_guid().empty()) errors.Field("process_guid");
  return errors.ToStatus();
}

absl::Status ValidateActualLrpGroupByProcessGuidAndIndexRequest(
    const v1::ActualLRPGroupByProcessGuidAndIndexRequest& request) {
  Errors errors;
  if (request.process_guid().empty()) errors.Field("process_guid");
  if (request.index() < 0) errors.Field("index");
  return errors.ToStatus();
}

absl::Status ValidateActualLrpsByProcessGuidsRequest(
    const v1::ActualLRPsByProcessGuidsRequest& request) {
  Errors errors;
  if (request.process_guids().empty()) errors.Field("process_guids");
  return errors.ToStatus();
}

absl::Status ValidateUpsertDomainRequest(const v1::UpsertDomainRequest& request) {
  Errors errors;
  if (request.domain().empty()) errors.Field("domain");
  return errors.ToStatus();
}

// --- Generic dispatch ------------------------------------------------------------

namespace {

using Validator = std::function<absl::Status(const Message&)>;

// Calls `validate` on `message` as a `T`, converting through the wire format
// when `message` is not the generated type (e.g. a DynamicMessage).
template <typename T>
Validator For(absl::Status (*validate)(const T&)) {
  return [validate](const Message& message) -> absl::Status {
    if (const T* typed = google::protobuf::DynamicCastToGenerated<T>(&message)) {
      return validate(*typed);
    }
    T copy;
    if (!copy.ParseFromString(message.SerializeAsString())) {
      return BbsError(v1::Error::InvalidProtobufMessage,
                      absl::StrCat("cannot read ", message.GetTypeName()));
    }
    return validate(copy);
  };
}

// Adapts an internal Check* function to the public validator shape.
template <typename T, void (*kCheck)(const T&, Errors*)>
absl::Status RunCheck(const T& value) {
  return Run(value, kCheck);
}

const std::unordered_map<std::string, Validator>& Validators() {
  static const auto* const validators = [] {
    auto* map = new std::unordered_map<std::string, Validator>();
    auto add = [map](const google::protobuf::Descriptor* descriptor, Validator validator) {
      map->emplace(descriptor->full_name(), std::move(validator));
    };
    add(v1::DesiredLRP::descriptor(), For(&ValidateDesiredLrp));
    add(v1::DesiredLRPUpdate::descriptor(), For(&ValidateDesiredLrpUpdate));
    add(v1::DesiredLRPKey::descriptor(), For(&ValidateDesiredLrpKey));
    add(v1::DesiredLRPResource::descriptor(), For(&ValidateDesiredLrpResource));
    add(v1::DesiredLRPSchedulingInfo::descriptor(), For(&ValidateDesiredLrpSchedulingInfo));
    add(v1::DesiredLRPRunInfo::descriptor(), For(&ValidateDesiredLrpRunInfo));
    add(v1::TaskDefinition::descriptor(), For(&ValidateTaskDefinition));
    add(v1::Task::descriptor(), For(&ValidateTask));
    add(v1::Action::descriptor(), For(&ValidateAction));
    add(v1::DownloadAction::descriptor(), For(&RunCheck<v1::DownloadAction, &CheckDownload>));
    add(v1::UploadAction::descriptor(), For(&RunCheck<v1::UploadAction, &CheckUpload>));
    add(v1::RunAction::descriptor(), For(&RunCheck<v1::RunAction, &CheckRun>));
    add(v1::TimeoutAction::descriptor(), For(&RunCheck<v1::TimeoutAction, &CheckTimeout>));
    add(v1::EmitProgressAction::descriptor(),
        For(&RunCheck<v1::EmitProgressAction, &CheckEmitProgress>));
    add(v1::TryAction::descriptor(), For(&RunCheck<v1::TryAction, &CheckTry>));
    add(v1::ParallelAction::descriptor(), For(+[](const v1::ParallelAction& a) {
          Errors errors;
          CheckActionList(a.actions(), &errors, 1);
          return errors.ToStatus();
        }));
    add(v1::SerialAction::descriptor(), For(+[](const v1::SerialAction& a) {
          Errors errors;
          CheckActionList(a.actions(), &errors, 1);
          return errors.ToStatus();
        }));
    add(v1::CodependentAction::descriptor(), For(+[](const v1::CodependentAction& a) {
          Errors errors;
          CheckActionList(a.actions(), &errors, 1);
          return errors.ToStatus();
        }));
    add(v1::SecurityGroupRule::descriptor(), For(&ValidateSecurityGroupRule));
    add(v1::CachedDependency::descriptor(), For(&ValidateCachedDependency));
    add(v1::ImageLayer::descriptor(), For(&ValidateImageLayer));
    add(v1::VolumeMount::descriptor(), For(&ValidateVolumeMount));
    add(v1::CheckDefinition::descriptor(), For(&ValidateCheckDefinition));
    add(v1::Check::descriptor(), For(&ValidateCheck));
    add(v1::MetricTagValue::descriptor(), For(&ValidateMetricTagValue));
    add(v1::Sidecar::descriptor(), For(&ValidateSidecar));
    add(v1::EnvironmentVariable::descriptor(), For(&ValidateEnvironmentVariable));
    add(v1::ActualLRPKey::descriptor(), For(&ValidateActualLrpKey));
    add(v1::ActualLRPInstanceKey::descriptor(), For(&ValidateActualLrpInstanceKey));
    add(v1::ActualLRPNetInfo::descriptor(), For(&ValidateActualLrpNetInfo));
    add(v1::ActualLRP::descriptor(), For(&ValidateActualLrp));
    add(v1::CellPresence::descriptor(), For(&ValidateCellPresence));
    add(v1::CellCapacity::descriptor(), For(&RunCheck<v1::CellCapacity, &CheckCellCapacity>));
    add(v1::DesireLRPRequest::descriptor(), For(&ValidateDesireLrpRequest));
    add(v1::UpdateDesiredLRPRequest::descriptor(), For(&ValidateUpdateDesiredLrpRequest));
    add(v1::RemoveDesiredLRPRequest::descriptor(), For(&ValidateRemoveDesiredLrpRequest));
    add(v1::DesiredLRPByProcessGuidRequest::descriptor(),
        For(&ValidateDesiredLrpByProcessGuidRequest));
    add(v1::DesireTaskRequest::descriptor(), For(&ValidateDesireTaskRequest));
    add(v1::StartTaskRequest::descriptor(), For(&ValidateStartTaskRequest));
    add(v1::CompleteTaskRequest::descriptor(), For(&ValidateCompleteTaskRequest));
    add(v1::FailTaskRequest::descriptor(), For(&ValidateFailTaskRequest));
    add(v1::RejectTaskRequest::descriptor(), For(&ValidateRejectTaskRequest));
    add(v1::TaskGuidRequest::descriptor(), For(&ValidateTaskGuidRequest));
    add(v1::TaskByGuidRequest::descriptor(), For(&ValidateTaskByGuidRequest));
    add(v1::ClaimActualLRPRequest::descriptor(), For(&ValidateClaimActualLrpRequest));
    add(v1::StartActualLRPRequest::descriptor(), For(&ValidateStartActualLrpRequest));
    add(v1::CrashActualLRPRequest::descriptor(), For(&ValidateCrashActualLrpRequest));
    add(v1::FailActualLRPRequest::descriptor(), For(&ValidateFailActualLrpRequest));
    add(v1::RetireActualLRPRequest::descriptor(), For(&ValidateRetireActualLrpRequest));
    add(v1::RemoveActualLRPRequest::descriptor(), For(&ValidateRemoveActualLrpRequest));
    add(v1::RemoveEvacuatingActualLRPRequest::descriptor(),
        For(&ValidateRemoveEvacuatingActualLrpRequest));
    add(v1::EvacuateClaimedActualLRPRequest::descriptor(),
        For(&ValidateEvacuateClaimedActualLrpRequest));
    add(v1::EvacuateRunningActualLRPRequest::descriptor(),
        For(&ValidateEvacuateRunningActualLrpRequest));
    add(v1::EvacuateStoppedActualLRPRequest::descriptor(),
        For(&ValidateEvacuateStoppedActualLrpRequest));
    add(v1::EvacuateCrashedActualLRPRequest::descriptor(),
        For(&ValidateEvacuateCrashedActualLrpRequest));
    add(v1::ActualLRPGroupsByProcessGuidRequest::descriptor(),
        For(&ValidateActualLrpGroupsByProcessGuidRequest));
    add(v1::ActualLRPGroupByProcessGuidAndIndexRequest::descriptor(),
        For(&ValidateActualLrpGroupByProcessGuidAndIndexRequest));
    add(v1::ActualLRPsByProcessGuidsRequest::descriptor(),
        For(&ValidateActualLrpsByProcessGuidsRequest));
    add(v1::UpsertDomainRequest::descriptor(), For(&ValidateUpsertDomainRequest));
    return map;
  }();
  return *validators;
}

}  // namespace

absl::Status ValidateMessage(const Message& message) {
  const auto& validators = Validators();
  const auto it = validators.find(message.GetDescriptor()->full_name());
  if (it == validators.end()) return absl::OkStatus();
  return it->second(message);
}

}  // namespace diego::model
