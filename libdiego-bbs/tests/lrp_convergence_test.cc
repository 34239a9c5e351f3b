// Copyright 2026 The libdiego Authors.
//
// SqlStore::ConvergeLrps (convergence.h, diego-spec.md 3.4) on both engines:
// every rule with the changes it writes and the events they publish, the
// fresh-domain gating of the destructive rules, the crash restart policy,
// the suspect lifecycle, drift detection, the merged start requests, the
// metrics, the convergence index's self-repair and two passes at once.

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "actual_lrp_store_fixture.h"
#include "diego/bbs/convergence.h"
#include "diego/bbs/outbound.h"
#include "sql_store_convergence_index.h"

namespace diego::bbs {
namespace {

using model::v1::DesiredLRP;
using ::testing::Optional;

constexpr absl::string_view kInternalRoute = R"([{"hostname":"app.apps.internal"}])";

class LrpConvergenceTest : public ActualLrpStoreTest {
 protected:
  void SetUp() override {
    ActualLrpStoreTest::SetUp();
    ASSERT_OK(store_->UpsertDomain("domain-1", absl::ZeroDuration()));
  }

  // A DesiredLRP whose instances, as the fixture's `Running()` makes them,
  // are in sync with it (internal route and static metric tag).
  static DesiredLRP Desired(absl::string_view guid, int32_t instances,
                            absl::string_view domain = "domain-1") {
    DesiredLRP lrp;
    lrp.set_process_guid(std::string(guid));
    lrp.set_domain(std::string(domain));
    lrp.set_log_guid("log");
    lrp.set_root_fs("preloaded:cflinuxfs4");
    lrp.set_instances(instances);
    lrp.set_memory_mb(128);
    lrp.set_disk_mb(256);
    lrp.add_placementtags("tag-a");
    (*lrp.mutable_routes()->mutable_routes())["internal-router"] = std::string(kInternalRoute);
    (*lrp.mutable_metric_tags())["source_id"].set_static_("app-guid");
    return lrp;
  }

  // Desires `lrp` and forgets the events (its UNCLAIMED rows are created).
  void Desire(const DesiredLRP& lrp) {
    ASSERT_OK(store_->DesireLrp(lrp, kTrace));
    sink_.Take();
  }

  // Stores `lrp` at its (process_guid, index, presence), replacing a row
  // there, through the row helpers.
  void Put(const ActualLRP& lrp) {
    ASSERT_OK(t_.db->Write([&](SqlTx& tx) -> absl::Status {
      const auto& key = lrp.actual_lrp_key();
      absl::StatusOr<bool> deleted =
          internal::DeleteActualLrp(tx, key.process_guid(), key.index(), lrp.presence());
      if (!deleted.ok()) return deleted.status();
      return internal::InsertActualLrp(tx, lrp);
    }));
  }

  void Delete(absl::string_view guid, int32_t index,
              ActualLRP::Presence presence = ActualLRP::ORDINARY) {
    ASSERT_OK(t_.db->Write(
        [&](SqlTx& tx) { return internal::DeleteActualLrp(tx, guid, index, presence).status(); }));
  }

  LrpConvergenceResult Converge(const CellSet& cells = {"cell-1"}) {
    absl::StatusOr<LrpConvergenceResult> result = store_->ConvergeLrps(cells, options_);
    EXPECT_OK(result.status());
    return result.ok() ? *std::move(result) : LrpConvergenceResult();
  }

  auction::LrpStartRequest StartRequest(absl::string_view guid, std::vector<int32_t> indices) {
    absl::StatusOr<model::v1::DesiredLRPSchedulingInfo> info =
        store_->DesiredLrpSchedulingInfoByProcessGuid(guid);
    EXPECT_OK(info.status());
    return LrpStartRequestFromSchedulingInfo(*info, indices);
  }

  static std::vector<std::pair<std::string, int32_t>> Keys(
      const std::vector<model::v1::ActualLRPKey>& keys) {
    std::vector<std::pair<std::string, int32_t>> out;
    for (const auto& key : keys) out.emplace_back(key.process_guid(), key.index());
    return out;
  }

  int64_t CountRows(absl::string_view where) {
    int64_t n = -1;
    EXPECT_OK(t_.db->Read([&](SqlTx& tx) {
      return tx.Query(absl::StrCat("SELECT COUNT(*) FROM actual_lrps WHERE ", where), {},
                      [&](const SqlRow& row) {
                        n = row.Int(0);
                        return absl::OkStatus();
                      });
    }));
    return n;
  }

