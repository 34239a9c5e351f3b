// Copyright 2026 The libdiego Authors.
//
// Private (LinuxBackend): images and per-container root filesystems, and
// streaming files in and out of a running container.
//
// Layout under a container directory `dir`:
//   dir/rootfs   the overlay mount point (lowerdir = the image, read-only)
//   dir/upper    the container's writable layer
//   dir/work     overlayfs's work directory
//
// Images: a directory ("/path" or "raw:///path") is used in place; a tarball
// (".tar", ".tar.gz", ".tgz") is extracted once into image_dir and reused.
// For unprivileged containers the image's files must be owned by ids mapped
// into the user namespace: a copy with every uid/gid shifted by uid_map_start
// is made once per image (cached in image_dir, keyed by the source path and
// mtime) and the upper/work directories are owned by the shifted root.

#ifndef DIEGO_GARDEN_ROOTFS_H_
#define DIEGO_GARDEN_ROOTFS_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "diego/garden/spec.h"

namespace diego::garden {

struct RootfsOptions {
  std::string image_dir;
  uint32_t uid_map_start = 100000;
  uint32_t uid_map_length = 65536;
};

class RootfsManager {
 public:
  explicit RootfsManager(RootfsOptions options);

  // Resolves `image_uri` to a read-only lower directory suitable for a
  // privileged (ids as is) or unprivileged (ids shifted) container.
  // InvalidArgument naming "image.uri" for a missing path or an unsupported
  // scheme (e.g. "docker://"). Thread-safe; concurrent calls for the same
  // image prepare it once.
  absl::StatusOr<std::string> PrepareImage(absl::string_view image_uri, bool privileged);

  // Creates dir/{upper,work,rootfs} and mounts the overlay; returns
  // dir/rootfs. On error nothing is left mounted or created.
  absl::StatusOr<std::string> MountRootfs(absl::string_view dir, absl::string_view lower,
                                          bool privileged);

  // Unmounts dir/rootfs (lazily if busy) and removes upper, work and rootfs.
  // OK when nothing is there.
  absl::Status RemoveRootfs(absl::string_view dir);

  // Bytes and inodes in dir/upper (exclusive), plus the image's (total).
  absl::StatusOr<ContainerDiskStat> DiskUsage(absl::string_view dir, absl::string_view lower);

 private:
  RootfsOptions options_;
  absl::Mutex mu_;
};

// How the nstar helper reaches a running container.
struct StreamTarget {
  std::string nstar_binary;   // path of diego-garden-nstar
  pid_t init_pid = 0;         // host pid of the container's pid 1
  bool privileged = false;    // false: container ids are shifted by uid_map_start
  uint32_t uid_map_start = 100000;
};

// Extracts `tar` into `path` (created if missing) inside the container, as
// `user` (name or uid from the container's /etc/passwd; "" = root). Runs the
// nstar helper chrooted into the container's root, so symlinks cannot escape
// it. Errors carry the helper's message.
absl::Status StreamIn(const StreamTarget& target, absl::string_view path,
                      absl::string_view user, absl::string_view tar);

// Returns `path` inside the container as a tar stream (Container::StreamOut's
// naming rules).
absl::StatusOr<std::string> StreamOut(const StreamTarget& target, absl::string_view path,
                                      absl::string_view user);

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_ROOTFS_H_
