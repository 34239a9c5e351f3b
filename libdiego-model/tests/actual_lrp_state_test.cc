// Copyright 2026 The libdiego Authors.

#include "diego/model/actual_lrp_state.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "diego/model/errors.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace diego::model {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::Eq;
using ::testing::Optional;

const absl::Time kNow = absl::FromUnixNanos(1700000000000000000);
constexpr int64_t kEarlier = 1690000000000000000;

const std::string kStates[] = {"UNCLAIMED", "CLAIMED", "RUNNING", "CRASHED"};

v1::ActualLRPKey Key(const std::string& process_guid = "web", int32_t index = 3) {
  v1::ActualLRPKey key;
  key.set_process_guid(process_guid);
  key.set_index(index);
  key.set_domain("cf-apps");
  return key;
}

v1::ActualLRPInstanceKey InstanceKey(const std::string& guid, const std::string& cell) {
  v1::ActualLRPInstanceKey key;
  key.set_instance_guid(guid);
  key.set_cell_id(cell);
  return key;
}

v1::ActualLRPNetInfo NetInfo(const std::string& address) {
  v1::ActualLRPNetInfo info;
  info.set_address(address);
  info.set_instance_address("10.255.0.7");
  info.set_preferred_address(v1::ActualLRPNetInfo::HOST);
  v1::PortMapping* port = info.add_ports();
  port->set_container_port(8080);
  port->set_host_port(61001);
  return info;
}

const v1::ActualLRPInstanceKey kHolder = InstanceKey("ig-1", "cell-1");

// A stored ORDINARY row in `state`, consistent with Diego's per-state rules:
// CLAIMED and RUNNING rows belong to `kHolder`; RUNNING rows have net info.
v1::ActualLRP Row(const std::string& state) {
  v1::ActualLRP lrp;
  *lrp.mutable_actual_lrp_key() = Key();
  lrp.set_state(state);
  lrp.set_since(kEarlier);
  lrp.mutable_modification_tag()->set_epoch("epoch");
  lrp.mutable_modification_tag()->set_index(4);
  lrp.set_crash_count(1);
  lrp.set_crash_reason("earlier crash");
  lrp.add_actual_lrp_internal_routes()->set_hostname("web.apps.internal");
  (*lrp.mutable_metric_tags())["app_name"] = "web";
  lrp.set_routable(true);
  lrp.set_availability_zone("z1");
  if (state == "CLAIMED" || state == "RUNNING") {
    *lrp.mutable_actual_lrp_instance_key() = kHolder;
  }
  if (state == "RUNNING") {
    *lrp.mutable_actual_lrp_net_info() = NetInfo("10.0.0.1");
  }
  if (state == "UNCLAIMED") {
    lrp.set_placement_error("found no compatible cell");
  }
  return lrp;
}

// The three kinds of instance key a caller may present.
enum class Holder { kSame, kDifferent, kEmpty };
const Holder kHolders[] = {Holder::kSame, Holder::kDifferent, Holder::kEmpty};

const char* HolderName(Holder holder) {
  switch (holder) {
    case Holder::kSame:
      return "same";
    case Holder::kDifferent:
      return "different";
    case Holder::kEmpty:
      return "empty";
  }
  return "?";
}

v1::ActualLRPInstanceKey Present(const v1::ActualLRP& row, Holder holder) {
  switch (holder) {
    case Holder::kSame:
      return row.actual_lrp_instance_key();
    case Holder::kDifferent:
      return InstanceKey("ig-2", "cell-2");
    case Holder::kEmpty:
      return v1::ActualLRPInstanceKey();
  }
  return v1::ActualLRPInstanceKey();
}

// ---------------------------------------------------------------------------
// The transition table: every (from, to, same/different/empty key) cell.
// ---------------------------------------------------------------------------

// For each (from, to): allowed for the same, a different, and an empty key.
// UNCLAIMED and CRASHED rows carry an empty key, so "same" equals "empty".
const std::map<std::pair<std::string, std::string>, std::string>& Table() {
  static const auto* table = new std::map<std::pair<std::string, std::string>, std::string>{
      {{"UNCLAIMED", "UNCLAIMED"}, "TTT"}, {{"UNCLAIMED", "CLAIMED"}, "TTT"},
      {{"UNCLAIMED", "RUNNING"}, "TTT"},   {{"UNCLAIMED", "CRASHED"}, "FFF"},
      {{"CLAIMED", "UNCLAIMED"}, "FFT"},   {{"CLAIMED", "CLAIMED"}, "TFF"},
      {{"CLAIMED", "RUNNING"}, "TTT"},     {{"CLAIMED", "CRASHED"}, "TFF"},
      {{"RUNNING", "UNCLAIMED"}, "FFT"},   {{"RUNNING", "CLAIMED"}, "TFF"},
      {{"RUNNING", "RUNNING"}, "TFF"},     {{"RUNNING", "CRASHED"}, "TFF"},
      {{"CRASHED", "UNCLAIMED"}, "TFT"},   {{"CRASHED", "CLAIMED"}, "TFT"},
      {{"CRASHED", "RUNNING"}, "TFT"},     {{"CRASHED", "CRASHED"}, "FFF"},
  };
  return *table;
}

absl::Status RefusalFor(const std::string& to) {
  if (to == "UNCLAIMED") return ErrActualLrpCannotBeUnclaimed();
  if (to == "CLAIMED") return ErrActualLrpCannotBeClaimed();
  if (to == "RUNNING") return ErrActualLrpCannotBeStarted();
  return ErrActualLrpCannotBeCrashed();
}

