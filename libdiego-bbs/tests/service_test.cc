// Copyright 2026 The libdiego Authors.
//
// BbsService over a real SqlStore on SQLite, with fake auctioneer and rep
// clients: every route's success path and main refusals, the follow-ups
// (auctions, rep calls, completion callbacks), and the payload downgrades.

#include "diego/bbs/service.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "diego/bbs/events.h"
#include "diego/bbs/outbound.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/go_json.h"
#include "diego/model/v1/events.pb.h"
#include "diego/testing/fake_auctioneer_client.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/fake_rep_client.h"
#include "diego/testing/recording_event_sink.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service_fixture.h"
#include "test_databases.h"

// The tests set and read deprecated fields (metrics_guid, ...) on purpose.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::bbs {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

using model::v1::Action;
using model::v1::ActualLRP;
using model::v1::DesiredLRP;
using model::v1::Error;
using model::v1::ImageLayer;
using model::v1::MetricTagValue;
using model::v1::Task;

constexpr char kCallbackUrl[] = "http://cc.example.com/tasks/done";

// -----------------------------------------------------------------------------
// Model builders.
// -----------------------------------------------------------------------------

DesiredLRP NewLrp(const std::string& guid, int32_t instances) {
  DesiredLRP lrp;
  lrp.set_process_guid(guid);
  lrp.set_domain(kDomain);
  lrp.set_log_guid("log-" + guid);
  lrp.set_root_fs("preloaded:cflinuxfs4");
  lrp.set_instances(instances);
  lrp.set_memory_mb(256);
  lrp.set_disk_mb(1024);
  lrp.set_max_pids(512);
  lrp.add_placementtags("blue");
  model::v1::VolumeMount* mount = lrp.add_volume_mounts();
  mount->set_driver("nfsdriver");
  mount->set_container_dir("/data");
  mount->set_mode("rw");
  mount->mutable_shared()->set_volume_id("vol-1");
  model::v1::RunAction* run = lrp.mutable_action()->mutable_run_action();
  run->set_path("/app/start");
  run->set_user("vcap");
  (*lrp.mutable_metric_tags())["source_id"].set_static_("app-" + guid);
  (*lrp.mutable_routes()->mutable_routes())["cf-router"] =
      R"([{"hostnames":["web.example.com"],"port":8080}])";
  return lrp;
}

model::v1::TaskDefinition NewTaskDefinition(bool with_callback) {
  model::v1::TaskDefinition definition;
  definition.set_root_fs("preloaded:cflinuxfs4");
  definition.set_memory_mb(512);
  definition.set_disk_mb(2048);
  definition.set_max_pids(64);
  definition.add_placement_tags("green");
  model::v1::VolumeMount* mount = definition.add_volume_mounts();
  mount->set_driver("smbdriver");
  mount->set_container_dir("/data");
  mount->set_mode("r");
  mount->mutable_shared()->set_volume_id("vol-2");
  model::v1::RunAction* run = definition.mutable_action()->mutable_run_action();
  run->set_path("/bin/task");
  run->set_user("vcap");
  if (with_callback) {
    definition.set_completion_callback_url(kCallbackUrl);
  }
  return definition;
}

ImageLayer Layer(const std::string& name, ImageLayer::Type type, const std::string& digest) {
  ImageLayer layer;
  layer.set_name(name);
  layer.set_url("https://blobs.example.com/" + name);
  layer.set_destination_path("/layers/" + name);
  layer.set_layer_type(type);
  layer.set_media_type(ImageLayer::TGZ);
  if (!digest.empty()) {
    layer.set_digest_algorithm(ImageLayer::SHA256);
    layer.set_digest_value(digest);
  }
  return layer;
}

// -----------------------------------------------------------------------------
// Response checks.
// -----------------------------------------------------------------------------

template <typename Response>
void ExpectOk(const Response& response) {
  EXPECT_FALSE(response.has_error()) << response.error().ShortDebugString();
}

template <typename Response>
void ExpectError(const Response& response, Error::Type type, const std::string& message) {
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().type(), type) << response.error().ShortDebugString();
  EXPECT_EQ(response.error().message(), message);
}

template <typename Response>
void ExpectErrorType(const Response& response, Error::Type type) {
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().type(), type) << response.error().ShortDebugString();
}

// -----------------------------------------------------------------------------
// Fixture (service_fixture.h) and request helpers.
// -----------------------------------------------------------------------------

class ServiceTest : public BbsServiceFixture {
 protected:
  // Registers a Locket presence for `cell_id`, as a rep does.
  void AddCell(const std::string& cell_id) {
    model::v1::CellPresence cell;
    cell.set_cell_id(cell_id);
    cell.set_rep_address("http://" + cell_id + ":1800");
    cell.set_rep_url("https://" + cell_id + ".cell.service.cf.internal:1801");
    cell.set_zone("z1");
    cell.mutable_capacity()->set_memory_mb(4096);
    cell.mutable_capacity()->set_disk_mb(8192);
    cell.mutable_capacity()->set_containers(100);
    RegisterPresence(cell);
  }

  void Desire(const DesiredLRP& lrp) {
    model::v1::DesireLRPRequest request;
    *request.mutable_desired_lrp() = lrp;
    ExpectOk(service_->DesireDesiredLrp(request, ctx_));
  }

  void Claim(const std::string& guid, int32_t index, const std::string& instance,
             const std::string& cell) {
    model::v1::ClaimActualLRPRequest request;
    request.set_process_guid(guid);
    request.set_index(index);
    *request.mutable_actual_lrp_instance_key() = InstanceKey(instance, cell);
    ExpectOk(service_->ClaimActualLrp(request, ctx_));
  }

  model::v1::StartActualLRPRequest StartRequest(const std::string& guid, int32_t index,
                                                const std::string& instance,
                                                const std::string& cell) {
    model::v1::StartActualLRPRequest request;
    *request.mutable_actual_lrp_key() = LrpKey(guid, index);
    *request.mutable_actual_lrp_instance_key() = InstanceKey(instance, cell);
    request.mutable_actual_lrp_net_info()->set_address("10.0.0." + std::to_string(index + 1));
    return request;
  }

  void Start(const std::string& guid, int32_t index, const std::string& instance,
             const std::string& cell) {
    ExpectOk(service_->StartActualLrp(StartRequest(guid, index, instance, cell), ctx_));
  }

  std::vector<ActualLRP> Actuals(const std::string& guid) {
    model::v1::ActualLRPsRequest request;
    request.set_process_guid(guid);
    model::v1::ActualLRPsResponse response = service_->ActualLrps(request, ctx_);
    ExpectOk(response);
    return {response.actual_lrps().begin(), response.actual_lrps().end()};
  }

  // The ORDINARY row of (guid, index), or an empty ActualLRP.
  ActualLRP Ordinary(const std::string& guid, int32_t index) {
    for (const ActualLRP& lrp : Actuals(guid)) {
      if (lrp.actual_lrp_key().index() == index && lrp.presence() == ActualLRP::ORDINARY) {
        return lrp;
      }
    }
    return ActualLRP();
  }

  void DesireTask(const std::string& guid, bool with_callback) {
    model::v1::DesireTaskRequest request;
    request.set_task_guid(guid);
    request.set_domain(kDomain);
    *request.mutable_task_definition() = NewTaskDefinition(with_callback);
    ExpectOk(service_->DesireTask(request, ctx_));
  }

  void StartTask(const std::string& guid, const std::string& cell) {
    model::v1::StartTaskRequest request;
    request.set_task_guid(guid);
    request.set_cell_id(cell);
    model::v1::StartTaskResponse response = service_->StartTask(request, ctx_);
    ExpectOk(response);
    EXPECT_TRUE(response.should_start());
  }

  Task GetTask(const std::string& guid) {
    model::v1::TaskByGuidRequest request;
    request.set_task_guid(guid);
    model::v1::TaskResponse response = service_->TaskByGuid(request, ctx_);
    ExpectOk(response);
    return response.task();
  }

  model::v1::RejectTaskRequest RejectRequest(const std::string& guid) {
    model::v1::RejectTaskRequest request;
    request.set_task_guid(guid);
    request.set_rejection_reason("insufficient resources");
    return request;
  }

  RequestContext ctx_{"trace-1"};
};

// -----------------------------------------------------------------------------
// Ping, domains, cells.
// -----------------------------------------------------------------------------

TEST_F(ServiceTest, PingIsAlwaysAvailable) { EXPECT_TRUE(service_->Ping(ctx_).available()); }

TEST_F(ServiceTest, UpsertedDomainsAreListedUntilTheyExpire) {
  model::v1::UpsertDomainRequest forever;
  forever.set_domain("cf-apps");
  ExpectOk(service_->UpsertDomain(forever, ctx_));
  model::v1::UpsertDomainRequest short_lived;
  short_lived.set_domain("cf-tasks");
  short_lived.set_ttl(60);
  ExpectOk(service_->UpsertDomain(short_lived, ctx_));

  model::v1::DomainsResponse domains = service_->Domains(ctx_);
  ExpectOk(domains);
  EXPECT_THAT(domains.domains(), ElementsAre("cf-apps", "cf-tasks"));

  clock_.Advance(absl::Seconds(61));
  domains = service_->Domains(ctx_);
  ExpectOk(domains);
  EXPECT_THAT(domains.domains(), ElementsAre("cf-apps"));
}

TEST_F(ServiceTest, UpsertDomainRefusesAnEmptyDomain) {
  model::v1::UpsertDomainRequest request;
  request.set_ttl(10);
  ExpectError(service_->UpsertDomain(request, ctx_), Error::InvalidRequest,
              "Invalid field: domain");
  EXPECT_THAT(service_->Domains(ctx_).domains(), IsEmpty());
}

TEST_F(ServiceTest, CellsListsEveryPresence) {
  AddCell("cell-b");
  AddCell("cell-a");
  model::v1::CellsResponse response = service_->Cells(ctx_);
  ExpectOk(response);
  ASSERT_THAT(response.cells(), SizeIs(2));
  EXPECT_EQ(response.cells(0).cell_id(), "cell-a");
  EXPECT_EQ(response.cells(0).rep_url(), "https://cell-a.cell.service.cf.internal:1801");
  EXPECT_EQ(response.cells(1).capacity().containers(), 100);
}

// -----------------------------------------------------------------------------
// Actual LRP reads.
// -----------------------------------------------------------------------------

