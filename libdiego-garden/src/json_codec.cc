// Copyright 2026 The libdiego Authors.
//
// Garden's JSON (code.cloudfoundry.org/garden: client.go, container.go,
// net_out_rule.go, net_in.go, errors.go). Encoding follows encoding/json with
// Garden's struct tags: `omitempty` scalars and slices are left out when
// zero/empty, nested structs are always written (omitempty does not apply to
// them in Go), pointers are left out when nil. Decoding accepts anything Go
// would produce: missing keys and nulls keep the defaults, unknown keys are
// ignored, a value of the wrong type is an error naming its path.

#include "json_codec.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"

namespace diego::garden::json_codec {
namespace {

// --- Paths -------------------------------------------------------------------

std::string Join(const std::string& path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

std::string Index(const std::string& path, size_t i) { return absl::StrCat(path, "[", i, "]"); }

absl::Status TypeError(const std::string& path, absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(path.empty() ? "(root)" : path, ": expected ", expected));
}

// The value of `key` in object `obj`; nullptr when absent or null.
const Json* Field(const Json& obj, absl::string_view key) {
  auto it = obj.find(std::string(key));
  if (it == obj.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

// --- Scalars -----------------------------------------------------------------

absl::Status CheckObject(const Json& j, const std::string& path) {
  if (!j.is_object()) {
    return TypeError(path, "an object");
  }
  return absl::OkStatus();
}

absl::Status DecodeUint(const Json& j, const std::string& path, uint64_t max, uint64_t* out) {
  // Parsed non-negative integers are "unsigned"; values built in C++ from a
  // signed type are "integer" and acceptable when not negative.
  uint64_t v;
  if (j.is_number_unsigned()) {
    v = j.get<uint64_t>();
  } else if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    v = static_cast<uint64_t>(j.get<int64_t>());
  } else {
    return TypeError(path, "an unsigned integer");
  }
  if (v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", v, " is out of range (at most ", max, ")"));
  }
  *out = v;
  return absl::OkStatus();
}

// Reads an unsigned field of `obj` into *out (of any unsigned type).
template <typename T>
absl::Status ReadUint(const Json& obj, const std::string& path, absl::string_view key, T* out) {
  const Json* j = Field(obj, key);
  if (j == nullptr) {
    return absl::OkStatus();
  }
  uint64_t v;
  DIEGO_RETURN_IF_ERROR(DecodeUint(*j, Join(path, key), std::numeric_limits<T>::max(), &v));
  *out = static_cast<T>(v);
  return absl::OkStatus();
}

// ReadUint into an optional, set only when the field is present.
template <typename T>
absl::Status ReadOptionalUint(const Json& obj, const std::string& path, absl::string_view key,
                              std::optional<T>* out) {
  if (Field(obj, key) == nullptr) {
    return absl::OkStatus();
  }
  T v{};
  DIEGO_RETURN_IF_ERROR(ReadUint(obj, path, key, &v));
  *out = v;
  return absl::OkStatus();
}

absl::Status ReadInt(const Json& obj, const std::string& path, absl::string_view key,
                     int64_t* out) {
  const Json* j = Field(obj, key);
  if (j == nullptr) {
    return absl::OkStatus();
  }
  if (!j->is_number_integer()) {
    return TypeError(Join(path, key), "an integer");
  }
  if (j->is_number_unsigned() &&
      j->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError(absl::StrCat(Join(path, key), ": out of range for int64"));
  }
  *out = j->get<int64_t>();
  return absl::OkStatus();
}

// A Go time.Duration: int64 nanoseconds.
absl::Status ReadDuration(const Json& obj, const std::string& path, absl::string_view key,
                          absl::Duration* out) {
  int64_t ns = 0;
  if (Field(obj, key) == nullptr) {
    return absl::OkStatus();
  }
  DIEGO_RETURN_IF_ERROR(ReadInt(obj, path, key, &ns));
  *out = absl::Nanoseconds(ns);
  return absl::OkStatus();
}

// Reads a field whose JSON type `is_type` accepts (`expected` names it).
template <typename T>
absl::Status ReadScalar(const Json& obj, const std::string& path, absl::string_view key,
                        bool (Json::*is_type)() const noexcept, absl::string_view expected,
                        T* out) {
  const Json* j = Field(obj, key);
  if (j == nullptr) {
    return absl::OkStatus();
  }
  if (!(j->*is_type)()) {
    return TypeError(Join(path, key), expected);
  }
  *out = j->get<T>();
  return absl::OkStatus();
}

absl::Status ReadString(const Json& obj, const std::string& path, absl::string_view key,
                        std::string* out) {
  return ReadScalar(obj, path, key, &Json::is_string, "a string", out);
}

absl::Status ReadBool(const Json& obj, const std::string& path, absl::string_view key,
                      bool* out) {
  return ReadScalar(obj, path, key, &Json::is_boolean, "a boolean", out);
}

absl::Status ReadStrings(const Json& obj, const std::string& path, absl::string_view key,
                         std::vector<std::string>* out) {
  const Json* j = Field(obj, key);
  if (j == nullptr) {
    return absl::OkStatus();
  }
  const std::string p = Join(path, key);
  if (!j->is_array()) {
    return TypeError(p, "an array of strings");
  }
  std::vector<std::string> v;
  for (size_t i = 0; i < j->size(); ++i) {
    if (!(*j)[i].is_string()) {
      return TypeError(Index(p, i), "a string");
    }
    v.push_back((*j)[i].get<std::string>());
  }
  *out = std::move(v);
  return absl::OkStatus();
}

absl::Status ReadProperties(const Json& obj, const std::string& path, absl::string_view key,
                            Properties* out) {
  const Json* j = Field(obj, key);
  if (j == nullptr) {
    return absl::OkStatus();
  }
  const std::string p = Join(path, key);
  if (!j->is_object()) {
    return TypeError(p, "an object of strings");
  }
  Properties props;
  for (auto it = j->begin(); it != j->end(); ++it) {
    if (!it.value().is_string()) {
      return TypeError(Join(p, it.key()), "a string");
    }
    props[it.key()] = it.value().get<std::string>();
  }
  *out = std::move(props);
  return absl::OkStatus();
}

// Reads an array of objects with `decode(element, element_path, &value)`.
template <typename T, typename Decode>
absl::Status ReadArray(const Json& obj, const std::string& path, absl::string_view key,
                       std::vector<T>* out, Decode decode) {
  const Json* j = Field(obj, key);
  if (j == nullptr) {
    return absl::OkStatus();
  }
  const std::string p = Join(path, key);
  if (!j->is_array()) {
    return TypeError(p, "an array");
  }
  std::vector<T> v(j->size());
  for (size_t i = 0; i < j->size(); ++i) {
    DIEGO_RETURN_IF_ERROR(decode((*j)[i], Index(p, i), &v[i]));
  }
  *out = std::move(v);
  return absl::OkStatus();
}

// Reads a nested object with `decode(value, path, out)`.
template <typename T, typename Decode>
absl::Status ReadObject(const Json& obj, const std::string& path, absl::string_view key, T* out,
                        Decode decode) {
  const Json* j = Field(obj, key);
  if (j == nullptr) {
    return absl::OkStatus();
  }
  return decode(*j, Join(path, key), out);
}

// ReadObject into an optional, set only when the field is present.
template <typename T, typename Decode>
absl::Status ReadOptionalObject(const Json& obj, const std::string& path, absl::string_view key,
                                std::optional<T>* out, Decode decode) {
  const Json* j = Field(obj, key);
  if (j == nullptr) {
    return absl::OkStatus();
  }
  T value;
  DIEGO_RETURN_IF_ERROR(decode(*j, Join(path, key), &value));
  *out = std::move(value);
  return absl::OkStatus();
}

// Writers for Go's `omitempty`.
void PutString(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) {
    j[key] = v;
  }
}
void PutUint(Json& j, const char* key, uint64_t v) {
  if (v != 0) {
    j[key] = v;
  }
}
void PutStrings(Json& j, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) {
    j[key] = v;
  }
}
// Writes `v` as an array of `encode(element)`, left out when empty.
template <typename T, typename Encode>
void PutArray(Json& j, const char* key, const std::vector<T>& v, Encode encode) {
  if (v.empty()) {
    return;
  }
  Json a = Json::array();
  for (const T& element : v) {
    a.push_back(encode(element));
  }
  j[key] = std::move(a);
}

// --- Per-type codecs (path-aware) ---------------------------------------------

Json EncodeImage(const ImageRef& v) {
  Json j = Json::object();
  PutString(j, "uri", v.uri);
  PutString(j, "username", v.username);
  PutString(j, "password", v.password);
  return j;
}

absl::Status DecodeImage(const Json& j, const std::string& path, ImageRef* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "uri", &out->uri));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "username", &out->username));
  return ReadString(j, path, "password", &out->password);
}

