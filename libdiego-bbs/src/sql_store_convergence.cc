// Copyright 2026 The libdiego Authors.
//
// SqlStore::ConvergeLrps (convergence.h; Diego's bbs
// db/sqldb/lrp_convergence.go, suspect_db.go and the LRP convergence
// controller), and the helpers of sql_store_convergence_shared.h.
//
// The plan never decodes a row that needs no action. It reads:
//   * `lrp_buckets` (4096 rows): the buckets whose desired and ORDINARY
//     instance sets disagree, plus a rotating slice verified from the rows,
//     are listed row by row (narrow columns, from covering indexes) and
//     merged: missing indices, extra indices, orphans
//     (sql_store_convergence_index.h);
//   * the distinct cell ids of actual_lrps, one index seek each, and the rows
//     of the cells that are gone;
//   * index ranges for stale UNCLAIMED, CRASHED, CLAIMED and SUSPECT rows;
//   * the partial index of RUNNING rows whose runtime fingerprint differs
//     from their DesiredLRP's (drift candidates, decoded and checked).
// Only then are the DesiredLRPs of the rows that need action read. See
// sql_store_convergence_shared.h for how changes are made.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"
#include "diego/bbs/convergence.h"
#include "diego/bbs/events.h"
#include "diego/bbs/outbound.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "sql_store_convergence_index.h"
#include "sql_store_convergence_shared.h"
#include "sql_store_internal.h"

namespace diego::bbs {
namespace internal {

void RunConvergenceGroups(const std::vector<std::function<void()>>& groups) {
  constexpr size_t kInlineGroups = 8;
  if (groups.size() < kInlineGroups) {
    for (const auto& group : groups) group();
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  const size_t n = std::min(kConvergenceWorkers, groups.size());
  threads.reserve(n);
  for (size_t t = 0; t < n; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < groups.size(); i = next++) groups[i]();
    });
  }
  for (std::thread& thread : threads) thread.join();
}

absl::Status CollectStrings(SqlTx& tx, absl::string_view sql, absl::Span<const SqlParam> params,
                            std::vector<std::string>* out) {
  return tx.Query(sql, params, [&](const SqlRow& row) {
    out->emplace_back(row.Text(0));
    return absl::OkStatus();
  });
}

