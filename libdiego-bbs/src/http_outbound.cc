// Copyright 2026 The libdiego Authors.
//
// The HTTP implementations of outbound.h: the auctioneer client (Diego's
// auctioneer `client.go`) and the rep client and its per-cell factory
// (Diego's rep `client.go`, `routes.go`).

#include <httplib.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "diego/auction/json.h"
#include "diego/base/status_macros.h"
#include "diego/bbs/outbound.h"
#include "diego/base/internal/http_url.h"

namespace diego::bbs {
namespace {

namespace v1 = ::diego::model::v1;

constexpr char kJsonContentType[] = "application/json";
const std::string kEmpty;

// Idle keep-alive connections kept per target (Go's DefaultMaxIdleConnsPerHost
// is 2; the auctioneer gets a few more, the BBS calls it from many threads).
constexpr size_t kMaxIdleAuctioneerConnections = 8;
constexpr size_t kMaxIdleRepConnections = 2;

// An auctioneer's or rep's base URL (http_url.h).
using Target = base_internal::HttpBaseUrl;

absl::StatusOr<Target> ParseTargetUrl(absl::string_view url) {
  absl::StatusOr<Target> target = base_internal::ParseHttpBaseUrl(url);
  if (!target.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid url '", url, "': ", target.status().message()));
  }
  return target;
}

// Percent-encodes one path segment: everything but RFC 3986 unreserved
// characters.
std::string EscapeSegment(absl::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (char c : segment) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

void SetTimeouts(httplib::ClientImpl& client, absl::Duration timeout) {
  const int64_t micros = absl::ToInt64Microseconds(timeout);
  const time_t sec = static_cast<time_t>(micros / 1000000);
  const time_t usec = static_cast<time_t>(micros % 1000000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
}

// A keep-alive connection pool to one target. Thread-safe: each call takes
// a connection of its own.
class ConnectionPool {
 public:
  ConnectionPool(Target target, HttpClientOptions options, size_t max_idle)
      : target_(std::move(target)), options_(std::move(options)), max_idle_(max_idle) {}

  const Target& target() const { return target_; }

  // Validates the TLS material by building one connection.
  absl::Status Check() {
    if (!target_.tls) return absl::OkStatus();
    if (options_.cert_file.empty() != options_.key_file.empty()) {
      return absl::InvalidArgumentError("cert_file and key_file go together");
    }
    std::unique_ptr<httplib::ClientImpl> probe = NewConnection();
    if (!probe->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot load client certificate '",
                                                     options_.cert_file, "' / key '",
                                                     options_.key_file, "'"));
    }
    Release(std::move(probe));
    return absl::OkStatus();
  }

  // Sends one request and returns the response's status code. `what` names
  // the call in errors ("POST http://host/v1/lrps").
  // `body` null = no body; `content_type` "" = no Content-Type header.
  absl::StatusOr<int> Send(absl::string_view method, const std::string& path,
                           const std::string* body, absl::string_view content_type,
                           absl::string_view what) {
    std::unique_ptr<httplib::ClientImpl> client = Acquire();
    const std::string full_path = absl::StrCat(target_.prefix, path);
    for (int fresh = 0;; ++fresh) {
      const bool reused = client->is_socket_open() > 0;
      const absl::Time start = absl::Now();
      httplib::Result result = [&]() -> httplib::Result {
        try {
          const std::string& payload = body == nullptr ? kEmpty : *body;
          const std::string type(content_type);
          if (method == "PUT") {
            return type.empty() ? client->Put(full_path) : client->Put(full_path, payload, type);
          }
          return type.empty() ? client->Post(full_path) : client->Post(full_path, payload, type);
        } catch (const std::exception&) {
          return httplib::Result(nullptr, httplib::Error::Unknown);
        }
      }();
      if (result) {
        const int status = result->status;
        Release(std::move(client));
        return status;
      }
      const httplib::Error error = result.error();
      const bool io_error = error == httplib::Error::Read || error == httplib::Error::Write;
      const bool timed_out = error == httplib::Error::ConnectionTimeout ||
                             (io_error && absl::Now() - start >= options_.timeout);
      if (!timed_out && io_error && reused && fresh == 0) continue;  // Stale keep-alive.
      Release(std::move(client));
      if (timed_out) {
        return absl::DeadlineExceededError(
            absl::StrCat(what, ": timed out after ", absl::FormatDuration(options_.timeout)));
      }
      return absl::UnavailableError(absl::StrCat(what, ": ", httplib::to_string(error), " error"));
    }
  }

 private:
  std::unique_ptr<httplib::ClientImpl> NewConnection() {
    std::unique_ptr<httplib::ClientImpl> client;
    if (target_.tls) {
      std::unique_ptr<httplib::SSLClient> ssl =
          options_.cert_file.empty()
              ? std::make_unique<httplib::SSLClient>(target_.host, target_.port)
              : std::make_unique<httplib::SSLClient>(target_.host, target_.port, options_.cert_file,
                                                     options_.key_file);
      if (!options_.ca_file.empty()) ssl->set_ca_cert_path(options_.ca_file);
      ssl->enable_server_certificate_verification(true);
      client = std::move(ssl);
    } else {
      client = std::make_unique<httplib::ClientImpl>(target_.host, target_.port);
    }
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
    SetTimeouts(*client, options_.timeout);
    return client;
  }

  std::unique_ptr<httplib::ClientImpl> Acquire() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        std::unique_ptr<httplib::ClientImpl> client = std::move(idle_.back());
        idle_.pop_back();
        return client;
      }
    }
    return NewConnection();
  }

  void Release(std::unique_ptr<httplib::ClientImpl> client) {
    {
      absl::MutexLock lock(&mu_);
      if (idle_.size() < max_idle_) {
        idle_.push_back(std::move(client));
        return;
      }
    }
    client.reset();
  }

  const Target target_;
  const HttpClientOptions options_;
  const size_t max_idle_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<httplib::ClientImpl>> idle_ ABSL_GUARDED_BY(mu_);
};

