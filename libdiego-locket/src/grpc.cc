// Copyright 2026 The libdiego Authors.

#include "diego/locket/grpc.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "diego/base/flags.h"
#include "diego/base/guid.h"
#include "diego/base/logger.h"
#include "diego/base/status_macros.h"
#include "diego/locket/locket_service.grpc.pb.h"
#include "diego/model/v1/locket.pb.h"

namespace diego::locket {
namespace {

namespace v1 = ::diego::model::v1;

// gRPC metadata carrying a request id; Diego's lock runner sends it on Lock
// calls and Locket only logs it.
constexpr char kRequestIdKey[] = "uuid";
// How long Stop() lets in-flight calls run before they are cancelled.
constexpr absl::Duration kShutdownGrace = absl::Seconds(1);
// Diego's Locket client keepalive (locket.NewClient): a ping after 10 s
// without activity, the connection dropped if no ack within 22 s.
constexpr int kKeepaliveTimeMs = 10 * 1000;
constexpr int kKeepaliveTimeoutMs = 22 * 1000;
// gRPC's reconnect backoff grows to 120 s by default; capping it at Diego's
// retry interval (5 s) lets a lock runner reach a restarted Locket on its
// next attempt instead of failing fast with kUnavailable for minutes.
constexpr int kMaxReconnectBackoffMs = 5 * 1000;

// absl and gRPC status codes share their numbers (0..16).
grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// The contents of a PEM file, which must hold a block whose BEGIN line ends
// with `block` ("CERTIFICATE", "PRIVATE KEY"). kFailedPrecondition naming the
// file otherwise.
absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view what,
                                        absl::string_view block) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read TLS ", what, " '", path, "'"));
  }
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read TLS ", what, " '", path, "'"));
  }
  if (!absl::StrContains(pem, absl::StrCat(block, "-----"))) {
    return absl::FailedPreconditionError(
        absl::StrCat("TLS ", what, " '", path, "' holds no PEM ", block));
  }
  return pem;
}

struct PemFiles {
  std::string ca;
  std::string cert;  // empty: no certificate (client only)
  std::string key;
};

// Server: all three files are required. Client: the CA is required, the
// certificate and key are both given or both empty.
absl::StatusOr<PemFiles> ReadTlsFiles(const GrpcTls& tls, bool server) {
  if (tls.ca_file.empty()) {
    return absl::InvalidArgumentError("TLS needs a CA file");
  }
  if (tls.cert_file.empty() != tls.key_file.empty() || (server && tls.cert_file.empty())) {
    return absl::InvalidArgumentError(server ? "mutual TLS needs a certificate file and a key file"
                                             : "TLS needs both a certificate file and a key file "
                                               "(or neither)");
  }
  PemFiles pem;
  DIEGO_ASSIGN_OR_RETURN(pem.ca, ReadPemFile(tls.ca_file, "CA file", "CERTIFICATE"));
  if (!tls.cert_file.empty()) {
    DIEGO_ASSIGN_OR_RETURN(pem.cert, ReadPemFile(tls.cert_file, "certificate", "CERTIFICATE"));
    DIEGO_ASSIGN_OR_RETURN(pem.key, ReadPemFile(tls.key_file, "key", "PRIVATE KEY"));
  }
  return pem;
}

// "host:port" as gRPC wants it: IPv6 hosts bracketed; an empty listening
// host is every IPv4 interface, as for the BBS. A client needs a host and a
// non-zero port.
absl::StatusOr<std::string> GrpcAddress(absl::string_view address, bool listening) {
  absl::StatusOr<std::pair<std::string, int>> host_port = ParseHostPort(address);
  if (!host_port.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(listening ? "listen" : "Locket", " address: ", host_port.status().message()));
  }
  auto [host, port] = *std::move(host_port);
  if (!listening && (host.empty() || port == 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Locket address: '", address, "' needs a host and a non-zero port"));
  }
  if (host.empty()) host = "0.0.0.0";
  if (absl::StrContains(host, ':')) host = absl::StrCat("[", host, "]");
  return absl::StrCat(host, ":", port);
}

// The time left before the caller's deadline (infinite without one).
absl::Duration TimeLeft(const grpc::ServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteDuration();
  return std::max(absl::FromChrono(deadline) - absl::Now(), absl::ZeroDuration());
}