TEST_F(ServiceTest, ActualLrpsFiltersOnTheOptionalIndex) {
  Desire(NewLrp("web", 3));
  Desire(NewLrp("worker", 1));

  model::v1::ActualLRPsRequest all;
  all.set_domain(kDomain);
  EXPECT_THAT(service_->ActualLrps(all, ctx_).actual_lrps(), SizeIs(4));

  model::v1::ActualLRPsRequest one;
  one.set_process_guid("web");
  one.set_index(0);  // Index 0 is a real filter when set.
  model::v1::ActualLRPsResponse response = service_->ActualLrps(one, ctx_);
  ExpectOk(response);
  ASSERT_THAT(response.actual_lrps(), SizeIs(1));
  EXPECT_EQ(response.actual_lrps(0).actual_lrp_key().index(), 0);
  EXPECT_EQ(response.actual_lrps(0).state(), "UNCLAIMED");
}

TEST_F(ServiceTest, ActualLrpsByProcessGuidsNeedsAGuid) {
  Desire(NewLrp("web", 2));
  Desire(NewLrp("worker", 1));
  Desire(NewLrp("other", 1));

  model::v1::ActualLRPsByProcessGuidsRequest request;
  ExpectError(service_->ActualLrpsByProcessGuids(request, ctx_), Error::InvalidRequest,
              "Invalid field: process_guids");

  request.add_process_guids("web");
  request.add_process_guids("worker");
  model::v1::ActualLRPsByProcessGuidsResponse response =
      service_->ActualLrpsByProcessGuids(request, ctx_);
  ExpectOk(response);
  EXPECT_THAT(response.actual_lrps(), SizeIs(3));
}

TEST_F(ServiceTest, LegacyGroupsResolveInstanceAndEvacuatingRows) {
  AddCell("cell-1");
  Desire(NewLrp("web", 2));
  Start("web", 0, "ig-0", "cell-1");

  // Evacuating the running instance leaves an EVACUATING row and a fresh
  // UNCLAIMED ordinary one.
  model::v1::EvacuateRunningActualLRPRequest evacuate;
  *evacuate.mutable_actual_lrp_key() = LrpKey("web", 0);
  *evacuate.mutable_actual_lrp_instance_key() = InstanceKey("ig-0", "cell-1");
  evacuate.mutable_actual_lrp_net_info()->set_address("10.0.0.1");
  model::v1::EvacuationResponse evacuated = service_->EvacuateRunningActualLrp(evacuate, ctx_);
  ExpectOk(evacuated);
  EXPECT_TRUE(evacuated.keep_container());

  model::v1::ActualLRPGroupsRequest groups_request;
  groups_request.set_domain(kDomain);
  model::v1::ActualLRPGroupsResponse groups = service_->ActualLrpGroups(groups_request, ctx_);
  ExpectOk(groups);
  ASSERT_THAT(groups.actual_lrp_groups(), SizeIs(2));

  model::v1::ActualLRPGroupByProcessGuidAndIndexRequest by_index;
  by_index.set_process_guid("web");
  by_index.set_index(0);
  model::v1::ActualLRPGroupResponse group =
      service_->ActualLrpGroupByProcessGuidAndIndex(by_index, ctx_);
  ExpectOk(group);
  EXPECT_EQ(group.actual_lrp_group().instance().state(), "UNCLAIMED");
  EXPECT_EQ(group.actual_lrp_group().evacuating().actual_lrp_instance_key().instance_guid(),
            "ig-0");

  model::v1::ActualLRPGroupsByProcessGuidRequest by_guid;
  by_guid.set_process_guid("web");
  model::v1::ActualLRPGroupsResponse web_groups =
      service_->ActualLrpGroupsByProcessGuid(by_guid, ctx_);
  ExpectOk(web_groups);
  EXPECT_THAT(web_groups.actual_lrp_groups(), SizeIs(2));
}

TEST_F(ServiceTest, LegacyGroupRoutesRefuseBadRequestsAndMissingGroups) {
  model::v1::ActualLRPGroupsByProcessGuidRequest by_guid;
  ExpectError(service_->ActualLrpGroupsByProcessGuid(by_guid, ctx_), Error::InvalidRequest,
              "Invalid field: process_guid");

  model::v1::ActualLRPGroupByProcessGuidAndIndexRequest by_index;
  by_index.set_index(-1);
  ExpectError(service_->ActualLrpGroupByProcessGuidAndIndex(by_index, ctx_), Error::InvalidRequest,
              "Invalid field: process_guid, Invalid field: index");

  by_index.set_process_guid("missing");
  by_index.set_index(0);
  ExpectError(service_->ActualLrpGroupByProcessGuidAndIndex(by_index, ctx_),
              Error::ResourceNotFound, "the requested resource could not be found");
}

// -----------------------------------------------------------------------------
// Actual LRP lifecycle.
// -----------------------------------------------------------------------------

TEST_F(ServiceTest, ClaimThenStartMovesTheInstanceToRunning) {
  Desire(NewLrp("web", 1));
  Claim("web", 0, "ig-0", "cell-1");
  EXPECT_EQ(Ordinary("web", 0).state(), "CLAIMED");
  Start("web", 0, "ig-0", "cell-1");
  ActualLRP running = Ordinary("web", 0);
  EXPECT_EQ(running.state(), "RUNNING");
  EXPECT_EQ(running.actual_lrp_net_info().address(), "10.0.0.1");
}

