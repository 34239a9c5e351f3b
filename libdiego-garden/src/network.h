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
//
// Names (refinement; everything is derived from `name`, <= 8 chars [a-z0-9]):
//   bridge             <name>br0
//   host veths         <name>-<id>   (id: base-36 counter, unique per host)
//   filter chains      <name>-forward (jumped to from FORWARD, first rule),
//                      <name>-input (from INPUT for traffic from the bridge),
//                      <name>-netout (one jump per container with NetOut
//                      rules), <name>-o-<id> (that container's allow rules)
//   nat chains         <name>-netin (jumped to from PREROUTING and OUTPUT
//                      for local destinations; one jump per container with
//                      NetIn mappings), <name>-i-<id> (its DNAT rules),
//                      <name>-postrouting (MASQUERADE, from POSTROUTING)
// A container's chains exist only once it has NetOut rules / NetIn mappings,
// so creating and destroying a container without them runs no iptables at
// all. Every iptables change is one `iptables-restore --noflush` batch.
//
// Forward rules, in order: traffic to the bridge is accepted (NetIn, other
// containers); from the bridge, established/related is accepted,
// deny_networks are rejected, then the container's own chain (its NetOut
// rules ACCEPT), then everything else is rejected (default-deny egress).
// Traffic from containers to the host itself (INPUT) is rejected unless
// established or `allow_host_access`.
//
// NetIn DNATs host_port on the external IP and on 127.0.0.1 (the bridge gets
// route_localnet=1 and such connections are masqueraded), both for traffic
// arriving from outside (PREROUTING) and from the host itself (OUTPUT).
//
// Thread-safe: all methods may be called concurrently (for different
// containers).

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
  // Refinement: containers may open connections to the host itself (INPUT).
  // Garden's default is false.
  bool allow_host_access = false;
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
  // Validates `options` (InvalidArgument naming the field: name 1-8 chars
  // [a-z0-9], pool /8../30, port range within 1..65535, deny_networks CIDRs,
  // mtu) and detects the external IP (the default route's interface, else
  // the first non-loopback IPv4). Touches nothing on the host.
  static absl::StatusOr<std::unique_ptr<NetworkManager>> Create(NetworkOptions options);
  virtual ~NetworkManager() = default;

  // Host setup (bridge, forwarding, base chains). Idempotent.
  // Also: net.ipv4.ip_forward=1 (host-wide) and route_localnet=1 on the bridge.
  // Needs the `iptables-restore`/`iptables-save` binaries (Debian's iptables).
  virtual absl::Status Init() = 0;

  // Reserves an IP: the address requested by `network` ("10.254.0.9" or
  // "10.254.0.9/30" style; must be inside the pool and free) or the next
  // free one. ResourceExhausted when the pool is full.
  // Refinement: a CIDR whose host bits are zero ("10.254.0.8/30") asks for
  // any free address inside that subnet. Also picks a host veth name that no
  // interface has. No kernel changes. Errors, all "network: ...":
  //   InvalidArgument  "invalid CIDR", "the requested IP X is not within the
  //                    pool P", "...subnet S is not within the pool P",
  //                    "a container IP must not equal the gateway|network|
  //                    broadcast IP"
  //   AlreadyExists    "the requested IP is already allocated: X", or the
  //                    handle already has an address
  //   ResourceExhausted "insufficient IPs remaining in the pool P" (or in
  //                    the requested subnet)
  virtual absl::StatusOr<ContainerNetwork> Allocate(absl::string_view handle,
                                                    absl::string_view network) = 0;

  // Creates the veth pair into the netns of `pid` and configures eth0, lo and
  // the default route inside it. `net` must come from Allocate or Restore.
  // The veth is created with its peer ("eth0", MAC derived from the IP)
  // directly inside the netns and is never deleted by this class: it goes
  // away with the netns. The bridge's forwarding entry for that MAC is
  // pointed at the new port (a reused IP's old veth may still linger).
  // Logs "configured" (debug) with the time it took.
  virtual absl::Status Configure(const ContainerNetwork& net, pid_t pid) = 0;

  // DNAT host_port (0 = from the port pool) on the external IP and on the
  // host's loopback to container_ip:container_port (0 = host_port). Appends
  // to net->mapped_ports. A host port already mapped (by any container):
  // AlreadyExists "port already acquired: N"; pool empty: ResourceExhausted
  // "port pool is exhausted". The first mapping creates the container's nat
  // chain; each call is one iptables-restore.
  virtual absl::StatusOr<PortMapping> NetIn(ContainerNetwork* net, uint32_t host_port,
                                            uint32_t container_port) = 0;
  // Allows egress matching `rules` (in one iptables-restore batch). Appends
  // to net->net_out. Semantics of guardian's kawasaki: one iptables rule per
  // (port range x network range); ranges use -m iprange; icmps set
  // --icmp-type type[/code]; log adds a LOG rule (prefix: the handle) for new
  // connections. InvalidArgument for ports with a protocol other than TCP/UDP
  // ("Ports cannot be specified for Protocol ALL"), ICMPv6 ("invalid
  // protocol: 4"), bad addresses or ranges. No rules: OK, nothing runs.
  virtual absl::Status NetOut(ContainerNetwork* net, const std::vector<NetOutRule>& rules) = 0;

  // Removes the container's rules and returns its IP and ports. OK when
  // nothing is left. Exactly what NetIn/NetOut added is deleted in one
  // batch; if that fails (something was removed meanwhile), whatever remains
  // of the container's chains is found with iptables-save and removed.
  virtual absl::Status Release(const ContainerNetwork& net) = 0;

  // Marks a re-adopted container's IP and ports as in use.
  virtual absl::Status Restore(const ContainerNetwork& net) = 0;

  // Removes chains, rules and host veths of containers not in `keep`
  // (restart recovery). A container is identified by what Restore (or
  // Allocate) recorded for its handle, so call Restore for every re-adopted
  // container first; everything else named after `name` (host veths
  // `<name>-*`, chains `<name>-o-*` / `<name>-i-*` and their jumps) is
  // removed, and handles not in `keep` give back their IP and ports.
  virtual absl::Status CleanupExcept(const std::set<std::string>& keep) = 0;

  // Refinement: removes everything this manager's `name` owns on the host:
  // all container chains and host veths, the base chains and their jumps
  // from the built-in chains, and the bridge; forgets all allocations. For
  // tests and uninstall; Init sets everything up again. OK when nothing is
  // left.
  virtual absl::Status Teardown() = 0;

  // Traffic counters of the container's eth0 (read from the host veth).
  virtual absl::StatusOr<ContainerNetworkStat> Stats(const ContainerNetwork& net) = 0;

  virtual std::string ExternalIp() const = 0;
};

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_NETWORK_H_