// Locket's own answers (collisions, validation, missing keys) are part of
// normal operation; anything else is worth an error line.
bool IsLocketAnswer(const absl::Status& status) {
  return status.ok() || absl::IsAlreadyExists(status) || absl::IsInvalidArgument(status) ||
         absl::IsNotFound(status);
}

// `models.Locket` over a `LocketClient`.
class LocketHandler final : public models::Locket::Service {
 public:
  LocketHandler(LocketClient* backend, Logger logger)
      : backend_(backend), logger_(std::move(logger)) {}

  grpc::Status Lock(grpc::ServerContext* context, const v1::LockRequest* request,
                    v1::LockResponse* response) override {
    return Handle("lock", *context, response,
                  [&](absl::Duration timeout) { return backend_->Lock(*request, timeout); });
  }
  grpc::Status Fetch(grpc::ServerContext* context, const v1::FetchRequest* request,
                     v1::FetchResponse* response) override {
    return Handle("fetch", *context, response,
                  [&](absl::Duration timeout) { return backend_->Fetch(*request, timeout); });
  }
  grpc::Status Release(grpc::ServerContext* context, const v1::ReleaseRequest* request,
                       v1::ReleaseResponse* response) override {
    return Handle("release", *context, response,
                  [&](absl::Duration timeout) { return backend_->Release(*request, timeout); });
  }
  grpc::Status FetchAll(grpc::ServerContext* context, const v1::FetchAllRequest* request,
                        v1::FetchAllResponse* response) override {
    return Handle("fetch-all", *context, response,
                  [&](absl::Duration timeout) { return backend_->FetchAll(*request, timeout); });
  }

 private:
  template <typename Response, typename Call>
  grpc::Status Handle(absl::string_view method, const grpc::ServerContext& context,
                      Response* response, Call call) {
    const absl::Time start = absl::Now();
    absl::StatusOr<Response> result = call(TimeLeft(context));
    if (result.ok()) *response = *std::move(result);
    const absl::Status& status = result.status();

    LogData data = {{"method", method}, {"duration", absl::Now() - start}};
    const auto& metadata = context.client_metadata();
    if (auto it = metadata.find(kRequestIdKey); it != metadata.end()) {
      data.push_back({"request-uuid", std::string(it->second.data(), it->second.size())});
    }
    if (IsLocketAnswer(status)) {
      if (!status.ok()) data.push_back({"error", status.message()});
      logger_.Debug("request", data);
    } else {
      logger_.Error("request-failed", status, data);
    }
    return ToGrpcStatus(status);
  }

  LocketClient* const backend_;
  const Logger logger_;
};

}  // namespace

// -----------------------------------------------------------------------------
// LocketGrpcServer
// -----------------------------------------------------------------------------

struct LocketGrpcServer::Impl {
  Impl(LocketClient* backend, Logger logger_in, Options options_in)
      : logger(std::move(logger_in)), options(std::move(options_in)), handler(backend, logger) {}

  absl::Status Start();
  void Stop();

  const Logger logger;
  const Options options;
  LocketHandler handler;
  std::atomic<int> port{0};

  absl::Mutex mu;
  bool started ABSL_GUARDED_BY(mu) = false;
  std::unique_ptr<grpc::Server> server ABSL_GUARDED_BY(mu);
};

absl::Status LocketGrpcServer::Impl::Start() {
  absl::MutexLock lock(&mu);
  if (started) return absl::FailedPreconditionError("LocketGrpcServer::Start called twice");
  started = true;
  DIEGO_ASSIGN_OR_RETURN(const std::string address,
                         GrpcAddress(options.listen_address, /*listening=*/true));
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (options.tls.has_value()) {
    DIEGO_ASSIGN_OR_RETURN(PemFiles pem, ReadTlsFiles(*options.tls, /*server=*/true));
    grpc::SslServerCredentialsOptions ssl(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = std::move(pem.ca);
    ssl.pem_key_cert_pairs.push_back({std::move(pem.key), std::move(pem.cert)});
    credentials = grpc::SslServerCredentials(ssl);
  }

  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let a second Locket bind
  // the same port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int selected_port = 0;
  builder.AddListeningPort(address, credentials, &selected_port);
  builder.RegisterService(&handler);
  server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    server.reset();
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on Locket address '", options.listen_address, "' (in use or not local?",
        options.tls.has_value() ? " or the TLS certificate and key were rejected" : "", ")"));
  }
  port.store(selected_port);
  logger.Info("started", {{"address", options.listen_address},
                          {"port", selected_port},
                          {"tls", options.tls.has_value()}});
  return absl::OkStatus();
}