TEST_F(ServiceTest, ClaimRefusesBadRequestsAndAnotherCellsInstance) {
  model::v1::ClaimActualLRPRequest request;
  ExpectError(service_->ClaimActualLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: process_guid, Invalid field: actual_lrp_instance_key");
  request.set_process_guid("web");
  request.mutable_actual_lrp_instance_key();
  ExpectError(service_->ClaimActualLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: cell_id, Invalid field: instance_guid");

  Desire(NewLrp("web", 1));
  Claim("web", 0, "ig-0", "cell-1");
  *request.mutable_actual_lrp_instance_key() = InstanceKey("ig-other", "cell-2");
  ExpectError(service_->ClaimActualLrp(request, ctx_), Error::ActualLRPCannotBeClaimed,
              "cannot claim actual LRP");

  request.set_process_guid("missing");
  ExpectErrorType(service_->ClaimActualLrp(request, ctx_), Error::ResourceNotFound);
}

TEST_F(ServiceTest, StartKeepsInternalRoutesAndTagsUnlessDeprecatedRoute) {
  Desire(NewLrp("web", 2));
  model::v1::StartActualLRPRequest request = StartRequest("web", 0, "ig-0", "cell-1");
  request.add_actual_lrp_internal_routes()->set_hostname("web.apps.internal");
  (*request.mutable_metric_tags())["app"] = "web";
  request.set_availability_zone("z1");
  ExpectOk(service_->StartActualLrp(request, ctx_));
  ActualLRP current = Ordinary("web", 0);
  ASSERT_THAT(current.actual_lrp_internal_routes(), SizeIs(1));
  EXPECT_EQ(current.actual_lrp_internal_routes(0).hostname(), "web.apps.internal");
  EXPECT_EQ(current.metric_tags().at("app"), "web");
  EXPECT_EQ(current.availability_zone(), "z1");

  model::v1::StartActualLRPRequest deprecated = StartRequest("web", 1, "ig-1", "cell-1");
  deprecated.add_actual_lrp_internal_routes()->set_hostname("web.apps.internal");
  (*deprecated.mutable_metric_tags())["app"] = "web";
  deprecated.set_routable(false);
  deprecated.set_availability_zone("z2");
  ExpectOk(service_->StartActualLrp(deprecated, ctx_, /*ignore_routes_and_tags=*/true));
  ActualLRP legacy = Ordinary("web", 1);
  EXPECT_EQ(legacy.state(), "RUNNING");
  EXPECT_THAT(legacy.actual_lrp_internal_routes(), IsEmpty());
  EXPECT_THAT(legacy.metric_tags(), IsEmpty());
  // Fields 6 and 7 are still honoured.
  EXPECT_FALSE(legacy.routable());
  EXPECT_EQ(legacy.availability_zone(), "z2");
}

TEST_F(ServiceTest, StartRefusesAnIncompleteRequest) {
  model::v1::StartActualLRPRequest request;
  ExpectError(service_->StartActualLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: actual_lrp_key, Invalid field: actual_lrp_instance_key, "
              "Invalid field: actual_lrp_net_info");
}

TEST_F(ServiceTest, CrashRestartingAtOnceAuctionsTheIndex) {
  Desire(NewLrp("web", 2));
  auctioneer_.Clear();
  Start("web", 1, "ig-1", "cell-1");

  model::v1::CrashActualLRPRequest crash;
  *crash.mutable_actual_lrp_key() = LrpKey("web", 1);
  *crash.mutable_actual_lrp_instance_key() = InstanceKey("ig-1", "cell-1");
  crash.set_error_message("exited with status 1");
  ExpectOk(service_->CrashActualLrp(crash, ctx_));

  ActualLRP crashed = Ordinary("web", 1);
  EXPECT_EQ(crashed.state(), "UNCLAIMED");  // The first crashes restart at once.
  EXPECT_EQ(crashed.crash_count(), 1);
  EXPECT_EQ(crashed.crash_reason(), "exited with status 1");

  auto batches = auctioneer_.LrpBatches();
  ASSERT_THAT(batches, SizeIs(1));
  ASSERT_THAT(batches[0], SizeIs(1));
  const auction::LrpStartRequest& start = batches[0][0];
  EXPECT_EQ(start.process_guid, "web");
  EXPECT_EQ(start.domain, kDomain);
  EXPECT_THAT(start.indices, ElementsAre(1));
  EXPECT_EQ(start.resource, (auction::Resource{256, 1024, 512}));
  EXPECT_EQ(start.constraint.root_fs, "preloaded:cflinuxfs4");
  EXPECT_THAT(start.constraint.placement_tags, ElementsAre("blue"));
  EXPECT_THAT(start.constraint.volume_drivers, ElementsAre("nfsdriver"));
}

TEST_F(ServiceTest, CrashIgnoresAuctionFailures) {
  Desire(NewLrp("web", 1));
  Start("web", 0, "ig-0", "cell-1");
  auctioneer_.SetError(absl::UnavailableError("auctioneer down"));

  model::v1::CrashActualLRPRequest crash;
  *crash.mutable_actual_lrp_key() = LrpKey("web", 0);
  *crash.mutable_actual_lrp_instance_key() = InstanceKey("ig-0", "cell-1");
  crash.set_error_message("oom");
  ExpectOk(service_->CrashActualLrp(crash, ctx_));
  EXPECT_THAT(auctioneer_.LrpBatches(), SizeIs(2));  // The desire, then the restart.
  EXPECT_TRUE(log_.Contains("failed-to-request-auction"));
}

TEST_F(ServiceTest, CrashRefusesBadRequestsAndWrongInstances) {
  model::v1::CrashActualLRPRequest crash;
  *crash.mutable_actual_lrp_key() = LrpKey("", -1);
  ExpectError(service_->CrashActualLrp(crash, ctx_), Error::InvalidRequest,
              "Invalid field: process_guid, Invalid field: index, "
              "Invalid field: actual_lrp_instance_key");

  Desire(NewLrp("web", 1));
  *crash.mutable_actual_lrp_key() = LrpKey("web", 0);
  *crash.mutable_actual_lrp_instance_key() = InstanceKey("ig-0", "cell-1");
  ExpectError(service_->CrashActualLrp(crash, ctx_), Error::ActualLRPCannotBeCrashed,
              "cannot crash actual LRP");
}

TEST_F(ServiceTest, FailRecordsThePlacementError) {
  Desire(NewLrp("web", 1));
  model::v1::FailActualLRPRequest request;
  *request.mutable_actual_lrp_key() = LrpKey("web", 0);
  ExpectError(service_->FailActualLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: error_message");

  request.set_error_message("found no compatible cell for required rootfs");
  ExpectOk(service_->FailActualLrp(request, ctx_));
  EXPECT_EQ(Ordinary("web", 0).placement_error(), "found no compatible cell for required rootfs");

  Claim("web", 0, "ig-0", "cell-1");
  ExpectError(service_->FailActualLrp(request, ctx_), Error::ActualLRPCannotBeFailed,
              "cannot fail actual LRP");

  // An instance that is gone (removed while its auction ran) is not an error,
  // as in Diego's controller.
  *request.mutable_actual_lrp_key() = LrpKey("web", 7);
  ExpectOk(service_->FailActualLrp(request, ctx_));
}

TEST_F(ServiceTest, RemoveDeletesOnlyTheMatchingInstance) {
  Desire(NewLrp("web", 2));
  Claim("web", 0, "ig-0", "cell-1");

  model::v1::RemoveActualLRPRequest request;
  request.set_index(-1);
  ExpectError(service_->RemoveActualLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: process_guid, Invalid field: index");

  request.set_process_guid("web");
  request.set_index(0);
  *request.mutable_actual_lrp_instance_key() = InstanceKey("ig-other", "cell-1");
  ExpectErrorType(service_->RemoveActualLrp(request, ctx_), Error::ResourceNotFound);
  EXPECT_THAT(Actuals("web"), SizeIs(2));

  *request.mutable_actual_lrp_instance_key() = InstanceKey("ig-0", "cell-1");
  ExpectOk(service_->RemoveActualLrp(request, ctx_));

  // Without an instance key any instance goes.
  request.set_index(1);
  request.clear_actual_lrp_instance_key();
  ExpectOk(service_->RemoveActualLrp(request, ctx_));
  EXPECT_THAT(Actuals("web"), IsEmpty());
}

// -----------------------------------------------------------------------------
// Retire.
// -----------------------------------------------------------------------------

class RetireTest : public ServiceTest {
 protected:
  model::v1::RetireActualLRPRequest Request(int32_t index) {
    model::v1::RetireActualLRPRequest request;
    *request.mutable_actual_lrp_key() = LrpKey("web", index);
    return request;
  }
};

TEST_F(RetireTest, DeletesAnUnclaimedInstance) {
  Desire(NewLrp("web", 2));
  ExpectOk(service_->RetireActualLrp(Request(1), ctx_));
  std::vector<ActualLRP> left = Actuals("web");
  ASSERT_THAT(left, SizeIs(1));
  EXPECT_EQ(left[0].actual_lrp_key().index(), 0);
  EXPECT_THAT(reps_.ForCellCalls(), IsEmpty());
}

TEST_F(RetireTest, AsksThePresentCellsRepToStopARunningInstance) {
  AddCell("cell-1");
  Desire(NewLrp("web", 1));
  Start("web", 0, "ig-0", "cell-1");
  ExpectOk(service_->RetireActualLrp(Request(0), ctx_));

  auto stops = reps_.ClientFor("cell-1")->StopCalls();
  ASSERT_THAT(stops, SizeIs(1));
  EXPECT_EQ(stops[0].key.process_guid(), "web");
  EXPECT_EQ(stops[0].instance_key.instance_guid(), "ig-0");
  ASSERT_THAT(reps_.ForCellCalls(), SizeIs(1));
  EXPECT_EQ(reps_.ForCellCalls()[0].rep_url(), "https://cell-1.cell.service.cf.internal:1801");
  // The rep removes the row once the container is gone; retire does not.
  EXPECT_EQ(Ordinary("web", 0).state(), "RUNNING");
}

TEST_F(RetireTest, DeletesAClaimedInstanceWhoseCellIsGone) {
  Desire(NewLrp("web", 1));
  Claim("web", 0, "ig-0", "cell-gone");
  ExpectOk(service_->RetireActualLrp(Request(0), ctx_));
  EXPECT_THAT(Actuals("web"), IsEmpty());
  EXPECT_THAT(reps_.ForCellCalls(), IsEmpty());
}

TEST_F(RetireTest, RetriesAFailingRepFiveTimes) {
  AddCell("cell-1");
  Desire(NewLrp("web", 1));
  Start("web", 0, "ig-0", "cell-1");
  reps_.ClientFor("cell-1")->SetError(absl::UnavailableError("rep: unexpected status 500"));

  model::v1::ActualLRPLifecycleResponse response = service_->RetireActualLrp(Request(0), ctx_);
  ExpectError(response, Error::UnknownError, "rep: unexpected status 500");
  EXPECT_THAT(reps_.ClientFor("cell-1")->StopCalls(), SizeIs(5));
  EXPECT_TRUE(log_.Contains("retrying-failed-retire-of-actual-lrp"));
}

TEST_F(RetireTest, SucceedsWhenTheRepRecoversWithinTheAttempts) {
  AddCell("cell-1");
  Desire(NewLrp("web", 1));
  Start("web", 0, "ig-0", "cell-1");
  reps_.ClientFor("cell-1")->SetError(absl::UnavailableError("rep down"), 2);
  ExpectOk(service_->RetireActualLrp(Request(0), ctx_));
  EXPECT_THAT(reps_.ClientFor("cell-1")->StopCalls(), SizeIs(3));
}

TEST_F(RetireTest, HonoursTheConfiguredAttempts) {
  BbsService::Options options;
  options.retire_attempts = 2;
  BbsService service(store_.get(), &auctioneer_, &reps_, nullptr, *log_.logger(), options);
  AddCell("cell-1");
  Desire(NewLrp("web", 1));
  Start("web", 0, "ig-0", "cell-1");
  reps_.ClientFor("cell-1")->SetError(absl::UnavailableError("rep down"));
  ExpectErrorType(service.RetireActualLrp(Request(0), ctx_), Error::UnknownError);
  EXPECT_THAT(reps_.ClientFor("cell-1")->StopCalls(), SizeIs(2));
}

TEST_F(RetireTest, DoesNotRetryWhenNoRepClientCanBeMade) {
  AddCell("cell-1");
  Desire(NewLrp("web", 1));
  Start("web", 0, "ig-0", "cell-1");
  reps_.SetError(absl::InvalidArgumentError("bad rep url"));
  ExpectError(service_->RetireActualLrp(Request(0), ctx_), Error::InvalidRequest, "bad rep url");
  EXPECT_THAT(reps_.ForCellCalls(), SizeIs(1));
}

TEST_F(RetireTest, RefusesBadRequestsAndMissingInstances) {
  model::v1::RetireActualLRPRequest request;
  ExpectError(service_->RetireActualLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: actual_lrp_key");
  ExpectError(service_->RetireActualLrp(Request(0), ctx_), Error::ResourceNotFound,
              "the requested resource could not be found");
}

// -----------------------------------------------------------------------------
// Evacuation.
// -----------------------------------------------------------------------------

TEST_F(ServiceTest, EvacuateClaimedUnclaimsAndAuctions) {
  Desire(NewLrp("web", 2));
  auctioneer_.Clear();
  Claim("web", 1, "ig-1", "cell-1");

  model::v1::EvacuateClaimedActualLRPRequest request;
  *request.mutable_actual_lrp_key() = LrpKey("web", 1);
  *request.mutable_actual_lrp_instance_key() = InstanceKey("ig-1", "cell-1");
  model::v1::EvacuationResponse response = service_->EvacuateClaimedActualLrp(request, ctx_);
  ExpectOk(response);
  EXPECT_FALSE(response.keep_container());
  EXPECT_EQ(Ordinary("web", 1).state(), "UNCLAIMED");

  auto requests = auctioneer_.LrpStartRequests();
  ASSERT_THAT(requests, SizeIs(1));
  EXPECT_THAT(requests[0].indices, ElementsAre(1));
  EXPECT_EQ(requests[0].resource.memory_mb, 256);
}

TEST_F(ServiceTest, EvacuateClaimedBadRequestKeepsTheContainer) {
  model::v1::EvacuateClaimedActualLRPRequest request;
  model::v1::EvacuationResponse response = service_->EvacuateClaimedActualLrp(request, ctx_);
  ExpectError(response, Error::InvalidRequest,
              "Invalid field: actual_lrp_key, Invalid field: actual_lrp_instance_key");
  EXPECT_TRUE(response.keep_container());
}

TEST_F(ServiceTest, EvacuateClaimedOfAnUnknownInstanceDropsTheContainer) {
  Desire(NewLrp("web", 1));
  model::v1::EvacuateClaimedActualLRPRequest request;
  *request.mutable_actual_lrp_key() = LrpKey("web", 0);
  *request.mutable_actual_lrp_instance_key() = InstanceKey("ig-nobody", "cell-9");
  model::v1::EvacuationResponse response = service_->EvacuateClaimedActualLrp(request, ctx_);
  ExpectErrorType(response, Error::ResourceNotFound);
  EXPECT_FALSE(response.keep_container());
}

TEST_F(ServiceTest, EvacuateRunningDoesTheEvacuationDance) {
  Desire(NewLrp("web", 1));
  auctioneer_.Clear();
  Start("web", 0, "ig-0", "cell-1");

  model::v1::EvacuateRunningActualLRPRequest request;
  *request.mutable_actual_lrp_key() = LrpKey("web", 0);
  *request.mutable_actual_lrp_instance_key() = InstanceKey("ig-0", "cell-1");
  request.mutable_actual_lrp_net_info()->set_address("10.0.0.1");
  model::v1::EvacuationResponse response = service_->EvacuateRunningActualLrp(request, ctx_);
  ExpectOk(response);
  EXPECT_TRUE(response.keep_container());

  std::vector<ActualLRP> rows = Actuals("web");
  ASSERT_THAT(rows, SizeIs(2));
  EXPECT_EQ(Ordinary("web", 0).state(), "UNCLAIMED");
  auto requests = auctioneer_.LrpStartRequests();
  ASSERT_THAT(requests, SizeIs(1));
  EXPECT_THAT(requests[0].indices, ElementsAre(0));

  // The replacement starts elsewhere: the evacuating row goes, and the old
  // cell is told to drop its container.
  Start("web", 0, "ig-new", "cell-2");
  response = service_->EvacuateRunningActualLrp(request, ctx_);
  ExpectOk(response);
  EXPECT_FALSE(response.keep_container());
  EXPECT_THAT(Actuals("web"), SizeIs(1));
}

TEST_F(ServiceTest, EvacuateRunningBadRequestKeepsTheContainer) {
  model::v1::EvacuateRunningActualLRPRequest request;
  *request.mutable_actual_lrp_key() = LrpKey("web", 0);
  *request.mutable_actual_lrp_instance_key() = InstanceKey("ig-0", "cell-1");
  for (bool deprecated : {false, true}) {
    model::v1::EvacuationResponse response =
        service_->EvacuateRunningActualLrp(request, ctx_, deprecated);
    ExpectError(response, Error::InvalidRequest, "Invalid field: actual_lrp_net_info");
    EXPECT_TRUE(response.keep_container());
  }
}

TEST_F(ServiceTest, EvacuateRunningOfAVanishedLrpDropsTheContainer) {
  model::v1::EvacuateRunningActualLRPRequest request;
  *request.mutable_actual_lrp_key() = LrpKey("gone", 0);
  *request.mutable_actual_lrp_instance_key() = InstanceKey("ig-0", "cell-1");
  request.mutable_actual_lrp_net_info()->set_address("10.0.0.1");
  model::v1::EvacuationResponse response =
      service_->EvacuateRunningActualLrp(request, ctx_, /*ignore_routes_and_tags=*/true);
  ExpectOk(response);
  EXPECT_FALSE(response.keep_container());
}

TEST_F(ServiceTest, EvacuateStoppedRemovesTheInstance) {
  Desire(NewLrp("web", 1));
  Start("web", 0, "ig-0", "cell-1");

  model::v1::EvacuateStoppedActualLRPRequest request;
  ExpectError(service_->EvacuateStoppedActualLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: actual_lrp_key, Invalid field: actual_lrp_instance_key");
  EXPECT_FALSE(service_->EvacuateStoppedActualLrp(request, ctx_).keep_container());

  *request.mutable_actual_lrp_key() = LrpKey("web", 0);
  *request.mutable_actual_lrp_instance_key() = InstanceKey("ig-0", "cell-1");
  model::v1::EvacuationResponse response = service_->EvacuateStoppedActualLrp(request, ctx_);
  ExpectOk(response);
  EXPECT_FALSE(response.keep_container());
  EXPECT_THAT(Actuals("web"), IsEmpty());
}

TEST_F(ServiceTest, EvacuateCrashedRecordsTheCrash) {
  Desire(NewLrp("web", 1));
  Start("web", 0, "ig-0", "cell-1");

  model::v1::EvacuateCrashedActualLRPRequest request;
  *request.mutable_actual_lrp_key() = LrpKey("web", 0);
  *request.mutable_actual_lrp_instance_key() = InstanceKey("ig-0", "cell-1");
  model::v1::EvacuationResponse refused = service_->EvacuateCrashedActualLrp(request, ctx_);
  ExpectError(refused, Error::InvalidRequest, "Invalid field: error_message");
  EXPECT_FALSE(refused.keep_container());

  request.set_error_message("crashed while evacuating");
  model::v1::EvacuationResponse response = service_->EvacuateCrashedActualLrp(request, ctx_);
  ExpectOk(response);
  EXPECT_FALSE(response.keep_container());
  ActualLRP lrp = Ordinary("web", 0);
  EXPECT_EQ(lrp.crash_count(), 1);
  EXPECT_EQ(lrp.crash_reason(), "crashed while evacuating");
}

TEST_F(ServiceTest, RemoveEvacuatingDeletesTheEvacuatingRow) {
  Desire(NewLrp("web", 1));
  Start("web", 0, "ig-0", "cell-1");
  model::v1::EvacuateRunningActualLRPRequest evacuate;
  *evacuate.mutable_actual_lrp_key() = LrpKey("web", 0);
  *evacuate.mutable_actual_lrp_instance_key() = InstanceKey("ig-0", "cell-1");
  evacuate.mutable_actual_lrp_net_info()->set_address("10.0.0.1");
  ExpectOk(service_->EvacuateRunningActualLrp(evacuate, ctx_));
  ASSERT_THAT(Actuals("web"), SizeIs(2));

  model::v1::RemoveEvacuatingActualLRPRequest request;
  ExpectError(service_->RemoveEvacuatingActualLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: actual_lrp_key, Invalid field: actual_lrp_instance_key");
  *request.mutable_actual_lrp_key() = LrpKey("web", 0);
  *request.mutable_actual_lrp_instance_key() = InstanceKey("ig-0", "cell-1");
  ExpectOk(service_->RemoveEvacuatingActualLrp(request, ctx_));
  std::vector<ActualLRP> rows = Actuals("web");
  ASSERT_THAT(rows, SizeIs(1));
  EXPECT_EQ(rows[0].presence(), ActualLRP::ORDINARY);
}

// -----------------------------------------------------------------------------
// Desired LRPs.
// -----------------------------------------------------------------------------

TEST_F(ServiceTest, DesireAuctionsEveryCreatedIndexInOneRequest) {
  model::v1::DesireLRPRequest request;
  *request.mutable_desired_lrp() = NewLrp("web", 3);
  ExpectOk(service_->DesireDesiredLrp(request, RequestContext{"desire-trace"}));

  auto batches = auctioneer_.LrpBatches();
  ASSERT_THAT(batches, SizeIs(1));
  ASSERT_THAT(batches[0], SizeIs(1));
  const auction::LrpStartRequest& start = batches[0][0];
  EXPECT_EQ(start.process_guid, "web");
  EXPECT_EQ(start.domain, kDomain);
  EXPECT_THAT(start.indices, UnorderedElementsAre(0, 1, 2));
  EXPECT_EQ(start.resource, (auction::Resource{256, 1024, 512}));
  EXPECT_EQ(start.constraint.root_fs, "preloaded:cflinuxfs4");
  EXPECT_THAT(start.constraint.placement_tags, ElementsAre("blue"));
  EXPECT_THAT(start.constraint.volume_drivers, ElementsAre("nfsdriver"));
  EXPECT_THAT(Actuals("web"), SizeIs(3));

  // The request's trace id reaches the events.
  bool found = false;
  for (const BbsEvent& event : sink_.events()) {
    if (event.type == "desired_lrp_created") {
      model::v1::DesiredLRPCreatedEvent created;
      ASSERT_TRUE(created.ParseFromString(event.payload));
      EXPECT_EQ(created.trace_id(), "desire-trace");
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(ServiceTest, DesireWithoutInstancesAuctionsNothing) {
  Desire(NewLrp("web", 0));
  EXPECT_THAT(auctioneer_.LrpBatches(), IsEmpty());
}

TEST_F(ServiceTest, DesireRefusesInvalidAndDuplicateLrps) {
  model::v1::DesireLRPRequest request;
  ExpectError(service_->DesireDesiredLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: desired_lrp");

  DesiredLRP bad = NewLrp("web", -1);
  bad.set_memory_mb(-1);
  bad.set_disk_mb(-5);
  *request.mutable_desired_lrp() = bad;
  ExpectError(service_->DesireDesiredLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: instances, Invalid field: memory_mb, Invalid field: disk_mb");

  *request.mutable_desired_lrp() = NewLrp("web", 1);
  ExpectOk(service_->DesireDesiredLrp(request, ctx_));
  ExpectError(service_->DesireDesiredLrp(request, ctx_), Error::ResourceExists,
              "the requested resource already exists");
  EXPECT_THAT(auctioneer_.LrpBatches(), SizeIs(1));
}

TEST_F(ServiceTest, DesireIgnoresAuctionFailures) {
  auctioneer_.SetError(absl::UnavailableError("auctioneer down"));
  Desire(NewLrp("web", 2));
  EXPECT_THAT(Actuals("web"), SizeIs(2));
}

TEST_F(ServiceTest, UpdateScalingUpAuctionsTheNewIndices) {
  Desire(NewLrp("web", 2));
  auctioneer_.Clear();

  model::v1::UpdateDesiredLRPRequest request;
  request.set_process_guid("web");
  request.mutable_update()->set_instances(4);
  ExpectOk(service_->UpdateDesiredLrp(request, ctx_));

  auto batches = auctioneer_.LrpBatches();
  ASSERT_THAT(batches, SizeIs(1));
  ASSERT_THAT(batches[0], SizeIs(1));
  EXPECT_THAT(batches[0][0].indices, UnorderedElementsAre(2, 3));
  EXPECT_EQ(batches[0][0].resource.memory_mb, 256);
  EXPECT_THAT(Actuals("web"), SizeIs(4));
}

TEST_F(ServiceTest, UpdateScalingDownStopsTheSurplusInstancesThroughTheirReps) {
  AddCell("cell-1");
  AddCell("cell-2");
  Desire(NewLrp("web", 4));
  Start("web", 0, "ig-0", "cell-1");
  Start("web", 2, "ig-2", "cell-1");
  Claim("web", 3, "ig-3", "cell-2");

  model::v1::UpdateDesiredLRPRequest request;
  request.set_process_guid("web");
  request.mutable_update()->set_instances(1);
  ExpectOk(service_->UpdateDesiredLrp(request, ctx_));

  auto stops1 = reps_.ClientFor("cell-1")->StopCalls();
  ASSERT_THAT(stops1, SizeIs(1));
  EXPECT_EQ(stops1[0].key.index(), 2);
  EXPECT_EQ(stops1[0].instance_key.instance_guid(), "ig-2");
  auto stops2 = reps_.ClientFor("cell-2")->StopCalls();
  ASSERT_THAT(stops2, SizeIs(1));
  EXPECT_EQ(stops2[0].key.index(), 3);
  // The UNCLAIMED index 1 went with the update.
  EXPECT_EQ(Ordinary("web", 1).actual_lrp_key().process_guid(), "");
  EXPECT_THAT(auctioneer_.LrpBatches(), SizeIs(1));  // Only the desire.
}

TEST_F(ServiceTest, UpdateSendsChangedInternalRoutesToRunningInstances) {
  AddCell("cell-1");
  Desire(NewLrp("web", 2));
  Start("web", 0, "ig-0", "cell-1");

  model::v1::UpdateDesiredLRPRequest request;
  request.set_process_guid("web");
  auto& routes = *request.mutable_update()->mutable_routes()->mutable_routes();
  routes["cf-router"] = R"([{"hostnames":["web.example.com"],"port":8080}])";
  routes["internal-router"] = R"([{"hostname":"a.apps.internal"},{"Hostname":"b.apps.internal"}])";
  ExpectOk(service_->UpdateDesiredLrp(request, ctx_));

  auto updates = reps_.ClientFor("cell-1")->UpdateCalls();
  ASSERT_THAT(updates, SizeIs(1));
  EXPECT_EQ(updates[0].key.index(), 0);
  EXPECT_EQ(updates[0].instance_key.instance_guid(), "ig-0");
  ASSERT_THAT(updates[0].internal_routes, SizeIs(2));
  EXPECT_EQ(updates[0].internal_routes[0].hostname(), "a.apps.internal");
  EXPECT_EQ(updates[0].internal_routes[1].hostname(), "b.apps.internal");
  EXPECT_THAT(updates[0].metric_tags, IsEmpty());
}

TEST_F(ServiceTest, UpdateSendsConvertedMetricTagsPerInstance) {
  AddCell("cell-1");
  Desire(NewLrp("web", 2));
  Start("web", 0, "ig-0", "cell-1");
  Start("web", 1, "ig-1", "cell-1");

  model::v1::UpdateDesiredLRPRequest request;
  request.set_process_guid("web");
  auto& tags = *request.mutable_update()->mutable_metric_tags();
  tags["source_id"].set_static_("app-web");
  tags["index"].set_dynamic(MetricTagValue::INDEX);
  tags["instance"].set_dynamic(MetricTagValue::INSTANCE_GUID);
  ExpectOk(service_->UpdateDesiredLrp(request, ctx_));

  auto updates = reps_.ClientFor("cell-1")->UpdateCalls();
  ASSERT_THAT(updates, SizeIs(2));
  std::map<int32_t, std::map<std::string, std::string>> by_index;
  for (const auto& update : updates) {
    EXPECT_THAT(update.internal_routes, IsEmpty());  // Routes were not updated.
    by_index[update.key.index()] = update.metric_tags;
  }
  EXPECT_EQ(by_index[0], (std::map<std::string, std::string>{
                             {"index", "0"}, {"instance", "ig-0"}, {"source_id", "app-web"}}));
  EXPECT_EQ(by_index[1], (std::map<std::string, std::string>{
                             {"index", "1"}, {"instance", "ig-1"}, {"source_id", "app-web"}}));
}

TEST_F(ServiceTest, UpdateWithoutRouteOrTagChangesCallsNoRep) {
  AddCell("cell-1");
  Desire(NewLrp("web", 1));
  Start("web", 0, "ig-0", "cell-1");

  model::v1::UpdateDesiredLRPRequest request;
  request.set_process_guid("web");
  request.mutable_update()->set_annotation("new annotation");
  (*request.mutable_update()->mutable_metric_tags())["source_id"].set_static_("app-web");
  ExpectOk(service_->UpdateDesiredLrp(request, ctx_));
  EXPECT_THAT(reps_.ClientFor("cell-1")->UpdateCalls(), IsEmpty());

  model::v1::DesiredLRPByProcessGuidRequest get;
  get.set_process_guid("web");
  EXPECT_EQ(service_->DesiredLrpByProcessGuid(get, ctx_).desired_lrp().annotation(),
            "new annotation");
}

TEST_F(ServiceTest, UpdateRefusesBadRequestsAndUnknownLrps) {
  model::v1::UpdateDesiredLRPRequest request;
  request.mutable_update()->set_instances(-2);
  ExpectError(service_->UpdateDesiredLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: process_guid, Invalid field: instances");
  request.set_process_guid("missing");
  request.mutable_update()->set_instances(2);
  ExpectError(service_->UpdateDesiredLrp(request, ctx_), Error::ResourceNotFound,
              "the requested resource could not be found");
}

TEST_F(ServiceTest, DesireAndUpdateRefuseInstancesOverTheLimit) {
  BbsService::Options options;
  options.max_instances = 5;
  BbsService service(store_.get(), &auctioneer_, &reps_, nullptr, *log_.logger(), options);

  // A huge count is refused before anything is written.
  model::v1::DesireLRPRequest desire;
  *desire.mutable_desired_lrp() = NewLrp("web", 2000000000);
  ExpectError(service.DesireDesiredLrp(desire, ctx_), Error::InvalidRequest,
              "Invalid field: instances");
  *desire.mutable_desired_lrp() = NewLrp("web", 6);
  ExpectError(service.DesireDesiredLrp(desire, ctx_), Error::InvalidRequest,
              "Invalid field: instances");
  EXPECT_THAT(Actuals("web"), IsEmpty());

  *desire.mutable_desired_lrp() = NewLrp("web", 5);
  ExpectOk(service.DesireDesiredLrp(desire, ctx_));
  EXPECT_THAT(Actuals("web"), SizeIs(5));

  model::v1::UpdateDesiredLRPRequest update;
  update.set_process_guid("web");
  update.mutable_update()->set_instances(2000000000);
  ExpectError(service.UpdateDesiredLrp(update, ctx_), Error::InvalidRequest,
              "Invalid field: instances");
  EXPECT_THAT(Actuals("web"), SizeIs(5));
  // An update without instances is not affected by the limit.
  update.mutable_update()->clear_instances();
  update.mutable_update()->set_annotation("note");
  ExpectOk(service.UpdateDesiredLrp(update, ctx_));
}

TEST_F(ServiceTest, InstanceLimitDefaultsToOneHundredThousandAndZeroDisablesIt) {
  EXPECT_EQ(BbsService::Options().max_instances, 100000);
  model::v1::DesireLRPRequest desire;
  *desire.mutable_desired_lrp() = NewLrp("web", 100001);
  ExpectError(service_->DesireDesiredLrp(desire, ctx_), Error::InvalidRequest,
              "Invalid field: instances");

  BbsService::Options options;
  options.max_instances = 0;
  BbsService unlimited(store_.get(), &auctioneer_, &reps_, nullptr, *log_.logger(), options);
  *desire.mutable_desired_lrp() = NewLrp("web", 7);
  ExpectOk(unlimited.DesireDesiredLrp(desire, ctx_));
  EXPECT_THAT(Actuals("web"), SizeIs(7));
}

TEST_F(ServiceTest, RemoveStopsTheRunningInstances) {
  AddCell("cell-1");
  Desire(NewLrp("web", 3));
  Start("web", 1, "ig-1", "cell-1");

  model::v1::RemoveDesiredLRPRequest request;
  ExpectError(service_->RemoveDesiredLrp(request, ctx_), Error::InvalidRequest,
              "Invalid field: process_guid");
  request.set_process_guid("web");
  ExpectOk(service_->RemoveDesiredLrp(request, ctx_));

  auto stops = reps_.ClientFor("cell-1")->StopCalls();
  ASSERT_THAT(stops, SizeIs(1));
  EXPECT_EQ(stops[0].key.index(), 1);
  // Only the running row waits for its rep.
  std::vector<ActualLRP> rows = Actuals("web");
  ASSERT_THAT(rows, SizeIs(1));
  EXPECT_EQ(rows[0].state(), "RUNNING");

  ExpectError(service_->RemoveDesiredLrp(request, ctx_), Error::ResourceNotFound,
              "the requested resource could not be found");
}

TEST_F(ServiceTest, RemoveSwallowsRepFailuresAndMissingCells) {
  AddCell("cell-1");
  Desire(NewLrp("web", 2));
  Start("web", 0, "ig-0", "cell-1");
  Start("web", 1, "ig-1", "cell-gone");
  reps_.ClientFor("cell-1")->SetError(absl::UnavailableError("rep down"));

  model::v1::RemoveDesiredLRPRequest request;
  request.set_process_guid("web");
  ExpectOk(service_->RemoveDesiredLrp(request, ctx_));
  EXPECT_THAT(reps_.ClientFor("cell-1")->StopCalls(), SizeIs(1));
  EXPECT_FALSE(reps_.HasClient("cell-gone"));
  EXPECT_TRUE(log_.Contains("failed-stopping-lrp-instance"));
  EXPECT_TRUE(log_.Contains("failed-fetching-cell-presence"));
}

TEST_F(ServiceTest, DesiredLrpReadsPopulateTheMetricsGuid) {
  Desire(NewLrp("web", 1));
  model::v1::DesiredLRPByProcessGuidRequest request;
  request.set_process_guid("web");
  model::v1::DesiredLRPResponse response = service_->DesiredLrpByProcessGuid(request, ctx_);
  ExpectOk(response);
  EXPECT_EQ(response.desired_lrp().metrics_guid(), "app-web");
  EXPECT_EQ(response.desired_lrp().action().run_action().path(), "/app/start");

  model::v1::DesiredLRPsRequest list;
  list.set_domain(kDomain);
  model::v1::DesiredLRPsResponse lrps = service_->DesiredLrps(list, ctx_);
  ExpectOk(lrps);
  ASSERT_THAT(lrps.desired_lrps(), SizeIs(1));
  EXPECT_EQ(lrps.desired_lrps(0).metrics_guid(), "app-web");
}

TEST_F(ServiceTest, DesiredLrpReadsRefuseBadRequestsAndMissingLrps) {
  model::v1::DesiredLRPByProcessGuidRequest request;
  ExpectError(service_->DesiredLrpByProcessGuid(request, ctx_), Error::InvalidRequest,
              "Invalid field: process_guid");
  ExpectError(service_->DesiredLrpSchedulingInfoByProcessGuid(request, ctx_), Error::InvalidRequest,
              "Invalid field: process_guid");
  request.set_process_guid("missing");
  ExpectError(service_->DesiredLrpByProcessGuid(request, ctx_), Error::ResourceNotFound,
              "the requested resource could not be found");
  ExpectErrorType(service_->DesiredLrpSchedulingInfoByProcessGuid(request, ctx_),
                  Error::ResourceNotFound);
}

TEST_F(ServiceTest, R2DesiredLrpReadsDowngradeImageLayers) {
  DesiredLRP lrp = NewLrp("web", 1);
  lrp.set_legacy_download_user("vcap");
  *lrp.add_image_layers() = Layer("shared", ImageLayer::SHARED, "abc");
  *lrp.add_image_layers() = Layer("exclusive", ImageLayer::EXCLUSIVE, "def");
  Desire(lrp);

  model::v1::DesiredLRPByProcessGuidRequest request;
  request.set_process_guid("web");
  DesiredLRP v3 = service_->DesiredLrpByProcessGuid(request, ctx_).desired_lrp();
  EXPECT_THAT(v3.image_layers(), SizeIs(2));
  EXPECT_THAT(v3.cached_dependencies(), IsEmpty());

  model::v1::DesiredLRPResponse v2 =
      service_->DesiredLrpByProcessGuid(request, ctx_, PayloadVersion::kV2);
  ExpectOk(v2);
  EXPECT_THAT(v2.desired_lrp().image_layers(), IsEmpty());
  ASSERT_THAT(v2.desired_lrp().cached_dependencies(), SizeIs(1));
  EXPECT_EQ(v2.desired_lrp().cached_dependencies(0).cache_key(), "sha256:abc");
  ASSERT_TRUE(v2.desired_lrp().setup().has_parallel_action());
  EXPECT_EQ(v2.desired_lrp().setup().parallel_action().actions(0).download_action().from(),
            "https://blobs.example.com/exclusive");
  EXPECT_EQ(v2.desired_lrp().metrics_guid(), "app-web");

  model::v1::DesiredLRPsRequest list;
  model::v1::DesiredLRPsResponse listed = service_->DesiredLrps(list, ctx_, PayloadVersion::kV2);
  ExpectOk(listed);
  ASSERT_THAT(listed.desired_lrps(), SizeIs(1));
  EXPECT_THAT(listed.desired_lrps(0).image_layers(), IsEmpty());
  EXPECT_THAT(listed.desired_lrps(0).cached_dependencies(), SizeIs(1));
}

TEST_F(ServiceTest, SchedulingInfosCarryResourcesButNotRunInfo) {
  Desire(NewLrp("web", 2));
  Desire(NewLrp("worker", 1));

  model::v1::DesiredLRPsRequest request;
  request.add_process_guids("worker");
  model::v1::DesiredLRPSchedulingInfosResponse infos =
      service_->DesiredLrpSchedulingInfos(request, ctx_);
  ExpectOk(infos);
  ASSERT_THAT(infos.desired_lrp_scheduling_infos(), SizeIs(1));
  EXPECT_EQ(infos.desired_lrp_scheduling_infos(0).desired_lrp_key().process_guid(), "worker");

  model::v1::DesiredLRPByProcessGuidRequest by_guid;
  by_guid.set_process_guid("web");
  model::v1::DesiredLRPSchedulingInfoByProcessGuidResponse info =
      service_->DesiredLrpSchedulingInfoByProcessGuid(by_guid, ctx_);
  ExpectOk(info);
  EXPECT_EQ(info.desired_lrp_scheduling_info().instances(), 2);
  EXPECT_EQ(info.desired_lrp_scheduling_info().desired_lrp_resource().memory_mb(), 256);
}

TEST_F(ServiceTest, RoutingInfosHaveOnlyRoutingFields) {
  Desire(NewLrp("web", 2));
  Desire(NewLrp("worker", 1));

  model::v1::DesiredLRPsRequest request;
  request.add_process_guids("web");
  request.set_domain("ignored-domain");  // Only process guids filter.
  model::v1::DesiredLRPsResponse response = service_->DesiredLrpRoutingInfos(request, ctx_);
  ExpectOk(response);
  ASSERT_THAT(response.desired_lrps(), SizeIs(1));
  const DesiredLRP& info = response.desired_lrps(0);
  EXPECT_EQ(info.process_guid(), "web");
  EXPECT_EQ(info.instances(), 2);
  EXPECT_EQ(info.log_guid(), "log-web");
  EXPECT_TRUE(info.routes().routes().contains("cf-router"));
  EXPECT_FALSE(info.has_action());
  EXPECT_EQ(info.memory_mb(), 0);
  EXPECT_EQ(info.root_fs(), "");
}

// -----------------------------------------------------------------------------
// Tasks.
// -----------------------------------------------------------------------------

TEST_F(ServiceTest, DesireTaskAuctionsIt) {
  DesireTask("task-1", /*with_callback=*/false);
  auto requests = auctioneer_.TaskStartRequests();
  ASSERT_THAT(requests, SizeIs(1));
  EXPECT_EQ(requests[0].task_guid, "task-1");
  EXPECT_EQ(requests[0].domain, kDomain);
  EXPECT_EQ(requests[0].resource, (auction::Resource{512, 2048, 64}));
  EXPECT_EQ(requests[0].constraint.root_fs, "preloaded:cflinuxfs4");
  EXPECT_THAT(requests[0].constraint.placement_tags, ElementsAre("green"));
  EXPECT_THAT(requests[0].constraint.volume_drivers, ElementsAre("smbdriver"));
  EXPECT_EQ(GetTask("task-1").state(), Task::Pending);
}

TEST_F(ServiceTest, DesireTaskRefusesInvalidAndDuplicateTasks) {
  model::v1::DesireTaskRequest request;
  request.set_task_guid("bad guid!");
  *request.mutable_task_definition() = NewTaskDefinition(false);
  ExpectError(service_->DesireTask(request, ctx_), Error::InvalidRequest,
              "Invalid field: task_guid, Invalid field: domain");
  request.clear_task_definition();
  request.set_task_guid("task-1");
  request.set_domain(kDomain);
  ExpectError(service_->DesireTask(request, ctx_), Error::InvalidRequest,
              "Invalid field: task_definition");

  DesireTask("task-1", false);
  *request.mutable_task_definition() = NewTaskDefinition(false);
  ExpectError(service_->DesireTask(request, ctx_), Error::ResourceExists,
              "the requested resource already exists");
  EXPECT_THAT(auctioneer_.TaskStartRequests(), SizeIs(1));
}

TEST_F(ServiceTest, DesireTaskIgnoresAuctionFailures) {
  auctioneer_.SetError(absl::UnavailableError("auctioneer down"));
  DesireTask("task-1", false);
  EXPECT_EQ(GetTask("task-1").state(), Task::Pending);
  EXPECT_TRUE(log_.Contains("failed-requesting-task-auction"));
}

TEST_F(ServiceTest, StartTaskTellsTheCellWhetherToRun) {
  DesireTask("task-1", false);
  StartTask("task-1", "cell-1");

  model::v1::StartTaskRequest request;
  request.set_task_guid("task-1");
  request.set_cell_id("cell-1");
  model::v1::StartTaskResponse again = service_->StartTask(request, ctx_);
  ExpectOk(again);
  EXPECT_FALSE(again.should_start());

  request.set_cell_id("cell-2");
  ExpectError(service_->StartTask(request, ctx_), Error::InvalidStateTransition,
              "Cannot transition from Running to Running");

  request.set_cell_id("");
  ExpectError(service_->StartTask(request, ctx_), Error::InvalidRequest, "Invalid field: cell_id");
}

TEST_F(ServiceTest, CancelTaskAsksTheRepToCancelAndRunsTheCallback) {
  AddCell("cell-1");
  DesireTask("task-1", /*with_callback=*/true);
  StartTask("task-1", "cell-1");

  model::v1::TaskGuidRequest request;
  request.set_task_guid("task-1");
  ExpectOk(service_->CancelTask(request, ctx_));

  EXPECT_THAT(reps_.ClientFor("cell-1")->CancelCalls(), ElementsAre("task-1"));
  Task task = GetTask("task-1");
  EXPECT_EQ(task.state(), Task::Completed);
  EXPECT_TRUE(task.failed());
  EXPECT_EQ(task.failure_reason(), "task was cancelled");
  std::vector<Task> completed = completions_.tasks();
  ASSERT_THAT(completed, SizeIs(1));
  EXPECT_EQ(completed[0].task_guid(), "task-1");
  EXPECT_EQ(completed[0].state(), Task::Completed);
}

TEST_F(ServiceTest, CancelPendingTaskCallsNoRep) {
  DesireTask("task-1", false);
  model::v1::TaskGuidRequest request;
  request.set_task_guid("task-1");
  ExpectOk(service_->CancelTask(request, ctx_));
  EXPECT_THAT(reps_.ForCellCalls(), IsEmpty());
  EXPECT_THAT(completions_.tasks(), IsEmpty());  // No callback URL.
}

TEST_F(ServiceTest, CancelTaskSwallowsMissingCellsAndRepFailures) {
  AddCell("cell-1");
  DesireTask("on-gone-cell", false);
  StartTask("on-gone-cell", "cell-gone");
  DesireTask("on-failing-rep", false);
  StartTask("on-failing-rep", "cell-1");
  reps_.ClientFor("cell-1")->SetError(absl::UnavailableError("rep down"));

  model::v1::TaskGuidRequest request;
  request.set_task_guid("on-gone-cell");
  ExpectOk(service_->CancelTask(request, ctx_));
  EXPECT_FALSE(reps_.HasClient("cell-gone"));
  request.set_task_guid("on-failing-rep");
  ExpectOk(service_->CancelTask(request, ctx_));
  EXPECT_THAT(reps_.ClientFor("cell-1")->CancelCalls(), ElementsAre("on-failing-rep"));
  EXPECT_TRUE(log_.Contains("failed-rep-cancel-task"));
}

TEST_F(ServiceTest, CancelTaskRefusesBadRequestsAndFinishedTasks) {
  model::v1::TaskGuidRequest request;
  ExpectError(service_->CancelTask(request, ctx_), Error::InvalidRequest,
              "Invalid field: task_guid");
  request.set_task_guid("missing");
  ExpectErrorType(service_->CancelTask(request, ctx_), Error::ResourceNotFound);
  DesireTask("task-1", false);
  request.set_task_guid("task-1");
  ExpectOk(service_->CancelTask(request, ctx_));
  ExpectError(service_->CancelTask(request, ctx_), Error::InvalidStateTransition,
              "Cannot transition from Completed to Completed");
}

TEST_F(ServiceTest, FailTaskCompletesItFailedAndRunsTheCallback) {
  DesireTask("task-1", true);
  model::v1::FailTaskRequest request;
  request.set_task_guid("task-1");
  ExpectError(service_->FailTask(request, ctx_), Error::InvalidRequest,
              "Invalid field: failure_reason");
  request.set_failure_reason("no compatible cell");
  ExpectOk(service_->FailTask(request, ctx_));
  Task task = GetTask("task-1");
  EXPECT_EQ(task.state(), Task::Completed);
  EXPECT_EQ(task.failure_reason(), "no compatible cell");
  EXPECT_THAT(completions_.tasks(), SizeIs(1));
}

TEST_F(ServiceTest, RejectTaskReauctionsUntilTheRetriesRunOut) {
  DesireTask("task-1", /*with_callback=*/true);
  auctioneer_.Clear();
  for (int i = 0; i < 3; ++i) {
    ExpectOk(service_->RejectTask(RejectRequest("task-1"), ctx_));
    EXPECT_EQ(GetTask("task-1").state(), Task::Pending);
  }
  auto requests = auctioneer_.TaskStartRequests();
  ASSERT_THAT(requests, SizeIs(3));
  EXPECT_EQ(requests[2].task_guid, "task-1");
  EXPECT_EQ(requests[2].resource.memory_mb, 512);
  EXPECT_THAT(completions_.tasks(), IsEmpty());

  // The fourth rejection fails the task instead.
  ExpectOk(service_->RejectTask(RejectRequest("task-1"), ctx_));
  Task task = GetTask("task-1");
  EXPECT_EQ(task.state(), Task::Completed);
  EXPECT_TRUE(task.failed());
  EXPECT_EQ(task.failure_reason(), "insufficient resources");
  EXPECT_THAT(auctioneer_.TaskStartRequests(), SizeIs(3));
  ASSERT_THAT(completions_.tasks(), SizeIs(1));
  EXPECT_EQ(completions_.tasks()[0].task_guid(), "task-1");
}

TEST_F(ServiceTest, RejectTaskRefusesBadRequests) {
  model::v1::RejectTaskRequest request;
  request.set_task_guid("task-1");
  ExpectError(service_->RejectTask(request, ctx_), Error::InvalidRequest,
              "Invalid field: failure_reason");
  ExpectErrorType(service_->RejectTask(RejectRequest("missing"), ctx_), Error::ResourceNotFound);
}

TEST_F(ServiceTest, CompleteTaskRunsTheCallbackOnlyWhenThereIsOne) {
  DesireTask("with-callback", true);
  DesireTask("without-callback", false);
  StartTask("with-callback", "cell-1");
  StartTask("without-callback", "cell-1");

  model::v1::CompleteTaskRequest request;
  request.set_task_guid("with-callback");
  request.set_cell_id("cell-1");
  request.set_result("42");
  ExpectOk(service_->CompleteTask(request, ctx_));
  request.set_task_guid("without-callback");
  ExpectOk(service_->CompleteTask(request, ctx_));

  std::vector<Task> completed = completions_.tasks();
  ASSERT_THAT(completed, SizeIs(1));
  EXPECT_EQ(completed[0].task_guid(), "with-callback");
  EXPECT_EQ(completed[0].result(), "42");
  EXPECT_EQ(completed[0].task_definition().completion_callback_url(), kCallbackUrl);
}

TEST_F(ServiceTest, CompleteTaskRefusesAnotherCell) {
  DesireTask("task-1", true);
  StartTask("task-1", "cell-1");
  model::v1::CompleteTaskRequest request;
  request.set_task_guid("task-1");
  ExpectError(service_->CompleteTask(request, ctx_), Error::InvalidRequest,
              "Invalid field: cell_id");
  request.set_cell_id("cell-2");
  ExpectError(service_->CompleteTask(request, ctx_), Error::RunningOnDifferentCell,
              "Running on cell cell-1 not cell-2");
  EXPECT_THAT(completions_.tasks(), IsEmpty());
}

TEST_F(ServiceTest, ResolvingThenDeleteRemovesTheTask) {
  DesireTask("task-1", false);
  StartTask("task-1", "cell-1");
  model::v1::TaskGuidRequest request;
  request.set_task_guid("task-1");
  ExpectError(service_->DeleteTask(request, ctx_), Error::InvalidStateTransition,
              "Cannot transition from Running to Resolving");
  ExpectError(service_->ResolvingTask(request, ctx_), Error::InvalidStateTransition,
              "Cannot transition from Running to Resolving");

  model::v1::CompleteTaskRequest complete;
  complete.set_task_guid("task-1");
  complete.set_cell_id("cell-1");
  ExpectOk(service_->CompleteTask(complete, ctx_));
  ExpectOk(service_->ResolvingTask(request, ctx_));
  EXPECT_EQ(GetTask("task-1").state(), Task::Resolving);
  ExpectOk(service_->DeleteTask(request, ctx_));

  model::v1::TaskByGuidRequest get;
  get.set_task_guid("task-1");
  ExpectError(service_->TaskByGuid(get, ctx_), Error::ResourceNotFound,
              "the requested resource could not be found");

  model::v1::TaskGuidRequest empty;
  ExpectError(service_->ResolvingTask(empty, ctx_), Error::InvalidRequest,
              "Invalid field: task_guid");
  ExpectError(service_->DeleteTask(empty, ctx_), Error::InvalidRequest, "Invalid field: task_guid");
}

TEST_F(ServiceTest, TaskReadsFilterAndDowngradeForR2) {
  model::v1::DesireTaskRequest request;
  request.set_task_guid("layered");
  request.set_domain(kDomain);
  *request.mutable_task_definition() = NewTaskDefinition(false);
  request.mutable_task_definition()->set_legacy_download_user("vcap");
  *request.mutable_task_definition()->add_image_layers() = Layer("shared", ImageLayer::SHARED, "");
  *request.mutable_task_definition()->add_image_layers() =
      Layer("exclusive", ImageLayer::EXCLUSIVE, "fff");
  ExpectOk(service_->DesireTask(request, ctx_));
  DesireTask("other", false);
  StartTask("other", "cell-9");

  model::v1::TasksRequest by_cell;
  by_cell.set_cell_id("cell-9");
  model::v1::TasksResponse on_cell = service_->Tasks(by_cell, ctx_);
  ExpectOk(on_cell);
  ASSERT_THAT(on_cell.tasks(), SizeIs(1));
  EXPECT_EQ(on_cell.tasks(0).task_guid(), "other");

  model::v1::TasksRequest all;
  all.set_domain(kDomain);
  model::v1::TasksResponse v3 = service_->Tasks(all, ctx_);
  ASSERT_THAT(v3.tasks(), SizeIs(2));
  EXPECT_THAT(v3.tasks(0).task_definition().image_layers(), SizeIs(2));

  model::v1::TasksResponse v2 = service_->Tasks(all, ctx_, PayloadVersion::kV2);
  ExpectOk(v2);
  ASSERT_THAT(v2.tasks(), SizeIs(2));
  const model::v1::TaskDefinition& downgraded = v2.tasks(0).task_definition();
  EXPECT_THAT(downgraded.image_layers(), IsEmpty());
  ASSERT_THAT(downgraded.cached_dependencies(), SizeIs(1));
  EXPECT_EQ(downgraded.cached_dependencies(0).cache_key(), "https://blobs.example.com/shared");
  ASSERT_TRUE(downgraded.action().has_serial_action());
  EXPECT_EQ(downgraded.action().serial_action().actions(1).run_action().path(), "/bin/task");

  model::v1::TaskByGuidRequest get;
  get.set_task_guid("layered");
  model::v1::TaskResponse one = service_->TaskByGuid(get, ctx_, PayloadVersion::kV2);
  ExpectOk(one);
  EXPECT_THAT(one.task().task_definition().image_layers(), IsEmpty());
  get.clear_task_guid();
  ExpectError(service_->TaskByGuid(get, ctx_), Error::InvalidRequest, "Invalid field: task_guid");
}

// -----------------------------------------------------------------------------
// Downgrades, metrics guid and start requests (pure functions).
// -----------------------------------------------------------------------------

TEST(DowngradeDesiredLrpTest, V3IsUnchanged) {
  DesiredLRP lrp = NewLrp("web", 1);
  *lrp.add_image_layers() = Layer("shared", ImageLayer::SHARED, "abc");
  DesiredLRP same = DowngradeDesiredLrp(lrp, PayloadVersion::kV3);
  EXPECT_EQ(same.SerializeAsString(), lrp.SerializeAsString());
}

TEST(DowngradeDesiredLrpTest, V2TurnsLayersIntoDependenciesAndDownloads) {
  DesiredLRP lrp = NewLrp("web", 1);
  lrp.set_legacy_download_user("vcap");
  lrp.mutable_setup()->mutable_run_action()->set_path("/setup");
  model::v1::CachedDependency* existing = lrp.add_cached_dependencies();
  existing->set_name("buildpack");
  existing->set_from("http://b");
  existing->set_to("/tmp/b");
  existing->set_cache_key("bp");
  *lrp.add_image_layers() = Layer("shared-digest", ImageLayer::SHARED, "abc");
  *lrp.add_image_layers() = Layer("shared-plain", ImageLayer::SHARED, "");
  *lrp.add_image_layers() = Layer("exclusive", ImageLayer::EXCLUSIVE, "def");

  DesiredLRP v2 = DowngradeDesiredLrp(lrp, PayloadVersion::kV2);
  EXPECT_THAT(v2.image_layers(), IsEmpty());
  ASSERT_THAT(v2.cached_dependencies(), SizeIs(3));
  const model::v1::CachedDependency& digest = v2.cached_dependencies(0);
  EXPECT_EQ(digest.name(), "shared-digest");
  EXPECT_EQ(digest.from(), "https://blobs.example.com/shared-digest");
  EXPECT_EQ(digest.to(), "/layers/shared-digest");
  EXPECT_EQ(digest.checksum_algorithm(), "sha256");
  EXPECT_EQ(digest.checksum_value(), "abc");
  EXPECT_EQ(digest.cache_key(), "sha256:abc");
  const model::v1::CachedDependency& plain = v2.cached_dependencies(1);
  EXPECT_EQ(plain.checksum_algorithm(), "");
  EXPECT_EQ(plain.cache_key(), "https://blobs.example.com/shared-plain");
  EXPECT_EQ(v2.cached_dependencies(2).name(), "buildpack");  // Existing ones last.

  // Serial(Parallel(downloads), setup).
  ASSERT_TRUE(v2.setup().has_serial_action());
  const auto& serial = v2.setup().serial_action().actions();
  ASSERT_THAT(serial, SizeIs(2));
  ASSERT_THAT(serial[0].parallel_action().actions(), SizeIs(1));
  const model::v1::DownloadAction& download =
      serial[0].parallel_action().actions(0).download_action();
  EXPECT_EQ(download.artifact(), "exclusive");
  EXPECT_EQ(download.from(), "https://blobs.example.com/exclusive");
  EXPECT_EQ(download.to(), "/layers/exclusive");
  EXPECT_EQ(download.cache_key(), "sha256:def");
  EXPECT_EQ(download.user(), "vcap");
  EXPECT_EQ(download.checksum_algorithm(), "sha256");
  EXPECT_EQ(download.checksum_value(), "def");
  EXPECT_EQ(serial[1].run_action().path(), "/setup");
  // Nothing else changes.
  EXPECT_EQ(v2.action().run_action().path(), "/app/start");
  EXPECT_EQ(v2.deprecated_start_timeout_s(), 0u);
}

TEST(DowngradeDesiredLrpTest, V2WithoutSetupUsesTheParallelDownloadsAlone) {
  DesiredLRP lrp = NewLrp("web", 1);
  *lrp.add_image_layers() = Layer("exclusive", ImageLayer::EXCLUSIVE, "def");
  DesiredLRP v2 = DowngradeDesiredLrp(lrp, PayloadVersion::kV2);
  ASSERT_TRUE(v2.setup().has_parallel_action());
  EXPECT_THAT(v2.setup().parallel_action().actions(), SizeIs(1));
  EXPECT_THAT(v2.cached_dependencies(), IsEmpty());

  DesiredLRP no_layers = DowngradeDesiredLrp(NewLrp("web", 1), PayloadVersion::kV2);
  EXPECT_FALSE(no_layers.has_setup());
}

TEST(DowngradeDesiredLrpTest, V0FillsDeprecatedTimeoutsAndFoldsDependenciesIntoSetup) {
  DesiredLRP lrp = NewLrp("web", 1);
  lrp.set_legacy_download_user("vcap");
  lrp.set_start_timeout_ms(90500);
  model::v1::TimeoutAction* timeout = lrp.mutable_monitor()->mutable_timeout_action();
  timeout->set_timeout_ms(2000);
  timeout->mutable_action()->mutable_run_action()->set_path("/check");
  model::v1::SerialAction* setup = lrp.mutable_setup()->mutable_serial_action();
  model::v1::TimeoutAction* nested = setup->add_actions()->mutable_timeout_action();
  nested->set_timeout_ms(30);
  nested->mutable_action()->mutable_run_action()->set_path("/setup");
  model::v1::CachedDependency* dependency = lrp.add_cached_dependencies();
  dependency->set_name("buildpack");
  dependency->set_from("http://b");
  dependency->set_to("/tmp/b");
  dependency->set_cache_key("bp");
  dependency->set_log_source("LOG");
  dependency->set_checksum_algorithm("sha256");
  dependency->set_checksum_value("123");
  *lrp.add_image_layers() = Layer("shared", ImageLayer::SHARED, "abc");

  DesiredLRP v0 = DowngradeDesiredLrp(lrp, PayloadVersion::kV0);
  EXPECT_EQ(v0.deprecated_start_timeout_s(), 90u);
  EXPECT_EQ(v0.monitor().timeout_action().deprecated_timeout_ns(), 2000000000);
  EXPECT_THAT(v0.cached_dependencies(), IsEmpty());
  EXPECT_THAT(v0.image_layers(), IsEmpty());

  // setup = Serial(Parallel(layer download, buildpack download), old setup).
  ASSERT_TRUE(v0.setup().has_serial_action());
  const auto& outer = v0.setup().serial_action().actions();
  ASSERT_THAT(outer, SizeIs(2));
  const auto& downloads = outer[0].parallel_action().actions();
  ASSERT_THAT(downloads, SizeIs(2));
  EXPECT_EQ(downloads[0].download_action().artifact(), "shared");
  EXPECT_EQ(downloads[0].download_action().cache_key(), "sha256:abc");
  EXPECT_EQ(downloads[0].download_action().user(), "vcap");
  const model::v1::DownloadAction& buildpack = downloads[1].download_action();
  EXPECT_EQ(buildpack.artifact(), "buildpack");
  EXPECT_EQ(buildpack.from(), "http://b");
  EXPECT_EQ(buildpack.to(), "/tmp/b");
  EXPECT_EQ(buildpack.cache_key(), "bp");
  EXPECT_EQ(buildpack.log_source(), "LOG");
  EXPECT_EQ(buildpack.user(), "vcap");
  EXPECT_EQ(buildpack.checksum_algorithm(), "");  // Diego copies no checksum.
  const auto& old_setup = outer[1].serial_action().actions();
  ASSERT_THAT(old_setup, SizeIs(1));
  EXPECT_EQ(old_setup[0].timeout_action().deprecated_timeout_ns(), 30000000);
}

TEST(DowngradeDesiredLrpTest, V0ReplacesEmitProgressAndTryByTheirChild) {
  // Diego's SetDeprecatedTimeoutNs returns the child's result for these.
  DesiredLRP lrp = NewLrp("web", 1);
  model::v1::EmitProgressAction* emit = lrp.mutable_action()->mutable_emit_progress_action();
  emit->set_start_message("starting");
  model::v1::TimeoutAction* timeout = emit->mutable_action()->mutable_timeout_action();
  timeout->set_timeout_ms(5);
  timeout->mutable_action()->mutable_run_action()->set_path("/run");
  lrp.mutable_monitor()->mutable_try_action();  // A Try without a child.

  DesiredLRP v0 = DowngradeDesiredLrp(lrp, PayloadVersion::kV0);
  ASSERT_TRUE(v0.action().has_timeout_action());
  EXPECT_EQ(v0.action().timeout_action().deprecated_timeout_ns(), 5000000);
  EXPECT_EQ(v0.action().timeout_action().action().run_action().path(), "/run");
  EXPECT_FALSE(v0.has_monitor());
  EXPECT_FALSE(v0.has_setup());  // No dependencies, no setup.
}

TEST(DowngradeTaskTest, V2ConvertsLayersAndV3KeepsThem) {
  Task task;
  task.set_task_guid("t");
  *task.mutable_task_definition() = NewTaskDefinition(false);
  task.mutable_task_definition()->set_legacy_download_user("root");
  *task.mutable_task_definition()->add_image_layers() =
      Layer("exclusive", ImageLayer::EXCLUSIVE, "aaa");

  Task v3 = DowngradeTask(task, PayloadVersion::kV3);
  EXPECT_EQ(v3.SerializeAsString(), task.SerializeAsString());

  for (PayloadVersion version : {PayloadVersion::kV2, PayloadVersion::kV0}) {
    Task v2 = DowngradeTask(task, version);
    const model::v1::TaskDefinition& definition = v2.task_definition();
    EXPECT_THAT(definition.image_layers(), IsEmpty());
    EXPECT_THAT(definition.cached_dependencies(), IsEmpty());
    ASSERT_TRUE(definition.action().has_serial_action());
    const auto& steps = definition.action().serial_action().actions();
    ASSERT_THAT(steps, SizeIs(2));
    EXPECT_EQ(steps[0].parallel_action().actions(0).download_action().user(), "root");
    EXPECT_EQ(steps[1].run_action().path(), "/bin/task");
  }

  Task bare;
  bare.set_task_guid("no-definition");
  EXPECT_FALSE(DowngradeTask(bare, PayloadVersion::kV2).has_task_definition());
}

TEST(PopulateMetricsGuidTest, CopiesTheSourceIdIntoAnEmptyMetricsGuid) {
  DesiredLRP lrp;
  (*lrp.mutable_metric_tags())["source_id"].set_static_("app-guid");
  PopulateMetricsGuid(lrp);
  EXPECT_EQ(lrp.metrics_guid(), "app-guid");
}

TEST(PopulateMetricsGuidTest, AddsASourceIdTagForAMetricsGuid) {
  DesiredLRP lrp;
  lrp.set_metrics_guid("metrics");
  (*lrp.mutable_metric_tags())["other"].set_static_("x");
  PopulateMetricsGuid(lrp);
  ASSERT_TRUE(lrp.metric_tags().contains("source_id"));
  EXPECT_EQ(lrp.metric_tags().at("source_id").static_(), "metrics");
  EXPECT_EQ(lrp.metric_tags().at("other").static_(), "x");
}

TEST(PopulateMetricsGuidTest, LeavesBothWhenBothAreSet) {
  DesiredLRP lrp;
  lrp.set_metrics_guid("metrics");
  (*lrp.mutable_metric_tags())["source_id"].set_static_("source");
  PopulateMetricsGuid(lrp);
  EXPECT_EQ(lrp.metrics_guid(), "metrics");
  EXPECT_EQ(lrp.metric_tags().at("source_id").static_(), "source");

  DesiredLRP empty;
  PopulateMetricsGuid(empty);
  EXPECT_EQ(empty.metrics_guid(), "");
  EXPECT_THAT(empty.metric_tags(), IsEmpty());
}

TEST(StartRequestTest, FromSchedulingInfoUsesResourceAndVolumePlacement) {
  model::v1::DesiredLRPSchedulingInfo info;
  info.mutable_desired_lrp_key()->set_process_guid("web");
  info.mutable_desired_lrp_key()->set_domain("d");
  info.mutable_desired_lrp_resource()->set_memory_mb(64);
  info.mutable_desired_lrp_resource()->set_disk_mb(128);
  info.mutable_desired_lrp_resource()->set_max_pids(7);
  info.mutable_desired_lrp_resource()->set_root_fs("docker:///busybox");
  info.add_placementtags("a");
  info.add_placementtags("b");
  info.mutable_volume_placement()->add_driver_names("nfs");
  const int32_t indices[] = {4, 1};

  auction::LrpStartRequest request = LrpStartRequestFromSchedulingInfo(info, indices);
  EXPECT_EQ(request.process_guid, "web");
  EXPECT_EQ(request.domain, "d");
  EXPECT_THAT(request.indices, ElementsAre(4, 1));
  EXPECT_EQ(request.resource, (auction::Resource{64, 128, 7}));
  EXPECT_EQ(request.constraint.root_fs, "docker:///busybox");
  EXPECT_THAT(request.constraint.placement_tags, ElementsAre("a", "b"));
  EXPECT_THAT(request.constraint.volume_drivers, ElementsAre("nfs"));
}

TEST(StartRequestTest, FromDesiredLrpMatchesFromSchedulingInfo) {
  DesiredLRP lrp = NewLrp("web", 2);
  const int32_t indices[] = {0, 1};
  auction::LrpStartRequest request = LrpStartRequestFromDesiredLrp(lrp, indices);
  model::v1::DesiredLRPSchedulingInfo info;
  info.mutable_desired_lrp_key()->set_process_guid("web");
  info.mutable_desired_lrp_key()->set_domain(kDomain);
  info.mutable_desired_lrp_resource()->set_memory_mb(256);
  info.mutable_desired_lrp_resource()->set_disk_mb(1024);
  info.mutable_desired_lrp_resource()->set_max_pids(512);
  info.mutable_desired_lrp_resource()->set_root_fs("preloaded:cflinuxfs4");
  info.add_placementtags("blue");
  info.mutable_volume_placement()->add_driver_names("nfsdriver");
  EXPECT_EQ(request, LrpStartRequestFromSchedulingInfo(info, indices));
}

TEST(StartRequestTest, FromTaskUsesTheDefinition) {
  Task task;
  task.set_task_guid("t1");
  task.set_domain("d");
  *task.mutable_task_definition() = NewTaskDefinition(false);
  auction::TaskStartRequest request = TaskStartRequestFromTask(task);
  EXPECT_EQ(request.task_guid, "t1");
  EXPECT_EQ(request.domain, "d");
  EXPECT_EQ(request.resource, (auction::Resource{512, 2048, 64}));
  EXPECT_EQ(request.constraint.root_fs, "preloaded:cflinuxfs4");
  EXPECT_THAT(request.constraint.placement_tags, ElementsAre("green"));
  EXPECT_THAT(request.constraint.volume_drivers, ElementsAre("smbdriver"));
  EXPECT_EQ(request.state, "");
  EXPECT_FALSE(request.failed);
}

}  // namespace
}  // namespace diego::bbs