Json EncodeBindMount(const BindMount& v) {
  Json j = Json::object();
  PutString(j, "src_path", v.src_path);
  PutString(j, "dst_path", v.dst_path);
  PutUint(j, "mode", static_cast<uint64_t>(v.mode));
  PutUint(j, "origin", static_cast<uint64_t>(v.origin));
  return j;
}

absl::Status DecodeBindMount(const Json& j, const std::string& path, BindMount* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "src_path", &out->src_path));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "dst_path", &out->dst_path));
  uint8_t mode = 0;
  uint8_t origin = 0;
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "mode", &mode));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "origin", &origin));
  if (mode > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(Join(path, "mode"), ": ", mode, " is not 0 (read-only) or 1 (read-write)"));
  }
  if (origin > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        Join(path, "origin"), ": ", origin, " is not 0 (host) or 1 (container)"));
  }
  out->mode = static_cast<BindMountMode>(mode);
  out->origin = static_cast<BindMountOrigin>(origin);
  return absl::OkStatus();
}

Json EncodeBandwidth(const BandwidthLimits& v) {
  Json j = Json::object();
  PutUint(j, "rate", v.rate_in_bytes_per_second);
  PutUint(j, "burst", v.burst_rate_in_bytes_per_second);
  return j;
}

absl::Status DecodeBandwidth(const Json& j, const std::string& path, BandwidthLimits* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "rate", &out->rate_in_bytes_per_second));
  return ReadUint(j, path, "burst", &out->burst_rate_in_bytes_per_second);
}

