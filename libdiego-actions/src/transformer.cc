// Copyright 2026 The libdiego Authors.
//
// The transformer: a container's whole step tree from a Task or DesiredLRP
// (Diego's executor depot/transformer/transformer.go and the rep's
// conversion_helpers.go); see transformer.h.
//
// Notes on fidelity:
//   * An action's `log_source` applies to the action and all its children
//     (diego-spec.md 2.1). Diego's transformer ignores a serial action's own
//     log_source and builds an emit_progress action's child with the
//     parent's streamer; libdiego follows the spec there.
//   * Monitor (legacy) actions are built as Diego does: suppress_log_output
//     forced off everywhere, no exit-status texts, and every child of a
//     parallel/codependent action wrapped so its captured output becomes
//     its error.
//   * Declarative checks: startup = parallel(startup checks), liveness =
//     codependent(liveness checks; success is not an error), readiness =
//     ReadinessHealthCheck(parallel(until-ready), codependent(readiness)).
//     Invalid checks are skipped; a check definition with no valid check
//     builds no health step of that kind (Diego would build an empty one
//     that dereferences a nil error). A check definition with neither checks
//     nor readiness checks falls back to the legacy monitor (Diego: any
//     check definition disables the monitor; the Cloud Controller never
//     sends an empty one with a monitor).
//   * The healthcheck binary's processes get backend-generated ids; Diego
//     names them "<handle>-startup-healthcheck-<i>" etc., which the
//     readiness loop's re-runs would collide with on a backend that keeps
//     exited processes.
//   * Cached dependencies (and shared image layers) become parallel download
//     actions in front of the setup, as BBS's V0 downgrade does; Diego's
//     current executor downloads them on the host and bind-mounts them.

#include "diego/actions/transformer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "check_steps.h"
#include "diego/actions/errors.h"
#include "diego/base/check.h"
#include "diego/base/status_macros.h"
#include "diego/model/v1/actions.pb.h"
#include "diego/model/v1/cached_dependency.pb.h"
#include "diego/model/v1/image_layer.pb.h"
#include "diego/model/v1/metric_tags.pb.h"
#include "openssl/evp.h"

namespace diego::actions {
namespace {

using actions_internal::CheckKind;
using actions_internal::CheckSpec;
using model::v1::Action;
using model::v1::CachedDependency;
using model::v1::Check;
using model::v1::DownloadAction;
using model::v1::ImageLayer;

constexpr char kTcpLivenessFailedMetric[] = "TCPLivenessChecksFailedCount";
constexpr char kHttpLivenessFailedMetric[] = "HTTPLivenessChecksFailedCount";

// ---- Small steps and streamers ----------------------------------------------

// Drops everything written (Diego's NoopStreamer): the post-setup hook runs
// with no logs.
class NoopLogStreamer final : public LogStreamer {
 public:
  explicit NoopLogStreamer(std::string source) : source_(std::move(source)) {}
  void Stdout(absl::string_view) override {}
  void Stderr(absl::string_view) override {}
  void Flush() override {}
  std::shared_ptr<LogStreamer> WithSource(absl::string_view source) override {
    return std::make_shared<NoopLogStreamer>(source.empty() ? source_ : std::string(source));
  }
  std::string SourceName() const override { return source_; }

 private:
  const std::string source_;
};

// Fails at once with `status`: what a monitor factory returns if building an
// attempt fails (the monitor was built once successfully in Build, so this
// only guards against the impossible).
class FailedStep final : public Step {
 public:
  explicit FailedStep(absl::Status status) : status_(std::move(status)) {}
  absl::Status Run() override { return status_; }
  void Cancel() override {}

