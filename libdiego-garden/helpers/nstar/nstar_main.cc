// Copyright 2026 The libdiego Authors.
//
// diego-garden-nstar: moves tar streams in and out of a running container and
// unpacks tarball images. Exec'd (as root) by LinuxBackend; see src/rootfs.h.
//
//   diego-garden-nstar in  <pid> <user> <path> <uid_shift> <uid_count>  < tar
//   diego-garden-nstar out <pid> <user> <path> <uid_shift> <uid_count>  > tar
//   diego-garden-nstar extract <tarball> <dir>
//
// in/out chroot into /proc/<pid>/root (the container's root, so no path or
// symlink can resolve outside it), look `user` up in the container's
// /etc/passwd ("" = root; a name or a numeric uid), switch to that user's
// ids and supplementary groups, then extract stdin into `path` (created, owned by the
// user) or write `path` as a tar to stdout with Garden's naming: "/a/b" gives
// entries "b", "b/..."; "/a/b/" gives "./...". A relative path is relative to
// the user's home directory.
//
// Unprivileged containers (uid_count > 0; container id c is host id
// uid_shift + c): before switching ids nstar joins the user namespace of
// `pid` (opened, like the root, through one /proc/<pid> handle before the
// chroot) and takes the container ids there, so the container's root keeps
// its namespaced capabilities (DAC_OVERRIDE, CHOWN, FOWNER, ... over files
// whose owner is mapped into the container) and every other user has none,
// exactly as for a process of the container. Directories that stream-in
// creates on the way to `path` are made before that, as the container's root
// could (see MkdirAsContainerRoot). A pid whose user namespace is nstar's own
// is refused for unprivileged containers. Privileged containers stay in the
// host user namespace and switch to the same (unshifted) ids.
//
// extract chroots into `dir` and unpacks the tarball keeping owners (numeric),
// modes, times and device nodes (an image).
//
// Nothing from the container is loaded as code: the locale and iconv are set
// up before chroot, /etc/passwd and /etc/group are parsed here (no NSS), and
// only built-in decompression (gzip via zlib) is enabled.
//
// Errors go to stderr, one line. Exit codes: 0 ok, 1 failure, 2 bad usage or
// bad archive, 3 missing path or unknown user.

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <iconv.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNotFound = 3;
constexpr size_t kMaxDatabaseBytes = 16 << 20;  // /etc/passwd, /etc/group

[[noreturn]] void Die(int code, const std::string& message) {
  std::string line = "nstar: " + message + "\n";
  (void)!write(2, line.data(), line.size());
  _exit(code);
}

[[noreturn]] void DieErrno(int code, const std::string& what) {
  Die(code, what + ": " + std::strerror(errno));
}

bool ParseUint(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > max) return false;
  }
  *out = v;
  return true;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// Reads a small file of the container (after chroot). Missing = "".
std::string ReadDatabase(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return "";
    DieErrno(kExitFailure, std::string("open ") + path);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    Die(kExitFailure, std::string(path) + " is not a regular file");
  }
  std::string data;
  char buf[8192];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) DieErrno(kExitFailure, std::string("read ") + path);
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxDatabaseBytes) Die(kExitFailure, std::string(path) + " is too large");
  }
  close(fd);
  return data;
}

struct User {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home = "/";
  std::vector<uint32_t> groups;  // supplementary, container ids
};

