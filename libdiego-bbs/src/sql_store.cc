// Copyright 2026 The libdiego Authors.
//
// SqlStore: constructor, domains, cell presences, counts, and the [common]
// helpers of sql_store_internal.h. Tasks, desired LRPs, actual LRPs and
// evacuation live in the sibling sql_store_*.cc files.

#include "diego/bbs/sql_store.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/base/guid.h"
#include "diego/base/status_macros.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/errors.h"
#include "diego/model/go_json.h"
#include "diego/model/v1/locket.pb.h"
#include "sql_store_internal.h"

namespace diego::bbs {

// -----------------------------------------------------------------------------
// [common] helpers.
// -----------------------------------------------------------------------------

namespace internal {

absl::Status ParseStored(absl::string_view blob, google::protobuf::MessageLite& message,
                         absl::string_view what, absl::string_view id) {
  if (!message.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
    return absl::DataLossError(absl::StrCat("corrupt ", what, " row ", id, ": cannot parse ",
                                            blob.size(), " bytes as ", message.GetTypeName()));
  }
  return absl::OkStatus();
}

void PublishAfterCommit(SqlTx& tx, EventSink* sink, std::vector<BbsEvent> events) {
  if (events.empty() || sink == nullptr) return;
  tx.AfterCommit(
      [sink, events = std::move(events)]() mutable { sink->Publish(std::move(events)); });
}

}  // namespace internal

// -----------------------------------------------------------------------------
// SqlStore basics.
// -----------------------------------------------------------------------------

SqlStore::SqlStore(SqlDatabase* db, EventSink* events, Clock* clock, Options options)
    : db_(db), events_(events), clock_(clock), options_(std::move(options)) {}

std::string SqlStore::NewEpoch() {
  return options_.generate_guid ? options_.generate_guid() : GenerateGuid();
}

// -----------------------------------------------------------------------------
// Domains.
// -----------------------------------------------------------------------------

absl::StatusOr<std::vector<std::string>> SqlStore::FreshDomains() {
  const int64_t now = absl::ToUnixNanos(Now());
  std::vector<std::string> domains;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    domains.clear();
    const SqlParam params[] = {Int(now)};
    return tx.Query(
        "SELECT domain FROM domains WHERE expire_time = 0 OR expire_time > ? ORDER BY domain",
        params, [&](const SqlRow& row) {
          domains.emplace_back(row.Text(0));
          return absl::OkStatus();
        });
  }));
  return domains;
}

absl::Status SqlStore::UpsertDomain(absl::string_view domain, absl::Duration ttl) {
  // Diego: expire_time = now + ttl, and a zero ttl means the domain never
  // expires (stored as 0).
  const int64_t expire_time = ttl == absl::ZeroDuration() ? 0 : absl::ToUnixNanos(Now() + ttl);
  return db_->Write([&](SqlTx& tx) -> absl::Status {
    const SqlParam params[] = {Text(domain), Int(expire_time)};
    return tx
        .Exec(
            "INSERT INTO domains (domain, expire_time) VALUES (?, ?)"
            " ON CONFLICT (domain) DO UPDATE SET expire_time = excluded.expire_time",
            params)
        .status();
  });
}

// -----------------------------------------------------------------------------
// Cells: Locket PRESENCE rows of the `locks` table.
// -----------------------------------------------------------------------------

namespace {

constexpr int64_t kPresenceTypeCode = model::v1::PRESENCE;

}  // namespace

absl::StatusOr<std::vector<model::v1::CellPresence>> SqlStore::Cells() {
  if (options_.cells != nullptr) return options_.cells->Cells();
  std::vector<model::v1::CellPresence> cells;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    cells.clear();
    const SqlParam params[] = {Int(kPresenceTypeCode)};
    return tx.Query("SELECT value FROM locks WHERE type_code = ? AND owner <> ''", params,
                    [&](const SqlRow& row) {
                      model::v1::CellPresence cell;
                      // A presence whose value does not parse is skipped, as
                      // Diego's service client skips it.
                      if (model::FromGoJson(row.Text(0), &cell).ok()) {
                        cells.push_back(std::move(cell));
                      }
                      return absl::OkStatus();
                    });
  }));
  std::stable_sort(cells.begin(), cells.end(),
                   [](const model::v1::CellPresence& a, const model::v1::CellPresence& b) {
                     return a.cell_id() < b.cell_id();
                   });
  return cells;
}

