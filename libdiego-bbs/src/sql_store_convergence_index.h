// Copyright 2026 The libdiego Authors.
//
// The convergence index (not installed): what lets an LRP convergence pass
// that has nothing to do read a few thousand narrow rows instead of decoding
// every DesiredLRP and ActualLRP (diego-spec.md 3.4, performance-goals.md G1).
//
// Instance sets. Every desired LRP and every ORDINARY ActualLRP belongs to
// one of `kLrpBuckets` buckets, chosen by its process guid, so all rows of one
// process guid share a bucket. The `lrp_buckets` table keeps, per bucket, the
// count and two 31-bit-hash sums of the (process_guid, index) pairs the
// desired LRPs ask for (indices 0..instances-1) and of those the ORDINARY
// rows hold. The store's writes keep both sides up to date in the same
// transaction as the rows (`AddDesiredSums`, `AddActualSums`). Where the two
// sides agree, every desired index has exactly its ORDINARY row and no
// ORDINARY row is extra or orphaned (up to a 2^-62 hash coincidence), so
// convergence only lists the rows of buckets that disagree.
//
// Runtime fingerprints. Convergence's drift rule compares a RUNNING
// instance's internal routes and metric tags with what its DesiredLRP gives
// it. Each desired row stores two fingerprints of that (with and without
// the metric-tag part), each ActualLRP row a copy of them (`desired_fp`,
// `desired_fp_notags`; NULL when no DesiredLRP exists) and the fingerprint
// of its own routes and tags (`runtime_fp`). The partial index
// `actual_lrps_runtime_drift` holds exactly the RUNNING ORDINARY rows whose
// fingerprint matches neither copy; only those are decoded and compared
// exactly (`RuntimeDrifted`). Equal fingerprints imply no drift; unequal
// ones may still turn out equal on the exact check (a static tag value equal
// to the instance's index or guid, duplicate hostnames, unparseable routes).
//
// Every hash here is stored, so the functions must never change without a
// schema migration that recomputes the stored values.

#ifndef DIEGO_BBS_SQL_STORE_CONVERGENCE_INDEX_H_
#define DIEGO_BBS_SQL_STORE_CONVERGENCE_INDEX_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "diego/bbs/sql.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "google/protobuf/map.h"

namespace diego::bbs::internal {

// Number of instance-set buckets (`lrp_buckets` rows).
inline constexpr int64_t kLrpBuckets = 4096;

// The bucket of every row of `process_guid`, in [0, kLrpBuckets).
int64_t LrpBucket(absl::string_view process_guid);

// The count and hash sums of a set of (process_guid, index) pairs. Each pair
// adds two independent 31-bit hashes, so sums of up to 2^32 pairs never
// overflow a BIGINT on either engine.
struct InstanceSums {
  int64_t count = 0;
  int64_t sum1 = 0;
  int64_t sum2 = 0;

  InstanceSums& operator+=(const InstanceSums& o);
  InstanceSums& operator-=(const InstanceSums& o);
  InstanceSums operator-() const { return {-count, -sum1, -sum2}; }
  bool operator==(const InstanceSums& o) const = default;
};

// The pair (process_guid, index).
InstanceSums InstanceSumsOf(absl::string_view process_guid, int64_t index);

// The pairs (process_guid, i) for i in [from, to) (empty when to <= from).
InstanceSums InstanceRangeSums(absl::string_view process_guid, int64_t from, int64_t to);

// Adds `delta` to the desired (`AddDesiredSums`) or ORDINARY-row
// (`AddActualSums`) side of `bucket` in `lrp_buckets`. A zero delta writes
// nothing.
absl::Status AddDesiredSums(SqlTx& tx, int64_t bucket, const InstanceSums& delta);
absl::Status AddActualSums(SqlTx& tx, int64_t bucket, const InstanceSums& delta);

// Diego's `InternalRoutesFromRoutingInfo`: the "internal-router" value of
// `routes` read as Go's `json.Unmarshal` reads a list of {"hostname": ...}
// (null list or elements allowed, keys matched case-insensitively, unknown
// keys ignored). Absent or null: no routes. Malformed: kInvalidArgument.
absl::StatusOr<std::vector<model::v1::ActualLRPInternalRoute>> InternalRoutesFromRoutes(
    const model::v1::ProtoRoutes& routes);

// Diego's `ConvertMetricTags` for the instance (`index`, `instance_guid`):
// static values as they are, dynamic INDEX / INSTANCE_GUID filled in, other
// dynamic values left out.
std::map<std::string, std::string> ResolveMetricTags(
    const google::protobuf::Map<std::string, model::v1::MetricTagValue>& tags, int32_t index,
    absl::string_view instance_guid);

// Diego's `InternalRoutes.Equal(actual, desired)`: same length and every
// desired hostname among the actual ones.
bool InternalRoutesEqual(
    const google::protobuf::RepeatedPtrField<model::v1::ActualLRPInternalRoute>& actual,
    absl::Span<const model::v1::ActualLRPInternalRoute> desired);

// `runtime_fp` of an actual_lrps row: its internal routes and (when it has
// any) its metric tags, each tag value recorded as "the index", "the
// instance guid" or itself. Never 0 or 1.
int64_t ActualRuntimeFingerprint(const model::v1::ActualLRP& lrp);

// A desired row's `runtime_fp` / `runtime_fp_notags`: what a RUNNING instance
// in sync with it has as `runtime_fp` when that instance reports metric tags
// / none. Both are `kUnknownDesiredFingerprint` when the routes do not parse
// (every instance then gets the exact check).
struct DesiredRuntimeFingerprints {
  int64_t with_tags = 0;
  int64_t without_tags = 0;
};
inline constexpr int64_t kUnknownDesiredFingerprint = 1;
DesiredRuntimeFingerprints DesiredRuntimeFingerprint(
    const model::v1::ProtoRoutes& routes,
    const google::protobuf::Map<std::string, model::v1::MetricTagValue>& metric_tags);

// What Diego's convergence would push to the rep of a RUNNING instance, or
// nothing (`drifted` false) when the instance is in sync: the internal
// routes differ (`InternalRoutesEqual` false; skipped when the desired
// routes do not parse) or the instance reports metric tags that differ from
// `ResolveMetricTags`. `internal_routes` are the desired ones (the
// instance's own when the desired routes do not parse), `metric_tags` the
// resolved desired tags.
struct RuntimeCheck {
  bool drifted = false;
  std::vector<model::v1::ActualLRPInternalRoute> internal_routes;
  std::map<std::string, std::string> metric_tags;
};
RuntimeCheck CheckRuntimeDrift(
    const model::v1::ActualLRP& actual, const model::v1::ProtoRoutes& desired_routes,
    const google::protobuf::Map<std::string, model::v1::MetricTagValue>& desired_tags);

// Schema migration 2: fills bucket / runtime fingerprint columns of every
// existing desired_lrps and actual_lrps row, the actual rows' copies of the
// desired fingerprints, and `lrp_buckets`. Rows whose blobs do not parse get
// fingerprints that send them to the exact check (where they are skipped).
absl::Status BackfillConvergenceIndex(SqlTx& tx);

}  // namespace diego::bbs::internal

#endif  // DIEGO_BBS_SQL_STORE_CONVERGENCE_INDEX_H_