absl::Status ValidateOptions(const HttpClientOptions& options) {
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout must be positive");
  }
  return absl::OkStatus();
}

// Any 2xx is success; another status is kUnavailable.
absl::Status Expect2xx(absl::StatusOr<int> status, absl::string_view what) {
  DIEGO_RETURN_IF_ERROR(status.status());
  if (*status < 200 || *status > 299) {
    return absl::UnavailableError(absl::StrCat(what, ": unexpected status ", *status));
  }
  return absl::OkStatus();
}

}  // namespace

// -----------------------------------------------------------------------------
// HttpAuctioneerClient.
// -----------------------------------------------------------------------------

struct HttpAuctioneerClient::Impl {
  Impl(Target target, const HttpClientOptions& options)
      : pool(std::move(target), options, kMaxIdleAuctioneerConnections) {}
  ConnectionPool pool;

  absl::Status Post(absl::string_view path, const std::string& body) {
    const std::string what = absl::StrCat("POST ", pool.target().base_url, path);
    return Expect2xx(pool.Send("POST", std::string(path), &body, kJsonContentType, what), what);
  }
};

absl::StatusOr<std::unique_ptr<HttpAuctioneerClient>> HttpAuctioneerClient::Create(
    absl::string_view url, const HttpClientOptions& options) {
  DIEGO_RETURN_IF_ERROR(ValidateOptions(options));
  DIEGO_ASSIGN_OR_RETURN(Target target, ParseTargetUrl(url));
  auto impl = std::make_unique<Impl>(std::move(target), options);
  DIEGO_RETURN_IF_ERROR(impl->pool.Check());
  return std::unique_ptr<HttpAuctioneerClient>(new HttpAuctioneerClient(std::move(impl)));
}

HttpAuctioneerClient::HttpAuctioneerClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpAuctioneerClient::~HttpAuctioneerClient() = default;