 private:
  const absl::Status status_;
};

// ---- Model helpers ---------------------------------------------------------

// Deprecated model fields still honoured (read in one place, warnings off).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
int64_t DeprecatedTimeoutNs(const model::v1::TimeoutAction& timeout) {
  return timeout.deprecated_timeout_ns();
}
int64_t DeprecatedStartTimeoutMs(const model::v1::DesiredLRP& lrp) {
  return int64_t{lrp.deprecated_start_timeout_s()} * 1000;
}
template <typename T>
const std::string& LegacyDownloadUser(const T& model) {
  return model.legacy_download_user();
}
// Go's strings.ToLower(layer.DigestAlgorithm.String()) for valid values.
std::string DigestAlgorithmName(ImageLayer::DigestAlgorithm algorithm) {
  switch (algorithm) {
    case ImageLayer::SHA256:
      return "sha256";
    case ImageLayer::SHA512:
      return "sha512";
    default:
      return "";
  }
}
#pragma GCC diagnostic pop

bool HasActionType(const Action& action) {
  return action.has_download_action() || action.has_upload_action() || action.has_run_action() ||
         action.has_timeout_action() || action.has_emit_progress_action() ||
         action.has_try_action() || action.has_parallel_action() || action.has_serial_action() ||
         action.has_codependent_action();
}

// Diego's overrideSuppressLogOutput: a monitor's run actions always log.
void OverrideSuppressLogOutput(Action* action) {
  if (action->has_run_action()) {
    action->mutable_run_action()->set_suppress_log_output(false);
  } else if (action->has_try_action()) {
    OverrideSuppressLogOutput(action->mutable_try_action()->mutable_action());
  } else if (action->has_parallel_action()) {
    for (Action& a : *action->mutable_parallel_action()->mutable_actions()) {
      OverrideSuppressLogOutput(&a);
    }
  } else if (action->has_serial_action()) {
    for (Action& a : *action->mutable_serial_action()->mutable_actions()) {
      OverrideSuppressLogOutput(&a);
    }
  } else if (action->has_codependent_action()) {
    for (Action& a : *action->mutable_codependent_action()->mutable_actions()) {
      OverrideSuppressLogOutput(&a);
    }
  } else if (action->has_emit_progress_action()) {
    OverrideSuppressLogOutput(action->mutable_emit_progress_action()->mutable_action());
  } else if (action->has_timeout_action()) {
    OverrideSuppressLogOutput(action->mutable_timeout_action()->mutable_action());
  }
}

// Diego's Check.Validate: exactly one of tcp_check / http_check, port in
// 1..65535.
absl::Status ValidateCheck(const Check& check) {
  if (check.has_tcp_check() == check.has_http_check()) {
    return absl::InvalidArgumentError("check: exactly one of tcp_check and http_check must be set");
  }
  const uint32_t port =
      check.has_http_check() ? check.http_check().port() : check.tcp_check().port();
  if (port == 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("check: invalid port ", port));
  }
  return absl::OkStatus();
}

// A check with Diego's applyCheckDefaults: timeout <= 0 -> the default
// timeout; path "" -> "/"; interval 0 -> the healthy interval. `kind` and
// the kind-specific interval are filled in by the caller.
CheckSpec BaseCheckSpec(const Check& check, const TransformerOptions& options) {
  CheckSpec spec;
  uint64_t timeout_ms = 0;
  uint64_t interval_ms = 0;
  if (check.has_http_check()) {
    spec.http = true;
    spec.port = static_cast<uint16_t>(check.http_check().port());
    spec.path = check.http_check().path().empty() ? "/" : check.http_check().path();
    timeout_ms = check.http_check().request_timeout_ms();
    interval_ms = check.http_check().interval_ms();
  } else {
    spec.port = static_cast<uint16_t>(check.tcp_check().port());
    timeout_ms = check.tcp_check().connect_timeout_ms();
    interval_ms = check.tcp_check().interval_ms();
  }
  int64_t default_ms = absl::ToInt64Milliseconds(options.declarative_healthcheck_default_timeout);
  if (default_ms <= 0) default_ms = 1000;  // Diego's DefaultDeclarativeHealthcheckRequestTimeout
  spec.timeout_ms =
      static_cast<int64_t>(timeout_ms) <= 0 ? default_ms : static_cast<int64_t>(timeout_ms);
  spec.interval = interval_ms == 0 ? options.healthy_monitoring_interval
                                   : absl::Milliseconds(static_cast<int64_t>(interval_ms));
  return spec;
}

// ---- Building action steps -----------------------------------------------

// Builds the steps of model actions for one container. Holds references
// only; the steps it builds own what they need.
class ActionBuilder {
 public:
  ActionBuilder(const TransformerOptions& options, garden::Container* container,
                const garden::ContainerInfo& info)
      : options_(options), container_(container), info_(info) {}

