// Copyright 2026 The libdiego Authors.
//
// RootfsManager: images (in place, extracted tarballs, uid-shifted copies),
// per-container overlay mounts and their disk usage. See rootfs.h.

#include "rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "diego/base/status_macros.h"
#include "posix_fd.h"

#ifndef DIEGO_GARDEN_BUILD_HELPER_DIR
#define DIEGO_GARDEN_BUILD_HELPER_DIR ""
#endif
#ifndef DIEGO_GARDEN_INSTALL_HELPER_DIR
#define DIEGO_GARDEN_INSTALL_HELPER_DIR ""
#endif

namespace diego::garden {
namespace {

namespace fs = std::filesystem;

constexpr char kNstarName[] = "diego-garden-nstar";

absl::Status ErrnoError(absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(what, ": ", ErrnoText(err)));
}

// An exclusive flock(2) on `path` (created): serialises threads (each lock
// opens its own file description) and processes.
class FileLock {
 public:
  static absl::StatusOr<FileLock> Acquire(const std::string& path) {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError(absl::StrCat("open ", path), errno);
    while (flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        int err = errno;
        close(fd);
        return ErrnoError(absl::StrCat("flock ", path), err);
      }
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0) close(fd_);  // releases the lock
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

std::string Hex64(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[i] = kDigits[v & 0xf];
  return s;
}

// FNV-1a: a stable short name for a source path.
std::string PathHash(absl::string_view path) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : path) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return Hex64(h);
}

