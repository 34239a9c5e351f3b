// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: http_client.h
// -----------------------------------------------------------------------------
//
// `HttpGardenClient` implements `Client` by speaking Garden's HTTP protocol to
// a Garden server (ours, `GardenServer`, or Cloud Foundry's guardian) over a
// unix socket or TCP. Errors from the server come back as the typed statuses
// of errors.h; transport failures are Unavailable; a request that takes
// longer than `request_timeout` is DeadlineExceeded.

#ifndef DIEGO_GARDEN_HTTP_CLIENT_H_
#define DIEGO_GARDEN_HTTP_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "diego/garden/client.h"

namespace diego::garden {

struct HttpGardenClientOptions {
  std::string network = "unix";              // "unix" or "tcp"
  std::string address = "/tmp/garden.sock";  // socket path or "host:port"
  absl::Duration connect_timeout = absl::Seconds(5);
  // Bound on every request/response exchange (Run/Attach streams excluded:
  // those are bounded by Process::Wait's deadline).
  absl::Duration request_timeout = absl::Minutes(1);
};

class HttpGardenClient final : public Client {
 public:
  explicit HttpGardenClient(HttpGardenClientOptions options);
  ~HttpGardenClient() override;

  absl::Status Ping() override;
  absl::StatusOr<Capacity> GetCapacity() override;
  absl::StatusOr<std::unique_ptr<Container>> Create(const ContainerSpec& spec) override;
  absl::Status Destroy(absl::string_view handle) override;
  absl::StatusOr<std::vector<std::unique_ptr<Container>>> Containers(
      const Properties& filter) override;
  absl::StatusOr<std::unique_ptr<Container>> Lookup(absl::string_view handle) override;
  absl::StatusOr<BulkInfoResult> BulkInfo(const std::vector<std::string>& handles) override;
  absl::StatusOr<BulkMetricsResult> BulkMetrics(const std::vector<std::string>& handles) override;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_HTTP_CLIENT_H_
