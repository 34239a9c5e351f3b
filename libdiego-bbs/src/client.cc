// Copyright 2026 The libdiego Authors.

#include "diego/bbs/client.h"

#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"
#include "diego/bbs/events.h"
#include "diego/bbs/routes.h"
#include "diego/model/errors.h"
#include "diego/model/v1/actual_lrp_requests.pb.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/model/v1/desired_lrp_requests.pb.h"
#include "diego/model/v1/domain.pb.h"
#include "diego/model/v1/evacuation.pb.h"
#include "diego/model/v1/ping.pb.h"
#include "diego/model/v1/task_requests.pb.h"
#include "diego/model/wire.h"
#include "diego/base/internal/http_url.h"

namespace diego::bbs {
namespace {

namespace v1 = ::diego::model::v1;

constexpr char kProtoContentType[] = "application/x-protobuf";
constexpr char kTraceHeader[] = "X-Vcap-Request-Id";
constexpr char kRouterErrorHeader[] = "X-Cf-Routererror";

// Undelivered events an EventSource buffers before it stops reading the
// connection (TCP back-pressure then reaches the server, which drops a
// subscriber that falls 1024 events behind, as with Diego's client).
constexpr size_t kMaxBufferedEvents = 1024;

// Read timeout of an event stream: events may be far apart and the server
// sends no heartbeats. Stays below poll()'s INT_MAX milliseconds.
constexpr absl::Duration kStreamReadTimeout = absl::Hours(24 * 20);

// -----------------------------------------------------------------------------
// URLs and connections.
// -----------------------------------------------------------------------------

// The BBS's base URL (http_url.h).
using Endpoint = base_internal::HttpBaseUrl;

void SetTimeouts(httplib::ClientImpl& client, absl::Duration connect, absl::Duration read,
                 absl::Duration write) {
  auto split = [](absl::Duration d, time_t* sec, time_t* usec) {
    const int64_t micros = absl::ToInt64Microseconds(d);
    *sec = static_cast<time_t>(micros / 1000000);
    *usec = static_cast<time_t>(micros % 1000000);
  };
  time_t sec = 0;
  time_t usec = 0;
  split(connect, &sec, &usec);
  client.set_connection_timeout(sec, usec);
  split(read, &sec, &usec);
  client.set_read_timeout(sec, usec);
  split(write, &sec, &usec);
  client.set_write_timeout(sec, usec);
}

struct ConnectionSettings {
  Endpoint endpoint;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  absl::Duration timeout;
};

std::unique_ptr<httplib::ClientImpl> NewConnection(const ConnectionSettings& settings,
                                                   absl::Duration read_timeout, bool keep_alive) {
  std::unique_ptr<httplib::ClientImpl> client;
  const Endpoint& endpoint = settings.endpoint;
  if (endpoint.tls) {
    std::unique_ptr<httplib::SSLClient> ssl =
        settings.cert_file.empty()
            ? std::make_unique<httplib::SSLClient>(endpoint.host, endpoint.port)
            : std::make_unique<httplib::SSLClient>(endpoint.host, endpoint.port, settings.cert_file,
                                                   settings.key_file);
    if (!settings.ca_file.empty()) ssl->set_ca_cert_path(settings.ca_file);
    ssl->enable_server_certificate_verification(true);
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(endpoint.host, endpoint.port);
  }
  client->set_keep_alive(keep_alive);
  client->set_tcp_nodelay(true);
  SetTimeouts(*client, settings.timeout, read_timeout, settings.timeout);
  return client;
}

std::string MediaType(absl::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(content_type.substr(0, semicolon)));
}

// Runs an httplib call, turning an escaping exception into a failed result.
template <typename Fn>
httplib::Result Guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception&) {
    return httplib::Result(nullptr, httplib::Error::Unknown);
  }
}

absl::Status EndpointNotFound() {
  return model::BbsError(v1::Error::InvalidResponse, "Invalid Response with status code: 404");
}

bool IsEndpointNotFound(const absl::Status& status) {
  return model::HasBbsErrorType(status, v1::Error::InvalidResponse) &&
         status.message() == "Invalid Response with status code: 404";
}

template <typename Response>
absl::Status ResponseError(const Response& response) {
  if (response.has_error()) return model::FromBbsError(response.error());
  return absl::OkStatus();
}

template <typename T>
std::vector<T> TakeAll(google::protobuf::RepeatedPtrField<T>* field) {
  std::vector<T> out;
  out.reserve(field->size());
  for (T& item : *field) out.push_back(std::move(item));
  return out;
}

template <typename Field>
void AddAll(const Field& values, google::protobuf::RepeatedPtrField<std::string>* out) {
  out->Reserve(static_cast<int>(values.size()));
  for (const auto& value : values) out->Add(std::string(value));
}

}  // namespace

// -----------------------------------------------------------------------------
// Event decoding.
// -----------------------------------------------------------------------------

namespace {

template <typename T>
absl::StatusOr<StreamEvent> DecodeAs(absl::string_view id, absl::string_view type,
                                     absl::string_view payload) {
  T message;
  if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::DataLossError(absl::StrCat("invalid protobuf payload of type ", type,
                                            ": could not parse ", message.GetTypeName()));
  }
  return StreamEvent{std::string(id), std::string(type), BbsEventMessage(std::move(message))};
}

}  // namespace