Json EncodeCpu(const CpuLimits& v) {
  Json j = Json::object();
  PutUint(j, "weight", v.weight);
  PutUint(j, "limit_in_shares", v.limit_in_shares);
  return j;
}

absl::Status DecodeCpu(const Json& j, const std::string& path, CpuLimits* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "weight", &out->weight));
  return ReadUint(j, path, "limit_in_shares", &out->limit_in_shares);
}

Json EncodeDisk(const DiskLimits& v) {
  Json j = Json::object();
  PutUint(j, "inode_soft", v.inode_soft);
  PutUint(j, "inode_hard", v.inode_hard);
  PutUint(j, "byte_soft", v.byte_soft);
  PutUint(j, "byte_hard", v.byte_hard);
  PutUint(j, "scope", static_cast<uint64_t>(v.scope));
  return j;
}

absl::Status DecodeDisk(const Json& j, const std::string& path, DiskLimits* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "inode_soft", &out->inode_soft));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "inode_hard", &out->inode_hard));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "byte_soft", &out->byte_soft));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "byte_hard", &out->byte_hard));
  uint8_t scope = 0;
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "scope", &scope));
  if (scope > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        Join(path, "scope"), ": ", scope, " is not 0 (total) or 1 (exclusive)"));
  }
  out->scope = static_cast<DiskLimitScope>(scope);
  return absl::OkStatus();
}

Json EncodeMemory(const MemoryLimits& v) {
  Json j = Json::object();
  PutUint(j, "limit_in_bytes", v.limit_in_bytes);
  return j;
}

absl::Status DecodeMemory(const Json& j, const std::string& path, MemoryLimits* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  return ReadUint(j, path, "limit_in_bytes", &out->limit_in_bytes);
}

Json EncodePid(const PidLimits& v) {
  Json j = Json::object();
  PutUint(j, "max", v.max);
  return j;
}

absl::Status DecodePid(const Json& j, const std::string& path, PidLimits* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  return ReadUint(j, path, "max", &out->max);
}

Json EncodeLimits(const Limits& v) {
  return Json{{"bandwidth_limits", EncodeBandwidth(v.bandwidth)},
              {"cpu_limits", EncodeCpu(v.cpu)},
              {"disk_limits", EncodeDisk(v.disk)},
              {"memory_limits", EncodeMemory(v.memory)},
              {"pid_limits", EncodePid(v.pid)}};
}

absl::Status DecodeLimits(const Json& j, const std::string& path, Limits* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "bandwidth_limits", &out->bandwidth, DecodeBandwidth));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "cpu_limits", &out->cpu, DecodeCpu));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "disk_limits", &out->disk, DecodeDisk));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "memory_limits", &out->memory, DecodeMemory));
  return ReadObject(j, path, "pid_limits", &out->pid, DecodePid);
}

Json EncodeNetIn(const NetInSpec& v) {
  // No omitempty on garden.NetIn.
  return Json{{"host_port", v.host_port}, {"container_port", v.container_port}};
}

absl::Status DecodeNetIn(const Json& j, const std::string& path, NetInSpec* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "host_port", &out->host_port));
  return ReadUint(j, path, "container_port", &out->container_port);
}

