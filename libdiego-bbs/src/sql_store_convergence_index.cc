// Copyright 2026 The libdiego Authors.
//
// The convergence index (sql_store_convergence_index.h): stable hashes,
// instance-set sums, runtime fingerprints and the schema-2 backfill.

#include "sql_store_convergence_index.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "diego/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace diego::bbs::internal {
namespace {

using model::v1::ActualLRP;
using model::v1::ActualLRPInternalRoute;
using model::v1::MetricTagValue;

// Diego's `models.InternalRouter` routes key.
constexpr absl::string_view kInternalRouter = "internal-router";

// MurmurHash3's 64-bit finalizer.
uint64_t Mix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// FNV-1a over `bytes`, then mixed with the length. Stable across runs,
// builds and machines (it is stored).
uint64_t StableHash(absl::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return Mix64(h ^ static_cast<uint64_t>(bytes.size()));
}

// The per-process-guid seed of the pair hashes and of the bucket.
uint64_t GuidSeed(absl::string_view process_guid) { return StableHash(process_guid); }

InstanceSums PairSums(uint64_t seed, int64_t index) {
  const uint64_t h = Mix64(seed + static_cast<uint64_t>(index + 1) * 0x9e3779b97f4a7c15ULL);
  return {1, static_cast<int64_t>(h & 0x7fffffffULL),
          static_cast<int64_t>((h >> 32) & 0x7fffffffULL)};
}

// Builds a fingerprint from length-prefixed fields.
class Fingerprint {
 public:
  void Add(absl::string_view field) {
    const uint64_t size = field.size();
    bytes_.append(reinterpret_cast<const char*>(&size), sizeof(size));
    bytes_.append(field.data(), field.size());
  }
  void Add(uint64_t value) { bytes_.append(reinterpret_cast<const char*>(&value), sizeof(value)); }
  // Never 0 or 1 (reserved: "unknown" actual / desired fingerprints).
  int64_t Finish() const {
    const uint64_t h = StableHash(bytes_);
    return static_cast<int64_t>(h < 2 ? h + 2 : h);
  }

 private:
  std::string bytes_;
};

// The routes part: the number of routes and the set of hostnames, so that
// equal parts imply Diego's `InternalRoutes.Equal` (the reverse fails only
// with duplicate hostnames, which the exact check settles).
template <typename Routes>
uint64_t RoutesPart(const Routes& routes) {
  std::vector<absl::string_view> hostnames;
  hostnames.reserve(routes.size());
  for (const ActualLRPInternalRoute& route : routes) hostnames.push_back(route.hostname());
  std::sort(hostnames.begin(), hostnames.end());
  hostnames.erase(std::unique(hostnames.begin(), hostnames.end()), hostnames.end());
  Fingerprint fp;
  fp.Add(static_cast<uint64_t>(routes.size()));
  for (absl::string_view hostname : hostnames) fp.Add(hostname);
  return static_cast<uint64_t>(fp.Finish());
}

// Tag values as recorded in the tags part.
constexpr absl::string_view kIndexToken = "\x01I";
constexpr absl::string_view kGuidToken = "\x01G";
constexpr char kStaticPrefix = '\x02';

// The tags part from (name, recorded value) pairs, in any order.
uint64_t TagsPart(std::vector<std::pair<absl::string_view, std::string>> tags) {
  std::sort(tags.begin(), tags.end());
  Fingerprint fp;
  fp.Add(static_cast<uint64_t>(tags.size()));
  for (const auto& [name, value] : tags) {
    fp.Add(name);
    fp.Add(value);
  }
  return static_cast<uint64_t>(fp.Finish());
}

// The tags part of an instance without metric tags.
constexpr uint64_t kNoTags = 0;

int64_t Combine(uint64_t routes_part, uint64_t tags_part) {
  Fingerprint fp;
  fp.Add(routes_part);
  fp.Add(tags_part);
  return fp.Finish();
}

}  // namespace

// -----------------------------------------------------------------------------
// Instance sets.
// -----------------------------------------------------------------------------

InstanceSums& InstanceSums::operator+=(const InstanceSums& o) {
  count += o.count;
  sum1 += o.sum1;
  sum2 += o.sum2;
  return *this;
}

InstanceSums& InstanceSums::operator-=(const InstanceSums& o) {
  count -= o.count;
  sum1 -= o.sum1;
  sum2 -= o.sum2;
  return *this;
}

