// Copyright 2026 The libdiego Authors.
//
// Private: Garden's JSON wire form of every spec.h type, shared by the HTTP
// server and client. Field names follow code.cloudfoundry.org/garden's Go
// struct tags exactly (snake_case for specs, Go field names such as
// "HostIP"/"MemoryStat" where Garden has no tag). Durations are int64
// nanoseconds.
//
// FromJson fills `out` from `json`; missing fields keep their defaults; a
// field of the wrong type is InvalidArgument naming the field path
// ("limits.memory_limits.limit_in_bytes: expected an unsigned integer",
// "netout_rules[0].ports[1].start: 70000 is out of range (at most 65535)").
// Null counts as missing and unknown keys are ignored (as Go does). On error
// `out` is left unchanged.
//
// ToJson writes what Go's encoding/json writes for the Garden struct: zero
// `omitempty` fields are left out, nested structs ("image", "limits",
// "rlimits") are always present, optional pointers ("tty", "icmps",
// ProcessSpec "limits", Metrics "NetworkStat") only when set (NetworkStat is
// null when unset). ContainerInfo and Metrics use Go field names.

#ifndef DIEGO_GARDEN_JSON_CODEC_H_
#define DIEGO_GARDEN_JSON_CODEC_H_

#include <string>

#include "absl/status/status.h"
#include "diego/garden/client.h"
#include "diego/garden/errors.h"
#include "diego/garden/spec.h"
#include "nlohmann/json.hpp"

namespace diego::garden::json_codec {

using Json = nlohmann::json;

Json ToJson(const ContainerSpec& v);
Json ToJson(const ProcessSpec& v);
Json ToJson(const NetOutRule& v);
Json ToJson(const ContainerInfo& v);
Json ToJson(const Metrics& v);
Json ToJson(const Capacity& v);
Json ToJson(const BandwidthLimits& v);
Json ToJson(const CpuLimits& v);
Json ToJson(const DiskLimits& v);
Json ToJson(const MemoryLimits& v);
Json ToJson(const TtySpec& v);
Json ToJson(const ErrorInfo& v);  // {"Type","Message","Handle","ProcessID"}
// Parts of the above, for the HTTP layer (NetIn's reply, attach payloads).
Json ToJson(const PidLimits& v);
Json ToJson(const ImageRef& v);
Json ToJson(const BindMount& v);
Json ToJson(const ResourceLimits& v);
Json ToJson(const ProcessLimits& v);
Json ToJson(const NetInSpec& v);    // {"host_port","container_port"}
Json ToJson(const PortMapping& v);  // {"HostPort","ContainerPort"}

absl::Status FromJson(const Json& json, ContainerSpec* out);
absl::Status FromJson(const Json& json, ProcessSpec* out);
absl::Status FromJson(const Json& json, NetOutRule* out);
absl::Status FromJson(const Json& json, ContainerInfo* out);
absl::Status FromJson(const Json& json, Metrics* out);
absl::Status FromJson(const Json& json, Capacity* out);
absl::Status FromJson(const Json& json, BandwidthLimits* out);
absl::Status FromJson(const Json& json, CpuLimits* out);
absl::Status FromJson(const Json& json, DiskLimits* out);
absl::Status FromJson(const Json& json, MemoryLimits* out);
absl::Status FromJson(const Json& json, TtySpec* out);
absl::Status FromJson(const Json& json, ErrorInfo* out);
absl::Status FromJson(const Json& json, PidLimits* out);
absl::Status FromJson(const Json& json, ImageRef* out);
absl::Status FromJson(const Json& json, BindMount* out);
absl::Status FromJson(const Json& json, ResourceLimits* out);
absl::Status FromJson(const Json& json, ProcessLimits* out);
absl::Status FromJson(const Json& json, NetInSpec* out);
absl::Status FromJson(const Json& json, PortMapping* out);

// Parses `text` as JSON; InvalidArgument on malformed input.
absl::StatusOr<Json> Parse(absl::string_view text);

}  // namespace diego::garden::json_codec

#endif  // DIEGO_GARDEN_JSON_CODEC_H_
