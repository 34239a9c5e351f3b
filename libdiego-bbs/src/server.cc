// Copyright 2026 The libdiego Authors.

#include "diego/bbs/server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "diego/base/check.h"
#include "diego/base/flags.h"
#include "diego/base/status_macros.h"
#include "diego/bbs/routes.h"
#include "diego/model/errors.h"
#include "diego/model/v1/error.pb.h"
#include "diego/model/v1/events.pb.h"
#include "diego/model/wire.h"
#include "httplib.h"

namespace diego::bbs {
namespace {

namespace v1 = model::v1;

constexpr char kProtobufContentType[] = "application/x-protobuf";
constexpr char kEventStreamContentType[] = "text/event-stream; charset=utf-8";
constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr int kHealthWorkerThreads = 4;

// Whole seconds for httplib's timeouts, at least 1.
time_t WholeSeconds(absl::Duration d) {
  const double s = std::ceil(absl::ToDoubleSeconds(d));
  return static_cast<time_t>(std::max(1.0, s));
}

// Error types that mean the server failed (rather than the request being
// refused); such responses are also logged at error level.
bool IsServerSideError(v1::Error::Type type) {
  switch (type) {
    case v1::Error::UnknownError:
    case v1::Error::Deadlock:
    case v1::Error::Unrecoverable:
    case v1::Error::Timeout:
    case v1::Error::Deserialize:
    case v1::Error::FailedToOpenEnvelope:
    case v1::Error::GUIDGeneration:
    case v1::Error::InvalidResponse:
      return true;
    default:
      return false;
  }
}

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {  // NOLINT(runtime/int)
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

// Re-encodes the desired-LRP / task payload of `event` for an older stream
// revision. Other events (and payloads that do not parse) pass unchanged.
BbsEvent DowngradeEvent(const BbsEvent& event, PayloadVersion version) {
  if (version == PayloadVersion::kV3) return event;
  BbsEvent out = event;
  auto reencode = [&](google::protobuf::Message& message, auto&& downgrade) {
    if (!model::ParseFromWire(event.payload, &message).ok()) return;
    downgrade();
    out.payload = model::SerializeForWire(message);
  };
  if (event.stream == EventStream::kLrpInstances) {
    if (event.type == "desired_lrp_created") {
      v1::DesiredLRPCreatedEvent m;
      reencode(m, [&] {
        if (m.has_desired_lrp()) {
          *m.mutable_desired_lrp() = DowngradeDesiredLrp(m.desired_lrp(), version);
        }
      });
    } else if (event.type == "desired_lrp_changed") {
      v1::DesiredLRPChangedEvent m;
      reencode(m, [&] {
        if (m.has_before()) *m.mutable_before() = DowngradeDesiredLrp(m.before(), version);
        if (m.has_after()) *m.mutable_after() = DowngradeDesiredLrp(m.after(), version);
      });
    } else if (event.type == "desired_lrp_removed") {
      v1::DesiredLRPRemovedEvent m;
      reencode(m, [&] {
        if (m.has_desired_lrp()) {
          *m.mutable_desired_lrp() = DowngradeDesiredLrp(m.desired_lrp(), version);
        }
      });
    }
  } else {
    if (event.type == "task_created") {
      v1::TaskCreatedEvent m;
      reencode(m, [&] {
        if (m.has_task()) *m.mutable_task() = DowngradeTask(m.task(), version);
      });
    } else if (event.type == "task_changed") {
      v1::TaskChangedEvent m;
      reencode(m, [&] {
        if (m.has_before()) *m.mutable_before() = DowngradeTask(m.before(), version);
        if (m.has_after()) *m.mutable_after() = DowngradeTask(m.after(), version);
      });
    } else if (event.type == "task_removed") {
      v1::TaskRemovedEvent m;
      reencode(m, [&] {
        if (m.has_task()) *m.mutable_task() = DowngradeTask(m.task(), version);
      });
    }
  }
  return out;
}

// httplib closes a bound listening socket only from `stop()` once its accept
// loop runs: run it briefly so the socket is closed.
void CloseBound(httplib::Server& server) {
  std::atomic<bool> done{false};
  std::thread t([&server, &done] {
    server.listen_after_bind();
    done = true;
  });
  while (!server.is_running() && !done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server.stop();
  t.join();
}

template <typename T>
concept HasKeepContainer = requires(T t) {
  t.set_keep_container(true);
};
template <typename T>
concept HasError = requires(T t) {
  t.has_error();
  t.error();
};

}  // namespace

struct BbsServer::Impl {
  // One route's handler: the decoded path matched, the body read.
  using Handler =
      std::function<void(const httplib::Request&, const std::string& body, httplib::Response&)>;
  struct Route {
    std::string name;
    Handler handler;
  };

  // One open event stream.
  struct Stream {
    std::unique_ptr<EventSubscription> subscription;
    PayloadVersion version = PayloadVersion::kV3;
    int64_t next_id = 0;
    std::string route;
    std::string trace_id;
    std::string end_reason = "server-stopped";
  };

  Impl(BbsService* service, EventHub* hub, Metrics* metrics, Logger logger, Options options)
      : service(service),
        hub(hub),
        metrics(metrics),
        logger(logger.Session("server")),
        options(std::move(options)) {}

  absl::Status Start();
  absl::Status StartHealth();
  absl::Status StartApi();
  void Stop();
  absl::Status CheckNotStopped(absl::string_view what) const;
  absl::Status PrepareApi();
  absl::Status PrepareHealth();
  void Serve(httplib::Server* server, std::thread* thread, std::atomic<bool>* done);
  void LogApiStarted();
  void RegisterRoutes();
  void Dispatch(const httplib::Request& req, const std::string& body, httplib::Response& res);
  void HandleStream(absl::string_view route, const httplib::Request& req, const std::string& body,
                    httplib::Response& res, EventStream stream, bool read_cell_filter,
                    PayloadVersion version);
  bool PumpStream(Stream& stream, httplib::DataSink& sink);
  void ReleaseStream(Stream& stream);
  void Finish(absl::string_view route, const std::string& trace_id, absl::Time start,
              const v1::Error* error);
  absl::StatusOr<std::unique_ptr<httplib::Server>> MakeApiServer();
  absl::Status Bind(httplib::Server& server, absl::string_view address, absl::string_view what,
                    int* port);

  // A route whose request is `Req`: `fn(request, ctx)` returns the response.
  template <typename Req, typename Fn>
  void Unary(absl::string_view name, Fn fn, bool keep_container_on_bad_request = false) {
    std::string route(name);
    routes_by_name[route] = [this, route, fn, keep_container_on_bad_request](
                                const httplib::Request& req, const std::string& body,
                                httplib::Response& res) {
      const absl::Time start = absl::Now();
      const RequestContext ctx{req.get_header_value("X-Vcap-Request-Id")};
      using Resp = std::decay_t<std::invoke_result_t<Fn, const Req&, const RequestContext&>>;
      Resp response;
      Req request;
      if (!model::ParseFromWire(body, &request).ok()) {
        *response.mutable_error() = model::ToBbsError(model::ErrBadRequest());
        if constexpr (HasKeepContainer<Resp>) {
          if (keep_container_on_bad_request) response.set_keep_container(true);
        }
      } else {
        response = fn(request, ctx);
      }
      res.status = 200;
      res.set_content(model::SerializeForWire(response), kProtobufContentType);
      Finish(route, ctx.trace_id, start, response.has_error() ? &response.error() : nullptr);
    };
  }

  // A route that takes no request message (the body is ignored).
  template <typename Fn>
  void NoRequest(absl::string_view name, Fn fn) {
    std::string route(name);
    routes_by_name[route] = [this, route, fn](const httplib::Request& req, const std::string&,
                                              httplib::Response& res) {
      const absl::Time start = absl::Now();
      const RequestContext ctx{req.get_header_value("X-Vcap-Request-Id")};
      auto response = fn(ctx);
      res.status = 200;
      res.set_content(model::SerializeForWire(response), kProtobufContentType);
      const v1::Error* error = nullptr;
      if constexpr (HasError<decltype(response)>) {
        if (response.has_error()) error = &response.error();
      }
      Finish(route, ctx.trace_id, start, error);
    };
  }

  void StreamRoute(absl::string_view name, EventStream stream, bool read_cell_filter,
                   PayloadVersion version) {
    std::string route(name);
    routes_by_name[route] = [this, route, stream, read_cell_filter, version](
                                const httplib::Request& req, const std::string& body,
                                httplib::Response& res) {
      HandleStream(route, req, body, res, stream, read_cell_filter, version);
    };
  }

  BbsService* const service;
  EventHub* const hub;
  Metrics* const metrics;
  const Logger logger;
  const Options options;
  size_t max_streams = 0;

  absl::flat_hash_map<std::string, Handler> routes_by_name;
  absl::flat_hash_map<std::string, Route> post_routes;  // By path.

  std::unique_ptr<httplib::Server> api;
  std::unique_ptr<httplib::Server> health;
  std::thread api_thread;
  std::thread health_thread;
  std::atomic<int> api_port{-1};
  std::atomic<int> health_port{-1};
  std::atomic<bool> api_done{false};
  std::atomic<bool> health_done{false};
  // True from the end of a successful StartApi()/Start() until Stop().
  std::atomic<bool> api_serving{false};
  bool api_started = false;
  bool health_started = false;
  bool stopped = false;

  mutable absl::Mutex mu;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  absl::flat_hash_set<Stream*> streams ABSL_GUARDED_BY(mu);
};

void BbsServer::Impl::RegisterRoutes() {
  BbsService* s = service;
  using Ctx = const RequestContext&;
  NoRequest("Ping", [s](Ctx c) { return s->Ping(c); });
  NoRequest("Domains", [s](Ctx c) { return s->Domains(c); });
  Unary<v1::UpsertDomainRequest>("UpsertDomain", [s](const v1::UpsertDomainRequest& r, Ctx c) {
    return s->UpsertDomain(r, c);
  });
  Unary<v1::ActualLRPsRequest>(
      "ActualLRPs", [s](const v1::ActualLRPsRequest& r, Ctx c) { return s->ActualLrps(r, c); });
  Unary<v1::ActualLRPsByProcessGuidsRequest>(
      "ActualLRPsByProcessGuids", [s](const v1::ActualLRPsByProcessGuidsRequest& r, Ctx c) {
        return s->ActualLrpsByProcessGuids(r, c);
      });
  Unary<v1::ActualLRPGroupsRequest>(
      "ActualLRPGroups",
      [s](const v1::ActualLRPGroupsRequest& r, Ctx c) { return s->ActualLrpGroups(r, c); });
  Unary<v1::ActualLRPGroupsByProcessGuidRequest>(
      "ActualLRPGroupsByProcessGuid", [s](const v1::ActualLRPGroupsByProcessGuidRequest& r, Ctx c) {
        return s->ActualLrpGroupsByProcessGuid(r, c);
      });
  Unary<v1::ActualLRPGroupByProcessGuidAndIndexRequest>(
      "ActualLRPGroupsByProcessGuidAndIndex",
      [s](const v1::ActualLRPGroupByProcessGuidAndIndexRequest& r, Ctx c) {
        return s->ActualLrpGroupByProcessGuidAndIndex(r, c);
      });
  Unary<v1::ClaimActualLRPRequest>(
      "ClaimActualLRP",
      [s](const v1::ClaimActualLRPRequest& r, Ctx c) { return s->ClaimActualLrp(r, c); });
  Unary<v1::StartActualLRPRequest>(
      "StartActualLRP",
      [s](const v1::StartActualLRPRequest& r, Ctx c) { return s->StartActualLrp(r, c, false); });
  Unary<v1::StartActualLRPRequest>(
      "StartActualLRP_r0",
      [s](const v1::StartActualLRPRequest& r, Ctx c) { return s->StartActualLrp(r, c, true); });
  Unary<v1::CrashActualLRPRequest>(
      "CrashActualLRP",
      [s](const v1::CrashActualLRPRequest& r, Ctx c) { return s->CrashActualLrp(r, c); });
  Unary<v1::FailActualLRPRequest>("FailActualLRP", [s](const v1::FailActualLRPRequest& r, Ctx c) {
    return s->FailActualLrp(r, c);
  });
  Unary<v1::RemoveActualLRPRequest>(
      "RemoveActualLRP",
      [s](const v1::RemoveActualLRPRequest& r, Ctx c) { return s->RemoveActualLrp(r, c); });
  Unary<v1::RetireActualLRPRequest>(
      "RetireActualLRP",
      [s](const v1::RetireActualLRPRequest& r, Ctx c) { return s->RetireActualLrp(r, c); });
  Unary<v1::RemoveEvacuatingActualLRPRequest>(
      "RemoveEvacuatingActualLRP", [s](const v1::RemoveEvacuatingActualLRPRequest& r, Ctx c) {
        return s->RemoveEvacuatingActualLrp(r, c);
      });
  Unary<v1::EvacuateClaimedActualLRPRequest>(
      "EvacuateClaimedActualLRP",
      [s](const v1::EvacuateClaimedActualLRPRequest& r, Ctx c) {
        return s->EvacuateClaimedActualLrp(r, c);
      },
      /*keep_container_on_bad_request=*/true);
  Unary<v1::EvacuateCrashedActualLRPRequest>(
      "EvacuateCrashedActualLRP", [s](const v1::EvacuateCrashedActualLRPRequest& r, Ctx c) {
        return s->EvacuateCrashedActualLrp(r, c);
      });
  Unary<v1::EvacuateStoppedActualLRPRequest>(
      "EvacuateStoppedActualLRP", [s](const v1::EvacuateStoppedActualLRPRequest& r, Ctx c) {
        return s->EvacuateStoppedActualLrp(r, c);
      });
  Unary<v1::EvacuateRunningActualLRPRequest>(
      "EvacuateRunningActualLRP",
      [s](const v1::EvacuateRunningActualLRPRequest& r, Ctx c) {
        return s->EvacuateRunningActualLrp(r, c, false);
      },
      /*keep_container_on_bad_request=*/true);
  Unary<v1::EvacuateRunningActualLRPRequest>(
      "EvacuateRunningActualLRP_r0",
      [s](const v1::EvacuateRunningActualLRPRequest& r, Ctx c) {
        return s->EvacuateRunningActualLrp(r, c, true);
      },
      /*keep_container_on_bad_request=*/true);
  Unary<v1::DesiredLRPsRequest>(
      "DesiredLRPSchedulingInfos",
      [s](const v1::DesiredLRPsRequest& r, Ctx c) { return s->DesiredLrpSchedulingInfos(r, c); });
  Unary<v1::DesiredLRPByProcessGuidRequest>(
      "DesiredLRPSchedulingInfoByProcessGuid",
      [s](const v1::DesiredLRPByProcessGuidRequest& r, Ctx c) {
        return s->DesiredLrpSchedulingInfoByProcessGuid(r, c);
      });
  Unary<v1::DesiredLRPsRequest>(
      "DesiredLRPRoutingInfos",
      [s](const v1::DesiredLRPsRequest& r, Ctx c) { return s->DesiredLrpRoutingInfos(r, c); });
  Unary<v1::DesiredLRPsRequest>("DesiredLRPs", [s](const v1::DesiredLRPsRequest& r, Ctx c) {
    return s->DesiredLrps(r, c, PayloadVersion::kV3);
  });
  Unary<v1::DesiredLRPByProcessGuidRequest>(
      "DesiredLRPByProcessGuid", [s](const v1::DesiredLRPByProcessGuidRequest& r, Ctx c) {
        return s->DesiredLrpByProcessGuid(r, c, PayloadVersion::kV3);
      });
  Unary<v1::DesiredLRPsRequest>("DesiredLRPs_r2", [s](const v1::DesiredLRPsRequest& r, Ctx c) {
    return s->DesiredLrps(r, c, PayloadVersion::kV2);
  });
  Unary<v1::DesiredLRPByProcessGuidRequest>(
      "DesiredLRPByProcessGuid_r2", [s](const v1::DesiredLRPByProcessGuidRequest& r, Ctx c) {
        return s->DesiredLrpByProcessGuid(r, c, PayloadVersion::kV2);
      });
  Unary<v1::DesireLRPRequest>("DesireDesiredLRP", [s](const v1::DesireLRPRequest& r, Ctx c) {
    return s->DesireDesiredLrp(r, c);
  });
  Unary<v1::UpdateDesiredLRPRequest>(
      "UpdateDesireLRP",
      [s](const v1::UpdateDesiredLRPRequest& r, Ctx c) { return s->UpdateDesiredLrp(r, c); });
  Unary<v1::RemoveDesiredLRPRequest>(
      "RemoveDesiredLRP",
      [s](const v1::RemoveDesiredLRPRequest& r, Ctx c) { return s->RemoveDesiredLrp(r, c); });
  Unary<v1::TasksRequest>("Tasks", [s](const v1::TasksRequest& r, Ctx c) {
    return s->Tasks(r, c, PayloadVersion::kV3);
  });
  Unary<v1::TaskByGuidRequest>("TaskByGuid", [s](const v1::TaskByGuidRequest& r, Ctx c) {
    return s->TaskByGuid(r, c, PayloadVersion::kV3);
  });
  Unary<v1::TasksRequest>("Tasks_r2", [s](const v1::TasksRequest& r, Ctx c) {
    return s->Tasks(r, c, PayloadVersion::kV2);
  });
  Unary<v1::TaskByGuidRequest>("TaskByGuid_r2", [s](const v1::TaskByGuidRequest& r, Ctx c) {
    return s->TaskByGuid(r, c, PayloadVersion::kV2);
  });
  Unary<v1::DesireTaskRequest>(
      "DesireTask", [s](const v1::DesireTaskRequest& r, Ctx c) { return s->DesireTask(r, c); });
  Unary<v1::StartTaskRequest>(
      "StartTask", [s](const v1::StartTaskRequest& r, Ctx c) { return s->StartTask(r, c); });
  Unary<v1::TaskGuidRequest>(
      "CancelTask", [s](const v1::TaskGuidRequest& r, Ctx c) { return s->CancelTask(r, c); });
  Unary<v1::FailTaskRequest>(
      "FailTask", [s](const v1::FailTaskRequest& r, Ctx c) { return s->FailTask(r, c); });
  Unary<v1::RejectTaskRequest>(
      "RejectTask", [s](const v1::RejectTaskRequest& r, Ctx c) { return s->RejectTask(r, c); });
  Unary<v1::CompleteTaskRequest>("CompleteTask", [s](const v1::CompleteTaskRequest& r, Ctx c) {
    return s->CompleteTask(r, c);
  });
  Unary<v1::TaskGuidRequest>(
      "ResolvingTask", [s](const v1::TaskGuidRequest& r, Ctx c) { return s->ResolvingTask(r, c); });
  Unary<v1::TaskGuidRequest>(
      "DeleteTask", [s](const v1::TaskGuidRequest& r, Ctx c) { return s->DeleteTask(r, c); });
  StreamRoute("TaskEventStream", EventStream::kTasks, /*read_cell_filter=*/false,
              PayloadVersion::kV3);
  StreamRoute("LRPInstanceEventStream", EventStream::kLrpInstances, /*read_cell_filter=*/true,
              PayloadVersion::kV3);
  // Diego's r0 task stream asks for V0; the only task downgrade step is V2.
  StreamRoute("TaskEventStream_r0", EventStream::kTasks, /*read_cell_filter=*/false,
              PayloadVersion::kV2);
  StreamRoute("LrpInstanceEventStream_r0", EventStream::kLrpInstances,
              /*read_cell_filter=*/true, PayloadVersion::kV0);
  NoRequest("Cells", [s](Ctx c) { return s->Cells(c); });

  // Every POST route of the table; the two GET LRP-group streams are not
  // served (server.h) and so answer 404.
  for (const BbsRoute& route : kBbsRoutes) {
    if (route.method != "POST") continue;
    auto it = routes_by_name.find(route.name);
    DIEGO_CHECK(it != routes_by_name.end()) << "no handler for BBS route " << route.name;
    post_routes[std::string(route.path)] = Route{std::string(route.name), it->second};
  }
}

void BbsServer::Impl::Dispatch(const httplib::Request& req, const std::string& body,
                               httplib::Response& res) {
  auto it = post_routes.find(req.path);
  if (it == post_routes.end()) {
    res.status = 404;
    logger.Debug("route-not-found", {{"method", req.method}, {"path", req.path}});
    return;
  }
  it->second.handler(req, body, res);
}

void BbsServer::Impl::Finish(absl::string_view route, const std::string& trace_id, absl::Time start,
                             const v1::Error* error) {
  const absl::Duration took = absl::Now() - start;
  if (metrics != nullptr) metrics->RecordRequest(route, took);
  if (error != nullptr && IsServerSideError(error->type())) {
    logger.Error("request-failed", {{"route", route},
                                    {"trace_id", trace_id},
                                    {"duration", took},
                                    {"error_type", v1::Error::Type_Name(error->type())},
                                    {"error", error->message()}});
  }
  if (logger.IsEnabled(LogLevel::kDebug)) {
    LogData data = {{"route", route}, {"trace_id", trace_id}, {"duration", took}};
    if (error != nullptr) {
      data.push_back({"error_type", v1::Error::Type_Name(error->type())});
      data.push_back({"error", error->message()});
    }
    logger.Debug("request", data);
  }
}

void BbsServer::Impl::HandleStream(absl::string_view route, const httplib::Request& req,
                                   const std::string& body, httplib::Response& res,
                                   EventStream stream_kind, bool read_cell_filter,
                                   PayloadVersion version) {
  const std::string trace_id = req.get_header_value("X-Vcap-Request-Id");
  std::string cell_filter;
  if (read_cell_filter) {
    v1::EventsByCellId filter;
    if (!model::ParseFromWire(body, &filter).ok()) {
      // Diego: a malformed EventsByCellId is HTTP 500 with no body.
      res.status = 500;
      logger.Error("failed-to-parse-events-request", {{"route", route}, {"trace_id", trace_id}});
      return;
    }
    cell_filter = filter.cell_id();
  }
  auto stream = std::make_shared<Stream>();
  stream->version = version;
  stream->route = std::string(route);
  stream->trace_id = trace_id;
  {
    absl::MutexLock lock(&mu);
    if (stopping || streams.size() >= max_streams) {
      res.status = 503;
      logger.Error("event-stream-refused",
                   {{"route", route},
                    {"reason", stopping ? "server-stopping" : "too-many-event-streams"},
                    {"open_streams", streams.size()}});
      return;
    }
    stream->subscription = hub->Subscribe(stream_kind, cell_filter);
    streams.insert(stream.get());
  }
  if (metrics != nullptr) metrics->RecordRequest(route, absl::ZeroDuration(), false);
  logger.Debug("event-stream-started",
               {{"route", route}, {"trace_id", trace_id}, {"cell_id", cell_filter}});
  // httplib would gzip a "text/..." chunked response for a client that
  // accepts gzip (Go's transport always does), buffering events in the
  // compressor. Dropping Accept-Encoding disables that; `req` is a non-const
  // object inside httplib, read for the encoding after this handler returns.
  const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
  res.status = 200;
  res.set_header("Cache-Control", "no-cache, no-store, must-revalidate");
  res.set_header("Connection", "keep-alive");
  res.set_chunked_content_provider(
      kEventStreamContentType,
      [this, stream](size_t /*offset*/, httplib::DataSink& sink) {
        return PumpStream(*stream, sink);
      },
      [this, stream](bool /*success*/) { ReleaseStream(*stream); });
}

bool BbsServer::Impl::PumpStream(Stream& stream, httplib::DataSink& sink) {
  if (!sink.is_writable()) {
    stream.end_reason = "client-went-away";
    return false;
  }
  absl::StatusOr<BbsEvent> event =
      stream.subscription->Next(absl::Now() + options.event_poll_interval);
  if (event.ok()) {
    const std::string chunk =
        EncodeSseEvent(stream.next_id, DowngradeEvent(*event, stream.version));
    ++stream.next_id;
    if (!sink.write(chunk.data(), chunk.size())) {
      stream.end_reason = "write-failed";
      return false;
    }
    return true;
  }
  if (absl::IsDeadlineExceeded(event.status())) return true;  // Idle; poll again.
  // Dropped as a slow subscriber (kResourceExhausted) or closed (kCancelled):
  // end the stream cleanly.
  stream.end_reason = std::string(event.status().message());
  if (absl::IsResourceExhausted(event.status())) {
    logger.Error("event-subscriber-dropped", {{"route", stream.route},
                                              {"trace_id", stream.trace_id},
                                              {"events_sent", stream.next_id},
                                              {"error", event.status()}});
  }
  sink.done();
  return true;
}

void BbsServer::Impl::ReleaseStream(Stream& stream) {
  {
    absl::MutexLock lock(&mu);
    streams.erase(&stream);
  }
  logger.Debug("event-stream-ended", {{"route", stream.route},
                                      {"trace_id", stream.trace_id},
                                      {"events_sent", stream.next_id},
                                      {"reason", stream.end_reason}});
  stream.subscription.reset();
}

absl::StatusOr<std::unique_ptr<httplib::Server>> BbsServer::Impl::MakeApiServer() {
  if (!options.tls.has_value()) return std::make_unique<httplib::Server>();
  const BbsServerTls tls = *options.tls;
  if (tls.ca_file.empty() || tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "mutual TLS needs a CA file, a certificate file and a key file");
  }
  std::string error;
  ERR_clear_error();
  auto server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) -> bool {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(
        &ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_cipher_list(&ctx,
                                "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
                                "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256") !=
        1) {
      error = absl::StrCat("cannot set TLS cipher suites: ", OpenSslErrors());
      return false;
    }
    if (SSL_CTX_use_certificate_chain_file(&ctx, tls.cert_file.c_str()) != 1) {
      error = absl::StrCat("cannot load TLS certificate '", tls.cert_file, "': ", OpenSslErrors());
      return false;
    }
    if (SSL_CTX_use_PrivateKey_file(&ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      error = absl::StrCat("cannot load TLS key '", tls.key_file, "': ", OpenSslErrors());
      return false;
    }
    if (SSL_CTX_check_private_key(&ctx) != 1) {
      error = absl::StrCat("TLS key '", tls.key_file, "' does not match certificate '",
                           tls.cert_file, "': ", OpenSslErrors());
      return false;
    }
    if (SSL_CTX_load_verify_locations(&ctx, tls.ca_file.c_str(), nullptr) != 1) {
      error = absl::StrCat("cannot load TLS CA file '", tls.ca_file, "': ", OpenSslErrors());
      return false;
    }
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(&ctx, names);
    }
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    return true;
  });
  if (!server->is_valid()) {
    return absl::FailedPreconditionError(error.empty() ? "cannot set up TLS" : error);
  }
  return server;
}

