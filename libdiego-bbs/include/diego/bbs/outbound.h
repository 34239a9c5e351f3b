// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: outbound.h
// -----------------------------------------------------------------------------
//
// What the BBS calls: the auctioneer (start requests) and reps (stop an LRP
// instance, cancel a task, update an instance's internal routes / metric
// tags). Seams with real HTTP implementations here and fakes in
// libdiego-testing (`fakes::FakeAuctioneerClient`, `fakes::FakeRepClient`).
//
// Wire shapes (diego-spec.md 4.1, 5.2, Appendix A):
//   auctioneer  POST <url>/v1/lrps   JSON array of LRPStartRequest  -> 202
//               POST <url>/v1/tasks  JSON array of TaskStartRequest -> 202
//   rep         POST <rep_url>/v1/lrps/<process_guid>/instances/<instance_guid>/stop -> 202
//               POST <rep_url>/v1/tasks/<task_guid>/cancel                          -> 202
//               PUT  <rep_url>/v2/lrps/<process_guid>/instances/<instance_guid>
//                    JSON {"internal_routes":[{"hostname":..}],"metric_tags":{..}} -> 202
// Path segments are URL-escaped. Any 2xx is success; another status is
// kUnavailable "<what>: unexpected status N"; a transport failure is
// kUnavailable naming it; every call has a timeout (kDeadlineExceeded).
//
// Thread-safety: implementations are thread-safe.

#ifndef DIEGO_BBS_OUTBOUND_H_
#define DIEGO_BBS_OUTBOUND_H_

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "diego/auction/types.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/task.pb.h"

namespace diego::bbs {

class AuctioneerClient {
 public:
  virtual ~AuctioneerClient() = default;
  // Empty input: OK without a request.
  virtual absl::Status RequestLrpAuctions(
      absl::Span<const auction::LrpStartRequest> requests) = 0;
  virtual absl::Status RequestTaskAuctions(
      absl::Span<const auction::TaskStartRequest> requests) = 0;
};

class RepClient {
 public:
  virtual ~RepClient() = default;
  virtual absl::Status StopLrpInstance(const model::v1::ActualLRPKey& key,
                                       const model::v1::ActualLRPInstanceKey& instance_key) = 0;
  virtual absl::Status CancelTask(absl::string_view task_guid) = 0;
  virtual absl::Status UpdateLrpInstance(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      absl::Span<const model::v1::ActualLRPInternalRoute> internal_routes,
      const std::map<std::string, std::string>& metric_tags) = 0;
};

// Makes (or reuses) a RepClient for a cell, from its presence (`rep_url`,
// falling back to `rep_address`).
class RepClientFactory {
 public:
  virtual ~RepClientFactory() = default;
  virtual absl::StatusOr<std::shared_ptr<RepClient>> ForCell(
      const model::v1::CellPresence& cell) = 0;
};

// Building start requests from stored records (Diego's
// `auctioneer.NewLRPStartRequestFromSchedulingInfo` / `NewTaskStartRequestFromModel`).
auction::LrpStartRequest LrpStartRequestFromSchedulingInfo(
    const model::v1::DesiredLRPSchedulingInfo& info, absl::Span<const int32_t> indices);
auction::LrpStartRequest LrpStartRequestFromDesiredLrp(const model::v1::DesiredLRP& lrp,
                                                       absl::Span<const int32_t> indices);
auction::TaskStartRequest TaskStartRequestFromTask(const model::v1::Task& task);

// HTTP implementations (cpp-httplib; http:// or https:// with optional
// client certificate).
struct HttpClientOptions {
  absl::Duration timeout = absl::Seconds(10);  // Diego's communication_timeout.
  // TLS (used for https:// URLs). Empty = system defaults / no client cert.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

class HttpAuctioneerClient final : public AuctioneerClient {
 public:
  // `url`: "http://host:port" (or https).
  static absl::StatusOr<std::unique_ptr<HttpAuctioneerClient>> Create(
      absl::string_view url, const HttpClientOptions& options);
  ~HttpAuctioneerClient() override;

  absl::Status RequestLrpAuctions(absl::Span<const auction::LrpStartRequest> requests) override;
  absl::Status RequestTaskAuctions(absl::Span<const auction::TaskStartRequest> requests) override;

 private:
  struct Impl;
  explicit HttpAuctioneerClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class HttpRepClient final : public RepClient {
 public:
  static absl::StatusOr<std::unique_ptr<HttpRepClient>> Create(absl::string_view rep_url,
                                                               const HttpClientOptions& options);
  ~HttpRepClient() override;

  absl::Status StopLrpInstance(const model::v1::ActualLRPKey& key,
                               const model::v1::ActualLRPInstanceKey& instance_key) override;
  absl::Status CancelTask(absl::string_view task_guid) override;
  absl::Status UpdateLrpInstance(const model::v1::ActualLRPKey& key,
                                 const model::v1::ActualLRPInstanceKey& instance_key,
                                 absl::Span<const model::v1::ActualLRPInternalRoute> internal_routes,
                                 const std::map<std::string, std::string>& metric_tags) override;

 private:
  struct Impl;
  explicit HttpRepClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Caches one HttpRepClient per rep URL. The cache holds at most
// `kMaxCachedClients` URLs: when a new URL would exceed it, clients no caller
// still holds are dropped (with their idle connections), so cells that come
// and go do not accumulate clients and sockets.
class HttpRepClientFactory final : public RepClientFactory {
 public:
  static constexpr size_t kMaxCachedClients = 1024;

  explicit HttpRepClientFactory(HttpClientOptions options);
  ~HttpRepClientFactory() override;
  absl::StatusOr<std::shared_ptr<RepClient>> ForCell(
      const model::v1::CellPresence& cell) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace diego::bbs

#endif  // DIEGO_BBS_OUTBOUND_H_