// Resolves `spec` against the container's /etc/passwd and /etc/group.
User ResolveUser(const std::string& spec) {
  const std::string wanted = spec.empty() ? "root" : spec;
  uint64_t numeric = 0;
  const bool is_numeric = ParseUint(wanted, UINT32_MAX - 1, &numeric);
  User user;
  bool found = false;
  for (const std::string& line : Split(ReadDatabase("/etc/passwd"), '\n')) {
    std::vector<std::string> f = Split(line, ':');
    if (f.size() < 7) continue;
    uint64_t uid = 0, gid = 0;
    if (!ParseUint(f[2], UINT32_MAX - 1, &uid) || !ParseUint(f[3], UINT32_MAX - 1, &gid)) continue;
    if (is_numeric ? uid != numeric : f[0] != wanted) continue;
    user.name = f[0];
    user.uid = static_cast<uint32_t>(uid);
    user.gid = static_cast<uint32_t>(gid);
    if (!f[5].empty()) user.home = f[5];
    found = true;
    break;
  }
  if (!found) {
    if (!is_numeric && wanted != "root") {
      Die(kExitNotFound, "unable to find user " + wanted + ": no matching entries in passwd file");
    }
    user.name = wanted;
    user.uid = user.gid = static_cast<uint32_t>(numeric);  // "root" -> 0
    user.home = user.uid == 0 ? "/root" : "/";
  }
  user.groups.push_back(user.gid);
  for (const std::string& line : Split(ReadDatabase("/etc/group"), '\n')) {
    std::vector<std::string> f = Split(line, ':');
    if (f.size() < 4 || f[3].empty()) continue;
    uint64_t gid = 0;
    if (!ParseUint(f[2], UINT32_MAX - 1, &gid)) continue;
    for (const std::string& member : Split(f[3], ',')) {
      if (member == user.name && gid != user.gid) {
        user.groups.push_back(static_cast<uint32_t>(gid));
        break;
      }
    }
  }
  return user;
}

struct IdMap {
  uint64_t shift = 0;
  uint64_t count = 0;  // 0 = identity (privileged container)

  uint32_t ToHost(uint32_t id, const char* what, const std::string& user) const {
    if (count == 0) return id;
    if (id >= count) {
      Die(kExitFailure, "user " + user + ": " + what + " " + std::to_string(id) +
                            " is not mapped into the container");
    }
    return static_cast<uint32_t>(shift + id);
  }
};

// Sets up everything that could otherwise load files after chroot.
void PrepareBeforeChroot() {
  // glibc >= 2.35 has a built-in C.UTF-8; fall back to "C" silently.
  std::setlocale(LC_CTYPE, "C.UTF-8");
  // Load the gconv configuration from the host now (it is read once).
  const char* pairs[][2] = {{"UTF-8", "ANSI_X3.4-1968"}, {"ANSI_X3.4-1968", "UTF-8"}};
  for (const auto& p : pairs) {
    iconv_t cd = iconv_open(p[0], p[1]);
    if (cd != reinterpret_cast<iconv_t>(-1)) iconv_close(cd);
  }
}

void ChrootInto(const std::string& dir) {
  int fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) DieErrno(errno == ENOENT ? kExitNotFound : kExitFailure, "open " + dir);
  if (fchdir(fd) != 0) DieErrno(kExitFailure, "fchdir " + dir);
  close(fd);
  if (chroot(".") != 0) DieErrno(kExitFailure, "chroot " + dir);
  if (chdir("/") != 0) DieErrno(kExitFailure, "chdir / in " + dir);
}

// Chroots into the root of container process `pid_arg`, refusing the host's
// own root (a pid that is not in a container). For an unprivileged container
// (map.count > 0) returns an fd of the process's user namespace, opened
// through the same /proc/<pid> handle as the root and refused when it is
// nstar's own; otherwise -1.
int EnterContainerRoot(const std::string& pid_arg, const IdMap& map) {
  uint64_t pid = 0;
  if (!ParseUint(pid_arg, 0x3fffffff, &pid) || pid <= 1) {
    Die(kExitUsage, "invalid container pid \"" + pid_arg + "\"");
  }
  const std::string proc = "/proc/" + pid_arg;
  const int proc_fd = open(proc.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (proc_fd < 0) {
    DieErrno(errno == ENOENT ? kExitNotFound : kExitFailure, "container process " + pid_arg);
  }
  const int root_fd = openat(proc_fd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) {
    DieErrno(errno == ENOENT || errno == ESRCH ? kExitNotFound : kExitFailure,
             "container process " + pid_arg);
  }
  struct stat container_root, host_root;
  if (fstat(root_fd, &container_root) != 0) DieErrno(kExitFailure, "stat " + proc + "/root");
  if (stat("/", &host_root) != 0) DieErrno(kExitFailure, "stat /");
  if (container_root.st_dev == host_root.st_dev && container_root.st_ino == host_root.st_ino) {
    Die(kExitFailure, "process " + pid_arg + " is not in a container (its root is the host's)");
  }
  int userns_fd = -1;
  if (map.count != 0) {
    userns_fd = openat(proc_fd, "ns/user", O_RDONLY | O_CLOEXEC);
    if (userns_fd < 0) {
      DieErrno(errno == ENOENT || errno == ESRCH ? kExitNotFound : kExitFailure,
               "open " + proc + "/ns/user");
    }
    struct stat theirs, ours;
    if (fstat(userns_fd, &theirs) != 0) DieErrno(kExitFailure, "stat " + proc + "/ns/user");
    if (stat("/proc/self/ns/user", &ours) != 0) DieErrno(kExitFailure, "stat /proc/self/ns/user");
    if (theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino) {
      Die(kExitFailure, "process " + pid_arg +
                            " is not in a user namespace (the container is unprivileged)");
    }
  }
  close(proc_fd);
  if (fchdir(root_fd) != 0) DieErrno(kExitFailure, "fchdir " + proc + "/root");
  close(root_fd);
  if (chroot(".") != 0) DieErrno(kExitFailure, "chroot " + proc + "/root");
  if (chdir("/") != 0) DieErrno(kExitFailure, "chdir / in " + proc + "/root");
  return userns_fd;
}

// True when the calling thread has no effective or permitted capability.
bool HasNoCapabilities() {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) DieErrno(kExitFailure, "capget");
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0) return false;
  }
  return true;
}