absl::Status HttpAuctioneerClient::RequestLrpAuctions(
    absl::Span<const auction::LrpStartRequest> requests) {
  if (requests.empty()) return absl::OkStatus();
  const std::string body = auction::LrpStartRequestsToJson(
      std::vector<auction::LrpStartRequest>(requests.begin(), requests.end()));
  return impl_->Post("/v1/lrps", body);
}

absl::Status HttpAuctioneerClient::RequestTaskAuctions(
    absl::Span<const auction::TaskStartRequest> requests) {
  if (requests.empty()) return absl::OkStatus();
  const std::string body = auction::TaskStartRequestsToJson(
      std::vector<auction::TaskStartRequest>(requests.begin(), requests.end()));
  return impl_->Post("/v1/tasks", body);
}

// -----------------------------------------------------------------------------
// HttpRepClient.
// -----------------------------------------------------------------------------

struct HttpRepClient::Impl {
  Impl(Target target, const HttpClientOptions& options)
      : pool(std::move(target), options, kMaxIdleRepConnections) {}
  ConnectionPool pool;

  std::string What(absl::string_view method, absl::string_view path) const {
    return absl::StrCat(method, " ", pool.target().base_url, path);
  }
};

absl::StatusOr<std::unique_ptr<HttpRepClient>> HttpRepClient::Create(
    absl::string_view rep_url, const HttpClientOptions& options) {
  DIEGO_RETURN_IF_ERROR(ValidateOptions(options));
  DIEGO_ASSIGN_OR_RETURN(Target target, ParseTargetUrl(rep_url));
  auto impl = std::make_unique<Impl>(std::move(target), options);
  DIEGO_RETURN_IF_ERROR(impl->pool.Check());
  return std::unique_ptr<HttpRepClient>(new HttpRepClient(std::move(impl)));
}

HttpRepClient::HttpRepClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpRepClient::~HttpRepClient() = default;

absl::Status HttpRepClient::StopLrpInstance(const v1::ActualLRPKey& key,
                                            const v1::ActualLRPInstanceKey& instance_key) {
  const std::string path =
      absl::StrCat("/v1/lrps/", EscapeSegment(key.process_guid()), "/instances/",
                   EscapeSegment(instance_key.instance_guid()), "/stop");
  const std::string what = impl_->What("POST", path);
  // Diego's rep client sends no body but a JSON content type here.
  return Expect2xx(impl_->pool.Send("POST", path, nullptr, kJsonContentType, what), what);
}

absl::Status HttpRepClient::CancelTask(absl::string_view task_guid) {
  const std::string path = absl::StrCat("/v1/tasks/", EscapeSegment(task_guid), "/cancel");
  const std::string what = impl_->What("POST", path);
  return Expect2xx(impl_->pool.Send("POST", path, nullptr, "", what), what);
}

