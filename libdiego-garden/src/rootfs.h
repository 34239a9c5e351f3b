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
//
// image_dir layout (all entries are created atomically: built under a
// ".tmp-<name>" directory, then renamed, so a crash never leaves a half image
// under its final name; a stale ".tmp-" is removed by the next builder):
//   tar-<hash(path)>-<mtime>-<size>/        an extracted tarball
//   shift-<start>-<length>-<hash>-<mtime>-<size>/  a uid/gid-shifted copy
//   .lock-<name>                            flock(2) serialising builders of
//                                           <name> (threads and processes)
// Superseded versions (the source changed) are left in place: a running
// container may still use them as its lower layer.
//
// Shifted copies: ids 0..uid_map_length-1 become uid_map_start+id; ids
// outside the map become the shifted "nobody" (65534, or the last mapped id
// when the map is shorter). Modes (setuid included), mtimes, symlinks, fifos
// and hard links are kept; device nodes and sockets are skipped; xattrs are
// not copied.

#ifndef DIEGO_GARDEN_ROOTFS_H_
#define DIEGO_GARDEN_ROOTFS_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
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
  // The diego-garden-nstar helper, run as "nstar extract <tarball> <dir>" to
  // unpack tarball images (diego_garden_linux does not link libarchive).
  // "" = next to the running executable, then the build tree, then the
  // install libexec dir.
  std::string nstar_binary;
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
  // Bytes are allocated blocks (st_blocks * 512); a hard-linked inode counts
  // once; the upper directory itself is not counted. The image's usage is
  // measured once per `lower` and cached.
  absl::StatusOr<ContainerDiskStat> DiskUsage(absl::string_view dir, absl::string_view lower);

 private:
  struct Usage {
    uint64_t bytes = 0;
    uint64_t inodes = 0;
  };

  absl::StatusOr<std::string> ExtractTarball(const std::string& path, const struct stat& st);
  absl::StatusOr<std::string> ShiftedCopy(const std::string& source, const struct stat& st,
                                          const std::string& base);
  std::string NstarBinary() const;

  RootfsOptions options_;
  absl::Mutex mu_;
  std::map<std::string, Usage> image_usage_ ABSL_GUARDED_BY(mu_);
};

// How the nstar helper reaches a running container.
struct StreamTarget {
  std::string nstar_binary;  // path of diego-garden-nstar
  pid_t init_pid = 0;        // host pid of the container's pid 1
  bool privileged = false;   // false: container ids are shifted by uid_map_start
  uint32_t uid_map_start = 100000;
  uint32_t uid_map_length = 65536;  // container ids >= this cannot be used
};

// Extracts `tar` into `path` (created if missing) inside the container, as
// `user` (name or uid from the container's /etc/passwd; "" = root). Runs the
// nstar helper chrooted into the container's root, so symlinks cannot escape
// it. Errors carry the helper's message.
//
// Details (both directions): a relative `path` is relative to the user's
// home directory. The helper reads and writes with the user's ids and
// supplementary groups from the container's /etc/group (host ids =
// uid_map_start + id when unprivileged), so it can touch what that user can;
// as "root" of an unprivileged container that is the shifted root without
// capabilities (the container's root, having capabilities in its user
// namespace, could also write other users' files). Missing directories of
// `path` are created as the container's root could (for an unprivileged
// container: with capabilities only inside directories owned by mapped ids,
// never in a host-owned one such as a bind mount) and owned by the user.
// Extraction applies umask 022 (GNU tar's --no-same-permissions), strips a
// leading "/" from member names and rejects ".." members; an empty stream is
// an empty archive. Status codes: NotFound for a missing path or unknown
// user, InvalidArgument for a bad archive, Internal otherwise (e.g.
// "Permission denied"); messages name the path.
absl::Status StreamIn(const StreamTarget& target, absl::string_view path, absl::string_view user,
                      absl::string_view tar);

// Returns `path` inside the container as a tar stream (Container::StreamOut's
// naming rules: "/a/b" gives "b", "b/..."; "/a/b/" gives "./..."). A missing
// `path` is NotFound naming it. The archive is pax (restricted); owners are
// container ids (unshifted), without user/group names; symlinks are not
// followed.
absl::StatusOr<std::string> StreamOut(const StreamTarget& target, absl::string_view path,
                                      absl::string_view user);

// Runs the helper `argv` (argv[0] is the binary's path; empty environment),
// writing `input` to its stdin and collecting its stdout into `output` (when
// not null; otherwise stdout is discarded) and its stderr into `error_text`
// (when not null; at most 64 KiB). Uses posix_spawn, pipes and poll so large
// streams in either direction cannot deadlock. Returns the exit code (128+n
// for a signal). Error only when the helper cannot be started.
absl::StatusOr<int> RunHelper(const std::vector<std::string>& argv, absl::string_view input,
                              std::string* output, std::string* error_text);

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_ROOTFS_H_