// Becomes `user`. Privileged (userns_fd < 0): host ids = container ids.
// Unprivileged: joins the container's user namespace and takes the container
// ids there; root keeps the namespace's capabilities, anyone else loses all.
void DropPrivileges(const User& user, const IdMap& map, int userns_fd) {
  // Validates the ids against the map (unmapped ids cannot be taken).
  map.ToHost(user.uid, "uid", user.name);
  map.ToHost(user.gid, "gid", user.name);
  const uid_t uid = user.uid;
  const gid_t gid = user.gid;
  std::vector<gid_t> groups;
  for (uint32_t g : user.groups) {
    if (map.count != 0 && g >= map.count) continue;  // unmapped: cannot hold it
    groups.push_back(g);
  }
  if (userns_fd >= 0) {
    if (setns(userns_fd, CLONE_NEWUSER) != 0) DieErrno(kExitFailure, "setns user namespace");
    close(userns_fd);
    // Become the namespace's root first: the kernel clears the capabilities
    // only on a change away from root (of this namespace), which the switch
    // to a non-root user below then is.
    if (setresgid(0, 0, 0) != 0) DieErrno(kExitFailure, "setresgid 0 in the container");
    if (setresuid(0, 0, 0) != 0) DieErrno(kExitFailure, "setresuid 0 in the container");
  }
  if (setgroups(groups.size(), groups.data()) != 0) DieErrno(kExitFailure, "setgroups");
  if (setresgid(gid, gid, gid) != 0) DieErrno(kExitFailure, "setresgid " + std::to_string(gid));
  if (setresuid(uid, uid, uid) != 0) DieErrno(kExitFailure, "setresuid " + std::to_string(uid));
  if (uid != 0 && !HasNoCapabilities()) {
    Die(kExitFailure, "user " + user.name + " kept capabilities after setresuid");
  }
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

// Creates directory `name` in `parent_fd` as the container's root could.
// Privileged: as host root. Unprivileged: container root has capabilities
// only over files whose owner and group are mapped into its user namespace,
// so with all capabilities when the parent is such a file, and otherwise
// (e.g. a host directory bind-mounted into the container) with the shifted
// root's ids and no capabilities (setfsuid to a non-zero id drops the fs
// capabilities; setting it back to 0 restores them).
int MkdirAsContainerRoot(int parent_fd, const char* name, const IdMap& map) {
  if (map.count == 0) return mkdirat(parent_fd, name, 0755);
  struct stat parent;
  if (fstat(parent_fd, &parent) != 0) return -1;
  auto mapped = [&map](uint64_t id) { return id >= map.shift && id < map.shift + map.count; };
  if (mapped(parent.st_uid) && mapped(parent.st_gid)) return mkdirat(parent_fd, name, 0755);

  std::vector<gid_t> groups(static_cast<size_t>(std::max(getgroups(0, nullptr), 0)));
  if (getgroups(static_cast<int>(groups.size()), groups.data()) < 0) {
    DieErrno(kExitFailure, "getgroups");
  }
  const gid_t root_gid = static_cast<gid_t>(map.shift);
  if (setgroups(1, &root_gid) != 0) DieErrno(kExitFailure, "setgroups");
  setfsgid(root_gid);
  setfsuid(static_cast<uid_t>(map.shift));
  const int rc = mkdirat(parent_fd, name, 0755);
  const int err = errno;
  setfsuid(0);
  setfsgid(0);
  if (setgroups(groups.size(), groups.data()) != 0) DieErrno(kExitFailure, "setgroups");
  errno = err;
  return rc;
}

// mkdir -p as the container's root; directories it creates are owned by
// uid:gid.
void MkdirAllAs(const std::string& path, uid_t uid, gid_t gid, const IdMap& map) {
  std::string prefix;
  size_t pos = 0;
  if (!path.empty() && path[0] == '/') {
    prefix = "/";
    pos = 1;
  }
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    std::string part = path.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    const std::string parent_path = prefix.empty() ? "." : prefix;
    prefix += part;
    int parent = open(parent_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0) DieErrno(errno == ENOENT ? kExitNotFound : kExitFailure, "open " + parent_path);
    if (MkdirAsContainerRoot(parent, part.c_str(), map) == 0) {
      int fd = openat(parent, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 || fchown(fd, uid, gid) != 0) DieErrno(kExitFailure, "chown " + prefix);
      close(fd);
    } else if (errno != EEXIST) {
      DieErrno(errno == ENOENT ? kExitNotFound : kExitFailure, "mkdir " + prefix);
    }
    close(parent);
    prefix += "/";
  }
}