TEST(AllowsTransitionTest, EveryCellOfTheTable) {
  int cells = 0;
  for (const std::string& from : kStates) {
    for (const std::string& to : kStates) {
      const std::string& row = Table().at({from, to});
      for (int i = 0; i < 3; ++i) {
        const Holder holder = kHolders[i];
        SCOPED_TRACE(from + " -> " + to + " with " + HolderName(holder) + " key");
        const v1::ActualLRP current = Row(from);
        const v1::ActualLRPInstanceKey key = Present(current, holder);
        const bool allowed = row[i] == 'T';
        EXPECT_EQ(AllowsTransitionTo(current, Key(), key, to), allowed);
        absl::Status status = AllowsTransition(current, Key(), key, to);
        if (allowed) {
          EXPECT_THAT(status, IsOk());
        } else {
          absl::Status expected = RefusalFor(to);
          EXPECT_THAT(status, StatusIs(expected.code(), std::string(expected.message())));
          EXPECT_EQ(BbsErrorType(status), BbsErrorType(expected));
        }
        ++cells;
      }
    }
  }
  EXPECT_EQ(cells, 48);
}

TEST(AllowsTransitionTest, RefusesEverythingForAnotherActualLrpKey) {
  for (const std::string& from : kStates) {
    for (const std::string& to : kStates) {
      for (Holder holder : kHolders) {
        const v1::ActualLRP current = Row(from);
        EXPECT_FALSE(AllowsTransitionTo(current, Key("web", 4), Present(current, holder), to))
            << from << " -> " << to;
        v1::ActualLRPKey other_domain = Key();
        other_domain.set_domain("other");
        EXPECT_FALSE(AllowsTransitionTo(current, other_domain, Present(current, holder), to));
      }
    }
  }
}

TEST(AllowsTransitionTest, RefusesUnknownStates) {
  v1::ActualLRP odd = Row("RUNNING");
  odd.set_state("EXPLODED");
  for (const std::string& to : kStates) {
    EXPECT_FALSE(AllowsTransitionTo(odd, Key(), kHolder, to)) << to;
  }
  v1::ActualLRP running = Row("RUNNING");
  EXPECT_FALSE(AllowsTransitionTo(running, Key(), kHolder, "running"));
  absl::Status status = AllowsTransition(running, Key(), kHolder, "STOPPED");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                               "cannot transition actual LRP from 'RUNNING' to 'STOPPED'"));
  EXPECT_THAT(BbsErrorType(status), Optional(Eq(v1::Error::InvalidStateTransition)));
}

TEST(ActualLrpStatesTest, AreDiegosStrings) {
  EXPECT_EQ(kActualLrpStateUnclaimed, "UNCLAIMED");
  EXPECT_EQ(kActualLrpStateClaimed, "CLAIMED");
  EXPECT_EQ(kActualLrpStateRunning, "RUNNING");
  EXPECT_EQ(kActualLrpStateCrashed, "CRASHED");
  for (const std::string& state : kStates) {
    EXPECT_TRUE(IsValidActualLrpState(state)) << state;
  }
  EXPECT_FALSE(IsValidActualLrpState(""));
  EXPECT_FALSE(IsValidActualLrpState("Running"));
  EXPECT_EQ(v1::ActualLRP::Presence_Name(v1::ActualLRP::ORDINARY), "ORDINARY");
  EXPECT_EQ(v1::ActualLRP::Presence_Name(v1::ActualLRP::EVACUATING), "EVACUATING");
  EXPECT_EQ(v1::ActualLRP::Presence_Name(v1::ActualLRP::SUSPECT), "SUSPECT");
}

TEST(InstanceKeyTest, EqualityAndEmptiness) {
  EXPECT_TRUE(InstanceKeysEqual(kHolder, InstanceKey("ig-1", "cell-1")));
  EXPECT_FALSE(InstanceKeysEqual(kHolder, InstanceKey("ig-1", "cell-2")));
  EXPECT_FALSE(InstanceKeysEqual(kHolder, InstanceKey("ig-2", "cell-1")));
  EXPECT_TRUE(IsEmptyInstanceKey(v1::ActualLRPInstanceKey()));
  EXPECT_FALSE(IsEmptyInstanceKey(InstanceKey("", "cell-1")));
  EXPECT_FALSE(IsEmptyInstanceKey(InstanceKey("ig-1", "")));
  EXPECT_TRUE(ActualLrpKeysEqual(Key(), Key()));
  EXPECT_FALSE(ActualLrpKeysEqual(Key("web", 3), Key("web", 2)));
  EXPECT_FALSE(ActualLrpKeysEqual(Key("web", 3), Key("api", 3)));
}

// ---------------------------------------------------------------------------
// Operations over every (from state, same/different/empty key).
// ---------------------------------------------------------------------------

enum class Outcome { kChanged, kUnchanged, kRefused };

struct OperationTable {
  std::string operation;
  absl::Status refusal;
  // Outcome per from state, for the same, a different and an empty key:
  // 'C' changed, 'U' unchanged, 'R' refused.
  std::map<std::string, std::string> outcomes;
};

Outcome ToOutcome(char c) {
  return c == 'C' ? Outcome::kChanged : c == 'U' ? Outcome::kUnchanged : Outcome::kRefused;
}

