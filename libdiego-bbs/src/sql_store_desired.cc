// Copyright 2026 The libdiego Authors.
//
// SqlStore: DesiredLrpStore.
//
// Storage follows Diego's split (db/sqldb/desired_lrp_db.go): a row keeps
// the DesiredLRPSchedulingInfo (what auctions and the route emitter need),
// the DesiredLRPRunInfo (what a rep needs to build the container), the
// metric tags (a DesiredLRP holding only `metric_tags`) and the update
// strategy, so list reads that do not need run info never read it. A
// DesiredLRP is rebuilt from the four pieces field by field (`JoinDesired`);
// `SplitDesired` is its exact inverse for every DesiredLRP field.
//
// The instance-count consequences of desire/update/remove that Diego's
// handlers perform after the desired write (handlers/desired_lrp_handlers.go
// `startInstanceRange`, `stopInstancesFrom`, `updateInstances`) happen here
// in the same transaction, through the [actual rows] helpers. Every write
// also keeps the convergence index (sql_store_convergence_index.h) in step:
// the row's bucket and runtime fingerprints, its bucket's desired sums, and
// the fingerprint copies on its ActualLRP rows.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/errors.h"
#include "diego/model/modification_tag.h"
#include "sql_store_convergence_index.h"
#include "sql_store_internal.h"

