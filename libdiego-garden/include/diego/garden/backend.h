// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: backend.h
// -----------------------------------------------------------------------------
//
// `diego::garden::Backend` is the server side of Garden: the client API plus
// a lifecycle. `GardenServer` serves any Backend over HTTP; `LinuxBackend`
// and `fakes::FakeGardenBackend` implement it.
//
// Grace time: a backend destroys containers whose grace time (from the spec
// or `Container::SetGraceTime`; 0 = never) has passed without client
// activity. Every call that names a container (Lookup, Info, Run, Attach,
// StreamIn, ...) and every read of a running process's output counts as
// activity. Where the reaping runs is up to the backend (LinuxBackend: a
// thread started by Start).

#ifndef DIEGO_GARDEN_BACKEND_H_
#define DIEGO_GARDEN_BACKEND_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/garden/client.h"

namespace diego::garden {

class Backend : public Client {
 public:
  // Prepares the backend (host networking, cgroups, recovery of what a
  // previous run left, the grace-time reaper). Must be called once before any
  // other call; an error means the backend is unusable.
  [[nodiscard]] virtual absl::Status Start() = 0;

  // Stops background work. Containers are left running (a later Start
  // re-adopts or destroys them, per the backend's options). Idempotent.
  virtual void Stop() = 0;

  // The grace time of `handle` (0 = never reaped); ContainerNotFoundError for
  // an unknown handle.
  [[nodiscard]] virtual absl::StatusOr<absl::Duration> GraceTime(absl::string_view handle) = 0;
};

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_BACKEND_H_
