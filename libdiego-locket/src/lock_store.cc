// Copyright 2026 The libdiego Authors.
//
// LockStore: Locket's rows in the `locks` table. Lock and Release read the
// row and change it with a compare-and-set on (owner, modified_id,
// modified_index) inside one write, so a row changed by another process in
// between (PostgreSQL: a concurrent transaction; SQLite serializes writers)
// makes the write rerun (`SqlConflictError()`) and decide again on the new
// row.

#include "diego/locket/lock_store.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "diego/base/guid.h"
#include "diego/base/status_macros.h"
#include "diego/locket/errors.h"

// `Resource.type` is deprecated upstream but still written and normalised.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::locket {
namespace {

using bbs::Int;
using bbs::SqlParam;
using bbs::SqlRow;
using bbs::SqlTx;
using bbs::Text;

constexpr absl::string_view kLockType = "lock";
constexpr absl::string_view kPresenceType = "presence";

// The columns `RowFrom` reads, in order.
#define DIEGO_LOCK_COLUMNS "path, owner, value, type, type_code, ttl, modified_id, modified_index"

LockRow RowFrom(const SqlRow& row) {
  LockRow out;
  out.resource.set_key(std::string(row.Text(0)));
  out.resource.set_owner(std::string(row.Text(1)));
  out.resource.set_value(std::string(row.Text(2)));
  out.resource.set_type(std::string(row.Text(3)));
  out.resource.set_type_code(static_cast<model::v1::TypeCode>(row.Int(4)));
  out.ttl_seconds = row.Int(5);
  out.modified_id = std::string(row.Text(6));
  out.modified_index = row.Int(7);
  return out;
}

absl::StatusOr<std::optional<LockRow>> ReadRow(SqlTx& tx, absl::string_view key) {
  std::optional<LockRow> found;
  const SqlParam params[] = {Text(key)};
  DIEGO_RETURN_IF_ERROR(tx.Query("SELECT " DIEGO_LOCK_COLUMNS " FROM locks WHERE path = ?", params,
                                 [&](const SqlRow& row) {
                                   found = RowFrom(row);
                                   return absl::OkStatus();
                                 }));
  return found;
}

absl::StatusOr<std::vector<LockRow>> ReadRows(bbs::SqlDatabase* db, absl::string_view sql,
                                              absl::Span<const SqlParam> params) {
  std::vector<LockRow> rows;
  DIEGO_RETURN_IF_ERROR(db->Read([&](SqlTx& tx) -> absl::Status {
    rows.clear();
    return tx.Query(sql, params, [&](const SqlRow& row) {
      rows.push_back(RowFrom(row));
      return absl::OkStatus();
    });
  }));
  // Sorted here rather than with ORDER BY: PostgreSQL's collation may not be
  // bytewise.
  std::sort(rows.begin(), rows.end(), [](const LockRow& a, const LockRow& b) {
    return a.resource.key() < b.resource.key();
  });
  return rows;
}

// Deletes the row if it is still the given version; whether it did.
absl::StatusOr<bool> CompareAndDelete(SqlTx& tx, absl::string_view key, absl::string_view owner,
                                      absl::string_view modified_id, int64_t modified_index) {
  const SqlParam params[] = {Text(key), Text(owner), Text(modified_id), Int(modified_index)};
  DIEGO_ASSIGN_OR_RETURN(
      int64_t deleted,
      tx.Exec("DELETE FROM locks WHERE path = ? AND owner = ? AND modified_id = ?"
              " AND modified_index = ?",
              params));
  return deleted > 0;
}

}  // namespace

model::v1::Resource NormalizeResourceType(model::v1::Resource resource) {
  switch (resource.type_code()) {
    case model::v1::LOCK:
      resource.set_type(std::string(kLockType));
      break;
    case model::v1::PRESENCE:
      resource.set_type(std::string(kPresenceType));
      break;
    case model::v1::UNKNOWN:
      if (resource.type() == kLockType) {
        resource.set_type_code(model::v1::LOCK);
      } else if (resource.type() == kPresenceType) {
        resource.set_type_code(model::v1::PRESENCE);
      }
      break;
    default:
      break;
  }
  return resource;
}

LockStore::LockStore(bbs::SqlDatabase* db, std::function<std::string()> generate_guid)
    : db_(db),
      generate_guid_(generate_guid ? std::move(generate_guid)
                                   : std::function<std::string()>([] { return GenerateGuid(); })) {}