absl::Status CountInt(SqlTx& tx, absl::string_view sql, absl::Span<const SqlParam> params,
                      int64_t* out) {
  return tx.Query(sql, params, [&](const SqlRow& row) {
    *out = row.Int(0);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::string>> MissingCells(SqlTx& tx, absl::string_view sql,
                                                      absl::Span<const SqlParam> params,
                                                      const CellSet& cells) {
  std::vector<std::string> present;
  DIEGO_RETURN_IF_ERROR(CollectStrings(tx, sql, params, &present));
  std::vector<std::string> missing;
  for (std::string& cell : present) {
    if (!cells.contains(cell)) missing.push_back(std::move(cell));
  }
  return missing;
}

}  // namespace internal

namespace {

using internal::CountInt;
using internal::MissingCells;
using model::v1::ActualLRP;

// -----------------------------------------------------------------------------
// LRPs: the plan.
// -----------------------------------------------------------------------------

// Buckets verified from their rows on every pass, whatever their sums say
// (a rotating slice: every bucket once per kLrpBuckets / kVerifiedBuckets
// passes), so sums that disagree with the rows for any reason are found and
// repaired.
constexpr int64_t kVerifiedBuckets = 16;

// Cell ids of actual_lrps ('' is UNCLAIMED/CRASHED rows, no cell).
constexpr absl::string_view kLrpCellsSql =
    "WITH RECURSIVE c(id) AS ("
    " SELECT MIN(cell_id) FROM actual_lrps WHERE cell_id > ''"
    " UNION ALL"
    " SELECT (SELECT MIN(cell_id) FROM actual_lrps WHERE cell_id > c.id)"
    " FROM c WHERE c.id IS NOT NULL)"
    " SELECT id FROM c WHERE id IS NOT NULL";

using IndexKey = std::pair<std::string, int32_t>;

bool IsState(absl::string_view state, absl::string_view want) { return state == want; }

// What a pass needs of one DesiredLRP.
struct DesiredDetails {
  model::v1::DesiredLRPSchedulingInfo info;
  model::v1::DesiredLRP metric_tags;  // Only metric_tags set.
};

// One planned change of one (process_guid, index), re-checked in its write.
enum class LrpRule {
  kDeleteEvacuating,       // 1: EVACUATING row on a missing cell
  kMissingCell,            // 3: ORDINARY CLAIMED/RUNNING on a missing cell
  kCreateMissing,          // 4: no ORDINARY row for an index < instances
  kDeleteOrphanSuspect,    // 6: SUSPECT without DesiredLRP, fresh domain
  kDeleteReplacedSuspect,  // 6: SUSPECT whose ORDINARY row is RUNNING
  kPromoteSuspect,         // 6: SUSPECT whose cell is back
  kRestartCrashed,         // 7: CRASHED, restart due
};

// ORDINARY / SUSPECT counts for the result's metrics.
struct LrpCounts {
  int64_t desired_instances = 0;
  int64_t ordinary = 0;
  int64_t unclaimed = 0;
  int64_t claimed = 0;
  int64_t crashed = 0;
  int64_t crashing_desired = 0;
  int64_t suspect_running = 0;
  int64_t suspect_claimed = 0;
};

// Everything a pass decided from its snapshot.
struct LrpPlan {
  std::vector<std::string> expired_domains;
  std::vector<std::string> fresh_domains;  // name order
  absl::flat_hash_set<std::string> fresh;
  // The changes, per (process_guid, index) in rule order.
  std::map<IndexKey, std::vector<LrpRule>> changes;
  std::set<IndexKey> stale_unclaimed;
  std::vector<model::v1::ActualLRPKey> keys_to_retire;
  std::set<std::string> missing_cell_ids;
  std::vector<RuntimeUpdate> runtime_updates;
  std::vector<int64_t> buckets_to_repair;
  // The DesiredLRPs the rules join with (those that decode).
  std::map<std::string, DesiredDetails> desired;
  LrpCounts counts;
};

// The sums of the bucket totals: desired instances and ORDINARY rows.
absl::Status ReadBucketTotals(SqlTx& tx, LrpCounts* counts) {
  // PostgreSQL's SUM(BIGINT) is NUMERIC; cast it back.
  return tx.Query(
      "SELECT CAST(COALESCE(SUM(desired_count), 0) AS BIGINT),"
      " CAST(COALESCE(SUM(actual_count), 0) AS BIGINT) FROM lrp_buckets",
      {}, [&](const SqlRow& row) {
        counts->desired_instances = row.Int(0);
        counts->ordinary = row.Int(1);
        return absl::OkStatus();
      });
}

// The counts by state (small index ranges: RUNNING ORDINARY rows, the bulk,
// are the rest of the total).
absl::Status ReadStateCounts(SqlTx& tx, LrpCounts* counts) {
  constexpr absl::string_view kCountState =
      "SELECT COUNT(*) FROM actual_lrps WHERE state = ? AND presence = ?";
  const struct {
    absl::string_view state;
    ActualLRP::Presence presence;
    int64_t* out;
  } ranges[] = {
      {model::kActualLrpStateUnclaimed, ActualLRP::ORDINARY, &counts->unclaimed},
      {model::kActualLrpStateClaimed, ActualLRP::ORDINARY, &counts->claimed},
      {model::kActualLrpStateCrashed, ActualLRP::ORDINARY, &counts->crashed},
      {model::kActualLrpStateRunning, ActualLRP::SUSPECT, &counts->suspect_running},
      {model::kActualLrpStateClaimed, ActualLRP::SUSPECT, &counts->suspect_claimed},
  };
  for (const auto& [state, presence, out] : ranges) {
    const SqlParam params[] = {Text(state), Int(presence)};
    DIEGO_RETURN_IF_ERROR(CountInt(tx, kCountState, params, out));
  }
  const SqlParam params[] = {Text(model::kActualLrpStateCrashed), Int(ActualLRP::ORDINARY)};
  return CountInt(
      tx, "SELECT COUNT(DISTINCT process_guid) FROM actual_lrps WHERE state = ? AND presence = ?",
      params, &counts->crashing_desired);
}

struct BucketDesired {
  std::string process_guid;
  std::string domain;
  int64_t instances = 0;
};
struct BucketActual {
  std::string process_guid;
  int32_t index = 0;
};

model::v1::ActualLRPKey MakeKey(absl::string_view process_guid, int32_t index,
                                absl::string_view domain) {
  model::v1::ActualLRPKey key;
  key.set_process_guid(std::string(process_guid));
  key.set_index(index);
  key.set_domain(std::string(domain));
  return key;
}

// Lists one bucket's desired LRPs and ORDINARY rows and adds their
// differences to `plan` (rules 4 and 5). `stored` is the bucket's
// lrp_buckets row (desired, actual); when the rows disagree with it the
// bucket is marked for repair.
absl::Status MergeBucket(SqlTx& tx, int64_t bucket,
                         const std::pair<internal::InstanceSums, internal::InstanceSums>& stored,
                         LrpPlan* plan, std::set<std::string>* needed_desired) {
  std::vector<BucketDesired> desired;
  std::vector<BucketActual> actual;
  const SqlParam params[] = {Int(bucket)};
  DIEGO_RETURN_IF_ERROR(tx.Query(
      "SELECT process_guid, domain, instances FROM desired_lrps WHERE bucket = ?", params,
      [&](const SqlRow& row) {
        desired.push_back({std::string(row.Text(0)), std::string(row.Text(1)), row.Int(2)});
        return absl::OkStatus();
      }));
  const SqlParam actual_params[] = {Int(bucket), Int(ActualLRP::ORDINARY)};
  DIEGO_RETURN_IF_ERROR(tx.Query(
      "SELECT process_guid, instance_index FROM actual_lrps WHERE bucket = ? AND presence = ?",
      actual_params, [&](const SqlRow& row) {
        actual.push_back({std::string(row.Text(0)), static_cast<int32_t>(row.Int(1))});
        return absl::OkStatus();
      }));
  std::sort(desired.begin(), desired.end(), [](const BucketDesired& a, const BucketDesired& b) {
    return a.process_guid < b.process_guid;
  });
  std::sort(actual.begin(), actual.end(), [](const BucketActual& a, const BucketActual& b) {
    return std::tie(a.process_guid, a.index) < std::tie(b.process_guid, b.index);
  });

  internal::InstanceSums desired_sums;
  internal::InstanceSums actual_sums;
  // An orphan (no DesiredLRP) is retired when its own domain is fresh.
  auto orphan = [&](const BucketActual& row) -> absl::Status {
    std::string domain;
    const SqlParam key[] = {Text(row.process_guid), Int(row.index), Int(ActualLRP::ORDINARY)};
    DIEGO_RETURN_IF_ERROR(tx.Query(
        "SELECT domain FROM actual_lrps WHERE process_guid = ? AND instance_index = ?"
        " AND presence = ?",
        key, [&](const SqlRow& r) {
          domain = std::string(r.Text(0));
          return absl::OkStatus();
        }));
    if (plan->fresh.contains(domain)) {
      plan->keys_to_retire.push_back(MakeKey(row.process_guid, row.index, domain));
    }
    return absl::OkStatus();
  };
  size_t a = 0;
  for (const BucketDesired& d : desired) {
    desired_sums += internal::InstanceRangeSums(d.process_guid, 0, d.instances);
    for (; a < actual.size() && actual[a].process_guid < d.process_guid; ++a) {
      actual_sums += internal::InstanceSumsOf(actual[a].process_guid, actual[a].index);
      DIEGO_RETURN_IF_ERROR(orphan(actual[a]));
    }
    int64_t next = 0;  // The lowest index not yet seen.
    auto add_missing = [&](int64_t upto) {
      for (; next < std::min(upto, d.instances); ++next) {
        plan->changes[{d.process_guid, static_cast<int32_t>(next)}].push_back(
            LrpRule::kCreateMissing);
        needed_desired->insert(d.process_guid);
      }
    };
    for (; a < actual.size() && actual[a].process_guid == d.process_guid; ++a) {
      const BucketActual& row = actual[a];
      actual_sums += internal::InstanceSumsOf(row.process_guid, row.index);
      add_missing(row.index);
      next = std::max<int64_t>(next, int64_t{row.index} + 1);
      // Extra: only destructive for fresh domains (the DesiredLRP's).
      if (row.index >= d.instances && plan->fresh.contains(d.domain)) {
        plan->keys_to_retire.push_back(MakeKey(d.process_guid, row.index, d.domain));
      }
    }
    add_missing(d.instances);
  }
  for (; a < actual.size(); ++a) {
    actual_sums += internal::InstanceSumsOf(actual[a].process_guid, actual[a].index);
    DIEGO_RETURN_IF_ERROR(orphan(actual[a]));
  }
  if (!(desired_sums == stored.first) || !(actual_sums == stored.second)) {
    plan->buckets_to_repair.push_back(bucket);
  }
  return absl::OkStatus();
}

// Sets `bucket`'s sums to what its rows say, inside the write.
absl::Status RepairBucket(SqlTx& tx, int64_t bucket) {
  internal::InstanceSums desired;
  internal::InstanceSums actual;
  const SqlParam params[] = {Int(bucket)};
  DIEGO_RETURN_IF_ERROR(
      tx.Query("SELECT process_guid, instances FROM desired_lrps WHERE bucket = ?", params,
               [&](const SqlRow& row) {
                 desired += internal::InstanceRangeSums(row.Text(0), 0, row.Int(1));
                 return absl::OkStatus();
               }));
  const SqlParam actual_params[] = {Int(bucket), Int(ActualLRP::ORDINARY)};
  DIEGO_RETURN_IF_ERROR(tx.Query(
      "SELECT process_guid, instance_index FROM actual_lrps WHERE bucket = ? AND presence = ?",
      actual_params, [&](const SqlRow& row) {
        actual += internal::InstanceSumsOf(row.Text(0), row.Int(1));
        return absl::OkStatus();
      }));
  const SqlParam reset[] = {Int(bucket)};
  DIEGO_RETURN_IF_ERROR(tx.Exec("DELETE FROM lrp_buckets WHERE bucket = ?", reset).status());
  DIEGO_RETURN_IF_ERROR(internal::AddDesiredSums(tx, bucket, desired));
  return internal::AddActualSums(tx, bucket, actual);
}

// A SUSPECT row by narrow columns.
struct SuspectRow {
  std::string process_guid;
  int32_t index = 0;
  std::string cell_id;
  std::string domain;
};

// What the steps of one LRP pass share.
struct LrpPass {
  SqlDatabase* db = nullptr;
  EventSink* events = nullptr;
  const CellSet* cells = nullptr;
  absl::Time now;
  const model::RestartCalculator* policy = nullptr;
  // Makes modification-tag epochs; called only inside writes.
  std::function<std::string()> new_epoch;
};

// Domains: expired ones (to delete) and fresh ones.
absl::Status PlanDomains(SqlTx& tx, absl::Time now, LrpPlan* plan) {
  const int64_t now_nanos = absl::ToUnixNanos(now);
  return tx.Query("SELECT domain, expire_time FROM domains ORDER BY domain", {},
                  [&](const SqlRow& row) {
                    const int64_t expire = row.Int(1);
                    if (expire != 0 && expire <= now_nanos) {
                      plan->expired_domains.emplace_back(row.Text(0));
                    } else {
                      plan->fresh_domains.emplace_back(row.Text(0));
                      plan->fresh.emplace(row.Text(0));
                    }
                    return absl::OkStatus();
                  });
}

// Rules 4 and 5: merges the buckets whose sums disagree and the slice
// verified at `now`; adds the bucket totals to the counts.
absl::Status PlanInstanceSets(SqlTx& tx, absl::Time now, LrpPlan* plan,
                              std::set<std::string>* needed) {
  std::map<int64_t, std::pair<internal::InstanceSums, internal::InstanceSums>> sums;
  DIEGO_RETURN_IF_ERROR(tx.Query(
      "SELECT bucket, desired_count, desired_sum1, desired_sum2, actual_count, actual_sum1,"
      " actual_sum2 FROM lrp_buckets",
      {}, [&](const SqlRow& row) {
        sums[row.Int(0)] = {{row.Int(1), row.Int(2), row.Int(3)},
                            {row.Int(4), row.Int(5), row.Int(6)}};
        return absl::OkStatus();
      }));
  std::set<int64_t> buckets;
  for (const auto& [bucket, pair] : sums) {
    if (!(pair.first == pair.second)) buckets.insert(bucket);
    plan->counts.desired_instances += pair.first.count;
    plan->counts.ordinary += pair.second.count;
  }
  const int64_t slot = (absl::ToUnixSeconds(now) / 30) % (internal::kLrpBuckets / kVerifiedBuckets);
  for (int64_t b = slot * kVerifiedBuckets; b < (slot + 1) * kVerifiedBuckets; ++b) {
    buckets.insert(b);
  }
  for (int64_t bucket : buckets) {
    DIEGO_RETURN_IF_ERROR(MergeBucket(tx, bucket, sums[bucket], plan, needed));
  }
  return absl::OkStatus();
}

// Every row (any presence) on a cell that is not in `cells`.
absl::StatusOr<std::vector<ActualLRP>> RowsOnMissingCells(SqlTx& tx, const CellSet& cells) {
  DIEGO_ASSIGN_OR_RETURN(std::vector<std::string> missing,
                         MissingCells(tx, kLrpCellsSql, {}, cells));
  std::vector<ActualLRP> rows;
  for (const std::string& cell : missing) {
    ActualLrpFilter filter;
    filter.cell_id = cell;
    DIEGO_ASSIGN_OR_RETURN(std::vector<ActualLRP> on_cell, internal::ReadActualLrps(tx, filter));
    for (ActualLRP& row : on_cell) rows.push_back(std::move(row));
  }
  return rows;
}

// Rule 2's candidates: ORDINARY UNCLAIMED rows older than `cutoff`.
absl::Status ReadStaleUnclaimed(SqlTx& tx, int64_t cutoff, std::set<IndexKey>* out) {
  const SqlParam params[] = {Text(model::kActualLrpStateUnclaimed), Int(ActualLRP::ORDINARY),
                             Int(cutoff)};
  return tx.Query(
      "SELECT process_guid, instance_index FROM actual_lrps"
      " WHERE state = ? AND presence = ? AND since < ?",
      params, [&](const SqlRow& row) {
        out->emplace(std::string(row.Text(0)), static_cast<int32_t>(row.Int(1)));
        return absl::OkStatus();
      });
}

// Rule 7's candidates: ORDINARY CRASHED rows the restart policy restarts now.
absl::Status ReadRestartableCrashes(SqlTx& tx, const LrpPass& pass, std::vector<IndexKey>* out) {
  const SqlParam params[] = {Text(model::kActualLrpStateCrashed), Int(ActualLRP::ORDINARY)};
  return tx.Query(
      "SELECT process_guid, instance_index, since, crash_count FROM actual_lrps"
      " WHERE state = ? AND presence = ?",
      params, [&](const SqlRow& row) {
        ActualLRP lrp;
        lrp.set_state(std::string(model::kActualLrpStateCrashed));
        lrp.set_since(row.Int(2));
        lrp.set_crash_count(static_cast<int32_t>(row.Int(3)));
        if (model::ShouldRestartCrash(lrp, pass.now, *pass.policy)) {
          out->emplace_back(std::string(row.Text(0)), static_cast<int32_t>(row.Int(1)));
        }
        return absl::OkStatus();
      });
}

// Rule 6's rows: every SUSPECT row, by the (state, presence) index ranges.
absl::Status ReadSuspects(SqlTx& tx, std::vector<SuspectRow>* out) {
  for (absl::string_view state : model::kActualLrpStates) {
    const SqlParam params[] = {Text(state), Int(ActualLRP::SUSPECT)};
    DIEGO_RETURN_IF_ERROR(
        tx.Query("SELECT process_guid, instance_index, cell_id, domain FROM actual_lrps"
                 " WHERE state = ? AND presence = ?",
                 params, [&](const SqlRow& row) {
                   out->push_back({std::string(row.Text(0)), static_cast<int32_t>(row.Int(1)),
                                   std::string(row.Text(2)), std::string(row.Text(3))});
                   return absl::OkStatus();
                 }));
  }
  return absl::OkStatus();
}

// Rule 8's candidates: the partial index of RUNNING ORDINARY rows whose
// runtime fingerprint matches neither copy of their DesiredLRP's.
absl::Status ReadDriftCandidates(SqlTx& tx, std::vector<IndexKey>* out) {
  return tx.Query(
      tx.engine() == SqlEngine::kSqlite
          ? "SELECT process_guid, instance_index FROM actual_lrps"
            " INDEXED BY actual_lrps_runtime_drift WHERE presence = 0 AND state = 'RUNNING'"
            " AND runtime_fp <> desired_fp AND runtime_fp <> desired_fp_notags"
          : "SELECT process_guid, instance_index FROM actual_lrps"
            " WHERE presence = 0 AND state = 'RUNNING'"
            " AND runtime_fp <> desired_fp AND runtime_fp <> desired_fp_notags",
      {}, [&](const SqlRow& row) {
        out->emplace_back(std::string(row.Text(0)), static_cast<int32_t>(row.Int(1)));
        return absl::OkStatus();
      });
}

// Reads the DesiredLRPs `guids` into `plan->desired` (those that exist and
// decode; one that does not decode takes part in no rule).
absl::Status ReadDesiredDetails(SqlTx& tx, const std::set<std::string>& guids, LrpPlan* plan) {
  for (const std::string& guid : guids) {
    const SqlParam params[] = {Text(guid)};
    DIEGO_RETURN_IF_ERROR(tx.Query(
        "SELECT scheduling_info, metric_tags FROM desired_lrps WHERE process_guid = ?", params,
        [&](const SqlRow& row) {
          DesiredDetails details;
          const absl::string_view info = row.Blob(0);
          const absl::string_view tags = row.Blob(1);
          if (details.info.ParseFromArray(info.data(), static_cast<int>(info.size())) &&
              details.metric_tags.ParseFromArray(tags.data(), static_cast<int>(tags.size()))) {
            plan->desired.emplace(guid, std::move(details));
          }
          return absl::OkStatus();
        }));
  }
  return absl::OkStatus();
}

bool HasDesired(const LrpPlan& plan, const std::string& guid) {
  return plan.desired.find(guid) != plan.desired.end();
}

// Rules 1 and 3 for the rows on missing cells (rule 3 joins with the
// DesiredLRPs, as Diego's query does).
void PlanMissingCells(const std::vector<ActualLRP>& rows, LrpPlan* plan) {
  for (const ActualLRP& row : rows) {
    const IndexKey key(row.actual_lrp_key().process_guid(), row.actual_lrp_key().index());
    std::vector<LrpRule>& rules = plan->changes[key];
    if (row.presence() == ActualLRP::EVACUATING) {
      rules.insert(rules.begin(), LrpRule::kDeleteEvacuating);
      continue;
    }
    const bool claimed_or_running = IsState(row.state(), model::kActualLrpStateClaimed) ||
                                    IsState(row.state(), model::kActualLrpStateRunning);
    if (!claimed_or_running || !HasDesired(*plan, key.first)) continue;
    plan->missing_cell_ids.insert(row.actual_lrp_instance_key().cell_id());
    if (row.presence() == ActualLRP::ORDINARY) {
      auto at = std::find_if(rules.begin(), rules.end(),
                             [](LrpRule r) { return r != LrpRule::kDeleteEvacuating; });
      rules.insert(at, LrpRule::kMissingCell);
    }
  }
}

// Rule 6: what to do with each SUSPECT row.
absl::Status PlanSuspects(SqlTx& tx, const std::vector<SuspectRow>& suspects, const CellSet& cells,
                          LrpPlan* plan) {
  for (const SuspectRow& row : suspects) {
    const IndexKey key(row.process_guid, row.index);
    if (!HasDesired(*plan, row.process_guid)) {
      if (plan->fresh.contains(row.domain)) {
        plan->changes[key].push_back(LrpRule::kDeleteOrphanSuspect);
      }
      continue;
    }
    std::string ordinary_state;
    const SqlParam params[] = {Text(row.process_guid), Int(row.index), Int(ActualLRP::ORDINARY)};
    DIEGO_RETURN_IF_ERROR(
        tx.Query("SELECT state FROM actual_lrps WHERE process_guid = ? AND instance_index = ?"
                 " AND presence = ?",
                 params, [&](const SqlRow& r) {
                   ordinary_state = std::string(r.Text(0));
                   return absl::OkStatus();
                 }));
    if (IsState(ordinary_state, model::kActualLrpStateRunning)) {
      plan->changes[key].push_back(LrpRule::kDeleteReplacedSuspect);
    } else if (cells.contains(row.cell_id)) {
      plan->changes[key].push_back(LrpRule::kPromoteSuspect);
    }
  }
  return absl::OkStatus();
}

// Rule 8: decodes each candidate and compares it exactly with what its
// DesiredLRP gives it. Instances on missing cells are left to rule 3; rows
// that do not decode are skipped.
absl::Status PlanRuntimeUpdates(SqlTx& tx, const std::vector<IndexKey>& candidates,
                                const CellSet& cells, LrpPlan* plan) {
  for (const auto& [guid, index] : candidates) {
    auto desired = plan->desired.find(guid);
    if (desired == plan->desired.end()) continue;
    absl::StatusOr<std::optional<ActualLRP>> row =
        internal::ReadActualLrp(tx, guid, index, ActualLRP::ORDINARY);
    if (absl::IsDataLoss(row.status())) continue;
    DIEGO_RETURN_IF_ERROR(row.status());
    if (!row->has_value()) continue;
    const ActualLRP& lrp = **row;
    if (!IsState(lrp.state(), model::kActualLrpStateRunning) ||
        !cells.contains(lrp.actual_lrp_instance_key().cell_id())) {
      continue;
    }
    internal::RuntimeCheck check = internal::CheckRuntimeDrift(
        lrp, desired->second.info.routes(), desired->second.metric_tags.metric_tags());
    if (!check.drifted) continue;
    RuntimeUpdate& update = plan->runtime_updates.emplace_back();
    update.key = lrp.actual_lrp_key();
    update.instance_key = lrp.actual_lrp_instance_key();
    update.internal_routes = std::move(check.internal_routes);
    update.metric_tags = std::move(check.metric_tags);
  }
  return absl::OkStatus();
}

// The whole plan, from one snapshot: rows are read by narrow columns and
// index ranges; only rows that need action (and their DesiredLRPs) are
// decoded.
absl::Status PlanLrps(SqlTx& tx, const LrpPass& pass, const ConvergenceOptions& options,
                      LrpPlan* plan) {
  const CellSet& cells = *pass.cells;
  std::set<std::string> needed;  // The DesiredLRPs the rules join with.
  DIEGO_RETURN_IF_ERROR(PlanDomains(tx, pass.now, plan));
  DIEGO_RETURN_IF_ERROR(PlanInstanceSets(tx, pass.now, plan, &needed));
  DIEGO_ASSIGN_OR_RETURN(const std::vector<ActualLRP> on_missing_cells,
                         RowsOnMissingCells(tx, cells));
  DIEGO_RETURN_IF_ERROR(ReadStaleUnclaimed(
      tx, absl::ToUnixNanos(pass.now - options.stale_unclaimed_duration), &plan->stale_unclaimed));
  std::vector<IndexKey> crashed;
  DIEGO_RETURN_IF_ERROR(ReadRestartableCrashes(tx, pass, &crashed));
  std::vector<SuspectRow> suspects;
  DIEGO_RETURN_IF_ERROR(ReadSuspects(tx, &suspects));
  std::vector<IndexKey> drift_candidates;
  DIEGO_RETURN_IF_ERROR(ReadDriftCandidates(tx, &drift_candidates));

  for (const ActualLRP& row : on_missing_cells) needed.insert(row.actual_lrp_key().process_guid());
  for (const auto& [guid, index] : plan->stale_unclaimed) needed.insert(guid);
  for (const auto& [guid, index] : crashed) needed.insert(guid);
  for (const SuspectRow& row : suspects) needed.insert(row.process_guid);
  for (const auto& [guid, index] : drift_candidates) needed.insert(guid);
  DIEGO_RETURN_IF_ERROR(ReadDesiredDetails(tx, needed, plan));

  PlanMissingCells(on_missing_cells, plan);
  DIEGO_RETURN_IF_ERROR(PlanSuspects(tx, suspects, cells, plan));
  for (const IndexKey& key : crashed) {
    if (HasDesired(*plan, key.first)) plan->changes[key].push_back(LrpRule::kRestartCrashed);
  }
  for (auto it = plan->stale_unclaimed.begin(); it != plan->stale_unclaimed.end();) {
    it = HasDesired(*plan, it->first) ? std::next(it) : plan->stale_unclaimed.erase(it);
  }
  DIEGO_RETURN_IF_ERROR(PlanRuntimeUpdates(tx, drift_candidates, cells, plan));
  return ReadStateCounts(tx, &plan->counts);
}

// What one applied change leads to.
struct Applied {
  bool auction = false;  // The index is to be auctioned.
  bool created = false;  // A missing index was created (rule 4).
};

// Applies `rule` to the rows of `key` if it still holds, as one write.
// Failures are skipped (the next pass sees the same facts).
Applied ApplyLrpRule(const LrpPass& pass, const IndexKey& key, LrpRule rule) {
  const std::string& guid = key.first;
  const int32_t index = key.second;
  const CellSet& cells = *pass.cells;
  Applied applied;
  const absl::Status status = pass.db->Write([&](SqlTx& tx) -> absl::Status {
    applied = Applied();
    DIEGO_ASSIGN_OR_RETURN(internal::ActualLrpIndexRows rows,
                           internal::ReadActualLrpIndexRows(tx, guid, index));
    std::vector<internal::ActualLrpRowChange> changes;
    std::optional<ActualLRP> after;
    std::optional<ActualLRP> fresh;
    switch (rule) {
      case LrpRule::kDeleteEvacuating:
        if (!rows.evacuating ||
            cells.contains(rows.evacuating->actual_lrp_instance_key().cell_id())) {
          return absl::OkStatus();
        }
        DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *rows.evacuating));
        changes.push_back({&*rows.evacuating, nullptr});
        break;
      case LrpRule::kMissingCell: {
        if (!rows.ordinary) return absl::OkStatus();
        const ActualLRP& ordinary = *rows.ordinary;
        if ((!IsState(ordinary.state(), model::kActualLrpStateClaimed) &&
             !IsState(ordinary.state(), model::kActualLrpStateRunning)) ||
            cells.contains(ordinary.actual_lrp_instance_key().cell_id())) {
          return absl::OkStatus();
        }
        if (rows.suspect) {
          // The replacement of a suspect instance lost its cell too.
          DIEGO_ASSIGN_OR_RETURN(after,
                                 model::UnclaimActualLrp(ordinary, /*stale=*/false, pass.now));
          DIEGO_RETURN_IF_ERROR(
              internal::UpdateActualLrp(tx, *after, ordinary.modification_tag().index()));
          changes.push_back({&ordinary, &*after});
        } else {
          DIEGO_ASSIGN_OR_RETURN(
              after, internal::ChangeActualLrpPresence(tx, ordinary, ActualLRP::SUSPECT));
          fresh =
              model::NewUnclaimedActualLrp(ordinary.actual_lrp_key(), pass.new_epoch(), pass.now);
          DIEGO_RETURN_IF_ERROR(internal::InsertNewActualLrp(tx, *fresh));
          changes.push_back({&ordinary, &*after});
          changes.push_back({nullptr, &*fresh});
        }
        applied.auction = true;
        break;
      }
      case LrpRule::kCreateMissing: {
        if (rows.ordinary) return absl::OkStatus();
        std::optional<std::pair<std::string, int64_t>> desired;  // domain, instances
        const SqlParam params[] = {Text(guid)};
        DIEGO_RETURN_IF_ERROR(
            tx.Query("SELECT domain, instances FROM desired_lrps WHERE process_guid = ?", params,
                     [&](const SqlRow& row) {
                       desired.emplace(std::string(row.Text(0)), row.Int(1));
                       return absl::OkStatus();
                     }));
        if (!desired || index >= desired->second) return absl::OkStatus();
        fresh = model::NewUnclaimedActualLrp(MakeKey(guid, index, desired->first), pass.new_epoch(),
                                             pass.now);
        DIEGO_RETURN_IF_ERROR(internal::InsertNewActualLrp(tx, *fresh));
        changes.push_back({nullptr, &*fresh});
        applied.auction = applied.created = true;
        break;
      }
      case LrpRule::kDeleteOrphanSuspect: {
        if (!rows.suspect) return absl::OkStatus();
        bool desired = false;
        const SqlParam params[] = {Text(guid)};
        DIEGO_RETURN_IF_ERROR(tx.Query("SELECT 1 FROM desired_lrps WHERE process_guid = ?", params,
                                       [&](const SqlRow&) {
                                         desired = true;
                                         return absl::OkStatus();
                                       }));
        if (desired) return absl::OkStatus();
        DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *rows.suspect));
        changes.push_back({&*rows.suspect, nullptr});
        break;
      }
      case LrpRule::kDeleteReplacedSuspect:
        if (!rows.suspect || !rows.ordinary ||
            !IsState(rows.ordinary->state(), model::kActualLrpStateRunning)) {
          return absl::OkStatus();
        }
        DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *rows.suspect));
        changes.push_back({&*rows.suspect, nullptr});
        break;
      case LrpRule::kPromoteSuspect: {
        if (!rows.suspect || !cells.contains(rows.suspect->actual_lrp_instance_key().cell_id()) ||
            (rows.ordinary && IsState(rows.ordinary->state(), model::kActualLrpStateRunning))) {
          return absl::OkStatus();
        }
        if (rows.ordinary) {
          DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *rows.ordinary));
          changes.push_back({&*rows.ordinary, nullptr});
        }
        DIEGO_ASSIGN_OR_RETURN(
            after, internal::ChangeActualLrpPresence(tx, *rows.suspect, ActualLRP::ORDINARY));
        changes.push_back({&*rows.suspect, &*after});
        break;
      }
      case LrpRule::kRestartCrashed: {
        if (!rows.ordinary || !IsState(rows.ordinary->state(), model::kActualLrpStateCrashed) ||
            !model::ShouldRestartCrash(*rows.ordinary, pass.now, *pass.policy)) {
          return absl::OkStatus();
        }
        DIEGO_ASSIGN_OR_RETURN(after,
                               model::UnclaimActualLrp(*rows.ordinary, /*stale=*/true, pass.now));
        DIEGO_RETURN_IF_ERROR(
            internal::UpdateActualLrp(tx, *after, rows.ordinary->modification_tag().index()));
        changes.push_back({&*rows.ordinary, &*after});
        applied.auction = true;
        break;
      }
    }
    internal::PublishAfterCommit(tx, pass.events, internal::ActualLrpEvents(changes, ""));
    return absl::OkStatus();
  });
  return status.ok() ? applied : Applied();
}
}  // namespace

