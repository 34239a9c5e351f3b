// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: sample_models.h
// -----------------------------------------------------------------------------
//
// Small valid Diego models for tests and benchmarks that need some record to
// store and fetch but do not care about its details (end-to-end tests of the
// apps, the BBS server's tests, the scale benchmark). Tests of the models
// themselves build their own.

#ifndef DIEGO_TESTING_SAMPLE_MODELS_H_
#define DIEGO_TESTING_SAMPLE_MODELS_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "diego/model/v1/desired_lrp.pb.h"

namespace diego::fakes {

// A DesiredLRP that Diego's validation accepts: `process_guid` in domain
// "cf-apps" with `instances`, log guid "log", root fs "preloaded:cflinuxfs4",
// a run action "/bin/run" as "vcap", 128 MB of memory, 256 MB of disk, a 60 s
// start timeout and the metric tag source_id "app".
model::v1::DesiredLRP SampleDesiredLrp(absl::string_view process_guid, int32_t instances);

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_SAMPLE_MODELS_H_