  // Every lrp_buckets row agrees with the rows it sums.
  void ExpectBucketSumsMatchRows() {
    std::map<int64_t, std::vector<int64_t>> stored;
    std::map<int64_t, std::vector<int64_t>> computed;
    auto add = [&](int64_t bucket, size_t at, const internal::InstanceSums& sums) {
      std::vector<int64_t>& row = computed[bucket];
      row.resize(6);
      row[at] += sums.count;
      row[at + 1] += sums.sum1;
      row[at + 2] += sums.sum2;
    };
    ASSERT_OK(t_.db->Read([&](SqlTx& tx) -> absl::Status {
      absl::Status s = tx.Query(
          "SELECT bucket, desired_count, desired_sum1, desired_sum2, actual_count, actual_sum1,"
          " actual_sum2 FROM lrp_buckets",
          {}, [&](const SqlRow& row) {
            std::vector<int64_t> sums = {row.Int(1), row.Int(2), row.Int(3),
                                         row.Int(4), row.Int(5), row.Int(6)};
            if (sums != std::vector<int64_t>(6, 0)) stored[row.Int(0)] = sums;
            return absl::OkStatus();
          });
      if (!s.ok()) return s;
      s = tx.Query("SELECT process_guid, instances FROM desired_lrps", {}, [&](const SqlRow& row) {
        add(internal::LrpBucket(row.Text(0)), 0,
            internal::InstanceRangeSums(row.Text(0), 0, row.Int(1)));
        return absl::OkStatus();
      });
      if (!s.ok()) return s;
      return tx.Query("SELECT process_guid, instance_index FROM actual_lrps WHERE presence = 0", {},
                      [&](const SqlRow& row) {
                        add(internal::LrpBucket(row.Text(0)), 3,
                            internal::InstanceSumsOf(row.Text(0), row.Int(1)));
                        return absl::OkStatus();
                      });
    }));
    for (auto it = computed.begin(); it != computed.end();) {
      it = it->second == std::vector<int64_t>(6, 0) ? computed.erase(it) : std::next(it);
    }
    EXPECT_EQ(stored, computed);
  }

  ConvergenceOptions options_;
};

// -----------------------------------------------------------------------------
// Nothing to do, domains.
// -----------------------------------------------------------------------------

TEST_P(LrpConvergenceTest, PassWithNothingToDoWritesNothing) {
  Desire(Desired("pg", 2));
  Put(Running("pg", 0, Ik("ig-0", "cell-1")));
  Put(Running("pg", 1, Ik("ig-1", "cell-2")));
  sink_.Take();

  const LrpConvergenceResult result = Converge({"cell-1", "cell-2"});
  EXPECT_THAT(result.start_requests, IsEmpty());
  EXPECT_THAT(result.keys_to_retire, IsEmpty());
  EXPECT_THAT(result.runtime_updates, IsEmpty());
  EXPECT_THAT(result.missing_cell_ids, IsEmpty());
  EXPECT_EQ(result.desired_instances, 2);
  EXPECT_EQ(result.running, 2);
  EXPECT_EQ(result.claimed + result.unclaimed + result.crashed + result.missing + result.extra, 0);
  EXPECT_EQ(result.present_cells, 2);
  EXPECT_EQ(result.suspect_cells, 0);
  EXPECT_THAT(result.fresh_domains, ElementsAre("domain-1"));
  EXPECT_THAT(sink_.Take(), IsEmpty());
  ExpectBucketSumsMatchRows();
}

TEST_P(LrpConvergenceTest, ExpiredDomainsAreDeletedAndOnlyFreshOnesReported) {
  ASSERT_OK(store_->UpsertDomain("short", absl::Seconds(10)));
  ASSERT_OK(store_->UpsertDomain("long", absl::Hours(1)));
  clock_.Advance(absl::Seconds(10));  // "short" expires exactly now.

  const LrpConvergenceResult result = Converge();
  EXPECT_THAT(result.fresh_domains, ElementsAre("domain-1", "long"));
  int64_t rows = 0;
  ASSERT_OK(t_.db->Read([&](SqlTx& tx) {
    return tx.Query("SELECT COUNT(*) FROM domains", {}, [&](const SqlRow& row) {
      rows = row.Int(0);
      return absl::OkStatus();
    });
  }));
  EXPECT_EQ(rows, 2);  // Deleted, not just hidden.
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> fresh, store_->FreshDomains());
  EXPECT_THAT(fresh, ElementsAre("domain-1", "long"));
}

// -----------------------------------------------------------------------------
// Rule 1: EVACUATING rows on missing cells.
// -----------------------------------------------------------------------------

TEST_P(LrpConvergenceTest, EvacuatingRowsOnMissingCellsAreDeleted) {
  Desire(Desired("pg", 2));
  Put(Running("pg", 0, Ik("ig-0", "cell-1")));
  Put(Running("pg", 1, Ik("ig-1", "cell-1")));
  const ActualLRP gone = As(Running("pg", 0, Ik("ig-e0", "cell-gone")), ActualLRP::EVACUATING);
  const ActualLRP kept = As(Running("pg", 1, Ik("ig-e1", "cell-1")), ActualLRP::EVACUATING);
  Put(gone);
  Put(kept);
  sink_.Take();

  const LrpConvergenceResult result = Converge();
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  EXPECT_THAT(Row("pg", 1, ActualLRP::EVACUATING), Optional(EqualsProto(kept)));
  ExpectEvents(sink_.Take(), {{&gone, nullptr}}, "");
  // Its cell is not reported: the row is gone before cells are looked at.
  EXPECT_THAT(result.missing_cell_ids, IsEmpty());
  EXPECT_THAT(result.start_requests, IsEmpty());
}

// -----------------------------------------------------------------------------
// Rule 2: stale UNCLAIMED.
// -----------------------------------------------------------------------------

TEST_P(LrpConvergenceTest, StaleUnclaimedIsAuctionedAgainWithoutAWrite) {
  Desire(Desired("pg", 1));  // UNCLAIMED, since = now.
  const ActualLRP before = *Row("pg", 0);

  clock_.Advance(absl::Seconds(30));
  EXPECT_THAT(Converge().start_requests, IsEmpty());  // Exactly 30 s: not yet.

  clock_.Advance(absl::Nanoseconds(1));
  LrpConvergenceResult result = Converge();
  EXPECT_THAT(result.start_requests, ElementsAre(StartRequest("pg", {0})));
  EXPECT_EQ(result.unclaimed, 1);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(before));
  EXPECT_THAT(sink_.Take(), IsEmpty());

