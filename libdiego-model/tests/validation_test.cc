// Copyright 2026 The libdiego Authors.

#include "diego/model/validation.h"

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "diego/model/errors.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/dynamic_message.h"
#include "gtest/gtest.h"

// The rules under test read deprecated fields (metrics_guid,
// legacy_download_user, deprecated_timeout_ns), so the tests set them.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::model {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;

// One row of a validation table: `validate` builds a record and validates it;
// `want` is the exact joined message, or empty when the record is valid.
struct Case {
  std::string name;
  std::function<absl::Status()> validate;
  std::string want;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::string CaseName(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

class ValidationTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidationTest, ReportsExactlyDiegosMessage) {
  const Case& c = GetParam();
  const absl::Status status = c.validate();
  if (c.want.empty()) {
    EXPECT_THAT(status, IsOk());
  } else {
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, c.want));
    EXPECT_EQ(BbsErrorType(status), v1::Error::InvalidRequest);
  }
}

// --- Builders -------------------------------------------------------------------

v1::Action Run(const std::string& path, const std::string& user) {
  v1::Action action;
  action.mutable_run_action()->set_path(path);
  action.mutable_run_action()->set_user(user);
  return action;
}

v1::Action Download(const std::string& from, const std::string& to, const std::string& user) {
  v1::Action action;
  action.mutable_download_action()->set_from(from);
  action.mutable_download_action()->set_to(to);
  action.mutable_download_action()->set_user(user);
  return action;
}

v1::Action Upload(const std::string& from, const std::string& to, const std::string& user) {
  v1::Action action;
  action.mutable_upload_action()->set_from(from);
  action.mutable_upload_action()->set_to(to);
  action.mutable_upload_action()->set_user(user);
  return action;
}

v1::Action Timeout(const v1::Action& child, int64_t timeout_ms) {
  v1::Action action;
  *action.mutable_timeout_action()->mutable_action() = child;
  action.mutable_timeout_action()->set_timeout_ms(timeout_ms);
  return action;
}

v1::Action EmitProgress(const v1::Action& child) {
  v1::Action action;
  *action.mutable_emit_progress_action()->mutable_action() = child;
  action.mutable_emit_progress_action()->set_start_message("starting");
  return action;
}

v1::Action Try(const v1::Action& child) {
  v1::Action action;
  *action.mutable_try_action()->mutable_action() = child;
  return action;
}

v1::Action Serial(const std::vector<v1::Action>& children) {
  v1::Action action;
  auto* serial = action.mutable_serial_action();
  for (const v1::Action& child : children) *serial->add_actions() = child;
  return action;
}

v1::Action Parallel(const std::vector<v1::Action>& children) {
  v1::Action action;
  auto* parallel = action.mutable_parallel_action();
  for (const v1::Action& child : children) *parallel->add_actions() = child;
  return action;
}

v1::Action Codependent(const std::vector<v1::Action>& children) {
  v1::Action action;
  auto* codependent = action.mutable_codependent_action();
  for (const v1::Action& child : children) *codependent->add_actions() = child;
  return action;
}

v1::SecurityGroupRule Rule(const std::string& protocol, const std::vector<std::string>& dests) {
  v1::SecurityGroupRule rule;
  rule.set_protocol(protocol);
  for (const std::string& d : dests) rule.add_destinations(d);
  return rule;
}

v1::SecurityGroupRule TcpRule(std::vector<uint32_t> ports) {
  v1::SecurityGroupRule rule = Rule("tcp", {"0.0.0.0/0"});
  for (uint32_t p : ports) rule.add_ports(p);
  return rule;
}

v1::SecurityGroupRule RangeRule(uint32_t start, uint32_t end) {
  v1::SecurityGroupRule rule = Rule("udp", {"8.8.8.8"});
  rule.mutable_port_range()->set_start(start);
  rule.mutable_port_range()->set_end(end);
  return rule;
}

v1::SecurityGroupRule IcmpRule(const std::string& protocol) {
  v1::SecurityGroupRule rule = Rule(protocol, {"10.0.0.0/8"});
  rule.mutable_icmp_info()->set_type(8);
  return rule;
}

v1::ImageLayer ExclusiveLayer() {
  v1::ImageLayer layer;
  layer.set_name("droplet");
  layer.set_url("https://blobstore.example.com/droplet.tgz");
  layer.set_destination_path("/home/vcap");
  layer.set_layer_type(v1::ImageLayer::EXCLUSIVE);
  layer.set_media_type(v1::ImageLayer::TGZ);
  layer.set_digest_algorithm(v1::ImageLayer::SHA256);
  layer.set_digest_value("0123abcd");
  return layer;
}

v1::ImageLayer SharedLayer() {
  v1::ImageLayer layer;
  layer.set_url("https://blobstore.example.com/buildpack.zip");
  layer.set_destination_path("/tmp/buildpacks/ruby");
  layer.set_layer_type(v1::ImageLayer::SHARED);
  layer.set_media_type(v1::ImageLayer::ZIP);
  return layer;
}

v1::CachedDependency Dependency() {
  v1::CachedDependency dependency;
  dependency.set_name("lifecycle");
  dependency.set_from("http://file-server/v1/static/buildpack_app_lifecycle.tgz");
  dependency.set_to("/tmp/lifecycle");
  dependency.set_cache_key("buildpack-lifecycle");
  return dependency;
}

v1::VolumeMount Mount() {
  v1::VolumeMount mount;
  mount.set_driver("nfsv3driver");
  mount.set_container_dir("/data");
  mount.set_mode("rw");
  mount.mutable_shared()->set_volume_id("volume-1");
  return mount;
}

v1::Check TcpCheck(uint32_t port) {
  v1::Check check;
  check.mutable_tcp_check()->set_port(port);
  return check;
}

v1::Check HttpCheck(uint32_t port) {
  v1::Check check;
  check.mutable_http_check()->set_port(port);
  check.mutable_http_check()->set_path("/healthz");
  return check;
}

v1::MetricTagValue Static(const std::string& value) {
  v1::MetricTagValue tag;
  tag.set_static_(value);
  return tag;
}

v1::MetricTagValue Dynamic(v1::MetricTagValue::DynamicValue value) {
  v1::MetricTagValue tag;
  tag.set_dynamic(value);
  return tag;
}

v1::Sidecar Sidecar() {
  v1::Sidecar sidecar;
  *sidecar.mutable_action() = Run("/usr/bin/envoy", "vcap");
  sidecar.set_memory_mb(32);
  sidecar.set_disk_mb(16);
  return sidecar;
}

// A DesiredLRP that uses every validated feature and passes every rule.
v1::DesiredLRP ValidDesiredLrp() {
  v1::DesiredLRP lrp;
  lrp.set_process_guid("app-guid_0123-abc");
  lrp.set_domain("cf-apps");
  lrp.set_root_fs("preloaded:cflinuxfs4");
  lrp.set_instances(2);
  auto* env = lrp.add_environment_variables();
  env->set_name("PORT");
  env->set_value("8080");
  v1::Action setup = Download("http://file-server/droplet.tgz", "/home/vcap", "vcap");
  setup.mutable_download_action()->set_checksum_algorithm("sha256");
  setup.mutable_download_action()->set_checksum_value("abc123");
  *lrp.mutable_setup() = setup;
  *lrp.mutable_action() = Codependent({Run("/home/vcap/app/start", "vcap")});
  *lrp.mutable_monitor() = Timeout(Run("/tmp/lifecycle/healthcheck", "vcap"), 30000);
  lrp.set_disk_mb(1024);
  lrp.set_memory_mb(256);
  lrp.set_max_pids(1024);
  lrp.set_cpu_weight(1000);  // not validated by Diego
  (*lrp.mutable_routes()->mutable_routes())["cf-router"] =
      R"([{"hostnames":["app.example.com"],"port":8080}])";
  lrp.set_annotation("app-version-7");
  *lrp.add_egress_rules() = TcpRule({80, 443});
  *lrp.add_egress_rules() = RangeRule(53, 53);
  *lrp.add_egress_rules() = IcmpRule("icmp");
  *lrp.add_egress_rules() = Rule("all", {"10.0.0.0-10.0.0.255", "2001:db8::/32"});
  *lrp.add_cached_dependencies() = Dependency();
  lrp.set_legacy_download_user("vcap");
  *lrp.add_volume_mounts() = Mount();
  lrp.set_image_username("registry-user");
  lrp.set_image_password("registry-password");
  *lrp.mutable_check_definition()->add_checks() = TcpCheck(8080);
  *lrp.mutable_check_definition()->add_readiness_checks() = HttpCheck(8080);
  *lrp.add_image_layers() = ExclusiveLayer();
  *lrp.add_image_layers() = SharedLayer();
  lrp.set_metrics_guid("app-guid");
  (*lrp.mutable_metric_tags())["source_id"] = Static("app-guid");
  (*lrp.mutable_metric_tags())["instance_id"] = Dynamic(v1::MetricTagValue::INSTANCE_GUID);
  *lrp.add_sidecars() = Sidecar();
  lrp.mutable_log_rate_limit()->set_bytes_per_second(-1);
  auto* file = lrp.add_volume_mounted_files();
  file->set_path("/redis/username");
  file->set_content("redis_user");
  return lrp;
}

v1::TaskDefinition ValidTaskDefinition() {
  v1::TaskDefinition def;
  def.set_root_fs("docker:///cloudfoundry/grace#v0.1");
  *def.mutable_action() =
      Serial({Run("/bin/sh", "vcap"), Upload("/tmp/out", "http://cc/x", "vcap")});
  def.set_memory_mb(128);
  def.set_disk_mb(256);
  def.set_max_pids(100);
  def.set_cpu_weight(500);  // not validated by Diego
  def.set_annotation("task annotation");
  *def.add_egress_rules() = TcpRule({443});
  *def.add_cached_dependencies() = Dependency();
  *def.add_image_layers() = ExclusiveLayer();
  def.set_legacy_download_user("vcap");
  def.set_image_username("u");
  def.set_image_password("p");
  def.mutable_log_rate_limit()->set_bytes_per_second(1024);
  auto* file = def.add_volume_mounted_files();
  file->set_path("/etc/cf-service-bindings/db/uri");
  file->set_content("postgres://db");
  return def;
}

v1::Task ValidTask() {
  v1::Task task;
  task.set_task_guid("task-guid");
  task.set_domain("cf-tasks");
  *task.mutable_task_definition() = ValidTaskDefinition();
  return task;
}

v1::ActualLRPKey LrpKey() {
  v1::ActualLRPKey key;
  key.set_process_guid("process-guid");
  key.set_index(0);
  key.set_domain("cf-apps");
  return key;
}

v1::ActualLRPInstanceKey InstanceKey() {
  v1::ActualLRPInstanceKey key;
  key.set_instance_guid("instance-guid");
  key.set_cell_id("cell-z1-0");
  return key;
}

v1::ActualLRPNetInfo NetInfo() {
  v1::ActualLRPNetInfo info;
  info.set_address("10.0.16.4");
  info.set_instance_address("10.255.7.2");
  auto* port = info.add_ports();
  port->set_container_port(8080);
  port->set_host_port(61000);
  return info;
}

