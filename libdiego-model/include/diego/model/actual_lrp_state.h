// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: actual_lrp_state.h
// -----------------------------------------------------------------------------
//
// The ActualLRP lifecycle of Diego's BBS (bbs `models/actual_lrp.go`
// `AllowsTransitionTo` and group resolution, `db/sqldb/actual_lrp_db.go`) as
// pure functions over one stored row. Each operation takes the ORDINARY row as
// currently stored and the time of the request, and returns the row to store
// (plus whether anything changed) or Diego's exact error. Events, auctions,
// suspect/evacuating bookkeeping and rep calls are the caller's business.
//
// States are strings on the wire (`kActualLrpStateUnclaimed`, ...). The
// transition table (`AllowsTransitionTo`), where "same" means the requested
// instance key equals the row's and "empty" means the requested key is empty:
//
//   | from \ to | UNCLAIMED | CLAIMED | RUNNING | CRASHED |
//   | --------- | --------- | ------- | ------- | ------- |
//   | UNCLAIMED | any key   | any key | any key | never   |
//   | CLAIMED   | empty     | same    | any key | same    |
//   | RUNNING   | empty     | same    | same    | same    |
//   | CRASHED   | empty     | same    | same    | never   |
//
// and the ActualLRPKey given must equal the row's. A row in an unknown state
// allows nothing.
//
// Every successful change increments `modification_tag.index` and sets
// `since = now` (Unix nanoseconds). Reasons are stored through
// `TruncateBbsReason()` (`task_state.h`).
//
// The helpers expect the ORDINARY row: Diego looks rows up by (process_guid,
// index, presence ORDINARY), so a row of another presence yields
// `ErrResourceNotFound()`, as the lookup would.
//
// Every function is pure and thread-safe.

#ifndef DIEGO_MODEL_ACTUAL_LRP_STATE_H_
#define DIEGO_MODEL_ACTUAL_LRP_STATE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "diego/model/restart_policy.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/actual_lrp_requests.pb.h"