  // Diego's stepFor. `suppress_exit_status` and `wrap_output` are set for
  // monitor actions.
  absl::StatusOr<StepPtr> Build(const Action& action, const std::shared_ptr<LogStreamer>& streamer,
                                bool suppress_exit_status, bool wrap_output,
                                const Logger& logger) const {
    if (action.has_run_action()) {
      const model::v1::RunAction& run = action.run_action();
      if (run.path().empty()) return absl::InvalidArgumentError("run action: path is required");
      return NewRunStep(
          container_, run,
          RunOptions(streamer->WithSource(run.log_source()), suppress_exit_status, logger));
    }
    if (action.has_download_action()) {
      const DownloadAction& download = action.download_action();
      if (options_.downloader == nullptr || options_.download_limiter == nullptr) {
        return absl::FailedPreconditionError(
            "download action: the transformer has no downloader or download limiter");
      }
      return NewDownloadStep(
          container_, download, options_.downloader, options_.download_limiter,
          TransferStepOptions{.streamer = streamer->WithSource(download.log_source()),
                              .logger = logger});
    }
    if (action.has_upload_action()) {
      const model::v1::UploadAction& upload = action.upload_action();
      if (options_.uploader == nullptr || options_.upload_limiter == nullptr) {
        return absl::FailedPreconditionError(
            "upload action: the transformer has no uploader or upload limiter");
      }
      return NewUploadStep(
          container_, upload, options_.uploader, options_.upload_limiter, options_.temp_dir,
          TransferStepOptions{.streamer = streamer->WithSource(upload.log_source()),
                              .logger = logger});
    }
    if (action.has_emit_progress_action()) {
      const model::v1::EmitProgressAction& emit = action.emit_progress_action();
      if (!emit.has_action())
        return absl::InvalidArgumentError("emit_progress action: action is required");
      std::shared_ptr<LogStreamer> source = streamer->WithSource(emit.log_source());
      DIEGO_ASSIGN_OR_RETURN(
          StepPtr child, Build(emit.action(), source, suppress_exit_status, wrap_output, logger));
      return NewEmitProgressStep(std::move(child), emit.start_message(), emit.success_message(),
                                 emit.failure_message_prefix(), source, logger);
    }
    if (action.has_timeout_action()) {
      const model::v1::TimeoutAction& timeout = action.timeout_action();
      if (!timeout.has_action())
        return absl::InvalidArgumentError("timeout action: action is required");
      absl::Duration duration = absl::Milliseconds(timeout.timeout_ms());
      if (timeout.timeout_ms() <= 0) duration = absl::Nanoseconds(DeprecatedTimeoutNs(timeout));
      if (duration <= absl::ZeroDuration()) {
        return absl::InvalidArgumentError("timeout action: timeout_ms must be positive");
      }
      DIEGO_ASSIGN_OR_RETURN(StepPtr child,
                             Build(timeout.action(), streamer->WithSource(timeout.log_source()),
                                   suppress_exit_status, wrap_output, logger));
      return NewTimeoutStep(std::move(child), duration, options_.clock, logger);
    }
    if (action.has_try_action()) {
      const model::v1::TryAction& try_action = action.try_action();
      if (!try_action.has_action())
        return absl::InvalidArgumentError("try action: action is required");
      DIEGO_ASSIGN_OR_RETURN(
          StepPtr child, Build(try_action.action(), streamer->WithSource(try_action.log_source()),
                               suppress_exit_status, wrap_output, logger));
      return NewTryStep(std::move(child), logger);
    }
    if (action.has_parallel_action()) {
      const model::v1::ParallelAction& parallel = action.parallel_action();
      DIEGO_ASSIGN_OR_RETURN(
          StepList children,
          Children("parallel", parallel.actions(), streamer->WithSource(parallel.log_source()),
                   suppress_exit_status, wrap_output, /*wrap_children=*/true, logger));
      return NewParallelStep(std::move(children));
    }
    if (action.has_codependent_action()) {
      const model::v1::CodependentAction& codependent = action.codependent_action();
      DIEGO_ASSIGN_OR_RETURN(
          StepList children,
          Children("codependent", codependent.actions(),
                   streamer->WithSource(codependent.log_source()), suppress_exit_status,
                   wrap_output, /*wrap_children=*/true, logger));
      return NewCodependentStep(std::move(children), /*error_on_exit=*/true,
                                /*cancel_others_on_exit=*/true);
    }
    if (action.has_serial_action()) {
      const model::v1::SerialAction& serial = action.serial_action();
      DIEGO_ASSIGN_OR_RETURN(
          StepList children,
          Children("serial", serial.actions(), streamer->WithSource(serial.log_source()),
                   suppress_exit_status, wrap_output, /*wrap_children=*/false, logger));
      return NewSerialStep(std::move(children));
    }
    return absl::InvalidArgumentError("action: no action type set");
  }

  // Options of a run step in this container (CF_INSTANCE_* from Info()).
  RunStepOptions RunOptions(std::shared_ptr<LogStreamer> streamer, bool suppress_exit_status,
                            const Logger& logger) const {
    return RunStepOptions{
        .streamer = std::move(streamer),
        .clock = options_.clock,
        .logger = logger,
        .external_ip = info_.external_ip,
        .internal_ip = info_.container_ip,
        .internal_ipv6 = info_.container_ipv6,
        .port_mappings = info_.mapped_ports,
        .graceful_shutdown_interval = options_.graceful_shutdown_interval,
        .suppress_exit_status_message = suppress_exit_status,
    };
  }