Json EncodeRule(const NetOutRule& v) {
  Json j = Json::object();
  PutUint(j, "protocol", static_cast<uint64_t>(v.protocol));
  PutArray(j, "networks", v.networks, [](const IpRange& r) {
    Json n = Json::object();
    PutString(n, "start", r.start);
    PutString(n, "end", r.end);
    return n;
  });
  PutArray(j, "ports", v.ports, [](const PortRange& r) {
    Json p = Json::object();
    PutUint(p, "start", r.start);
    PutUint(p, "end", r.end);
    return p;
  });
  if (v.icmps.has_value()) {
    Json icmps = Json::object();
    PutUint(icmps, "type", static_cast<uint64_t>(v.icmps->type));
    if (v.icmps->code.has_value()) {
      icmps["code"] = *v.icmps->code;
    }
    j["icmps"] = std::move(icmps);
  }
  if (v.log) {
    j["log"] = true;
  }
  return j;
}

absl::Status DecodeIpRange(const Json& j, const std::string& path, IpRange* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "start", &out->start));
  return ReadString(j, path, "end", &out->end);
}

absl::Status DecodePortRange(const Json& j, const std::string& path, PortRange* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "start", &out->start));
  return ReadUint(j, path, "end", &out->end);
}

absl::Status DecodeIcmp(const Json& j, const std::string& path, IcmpControl* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  // Garden's ICMPType and ICMPCode are uint8.
  uint8_t type = 0;
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "type", &type));
  out->type = type;
  std::optional<uint8_t> code;
  DIEGO_RETURN_IF_ERROR(ReadOptionalUint(j, path, "code", &code));
  if (code.has_value()) {
    out->code = *code;
  }
  return absl::OkStatus();
}

absl::Status DecodeRule(const Json& j, const std::string& path, NetOutRule* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  uint8_t protocol = 0;
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "protocol", &protocol));
  if (protocol > static_cast<uint8_t>(Protocol::kIcmpv6)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Join(path, "protocol"), ": unknown protocol ", protocol,
                     " (0 all, 1 tcp, 2 udp, 3 icmp, 4 icmpv6)"));
  }
  out->protocol = static_cast<Protocol>(protocol);
  DIEGO_RETURN_IF_ERROR(ReadArray(j, path, "networks", &out->networks, DecodeIpRange));
  DIEGO_RETURN_IF_ERROR(ReadArray(j, path, "ports", &out->ports, DecodePortRange));
  DIEGO_RETURN_IF_ERROR(ReadOptionalObject(j, path, "icmps", &out->icmps, DecodeIcmp));
  return ReadBool(j, path, "log", &out->log);
}

Json EncodeRlimits(const ResourceLimits& v) {
  Json j = Json::object();
  auto put = [&j](const char* key, const std::optional<uint64_t>& value) {
    if (value.has_value()) {
      j[key] = *value;
    }
  };
  put("as", v.as);
  put("core", v.core);
  put("cpu", v.cpu);
  put("data", v.data);
  put("fsize", v.fsize);
  put("locks", v.locks);
  put("memlock", v.memlock);
  put("msgqueue", v.msgqueue);
  put("nice", v.nice);
  put("nofile", v.nofile);
  put("nproc", v.nproc);
  put("rss", v.rss);
  put("rtprio", v.rtprio);
  put("sigpending", v.sigpending);
  put("stack", v.stack);
  return j;
}

absl::Status DecodeRlimits(const Json& j, const std::string& path, ResourceLimits* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  const std::pair<const char*, std::optional<uint64_t>*> fields[] = {
      {"as", &out->as},         {"core", &out->core},         {"cpu", &out->cpu},
      {"data", &out->data},     {"fsize", &out->fsize},       {"locks", &out->locks},
      {"memlock", &out->memlock}, {"msgqueue", &out->msgqueue}, {"nice", &out->nice},
      {"nofile", &out->nofile}, {"nproc", &out->nproc},       {"rss", &out->rss},
      {"rtprio", &out->rtprio}, {"sigpending", &out->sigpending}, {"stack", &out->stack},
  };
  for (const auto& [key, field] : fields) {
    DIEGO_RETURN_IF_ERROR(ReadOptionalUint(j, path, key, field));
  }
  return absl::OkStatus();
}

Json EncodeProcessLimits(const ProcessLimits& v) {
  return Json{{"cpu_limits", EncodeCpu(v.cpu)}, {"memory_limits", EncodeMemory(v.memory)}};
}

