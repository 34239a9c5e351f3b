#include "json_codec.h"

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "diego/garden/errors.h"
#include "diego/garden/spec.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::garden {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::HasSubstr;
using json_codec::FromJson;
using json_codec::Json;
using json_codec::Parse;
using json_codec::ToJson;

Json J(const char* text) { return Json::parse(text); }

ContainerSpec FullContainerSpec() {
  ContainerSpec spec;
  spec.handle = "app-guid-0";
  spec.grace_time = absl::Seconds(5);
  spec.rootfs_path = "/var/rootfs";
  spec.image = {.uri = "docker:///busybox", .username = "u", .password = "p"};
  spec.bind_mounts = {{.src_path = "/host/a",
                       .dst_path = "/a",
                       .mode = BindMountMode::kReadWrite,
                       .origin = BindMountOrigin::kContainer},
                      {.src_path = "/host/b", .dst_path = "/b"}};
  spec.network = "10.254.0.8/30";
  spec.properties = {{"executor:owner", "rep"}, {"k", "v"}};
  spec.env = {"A=1", "B=2"};
  spec.privileged = true;
  spec.limits.bandwidth = {.rate_in_bytes_per_second = 100, .burst_rate_in_bytes_per_second = 200};
  spec.limits.cpu = {.weight = 512, .limit_in_shares = 256};
  spec.limits.disk = {.inode_soft = 1,
                      .inode_hard = 2,
                      .byte_soft = 3,
                      .byte_hard = 4,
                      .scope = DiskLimitScope::kExclusive};
  spec.limits.memory.limit_in_bytes = 1 << 30;
  spec.limits.pid.max = 1024;
  NetOutRule rule;
  rule.protocol = Protocol::kTcp;
  rule.networks = {{.start = "10.0.0.1", .end = "10.0.0.255"}};
  rule.ports = {{.start = 80, .end = 443}};
  rule.log = true;
  NetOutRule icmp;
  icmp.protocol = Protocol::kIcmp;
  icmp.icmps = IcmpControl{.type = 8, .code = 0};
  spec.net_out = {rule, icmp};
  spec.net_in = {{.host_port = 0, .container_port = 8080}, {.host_port = 61005, .container_port = 22}};
  return spec;
}

TEST(JsonCodecTest, ContainerSpecUsesGardensTagNames) {
  Json j = ToJson(FullContainerSpec());
  EXPECT_EQ(j, J(R"({
    "handle": "app-guid-0",
    "grace_time": 5000000000,
    "rootfs": "/var/rootfs",
    "image": {"uri": "docker:///busybox", "username": "u", "password": "p"},
    "bind_mounts": [
      {"src_path": "/host/a", "dst_path": "/a", "mode": 1, "origin": 1},
      {"src_path": "/host/b", "dst_path": "/b"}
    ],
    "network": "10.254.0.8/30",
    "properties": {"executor:owner": "rep", "k": "v"},
    "env": ["A=1", "B=2"],
    "privileged": true,
    "limits": {
      "bandwidth_limits": {"rate": 100, "burst": 200},
      "cpu_limits": {"weight": 512, "limit_in_shares": 256},
      "disk_limits": {"inode_soft": 1, "inode_hard": 2, "byte_soft": 3, "byte_hard": 4,
                      "scope": 1},
      "memory_limits": {"limit_in_bytes": 1073741824},
      "pid_limits": {"max": 1024}
    },
    "netout_rules": [
      {"protocol": 1, "networks": [{"start": "10.0.0.1", "end": "10.0.0.255"}],
       "ports": [{"start": 80, "end": 443}], "log": true},
      {"protocol": 3, "icmps": {"type": 8, "code": 0}}
    ],
    "netin": [{"host_port": 0, "container_port": 8080},
              {"host_port": 61005, "container_port": 22}]
  })"))
      << j.dump(2);
}

TEST(JsonCodecTest, EmptyContainerSpecEncodesLikeGo) {
  // omitempty scalars vanish; nested structs are always written.
  EXPECT_EQ(ToJson(ContainerSpec()), J(R"({
    "image": {},
    "limits": {"bandwidth_limits": {}, "cpu_limits": {}, "disk_limits": {},
               "memory_limits": {}, "pid_limits": {}}
  })"));
}