// -----------------------------------------------------------------------------
// ConvergeLrps.
// -----------------------------------------------------------------------------

absl::StatusOr<LrpConvergenceResult> SqlStore::ConvergeLrps(const CellSet& cells,
                                                            const ConvergenceOptions& options) {
  LrpPass pass;
  pass.db = db_;
  pass.events = events_;
  pass.cells = &cells;
  pass.now = Now();
  pass.policy = &options_.restart_policy;
  // Called only inside writes, which all run on the database's writer
  // thread (as the API's calls of NewEpoch do).
  pass.new_epoch = [this] { return NewEpoch(); };

  LrpPlan plan;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) {
    plan = LrpPlan();
    return PlanLrps(tx, pass, options, &plan);
  }));

  // The changes. Failures are skipped: the next pass retries.
  if (!plan.expired_domains.empty()) {
    // Re-checked by the statement: a domain refreshed meanwhile stays.
    (void)db_->Write([&](SqlTx& tx) {
      const SqlParam params[] = {Int(absl::ToUnixNanos(pass.now))};
      return tx.Exec("DELETE FROM domains WHERE expire_time <> 0 AND expire_time <= ?", params)
          .status();
    });
  }
  for (int64_t bucket : plan.buckets_to_repair) {
    (void)db_->Write([&](SqlTx& tx) { return RepairBucket(tx, bucket); });
  }
  absl::Mutex mu;
  std::map<std::string, std::set<int32_t>> starts;  // process guid -> indices
  int64_t created = 0;
  for (const auto& [guid, index] : plan.stale_unclaimed) starts[guid].insert(index);
  std::vector<std::function<void()>> groups;
  groups.reserve(plan.changes.size());
  for (const auto& [key, rules] : plan.changes) {
    groups.push_back([&, &key = key, &rules = rules] {
      for (LrpRule rule : rules) {
        const Applied applied = ApplyLrpRule(pass, key, rule);
        absl::MutexLock lock(&mu);
        if (applied.auction) starts[key.first].insert(key.second);
        if (applied.created) ++created;
      }
    });
  }
  internal::RunConvergenceGroups(groups);

  LrpConvergenceResult result;
  for (const auto& [guid, indices] : starts) {
    auto desired = plan.desired.find(guid);
    if (desired == plan.desired.end()) continue;
    const std::vector<int32_t> list(indices.begin(), indices.end());
    result.start_requests.push_back(LrpStartRequestFromSchedulingInfo(desired->second.info, list));
  }
  result.keys_to_retire = std::move(plan.keys_to_retire);
  std::sort(result.keys_to_retire.begin(), result.keys_to_retire.end(),
            [](const model::v1::ActualLRPKey& a, const model::v1::ActualLRPKey& b) {
              return std::make_pair(a.process_guid(), a.index()) <
                     std::make_pair(b.process_guid(), b.index());
            });
  result.runtime_updates = std::move(plan.runtime_updates);
  std::sort(result.runtime_updates.begin(), result.runtime_updates.end(),
            [](const RuntimeUpdate& a, const RuntimeUpdate& b) {
              return std::make_pair(a.key.process_guid(), a.key.index()) <
                     std::make_pair(b.key.process_guid(), b.key.index());
            });
  result.missing_cell_ids.assign(plan.missing_cell_ids.begin(), plan.missing_cell_ids.end());

  // The counts after the pass's writes (the snapshot's when it wrote nothing).
  LrpCounts counts = plan.counts;
  if (!plan.expired_domains.empty() || !plan.changes.empty() || !plan.buckets_to_repair.empty()) {
    DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
      counts = LrpCounts();
      DIEGO_RETURN_IF_ERROR(ReadBucketTotals(tx, &counts));
      return ReadStateCounts(tx, &counts);
    }));
  }
  result.desired_instances = counts.desired_instances;
  result.unclaimed = counts.unclaimed;
  result.claimed = counts.claimed;
  result.crashed = counts.crashed;
  result.running = counts.ordinary - counts.unclaimed - counts.claimed - counts.crashed;
  result.crashing_desired = counts.crashing_desired;
  result.missing = created;
  result.extra = static_cast<int64_t>(result.keys_to_retire.size());
  result.suspect_running = counts.suspect_running;
  result.suspect_claimed = counts.suspect_claimed;
  result.present_cells = static_cast<int64_t>(cells.size());
  result.suspect_cells = static_cast<int64_t>(result.missing_cell_ids.size());
  result.fresh_domains = std::move(plan.fresh_domains);
  return result;
}

}  // namespace diego::bbs
