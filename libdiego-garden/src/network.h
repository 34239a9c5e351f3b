// Copyright 2026 The libdiego Authors.
//
// Private (LinuxBackend): container networking.
//
// Host side, set up once by Init (idempotent): a bridge `<name>br0` holding
// the pool's first address (the containers' gateway and "HostIP"),
// net.ipv4.ip_forward=1, and iptables chains (filter and nat) named after
// `name`: a forward chain that accepts established traffic, jumps to one
// chain per container that has NetOut rules, rejects traffic to
// deny_networks and drops all other traffic from the pool (default-deny
// egress); a nat PREROUTING/OUTPUT chain for NetIn DNAT and a POSTROUTING
// MASQUERADE for the pool.
//
// Per container: an IP from the pool (Allocate), a veth pair created with its
// peer directly inside the container's netns ("eth0"), addresses, routes and
// lo inside the netns (Configure). The container's veth goes away with its
// netns, so Release only removes iptables rules and returns the IP and ports
// to the pools (measured trap: moving or deleting a veth costs ~16 ms).
//
// State that must survive a restart is in `ContainerNetwork`, which the
// backend stores with the container and hands back to Restore.

#ifndef DIEGO_GARDEN_NETWORK_H_
#define DIEGO_GARDEN_NETWORK_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "diego/base/logger.h"
#include "diego/garden/spec.h"

namespace diego::garden {

struct NetworkOptions {
  std::string name = "garden";          // prefix of bridge, veths and chains
  std::string pool_cidr = "10.254.0.0/22";
  uint32_t port_pool_start = 61001;
  uint32_t port_pool_size = 4534;
  std::string external_ip;              // "" = detect
  std::vector<std::string> deny_networks;
  int mtu = 1500;
  Logger* logger = nullptr;
};

struct ContainerNetwork {
  std::string handle;
  std::string container_ip;     // e.g. "10.254.0.6"
  std::string host_ip;          // the bridge address (gateway)
  int prefix_length = 0;        // of the pool, e.g. 22
  std::string host_veth;        // host-side interface name (<= 15 chars)
  std::vector<PortMapping> mapped_ports;
  std::vector<NetOutRule> net_out;  // rules applied so far
};

class NetworkManager {
 public:
  static absl::StatusOr<std::unique_ptr<NetworkManager>> Create(NetworkOptions options);
  virtual ~NetworkManager() = default;

  // Host setup (bridge, forwarding, base chains). Idempotent.
  virtual absl::Status Init() = 0;

  // Reserves an IP: the address requested by `network` ("10.254.0.9" or
  // "10.254.0.9/30" style; must be inside the pool and free) or the next
  // free one. ResourceExhausted when the pool is full.
  virtual absl::StatusOr<ContainerNetwork> Allocate(absl::string_view handle,
                                                    absl::string_view network) = 0;

  // Creates the veth pair into the netns of `pid` and configures eth0, lo and
  // the default route inside it.
  virtual absl::Status Configure(const ContainerNetwork& net, pid_t pid) = 0;

  // DNAT host_port (0 = from the port pool) on the external IP and on the
  // host's loopback to container_ip:container_port (0 = host_port). Appends
  // to net->mapped_ports.
  virtual absl::StatusOr<PortMapping> NetIn(ContainerNetwork* net, uint32_t host_port,
                                            uint32_t container_port) = 0;
  // Allows egress matching `rules` (in one iptables-restore batch). Appends
  // to net->net_out.
  virtual absl::Status NetOut(ContainerNetwork* net, const std::vector<NetOutRule>& rules) = 0;

  // Removes the container's rules and returns its IP and ports. OK when
  // nothing is left.
  virtual absl::Status Release(const ContainerNetwork& net) = 0;

  // Marks a re-adopted container's IP and ports as in use.
  virtual absl::Status Restore(const ContainerNetwork& net) = 0;

  // Removes chains, rules and host veths of containers not in `keep`
  // (restart recovery).
  virtual absl::Status CleanupExcept(const std::set<std::string>& keep) = 0;

  // Traffic counters of the container's eth0 (read from the host veth).
  virtual absl::StatusOr<ContainerNetworkStat> Stats(const ContainerNetwork& net) = 0;

  virtual std::string ExternalIp() const = 0;
};

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_NETWORK_H_