TEST(JsonCodecTest, ContainerSpecRoundTrips) {
  ContainerSpec spec = FullContainerSpec();
  ContainerSpec back;
  ASSERT_THAT(FromJson(ToJson(spec), &back), IsOk());
  EXPECT_EQ(back, spec);
  ContainerSpec empty;
  ASSERT_THAT(FromJson(ToJson(ContainerSpec()), &empty), IsOk());
  EXPECT_EQ(empty, ContainerSpec());
}

TEST(JsonCodecTest, DecodeIgnoresUnknownKeysAndTreatsNullAsMissing) {
  ContainerSpec spec;
  ASSERT_THAT(FromJson(J(R"({"handle": "h", "future_field": {"x": 1}, "env": null,
                              "limits": null, "properties": null})"),
                       &spec),
              IsOk());
  EXPECT_EQ(spec.handle, "h");
  EXPECT_TRUE(spec.env.empty());
}

TEST(JsonCodecTest, DecodeErrorsNameTheFieldPath) {
  ContainerSpec spec;
  EXPECT_THAT(FromJson(J(R"({"limits": {"memory_limits": {"limit_in_bytes": "1G"}}})"), &spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "limits.memory_limits.limit_in_bytes: expected an unsigned integer"));
  EXPECT_THAT(FromJson(J(R"({"limits": {"memory_limits": {"limit_in_bytes": -1}}})"), &spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "limits.memory_limits.limit_in_bytes: expected an unsigned integer"));
  EXPECT_THAT(FromJson(J(R"({"netout_rules": [{}, {"ports": [{"start": 1}, {"start": 70000}]}]})"),
                       &spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "netout_rules[1].ports[1].start: 70000 is out of range (at most 65535)"));
  EXPECT_THAT(FromJson(J(R"({"handle": 7})"), &spec),
              StatusIs(absl::StatusCode::kInvalidArgument, "handle: expected a string"));
  EXPECT_THAT(FromJson(J(R"({"env": ["A=1", 2]})"), &spec),
              StatusIs(absl::StatusCode::kInvalidArgument, "env[1]: expected a string"));
  EXPECT_THAT(FromJson(J(R"({"properties": {"k": 1}})"), &spec),
              StatusIs(absl::StatusCode::kInvalidArgument, "properties.k: expected a string"));
  EXPECT_THAT(FromJson(J(R"({"privileged": "yes"})"), &spec),
              StatusIs(absl::StatusCode::kInvalidArgument, "privileged: expected a boolean"));
  EXPECT_THAT(FromJson(J(R"({"grace_time": 1.5})"), &spec),
              StatusIs(absl::StatusCode::kInvalidArgument, "grace_time: expected an integer"));
  EXPECT_THAT(FromJson(J(R"({"bind_mounts": [{"mode": 2}]})"), &spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bind_mounts[0].mode")));
  EXPECT_THAT(FromJson(J(R"({"netout_rules": [{"protocol": 9}]})"), &spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("netout_rules[0].protocol")));
  EXPECT_THAT(FromJson(J(R"({"image": []})"), &spec),
              StatusIs(absl::StatusCode::kInvalidArgument, "image: expected an object"));
  EXPECT_THAT(FromJson(J(R"([1])"), &spec),
              StatusIs(absl::StatusCode::kInvalidArgument, "(root): expected an object"));
}

TEST(JsonCodecTest, FailedDecodeLeavesOutputUnchanged) {
  ContainerSpec spec;
  spec.handle = "keep";
  EXPECT_FALSE(FromJson(J(R"({"handle": "new", "env": 3})"), &spec).ok());
  EXPECT_EQ(spec.handle, "keep");
}

TEST(JsonCodecTest, GraceTimeIsGoNanoseconds) {
  ContainerSpec spec;
  ASSERT_THAT(FromJson(J(R"({"grace_time": 1500000})"), &spec), IsOk());
  EXPECT_EQ(spec.grace_time, absl::Microseconds(1500));
}

TEST(JsonCodecTest, ProcessSpecUsesGardensTagNames) {
  ProcessSpec spec;
  spec.id = "pid-1";
  spec.path = "/bin/sh";
  spec.args = {"-c", "echo hi"};
  spec.env = {"X=1"};
  spec.dir = "/home/vcap";
  spec.user = "vcap";
  spec.rlimits.nofile = 1024;
  spec.rlimits.core = 0;
  spec.limits.cpu.weight = 10;
  spec.limits.memory.limit_in_bytes = 4096;
  spec.tty = TtySpec{.window_size = WindowSize{.columns = 80, .rows = 24}};
  spec.image.uri = "/sidecar";
  spec.bind_mounts = {{.src_path = "/s", .dst_path = "/d"}};
  Json j = ToJson(spec);
  EXPECT_EQ(j, J(R"({
    "id": "pid-1", "path": "/bin/sh", "args": ["-c", "echo hi"], "env": ["X=1"],
    "dir": "/home/vcap", "user": "vcap",
    "rlimits": {"core": 0, "nofile": 1024},
    "limits": {"cpu_limits": {"weight": 10}, "memory_limits": {"limit_in_bytes": 4096}},
    "tty": {"window_size": {"columns": 80, "rows": 24}},
    "image": {"uri": "/sidecar"},
    "bind_mounts": [{"src_path": "/s", "dst_path": "/d"}]
  })")) << j.dump(2);
  ProcessSpec back;
  ASSERT_THAT(FromJson(j, &back), IsOk());
  EXPECT_EQ(back, spec);
}

TEST(JsonCodecTest, MinimalProcessSpecOmitsPointersAndKeepsStructs) {
  ProcessSpec spec;
  spec.path = "ls";
  EXPECT_EQ(ToJson(spec), J(R"({"path": "ls", "rlimits": {}, "image": {}})"));
  ProcessSpec back;
  ASSERT_THAT(FromJson(ToJson(spec), &back), IsOk());
  EXPECT_FALSE(back.tty.has_value());
  EXPECT_EQ(back, spec);
}

TEST(JsonCodecTest, RlimitsAllFifteenNamesRoundTrip) {
  ResourceLimits r{.as = 1, .core = 2, .cpu = 3, .data = 4, .fsize = 5, .locks = 6,
                   .memlock = 7, .msgqueue = 8, .nice = 9, .nofile = 10, .nproc = 11,
                   .rss = 12, .rtprio = 13, .sigpending = 14, .stack = 15};
  EXPECT_EQ(ToJson(r), J(R"({"as":1,"core":2,"cpu":3,"data":4,"fsize":5,"locks":6,"memlock":7,
    "msgqueue":8,"nice":9,"nofile":10,"nproc":11,"rss":12,"rtprio":13,"sigpending":14,
    "stack":15})"));
  ResourceLimits back;
  ASSERT_THAT(FromJson(ToJson(r), &back), IsOk());
  EXPECT_EQ(back, r);
  EXPECT_THAT(FromJson(J(R"({"nproc": "many"})"), &back),
              StatusIs(absl::StatusCode::kInvalidArgument, "nproc: expected an unsigned integer"));
}

TEST(JsonCodecTest, TtySpec) {
  EXPECT_EQ(ToJson(TtySpec()), J("{}"));
  TtySpec tty;
  ASSERT_THAT(FromJson(J(R"({"window_size": {"columns": 100}})"), &tty), IsOk());
  ASSERT_TRUE(tty.window_size.has_value());
  EXPECT_EQ(tty.window_size->columns, 100);
  EXPECT_EQ(tty.window_size->rows, 0);
  EXPECT_THAT(FromJson(J(R"({"window_size": {"rows": 70000}})"), &tty),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("window_size.rows")));
}

TEST(JsonCodecTest, NetOutRuleRoundTripsAndOmitsEmpty) {
  NetOutRule all;
  EXPECT_EQ(ToJson(all), J("{}"));
  NetOutRule r;
  r.protocol = Protocol::kUdp;
  r.networks = {{.start = "1.2.3.4", .end = "1.2.3.4"}};
  r.icmps = IcmpControl{.type = 3};
  NetOutRule back;
  ASSERT_THAT(FromJson(ToJson(r), &back), IsOk());
  EXPECT_EQ(back, r);
  EXPECT_FALSE(back.icmps->code.has_value());
  EXPECT_EQ(ToJson(r)["icmps"], J(R"({"type": 3})"));
}

TEST(JsonCodecTest, ContainerInfoUsesGoFieldNames) {
  ContainerInfo info;
  info.state = "active";
  info.events = {"out of memory"};
  info.host_ip = "10.254.0.1";
  info.container_ip = "10.254.0.2";
  info.external_ip = "192.168.1.5";
  info.container_path = "/depot/h";
  info.process_ids = {"p1"};
  info.properties = {{"a", "b"}};
  info.mapped_ports = {{.host_port = 61001, .container_port = 8080}};
  Json j = ToJson(info);
  EXPECT_EQ(j, J(R"({
    "State": "active", "Events": ["out of memory"], "HostIP": "10.254.0.1",
    "ContainerIP": "10.254.0.2", "ContainerIPv6": "", "ExternalIP": "192.168.1.5",
    "ContainerPath": "/depot/h", "ProcessIDs": ["p1"], "Properties": {"a": "b"},
    "MappedPorts": [{"HostPort": 61001, "ContainerPort": 8080}]
  })")) << j.dump(2);
  ContainerInfo back;
  ASSERT_THAT(FromJson(j, &back), IsOk());
  EXPECT_EQ(back, info);
}

TEST(JsonCodecTest, ContainerInfoAcceptsGoNulls) {
  // A Go server sends nil slices and maps as null.
  ContainerInfo info;
  ASSERT_THAT(FromJson(J(R"({"State": "stopped", "Events": null, "ProcessIDs": null,
                              "Properties": null, "MappedPorts": null})"),
                       &info),
              IsOk());
  EXPECT_EQ(info.state, "stopped");
  EXPECT_THAT(FromJson(J(R"({"MappedPorts": [{"HostPort": -1}]})"), &info),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "MappedPorts[0].HostPort: expected an unsigned integer"));
}

