// Copyright 2026 The libdiego Authors.
//
// The actual_lrps row helpers shared by the SqlStore source files
// (sql_store_internal.h, [actual rows]). Every row keeps its queried fields as
// columns and the whole ActualLRP in `data`; both are written from the same
// message in the same statement, and reads decode only `data`. The helpers
// also keep the convergence index (sql_store_convergence_index.h) in step:
// the row's bucket and runtime fingerprint, and its bucket's sums.

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "diego/base/status_macros.h"
#include "diego/bbs/events.h"
#include "diego/bbs/sql.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "sql_store_convergence_index.h"
#include "sql_store_internal.h"

namespace diego::bbs::internal {
namespace {

using model::v1::ActualLRP;

// Tag indices are Go uint32s; the column holds the unsigned value.
int64_t TagIndexColumn(const ActualLRP& lrp) {
  return static_cast<int64_t>(lrp.modification_tag().index());
}

std::string RowId(absl::string_view process_guid, int64_t index, int64_t presence) {
  return absl::StrCat(process_guid, "/", index, "/", presence);
}

// Decodes column 0 (`data`) of `row` into `lrp`; columns 1..3 are the key
// (process_guid, instance_index, presence), used only for the error.
absl::Status DecodeRow(const SqlRow& row, ActualLRP& lrp) {
  const absl::string_view blob = row.Blob(0);
  if (lrp.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
    return absl::OkStatus();
  }
  const std::string id = RowId(row.Text(1), row.Int(2), row.Int(3));
  return ParseStored(blob, lrp, "actual LRP", id);
}

// SELECT for every combination of the four filters (bit 0 domain, 1 cell_id,
// 2 process_guid, 3 index), so each combination is one constant, cacheable
// statement text.
const std::string& FilterQuery(int mask) {
  static const std::array<std::string, 16>* const queries = [] {
    auto* q = new std::array<std::string, 16>();
    for (int m = 0; m < 16; ++m) {
      std::string sql =
          "SELECT data, process_guid, instance_index, presence FROM actual_lrps";
      const char* sep = " WHERE ";
      if (m & 1) absl::StrAppend(&sql, std::exchange(sep, " AND "), "domain = ?");
      if (m & 2) absl::StrAppend(&sql, std::exchange(sep, " AND "), "cell_id = ?");
      if (m & 4) absl::StrAppend(&sql, std::exchange(sep, " AND "), "process_guid = ?");
      if (m & 8) absl::StrAppend(&sql, std::exchange(sep, " AND "), "instance_index = ?");
      absl::StrAppend(&sql, " ORDER BY process_guid, instance_index, presence");
      (*q)[m] = std::move(sql);
    }
    return q;
  }();
  return (*queries)[mask];
}

// Diego's `EventScore`: crash events first, then events whose resulting LRP
// is RUNNING, then removals and changes to other states.
int EventScore(const BbsEvent& event, const ActualLrpRowChange& change) {
  if (event.type == "actual_lrp_crashed") return 2;
  if (event.type == "actual_lrp_instance_created" || event.type == "actual_lrp_instance_changed") {
    return change.after != nullptr && change.after->state() == model::kActualLrpStateRunning ? 1
                                                                                           : 0;
  }
  return 0;
}

}  // namespace

absl::Status InsertActualLrp(SqlTx& tx, const ActualLRP& lrp) {
  const std::string data = lrp.SerializeAsString();
  const auto& key = lrp.actual_lrp_key();
  const auto& instance = lrp.actual_lrp_instance_key();
  const int64_t bucket = LrpBucket(key.process_guid());
  const SqlParam params[] = {
      Text(key.process_guid()),
      Int(key.index()),
      Int(lrp.presence()),
      Text(key.domain()),
      Text(lrp.state()),
      Text(instance.instance_guid()),
      Text(instance.cell_id()),
      Int(lrp.since()),
      Text(lrp.modification_tag().epoch()),
      Int(TagIndexColumn(lrp)),
      Int(lrp.crash_count()),
      Blob(data),
      Int(bucket),
      Int(ActualRuntimeFingerprint(lrp)),
      Text(key.process_guid()),
      Text(key.process_guid()),
  };
  // DO NOTHING instead of a unique violation keeps a PostgreSQL transaction
  // usable, so a caller may handle kAlreadyExists and go on. The copies of
  // the desired fingerprints come from the DesiredLRP (NULL without one).
  DIEGO_ASSIGN_OR_RETURN(
      const int64_t inserted,
      tx.Exec("INSERT INTO actual_lrps (process_guid, instance_index, presence, domain, state,"
              " instance_guid, cell_id, since, modification_tag_epoch, modification_tag_index,"
              " crash_count, data, bucket, runtime_fp, desired_fp, desired_fp_notags)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
              " (SELECT runtime_fp FROM desired_lrps WHERE process_guid = ?),"
              " (SELECT runtime_fp_notags FROM desired_lrps WHERE process_guid = ?))"
              " ON CONFLICT (process_guid, instance_index, presence) DO NOTHING",
              params));
  if (inserted == 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "actual LRP row ", RowId(key.process_guid(), key.index(), lrp.presence()),
        " already exists"));
  }
  if (lrp.presence() == ActualLRP::ORDINARY) {
    DIEGO_RETURN_IF_ERROR(
        AddActualSums(tx, bucket, InstanceSumsOf(key.process_guid(), key.index())));
  }
  return absl::OkStatus();
}

