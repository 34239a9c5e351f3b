// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: schema.h
// -----------------------------------------------------------------------------
//
// The BBS's SQL schema and its versioned migrations. `MigrateSchema()` runs on
// start: it creates the version table if missing, applies every migration
// newer than the stored version (each in its own transaction, version bumped in
// the same transaction), and refuses a database whose version is newer than
// this binary knows, with kFailedPrecondition:
//
//   database schema version 7 is newer than this diego-bbs supports (2); run a
//   newer diego-bbs or restore a matching backup
//
// so an old binary never writes to a newer schema.
//
// Tables (version 1). Integers are BIGINT, booleans 0/1, timestamps Unix
// nanoseconds, blobs `BlobType()`. Rows keep the indexed/queried fields as
// columns and the full protobuf message in a blob, so list calls decode one
// blob per row and never join.
//
//   domains(domain TEXT PK, expire_time BIGINT)        expire_time 0 = never
//
//   desired_lrps(process_guid TEXT PK, domain TEXT, log_guid TEXT,
//                instances BIGINT, modification_tag_epoch TEXT,
//                modification_tag_index BIGINT, update_strategy BIGINT,
//                scheduling_info BLOB,  -- DesiredLRPSchedulingInfo
//                run_info BLOB,         -- DesiredLRPRunInfo
//                metric_tags BLOB)      -- a DesiredLRP holding only metric_tags
//     Diego's split: auctions, scheduling-info and routing-info reads never
//     read run_info. index on domain.
//
//   actual_lrps(process_guid TEXT, instance_index BIGINT, presence BIGINT,
//               domain TEXT, state TEXT, instance_guid TEXT, cell_id TEXT,
//               since BIGINT, modification_tag_epoch TEXT,
//               modification_tag_index BIGINT, crash_count BIGINT,
//               data BLOB,              -- the whole ActualLRP
//               PRIMARY KEY(process_guid, instance_index, presence))
//     One row per (process_guid, index, presence): an index may have an
//     ORDINARY, an EVACUATING and a SUSPECT row at once. indexes on cell_id,
//     domain, (state, since).
//
//   tasks(guid TEXT PK, domain TEXT, state BIGINT, cell_id TEXT,
//         created_at BIGINT, updated_at BIGINT, first_completed_at BIGINT,
//         data BLOB)                    -- the whole Task
//     indexes on domain, cell_id, state.
//
//   locks(path TEXT PK, owner TEXT, value TEXT, type TEXT, type_code BIGINT,
//         ttl BIGINT, modified_id TEXT, modified_index BIGINT)
//     Locket's table (locks and cell presences); `/v1/cells/list.r1` reads
//     the PRESENCE rows.
//
// Version 2 adds the convergence index (libdiego-bbs/src/
// sql_store_convergence_index.h), computed for existing rows by the
// migration itself:
//
//   desired_lrps + bucket BIGINT, runtime_fp BIGINT, runtime_fp_notags BIGINT
//     index on (bucket, process_guid, instances, domain).
//   actual_lrps + bucket BIGINT, runtime_fp BIGINT, desired_fp BIGINT NULL,
//                 desired_fp_notags BIGINT NULL
//     index on (bucket, presence, process_guid, instance_index);
//     the partial index actual_lrps_runtime_drift (RUNNING
//     ORDINARY rows whose runtime_fp matches neither desired copy);
//     actual_lrps_state_since becomes (state, presence, since).
//   lrp_buckets(bucket BIGINT PK, desired_count, desired_sum1, desired_sum2,
//               actual_count, actual_sum1, actual_sum2 BIGINT)
//     per bucket, the instance-set sums of the desired LRPs and of the
//     ORDINARY ActualLRP rows.
//   tasks_state becomes (state, cell_id).
//
// Column values are always written from the blob's message in the same
// statement, so the two never disagree.

#ifndef DIEGO_BBS_SCHEMA_H_
#define DIEGO_BBS_SCHEMA_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "diego/bbs/sql.h"

namespace diego::bbs {

// The schema version this binary writes.
inline constexpr int64_t kCurrentSchemaVersion = 2;

// The version stored in `db`, 0 for an empty database.
absl::StatusOr<int64_t> ReadSchemaVersion(SqlDatabase& db);

// Brings `db` to `kCurrentSchemaVersion` (see the file comment). Idempotent;
// safe to run from two processes at once (the loser sees the winner's
// version and does nothing).
absl::Status MigrateSchema(SqlDatabase& db);

// `MigrateSchema`, stopping at `version` (1..kCurrentSchemaVersion; else
// kInvalidArgument). For tests of an upgrade, and tools.
absl::Status MigrateSchemaTo(SqlDatabase& db, int64_t version);

}  // namespace diego::bbs

#endif  // DIEGO_BBS_SCHEMA_H_
