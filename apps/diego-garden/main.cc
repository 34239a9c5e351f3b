// Copyright 2026 The libdiego Authors.
//
// diego-garden: Garden's API server (guardian's role) over LinuxBackend.
//
//   # diego-garden --listen_address=/var/vcap/data/garden/garden.sock
//       --depot_dir=/var/vcap/data/garden/depot --network_pool=10.254.0.0/22
//       --max_containers=250 --default_rootfs=/var/vcap/packages/rootfs
//
// Serves Garden's HTTP protocol (diego-spec.md 6) on a unix socket (default
// /tmp/garden.sock) or a TCP address, with real containers (namespaces,
// cgroups, overlayfs, veth/bridge/iptables). Needs root.
//
// Start-up: validates the flags, starts the backend (host networking, the
// cgroup parent, recovery of what a previous run left: running containers
// are re-adopted unless --destroy_containers_on_startup), binds the listener
// and logs "garden.started" with the address. Runs until SIGINT or SIGTERM,
// then stops serving and exits 0; containers keep running, so the next start
// re-adopts them. Exit status 1: a flag is invalid, not root, the backend or
// the listener cannot start (the reason is printed to stderr).
//
// --deny_network and --dns_server may be repeated or given as comma lists.

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "diego/base/app.h"
#include "diego/base/clock.h"
#include "diego/base/flags.h"
#include "diego/base/logger.h"
#include "diego/garden/http_server.h"
#include "diego/garden/linux_backend.h"

ABSL_FLAG(std::string, listen_network, "unix", "Network to listen on: unix or tcp.");
ABSL_FLAG(std::string, listen_address, "/tmp/garden.sock",
          "Unix socket path (unix) or host:port (tcp; port 0 = any free port).");
ABSL_FLAG(std::string, depot_dir, "/var/lib/diego-garden/depot",
          "Directory holding one directory per container (rootfs, state).");
ABSL_FLAG(std::string, image_dir, "/var/lib/diego-garden/images",
          "Directory for extracted tarball images and uid-shifted copies.");
ABSL_FLAG(std::string, default_rootfs, "",
          "Image used when a container spec names none: a directory, raw:///dir or a tarball. "
          "Empty = such creates fail.");
ABSL_FLAG(std::string, network_pool, "10.254.0.0/22", "IPv4 CIDR containers get addresses from.");
ABSL_FLAG(uint32_t, port_pool_start, 61001, "First host port NetIn hands out.");
ABSL_FLAG(uint32_t, port_pool_size, 4534, "Number of host ports NetIn hands out.");
ABSL_FLAG(std::string, external_ip, "",
          "The host's IP reported as ExternalIP and used for NetIn. Empty = the first "
          "non-loopback IPv4 address.");
ABSL_FLAG(std::vector<std::string>, deny_network, {},
          "CIDR that no NetOut rule can open (repeatable, or a comma list).");
ABSL_FLAG(std::vector<std::string>, dns_server, {},
          "Nameserver written to containers' /etc/resolv.conf (repeatable, or a comma list). "
          "None = the host's non-loopback nameservers.");
ABSL_FLAG(uint32_t, uid_map_start, 100000,
          "First host uid/gid that unprivileged containers' uid/gid 0 maps to.");
ABSL_FLAG(uint32_t, uid_map_length, 65536, "Number of uids/gids mapped into unprivileged containers.");
ABSL_FLAG(uint64_t, max_containers, 0, "Most containers at once (0 = the network pool's size).");
ABSL_FLAG(bool, destroy_containers_on_startup, false,
          "Destroy the containers a previous run left instead of re-adopting them.");
ABSL_FLAG(bool, disable_privileged_containers, false, "Refuse to create privileged containers.");
ABSL_FLAG(absl::Duration, default_grace_time, absl::ZeroDuration(),
          "Grace time of containers whose spec sets none (0 = never reaped).");
ABSL_FLAG(std::string, name, "garden",
          "Short name (1-8 chars of [a-z0-9]) of this server's cgroup parent, bridge, veths and "
          "iptables chains; lets several servers share a host.");
ABSL_FLAG(std::string, helper_dir, "",
          "Directory of diego-garden-init and diego-garden-nstar. Empty = next to this binary, "
          "then the build tree, then the install libexec directory.");
ABSL_FLAG(std::string, log_level, "info", "Minimum log level: debug, info, error or fatal.");

namespace {

constexpr char kProgram[] = "diego-garden";
constexpr char kUsage[] =
    "Serves Garden's container API (HTTP+JSON) over real Linux containers.\n"
    "\n"
    "usage: diego-garden [--listen_network=unix|tcp] [--listen_address=ADDR] [--depot_dir=DIR]\n"
    "                    [--network_pool=CIDR] [--default_rootfs=PATH] [flags]\n"
    "\n"
    "Needs root. Runs until SIGINT or SIGTERM; containers keep running and are re-adopted by\n"
    "the next start (unless --destroy_containers_on_startup). Exit 1 when it cannot start.";

int Fail(absl::string_view what, const absl::Status& status) {
  return diego::AppFailure(kProgram, what, status);
}

// Abseil keeps only the last occurrence of a flag. For the list flags, merge
// every occurrence ("--f=a --f b,c") into one "--f=a,b,c" before parsing.
std::vector<std::string> MergeRepeatedFlags(int argc, char** argv,
                                            const std::vector<std::string>& names) {
  std::vector<std::string> out;
  std::vector<std::vector<std::string>> values(names.size());
  std::vector<bool> seen(names.size(), false);
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    bool consumed = false;
    if (i > 0 && arg != "--") {
      for (size_t n = 0; n < names.size() && !consumed; ++n) {
        for (const std::string& prefix : {"--" + names[n], "-" + names[n]}) {
          if (arg == prefix && i + 1 < argc) {
            values[n].push_back(argv[++i]);
          } else if (absl::StartsWith(arg, prefix + "=")) {
            values[n].push_back(arg.substr(prefix.size() + 1));
          } else {
            continue;
          }
          seen[n] = true;
          consumed = true;
          break;
        }
      }
    }
    if (arg == "--") {
      for (; i < argc; ++i) out.push_back(argv[i]);
      break;
    }
    if (!consumed) out.push_back(arg);
  }
  for (size_t n = 0; n < names.size(); ++n) {
    if (!seen[n]) continue;
    std::vector<std::string> items;
    for (const std::string& v : values[n]) {
      for (absl::string_view item : absl::StrSplit(v, ',', absl::SkipEmpty())) {
        items.emplace_back(item);
      }
    }
    // Inserted right after argv[0], so a later "--" keeps its meaning.
    out.insert(out.begin() + 1, absl::StrCat("--", names[n], "=", absl::StrJoin(items, ",")));
  }
  return out;
}