StartActualLrpParams StartParams(const v1::ActualLRP& row, Holder holder) {
  StartActualLrpParams params;
  params.key = Key();
  params.instance_key = Present(row, holder);
  params.net_info = NetInfo("10.0.0.1");
  params.internal_routes.resize(1);
  params.internal_routes[0].set_hostname("web.apps.internal");
  params.metric_tags = {{"app_name", "web"}};
  params.routable = true;
  params.availability_zone = "z1";
  return params;
}

TEST(ActualLrpOperationsTest, ClaimStartAndCrashFromEveryStateWithEveryKey) {
  const std::vector<OperationTable> tables = {
      {"Claim",
       ErrActualLrpCannotBeClaimed(),
       {{"UNCLAIMED", "CCC"}, {"CLAIMED", "URR"}, {"RUNNING", "CRR"}, {"CRASHED", "CRC"}}},
      {"Start",
       ErrActualLrpCannotBeStarted(),
       {{"UNCLAIMED", "CCC"}, {"CLAIMED", "CCC"}, {"RUNNING", "URR"}, {"CRASHED", "CRC"}}},
      {"Crash",
       ErrActualLrpCannotBeCrashed(),
       {{"UNCLAIMED", "RRR"}, {"CLAIMED", "CRR"}, {"RUNNING", "CRR"}, {"CRASHED", "RRR"}}},
  };
  for (const OperationTable& table : tables) {
    for (const std::string& from : kStates) {
      for (int i = 0; i < 3; ++i) {
        const Holder holder = kHolders[i];
        SCOPED_TRACE(table.operation + " from " + from + " with " + HolderName(holder) + " key");
        const v1::ActualLRP current = Row(from);
        const v1::ActualLRPInstanceKey key = Present(current, holder);
        const Outcome expected = ToOutcome(table.outcomes.at(from)[i]);

        absl::Status status;
        bool changed = false;
        v1::ActualLRP after;
        if (table.operation == "Claim") {
          absl::StatusOr<ActualLrpUpdate> update = ClaimActualLrp(current, key, kNow);
          status = update.status();
          if (update.ok()) {
            changed = update->changed;
            after = update->lrp;
          }
        } else if (table.operation == "Start") {
          absl::StatusOr<ActualLrpUpdate> update =
              StartActualLrp(current, StartParams(current, holder), kNow);
          status = update.status();
          if (update.ok()) {
            changed = update->changed;
            after = update->lrp;
          }
        } else {
          absl::StatusOr<CrashActualLrpResult> result =
              CrashActualLrp(current, key, "exit status 2", kNow);
          status = result.status();
          if (result.ok()) {
            changed = true;
            after = result->lrp;
          }
        }

        if (expected == Outcome::kRefused) {
          EXPECT_THAT(status, StatusIs(table.refusal.code(), std::string(table.refusal.message())));
          EXPECT_EQ(BbsErrorType(status), BbsErrorType(table.refusal));
          continue;
        }
        ASSERT_THAT(status, IsOk());
        EXPECT_EQ(changed, expected == Outcome::kChanged);
        if (expected == Outcome::kUnchanged) {
          EXPECT_TRUE(MessageDifferencer::Equals(after, current));
        } else {
          EXPECT_EQ(after.modification_tag().epoch(), "epoch");
          EXPECT_EQ(after.modification_tag().index(), 5u);
          EXPECT_EQ(after.since(), absl::ToUnixNanos(kNow));
        }
      }
    }
  }
}

TEST(ActualLrpOperationsTest, UnclaimFromEveryState) {
  struct Row_ {
    std::string from;
    bool stale;
    bool allowed;
  };
  const std::vector<Row_> rows = {
      {"UNCLAIMED", false, false}, {"CLAIMED", false, true},   {"RUNNING", false, true},
      {"CRASHED", false, true},    {"UNCLAIMED", true, false}, {"CLAIMED", true, false},
      {"RUNNING", true, true},     {"CRASHED", true, true},
  };
  for (const Row_& row : rows) {
    SCOPED_TRACE(row.from + (row.stale ? " (stale)" : ""));
    absl::StatusOr<v1::ActualLRP> after = UnclaimActualLrp(Row(row.from), row.stale, kNow);
    if (!row.allowed) {
      EXPECT_THAT(after,
                  StatusIs(absl::StatusCode::kFailedPrecondition, "cannot unclaim actual LRP"));
      EXPECT_THAT(BbsErrorType(after.status()),
                  Optional(Eq(v1::Error::ActualLRPCannotBeUnclaimed)));
      continue;
    }
    ASSERT_THAT(after, IsOk());
    EXPECT_EQ(after->state(), "UNCLAIMED");
    EXPECT_TRUE(IsEmptyInstanceKey(after->actual_lrp_instance_key()));
    EXPECT_FALSE(after->has_actual_lrp_net_info() &&
                 after->actual_lrp_net_info().ByteSizeLong() > 0);
    EXPECT_EQ(after->modification_tag().index(), 5u);
    EXPECT_EQ(after->since(), absl::ToUnixNanos(kNow));
    EXPECT_EQ(after->crash_count(), 1);
  }
}