v1::ActualLRP Lrp(const std::string& state) {
  v1::ActualLRP lrp;
  *lrp.mutable_actual_lrp_key() = LrpKey();
  lrp.set_state(state);
  lrp.set_since(1700000000000000000);
  if (state == "CLAIMED" || state == "RUNNING") {
    *lrp.mutable_actual_lrp_instance_key() = InstanceKey();
  }
  if (state == "RUNNING") *lrp.mutable_actual_lrp_net_info() = NetInfo();
  return lrp;
}

// Row helpers: copy a valid base record, break it, validate it.

template <typename T>
Case Mutated(std::string name, T (*base)(), std::function<void(T&)> mutate,
             absl::Status (*validate)(const T&), std::string want) {
  return {std::move(name),
          [base, mutate, validate] {
            T record = base();
            mutate(record);
            return validate(record);
          },
          std::move(want)};
}

Case Lrp(std::string name, std::function<void(v1::DesiredLRP&)> mutate, std::string want) {
  return Mutated<v1::DesiredLRP>(std::move(name), &ValidDesiredLrp, std::move(mutate),
                                 &ValidateDesiredLrp, std::move(want));
}

Case TaskDef(std::string name, std::function<void(v1::TaskDefinition&)> mutate, std::string want) {
  return Mutated<v1::TaskDefinition>(std::move(name), &ValidTaskDefinition, std::move(mutate),
                                     &ValidateTaskDefinition, std::move(want));
}

// Validates a ready-made value.
template <typename T>
Case Value(std::string name, T value, absl::Status (*validate)(const T&), std::string want) {
  return {std::move(name), [value = std::move(value), validate] { return validate(value); },
          std::move(want)};
}

std::string Bytes(size_t n) { return std::string(n, 'x'); }

// --- DesiredLRP ------------------------------------------------------------------

std::vector<Case> DesiredLrpCases() {
  using L = v1::DesiredLRP;
  return {
      Lrp(
          "Valid", [](L&) {}, ""),
      Lrp(
          "MinimalWithOnlyRequiredFields",
          [](L& l) {
            L minimal;
            minimal.set_process_guid(l.process_guid());
            minimal.set_domain(l.domain());
            minimal.set_root_fs(l.root_fs());
            *minimal.mutable_action() = Run("ls", "me");
            (*minimal.mutable_metric_tags())["source_id"] = Static("x");
            l = minimal;
          },
          ""),
      // Diego checks domain itself and again through the DesiredLRPKey.
      Lrp(
          "EmptyDomain", [](L& l) { l.clear_domain(); },
          "Invalid field: domain, Invalid field: domain"),
      Lrp(
          "EmptyProcessGuid", [](L& l) { l.clear_process_guid(); }, "Invalid field: process_guid"),
      Lrp(
          "ProcessGuidWithSlash", [](L& l) { l.set_process_guid("bad/guid"); },
          "Invalid field: process_guid"),
      Lrp(
          "ProcessGuidWithDot", [](L& l) { l.set_process_guid("bad.guid"); },
          "Invalid field: process_guid"),
      // Empty rootfs fails both "required" and "has a URL scheme".
      Lrp(
          "EmptyRootfs", [](L& l) { l.clear_root_fs(); },
          "Invalid field: rootfs, Invalid field: rootfs"),
      Lrp(
          "RootfsWithoutScheme", [](L& l) { l.set_root_fs("cflinuxfs4"); },
          "Invalid field: rootfs"),
      Lrp(
          "RootfsPloop", [](L& l) { l.set_root_fs("ploop"); }, "Invalid field: rootfs"),
      Lrp(
          "RootfsLeadingColon", [](L& l) { l.set_root_fs(":cflinuxfs4"); },
          "Invalid field: rootfs"),
      Lrp(
          "RootfsDockerUrl", [](L& l) { l.set_root_fs("docker:///cloudfoundry/grace#v1"); }, ""),
      Lrp(
          "RootfsPreloadedLayer",
          [](L& l) { l.set_root_fs("preloaded+layer:cflinuxfs4?layer=http://x/y.tgz"); }, ""),
      Lrp(
          "NegativeInstances", [](L& l) { l.set_instances(-1); }, "Invalid field: instances"),
      Lrp(
          "ZeroInstances", [](L& l) { l.set_instances(0); }, ""),
      Lrp(
          "NegativeMemory", [](L& l) { l.set_memory_mb(-1); }, "Invalid field: memory_mb"),
      Lrp(
          "NegativeDisk", [](L& l) { l.set_disk_mb(-1); }, "Invalid field: disk_mb"),
      Lrp(
          "NegativeMaxPids", [](L& l) { l.set_max_pids(-1); }, "Invalid field: max_pids"),
      Lrp(
          "ZeroLimitsMeanUnlimited",
          [](L& l) {
            l.set_memory_mb(0);
            l.set_disk_mb(0);
            l.set_max_pids(0);
          },
          ""),
      // The LRP and its RunInfo each check the log rate limit, under two names.
      Lrp(
          "LogRateLimitBelowMinusOne",
          [](L& l) { l.mutable_log_rate_limit()->set_bytes_per_second(-2); },
          "Invalid field: log_rate_limit_bytes_per_second, Invalid field: log_rate_limit"),
      Lrp(
          "LogRateLimitZero", [](L& l) { l.mutable_log_rate_limit()->set_bytes_per_second(0); },
          ""),
      Lrp(
          "AnnotationAtLimit", [](L& l) { l.set_annotation(Bytes(10 * 1024)); }, ""),
      Lrp(
          "AnnotationOverLimit", [](L& l) { l.set_annotation(Bytes(10 * 1024 + 1)); },
          "Invalid field: annotation"),
      Lrp(
          "RoutesAtLimit",
          [](L& l) {
            auto& routes = *l.mutable_routes()->mutable_routes();
            routes.clear();
            routes["cf-router"] = Bytes(64 * 1024);
            routes["tcp-router"] = Bytes(64 * 1024);
          },
          ""),
      Lrp(
          "RoutesOverLimit",
          [](L& l) {
            auto& routes = *l.mutable_routes()->mutable_routes();
            routes["cf-router"] = Bytes(64 * 1024);
            routes["tcp-router"] = Bytes(64 * 1024 + 1);
          },
          "Invalid field: routes"),
      Lrp(
          "NoMetricTags", [](L& l) { l.clear_metric_tags(); }, "Invalid field: metric_tags"),
      Lrp(
          "MetricTagWithNeitherValue",
          [](L& l) { (*l.mutable_metric_tags())["space"] = v1::MetricTagValue(); },
          "Invalid field: metric_tags, Invalid field: static, Invalid field: dynamic"),
      Lrp(
          "MetricTagWithBothValues",
          [](L& l) {
            v1::MetricTagValue both = Static("x");
            both.set_dynamic(v1::MetricTagValue::INDEX);
            (*l.mutable_metric_tags())["index"] = both;
          },
          "Invalid field: metric_tags, Invalid field: static, Invalid field: dynamic"),
      Lrp(
          "SourceIdDiffersFromMetricsGuid",
          [](L& l) { (*l.mutable_metric_tags())["source_id"] = Static("other"); },
          "Invalid field: metric_tags, Invalid field: source_id should match metrics_guid"),
      Lrp(
          "SourceIdMissingWithMetricsGuid",
          [](L& l) { l.mutable_metric_tags()->erase("source_id"); },
          "Invalid field: metric_tags, Invalid field: source_id should match metrics_guid"),
      Lrp(
          "NoMetricsGuidAnySourceId",
          [](L& l) {
            l.clear_metrics_guid();
            (*l.mutable_metric_tags())["source_id"] = Static("other");
          },
          ""),
      // The LRP and its RunInfo each check the volume mounted files.
      Lrp(
          "VolumeMountedFilesOverLimit",
          [](L& l) { l.add_volume_mounted_files()->set_content(Bytes(1024 * 1024)); },
          "Invalid field: volumeMountedFiles, Invalid field: volumeMountedFiles"),
      Lrp(
          "VolumeMountedFilesAtLimit",
          [](L& l) {
            l.clear_volume_mounted_files();
            l.add_volume_mounted_files()->set_content(Bytes(512 * 1024));
            l.add_volume_mounted_files()->set_content(Bytes(512 * 1024));
          },
          ""),
      Lrp(
          "NoSetup", [](L& l) { l.clear_setup(); }, ""),
      Lrp(
          "InvalidSetup", [](L& l) { *l.mutable_setup() = Run("", "vcap"); },
          "Invalid field: setup, Invalid field: path"),
      Lrp(
          "EmptySetupWrapper", [](L& l) { l.mutable_setup()->Clear(); },
          "Invalid field: setup, Invalid field: inner-action"),
      Lrp(
          "MissingAction", [](L& l) { l.clear_action(); }, "invalid action type"),
      Lrp(
          "InvalidAction", [](L& l) { *l.mutable_action() = Run("", ""); },
          "Invalid field: action, Invalid field: path, Invalid field: user"),
      Lrp(
          "NestedActionErrors",
          [](L& l) {
            v1::Action timeout_without_child;
            timeout_without_child.mutable_timeout_action();
            *l.mutable_action() = Serial({Run("", "vcap"), timeout_without_child});
          },
          "Invalid field: action, Invalid field: path, Invalid field: action, "
          "Invalid field: timeout_ms"),
      Lrp(
          "NoMonitor", [](L& l) { l.clear_monitor(); }, ""),
      Lrp(
          "InvalidMonitor",
          [](L& l) { *l.mutable_monitor() = Timeout(Run("/bin/true", "vcap"), 0); },
          "Invalid field: monitor, Invalid field: timeout_ms"),
      Lrp(
          "BlankEnvironmentVariableName", [](L& l) { l.add_environment_variables(); },
          "invalid field: name cannot be blank"),
      Lrp(
          "InvalidEgressRule", [](L& l) { *l.add_egress_rules() = Rule("tcp", {"10.0.0.1"}); },
          "Invalid field: egress_rules, Missing required field: ports or port_range"),
      Lrp(
          "InvalidCachedDependency", [](L& l) { l.mutable_cached_dependencies(0)->clear_from(); },
          "Invalid field: cached_dependency, Invalid field: from"),
      Lrp(
          "InvalidImageLayer", [](L& l) { l.mutable_image_layers(1)->clear_url(); },
          "Invalid field: image_layer, Invalid field: url"),
      Lrp(
          "ExclusiveLayerWithoutLegacyDownloadUser", [](L& l) { l.clear_legacy_download_user(); },
          "Invalid field: legacy_download_user"),
      Lrp(
          "InvalidSidecar",
          [](L& l) {
            l.mutable_sidecars(0)->clear_action();
            l.mutable_sidecars(0)->set_memory_mb(-1);
          },
          "Invalid field: sidecars, invalid action type, Invalid field: memory_mb"),
      Lrp(
          "InvalidVolumeMount", [](L& l) { l.mutable_volume_mounts(0)->set_mode("ro"); },
          "invalid volume_mount mode"),
      Lrp(
          "ImagePasswordWithoutUsername", [](L& l) { l.clear_image_username(); },
          "Invalid field: image_username"),
      Lrp(
          "ImageUsernameWithoutPassword", [](L& l) { l.clear_image_password(); },
          "Invalid field: image_password"),
      Lrp(
          "NoImageCredentials",
          [](L& l) {
            l.clear_image_username();
            l.clear_image_password();
          },
          ""),
      Lrp(
          "InvalidCheckDefinition",
          [](L& l) { *l.mutable_check_definition()->mutable_checks(0) = TcpCheck(0); },
          "Invalid field: check_definition, Invalid field: port"),
      Lrp(
          "InvalidReadinessCheck",
          [](L& l) {
            *l.mutable_check_definition()->mutable_readiness_checks(0) = HttpCheck(65536);
          },
          "Invalid field: check_definition, Invalid field: port"),
      // Every failure of the record, in Diego's order, in one message.
      Lrp(
          "ManyFailuresAtOnce",
          [](L& l) {
            l.clear_domain();
            l.clear_root_fs();
            l.set_instances(-1);
            l.set_memory_mb(-5);
            l.clear_metric_tags();
            l.clear_action();
            *l.mutable_setup() = Download("", "/tmp", "vcap");
            l.clear_image_password();
          },
          "Invalid field: domain, Invalid field: rootfs, Invalid field: rootfs, "
          "Invalid field: instances, Invalid field: memory_mb, Invalid field: metric_tags, "
          "Invalid field: domain, Invalid field: setup, Invalid field: from, "
          "invalid action type, Invalid field: image_password"),
  };
}