namespace diego::model {

// The four ActualLRP states, exactly as Diego writes them.
inline constexpr absl::string_view kActualLrpStateUnclaimed = "UNCLAIMED";
inline constexpr absl::string_view kActualLrpStateClaimed = "CLAIMED";
inline constexpr absl::string_view kActualLrpStateRunning = "RUNNING";
inline constexpr absl::string_view kActualLrpStateCrashed = "CRASHED";

// All states, in Diego's order (`models.ActualLRPStates`).
inline constexpr absl::string_view kActualLrpStates[] = {
    kActualLrpStateUnclaimed, kActualLrpStateClaimed, kActualLrpStateRunning,
    kActualLrpStateCrashed};

// An UNCLAIMED row older than this is auctioned again by convergence
// (`StaleUnclaimedActualLRPDuration`).
inline constexpr absl::Duration kStaleUnclaimedActualLrpDuration = absl::Seconds(30);

// True for the four state strings above (case-sensitive).
bool IsValidActualLrpState(absl::string_view state);

// Field-wise equality of keys (process_guid, index, domain).
bool ActualLrpKeysEqual(const v1::ActualLRPKey& a, const v1::ActualLRPKey& b);

// Field-wise equality of instance keys (instance_guid, cell_id).
bool InstanceKeysEqual(const v1::ActualLRPInstanceKey& a, const v1::ActualLRPInstanceKey& b);

// True when both instance_guid and cell_id are empty.
bool IsEmptyInstanceKey(const v1::ActualLRPInstanceKey& key);

// Diego's `AllowsTransitionTo`: may `current` move to `new_state` for a caller
// holding `key` and `instance_key`? See the table at the top of this file.
bool AllowsTransitionTo(const v1::ActualLRP& current, const v1::ActualLRPKey& key,
                        const v1::ActualLRPInstanceKey& instance_key, absl::string_view new_state);

// `AllowsTransitionTo` as a status: OK when allowed, otherwise the error Diego
// returns for that target state: CLAIMED -> `ErrActualLrpCannotBeClaimed()`,
// RUNNING -> `ErrActualLrpCannotBeStarted()`, CRASHED ->
// `ErrActualLrpCannotBeCrashed()`, UNCLAIMED -> `ErrActualLrpCannotBeUnclaimed()`
// (all `kFailedPrecondition`). A `new_state` that is not a state at all is
// `InvalidStateTransition`, "cannot transition actual LRP from '<from>' to
// '<to>'" (libdiego's wording; Diego never asks).
[[nodiscard]] absl::Status AllowsTransition(const v1::ActualLRP& current,
                                            const v1::ActualLRPKey& key,
                                            const v1::ActualLRPInstanceKey& instance_key,
                                            absl::string_view new_state);

// Result of an operation that may find nothing to do.
struct ActualLrpUpdate {
  // The row to store; equal to the input when `changed` is false.
  v1::ActualLRP lrp;
  // False when the request was already satisfied (no write, no event).
  bool changed = false;
};

// A new UNCLAIMED ORDINARY row for `key`, as BBS CreateUnclaimedActualLRP
// inserts it: `since = now`, modification tag `{epoch, 0}`, `routable` set to
// false, no instance key, net info, routes or metric tags.
v1::ActualLRP NewUnclaimedActualLrp(const v1::ActualLRPKey& key, absl::string_view epoch,
                                    absl::Time now);

// What a rep reports when it starts (or heartbeats) an instance.
struct StartActualLrpParams {
  v1::ActualLRPKey key;
  v1::ActualLRPInstanceKey instance_key;
  v1::ActualLRPNetInfo net_info;
  std::vector<v1::ActualLRPInternalRoute> internal_routes;
  std::map<std::string, std::string> metric_tags;
  bool routable = true;
  std::string availability_zone;
};

// Reads a `/v1/actual_lrps/start.r1` request the way Diego's handler does: an
// absent `Routable` means routable.
StartActualLrpParams StartParamsFromRequest(const v1::StartActualLRPRequest& request);

// The RUNNING ORDINARY row BBS StartActualLRP inserts when no ordinary row
// exists for the key: all of `params`, `since = now`, modification tag
// `{epoch, 0}`.
v1::ActualLRP NewRunningActualLrp(const StartActualLrpParams& params, absl::string_view epoch,
                                  absl::Time now);

// A rep on `instance_key` claims `current` (BBS ClaimActualLRP).
//
// - Transition to CLAIMED refused: `ErrActualLrpCannotBeClaimed()`.
// - Already CLAIMED with the same key: OK, `changed = false`.
// - Otherwise: CLAIMED with `instance_key`, placement_error and net info
//   cleared, tag+1, `since = now`. Routes, metric tags, routable, zone and
//   crash fields are kept.
[[nodiscard]] absl::StatusOr<ActualLrpUpdate> ClaimActualLrp(
    const v1::ActualLRP& current, const v1::ActualLRPInstanceKey& instance_key, absl::Time now);

// A rep reports `params` RUNNING (BBS StartActualLRP on an existing row; when
// the key has no ORDINARY row the store inserts `NewRunningActualLrp` instead).
//
// - Already RUNNING with the same key, instance key, net info, internal
//   routes, metric tags, routable and zone: OK, `changed = false` (reps repeat
//   Start on every bulk sync).
// - Transition to RUNNING refused (including a different `params.key`):
//   `ErrActualLrpCannotBeStarted()`.
// - Otherwise: RUNNING with every value of `params`, placement_error cleared,
//   tag+1, `since = now`. Crash count and reason are kept.
[[nodiscard]] absl::StatusOr<ActualLrpUpdate> StartActualLrp(const v1::ActualLRP& current,
                                                             const StartActualLrpParams& params,
                                                             absl::Time now);

// Outcome of `CrashActualLrp`.
struct CrashActualLrpResult {
  // The row to store.
  v1::ActualLRP lrp;
  // True when the restart policy restarts the instance at once: the row is
  // UNCLAIMED (crash count kept) and the caller must request an auction.
  bool restart_immediately = false;
};

// The rep on `instance_key` reports `current` crashed (BBS CrashActualLRP).
//
// - Transition to CRASHED refused: `ErrActualLrpCannotBeCrashed()`.
// - Otherwise: crash_count = `NextCrashCount()` (1 after more than 5 minutes
//   RUNNING, else +1), crash_reason = `TruncateBbsReason(reason)`, instance key
//   and net info cleared, tag+1, `since = now`, and the state is CRASHED — or
//   UNCLAIMED with `restart_immediately` when
//   `policy.ShouldRestartImmediately(crash_count)`.
[[nodiscard]] absl::StatusOr<CrashActualLrpResult> CrashActualLrp(
    const v1::ActualLRP& current, const v1::ActualLRPInstanceKey& instance_key,
    absl::string_view reason, absl::Time now,
    const RestartCalculator& policy = RestartCalculator());

// The auctioneer could not place `current` (BBS FailActualLRP).
//
// - Not UNCLAIMED: `ErrActualLrpCannotBeFailed()`.
// - Otherwise: placement_error = `TruncateBbsReason(placement_error)`, tag+1,
//   `since = now` (which restarts the 30 s stale-unclaimed timer). Always a
//   change, even when the error text is the same.
[[nodiscard]] absl::StatusOr<v1::ActualLRP> FailActualLrp(const v1::ActualLRP& current,
                                                          absl::string_view placement_error,
                                                          absl::Time now);

// Convergence or evacuation gives `current` up (BBS UnclaimActualLRP).
//
// - Already UNCLAIMED: `ErrActualLrpCannotBeUnclaimed()`.
// - `stale` (convergence re-auctioning a stale claim) and CLAIMED:
//   `ErrActualLrpCannotBeUnclaimed()`.
// - Otherwise: UNCLAIMED, instance key and net info cleared, tag+1,
//   `since = now`; crash count, placement error and the rest are kept.
[[nodiscard]] absl::StatusOr<v1::ActualLRP> UnclaimActualLrp(const v1::ActualLRP& current,
                                                             bool stale, absl::Time now);

// Precondition of BBS RemoveActualLRP for one row: OK when `instance_key` is
// null or equals the row's instance key; otherwise `ErrResourceNotFound()`
// (Diego's DELETE matches no row). The store then deletes the row.
[[nodiscard]] absl::Status RemoveActualLrp(const v1::ActualLRP& current,
                                           const v1::ActualLRPInstanceKey* instance_key);

// Convergence's stale check: UNCLAIMED and `now - since` strictly more than
// `kStaleUnclaimedActualLrpDuration`.
bool ShouldStartUnclaimed(const v1::ActualLRP& lrp, absl::Time now);

// Convergence's crash check: CRASHED and `policy.ShouldRestart(now, since,
// crash_count)`.
bool ShouldRestartCrash(const v1::ActualLRP& lrp, absl::Time now,
                        const RestartCalculator& policy = RestartCalculator());

// -----------------------------------------------------------------------------
// Legacy ActualLRPGroup API (deprecated in Diego, still served).
// -----------------------------------------------------------------------------

// Whether `a` should be shown as a group's instance instead of `b`
// (`hasHigherPriority`): a null `a` never wins, a null `b` always loses; an
// ORDINARY RUNNING `a` always wins; a SUSPECT RUNNING or CLAIMED `a` wins unless
// `b` is RUNNING; an ORDINARY CLAIMED `a` wins unless `b` is RUNNING or
// CLAIMED; anything else loses. The net order is ordinary RUNNING > suspect
// RUNNING/CLAIMED > ordinary CLAIMED > the rest.
bool HasHigherPriority(const v1::ActualLRP* a, const v1::ActualLRP* b);

// Groups `lrps` by ActualLRPKey, in order of first appearance
// (`ResolveActualLRPGroups`): EVACUATING rows become `evacuating` (the last one
// wins), every other row competes for `instance` by `HasHigherPriority` (ties
// keep the earlier row).
std::vector<v1::ActualLRPGroup> ResolveActualLrpGroups(absl::Span<const v1::ActualLRP> lrps);

// The single group of `lrps` (`ResolveActualLRPGroup`): an empty group when
// `lrps` is empty; `kInvalidArgument` when the rows belong to more than one
// key (Diego panics there).
[[nodiscard]] absl::StatusOr<v1::ActualLRPGroup> ResolveActualLrpGroup(
    absl::Span<const v1::ActualLRP> lrps);

// The row a legacy client sees for a group, and whether it is the evacuating
// one.
struct ResolvedActualLrp {
  v1::ActualLRP lrp;
  bool evacuating = false;
};

// Diego's `ActualLRPGroup.Resolve`: the instance when there is no evacuating
// row or the instance is RUNNING or CRASHED; otherwise the evacuating row.
// An empty group is `UnknownError`, "ActualLRPGroup invalid" (Diego's plain
// error as its `ConvertError` reports it).
[[nodiscard]] absl::StatusOr<ResolvedActualLrp> ResolveActualLrpGroupInstance(
    const v1::ActualLRPGroup& group);

}  // namespace diego::model

#endif  // DIEGO_MODEL_ACTUAL_LRP_STATE_H_