  // Every pass again, until it is placed; a custom duration is honoured.
  options_.stale_unclaimed_duration = absl::Hours(1);
  EXPECT_THAT(Converge().start_requests, IsEmpty());
  options_.stale_unclaimed_duration = absl::Seconds(30);
  EXPECT_THAT(Converge().start_requests, ElementsAre(StartRequest("pg", {0})));
}

// -----------------------------------------------------------------------------
// Rule 3: missing cells, and the suspect lifecycle (rule 6).
// -----------------------------------------------------------------------------

TEST_P(LrpConvergenceTest, InstanceOnMissingCellBecomesSuspectWithAReplacement) {
  Desire(Desired("pg", 2));
  const ActualLRP lost = Running("pg", 0, Ik("ig-0", "cell-gone"));
  const ActualLRP claimed = Claimed("pg", 1, Ik("ig-1", "cell-gone-too"));
  Put(lost);
  Put(claimed);
  sink_.Take();

  const LrpConvergenceResult result = Converge();
  // The row moved to SUSPECT as it was (tag and since kept, Diego's
  // ChangeActualLRPPresence); a fresh UNCLAIMED row replaces it.
  ActualLRP suspect = lost;
  suspect.set_presence(ActualLRP::SUSPECT);
  EXPECT_THAT(Row("pg", 0, ActualLRP::SUSPECT), Optional(EqualsProto(suspect)));
  const ActualLRP replacement = *Row("pg", 0);
  EXPECT_EQ(replacement.state(), model::kActualLrpStateUnclaimed);
  EXPECT_EQ(replacement.since(), NowNanos());
  EXPECT_EQ(replacement.modification_tag().index(), 0u);
  EXPECT_NE(replacement.modification_tag().epoch(), lost.modification_tag().epoch());
  ActualLRP suspect_claimed = claimed;
  suspect_claimed.set_presence(ActualLRP::SUSPECT);
  EXPECT_THAT(Row("pg", 1, ActualLRP::SUSPECT), Optional(EqualsProto(suspect_claimed)));
  const ActualLRP replacement1 = *Row("pg", 1);

  EXPECT_THAT(result.start_requests, ElementsAre(StartRequest("pg", {0, 1})));
  EXPECT_THAT(result.missing_cell_ids, ElementsAre("cell-gone", "cell-gone-too"));
  EXPECT_EQ(result.suspect_cells, 2);
  EXPECT_EQ(result.suspect_running, 1);
  EXPECT_EQ(result.suspect_claimed, 1);
  EXPECT_EQ(result.unclaimed, 2);
  EXPECT_EQ(result.running, 0);
  const std::vector<BbsEvent> events = sink_.Take();
  ASSERT_THAT(events, SizeIs(4));
  ExpectEvents({events[0], events[1]}, {{&lost, &suspect}, {nullptr, &replacement}}, "");
  ExpectEvents({events[2], events[3]}, {{&claimed, &suspect_claimed}, {nullptr, &replacement1}},
               "");
  ExpectBucketSumsMatchRows();

  // The next pass changes nothing more (the suspects stay, still routable).
  clock_.Advance(absl::Seconds(1));
  const LrpConvergenceResult again = Converge();
  EXPECT_THAT(again.start_requests, IsEmpty());
  EXPECT_THAT(sink_.Take(), IsEmpty());
  EXPECT_EQ(CountRows("presence = 2"), 2);
}

TEST_P(LrpConvergenceTest, ReplacementLosingItsCellTooIsUnclaimedAndAuctioned) {
  Desire(Desired("pg", 1));
  const ActualLRP suspect = As(Running("pg", 0, Ik("ig-old", "cell-a")), ActualLRP::SUSPECT);
  const ActualLRP replacement = Claimed("pg", 0, Ik("ig-new", "cell-b"));
  Put(suspect);
  Put(replacement);
  sink_.Take();

  const LrpConvergenceResult result = Converge({"cell-1"});
  const ActualLRP unclaimed = *Row("pg", 0);
  EXPECT_EQ(unclaimed.state(), model::kActualLrpStateUnclaimed);
  EXPECT_FALSE(unclaimed.has_actual_lrp_instance_key() &&
               !unclaimed.actual_lrp_instance_key().instance_guid().empty());
  EXPECT_EQ(unclaimed.modification_tag().epoch(), replacement.modification_tag().epoch());
  EXPECT_EQ(unclaimed.modification_tag().index(), replacement.modification_tag().index() + 1);
  EXPECT_THAT(Row("pg", 0, ActualLRP::SUSPECT), Optional(EqualsProto(suspect)));
  EXPECT_THAT(result.start_requests, ElementsAre(StartRequest("pg", {0})));
  EXPECT_THAT(result.missing_cell_ids, ElementsAre("cell-a", "cell-b"));
  ExpectEvents(sink_.Take(), {{&replacement, &unclaimed}}, "");
}