INSTANTIATE_TEST_SUITE_P(DesiredLrp, ValidationTest, ::testing::ValuesIn(DesiredLrpCases()),
                         CaseName);

// --- DesiredLRP parts and updates ---------------------------------------------------

v1::DesiredLRPSchedulingInfo SchedulingInfo() {
  v1::DesiredLRPSchedulingInfo info;
  info.mutable_desired_lrp_key()->set_process_guid("pg");
  info.mutable_desired_lrp_key()->set_domain("d");
  info.mutable_desired_lrp_resource()->set_root_fs("preloaded:cflinuxfs4");
  info.set_instances(1);
  return info;
}

v1::DesiredLRPRunInfo RunInfo() {
  v1::DesiredLRPRunInfo info;
  info.mutable_desired_lrp_key()->set_process_guid("pg");
  info.mutable_desired_lrp_key()->set_domain("d");
  *info.mutable_action() = Run("ls", "me");
  return info;
}

v1::DesiredLRPUpdate Update() {
  v1::DesiredLRPUpdate update;
  update.set_instances(3);
  update.set_annotation("new");
  (*update.mutable_routes()->mutable_routes())["cf-router"] = "[]";
  (*update.mutable_metric_tags())["source_id"] = Static("anything");
  return update;
}

std::vector<Case> DesiredLrpPartCases() {
  using U = v1::DesiredLRPUpdate;
  using S = v1::DesiredLRPSchedulingInfo;
  using R = v1::DesiredLRPRunInfo;
  auto update = [](std::string name, std::function<void(U&)> mutate, std::string want) {
    return Mutated<U>(std::move(name), &Update, std::move(mutate), &ValidateDesiredLrpUpdate,
                      std::move(want));
  };
  v1::DesiredLRPKey key;
  key.set_process_guid("pg");
  key.set_domain("d");
  v1::DesiredLRPResource resource;
  resource.set_root_fs("docker:///busybox");
  return {
      update(
          "UpdateValid", [](U&) {}, ""),
      update(
          "UpdateEmpty", [](U& u) { u.Clear(); }, ""),
      update(
          "UpdateNegativeInstances", [](U& u) { u.set_instances(-1); }, "Invalid field: instances"),
      update(
          "UpdateAnnotationOverLimit", [](U& u) { u.set_annotation(Bytes(10 * 1024 + 1)); },
          "Invalid field: annotation"),
      update(
          "UpdateRoutesOverLimit",
          [](U& u) { (*u.mutable_routes()->mutable_routes())["x"] = Bytes(128 * 1024 + 1); },
          "Invalid field: routes"),
      update(
          "UpdateInvalidMetricTag",
          [](U& u) { (*u.mutable_metric_tags())["bad"] = v1::MetricTagValue(); },
          "Invalid field: metric_tags, Invalid field: static, Invalid field: dynamic"),
      update(
          "UpdateAllInvalid",
          [](U& u) {
            u.set_instances(-2);
            u.set_annotation(Bytes(20000));
            (*u.mutable_metric_tags())["bad"] = v1::MetricTagValue();
          },
          "Invalid field: instances, Invalid field: annotation, Invalid field: metric_tags, "
          "Invalid field: static, Invalid field: dynamic"),
      Value("KeyValid", key, &ValidateDesiredLrpKey, ""),
      Value("KeyEmpty", v1::DesiredLRPKey(), &ValidateDesiredLrpKey,
            "Invalid field: domain, Invalid field: process_guid"),
      Value("ResourceValid", resource, &ValidateDesiredLrpResource, ""),
      Mutated<v1::DesiredLRPResource>(
          "ResourceAllInvalid", [] { return v1::DesiredLRPResource(); },
          [](v1::DesiredLRPResource& r) {
            r.set_memory_mb(-1);
            r.set_disk_mb(-1);
            r.set_max_pids(-1);
          },
          &ValidateDesiredLrpResource,
          "Invalid field: rootfs, Invalid field: memory_mb, Invalid field: disk_mb, "
          "Invalid field: max_pids"),
      Mutated<S>(
          "SchedulingInfoValid", &SchedulingInfo, [](S&) {}, &ValidateDesiredLrpSchedulingInfo, ""),
      Mutated<S>(
          "SchedulingInfoAllInvalid", &SchedulingInfo,
          [](S& s) {
            s.mutable_desired_lrp_key()->set_process_guid("a b");
            s.mutable_desired_lrp_key()->clear_domain();
            s.mutable_desired_lrp_resource()->set_root_fs("nope");
            s.mutable_desired_lrp_resource()->set_disk_mb(-1);
            (*s.mutable_routes()->mutable_routes())["r"] = Bytes(128 * 1024 + 1);
            s.set_instances(-1);
            s.set_annotation(Bytes(10 * 1024 + 1));
          },
          &ValidateDesiredLrpSchedulingInfo,
          "Invalid field: domain, Invalid field: process_guid, Invalid field: rootfs, "
          "Invalid field: disk_mb, Invalid field: routes, Invalid field: instances, "
          "Invalid field: annotation"),
      Mutated<R>(
          "RunInfoValid", &RunInfo, [](R&) {}, &ValidateDesiredLrpRunInfo, ""),
      Mutated<R>(
          "RunInfoAllInvalid", &RunInfo,
          [](R& r) {
            r.clear_desired_lrp_key();
            r.clear_action();
            r.add_volume_mounts();
            r.mutable_log_rate_limit()->set_bytes_per_second(-3);
          },
          &ValidateDesiredLrpRunInfo,
          "Invalid field: domain, Invalid field: process_guid, invalid action type, "
          "invalid volume_mount driver, invalid volume_mount mode, Invalid field: log_rate_limit"),
  };
}

INSTANTIATE_TEST_SUITE_P(DesiredLrpParts, ValidationTest,
                         ::testing::ValuesIn(DesiredLrpPartCases()), CaseName);

// --- Tasks ------------------------------------------------------------------------

std::vector<Case> TaskCases() {
  using D = v1::TaskDefinition;
  using T = v1::Task;
  auto task = [](std::string name, std::function<void(T&)> mutate, std::string want) {
    return Mutated<T>(std::move(name), &ValidTask, std::move(mutate), &ValidateTask,
                      std::move(want));
  };
  return {
      TaskDef(
          "Valid", [](D&) {}, ""),
      // A task checks rootfs once: "required" and "has a scheme" are exclusive.
      TaskDef(
          "EmptyRootfs", [](D& d) { d.clear_root_fs(); }, "Invalid field: rootfs"),
      TaskDef(
          "RootfsWithoutScheme", [](D& d) { d.set_root_fs("some-rootfs"); },
          "Invalid field: rootfs"),
      TaskDef(
          "RootfsInvalidUrl", [](D& d) { d.set_root_fs(":invalid-url"); }, "Invalid field: rootfs"),
      TaskDef(
          "RootfsOpaque", [](D& d) { d.set_root_fs("some:rootfs"); }, ""),
      TaskDef(
          "MissingAction", [](D& d) { d.clear_action(); }, "invalid action type"),
      TaskDef(
          "InvalidAction", [](D& d) { *d.mutable_action() = Run("ls", ""); },
          "Invalid field: action, Invalid field: user"),
      TaskDef(
          "NegativeMemory", [](D& d) { d.set_memory_mb(-1); }, "Invalid field: memory_mb"),
      TaskDef(
          "NegativeDisk", [](D& d) { d.set_disk_mb(-1); }, "Invalid field: disk_mb"),
      TaskDef(
          "LogRateLimitBelowMinusOne",
          [](D& d) { d.mutable_log_rate_limit()->set_bytes_per_second(-2); },
          "Invalid field: log_rate_limit"),
      TaskDef(
          "LogRateLimitUnlimited",
          [](D& d) { d.mutable_log_rate_limit()->set_bytes_per_second(-1); }, ""),
      TaskDef(
          "NegativeMaxPids", [](D& d) { d.set_max_pids(-1); }, "Invalid field: max_pids"),
      TaskDef(
          "AnnotationOverLimit", [](D& d) { d.set_annotation(Bytes(10 * 1024 + 1)); },
          "Invalid field: annotation"),
      // A task reports a bad egress rule without the rule's own errors.
      TaskDef(
          "InvalidEgressRule", [](D& d) { *d.add_egress_rules() = Rule("bogus", {}); },
          "Invalid field: egress_rules"),
      TaskDef(
          "ImagePasswordWithoutUsername", [](D& d) { d.clear_image_username(); },
          "Invalid field: image_username"),
      TaskDef(
          "ImageUsernameWithoutPassword", [](D& d) { d.clear_image_password(); },
          "Invalid field: image_password"),
      TaskDef(
          "CachedDependencyChecksumValueOnly",
          [](D& d) { d.mutable_cached_dependencies(0)->set_checksum_value("abc"); },
          "Invalid field: cached_dependency, Invalid field: checksum algorithm"),
      TaskDef(
          "CachedDependencyUppercaseAlgorithm",
          [](D& d) {
            d.mutable_cached_dependencies(0)->set_checksum_algorithm("SHA256");
            d.mutable_cached_dependencies(0)->set_checksum_value("abc");
          },
          ""),
      TaskDef(
          "ExclusiveLayerWithoutDigest",
          [](D& d) {
            d.mutable_image_layers(0)->clear_digest_value();
            d.mutable_image_layers(0)->clear_digest_algorithm();
          },
          "Invalid field: image_layer, Invalid field: digest_algorithm, "
          "Invalid field: digest_value"),
      TaskDef(
          "ExclusiveLayerWithoutLegacyDownloadUser", [](D& d) { d.clear_legacy_download_user(); },
          "Invalid field: legacy_download_user"),
      TaskDef(
          "SharedLayerNeedsNoLegacyDownloadUser",
          [](D& d) {
            d.clear_legacy_download_user();
            *d.mutable_image_layers(0) = SharedLayer();
          },
          ""),
      TaskDef(
          "VolumeMountedFilesOverLimit",
          [](D& d) { d.add_volume_mounted_files()->set_content(Bytes(1024 * 1024)); },
          "Invalid field: volumeMountedFiles"),
      TaskDef(
          "ManyFailuresAtOnce",
          [](D& d) {
            d.clear_root_fs();
            d.clear_action();
            d.set_disk_mb(-1);
            d.set_annotation(Bytes(10 * 1024 + 1));
            d.clear_image_username();
            d.mutable_cached_dependencies(0)->clear_to();
          },
          "Invalid field: rootfs, invalid action type, Invalid field: disk_mb, "
          "Invalid field: annotation, Invalid field: image_username, "
          "Invalid field: cached_dependency, Invalid field: to"),
      task(
          "TaskValid", [](T&) {}, ""),
      task(
          "TaskEmptyDomain", [](T& t) { t.clear_domain(); }, "Invalid field: domain"),
      task(
          "TaskInvalidGuid", [](T& t) { t.set_task_guid("task guid"); },
          "Invalid field: task_guid"),
      task(
          "TaskEmptyGuid", [](T& t) { t.clear_task_guid(); }, "Invalid field: task_guid"),
      task(
          "TaskMissingDefinition", [](T& t) { t.clear_task_definition(); },
          "Invalid field: task_definition"),
      task(
          "TaskInvalidDefinition", [](T& t) { t.mutable_task_definition()->clear_root_fs(); },
          "Invalid field: rootfs"),
      task(
          "TaskAllInvalid",
          [](T& t) {
            t.clear_domain();
            t.set_task_guid("a/b");
            t.clear_task_definition();
          },
          "Invalid field: domain, Invalid field: task_guid, Invalid field: task_definition"),
  };
}