absl::Status InsertNewActualLrp(SqlTx& tx, const ActualLRP& lrp) {
  absl::Status status = InsertActualLrp(tx, lrp);
  if (absl::IsAlreadyExists(status)) return SqlConflictError();
  return status;
}

absl::Status UpdateActualLrp(SqlTx& tx, const ActualLRP& lrp, int64_t expected_tag_index) {
  const std::string data = lrp.SerializeAsString();
  const auto& key = lrp.actual_lrp_key();
  const auto& instance = lrp.actual_lrp_instance_key();
  const SqlParam params[] = {
      Text(key.domain()),
      Text(lrp.state()),
      Text(instance.instance_guid()),
      Text(instance.cell_id()),
      Int(lrp.since()),
      Text(lrp.modification_tag().epoch()),
      Int(TagIndexColumn(lrp)),
      Int(lrp.crash_count()),
      Blob(data),
      Int(ActualRuntimeFingerprint(lrp)),
      Text(key.process_guid()),
      Int(key.index()),
      Int(lrp.presence()),
      Int(expected_tag_index),
  };
  DIEGO_ASSIGN_OR_RETURN(
      const int64_t updated,
      tx.Exec("UPDATE actual_lrps SET domain = ?, state = ?, instance_guid = ?, cell_id = ?,"
              " since = ?, modification_tag_epoch = ?, modification_tag_index = ?,"
              " crash_count = ?, data = ?, runtime_fp = ?"
              " WHERE process_guid = ? AND instance_index = ? AND presence = ?"
              " AND modification_tag_index = ?",
              params));
  if (updated == 0) return SqlConflictError();
  return absl::OkStatus();
}

namespace {

// Takes a deleted ORDINARY row out of its bucket's sums.
absl::Status RemoveFromSums(SqlTx& tx, absl::string_view process_guid, int64_t index,
                            ActualLRP::Presence presence) {
  if (presence != ActualLRP::ORDINARY) return absl::OkStatus();
  return AddActualSums(tx, LrpBucket(process_guid), -InstanceSumsOf(process_guid, index));
}

}  // namespace

absl::StatusOr<bool> DeleteActualLrp(SqlTx& tx, absl::string_view process_guid, int32_t index,
                                     ActualLRP::Presence presence) {
  const SqlParam params[] = {Text(process_guid), Int(index), Int(presence)};
  DIEGO_ASSIGN_OR_RETURN(
      const int64_t deleted,
      tx.Exec("DELETE FROM actual_lrps"
              " WHERE process_guid = ? AND instance_index = ? AND presence = ?",
              params));
  if (deleted == 0) return false;
  DIEGO_RETURN_IF_ERROR(RemoveFromSums(tx, process_guid, index, presence));
  return true;
}

absl::Status DeleteActualLrpIfUnchanged(SqlTx& tx, const ActualLRP& lrp) {
  const auto& key = lrp.actual_lrp_key();
  const SqlParam params[] = {Text(key.process_guid()), Int(key.index()), Int(lrp.presence()),
                             Int(TagIndexColumn(lrp))};
  DIEGO_ASSIGN_OR_RETURN(
      const int64_t deleted,
      tx.Exec("DELETE FROM actual_lrps WHERE process_guid = ? AND instance_index = ?"
              " AND presence = ? AND modification_tag_index = ?",
              params));
  if (deleted == 0) return SqlConflictError();
  return RemoveFromSums(tx, key.process_guid(), key.index(), lrp.presence());
}

