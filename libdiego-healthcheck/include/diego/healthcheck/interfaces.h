// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: interfaces.h
// -----------------------------------------------------------------------------
//
// How the `healthcheck` binary picks its target address: the first IPv4
// address outside 127.0.0.0/8 (getifaddrs order, i.e. by interface index),
// as Diego's binary does inside a container. Like Diego's (Go's
// net.Interfaces()/Addrs() walk), interface flags (up, loopback) are not
// consulted, only the address. getifaddrs failing is kInternal.

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