INSTANTIATE_TEST_SUITE_P(Task, ValidationTest, ::testing::ValuesIn(TaskCases()), CaseName);

// --- Actions ----------------------------------------------------------------------

v1::Action WithChecksum(v1::Action download, const std::string& algorithm,
                        const std::string& value) {
  download.mutable_download_action()->set_checksum_algorithm(algorithm);
  download.mutable_download_action()->set_checksum_value(value);
  return download;
}

std::vector<Case> ActionCases() {
  const v1::Action download = Download("http://x/a.tgz", "/tmp/a", "vcap");
  const v1::Action run = Run("ls", "vcap");
  v1::Action timeout_without_child;
  timeout_without_child.mutable_timeout_action()->set_timeout_ms(5);
  v1::Action timeout_with_deprecated_ns;
  *timeout_with_deprecated_ns.mutable_timeout_action()->mutable_action() = run;
  timeout_with_deprecated_ns.mutable_timeout_action()->set_deprecated_timeout_ns(1000000);
  v1::Action emit_without_child;
  emit_without_child.mutable_emit_progress_action();
  v1::Action try_without_child;
  try_without_child.mutable_try_action();
  v1::Action empty_parallel;
  empty_parallel.mutable_parallel_action();
  v1::Action empty_serial;
  empty_serial.mutable_serial_action();
  v1::Action empty_codependent;
  empty_codependent.mutable_codependent_action();
  // Download is first in field order, so it is the one validated.
  v1::Action two_members = download;
  *two_members.mutable_run_action() = v1::RunAction();

  auto action = [](std::string name, v1::Action a, std::string want) {
    return Value(std::move(name), std::move(a), &ValidateAction, std::move(want));
  };
  return {
      action("DownloadValid", download, ""),
      action("UploadValid", Upload("/tmp/out", "http://cc/upload", "vcap"), ""),
      action("RunValid", run, ""),
      action("TimeoutValid", Timeout(run, 1000), ""),
      action("EmitProgressValid", EmitProgress(run), ""),
      action("TryValid", Try(run), ""),
      action("ParallelValid", Parallel({run, download}), ""),
      action("SerialValid", Serial({download, run}), ""),
      action("CodependentValid", Codependent({run}), ""),
      action("EmptyWrapper", v1::Action(), "Invalid field: inner-action"),
      action("DownloadMissingEverything", Download("", "", ""),
             "Invalid field: from, Invalid field: to, Invalid field: user"),
      action("DownloadChecksumValueOnly", WithChecksum(download, "", "abc"),
             "Invalid field: checksum algorithm"),
      action("DownloadChecksumAlgorithmOnly", WithChecksum(download, "md5", ""),
             "Invalid field: checksum value"),
      action("DownloadUnknownAlgorithm", WithChecksum(download, "crc32", "abc"),
             "Invalid field: invalid algorithm"),
      action("DownloadAlgorithmAnyCase", WithChecksum(download, "Sha1", "abc"), ""),
      action("UploadMissingEverything", Upload("", "", ""),
             "Invalid field: to, Invalid field: from, Invalid field: user"),
      action("RunMissingPath", Run("", "vcap"), "Invalid field: path"),
      action("RunMissingUser", Run("ls", ""), "Invalid field: user"),
      action(
          "TimeoutWithoutChildOrTimeout",
          [] {
            v1::Action a;
            a.mutable_timeout_action();
            return a;
          }(),
          "Invalid field: action, Invalid field: timeout_ms"),
      action("TimeoutWithoutChild", timeout_without_child, "Invalid field: action"),
      action("TimeoutNegative", Timeout(run, -1), "Invalid field: timeout_ms"),
      // Only timeout_ms counts; the deprecated nanosecond field is ignored.
      action("TimeoutOnlyDeprecatedNs", timeout_with_deprecated_ns, "Invalid field: timeout_ms"),
      action("TimeoutInvalidChild", Timeout(Run("", ""), 10),
             "Invalid field: path, Invalid field: user"),
      action("TimeoutEmptyChildWrapper", Timeout(v1::Action(), 10), "Invalid field: action"),
      action("EmitProgressWithoutChild", emit_without_child, "Invalid field: action"),
      action("EmitProgressInvalidChild", EmitProgress(Upload("a", "", "u")), "Invalid field: to"),
      action("TryWithoutChild", try_without_child, "Invalid field: action"),
      action("TryInvalidChild", Try(Download("", "b", "u")), "Invalid field: from"),
      action("ParallelEmpty", empty_parallel, "Invalid field: actions"),
      action("SerialEmpty", empty_serial, "Invalid field: actions"),
      action("CodependentEmpty", empty_codependent, "Invalid field: actions"),
      action("SerialEmptyEntry", Serial({run, v1::Action(), run}),
             "Invalid field: action at index 1"),
      action("ParallelEmptyEntries", Parallel({v1::Action(), v1::Action()}),
             "Invalid field: action at index 0, Invalid field: action at index 1"),
      action("DeeplyNestedErrors",
             Serial({Parallel({run, Run("ls", "")}),
                     Try(EmitProgress(Timeout(Upload("", "http://x", "u"), 0))),
                     Codependent({Download("a", "b", "c"), Serial({})})}),
             "Invalid field: user, Invalid field: from, Invalid field: timeout_ms, "
             "Invalid field: actions"),
      action("SeveralMembersValidatesFirst", two_members, ""),
  };
}

INSTANTIATE_TEST_SUITE_P(Action, ValidationTest, ::testing::ValuesIn(ActionCases()), CaseName);

// --- Egress rules -------------------------------------------------------------------

std::vector<Case> SecurityGroupRuleCases() {
  auto rule = [](std::string name, v1::SecurityGroupRule r, std::string want) {
    return Value(std::move(name), std::move(r), &ValidateSecurityGroupRule, std::move(want));
  };
  auto with = [](v1::SecurityGroupRule r, std::function<void(v1::SecurityGroupRule&)> f) {
    f(r);
    return r;
  };
  return {
      rule("TcpPorts", TcpRule({1, 80, 65535}), ""),
      rule("UdpPortRange", RangeRule(1, 65535), ""),
      rule("IcmpWithInfo", IcmpRule("icmp"), ""),
      rule("Icmpv6WithInfo",
           with(IcmpRule("icmpv6"), [](auto& r) { r.set_destinations(0, "2001:db8::1"); }), ""),
      rule("AllWithDestinations", Rule("all", {"0.0.0.0-255.255.255.255", "::/0"}), ""),
      rule("TcpLogged", with(TcpRule({22}), [](auto& r) { r.set_log(true); }), ""),
      rule("TcpWithoutPorts", Rule("tcp", {"1.2.3.4"}),
           "Missing required field: ports or port_range"),
      rule("UdpPortsAndRange", with(RangeRule(1, 2), [](auto& r) { r.add_ports(53); }),
           "Invalid: ports and port_range provided"),
      rule("TcpPortZero", TcpRule({0}), "Invalid field: ports"),
      rule("TcpPortAboveMax", TcpRule({65536}), "Invalid field: ports"),
      rule("TcpTwoBadPorts", TcpRule({0, 80, 70000}), "Invalid field: ports, Invalid field: ports"),
      rule("RangeStartZero", RangeRule(0, 10), "Invalid field: port_range"),
      rule("RangeEndAboveMax", RangeRule(10, 70000), "Invalid field: port_range"),
      rule("RangeReversed", RangeRule(10, 9), "Invalid field: port_range"),
      rule("RangeAllZero", RangeRule(0, 0), "Invalid field: port_range, Invalid field: port_range"),
      rule("TcpWithIcmpInfo", with(TcpRule({80}), [](auto& r) { r.mutable_icmp_info(); }),
           "Invalid field: icmp_info"),
      rule("IcmpWithPortsAndNoInfo",
           with(Rule("icmp", {"1.1.1.1"}),
                [](auto& r) {
                  r.add_ports(1);
                  r.mutable_port_range()->set_start(1);
                  r.mutable_port_range()->set_end(2);
                }),
           "Invalid field: port_range, Invalid field: ports, Invalid field: icmp_info"),
      rule("Icmpv6WithoutInfo", Rule("icmpv6", {"::1"}), "Invalid field: icmp_info"),
      rule("AllWithPorts", with(Rule("all", {"1.1.1.1"}), [](auto& r) { r.add_ports(80); }),
           "Invalid field: ports"),
      rule("AllWithIcmpInfo",
           with(Rule("all", {"1.1.1.1"}), [](auto& r) { r.mutable_icmp_info(); }),
           "Invalid field: icmp_info"),
      rule("UnknownProtocol", Rule("sctp", {"1.1.1.1"}), "Invalid field: protocol"),
      rule("EmptyProtocol", Rule("", {"1.1.1.1"}), "Invalid field: protocol"),
      rule("ProtocolIsCaseSensitive", with(TcpRule({80}), [](auto& r) { r.set_protocol("TCP"); }),
           "Invalid field: protocol"),
      rule("NoDestinations", with(TcpRule({80}), [](auto& r) { r.clear_destinations(); }),
           "Invalid field: destinations [ Must have at least 1 destination ]"),
      rule("BadAddress", Rule("all", {"1.2.3"}), "Invalid field: destinations [ Invalid IP ]"),
      rule("AddressWithLeadingZero", Rule("all", {"01.2.3.4"}),
           "Invalid field: destinations [ Invalid IP ]"),
      rule("Ipv6Address", Rule("all", {"fe80::1"}), ""),
      rule("Ipv6Range", Rule("all", {"2001:db8::1-2001:db8::ff"}), ""),
      rule("CidrPrefixTooLong", Rule("all", {"10.0.0.0/33"}),
           "Invalid field: destinations [ invalid CIDR address: 10.0.0.0/33 ]"),
      rule("Ipv6CidrPrefix128", Rule("all", {"2001:db8::/128"}), ""),
      rule("CidrWithoutPrefix", Rule("all", {"10.0.0.0/"}),
           "Invalid field: destinations [ invalid CIDR address: 10.0.0.0/ ]"),
      rule("RangeReversedLastOctet", Rule("all", {"10.0.0.5-10.0.0.1"}),
           "Invalid field: destinations [ Invalid IP ]"),
      // Diego reports once per byte where the start exceeds the end.
      rule("RangeReversedTwoBytes", Rule("all", {"10.0.0.5-9.0.0.1"}),
           "Invalid field: destinations [ Invalid IP, Invalid IP ]"),
      rule("RangeWithBadEnd", Rule("all", {"10.0.0.1-ten"}),
           "Invalid field: destinations [ Invalid IP ]"),
      rule("SeveralBadDestinations", Rule("all", {"1.1.1.1", "bad", "1.1.1.1/40"}),
           "Invalid field: destinations [ Invalid IP, invalid CIDR address: 1.1.1.1/40 ]"),
      rule("ProtocolAndDestinations", Rule("bogus", {}),
           "Invalid field: protocol, "
           "Invalid field: destinations [ Must have at least 1 destination ]"),
  };
}