// The split copies every DesiredLRP field, including the ones the protos mark
// deprecated (metrics_guid, legacy_download_user, deprecated_start_timeout_s).
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::bbs {
namespace {

using model::v1::ActualLRP;
using model::v1::DesiredLRP;
using model::v1::DesiredLRPRunInfo;
using model::v1::DesiredLRPSchedulingInfo;
using model::v1::DesiredLRPUpdate;

// Diego's `models.InternalRouter`: the routes key whose change is pushed to
// running instances.
constexpr absl::string_view kInternalRouter = "internal-router";

// The stored pieces of one desired LRP.
struct DesiredParts {
  DesiredLRPSchedulingInfo scheduling_info;
  DesiredLRPRunInfo run_info;
  DesiredLRP metric_tags;  // Only `metric_tags` set.
  int64_t update_strategy = 0;
};

// Splits `lrp` into its stored pieces. `run_info.created_at` is left 0 (the
// caller sets it). The run info's deprecated `metric_tags` copy is not
// written: the metric tags live in their own column, which updates change.
DesiredParts SplitDesired(const DesiredLRP& lrp) {
  DesiredParts parts;
  DesiredLRPSchedulingInfo& s = parts.scheduling_info;
  model::v1::DesiredLRPKey* key = s.mutable_desired_lrp_key();
  key->set_process_guid(lrp.process_guid());
  key->set_domain(lrp.domain());
  key->set_log_guid(lrp.log_guid());
  s.set_annotation(lrp.annotation());
  s.set_instances(lrp.instances());
  model::v1::DesiredLRPResource* resource = s.mutable_desired_lrp_resource();
  resource->set_memory_mb(lrp.memory_mb());
  resource->set_disk_mb(lrp.disk_mb());
  resource->set_root_fs(lrp.root_fs());
  resource->set_max_pids(lrp.max_pids());
  *s.mutable_routes() = lrp.routes();
  *s.mutable_modification_tag() = lrp.modification_tag();
  // Diego always stores a volume placement, listing the mounts' drivers.
  model::v1::VolumePlacement* placement = s.mutable_volume_placement();
  for (const model::v1::VolumeMount& mount : lrp.volume_mounts()) {
    placement->add_driver_names(mount.driver());
  }
  *s.mutable_placementtags() = lrp.placementtags();

  DesiredLRPRunInfo& r = parts.run_info;
  *r.mutable_desired_lrp_key() = *key;
  *r.mutable_environment_variables() = lrp.environment_variables();
  if (lrp.has_setup()) *r.mutable_setup() = lrp.setup();
  if (lrp.has_action()) *r.mutable_action() = lrp.action();
  if (lrp.has_monitor()) *r.mutable_monitor() = lrp.monitor();
  r.set_deprecated_start_timeout_s(lrp.deprecated_start_timeout_s());
  r.set_privileged(lrp.privileged());
  r.set_cpu_weight(lrp.cpu_weight());
  *r.mutable_ports() = lrp.ports();
  *r.mutable_egress_rules() = lrp.egress_rules();
  r.set_log_source(lrp.log_source());
  r.set_metrics_guid(lrp.metrics_guid());
  *r.mutable_cached_dependencies() = lrp.cached_dependencies();
  r.set_legacy_download_user(lrp.legacy_download_user());
  r.set_trusted_system_certificates_path(lrp.trusted_system_certificates_path());
  *r.mutable_volume_mounts() = lrp.volume_mounts();
  if (lrp.has_network()) *r.mutable_network() = lrp.network();
  r.set_start_timeout_ms(lrp.start_timeout_ms());
  if (lrp.has_certificate_properties()) {
    *r.mutable_certificate_properties() = lrp.certificate_properties();
  }
  r.set_image_username(lrp.image_username());
  r.set_image_password(lrp.image_password());
  if (lrp.has_check_definition()) *r.mutable_check_definition() = lrp.check_definition();
  *r.mutable_image_layers() = lrp.image_layers();
  *r.mutable_sidecars() = lrp.sidecars();
  if (lrp.has_log_rate_limit()) *r.mutable_log_rate_limit() = lrp.log_rate_limit();
  *r.mutable_volume_mounted_files() = lrp.volume_mounted_files();

  *parts.metric_tags.mutable_metric_tags() = lrp.metric_tags();
  parts.update_strategy = lrp.update_strategy();
  return parts;
}

// The scheduling-info half of `JoinDesired` (also the routing-info source).
void JoinSchedulingInfo(const DesiredLRPSchedulingInfo& s, DesiredLRP* lrp) {
  lrp->set_process_guid(s.desired_lrp_key().process_guid());
  lrp->set_domain(s.desired_lrp_key().domain());
  lrp->set_log_guid(s.desired_lrp_key().log_guid());
  lrp->set_annotation(s.annotation());
  lrp->set_instances(s.instances());
  lrp->set_memory_mb(s.desired_lrp_resource().memory_mb());
  lrp->set_disk_mb(s.desired_lrp_resource().disk_mb());
  lrp->set_root_fs(s.desired_lrp_resource().root_fs());
  lrp->set_max_pids(s.desired_lrp_resource().max_pids());
  // As in Diego (`NewDesiredLRP` points at the scheduling info's routes), a
  // stored LRP always has routes, possibly empty.
  *lrp->mutable_routes() = s.routes();
  *lrp->mutable_modification_tag() = s.modification_tag();
  *lrp->mutable_placementtags() = s.placementtags();
}

DesiredLRP JoinDesired(const DesiredParts& parts) {
  DesiredLRP lrp;
  JoinSchedulingInfo(parts.scheduling_info, &lrp);
  const DesiredLRPRunInfo& r = parts.run_info;
  *lrp.mutable_environment_variables() = r.environment_variables();
  if (r.has_setup()) *lrp.mutable_setup() = r.setup();
  if (r.has_action()) *lrp.mutable_action() = r.action();
  if (r.has_monitor()) *lrp.mutable_monitor() = r.monitor();
  lrp.set_start_timeout_ms(r.start_timeout_ms());
  lrp.set_deprecated_start_timeout_s(r.deprecated_start_timeout_s());
  lrp.set_cpu_weight(r.cpu_weight());
  lrp.set_privileged(r.privileged());
  *lrp.mutable_ports() = r.ports();
  lrp.set_log_source(r.log_source());
  lrp.set_metrics_guid(r.metrics_guid());
  *lrp.mutable_egress_rules() = r.egress_rules();
  *lrp.mutable_cached_dependencies() = r.cached_dependencies();
  lrp.set_legacy_download_user(r.legacy_download_user());
  lrp.set_trusted_system_certificates_path(r.trusted_system_certificates_path());
  *lrp.mutable_volume_mounts() = r.volume_mounts();
  if (r.has_network()) *lrp.mutable_network() = r.network();
  if (r.has_certificate_properties()) {
    *lrp.mutable_certificate_properties() = r.certificate_properties();
  }
  lrp.set_image_username(r.image_username());
  lrp.set_image_password(r.image_password());
  if (r.has_check_definition()) *lrp.mutable_check_definition() = r.check_definition();
  *lrp.mutable_image_layers() = r.image_layers();
  *lrp.mutable_metric_tags() = parts.metric_tags.metric_tags();
  *lrp.mutable_sidecars() = r.sidecars();
  if (r.has_log_rate_limit()) *lrp.mutable_log_rate_limit() = r.log_rate_limit();
  *lrp.mutable_volume_mounted_files() = r.volume_mounted_files();
  lrp.set_update_strategy(static_cast<DesiredLRP::UpdateStrategy>(parts.update_strategy));
  return lrp;
}

std::string Serialize(const google::protobuf::MessageLite& message) {
  std::string bytes;
  message.SerializeToString(&bytes);
  return bytes;
}

// Column lists (and the matching row decoders) for the three read shapes.
constexpr absl::string_view kFullColumns =
    "process_guid, scheduling_info, run_info, metric_tags, update_strategy";
constexpr absl::string_view kSchedulingColumns = "process_guid, scheduling_info";
constexpr absl::string_view kRoutingColumns = "process_guid, scheduling_info, metric_tags";

absl::StatusOr<DesiredParts> DecodeFull(const SqlRow& row) {
  DesiredParts parts;
  const absl::string_view guid = row.Text(0);
  DIEGO_RETURN_IF_ERROR(
      internal::ParseStored(row.Blob(1), parts.scheduling_info, "desired lrp", guid));
  DIEGO_RETURN_IF_ERROR(internal::ParseStored(row.Blob(2), parts.run_info, "desired lrp", guid));
  DIEGO_RETURN_IF_ERROR(internal::ParseStored(row.Blob(3), parts.metric_tags, "desired lrp", guid));
  parts.update_strategy = row.Int(4);
  return parts;
}

absl::StatusOr<DesiredLRPSchedulingInfo> DecodeScheduling(const SqlRow& row) {
  DesiredLRPSchedulingInfo info;
  DIEGO_RETURN_IF_ERROR(internal::ParseStored(row.Blob(1), info, "desired lrp", row.Text(0)));
  return info;
}

absl::StatusOr<DesiredLRP> DecodeRouting(const SqlRow& row) {
  DesiredLRPSchedulingInfo info;
  DesiredLRP tags;
  const absl::string_view guid = row.Text(0);
  DIEGO_RETURN_IF_ERROR(internal::ParseStored(row.Blob(1), info, "desired lrp", guid));
  DIEGO_RETURN_IF_ERROR(internal::ParseStored(row.Blob(2), tags, "desired lrp", guid));
  DesiredLRP lrp;
  lrp.set_process_guid(info.desired_lrp_key().process_guid());
  lrp.set_domain(info.desired_lrp_key().domain());
  lrp.set_log_guid(info.desired_lrp_key().log_guid());
  lrp.set_instances(info.instances());
  *lrp.mutable_routes() = info.routes();
  *lrp.mutable_modification_tag() = info.modification_tag();
  *lrp.mutable_metric_tags() = tags.metric_tags();
  return lrp;
}

// Diego's app-guid match is `process_guid LIKE '<app_guid>%'`: `%` and `_` in
// the app guid are wildcards and `\` escapes the next character (PostgreSQL's
// LIKE). SQLite's LIKE ignores ASCII case and has no default escape, so there
// the same pattern is translated to a (case-sensitive) GLOB.
std::string LikeToGlob(absl::string_view like) {
  std::string glob;
  for (size_t i = 0; i < like.size(); ++i) {
    char c = like[i];
    bool literal = false;
    if (c == '\\' && i + 1 < like.size()) {
      c = like[++i];
      literal = true;
    }
    if (!literal && c == '%') {
      glob += '*';
    } else if (!literal && c == '_') {
      glob += '?';
    } else if (c == '*' || c == '?' || c == '[') {
      glob += '[';
      glob += c;
      glob += ']';
    } else {
      glob += c;
    }
  }
  return glob;
}

// A WHERE clause and its parameters; the strings the parameters view are
// owned here.
struct Where {
  std::vector<std::string> clauses;
  std::vector<std::string> owned;
  std::vector<SqlParam> params;

  std::string Sql() const {
    return clauses.empty() ? "" : absl::StrCat(" WHERE ", absl::StrJoin(clauses, " AND "));
  }
};

// Builds the filter of a desired-LRP read. Diego applies `app_guids` to the
// full DesiredLRP list only, `domain` to the full list and scheduling infos,
// `process_guids` to all three.
void BuildWhere(SqlEngine engine, const DesiredLrpFilter& filter, bool use_app_guids,
                bool use_domain, Where* where) {
  // `owned` must not reallocate once parameters view it.
  where->owned.reserve(filter.app_guids.size());
  if (use_app_guids && !filter.app_guids.empty()) {
    std::vector<std::string> ors;
    for (const std::string& app_guid : filter.app_guids) {
      const std::string like = absl::StrCat(app_guid, "%");
      if (engine == SqlEngine::kSqlite) {
        ors.push_back("process_guid GLOB ?");
        where->owned.push_back(LikeToGlob(like));
      } else {
        ors.push_back("process_guid LIKE ?");
        where->owned.push_back(like);
      }
      where->params.push_back(Text(where->owned.back()));
    }
    where->clauses.push_back(ors.size() == 1 ? ors[0]
                                             : absl::StrCat("(", absl::StrJoin(ors, " OR "), ")"));
  }
  if (use_domain && !filter.domain.empty()) {
    where->clauses.push_back("domain = ?");
    where->params.push_back(Text(filter.domain));
  }
  if (!filter.process_guids.empty()) {
    std::vector<absl::string_view> marks(filter.process_guids.size(), "?");
    where->clauses.push_back(absl::StrCat("process_guid IN (", absl::StrJoin(marks, ", "), ")"));
    for (const std::string& guid : filter.process_guids) where->params.push_back(Text(guid));
  }
}

// The full row of `process_guid` inside a transaction, or nullopt.
absl::StatusOr<std::optional<DesiredParts>> ReadDesired(SqlTx& tx, absl::string_view process_guid) {
  std::optional<DesiredParts> parts;
  const SqlParam params[] = {Text(process_guid)};
  DIEGO_RETURN_IF_ERROR(
      tx.Query(absl::StrCat("SELECT ", kFullColumns, " FROM desired_lrps WHERE process_guid = ?"),
               params, [&](const SqlRow& row) -> absl::Status {
                 DIEGO_ASSIGN_OR_RETURN(parts, DecodeFull(row));
                 return absl::OkStatus();
               }));
  return parts;
}

// The runtime fingerprints of a stored desired LRP.
internal::DesiredRuntimeFingerprints Fingerprints(const DesiredParts& parts) {
  return internal::DesiredRuntimeFingerprint(parts.scheduling_info.routes(),
                                             parts.metric_tags.metric_tags());
}

// Points every ActualLRP row of `process_guid` at the desired fingerprints
// `fps` (null: no DesiredLRP any more).
absl::Status PointActualsAt(SqlTx& tx, absl::string_view process_guid,
                            const internal::DesiredRuntimeFingerprints* fps) {
  const SqlParam params[] = {fps != nullptr ? Int(fps->with_tags) : Null(),
                             fps != nullptr ? Int(fps->without_tags) : Null(),
                             Text(process_guid)};
  return tx
      .Exec("UPDATE actual_lrps SET desired_fp = ?, desired_fp_notags = ?"
            " WHERE process_guid = ?",
            params)
      .status();
}

// Diego's `DesiredLRPUpdate.IsRoutesGroupUpdated(before.Routes,
// "internal-router")`, kept quirk for quirk: with routes in the update, the
// group counts as updated unless both sides have it with identical bytes (so
// an update where neither side has internal routes also counts).
bool InternalRoutesUpdated(const DesiredLRPUpdate& update, const DesiredLRP& before) {
  if (!update.has_routes()) return false;
  if (!before.has_routes()) return true;
  const auto& new_routes = update.routes().routes();
  const auto& old_routes = before.routes().routes();
  auto new_it = new_routes.find(std::string(kInternalRouter));
  auto old_it = old_routes.find(std::string(kInternalRouter));
  const bool new_present = new_it != new_routes.end();
  const bool old_present = old_it != old_routes.end();
  if (new_present != old_present) return true;
  if (new_present) return new_it->second != old_it->second;
  return true;
}

// Diego's `DesiredLRPUpdate.IsMetricTagsUpdated(before.MetricTags)`. An empty
// map is Go's nil map (absent from the protobuf).
bool MetricTagsUpdated(const DesiredLRPUpdate& update, const DesiredLRP& before) {
  if (update.metric_tags().empty()) return false;
  if (update.metric_tags().size() != before.metric_tags().size()) return true;
  for (const auto& [name, value] : before.metric_tags()) {
    auto it = update.metric_tags().find(name);
    if (it == update.metric_tags().end()) return true;
    if (it->second.static_() != value.static_() || it->second.dynamic() != value.dynamic()) {
      return true;
    }
  }
  return false;
}

bool IsUnclaimedOrCrashed(const ActualLRP& lrp) {
  return lrp.state() == model::kActualLrpStateUnclaimed ||
         lrp.state() == model::kActualLrpStateCrashed;
}

// Inserts UNCLAIMED ORDINARY rows for [lower, upper) of `lrp`, skipping
// indices that already have an ORDINARY row among `existing` (Diego's
// CreateUnclaimedActualLRP fails for those and they are not auctioned).
template <typename EpochFn>
absl::Status CreateInstances(SqlTx& tx, const DesiredLRP& lrp, int32_t lower, int32_t upper,
                             const std::vector<ActualLRP>& existing, absl::Time now,
                             EpochFn new_epoch, absl::string_view trace_id,
                             std::vector<int32_t>* created, std::vector<BbsEvent>* events) {
  absl::flat_hash_set<int32_t> taken;
  for (const ActualLRP& row : existing) {
    if (row.presence() == ActualLRP::ORDINARY) taken.insert(row.actual_lrp_key().index());
  }
  for (int32_t index = lower; index < upper; ++index) {
    if (taken.contains(index)) continue;
    model::v1::ActualLRPKey key;
    key.set_process_guid(lrp.process_guid());
    key.set_index(index);
    key.set_domain(lrp.domain());
    ActualLRP row = model::NewUnclaimedActualLrp(key, new_epoch(), now);
    DIEGO_RETURN_IF_ERROR(internal::InsertActualLrp(tx, row));
    created->push_back(index);
    events->push_back(ActualLrpInstanceCreatedEvent(row, trace_id));
  }
  return absl::OkStatus();
}

// Diego's `stopInstancesFrom(index)`: every non-evacuating row at or above
// `from` is either deleted (UNCLAIMED/CRASHED) or returned for its rep to stop.
absl::Status StopInstancesFrom(SqlTx& tx, const std::vector<ActualLRP>& rows, int32_t from,
                               absl::string_view trace_id, std::vector<ActualLRP>* to_stop,
                               std::vector<BbsEvent>* events) {
  for (const ActualLRP& row : rows) {
    if (row.presence() == ActualLRP::EVACUATING) continue;
    if (row.actual_lrp_key().index() < from) continue;
    if (IsUnclaimedOrCrashed(row)) {
      DIEGO_ASSIGN_OR_RETURN(
          bool deleted, internal::DeleteActualLrp(tx, row.actual_lrp_key().process_guid(),
                                                  row.actual_lrp_key().index(), row.presence()));
      if (deleted) events->push_back(ActualLrpInstanceRemovedEvent(row, trace_id));
    } else {
      to_stop->push_back(row);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ActualLRP>> ReadInstances(SqlTx& tx, absl::string_view process_guid) {
  ActualLrpFilter filter;
  filter.process_guid = std::string(process_guid);
  return internal::ReadActualLrps(tx, filter);
}

}  // namespace

// -----------------------------------------------------------------------------
// Reads.
// -----------------------------------------------------------------------------

absl::StatusOr<std::vector<DesiredLRP>> SqlStore::DesiredLrps(const DesiredLrpFilter& filter) {
  Where where;
  BuildWhere(db_->engine(), filter, /*use_app_guids=*/true, /*use_domain=*/true, &where);
  const std::string sql = absl::StrCat("SELECT ", kFullColumns, " FROM desired_lrps", where.Sql(),
                                       " ORDER BY process_guid");
  std::vector<DesiredLRP> lrps;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    lrps.clear();
    return tx.Query(sql, where.params, [&](const SqlRow& row) -> absl::Status {
      DIEGO_ASSIGN_OR_RETURN(DesiredParts parts, DecodeFull(row));
      lrps.push_back(JoinDesired(parts));
      return absl::OkStatus();
    });
  }));
  return lrps;
}

absl::StatusOr<DesiredLRP> SqlStore::DesiredLrpByProcessGuid(absl::string_view process_guid) {
  std::optional<DesiredParts> parts;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(parts, ReadDesired(tx, process_guid));
    return absl::OkStatus();
  }));
  if (!parts.has_value()) return model::ErrResourceNotFound();
  return JoinDesired(*parts);
}