int64_t LrpBucket(absl::string_view process_guid) {
  return static_cast<int64_t>(Mix64(GuidSeed(process_guid) ^ 0x5bd1e995ULL) %
                              static_cast<uint64_t>(kLrpBuckets));
}

InstanceSums InstanceSumsOf(absl::string_view process_guid, int64_t index) {
  return PairSums(GuidSeed(process_guid), index);
}

InstanceSums InstanceRangeSums(absl::string_view process_guid, int64_t from, int64_t to) {
  InstanceSums sums;
  if (to <= from) return sums;
  const uint64_t seed = GuidSeed(process_guid);
  for (int64_t i = from; i < to; ++i) sums += PairSums(seed, i);
  return sums;
}

namespace {

absl::Status AddSums(SqlTx& tx, int64_t bucket, const InstanceSums& delta, bool desired) {
  if (delta == InstanceSums()) return absl::OkStatus();
  const SqlParam params[] = {Int(bucket), Int(delta.count), Int(delta.sum1), Int(delta.sum2)};
  return tx
      .Exec(desired ? "INSERT INTO lrp_buckets (bucket, desired_count, desired_sum1, desired_sum2)"
                      " VALUES (?, ?, ?, ?) ON CONFLICT (bucket) DO UPDATE SET"
                      " desired_count = lrp_buckets.desired_count + excluded.desired_count,"
                      " desired_sum1 = lrp_buckets.desired_sum1 + excluded.desired_sum1,"
                      " desired_sum2 = lrp_buckets.desired_sum2 + excluded.desired_sum2"
                    : "INSERT INTO lrp_buckets (bucket, actual_count, actual_sum1, actual_sum2)"
                      " VALUES (?, ?, ?, ?) ON CONFLICT (bucket) DO UPDATE SET"
                      " actual_count = lrp_buckets.actual_count + excluded.actual_count,"
                      " actual_sum1 = lrp_buckets.actual_sum1 + excluded.actual_sum1,"
                      " actual_sum2 = lrp_buckets.actual_sum2 + excluded.actual_sum2",
            params)
      .status();
}

}  // namespace

absl::Status AddDesiredSums(SqlTx& tx, int64_t bucket, const InstanceSums& delta) {
  return AddSums(tx, bucket, delta, /*desired=*/true);
}

absl::Status AddActualSums(SqlTx& tx, int64_t bucket, const InstanceSums& delta) {
  return AddSums(tx, bucket, delta, /*desired=*/false);
}

// -----------------------------------------------------------------------------
// Runtime info.
// -----------------------------------------------------------------------------

absl::StatusOr<std::vector<ActualLRPInternalRoute>> InternalRoutesFromRoutes(
    const model::v1::ProtoRoutes& routes) {
  std::vector<ActualLRPInternalRoute> result;
  auto it = routes.routes().find(std::string(kInternalRouter));
  if (it == routes.routes().end() || it->second.empty()) return result;
  // Ordered, so that of two keys matching "hostname" the later one wins, as
  // in Go.
  const nlohmann::ordered_json document =
      nlohmann::ordered_json::parse(it->second, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return absl::InvalidArgumentError("internal routes are not valid JSON");
  }
  if (document.is_null()) return result;
  if (!document.is_array()) {
    return absl::InvalidArgumentError("internal routes are not a JSON array");
  }
  for (const nlohmann::ordered_json& element : document) {
    ActualLRPInternalRoute& route = result.emplace_back();
    if (element.is_null()) continue;
    if (!element.is_object()) {
      return absl::InvalidArgumentError("internal route is not a JSON object");
    }
    for (const auto& [key, value] : element.items()) {
      if (absl::AsciiStrToLower(key) != "hostname" || value.is_null()) continue;
      if (!value.is_string()) {
        return absl::InvalidArgumentError("internal route hostname is not a string");
      }
      route.set_hostname(value.get<std::string>());
    }
  }
  return result;
}

std::map<std::string, std::string> ResolveMetricTags(
    const google::protobuf::Map<std::string, MetricTagValue>& tags, int32_t index,
    absl::string_view instance_guid) {
  std::map<std::string, std::string> resolved;
  for (const auto& [name, value] : tags) {
    if (value.dynamic() == MetricTagValue::INDEX) {
      resolved[name] = absl::StrCat(index);
    } else if (value.dynamic() == MetricTagValue::INSTANCE_GUID) {
      resolved[name] = std::string(instance_guid);
    } else if (value.dynamic() <= 0) {
      resolved[name] = value.static_();
    }
  }
  return resolved;
}