namespace {

// The rep's `LRPUpdate` JSON, in Go's field order: instance_guid, the
// embedded ActualLRPKey (process_guid, index, domain), internal_routes
// (`null` when there are none: Go's nil slice), metric_tags (`null` when
// `with_tags` is false).
std::string LrpUpdateJson(const v1::ActualLRPKey& key, const v1::ActualLRPInstanceKey& instance_key,
                          absl::Span<const v1::ActualLRPInternalRoute> internal_routes,
                          const std::map<std::string, std::string>* metric_tags) {
  nlohmann::ordered_json update = nlohmann::ordered_json::object();
  update["instance_guid"] = instance_key.instance_guid();
  update["process_guid"] = key.process_guid();
  update["index"] = key.index();
  update["domain"] = key.domain();
  if (internal_routes.empty()) {
    update["internal_routes"] = nullptr;
  } else {
    nlohmann::ordered_json routes = nlohmann::ordered_json::array();
    for (const v1::ActualLRPInternalRoute& route : internal_routes) {
      nlohmann::ordered_json entry = nlohmann::ordered_json::object();
      entry["hostname"] = route.hostname();
      routes.push_back(std::move(entry));
    }
    update["internal_routes"] = std::move(routes);
  }
  if (metric_tags == nullptr) {
    update["metric_tags"] = nullptr;
  } else {
    nlohmann::ordered_json tags = nlohmann::ordered_json::object();
    for (const auto& [name, value] : *metric_tags) tags[name] = value;  // std::map: sorted.
    update["metric_tags"] = std::move(tags);
  }
  return update.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

absl::Status HttpRepClient::UpdateLrpInstance(
    const v1::ActualLRPKey& key, const v1::ActualLRPInstanceKey& instance_key,
    absl::Span<const v1::ActualLRPInternalRoute> internal_routes,
    const std::map<std::string, std::string>& metric_tags) {
  const std::string segments = absl::StrCat(EscapeSegment(key.process_guid()), "/instances/",
                                            EscapeSegment(instance_key.instance_guid()));
  const std::string path = absl::StrCat("/v2/lrps/", segments);
  const std::string body = LrpUpdateJson(key, instance_key, internal_routes, &metric_tags);
  const std::string what = impl_->What("PUT", path);
  DIEGO_ASSIGN_OR_RETURN(int status, impl_->pool.Send("PUT", path, &body, kJsonContentType, what));
  if (status == 404) {
    // As Diego's rep client: a rep without the v2 route is an older rep that
    // will be updated soon. Only internal routes can be sent to its v1 route;
    // a 404 there too is not an error.
    if (internal_routes.empty()) return absl::OkStatus();
    const std::string legacy_path = absl::StrCat("/v1/lrps/", segments);
    const std::string legacy_body = LrpUpdateJson(key, instance_key, internal_routes, nullptr);
    const std::string legacy_what = impl_->What("PUT", legacy_path);
    DIEGO_ASSIGN_OR_RETURN(int legacy_status, impl_->pool.Send("PUT", legacy_path, &legacy_body,
                                                               kJsonContentType, legacy_what));
    if (legacy_status == 404) return absl::OkStatus();
    return Expect2xx(legacy_status, legacy_what);
  }
  return Expect2xx(status, what);
}

// -----------------------------------------------------------------------------
// HttpRepClientFactory.
// -----------------------------------------------------------------------------

struct HttpRepClientFactory::Impl {
  HttpClientOptions options;
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::shared_ptr<RepClient>> clients ABSL_GUARDED_BY(mu);
};

HttpRepClientFactory::HttpRepClientFactory(HttpClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

HttpRepClientFactory::~HttpRepClientFactory() = default;

absl::StatusOr<std::shared_ptr<RepClient>> HttpRepClientFactory::ForCell(
    const v1::CellPresence& cell) {
  std::string url = cell.rep_url();
  if (url.empty()) {
    if (cell.rep_address().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cell '", cell.cell_id(), "' has neither rep_url nor rep_address"));
    }
    // Diego's presences carry rep_address as a URL; accept a bare host:port.
    url = absl::StrContains(cell.rep_address(), "://")
              ? cell.rep_address()
              : absl::StrCat("http://", cell.rep_address());
  }
  absl::MutexLock lock(&impl_->mu);
  auto it = impl_->clients.find(url);
  if (it != impl_->clients.end()) return it->second;
  absl::StatusOr<std::unique_ptr<HttpRepClient>> client =
      HttpRepClient::Create(url, impl_->options);
  if (!client.ok()) {
    return absl::Status(client.status().code(),
                        absl::StrCat("cell '", cell.cell_id(), "': ", client.status().message()));
  }
  if (impl_->clients.size() >= kMaxCachedClients) {
    // Dropped clients close their idle connections; one still in use lives
    // on with its holder.
    for (auto it = impl_->clients.begin(); it != impl_->clients.end();) {
      if (it->second.use_count() == 1) {
        impl_->clients.erase(it++);
      } else {
        ++it;
      }
    }
  }
  std::shared_ptr<RepClient> shared(std::move(*client));
  impl_->clients.emplace(url, shared);
  return shared;
}

}  // namespace diego::bbs