absl::StatusOr<std::vector<DesiredLRPSchedulingInfo>> SqlStore::DesiredLrpSchedulingInfos(
    const DesiredLrpFilter& filter) {
  Where where;
  BuildWhere(db_->engine(), filter, /*use_app_guids=*/false, /*use_domain=*/true, &where);
  const std::string sql = absl::StrCat("SELECT ", kSchedulingColumns, " FROM desired_lrps",
                                       where.Sql(), " ORDER BY process_guid");
  std::vector<DesiredLRPSchedulingInfo> infos;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    infos.clear();
    return tx.Query(sql, where.params, [&](const SqlRow& row) -> absl::Status {
      DIEGO_ASSIGN_OR_RETURN(DesiredLRPSchedulingInfo info, DecodeScheduling(row));
      infos.push_back(std::move(info));
      return absl::OkStatus();
    });
  }));
  return infos;
}

absl::StatusOr<DesiredLRPSchedulingInfo> SqlStore::DesiredLrpSchedulingInfoByProcessGuid(
    absl::string_view process_guid) {
  std::optional<DesiredLRPSchedulingInfo> info;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    info.reset();
    const SqlParam params[] = {Text(process_guid)};
    return tx.Query(
        absl::StrCat("SELECT ", kSchedulingColumns, " FROM desired_lrps WHERE process_guid = ?"),
        params, [&](const SqlRow& row) -> absl::Status {
          DIEGO_ASSIGN_OR_RETURN(info, DecodeScheduling(row));
          return absl::OkStatus();
        });
  }));
  if (!info.has_value()) return model::ErrResourceNotFound();
  return std::move(*info);
}

