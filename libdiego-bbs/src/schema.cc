// Copyright 2026 The libdiego Authors.

#include "diego/bbs/schema.h"

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "diego/base/status_macros.h"
#include "sql_store_convergence_index.h"

namespace diego::bbs {
namespace {

// One migration: statements run in order inside one transaction, then
// `backfill` (if any) in the same transaction. `{BLOB}` is replaced by the
// engine's blob type.
struct Migration {
  int64_t version;
  std::vector<const char*> statements;
  absl::Status (*backfill)(SqlTx& tx) = nullptr;
};

const std::vector<Migration>& Migrations() {
  static const auto* migrations = new std::vector<Migration>{
      {1,
       {
           "CREATE TABLE domains ("
           " domain TEXT PRIMARY KEY,"
           " expire_time BIGINT NOT NULL DEFAULT 0)",

           "CREATE TABLE desired_lrps ("
           " process_guid TEXT PRIMARY KEY,"
           " domain TEXT NOT NULL,"
           " log_guid TEXT NOT NULL,"
           " instances BIGINT NOT NULL,"
           " modification_tag_epoch TEXT NOT NULL,"
           " modification_tag_index BIGINT NOT NULL,"
           " update_strategy BIGINT NOT NULL DEFAULT 0,"
           " scheduling_info {BLOB} NOT NULL,"
           " run_info {BLOB} NOT NULL,"
           " metric_tags {BLOB} NOT NULL)",
           "CREATE INDEX desired_lrps_domain ON desired_lrps (domain)",

           "CREATE TABLE actual_lrps ("
           " process_guid TEXT NOT NULL,"
           " instance_index BIGINT NOT NULL,"
           " presence BIGINT NOT NULL,"
           " domain TEXT NOT NULL,"
           " state TEXT NOT NULL,"
           " instance_guid TEXT NOT NULL,"
           " cell_id TEXT NOT NULL,"
           " since BIGINT NOT NULL,"
           " modification_tag_epoch TEXT NOT NULL,"
           " modification_tag_index BIGINT NOT NULL,"
           " crash_count BIGINT NOT NULL,"
           " data {BLOB} NOT NULL,"
           " PRIMARY KEY (process_guid, instance_index, presence))",
           "CREATE INDEX actual_lrps_cell_id ON actual_lrps (cell_id)",
           "CREATE INDEX actual_lrps_domain ON actual_lrps (domain)",
           "CREATE INDEX actual_lrps_state_since ON actual_lrps (state, since)",

           "CREATE TABLE tasks ("
           " guid TEXT PRIMARY KEY,"
           " domain TEXT NOT NULL,"
           " state BIGINT NOT NULL,"
           " cell_id TEXT NOT NULL,"
           " created_at BIGINT NOT NULL,"
           " updated_at BIGINT NOT NULL,"
           " first_completed_at BIGINT NOT NULL,"
           " data {BLOB} NOT NULL)",
           "CREATE INDEX tasks_domain ON tasks (domain)",
           "CREATE INDEX tasks_cell_id ON tasks (cell_id)",
           "CREATE INDEX tasks_state ON tasks (state)",

           "CREATE TABLE locks ("
           " path TEXT PRIMARY KEY,"
           " owner TEXT NOT NULL,"
           " value TEXT NOT NULL,"
           " type TEXT NOT NULL,"
           " type_code BIGINT NOT NULL,"
           " ttl BIGINT NOT NULL,"
           " modified_id TEXT NOT NULL,"
           " modified_index BIGINT NOT NULL)",
       }},
      // The convergence index (src/sql_store_convergence_index.h): buckets,
      // runtime fingerprints and their copies, the instance-set sums, the
      // drift index; state counts and missing-cell lookups served by
      // indexes.
      {2,
       {
           "ALTER TABLE desired_lrps ADD COLUMN bucket BIGINT NOT NULL DEFAULT 0",
           "ALTER TABLE desired_lrps ADD COLUMN runtime_fp BIGINT NOT NULL DEFAULT 0",
           "ALTER TABLE desired_lrps ADD COLUMN runtime_fp_notags BIGINT NOT NULL DEFAULT 0",
           // Covering: convergence lists a bucket's LRPs from the index alone.
           "CREATE INDEX desired_lrps_bucket"
           " ON desired_lrps (bucket, process_guid, instances, domain)",

           "ALTER TABLE actual_lrps ADD COLUMN bucket BIGINT NOT NULL DEFAULT 0",
           "ALTER TABLE actual_lrps ADD COLUMN runtime_fp BIGINT NOT NULL DEFAULT 0",
           "ALTER TABLE actual_lrps ADD COLUMN desired_fp BIGINT",
           "ALTER TABLE actual_lrps ADD COLUMN desired_fp_notags BIGINT",
           // Covering for the listing too, but without domain: UPDATEs set domain,
           // so an index holding it would be rewritten on every transition.
           "CREATE INDEX actual_lrps_bucket"
           " ON actual_lrps (bucket, presence, process_guid, instance_index)",
           "CREATE INDEX actual_lrps_runtime_drift ON actual_lrps (process_guid, instance_index)"
           " WHERE presence = 0 AND state = 'RUNNING' AND runtime_fp <> desired_fp"
           " AND runtime_fp <> desired_fp_notags",
           "DROP INDEX actual_lrps_state_since",
           "CREATE INDEX actual_lrps_state_since ON actual_lrps (state, presence, since)",

           "CREATE TABLE lrp_buckets ("
           " bucket BIGINT PRIMARY KEY,"
           " desired_count BIGINT NOT NULL DEFAULT 0,"
           " desired_sum1 BIGINT NOT NULL DEFAULT 0,"
           " desired_sum2 BIGINT NOT NULL DEFAULT 0,"
           " actual_count BIGINT NOT NULL DEFAULT 0,"
           " actual_sum1 BIGINT NOT NULL DEFAULT 0,"
           " actual_sum2 BIGINT NOT NULL DEFAULT 0)",

           "DROP INDEX tasks_state",
           "CREATE INDEX tasks_state ON tasks (state, cell_id)",
       },
       &internal::BackfillConvergenceIndex},
  };
  return *migrations;
}

constexpr absl::string_view kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS diego_schema_version ("
    " id BIGINT PRIMARY KEY,"
    " version BIGINT NOT NULL)";

absl::StatusOr<int64_t> ReadVersion(SqlTx& tx) {
  int64_t version = 0;
  DIEGO_RETURN_IF_ERROR(tx.Query("SELECT version FROM diego_schema_version WHERE id = 1", {},
                                 [&](const SqlRow& row) {
                                   version = row.Int(0);
                                   return absl::OkStatus();
                                 }));
  return version;
}

// PostgreSQL's CREATE TABLE IF NOT EXISTS can fail with a unique violation
// when another session creates the same table at the same moment, so all
// schema work there holds a session-level advisory lock ("diego" in ASCII).
constexpr int64_t kSchemaLockKey = 0x646965676f;

absl::Status WithSchemaLock(SqlTx& tx, absl::FunctionRef<absl::Status()> fn) {
  if (tx.engine() != SqlEngine::kPostgres) return fn();
  DIEGO_RETURN_IF_ERROR(tx.Exec("SELECT pg_advisory_lock(?)", {Int(kSchemaLockKey)}).status());
  absl::Status status = fn();
  absl::Status unlocked =
      tx.Exec("SELECT pg_advisory_unlock(?)", {Int(kSchemaLockKey)}).status();
  return status.ok() ? unlocked : status;
}

absl::Status NewerSchemaError(int64_t version) {
  return absl::FailedPreconditionError(absl::StrCat(
      "database schema version ", version, " is newer than this diego-bbs supports (",
      kCurrentSchemaVersion, "); run a newer diego-bbs or restore a matching backup"));
}

absl::Status MigrateLocked(SqlTx& tx, int64_t target) {
  DIEGO_RETURN_IF_ERROR(tx.Exec(kCreateVersionTable).status());
  const std::string blob(BlobType(tx.engine()));
  for (const Migration& migration : Migrations()) {
    if (migration.version > target) break;
    // Each migration is one transaction that re-reads the version under
    // the write lock, so two processes migrating at once apply it once.
    DIEGO_RETURN_IF_ERROR(tx.Exec(tx.engine() == SqlEngine::kSqlite ? "BEGIN IMMEDIATE"
                                                                     : "BEGIN")
                              .status());
    absl::Status status = [&]() -> absl::Status {
      if (tx.engine() == SqlEngine::kPostgres) {
        DIEGO_RETURN_IF_ERROR(
            tx.Exec("LOCK TABLE diego_schema_version IN EXCLUSIVE MODE").status());
      }
      DIEGO_ASSIGN_OR_RETURN(int64_t version, ReadVersion(tx));
      if (version > kCurrentSchemaVersion) return NewerSchemaError(version);
      if (version >= migration.version) return absl::OkStatus();
      for (const char* statement : migration.statements) {
        const std::string sql = absl::StrReplaceAll(statement, {{"{BLOB}", blob}});
        absl::StatusOr<int64_t> done = tx.Exec(sql);
        if (!done.ok()) {
          return absl::Status(done.status().code(),
                              absl::StrCat("schema migration ", migration.version,
                                           " failed: ", done.status().message()));
        }
      }
      if (migration.backfill != nullptr) {
        absl::Status filled = migration.backfill(tx);
        if (!filled.ok()) {
          return absl::Status(filled.code(), absl::StrCat("schema migration ", migration.version,
                                                          " failed: ", filled.message()));
        }
      }
      DIEGO_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO diego_schema_version (id, version) VALUES (1, ?)"
                  " ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                  {Int(migration.version)})
              .status());
      return absl::OkStatus();
    }();
    if (!status.ok()) {
      (void)tx.Exec("ROLLBACK");
      return status;
    }
    DIEGO_RETURN_IF_ERROR(tx.Exec("COMMIT").status());
  }
  DIEGO_ASSIGN_OR_RETURN(int64_t version, ReadVersion(tx));
  if (version > kCurrentSchemaVersion) return NewerSchemaError(version);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> ReadSchemaVersion(SqlDatabase& db) {
  int64_t version = 0;
  DIEGO_RETURN_IF_ERROR(db.Exclusive([&](SqlTx& tx) -> absl::Status {
    return WithSchemaLock(tx, [&]() -> absl::Status {
      DIEGO_RETURN_IF_ERROR(tx.Exec(kCreateVersionTable).status());
      DIEGO_ASSIGN_OR_RETURN(version, ReadVersion(tx));
      return absl::OkStatus();
    });
  }));
  return version;
}

absl::Status MigrateSchema(SqlDatabase& db) { return MigrateSchemaTo(db, kCurrentSchemaVersion); }

absl::Status MigrateSchemaTo(SqlDatabase& db, int64_t version) {
  if (version < 1 || version > kCurrentSchemaVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("no schema version ", version, " (this diego-bbs knows 1..",
                     kCurrentSchemaVersion, ")"));
  }
  return db.Exclusive([&](SqlTx& tx) -> absl::Status {
    return WithSchemaLock(tx, [&]() { return MigrateLocked(tx, version); });
  });
}

}  // namespace diego::bbs