TEST_P(LrpConvergenceTest, SuspectWhoseCellReturnsIsPromotedAndTheReplacementRemoved) {
  Desire(Desired("pg", 1));
  const ActualLRP suspect = As(Running("pg", 0, Ik("ig-old", "cell-a")), ActualLRP::SUSPECT);
  const ActualLRP replacement = Claimed("pg", 0, Ik("ig-new", "cell-1"));
  Put(suspect);
  Put(replacement);
  sink_.Take();

  const LrpConvergenceResult result = Converge({"cell-1", "cell-a"});
  ActualLRP promoted = suspect;
  promoted.set_presence(ActualLRP::ORDINARY);
  EXPECT_THAT(Row("pg", 0), Optional(EqualsProto(promoted)));
  EXPECT_EQ(Row("pg", 0, ActualLRP::SUSPECT), std::nullopt);
  EXPECT_THAT(result.start_requests, IsEmpty());
  EXPECT_EQ(result.running, 1);
  EXPECT_EQ(result.claimed, 0);
  EXPECT_EQ(result.suspect_running, 0);
  ExpectEvents(sink_.Take(), {{&replacement, nullptr}, {&suspect, &promoted}}, "");
  ExpectBucketSumsMatchRows();
}

TEST_P(LrpConvergenceTest, SuspectIsRemovedOnceItsReplacementRuns) {
  Desire(Desired("pg", 2));
  const ActualLRP suspect = As(Running("pg", 0, Ik("ig-old", "cell-a")), ActualLRP::SUSPECT);
  Put(suspect);
  Put(Running("pg", 0, Ik("ig-new", "cell-1")));
  // Index 1: the replacement is only CLAIMED, so its suspect stays.
  const ActualLRP waiting = As(Running("pg", 1, Ik("ig-old1", "cell-a")), ActualLRP::SUSPECT);
  Put(waiting);
  Put(Claimed("pg", 1, Ik("ig-new1", "cell-1")));
  sink_.Take();

  const LrpConvergenceResult result = Converge({"cell-1"});
  EXPECT_EQ(Row("pg", 0, ActualLRP::SUSPECT), std::nullopt);
  EXPECT_THAT(Row("pg", 1, ActualLRP::SUSPECT), Optional(EqualsProto(waiting)));
  ExpectEvents(sink_.Take(), {{&suspect, nullptr}}, "");
  EXPECT_EQ(result.suspect_running, 1);
  EXPECT_THAT(result.missing_cell_ids, ElementsAre("cell-a"));
}

TEST_P(LrpConvergenceTest, OrphanedSuspectsAreRemovedOnlyInFreshDomains) {
  const ActualLRP fresh = As(Running("orphan", 0, Ik("ig-1", "cell-a")), ActualLRP::SUSPECT);
  const ActualLRP stale =
      As(Running("orphan-stale", 0, Ik("ig-2", "cell-a"), "domain-stale"), ActualLRP::SUSPECT);
  Put(fresh);
  Put(stale);
  sink_.Take();

  Converge({"cell-1"});
  EXPECT_EQ(Row("orphan", 0, ActualLRP::SUSPECT), std::nullopt);
  EXPECT_THAT(Row("orphan-stale", 0, ActualLRP::SUSPECT), Optional(EqualsProto(stale)));
  ExpectEvents(sink_.Take(), {{&fresh, nullptr}}, "");

  // Once its domain is fresh, the other goes too.
  ASSERT_OK(store_->UpsertDomain("domain-stale", absl::Minutes(2)));
  Converge({"cell-1"});
  EXPECT_EQ(Row("orphan-stale", 0, ActualLRP::SUSPECT), std::nullopt);
  ExpectEvents(sink_.Take(), {{&stale, nullptr}}, "");
}

// -----------------------------------------------------------------------------
// Rules 4 and 5: instance counts and orphans.
// -----------------------------------------------------------------------------

TEST_P(LrpConvergenceTest, MissingInstancesAreCreatedEvenInStaleDomains) {
  Desire(Desired("pg", 3, "domain-stale"));
  Put(Running("pg", 0, Ik("ig-0", "cell-1"), "domain-stale"));
  Put(Running("pg", 2, Ik("ig-2", "cell-1"), "domain-stale"));
  Delete("pg", 1);  // A lost write.
  sink_.Take();

  const LrpConvergenceResult result = Converge();
  const ActualLRP created = *Row("pg", 1);
  EXPECT_EQ(created.state(), model::kActualLrpStateUnclaimed);
  EXPECT_EQ(created.actual_lrp_key().domain(), "domain-stale");
  EXPECT_EQ(created.since(), NowNanos());
  EXPECT_THAT(result.start_requests, ElementsAre(StartRequest("pg", {1})));
  EXPECT_EQ(result.missing, 1);
  EXPECT_EQ(result.unclaimed, 1);
  ExpectEvents(sink_.Take(), {{nullptr, &created}}, "");
  ExpectBucketSumsMatchRows();

  // The gap is closed: nothing more to do.
  EXPECT_THAT(Converge().start_requests, IsEmpty());
  EXPECT_EQ(Converge().missing, 0);
}