TEST(JsonCodecTest, MetricsUsesGoFieldNamesAndMemoryStatTags) {
  Metrics m;
  m.memory.cache = 1;
  m.memory.rss = 2;
  m.memory.total_usage_toward_limit = 3;
  m.memory.hierarchical_memsw_limit = 4;
  m.cpu = {.usage = 10, .user = 6, .system = 4};
  m.disk = {.total_bytes_used = 1, .total_inodes_used = 2, .exclusive_bytes_used = 3,
            .exclusive_inodes_used = 4};
  m.network = ContainerNetworkStat{.rx_bytes = 5, .tx_bytes = 6};
  m.pid = {.current = 7, .max = 8};
  m.age = absl::Seconds(2);
  m.cpu_entitlement = 99;
  Json j = ToJson(m);
  EXPECT_EQ(j["MemoryStat"]["cache"], 1);
  EXPECT_EQ(j["MemoryStat"]["rss"], 2);
  EXPECT_EQ(j["MemoryStat"]["TotalUsageTowardLimit"], 3);
  EXPECT_EQ(j["MemoryStat"]["hierarchical_memsw_limit"], 4);
  EXPECT_EQ(j["MemoryStat"]["active_anon"], 0);  // no omitempty on memory stats
  EXPECT_EQ(j["CPUStat"], J(R"({"Usage": 10, "User": 6, "System": 4})"));
  EXPECT_EQ(j["DiskStat"], J(R"({"TotalBytesUsed": 1, "TotalInodesUsed": 2,
                                  "ExclusiveBytesUsed": 3, "ExclusiveInodesUsed": 4})"));
  EXPECT_EQ(j["NetworkStat"], J(R"({"RxBytes": 5, "TxBytes": 6})"));
  EXPECT_EQ(j["PidStat"], J(R"({"Current": 7, "Max": 8})"));
  EXPECT_EQ(j["Age"], 2000000000);
  EXPECT_EQ(j["CPUEntitlement"], 99);
  Metrics back;
  ASSERT_THAT(FromJson(j, &back), IsOk());
  EXPECT_EQ(back, m);
}