// libarchive's message plus the errno text when it set one.
std::string ArchiveError(struct archive* a) {
  const char* text = archive_error_string(a);
  std::string message = text != nullptr ? text : "unknown libarchive error";
  int err = archive_errno(a);
  // EILSEQ and EINVAL are libarchive's codes for "bad format" and "misuse".
  if (err > 0 && err != EILSEQ && err != EINVAL &&
      message.find(std::strerror(err)) == std::string::npos) {
    message += std::string(": ") + std::strerror(err);
  }
  return message;
}

[[noreturn]] void DieWriting(struct archive* out, const std::string& name) {
  Die(kExitFailure, "writing " + name + ": " + ArchiveError(out));
}

struct archive* NewTarReader() {
  struct archive* a = archive_read_new();
  if (a == nullptr) Die(kExitFailure, "archive_read_new failed");
  archive_read_support_format_tar(a);
  archive_read_support_format_empty(a);  // an empty stream extracts nothing
  // Only filters built into libarchive: an ARCHIVE_WARN here would mean an
  // external program, which must never run.
  if (archive_read_support_filter_gzip(a) != ARCHIVE_OK) {
    Die(kExitFailure, "libarchive has no built-in gzip support");
  }
  return a;
}

// Strips leading '/' (as GNU tar does); an emptied name becomes ".".
void SanitizeEntry(struct archive_entry* entry) {
  const char* name = archive_entry_pathname(entry);
  if (name == nullptr) Die(kExitUsage, "archive entry without a name");
  if (name[0] == '/') {
    std::string stripped(name);
    stripped.erase(0, stripped.find_first_not_of('/'));
    archive_entry_copy_pathname(entry, stripped.empty() ? "." : stripped.c_str());
  }
  const char* link = archive_entry_hardlink(entry);
  if (link != nullptr && link[0] == '/') {
    std::string stripped(link);
    stripped.erase(0, stripped.find_first_not_of('/'));
    archive_entry_copy_hardlink(entry, stripped.c_str());
  }
}

