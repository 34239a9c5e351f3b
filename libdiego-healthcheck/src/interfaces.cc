// Copyright 2026 The libdiego Authors.
//
// The target address of the healthcheck binary: like Go's
// net.Interfaces()/Addrs() walk in healthcheck.go, the first IPv4 address
// that is not in 127.0.0.0/8, in interface order (getifaddrs lists addresses
// by interface index, as Go's netlink dump does). Like Go, the interface's
// flags are not consulted.

#include "diego/healthcheck/interfaces.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace diego::healthcheck {

absl::StatusOr<std::string> FirstNonLoopbackIpv4() {
  struct ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    int err = errno;
    return absl::InternalError(absl::StrCat("getifaddrs: ", std::strerror(err)));
  }
  std::string found;
  for (struct ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    const auto* sin = reinterpret_cast<const struct sockaddr_in*>(it->ifa_addr);
    uint32_t host_order = ntohl(sin->sin_addr.s_addr);
    if ((host_order >> 24) == 127) continue;  // Go's IP.IsLoopback
    char text[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) == nullptr) continue;
    found = text;
    break;
  }
  freeifaddrs(list);
  if (found.empty()) return absl::NotFoundError("failure to find suitable interface");
  return found;
}

}  // namespace diego::healthcheck