TEST(ActualLrpOperationsTest, FailOnlyFromUnclaimed) {
  for (const std::string& from : kStates) {
    SCOPED_TRACE(from);
    absl::StatusOr<v1::ActualLRP> after =
        FailActualLrp(Row(from), "insufficient resources: memory", kNow);
    if (from != "UNCLAIMED") {
      EXPECT_THAT(after, StatusIs(absl::StatusCode::kFailedPrecondition, "cannot fail actual LRP"));
      EXPECT_THAT(BbsErrorType(after.status()), Optional(Eq(v1::Error::ActualLRPCannotBeFailed)));
      continue;
    }
    ASSERT_THAT(after, IsOk());
    EXPECT_EQ(after->state(), "UNCLAIMED");
    EXPECT_EQ(after->placement_error(), "insufficient resources: memory");
    EXPECT_EQ(after->modification_tag().index(), 5u);
    EXPECT_EQ(after->since(), absl::ToUnixNanos(kNow));
  }
}

TEST(ActualLrpOperationsTest, FailIsAlwaysAChangeAndTruncates) {
  v1::ActualLRP row = Row("UNCLAIMED");
  ASSERT_OK_AND_ASSIGN(v1::ActualLRP once, FailActualLrp(row, row.placement_error(), kNow));
  EXPECT_EQ(once.modification_tag().index(), 5u);
  ASSERT_OK_AND_ASSIGN(v1::ActualLRP big, FailActualLrp(row, std::string(3000, 'p'), kNow));
  EXPECT_EQ(big.placement_error(), std::string(1013, 'p') + "(truncated)");
}

TEST(ActualLrpOperationsTest, RemoveMatchesTheInstanceKey) {
  for (const std::string& from : kStates) {
    for (Holder holder : kHolders) {
      SCOPED_TRACE(from + " with " + HolderName(holder) + " key");
      const v1::ActualLRP row = Row(from);
      const v1::ActualLRPInstanceKey key = Present(row, holder);
      const bool matches = InstanceKeysEqual(row.actual_lrp_instance_key(), key);
      absl::Status status = RemoveActualLrp(row, &key);
      if (matches) {
        EXPECT_THAT(status, IsOk());
      } else {
        EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound,
                                     "the requested resource could not be found"));
      }
      EXPECT_THAT(RemoveActualLrp(row, nullptr), IsOk());
    }
  }
}

TEST(ActualLrpOperationsTest, EveryOperationIgnoresRowsThatAreNotOrdinary) {
  for (v1::ActualLRP::Presence presence : {v1::ActualLRP::EVACUATING, v1::ActualLRP::SUSPECT}) {
    SCOPED_TRACE(v1::ActualLRP::Presence_Name(presence));
    v1::ActualLRP running = Row("RUNNING");
    running.set_presence(presence);
    v1::ActualLRP unclaimed = Row("UNCLAIMED");
    unclaimed.set_presence(presence);
    const auto not_found = StatusIs(absl::StatusCode::kNotFound);
    EXPECT_THAT(ClaimActualLrp(running, kHolder, kNow), not_found);
    EXPECT_THAT(StartActualLrp(running, StartParams(running, Holder::kSame), kNow), not_found);
    EXPECT_THAT(CrashActualLrp(running, kHolder, "x", kNow), not_found);
    EXPECT_THAT(FailActualLrp(unclaimed, "x", kNow), not_found);
    EXPECT_THAT(UnclaimActualLrp(running, false, kNow), not_found);
    EXPECT_THAT(RemoveActualLrp(running, &kHolder), not_found);
  }
}

// ---------------------------------------------------------------------------
// What each operation writes.
// ---------------------------------------------------------------------------

TEST(ClaimActualLrpTest, ClaimsAnUnclaimedRow) {
  const v1::ActualLRPInstanceKey claimer = InstanceKey("ig-9", "cell-9");
  ASSERT_OK_AND_ASSIGN(ActualLrpUpdate update, ClaimActualLrp(Row("UNCLAIMED"), claimer, kNow));

  const v1::ActualLRP& lrp = update.lrp;
  EXPECT_TRUE(update.changed);
  EXPECT_EQ(lrp.state(), "CLAIMED");
  EXPECT_TRUE(InstanceKeysEqual(lrp.actual_lrp_instance_key(), claimer));
  EXPECT_EQ(lrp.placement_error(), "");
  EXPECT_EQ(lrp.actual_lrp_net_info().address(), "");
  EXPECT_EQ(lrp.modification_tag().index(), 5u);
  EXPECT_EQ(lrp.since(), absl::ToUnixNanos(kNow));
  // Untouched by a claim.
  EXPECT_EQ(lrp.crash_count(), 1);
  EXPECT_EQ(lrp.crash_reason(), "earlier crash");
  EXPECT_EQ(lrp.actual_lrp_internal_routes_size(), 1);
  EXPECT_EQ(lrp.availability_zone(), "z1");
  EXPECT_TRUE(lrp.routable());
}

TEST(ClaimActualLrpTest, ClearsNetInfoWhenARunningInstanceReclaims) {
  ASSERT_OK_AND_ASSIGN(ActualLrpUpdate update, ClaimActualLrp(Row("RUNNING"), kHolder, kNow));
  EXPECT_EQ(update.lrp.state(), "CLAIMED");
  EXPECT_EQ(update.lrp.actual_lrp_net_info().address(), "");
  EXPECT_EQ(update.lrp.actual_lrp_net_info().ports_size(), 0);
}