 private:
  // The children of a parallel / codependent / serial action. For monitors
  // (`wrap_output`), children of parallel and codependent actions write into
  // a buffer of their own whose contents become their error.
  absl::StatusOr<StepList> Children(absl::string_view kind,
                                    const google::protobuf::RepeatedPtrField<Action>& actions,
                                    const std::shared_ptr<LogStreamer>& streamer,
                                    bool suppress_exit_status, bool wrap_output, bool wrap_children,
                                    const Logger& logger) const {
    if (actions.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(kind, " action: actions must not be empty"));
    }
    StepList children;
    children.reserve(actions.size());
    for (const Action& child : actions) {
      if (wrap_output && wrap_children) {
        std::shared_ptr<BufferLogStreamer> buffer = NewBufferLogStreamer(streamer->SourceName());
        DIEGO_ASSIGN_OR_RETURN(StepPtr step,
                               Build(child, buffer, suppress_exit_status, wrap_output, logger));
        children.push_back(NewOutputWrapperStep(std::move(step), "", buffer));
      } else {
        DIEGO_ASSIGN_OR_RETURN(StepPtr step,
                               Build(child, streamer, suppress_exit_status, wrap_output, logger));
        children.push_back(std::move(step));
      }
    }
    return children;
  }

  const TransformerOptions& options_;
  garden::Container* const container_;
  const garden::ContainerInfo& info_;
};

// What the monitor's and the readiness checks' factories need after Build
// returned (they build fresh steps for every attempt). Shared by the
// factories of one tree.
struct TreeContext {
  TransformerOptions options;
  garden::Container* container = nullptr;
  garden::ContainerInfo info;
  std::shared_ptr<LogStreamer> streamer;
  std::string check_source;  // check_definition.log_source or HEALTH
};

// One declarative check step, in-process or Diego's binary.
StepPtr NewCheckStep(const TreeContext& ctx, const CheckSpec& spec, const Logger& logger) {
  if (ctx.options.checker != nullptr) {
    return actions_internal::NewInProcessCheckStep(spec, ctx.options.checker, ctx.info.container_ip,
                                                   ctx.options.clock);
  }
  return actions_internal::NewBinaryCheckStep(
      spec, ctx.container,
      actions_internal::BinaryCheckOptions{
          .healthcheck_path = ctx.options.healthcheck_path,
          .healthcheck_host_dir = ctx.options.healthcheck_host_dir,
          .log_source = ctx.check_source,
          .clock = ctx.options.clock,
          .logger = logger,
          .external_ip = ctx.info.external_ip,
          .internal_ip = ctx.info.container_ip,
          .internal_ipv6 = ctx.info.container_ipv6,
          .port_mappings = ctx.info.mapped_ports,
          .graceful_shutdown_interval = ctx.options.graceful_shutdown_interval,
      });
}

// Diego's NewMonitor: HealthCheck(EventuallySucceeds(throttled monitor,
// unhealthy interval, start timeout), ConsistentlySucceeds(throttled
// monitor, healthy interval)); both loops write to the container's streamer.
absl::StatusOr<StepPtr> BuildMonitor(std::shared_ptr<const TreeContext> ctx, const Action& monitor,
                                     absl::Duration start_timeout) {
  const TransformerOptions& options = ctx->options;
  if (options.healthcheck_pool == nullptr) {
    return absl::FailedPreconditionError("monitor: the transformer has no healthcheck_pool");
  }
  auto action = std::make_shared<Action>(monitor);
  OverrideSuppressLogOutput(action.get());
  const Logger run_logger = options.logger.Session("monitor-run");
  // Build one attempt now, so a bad monitor fails Build instead of every
  // attempt.
  {
    ActionBuilder builder(options, ctx->container, ctx->info);
    DIEGO_RETURN_IF_ERROR(builder.Build(*action, ctx->streamer, true, true, run_logger).status());
  }
  StepFactory attempt = [ctx, action, run_logger]() -> StepPtr {
    ActionBuilder builder(ctx->options, ctx->container, ctx->info);
    absl::StatusOr<StepPtr> step = builder.Build(*action, ctx->streamer, true, true, run_logger);
    if (!step.ok()) return std::make_unique<FailedStep>(step.status());
    return NewThrottleStep(*std::move(step), ctx->options.healthcheck_pool);
  };
  StepPtr startup = NewEventuallySucceedsStep(attempt, options.unhealthy_monitoring_interval,
                                              start_timeout, options.clock);
  StepPtr liveness =
      NewConsistentlySucceedsStep(attempt, options.healthy_monitoring_interval, options.clock);
  return NewHealthCheckStep(std::move(startup), std::move(liveness), ctx->streamer, ctx->streamer,
                            start_timeout, options.clock, options.logger.Session("monitor"));
}