absl::Status BbsServer::Impl::Bind(httplib::Server& server, absl::string_view address,
                                   absl::string_view what, int* port) {
  // httplib's default also sets SO_REUSEPORT, which would let a second BBS
  // bind the same port silently; SO_REUSEADDR alone allows quick restarts.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  absl::StatusOr<std::pair<std::string, int>> host_port = ParseHostPort(address);
  if (!host_port.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " address: ", host_port.status().message()));
  }
  std::string host = host_port->first.empty() ? "0.0.0.0" : host_port->first;
  if (host_port->second == 0) {
    const int bound = server.bind_to_any_port(host);
    if (bound < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", what, " address '", address, "'"));
    }
    *port = bound;
  } else {
    if (!server.bind_to_port(host, host_port->second)) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", what, " address '", address,
                                                 "' (in use or not local?)"));
    }
    *port = host_port->second;
  }
  return absl::OkStatus();
}

absl::Status BbsServer::Impl::CheckNotStopped(absl::string_view what) const {
  if (stopped)
    return absl::FailedPreconditionError(absl::StrCat("BbsServer::", what, " after Stop"));
  return absl::OkStatus();
}

// Validates the options and builds, configures and binds the API listener
// (not yet serving).
absl::Status BbsServer::Impl::PrepareApi() {
  if (options.worker_threads < 2) {
    return absl::InvalidArgumentError("worker threads must be at least 2");
  }
  max_streams = options.max_event_streams > 0
                    ? static_cast<size_t>(options.max_event_streams)
                    : static_cast<size_t>(std::max(1, options.worker_threads * 3 / 4));
  if (max_streams >= static_cast<size_t>(options.worker_threads)) {
    return absl::InvalidArgumentError(absl::StrCat("max event streams (", max_streams,
                                                   ") must be less than worker threads (",
                                                   options.worker_threads, ")"));
  }
  if (options.max_request_bytes == 0) {
    return absl::InvalidArgumentError("max request bytes must be positive");
  }
  if (options.event_poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("event poll interval must be positive");
  }
  RegisterRoutes();

  DIEGO_ASSIGN_OR_RETURN(api, MakeApiServer());
  const int workers = options.worker_threads;
  api->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  const time_t timeout = WholeSeconds(options.request_timeout);
  api->set_read_timeout(timeout, 0);
  api->set_write_timeout(timeout, 0);
  // Without TCP_NODELAY a response written in more than one send (headers,
  // then a large body) waits for the peer's delayed ACK: ~40 ms per request.
  api->set_tcp_nodelay(true);
  api->set_keep_alive_timeout(WholeSeconds(options.keep_alive_timeout));
  api->set_keep_alive_max_count(1000000);
  api->set_payload_max_length(options.max_request_bytes);
  api->set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        logger.Error("handler-exception", {{"path", req.path}, {"error", what}});
        res.status = 500;
        res.body.clear();
      });
  const size_t max_bytes = options.max_request_bytes;
  // Every POST: the body is read here (chunked bodies included) up to
  // max_request_bytes; the rest of an oversize body is drained so the
  // connection stays usable.
  api->Post(".*", [this, max_bytes](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& reader) {
    std::string body;
    bool oversize = false;
    const bool ok = reader([&](const char* data, size_t n) {
      if (oversize) return true;
      if (body.size() + n > max_bytes) {
        oversize = true;
        std::string().swap(body);
        return true;
      }
      body.append(data, n);
      return true;
    });
    if (oversize || res.status == 413) {
      res.status = 413;
      res.set_header("Connection", "close");
      logger.Error("request-too-large", {{"path", req.path}, {"max_bytes", max_bytes}});
      return;
    }
    if (!ok) {
      res.status = 400;
      res.set_header("Connection", "close");
      logger.Debug("failed-to-read-request-body", {{"path", req.path}});
      return;
    }
    Dispatch(req, body, res);
  });
  api->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
    Dispatch(req, req.body, res);
  });

  int port = -1;
  if (absl::Status s = Bind(*api, options.listen_address, "listen", &port); !s.ok()) {
    api.reset();
    return s;
  }
  api_port = port;
  return absl::OkStatus();
}