absl::StatusOr<ActualLRP> ChangeActualLrpPresence(SqlTx& tx, const ActualLRP& lrp,
                                                  ActualLRP::Presence presence) {
  ActualLRP moved = lrp;
  moved.set_presence(presence);
  const std::string data = moved.SerializeAsString();
  const auto& key = lrp.actual_lrp_key();
  const SqlParam params[] = {Int(presence),           Blob(data),
                             Text(key.process_guid()), Int(key.index()),
                             Int(lrp.presence()),      Int(TagIndexColumn(lrp))};
  DIEGO_ASSIGN_OR_RETURN(
      const int64_t updated,
      tx.Exec("UPDATE actual_lrps SET presence = ?, data = ? WHERE process_guid = ?"
              " AND instance_index = ? AND presence = ? AND modification_tag_index = ?",
              params));
  if (updated == 0) return SqlConflictError();
  DIEGO_RETURN_IF_ERROR(RemoveFromSums(tx, key.process_guid(), key.index(), lrp.presence()));
  if (presence == ActualLRP::ORDINARY) {
    DIEGO_RETURN_IF_ERROR(AddActualSums(tx, LrpBucket(key.process_guid()),
                                        InstanceSumsOf(key.process_guid(), key.index())));
  }
  return moved;
}

absl::StatusOr<std::optional<ActualLRP>> ReadActualLrp(SqlTx& tx, absl::string_view process_guid,
                                                       int32_t index,
                                                       ActualLRP::Presence presence) {
  std::optional<ActualLRP> result;
  const SqlParam params[] = {Text(process_guid), Int(index), Int(presence)};
  DIEGO_RETURN_IF_ERROR(tx.Query(
      "SELECT data, process_guid, instance_index, presence FROM actual_lrps"
      " WHERE process_guid = ? AND instance_index = ? AND presence = ?",
      params, [&](const SqlRow& row) { return DecodeRow(row, result.emplace()); }));
  return result;
}

absl::StatusOr<std::vector<ActualLRP>> ReadActualLrps(SqlTx& tx, const ActualLrpFilter& filter) {
  int mask = 0;
  std::vector<SqlParam> params;
  params.reserve(4);
  if (!filter.domain.empty()) {
    mask |= 1;
    params.push_back(Text(filter.domain));
  }
  if (!filter.cell_id.empty()) {
    mask |= 2;
    params.push_back(Text(filter.cell_id));
  }
  if (!filter.process_guid.empty()) {
    mask |= 4;
    params.push_back(Text(filter.process_guid));
  }
  if (filter.index.has_value()) {
    mask |= 8;
    params.push_back(Int(*filter.index));
  }
  std::vector<ActualLRP> result;
  DIEGO_RETURN_IF_ERROR(tx.Query(FilterQuery(mask), params, [&](const SqlRow& row) {
    return DecodeRow(row, result.emplace_back());
  }));
  return result;
}

const ActualLRP* ActualLrpIndexRows::WithInstanceKey(
    const model::v1::ActualLRPInstanceKey& instance_key) const {
  for (const std::optional<ActualLRP>* row : {&ordinary, &evacuating, &suspect}) {
    if (row->has_value() &&
        model::InstanceKeysEqual((*row)->actual_lrp_instance_key(), instance_key)) {
      return &**row;
    }
  }
  return nullptr;
}

absl::StatusOr<ActualLrpIndexRows> ReadActualLrpIndexRows(SqlTx& tx,
                                                          absl::string_view process_guid,
                                                          int32_t index) {
  ActualLrpIndexRows rows;
  if (process_guid.empty()) return rows;
  const SqlParam params[] = {Text(process_guid), Int(index)};
  DIEGO_RETURN_IF_ERROR(tx.Query(FilterQuery(4 | 8), params, [&](const SqlRow& row) {
    std::optional<ActualLRP>* slot = nullptr;
    switch (row.Int(3)) {
      case ActualLRP::ORDINARY:
        slot = &rows.ordinary;
        break;
      case ActualLRP::EVACUATING:
        slot = &rows.evacuating;
        break;
      case ActualLRP::SUSPECT:
        slot = &rows.suspect;
        break;
      default:
        return absl::DataLossError(absl::StrCat("actual LRP row ",
                                                RowId(row.Text(1), row.Int(2), row.Int(3)),
                                                " has an unknown presence"));
    }
    return DecodeRow(row, slot->emplace());
  }));
  return rows;
}

std::vector<BbsEvent> ActualLrpEvents(absl::Span<const ActualLrpRowChange> changes,
                                      absl::string_view trace_id) {
  std::vector<std::pair<int, BbsEvent>> scored;
  for (const ActualLrpRowChange& change : changes) {
    for (BbsEvent& event :
         ActualLrpChangeEvents(change.before, change.after, change.crashed, trace_id)) {
      const int score = EventScore(event, change);
      scored.emplace_back(score, std::move(event));
    }
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<BbsEvent> events;
  events.reserve(scored.size());
  for (auto& [score, event] : scored) events.push_back(std::move(event));
  return events;
}

}  // namespace diego::bbs::internal