// Diego's transformCheckDefinition: HealthCheck(parallel(startup checks),
// codependent(liveness checks)). Null when no check is valid.
StepPtr BuildCheckDefinition(const std::shared_ptr<const TreeContext>& ctx,
                             const model::v1::CheckDefinition& definition,
                             absl::Duration start_timeout) {
  const TransformerOptions& options = ctx->options;
  const Logger logger = options.logger.Session("check-definition");
  const Logger startup_logger = logger.Session("startup-check");
  const Logger liveness_logger = logger.Session("liveness-check");
  StepList startup_checks;
  StepList liveness_checks;
  for (int i = 0; i < definition.checks_size(); ++i) {
    const Check& check = definition.checks(i);
    if (absl::Status valid = ValidateCheck(check); !valid.ok()) {
      logger.Error("invalid-check", valid, {{"index", i}});
      continue;
    }
    CheckSpec startup = BaseCheckSpec(check, options);
    CheckSpec liveness = startup;
    startup.kind = CheckKind::kStartup;
    startup.interval = options.unhealthy_monitoring_interval;
    startup.start_timeout = start_timeout;
    liveness.kind = CheckKind::kLiveness;
    startup_checks.push_back(NewCheckStep(*ctx, startup, startup_logger));
    StepPtr live = NewCheckStep(*ctx, liveness, liveness_logger);
    if (options.emit_liveness_failure_metrics && options.metrics != nullptr) {
      live = NewEmitCheckFailureMetricStep(
          std::move(live), liveness.http ? kHttpLivenessFailedMetric : kTcpLivenessFailedMetric,
          options.metrics);
    }
    liveness_checks.push_back(std::move(live));
  }
  if (startup_checks.empty()) return nullptr;
  return NewHealthCheckStep(NewParallelStep(std::move(startup_checks)),
                            NewCodependentStep(std::move(liveness_checks), /*error_on_exit=*/false,
                                               /*cancel_others_on_exit=*/false),
                            ctx->streamer, ctx->streamer->WithSource(ctx->check_source),
                            start_timeout, options.clock, logger.Session("health-check"));
}

// Diego's transformReadinessCheckDefinition: ReadinessHealthCheck(
// parallel(until-ready checks), codependent(readiness checks)). Null when
// no readiness check is valid.
StepPtr BuildReadiness(const std::shared_ptr<const TreeContext>& ctx,
                       const model::v1::CheckDefinition& definition,
                       std::function<void(Readiness)> on_readiness) {
  const TransformerOptions& options = ctx->options;
  const Logger logger = options.logger.Session("readiness-check");
  auto until_ready = std::make_shared<std::vector<CheckSpec>>();
  auto until_failure = std::make_shared<std::vector<CheckSpec>>();
  for (int i = 0; i < definition.readiness_checks_size(); ++i) {
    const Check& check = definition.readiness_checks(i);
    if (absl::Status valid = ValidateCheck(check); !valid.ok()) {
      logger.Error("invalid-readiness-check", valid, {{"index", i}});
      continue;
    }
    CheckSpec ready = BaseCheckSpec(check, options);
    CheckSpec failure = ready;
    ready.kind = CheckKind::kUntilReady;
    ready.interval = options.unhealthy_monitoring_interval;
    failure.kind = CheckKind::kReadiness;
    until_ready->push_back(std::move(ready));
    until_failure->push_back(std::move(failure));
  }
  if (until_ready->empty()) return nullptr;
  StepFactory ready_factory = [ctx, until_ready, logger]() -> StepPtr {
    StepList checks;
    for (const CheckSpec& spec : *until_ready) checks.push_back(NewCheckStep(*ctx, spec, logger));
    return NewParallelStep(std::move(checks));
  };
  StepFactory failure_factory = [ctx, until_failure, logger]() -> StepPtr {
    StepList checks;
    for (const CheckSpec& spec : *until_failure) checks.push_back(NewCheckStep(*ctx, spec, logger));
    return NewCodependentStep(std::move(checks), /*error_on_exit=*/true,
                              /*cancel_others_on_exit=*/true);
  };
  if (!on_readiness) on_readiness = [](Readiness) {};
  return NewReadinessHealthCheckStep(std::move(ready_factory), std::move(failure_factory),
                                     std::move(on_readiness),
                                     ctx->streamer->WithSource(ctx->check_source), logger);
}

