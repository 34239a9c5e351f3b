// Copyright 2026 The libdiego Authors.
//
// Payload downgrades for older BBS routes (service.h): Diego's
// `DesiredLRP.VersionDownTo`, `Task.VersionDownTo` and
// `DesiredLRP.PopulateMetricsGuid` (bbs models/desired_lrp.go, task.go,
// image_layer.go, actions.go).

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "diego/bbs/service.h"
#include "diego/model/v1/actions.pb.h"
#include "diego/model/v1/cached_dependency.pb.h"
#include "diego/model/v1/image_layer.pb.h"

// Downgrades write the deprecated fields (deprecated_start_timeout_s,
// deprecated_timeout_ns, metrics_guid, legacy_download_user) on purpose.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::bbs {
namespace {

using model::v1::Action;
using model::v1::CachedDependency;
using model::v1::DesiredLRP;
using model::v1::DownloadAction;
using model::v1::ImageLayer;
using model::v1::Task;
using model::v1::TaskDefinition;
using LayerList = google::protobuf::RepeatedPtrField<ImageLayer>;
using DependencyList = google::protobuf::RepeatedPtrField<CachedDependency>;

// Go's `strings.ToLower(layer.DigestAlgorithm.String())`: the enum value's
// proto name in lower case ("sha256"); a number outside the enum prints as
// its decimal value, as Go's `String()` does.
std::string DigestAlgorithmName(ImageLayer::DigestAlgorithm algorithm) {
  const std::string& name = ImageLayer::DigestAlgorithm_Name(algorithm);
  if (name.empty()) {
    return std::to_string(static_cast<int>(algorithm));
  }
  return absl::AsciiStrToLower(name);
}

// `ImageLayers.ToCachedDependencies`: every SHARED layer, in order. The cache
// key is "<algorithm>:<digest>", or the URL when the layer has no digest.
DependencyList SharedLayersAsDependencies(const LayerList& layers) {
  DependencyList dependencies;
  for (const ImageLayer& layer : layers) {
    if (layer.layer_type() != ImageLayer::SHARED) {
      continue;
    }
    CachedDependency* dependency = dependencies.Add();
    dependency->set_name(layer.name());
    dependency->set_from(layer.url());
    dependency->set_to(layer.destination_path());
    dependency->set_checksum_value(layer.digest_value());
    if (layer.digest_algorithm() != ImageLayer::DigestAlgorithmInvalid) {
      dependency->set_checksum_algorithm(DigestAlgorithmName(layer.digest_algorithm()));
    }
    if (layer.digest_value().empty()) {
      dependency->set_cache_key(layer.url());
    } else {
      dependency->set_cache_key(
          absl::StrCat(dependency->checksum_algorithm(), ":", layer.digest_value()));
    }
  }
  return dependencies;
}

// `ImageLayers.ToDownloadActions(legacy_download_user, existing)`: the
// EXCLUSIVE layers become download actions run in parallel, before
// `existing` (Serial(Parallel(downloads), existing)), or alone when there is
// no existing action. Without exclusive layers `existing` is kept as is.
// `existing` is in/out; absent (`has_existing` false) means Go's nil.
void PrependExclusiveLayerDownloads(const LayerList& layers, const std::string& user,
                                    bool has_existing, Action* existing, bool* now_present) {
  Action parallel;
  for (const ImageLayer& layer : layers) {
    if (layer.layer_type() != ImageLayer::EXCLUSIVE) {
      continue;
    }
    const std::string algorithm = DigestAlgorithmName(layer.digest_algorithm());
    DownloadAction* download =
        parallel.mutable_parallel_action()->add_actions()->mutable_download_action();
    download->set_artifact(layer.name());
    download->set_from(layer.url());
    download->set_to(layer.destination_path());
    download->set_cache_key(absl::StrCat(algorithm, ":", layer.digest_value()));
    download->set_user(user);
    download->set_checksum_algorithm(algorithm);
    download->set_checksum_value(layer.digest_value());
  }
  *now_present = has_existing;
  if (!parallel.has_parallel_action()) {
    return;
  }
  if (has_existing) {
    Action serial;
    *serial.mutable_serial_action()->add_actions() = std::move(parallel);
    // Go's Serial(parallel, UnwrapAction(existing)); an existing wrapper with
    // no action stays an empty entry (protobuf has no nil list element).
    *serial.mutable_serial_action()->add_actions() = std::move(*existing);
    *existing = std::move(serial);
  } else {
    *existing = std::move(parallel);
  }
  *now_present = true;
}

// Diego's `Action.SetDeprecatedTimeoutNs` (the deep-copy version): every
// TimeoutAction reachable through parallel / serial / codependent gets
// `deprecated_timeout_ns = timeout_ms * 1ms` (its own child is not
// visited). EmitProgress and Try are replaced by their downgraded child, as
// Go's function returns the child's result for them. Returns false when the
// result is Go's nil (an EmitProgress or Try without a child).
bool SetDeprecatedTimeoutNs(Action* action) {
  if (action->has_timeout_action()) {
    model::v1::TimeoutAction* timeout = action->mutable_timeout_action();
    timeout->set_deprecated_timeout_ns(timeout->timeout_ms() * 1000000);
    return true;
  }
  if (action->has_emit_progress_action() || action->has_try_action()) {
    const bool is_emit = action->has_emit_progress_action();
    const bool has_child =
        is_emit ? action->emit_progress_action().has_action() : action->try_action().has_action();
    if (!has_child) {
      action->Clear();
      return false;
    }
    Action child = is_emit ? std::move(*action->mutable_emit_progress_action()->mutable_action())
                           : std::move(*action->mutable_try_action()->mutable_action());
    const bool present = SetDeprecatedTimeoutNs(&child);
    *action = std::move(child);
    return present;
  }
  google::protobuf::RepeatedPtrField<Action>* children = nullptr;
  if (action->has_parallel_action()) {
    children = action->mutable_parallel_action()->mutable_actions();
  } else if (action->has_serial_action()) {
    children = action->mutable_serial_action()->mutable_actions();
  } else if (action->has_codependent_action()) {
    children = action->mutable_codependent_action()->mutable_actions();
  }
  if (children != nullptr) {
    for (Action& child : *children) {
      if (!SetDeprecatedTimeoutNs(&child)) {
        child.Clear();  // A nil element in Go; an empty wrapper here.
      }
    }
  }
  return true;
}

// Applies `SetDeprecatedTimeoutNs` to an optional top-level action field.
template <typename Message>
void DowngradeTimeouts(Message* message, bool (Message::*has)() const,
                       Action* (Message::*mutable_field)(), void (Message::*clear)()) {
  if (!(message->*has)()) {
    return;
  }
  if (!SetDeprecatedTimeoutNs((message->*mutable_field)())) {
    (message->*clear)();
  }
}

// downgradeDesiredLRPV3ToV2.
void DesiredLrpV3ToV2(DesiredLRP& lrp) {
  DependencyList dependencies = SharedLayersAsDependencies(lrp.image_layers());
  for (CachedDependency& existing : *lrp.mutable_cached_dependencies()) {
    *dependencies.Add() = std::move(existing);
  }
  lrp.mutable_cached_dependencies()->Swap(&dependencies);

  bool setup_present = false;
  Action setup = lrp.setup();
  PrependExclusiveLayerDownloads(lrp.image_layers(), lrp.legacy_download_user(), lrp.has_setup(),
                                 &setup, &setup_present);
  if (setup_present) {
    *lrp.mutable_setup() = std::move(setup);
  } else {
    lrp.clear_setup();
  }
  lrp.clear_image_layers();
}

// downgradeDesiredLRPV1ToV0: deprecated timeouts, then cached dependencies
// folded into setup as Serial(Parallel(downloads), setup).
void DesiredLrpV1ToV0(DesiredLRP& lrp) {
  DowngradeTimeouts(&lrp, &DesiredLRP::has_action, &DesiredLRP::mutable_action,
                    &DesiredLRP::clear_action);
  DowngradeTimeouts(&lrp, &DesiredLRP::has_setup, &DesiredLRP::mutable_setup,
                    &DesiredLRP::clear_setup);
  DowngradeTimeouts(&lrp, &DesiredLRP::has_monitor, &DesiredLRP::mutable_monitor,
                    &DesiredLRP::clear_monitor);
  // Go: uint32(StartTimeoutMs) / 1000 (the conversion truncates first).
  lrp.set_deprecated_start_timeout_s(static_cast<uint32_t>(lrp.start_timeout_ms()) / 1000);

  if (lrp.cached_dependencies_size() == 0) {
    return;
  }
  Action parallel;
  for (const CachedDependency& dependency : lrp.cached_dependencies()) {
    DownloadAction* download =
        parallel.mutable_parallel_action()->add_actions()->mutable_download_action();
    download->set_artifact(dependency.name());
    download->set_from(dependency.from());
    download->set_to(dependency.to());
    download->set_cache_key(dependency.cache_key());
    download->set_log_source(dependency.log_source());
    download->set_user(lrp.legacy_download_user());
  }
  Action serial;
  *serial.mutable_serial_action()->add_actions() = std::move(parallel);
  if (lrp.has_setup()) {
    *serial.mutable_serial_action()->add_actions() = std::move(*lrp.mutable_setup());
  }
  *lrp.mutable_setup() = std::move(serial);
  lrp.clear_cached_dependencies();
}

// downgradeTaskDefinitionV3ToV2.
void TaskDefinitionV3ToV2(TaskDefinition& definition) {
  DependencyList dependencies = SharedLayersAsDependencies(definition.image_layers());
  for (CachedDependency& existing : *definition.mutable_cached_dependencies()) {
    *dependencies.Add() = std::move(existing);
  }
  definition.mutable_cached_dependencies()->Swap(&dependencies);

  bool action_present = false;
  Action action = definition.action();
  PrependExclusiveLayerDownloads(definition.image_layers(), definition.legacy_download_user(),
                                 definition.has_action(), &action, &action_present);
  if (action_present) {
    *definition.mutable_action() = std::move(action);
  } else {
    definition.clear_action();
  }
  definition.clear_image_layers();
}

}  // namespace

