// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: models.h
// -----------------------------------------------------------------------------
//
// Umbrella header: every generated Diego BBS message (`diego::model::v1::*`).
// Include the individual `diego/model/v1/<file>.pb.h` where compile time
// matters.

#ifndef DIEGO_MODEL_MODELS_H_
#define DIEGO_MODEL_MODELS_H_

#include "diego/model/v1/actions.pb.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/actual_lrp_requests.pb.h"
#include "diego/model/v1/cached_dependency.pb.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/model/v1/certificate_properties.pb.h"
#include "diego/model/v1/check_definition.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/desired_lrp_requests.pb.h"
#include "diego/model/v1/domain.pb.h"
#include "diego/model/v1/environment_variables.pb.h"
#include "diego/model/v1/error.pb.h"
#include "diego/model/v1/evacuation.pb.h"
#include "diego/model/v1/events.pb.h"
#include "diego/model/v1/file.pb.h"
#include "diego/model/v1/go_json.pb.h"
#include "diego/model/v1/image_layer.pb.h"
#include "diego/model/v1/locket.pb.h"
#include "diego/model/v1/log_rate_limit.pb.h"
#include "diego/model/v1/metric_tags.pb.h"
#include "diego/model/v1/modification_tag.pb.h"
#include "diego/model/v1/network.pb.h"
#include "diego/model/v1/ping.pb.h"
#include "diego/model/v1/security_group.pb.h"
#include "diego/model/v1/sidecar.pb.h"
#include "diego/model/v1/task.pb.h"
#include "diego/model/v1/task_requests.pb.h"
#include "diego/model/v1/volume_mount.pb.h"

#include <vector>

#include "google/protobuf/descriptor.h"

namespace diego::model {

// Returns the descriptor of every generated diego.model.v1 file (the 26 BBS
// files and Locket's; not go_json.proto, which holds only options). Calling
// it also links every generated message into a static binary, so the
// generated pool can find any of them by name.
std::vector<const google::protobuf::FileDescriptor*> ModelProtoFiles();

}  // namespace diego::model

#endif  // DIEGO_MODEL_MODELS_H_