TEST_P(LrpConvergenceTest, ExtraInstancesAreRetiredOnlyInFreshDomains) {
  Desire(Desired("pg", 1, "domain-2"));
  Put(Running("pg", 0, Ik("ig-0", "cell-1"), "domain-2"));
  Put(Running("pg", 1, Ik("ig-1", "cell-1"), "domain-2"));
  // In "domain-1", but the desired domain decides; 200 crashes: never
  // restarted.
  Put(Crashed("pg", 2, 200));
  sink_.Take();

  EXPECT_THAT(Converge().keys_to_retire, IsEmpty());
  ASSERT_OK(store_->UpsertDomain("domain-2", absl::Minutes(2)));
  const LrpConvergenceResult result = Converge();
  EXPECT_THAT(Keys(result.keys_to_retire), ElementsAre(std::pair<std::string, int32_t>("pg", 1),
                                                       std::pair<std::string, int32_t>("pg", 2)));
  EXPECT_EQ(result.keys_to_retire[0].domain(), "domain-2");
  EXPECT_EQ(result.extra, 2);
  // Retiring is the converger's (through the reps); the store wrote nothing.
  EXPECT_THAT(sink_.Take(), IsEmpty());
  EXPECT_EQ(CountRows("presence = 0"), 3);
}

// reliability-scenarios.md 4.3 #7.
TEST_P(LrpConvergenceTest, ScaleFrom300To1RetiresExactlyTheIndicesAboveZero) {
  Desire(Desired("pg", 1));
  for (int32_t i = 0; i < 300; ++i) Put(Running("pg", i, Ik(absl::StrCat("ig-", i), "cell-1")));
  const ActualLRP zero = *Row("pg", 0);
  sink_.Take();

  const LrpConvergenceResult result = Converge();
  std::vector<std::pair<std::string, int32_t>> want;
  for (int32_t i = 1; i < 300; ++i) want.emplace_back("pg", i);
  EXPECT_EQ(Keys(result.keys_to_retire), want);
  EXPECT_EQ(result.extra, 299);
  EXPECT_THAT(result.start_requests, IsEmpty());
  EXPECT_THAT(*Row("pg", 0), EqualsProto(zero));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(LrpConvergenceTest, OrphansAreRetiredOnlyInFreshDomains) {
  Put(Running("orphan", 0, Ik("ig-0", "cell-1")));
  Put(Unclaimed("orphan", 1));
  Put(Running("orphan-stale", 0, Ik("ig-1", "cell-1"), "domain-stale"));
  sink_.Take();

  LrpConvergenceResult result = Converge();
  EXPECT_THAT(Keys(result.keys_to_retire),
              ElementsAre(std::pair<std::string, int32_t>("orphan", 0),
                          std::pair<std::string, int32_t>("orphan", 1)));
  // An orphan is never auctioned, even when its UNCLAIMED row is stale.
  EXPECT_THAT(result.start_requests, IsEmpty());
  EXPECT_THAT(sink_.Take(), IsEmpty());

  ASSERT_OK(store_->UpsertDomain("domain-stale", absl::ZeroDuration()));
  result = Converge();
  EXPECT_EQ(result.keys_to_retire.size(), 3u);
}

// -----------------------------------------------------------------------------
// Rule 7: crashed instances (model::RestartCalculator, reliability 4.4).
// -----------------------------------------------------------------------------

TEST_P(LrpConvergenceTest, CrashedInstancesRestartOnDiegosBackoffSchedule) {
  // crash count -> wait before the restart (30 s * 2^(n-3), at most 16 min;
  // never from 200 on). Counts 1 and 2 restart at once.
  const std::vector<std::pair<int32_t, absl::Duration>> schedule = {
      {1, absl::ZeroDuration()}, {2, absl::ZeroDuration()}, {3, absl::Seconds(30)},
      {4, absl::Minutes(1)},     {5, absl::Minutes(2)},     {7, absl::Minutes(8)},
      {8, absl::Minutes(16)},    {199, absl::Minutes(16)},
  };
  const absl::Time crashed_at = clock_.Now();
  std::map<std::string, ActualLRP> rows;
  for (const auto& [count, wait] : schedule) {
    const std::string guid = absl::StrCat("pg-", count);
    Desire(Desired(guid, 1));
    ActualLRP lrp = Crashed(guid, 0, count);
    lrp.set_since(absl::ToUnixNanos(crashed_at));
    Put(lrp);
    rows[guid] = lrp;
  }
  Desire(Desired("pg-200", 1));
  ActualLRP never = Crashed("pg-200", 0, 200);
  never.set_since(absl::ToUnixNanos(crashed_at));
  Put(never);
  sink_.Take();

  std::set<std::string> restarted;
  for (const absl::Duration at :
       {absl::ZeroDuration(), absl::Seconds(29), absl::Seconds(30), absl::Seconds(59),
        absl::Minutes(1), absl::Minutes(2), absl::Minutes(8), absl::Minutes(16), absl::Hours(24)}) {
    clock_.Advance(crashed_at + at - clock_.Now());
    const LrpConvergenceResult result = Converge();
    std::set<std::string> now_due;
    for (const auto& [count, wait] : schedule) {
      const std::string guid = absl::StrCat("pg-", count);
      if (wait <= at && !restarted.contains(guid)) now_due.insert(guid);
    }
    std::vector<auction::LrpStartRequest> want;
    std::vector<BbsEvent> events = sink_.Take();
    std::vector<BbsEvent> want_events;
    for (const std::string& guid : now_due) {
      want.push_back(StartRequest(guid, {0}));
      const ActualLRP after = *Row(guid, 0);
      EXPECT_EQ(after.state(), model::kActualLrpStateUnclaimed) << guid;
      EXPECT_EQ(after.crash_count(), rows[guid].crash_count()) << guid;
      EXPECT_EQ(after.crash_reason(), "boom") << guid;
      EXPECT_EQ(after.since(), NowNanos()) << guid;
      EXPECT_EQ(after.modification_tag().index(), rows[guid].modification_tag().index() + 1);
      const internal::ActualLrpRowChange change[] = {{&rows[guid], &after}};
      for (BbsEvent& e : internal::ActualLrpEvents(change, "")) want_events.push_back(e);
      restarted.insert(guid);
    }
    EXPECT_EQ(result.start_requests, want) << "at " << at;
    ASSERT_EQ(Types(events), Types(want_events)) << "at " << at;
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].payload, want_events[i].payload);
    }
    // The restarted instances get placed (else they would be stale later).
    for (const std::string& guid : now_due) Put(Running(guid, 0, Ik("ig", "cell-1")));
  }
  EXPECT_EQ(restarted.size(), schedule.size());
  EXPECT_THAT(*Row("pg-200", 0), EqualsProto(never));
  // The metrics: pg-200 is the one crashing DesiredLRP left.
  const LrpConvergenceResult last = Converge();
  EXPECT_EQ(last.crashed, 1);
  EXPECT_EQ(last.crashing_desired, 1);
}

