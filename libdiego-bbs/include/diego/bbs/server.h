// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: server.h
// -----------------------------------------------------------------------------
//
// `BbsServer`: Diego's BBS HTTP API (`bbs-wire-reference.md` 1, 5, 6) on
// cpp-httplib, over `BbsService` (service.h) and `EventHub` (events.h).
//
// API listener (`Options::listen_address`), plain HTTP or mutual TLS:
//
//   * Every POST route of routes.h: the body is the route's protobuf request
//     message (an empty body is an all-default message). The reply is always
//     HTTP 200, `Content-Type: application/x-protobuf`, body =
//     `model::SerializeForWire(response)`, errors inside the message's `error`.
//     A body that does not parse gets the route's response with
//     `error = {InvalidRequest, "the request received is invalid"}`
//     (`model::ErrBadRequest()`); for evacuate_claimed and evacuate_running
//     (r0 and r1) that reply also has `keep_container = true`. Routes that take
//     no request (ping, domains/list, cells/list.r1, the task streams) ignore
//     the body. `X-Vcap-Request-Id` becomes `RequestContext::trace_id`.
//   * Deprecated routes: start (r0) and evacuate_running (r0) ignore routes
//     and tags; list.r2 / get_by_*.r2 downgrade payloads to V2.
//   * Event streams: POST /v1/events/lrp_instances.r1 (body `EventsByCellId`;
//     one that does not parse gets HTTP 500 with an empty body) and
//     POST /v1/events/tasks.r1 (body ignored), plus the deprecated
//     POST /v1/events/lrp_instances (desired-LRP payloads downgraded to V0)
//     and POST /v1/events/tasks (task payloads downgraded to V2). Reply: 200,
//     `Content-Type: text/event-stream; charset=utf-8`,
//     `Cache-Control: no-cache, no-store, must-revalidate`,
//     `Connection: keep-alive`, chunked; one SSE event (`EncodeSseEvent`, ids
//     0, 1, 2, ... per connection) per HTTP chunk, never compressed (whatever
//     Accept-Encoding says). The stream ends (final
//     zero-length chunk) when the hub drops the subscriber (it fell
//     `EventHub` max_pending events behind) or on `Stop()`; it is abandoned
//     when the client goes away (noticed within `event_poll_interval`) or a
//     write times out.
//     Differences from Diego: httplib writes chunk-size lines without Diego's
//     bare ';' extension (clients must accept both; the Go client does); the
//     deprecated LRP-*group* streams `GET /v1/events.r1` and `GET /v1/events`
//     are not served and answer 404 like any unknown route; when
//     `max_event_streams` streams are open a new one gets HTTP 503 (the Go
//     client retries on 503).
//   * Unknown method/path: HTTP 404, empty body.
//   * A body larger than `max_request_bytes`: HTTP 413, empty body, and the
//     connection is closed (Diego has no limit; the Go client reports
//     `InvalidResponse` "Invalid Response with status code: 413").
//
// Health listener (`Options::health_listen_address`, plain HTTP, meant for
// 127.0.0.1): `GET /ping` -> 200 empty body (Diego's health check),
// `GET /metrics` -> the Prometheus text of `Metrics::RenderPrometheusText()`
// (`Content-Type: text/plain; version=0.0.4`), and `GET /readyz` -> 200
// "active" while `Options::readiness` returns true, else 503 "standby"
// (`Content-Type: text/plain`; not in Diego, whose standby BBS simply has no
// API port). Anything else: 404.
//
// Active/standby: `StartHealth()` serves the health listener alone, so a
// standby BBS answers /ping, /metrics and /readyz while its API port is not
// bound at all (clients get "connection refused", as with Diego's standby);
// `StartApi()` binds and serves the API once the BBS holds its lock.
// `Start()` does both at once.
//
// Threads: every open connection (including an idle keep-alive one) and
// every event stream occupies one worker thread of a pool of
// `worker_threads` per listener; connections beyond that wait in the accept
// queue. Event subscribers count against the pool, which is why
// `max_event_streams` must leave room for ordinary requests.
//
// Logging: one debug line per request ("request" with route, trace_id,
// duration, and the BBS error type if the response carries one); responses
// whose error is a server-side failure (UnknownError, Deadlock,
// Unrecoverable, Timeout, ...) are logged at error level as well.
//
// Example:
//
//   BbsServer server(&service, &hub, &metrics, logger, options);
//   DIEGO_RETURN_IF_ERROR(server.Start());
//   ... server.port() ...
//   server.Stop();
//
// Thread-safety: `Start*()`/`Stop()` from one controlling thread; the accessors
// are thread-safe after `Start()` returned.