absl::StatusOr<StreamEvent> DecodeStreamEvent(absl::string_view id, absl::string_view type,
                                              absl::string_view payload) {
  if (payload.empty()) {
    return absl::DataLossError(
        absl::StrCat("invalid protobuf payload of type ", type, ": event with no data"));
  }
  if (type == "desired_lrp_created") return DecodeAs<v1::DesiredLRPCreatedEvent>(id, type, payload);
  if (type == "desired_lrp_changed") return DecodeAs<v1::DesiredLRPChangedEvent>(id, type, payload);
  if (type == "desired_lrp_removed") return DecodeAs<v1::DesiredLRPRemovedEvent>(id, type, payload);
  if (type == "actual_lrp_created") return DecodeAs<v1::ActualLRPCreatedEvent>(id, type, payload);
  if (type == "actual_lrp_changed") return DecodeAs<v1::ActualLRPChangedEvent>(id, type, payload);
  if (type == "actual_lrp_removed") return DecodeAs<v1::ActualLRPRemovedEvent>(id, type, payload);
  if (type == "actual_lrp_crashed") return DecodeAs<v1::ActualLRPCrashedEvent>(id, type, payload);
  if (type == "actual_lrp_instance_created") {
    return DecodeAs<v1::ActualLRPInstanceCreatedEvent>(id, type, payload);
  }
  if (type == "actual_lrp_instance_changed") {
    return DecodeAs<v1::ActualLRPInstanceChangedEvent>(id, type, payload);
  }
  if (type == "actual_lrp_instance_removed") {
    return DecodeAs<v1::ActualLRPInstanceRemovedEvent>(id, type, payload);
  }
  if (type == "task_created") return DecodeAs<v1::TaskCreatedEvent>(id, type, payload);
  if (type == "task_changed") return DecodeAs<v1::TaskChangedEvent>(id, type, payload);
  if (type == "task_removed") return DecodeAs<v1::TaskRemovedEvent>(id, type, payload);
  return absl::UnimplementedError(kUnrecognizedEventType);
}

// -----------------------------------------------------------------------------
// EventSource.
// -----------------------------------------------------------------------------

struct EventSource::Impl {
  std::unique_ptr<httplib::ClientImpl> http;
  std::string what;  // "POST <url>" for messages.
  httplib::Request request;

  std::thread thread;
  absl::Notification connected;  // Response headers arrived, or the call failed.
  absl::Status connect_status;   // Written before `connected` is notified.
  absl::Notification done;       // The reader thread finished.

  SseParser parser;  // Reader thread only.

  absl::Mutex mu;
  std::deque<absl::StatusOr<StreamEvent>> queue ABSL_GUARDED_BY(mu);
  absl::Status end ABSL_GUARDED_BY(mu);  // OK while the stream runs.
  bool closed ABSL_GUARDED_BY(mu) = false;

  void Run();
  bool OnData(const char* data, size_t size);
  // Queues `item`, waiting for room. False once closed.
  bool Push(absl::StatusOr<StreamEvent> item);
};

bool EventSource::Impl::Push(absl::StatusOr<StreamEvent> item) {
  absl::MutexLock lock(&mu);
  auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return closed || queue.size() < kMaxBufferedEvents;
  };
  mu.Await(absl::Condition(&room));
  if (closed) return false;
  queue.push_back(std::move(item));
  return true;
}

bool EventSource::Impl::OnData(const char* data, size_t size) {
  const absl::Status fed = parser.Feed(absl::string_view(data, size));
  for (SseEvent& event : parser.TakeEvents()) {
    if (!Push(DecodeStreamEvent(event.id, event.type, event.data))) return false;
  }
  if (!fed.ok()) {
    // Bad framing or base64: Diego's client reports the event's payload as
    // invalid and goes on reading.
    if (!Push(absl::DataLossError(absl::StrCat("invalid protobuf payload: ", fed.message())))) {
      return false;
    }
  }
  absl::MutexLock lock(&mu);
  return !closed;
}

void EventSource::Impl::Run() {
  request.response_handler = [this](const httplib::Response& response) {
    if (response.status != 200) {
      connect_status = absl::UnavailableError(
          absl::StrCat(what, ": bad response from event source: status ", response.status));
      connected.Notify();
      return false;
    }
    connect_status = absl::OkStatus();
    connected.Notify();
    return true;
  };
  request.content_receiver = [this](const char* data, size_t size, uint64_t /*offset*/,
                                    uint64_t /*total*/) { return OnData(data, size); };
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  bool ok = false;
  try {
    ok = http->send(request, response, error);
  } catch (const std::exception&) {
    ok = false;
    error = httplib::Error::Unknown;
  }
  if (!connected.HasBeenNotified()) {
    connect_status =
        error == httplib::Error::ConnectionTimeout
            ? model::BbsError(v1::Error::Timeout, absl::StrCat(what, ": connection timed out"))
            : absl::UnavailableError(absl::StrCat(what, ": ", httplib::to_string(error), " error"));
    connected.Notify();
  } else {
    absl::MutexLock lock(&mu);
    if (end.ok()) {
      end = ok ? absl::UnavailableError(absl::StrCat(what, ": event stream ended (EOF)"))
               : absl::UnavailableError(absl::StrCat(
                     what, ": event stream ended: ", httplib::to_string(error), " error"));
    }
  }
  done.Notify();
}