absl::Status DecodeProcessLimits(const Json& j, const std::string& path, ProcessLimits* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "cpu_limits", &out->cpu, DecodeCpu));
  return ReadObject(j, path, "memory_limits", &out->memory, DecodeMemory);
}

Json EncodeTty(const TtySpec& v) {
  Json j = Json::object();
  if (v.window_size.has_value()) {
    Json w = Json::object();
    PutUint(w, "columns", v.window_size->columns);
    PutUint(w, "rows", v.window_size->rows);
    j["window_size"] = std::move(w);
  }
  return j;
}

absl::Status DecodeTty(const Json& j, const std::string& path, TtySpec* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  if (const Json* w = Field(j, "window_size")) {
    const std::string p = Join(path, "window_size");
    DIEGO_RETURN_IF_ERROR(CheckObject(*w, p));
    WindowSize size;
    DIEGO_RETURN_IF_ERROR(ReadUint(*w, p, "columns", &size.columns));
    DIEGO_RETURN_IF_ERROR(ReadUint(*w, p, "rows", &size.rows));
    out->window_size = size;
  }
  return absl::OkStatus();
}

Json EncodePortMapping(const PortMapping& v) {
  return Json{{"HostPort", v.host_port}, {"ContainerPort", v.container_port}};
}

absl::Status DecodePortMapping(const Json& j, const std::string& path, PortMapping* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "HostPort", &out->host_port));
  return ReadUint(j, path, "ContainerPort", &out->container_port);
}

// ContainerMemoryStat: Garden tags every field with its cgroup memory.stat
// name except TotalUsageTowardLimit, which keeps its Go name.
struct MemoryField {
  const char* key;
  uint64_t ContainerMemoryStat::*field;
};
constexpr MemoryField kMemoryFields[] = {
    {"active_anon", &ContainerMemoryStat::active_anon},
    {"active_file", &ContainerMemoryStat::active_file},
    {"cache", &ContainerMemoryStat::cache},
    {"hierarchical_memory_limit", &ContainerMemoryStat::hierarchical_memory_limit},
    {"inactive_anon", &ContainerMemoryStat::inactive_anon},
    {"inactive_file", &ContainerMemoryStat::inactive_file},
    {"mapped_file", &ContainerMemoryStat::mapped_file},
    {"pgfault", &ContainerMemoryStat::pgfault},
    {"pgmajfault", &ContainerMemoryStat::pgmajfault},
    {"pgpgin", &ContainerMemoryStat::pgpgin},
    {"pgpgout", &ContainerMemoryStat::pgpgout},
    {"rss", &ContainerMemoryStat::rss},
    {"rss_huge", &ContainerMemoryStat::rss_huge},
    {"total_active_anon", &ContainerMemoryStat::total_active_anon},
    {"total_active_file", &ContainerMemoryStat::total_active_file},
    {"total_cache", &ContainerMemoryStat::total_cache},
    {"total_inactive_anon", &ContainerMemoryStat::total_inactive_anon},
    {"total_inactive_file", &ContainerMemoryStat::total_inactive_file},
    {"total_mapped_file", &ContainerMemoryStat::total_mapped_file},
    {"total_pgfault", &ContainerMemoryStat::total_pgfault},
    {"total_pgmajfault", &ContainerMemoryStat::total_pgmajfault},
    {"total_pgpgin", &ContainerMemoryStat::total_pgpgin},
    {"total_pgpgout", &ContainerMemoryStat::total_pgpgout},
    {"total_rss", &ContainerMemoryStat::total_rss},
    {"total_rss_huge", &ContainerMemoryStat::total_rss_huge},
    {"total_unevictable", &ContainerMemoryStat::total_unevictable},
    {"unevictable", &ContainerMemoryStat::unevictable},
    {"swap", &ContainerMemoryStat::swap},
    {"hierarchical_memsw_limit", &ContainerMemoryStat::hierarchical_memsw_limit},
    {"total_swap", &ContainerMemoryStat::total_swap},
    {"TotalUsageTowardLimit", &ContainerMemoryStat::total_usage_toward_limit},
};

Json EncodeMemoryStat(const ContainerMemoryStat& v) {
  Json j = Json::object();
  for (const MemoryField& f : kMemoryFields) {
    j[f.key] = v.*(f.field);
  }
  return j;
}

absl::Status DecodeMemoryStat(const Json& j, const std::string& path, ContainerMemoryStat* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  for (const MemoryField& f : kMemoryFields) {
    DIEGO_RETURN_IF_ERROR(ReadUint(j, path, f.key, &(out->*(f.field))));
  }
  return absl::OkStatus();
}

