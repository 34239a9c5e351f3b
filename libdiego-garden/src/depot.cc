// Copyright 2026 The libdiego Authors.

#include "depot.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "diego/base/status_macros.h"
#include "json_codec.h"
#include "nlohmann/json.hpp"

namespace diego::garden {
namespace {

using Json = nlohmann::json;

constexpr int kStateVersion = 1;
constexpr char kStateFile[] = "state.json";

absl::Status ErrnoStatus(int err, absl::string_view what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EBUSY:
    case ENOTEMPTY:
      return absl::FailedPreconditionError(message);
    case ENOSPC:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

Json PortsToJson(const std::vector<PortMapping>& ports) {
  Json out = Json::array();
  for (const PortMapping& p : ports) {
    out.push_back({{"host_port", p.host_port}, {"container_port", p.container_port}});
  }
  return out;
}

Json NetworkToJson(const ContainerNetwork& net) {
  Json rules = Json::array();
  for (const NetOutRule& r : net.net_out) rules.push_back(json_codec::ToJson(r));
  return Json{{"handle", net.handle},
              {"container_ip", net.container_ip},
              {"host_ip", net.host_ip},
              {"prefix_length", net.prefix_length},
              {"host_veth", net.host_veth},
              {"mapped_ports", PortsToJson(net.mapped_ports)},
              {"net_out", std::move(rules)}};
}

// Typed field access with errors naming the field.
template <typename T>
absl::Status Get(const Json& obj, const char* field, T* out, bool required = true) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat(field, ": missing"));
    return absl::OkStatus();
  }
  try {
    *out = it->get<T>();
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status NetworkFromJson(const Json& j, ContainerNetwork* net) {
  if (!j.is_object()) return absl::InvalidArgumentError("network: expected an object");
  DIEGO_RETURN_IF_ERROR(Get(j, "handle", &net->handle));
  DIEGO_RETURN_IF_ERROR(Get(j, "container_ip", &net->container_ip));
  DIEGO_RETURN_IF_ERROR(Get(j, "host_ip", &net->host_ip));
  DIEGO_RETURN_IF_ERROR(Get(j, "prefix_length", &net->prefix_length));
  DIEGO_RETURN_IF_ERROR(Get(j, "host_veth", &net->host_veth, false));
  auto ports = j.find("mapped_ports");
  if (ports != j.end() && ports->is_array()) {
    for (const Json& p : *ports) {
      PortMapping m;
      DIEGO_RETURN_IF_ERROR(Get(p, "host_port", &m.host_port));
      DIEGO_RETURN_IF_ERROR(Get(p, "container_port", &m.container_port));
      net->mapped_ports.push_back(m);
    }
  }
  auto rules = j.find("net_out");
  if (rules != j.end() && rules->is_array()) {
    for (const Json& r : *rules) {
      NetOutRule rule;
      absl::Status s = json_codec::FromJson(r, &rule);
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("network.net_out: ", s.message()));
      net->net_out.push_back(std::move(rule));
    }
  }
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat("write ", path));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

int RemoveEntry(const char* path, const struct stat* /*sb*/, int type, struct FTW* /*ftw*/) {
  // FTW_DP: a directory whose contents were visited; everything else is a
  // file, symlink or socket. Entries on other filesystems are not reported
  // (FTW_MOUNT), so their parent's rmdir fails instead.
  int rc = (type == FTW_DP || type == FTW_D) ? ::rmdir(path) : ::unlink(path);
  if (rc != 0 && errno != ENOENT) return errno;
  return 0;
}

}  // namespace

std::string EncodeState(const ContainerState& state) {
  Json j{{"version", kStateVersion},
         {"handle", state.handle},
         {"spec", json_codec::ToJson(state.spec)},
         {"created_at_ns", absl::ToUnixNanos(state.created_at)},
         {"privileged", state.privileged},
         {"grace_time_ns", absl::ToInt64Nanoseconds(state.grace_time)},
         {"properties", state.properties},
         {"network", NetworkToJson(state.network)},
         {"image_lower", state.image_lower},
         {"init_pid", static_cast<int64_t>(state.init_pid)},
         {"init_start_time", state.init_start_time},
         {"events", state.events},
         {"stopped", state.stopped}};
  return j.dump();
}

absl::StatusOr<ContainerState> DecodeState(absl::string_view json_text) {
  Json j = Json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("state: not a JSON object");
  }
  int version = 0;
  DIEGO_RETURN_IF_ERROR(Get(j, "version", &version));
  if (version != kStateVersion) {
    return absl::InvalidArgumentError(absl::StrCat("version: unsupported state version ", version));
  }
  ContainerState state;
  DIEGO_RETURN_IF_ERROR(Get(j, "handle", &state.handle));
  auto spec = j.find("spec");
  if (spec == j.end()) return absl::InvalidArgumentError("spec: missing");
  if (absl::Status s = json_codec::FromJson(*spec, &state.spec); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("spec: ", s.message()));
  }
  int64_t created_ns = 0, grace_ns = 0, pid = 0;
  DIEGO_RETURN_IF_ERROR(Get(j, "created_at_ns", &created_ns));
  DIEGO_RETURN_IF_ERROR(Get(j, "grace_time_ns", &grace_ns));
  DIEGO_RETURN_IF_ERROR(Get(j, "init_pid", &pid));
  state.created_at = absl::FromUnixNanos(created_ns);
  state.grace_time = absl::Nanoseconds(grace_ns);
  state.init_pid = static_cast<pid_t>(pid);
  DIEGO_RETURN_IF_ERROR(Get(j, "privileged", &state.privileged));
  DIEGO_RETURN_IF_ERROR(Get(j, "properties", &state.properties, false));
  DIEGO_RETURN_IF_ERROR(Get(j, "image_lower", &state.image_lower, false));
  DIEGO_RETURN_IF_ERROR(Get(j, "init_start_time", &state.init_start_time));
  DIEGO_RETURN_IF_ERROR(Get(j, "events", &state.events, false));
  DIEGO_RETURN_IF_ERROR(Get(j, "stopped", &state.stopped, false));
  auto net = j.find("network");
  if (net == j.end()) return absl::InvalidArgumentError("network: missing");
  DIEGO_RETURN_IF_ERROR(NetworkFromJson(*net, &state.network));
  return state;
}