void LocketGrpcServer::Impl::Stop() {
  std::unique_ptr<grpc::Server> stopping;
  {
    absl::MutexLock lock(&mu);
    stopping = std::move(server);
  }
  if (stopping == nullptr) return;
  stopping->Shutdown(absl::ToChronoTime(absl::Now() + kShutdownGrace));
  stopping->Wait();
  logger.Info("stopped");
}

LocketGrpcServer::LocketGrpcServer(LocketClient* backend, Logger logger, Options options)
    : impl_(std::make_unique<Impl>(backend, logger.Session("grpc-server"), std::move(options))) {}

LocketGrpcServer::~LocketGrpcServer() { Stop(); }

absl::Status LocketGrpcServer::Start() { return impl_->Start(); }

void LocketGrpcServer::Stop() { impl_->Stop(); }

int LocketGrpcServer::port() const { return impl_->port.load(); }

// -----------------------------------------------------------------------------
// GrpcLocketClient
// -----------------------------------------------------------------------------

struct GrpcLocketClient::Impl {
  std::unique_ptr<models::Locket::Stub> stub;

  // One unary call with a deadline `timeout` from now.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (models::Locket::Stub::*method)(grpc::ClientContext*, const Request&, Response*),
      const Request& request, absl::Duration timeout, bool with_request_id = false) {
    // gRPC may still complete a call whose deadline is already due on a
    // fast connection; such a call must not reach the server.
    if (timeout <= absl::ZeroDuration()) return absl::DeadlineExceededError("Deadline Exceeded");
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    if (with_request_id) context.AddMetadata(kRequestIdKey, GenerateGuid());
    Response response;
    DIEGO_RETURN_IF_ERROR(FromGrpcStatus((stub.get()->*method)(&context, request, &response)));
    return response;
  }
};

absl::StatusOr<std::unique_ptr<GrpcLocketClient>> GrpcLocketClient::Create(
    absl::string_view address, std::optional<GrpcTls> tls) {
  DIEGO_ASSIGN_OR_RETURN(const std::string target, GrpcAddress(address, /*listening=*/false));
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (tls.has_value()) {
    DIEGO_ASSIGN_OR_RETURN(PemFiles pem, ReadTlsFiles(*tls, /*server=*/false));
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = std::move(pem.ca);
    ssl.pem_private_key = std::move(pem.key);
    ssl.pem_cert_chain = std::move(pem.cert);
    credentials = grpc::SslCredentials(ssl);
    if (!tls->server_name.empty()) arguments.SetSslTargetNameOverride(tls->server_name);
  }
  auto impl = std::make_unique<Impl>();
  impl->stub = models::Locket::NewStub(grpc::CreateCustomChannel(target, credentials, arguments));
  return std::unique_ptr<GrpcLocketClient>(new GrpcLocketClient(std::move(impl)));
}

GrpcLocketClient::GrpcLocketClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcLocketClient::~GrpcLocketClient() = default;

absl::StatusOr<v1::LockResponse> GrpcLocketClient::Lock(const v1::LockRequest& request,
                                                        absl::Duration timeout) {
  return impl_->Call(&models::Locket::Stub::Lock, request, timeout, /*with_request_id=*/true);
}

absl::StatusOr<v1::FetchResponse> GrpcLocketClient::Fetch(const v1::FetchRequest& request,
                                                          absl::Duration timeout) {
  return impl_->Call(&models::Locket::Stub::Fetch, request, timeout);
}

absl::StatusOr<v1::ReleaseResponse> GrpcLocketClient::Release(const v1::ReleaseRequest& request,
                                                              absl::Duration timeout) {
  return impl_->Call(&models::Locket::Stub::Release, request, timeout);
}

absl::StatusOr<v1::FetchAllResponse> GrpcLocketClient::FetchAll(const v1::FetchAllRequest& request,
                                                                absl::Duration timeout) {
  return impl_->Call(&models::Locket::Stub::FetchAll, request, timeout);
}

}  // namespace diego::locket
