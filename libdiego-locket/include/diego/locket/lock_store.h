// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: lock_store.h
// -----------------------------------------------------------------------------
//
// `LockStore`: Locket's rows in SQL (diego-spec.md 8), on the BBS SQL layer
// (diego/bbs/sql.h) and the `locks` table of the BBS schema (schema.h, v1):
//
//   locks(path PK, owner, value, type, type_code, ttl, modified_id,
//         modified_index)
//
// so `diego-bbs` can serve Locket from its own database, and a standalone
// `diego-locket` uses the same schema. The store does no validation (that is
// `LocketService`'s job) and no expiry timing; it offers the row operations
// expiry needs: read every row, and compare-and-delete.
//
// Every mutating call is one `SqlDatabase::Write()`; two `LockStore`s (two
// Locket processes) on one database are safe: Lock/Release read and write
// the row inside one write transaction, and deletion by expiry is a
// compare-and-delete on (owner, modified_id, modified_index).
//
// Thread-safety: thread-safe.

#ifndef DIEGO_LOCKET_LOCK_STORE_H_
#define DIEGO_LOCKET_LOCK_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "diego/bbs/sql.h"
#include "diego/model/v1/locket.pb.h"

namespace diego::locket {

// One stored row.
struct LockRow {
  // key, owner, value, type ("lock"/"presence"), type_code.
  model::v1::Resource resource;
  int64_t ttl_seconds = 0;
  // A GUID made when the row was inserted (not changed by refreshes).
  std::string modified_id;
  // 1 on insert, +1 on every successful Lock by the same owner.
  int64_t modified_index = 0;
};

// Locket's normalisation of the (deprecated) `type` string and `type_code`:
// if type_code is LOCK or PRESENCE, type becomes "lock"/"presence"; if
// type_code is UNKNOWN, it is derived from type ("lock" -> LOCK,
// "presence" -> PRESENCE, anything else stays UNKNOWN).
model::v1::Resource NormalizeResourceType(model::v1::Resource resource);

class LockStore {
 public:
  // `db` must be migrated (`bbs::MigrateSchema`) and outlive the store.
  // `generate_guid` makes modified_id values; default `GenerateGuid()`.
  explicit LockStore(bbs::SqlDatabase* db, std::function<std::string()> generate_guid = nullptr);

  // Inserts the row (new modified_id, index 1) or, when it exists with the
  // same owner or an empty owner, overwrites owner/value/type/ttl and
  // increments modified_index (keeping modified_id). A row held by a
  // different non-empty owner: `ErrLockCollision()`. Returns the stored row.
  absl::StatusOr<LockRow> Lock(const model::v1::Resource& resource, int64_t ttl_seconds);

  // Deletes the row of resource.key if its owner is resource.owner. Missing:
  // OK. Different owner: `ErrLockCollision()`.
  absl::Status Release(const model::v1::Resource& resource);

  // The row's resource; missing or empty owner: `ErrResourceNotFound()`.
  absl::StatusOr<model::v1::Resource> Fetch(absl::string_view key);

  // Every row of `type_code` (LOCK or PRESENCE) with a non-empty owner,
  // ordered by key.
  absl::StatusOr<std::vector<model::v1::Resource>> FetchAll(model::v1::TypeCode type_code);

  // Every row (for the expiry sweep), ordered by key.
  absl::StatusOr<std::vector<LockRow>> AllRows();

  // Deletes the row of `key` only if its owner, modified_id and
  // modified_index are still the given ones. Returns whether it deleted.
  absl::StatusOr<bool> DeleteIfUnchanged(absl::string_view key, absl::string_view owner,
                                         absl::string_view modified_id, int64_t modified_index);

 private:
  bbs::SqlDatabase* const db_;
  const std::function<std::string()> generate_guid_;
};

}  // namespace diego::locket

#endif  // DIEGO_LOCKET_LOCK_STORE_H_
