// Copyright 2026 The libdiego Authors.
//
// Pid 1's container root setup. Every path inside the rootfs is resolved
// with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from a descriptor of
// the rootfs, so a symlink in an image can never make us mount over (or
// create) something outside it; mounts then target "/proc/self/fd/<fd>".
//
// Order: private propagation; the rootfs bind-mounted onto itself (so any
// directory can be a root, and pivot_root has a mount to work with); /proc;
// /dev (tmpfs, device nodes: mknod when privileged, bind-mounted from the
// host in a user namespace; devpts, shm, the standard symlinks); joining the
// network namespace the outer process created meanwhile; read-only /sys;
// the spec's bind mounts; the masked paths; pivot_root; hostname;
// /etc/hosts and /etc/resolv.conf.
//
// In a user namespace the kernel lets us mount proc and sysfs only while a
// fully visible instance exists in our mount namespace, so both are mounted
// before the host's root is detached. sysfs also needs the network
// namespace to be ours (it is: created with the user namespace); should the
// kernel refuse it anyway, an unprivileged container gets no /sys rather
// than failing.

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "init.h"

namespace diego::garden::init {
namespace {

namespace ip = init_protocol;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

std::string FdPath(const Fd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

std::vector<std::string> Components(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (!part.empty() && part != ".") parts.push_back(part);
    i = j + 1;
  }
  return parts;
}

int OpenAt2(int dir, const std::string& path, int flags) {
  struct open_how how;
  std::memset(&how, 0, sizeof(how));
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = syscall(SYS_openat2, dir, path.empty() ? "." : path.c_str(), &how, sizeof(how));
  } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  return static_cast<int>(fd);
}

enum class Create { kNone, kDir, kFile };

// Opens `path` (inside the root `root`) as O_PATH; with `create`, missing
// directories are made (0755) and a missing last component becomes a
// directory or an empty file (0644).
Fd OpenInRoot(const Fd& root, const std::string& path, Create create, Error* error) {
  std::vector<std::string> parts = Components(path);
  std::string rel;
  for (const auto& p : parts) rel += (rel.empty() ? "" : "/") + p;
  int fd = OpenAt2(root.get(), rel, O_PATH);
  if (fd >= 0) return Fd(fd);
  if (errno != ENOENT || create == Create::kNone) {
    *error = ErrnoError("resolving " + path + " in the rootfs", errno);
    return Fd();
  }
  std::string prefix;
  Fd parent(OpenAt2(root.get(), "", O_PATH | O_DIRECTORY));
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    prefix += (prefix.empty() ? "" : "/") + parts[i];
    Fd next(OpenAt2(root.get(), prefix, O_PATH | (last ? 0 : O_DIRECTORY)));
    if (!next.ok()) {
      if (errno != ENOENT || !parent.ok()) {
        *error = ErrnoError("resolving " + prefix + " in the rootfs", errno);
        return Fd();
      }
      if (last && create == Create::kFile) {
        int f = openat(parent.get(), parts[i].c_str(),
                       O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0 && errno != EEXIST) {
          *error = ErrnoError("creating " + prefix + " in the rootfs", errno);
          return Fd();
        }
        if (f >= 0) close(f);
      } else if (mkdirat(parent.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
        *error = ErrnoError("creating directory " + prefix + " in the rootfs", errno);
        return Fd();
      }
      next = Fd(OpenAt2(root.get(), prefix, O_PATH | (last ? 0 : O_DIRECTORY)));
      if (!next.ok()) {
        *error = ErrnoError("resolving " + prefix + " in the rootfs", errno);
        return Fd();
      }
    }
    parent = std::move(next);
  }
  return parent;
}

Error Mount(const std::string& source, const std::string& target, const char* fstype,
            unsigned long flags, const char* data, const std::string& what) {
  if (mount(source.c_str(), target.c_str(), fstype, flags, data) != 0) {
    return ErrnoError("mounting " + what, errno);
  }
  return "";
}

// Remounts the mount at `path` (in the root) read-only, keeping the flags
// the kernel locks in a user namespace (nosuid, nodev, noexec, atime).
Error RemountReadOnly(const Fd& root, const std::string& path) {
  Error error;
  Fd fd = OpenInRoot(root, path, Create::kNone, &error);
  if (!fd.ok()) return error;
  struct statvfs st;
  if (fstatvfs(fd.get(), &st) != 0) return ErrnoError("statvfs " + path, errno);
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return Mount("", FdPath(fd), nullptr, flags, nullptr, path + " read-only");
}

Error MountProc(const Fd& root) {
  Error error;
  Fd proc = OpenInRoot(root, "proc", Create::kDir, &error);
  if (!proc.ok()) return error;
  return Mount("proc", FdPath(proc), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr, "/proc");
}

Error MountDev(const Fd& root, bool privileged) {
  Error error;
  {
    Fd dev = OpenInRoot(root, "dev", Create::kDir, &error);
    if (!dev.ok()) return error;
    error = Mount("tmpfs", FdPath(dev), "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k",
                  "/dev");
    if (!error.empty()) return error;
  }
  // Reopen: the new descriptor is the tmpfs, not the directory under it.
  Fd dev = OpenInRoot(root, "dev", Create::kNone, &error);
  if (!dev.ok()) return error;
  struct Node {
    const char* name;
    unsigned major, minor;
  };
  for (const Node& node : {Node{"null", 1, 3}, Node{"zero", 1, 5}, Node{"full", 1, 7},
                           Node{"random", 1, 8}, Node{"urandom", 1, 9}, Node{"tty", 5, 0}}) {
    const std::string path = std::string("/dev/") + node.name;
    // A user namespace may not mknod: bind-mount the host's node instead
    // (also ~10x slower, so privileged containers get real nodes).
    if (privileged) {
      if (mknodat(dev.get(), node.name, S_IFCHR | 0666, makedev(node.major, node.minor)) != 0) {
        return ErrnoError("mknod " + path, errno);
      }
      if (fchmodat(dev.get(), node.name, 0666, 0) != 0) return ErrnoError("chmod " + path, errno);
      continue;
    }
    int f = openat(dev.get(), node.name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (f < 0) return ErrnoError("creating " + path, errno);
    close(f);
    error = Mount(path, FdPath(dev) + "/" + node.name, nullptr, MS_BIND, nullptr, path);
    if (!error.empty()) return error;
  }
  if (mkdirat(dev.get(), "pts", 0755) != 0) return ErrnoError("creating /dev/pts", errno);
  const std::string pts = FdPath(dev) + "/pts";
  if (mount("devpts", pts.c_str(), "devpts", MS_NOSUID | MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=0620,gid=5") != 0) {
    // gid 5 (tty) may be unmapped in a short user namespace map.
    error = Mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=0620", "/dev/pts");
    if (!error.empty()) return error;
  }
  if (mkdirat(dev.get(), "shm", 01777) != 0) return ErrnoError("creating /dev/shm", errno);
  error = Mount("shm", FdPath(dev) + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "mode=1777,size=65536k", "/dev/shm");
  if (!error.empty()) return error;
  const char* links[][2] = {{"pts/ptmx", "ptmx"},
                            {"/proc/self/fd", "fd"},
                            {"/proc/self/fd/0", "stdin"},
                            {"/proc/self/fd/1", "stdout"},
                            {"/proc/self/fd/2", "stderr"}};
  for (const auto& link : links) {
    if (symlinkat(link[0], dev.get(), link[1]) != 0) {
      return ErrnoError(std::string("creating /dev/") + link[1], errno);
    }
  }
  return "";
}

// Returns true in *mounted when /sys is there.
Error MountSys(const Fd& root, bool privileged, bool* mounted) {
  *mounted = false;
  Error error;
  Fd sys = OpenInRoot(root, "sys", Create::kDir, &error);
  if (!sys.ok()) return error;
  if (mount("sysfs", FdPath(sys).c_str(), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
            nullptr) != 0) {
    if (!privileged && (errno == EPERM || errno == EACCES)) return "";  // documented above
    return ErrnoError("mounting /sys", errno);
  }
  *mounted = true;
  return "";
}

Error MountBind(const Fd& root, const ip::BindMountEntry& bind) {
  Error error;
  std::string source = bind.src;
  Fd source_fd;
  struct stat st;
  if (bind.from_container) {
    source_fd = OpenInRoot(root, bind.src, Create::kNone, &error);
    if (!source_fd.ok()) return "bind mount source: " + error;
    if (fstat(source_fd.get(), &st) != 0) return ErrnoError("stat " + bind.src, errno);
    source = FdPath(source_fd);
  } else if (stat(bind.src.c_str(), &st) != 0) {
    return ErrnoError("bind mount source " + bind.src, errno);
  }
  Fd target =
      OpenInRoot(root, bind.dst, S_ISDIR(st.st_mode) ? Create::kDir : Create::kFile, &error);
  if (!target.ok()) return "bind mount destination: " + error;
  error = Mount(source, FdPath(target), nullptr, MS_BIND | MS_REC, nullptr,
                bind.src + " on " + bind.dst);
  if (!error.empty()) return error;
  if (bind.read_only) return RemountReadOnly(root, bind.dst);
  return "";
}

Error MaskPaths(const Fd& root, bool have_sys) {
  Error error;
  for (const char* path : {"proc/kcore", "proc/latency_stats", "proc/sched_debug",
                           "proc/timer_list", "proc/timer_stats", "proc/keys"}) {
    Error ignored;
    Fd fd = OpenInRoot(root, path, Create::kNone, &ignored);
    if (!fd.ok()) continue;  // not in this kernel
    error = Mount("/dev/null", FdPath(fd), nullptr, MS_BIND, nullptr, std::string("/") + path);
    if (!error.empty()) return error;
  }
  for (const char* path : {"proc/scsi", "sys/firmware"}) {
    if (!have_sys && path[0] == 's') continue;
    Error ignored;
    Fd fd = OpenInRoot(root, path, Create::kNone, &ignored);
    if (!fd.ok()) continue;
    error = Mount("tmpfs", FdPath(fd), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  nullptr, std::string("/") + path);
    if (!error.empty()) return error;
  }
  return "";
}

Error PivotRoot(const Fd& root) {
  if (fchdir(root.get()) != 0) return ErrnoError("chdir to the rootfs", errno);
  if (syscall(SYS_pivot_root, ".", ".") != 0) return ErrnoError("pivot_root", errno);
  if (umount2(".", MNT_DETACH) != 0) return ErrnoError("detaching the host root", errno);
  if (chdir("/") != 0) return ErrnoError("chdir /", errno);
  return "";
}

// Replaces `path` (in the container's root, after pivot_root) with a regular
// file holding `content`; a symlink there is replaced, not followed.
Error ReplaceFile(const std::string& path, const std::string& content) {
  if (mkdir("/etc", 0755) != 0 && errno != EEXIST) return ErrnoError("creating /etc", errno);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("removing " + path, errno);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("creating " + path, errno);
  return WriteAndClose(fd, path, content);
}

}  // namespace

Error SetupContainer(const ip::Config& config, const std::function<Error()>& join_network) {
  if (!config.privileged) {
    // Root of the new user namespace (host uid uid_map_start); drop the
    // host's supplementary groups.
    if (setresgid(0, 0, 0) != 0) return ErrnoError("setresgid 0", errno);
    if (setgroups(0, nullptr) != 0) return ErrnoError("setgroups", errno);
    if (setresuid(0, 0, 0) != 0) return ErrnoError("setresuid 0", errno);
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return ErrnoError("making mounts private", errno);
  }
  if (config.rootfs.empty() || config.rootfs[0] != '/') {
    return "rootfs must be an absolute path: '" + config.rootfs + "'";
  }
  Error error = Mount(config.rootfs, config.rootfs, nullptr, MS_BIND | MS_REC, nullptr,
                      "the rootfs " + config.rootfs);
  if (!error.empty()) return error;
  Fd root(open(config.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.ok()) return ErrnoError("opening " + config.rootfs, errno);

  error = MountProc(root);
  if (error.empty()) error = MountDev(root, config.privileged);
  if (error.empty()) error = join_network();
  bool have_sys = false;
  if (error.empty()) error = MountSys(root, config.privileged, &have_sys);
  for (size_t i = 0; error.empty() && i < config.bind_mounts.size(); ++i) {
    error = MountBind(root, config.bind_mounts[i]);
  }
  if (error.empty()) error = MaskPaths(root, have_sys);
  if (error.empty()) error = PivotRoot(root);
  if (!error.empty()) return error;
  root.Reset();

  if (sethostname(config.hostname.data(), config.hostname.size()) != 0) {
    return ErrnoError("sethostname " + config.hostname, errno);
  }
  if (config.write_hosts) {
    error = ReplaceFile("/etc/hosts", config.hosts);
    if (!error.empty()) return error;
  }
  if (config.write_resolv_conf) {
    error = ReplaceFile("/etc/resolv.conf", config.resolv_conf);
    if (!error.empty()) return error;
  }
  return "";
}

}  // namespace diego::garden::init