DesiredLRP DowngradeDesiredLrp(const DesiredLRP& lrp, PayloadVersion to) {
  DesiredLRP result = lrp;
  if (to == PayloadVersion::kV3) {
    return result;
  }
  // Go walks V3 -> V2 -> V1 -> V0; V2 -> V1 changes nothing.
  DesiredLrpV3ToV2(result);
  if (to == PayloadVersion::kV0) {
    DesiredLrpV1ToV0(result);
  }
  return result;
}

Task DowngradeTask(const Task& task, PayloadVersion to) {
  Task result = task;
  // The only Task step is V3 -> V2 (V0 asks for the same).
  if (to != PayloadVersion::kV3 && result.has_task_definition()) {
    TaskDefinitionV3ToV2(*result.mutable_task_definition());
  }
  return result;
}

void PopulateMetricsGuid(DesiredLRP& lrp) {
  auto& tags = *lrp.mutable_metric_tags();
  auto source_id = tags.find("source_id");
  if (source_id != tags.end()) {
    if (lrp.metrics_guid().empty()) {
      lrp.set_metrics_guid(source_id->second.static_());
    }
  } else if (!lrp.metrics_guid().empty()) {
    tags["source_id"].set_static_(lrp.metrics_guid());
  }
}

}  // namespace diego::bbs