int Run() {
  absl::StatusOr<diego::LogLevel> level = diego::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return Fail("--log_level", level.status());
  const std::string network = absl::GetFlag(FLAGS_listen_network);
  const std::string address = absl::GetFlag(FLAGS_listen_address);
  if (network != "unix" && network != "tcp") {
    return Fail("--listen_network",
                absl::InvalidArgumentError(absl::StrCat("\"", network, "\" is not unix or tcp")));
  }
  if (address.empty()) {
    return Fail("--listen_address", absl::InvalidArgumentError("must not be empty"));
  }
  if (network == "tcp") {
    if (absl::Status s = diego::ParseHostPort(address).status(); !s.ok()) {
      return Fail("--listen_address", s);
    }
  }
  if (absl::GetFlag(FLAGS_default_grace_time) < absl::ZeroDuration()) {
    return Fail("--default_grace_time", absl::InvalidArgumentError("must not be negative"));
  }
  if (::geteuid() != 0) {
    return Fail("", absl::PermissionDeniedError(
                        "must run as root (containers need namespaces, cgroups, mounts and "
                        "iptables)"));
  }

  diego::BlockTerminationSignals();  // Before any thread starts.
  diego::Clock* clock = diego::Clock::Real();
  diego::Logger logger("garden", diego::FileLogSink::Stderr(), clock, *level);

  diego::garden::LinuxBackendOptions options;
  options.name = absl::GetFlag(FLAGS_name);
  options.depot_dir = absl::GetFlag(FLAGS_depot_dir);
  options.image_dir = absl::GetFlag(FLAGS_image_dir);
  options.default_rootfs = absl::GetFlag(FLAGS_default_rootfs);
  options.helper_dir = absl::GetFlag(FLAGS_helper_dir);
  options.network_pool = absl::GetFlag(FLAGS_network_pool);
  options.port_pool_start = absl::GetFlag(FLAGS_port_pool_start);
  options.port_pool_size = absl::GetFlag(FLAGS_port_pool_size);
  options.external_ip = absl::GetFlag(FLAGS_external_ip);
  options.deny_networks = absl::GetFlag(FLAGS_deny_network);
  options.dns_servers = absl::GetFlag(FLAGS_dns_server);
  options.uid_map_start = absl::GetFlag(FLAGS_uid_map_start);
  options.uid_map_length = absl::GetFlag(FLAGS_uid_map_length);
  options.max_containers = absl::GetFlag(FLAGS_max_containers);
  options.destroy_containers_on_startup = absl::GetFlag(FLAGS_destroy_containers_on_startup);
  options.disable_privileged_containers = absl::GetFlag(FLAGS_disable_privileged_containers);
  options.default_grace_time = absl::GetFlag(FLAGS_default_grace_time);
  options.clock = clock;
  diego::Logger backend_logger = logger.Session("backend");
  options.logger = &backend_logger;

  diego::garden::LinuxBackend backend(options);
  logger.Info("starting", {{"depot_dir", options.depot_dir},
                           {"network_pool", options.network_pool},
                           {"deny_networks", options.deny_networks},
                           {"dns_servers", options.dns_servers},
                           {"name", options.name}});
  if (absl::Status s = backend.Start(); !s.ok()) {
    logger.Error("backend-start-failed", s);
    return Fail("cannot start the backend", s);
  }

  diego::Logger server_logger = logger.Session("server");
  diego::garden::GardenServerOptions server_options;
  server_options.listen_network = network;
  server_options.listen_address = address;
  server_options.logger = &server_logger;
  diego::garden::GardenServer server(&backend, server_options);
  if (absl::Status s = server.Start(); !s.ok()) {
    logger.Error("listen-failed", s);
    backend.Stop();
    return Fail("cannot listen", s);
  }
  diego::LogData started{{"network", network}, {"addr", address}};
  if (network == "tcp") started.push_back({"port", server.Port()});
  logger.Info("started", started);

  const int signal_number = diego::AwaitTerminationSignal();
  logger.Info("signalled", {{"signal", signal_number}});
  server.Stop();
  backend.Stop();
  logger.Info("exited");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> merged = MergeRepeatedFlags(argc, argv, {"deny_network", "dns_server"});
  std::vector<char*> args;
  for (std::string& a : merged) args.push_back(a.data());
  args.push_back(nullptr);
  diego::InitApp(static_cast<int>(merged.size()), args.data(), kUsage);
  return Run();
}
