// Copyright 2026 The libdiego Authors.
//
// CgroupManager on libcgroup. Discovery, creation, attach and deletion go
// through libcgroup (whose global state is guarded by one process-wide
// mutex); statistics, limits read-back and killing read and write the control
// files directly.

#include "cgroups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"
#include "posix_fd.h"

namespace diego::garden {
namespace {

using cgroups_internal::CgroupVersion;

// ---------------------------------------------------------------------------
// Files.

bool PathExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// NotFound when the file is absent.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = absl::StrCat("open ", path, ": ", ErrnoText(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::InternalError(msg);
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return absl::InternalError(absl::StrCat("read ", path, ": ", ErrnoText(err)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

absl::Status WriteFile(const std::string& path, absl::string_view value) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = absl::StrCat("open ", path, ": ", ErrnoText(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::InternalError(msg);
  }
  ssize_t n;
  do {
    n = write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (n < 0) {
    return absl::InternalError(
        absl::StrCat("write '", std::string(value), "' to ", path, ": ", ErrnoText(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ReadUint(const std::string& path) {
  DIEGO_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  uint64_t v = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &v)) {
    return absl::InternalError(absl::StrCat(path, ": not a number: '", text, "'"));
  }
  return v;
}

// 0 when the file is absent.
absl::StatusOr<uint64_t> ReadUintOrZero(const std::string& path) {
  absl::StatusOr<uint64_t> v = ReadUint(path);
  if (absl::IsNotFound(v.status())) return 0;
  return v;
}

absl::StatusOr<uint64_t> ReadLimitFile(const std::string& path) {
  DIEGO_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return cgroups_internal::ParseLimit(text, path);
}

absl::StatusOr<uint64_t> ReadLimitFileOrZero(const std::string& path) {
  absl::StatusOr<uint64_t> v = ReadLimitFile(path);
  if (absl::IsNotFound(v.status())) return 0;
  return v;
}

absl::StatusOr<std::map<std::string, uint64_t>> ReadKeyed(const std::string& path) {
  DIEGO_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return cgroups_internal::ParseKeyedValues(text, path);
}

// Names of the subdirectories of `dir`; empty when `dir` is absent.
absl::StatusOr<std::vector<std::string>> SubDirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return absl::InternalError(absl::StrCat("opendir ", dir, ": ", ErrnoText(errno)));
  }
  while (struct dirent* e = readdir(d)) {
    if (e->d_type != DT_DIR) continue;
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    out.push_back(std::move(name));
  }
  closedir(d);
  return out;
}

// Appends the pids in `dir`/cgroup.procs and in every descendant cgroup.
absl::Status CollectProcs(const std::string& dir, std::set<pid_t>* pids) {
  absl::StatusOr<std::string> text = ReadFile(dir + "/cgroup.procs");
  if (absl::IsNotFound(text.status())) return absl::OkStatus();  // removed meanwhile
  if (!text.ok()) return text.status();
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipWhitespace())) {
    int pid = 0;
    if (absl::SimpleAtoi(line, &pid) && pid > 0) pids->insert(pid);
  }
  DIEGO_ASSIGN_OR_RETURN(std::vector<std::string> children, SubDirs(dir));
  for (const std::string& child : children) {
    DIEGO_RETURN_IF_ERROR(CollectProcs(dir + "/" + child, pids));
  }
  return absl::OkStatus();
}

// rmdir of `dir` and its descendants, deepest first; OK when absent.
absl::Status RemoveCgroupTree(const std::string& dir) {
  DIEGO_ASSIGN_OR_RETURN(std::vector<std::string> children, SubDirs(dir));
  for (const std::string& child : children) {
    DIEGO_RETURN_IF_ERROR(RemoveCgroupTree(dir + "/" + child));
  }
  if (rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(absl::StrCat("rmdir ", dir, ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

// Sleeps a little, growing from 200us to 20ms.
void Backoff(int* round) {
  int us = std::min(200 << std::min(*round, 7), 20000);
  ++*round;
  usleep(static_cast<useconds_t>(us));
}

// Valid cgroup directory component: the handle of a container.
absl::Status ValidateHandle(absl::string_view handle) {
  if (handle.empty() || handle == "." || handle == ".." || handle.size() > 200 ||
      handle.find_first_of("/\n") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid cgroup name for container handle '", std::string(handle), "'"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// libcgroup.

// libcgroup's global state (its mount table, cgroup_init) is not safe to use
// from several threads in every call: every call goes through this mutex.
absl::Mutex& LibcgroupMutex() {
  static absl::Mutex* mu = new absl::Mutex();
  return *mu;
}

struct CgroupFree {
  void operator()(struct cgroup* cg) const { cgroup_free(&cg); }
};
using CgroupPtr = std::unique_ptr<struct cgroup, CgroupFree>;

absl::Status LibcgroupError(int rc, absl::string_view call, absl::string_view name) {
  std::string msg = absl::StrCat("libcgroup ", std::string(call), "(", std::string(name),
                                 "): ", cgroup_strerror(rc));
  int err = cgroup_get_last_errno();
  if (rc == ECGOTHER && err != 0) absl::StrAppend(&msg, ": ", ErrnoText(err));
  if (rc == ECGROUPNOTEXIST) return absl::NotFoundError(msg);
  return absl::InternalError(msg);
}

// Builds a libcgroup group `name` with `controllers` and, for each value whose
// controller is among them, the value.
absl::StatusOr<CgroupPtr> NewCgroup(const std::string& name,
                                    const std::vector<std::string>& controllers,
                                    const std::vector<CgroupValue>& values) {
  CgroupPtr cg(cgroup_new_cgroup(name.c_str()));
  if (cg == nullptr) {
    return absl::InternalError(absl::StrCat("libcgroup cgroup_new_cgroup(", name, ") failed"));
  }
  for (const std::string& controller : controllers) {
    struct cgroup_controller* ctl = cgroup_add_controller(cg.get(), controller.c_str());
    if (ctl == nullptr) {
      return absl::InternalError(absl::StrCat("libcgroup cgroup_add_controller(", name, ", ",
                                              controller, ") failed"));
    }
    for (const CgroupValue& v : values) {
      if (v.controller != controller) continue;
      int rc = cgroup_add_value_string(ctl, v.file.c_str(), v.value.c_str());
      if (rc != 0) {
        return LibcgroupError(rc, "cgroup_add_value_string", absl::StrCat(name, ":", v.file));
      }
    }
  }
  return cg;
}

// Mount point of `controller` per libcgroup; "" when not mounted.
std::string MountPointLocked(const char* controller)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(LibcgroupMutex()) {
  char* mount = nullptr;
  int rc = cgroup_get_subsys_mount_point(controller, &mount);
  std::string out;
  if (rc == 0 && mount != nullptr) out = mount;
  free(mount);
  return out;
}

bool IsFsType(const std::string& path, long magic) {  // NOLINT(runtime/int)
  struct statfs sfs;
  return statfs(path.c_str(), &sfs) == 0 && static_cast<long>(sfs.f_type) == magic;  // NOLINT
}

// v1 device allow-list for containers (deny everything else).
constexpr const char* kAllowedDevices[] = {
    "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm",   "c 1:7 rwm",    "c 1:8 rwm",
    "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm",   "c 136:* rwm",  "c 10:200 rwm",
    "c 10:229 rwm"};

constexpr absl::Duration kKillBound = absl::Seconds(10);
constexpr absl::Duration kRemoveBound = absl::Seconds(5);

// ---------------------------------------------------------------------------
// The manager.

// One mounted hierarchy a container gets a directory in.
struct Hierarchy {
  std::string controller;          // the libcgroup controller used for it
  std::string mount;               // its mount point
  std::vector<std::string> roles;  // controllers co-mounted there (v1)
};

class LibcgroupManager final : public CgroupManager {
 public:
  LibcgroupManager(CgroupVersion version, std::string parent, std::vector<Hierarchy> hierarchies,
                   bool swap_file, CgroupOptions options)
      : version_(version),
        parent_(std::move(parent)),
        hierarchies_(std::move(hierarchies)),
        swap_file_(swap_file),
        options_(std::move(options)) {}

  bool IsV2() const override { return version_ == CgroupVersion::kV2; }

  absl::Status CreateContainer(absl::string_view handle_view,
                               const CgroupLimits& limits) override {
    DIEGO_RETURN_IF_ERROR(ValidateHandle(handle_view));
    std::string handle(handle_view);
    std::vector<CgroupValue> values =
        cgroups_internal::LimitValues(version_, limits, swap_file_);
    values.insert(values.end(), options_.extra_values.begin(), options_.extra_values.end());
    std::vector<std::string> controllers = Controllers();
    for (CgroupValue& v : values) {
      if (!IsV2()) {
        // A value goes to the controller that owns its (maybe shared) hierarchy.
        if (const Hierarchy* h = RoleOwner(v.controller)) {
          v.controller = h->controller;
          continue;
        }
      } else if (std::find(controllers.begin(), controllers.end(), v.controller) !=
                 controllers.end()) {
        continue;
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot set ", v.file, " for container ", handle, ": the ", v.controller,
          " controller is not available under ", Dir(hierarchies_[0], "")));
    }

    {
      absl::MutexLock lock(&mu_);
      if (creating_.count(handle) > 0 || AnyDirExists(handle)) {
        return absl::AlreadyExistsError(
            absl::StrCat("cgroup for container ", handle, " already exists"));
      }
      creating_.insert(handle);
    }
    absl::Status st = CreateDirs(handle, controllers, values);
    if (!st.ok()) {
      absl::Status cleanup = RemoveDirs(handle);
      if (!cleanup.ok()) {
        st = absl::Status(st.code(),
                          absl::StrCat(st.message(), " (cleanup: ", cleanup.message(), ")"));
      }
    }
    absl::MutexLock lock(&mu_);
    creating_.erase(handle);
    return st;
  }

  std::vector<std::string> ProcsFiles(absl::string_view handle) const override {
    std::vector<std::string> out;
    for (const Hierarchy& h : hierarchies_) {
      out.push_back(Dir(h, handle) + "/cgroup.procs");
    }
    return out;
  }

  absl::Status AddProcess(absl::string_view handle_view, pid_t pid) override {
    DIEGO_RETURN_IF_ERROR(ValidateHandle(handle_view));
    std::string handle(handle_view);
    DIEGO_RETURN_IF_ERROR(RequireExists(handle));
    std::vector<std::string> controllers = Controllers();
    if (controllers.empty()) {  // v2 without controllers: libcgroup cannot see it
      return WriteFile(Dir(hierarchies_[0], handle) + "/cgroup.procs", absl::StrCat(pid));
    }
    DIEGO_ASSIGN_OR_RETURN(CgroupPtr cg, NewCgroup(Name(handle), controllers, {}));
    absl::MutexLock lock(&LibcgroupMutex());
    int rc = cgroup_attach_task_pid(cg.get(), pid);
    if (rc != 0) {
      return LibcgroupError(rc, "cgroup_attach_task_pid",
                            absl::StrCat(Name(handle), ", pid ", pid));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<CgroupLimits> CurrentLimits(absl::string_view handle_view) override {
    DIEGO_RETURN_IF_ERROR(ValidateHandle(handle_view));
    std::string handle(handle_view);
    DIEGO_RETURN_IF_ERROR(RequireExists(handle));
    if (IsV2()) return cgroups_internal::ReadV2Limits(Dir(hierarchies_[0], handle));
    return cgroups_internal::ReadV1Limits(V1DirsOf(handle));
  }

  absl::StatusOr<CgroupStats> Stats(absl::string_view handle_view) override {
    DIEGO_RETURN_IF_ERROR(ValidateHandle(handle_view));
    std::string handle(handle_view);
    DIEGO_RETURN_IF_ERROR(RequireExists(handle));
    if (IsV2()) return cgroups_internal::ReadV2Stats(Dir(hierarchies_[0], handle));
    return cgroups_internal::ReadV1Stats(V1DirsOf(handle));
  }

  absl::StatusOr<uint64_t> OomKillCount(absl::string_view handle_view) override {
    DIEGO_RETURN_IF_ERROR(ValidateHandle(handle_view));
    std::string handle(handle_view);
    DIEGO_RETURN_IF_ERROR(RequireExists(handle));
    if (IsV2()) return cgroups_internal::ReadV2OomKills(Dir(hierarchies_[0], handle));
    return cgroups_internal::ReadV1OomKills(V1DirsOf(handle).memory);
  }

  absl::StatusOr<std::vector<pid_t>> Pids(absl::string_view handle_view) override {
    DIEGO_RETURN_IF_ERROR(ValidateHandle(handle_view));
    std::string handle(handle_view);
    DIEGO_RETURN_IF_ERROR(RequireExists(handle));
    std::set<pid_t> pids;
    DIEGO_RETURN_IF_ERROR(CollectAllProcs(handle, &pids));
    return std::vector<pid_t>(pids.begin(), pids.end());
  }

  absl::Status Destroy(absl::string_view handle_view) override {
    DIEGO_RETURN_IF_ERROR(ValidateHandle(handle_view));
    std::string handle(handle_view);
    if (!AnyDirExists(handle)) return absl::OkStatus();
    DIEGO_RETURN_IF_ERROR(IsV2() ? KillV2(handle) : KillV1(handle));
    return RemoveDirs(handle);
  }

  absl::StatusOr<std::vector<std::string>> List() override {
    std::set<std::string> handles;
    for (const Hierarchy& h : hierarchies_) {
      DIEGO_ASSIGN_OR_RETURN(std::vector<std::string> names, SubDirs(ParentDir(h)));
      handles.insert(names.begin(), names.end());
    }
    return std::vector<std::string>(handles.begin(), handles.end());
  }

  absl::Status DestroyParent() override {
    DIEGO_ASSIGN_OR_RETURN(std::vector<std::string> handles, List());
    for (const std::string& handle : handles) DIEGO_RETURN_IF_ERROR(Destroy(handle));
    // Processes placed directly in the parent (none normally) are killed too.
    std::set<pid_t> pids;
    for (const Hierarchy& h : hierarchies_) DIEGO_RETURN_IF_ERROR(CollectProcs(ParentDir(h), &pids));
    for (pid_t pid : pids) kill(pid, SIGKILL);
    absl::Time deadline = absl::Now() + kRemoveBound;
    for (int round = 0;; Backoff(&round)) {
      absl::Status st;
      for (const Hierarchy& h : hierarchies_) {
        absl::Status one = RemoveCgroupTree(ParentDir(h));
        if (!one.ok()) st = one;
      }
      if (st.ok() || absl::Now() > deadline) return st;
    }
  }

 private:
  // "<parent>/<handle>": the libcgroup group name.
  std::string Name(absl::string_view handle) const {
    return handle.empty() ? parent_ : absl::StrCat(parent_, "/", std::string(handle));
  }
  std::string ParentDir(const Hierarchy& h) const { return absl::StrCat(h.mount, "/", parent_); }
  std::string Dir(const Hierarchy& h, absl::string_view handle) const {
    return absl::StrCat(h.mount, "/", Name(handle));
  }

  // The libcgroup controllers of a container (one per hierarchy; none on a
  // v2 mount that offers none).
  std::vector<std::string> Controllers() const {
    if (IsV2()) return hierarchies_[0].roles;
    std::vector<std::string> out;
    for (const Hierarchy& h : hierarchies_) out.push_back(h.controller);
    return out;
  }

  // v1: the hierarchy where `role` is mounted; nullptr when none (or v2).
  const Hierarchy* RoleOwner(absl::string_view role) const {
    if (IsV2()) return nullptr;
    for (const Hierarchy& h : hierarchies_) {
      if (std::find(h.roles.begin(), h.roles.end(), role) != h.roles.end()) return &h;
    }
    return nullptr;
  }

  std::string RoleDir(absl::string_view role, absl::string_view handle) const {
    const Hierarchy* h = RoleOwner(role);
    return h == nullptr ? std::string() : Dir(*h, handle);
  }

  cgroups_internal::V1Dirs V1DirsOf(absl::string_view handle) const {
    return {RoleDir("memory", handle), RoleDir("cpu", handle), RoleDir("cpuacct", handle),
            RoleDir("pids", handle)};
  }

  bool AnyDirExists(absl::string_view handle) const {
    for (const Hierarchy& h : hierarchies_) {
      if (PathExists(Dir(h, handle))) return true;
    }
    return false;
  }

  absl::Status RequireExists(const std::string& handle) const {
    if (!AnyDirExists(handle)) {
      return absl::NotFoundError(absl::StrCat("no cgroup for container ", handle, " under ",
                                              Dir(hierarchies_[0], "")));
    }
    return absl::OkStatus();
  }

  absl::Status CollectAllProcs(const std::string& handle, std::set<pid_t>* pids) const {
    for (const Hierarchy& h : hierarchies_) DIEGO_RETURN_IF_ERROR(CollectProcs(Dir(h, handle), pids));
    return absl::OkStatus();
  }

  absl::Status CreateDirs(const std::string& handle, const std::vector<std::string>& controllers,
                          const std::vector<CgroupValue>& values) {
    if (controllers.empty()) {  // v2 without controllers
      std::string dir = Dir(hierarchies_[0], handle);
      if (mkdir(dir.c_str(), 0755) != 0) {
        return absl::InternalError(absl::StrCat("mkdir ", dir, ": ", ErrnoText(errno)));
      }
      return absl::OkStatus();
    }
    DIEGO_ASSIGN_OR_RETURN(CgroupPtr cg, NewCgroup(Name(handle), controllers, values));
    {
      absl::MutexLock lock(&LibcgroupMutex());
      int rc = cgroup_create_cgroup(cg.get(), /*ignore_ownership=*/1);
      if (rc != 0) return LibcgroupError(rc, "cgroup_create_cgroup", Name(handle));
    }
    if (!IsV2()) {
      std::string devices = RoleDir("devices", handle);
      if (!devices.empty()) {
        DIEGO_RETURN_IF_ERROR(WriteFile(devices + "/devices.deny", "a"));
        for (const char* rule : kAllowedDevices) {
          DIEGO_RETURN_IF_ERROR(WriteFile(devices + "/devices.allow", rule));
        }
      }
    }
    return absl::OkStatus();
  }

  // Removes the container's directories (all hierarchies); OK when absent.
  // Retries while the kernel still reports them busy (processes exiting).
  absl::Status RemoveDirs(const std::string& handle) {
    absl::Time deadline = absl::Now() + kRemoveBound;
    for (int round = 0;; Backoff(&round)) {
      absl::Status st = RemoveDirsOnce(handle);
      if (st.ok() || absl::Now() > deadline) return st;
    }
  }

  absl::Status RemoveDirsOnce(const std::string& handle) {
    std::vector<std::string> present;
    for (const Hierarchy& h : hierarchies_) {
      if (PathExists(Dir(h, handle))) present.push_back(h.controller);
    }
    if (present.empty()) return absl::OkStatus();
    std::vector<std::string> controllers = Controllers();
    if (!controllers.empty()) {
      if (IsV2()) present = controllers;
      DIEGO_ASSIGN_OR_RETURN(CgroupPtr cg, NewCgroup(Name(handle), present, {}));
      absl::MutexLock lock(&LibcgroupMutex());
      // EMPTY_ONLY: the processes are gone (never migrate them to the parent).
      int rc = cgroup_delete_cgroup_ext(cg.get(), CGFLAG_DELETE_EMPTY_ONLY);
      // ECGNONEMPTY: a nested cgroup (removed below) or exiting processes
      // (the caller retries).
      if (rc != 0 && rc != ECGROUPNOTEXIST && rc != ECGNONEMPTY) {
        return LibcgroupError(rc, "cgroup_delete_cgroup_ext", Name(handle));
      }
    }
    // What libcgroup left (v2 without controllers; nested cgroups).
    for (const Hierarchy& h : hierarchies_) DIEGO_RETURN_IF_ERROR(RemoveCgroupTree(Dir(h, handle)));
    return absl::OkStatus();
  }

  // v2: cgroup.kill (Linux >= 5.14) kills the whole subtree; else freeze via
  // cgroup.freeze and SIGKILL everything. Then waits for "populated 0".
  absl::Status KillV2(const std::string& handle) {
    std::string dir = Dir(hierarchies_[0], handle);
    bool has_kill = PathExists(dir + "/cgroup.kill");
    absl::Time deadline = absl::Now() + kKillBound;
    for (int round = 0;; Backoff(&round)) {
      absl::StatusOr<std::map<std::string, uint64_t>> events = ReadKeyed(dir + "/cgroup.events");
      if (absl::IsNotFound(events.status())) return absl::OkStatus();
      if (!events.ok()) return events.status();
      if ((*events)["populated"] == 0) return absl::OkStatus();
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "container ", handle, ": processes still in ", dir, " ", absl::FormatDuration(kKillBound),
            " after SIGKILL"));
      }
      if (round % 10 != 0) continue;  // re-issue now and then
      if (has_kill) {
        absl::Status st = WriteFile(dir + "/cgroup.kill", "1");
        if (absl::IsNotFound(st)) return absl::OkStatus();
        DIEGO_RETURN_IF_ERROR(st);
      } else {
        DIEGO_RETURN_IF_ERROR(FreezeKillThaw(handle, dir + "/cgroup.freeze", "1", "0", ""));
      }
    }
  }

  // v1: freeze, SIGKILL every process, thaw; until cgroup.procs is empty
  // everywhere (bounded).
  absl::Status KillV1(const std::string& handle) {
    std::string freezer = RoleDir("freezer", handle);
    absl::Time deadline = absl::Now() + kKillBound;
    for (int round = 0;; Backoff(&round)) {
      std::set<pid_t> pids;
      DIEGO_RETURN_IF_ERROR(CollectAllProcs(handle, &pids));
      if (pids.empty()) return absl::OkStatus();
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "container ", handle, ": ", pids.size(), " processes survive SIGKILL (",
            absl::StrJoin(pids, " "), ")"));
      }
      if (round % 10 != 0) continue;  // give the killed time to exit
      if (freezer.empty() || !PathExists(freezer)) {
        for (pid_t pid : pids) kill(pid, SIGKILL);
      } else {
        DIEGO_RETURN_IF_ERROR(
            FreezeKillThaw(handle, freezer + "/freezer.state", "FROZEN", "THAWED", "FROZEN"));
      }
    }
  }

  // Writes `freeze` to `state_file`, waits (briefly, bounded) for
  // `frozen_text` to read back when given, SIGKILLs every process of the
  // container, then writes `thaw` — always, even after an error.
  absl::Status FreezeKillThaw(const std::string& handle, const std::string& state_file,
                              absl::string_view freeze, absl::string_view thaw,
                              absl::string_view frozen_text) {
    absl::Status st = WriteFile(state_file, freeze);
    if (absl::IsNotFound(st)) return absl::OkStatus();  // gone meanwhile
    if (st.ok() && !frozen_text.empty()) {
      absl::Time until = absl::Now() + absl::Milliseconds(500);
      for (int round = 0; absl::Now() < until; Backoff(&round)) {
        absl::StatusOr<std::string> state = ReadFile(state_file);
        if (!state.ok() || absl::StripAsciiWhitespace(*state) == frozen_text) break;
      }
    }
    std::set<pid_t> pids;
    absl::Status collected = CollectAllProcs(handle, &pids);
    for (pid_t pid : pids) kill(pid, SIGKILL);
    absl::Status thawed = WriteFile(state_file, thaw);
    if (absl::IsNotFound(thawed)) thawed = absl::OkStatus();
    if (!st.ok()) return st;
    if (!collected.ok()) return collected;
    return thawed;
  }

  const CgroupVersion version_;
  const std::string parent_;
  // v1: one per distinct mount point. v2: exactly one, the unified mount,
  // whose `roles` are the controllers containers get ("" controller).
  const std::vector<Hierarchy> hierarchies_;
  const bool swap_file_;
  const CgroupOptions options_;

  absl::Mutex mu_;
  std::set<std::string> creating_ ABSL_GUARDED_BY(mu_);
};

absl::Status ValidateParent(absl::string_view parent) {
  if (parent.empty() || parent.front() == '/' || parent.back() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid cgroup parent '", std::string(parent), "'"));
  }
  for (absl::string_view part : absl::StrSplit(parent, '/')) {
    if (part.empty() || part == "." || part == ".." ||
        part.find('\n') != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid cgroup parent '", std::string(parent), "'"));
    }
  }
  return absl::OkStatus();
}

// The first cgroup2 mount point in /proc/self/mounts ("" when none).
std::string Cgroup2FromProcMounts() {
  absl::StatusOr<std::string> mounts = ReadFile("/proc/self/mounts");
  if (!mounts.ok()) return "";
  for (absl::string_view line : absl::StrSplit(*mounts, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() >= 3 && fields[2] == "cgroup2") return std::string(fields[1]);
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<CgroupManager>> CgroupManager::Create(absl::string_view parent) {
  return Create(parent, CgroupOptions());
}

absl::StatusOr<std::unique_ptr<CgroupManager>> CgroupManager::Create(
    absl::string_view parent_view, const CgroupOptions& options) {
  DIEGO_RETURN_IF_ERROR(ValidateParent(parent_view));
  std::string parent(parent_view);
  absl::MutexLock lock(&LibcgroupMutex());
  int rc = cgroup_init();
  if (rc != 0) return LibcgroupError(rc, "cgroup_init", "");

  std::string memory_mount = MountPointLocked("memory");
  if (!memory_mount.empty() && IsFsType(memory_mount, CGROUP_SUPER_MAGIC)) {
    // v1: a hierarchy per (group of co-mounted) controllers.
    std::vector<Hierarchy> hierarchies;
    for (const char* role : {"memory", "cpu", "cpuacct", "pids", "freezer", "devices"}) {
      std::string mount = MountPointLocked(role);
      if (mount.empty() || !IsFsType(mount, CGROUP_SUPER_MAGIC)) {
        if (std::string(role) == "devices") continue;
        return absl::FailedPreconditionError(absl::StrCat(
            "cgroup v1: the ", role, " controller is not mounted on a v1 hierarchy (memory is, at ",
            memory_mount, ")"));
      }
      auto same = std::find_if(hierarchies.begin(), hierarchies.end(),
                               [&](const Hierarchy& h) { return h.mount == mount; });
      if (same != hierarchies.end()) {
        same->roles.push_back(role);
      } else {
        hierarchies.push_back({role, mount, {role}});
      }
    }
    std::vector<std::string> controllers;
    for (const Hierarchy& h : hierarchies) controllers.push_back(h.controller);
    DIEGO_ASSIGN_OR_RETURN(CgroupPtr cg, NewCgroup(parent, controllers, {}));
    rc = cgroup_create_cgroup(cg.get(), /*ignore_ownership=*/1);
    if (rc != 0) return LibcgroupError(rc, "cgroup_create_cgroup", parent);
    bool memsw = PathExists(memory_mount + "/memory.memsw.limit_in_bytes");
    return std::unique_ptr<CgroupManager>(new LibcgroupManager(
        CgroupVersion::kV1, parent, std::move(hierarchies), memsw, options));
  }

  // v2: the unified mount, found through any controller libcgroup reports on
  // a cgroup2 filesystem (or, with none, /proc/self/mounts).
  std::string unified;
  {
    void* handle = nullptr;
    struct cgroup_mount_point mp;
    int it = cgroup_get_controller_begin(&handle, &mp);
    while (it == 0) {
      if (unified.empty() && IsFsType(mp.path, CGROUP2_SUPER_MAGIC)) unified = mp.path;
      it = cgroup_get_controller_next(&handle, &mp);
    }
    cgroup_get_controller_end(&handle);
  }
  if (unified.empty()) unified = Cgroup2FromProcMounts();
  if (unified.empty() || !IsFsType(unified, CGROUP2_SUPER_MAGIC)) {
    return absl::FailedPreconditionError(
        "no cgroup hierarchy found: neither a v1 memory hierarchy nor a cgroup2 mount");
  }
  DIEGO_ASSIGN_OR_RETURN(std::string offered, ReadFile(unified + "/cgroup.controllers"));
  std::vector<std::string> offered_list =
      absl::StrSplit(absl::StripAsciiWhitespace(offered), ' ', absl::SkipEmpty());
  std::vector<std::string> wanted = {"memory", "cpu", "pids"};
  wanted.insert(wanted.end(), options.extra_v2_controllers.begin(),
                options.extra_v2_controllers.end());
  std::vector<std::string> controllers;
  for (const std::string& c : wanted) {
    bool offered_c =
        std::find(offered_list.begin(), offered_list.end(), c) != offered_list.end();
    bool known = !MountPointLocked(c.c_str()).empty();
    if (offered_c && known &&
        std::find(controllers.begin(), controllers.end(), c) == controllers.end()) {
      controllers.push_back(c);
    }
  }
  std::string parent_dir = absl::StrCat(unified, "/", parent);
  if (controllers.empty()) {
    // libcgroup 2.0 cannot address a cgroup with no controllers.
    std::string path = unified;
    for (absl::string_view part : absl::StrSplit(parent, '/')) {
      absl::StrAppend(&path, "/", part);
      if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::InternalError(absl::StrCat("mkdir ", path, ": ", ErrnoText(errno)));
      }
    }
  } else {
    // Writes +<controller> into the root's cgroup.subtree_control and mkdirs.
    DIEGO_ASSIGN_OR_RETURN(CgroupPtr cg, NewCgroup(parent, controllers, {}));
    rc = cgroup_create_cgroup(cg.get(), /*ignore_ownership=*/1);
    if (rc != 0) return LibcgroupError(rc, "cgroup_create_cgroup", parent);
    // The parent delegates them to the containers below it.
    for (const std::string& c : controllers) {
      DIEGO_RETURN_IF_ERROR(WriteFile(parent_dir + "/cgroup.subtree_control", "+" + c));
    }
  }
  bool swap = PathExists(parent_dir + "/memory.swap.max");
  std::vector<Hierarchy> hierarchies = {{"", unified, controllers}};
  return std::unique_ptr<CgroupManager>(new LibcgroupManager(
      CgroupVersion::kV2, parent, std::move(hierarchies), swap, options));
}

// ---------------------------------------------------------------------------
// File logic.

namespace cgroups_internal {

uint64_t CpuSharesToWeight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t CpuWeightToShares(uint64_t weight) {
  weight = std::clamp<uint64_t>(weight, 1, 10000);
  // Smallest s with 1 + ((s - 2) * 9999) / 262142 >= weight.
  uint64_t s = 2 + ((weight - 1) * 262142 + 9998) / 9999;
  return std::clamp<uint64_t>(s, 2, 262144);
}

std::vector<CgroupValue> LimitValues(CgroupVersion version, const CgroupLimits& limits,
                                     bool swap_file) {
  std::vector<CgroupValue> out;
  bool v2 = version == CgroupVersion::kV2;
  if (limits.memory_bytes > 0) {
    std::string bytes = absl::StrCat(limits.memory_bytes);
    if (v2) {
      out.push_back({"memory", "memory.max", bytes});
      if (swap_file) out.push_back({"memory", "memory.swap.max", "0"});
    } else {
      out.push_back({"memory", "memory.limit_in_bytes", bytes});
      if (swap_file) out.push_back({"memory", "memory.memsw.limit_in_bytes", bytes});
    }
  }
  if (limits.cpu_shares > 0) {
    if (v2) {
      out.push_back({"cpu", "cpu.weight", absl::StrCat(CpuSharesToWeight(limits.cpu_shares))});
    } else {
      out.push_back({"cpu", "cpu.shares", absl::StrCat(limits.cpu_shares)});
    }
  }
  if (limits.pids_max > 0) out.push_back({"pids", "pids.max", absl::StrCat(limits.pids_max)});
  return out;
}

absl::StatusOr<std::map<std::string, uint64_t>> ParseKeyedValues(absl::string_view text,
                                                                 absl::string_view what) {
  std::map<std::string, uint64_t> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t v = 0;
    if (fields.size() != 2 || !absl::SimpleAtoi(fields[1], &v)) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": unexpected line '",
                                                     std::string(line), "'"));
    }
    out[std::string(fields[0])] = v;
  }
  return out;
}

absl::StatusOr<uint64_t> ParseLimit(absl::string_view text, absl::string_view what) {
  absl::string_view t = absl::StripAsciiWhitespace(text);
  if (t == "max") return 0;
  uint64_t v = 0;
  if (!absl::SimpleAtoi(t, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": not a limit: '", std::string(t), "'"));
  }
  if (v >= (uint64_t{1} << 62)) return 0;
  return v;
}

namespace {
uint64_t Get(const std::map<std::string, uint64_t>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}
}  // namespace

ContainerMemoryStat MemoryStatFromV1(const std::map<std::string, uint64_t>& s) {
  ContainerMemoryStat m;
  m.active_anon = Get(s, "active_anon");
  m.active_file = Get(s, "active_file");
  m.cache = Get(s, "cache");
  m.hierarchical_memory_limit = Get(s, "hierarchical_memory_limit");
  m.inactive_anon = Get(s, "inactive_anon");
  m.inactive_file = Get(s, "inactive_file");
  m.mapped_file = Get(s, "mapped_file");
  m.pgfault = Get(s, "pgfault");
  m.pgmajfault = Get(s, "pgmajfault");
  m.pgpgin = Get(s, "pgpgin");
  m.pgpgout = Get(s, "pgpgout");
  m.rss = Get(s, "rss");
  m.rss_huge = Get(s, "rss_huge");
  m.total_active_anon = Get(s, "total_active_anon");
  m.total_active_file = Get(s, "total_active_file");
  m.total_cache = Get(s, "total_cache");
  m.total_inactive_anon = Get(s, "total_inactive_anon");
  m.total_inactive_file = Get(s, "total_inactive_file");
  m.total_mapped_file = Get(s, "total_mapped_file");
  m.total_pgfault = Get(s, "total_pgfault");
  m.total_pgmajfault = Get(s, "total_pgmajfault");
  m.total_pgpgin = Get(s, "total_pgpgin");
  m.total_pgpgout = Get(s, "total_pgpgout");
  m.total_rss = Get(s, "total_rss");
  m.total_rss_huge = Get(s, "total_rss_huge");
  m.total_unevictable = Get(s, "total_unevictable");
  m.unevictable = Get(s, "unevictable");
  m.swap = Get(s, "swap");
  m.hierarchical_memsw_limit = Get(s, "hierarchical_memsw_limit");
  m.total_swap = Get(s, "total_swap");
  uint64_t cache_toward = m.total_cache > m.total_inactive_file
                              ? m.total_cache - m.total_inactive_file
                              : 0;
  m.total_usage_toward_limit = m.total_rss + cache_toward;
  return m;
}

ContainerMemoryStat MemoryStatFromV2(const std::map<std::string, uint64_t>& s,
                                     uint64_t swap_current, uint64_t memory_max) {
  ContainerMemoryStat m;
  m.active_anon = m.total_active_anon = Get(s, "active_anon");
  m.active_file = m.total_active_file = Get(s, "active_file");
  m.inactive_anon = m.total_inactive_anon = Get(s, "inactive_anon");
  m.inactive_file = m.total_inactive_file = Get(s, "inactive_file");
  m.unevictable = m.total_unevictable = Get(s, "unevictable");
  m.cache = m.total_cache = Get(s, "file");
  m.rss = m.total_rss = Get(s, "anon");
  m.rss_huge = m.total_rss_huge = Get(s, "anon_thp");
  m.mapped_file = m.total_mapped_file = Get(s, "file_mapped");
  m.pgfault = m.total_pgfault = Get(s, "pgfault");
  m.pgmajfault = m.total_pgmajfault = Get(s, "pgmajfault");
  m.swap = m.total_swap = swap_current;
  m.hierarchical_memory_limit = memory_max;
  uint64_t usage = Get(s, "file") + Get(s, "anon") + Get(s, "swapcached");
  m.total_usage_toward_limit = usage > m.inactive_file ? usage - m.inactive_file : 0;
  return m;
}

absl::StatusOr<CgroupLimits> ReadV1Limits(const V1Dirs& dirs) {
  CgroupLimits l;
  DIEGO_ASSIGN_OR_RETURN(l.memory_bytes, ReadLimitFile(dirs.memory + "/memory.limit_in_bytes"));
  DIEGO_ASSIGN_OR_RETURN(l.cpu_shares, ReadUint(dirs.cpu + "/cpu.shares"));
  DIEGO_ASSIGN_OR_RETURN(l.pids_max, ReadLimitFile(dirs.pids + "/pids.max"));
  return l;
}

absl::StatusOr<CgroupStats> ReadV1Stats(const V1Dirs& dirs) {
  CgroupStats s;
  DIEGO_ASSIGN_OR_RETURN(auto mem, ReadKeyed(dirs.memory + "/memory.stat"));
  s.memory = MemoryStatFromV1(mem);
  DIEGO_ASSIGN_OR_RETURN(s.cpu.usage, ReadUint(dirs.cpuacct + "/cpuacct.usage"));
  if (PathExists(dirs.cpuacct + "/cpuacct.usage_user")) {
    DIEGO_ASSIGN_OR_RETURN(s.cpu.user, ReadUint(dirs.cpuacct + "/cpuacct.usage_user"));
    DIEGO_ASSIGN_OR_RETURN(s.cpu.system, ReadUint(dirs.cpuacct + "/cpuacct.usage_sys"));
  } else {
    DIEGO_ASSIGN_OR_RETURN(auto ticks, ReadKeyed(dirs.cpuacct + "/cpuacct.stat"));
    long hz = sysconf(_SC_CLK_TCK);  // NOLINT(runtime/int)
    uint64_t ns_per_tick = hz > 0 ? 1000000000ULL / static_cast<uint64_t>(hz) : 10000000ULL;
    s.cpu.user = Get(ticks, "user") * ns_per_tick;
    s.cpu.system = Get(ticks, "system") * ns_per_tick;
  }
  DIEGO_ASSIGN_OR_RETURN(s.pids.current, ReadUint(dirs.pids + "/pids.current"));
  DIEGO_ASSIGN_OR_RETURN(s.pids.max, ReadLimitFile(dirs.pids + "/pids.max"));
  return s;
}

absl::StatusOr<uint64_t> ReadV1OomKills(const std::string& memory_dir) {
  std::string path = memory_dir + "/memory.oom_control";
  DIEGO_ASSIGN_OR_RETURN(auto oom, ReadKeyed(path));
  auto it = oom.find("oom_kill");
  if (it == oom.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has no oom_kill counter (kernel older than 4.13)"));
  }
  return it->second;
}

absl::StatusOr<CgroupLimits> ReadV2Limits(const std::string& dir) {
  CgroupLimits l;
  DIEGO_ASSIGN_OR_RETURN(l.memory_bytes, ReadLimitFileOrZero(dir + "/memory.max"));
  DIEGO_ASSIGN_OR_RETURN(uint64_t weight, ReadUintOrZero(dir + "/cpu.weight"));
  l.cpu_shares = weight == 0 ? 0 : CpuWeightToShares(weight);
  DIEGO_ASSIGN_OR_RETURN(l.pids_max, ReadLimitFileOrZero(dir + "/pids.max"));
  return l;
}

absl::StatusOr<CgroupStats> ReadV2Stats(const std::string& dir) {
  CgroupStats s;
  absl::StatusOr<std::map<std::string, uint64_t>> mem = ReadKeyed(dir + "/memory.stat");
  if (mem.ok()) {
    DIEGO_ASSIGN_OR_RETURN(uint64_t swap, ReadUintOrZero(dir + "/memory.swap.current"));
    DIEGO_ASSIGN_OR_RETURN(uint64_t max, ReadLimitFileOrZero(dir + "/memory.max"));
    s.memory = MemoryStatFromV2(*mem, swap, max);
  } else if (!absl::IsNotFound(mem.status())) {
    return mem.status();
  }
  absl::StatusOr<std::map<std::string, uint64_t>> cpu = ReadKeyed(dir + "/cpu.stat");
  if (cpu.ok()) {
    s.cpu.usage = Get(*cpu, "usage_usec") * 1000;
    s.cpu.user = Get(*cpu, "user_usec") * 1000;
    s.cpu.system = Get(*cpu, "system_usec") * 1000;
  } else if (!absl::IsNotFound(cpu.status())) {
    return cpu.status();
  }
  DIEGO_ASSIGN_OR_RETURN(s.pids.current, ReadUintOrZero(dir + "/pids.current"));
  DIEGO_ASSIGN_OR_RETURN(s.pids.max, ReadLimitFileOrZero(dir + "/pids.max"));
  return s;
}

absl::StatusOr<uint64_t> ReadV2OomKills(const std::string& dir) {
  std::string path = dir + "/memory.events";
  absl::StatusOr<std::map<std::string, uint64_t>> events = ReadKeyed(path);
  if (absl::IsNotFound(events.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("the memory controller is not enabled in ", dir, " (no memory.events)"));
  }
  if (!events.ok()) return events.status();
  auto it = events->find("oom_kill");
  if (it == events->end()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has no oom_kill counter (kernel older than 4.13)"));
  }
  return it->second;
}

}  // namespace cgroups_internal
}  // namespace diego::garden