TEST(StartActualLrpTest, AppliesEveryReportedValue) {
  v1::ActualLRP claimed = Row("CLAIMED");
  claimed.set_routable(false);
  StartActualLrpParams params = StartParams(claimed, Holder::kSame);
  params.net_info = NetInfo("10.0.0.2");
  params.internal_routes.resize(2);
  params.internal_routes[1].set_hostname("web-3.apps.internal");
  params.metric_tags["instance"] = "3";
  params.availability_zone = "z2";
  params.routable = true;

  ASSERT_OK_AND_ASSIGN(ActualLrpUpdate update, StartActualLrp(claimed, params, kNow));

  const v1::ActualLRP& lrp = update.lrp;
  EXPECT_TRUE(update.changed);
  EXPECT_EQ(lrp.state(), "RUNNING");
  EXPECT_TRUE(MessageDifferencer::Equals(lrp.actual_lrp_net_info(), params.net_info));
  ASSERT_EQ(lrp.actual_lrp_internal_routes_size(), 2);
  EXPECT_EQ(lrp.actual_lrp_internal_routes(1).hostname(), "web-3.apps.internal");
  EXPECT_EQ(lrp.metric_tags().at("instance"), "3");
  EXPECT_EQ(lrp.metric_tags().size(), 2u);
  EXPECT_EQ(lrp.availability_zone(), "z2");
  EXPECT_EQ(lrp.optional_routable_case(), v1::ActualLRP::kRoutable);
  EXPECT_TRUE(lrp.routable());
  EXPECT_EQ(lrp.placement_error(), "");
  EXPECT_EQ(lrp.crash_count(), 1);
  EXPECT_EQ(lrp.modification_tag().index(), 5u);
  EXPECT_EQ(lrp.since(), absl::ToUnixNanos(kNow));
}

TEST(StartActualLrpTest, ClearsAPlacementErrorWhenStartingAnUnclaimedRow) {
  v1::ActualLRP unclaimed = Row("UNCLAIMED");
  ASSERT_OK_AND_ASSIGN(ActualLrpUpdate update,
                       StartActualLrp(unclaimed, StartParams(unclaimed, Holder::kDifferent), kNow));
  EXPECT_EQ(update.lrp.placement_error(), "");
  EXPECT_TRUE(
      InstanceKeysEqual(update.lrp.actual_lrp_instance_key(), InstanceKey("ig-2", "cell-2")));
}

TEST(StartActualLrpTest, AnyReportedDifferenceIsAChange) {
  const v1::ActualLRP running = Row("RUNNING");
  struct Variant {
    const char* name;
    void (*mutate)(StartActualLrpParams*);
  };
  const std::vector<Variant> variants = {
      {"net info", [](StartActualLrpParams* p) { p->net_info.set_address("10.0.0.9"); }},
      {"port", [](StartActualLrpParams* p) { p->net_info.mutable_ports(0)->set_host_port(1); }},
      {"internal routes", [](StartActualLrpParams* p) { p->internal_routes.clear(); }},
      {"route hostname",
       [](StartActualLrpParams* p) { p->internal_routes[0].set_hostname("other"); }},
      {"metric tags", [](StartActualLrpParams* p) { p->metric_tags["app_name"] = "api"; }},
      {"extra metric tag", [](StartActualLrpParams* p) { p->metric_tags["x"] = "y"; }},
      {"routable", [](StartActualLrpParams* p) { p->routable = false; }},
      {"availability zone", [](StartActualLrpParams* p) { p->availability_zone = "z9"; }},
  };
  for (const Variant& variant : variants) {
    SCOPED_TRACE(variant.name);
    StartActualLrpParams params = StartParams(running, Holder::kSame);
    variant.mutate(&params);
    ASSERT_OK_AND_ASSIGN(ActualLrpUpdate update, StartActualLrp(running, params, kNow));
    EXPECT_TRUE(update.changed);
    EXPECT_EQ(update.lrp.modification_tag().index(), 5u);
  }
}

TEST(StartActualLrpTest, TreatsAnAbsentRoutableAsFalse) {
  v1::ActualLRP running = Row("RUNNING");
  running.clear_optional_routable();
  StartActualLrpParams params = StartParams(running, Holder::kSame);
  params.routable = false;
  ASSERT_OK_AND_ASSIGN(ActualLrpUpdate update, StartActualLrp(running, params, kNow));
  EXPECT_FALSE(update.changed);
}

TEST(StartActualLrpTest, RefusesAnotherActualLrpKey) {
  v1::ActualLRP claimed = Row("CLAIMED");
  StartActualLrpParams params = StartParams(claimed, Holder::kSame);
  params.key = Key("web", 4);
  EXPECT_THAT(StartActualLrp(claimed, params, kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition, "cannot start actual LRP"));
}

TEST(StartParamsFromRequestTest, DefaultsRoutableToTrue) {
  v1::StartActualLRPRequest request;
  *request.mutable_actual_lrp_key() = Key();
  *request.mutable_actual_lrp_instance_key() = kHolder;
  *request.mutable_actual_lrp_net_info() = NetInfo("10.0.0.1");
  request.add_actual_lrp_internal_routes()->set_hostname("h");
  (*request.mutable_metric_tags())["k"] = "v";
  request.set_availability_zone("z3");

  StartActualLrpParams params = StartParamsFromRequest(request);

  EXPECT_TRUE(params.routable);
  EXPECT_TRUE(ActualLrpKeysEqual(params.key, Key()));
  EXPECT_TRUE(InstanceKeysEqual(params.instance_key, kHolder));
  EXPECT_EQ(params.net_info.address(), "10.0.0.1");
  ASSERT_EQ(params.internal_routes.size(), 1u);
  EXPECT_EQ(params.internal_routes[0].hostname(), "h");
  EXPECT_EQ(params.metric_tags, (std::map<std::string, std::string>{{"k", "v"}}));
  EXPECT_EQ(params.availability_zone, "z3");

  request.set_routable(false);
  EXPECT_FALSE(StartParamsFromRequest(request).routable);
}