std::string VersionKey(const std::string& path, const struct stat& st) {
  return absl::StrCat(PathHash(path), "-", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, "-",
                      st.st_size);
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

absl::Status RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);  // never follows symlinks
  if (ec) return absl::InternalError(absl::StrCat("remove ", path, ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status EnsureImageDir(const std::string& dir) {
  if (dir.empty()) return absl::FailedPreconditionError("RootfsOptions.image_dir is empty");
  std::error_code ec;
  if (fs::create_directories(dir, ec)) chmod(dir.c_str(), 0700);
  if (ec) return absl::InternalError(absl::StrCat("mkdir ", dir, ": ", ec.message()));
  return absl::OkStatus();
}

// Makes `tmp` the image `final` durably: data on disk, then the rename.
absl::Status Publish(const std::string& image_dir, const std::string& tmp,
                     const std::string& final_path) {
  Fd dir(open(image_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return ErrnoError(absl::StrCat("open ", image_dir), errno);
  if (syncfs(dir.get()) != 0) return ErrnoError(absl::StrCat("syncfs ", image_dir), errno);
  if (rename(tmp.c_str(), final_path.c_str()) != 0) {
    return ErrnoError(absl::StrCat("rename ", tmp, " to ", final_path), errno);
  }
  fsync(dir.get());
  return absl::OkStatus();
}

// Copies a tree giving every uid/gid a shifted host id.
class ShiftedCopier {
 public:
  ShiftedCopier(uint32_t start, uint32_t length) : start_(start), length_(length) {}

  absl::Status Copy(const std::string& source, const std::string& dest) {
    Fd src(open(source.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (src.get() < 0) return ErrnoError(absl::StrCat("open ", source), errno);
    if (mkdir(dest.c_str(), 0700) != 0) return ErrnoError(absl::StrCat("mkdir ", dest), errno);
    Fd dst(open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dst.get() < 0) return ErrnoError(absl::StrCat("open ", dest), errno);
    root_fd_ = dst.get();
    struct stat st;
    if (fstat(src.get(), &st) != 0) return ErrnoError(absl::StrCat("stat ", source), errno);
    DIEGO_RETURN_IF_ERROR(CopyContents(src.get(), dst.get(), ""));
    return FinishDirectory(dst.get(), st, "/");
  }

 private:
  uint32_t Map(uint32_t id) const {
    if (id < length_) return start_ + id;
    uint32_t nobody = 65534;
    return start_ + (nobody < length_ ? nobody : length_ - 1);
  }

  absl::Status FinishDirectory(int fd, const struct stat& st, const std::string& rel) {
    if (fchown(fd, Map(st.st_uid), Map(st.st_gid)) != 0) {
      return ErrnoError(absl::StrCat("chown ", rel), errno);
    }
    if (fchmod(fd, st.st_mode & 07777) != 0) return ErrnoError(absl::StrCat("chmod ", rel), errno);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (futimens(fd, times) != 0) return ErrnoError(absl::StrCat("utimens ", rel), errno);
    return absl::OkStatus();
  }

  absl::Status CopyContents(int src_dir, int dst_dir, const std::string& rel_dir) {
    int dup_fd = fcntl(src_dir, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return ErrnoError("dup", errno);
    DIR* d = fdopendir(dup_fd);
    if (d == nullptr) {
      int err = errno;
      close(dup_fd);
      return ErrnoError(absl::StrCat("opendir ", rel_dir), err);
    }
    std::vector<std::string> names;
    while (struct dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names.emplace_back(e->d_name);
    }
    closedir(d);
    for (const std::string& name : names) {
      DIEGO_RETURN_IF_ERROR(CopyEntry(src_dir, dst_dir, name, absl::StrCat(rel_dir, "/", name)));
    }
    return absl::OkStatus();
  }

  absl::Status CopyEntry(int src_dir, int dst_dir, const std::string& name,
                         const std::string& rel) {
    const char* n = name.c_str();
    struct stat st;
    if (fstatat(src_dir, n, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(absl::StrCat("stat ", rel), errno);
    }
    const uid_t uid = Map(st.st_uid);
    const gid_t gid = Map(st.st_gid);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dst_dir, n, 0700) != 0) return ErrnoError(absl::StrCat("mkdir ", rel), errno);
      Fd src(openat(src_dir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (src.get() < 0) return ErrnoError(absl::StrCat("open ", rel), errno);
      Fd dst(openat(dst_dir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (dst.get() < 0) return ErrnoError(absl::StrCat("open copy of ", rel), errno);
      DIEGO_RETURN_IF_ERROR(CopyContents(src.get(), dst.get(), rel));
      return FinishDirectory(dst.get(), st, rel);
    }
    if (S_ISREG(st.st_mode)) {
      const std::pair<dev_t, ino_t> key{st.st_dev, st.st_ino};
      if (st.st_nlink > 1) {
        auto it = links_.find(key);
        if (it != links_.end()) {
          // Paths in links_ are relative to the copy's root ("/a/b" -> "a/b").
          if (linkat(root_fd_, it->second.c_str() + 1, dst_dir, n, 0) != 0) {
            return ErrnoError(absl::StrCat("link ", rel), errno);
          }
          return absl::OkStatus();
        }
      }
      Fd src(openat(src_dir, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (src.get() < 0) return ErrnoError(absl::StrCat("open ", rel), errno);
      Fd dst(openat(dst_dir, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (dst.get() < 0) return ErrnoError(absl::StrCat("create copy of ", rel), errno);
      DIEGO_RETURN_IF_ERROR(CopyData(src.get(), dst.get(), st.st_size, rel));
      if (fchown(dst.get(), uid, gid) != 0) return ErrnoError(absl::StrCat("chown ", rel), errno);
      // After chown, which clears setuid/setgid.
      if (fchmod(dst.get(), st.st_mode & 07777) != 0) {
        return ErrnoError(absl::StrCat("chmod ", rel), errno);
      }
      if (futimens(dst.get(), times) != 0) return ErrnoError(absl::StrCat("utimens ", rel), errno);
      if (st.st_nlink > 1) links_.emplace(key, rel);
      return absl::OkStatus();
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t len = readlinkat(src_dir, n, target.data(), target.size());
      if (len < 0) return ErrnoError(absl::StrCat("readlink ", rel), errno);
      if (static_cast<size_t>(len) >= target.size()) {
        return absl::InternalError(
            absl::StrCat("readlink ", rel, ": target changed while copying"));
      }
      target.resize(static_cast<size_t>(len));
      if (symlinkat(target.c_str(), dst_dir, n) != 0) {
        return ErrnoError(absl::StrCat("symlink ", rel), errno);
      }
    } else if (S_ISFIFO(st.st_mode)) {
      if (mkfifoat(dst_dir, n, 0600) != 0) return ErrnoError(absl::StrCat("mkfifo ", rel), errno);
    } else {
      return absl::OkStatus();  // device nodes and sockets are skipped
    }
    if (fchownat(dst_dir, n, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(absl::StrCat("chown ", rel), errno);
    }
    if (!S_ISLNK(st.st_mode) && fchmodat(dst_dir, n, st.st_mode & 07777, 0) != 0) {
      return ErrnoError(absl::StrCat("chmod ", rel), errno);
    }
    if (utimensat(dst_dir, n, times, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(absl::StrCat("utimens ", rel), errno);
    }
    return absl::OkStatus();
  }

  // A reflink when the filesystem can, else an in-kernel copy, else read/write.
  static absl::Status CopyData(int src, int dst, off_t size, const std::string& rel) {
    if (size == 0) return absl::OkStatus();
    if (ioctl(dst, FICLONE, src) == 0) return absl::OkStatus();
    off_t done = 0;
    bool kernel_copy = true;
    std::vector<char> buf;
    while (true) {
      ssize_t n;
      if (kernel_copy) {
        n = copy_file_range(src, nullptr, dst, nullptr, 1 << 30, 0);
        if (n < 0 &&
            (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) &&
            done == 0) {
          kernel_copy = false;
          continue;
        }
      } else {
        if (buf.empty()) buf.resize(1 << 20);
        n = read(src, buf.data(), buf.size());
        for (ssize_t off = 0; n > 0 && off < n;) {
          ssize_t w = write(dst, buf.data() + off, static_cast<size_t>(n - off));
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) return ErrnoError(absl::StrCat("write copy of ", rel), errno);
          off += w;
        }
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError(absl::StrCat("copy ", rel), errno);
      if (n == 0) return absl::OkStatus();
      done += n;
    }
  }

  uint32_t start_;
  uint32_t length_;
  int root_fd_ = -1;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

struct UsageWalk {
  uint64_t bytes = 0;
  uint64_t inodes = 0;
  std::set<std::pair<dev_t, ino_t>> seen;

  // Counts everything below `dir_fd`. Entries that vanish meanwhile (a
  // running container changes its upper layer) are skipped.
  absl::Status Walk(int dir_fd, const std::string& path) {
    int dup_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return ErrnoError("dup", errno);
    DIR* d = fdopendir(dup_fd);
    if (d == nullptr) {
      int err = errno;
      close(dup_fd);
      return ErrnoError(absl::StrCat("opendir ", path), err);
    }
    std::vector<std::string> subdirs;
    while (struct dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      struct stat st;
      if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        int err = errno;
        closedir(d);
        return ErrnoError(absl::StrCat("stat ", path, "/", e->d_name), err);
      }
      if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !seen.emplace(st.st_dev, st.st_ino).second) {
        continue;
      }
      bytes += static_cast<uint64_t>(st.st_blocks) * 512;
      inodes += 1;
      if (S_ISDIR(st.st_mode)) subdirs.emplace_back(e->d_name);
    }
    closedir(d);
    for (const std::string& name : subdirs) {
      Fd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.get() < 0) {
        if (errno == ENOENT || errno == ENOTDIR) continue;
        return ErrnoError(absl::StrCat("open ", path, "/", name), errno);
      }
      DIEGO_RETURN_IF_ERROR(Walk(sub.get(), absl::StrCat(path, "/", name)));
    }
    return absl::OkStatus();
  }
};

absl::StatusOr<UsageWalk> MeasureTree(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, " does not exist"));
    return ErrnoError(absl::StrCat("open ", path), errno);
  }
  UsageWalk walk;
  DIEGO_RETURN_IF_ERROR(walk.Walk(fd.get(), path));
  return walk;
}

// True when `path` is the root of a mount (it is on a different device than
// its parent, or statx says so).
bool IsMountPoint(const std::string& path) {
  struct statx stx;
  if (statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) != 0) {
    return false;
  }
  if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0) {
    return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  }
  struct stat self, parent;
  if (lstat(path.c_str(), &self) != 0) return false;
  if (stat(fs::path(path).parent_path().c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev;
}

// overlayfs takes ',' as the option separator and ':' between lower layers.
absl::Status CheckOverlayPath(absl::string_view what, const std::string& path) {
  if (path.find_first_of(",:\\") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " contains ',', ':' or '\\', which overlayfs cannot take"));
  }
  return absl::OkStatus();
}

}  // namespace

RootfsManager::RootfsManager(RootfsOptions options) : options_(std::move(options)) {}

std::string RootfsManager::NstarBinary() const {
  if (!options_.nstar_binary.empty()) return options_.nstar_binary;
  std::vector<std::string> candidates;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back((self.parent_path() / kNstarName).string());
  for (const char* dir : {DIEGO_GARDEN_BUILD_HELPER_DIR, DIEGO_GARDEN_INSTALL_HELPER_DIR}) {
    if (dir[0] != '\0') candidates.push_back(absl::StrCat(dir, "/", kNstarName));
  }
  for (const std::string& c : candidates) {
    if (access(c.c_str(), X_OK) == 0) return c;
  }
  return kNstarName;  // posix_spawn reports it missing
}

absl::StatusOr<std::string> RootfsManager::PrepareImage(absl::string_view image_uri,
                                                        bool privileged) {
  if (image_uri.empty()) return absl::InvalidArgumentError("image.uri is empty");
  std::string path(image_uri);
  if (size_t pos = image_uri.find("://"); pos != absl::string_view::npos) {
    absl::string_view scheme = image_uri.substr(0, pos);
    if (scheme != "raw") {
      return absl::InvalidArgumentError(absl::StrCat(
          "image.uri \"", image_uri, "\": unsupported scheme \"", scheme,
          "\" (only a directory or a .tar/.tar.gz/.tgz file, as \"/path\" or \"raw:///path\")"));
    }
    path = std::string(image_uri.substr(pos + 3));
  }
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("image.uri \"", image_uri, "\": the path must be absolute"));
  }
  path = fs::path(path).lexically_normal().string();
  if (path.size() > 1 && path.back() == '/') path.pop_back();

  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image.uri \"", image_uri, "\": ", path, ": ", ErrnoText(errno)));
  }
  std::string base;
  if (S_ISDIR(st.st_mode)) {
    base = path;
  } else if (S_ISREG(st.st_mode) &&
             (absl::EndsWith(path, ".tar") || absl::EndsWith(path, ".tar.gz") ||
              absl::EndsWith(path, ".tgz"))) {
    DIEGO_ASSIGN_OR_RETURN(base, ExtractTarball(path, st));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("image.uri \"", image_uri, "\": ", path,
                     " is neither a directory nor a .tar/.tar.gz/.tgz file"));
  }
  if (privileged) return base;
  return ShiftedCopy(path, st, base);
}

absl::StatusOr<std::string> RootfsManager::ExtractTarball(const std::string& path,
                                                          const struct stat& st) {
  const std::string name = absl::StrCat("tar-", VersionKey(path, st));
  const std::string final_path = absl::StrCat(options_.image_dir, "/", name);
  if (IsDirectory(final_path)) return final_path;
  DIEGO_RETURN_IF_ERROR(EnsureImageDir(options_.image_dir));
  DIEGO_ASSIGN_OR_RETURN(FileLock lock,
                         FileLock::Acquire(absl::StrCat(options_.image_dir, "/.lock-", name)));
  if (IsDirectory(final_path)) return final_path;  // built while we waited

  const std::string tmp = absl::StrCat(options_.image_dir, "/.tmp-", name);
  DIEGO_RETURN_IF_ERROR(RemoveTree(tmp));  // left by a crashed builder
  if (mkdir(tmp.c_str(), 0755) != 0) return ErrnoError(absl::StrCat("mkdir ", tmp), errno);
  std::string err;
  absl::StatusOr<int> code = RunHelper({NstarBinary(), "extract", path, tmp}, "", nullptr, &err);
  absl::Status status = code.status();
  if (status.ok() && *code != 0) {
    std::string text(absl::StripAsciiWhitespace(err));
    std::string message = absl::StrCat("image.uri: extracting ", path, ": ",
                                       text.empty() ? absl::StrCat("exit status ", *code) : text);
    status = *code == 2 ? absl::InvalidArgumentError(message) : absl::InternalError(message);
  }
  if (status.ok()) status = Publish(options_.image_dir, tmp, final_path);
  if (!status.ok()) {
    RemoveTree(tmp).IgnoreError();
    return status;
  }
  return final_path;
}

absl::StatusOr<std::string> RootfsManager::ShiftedCopy(const std::string& source,
                                                       const struct stat& st,
                                                       const std::string& base) {
  if (options_.uid_map_length == 0) {
    return absl::FailedPreconditionError("RootfsOptions.uid_map_length is 0");
  }
  const std::string name = absl::StrCat("shift-", options_.uid_map_start, "-",
                                        options_.uid_map_length, "-", VersionKey(source, st));
  const std::string final_path = absl::StrCat(options_.image_dir, "/", name);
  if (IsDirectory(final_path)) return final_path;
  DIEGO_RETURN_IF_ERROR(EnsureImageDir(options_.image_dir));
  DIEGO_ASSIGN_OR_RETURN(FileLock lock,
                         FileLock::Acquire(absl::StrCat(options_.image_dir, "/.lock-", name)));
  if (IsDirectory(final_path)) return final_path;

  const std::string tmp = absl::StrCat(options_.image_dir, "/.tmp-", name);
  DIEGO_RETURN_IF_ERROR(RemoveTree(tmp));
  ShiftedCopier copier(options_.uid_map_start, options_.uid_map_length);
  absl::Status status = copier.Copy(base, tmp);
  if (!status.ok()) {
    status = absl::Status(
        status.code(), absl::StrCat("image.uri: shifting ids of ", base, ": ", status.message()));
  }
  if (status.ok()) status = Publish(options_.image_dir, tmp, final_path);
  if (!status.ok()) {
    RemoveTree(tmp).IgnoreError();
    return status;
  }
  return final_path;
}

absl::StatusOr<std::string> RootfsManager::MountRootfs(absl::string_view dir_view,
                                                       absl::string_view lower_view,
                                                       bool privileged) {
  const std::string dir(dir_view);
  const std::string lower(lower_view);
  const std::string upper = dir + "/upper";
  const std::string work = dir + "/work";
  const std::string rootfs = dir + "/rootfs";
  DIEGO_RETURN_IF_ERROR(CheckOverlayPath("image", lower));
  DIEGO_RETURN_IF_ERROR(CheckOverlayPath("container directory", dir));
  struct stat lower_st;
  if (stat(lower.c_str(), &lower_st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("image ", lower, ": ", ErrnoText(errno)));
  }
  if (!S_ISDIR(lower_st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("image ", lower, " is not a directory"));
  }

  // Everything created here is removed again on failure.
  std::vector<std::string> created;
  auto undo = [&created, &work] {
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
      // overlayfs may have populated the work directory before failing.
      if (*it == work) {
        RemoveTree(work).IgnoreError();
      } else {
        rmdir(it->c_str());
      }
    }
  };
  for (const auto& [path, mode] : {std::pair{dir, 0755}, std::pair{upper, 0755},
                                   std::pair{work, 0700}, std::pair{rootfs, 0755}}) {
    if (mkdir(path.c_str(), static_cast<mode_t>(mode)) == 0) {
      created.push_back(path);
    } else if (errno != EEXIST) {
      int err = errno;
      undo();
      return ErrnoError(absl::StrCat("mkdir ", path), err);
    }
  }
  // The upper directory is the root of the merged tree: give it the image
  // root's mode, owned by the (shifted) root so container root can write /.
  const uid_t owner = privileged ? lower_st.st_uid : options_.uid_map_start;
  const gid_t group = privileged ? lower_st.st_gid : options_.uid_map_start;
  if (chown(upper.c_str(), owner, group) != 0 || chmod(upper.c_str(), lower_st.st_mode & 07777)) {
    int err = errno;
    undo();
    return ErrnoError(absl::StrCat("chown/chmod ", upper), err);
  }
  // "volatile": no syncs of the upper filesystem (a container's layer does
  // not outlive a reboot), which keeps mount and umount fast. Kernels before
  // 5.10 lack it: retry without.
  std::string data =
      absl::StrCat("lowerdir=", lower, ",upperdir=", upper, ",workdir=", work, ",volatile");
  int rc = mount("overlay", rootfs.c_str(), "overlay", 0, data.c_str());
  if (rc != 0 && errno == EINVAL) {
    data.resize(data.size() - std::strlen(",volatile"));
    rc = mount("overlay", rootfs.c_str(), "overlay", 0, data.c_str());
  }
  if (rc != 0) {
    int err = errno;
    undo();
    return ErrnoError(absl::StrCat("mount overlay (", data, ") on ", rootfs), err);
  }
  return rootfs;
}