bool InternalRoutesEqual(const google::protobuf::RepeatedPtrField<ActualLRPInternalRoute>& actual,
                         absl::Span<const ActualLRPInternalRoute> desired) {
  if (static_cast<size_t>(actual.size()) != desired.size()) return false;
  absl::flat_hash_set<absl::string_view> hostnames;
  for (const ActualLRPInternalRoute& route : actual) hostnames.insert(route.hostname());
  for (const ActualLRPInternalRoute& route : desired) {
    if (!hostnames.contains(route.hostname())) return false;
  }
  return true;
}

int64_t ActualRuntimeFingerprint(const ActualLRP& lrp) {
  const uint64_t routes = RoutesPart(lrp.actual_lrp_internal_routes());
  if (lrp.metric_tags().empty()) return Combine(routes, kNoTags);
  const std::string index = absl::StrCat(lrp.actual_lrp_key().index());
  const std::string& guid = lrp.actual_lrp_instance_key().instance_guid();
  std::vector<std::pair<absl::string_view, std::string>> tags;
  tags.reserve(lrp.metric_tags().size());
  for (const auto& [name, value] : lrp.metric_tags()) {
    if (value == index) {
      tags.emplace_back(name, kIndexToken);
    } else if (value == guid) {
      tags.emplace_back(name, kGuidToken);
    } else {
      tags.emplace_back(name, absl::StrCat(absl::string_view(&kStaticPrefix, 1), value));
    }
  }
  uint64_t part = TagsPart(std::move(tags));
  return Combine(routes, part == kNoTags ? part + 1 : part);
}

DesiredRuntimeFingerprints DesiredRuntimeFingerprint(
    const model::v1::ProtoRoutes& routes,
    const google::protobuf::Map<std::string, MetricTagValue>& metric_tags) {
  absl::StatusOr<std::vector<ActualLRPInternalRoute>> internal = InternalRoutesFromRoutes(routes);
  if (!internal.ok()) return {kUnknownDesiredFingerprint, kUnknownDesiredFingerprint};
  const uint64_t routes_part = RoutesPart(*internal);
  std::vector<std::pair<absl::string_view, std::string>> tags;
  tags.reserve(metric_tags.size());
  for (const auto& [name, value] : metric_tags) {
    if (value.dynamic() == MetricTagValue::INDEX) {
      tags.emplace_back(name, kIndexToken);
    } else if (value.dynamic() == MetricTagValue::INSTANCE_GUID) {
      tags.emplace_back(name, kGuidToken);
    } else if (value.dynamic() <= 0) {
      tags.emplace_back(name, absl::StrCat(absl::string_view(&kStaticPrefix, 1), value.static_()));
    }
  }
  uint64_t tags_part = TagsPart(std::move(tags));
  if (tags_part == kNoTags) ++tags_part;
  return {Combine(routes_part, tags_part), Combine(routes_part, kNoTags)};
}

RuntimeCheck CheckRuntimeDrift(
    const ActualLRP& actual, const model::v1::ProtoRoutes& desired_routes,
    const google::protobuf::Map<std::string, MetricTagValue>& desired_tags) {
  RuntimeCheck check;
  check.metric_tags = ResolveMetricTags(desired_tags, actual.actual_lrp_key().index(),
                                        actual.actual_lrp_instance_key().instance_guid());
  absl::StatusOr<std::vector<ActualLRPInternalRoute>> routes =
      InternalRoutesFromRoutes(desired_routes);
  if (routes.ok()) {
    check.drifted = !InternalRoutesEqual(actual.actual_lrp_internal_routes(), *routes);
    check.internal_routes = *std::move(routes);
  } else {
    check.internal_routes.assign(actual.actual_lrp_internal_routes().begin(),
                                 actual.actual_lrp_internal_routes().end());
  }
  if (!actual.metric_tags().empty()) {
    const std::map<std::string, std::string> reported(actual.metric_tags().begin(),
                                                      actual.metric_tags().end());
    if (reported != check.metric_tags) check.drifted = true;
  }
  return check;
}

// -----------------------------------------------------------------------------
// Schema migration 2.
// -----------------------------------------------------------------------------