TEST(NewRunningActualLrpTest, CreatesARunningRowWithAFreshTag) {
  StartActualLrpParams params = StartParams(Row("RUNNING"), Holder::kSame);
  params.routable = false;
  v1::ActualLRP lrp = NewRunningActualLrp(params, "fresh-epoch", kNow);

  EXPECT_EQ(lrp.state(), "RUNNING");
  EXPECT_EQ(lrp.presence(), v1::ActualLRP::ORDINARY);
  EXPECT_TRUE(ActualLrpKeysEqual(lrp.actual_lrp_key(), Key()));
  EXPECT_TRUE(InstanceKeysEqual(lrp.actual_lrp_instance_key(), kHolder));
  EXPECT_EQ(lrp.actual_lrp_net_info().address(), "10.0.0.1");
  EXPECT_EQ(lrp.modification_tag().epoch(), "fresh-epoch");
  EXPECT_EQ(lrp.modification_tag().index(), 0u);
  EXPECT_EQ(lrp.since(), absl::ToUnixNanos(kNow));
  EXPECT_EQ(lrp.optional_routable_case(), v1::ActualLRP::kRoutable);
  EXPECT_FALSE(lrp.routable());
  EXPECT_EQ(lrp.crash_count(), 0);
  // A repeated start of the new row is a no-op.
  ASSERT_OK_AND_ASSIGN(ActualLrpUpdate again, StartActualLrp(lrp, params, kNow));
  EXPECT_FALSE(again.changed);
}

TEST(NewUnclaimedActualLrpTest, CreatesAnUnclaimedRow) {
  v1::ActualLRP lrp = NewUnclaimedActualLrp(Key(), "epoch-x", kNow);
  EXPECT_EQ(lrp.state(), "UNCLAIMED");
  EXPECT_EQ(lrp.presence(), v1::ActualLRP::ORDINARY);
  EXPECT_TRUE(ActualLrpKeysEqual(lrp.actual_lrp_key(), Key()));
  EXPECT_TRUE(IsEmptyInstanceKey(lrp.actual_lrp_instance_key()));
  EXPECT_EQ(lrp.since(), absl::ToUnixNanos(kNow));
  EXPECT_EQ(lrp.modification_tag().epoch(), "epoch-x");
  EXPECT_EQ(lrp.modification_tag().index(), 0u);
  EXPECT_EQ(lrp.optional_routable_case(), v1::ActualLRP::kRoutable);
  EXPECT_FALSE(lrp.routable());
  EXPECT_EQ(lrp.actual_lrp_internal_routes_size(), 0);
  EXPECT_TRUE(lrp.metric_tags().empty());
}

v1::ActualLRP RunningFor(absl::Duration uptime, int32_t crash_count) {
  v1::ActualLRP lrp = Row("RUNNING");
  lrp.set_since(absl::ToUnixNanos(kNow - uptime));
  lrp.set_crash_count(crash_count);
  return lrp;
}

TEST(CrashActualLrpTest, RestartsTheFirstTwoCrashesImmediately) {
  for (int32_t before : {0, 1}) {
    SCOPED_TRACE(before);
    ASSERT_OK_AND_ASSIGN(
        CrashActualLrpResult result,
        CrashActualLrp(RunningFor(absl::Seconds(10), before), kHolder, "exit status 1", kNow));
    EXPECT_TRUE(result.restart_immediately);
    EXPECT_EQ(result.lrp.state(), "UNCLAIMED");
    EXPECT_EQ(result.lrp.crash_count(), before + 1);
    EXPECT_EQ(result.lrp.crash_reason(), "exit status 1");
    EXPECT_TRUE(IsEmptyInstanceKey(result.lrp.actual_lrp_instance_key()));
    EXPECT_EQ(result.lrp.actual_lrp_net_info().address(), "");
    EXPECT_EQ(result.lrp.actual_lrp_net_info().ports_size(), 0);
    EXPECT_EQ(result.lrp.modification_tag().index(), 5u);
    EXPECT_EQ(result.lrp.since(), absl::ToUnixNanos(kNow));
  }
}

TEST(CrashActualLrpTest, LeavesTheThirdCrashCrashed) {
  ASSERT_OK_AND_ASSIGN(
      CrashActualLrpResult result,
      CrashActualLrp(RunningFor(absl::Minutes(1), 2), kHolder, "health check failed", kNow));
  EXPECT_FALSE(result.restart_immediately);
  EXPECT_EQ(result.lrp.state(), "CRASHED");
  EXPECT_EQ(result.lrp.crash_count(), 3);
  EXPECT_TRUE(IsEmptyInstanceKey(result.lrp.actual_lrp_instance_key()));
  // Routing data is not rewritten by a crash.
  EXPECT_EQ(result.lrp.actual_lrp_internal_routes_size(), 1);
  EXPECT_EQ(result.lrp.availability_zone(), "z1");
}

