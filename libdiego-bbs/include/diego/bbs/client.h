// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: client.h
// -----------------------------------------------------------------------------
//
// `BbsClient`: the C++ counterpart of Diego's Go BBS client (bbs `client.go`),
// one method per route of routes.h, speaking the wire of
// `bbs-wire-reference.md` 1 and 5:
//
//   * every call is `POST <url><route path>` with the protobuf request message
//     (`model::SerializeForWire`, so the bytes are gogo's), headers
//     `Content-Type: application/x-protobuf`, an explicit `Content-Length`
//     and `X-Vcap-Request-Id` (the per-call trace id, else the client's
//     default; omitted when both are empty);
//   * a response whose Content-Type is `application/x-protobuf` is decoded
//     into the route's response message whatever its status code; a decoding
//     failure is `InvalidProtobufMessage` "failed to unmarshal proto: ...";
//   * a response carrying the `X-Cf-Routererror: <v>` header is
//     `Error{RouterError, v}` (checked first);
//   * any other response with status > 299 is `Error{InvalidResponse,
//     "Invalid Response with status code: N"}`; a non-protobuf 2xx leaves the
//     response message empty (as Diego's client does);
//   * a non-null `error` in the decoded response becomes
//     `model::FromBbsError(error)`, so callers test the Diego type with
//     `model::HasBbsErrorType(status, v1::Error::ResourceNotFound)` etc.
//
// Transport failures: a connect/send/receive timeout is `Error{Timeout, ...}`
// (kDeadlineExceeded); any other transport failure (refused, reset, TLS) is
// kUnavailable naming the method, URL and cause. As Diego's client, a failed
// attempt (transport error, router error, non-protobuf status, undecodable
// body) is retried `request_attempts` times in all, `retry_interval` apart;
// an error inside a decoded response is never retried, and neither is a
// non-protobuf 404 (it is deterministic; Diego's client retries it too, which
// only delays its fallback). A failure on a reused keep-alive connection
// that the server closed is retried once at once on a new connection,
// without counting as an attempt.
//
// Fallbacks (as Diego's client): `StartActualLrp` and
// `EvacuateRunningActualLrp` call the `.r1` route and, when that answers a
// non-protobuf 404 (a BBS that predates it), repeat the call on the
// deprecated route with only key, instance key and net info.
//
// Connections: HTTP/1.1 keep-alive, a pool of connections shared by all
// threads. A call takes an idle connection (or opens a new one, so callers
// never wait for each other), and gives it back afterwards; at most
// `max_idle_connections` are kept idle. `https://` URLs use TLS with the
// optional client certificate (Diego's mutual TLS).
//
// Event streams: `SubscribeToInstanceEvents` / `SubscribeToTaskEvents` open
// `POST /v1/events/lrp_instances.r1` / `/v1/events/tasks.r1` on a dedicated
// connection and return an `EventSource` that decodes the server-sent events
// (`bbs-wire-reference.md` 6) into the event messages.
//
// Thread-safety: `BbsClient` is thread-safe; any number of threads may call
// it concurrently. An `EventSource` is meant to be read by one thread;
// `Close()` may be called from any thread.
//
// Example:
//
//   DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<BbsClient> bbs,
//                          BbsClient::Create("http://127.0.0.1:8889", {}));
//   absl::Status claimed = bbs->ClaimActualLrp("pg-1", 0, instance_key);
//   if (model::HasBbsErrorType(claimed, model::v1::Error::ActualLRPCannotBeClaimed)) ...
//   DIEGO_ASSIGN_OR_RETURN(std::vector<model::v1::ActualLRP> lrps,
//                          bbs->ActualLrps({.cell_id = "cell-1"}));

#ifndef DIEGO_BBS_CLIENT_H_
#define DIEGO_BBS_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "diego/base/clock.h"
#include "diego/bbs/store.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/events.pb.h"
#include "diego/model/v1/task.pb.h"
#include "google/protobuf/message.h"

namespace diego::bbs {

struct BbsClientOptions {
  // Bounds each phase of one attempt: connecting, sending the request and
  // each wait for response bytes (Diego's `RequestTimeout`). Must be positive.
  // Event streams use it for connecting and for the response headers only.
  absl::Duration timeout = absl::Seconds(10);

  // TLS, for `https://` URLs only. `ca_file` empty = the system's trust
  // store; `cert_file` + `key_file` (both or neither) = the client
  // certificate Diego's BBS requires.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;

  // `X-Vcap-Request-Id` of calls that pass no trace id ("" = none).
  std::string trace_id;