EventSource::EventSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventSource::~EventSource() {
  Close();
  // `stop()` only reaches a socket that is open; repeat it until the reader
  // thread has left `send` (it may still have been connecting).
  while (!impl_->done.WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
    impl_->http->stop();
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

absl::StatusOr<StreamEvent> EventSource::Next() {
  Impl& impl = *impl_;
  absl::MutexLock lock(&impl.mu);
  auto ready = [&impl]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl.mu) {
    return impl.closed || !impl.queue.empty() || !impl.end.ok();
  };
  impl.mu.Await(absl::Condition(&ready));
  if (impl.closed) return absl::CancelledError("source closed");
  if (!impl.queue.empty()) {
    absl::StatusOr<StreamEvent> item = std::move(impl.queue.front());
    impl.queue.pop_front();
    return item;
  }
  return impl.end;
}

void EventSource::Close() {
  {
    absl::MutexLock lock(&impl_->mu);
    if (impl_->closed) return;
    impl_->closed = true;
    impl_->queue.clear();
  }
  impl_->http->stop();
}

// -----------------------------------------------------------------------------
// BbsClient.
// -----------------------------------------------------------------------------

struct BbsClient::Impl {
  ConnectionSettings settings;
  BbsClientOptions options;
  Clock* clock = nullptr;

  absl::Mutex mu;
  std::vector<std::unique_ptr<httplib::ClientImpl>> idle ABSL_GUARDED_BY(mu);

  std::unique_ptr<httplib::ClientImpl> Acquire() {
    {
      absl::MutexLock lock(&mu);
      if (!idle.empty()) {
        std::unique_ptr<httplib::ClientImpl> client = std::move(idle.back());
        idle.pop_back();
        return client;
      }
    }
    return NewConnection(settings, settings.timeout, /*keep_alive=*/true);
  }

  void Release(std::unique_ptr<httplib::ClientImpl> client) {
    {
      absl::MutexLock lock(&mu);
      if (idle.size() < static_cast<size_t>(options.max_idle_connections)) {
        idle.push_back(std::move(client));
        return;
      }
    }
    client.reset();  // Closes the connection, outside the lock.
  }

  absl::string_view TraceId(absl::string_view trace_id) const {
    return trace_id.empty() ? absl::string_view(options.trace_id) : trace_id;
  }

  // One attempt. `*retryable` tells whether a failure may be retried.
  absl::Status Attempt(const BbsRoute& route, const std::string& body, absl::string_view trace_id,
                       google::protobuf::Message* response, bool* retryable);

  // The call with retries.
  absl::Status Do(const BbsRoute& route, const std::string& body, absl::string_view trace_id,
                  google::protobuf::Message* response);

  // Looks the route up by name and calls it.
  absl::Status Call(absl::string_view route_name, const google::protobuf::Message* request,
                    google::protobuf::Message* response, absl::string_view trace_id);

  absl::StatusOr<std::unique_ptr<EventSource>> Subscribe(absl::string_view route_name,
                                                         absl::string_view cell_id,
                                                         absl::string_view trace_id);
};

absl::Status BbsClient::Impl::Attempt(const BbsRoute& route, const std::string& body,
                                      absl::string_view trace_id,
                                      google::protobuf::Message* response, bool* retryable) {
  *retryable = true;
  const std::string path = absl::StrCat(settings.endpoint.prefix, route.path);
  httplib::Headers headers;
  const absl::string_view trace = TraceId(trace_id);
  if (!trace.empty()) headers.emplace(kTraceHeader, std::string(trace));

  std::unique_ptr<httplib::ClientImpl> client = Acquire();
  httplib::Result result(nullptr, httplib::Error::Unknown);
  for (int fresh = 0;; ++fresh) {
    const bool reused = client->is_socket_open() > 0;
    const absl::Time start = absl::Now();
    result = Guarded([&] { return client->Post(path, headers, body, kProtoContentType); });
    if (result) break;
    const httplib::Error error = result.error();
    const absl::Duration elapsed = absl::Now() - start;
    const bool timed_out = error == httplib::Error::ConnectionTimeout ||
                           ((error == httplib::Error::Read || error == httplib::Error::Write) &&
                            elapsed >= settings.timeout);
    if (!timed_out && reused && fresh == 0 &&
        (error == httplib::Error::Read || error == httplib::Error::Write)) {
      continue;  // The server closed the idle connection: once more, fresh.
    }
    Release(std::move(client));
    const std::string what =
        absl::StrCat(route.method, " ", settings.endpoint.base_url, route.path);
    if (timed_out) {
      return model::BbsError(
          v1::Error::Timeout,
          absl::StrCat(what, ": timed out after ", absl::FormatDuration(settings.timeout)));
    }
    return absl::UnavailableError(absl::StrCat(what, ": ", httplib::to_string(error), " error"));
  }
  const httplib::Response& res = *result;
  absl::Status status;
  if (res.has_header(kRouterErrorHeader)) {
    status = model::BbsError(v1::Error::RouterError, res.get_header_value(kRouterErrorHeader));
  } else if (MediaType(res.get_header_value("Content-Type")) == kProtoContentType) {
    if (!response->ParseFromString(res.body)) {
      response->Clear();
      status = model::BbsError(
          v1::Error::InvalidProtobufMessage,
          absl::StrCat("failed to unmarshal proto: could not parse ", response->GetTypeName()));
    }
  } else if (res.status == 404) {
    status = EndpointNotFound();
    *retryable = false;
  } else if (res.status > 299) {
    status = model::BbsError(v1::Error::InvalidResponse,
                             absl::StrCat("Invalid Response with status code: ", res.status));
  }
  Release(std::move(client));
  return status;
}

absl::Status BbsClient::Impl::Do(const BbsRoute& route, const std::string& body,
                                 absl::string_view trace_id, google::protobuf::Message* response) {
  for (int attempt = 1;; ++attempt) {
    response->Clear();
    bool retryable = false;
    absl::Status status = Attempt(route, body, trace_id, response, &retryable);
    if (status.ok() || !retryable || attempt >= options.request_attempts) return status;
    clock->Sleep(options.retry_interval);
  }
}

absl::Status BbsClient::Impl::Call(absl::string_view route_name,
                                   const google::protobuf::Message* request,
                                   google::protobuf::Message* response,
                                   absl::string_view trace_id) {
  const BbsRoute* route = FindBbsRoute(route_name);
  if (route == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown BBS route '", route_name, "'"));
  }
  if (route->method != "POST") {
    return absl::InvalidArgumentError(
        absl::StrCat("BBS route '", route_name, "' is not a POST route"));
  }
  const std::string body = request == nullptr ? std::string() : model::SerializeForWire(*request);
  return Do(*route, body, trace_id, response);
}

absl::StatusOr<std::unique_ptr<EventSource>> BbsClient::Impl::Subscribe(
    absl::string_view route_name, absl::string_view cell_id, absl::string_view trace_id) {
  const BbsRoute* route = FindBbsRoute(route_name);
  if (route == nullptr) {
    return absl::InternalError(absl::StrCat("BBS route '", route_name, "' is missing"));
  }
  auto impl = std::make_unique<EventSource::Impl>();
  impl->http = NewConnection(settings, kStreamReadTimeout, /*keep_alive=*/false);
  impl->what = absl::StrCat(route->method, " ", settings.endpoint.base_url, route->path);
  httplib::Request& request = impl->request;
  request.method = std::string(route->method);
  request.path = absl::StrCat(settings.endpoint.prefix, route->path);
  v1::EventsByCellId filter;
  filter.set_cell_id(std::string(cell_id));
  request.body = model::SerializeForWire(filter);
  request.headers.emplace("Content-Type", kProtoContentType);
  const absl::string_view trace = TraceId(trace_id);
  if (!trace.empty()) request.headers.emplace(kTraceHeader, std::string(trace));

  EventSource::Impl* raw = impl.get();
  std::unique_ptr<EventSource> source(new EventSource(std::move(impl)));
  raw->thread = std::thread([raw] { raw->Run(); });
  if (!raw->connected.WaitForNotificationWithTimeout(settings.timeout)) {
    return model::BbsError(
        v1::Error::Timeout,
        absl::StrCat(raw->what, ": no response within ", absl::FormatDuration(settings.timeout)));
  }
  if (!raw->connect_status.ok()) return raw->connect_status;
  return source;
}

BbsClient::BbsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BbsClient::~BbsClient() = default;

absl::StatusOr<std::unique_ptr<BbsClient>> BbsClient::Create(absl::string_view url,
                                                             const BbsClientOptions& options) {
  absl::StatusOr<Endpoint> endpoint = base_internal::ParseHttpBaseUrl(url);
  if (!endpoint.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid BBS url '", url, "': ", endpoint.status().message()));
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("BBS client timeout must be positive");
  }
  if (options.request_attempts < 1) {
    return absl::InvalidArgumentError("BBS client request_attempts must be at least 1");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("BBS client cert_file and key_file go together");
  }
  auto impl = std::make_unique<Impl>();
  impl->settings.endpoint = *std::move(endpoint);
  impl->settings.ca_file = options.ca_file;
  impl->settings.cert_file = options.cert_file;
  impl->settings.key_file = options.key_file;
  impl->settings.timeout = options.timeout;
  impl->options = options;
  impl->options.max_idle_connections = std::max(0, options.max_idle_connections);
  impl->clock = options.clock != nullptr ? options.clock : Clock::Real();
  if (impl->settings.endpoint.tls) {
    if (!options.ca_file.empty() && access(options.ca_file.c_str(), R_OK) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read BBS CA file '", options.ca_file, "'"));
    }
    std::unique_ptr<httplib::ClientImpl> probe =
        NewConnection(impl->settings, options.timeout, /*keep_alive=*/true);
    if (!probe->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot load the BBS client certificate '",
                                                     options.cert_file, "' / key '",
                                                     options.key_file, "'"));
    }
    impl->Release(std::move(probe));
  }
  return std::unique_ptr<BbsClient>(new BbsClient(std::move(impl)));
}