INSTANTIATE_TEST_SUITE_P(SecurityGroupRule, ValidationTest,
                         ::testing::ValuesIn(SecurityGroupRuleCases()), CaseName);

// --- Cached dependencies, image layers, volume mounts, checks, tags, sidecars -----

std::vector<Case> SupportingRecordCases() {
  using C = v1::CachedDependency;
  using I = v1::ImageLayer;
  using V = v1::VolumeMount;
  auto dependency = [](std::string name, std::function<void(C&)> f, std::string want) {
    return Mutated<C>(std::move(name), &Dependency, std::move(f), &ValidateCachedDependency,
                      std::move(want));
  };
  auto exclusive = [](std::string name, std::function<void(I&)> f, std::string want) {
    return Mutated<I>(std::move(name), &ExclusiveLayer, std::move(f), &ValidateImageLayer,
                      std::move(want));
  };
  auto shared = [](std::string name, std::function<void(I&)> f, std::string want) {
    return Mutated<I>(std::move(name), &SharedLayer, std::move(f), &ValidateImageLayer,
                      std::move(want));
  };
  auto mount = [](std::string name, std::function<void(V&)> f, std::string want) {
    return Mutated<V>(std::move(name), &Mount, std::move(f), &ValidateVolumeMount, std::move(want));
  };
  auto checks = [](std::string name, std::vector<v1::Check> liveness,
                   std::vector<v1::Check> readiness, std::string want) {
    v1::CheckDefinition definition;
    for (const auto& c : liveness) *definition.add_checks() = c;
    for (const auto& c : readiness) *definition.add_readiness_checks() = c;
    return Value(std::move(name), definition, &ValidateCheckDefinition, std::move(want));
  };
  v1::Check both = TcpCheck(8080);
  *both.mutable_http_check() = HttpCheck(8080).http_check();
  auto sidecar = [](std::string name, std::function<void(v1::Sidecar&)> f, std::string want) {
    return Mutated<v1::Sidecar>(std::move(name), &Sidecar, std::move(f), &ValidateSidecar,
                                std::move(want));
  };
  v1::EnvironmentVariable named;
  named.set_name("HOME");

  return {
      dependency(
          "DependencyValid", [](C&) {}, ""),
      dependency(
          "DependencyMissingFromAndTo",
          [](C& c) {
            c.clear_from();
            c.clear_to();
          },
          "Invalid field: from, Invalid field: to"),
      dependency(
          "DependencyChecksumValueOnly", [](C& c) { c.set_checksum_value("v"); },
          "Invalid field: checksum algorithm"),
      dependency(
          "DependencyChecksumAlgorithmOnly", [](C& c) { c.set_checksum_algorithm("md5"); },
          "Invalid field: checksum value"),
      dependency(
          "DependencyUnknownAlgorithm",
          [](C& c) {
            c.set_checksum_algorithm("sha512");
            c.set_checksum_value("v");
          },
          "Invalid field: invalid algorithm"),
      dependency(
          "DependencyMd5",
          [](C& c) {
            c.set_checksum_algorithm("MD5");
            c.set_checksum_value("v");
          },
          ""),
      exclusive(
          "LayerExclusiveValid", [](I&) {}, ""),
      shared(
          "LayerSharedWithoutDigestValid", [](I&) {}, ""),
      exclusive(
          "LayerMissingUrl", [](I& l) { l.clear_url(); }, "Invalid field: url"),
      exclusive(
          "LayerMissingDestination", [](I& l) { l.clear_destination_path(); },
          "Invalid field: destination_path"),
      exclusive(
          "LayerInvalidType", [](I& l) { l.clear_layer_type(); }, "Invalid field: layer_type"),
      exclusive(
          "LayerUnknownType", [](I& l) { l.set_layer_type(static_cast<I::Type>(7)); },
          "Invalid field: layer_type"),
      exclusive(
          "LayerInvalidMediaType", [](I& l) { l.clear_media_type(); }, "Invalid field: media_type"),
      exclusive(
          "LayerExclusiveWithoutAlgorithm", [](I& l) { l.clear_digest_algorithm(); },
          "Invalid field: digest_algorithm, Invalid field: digest_algorithm"),
      exclusive(
          "LayerExclusiveWithoutValue", [](I& l) { l.clear_digest_value(); },
          "Invalid field: digest_value"),
      exclusive(
          "LayerExclusiveWithoutDigest",
          [](I& l) {
            l.clear_digest_value();
            l.clear_digest_algorithm();
          },
          "Invalid field: digest_algorithm, Invalid field: digest_value"),
      shared(
          "LayerSharedValueWithoutAlgorithm", [](I& l) { l.set_digest_value("abc"); },
          "Invalid field: digest_algorithm, Invalid field: digest_algorithm"),
      shared(
          "LayerSharedAlgorithmWithoutValue", [](I& l) { l.set_digest_algorithm(I::SHA256); },
          "Invalid field: digest_value"),
      shared(
          "LayerUnknownAlgorithm",
          [](I& l) {
            l.set_digest_algorithm(static_cast<I::DigestAlgorithm>(9));
            l.set_digest_value("abc");
          },
          "Invalid field: digest_algorithm"),
      shared(
          "LayerAllInvalid", [](I& l) { l.Clear(); },
          "Invalid field: url, Invalid field: destination_path, Invalid field: layer_type, "
          "Invalid field: media_type"),
      mount(
          "MountValid", [](V&) {}, ""),
      mount(
          "MountReadOnly", [](V& m) { m.set_mode("r"); }, ""),
      mount(
          "MountDedicatedWithoutShared",
          [](V& m) {
            m.clear_shared();
            m.mutable_dedicated()->set_mounter_id("m");
          },
          ""),
      mount(
          "MountMissingDriver", [](V& m) { m.clear_driver(); }, "invalid volume_mount driver"),
      mount(
          "MountBadMode", [](V& m) { m.set_mode("ro"); }, "invalid volume_mount mode"),
      mount(
          "MountSharedWithoutVolumeId", [](V& m) { m.mutable_shared()->clear_volume_id(); },
          "invalid volume_mount volume id"),
      mount(
          "MountAllInvalid",
          [](V& m) {
            m.clear_driver();
            m.clear_mode();
            m.mutable_shared()->clear_volume_id();
          },
          "invalid volume_mount driver, invalid volume_mount mode, "
          "invalid volume_mount volume id"),
      checks("ChecksValid", {TcpCheck(1), HttpCheck(65535)}, {TcpCheck(8080)}, ""),
      checks("ChecksNone", {}, {}, ""),
      checks("CheckPortZero", {TcpCheck(0)}, {}, "Invalid field: port"),
      checks("CheckPortAboveMax", {HttpCheck(65536)}, {}, "Invalid field: port"),
      // Diego falls through to a nil TCP check whose port is 0.
      checks("CheckWithNeitherType", {v1::Check()}, {}, "Invalid field: port"),
      checks("CheckWithBothTypes", {both}, {}, "Invalid field: check"),
      checks("ReadinessCheckInvalid", {}, {TcpCheck(0)}, "Invalid field: port"),
      checks("LivenessThenReadinessErrors", {TcpCheck(0)}, {both},
             "Invalid field: port, Invalid field: check"),
      Value("CheckDirect", both, &ValidateCheck, "Invalid field: check"),
      Value("MetricTagStatic", Static("x"), &ValidateMetricTagValue, ""),
      Value("MetricTagDynamicIndex", Dynamic(v1::MetricTagValue::INDEX), &ValidateMetricTagValue,
            ""),
      Value("MetricTagEmpty", v1::MetricTagValue(), &ValidateMetricTagValue,
            "Invalid field: static, Invalid field: dynamic"),
      Value("MetricTagUnknownDynamic", Dynamic(static_cast<v1::MetricTagValue::DynamicValue>(5)),
            &ValidateMetricTagValue, "Invalid field: static, Invalid field: dynamic"),
      sidecar(
          "SidecarValid", [](v1::Sidecar&) {}, ""),
      sidecar(
          "SidecarMissingAction", [](v1::Sidecar& s) { s.clear_action(); }, "invalid action type"),
      sidecar(
          "SidecarInvalidAction", [](v1::Sidecar& s) { *s.mutable_action() = Run("", "u"); },
          "Invalid field: action, Invalid field: path"),
      sidecar(
          "SidecarNegativeResources",
          [](v1::Sidecar& s) {
            s.set_memory_mb(-1);
            s.set_disk_mb(-1);
          },
          "Invalid field: memory_mb, Invalid field: disk_mb"),
      Value("EnvironmentVariableNamed", named, &ValidateEnvironmentVariable, ""),
      Value("EnvironmentVariableBlank", v1::EnvironmentVariable(), &ValidateEnvironmentVariable,
            "invalid field: name cannot be blank"),
  };
}

INSTANTIATE_TEST_SUITE_P(SupportingRecords, ValidationTest,
                         ::testing::ValuesIn(SupportingRecordCases()), CaseName);