TEST_P(LrpConvergenceTest, CustomRestartPolicyIsUsed) {
  SqlStore::Options options;
  options.restart_policy = model::RestartCalculator(1, absl::Minutes(16), 200);
  MakeStore(options);
  Desire(Desired("pg", 1));
  ActualLRP lrp = Crashed("pg", 0, 2);
  lrp.set_since(absl::ToUnixNanos(clock_.Now()));
  Put(lrp);
  // With 1 immediate restart, crash count 2 waits 30 s * 2^1.
  EXPECT_THAT(Converge().start_requests, IsEmpty());
  clock_.Advance(absl::Minutes(1));
  EXPECT_THAT(Converge().start_requests, ElementsAre(StartRequest("pg", {0})));
}

// -----------------------------------------------------------------------------
// Rule 8: internal routes and metric tags.
// -----------------------------------------------------------------------------

TEST_P(LrpConvergenceTest, DriftedRunningInstancesGetRuntimeUpdates) {
  DesiredLRP desired = Desired("pg", 6);
  (*desired.mutable_routes()->mutable_routes())["internal-router"] =
      R"([{"hostname":"a.apps.internal"},{"hostname":"b.apps.internal"}])";
  (*desired.mutable_routes()->mutable_routes())["cf-router"] = R"([{"hostnames":["x.com"]}])";
  auto& tags = *desired.mutable_metric_tags();
  tags.clear();
  tags["source_id"].set_static_("app-guid");
  tags["instance_id"].set_dynamic(model::v1::MetricTagValue::INDEX);
  tags["process_instance_id"].set_dynamic(model::v1::MetricTagValue::INSTANCE_GUID);
  tags["shard"].set_static_("0");
  Desire(desired);

  auto instance = [&](int32_t index, std::vector<std::string> hostnames,
                      std::map<std::string, std::string> metric_tags) {
    model::StartActualLrpParams params =
        Params(Key("pg", index), Ik(absl::StrCat("ig-", index), "cell-1"));
    params.internal_routes.clear();
    for (const std::string& hostname : hostnames) {
      params.internal_routes.emplace_back().set_hostname(hostname);
    }
    params.metric_tags = std::move(metric_tags);
    ActualLRP lrp = model::NewRunningActualLrp(params, "seed", clock_.Now());
    Put(lrp);
    return lrp;
  };
  auto resolved = [](int32_t index) {
    return std::map<std::string, std::string>{{"source_id", "app-guid"},
                                              {"instance_id", absl::StrCat(index)},
                                              {"process_instance_id", absl::StrCat("ig-", index)},
                                              {"shard", "0"}};
  };
  // 0: in sync (route order does not matter; its static "shard" tag equals
  // its index, which the fingerprint cannot tell from a dynamic one, so the
  // exact comparison decides).
  instance(0, {"b.apps.internal", "a.apps.internal"}, resolved(0));
  // 1: an old route.
  instance(1, {"a.apps.internal"}, resolved(1));
  // 2: a wrong tag.
  std::map<std::string, std::string> wrong = resolved(2);
  wrong["instance_id"] = "7";
  instance(2, {"a.apps.internal", "b.apps.internal"}, wrong);
  // 3: no tags reported: only the routes are compared (in sync).
  instance(3, {"a.apps.internal", "b.apps.internal"}, {});
  // 4: in sync.
  instance(4, {"a.apps.internal", "b.apps.internal"}, resolved(4));
  // 5: CLAIMED instances are not compared.
  Put(Claimed("pg", 5, Ik("ig-5", "cell-1")));
  sink_.Take();

  LrpConvergenceResult result = Converge();
  ASSERT_THAT(result.runtime_updates, SizeIs(2));
  for (size_t i = 0; i < 2; ++i) {
    const RuntimeUpdate& update = result.runtime_updates[i];
    const int32_t index = i == 0 ? 1 : 2;
    EXPECT_EQ(update.key.process_guid(), "pg");
    EXPECT_EQ(update.key.index(), index);
    EXPECT_EQ(update.instance_key.instance_guid(), absl::StrCat("ig-", index));
    EXPECT_EQ(update.instance_key.cell_id(), "cell-1");
    ASSERT_THAT(update.internal_routes, SizeIs(2));
    EXPECT_EQ(update.internal_routes[0].hostname(), "a.apps.internal");
    EXPECT_EQ(update.internal_routes[1].hostname(), "b.apps.internal");
    EXPECT_EQ(update.metric_tags, resolved(index));
  }
  // Nothing is written: the reps are told, and report back with Start.
  EXPECT_THAT(sink_.Take(), IsEmpty());
  EXPECT_THAT(Converge().runtime_updates, SizeIs(2));

  // The instances report the new state: in sync.
  instance(1, {"a.apps.internal", "b.apps.internal"}, resolved(1));
  instance(2, {"a.apps.internal", "b.apps.internal"}, resolved(2));
  EXPECT_THAT(Converge().runtime_updates, IsEmpty());

  // Changing the desired routes drifts every RUNNING instance at once.
  model::v1::DesiredLRPUpdate update;
  (*update.mutable_routes()->mutable_routes())["internal-router"] =
      R"([{"hostname":"c.apps.internal"}])";
  ASSERT_OK(store_->UpdateDesiredLrp("pg", update, kTrace));
  result = Converge();
  ASSERT_THAT(result.runtime_updates, SizeIs(5));
  for (const RuntimeUpdate& u : result.runtime_updates) {
    ASSERT_THAT(u.internal_routes, SizeIs(1));
    EXPECT_EQ(u.internal_routes[0].hostname(), "c.apps.internal");
  }
  // Removing the DesiredLRP ends the comparison (its instances are orphans).
  ASSERT_OK(store_->RemoveDesiredLrp("pg", kTrace));
  EXPECT_THAT(Converge().runtime_updates, IsEmpty());
}