  // Attempts per call (Diego's `DefaultRetryCount`), at least 1, and the
  // pause between them (Diego sleeps 500ms), slept on `clock`.
  int request_attempts = 3;
  absl::Duration retry_interval = absl::Milliseconds(500);

  // Idle keep-alive connections kept for reuse (Diego: MaxIdleConnsPerHost).
  // Size it to the number of concurrent callers to avoid reconnecting; note
  // that each open connection holds one of the BbsServer's worker threads
  // until the server's keep-alive timeout closes it.
  int max_idle_connections = 32;

  // For the retry pauses only. Null = `Clock::Real()`. Not owned.
  Clock* clock = nullptr;
};

// Filters of the list calls: `ActualLrpFilter`, `DesiredLrpFilter` and
// `TaskFilter` of store.h (empty fields do not filter).

// The outcome of an evacuation call: Diego's `(keepContainer bool, err
// error)`. `keep_container` is meaningful even when `status` is not OK: it
// is the server's answer when the error came inside the response, and the
// route's default otherwise (true for claimed and running, false for
// stopped and crashed), which is what the cell must then do.
struct EvacuationReply {
  bool keep_container = false;
  absl::Status status;
};

// A decoded event of an event stream (`bbs-wire-reference.md` 6.3). The
// deprecated group events (`actual_lrp_created/changed/removed`) are decoded
// too, as Diego's client does.
using BbsEventMessage =
    std::variant<model::v1::DesiredLRPCreatedEvent, model::v1::DesiredLRPChangedEvent,
                 model::v1::DesiredLRPRemovedEvent, model::v1::ActualLRPCreatedEvent,
                 model::v1::ActualLRPChangedEvent, model::v1::ActualLRPRemovedEvent,
                 model::v1::ActualLRPCrashedEvent, model::v1::ActualLRPInstanceCreatedEvent,
                 model::v1::ActualLRPInstanceChangedEvent, model::v1::ActualLRPInstanceRemovedEvent,
                 model::v1::TaskCreatedEvent, model::v1::TaskChangedEvent,
                 model::v1::TaskRemovedEvent>;

struct StreamEvent {
  std::string id;    // The SSE `id:` (per-connection counter).
  std::string type;  // The SSE `event:` name, e.g. "actual_lrp_instance_changed".
  BbsEventMessage message;
};

// Decodes one event's payload by its SSE name (Diego's `parseRawEvent`).
// Errors (kDataLoss): empty data, "invalid protobuf payload of type <type>:
// event with no data"; bytes that do not parse, "invalid protobuf payload of
// type <type>: ...". An unknown name is kUnimplemented with exactly
// `kUnrecognizedEventType` as its message.
inline constexpr absl::string_view kUnrecognizedEventType = "unrecognized event type";
absl::StatusOr<StreamEvent> DecodeStreamEvent(absl::string_view id, absl::string_view type,
                                              absl::string_view payload);

// One subscription to an event stream. Destroying it closes it (and waits
// for its reader thread).
class EventSource {
 public:
  ~EventSource();
  EventSource(const EventSource&) = delete;
  EventSource& operator=(const EventSource&) = delete;

  // Blocks for the next event, in stream order. Errors:
  //   - kUnimplemented `kUnrecognizedEventType` / kDataLoss "invalid protobuf
  //     payload ...": that one event could not be decoded; the stream stays
  //     open and the next call returns the following event (Diego's client
  //     behaves the same; callers that skip unknown events just call again);
  //   - kCancelled "source closed": after `Close()`;
  //   - kUnavailable: the stream ended (the server closed it, e.g. because
  //     this subscriber fell 1024 events behind, or the connection broke).
  //     Events are not replayed: re-subscribe and re-list, as Diego's
  //     clients do.
  // After kCancelled or kUnavailable every later call returns the same
  // status. Events already received before the end are returned first.
  absl::StatusOr<StreamEvent> Next();

  // Ends the subscription from any thread: a blocked `Next()` returns
  // kCancelled at once, undelivered events are dropped, and the connection
  // is shut down. Idempotent.
  void Close();

  struct Impl;  // Implementation detail.

