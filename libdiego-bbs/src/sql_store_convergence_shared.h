// Copyright 2026 The libdiego Authors.
//
// What SqlStore's two convergence files share (not installed):
// sql_store_convergence_tasks.cc (ConvergeTasks) and
// sql_store_convergence.cc (ConvergeLrps, and these helpers).
//
// Both passes plan from one read snapshot, then make each change as its own
// `SqlDatabase::Write()` that re-reads the rows it touches, re-checks the
// rule against them and writes with compare-and-set (a concurrent API write
// reruns it or makes it a no-op), publishing the change's events after the
// commit. A change that fails is skipped: the next pass sees the same facts
// and tries again. The store has no logger, so skipping is silent (the
// converger logs the pass and its results). Changes to different rows run on
// up to `kConvergenceWorkers` threads, so the group-committing writer
// commits them together; changes to one row run in rule order on one
// thread.

#ifndef DIEGO_BBS_SQL_STORE_CONVERGENCE_SHARED_H_
#define DIEGO_BBS_SQL_STORE_CONVERGENCE_SHARED_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "diego/bbs/convergence.h"
#include "diego/bbs/sql.h"

namespace diego::bbs::internal {

// Diego's convergence_workers default.
inline constexpr size_t kConvergenceWorkers = 20;

// Runs every group, on up to kConvergenceWorkers threads; fewer than 8 run
// inline, in order.
void RunConvergenceGroups(const std::vector<std::function<void()>>& groups);

// Appends column 0 of every row of `sql` to `out`.
absl::Status CollectStrings(SqlTx& tx, absl::string_view sql, absl::Span<const SqlParam> params,
                            std::vector<std::string>* out);

// Column 0 of the (last) row of `sql`.
absl::Status CountInt(SqlTx& tx, absl::string_view sql, absl::Span<const SqlParam> params,
                      int64_t* out);

// The cell ids `sql` lists that are not in `cells`. `sql` is a recursive
// query that seeks from one cell id to the next through an index (see the
// callers), so a table of N rows on C cells costs C index seeks, not N rows.
absl::StatusOr<std::vector<std::string>> MissingCells(SqlTx& tx, absl::string_view sql,
                                                      absl::Span<const SqlParam> params,
                                                      const CellSet& cells);

}  // namespace diego::bbs::internal

#endif  // DIEGO_BBS_SQL_STORE_CONVERGENCE_SHARED_H_