TEST(CrashActualLrpTest, ResetsTheCountAfterMoreThanFiveMinutesRunning) {
  ASSERT_OK_AND_ASSIGN(CrashActualLrpResult reset,
                       CrashActualLrp(RunningFor(kCrashResetTimeout + absl::Nanoseconds(1), 150),
                                      kHolder, "oom", kNow));
  EXPECT_EQ(reset.lrp.crash_count(), 1);
  EXPECT_TRUE(reset.restart_immediately);

  ASSERT_OK_AND_ASSIGN(CrashActualLrpResult kept,
                       CrashActualLrp(RunningFor(kCrashResetTimeout, 150), kHolder, "oom", kNow));
  EXPECT_EQ(kept.lrp.crash_count(), 151);
  EXPECT_FALSE(kept.restart_immediately);
  EXPECT_EQ(kept.lrp.state(), "CRASHED");
}

TEST(CrashActualLrpTest, OnlyRunningTimeResetsTheCount) {
  v1::ActualLRP claimed = Row("CLAIMED");
  claimed.set_since(absl::ToUnixNanos(kNow - absl::Hours(1)));
  claimed.set_crash_count(4);
  ASSERT_OK_AND_ASSIGN(CrashActualLrpResult result,
                       CrashActualLrp(claimed, kHolder, "failed to start", kNow));
  EXPECT_EQ(result.lrp.crash_count(), 5);
  EXPECT_EQ(result.lrp.state(), "CRASHED");
}

TEST(CrashActualLrpTest, TruncatesTheReason) {
  ASSERT_OK_AND_ASSIGN(CrashActualLrpResult result,
                       CrashActualLrp(Row("RUNNING"), kHolder, std::string(1500, 'c'), kNow));
  EXPECT_EQ(result.lrp.crash_reason(), std::string(1013, 'c') + "(truncated)");
}

TEST(CrashActualLrpTest, UsesTheGivenRestartPolicy) {
  RestartCalculator never_immediately(0, absl::Minutes(16), 200);
  ASSERT_OK_AND_ASSIGN(
      CrashActualLrpResult result,
      CrashActualLrp(RunningFor(absl::Seconds(1), 0), kHolder, "x", kNow, never_immediately));
  EXPECT_FALSE(result.restart_immediately);
  EXPECT_EQ(result.lrp.state(), "CRASHED");
}

TEST(ConvergenceChecksTest, StaleUnclaimedAfterMoreThanThirtySeconds) {
  v1::ActualLRP unclaimed = Row("UNCLAIMED");
  unclaimed.set_since(absl::ToUnixNanos(kNow - absl::Seconds(30)));
  EXPECT_FALSE(ShouldStartUnclaimed(unclaimed, kNow));
  EXPECT_TRUE(ShouldStartUnclaimed(unclaimed, kNow + absl::Nanoseconds(1)));
  v1::ActualLRP claimed = Row("CLAIMED");
  EXPECT_FALSE(ShouldStartUnclaimed(claimed, kNow + absl::Hours(1)));
}

TEST(ConvergenceChecksTest, RestartsACrashedRowWhenItsBackoffExpires) {
  v1::ActualLRP crashed = Row("CRASHED");
  crashed.set_crash_count(3);
  const absl::Time crashed_at = absl::FromUnixNanos(crashed.since());
  EXPECT_FALSE(ShouldRestartCrash(crashed, crashed_at + absl::Seconds(30) - absl::Nanoseconds(1)));
  EXPECT_TRUE(ShouldRestartCrash(crashed, crashed_at + absl::Seconds(30)));
  crashed.set_crash_count(200);
  EXPECT_FALSE(ShouldRestartCrash(crashed, crashed_at + absl::Hours(100)));
  EXPECT_FALSE(ShouldRestartCrash(Row("RUNNING"), kNow + absl::Hours(1)));
}

// ---------------------------------------------------------------------------
// Legacy group resolution.
// ---------------------------------------------------------------------------

v1::ActualLRP WithPresence(const std::string& state, v1::ActualLRP::Presence presence) {
  v1::ActualLRP lrp = Row(state);
  lrp.set_presence(presence);
  return lrp;
}

TEST(HasHigherPriorityTest, FollowsDiegosOrder) {
  const v1::ActualLRP::Presence ordinary = v1::ActualLRP::ORDINARY;
  const v1::ActualLRP::Presence suspect = v1::ActualLRP::SUSPECT;
  struct Case {
    std::string a_state;
    v1::ActualLRP::Presence a_presence;
    std::string b_state;
    v1::ActualLRP::Presence b_presence;
    bool a_wins;
  };
  const std::vector<Case> cases = {
      {"RUNNING", ordinary, "RUNNING", suspect, true},
      {"RUNNING", ordinary, "CLAIMED", suspect, true},
      {"RUNNING", suspect, "RUNNING", ordinary, false},
      {"RUNNING", suspect, "CLAIMED", ordinary, true},
      {"CLAIMED", suspect, "CLAIMED", ordinary, true},
      {"CLAIMED", suspect, "RUNNING", ordinary, false},
      {"CLAIMED", ordinary, "RUNNING", suspect, false},
      {"CLAIMED", ordinary, "CLAIMED", suspect, false},
      {"CLAIMED", ordinary, "UNCLAIMED", suspect, true},
      {"CLAIMED", ordinary, "CRASHED", suspect, true},
      {"UNCLAIMED", ordinary, "CRASHED", suspect, false},
      {"CRASHED", ordinary, "UNCLAIMED", suspect, false},
      {"UNCLAIMED", suspect, "CRASHED", ordinary, false},
      {"RUNNING", suspect, "UNCLAIMED", ordinary, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.a_state + "/" + v1::ActualLRP::Presence_Name(c.a_presence) + " vs " + c.b_state +
                 "/" + v1::ActualLRP::Presence_Name(c.b_presence));
    const v1::ActualLRP a = WithPresence(c.a_state, c.a_presence);
    const v1::ActualLRP b = WithPresence(c.b_state, c.b_presence);
    EXPECT_EQ(HasHigherPriority(&a, &b), c.a_wins);
  }
  const v1::ActualLRP crashed = Row("CRASHED");
  EXPECT_TRUE(HasHigherPriority(&crashed, nullptr));
  EXPECT_FALSE(HasHigherPriority(nullptr, &crashed));
  EXPECT_FALSE(HasHigherPriority(nullptr, nullptr));
}

