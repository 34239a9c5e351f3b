// TEMPORARY placeholder so the tree links while convergence is written; replaced before commit.
#include "diego/bbs/sql_store.h"
namespace diego::bbs {
absl::StatusOr<TaskConvergenceResult> SqlStore::ConvergeTasks(const CellSet&, const ConvergenceOptions&) { return absl::UnimplementedError("placeholder"); }
absl::StatusOr<LrpConvergenceResult> SqlStore::ConvergeLrps(const CellSet&, const ConvergenceOptions&) { return absl::UnimplementedError("placeholder"); }
}  // namespace diego::bbs