// ---- Run info conversion (the rep) -----------------------------------------

// "url-sha256:<hex>": a cache key that identifies `url` without revealing it.
std::string UrlCacheKey(const std::string& url) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  DIEGO_CHECK(EVP_Digest(url.data(), url.size(), digest, &len, EVP_sha256(), nullptr) == 1)
      << "sha256 failed";
  std::string key = "url-sha256:";
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    key += kHex[digest[i] >> 4];
    key += kHex[digest[i] & 0xf];
  }
  return key;
}

// BBS's ImageLayers.ToCachedDependencies: shared layers become cached
// dependencies keyed by digest (or URL).
void AppendSharedLayers(const google::protobuf::RepeatedPtrField<ImageLayer>& layers,
                        std::vector<CachedDependency>* out) {
  for (const ImageLayer& layer : layers) {
    if (layer.layer_type() != ImageLayer::SHARED) continue;
    CachedDependency dep;
    dep.set_name(layer.name());
    dep.set_from(layer.url());
    dep.set_to(layer.destination_path());
    dep.set_checksum_algorithm(DigestAlgorithmName(layer.digest_algorithm()));
    dep.set_checksum_value(layer.digest_value());
    // Without a digest BBS keys by the URL itself; a URL may carry
    // credentials and the key is logged and persisted by the cache, so here
    // the key is a hash of the URL instead.
    dep.set_cache_key(layer.digest_value().empty()
                          ? UrlCacheKey(layer.url())
                          : absl::StrCat(dep.checksum_algorithm(), ":", layer.digest_value()));
    out->push_back(std::move(dep));
  }
}

// The download actions of the setup prefix, in order: cached dependencies
// (shared layers first, then the model's own), then exclusive layers.
absl::StatusOr<std::optional<Action>> SetupWithDownloads(
    const google::protobuf::RepeatedPtrField<ImageLayer>& layers,
    const google::protobuf::RepeatedPtrField<CachedDependency>& cached_dependencies,
    const std::string& download_user, const Action* setup) {
  std::vector<CachedDependency> deps;
  AppendSharedLayers(layers, &deps);
  deps.insert(deps.end(), cached_dependencies.begin(), cached_dependencies.end());

  Action serial;
  auto* steps = serial.mutable_serial_action()->mutable_actions();
  if (!deps.empty()) {
    // BBS's actionsFromCachedDependencies (with the checksum kept).
    Action parallel;
    for (const CachedDependency& dep : deps) {
      DownloadAction* d =
          parallel.mutable_parallel_action()->add_actions()->mutable_download_action();
      d->set_artifact(dep.name());
      d->set_from(dep.from());
      d->set_to(dep.to());
      d->set_cache_key(dep.cache_key());
      d->set_log_source(dep.log_source());
      d->set_user(download_user);
      d->set_checksum_algorithm(dep.checksum_algorithm());
      d->set_checksum_value(dep.checksum_value());
    }
    *steps->Add() = std::move(parallel);
  }
  // BBS's ImageLayers.ToDownloadActions: exclusive layers, verified by digest.
  Action exclusive;
  for (const ImageLayer& layer : layers) {
    if (layer.layer_type() != ImageLayer::EXCLUSIVE) continue;
    const std::string algorithm = DigestAlgorithmName(layer.digest_algorithm());
    DownloadAction* d =
        exclusive.mutable_parallel_action()->add_actions()->mutable_download_action();
    d->set_artifact(layer.name());
    d->set_from(layer.url());
    d->set_to(layer.destination_path());
    d->set_cache_key(absl::StrCat(algorithm, ":", layer.digest_value()));
    d->set_user(download_user);
    d->set_checksum_algorithm(algorithm);
    d->set_checksum_value(layer.digest_value());
  }
  if (exclusive.has_parallel_action()) *steps->Add() = std::move(exclusive);

  if (steps->empty()) {
    if (setup == nullptr) return std::optional<Action>();
    return std::optional<Action>(*setup);
  }
  if (setup != nullptr) *steps->Add() = *setup;
  if (steps->size() == 1) {
    Action only = (*steps)[0];
    return std::optional<Action>(std::move(only));
  }
  return std::optional<Action>(std::move(serial));
}