absl::StatusOr<ProcessStat> ReadProcessStat(pid_t pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/stat");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  int err = errno;
  ::close(fd);
  if (n <= 0) return ErrnoStatus(n < 0 ? err : ESRCH, absl::StrCat("read ", path));
  absl::string_view text(buf, static_cast<size_t>(n));
  // The command name (field 2) may contain spaces and parentheses; fields
  // after the last ')' start with field 3.
  size_t close_paren = text.rfind(')');
  if (close_paren == absl::string_view::npos) {
    return absl::InternalError(absl::StrCat(path, ": malformed"));
  }
  std::vector<absl::string_view> fields =
      absl::StrSplit(text.substr(close_paren + 1), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state), so field 22 is fields[19].
  ProcessStat stat;
  if (fields.size() < 20 || fields[0].empty() || !absl::SimpleAtoi(fields[19], &stat.start_time)) {
    return absl::InternalError(absl::StrCat(path, ": malformed"));
  }
  stat.state = fields[0][0];
  return stat;
}

absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid) {
  DIEGO_ASSIGN_OR_RETURN(ProcessStat stat, ReadProcessStat(pid));
  return stat.start_time;
}

bool ProcessIsRunning(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  absl::StatusOr<ProcessStat> stat = ReadProcessStat(pid);
  return stat.ok() && stat->start_time == start_time && stat->state != 'Z' && stat->state != 'X';
}

Depot::Depot(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string Depot::ContainerDir(absl::string_view handle) const {
  return absl::StrCat(root_, "/", handle);
}

absl::Status Depot::Init() const {
  if (root_.empty()) return absl::InvalidArgumentError("depot_dir: must not be empty");
  // mkdir -p, component by component.
  std::string path;
  for (absl::string_view part : absl::StrSplit(root_, '/', absl::SkipEmpty())) {
    absl::StrAppend(&path, "/", part);
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrCat("mkdir ", path));
    }
  }
  struct stat st;
  if (::stat(root_.c_str(), &st) != 0) return ErrnoStatus(errno, absl::StrCat("stat ", root_));
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("depot_dir ", root_, ": not a directory"));
  }
  // Unprivileged containers' inits must be able to search it.
  if ((st.st_mode & 0011) != 0011 && ::chmod(root_.c_str(), (st.st_mode & 07777) | 0011) != 0) {
    return ErrnoStatus(errno, absl::StrCat("chmod ", root_));
  }
  return absl::OkStatus();
}

absl::Status Depot::CreateContainerDir(absl::string_view handle) const {
  const std::string dir = ContainerDir(handle);
  if (::mkdir(dir.c_str(), 0711) != 0) return ErrnoStatus(errno, absl::StrCat("mkdir ", dir));
  // The umask may have removed the search bits.
  if (::chmod(dir.c_str(), 0711) != 0) {
    int err = errno;
    ::rmdir(dir.c_str());
    return ErrnoStatus(err, absl::StrCat("chmod ", dir));
  }
  return absl::OkStatus();
}

absl::Status Depot::SaveState(const ContainerState& state) const {
  const std::string dir = ContainerDir(state.handle);
  const std::string path = absl::StrCat(dir, "/", kStateFile);
  const std::string tmp = absl::StrCat(path, ".tmp");
  const std::string text = EncodeState(state);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", tmp));
  absl::Status s = WriteAll(fd, text, tmp);
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus(errno, absl::StrCat("close ", tmp));
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = ErrnoStatus(errno, absl::StrCat("rename ", tmp, " to ", path));
  }
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

absl::StatusOr<ContainerState> Depot::LoadState(absl::string_view handle) const {
  const std::string path = absl::StrCat(ContainerDir(handle), "/", kStateFile);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  std::string text;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  absl::StatusOr<ContainerState> state = DecodeState(text);
  if (!state.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", state.status().message()));
  }
  return state;
}

absl::StatusOr<std::vector<std::string>> Depot::Handles() const {
  DIR* d = ::opendir(root_.c_str());
  if (d == nullptr) return ErrnoStatus(errno, absl::StrCat("opendir ", root_));
  std::vector<std::string> handles;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = ::stat(ContainerDir(name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) handles.push_back(name);
  }
  ::closedir(d);
  std::sort(handles.begin(), handles.end());
  return handles;
}

absl::Status Depot::RemoveContainerDir(absl::string_view handle) const {
  const std::string dir = ContainerDir(handle);
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, absl::StrCat("stat ", dir));
  }
  int rc = ::nftw(dir.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (rc != 0) {
    int err = rc > 0 ? rc : errno;
    if (err == ENOENT) return absl::OkStatus();
    return ErrnoStatus(err, absl::StrCat("removing ", dir));
  }
  if (::lstat(dir.c_str(), &st) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("removing ", dir, ": still present (a mount under it?)"));
  }
  return absl::OkStatus();
}

}  // namespace diego::garden