absl::StatusOr<LockRow> LockStore::Lock(const model::v1::Resource& resource, int64_t ttl_seconds) {
  LockRow row;
  row.resource = NormalizeResourceType(resource);
  row.ttl_seconds = ttl_seconds;
  const model::v1::Resource& r = row.resource;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(std::optional<LockRow> stored, ReadRow(tx, r.key()));
    if (stored.has_value() && !stored->resource.owner().empty() &&
        stored->resource.owner() != r.owner()) {
      return ErrLockCollision();
    }
    if (!stored.has_value()) {
      row.modified_id = generate_guid_();
      row.modified_index = 1;
      const SqlParam params[] = {Text(r.key()),         Text(r.owner()),     Text(r.value()),
                                 Text(r.type()),        Int(r.type_code()),  Int(ttl_seconds),
                                 Text(row.modified_id), Int(row.modified_index)};
      // Another process may insert the key first: then rerun and see its row.
      DIEGO_ASSIGN_OR_RETURN(
          int64_t inserted,
          tx.Exec("INSERT INTO locks (" DIEGO_LOCK_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                  " ON CONFLICT (path) DO NOTHING",
                  params));
      return inserted > 0 ? absl::OkStatus() : bbs::SqlConflictError();
    }
    row.modified_id = stored->modified_id.empty() ? generate_guid_() : stored->modified_id;
    row.modified_index = stored->modified_index + 1;
    const SqlParam params[] = {Text(r.owner()),
                               Text(r.value()),
                               Text(r.type()),
                               Int(r.type_code()),
                               Int(ttl_seconds),
                               Text(row.modified_id),
                               Int(row.modified_index),
                               Text(r.key()),
                               Text(stored->resource.owner()),
                               Text(stored->modified_id),
                               Int(stored->modified_index)};
    DIEGO_ASSIGN_OR_RETURN(
        int64_t updated,
        tx.Exec("UPDATE locks SET owner = ?, value = ?, type = ?, type_code = ?, ttl = ?,"
                " modified_id = ?, modified_index = ?"
                " WHERE path = ? AND owner = ? AND modified_id = ? AND modified_index = ?",
                params));
    return updated > 0 ? absl::OkStatus() : bbs::SqlConflictError();
  }));
  return row;
}

absl::Status LockStore::Release(const model::v1::Resource& resource) {
  return db_->Write([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(std::optional<LockRow> stored, ReadRow(tx, resource.key()));
    if (!stored.has_value()) return absl::OkStatus();
    if (stored->resource.owner() != resource.owner()) return ErrLockCollision();
    DIEGO_ASSIGN_OR_RETURN(bool deleted,
                           CompareAndDelete(tx, resource.key(), stored->resource.owner(),
                                            stored->modified_id, stored->modified_index));
    return deleted ? absl::OkStatus() : bbs::SqlConflictError();
  });
}

absl::StatusOr<model::v1::Resource> LockStore::Fetch(absl::string_view key) {
  std::optional<LockRow> stored;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(stored, ReadRow(tx, key));
    return absl::OkStatus();
  }));
  if (!stored.has_value() || stored->resource.owner().empty()) return ErrResourceNotFound();
  return std::move(stored->resource);
}

absl::StatusOr<std::vector<model::v1::Resource>> LockStore::FetchAll(
    model::v1::TypeCode type_code) {
  const SqlParam params[] = {Int(type_code)};
  DIEGO_ASSIGN_OR_RETURN(
      std::vector<LockRow> rows,
      ReadRows(db_, "SELECT " DIEGO_LOCK_COLUMNS " FROM locks WHERE type_code = ? AND owner <> ''",
               params));
  std::vector<model::v1::Resource> resources;
  resources.reserve(rows.size());
  for (LockRow& row : rows) resources.push_back(std::move(row.resource));
  return resources;
}

absl::StatusOr<std::vector<LockRow>> LockStore::AllRows() {
  return ReadRows(db_, "SELECT " DIEGO_LOCK_COLUMNS " FROM locks", {});
}

absl::StatusOr<bool> LockStore::DeleteIfUnchanged(absl::string_view key, absl::string_view owner,
                                                  absl::string_view modified_id,
                                                  int64_t modified_index) {
  bool deleted = false;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(deleted, CompareAndDelete(tx, key, owner, modified_id, modified_index));
    return absl::OkStatus();
  }));
  return deleted;
}

}  // namespace diego::locket