// The rep's ConvertMetricTags: static values as is, INDEX as the instance
// index. INSTANCE_GUID is not known here and is left out.
std::map<std::string, std::string> ConvertMetricTags(
    const google::protobuf::Map<std::string, model::v1::MetricTagValue>& tags,
    std::optional<int> index) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : tags) {
    if (!value.static_().empty()) {
      out[name] = value.static_();
    } else if (value.dynamic() == model::v1::MetricTagValue::INDEX && index.has_value()) {
      out[name] = std::to_string(*index);
    }
  }
  return out;
}

}  // namespace

// ---- Public API ------------------------------------------------------------

absl::StatusOr<RunInfo> RunInfoFromTask(const model::v1::Task& task) {
  if (!task.has_task_definition()) {
    return absl::InvalidArgumentError(
        absl::StrCat("task ", task.task_guid(), ": task_definition is required"));
  }
  const model::v1::TaskDefinition& def = task.task_definition();
  if (!def.has_action() || !HasActionType(def.action())) {
    return absl::InvalidArgumentError(
        absl::StrCat("task ", task.task_guid(), ": action is required"));
  }
  RunInfo info;
  info.is_task = true;
  info.action = def.action();
  DIEGO_ASSIGN_OR_RETURN(info.setup,
                         SetupWithDownloads(def.image_layers(), def.cached_dependencies(),
                                            LegacyDownloadUser(def), nullptr));
  info.log_config.guid = def.log_guid();
  info.log_config.index = 0;
  info.log_config.source_name = def.log_source().empty() ? kDefaultLogSource : def.log_source();
  info.log_config.tags = ConvertMetricTags(def.metric_tags(), std::nullopt);
  info.log_config.bytes_per_second =
      def.has_log_rate_limit() ? def.log_rate_limit().bytes_per_second() : -1;
  return info;
}

absl::StatusOr<RunInfo> RunInfoFromDesiredLrp(const model::v1::DesiredLRP& lrp, int index) {
  if (index < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("desired LRP ", lrp.process_guid(), ": invalid instance index ", index));
  }
  if (!lrp.has_action() || !HasActionType(lrp.action())) {
    return absl::InvalidArgumentError(
        absl::StrCat("desired LRP ", lrp.process_guid(), ": action is required"));
  }
  RunInfo info;
  info.is_task = false;
  info.action = lrp.action();
  DIEGO_ASSIGN_OR_RETURN(
      info.setup,
      SetupWithDownloads(lrp.image_layers(), lrp.cached_dependencies(), LegacyDownloadUser(lrp),
                         lrp.has_setup() ? &lrp.setup() : nullptr));
  if (lrp.has_monitor() && HasActionType(lrp.monitor())) info.monitor = lrp.monitor();
  if (lrp.has_check_definition()) info.check_definition = lrp.check_definition();
  for (const model::v1::Sidecar& sidecar : lrp.sidecars()) {
    if (!sidecar.has_action() || !HasActionType(sidecar.action())) {
      return absl::InvalidArgumentError(
          absl::StrCat("desired LRP ", lrp.process_guid(), ": sidecar action is required"));
    }
    info.sidecars.push_back(sidecar);
  }
  int64_t start_timeout_ms = lrp.start_timeout_ms();
  if (start_timeout_ms <= 0) start_timeout_ms = DeprecatedStartTimeoutMs(lrp);
  info.start_timeout = absl::Milliseconds(start_timeout_ms);
  info.log_config.guid = lrp.log_guid();
  info.log_config.index = index;
  info.log_config.source_name = lrp.log_source().empty() ? kDefaultLogSource : lrp.log_source();
  info.log_config.tags = ConvertMetricTags(lrp.metric_tags(), index);
  info.log_config.bytes_per_second =
      lrp.has_log_rate_limit() ? lrp.log_rate_limit().bytes_per_second() : -1;
  return info;
}

Transformer::Transformer(TransformerOptions options) : options_(std::move(options)) {}

absl::StatusOr<StepPtr> Transformer::StepForAction(const model::v1::Action& action,
                                                   garden::Container* container,
                                                   const garden::ContainerInfo& info,
                                                   std::shared_ptr<LogStreamer> streamer) {
  if (options_.clock == nullptr) {
    return absl::FailedPreconditionError("transformer: options.clock is required");
  }
  if (container == nullptr || streamer == nullptr) {
    return absl::InvalidArgumentError("transformer: container and streamer are required");
  }
  ActionBuilder builder(options_, container, info);
  return builder.Build(action, streamer, false, false, options_.logger.Session("action"));
}