TEST_P(LrpConvergenceTest, InstancesOnMissingCellsGetNoRuntimeUpdate) {
  Desire(Desired("pg", 1));
  model::StartActualLrpParams params = Params(Key("pg", 0), Ik("ig-0", "cell-gone"));
  params.internal_routes.clear();
  Put(model::NewRunningActualLrp(params, "seed", clock_.Now()));
  const LrpConvergenceResult result = Converge({"cell-1"});
  EXPECT_THAT(result.runtime_updates, IsEmpty());
  EXPECT_THAT(result.missing_cell_ids, ElementsAre("cell-gone"));
}

// -----------------------------------------------------------------------------
// Start requests, metrics, the index, concurrency.
// -----------------------------------------------------------------------------

TEST_P(LrpConvergenceTest, StartRequestsAreMergedPerProcessGuidInOrder) {
  Desire(Desired("pg-b", 4));
  Desire(Desired("pg-a", 1));
  clock_.Advance(absl::Minutes(1));
  // pg-b: 0 stale UNCLAIMED, 1 crashed (restart due), 2 missing, 3 on a lost
  // cell. pg-a: 0 stale UNCLAIMED.
  ActualLRP crashed = Crashed("pg-b", 1, 1);
  Put(crashed);
  Delete("pg-b", 2);
  Put(Running("pg-b", 3, Ik("ig-3", "cell-gone")));
  sink_.Take();

  const LrpConvergenceResult result = Converge();
  EXPECT_THAT(result.start_requests,
              ElementsAre(StartRequest("pg-a", {0}), StartRequest("pg-b", {0, 1, 2, 3})));
}

TEST_P(LrpConvergenceTest, MetricsCountOrdinaryRowsAfterThePassesWrites) {
  Desire(Desired("pg", 6));
  Put(Running("pg", 0, Ik("ig-0", "cell-1")));
  Put(Running("pg", 1, Ik("ig-1", "cell-1")));
  Put(Claimed("pg", 2, Ik("ig-2", "cell-1")));
  // 3 stays UNCLAIMED (fresh).
  Put(Crashed("pg", 4, 200));
  Put(Running("pg", 5, Ik("ig-5", "cell-gone")));  // Becomes SUSPECT + UNCLAIMED.
  Desire(Desired("pg-crashing", 1));
  Put(Crashed("pg-crashing", 0, 2));  // Restarted by this pass.
  sink_.Take();

  const LrpConvergenceResult result = Converge({"cell-1", "cell-2"});
  EXPECT_EQ(result.desired_instances, 7);
  EXPECT_EQ(result.running, 2);
  EXPECT_EQ(result.claimed, 1);
  EXPECT_EQ(result.unclaimed, 3);
  EXPECT_EQ(result.crashed, 1);
  EXPECT_EQ(result.crashing_desired, 1);
  EXPECT_EQ(result.missing, 0);
  EXPECT_EQ(result.extra, 0);
  EXPECT_EQ(result.suspect_running, 1);
  EXPECT_EQ(result.suspect_claimed, 0);
  EXPECT_EQ(result.present_cells, 2);
  EXPECT_EQ(result.suspect_cells, 1);
  EXPECT_THAT(result.missing_cell_ids, ElementsAre("cell-gone"));
  EXPECT_THAT(result.fresh_domains, ElementsAre("domain-1"));
}