// Builds and binds the health listener (not yet serving); none when its
// address is "".
absl::Status BbsServer::Impl::PrepareHealth() {
  if (options.health_listen_address.empty()) return absl::OkStatus();
  health = std::make_unique<httplib::Server>();
  health->new_task_queue = [] { return new httplib::ThreadPool(kHealthWorkerThreads); };
  const time_t timeout = WholeSeconds(options.request_timeout);
  health->set_read_timeout(timeout, 0);
  health->set_write_timeout(timeout, 0);
  health->set_tcp_nodelay(true);
  health->set_keep_alive_timeout(1);
  health->Get("/ping", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  if (metrics != nullptr) {
    Metrics* m = metrics;
    health->Get("/metrics", [m](const httplib::Request&, httplib::Response& res) {
      res.status = 200;
      res.set_content(m->RenderPrometheusText(), kMetricsContentType);
    });
  }
  health->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = options.readiness ? options.readiness() : api_serving.load();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "active" : "standby", "text/plain");
  });
  int hport = -1;
  if (absl::Status s = Bind(*health, options.health_listen_address, "health listen", &hport);
      !s.ok()) {
    health.reset();
    return s;
  }
  health_port = hport;
  return absl::OkStatus();
}

// Runs `server`'s accept loop on `thread` and returns once it runs
// (`httplib::Server::stop()` only works from then on).
void BbsServer::Impl::Serve(httplib::Server* server, std::thread* thread, std::atomic<bool>* done) {
  *thread = std::thread([server, done] {
    server->listen_after_bind();
    *done = true;
  });
  while (!server->is_running() && !*done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void BbsServer::Impl::LogApiStarted() {
  logger.Info("started", {{"listen_address", options.listen_address},
                          {"port", api_port.load()},
                          {"health_listen_address", options.health_listen_address},
                          {"health_port", health_port.load()},
                          {"tls", options.tls.has_value()},
                          {"worker_threads", options.worker_threads},
                          {"max_event_streams", max_streams}});
}

absl::Status BbsServer::Impl::Start() {
  DIEGO_RETURN_IF_ERROR(CheckNotStopped("Start"));
  if (api_started || health_started) {
    return absl::FailedPreconditionError("BbsServer::Start called twice");
  }
  api_started = true;
  health_started = true;
  DIEGO_RETURN_IF_ERROR(PrepareApi());
  if (absl::Status s = PrepareHealth(); !s.ok()) {
    CloseBound(*api);
    api.reset();
    return s;
  }
  Serve(api.get(), &api_thread, &api_done);
  if (health) Serve(health.get(), &health_thread, &health_done);
  api_serving = true;
  LogApiStarted();
  return absl::OkStatus();
}

absl::Status BbsServer::Impl::StartHealth() {
  DIEGO_RETURN_IF_ERROR(CheckNotStopped("StartHealth"));
  if (health_started) return absl::FailedPreconditionError("BbsServer::StartHealth called twice");
  health_started = true;
  DIEGO_RETURN_IF_ERROR(PrepareHealth());
  if (health) Serve(health.get(), &health_thread, &health_done);
  logger.Info("health-started", {{"health_listen_address", options.health_listen_address},
                                 {"health_port", health_port.load()}});
  return absl::OkStatus();
}

absl::Status BbsServer::Impl::StartApi() {
  DIEGO_RETURN_IF_ERROR(CheckNotStopped("StartApi"));
  if (api_started) return absl::FailedPreconditionError("BbsServer::StartApi called twice");
  api_started = true;
  DIEGO_RETURN_IF_ERROR(PrepareApi());
  Serve(api.get(), &api_thread, &api_done);
  api_serving = true;
  LogApiStarted();
  return absl::OkStatus();
}

void BbsServer::Impl::Stop() {
  if (stopped) return;
  stopped = true;
  api_serving = false;
  if (!api_started && !health_started) return;
  {
    // End every stream while the listener still runs: httplib abandons a
    // chunked response without its final chunk once it is stopping, so wait
    // (bounded by the write timeout) until each stream wrote its end.
    absl::MutexLock lock(&mu);
    stopping = true;
    for (Stream* stream : streams) stream->subscription->Close();
    mu.AwaitWithTimeout(absl::Condition(
                            +[](Impl* impl) ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->mu) {
                              return impl->streams.empty();
                            },
                            this),
                        options.request_timeout + options.event_poll_interval);
  }
  const bool was_serving = api_thread.joinable() || health_thread.joinable();
  if (api != nullptr && api_thread.joinable()) {
    api->stop();
    api_thread.join();
  }
  if (health != nullptr && health_thread.joinable()) {
    health->stop();
    health_thread.join();
  }
  if (was_serving) logger.Info("stopped");
}

BbsServer::BbsServer(BbsService* service, EventHub* hub, Metrics* metrics, Logger logger,
                     Options options)
    : impl_(std::make_unique<Impl>(service, hub, metrics, std::move(logger), std::move(options))) {}

BbsServer::~BbsServer() { Stop(); }

absl::Status BbsServer::Start() { return impl_->Start(); }

absl::Status BbsServer::StartHealth() { return impl_->StartHealth(); }

absl::Status BbsServer::StartApi() { return impl_->StartApi(); }

void BbsServer::Stop() { impl_->Stop(); }

int BbsServer::port() const { return impl_->api_port.load(); }

int BbsServer::health_port() const { return impl_->health_port.load(); }

bool BbsServer::api_serving() const { return impl_->api_serving.load(); }

size_t BbsServer::open_event_streams() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->streams.size();
}

}  // namespace diego::bbs