 private:
  friend class BbsClient;
  explicit EventSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class BbsClient {
 public:
  // `url`: "http://host[:port][/prefix]" or "https://..." (ports default to
  // 80 / 443; a bracketed IPv6 literal is accepted). No I/O happens here.
  // kInvalidArgument for a malformed URL, a non-positive timeout, fewer than
  // 1 attempt, only one of cert/key, or TLS files that cannot be loaded.
  static absl::StatusOr<std::unique_ptr<BbsClient>> Create(absl::string_view url,
                                                           const BbsClientOptions& options);
  ~BbsClient();
  BbsClient(const BbsClient&) = delete;
  BbsClient& operator=(const BbsClient&) = delete;

  // In every method `trace_id` is the call's X-Vcap-Request-Id ("" = the
  // client's default). Errors are those of the file comment.

  // -- Ping, domains, cells ---------------------------------------------------

  // The response's `available` (true from a working BBS).
  absl::StatusOr<bool> Ping(absl::string_view trace_id = {});
  absl::StatusOr<std::vector<std::string>> Domains(absl::string_view trace_id = {});
  // `ttl` in whole seconds (truncated; 0 = never expires).
  absl::Status UpsertDomain(absl::string_view domain, absl::Duration ttl,
                            absl::string_view trace_id = {});
  absl::StatusOr<std::vector<model::v1::CellPresence>> Cells(absl::string_view trace_id = {});

  // -- Actual LRPs: reads -----------------------------------------------------

  absl::StatusOr<std::vector<model::v1::ActualLRP>> ActualLrps(const ActualLrpFilter& filter,
                                                               absl::string_view trace_id = {});
  absl::StatusOr<std::vector<model::v1::ActualLRP>> ActualLrpsByProcessGuids(
      absl::Span<const std::string> process_guids, absl::string_view trace_id = {});
  // Deprecated group reads (domain and cell_id filter only).
  absl::StatusOr<std::vector<model::v1::ActualLRPGroup>> ActualLrpGroups(
      const ActualLrpFilter& filter, absl::string_view trace_id = {});
  absl::StatusOr<std::vector<model::v1::ActualLRPGroup>> ActualLrpGroupsByProcessGuid(
      absl::string_view process_guid, absl::string_view trace_id = {});
  absl::StatusOr<model::v1::ActualLRPGroup> ActualLrpGroupByProcessGuidAndIndex(
      absl::string_view process_guid, int32_t index, absl::string_view trace_id = {});

  // -- Actual LRPs: lifecycle (cells) -----------------------------------------

  absl::Status ClaimActualLrp(absl::string_view process_guid, int32_t index,
                              const model::v1::ActualLRPInstanceKey& instance_key,
                              absl::string_view trace_id = {});
  // `start.r1`, falling back to `start` (see the file comment).
  absl::Status StartActualLrp(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      const model::v1::ActualLRPNetInfo& net_info,
      absl::Span<const model::v1::ActualLRPInternalRoute> internal_routes = {},
      const std::map<std::string, std::string>& metric_tags = {}, bool routable = true,
      absl::string_view availability_zone = {}, absl::string_view trace_id = {});
  absl::Status CrashActualLrp(const model::v1::ActualLRPKey& key,
                              const model::v1::ActualLRPInstanceKey& instance_key,
                              absl::string_view error_message, absl::string_view trace_id = {});
  absl::Status FailActualLrp(const model::v1::ActualLRPKey& key, absl::string_view error_message,
                             absl::string_view trace_id = {});
  absl::Status RemoveActualLrp(absl::string_view process_guid, int32_t index,
                               const model::v1::ActualLRPInstanceKey& instance_key,
                               absl::string_view trace_id = {});
  // External "kill this instance" (desired state unchanged).
  absl::Status RetireActualLrp(const model::v1::ActualLRPKey& key, absl::string_view trace_id = {});

  // -- Evacuation ---------------------------------------------------------------

  EvacuationReply EvacuateClaimedActualLrp(const model::v1::ActualLRPKey& key,
                                           const model::v1::ActualLRPInstanceKey& instance_key,
                                           absl::string_view trace_id = {});
  // `evacuate_running.r1`, falling back to `evacuate_running`.
  EvacuationReply EvacuateRunningActualLrp(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      const model::v1::ActualLRPNetInfo& net_info,
      absl::Span<const model::v1::ActualLRPInternalRoute> internal_routes = {},
      const std::map<std::string, std::string>& metric_tags = {}, bool routable = true,
      absl::string_view availability_zone = {}, absl::string_view trace_id = {});
  EvacuationReply EvacuateStoppedActualLrp(const model::v1::ActualLRPKey& key,
                                           const model::v1::ActualLRPInstanceKey& instance_key,
                                           absl::string_view trace_id = {});
  EvacuationReply EvacuateCrashedActualLrp(const model::v1::ActualLRPKey& key,
                                           const model::v1::ActualLRPInstanceKey& instance_key,
                                           absl::string_view error_message,
                                           absl::string_view trace_id = {});
  absl::Status RemoveEvacuatingActualLrp(const model::v1::ActualLRPKey& key,
                                         const model::v1::ActualLRPInstanceKey& instance_key,
                                         absl::string_view trace_id = {});

  // -- Desired LRPs -------------------------------------------------------------

  // `list.r3` / `get_by_process_guid.r3` (V3 payloads).
  absl::StatusOr<std::vector<model::v1::DesiredLRP>> DesiredLrps(const DesiredLrpFilter& filter,
                                                                 absl::string_view trace_id = {});
  absl::StatusOr<model::v1::DesiredLRP> DesiredLrpByProcessGuid(absl::string_view process_guid,
                                                                absl::string_view trace_id = {});
  absl::StatusOr<std::vector<model::v1::DesiredLRPSchedulingInfo>> DesiredLrpSchedulingInfos(
      const DesiredLrpFilter& filter, absl::string_view trace_id = {});
  absl::StatusOr<model::v1::DesiredLRPSchedulingInfo> DesiredLrpSchedulingInfoByProcessGuid(
      absl::string_view process_guid, absl::string_view trace_id = {});
  // Only `filter.process_guids` is sent (as Diego's client).
  absl::StatusOr<std::vector<model::v1::DesiredLRP>> DesiredLrpRoutingInfos(
      const DesiredLrpFilter& filter, absl::string_view trace_id = {});
  absl::Status DesireLrp(const model::v1::DesiredLRP& lrp, absl::string_view trace_id = {});
  absl::Status UpdateDesiredLrp(absl::string_view process_guid,
                                const model::v1::DesiredLRPUpdate& update,
                                absl::string_view trace_id = {});
  absl::Status RemoveDesiredLrp(absl::string_view process_guid, absl::string_view trace_id = {});

  // -- Tasks --------------------------------------------------------------------

  absl::StatusOr<std::vector<model::v1::Task>> Tasks(const TaskFilter& filter = {},
                                                     absl::string_view trace_id = {});
  absl::StatusOr<model::v1::Task> TaskByGuid(absl::string_view task_guid,
                                             absl::string_view trace_id = {});
  absl::Status DesireTask(absl::string_view task_guid, absl::string_view domain,
                          const model::v1::TaskDefinition& definition,
                          absl::string_view trace_id = {});
  // The response's `should_start`.
  absl::StatusOr<bool> StartTask(absl::string_view task_guid, absl::string_view cell_id,
                                 absl::string_view trace_id = {});
  absl::Status CancelTask(absl::string_view task_guid, absl::string_view trace_id = {});
  // Deprecated route.
  absl::Status FailTask(absl::string_view task_guid, absl::string_view failure_reason,
                        absl::string_view trace_id = {});
  absl::Status RejectTask(absl::string_view task_guid, absl::string_view rejection_reason,
                          absl::string_view trace_id = {});
  absl::Status CompleteTask(absl::string_view task_guid, absl::string_view cell_id, bool failed,
                            absl::string_view failure_reason, absl::string_view result,
                            absl::string_view trace_id = {});
  absl::Status ResolvingTask(absl::string_view task_guid, absl::string_view trace_id = {});
  absl::Status DeleteTask(absl::string_view task_guid, absl::string_view trace_id = {});

  // -- Event streams --------------------------------------------------------------

  // `POST /v1/events/lrp_instances.r1` with `EventsByCellId{cell_id}` ("" =
  // every event). Returns once the server answered 200 with the stream's
  // headers. Errors: kUnavailable (connection failed, or "bad response from
  // event source: status N"), kDeadlineExceeded (no response headers within
  // `timeout`).
  absl::StatusOr<std::unique_ptr<EventSource>> SubscribeToInstanceEvents(
      absl::string_view cell_id = {}, absl::string_view trace_id = {});
  // `POST /v1/events/tasks.r1`.
  absl::StatusOr<std::unique_ptr<EventSource>> SubscribeToTaskEvents(
      absl::string_view trace_id = {});

  // -- Low level --------------------------------------------------------------------

  // One call of the route named `route_name` (routes.h) with `request`
  // (null = empty body) decoding into `response`, with the transport, status
  // and retry handling of the file comment. The response's own `error` field
  // is NOT looked at. For deprecated or revision routes without a method
  // (e.g. "DesiredLRPs_r2"). kInvalidArgument for an unknown route name.
  absl::Status Call(absl::string_view route_name, const google::protobuf::Message* request,
                    google::protobuf::Message* response, absl::string_view trace_id = {});

  struct Impl;  // Implementation detail.

 private:
  explicit BbsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace diego::bbs

#endif  // DIEGO_BBS_CLIENT_H_