absl::Status DecodeCpuStat(const Json& j, const std::string& path, ContainerCpuStat* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "Usage", &out->usage));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "User", &out->user));
  return ReadUint(j, path, "System", &out->system);
}

absl::Status DecodeDiskStat(const Json& j, const std::string& path, ContainerDiskStat* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "TotalBytesUsed", &out->total_bytes_used));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "TotalInodesUsed", &out->total_inodes_used));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "ExclusiveBytesUsed", &out->exclusive_bytes_used));
  return ReadUint(j, path, "ExclusiveInodesUsed", &out->exclusive_inodes_used);
}

absl::Status DecodeNetworkStat(const Json& j, const std::string& path,
                               ContainerNetworkStat* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "RxBytes", &out->rx_bytes));
  return ReadUint(j, path, "TxBytes", &out->tx_bytes);
}

absl::Status DecodePidStat(const Json& j, const std::string& path, ContainerPidStat* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "Current", &out->current));
  return ReadUint(j, path, "Max", &out->max);
}

// --- Top-level decoders --------------------------------------------------------

absl::Status DecodeContainerSpec(const Json& j, const std::string& path, ContainerSpec* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "handle", &out->handle));
  DIEGO_RETURN_IF_ERROR(ReadDuration(j, path, "grace_time", &out->grace_time));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "rootfs", &out->rootfs_path));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "image", &out->image, DecodeImage));
  DIEGO_RETURN_IF_ERROR(ReadArray(j, path, "bind_mounts", &out->bind_mounts, DecodeBindMount));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "network", &out->network));
  DIEGO_RETURN_IF_ERROR(ReadProperties(j, path, "properties", &out->properties));
  DIEGO_RETURN_IF_ERROR(ReadStrings(j, path, "env", &out->env));
  DIEGO_RETURN_IF_ERROR(ReadBool(j, path, "privileged", &out->privileged));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "limits", &out->limits, DecodeLimits));
  DIEGO_RETURN_IF_ERROR(ReadArray(j, path, "netout_rules", &out->net_out, DecodeRule));
  return ReadArray(j, path, "netin", &out->net_in, DecodeNetIn);
}

absl::Status DecodeProcessSpec(const Json& j, const std::string& path, ProcessSpec* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "id", &out->id));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "path", &out->path));
  DIEGO_RETURN_IF_ERROR(ReadStrings(j, path, "args", &out->args));
  DIEGO_RETURN_IF_ERROR(ReadStrings(j, path, "env", &out->env));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "dir", &out->dir));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "user", &out->user));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "rlimits", &out->rlimits, DecodeRlimits));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "limits", &out->limits, DecodeProcessLimits));
  DIEGO_RETURN_IF_ERROR(ReadOptionalObject(j, path, "tty", &out->tty, DecodeTty));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "image", &out->image, DecodeImage));
  return ReadArray(j, path, "bind_mounts", &out->bind_mounts, DecodeBindMount);
}

absl::Status DecodeInfo(const Json& j, const std::string& path, ContainerInfo* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "State", &out->state));
  DIEGO_RETURN_IF_ERROR(ReadStrings(j, path, "Events", &out->events));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "HostIP", &out->host_ip));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "ContainerIP", &out->container_ip));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "ContainerIPv6", &out->container_ipv6));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "ExternalIP", &out->external_ip));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "ContainerPath", &out->container_path));
  DIEGO_RETURN_IF_ERROR(ReadStrings(j, path, "ProcessIDs", &out->process_ids));
  DIEGO_RETURN_IF_ERROR(ReadProperties(j, path, "Properties", &out->properties));
  return ReadArray(j, path, "MappedPorts", &out->mapped_ports, DecodePortMapping);
}

absl::Status DecodeMetrics(const Json& j, const std::string& path, Metrics* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "MemoryStat", &out->memory, DecodeMemoryStat));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "CPUStat", &out->cpu, DecodeCpuStat));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "DiskStat", &out->disk, DecodeDiskStat));
  DIEGO_RETURN_IF_ERROR(
      ReadOptionalObject(j, path, "NetworkStat", &out->network, DecodeNetworkStat));
  DIEGO_RETURN_IF_ERROR(ReadObject(j, path, "PidStat", &out->pid, DecodePidStat));
  DIEGO_RETURN_IF_ERROR(ReadDuration(j, path, "Age", &out->age));
  return ReadUint(j, path, "CPUEntitlement", &out->cpu_entitlement);
}

