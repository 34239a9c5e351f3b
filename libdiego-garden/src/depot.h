// Copyright 2026 The libdiego Authors.
//
// Private (LinuxBackend): the depot, one directory per container under the
// backend's depot_dir, holding the container's root filesystem (rootfs.h),
// its init's control socket (container_init.h) and `state.json`: everything
// a restarted backend needs to re-adopt the container (spec, creation time,
// privileged, grace time, properties, network, init pid and start time,
// events).
//
// `state.json` is replaced atomically (written to a temporary file in the
// same directory, then renamed over), so a reader or a backend restarted
// after a crash sees either the old or the new state, never a torn one. It is
// not fsync'ed: a power loss may lose the last update, which recovery treats
// like a container that was never completely created (it is removed).
//
// A container directory without `state.json` is one whose Create did not
// finish; recovery removes it.
//
// Thread-safe: the Depot holds no mutable state; callers serialize writes of
// one container's state.

#ifndef DIEGO_GARDEN_DEPOT_H_
#define DIEGO_GARDEN_DEPOT_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/garden/spec.h"
#include "network.h"

namespace diego::garden {

// What the depot keeps about one container.
struct ContainerState {
  std::string handle;
  ContainerSpec spec;                  // as created (handle filled in)
  absl::Time created_at = absl::UnixEpoch();
  bool privileged = false;
  absl::Duration grace_time = absl::ZeroDuration();  // 0 = never reaped
  Properties properties;               // current properties
  ContainerNetwork network;            // IP, ports, NetOut rules
  std::string image_lower;             // the prepared image (overlay lowerdir)
  pid_t init_pid = 0;                  // host pid of the container's pid 1
  // Field 22 of /proc/<init_pid>/stat (start time in clock ticks since boot),
  // so a recycled pid is not mistaken for the container's init.
  uint64_t init_start_time = 0;
  std::vector<std::string> events;     // e.g. "out of memory"
  bool stopped = false;                // Stop() was called or Destroy failed
};

// Serializes `state` as JSON (nlohmann_json; the spec and NetOut rules in
// Garden's wire form, json_codec.h). DecodeState is the inverse;
// InvalidArgument naming the field for malformed input.
std::string EncodeState(const ContainerState& state);
absl::StatusOr<ContainerState> DecodeState(absl::string_view json_text);

// What /proc/<pid>/stat says about a process: its state (field 3: 'R', 'S',
// 'Z' for a zombie, ...) and start time (field 22, clock ticks since boot).
struct ProcessStat {
  char state = '?';
  uint64_t start_time = 0;
};
// NotFound when the process does not exist.
absl::StatusOr<ProcessStat> ReadProcessStat(pid_t pid);
// Field 22 of /proc/<pid>/stat; NotFound when the process does not exist.
absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid);
// True when `pid` runs (not a zombie) and started at `start_time`, i.e. is
// still the process that was recorded (pids are recycled).
bool ProcessIsRunning(pid_t pid, uint64_t start_time);

class Depot {
 public:
  // `root` is the depot directory (need not exist until Init).
  explicit Depot(std::string root);

  const std::string& root() const { return root_; }
  // root/<handle>.
  std::string ContainerDir(absl::string_view handle) const;

  // Creates the depot directory (and parents) if missing. The depot and the
  // container directories are searchable by anyone (0711, not listable), so
  // an unprivileged container's init (host uid uid_map_start) can reach its
  // rootfs; state.json is 0600.
  absl::Status Init() const;

  // Creates root/<handle> (mode 0711). AlreadyExists when present.
  absl::Status CreateContainerDir(absl::string_view handle) const;

  // Atomically replaces root/<handle>/state.json with `state`.
  absl::Status SaveState(const ContainerState& state) const;

  // Reads root/<handle>/state.json. NotFound when it does not exist;
  // InvalidArgument when it cannot be parsed.
  absl::StatusOr<ContainerState> LoadState(absl::string_view handle) const;

  // The names of the directories under root (one per container, complete or
  // not), sorted.
  absl::StatusOr<std::vector<std::string>> Handles() const;

  // Removes root/<handle> recursively without crossing into another
  // filesystem: a mount still under it (a rootfs that could not be unmounted)
  // makes this fail (FailedPrecondition) rather than delete through it. OK
  // when the directory does not exist.
  absl::Status RemoveContainerDir(absl::string_view handle) const;

 private:
  std::string root_;
};

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_DEPOT_H_
