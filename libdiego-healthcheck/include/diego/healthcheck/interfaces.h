// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: interfaces.h
// -----------------------------------------------------------------------------
//
// How the `healthcheck` binary picks its target address: the first IPv4
// address of an up, non-loopback interface (getifaddrs order), as Diego's
// binary does inside a container.

#ifndef DIEGO_HEALTHCHECK_INTERFACES_H_
#define DIEGO_HEALTHCHECK_INTERFACES_H_

#include <string>

#include "absl/status/statusor.h"

namespace diego::healthcheck {

// kNotFound "failure to find suitable interface" when there is none (the
// binary then exits kExitNoInterface with that text).
absl::StatusOr<std::string> FirstNonLoopbackIpv4();

}  // namespace diego::healthcheck

#endif  // DIEGO_HEALTHCHECK_INTERFACES_H_