absl::StatusOr<std::vector<DesiredLRP>> SqlStore::DesiredLrpRoutingInfos(
    const DesiredLrpFilter& filter) {
  Where where;
  BuildWhere(db_->engine(), filter, /*use_app_guids=*/false, /*use_domain=*/false, &where);
  const std::string sql = absl::StrCat("SELECT ", kRoutingColumns, " FROM desired_lrps",
                                       where.Sql(), " ORDER BY process_guid");
  std::vector<DesiredLRP> lrps;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    lrps.clear();
    return tx.Query(sql, where.params, [&](const SqlRow& row) -> absl::Status {
      DIEGO_ASSIGN_OR_RETURN(DesiredLRP lrp, DecodeRouting(row));
      lrps.push_back(std::move(lrp));
      return absl::OkStatus();
    });
  }));
  return lrps;
}

// -----------------------------------------------------------------------------
// Writes.
// -----------------------------------------------------------------------------

namespace internal {

absl::StatusOr<DesiredLRP> InsertDesiredLrp(SqlTx& tx, const DesiredLRP& lrp, absl::Time now) {
  DesiredParts parts = SplitDesired(lrp);
  // Diego's BBS stamps created_at itself (`DesiredLRPRunInfo(clock.Now())`).
  parts.run_info.set_created_at(absl::ToUnixNanos(now));
  const std::string scheduling_info = Serialize(parts.scheduling_info);
  const std::string run_info = Serialize(parts.run_info);
  const std::string metric_tags = Serialize(parts.metric_tags);
  const int64_t bucket = LrpBucket(lrp.process_guid());
  const DesiredRuntimeFingerprints fps = Fingerprints(parts);
  const SqlParam params[] = {Text(lrp.process_guid()),
                             Text(lrp.domain()),
                             Text(lrp.log_guid()),
                             Int(lrp.instances()),
                             Text(lrp.modification_tag().epoch()),
                             Int(lrp.modification_tag().index()),
                             Int(parts.update_strategy),
                             Blob(scheduling_info),
                             Blob(run_info),
                             Blob(metric_tags),
                             Int(bucket),
                             Int(fps.with_tags),
                             Int(fps.without_tags)};
  DIEGO_ASSIGN_OR_RETURN(
      int64_t inserted,
      tx.Exec("INSERT INTO desired_lrps (process_guid, domain, log_guid, instances,"
              " modification_tag_epoch, modification_tag_index, update_strategy,"
              " scheduling_info, run_info, metric_tags, bucket, runtime_fp, runtime_fp_notags)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
              " ON CONFLICT (process_guid) DO NOTHING",
              params));
  if (inserted == 0) return model::ErrResourceExists();
  DIEGO_RETURN_IF_ERROR(
      AddDesiredSums(tx, bucket, InstanceRangeSums(lrp.process_guid(), 0, lrp.instances())));
  DIEGO_RETURN_IF_ERROR(PointActualsAt(tx, lrp.process_guid(), &fps));
  return JoinDesired(parts);
}

}  // namespace internal