TEST(ValidateMetricTagsTest, ChecksSourceIdAgainstMetricsGuid) {
  google::protobuf::Map<std::string, v1::MetricTagValue> tags;
  EXPECT_THAT(ValidateMetricTags(tags, "guid"), IsOk());  // empty map: nothing to match

  tags["source_id"] = Static("guid");
  tags["index"] = Dynamic(v1::MetricTagValue::INDEX);
  EXPECT_THAT(ValidateMetricTags(tags, "guid"), IsOk());
  EXPECT_THAT(ValidateMetricTags(tags, ""), IsOk());

  tags["source_id"] = Dynamic(v1::MetricTagValue::INSTANCE_GUID);
  EXPECT_THAT(ValidateMetricTags(tags, "guid"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: source_id should match metrics_guid"));

  tags.erase("source_id");
  tags["bad"] = v1::MetricTagValue();
  EXPECT_THAT(ValidateMetricTags(tags, "guid"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: static, Invalid field: dynamic, "
                       "Invalid field: source_id should match metrics_guid"));
}

// --- ActualLRP -----------------------------------------------------------------------

std::vector<Case> ActualLrpCases() {
  using A = v1::ActualLRP;
  auto lrp = [](std::string name, std::string state, std::function<void(A&)> f, std::string want) {
    return Case{std::move(name),
                [state, f] {
                  A record = Lrp(state);
                  f(record);
                  return ValidateActualLrp(record);
                },
                std::move(want)};
  };
  v1::ActualLRPNetInfo ports_only;
  ports_only.add_ports()->set_container_port(8080);
  v1::ActualLRPNetInfo preferred_only;
  preferred_only.set_preferred_address(v1::ActualLRPNetInfo::INSTANCE);
  return {
      lrp(
          "UnclaimedValid", "UNCLAIMED", [](A&) {}, ""),
      lrp(
          "ClaimedValid", "CLAIMED", [](A&) {}, ""),
      lrp(
          "RunningValid", "RUNNING", [](A&) {}, ""),
      lrp(
          "CrashedValid", "CRASHED", [](A& a) { a.set_crash_count(3); }, ""),
      lrp(
          "RunningSuspectValid", "RUNNING", [](A& a) { a.set_presence(A::SUSPECT); }, ""),
      lrp(
          "UnclaimedWithPlacementErrorValid", "UNCLAIMED",
          [](A& a) { a.set_placement_error("found no compatible cell"); }, ""),
      lrp(
          "KeyMissingProcessGuid", "UNCLAIMED",
          [](A& a) { a.mutable_actual_lrp_key()->clear_process_guid(); },
          "Invalid field: process_guid"),
      lrp(
          "KeyNegativeIndex", "UNCLAIMED", [](A& a) { a.mutable_actual_lrp_key()->set_index(-1); },
          "Invalid field: index"),
      lrp(
          "KeyMissingDomain", "UNCLAIMED", [](A& a) { a.mutable_actual_lrp_key()->clear_domain(); },
          "Invalid field: domain"),
      lrp(
          "ZeroSince", "UNCLAIMED", [](A& a) { a.set_since(0); }, "Invalid field: since"),
      lrp(
          "UnknownState", "BOGUS", [](A&) {}, "Invalid field: state"),
      lrp(
          "EmptyState", "", [](A&) {}, "Invalid field: state"),
      lrp(
          "StateIsCaseSensitive", "running", [](A&) {}, "Invalid field: state"),
      lrp(
          "UnclaimedWithInstanceKey", "UNCLAIMED",
          [](A& a) { a.mutable_actual_lrp_instance_key()->set_cell_id("c"); },
          "instance key cannot be set when state is unclaimed"),
      lrp(
          "UnclaimedWithNetInfo", "UNCLAIMED",
          [](A& a) { a.mutable_actual_lrp_net_info()->set_address("1.2.3.4"); },
          "net info cannot be set when state is unclaimed"),
      lrp(
          "UnclaimedPreferredAddressIsNetInfo", "UNCLAIMED",
          [preferred_only](A& a) { *a.mutable_actual_lrp_net_info() = preferred_only; },
          "net info cannot be set when state is unclaimed"),
      lrp(
          "UnclaimedEvacuating", "UNCLAIMED", [](A& a) { a.set_presence(A::EVACUATING); },
          "presence cannot be set when state is unclaimed"),
      lrp(
          "ClaimedWithoutInstanceKey", "CLAIMED", [](A& a) { a.clear_actual_lrp_instance_key(); },
          "Invalid field: cell_id, Invalid field: instance_guid"),
      lrp(
          "ClaimedWithoutCellId", "CLAIMED",
          [](A& a) { a.mutable_actual_lrp_instance_key()->clear_cell_id(); },
          "Invalid field: cell_id"),
      lrp(
          "ClaimedWithNetInfo", "CLAIMED",
          [ports_only](A& a) { *a.mutable_actual_lrp_net_info() = ports_only; },
          "net info cannot be set when state is claimed"),
      lrp(
          "ClaimedWithPlacementError", "CLAIMED", [](A& a) { a.set_placement_error(" oops "); },
          "placement error cannot be set when state is claimed"),
      lrp(
          "ClaimedWithBlankPlacementError", "CLAIMED", [](A& a) { a.set_placement_error(" \t\n"); },
          ""),
      lrp(
          "RunningWithoutAddress", "RUNNING",
          [](A& a) { a.mutable_actual_lrp_net_info()->clear_address(); }, "Invalid field: address"),
      lrp(
          "RunningWithoutInstanceGuid", "RUNNING",
          [](A& a) { a.mutable_actual_lrp_instance_key()->clear_instance_guid(); },
          "Invalid field: instance_guid"),
      lrp(
          "RunningWithPlacementError", "RUNNING", [](A& a) { a.set_placement_error("x"); },
          "placement error cannot be set when state is running"),
      lrp(
          "CrashedWithInstanceKey", "CRASHED",
          [](A& a) { *a.mutable_actual_lrp_instance_key() = InstanceKey(); },
          "instance key cannot be set when state is crashed"),
      lrp(
          "CrashedWithNetInfo", "CRASHED",
          [ports_only](A& a) { *a.mutable_actual_lrp_net_info() = ports_only; },
          "net info cannot be set when state is crashed"),
      lrp(
          "CrashedWithPlacementError", "CRASHED", [](A& a) { a.set_placement_error("x"); },
          "placement error cannot be set when state is crashed"),
      lrp(
          "ManyFailuresAtOnce", "RUNNING",
          [](A& a) {
            a.clear_actual_lrp_key();
            a.mutable_actual_lrp_key()->set_index(-1);
            a.set_since(0);
            a.clear_actual_lrp_instance_key();
            a.clear_actual_lrp_net_info();
            a.set_placement_error("boom");
          },
          "Invalid field: process_guid, Invalid field: index, Invalid field: domain, "
          "Invalid field: since, Invalid field: cell_id, Invalid field: instance_guid, "
          "Invalid field: address, placement error cannot be set when state is running"),
      Value("KeyValid", LrpKey(), &ValidateActualLrpKey, ""),
      Value("KeyEmpty", v1::ActualLRPKey(), &ValidateActualLrpKey,
            "Invalid field: process_guid, Invalid field: domain"),
      Value("InstanceKeyValid", InstanceKey(), &ValidateActualLrpInstanceKey, ""),
      Value("InstanceKeyEmpty", v1::ActualLRPInstanceKey(), &ValidateActualLrpInstanceKey,
            "Invalid field: cell_id, Invalid field: instance_guid"),
      Value("NetInfoValid", NetInfo(), &ValidateActualLrpNetInfo, ""),
      Value("NetInfoEmpty", v1::ActualLRPNetInfo(), &ValidateActualLrpNetInfo,
            "Invalid field: address"),
  };
}

INSTANTIATE_TEST_SUITE_P(ActualLrp, ValidationTest, ::testing::ValuesIn(ActualLrpCases()),
                         CaseName);

// --- Cells ------------------------------------------------------------------------

std::vector<Case> CellCases() {
  v1::CellPresence cell;
  cell.set_cell_id("cell-1");
  cell.set_rep_address("http://10.0.0.1:1800");
  cell.mutable_capacity()->set_memory_mb(8192);
  cell.mutable_capacity()->set_containers(250);
  v1::CellPresence negative_disk = cell;
  negative_disk.mutable_capacity()->set_disk_mb(-1);
  return {
      Value("CellValid", cell, &ValidateCellPresence, ""),
      Value("CellNegativeDisk", negative_disk, &ValidateCellPresence, "Invalid field: disk_mb"),
      Value("CellEmpty", v1::CellPresence(), &ValidateCellPresence,
            "Invalid field: cell_id, Invalid field: rep_address, Invalid field: memory_mb, "
            "Invalid field: containers"),
  };
}

INSTANTIATE_TEST_SUITE_P(Cell, ValidationTest, ::testing::ValuesIn(CellCases()), CaseName);

// --- Requests ---------------------------------------------------------------------------

// Fills the key / instance key / net info of the ActualLRP lifecycle requests.
template <typename R>
R WithKeys(R request) {
  *request.mutable_actual_lrp_key() = LrpKey();
  *request.mutable_actual_lrp_instance_key() = InstanceKey();
  return request;
}

template <typename R>
R WithNetInfo(R request) {
  *request.mutable_actual_lrp_net_info() = NetInfo();
  return request;
}

template <typename R>
R WithEmptyParts(R request) {
  request.mutable_actual_lrp_key();
  request.mutable_actual_lrp_instance_key();
  return request;
}

std::vector<Case> RequestCases() {
  v1::DesireLRPRequest desire_lrp;
  *desire_lrp.mutable_desired_lrp() = ValidDesiredLrp();
  v1::DesireLRPRequest desire_bad_lrp = desire_lrp;
  desire_bad_lrp.mutable_desired_lrp()->set_instances(-1);

  v1::UpdateDesiredLRPRequest update;
  update.set_process_guid("pg");
  *update.mutable_update() = Update();
  v1::UpdateDesiredLRPRequest update_without_changes;
  update_without_changes.set_process_guid("pg");
  v1::UpdateDesiredLRPRequest update_bad;
  update_bad.mutable_update()->set_instances(-1);

  v1::RemoveDesiredLRPRequest remove_desired;
  remove_desired.set_process_guid("pg");
  v1::DesiredLRPByProcessGuidRequest desired_by_guid;
  desired_by_guid.set_process_guid("pg");

  v1::DesireTaskRequest desire_task;
  desire_task.set_task_guid("task-1");
  desire_task.set_domain("d");
  *desire_task.mutable_task_definition() = ValidTaskDefinition();
  v1::DesireTaskRequest desire_task_bad_definition = desire_task;
  desire_task_bad_definition.mutable_task_definition()->set_memory_mb(-1);
  v1::DesireTaskRequest desire_task_bad_guid = desire_task;
  desire_task_bad_guid.set_task_guid("task.1");

  v1::StartTaskRequest start_task;
  start_task.set_task_guid("t");
  start_task.set_cell_id("c");
  v1::StartTaskRequest start_task_bad;
  start_task_bad.set_task_guid("a b");
  v1::CompleteTaskRequest complete_task;
  complete_task.set_task_guid("t");
  complete_task.set_cell_id("c");
  complete_task.set_failed(true);
  v1::FailTaskRequest fail_task;
  fail_task.set_task_guid("t");
  fail_task.set_failure_reason("r");
  v1::RejectTaskRequest reject_task;
  reject_task.set_task_guid("t");
  reject_task.set_rejection_reason("r");
  v1::RejectTaskRequest reject_task_no_reason;
  reject_task_no_reason.set_task_guid("t");
  v1::TaskGuidRequest task_guid;
  task_guid.set_task_guid("not/a/guid");  // only non-empty is required
  v1::TaskByGuidRequest task_by_guid;
  task_by_guid.set_task_guid("t");

  v1::ClaimActualLRPRequest claim;
  claim.set_process_guid("pg");
  *claim.mutable_actual_lrp_instance_key() = InstanceKey();
  v1::ClaimActualLRPRequest claim_empty_key;
  claim_empty_key.set_process_guid("pg");
  claim_empty_key.mutable_actual_lrp_instance_key();

  v1::FailActualLRPRequest fail_lrp;
  *fail_lrp.mutable_actual_lrp_key() = LrpKey();
  fail_lrp.set_error_message("insufficient resources: memory");
  v1::FailActualLRPRequest fail_lrp_bad_index;
  *fail_lrp_bad_index.mutable_actual_lrp_key() = LrpKey();
  fail_lrp_bad_index.mutable_actual_lrp_key()->set_index(-1);
  fail_lrp_bad_index.set_error_message("x");
  v1::RetireActualLRPRequest retire;
  *retire.mutable_actual_lrp_key() = LrpKey();
  v1::RemoveActualLRPRequest remove_lrp;
  remove_lrp.set_process_guid("pg");
  remove_lrp.set_index(2);
  v1::RemoveActualLRPRequest remove_lrp_bad;
  remove_lrp_bad.set_index(-1);

  v1::EvacuateCrashedActualLRPRequest evacuate_crashed =
      WithKeys(v1::EvacuateCrashedActualLRPRequest());
  evacuate_crashed.set_error_message("crashed");

  v1::ActualLRPGroupsByProcessGuidRequest groups_by_guid;
  groups_by_guid.set_process_guid("pg");
  v1::ActualLRPGroupByProcessGuidAndIndexRequest group_by_index;
  group_by_index.set_process_guid("pg");
  v1::ActualLRPGroupByProcessGuidAndIndexRequest group_by_bad_index;
  group_by_bad_index.set_index(-1);
  v1::ActualLRPsByProcessGuidsRequest by_guids;
  by_guids.add_process_guids("pg-1");
  by_guids.add_process_guids("pg-2");
  v1::UpsertDomainRequest upsert;
  upsert.set_domain("cf-apps");  // ttl 0: never expires

  const std::string kAllKeysMissing =
      "Invalid field: actual_lrp_key, Invalid field: actual_lrp_instance_key";
  const std::string kAllKeysEmpty =
      "Invalid field: process_guid, Invalid field: domain, Invalid field: cell_id, "
      "Invalid field: instance_guid";
  return {
      Value("DesireLrpValid", desire_lrp, &ValidateDesireLrpRequest, ""),
      Value("DesireLrpMissing", v1::DesireLRPRequest(), &ValidateDesireLrpRequest,
            "Invalid field: desired_lrp"),
      Value("DesireLrpInvalid", desire_bad_lrp, &ValidateDesireLrpRequest,
            "Invalid field: instances"),
      Value("UpdateDesiredLrpValid", update, &ValidateUpdateDesiredLrpRequest, ""),
      Value("UpdateDesiredLrpWithoutUpdate", update_without_changes,
            &ValidateUpdateDesiredLrpRequest, ""),
      Value("UpdateDesiredLrpInvalid", update_bad, &ValidateUpdateDesiredLrpRequest,
            "Invalid field: process_guid, Invalid field: instances"),
      Value("RemoveDesiredLrpValid", remove_desired, &ValidateRemoveDesiredLrpRequest, ""),
      Value("RemoveDesiredLrpEmpty", v1::RemoveDesiredLRPRequest(),
            &ValidateRemoveDesiredLrpRequest, "Invalid field: process_guid"),
      Value("DesiredLrpByGuidValid", desired_by_guid, &ValidateDesiredLrpByProcessGuidRequest, ""),
      Value("DesiredLrpByGuidEmpty", v1::DesiredLRPByProcessGuidRequest(),
            &ValidateDesiredLrpByProcessGuidRequest, "Invalid field: process_guid"),
      Value("DesireTaskValid", desire_task, &ValidateDesireTaskRequest, ""),
      Value("DesireTaskEmpty", v1::DesireTaskRequest(), &ValidateDesireTaskRequest,
            "Invalid field: task_guid, Invalid field: domain, Invalid field: task_definition"),
      Value("DesireTaskInvalidDefinition", desire_task_bad_definition, &ValidateDesireTaskRequest,
            "Invalid field: memory_mb"),
      Value("DesireTaskInvalidGuid", desire_task_bad_guid, &ValidateDesireTaskRequest,
            "Invalid field: task_guid"),
      Value("StartTaskValid", start_task, &ValidateStartTaskRequest, ""),
      Value("StartTaskInvalid", start_task_bad, &ValidateStartTaskRequest,
            "Invalid field: task_guid, Invalid field: cell_id"),
      Value("CompleteTaskValid", complete_task, &ValidateCompleteTaskRequest, ""),
      Value("CompleteTaskEmpty", v1::CompleteTaskRequest(), &ValidateCompleteTaskRequest,
            "Invalid field: task_guid, Invalid field: cell_id"),
      Value("FailTaskValid", fail_task, &ValidateFailTaskRequest, ""),
      Value("FailTaskEmpty", v1::FailTaskRequest(), &ValidateFailTaskRequest,
            "Invalid field: task_guid, Invalid field: failure_reason"),
      Value("RejectTaskValid", reject_task, &ValidateRejectTaskRequest, ""),
      // Diego names the missing rejection reason "failure_reason".
      Value("RejectTaskWithoutReason", reject_task_no_reason, &ValidateRejectTaskRequest,
            "Invalid field: failure_reason"),
      Value("TaskGuidValid", task_guid, &ValidateTaskGuidRequest, ""),
      Value("TaskGuidEmpty", v1::TaskGuidRequest(), &ValidateTaskGuidRequest,
            "Invalid field: task_guid"),
      Value("TaskByGuidValid", task_by_guid, &ValidateTaskByGuidRequest, ""),
      Value("TaskByGuidEmpty", v1::TaskByGuidRequest(), &ValidateTaskByGuidRequest,
            "Invalid field: task_guid"),
      Value("ClaimValid", claim, &ValidateClaimActualLrpRequest, ""),
      Value("ClaimEmpty", v1::ClaimActualLRPRequest(), &ValidateClaimActualLrpRequest,
            "Invalid field: process_guid, Invalid field: actual_lrp_instance_key"),
      Value("ClaimEmptyInstanceKey", claim_empty_key, &ValidateClaimActualLrpRequest,
            "Invalid field: cell_id, Invalid field: instance_guid"),
      Value("StartValid", WithNetInfo(WithKeys(v1::StartActualLRPRequest())),
            &ValidateStartActualLrpRequest, ""),
      Value("StartMissingParts", v1::StartActualLRPRequest(), &ValidateStartActualLrpRequest,
            kAllKeysMissing + ", Invalid field: actual_lrp_net_info"),
      Value(
          "StartEmptyParts",
          [] {
            v1::StartActualLRPRequest r = WithEmptyParts(v1::StartActualLRPRequest());
            r.mutable_actual_lrp_net_info();
            return r;
          }(),
          &ValidateStartActualLrpRequest, kAllKeysEmpty + ", Invalid field: address"),
      Value("CrashValid", WithKeys(v1::CrashActualLRPRequest()), &ValidateCrashActualLrpRequest,
            ""),
      Value("CrashMissingParts", v1::CrashActualLRPRequest(), &ValidateCrashActualLrpRequest,
            kAllKeysMissing),
      Value("CrashEmptyParts", WithEmptyParts(v1::CrashActualLRPRequest()),
            &ValidateCrashActualLrpRequest, kAllKeysEmpty),
      Value("FailLrpValid", fail_lrp, &ValidateFailActualLrpRequest, ""),
      Value("FailLrpEmpty", v1::FailActualLRPRequest(), &ValidateFailActualLrpRequest,
            "Invalid field: actual_lrp_key, Invalid field: error_message"),
      Value("FailLrpBadIndex", fail_lrp_bad_index, &ValidateFailActualLrpRequest,
            "Invalid field: index"),
      Value("RetireValid", retire, &ValidateRetireActualLrpRequest, ""),
      Value("RetireEmpty", v1::RetireActualLRPRequest(), &ValidateRetireActualLrpRequest,
            "Invalid field: actual_lrp_key"),
      Value("RemoveLrpValidWithoutInstanceKey", remove_lrp, &ValidateRemoveActualLrpRequest, ""),
      Value("RemoveLrpInvalid", remove_lrp_bad, &ValidateRemoveActualLrpRequest,
            "Invalid field: process_guid, Invalid field: index"),
      Value("RemoveEvacuatingValid", WithKeys(v1::RemoveEvacuatingActualLRPRequest()),
            &ValidateRemoveEvacuatingActualLrpRequest, ""),
      Value("RemoveEvacuatingEmpty", v1::RemoveEvacuatingActualLRPRequest(),
            &ValidateRemoveEvacuatingActualLrpRequest, kAllKeysMissing),
      Value("EvacuateClaimedValid", WithKeys(v1::EvacuateClaimedActualLRPRequest()),
            &ValidateEvacuateClaimedActualLrpRequest, ""),
      Value("EvacuateClaimedEmpty", v1::EvacuateClaimedActualLRPRequest(),
            &ValidateEvacuateClaimedActualLrpRequest, kAllKeysMissing),
      Value("EvacuateRunningValid", WithNetInfo(WithKeys(v1::EvacuateRunningActualLRPRequest())),
            &ValidateEvacuateRunningActualLrpRequest, ""),
      Value("EvacuateRunningEmpty", v1::EvacuateRunningActualLRPRequest(),
            &ValidateEvacuateRunningActualLrpRequest,
            kAllKeysMissing + ", Invalid field: actual_lrp_net_info"),
      Value("EvacuateStoppedValid", WithKeys(v1::EvacuateStoppedActualLRPRequest()),
            &ValidateEvacuateStoppedActualLrpRequest, ""),
      Value("EvacuateStoppedEmptyParts", WithEmptyParts(v1::EvacuateStoppedActualLRPRequest()),
            &ValidateEvacuateStoppedActualLrpRequest, kAllKeysEmpty),
      Value("EvacuateCrashedValid", evacuate_crashed, &ValidateEvacuateCrashedActualLrpRequest, ""),
      Value("EvacuateCrashedEmpty", v1::EvacuateCrashedActualLRPRequest(),
            &ValidateEvacuateCrashedActualLrpRequest,
            kAllKeysMissing + ", Invalid field: error_message"),
      Value("GroupsByGuidValid", groups_by_guid, &ValidateActualLrpGroupsByProcessGuidRequest, ""),
      Value("GroupsByGuidEmpty", v1::ActualLRPGroupsByProcessGuidRequest(),
            &ValidateActualLrpGroupsByProcessGuidRequest, "Invalid field: process_guid"),
      Value("GroupByIndexValid", group_by_index,
            &ValidateActualLrpGroupByProcessGuidAndIndexRequest, ""),
      Value("GroupByIndexInvalid", group_by_bad_index,
            &ValidateActualLrpGroupByProcessGuidAndIndexRequest,
            "Invalid field: process_guid, Invalid field: index"),
      Value("ByProcessGuidsValid", by_guids, &ValidateActualLrpsByProcessGuidsRequest, ""),
      Value("ByProcessGuidsEmpty", v1::ActualLRPsByProcessGuidsRequest(),
            &ValidateActualLrpsByProcessGuidsRequest, "Invalid field: process_guids"),
      Value("UpsertDomainValid", upsert, &ValidateUpsertDomainRequest, ""),
      Value("UpsertDomainEmpty", v1::UpsertDomainRequest(), &ValidateUpsertDomainRequest,
            "Invalid field: domain"),
  };
}

INSTANTIATE_TEST_SUITE_P(Request, ValidationTest, ::testing::ValuesIn(RequestCases()), CaseName);

// --- Predicates -------------------------------------------------------------------------

struct UrlCase {
  std::string url;
  bool valid;
};

class RootfsUrlTest : public ::testing::TestWithParam<UrlCase> {};

TEST_P(RootfsUrlTest, MatchesGoUrlParseWithScheme) {
  EXPECT_EQ(IsValidRootfsUrl(GetParam().url), GetParam().valid) << GetParam().url;
}

INSTANTIATE_TEST_SUITE_P(
    Rootfs, RootfsUrlTest,
    ::testing::Values(UrlCase{"preloaded:cflinuxfs4", true},
                      UrlCase{"preloaded+layer:cflinuxfs4?layer=http://fs/a.tgz&layer_digest=ab",
                              true},
                      UrlCase{"docker:///cloudfoundry/grace#v0.1", true},
                      UrlCase{"docker://registry.example.com:5000/org/image#tag", true},
                      UrlCase{"docker://user:p%40ss@registry.example.com/org/image", true},
                      UrlCase{"docker://[::1]:5000/img", true}, UrlCase{"docker:///a%20b", true},
                      UrlCase{"some:rootfs", true}, UrlCase{"a1+b.c-d:x", true},
                      UrlCase{"docker:///x?%zz", true},  // the query is not decoded by url.Parse
                      UrlCase{"", false}, UrlCase{"ploop", false}, UrlCase{"cflinuxfs4", false},
                      UrlCase{":invalid-url", false}, UrlCase{"1docker:///x", false},
                      UrlCase{"/absolute/path", false}, UrlCase{"docker#frag:x", false},
                      UrlCase{"docker:///x#%zz", false}, UrlCase{"docker:///a%2", false},
                      UrlCase{"docker://host:port/x", false}, UrlCase{"docker://[::1/x", false},
                      UrlCase{"docker://[::1]x/y", false}, UrlCase{"docker://ho st/x", false},
                      UrlCase{"docker://host%41/x", false}, UrlCase{"docker://us er@host/x", false},
                      UrlCase{"docker:///x\n", false}, UrlCase{"docker:///x#a\tb", true},
                      UrlCase{std::string("docker:///\x7f"), false}));

TEST(IsValidGuidTest, FollowsDiegosPattern) {
  EXPECT_TRUE(IsValidGuid("abc-DEF_123"));
  EXPECT_TRUE(IsValidGuid("-"));
  EXPECT_FALSE(IsValidGuid(""));
  EXPECT_FALSE(IsValidGuid("a/b"));
  EXPECT_FALSE(IsValidGuid("a b"));
  EXPECT_FALSE(IsValidGuid("a.b"));
  EXPECT_FALSE(IsValidGuid("caf\xc3\xa9"));
}

TEST(LimitsTest, MatchDiego) {
  EXPECT_EQ(kMaxAnnotationBytes, 10240u);
  EXPECT_EQ(kMaxRoutesBytes, 131072u);
  EXPECT_EQ(kMaxVolumeMountedFilesBytes, 1048576u);
}

// --- Deep action trees ---------------------------------------------------------------

// Builds `levels` Action wrappers nested through `step` (try or serial),
// the innermost holding `leaf`. Arena-allocated: a heap-allocated tree this
// deep would overflow the stack in protobuf's own recursive destructor.
template <typename Step>
v1::Action* NestedActions(google::protobuf::Arena* arena, int levels, const v1::Action& leaf,
                          Step step) {
  auto* root = google::protobuf::Arena::CreateMessage<v1::Action>(arena);
  v1::Action* action = root;
  for (int level = 1; level < levels; ++level) action = step(action);
  *action = leaf;
  return root;
}

// `Run` is hidden inside TEST bodies by testing::Test::Run.
v1::Action RunAction(const std::string& path, const std::string& user) { return Run(path, user); }

v1::Action* ThroughTry(v1::Action* a) { return a->mutable_try_action()->mutable_action(); }
v1::Action* ThroughSerial(v1::Action* a) { return a->mutable_serial_action()->add_actions(); }

TEST(DeepActionTest, ChecksTreesUpToTheBound) {
  google::protobuf::Arena arena;
  EXPECT_THAT(
      ValidateAction(*NestedActions(&arena, kMaxActionDepth, RunAction("ls", "vcap"), ThroughTry)),
      IsOk());
  EXPECT_THAT(
      ValidateAction(*NestedActions(&arena, kMaxActionDepth, RunAction("ls", ""), ThroughSerial)),
      StatusIs(absl::StatusCode::kInvalidArgument, "Invalid field: user"));
}

TEST(DeepActionTest, ReportsTreesNestedBeyondTheBound) {
  google::protobuf::Arena arena;
  EXPECT_EQ(kMaxActionDepth, 100);
  EXPECT_THAT(ValidateAction(
                  *NestedActions(&arena, kMaxActionDepth + 1, RunAction("ls", "vcap"), ThroughTry)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: action nested deeper than 100 levels"));

  // Inside a record the usual "action" marker comes first; other failures
  // are still reported in Diego's order.
  v1::DesiredLRP lrp = ValidDesiredLrp();
  lrp.clear_domain();
  *lrp.mutable_action() = *NestedActions(&arena, 150, RunAction("ls", "vcap"), ThroughSerial);
  const absl::Status status = ValidateDesiredLrp(lrp);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               "Invalid field: domain, Invalid field: domain, "
                               "Invalid field: action, "
                               "Invalid field: action nested deeper than 100 levels"));
  EXPECT_EQ(BbsErrorType(status), v1::Error::InvalidRequest);
}

TEST(DeepActionTest, HostileNestingDoesNotExhaustTheStack) {
  // Validating these recursively, as Go does, overflowed the stack.
  google::protobuf::Arena arena;
  for (auto step : {&ThroughTry, &ThroughSerial}) {
    const v1::Action* action = NestedActions(&arena, 100000, RunAction("", ""), step);
    EXPECT_THAT(ValidateAction(*action),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "Invalid field: action nested deeper than 100 levels"));
    EXPECT_THAT(ValidateMessage(*action), StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

// --- ValidateMessage --------------------------------------------------------------------

TEST(ValidateMessageTest, DispatchesRecordsByType) {
  v1::DesiredLRP lrp = ValidDesiredLrp();
  EXPECT_THAT(ValidateMessage(lrp), IsOk());
  lrp.clear_domain();
  EXPECT_THAT(ValidateMessage(lrp), StatusIs(absl::StatusCode::kInvalidArgument,
                                             "Invalid field: domain, Invalid field: domain"));

  EXPECT_THAT(ValidateMessage(ValidTask()), IsOk());
  EXPECT_THAT(ValidateMessage(v1::Task()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: domain, Invalid field: task_guid, "
                       "Invalid field: task_definition"));
  EXPECT_THAT(ValidateMessage(v1::ActualLRP()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: process_guid, Invalid field: domain, "
                       "Invalid field: since, Invalid field: state"));
  EXPECT_THAT(ValidateMessage(v1::Action()),
              StatusIs(absl::StatusCode::kInvalidArgument, "Invalid field: inner-action"));
}

TEST(ValidateMessageTest, DispatchesIndividualActionsAndParts) {
  EXPECT_THAT(
      ValidateMessage(v1::RunAction()),
      StatusIs(absl::StatusCode::kInvalidArgument, "Invalid field: path, Invalid field: user"));
  EXPECT_THAT(ValidateMessage(v1::DownloadAction()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: from, Invalid field: to, Invalid field: user"));
  EXPECT_THAT(ValidateMessage(v1::UploadAction()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: to, Invalid field: from, Invalid field: user"));
  EXPECT_THAT(ValidateMessage(v1::TimeoutAction()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: action, Invalid field: timeout_ms"));
  EXPECT_THAT(ValidateMessage(v1::EmitProgressAction()),
              StatusIs(absl::StatusCode::kInvalidArgument, "Invalid field: action"));
  EXPECT_THAT(ValidateMessage(v1::TryAction()),
              StatusIs(absl::StatusCode::kInvalidArgument, "Invalid field: action"));
  EXPECT_THAT(ValidateMessage(v1::ParallelAction()),
              StatusIs(absl::StatusCode::kInvalidArgument, "Invalid field: actions"));
  EXPECT_THAT(ValidateMessage(v1::SerialAction()),
              StatusIs(absl::StatusCode::kInvalidArgument, "Invalid field: actions"));
  EXPECT_THAT(ValidateMessage(v1::CodependentAction()),
              StatusIs(absl::StatusCode::kInvalidArgument, "Invalid field: actions"));
  EXPECT_THAT(ValidateMessage(v1::CellCapacity()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: memory_mb, Invalid field: containers"));
  EXPECT_THAT(ValidateMessage(v1::DesiredLRPKey()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: domain, Invalid field: process_guid"));
  EXPECT_THAT(ValidateMessage(v1::VolumeMount()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "invalid volume_mount driver, invalid volume_mount mode"));
  EXPECT_THAT(ValidateMessage(v1::MetricTagValue()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: static, Invalid field: dynamic"));
}

TEST(ValidateMessageTest, DispatchesRequests) {
  EXPECT_THAT(ValidateMessage(v1::StartActualLRPRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: actual_lrp_key, Invalid field: actual_lrp_instance_key, "
                       "Invalid field: actual_lrp_net_info"));
  EXPECT_THAT(ValidateMessage(v1::RejectTaskRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: task_guid, Invalid field: failure_reason"));
  EXPECT_THAT(ValidateMessage(v1::UpsertDomainRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument, "Invalid field: domain"));
  EXPECT_THAT(ValidateMessage(v1::ActualLRPsByProcessGuidsRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument, "Invalid field: process_guids"));
  v1::UpsertDomainRequest upsert;
  upsert.set_domain("cf-apps");
  EXPECT_THAT(ValidateMessage(upsert), IsOk());
}

TEST(ValidateMessageTest, TypesWithoutRulesAreValid) {
  EXPECT_THAT(ValidateMessage(v1::DesiredLRPsRequest()), IsOk());
  EXPECT_THAT(ValidateMessage(v1::ActualLRPsRequest()), IsOk());
  EXPECT_THAT(ValidateMessage(v1::ActualLRPGroupsRequest()), IsOk());
  EXPECT_THAT(ValidateMessage(v1::TasksRequest()), IsOk());
  EXPECT_THAT(ValidateMessage(v1::Error()), IsOk());
  EXPECT_THAT(ValidateMessage(v1::TaskResponse()), IsOk());
  EXPECT_THAT(ValidateMessage(v1::ModificationTag()), IsOk());
}

TEST(ValidateMessageTest, ValidatesDynamicMessagesOfKnownTypes) {
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<google::protobuf::Message> dynamic(
      factory.GetPrototype(v1::StartTaskRequest::descriptor())->New());
  v1::StartTaskRequest request;
  request.set_task_guid("bad guid");
  ASSERT_TRUE(dynamic->ParseFromString(request.SerializeAsString()));
  EXPECT_THAT(ValidateMessage(*dynamic),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid field: task_guid, Invalid field: cell_id"));

  request.set_task_guid("good-guid");
  request.set_cell_id("cell");
  ASSERT_TRUE(dynamic->ParseFromString(request.SerializeAsString()));
  EXPECT_THAT(ValidateMessage(*dynamic), IsOk());
}

TEST(ValidationErrorTest, CarriesInvalidRequestTypeAndCanonicalCode) {
  const absl::Status status = ValidateTaskGuidRequest(v1::TaskGuidRequest());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "Invalid field: task_guid");
  EXPECT_EQ(BbsErrorType(status), v1::Error::InvalidRequest);
}

}  // namespace
}  // namespace diego::model