absl::StatusOr<model::v1::CellPresence> SqlStore::CellById(absl::string_view cell_id) {
  if (options_.cells != nullptr) return options_.cells->CellById(cell_id);
  bool found = false;
  std::string value;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    found = false;
    const SqlParam params[] = {Text(cell_id), Int(kPresenceTypeCode)};
    return tx.Query("SELECT value FROM locks WHERE path = ? AND type_code = ? AND owner <> ''",
                    params, [&](const SqlRow& row) {
                      found = true;
                      value = std::string(row.Text(0));
                      return absl::OkStatus();
                    });
  }));
  if (!found) return model::ErrResourceNotFound();
  model::v1::CellPresence cell;
  absl::Status parsed = model::FromGoJson(value, &cell);
  if (!parsed.ok()) {
    return absl::DataLossError(
        absl::StrCat("corrupt cell presence row ", cell_id, ": ", parsed.message()));
  }
  return cell;
}

// -----------------------------------------------------------------------------
// Counts.
// -----------------------------------------------------------------------------

absl::StatusOr<StoreCounts> SqlStore::Counts() {
  const int64_t now = absl::ToUnixNanos(Now());
  StoreCounts counts;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    counts = StoreCounts();
    DIEGO_RETURN_IF_ERROR(tx.Query(
        // PostgreSQL's SUM(BIGINT) is NUMERIC; cast it back.
        "SELECT COUNT(*), CAST(COALESCE(SUM(instances), 0) AS BIGINT) FROM desired_lrps", {},
        [&](const SqlRow& row) {
          counts.desired_lrps = row.Int(0);
          counts.lrps_desired = row.Int(1);
          return absl::OkStatus();
        }));
    DIEGO_RETURN_IF_ERROR(tx.Query(
        "SELECT presence, state, COUNT(*) FROM actual_lrps GROUP BY presence, state", {},
        [&](const SqlRow& row) {
          const int64_t presence = row.Int(0);
          const absl::string_view state = row.Text(1);
          const int64_t n = row.Int(2);
          if (presence == model::v1::ActualLRP::ORDINARY) {
            if (state == model::kActualLrpStateUnclaimed) {
              counts.lrps_unclaimed += n;
            } else if (state == model::kActualLrpStateClaimed) {
              counts.lrps_claimed += n;
            } else if (state == model::kActualLrpStateRunning) {
              counts.lrps_running += n;
            } else if (state == model::kActualLrpStateCrashed) {
              counts.crashed_actual_lrps += n;
            }
          } else if (presence == model::v1::ActualLRP::EVACUATING) {
            counts.lrps_evacuating += n;
          } else if (presence == model::v1::ActualLRP::SUSPECT) {
            if (state == model::kActualLrpStateRunning || state == model::kActualLrpStateClaimed) {
              counts.suspect_lrps += n;
            }
          }
          return absl::OkStatus();
        }));
    DIEGO_RETURN_IF_ERROR(
        tx.Query("SELECT state, COUNT(*) FROM tasks GROUP BY state", {}, [&](const SqlRow& row) {
          const int64_t n = row.Int(1);
          switch (row.Int(0)) {
            case model::v1::Task::Pending:
              counts.tasks_pending += n;
              break;
            case model::v1::Task::Running:
              counts.tasks_running += n;
              break;
            case model::v1::Task::Completed:
              counts.tasks_completed += n;
              break;
            case model::v1::Task::Resolving:
              counts.tasks_resolving += n;
              break;
            default:
              break;
          }
          return absl::OkStatus();
        }));
    const SqlParam params[] = {Int(now)};
    return tx.Query("SELECT COUNT(*) FROM domains WHERE expire_time = 0 OR expire_time > ?", params,
                    [&](const SqlRow& row) {
                      counts.domains = row.Int(0);
                      return absl::OkStatus();
                    });
  }));
  return counts;
}

}  // namespace diego::bbs