absl::Status DecodeCapacity(const Json& j, const std::string& path, Capacity* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "memory_in_bytes", &out->memory_in_bytes));
  DIEGO_RETURN_IF_ERROR(ReadUint(j, path, "disk_in_bytes", &out->disk_in_bytes));
  DIEGO_RETURN_IF_ERROR(
      ReadUint(j, path, "schedulable_disk_in_bytes", &out->schedulable_disk_in_bytes));
  return ReadUint(j, path, "max_containers", &out->max_containers);
}

absl::Status DecodeErrorInfo(const Json& j, const std::string& path, ErrorInfo* out) {
  DIEGO_RETURN_IF_ERROR(CheckObject(j, path));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "Type", &out->type));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "Message", &out->message));
  DIEGO_RETURN_IF_ERROR(ReadString(j, path, "Handle", &out->handle));
  return ReadString(j, path, "ProcessID", &out->process_id);
}

// Decodes into a copy so a failed decode leaves *out untouched.
template <typename T, typename Decode>
absl::Status DecodeInto(const Json& json, T* out, Decode decode) {
  T value = *out;
  DIEGO_RETURN_IF_ERROR(decode(json, std::string(), &value));
  *out = std::move(value);
  return absl::OkStatus();
}

}  // namespace

// --- Public API -------------------------------------------------------------------

Json ToJson(const ContainerSpec& v) {
  Json j = Json::object();
  PutString(j, "handle", v.handle);
  if (v.grace_time != absl::ZeroDuration()) {
    j["grace_time"] = absl::ToInt64Nanoseconds(v.grace_time);
  }
  PutString(j, "rootfs", v.rootfs_path);
  j["image"] = EncodeImage(v.image);
  PutArray(j, "bind_mounts", v.bind_mounts, EncodeBindMount);
  PutString(j, "network", v.network);
  if (!v.properties.empty()) {
    j["properties"] = v.properties;
  }
  PutStrings(j, "env", v.env);
  if (v.privileged) {
    j["privileged"] = true;
  }
  j["limits"] = EncodeLimits(v.limits);
  PutArray(j, "netout_rules", v.net_out, EncodeRule);
  PutArray(j, "netin", v.net_in, EncodeNetIn);
  return j;
}

Json ToJson(const ProcessSpec& v) {
  Json j = Json::object();
  PutString(j, "id", v.id);
  PutString(j, "path", v.path);
  PutStrings(j, "args", v.args);
  PutStrings(j, "env", v.env);
  PutString(j, "dir", v.dir);
  PutString(j, "user", v.user);
  j["rlimits"] = EncodeRlimits(v.rlimits);
  // Garden's OverrideContainerLimits is a pointer: sent only when set.
  if (v.limits != ProcessLimits()) {
    j["limits"] = EncodeProcessLimits(v.limits);
  }
  if (v.tty.has_value()) {
    j["tty"] = EncodeTty(*v.tty);
  }
  j["image"] = EncodeImage(v.image);
  PutArray(j, "bind_mounts", v.bind_mounts, EncodeBindMount);
  return j;
}

Json ToJson(const NetOutRule& v) { return EncodeRule(v); }

Json ToJson(const ContainerInfo& v) {
  Json ports = Json::array();
  for (const PortMapping& p : v.mapped_ports) {
    ports.push_back(EncodePortMapping(p));
  }
  return Json{{"State", v.state},
              {"Events", v.events},
              {"HostIP", v.host_ip},
              {"ContainerIP", v.container_ip},
              {"ContainerIPv6", v.container_ipv6},
              {"ExternalIP", v.external_ip},
              {"ContainerPath", v.container_path},
              {"ProcessIDs", v.process_ids},
              {"Properties", Json(v.properties)},
              {"MappedPorts", std::move(ports)}};
}

Json ToJson(const Metrics& v) {
  Json network = nullptr;
  if (v.network.has_value()) {
    network = Json{{"RxBytes", v.network->rx_bytes}, {"TxBytes", v.network->tx_bytes}};
  }
  return Json{
      {"MemoryStat", EncodeMemoryStat(v.memory)},
      {"CPUStat", {{"Usage", v.cpu.usage}, {"User", v.cpu.user}, {"System", v.cpu.system}}},
      {"DiskStat",
       {{"TotalBytesUsed", v.disk.total_bytes_used},
        {"TotalInodesUsed", v.disk.total_inodes_used},
        {"ExclusiveBytesUsed", v.disk.exclusive_bytes_used},
        {"ExclusiveInodesUsed", v.disk.exclusive_inodes_used}}},
      {"NetworkStat", std::move(network)},
      {"PidStat", {{"Current", v.pid.current}, {"Max", v.pid.max}}},
      {"Age", absl::ToInt64Nanoseconds(v.age)},
      {"CPUEntitlement", v.cpu_entitlement}};
}

