// Copyright 2026 The libdiego Authors.

#include "diego/model/actual_lrp_state.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "diego/model/errors.h"
#include "diego/model/modification_tag.h"
#include "diego/model/task_state.h"
#include "google/protobuf/util/message_differencer.h"

namespace diego::model {
namespace {

using ::google::protobuf::util::MessageDifferencer;

int64_t Nanos(absl::Time now) { return absl::ToUnixNanos(now); }

// Diego fetches the row WHERE presence = ORDINARY; any other row is invisible.
absl::Status RequireOrdinary(const v1::ActualLRP& lrp) {
  if (lrp.presence() != v1::ActualLRP::ORDINARY) {
    return ErrResourceNotFound();
  }
  return absl::OkStatus();
}

// The common tail of every successful write.
void Touch(v1::ActualLRP* lrp, absl::Time now) {
  Increment(lrp->mutable_modification_tag());
  lrp->set_since(Nanos(now));
}

bool SameRoutes(const google::protobuf::RepeatedPtrField<v1::ActualLRPInternalRoute>& stored,
                const std::vector<v1::ActualLRPInternalRoute>& wanted) {
  if (static_cast<size_t>(stored.size()) != wanted.size()) {
    return false;
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (stored[static_cast<int>(i)].hostname() != wanted[i].hostname()) {
      return false;
    }
  }
  return true;
}

bool SameTags(const google::protobuf::Map<std::string, std::string>& stored,
              const std::map<std::string, std::string>& wanted) {
  if (stored.size() != wanted.size()) {
    return false;
  }
  for (const auto& [key, value] : wanted) {
    auto it = stored.find(key);
    if (it == stored.end() || it->second != value) {
      return false;
    }
  }
  return true;
}

// Writes the reported values of a start onto `lrp` (state and tag excluded).
void ApplyStartParams(const StartActualLrpParams& params, v1::ActualLRP* lrp) {
  *lrp->mutable_actual_lrp_key() = params.key;
  *lrp->mutable_actual_lrp_instance_key() = params.instance_key;
  *lrp->mutable_actual_lrp_net_info() = params.net_info;
  lrp->clear_actual_lrp_internal_routes();
  for (const v1::ActualLRPInternalRoute& route : params.internal_routes) {
    *lrp->add_actual_lrp_internal_routes() = route;
  }
  lrp->clear_metric_tags();
  for (const auto& [key, value] : params.metric_tags) {
    (*lrp->mutable_metric_tags())[key] = value;
  }
  lrp->set_routable(params.routable);
  lrp->set_availability_zone(params.availability_zone);
}

using GroupKey = std::tuple<std::string, int32_t, std::string>;

GroupKey KeyOf(const v1::ActualLRP& lrp) {
  const v1::ActualLRPKey& key = lrp.actual_lrp_key();
  return {key.process_guid(), key.index(), key.domain()};
}

}  // namespace

bool IsValidActualLrpState(absl::string_view state) {
  return std::find(std::begin(kActualLrpStates), std::end(kActualLrpStates), state) !=
         std::end(kActualLrpStates);
}

bool ActualLrpKeysEqual(const v1::ActualLRPKey& a, const v1::ActualLRPKey& b) {
  return a.process_guid() == b.process_guid() && a.index() == b.index() && a.domain() == b.domain();
}

bool InstanceKeysEqual(const v1::ActualLRPInstanceKey& a, const v1::ActualLRPInstanceKey& b) {
  return a.instance_guid() == b.instance_guid() && a.cell_id() == b.cell_id();
}

bool IsEmptyInstanceKey(const v1::ActualLRPInstanceKey& key) {
  return key.instance_guid().empty() && key.cell_id().empty();
}

bool AllowsTransitionTo(const v1::ActualLRP& current, const v1::ActualLRPKey& key,
                        const v1::ActualLRPInstanceKey& instance_key, absl::string_view new_state) {
  // Mirrors models/actual_lrp.go AllowsTransitionTo, the table in the header.
  if (!ActualLrpKeysEqual(current.actual_lrp_key(), key)) {
    return false;
  }
  const absl::string_view from = current.state();
  const bool same = InstanceKeysEqual(current.actual_lrp_instance_key(), instance_key);
  const bool empty = IsEmptyInstanceKey(instance_key);
  const bool to_unclaimed = new_state == kActualLrpStateUnclaimed;
  const bool to_claimed = new_state == kActualLrpStateClaimed;
  const bool to_running = new_state == kActualLrpStateRunning;
  const bool to_crashed = new_state == kActualLrpStateCrashed;
  if (from == kActualLrpStateUnclaimed) {
    return to_unclaimed || to_claimed || to_running;
  }
  if (from == kActualLrpStateClaimed) {
    return (to_unclaimed && empty) || (to_claimed && same) || to_running || (to_crashed && same);
  }
  if (from == kActualLrpStateRunning) {
    return (to_unclaimed && empty) || (to_claimed && same) || (to_running && same) ||
           (to_crashed && same);
  }
  if (from == kActualLrpStateCrashed) {
    return (to_unclaimed && empty) || (to_claimed && same) || (to_running && same);
  }
  return false;
}

absl::Status AllowsTransition(const v1::ActualLRP& current, const v1::ActualLRPKey& key,
                              const v1::ActualLRPInstanceKey& instance_key,
                              absl::string_view new_state) {
  if (AllowsTransitionTo(current, key, instance_key, new_state)) {
    return absl::OkStatus();
  }
  if (new_state == kActualLrpStateClaimed) {
    return ErrActualLrpCannotBeClaimed();
  }
  if (new_state == kActualLrpStateRunning) {
    return ErrActualLrpCannotBeStarted();
  }
  if (new_state == kActualLrpStateCrashed) {
    return ErrActualLrpCannotBeCrashed();
  }
  if (new_state == kActualLrpStateUnclaimed) {
    return ErrActualLrpCannotBeUnclaimed();
  }
  return BbsError(v1::Error::InvalidStateTransition,
                  absl::StrCat("cannot transition actual LRP from '", current.state(), "' to '",
                               new_state, "'"));
}

// Mirrors sqldb CreateUnclaimedActualLRP, which stores routable=false and
// empty route/tag lists.
v1::ActualLRP NewUnclaimedActualLrp(const v1::ActualLRPKey& key, absl::string_view epoch,
                                    absl::Time now) {
  v1::ActualLRP lrp;
  *lrp.mutable_actual_lrp_key() = key;
  lrp.set_state(std::string(kActualLrpStateUnclaimed));
  lrp.set_since(Nanos(now));
  *lrp.mutable_modification_tag() = NewModificationTag(epoch, 0);
  lrp.set_routable(false);
  return lrp;
}

StartActualLrpParams StartParamsFromRequest(const v1::StartActualLRPRequest& request) {
  StartActualLrpParams params;
  params.key = request.actual_lrp_key();
  params.instance_key = request.actual_lrp_instance_key();
  params.net_info = request.actual_lrp_net_info();
  params.internal_routes.assign(request.actual_lrp_internal_routes().begin(),
                                request.actual_lrp_internal_routes().end());
  params.metric_tags.insert(request.metric_tags().begin(), request.metric_tags().end());
  // handlers/actual_lrp_lifecycle_handler.go: routable defaults to true.
  params.routable = request.optional_routable_case() == v1::StartActualLRPRequest::kRoutable
                        ? request.routable()
                        : true;
  params.availability_zone = request.availability_zone();
  return params;
}

v1::ActualLRP NewRunningActualLrp(const StartActualLrpParams& params, absl::string_view epoch,
                                  absl::Time now) {
  v1::ActualLRP lrp;
  ApplyStartParams(params, &lrp);
  lrp.set_state(std::string(kActualLrpStateRunning));
  lrp.set_since(Nanos(now));
  *lrp.mutable_modification_tag() = NewModificationTag(epoch, 0);
  return lrp;
}

// Mirrors sqldb ClaimActualLRP. Its UPDATE writes only state, instance key,
// tag, placement_error, since and net_info, so every other column survives.
absl::StatusOr<ActualLrpUpdate> ClaimActualLrp(const v1::ActualLRP& current,
                                               const v1::ActualLRPInstanceKey& instance_key,
                                               absl::Time now) {
  if (absl::Status status = RequireOrdinary(current); !status.ok()) {
    return status;
  }
  // Diego checks against the row's own key: a claim names only guid and index.
  if (!AllowsTransitionTo(current, current.actual_lrp_key(), instance_key,
                          kActualLrpStateClaimed)) {
    return ErrActualLrpCannotBeClaimed();
  }
  ActualLrpUpdate update{current, false};
  if (current.state() == kActualLrpStateClaimed &&
      InstanceKeysEqual(current.actual_lrp_instance_key(), instance_key)) {
    return update;
  }
  v1::ActualLRP& lrp = update.lrp;
  lrp.set_state(std::string(kActualLrpStateClaimed));
  *lrp.mutable_actual_lrp_instance_key() = instance_key;
  lrp.clear_placement_error();
  lrp.mutable_actual_lrp_net_info()->Clear();
  Touch(&lrp, now);
  update.changed = true;
  return update;
}

// Mirrors sqldb StartActualLRP: the no-op check comes before the transition
// check, so a heartbeat from the running instance never fails.
absl::StatusOr<ActualLrpUpdate> StartActualLrp(const v1::ActualLRP& current,
                                               const StartActualLrpParams& params, absl::Time now) {
  if (absl::Status status = RequireOrdinary(current); !status.ok()) {
    return status;
  }
  ActualLrpUpdate update{current, false};
  // Diego compares GetRoutable(), which reads an absent value as false.
  const bool stored_routable =
      current.optional_routable_case() == v1::ActualLRP::kRoutable && current.routable();
  if (current.state() == kActualLrpStateRunning &&
      ActualLrpKeysEqual(current.actual_lrp_key(), params.key) &&
      InstanceKeysEqual(current.actual_lrp_instance_key(), params.instance_key) &&
      MessageDifferencer::Equals(current.actual_lrp_net_info(), params.net_info) &&
      SameRoutes(current.actual_lrp_internal_routes(), params.internal_routes) &&
      SameTags(current.metric_tags(), params.metric_tags) && stored_routable == params.routable &&
      current.availability_zone() == params.availability_zone) {
    return update;
  }
  if (!AllowsTransitionTo(current, params.key, params.instance_key, kActualLrpStateRunning)) {
    return ErrActualLrpCannotBeStarted();
  }
  v1::ActualLRP& lrp = update.lrp;
  ApplyStartParams(params, &lrp);
  lrp.set_state(std::string(kActualLrpStateRunning));
  lrp.clear_placement_error();
  Touch(&lrp, now);
  update.changed = true;
  return update;
}

// Mirrors sqldb CrashActualLRP: the new count is computed from the state and
// `since` before the crash, and the restart decision from the new count. The
// UPDATE leaves placement_error, routes, tags, routable and zone alone.
absl::StatusOr<CrashActualLrpResult> CrashActualLrp(const v1::ActualLRP& current,
                                                    const v1::ActualLRPInstanceKey& instance_key,
                                                    absl::string_view reason, absl::Time now,
                                                    const RestartCalculator& policy) {
  if (absl::Status status = RequireOrdinary(current); !status.ok()) {
    return status;
  }
  if (!AllowsTransitionTo(current, current.actual_lrp_key(), instance_key,
                          kActualLrpStateCrashed)) {
    return ErrActualLrpCannotBeCrashed();
  }
  CrashActualLrpResult result{current, false};
  v1::ActualLRP& lrp = result.lrp;
  lrp.set_crash_count(NextCrashCount(current.crash_count(),
                                     current.state() == kActualLrpStateRunning,
                                     absl::FromUnixNanos(current.since()), now));
  // Diego keeps the full reason in memory but stores it truncated; we return
  // the stored row.
  lrp.set_crash_reason(TruncateBbsReason(reason));
  lrp.mutable_actual_lrp_instance_key()->Clear();
  lrp.mutable_actual_lrp_net_info()->Clear();
  if (policy.ShouldRestartImmediately(lrp.crash_count())) {
    lrp.set_state(std::string(kActualLrpStateUnclaimed));
    result.restart_immediately = true;
  } else {
    lrp.set_state(std::string(kActualLrpStateCrashed));
  }
  Touch(&lrp, now);
  return result;
}

// Mirrors sqldb FailActualLRP: no same-error short cut, so every call bumps
// the tag and `since`.
absl::StatusOr<v1::ActualLRP> FailActualLrp(const v1::ActualLRP& current,
                                            absl::string_view placement_error, absl::Time now) {
  if (absl::Status status = RequireOrdinary(current); !status.ok()) {
    return status;
  }
  if (current.state() != kActualLrpStateUnclaimed) {
    return ErrActualLrpCannotBeFailed();
  }
  v1::ActualLRP lrp = current;
  lrp.set_placement_error(TruncateBbsReason(placement_error));
  Touch(&lrp, now);
  return lrp;
}

// Mirrors sqldb unclaimActualLRP (used by convergence and evacuation).
absl::StatusOr<v1::ActualLRP> UnclaimActualLrp(const v1::ActualLRP& current, bool stale,
                                               absl::Time now) {
  if (absl::Status status = RequireOrdinary(current); !status.ok()) {
    return status;
  }
  if (current.state() == kActualLrpStateUnclaimed) {
    return ErrActualLrpCannotBeUnclaimed();
  }
  // A stale unclaim must not steal a claim another cell made meanwhile.
  if (stale && current.state() == kActualLrpStateClaimed) {
    return ErrActualLrpCannotBeUnclaimed();
  }
  v1::ActualLRP lrp = current;
  lrp.set_state(std::string(kActualLrpStateUnclaimed));
  lrp.mutable_actual_lrp_instance_key()->Clear();
  lrp.mutable_actual_lrp_net_info()->Clear();
  Touch(&lrp, now);
  return lrp;
}

// Mirrors sqldb RemoveActualLRP, whose DELETE adds instance_guid and cell_id
// to the WHERE clause when an instance key is given; zero rows affected is
// ResourceNotFound.
absl::Status RemoveActualLrp(const v1::ActualLRP& current,
                             const v1::ActualLRPInstanceKey* instance_key) {
  if (absl::Status status = RequireOrdinary(current); !status.ok()) {
    return status;
  }
  if (instance_key != nullptr &&
      !InstanceKeysEqual(current.actual_lrp_instance_key(), *instance_key)) {
    return ErrResourceNotFound();
  }
  return absl::OkStatus();
}

bool ShouldStartUnclaimed(const v1::ActualLRP& lrp, absl::Time now) {
  return lrp.state() == kActualLrpStateUnclaimed &&
         now - absl::FromUnixNanos(lrp.since()) > kStaleUnclaimedActualLrpDuration;
}

bool ShouldRestartCrash(const v1::ActualLRP& lrp, absl::Time now, const RestartCalculator& policy) {
  return lrp.state() == kActualLrpStateCrashed &&
         policy.ShouldRestart(now, absl::FromUnixNanos(lrp.since()), lrp.crash_count());
}

// Mirrors models/actual_lrp.go hasHigherPriority. Two rows of the same
// presence cannot share a key in storage, so those comparisons are arbitrary.
bool HasHigherPriority(const v1::ActualLRP* a, const v1::ActualLRP* b) {
  if (a == nullptr) {
    return false;
  }
  if (b == nullptr) {
    return true;
  }
  const bool b_running = b->state() == kActualLrpStateRunning;
  const bool b_claimed = b->state() == kActualLrpStateClaimed;
  if (a->presence() == v1::ActualLRP::ORDINARY) {
    if (a->state() == kActualLrpStateRunning) {
      return true;
    }
    if (a->state() == kActualLrpStateClaimed) {
      return !b_running && !b_claimed;
    }
  } else if (a->presence() == v1::ActualLRP::SUSPECT) {
    if (a->state() == kActualLrpStateRunning || a->state() == kActualLrpStateClaimed) {
      return !b_running;
    }
  }
  return false;
}

// Mirrors ResolveActualLRPGroups: groups keep the order in which their key is
// first seen.
std::vector<v1::ActualLRPGroup> ResolveActualLrpGroups(absl::Span<const v1::ActualLRP> lrps) {
  std::vector<v1::ActualLRPGroup> groups;
  std::map<GroupKey, size_t> index_of;
  for (const v1::ActualLRP& lrp : lrps) {
    auto [it, inserted] = index_of.try_emplace(KeyOf(lrp), groups.size());
    if (inserted) {
      groups.emplace_back();
    }
    v1::ActualLRPGroup& group = groups[it->second];
    if (lrp.presence() == v1::ActualLRP::EVACUATING) {
      *group.mutable_evacuating() = lrp;
    } else if (HasHigherPriority(&lrp, group.has_instance() ? &group.instance() : nullptr)) {
      *group.mutable_instance() = lrp;
    }
  }
  return groups;
}

absl::StatusOr<v1::ActualLRPGroup> ResolveActualLrpGroup(absl::Span<const v1::ActualLRP> lrps) {
  std::vector<v1::ActualLRPGroup> groups = ResolveActualLrpGroups(lrps);
  if (groups.empty()) {
    return v1::ActualLRPGroup();
  }
  if (groups.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("actual lrps belong to ", groups.size(), " groups, expected one"));
  }
  return std::move(groups.front());
}

absl::StatusOr<ResolvedActualLrp> ResolveActualLrpGroupInstance(const v1::ActualLRPGroup& group) {
  if (!group.has_instance() && !group.has_evacuating()) {
    return BbsError(v1::Error::UnknownError, "ActualLRPGroup invalid");
  }
  if (!group.has_instance()) {
    return ResolvedActualLrp{group.evacuating(), true};
  }
  if (!group.has_evacuating()) {
    return ResolvedActualLrp{group.instance(), false};
  }
  const std::string& state = group.instance().state();
  if (state == kActualLrpStateRunning || state == kActualLrpStateCrashed) {
    return ResolvedActualLrp{group.instance(), false};
  }
  return ResolvedActualLrp{group.evacuating(), true};
}

}  // namespace diego::model
