// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: grpc.h
// -----------------------------------------------------------------------------
//
// Locket over gRPC, wire-compatible with cloudfoundry/locket: service
// `models.Locket`, methods `/models.Locket/{Lock,Fetch,Release,FetchAll}`
// (bbs-wire-reference.md 7.1), protobuf messages of diego/model/v1/locket.proto.
//
// `LocketGrpcServer` serves any `LocketClient` (normally a `LocketService`):
// each RPC calls the backend and answers its absl::Status as the gRPC status
// with the same code number and message (so `ErrLockCollision()` travels as
// AlreadyExists "lock-collision", exactly as Diego's Locket answers). With
// `tls` set it requires and verifies a client certificate (mutual TLS, as
// Diego deploys Locket); otherwise plaintext (tests, loopback).
//
// `GrpcLocketClient` is the `LocketClient` for a remote Locket: each call has
// a deadline of `timeout`; the returned status carries the server's code and
// message (a server that cannot be reached: kUnavailable; a passed deadline:
// kDeadlineExceeded; a timeout <= 0 fails so without a call). With `tls` it
// presents a client certificate and verifies the server against `ca_file`
// (server name from the address host, or `server_name` when set); a client
// `GrpcTls` with empty cert_file and key_file presents no certificate (which a
// mutual-TLS server refuses).
//
// Thread-safety: both are thread-safe.

#ifndef DIEGO_LOCKET_GRPC_H_
#define DIEGO_LOCKET_GRPC_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "diego/base/logger.h"
#include "diego/locket/client.h"

namespace diego::locket {

// PEM files for mutual TLS (server: its chain/key and the CA its clients'
// certificates must chain to; client: its chain/key and the CA of the server).
struct GrpcTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Client only: overrides the name checked against the server certificate.
  std::string server_name;
};

class LocketGrpcServer {
 public:
  struct Options {
    // "host:port"; port 0 picks a free port (see `port()`).
    std::string listen_address = "0.0.0.0:8891";
    std::optional<GrpcTls> tls;
  };

  // `backend` must outlive the server.
  LocketGrpcServer(LocketClient* backend, Logger logger, Options options);
  ~LocketGrpcServer();  // Stops.

  LocketGrpcServer(const LocketGrpcServer&) = delete;
  LocketGrpcServer& operator=(const LocketGrpcServer&) = delete;

  // Binds and serves on gRPC's threads. Errors: kInvalidArgument (bad
  // address), kFailedPrecondition (TLS file unreadable, naming it),
  // kUnavailable (cannot bind). Call once.
  absl::Status Start();
  // Stops serving; in-flight calls are cancelled after a short grace.
  // Idempotent.
  void Stop();
  // The bound port (after Start()).
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class GrpcLocketClient final : public LocketClient {
 public:
  // `address`: "host:port". No connection is made until the first call.
  static absl::StatusOr<std::unique_ptr<GrpcLocketClient>> Create(
      absl::string_view address, std::optional<GrpcTls> tls = std::nullopt);
  ~GrpcLocketClient() override;

  absl::StatusOr<model::v1::LockResponse> Lock(const model::v1::LockRequest& request,
                                               absl::Duration timeout) override;
  absl::StatusOr<model::v1::FetchResponse> Fetch(const model::v1::FetchRequest& request,
                                                 absl::Duration timeout) override;
  absl::StatusOr<model::v1::ReleaseResponse> Release(const model::v1::ReleaseRequest& request,
                                                     absl::Duration timeout) override;
  absl::StatusOr<model::v1::FetchAllResponse> FetchAll(const model::v1::FetchAllRequest& request,
                                                       absl::Duration timeout) override;

 private:
  struct Impl;
  explicit GrpcLocketClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace diego::locket

#endif  // DIEGO_LOCKET_GRPC_H_