absl::StatusOr<ContainerSteps> Transformer::Build(const RunInfo& info, garden::Container* container,
                                                  std::function<void(Readiness)> on_readiness) {
  if (options_.clock == nullptr || options_.log_sink == nullptr) {
    return absl::FailedPreconditionError(
        "transformer: options.clock and options.log_sink are required");
  }
  if (container == nullptr) return absl::InvalidArgumentError("transformer: container is required");
  if (!HasActionType(info.action)) {
    return absl::InvalidArgumentError("container cannot have empty action");
  }
  absl::StatusOr<garden::ContainerInfo> container_info = container->Info();
  if (!container_info.ok()) {
    return absl::Status(container_info.status().code(),
                        absl::StrCat("container ", container->Handle(),
                                     ": info: ", container_info.status().message()));
  }

  ContainerSteps result;
  result.log_streamer = NewContainerLogStreamer(info.log_config, options_.log_sink, options_.clock);
  const std::shared_ptr<LogStreamer> streamer = result.log_streamer;
  ActionBuilder builder(options_, container, *container_info);

  // Setup, timed.
  StepPtr setup;
  if (info.setup.has_value()) {
    DIEGO_ASSIGN_OR_RETURN(setup, builder.Build(*info.setup, streamer, false, false,
                                                options_.logger.Session("setup")));
    if (options_.metrics != nullptr) {
      setup = NewTimedStep(std::move(setup), options_.clock, options_.metrics);
    }
  }

  // The operator's post-setup hook: no logs.
  StepPtr post_setup;
  if (options_.post_setup_hook.has_value() && !options_.post_setup_hook->path().empty()) {
    post_setup = NewRunStep(container, *options_.post_setup_hook,
                            builder.RunOptions(std::make_shared<NoopLogStreamer>(kDefaultLogSource),
                                               false, options_.logger.Session("post-setup")));
  }

  // The action, then the sidecars.
  StepList long_lived;
  DIEGO_ASSIGN_OR_RETURN(StepPtr action, builder.Build(info.action, streamer, false, false,
                                                       options_.logger.Session("action")));
  long_lived.push_back(std::move(action));
  for (const model::v1::Sidecar& sidecar : info.sidecars) {
    if (!sidecar.has_action()) return absl::InvalidArgumentError("sidecar: action is required");
    DIEGO_ASSIGN_OR_RETURN(StepPtr step, builder.Build(sidecar.action(), streamer, false, false,
                                                       options_.logger.Session("sidecar")));
    long_lived.push_back(std::move(step));
  }

  // Health: declarative checks, else the legacy monitor. Tasks have none.
  if (!info.is_task) {
    const bool declarative =
        info.check_definition.has_value() && (info.check_definition->checks_size() > 0 ||
                                              info.check_definition->readiness_checks_size() > 0);
    if (declarative || info.monitor.has_value()) {
      std::string check_source = kHealthLogSource;
      if (declarative && !info.check_definition->log_source().empty()) {
        check_source = info.check_definition->log_source();
      }
      auto ctx = std::make_shared<TreeContext>(TreeContext{
          .options = options_,
          .container = container,
          .info = *container_info,
          .streamer = streamer,
          .check_source = std::move(check_source),
      });
      if (declarative && options_.checker != nullptr && ctx->info.container_ip.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "container ", container->Handle(), ": declarative checks need the container's IP"));
      }
      std::shared_ptr<const TreeContext> shared = ctx;
      if (declarative) {
        if (StepPtr health =
                BuildCheckDefinition(shared, *info.check_definition, info.start_timeout)) {
          long_lived.push_back(std::move(health));
        }
        if (StepPtr readiness =
                BuildReadiness(shared, *info.check_definition, std::move(on_readiness))) {
          long_lived.push_back(std::move(readiness));
        }
      } else {
        DIEGO_ASSIGN_OR_RETURN(StepPtr monitor,
                               BuildMonitor(shared, *info.monitor, info.start_timeout));
        long_lived.push_back(std::move(monitor));
      }
    }
  }

  StepPtr long_lived_step;
  if (long_lived.size() == 1) {
    long_lived_step = std::move(long_lived.front());
  } else {
    long_lived_step = NewCodependentStep(std::move(long_lived), /*error_on_exit=*/false,
                                         /*cancel_others_on_exit=*/!info.sidecars.empty());
  }

  if (setup == nullptr && post_setup == nullptr) {
    result.step = std::move(long_lived_step);
    return result;
  }
  StepList whole;
  if (setup != nullptr) whole.push_back(std::move(setup));
  if (post_setup != nullptr) whole.push_back(std::move(post_setup));
  whole.push_back(std::move(long_lived_step));
  result.step = NewSerialStep(std::move(whole));
  return result;
}

}  // namespace diego::actions
