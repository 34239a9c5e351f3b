// Copyright 2026 The libdiego Authors.

#include "diego/locket/fence.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "diego/base/status_macros.h"

namespace diego::locket {

absl::Status ErrFenced(absl::string_view key, absl::string_view reason) {
  std::string message = absl::StrCat("not the active holder of lock \"", key, "\"; refusing to write");
  if (!reason.empty()) absl::StrAppend(&message, ": ", reason);
  return absl::FailedPreconditionError(message);
}

std::function<absl::Status(bbs::SqlTx&)> MakeLockFence(const LockRunner* runner, Clock* clock,
                                                       LockFenceOptions options) {
  return [runner, clock, options = std::move(options)](bbs::SqlTx& tx) -> absl::Status {
    const absl::Time lease = runner->LeaseExpiry();
    if (lease <= clock->Now()) {
      return ErrFenced(options.key,
                       lease == absl::InfinitePast()
                           ? "the lock is not held"
                           : absl::StrCat("its lease expired at ",
                                          absl::FormatTime(absl::RFC3339_full, lease,
                                                           absl::UTCTimeZone())));
    }
    if (!options.check_table) return absl::OkStatus();
    // FOR SHARE: a concurrent Lock of the row by another process waits for
    // this commit (and this read for its). SQLite already holds the write lock.
    const absl::string_view sql = tx.engine() == bbs::SqlEngine::kPostgres
                                      ? "SELECT owner FROM locks WHERE path = ? FOR SHARE"
                                      : "SELECT owner FROM locks WHERE path = ?";
    std::optional<std::string> owner;
    const bbs::SqlParam params[] = {bbs::Text(options.key)};
    DIEGO_RETURN_IF_ERROR(tx.Query(sql, params, [&](const bbs::SqlRow& row) {
      owner = std::string(row.Text(0));
      return absl::OkStatus();
    }));
    if (!owner.has_value()) return ErrFenced(options.key, "the locks row is gone");
    if (*owner != options.owner) {
      return ErrFenced(options.key, absl::StrCat("the lock is held by \"", *owner, "\""));
    }
    return absl::OkStatus();
  };
}

}  // namespace diego::locket