absl::Status RootfsManager::RemoveRootfs(absl::string_view dir_view) {
  const std::string dir(dir_view);
  const std::string rootfs = dir + "/rootfs";
  // Stacked mounts are possible in theory; a few rounds unmount them all.
  for (int i = 0; i < 16; ++i) {
    if (umount2(rootfs.c_str(), UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EBUSY && umount2(rootfs.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EINVAL || errno == ENOENT || errno == ENOTDIR) break;  // not mounted
    return ErrnoError(absl::StrCat("umount ", rootfs), errno);
  }
  if (IsMountPoint(rootfs)) {
    return absl::InternalError(absl::StrCat("umount ", rootfs, ": still mounted"));
  }
  // rmdir, not a recursive remove: a mount point that is not empty means
  // something unexpected is there.
  if (rmdir(rootfs.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(absl::StrCat("rmdir ", rootfs), errno);
  }
  DIEGO_RETURN_IF_ERROR(RemoveTree(dir + "/upper"));
  return RemoveTree(dir + "/work");
}

absl::StatusOr<ContainerDiskStat> RootfsManager::DiskUsage(absl::string_view dir,
                                                           absl::string_view lower_view) {
  const std::string lower(lower_view);
  DIEGO_ASSIGN_OR_RETURN(UsageWalk upper, MeasureTree(absl::StrCat(dir, "/upper")));
  Usage image;
  bool cached = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = image_usage_.find(lower);
    if (it != image_usage_.end()) {
      image = it->second;
      cached = true;
    }
  }
  if (!cached) {
    DIEGO_ASSIGN_OR_RETURN(UsageWalk walk, MeasureTree(lower));
    image = Usage{walk.bytes, walk.inodes};
    absl::MutexLock lock(&mu_);
    image_usage_[lower] = image;
  }
  ContainerDiskStat stat;
  stat.exclusive_bytes_used = upper.bytes;
  stat.exclusive_inodes_used = upper.inodes;
  stat.total_bytes_used = upper.bytes + image.bytes;
  stat.total_inodes_used = upper.inodes + image.inodes;
  return stat;
}

}  // namespace diego::garden