// Copies every entry of `in` (opened on a tar) into the current directory.
void Extract(struct archive* in, int flags) {
  struct archive* out = archive_write_disk_new();
  if (out == nullptr) Die(kExitFailure, "archive_write_disk_new failed");
  archive_write_disk_set_options(out, flags);
  while (true) {
    struct archive_entry* entry = nullptr;
    int r = archive_read_next_header(in, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) Die(kExitUsage, std::string("reading archive: ") + ArchiveError(in));
    SanitizeEntry(entry);
    const std::string name = archive_entry_pathname(entry);
    r = archive_write_header(out, entry);
    if (r < ARCHIVE_WARN) {
      Die(kExitFailure, name + ": " + ArchiveError(out));
    } else if (r == ARCHIVE_WARN) {
      std::fprintf(stderr, "nstar: warning: %s: %s\n", name.c_str(), ArchiveError(out).c_str());
    }
    if (archive_entry_size(entry) > 0) {
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      while (true) {
        r = archive_read_data_block(in, &block, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
          Die(kExitUsage, "reading " + name + ": " + ArchiveError(in));
        }
        if (archive_write_data_block(out, block, size, offset) < ARCHIVE_WARN) {
          Die(kExitFailure, "writing " + name + ": " + ArchiveError(out));
        }
      }
    }
    r = archive_write_finish_entry(out);
    if (r < ARCHIVE_WARN) Die(kExitFailure, name + ": " + ArchiveError(out));
  }
  if (archive_write_close(out) < ARCHIVE_WARN) {
    Die(kExitFailure, std::string("finishing extraction: ") + ArchiveError(out));
  }
  archive_write_free(out);
}

void GoHome(const User& user) {
  if (chdir(user.home.c_str()) != 0 && chdir("/") != 0) DieErrno(kExitFailure, "chdir /");
}

int StreamIn(const std::string& pid, const std::string& user_spec, const std::string& path,
             const IdMap& map) {
  PrepareBeforeChroot();
  struct archive* in = NewTarReader();
  const int userns_fd = EnterContainerRoot(pid, map);
  User user = ResolveUser(user_spec);
  GoHome(user);
  const std::string dest = path.empty() ? "." : path;
  MkdirAllAs(dest, map.ToHost(user.uid, "uid", user.name), map.ToHost(user.gid, "gid", user.name),
             map);
  int dest_fd = open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dest_fd < 0) DieErrno(errno == ENOENT ? kExitNotFound : kExitFailure, "open " + path);
  DropPrivileges(user, map, userns_fd);
  if (fchdir(dest_fd) != 0) DieErrno(kExitFailure, "chdir " + path);
  close(dest_fd);
  umask(022);
  if (archive_read_open_fd(in, 0, 64 << 10) != ARCHIVE_OK) {
    Die(kExitUsage, std::string("reading archive: ") + ArchiveError(in));
  }
  // No ARCHIVE_EXTRACT_OWNER/PERM: files belong to the user, modes get the
  // umask and lose setuid/setgid (GNU tar's --no-same-owner
  // --no-same-permissions, as Garden runs it). SECURE_SYMLINKS: never write
  // through a symlink (e.g. one planted by an earlier entry of the archive).
  Extract(in, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                  ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  archive_read_free(in);
  return 0;
}