absl::Status BackfillConvergenceIndex(SqlTx& tx) {
  absl::flat_hash_map<int64_t, std::pair<InstanceSums, InstanceSums>> buckets;

  struct DesiredRow {
    std::string process_guid;
    int64_t bucket = 0;
    DesiredRuntimeFingerprints fps;
  };
  std::vector<DesiredRow> desired;
  DIEGO_RETURN_IF_ERROR(
      tx.Query("SELECT process_guid, instances, scheduling_info, metric_tags FROM desired_lrps", {},
               [&](const SqlRow& row) {
                 DesiredRow& d = desired.emplace_back();
                 d.process_guid = std::string(row.Text(0));
                 d.bucket = LrpBucket(d.process_guid);
                 buckets[d.bucket].first += InstanceRangeSums(d.process_guid, 0, row.Int(1));
                 model::v1::DesiredLRPSchedulingInfo info;
                 model::v1::DesiredLRP tags;
                 const absl::string_view info_blob = row.Blob(2);
                 const absl::string_view tags_blob = row.Blob(3);
                 if (info.ParseFromArray(info_blob.data(), static_cast<int>(info_blob.size())) &&
                     tags.ParseFromArray(tags_blob.data(), static_cast<int>(tags_blob.size()))) {
                   d.fps = DesiredRuntimeFingerprint(info.routes(), tags.metric_tags());
                 } else {
                   d.fps = {kUnknownDesiredFingerprint, kUnknownDesiredFingerprint};
                 }
                 return absl::OkStatus();
               }));
  for (const DesiredRow& d : desired) {
    const SqlParam params[] = {Int(d.bucket), Int(d.fps.with_tags), Int(d.fps.without_tags),
                               Text(d.process_guid)};
    DIEGO_RETURN_IF_ERROR(tx.Exec("UPDATE desired_lrps SET bucket = ?, runtime_fp = ?,"
                                  " runtime_fp_notags = ? WHERE process_guid = ?",
                                  params)
                              .status());
  }

  struct ActualRow {
    std::string process_guid;
    int64_t index = 0;
    int64_t presence = 0;
    int64_t bucket = 0;
    int64_t runtime_fp = 0;  // 0: the blob does not parse.
  };
  std::vector<ActualRow> actual;
  DIEGO_RETURN_IF_ERROR(
      tx.Query("SELECT process_guid, instance_index, presence, data FROM actual_lrps", {},
               [&](const SqlRow& row) {
                 ActualRow& a = actual.emplace_back();
                 a.process_guid = std::string(row.Text(0));
                 a.index = row.Int(1);
                 a.presence = row.Int(2);
                 a.bucket = LrpBucket(a.process_guid);
                 if (a.presence == ActualLRP::ORDINARY) {
                   buckets[a.bucket].second += InstanceSumsOf(a.process_guid, a.index);
                 }
                 ActualLRP lrp;
                 const absl::string_view blob = row.Blob(3);
                 if (lrp.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
                   a.runtime_fp = ActualRuntimeFingerprint(lrp);
                 }
                 return absl::OkStatus();
               }));
  for (const ActualRow& a : actual) {
    const SqlParam params[] = {Int(a.bucket), Int(a.runtime_fp), Text(a.process_guid), Int(a.index),
                               Int(a.presence)};
    DIEGO_RETURN_IF_ERROR(tx.Exec("UPDATE actual_lrps SET bucket = ?, runtime_fp = ?"
                                  " WHERE process_guid = ? AND instance_index = ?"
                                  " AND presence = ?",
                                  params)
                              .status());
  }
  DIEGO_RETURN_IF_ERROR(
      tx.Exec("UPDATE actual_lrps SET"
              " desired_fp = (SELECT d.runtime_fp FROM desired_lrps d"
              " WHERE d.process_guid = actual_lrps.process_guid),"
              " desired_fp_notags = (SELECT d.runtime_fp_notags FROM desired_lrps d"
              " WHERE d.process_guid = actual_lrps.process_guid)")
          .status());

  for (const auto& [bucket, sums] : buckets) {
    DIEGO_RETURN_IF_ERROR(AddDesiredSums(tx, bucket, sums.first));
    DIEGO_RETURN_IF_ERROR(AddActualSums(tx, bucket, sums.second));
  }
  return absl::OkStatus();
}

}  // namespace diego::bbs::internal