absl::Status BbsClient::Call(absl::string_view route_name, const google::protobuf::Message* request,
                             google::protobuf::Message* response, absl::string_view trace_id) {
  return impl_->Call(route_name, request, response, trace_id);
}

// -- Ping, domains, cells -------------------------------------------------------

absl::StatusOr<bool> BbsClient::Ping(absl::string_view trace_id) {
  v1::PingResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("Ping", nullptr, &response, trace_id));
  return response.available();
}

absl::StatusOr<std::vector<std::string>> BbsClient::Domains(absl::string_view trace_id) {
  v1::DomainsResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("Domains", nullptr, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return TakeAll(response.mutable_domains());
}

absl::Status BbsClient::UpsertDomain(absl::string_view domain, absl::Duration ttl,
                                     absl::string_view trace_id) {
  v1::UpsertDomainRequest request;
  request.set_domain(std::string(domain));
  const int64_t seconds = absl::ToInt64Seconds(ttl);
  request.set_ttl(
      static_cast<uint32_t>(std::clamp<int64_t>(seconds, 0, std::numeric_limits<uint32_t>::max())));
  v1::UpsertDomainResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("UpsertDomain", &request, &response, trace_id));
  return ResponseError(response);
}

absl::StatusOr<std::vector<v1::CellPresence>> BbsClient::Cells(absl::string_view trace_id) {
  v1::CellsResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("Cells", nullptr, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return TakeAll(response.mutable_cells());
}

// -- Actual LRPs: reads ---------------------------------------------------------

absl::StatusOr<std::vector<v1::ActualLRP>> BbsClient::ActualLrps(const ActualLrpFilter& filter,
                                                                 absl::string_view trace_id) {
  v1::ActualLRPsRequest request;
  request.set_domain(filter.domain);
  request.set_cell_id(filter.cell_id);
  request.set_process_guid(filter.process_guid);
  if (filter.index.has_value()) request.set_index(*filter.index);
  v1::ActualLRPsResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("ActualLRPs", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return TakeAll(response.mutable_actual_lrps());
}

absl::StatusOr<std::vector<v1::ActualLRP>> BbsClient::ActualLrpsByProcessGuids(
    absl::Span<const std::string> process_guids, absl::string_view trace_id) {
  v1::ActualLRPsByProcessGuidsRequest request;
  AddAll(process_guids, request.mutable_process_guids());
  v1::ActualLRPsByProcessGuidsResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("ActualLRPsByProcessGuids", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return TakeAll(response.mutable_actual_lrps());
}

absl::StatusOr<std::vector<v1::ActualLRPGroup>> BbsClient::ActualLrpGroups(
    const ActualLrpFilter& filter, absl::string_view trace_id) {
  v1::ActualLRPGroupsRequest request;
  request.set_domain(filter.domain);
  request.set_cell_id(filter.cell_id);
  v1::ActualLRPGroupsResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("ActualLRPGroups", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return TakeAll(response.mutable_actual_lrp_groups());
}

absl::StatusOr<std::vector<v1::ActualLRPGroup>> BbsClient::ActualLrpGroupsByProcessGuid(
    absl::string_view process_guid, absl::string_view trace_id) {
  v1::ActualLRPGroupsByProcessGuidRequest request;
  request.set_process_guid(std::string(process_guid));
  v1::ActualLRPGroupsResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("ActualLRPGroupsByProcessGuid", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return TakeAll(response.mutable_actual_lrp_groups());
}

absl::StatusOr<v1::ActualLRPGroup> BbsClient::ActualLrpGroupByProcessGuidAndIndex(
    absl::string_view process_guid, int32_t index, absl::string_view trace_id) {
  v1::ActualLRPGroupByProcessGuidAndIndexRequest request;
  request.set_process_guid(std::string(process_guid));
  request.set_index(index);
  v1::ActualLRPGroupResponse response;
  DIEGO_RETURN_IF_ERROR(
      impl_->Call("ActualLRPGroupsByProcessGuidAndIndex", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return std::move(*response.mutable_actual_lrp_group());
}

// -- Actual LRPs: lifecycle -------------------------------------------------------

absl::Status BbsClient::ClaimActualLrp(absl::string_view process_guid, int32_t index,
                                       const v1::ActualLRPInstanceKey& instance_key,
                                       absl::string_view trace_id) {
  v1::ClaimActualLRPRequest request;
  request.set_process_guid(std::string(process_guid));
  request.set_index(index);
  *request.mutable_actual_lrp_instance_key() = instance_key;
  v1::ActualLRPLifecycleResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("ClaimActualLRP", &request, &response, trace_id));
  return ResponseError(response);
}

absl::Status BbsClient::StartActualLrp(const v1::ActualLRPKey& key,
                                       const v1::ActualLRPInstanceKey& instance_key,
                                       const v1::ActualLRPNetInfo& net_info,
                                       absl::Span<const v1::ActualLRPInternalRoute> internal_routes,
                                       const std::map<std::string, std::string>& metric_tags,
                                       bool routable, absl::string_view availability_zone,
                                       absl::string_view trace_id) {
  v1::StartActualLRPRequest request;
  *request.mutable_actual_lrp_key() = key;
  *request.mutable_actual_lrp_instance_key() = instance_key;
  *request.mutable_actual_lrp_net_info() = net_info;
  for (const v1::ActualLRPInternalRoute& route : internal_routes) {
    *request.add_actual_lrp_internal_routes() = route;
  }
  request.mutable_metric_tags()->insert(metric_tags.begin(), metric_tags.end());
  request.set_routable(routable);
  request.set_availability_zone(std::string(availability_zone));
  v1::ActualLRPLifecycleResponse response;
  absl::Status status = impl_->Call("StartActualLRP", &request, &response, trace_id);
  if (IsEndpointNotFound(status)) {
    v1::StartActualLRPRequest legacy;
    *legacy.mutable_actual_lrp_key() = key;
    *legacy.mutable_actual_lrp_instance_key() = instance_key;
    *legacy.mutable_actual_lrp_net_info() = net_info;
    status = impl_->Call("StartActualLRP_r0", &legacy, &response, trace_id);
  }
  DIEGO_RETURN_IF_ERROR(status);
  return ResponseError(response);
}

absl::Status BbsClient::CrashActualLrp(const v1::ActualLRPKey& key,
                                       const v1::ActualLRPInstanceKey& instance_key,
                                       absl::string_view error_message,
                                       absl::string_view trace_id) {
  v1::CrashActualLRPRequest request;
  *request.mutable_actual_lrp_key() = key;
  *request.mutable_actual_lrp_instance_key() = instance_key;
  request.set_error_message(std::string(error_message));
  v1::ActualLRPLifecycleResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("CrashActualLRP", &request, &response, trace_id));
  return ResponseError(response);
}

absl::Status BbsClient::FailActualLrp(const v1::ActualLRPKey& key, absl::string_view error_message,
                                      absl::string_view trace_id) {
  v1::FailActualLRPRequest request;
  *request.mutable_actual_lrp_key() = key;
  request.set_error_message(std::string(error_message));
  v1::ActualLRPLifecycleResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("FailActualLRP", &request, &response, trace_id));
  return ResponseError(response);
}

absl::Status BbsClient::RemoveActualLrp(absl::string_view process_guid, int32_t index,
                                        const v1::ActualLRPInstanceKey& instance_key,
                                        absl::string_view trace_id) {
  v1::RemoveActualLRPRequest request;
  request.set_process_guid(std::string(process_guid));
  request.set_index(index);
  *request.mutable_actual_lrp_instance_key() = instance_key;
  v1::ActualLRPLifecycleResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("RemoveActualLRP", &request, &response, trace_id));
  return ResponseError(response);
}

absl::Status BbsClient::RetireActualLrp(const v1::ActualLRPKey& key, absl::string_view trace_id) {
  v1::RetireActualLRPRequest request;
  *request.mutable_actual_lrp_key() = key;
  v1::ActualLRPLifecycleResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("RetireActualLRP", &request, &response, trace_id));
  return ResponseError(response);
}

// -- Evacuation ---------------------------------------------------------------------

namespace {

// Diego's `doEvacRequest`: the route's default on a transport-level failure,
// else the server's keep_container with the response's error.
EvacuationReply MakeEvacuationReply(const absl::Status& call,
                                    const v1::EvacuationResponse& response,
                                    bool default_keep_container) {
  if (!call.ok()) return EvacuationReply{default_keep_container, call};
  return EvacuationReply{response.keep_container(), ResponseError(response)};
}

}  // namespace

EvacuationReply BbsClient::EvacuateClaimedActualLrp(const v1::ActualLRPKey& key,
                                                    const v1::ActualLRPInstanceKey& instance_key,
                                                    absl::string_view trace_id) {
  v1::EvacuateClaimedActualLRPRequest request;
  *request.mutable_actual_lrp_key() = key;
  *request.mutable_actual_lrp_instance_key() = instance_key;
  v1::EvacuationResponse response;
  const absl::Status status =
      impl_->Call("EvacuateClaimedActualLRP", &request, &response, trace_id);
  return MakeEvacuationReply(status, response, /*default_keep_container=*/true);
}

EvacuationReply BbsClient::EvacuateRunningActualLrp(
    const v1::ActualLRPKey& key, const v1::ActualLRPInstanceKey& instance_key,
    const v1::ActualLRPNetInfo& net_info,
    absl::Span<const v1::ActualLRPInternalRoute> internal_routes,
    const std::map<std::string, std::string>& metric_tags, bool routable,
    absl::string_view availability_zone, absl::string_view trace_id) {
  v1::EvacuateRunningActualLRPRequest request;
  *request.mutable_actual_lrp_key() = key;
  *request.mutable_actual_lrp_instance_key() = instance_key;
  *request.mutable_actual_lrp_net_info() = net_info;
  for (const v1::ActualLRPInternalRoute& route : internal_routes) {
    *request.add_actual_lrp_internal_routes() = route;
  }
  request.mutable_metric_tags()->insert(metric_tags.begin(), metric_tags.end());
  request.set_routable(routable);
  request.set_availability_zone(std::string(availability_zone));
  v1::EvacuationResponse response;
  absl::Status status = impl_->Call("EvacuateRunningActualLRP", &request, &response, trace_id);
  if (IsEndpointNotFound(status)) {
    v1::EvacuateRunningActualLRPRequest legacy;
    *legacy.mutable_actual_lrp_key() = key;
    *legacy.mutable_actual_lrp_instance_key() = instance_key;
    *legacy.mutable_actual_lrp_net_info() = net_info;
    status = impl_->Call("EvacuateRunningActualLRP_r0", &legacy, &response, trace_id);
  }
  return MakeEvacuationReply(status, response, /*default_keep_container=*/true);
}

EvacuationReply BbsClient::EvacuateStoppedActualLrp(const v1::ActualLRPKey& key,
                                                    const v1::ActualLRPInstanceKey& instance_key,
                                                    absl::string_view trace_id) {
  v1::EvacuateStoppedActualLRPRequest request;
  *request.mutable_actual_lrp_key() = key;
  *request.mutable_actual_lrp_instance_key() = instance_key;
  v1::EvacuationResponse response;
  const absl::Status status =
      impl_->Call("EvacuateStoppedActualLRP", &request, &response, trace_id);
  return MakeEvacuationReply(status, response, /*default_keep_container=*/false);
}

EvacuationReply BbsClient::EvacuateCrashedActualLrp(const v1::ActualLRPKey& key,
                                                    const v1::ActualLRPInstanceKey& instance_key,
                                                    absl::string_view error_message,
                                                    absl::string_view trace_id) {
  v1::EvacuateCrashedActualLRPRequest request;
  *request.mutable_actual_lrp_key() = key;
  *request.mutable_actual_lrp_instance_key() = instance_key;
  request.set_error_message(std::string(error_message));
  v1::EvacuationResponse response;
  const absl::Status status =
      impl_->Call("EvacuateCrashedActualLRP", &request, &response, trace_id);
  return MakeEvacuationReply(status, response, /*default_keep_container=*/false);
}

absl::Status BbsClient::RemoveEvacuatingActualLrp(const v1::ActualLRPKey& key,
                                                  const v1::ActualLRPInstanceKey& instance_key,
                                                  absl::string_view trace_id) {
  v1::RemoveEvacuatingActualLRPRequest request;
  *request.mutable_actual_lrp_key() = key;
  *request.mutable_actual_lrp_instance_key() = instance_key;
  v1::RemoveEvacuatingActualLRPResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("RemoveEvacuatingActualLRP", &request, &response, trace_id));
  return ResponseError(response);
}

// -- Desired LRPs -------------------------------------------------------------------

namespace {

v1::DesiredLRPsRequest DesiredLrpsRequest(const DesiredLrpFilter& filter) {
  v1::DesiredLRPsRequest request;
  request.set_domain(filter.domain);
  AddAll(filter.process_guids, request.mutable_process_guids());
  AddAll(filter.app_guids, request.mutable_app_guids());
  return request;
}

}  // namespace

absl::StatusOr<std::vector<v1::DesiredLRP>> BbsClient::DesiredLrps(const DesiredLrpFilter& filter,
                                                                   absl::string_view trace_id) {
  const v1::DesiredLRPsRequest request = DesiredLrpsRequest(filter);
  v1::DesiredLRPsResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("DesiredLRPs", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return TakeAll(response.mutable_desired_lrps());
}

absl::StatusOr<v1::DesiredLRP> BbsClient::DesiredLrpByProcessGuid(absl::string_view process_guid,
                                                                  absl::string_view trace_id) {
  v1::DesiredLRPByProcessGuidRequest request;
  request.set_process_guid(std::string(process_guid));
  v1::DesiredLRPResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("DesiredLRPByProcessGuid", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return std::move(*response.mutable_desired_lrp());
}

absl::StatusOr<std::vector<v1::DesiredLRPSchedulingInfo>> BbsClient::DesiredLrpSchedulingInfos(
    const DesiredLrpFilter& filter, absl::string_view trace_id) {
  const v1::DesiredLRPsRequest request = DesiredLrpsRequest(filter);
  v1::DesiredLRPSchedulingInfosResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("DesiredLRPSchedulingInfos", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return TakeAll(response.mutable_desired_lrp_scheduling_infos());
}

absl::StatusOr<v1::DesiredLRPSchedulingInfo> BbsClient::DesiredLrpSchedulingInfoByProcessGuid(
    absl::string_view process_guid, absl::string_view trace_id) {
  v1::DesiredLRPByProcessGuidRequest request;
  request.set_process_guid(std::string(process_guid));
  v1::DesiredLRPSchedulingInfoByProcessGuidResponse response;
  DIEGO_RETURN_IF_ERROR(
      impl_->Call("DesiredLRPSchedulingInfoByProcessGuid", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return std::move(*response.mutable_desired_lrp_scheduling_info());
}

absl::StatusOr<std::vector<v1::DesiredLRP>> BbsClient::DesiredLrpRoutingInfos(
    const DesiredLrpFilter& filter, absl::string_view trace_id) {
  v1::DesiredLRPsRequest request;
  AddAll(filter.process_guids, request.mutable_process_guids());
  v1::DesiredLRPsResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("DesiredLRPRoutingInfos", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return TakeAll(response.mutable_desired_lrps());
}

absl::Status BbsClient::DesireLrp(const v1::DesiredLRP& lrp, absl::string_view trace_id) {
  v1::DesireLRPRequest request;
  *request.mutable_desired_lrp() = lrp;
  v1::DesiredLRPLifecycleResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("DesireDesiredLRP", &request, &response, trace_id));
  return ResponseError(response);
}

absl::Status BbsClient::UpdateDesiredLrp(absl::string_view process_guid,
                                         const v1::DesiredLRPUpdate& update,
                                         absl::string_view trace_id) {
  v1::UpdateDesiredLRPRequest request;
  request.set_process_guid(std::string(process_guid));
  *request.mutable_update() = update;
  v1::DesiredLRPLifecycleResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("UpdateDesireLRP", &request, &response, trace_id));
  return ResponseError(response);
}

absl::Status BbsClient::RemoveDesiredLrp(absl::string_view process_guid,
                                         absl::string_view trace_id) {
  v1::RemoveDesiredLRPRequest request;
  request.set_process_guid(std::string(process_guid));
  v1::DesiredLRPLifecycleResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("RemoveDesiredLRP", &request, &response, trace_id));
  return ResponseError(response);
}

// -- Tasks ----------------------------------------------------------------------------

namespace {

absl::Status TaskLifecycle(BbsClient::Impl& impl, absl::string_view route,
                           const google::protobuf::Message& request, absl::string_view trace_id) {
  v1::TaskLifecycleResponse response;
  DIEGO_RETURN_IF_ERROR(impl.Call(route, &request, &response, trace_id));
  return ResponseError(response);
}

v1::TaskGuidRequest TaskGuidRequest(absl::string_view task_guid) {
  v1::TaskGuidRequest request;
  request.set_task_guid(std::string(task_guid));
  return request;
}

}  // namespace

absl::StatusOr<std::vector<v1::Task>> BbsClient::Tasks(const TaskFilter& filter,
                                                       absl::string_view trace_id) {
  v1::TasksRequest request;
  request.set_domain(filter.domain);
  request.set_cell_id(filter.cell_id);
  v1::TasksResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("Tasks", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return TakeAll(response.mutable_tasks());
}

absl::StatusOr<v1::Task> BbsClient::TaskByGuid(absl::string_view task_guid,
                                               absl::string_view trace_id) {
  v1::TaskByGuidRequest request;
  request.set_task_guid(std::string(task_guid));
  v1::TaskResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("TaskByGuid", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return std::move(*response.mutable_task());
}

absl::Status BbsClient::DesireTask(absl::string_view task_guid, absl::string_view domain,
                                   const v1::TaskDefinition& definition,
                                   absl::string_view trace_id) {
  v1::DesireTaskRequest request;
  *request.mutable_task_definition() = definition;
  request.set_task_guid(std::string(task_guid));
  request.set_domain(std::string(domain));
  return TaskLifecycle(*impl_, "DesireTask", request, trace_id);
}

absl::StatusOr<bool> BbsClient::StartTask(absl::string_view task_guid, absl::string_view cell_id,
                                          absl::string_view trace_id) {
  v1::StartTaskRequest request;
  request.set_task_guid(std::string(task_guid));
  request.set_cell_id(std::string(cell_id));
  v1::StartTaskResponse response;
  DIEGO_RETURN_IF_ERROR(impl_->Call("StartTask", &request, &response, trace_id));
  DIEGO_RETURN_IF_ERROR(ResponseError(response));
  return response.should_start();
}

absl::Status BbsClient::CancelTask(absl::string_view task_guid, absl::string_view trace_id) {
  return TaskLifecycle(*impl_, "CancelTask", TaskGuidRequest(task_guid), trace_id);
}

absl::Status BbsClient::FailTask(absl::string_view task_guid, absl::string_view failure_reason,
                                 absl::string_view trace_id) {
  v1::FailTaskRequest request;
  request.set_task_guid(std::string(task_guid));
  request.set_failure_reason(std::string(failure_reason));
  return TaskLifecycle(*impl_, "FailTask", request, trace_id);
}

absl::Status BbsClient::RejectTask(absl::string_view task_guid, absl::string_view rejection_reason,
                                   absl::string_view trace_id) {
  v1::RejectTaskRequest request;
  request.set_task_guid(std::string(task_guid));
  request.set_rejection_reason(std::string(rejection_reason));
  return TaskLifecycle(*impl_, "RejectTask", request, trace_id);
}

absl::Status BbsClient::CompleteTask(absl::string_view task_guid, absl::string_view cell_id,
                                     bool failed, absl::string_view failure_reason,
                                     absl::string_view result, absl::string_view trace_id) {
  v1::CompleteTaskRequest request;
  request.set_task_guid(std::string(task_guid));
  request.set_cell_id(std::string(cell_id));
  request.set_failed(failed);
  request.set_failure_reason(std::string(failure_reason));
  request.set_result(std::string(result));
  return TaskLifecycle(*impl_, "CompleteTask", request, trace_id);
}

absl::Status BbsClient::ResolvingTask(absl::string_view task_guid, absl::string_view trace_id) {
  return TaskLifecycle(*impl_, "ResolvingTask", TaskGuidRequest(task_guid), trace_id);
}

absl::Status BbsClient::DeleteTask(absl::string_view task_guid, absl::string_view trace_id) {
  return TaskLifecycle(*impl_, "DeleteTask", TaskGuidRequest(task_guid), trace_id);
}

// -- Event streams ----------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<EventSource>> BbsClient::SubscribeToInstanceEvents(
    absl::string_view cell_id, absl::string_view trace_id) {
  return impl_->Subscribe(route::kLrpInstanceEventStream, cell_id, trace_id);
}

absl::StatusOr<std::unique_ptr<EventSource>> BbsClient::SubscribeToTaskEvents(
    absl::string_view trace_id) {
  return impl_->Subscribe(route::kTaskEventStream, "", trace_id);
}

}  // namespace diego::bbs