TEST_P(LrpConvergenceTest, BucketSumsThatDisagreeWithTheRowsAreFoundAndRepaired) {
  Desire(Desired("pg", 2));
  Put(Running("pg", 0, Ik("ig-0", "cell-1")));
  Put(Running("pg", 1, Ik("ig-1", "cell-1")));
  // A row deleted behind the store's back: the sums still count it, so only
  // the rotating verification finds it.
  ASSERT_OK(t_.db->Write([&](SqlTx& tx) {
    return tx.Exec("DELETE FROM actual_lrps WHERE process_guid = 'pg' AND instance_index = 1")
        .status();
  }));
  sink_.Take();
  const int64_t bucket = internal::LrpBucket("pg");
  // The slice verified at time t holds bucket b when b / 16 == (t / 30 s) % 256.
  auto verified_now = [&] { return (absl::ToUnixSeconds(clock_.Now()) / 30) % 256 == bucket / 16; };
  if (verified_now()) clock_.Advance(absl::Seconds(30));
  EXPECT_THAT(Converge().start_requests, IsEmpty());  // Not verified in this pass.
  while (!verified_now()) clock_.Advance(absl::Seconds(30));
  const LrpConvergenceResult result = Converge();
  EXPECT_THAT(result.start_requests, ElementsAre(StartRequest("pg", {1})));
  EXPECT_EQ(Row("pg", 1)->state(), model::kActualLrpStateUnclaimed);
  ExpectBucketSumsMatchRows();

  // Sums off the other way (a bucket claiming rows that are not there) are
  // repaired by the next pass that lists the bucket, without other effects.
  ASSERT_OK(t_.db->Write([&](SqlTx& tx) {
    const SqlParam params[] = {Int(bucket)};
    return tx
        .Exec("UPDATE lrp_buckets SET desired_count = desired_count + 5 WHERE bucket = ?", params)
        .status();
  }));
  sink_.Take();
  EXPECT_THAT(Converge().start_requests, IsEmpty());
  ExpectBucketSumsMatchRows();
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(LrpConvergenceTest, EachChangeRechecksItsRuleAgainstWritesSinceThePlan) {
  // A database whose commits can run one extra write first: it stands for an
  // API write landing between the pass's plan and its changes.
  std::atomic<bool> armed{false};
  std::function<absl::Status(SqlTx&)> concurrent;
  SqlDatabase::Options db_options;
  db_options.before_commit = [&](SqlTx& tx) -> absl::Status {
    return armed.exchange(false) ? concurrent(tx) : absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(t_, testing::OpenTestDatabase(GetParam(), db_options));
  MakeStore(SqlStore::Options());
  ASSERT_OK(store_->UpsertDomain("domain-1", absl::ZeroDuration()));
  Desire(Desired("pg", 2));
  const ActualLRP crashed0 = Crashed("pg", 0, 1);
  const ActualLRP crashed1 = Crashed("pg", 1, 1);
  Put(crashed0);
  Put(crashed1);
  // Restarting index 0 commits with a rep starting index 1 elsewhere.
  const ActualLRP started = Running("pg", 1, Ik("ig-1", "cell-1"));
  concurrent = [&](SqlTx& tx) {
    ActualLRP row = started;
    row.mutable_modification_tag()->set_index(crashed1.modification_tag().index() + 1);
    return internal::UpdateActualLrp(tx, row, crashed1.modification_tag().index());
  };
  sink_.Take();
  armed = true;

  const LrpConvergenceResult result = Converge();
  EXPECT_FALSE(armed);
  // Index 1's restart found it RUNNING: the rep's write stands, no auction.
  EXPECT_THAT(result.start_requests, ElementsAre(StartRequest("pg", {0})));
  EXPECT_EQ(Row("pg", 1)->state(), model::kActualLrpStateRunning);
  EXPECT_EQ(Row("pg", 1)->modification_tag().index(), crashed1.modification_tag().index() + 1);
  const ActualLRP restarted = *Row("pg", 0);
  ExpectEvents(sink_.Take(), {{&crashed0, &restarted}}, "");
}

TEST_P(LrpConvergenceTest, ManyChangesAndTwoPassesAtOnceApplyEachChangeOnce) {
  constexpr int kInstances = 40;
  Desire(Desired("pg", kInstances));
  for (int32_t i = 0; i < kInstances; ++i) {
    Put(Running("pg", i, Ik(absl::StrCat("ig-", i), "cell-gone")));
  }
  sink_.Take();

  absl::StatusOr<LrpConvergenceResult> a, b;
  std::thread ta([&] { a = store_->ConvergeLrps({"cell-1"}, options_); });
  std::thread tb([&] { b = store_->ConvergeLrps({"cell-1"}, options_); });
  ta.join();
  tb.join();
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  // Each index was moved to SUSPECT and replaced exactly once.
  EXPECT_EQ(CountRows("presence = 2"), kInstances);
  EXPECT_EQ(CountRows("presence = 0 AND state = 'UNCLAIMED'"), kInstances);
  const std::vector<BbsEvent> events = sink_.Take();
  std::map<std::string, int> types;
  for (const BbsEvent& e : events) ++types[e.type];
  EXPECT_EQ(types["actual_lrp_instance_changed"], kInstances);
  EXPECT_EQ(types["actual_lrp_instance_created"], kInstances);
  EXPECT_EQ(events.size(), 2u * kInstances);
  std::set<int32_t> auctioned;
  for (const auto* r : {&*a, &*b}) {
    for (const auction::LrpStartRequest& request : r->start_requests) {
      auctioned.insert(request.indices.begin(), request.indices.end());
    }
  }
  EXPECT_EQ(auctioned.size(), static_cast<size_t>(kInstances));
  ExpectBucketSumsMatchRows();
  ExpectColumnsMatchData();
}

INSTANTIATE_TEST_SUITE_P(Engines, LrpConvergenceTest, ::testing::ValuesIn(testing::kTestEngines),
                         testing::TestEngineName);

}  // namespace
}  // namespace diego::bbs