TEST(ResolveActualLrpGroupsTest, PicksTheInstanceByPriorityAndKeepsEvacuatingApart) {
  v1::ActualLRP ordinary_claimed = WithPresence("CLAIMED", v1::ActualLRP::ORDINARY);
  v1::ActualLRP suspect_running = WithPresence("RUNNING", v1::ActualLRP::SUSPECT);
  v1::ActualLRP evacuating = WithPresence("RUNNING", v1::ActualLRP::EVACUATING);
  evacuating.mutable_actual_lrp_instance_key()->set_cell_id("cell-evacuating");
  v1::ActualLRP other_index = WithPresence("UNCLAIMED", v1::ActualLRP::ORDINARY);
  other_index.mutable_actual_lrp_key()->set_index(0);

  std::vector<v1::ActualLRP> rows = {ordinary_claimed, evacuating, other_index, suspect_running};
  std::vector<v1::ActualLRPGroup> groups = ResolveActualLrpGroups(rows);

  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].instance().presence(), v1::ActualLRP::SUSPECT);
  EXPECT_EQ(groups[0].instance().state(), "RUNNING");
  EXPECT_EQ(groups[0].evacuating().actual_lrp_instance_key().cell_id(), "cell-evacuating");
  EXPECT_EQ(groups[1].instance().actual_lrp_key().index(), 0);
  EXPECT_FALSE(groups[1].has_evacuating());
}

TEST(ResolveActualLrpGroupsTest, OrdinaryRunningBeatsSuspectRunning) {
  std::vector<v1::ActualLRP> rows = {WithPresence("RUNNING", v1::ActualLRP::SUSPECT),
                                     WithPresence("RUNNING", v1::ActualLRP::ORDINARY)};
  ASSERT_OK_AND_ASSIGN(v1::ActualLRPGroup group, ResolveActualLrpGroup(rows));
  EXPECT_EQ(group.instance().presence(), v1::ActualLRP::ORDINARY);
}

TEST(ResolveActualLrpGroupsTest, OnlyEvacuatingLeavesNoInstance) {
  std::vector<v1::ActualLRP> rows = {WithPresence("RUNNING", v1::ActualLRP::EVACUATING)};
  ASSERT_OK_AND_ASSIGN(v1::ActualLRPGroup group, ResolveActualLrpGroup(rows));
  EXPECT_FALSE(group.has_instance());
  EXPECT_TRUE(group.has_evacuating());
}

TEST(ResolveActualLrpGroupTest, EmptyInputGivesAnEmptyGroup) {
  ASSERT_OK_AND_ASSIGN(v1::ActualLRPGroup group, ResolveActualLrpGroup({}));
  EXPECT_FALSE(group.has_instance());
  EXPECT_FALSE(group.has_evacuating());
}

TEST(ResolveActualLrpGroupTest, RefusesRowsOfSeveralKeys) {
  v1::ActualLRP other = Row("RUNNING");
  other.mutable_actual_lrp_key()->set_index(9);
  std::vector<v1::ActualLRP> rows = {Row("RUNNING"), other};
  EXPECT_THAT(ResolveActualLrpGroup(rows), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ResolveActualLrpGroupInstanceTest, ChoosesLikeDiego) {
  v1::ActualLRPGroup empty;
  absl::StatusOr<ResolvedActualLrp> invalid = ResolveActualLrpGroupInstance(empty);
  EXPECT_THAT(invalid, StatusIs(absl::StatusCode::kUnknown, "ActualLRPGroup invalid"));

  v1::ActualLRPGroup only_evacuating;
  *only_evacuating.mutable_evacuating() = WithPresence("RUNNING", v1::ActualLRP::EVACUATING);
  ASSERT_OK_AND_ASSIGN(ResolvedActualLrp a, ResolveActualLrpGroupInstance(only_evacuating));
  EXPECT_TRUE(a.evacuating);

  for (const std::string& state : kStates) {
    SCOPED_TRACE(state);
    v1::ActualLRPGroup group;
    *group.mutable_instance() = Row(state);
    ASSERT_OK_AND_ASSIGN(ResolvedActualLrp alone, ResolveActualLrpGroupInstance(group));
    EXPECT_FALSE(alone.evacuating);

    *group.mutable_evacuating() = WithPresence("RUNNING", v1::ActualLRP::EVACUATING);
    ASSERT_OK_AND_ASSIGN(ResolvedActualLrp both, ResolveActualLrpGroupInstance(group));
    const bool instance_wins = state == "RUNNING" || state == "CRASHED";
    EXPECT_EQ(both.evacuating, !instance_wins);
    EXPECT_EQ(both.lrp.state(), instance_wins ? state : "RUNNING");
  }
}

}  // namespace
}  // namespace diego::model