#ifndef DIEGO_BBS_SERVER_H_
#define DIEGO_BBS_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "diego/base/logger.h"
#include "diego/bbs/events.h"
#include "diego/bbs/metrics.h"
#include "diego/bbs/service.h"

namespace diego::bbs {

// Mutual TLS for the API listener: the server presents `cert_file` (PEM chain)
// / `key_file` (PEM key) and requires a client certificate signed by a CA in
// `ca_file` (PEM bundle). TLS 1.2 and 1.3; TLS 1.2 suites are Diego's
// ECDHE-RSA-AES{256,128}-GCM plus the ECDHE-ECDSA equivalents (for EC
// certificates).
struct BbsServerTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

class BbsServer {
 public:
  struct Options {
    // "host:port" (`ParseHostPort`); port 0 picks a free port (see `port()`).
    // An empty host (":8889") listens on every interface.
    std::string listen_address = "0.0.0.0:8889";
    // The health/metrics listener; "" = none.
    std::string health_listen_address = "127.0.0.1:8890";
    // Mutual TLS on the API listener; nullopt = plain HTTP.
    std::optional<BbsServerTls> tls;
    // Largest accepted request body; larger ones get 413 (see above). Diego
    // has no limit; 16 MiB is far above any real BBS request.
    size_t max_request_bytes = 16 * 1024 * 1024;
    // Socket read and write timeout for one request/response (and for each
    // write of an event stream). Whole seconds are used (httplib).
    absl::Duration request_timeout = absl::Seconds(30);
    // How long an idle keep-alive connection is kept (it holds a worker
    // meanwhile, and `Stop()` may wait this long for it). Whole seconds.
    absl::Duration keep_alive_timeout = absl::Seconds(5);
    // Worker threads of the API listener (the health listener has 4).
    int worker_threads = 64;
    // Most concurrent event streams; must be < worker_threads. 0 = three
    // quarters of worker_threads.
    int max_event_streams = 0;
    // How often an idle event stream wakes to check whether its client went
    // away or the server is stopping.
    absl::Duration event_poll_interval = absl::Seconds(1);
    // Answers `GET /readyz` (called on a health worker thread, so it must be
    // thread-safe and quick). Null = ready while the API listener serves.
    std::function<bool()> readiness;
  };

  // Every pointer must outlive the server. `metrics` may be null (no request
  // metrics are recorded and /metrics answers 404).
  BbsServer(BbsService* service, EventHub* hub, Metrics* metrics, Logger logger, Options options);
  ~BbsServer();  // Stops if running.

  BbsServer(const BbsServer&) = delete;
  BbsServer& operator=(const BbsServer&) = delete;

  // Validates the options, loads TLS material, binds both listeners and
  // starts serving on background threads (`StartHealth()` + `StartApi()`, but
  // nothing is served unless both ports could be bound). Errors:
  // kInvalidArgument for a bad address or option, kFailedPrecondition when
  // TLS files cannot be loaded (naming the file) or a listener was already
  // started, kUnavailable when a port cannot be bound. Call once, instead of
  // the two below. Logs "started".
  absl::Status Start();

  // Binds and serves the health listener only (no-op when
  // `health_listen_address` is ""). Errors: kInvalidArgument for a bad
  // address, kUnavailable when the port cannot be bound, kFailedPrecondition
  // when called twice or after `Start()`/`Stop()`. Logs "health-started".
  absl::Status StartHealth();

  // Validates the options, loads TLS material, binds and serves the API
  // listener (after `StartHealth()`, or alone: then there is no health
  // listener). Errors as `Start()`. Call once. Logs "started".
  absl::Status StartApi();

  // Ends every open event stream (each gets its final chunk; new ones get
  // 503), then stops accepting and waits for in-flight requests to finish
  // (idle keep-alive connections: up to keep_alive_timeout). Stops whichever
  // listeners run. Idempotent.
  void Stop();

  // The bound API / health ports (valid after StartApi() / StartHealth();
  // -1 before or when there is no such listener).
  int port() const;
  int health_port() const;

  // Whether the API listener is serving (started and not stopped).
  bool api_serving() const;

  // Open event streams (for tests and metrics).
  size_t open_event_streams() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace diego::bbs

#endif  // DIEGO_BBS_SERVER_H_