int StreamOut(const std::string& pid, const std::string& user_spec, const std::string& path,
              const IdMap& map) {
  PrepareBeforeChroot();
  struct archive* out = archive_write_new();
  struct archive* disk = archive_read_disk_new();
  if (out == nullptr || disk == nullptr) Die(kExitFailure, "libarchive allocation failed");
  const int userns_fd = EnterContainerRoot(pid, map);
  User user = ResolveUser(user_spec);
  DropPrivileges(user, map, userns_fd);
  GoHome(user);

  // Garden: "/a/b" -> -C /a b; "/a/b/" -> -C /a/b/ .
  std::string source_dir, name;
  const std::string p = path.empty() ? "." : path;
  if (p.back() == '/') {
    source_dir = p;
    name = ".";
  } else {
    size_t slash = p.find_last_of('/');
    if (slash == std::string::npos) {
      source_dir = ".";
      name = p;
    } else {
      source_dir = slash == 0 ? "/" : p.substr(0, slash);
      name = p.substr(slash + 1);
    }
  }
  if (chdir(source_dir.c_str()) != 0) {
    DieErrno(errno == ENOENT || errno == ENOTDIR ? kExitNotFound : kExitFailure, "stat " + p);
  }
  struct stat st;
  if (lstat(name.c_str(), &st) != 0) {
    DieErrno(errno == ENOENT || errno == ENOTDIR ? kExitNotFound : kExitFailure, "stat " + p);
  }

  archive_write_set_format_pax_restricted(out);
  archive_write_add_filter_none(out);
  if (archive_write_open_fd(out, 1) != ARCHIVE_OK) {
    Die(kExitFailure, std::string("opening stdout: ") + ArchiveError(out));
  }
  archive_read_disk_set_symlink_physical(disk);
  archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
                                           ARCHIVE_READDISK_NO_FFLAGS | ARCHIVE_READDISK_NO_SPARSE);
  if (archive_read_disk_open(disk, name.c_str()) != ARCHIVE_OK) {
    Die(kExitFailure, "reading " + p + ": " + ArchiveError(disk));
  }
  struct archive_entry_linkresolver* links = archive_entry_linkresolver_new();
  archive_entry_linkresolver_set_strategy(links, archive_format(out));
  std::vector<char> buf(256 << 10);
  while (true) {
    struct archive_entry* entry = archive_entry_new();
    int r = archive_read_next_header2(disk, entry);
    if (r == ARCHIVE_EOF) {
      archive_entry_free(entry);
      break;
    }
    if (r < ARCHIVE_WARN) Die(kExitFailure, "reading " + p + ": " + ArchiveError(disk));
    if (r == ARCHIVE_WARN) {
      std::fprintf(stderr, "nstar: warning: %s\n", ArchiveError(disk).c_str());
    }
    archive_read_disk_descend(disk);
    const std::string entry_name = archive_entry_pathname(entry);
    // Owners are already container ids: the host's when privileged, and as
    // seen from the container's user namespace (unmapped ones as the
    // overflow id) when not.
    archive_entry_set_uname(entry, nullptr);
    archive_entry_set_gname(entry, nullptr);
    struct archive_entry* sparse = nullptr;
    struct archive_entry* to_write = entry;
    archive_entry_linkify(links, &to_write, &sparse);
    if (to_write == nullptr) continue;  // deferred (not with tar formats)
    if (archive_write_header(out, to_write) < ARCHIVE_WARN) DieWriting(out, entry_name);
    if (archive_entry_size(to_write) > 0) {
      while (true) {
        la_ssize_t n = archive_read_data(disk, buf.data(), buf.size());
        if (n == 0) break;
        if (n < 0) Die(kExitFailure, "reading " + entry_name + ": " + ArchiveError(disk));
        if (archive_write_data(out, buf.data(), static_cast<size_t>(n)) < 0) {
          DieWriting(out, entry_name);
        }
      }
    }
    archive_entry_free(to_write);
  }
  archive_entry_linkresolver_free(links);
  if (archive_write_close(out) != ARCHIVE_OK) DieWriting(out, "end of archive");
  archive_write_free(out);
  archive_read_free(disk);
  return 0;
}

int ExtractImage(const std::string& tarball, const std::string& dir) {
  PrepareBeforeChroot();
  int fd = open(tarball.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) DieErrno(errno == ENOENT ? kExitNotFound : kExitFailure, "open " + tarball);
  struct archive* in = NewTarReader();
  ChrootInto(dir);
  umask(0);
  if (archive_read_open_fd(in, fd, 256 << 10) != ARCHIVE_OK) {
    Die(kExitUsage, tarball + ": " + ArchiveError(in));
  }
  // Numeric owners (no lookup functions are set), modes, times, xattrs.
  Extract(in, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                  ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  archive_read_free(in);
  return 0;
}

[[noreturn]] void Usage() {
  Die(kExitUsage,
      "usage: diego-garden-nstar in|out <pid> <user> <path> <uid_shift> <uid_count>\n"
      "       diego-garden-nstar extract <tarball> <dir>");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Usage();
  const std::string mode = argv[1];
  if (geteuid() != 0) Die(kExitFailure, "must run as root");
  if (mode == "extract") {
    if (argc != 4) Usage();
    return ExtractImage(argv[2], argv[3]);
  }
  if ((mode != "in" && mode != "out") || argc != 7) Usage();
  IdMap map;
  if (!ParseUint(argv[5], UINT32_MAX, &map.shift) || !ParseUint(argv[6], UINT32_MAX, &map.count)) {
    Usage();
  }
  if (map.shift + map.count > static_cast<uint64_t>(UINT32_MAX)) Usage();
  if (mode == "in") return StreamIn(argv[2], argv[3], argv[4], map);
  return StreamOut(argv[2], argv[3], argv[4], map);
}