TEST(JsonCodecTest, MetricsWithoutNetworkStat) {
  Metrics m;
  Json j = ToJson(m);
  EXPECT_TRUE(j["NetworkStat"].is_null());
  Metrics back;
  ASSERT_THAT(FromJson(j, &back), IsOk());
  EXPECT_FALSE(back.network.has_value());
  EXPECT_THAT(FromJson(J(R"({"CPUStat": {"User": "x"}})"), &back),
              StatusIs(absl::StatusCode::kInvalidArgument, "CPUStat.User: expected an unsigned integer"));
}

TEST(JsonCodecTest, Capacity) {
  Capacity c{.memory_in_bytes = 1, .disk_in_bytes = 2, .schedulable_disk_in_bytes = 3,
             .max_containers = 250};
  EXPECT_EQ(ToJson(c), J(R"({"memory_in_bytes": 1, "disk_in_bytes": 2,
                             "schedulable_disk_in_bytes": 3, "max_containers": 250})"));
  Capacity back;
  ASSERT_THAT(FromJson(ToJson(c), &back), IsOk());
  EXPECT_EQ(back, c);
  EXPECT_EQ(ToJson(Capacity()), J("{}"));
}

TEST(JsonCodecTest, LimitGetterReplies) {
  EXPECT_EQ(ToJson(BandwidthLimits{.rate_in_bytes_per_second = 1}), J(R"({"rate": 1})"));
  EXPECT_EQ(ToJson(CpuLimits{.limit_in_shares = 2}), J(R"({"limit_in_shares": 2})"));
  EXPECT_EQ(ToJson(DiskLimits{.byte_hard = 3}), J(R"({"byte_hard": 3})"));
  EXPECT_EQ(ToJson(MemoryLimits{.limit_in_bytes = 4}), J(R"({"limit_in_bytes": 4})"));
  BandwidthLimits b;
  ASSERT_THAT(FromJson(J(R"({"rate": 5, "burst": 6})"), &b), IsOk());
  EXPECT_EQ(b.burst_rate_in_bytes_per_second, 6u);
  CpuLimits cpu;
  ASSERT_THAT(FromJson(J(R"({"weight": 7})"), &cpu), IsOk());
  EXPECT_EQ(cpu.weight, 7u);
  DiskLimits d;
  ASSERT_THAT(FromJson(J(R"({"inode_hard": 8, "scope": 1})"), &d), IsOk());
  EXPECT_EQ(d.scope, DiskLimitScope::kExclusive);
  MemoryLimits mem;
  EXPECT_THAT(FromJson(J(R"({"limit_in_bytes": true})"), &mem),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit_in_bytes")));
}

TEST(JsonCodecTest, NetInAndPortMapping) {
  EXPECT_EQ(ToJson(NetInSpec{}), J(R"({"host_port": 0, "container_port": 0})"));
  NetInSpec n;
  ASSERT_THAT(FromJson(J(R"({"host_port": 61001, "container_port": 8080})"), &n), IsOk());
  EXPECT_EQ(n, (NetInSpec{61001, 8080}));
  PortMapping p;
  ASSERT_THAT(FromJson(ToJson(PortMapping{1, 2}), &p), IsOk());
  EXPECT_EQ(p, (PortMapping{1, 2}));
}

TEST(JsonCodecTest, ErrorInfoUsesGardensErrorJson) {
  ErrorInfo info = GetErrorInfo(ContainerNotFoundError("h"));
  EXPECT_EQ(ToJson(info), J(R"({"Type": "ContainerNotFoundError", "Message": "unknown handle: h",
                                "Handle": "h", "ProcessID": ""})"));
  ErrorInfo back;
  ASSERT_THAT(FromJson(J(R"({"Type": "ProcessNotFoundError", "Message": "unknown process: p",
                              "Handle": "", "ProcessID": "p", "Binary": ""})"),
                       &back),
              IsOk());
  EXPECT_EQ(back.type, "ProcessNotFoundError");
  EXPECT_EQ(back.process_id, "p");
}

TEST(JsonCodecTest, ParseReportsMalformedInput) {
  ASSERT_THAT(Parse(R"({"a": 1})"), IsOk());
  EXPECT_EQ((*Parse(R"({"a": [1, 2]})"))["a"][1], 2);
  EXPECT_THAT(Parse("{\"a\": "), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("invalid JSON")));
  EXPECT_THAT(Parse(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace diego::garden