Json ToJson(const Capacity& v) {
  Json j = Json::object();
  PutUint(j, "memory_in_bytes", v.memory_in_bytes);
  PutUint(j, "disk_in_bytes", v.disk_in_bytes);
  PutUint(j, "schedulable_disk_in_bytes", v.schedulable_disk_in_bytes);
  PutUint(j, "max_containers", v.max_containers);
  return j;
}

Json ToJson(const BandwidthLimits& v) { return EncodeBandwidth(v); }
Json ToJson(const CpuLimits& v) { return EncodeCpu(v); }
Json ToJson(const DiskLimits& v) { return EncodeDisk(v); }
Json ToJson(const MemoryLimits& v) { return EncodeMemory(v); }
Json ToJson(const PidLimits& v) { return EncodePid(v); }
Json ToJson(const TtySpec& v) { return EncodeTty(v); }
Json ToJson(const ImageRef& v) { return EncodeImage(v); }
Json ToJson(const BindMount& v) { return EncodeBindMount(v); }
Json ToJson(const ResourceLimits& v) { return EncodeRlimits(v); }
Json ToJson(const ProcessLimits& v) { return EncodeProcessLimits(v); }
Json ToJson(const NetInSpec& v) { return EncodeNetIn(v); }
Json ToJson(const PortMapping& v) { return EncodePortMapping(v); }

Json ToJson(const ErrorInfo& v) {
  return Json{{"Type", v.type},
              {"Message", v.message},
              {"Handle", v.handle},
              {"ProcessID", v.process_id}};
}

absl::Status FromJson(const Json& json, ContainerSpec* out) {
  return DecodeInto(json, out, DecodeContainerSpec);
}
absl::Status FromJson(const Json& json, ProcessSpec* out) {
  return DecodeInto(json, out, DecodeProcessSpec);
}
absl::Status FromJson(const Json& json, NetOutRule* out) {
  return DecodeInto(json, out, DecodeRule);
}
absl::Status FromJson(const Json& json, ContainerInfo* out) {
  return DecodeInto(json, out, DecodeInfo);
}
absl::Status FromJson(const Json& json, Metrics* out) {
  return DecodeInto(json, out, DecodeMetrics);
}
absl::Status FromJson(const Json& json, Capacity* out) {
  return DecodeInto(json, out, DecodeCapacity);
}
absl::Status FromJson(const Json& json, BandwidthLimits* out) {
  return DecodeInto(json, out, DecodeBandwidth);
}
absl::Status FromJson(const Json& json, CpuLimits* out) {
  return DecodeInto(json, out, DecodeCpu);
}
absl::Status FromJson(const Json& json, DiskLimits* out) {
  return DecodeInto(json, out, DecodeDisk);
}
absl::Status FromJson(const Json& json, MemoryLimits* out) {
  return DecodeInto(json, out, DecodeMemory);
}
absl::Status FromJson(const Json& json, PidLimits* out) {
  return DecodeInto(json, out, DecodePid);
}
absl::Status FromJson(const Json& json, TtySpec* out) {
  return DecodeInto(json, out, DecodeTty);
}
absl::Status FromJson(const Json& json, ImageRef* out) {
  return DecodeInto(json, out, DecodeImage);
}
absl::Status FromJson(const Json& json, BindMount* out) {
  return DecodeInto(json, out, DecodeBindMount);
}
absl::Status FromJson(const Json& json, ResourceLimits* out) {
  return DecodeInto(json, out, DecodeRlimits);
}
absl::Status FromJson(const Json& json, ProcessLimits* out) {
  return DecodeInto(json, out, DecodeProcessLimits);
}
absl::Status FromJson(const Json& json, NetInSpec* out) {
  return DecodeInto(json, out, DecodeNetIn);
}
absl::Status FromJson(const Json& json, PortMapping* out) {
  return DecodeInto(json, out, DecodePortMapping);
}
absl::Status FromJson(const Json& json, ErrorInfo* out) {
  return DecodeInto(json, out, DecodeErrorInfo);
}

absl::StatusOr<Json> Parse(absl::string_view text) {
  // nlohmann reports the position of a syntax error only through its
  // exception; it does not leave this function.
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON: ", e.what()));
  }
}

}  // namespace diego::garden::json_codec