absl::StatusOr<DesireLrpResult> SqlStore::DesireLrp(const DesiredLRP& lrp,
                                                    absl::string_view trace_id) {
  DesireLrpResult result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    result = DesireLrpResult();
    const absl::Time now = Now();
    DesiredLRP desired = lrp;
    *desired.mutable_modification_tag() = model::NewModificationTag(NewEpoch(), 0);
    DIEGO_ASSIGN_OR_RETURN(result.lrp, internal::InsertDesiredLrp(tx, desired, now));

    std::vector<BbsEvent> events;
    events.push_back(DesiredLrpCreatedEvent(result.lrp, trace_id));
    DIEGO_ASSIGN_OR_RETURN(std::vector<ActualLRP> existing,
                           ReadInstances(tx, desired.process_guid()));
    DIEGO_RETURN_IF_ERROR(CreateInstances(
        tx, result.lrp, 0, result.lrp.instances(), existing, now, [this] { return NewEpoch(); },
        trace_id, &result.created_indices, &events));
    internal::PublishAfterCommit(tx, events_, std::move(events));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<UpdateLrpResult> SqlStore::UpdateDesiredLrp(absl::string_view process_guid,
                                                           const DesiredLRPUpdate& update,
                                                           absl::string_view trace_id) {
  UpdateLrpResult result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    result = UpdateLrpResult();
    const absl::Time now = Now();
    DIEGO_ASSIGN_OR_RETURN(std::optional<DesiredParts> stored, ReadDesired(tx, process_guid));
    if (!stored.has_value()) return model::ErrResourceNotFound();
    result.before = JoinDesired(*stored);

    // Diego's UpdateDesiredLRP: only these fields change.
    DesiredParts parts = *stored;
    DesiredLRPSchedulingInfo& s = parts.scheduling_info;
    if (update.has_instances()) s.set_instances(update.instances());
    if (update.has_routes()) *s.mutable_routes() = update.routes();
    if (update.has_annotation()) s.set_annotation(update.annotation());
    if (!update.metric_tags().empty()) {
      *parts.metric_tags.mutable_metric_tags() = update.metric_tags();
    }
    const bool run_info_changed = update.has_image_username() || update.has_image_password();
    if (update.has_image_username()) parts.run_info.set_image_username(update.image_username());
    if (update.has_image_password()) parts.run_info.set_image_password(update.image_password());
    model::Increment(s.mutable_modification_tag());
    result.after = JoinDesired(parts);

    const std::string scheduling_info = Serialize(s);
    const std::string metric_tags = Serialize(parts.metric_tags);
    const std::string run_info = run_info_changed ? Serialize(parts.run_info) : std::string();
    const internal::DesiredRuntimeFingerprints fps = Fingerprints(parts);
    const model::v1::ModificationTag& old_tag = stored->scheduling_info.modification_tag();
    int64_t changed = 0;
    if (run_info_changed) {
      const SqlParam params[] = {Int(s.instances()),    Int(s.modification_tag().index()),
                                 Blob(scheduling_info), Blob(metric_tags),
                                 Int(fps.with_tags),    Int(fps.without_tags),
                                 Blob(run_info),        Text(process_guid),
                                 Text(old_tag.epoch()), Int(old_tag.index())};
      DIEGO_ASSIGN_OR_RETURN(
          changed, tx.Exec("UPDATE desired_lrps SET instances = ?, modification_tag_index = ?,"
                           " scheduling_info = ?, metric_tags = ?, runtime_fp = ?,"
                           " runtime_fp_notags = ?, run_info = ?"
                           " WHERE process_guid = ? AND modification_tag_epoch = ?"
                           " AND modification_tag_index = ?",
                           params));
    } else {
      const SqlParam params[] = {Int(s.instances()),    Int(s.modification_tag().index()),
                                 Blob(scheduling_info), Blob(metric_tags),
                                 Int(fps.with_tags),    Int(fps.without_tags),
                                 Text(process_guid),    Text(old_tag.epoch()),
                                 Int(old_tag.index())};
      DIEGO_ASSIGN_OR_RETURN(
          changed, tx.Exec("UPDATE desired_lrps SET instances = ?, modification_tag_index = ?,"
                           " scheduling_info = ?, metric_tags = ?, runtime_fp = ?,"
                           " runtime_fp_notags = ?"
                           " WHERE process_guid = ? AND modification_tag_epoch = ?"
                           " AND modification_tag_index = ?",
                           params));
    }
    if (changed == 0) return SqlConflictError();
    const int64_t old_instances = stored->scheduling_info.instances();
    if (s.instances() > old_instances) {
      DIEGO_RETURN_IF_ERROR(internal::AddDesiredSums(
          tx, internal::LrpBucket(process_guid),
          internal::InstanceRangeSums(process_guid, old_instances, s.instances())));
    } else if (s.instances() < old_instances) {
      DIEGO_RETURN_IF_ERROR(internal::AddDesiredSums(
          tx, internal::LrpBucket(process_guid),
          -internal::InstanceRangeSums(process_guid, s.instances(), old_instances)));
    }
    const internal::DesiredRuntimeFingerprints old_fps = Fingerprints(*stored);
    if (old_fps.with_tags != fps.with_tags || old_fps.without_tags != fps.without_tags) {
      DIEGO_RETURN_IF_ERROR(PointActualsAt(tx, process_guid, &fps));
    }

    std::vector<BbsEvent> events;
    events.push_back(DesiredLrpChangedEvent(result.before, result.after, trace_id));

    const int32_t old_count = result.before.instances();
    const int32_t new_count = result.after.instances();
    const bool routes_updated = InternalRoutesUpdated(update, result.before);
    const bool tags_updated = MetricTagsUpdated(update, result.before);
    const bool scale = update.has_instances() && new_count != old_count;
    if (scale || routes_updated || tags_updated) {
      DIEGO_ASSIGN_OR_RETURN(std::vector<ActualLRP> rows, ReadInstances(tx, process_guid));
      if (update.has_instances() && new_count > old_count) {
        DIEGO_RETURN_IF_ERROR(CreateInstances(
            tx, result.after, old_count, new_count, rows, now, [this] { return NewEpoch(); },
            trace_id, &result.created_indices, &events));
      }
      if (update.has_instances() && new_count < old_count) {
        DIEGO_RETURN_IF_ERROR(
            StopInstancesFrom(tx, rows, new_count, trace_id, &result.to_stop, &events));
      }
      if (routes_updated || tags_updated) {
        // Diego's `updateInstances`: the running (or claimed) non-evacuating
        // instances; those being stopped by this scale-down are left out.
        for (const ActualLRP& row : rows) {
          if (row.presence() == ActualLRP::EVACUATING || IsUnclaimedOrCrashed(row)) continue;
          if (row.actual_lrp_key().index() >= new_count) continue;
          result.to_update.push_back(row);
        }
      }
    }
    internal::PublishAfterCommit(tx, events_, std::move(events));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<RemoveLrpResult> SqlStore::RemoveDesiredLrp(absl::string_view process_guid,
                                                           absl::string_view trace_id) {
  RemoveLrpResult result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    result = RemoveLrpResult();
    DIEGO_ASSIGN_OR_RETURN(std::optional<DesiredParts> stored, ReadDesired(tx, process_guid));
    if (!stored.has_value()) return model::ErrResourceNotFound();
    result.removed = JoinDesired(*stored);
    const model::v1::ModificationTag& tag = stored->scheduling_info.modification_tag();
    const SqlParam params[] = {Text(process_guid), Text(tag.epoch()), Int(tag.index())};
    DIEGO_ASSIGN_OR_RETURN(
        int64_t changed,
        tx.Exec("DELETE FROM desired_lrps WHERE process_guid = ? AND modification_tag_epoch = ?"
                " AND modification_tag_index = ?",
                params));
    if (changed == 0) return SqlConflictError();
    DIEGO_RETURN_IF_ERROR(internal::AddDesiredSums(
        tx, internal::LrpBucket(process_guid),
        -internal::InstanceRangeSums(process_guid, 0, stored->scheduling_info.instances())));
    DIEGO_RETURN_IF_ERROR(PointActualsAt(tx, process_guid, nullptr));

    std::vector<BbsEvent> events;
    events.push_back(DesiredLrpRemovedEvent(result.removed, trace_id));
    DIEGO_ASSIGN_OR_RETURN(std::vector<ActualLRP> rows, ReadInstances(tx, process_guid));
    DIEGO_RETURN_IF_ERROR(StopInstancesFrom(tx, rows, 0, trace_id, &result.to_stop, &events));
    internal::PublishAfterCommit(tx, events_, std::move(events));
    return absl::OkStatus();
  }));
  return result;
}

}  // namespace diego::bbs
