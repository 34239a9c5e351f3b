// Encode / decode / validate costs of the BBS model: the protobuf wire form
// (what the BBS API and its SQL rows carry), Diego's Go JSON (tools, logs,
// the JSON columns) and the validation every write goes through.
//
//   ./build/benchmarks/model_benchmark --benchmark_min_time=0.2
//
// Results and the command that produced them: docs/benchmarks.md.

#include <string>

#include "benchmark/benchmark.h"
#include "diego/model/go_json.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/task.pb.h"
#include "diego/model/validation.h"
#include "diego/model/wire.h"

namespace diego::model {
namespace {

// A DesiredLRP of the size Cloud Controller typically desires: a download
// setup, a run action, an HTTP check, routes, egress rules and metric tags.
v1::DesiredLRP MakeDesiredLrp() {
  v1::DesiredLRP lrp;
  lrp.set_process_guid("4e5c1a7e-9f3b-4c8e-8a2d-0b6f1d2c3e4f-a1b2c3d4");
  lrp.set_domain("cf-apps");
  lrp.set_root_fs("preloaded:cflinuxfs4");
  lrp.set_instances(3);
  for (int i = 0; i < 8; ++i) {
    auto* env = lrp.add_environment_variables();
    env->set_name("VAR_" + std::to_string(i));
    env->set_value("value-" + std::to_string(i));
  }
  auto* download = lrp.mutable_setup()->mutable_download_action();
  download->set_from("https://blobstore.example.com/droplets/4e5c1a7e.tgz");
  download->set_to("/home/vcap");
  download->set_cache_key("droplets-4e5c1a7e");
  download->set_user("vcap");
  auto* run = lrp.mutable_action()->mutable_run_action();
  run->set_path("/tmp/lifecycle/launcher");
  run->add_args("app");
  run->add_args("bundle exec rackup config.ru -p $PORT");
  run->set_user("vcap");
  run->mutable_resource_limits()->set_nofile(16384);
  lrp.set_start_timeout_ms(60000);
  auto* check = lrp.mutable_check_definition()->add_checks()->mutable_http_check();
  check->set_port(8080);
  check->set_path("/health");
  lrp.mutable_check_definition()->set_log_source("HEALTH");
  lrp.set_disk_mb(1024);
  lrp.set_memory_mb(256);
  lrp.set_cpu_weight(10);
  lrp.add_ports(8080);
  (*lrp.mutable_routes()->mutable_routes())["cf-router"] =
      R"([{"hostnames":["app.example.com"],"port":8080}])";
  lrp.set_log_guid("4e5c1a7e");
  lrp.set_log_source("CELL");
  auto* rule = lrp.add_egress_rules();
  rule->set_protocol("tcp");
  rule->add_destinations("10.0.0.0-10.255.255.255");
  rule->add_ports(443);
  (*lrp.mutable_metric_tags())["source_id"].set_static_("4e5c1a7e");
  (*lrp.mutable_metric_tags())["instance_id"].set_dynamic(v1::MetricTagValue::INDEX);
  lrp.mutable_modification_tag()->set_epoch("d7a1e4c2-0000-4000-8000-000000000000");
  return lrp;
}

v1::ActualLRP MakeActualLrp() {
  v1::ActualLRP lrp;
  lrp.mutable_actual_lrp_key()->set_process_guid("4e5c1a7e-9f3b-4c8e-8a2d-0b6f1d2c3e4f-a1b2c3d4");
  lrp.mutable_actual_lrp_key()->set_index(2);
  lrp.mutable_actual_lrp_key()->set_domain("cf-apps");
  lrp.mutable_actual_lrp_instance_key()->set_instance_guid("b1c2d3e4-0000-4000-8000-00000000abcd");
  lrp.mutable_actual_lrp_instance_key()->set_cell_id("cell-z1-17");
  lrp.mutable_actual_lrp_net_info()->set_address("10.0.16.17");
  lrp.mutable_actual_lrp_net_info()->set_instance_address("10.254.3.9");
  auto* port = lrp.mutable_actual_lrp_net_info()->add_ports();
  port->set_container_port(8080);
  port->set_host_port(61001);
  lrp.set_state("RUNNING");
  lrp.set_since(1763700000000000000);
  lrp.mutable_modification_tag()->set_epoch("e5f6a7b8-0000-4000-8000-000000000000");
  lrp.mutable_modification_tag()->set_index(4);
  lrp.set_routable(true);
  lrp.set_availability_zone("z1");
  return lrp;
}

template <typename M>
void EncodeProto(benchmark::State& state, const M& message) {
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out = SerializeForWire(message);
    bytes += out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

// Baseline: protobuf's own SerializeToString, without the non-nullable
// check or deterministic map ordering that SerializeForWire adds.
template <typename M>
void EncodeProtoRaw(benchmark::State& state, const M& message) {
  for (auto _ : state) {
    std::string out = message.SerializeAsString();
    benchmark::DoNotOptimize(out);
  }
}

template <typename M>
void DecodeProto(benchmark::State& state, const M& message) {
  const std::string wire = SerializeForWire(message);
  for (auto _ : state) {
    M decoded;
    benchmark::DoNotOptimize(decoded.ParseFromString(wire));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
  state.counters["wire_bytes"] = static_cast<double>(wire.size());
}

template <typename M>
void EncodeJson(benchmark::State& state, const M& message) {
  for (auto _ : state) {
    absl::StatusOr<std::string> json = ToGoJson(message);
    benchmark::DoNotOptimize(json);
  }
}

template <typename M>
void DecodeJson(benchmark::State& state, const M& message) {
  const std::string json = *ToGoJson(message);
  for (auto _ : state) {
    M decoded;
    absl::Status status = FromGoJson(json, &decoded);
    benchmark::DoNotOptimize(status);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
  state.counters["json_bytes"] = static_cast<double>(json.size());
}

void BM_EncodeProto_DesiredLrp(benchmark::State& state) { EncodeProto(state, MakeDesiredLrp()); }
void BM_EncodeProtoRaw_DesiredLrp(benchmark::State& state) {
  EncodeProtoRaw(state, MakeDesiredLrp());
}
void BM_EncodeProtoRaw_ActualLrp(benchmark::State& state) { EncodeProtoRaw(state, MakeActualLrp()); }
void BM_DecodeProto_DesiredLrp(benchmark::State& state) { DecodeProto(state, MakeDesiredLrp()); }
void BM_EncodeGoJson_DesiredLrp(benchmark::State& state) { EncodeJson(state, MakeDesiredLrp()); }
void BM_DecodeGoJson_DesiredLrp(benchmark::State& state) { DecodeJson(state, MakeDesiredLrp()); }
void BM_EncodeProto_ActualLrp(benchmark::State& state) { EncodeProto(state, MakeActualLrp()); }
void BM_DecodeProto_ActualLrp(benchmark::State& state) { DecodeProto(state, MakeActualLrp()); }
void BM_EncodeGoJson_ActualLrp(benchmark::State& state) { EncodeJson(state, MakeActualLrp()); }
void BM_DecodeGoJson_ActualLrp(benchmark::State& state) { DecodeJson(state, MakeActualLrp()); }

void BM_Validate_DesiredLrp(benchmark::State& state) {
  const v1::DesiredLRP lrp = MakeDesiredLrp();
  if (!ValidateDesiredLrp(lrp).ok()) {
    state.SkipWithError("benchmark DesiredLRP does not validate");
    return;
  }
  for (auto _ : state) {
    absl::Status status = ValidateDesiredLrp(lrp);
    benchmark::DoNotOptimize(status);
  }
}

void BM_Validate_ActualLrp(benchmark::State& state) {
  const v1::ActualLRP lrp = MakeActualLrp();
  if (!ValidateActualLrp(lrp).ok()) {
    state.SkipWithError("benchmark ActualLRP does not validate");
    return;
  }
  for (auto _ : state) {
    absl::Status status = ValidateActualLrp(lrp);
    benchmark::DoNotOptimize(status);
  }
}

// The rejection path: every failure of a badly broken record is collected.
void BM_Validate_DesiredLrpInvalid(benchmark::State& state) {
  v1::DesiredLRP lrp = MakeDesiredLrp();
  lrp.set_process_guid("not a guid!");
  lrp.set_domain("");
  lrp.set_root_fs("ploop");
  lrp.set_memory_mb(-1);
  lrp.clear_action();
  for (auto _ : state) {
    absl::Status status = ValidateDesiredLrp(lrp);
    benchmark::DoNotOptimize(status);
  }
}

BENCHMARK(BM_EncodeProto_DesiredLrp);
BENCHMARK(BM_EncodeProtoRaw_DesiredLrp);
BENCHMARK(BM_DecodeProto_DesiredLrp);
BENCHMARK(BM_EncodeGoJson_DesiredLrp);
BENCHMARK(BM_DecodeGoJson_DesiredLrp);
BENCHMARK(BM_Validate_DesiredLrp);
BENCHMARK(BM_Validate_DesiredLrpInvalid);
BENCHMARK(BM_EncodeProto_ActualLrp);
BENCHMARK(BM_EncodeProtoRaw_ActualLrp);
BENCHMARK(BM_DecodeProto_ActualLrp);
BENCHMARK(BM_EncodeGoJson_ActualLrp);
BENCHMARK(BM_DecodeGoJson_ActualLrp);
BENCHMARK(BM_Validate_ActualLrp);

}  // namespace
}  // namespace diego::model
