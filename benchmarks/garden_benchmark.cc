// Containers: LinuxBackend beside crun and runc (performance-goals.md G4).
//
// One lifecycle = create a container (pid, mount, uts, ipc and net
// namespaces; memory limit 64 MiB and pids limit 1024 in cgroups; a
// per-container overlay rootfs over a shared busybox image), run `/bin/true`
// in it, wait for its exit status (checked: 0), destroy it. The same busybox
// rootfs (fakes::BuildBusyboxRootfs) and command are used by every runtime, in
// the same run.
//
// Runtimes (the part after the '/' of every benchmark name):
//
//   linux_unprivileged  LinuxBackend, Garden's default container: also a user
//                       namespace (uid-shifted image), capabilities dropped,
//                       seccomp, masked /proc paths; a veth pair to a bridge
//                       (pool 10.251.0.0/22).
//   linux_privileged    LinuxBackend, privileged: no user namespace.
//   crun, runc          the OCI runtimes (Debian's crun and runc), one bundle
//                       per container: this process mounts the overlay
//                       (lowerdir = the image, upper/work per container) at
//                       the bundle's rootfs, writes its config.json (the five
//                       namespaces, an empty net namespace; the same memory
//                       and pids limits; cgroupsPath /dgbench<pid>/<id>; a
//                       writable root; no user namespace, no seccomp
//                       profile), runs `<runtime> run --bundle B <id>`
//                       (create + start + wait + delete), then unmounts and
//                       removes the bundle. All of that is inside the timed
//                       lifecycle.
//   crun_shared_ro, runc_shared_ro
//                       the same without the overlay: the image directory
//                       itself as a read-only root (shown for reference; the
//                       overlay rows are the ones compared).
//
// crun 1.8 refuses to run on a hybrid cgroup host whose cgroup2 mount
// (/sys/fs/cgroup/unified) has any controller ("cgroups in hybrid mode not
// supported"), as on this machine (hugetlb). So crun is exec'd from a child
// that first enters a private mount namespace and detaches
// /sys/fs/cgroup/unified there: crun then sees a plain cgroup v1 host. The
// host is left untouched. That extra cost is inside crun's numbers and is
// measured on its own by BM_SpawnOverhead/{plain,hidden_cgroup2}.
//
// Benchmarks:
//
//   BM_Lifecycle/<runtime>     --lifecycles serial lifecycles (after 3 untimed
//                              warm-ups); counters p50_ms, p90_ms, p99_ms,
//                              max_ms from the per-lifecycle samples (the
//                              "Time" column is the mean); cpu_ms: CPU time
//                              per lifecycle on both sides of the container
//                              boundary, from cgroup accounting (see
//                              CpuAccounting), which moves less than wall
//                              time on a busy host; and the p50 of each
//                              phase: LinuxBackend create_/run_/destroy_p50_ms
//                              (Create; Run + Wait; Destroy), OCI
//                              bundle_/runtime_/unbundle_p50_ms (mkdir +
//                              overlay mount + config.json; `<runtime> run`;
//                              umount + rm -r).
//   BM_Interleaved/all         --lifecycles rounds of one lifecycle per main
//                              runtime (linux_unprivileged, linux_privileged,
//                              crun, runc; the order rotates), so all four see
//                              the same host load; counters <runtime>_p50_ms
//                              and _p99_ms. The fairest ratios on a busy host.
//   BM_TwoInFlight/<runtime>   --inflight_lifecycles lifecycles by 2 threads
//                              back to back; counters lifecycles_per_s and the
//                              latency percentiles under that load.
//   BM_Burst250/<runtime>      --burst containers created concurrently by
//                              --burst_threads threads (LinuxBackend: Create;
//                              OCI: overlay + config + `<runtime> create`, the
//                              container's process waiting to start); counters
//                              create_s (wall time of all creates),
//                              destroy_s (then destroying all, same threads).
//   BM_SpawnOverhead/<how>     fork+exec of /bin/true, plain and through the
//                              cgroup2-hiding wrapper used for crun.
//
// After the run a summary prints each runtime's figures and the ratios
// LinuxBackend / crun and LinuxBackend / runc.
//
// Needs root (namespaces, cgroups, mounts): exits with an error otherwise.
//
//   sudo ./build/benchmarks/garden_benchmark
//   sudo ./build/benchmarks/garden_benchmark --benchmark_filter='BM_Lifecycle/(crun|runc)/'
//   sudo ./build/benchmarks/garden_benchmark --lifecycles=100 --benchmark_filter=/linux_
//
// (Names carry Google Benchmark's "/iterations:N/manual_time" suffix, so end
// a runtime's name with '/' to match it alone: "BM_Lifecycle/crun/".)
//
// Own flags (mixed freely with Google Benchmark's): --lifecycles=N (300),
// --inflight_lifecycles=N (200), --burst=N (250), --burst_threads=N (16),
// --work_root=DIR (/tmp): the run works in DIR/dgbench-<pid>, removed at exit.
// That holds the image, LinuxBackend's depot and the OCI bundles, so every
// overlay upper layer lives there: on a disk filesystem, unmounting and
// deleting them waits for the disk (sync, discard); --work_root=/dev/shm
// takes the disk out of the comparison.

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "cgroups.h"  // libdiego-garden/src: host-wide cleanup after the run
#include "diego/garden/client.h"
#include "diego/garden/linux_backend.h"
#include "diego/garden/spec.h"
#include "diego/testing/linux_test_env.h"
#include "network.h"  // libdiego-garden/src

namespace diego::garden {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMemoryLimitBytes = 64ull << 20;
constexpr uint64_t kPidsLimit = 1024;
constexpr int kWarmups = 3;

struct Settings {
  int lifecycles = 300;
  int inflight_lifecycles = 200;
  int burst = 250;
  int burst_threads = 16;
  std::string work_dir;
};
Settings& GetSettings() {
  static Settings settings;
  return settings;
}

std::string ErrnoText(int err) { return std::strerror(err); }

// LinuxBackend's name (<= 8 characters of [a-z0-9]): "dgb" + the pid's last
// 5 digits. Its cgroup parent is "diego-garden-" + this.
std::string BackendName() { return absl::StrCat("dgb", getpid() % 100000); }

// -- Samples and the summary ---------------------------------------------------

// Nearest-rank percentile of `sorted` (ascending), p in (0, 1].
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

struct Row {
  double p50_ms = -1, p90_ms = -1, p99_ms = -1, cpu_ms = -1;
  double inflight_p50_ms = -1, inflight_p99_ms = -1, inflight_per_s = -1;
  double burst_create_s = -1, burst_destroy_s = -1;
  double interleaved_p50_ms = -1, interleaved_p99_ms = -1;
};
absl::Mutex summary_mu;
std::map<std::string, Row>& Summary() {
  static auto* rows = new std::map<std::string, Row>();
  return *rows;
}

// The host's 1-minute load average as counter `load1`: this machine is
// shared, and the figures mean little without it.
void PublishLoad(benchmark::State& state) {
  double load[1] = {0};
  if (getloadavg(load, 1) == 1) state.counters["load1"] = load[0];
}

struct Latency {
  double p50, p90, p99, max;
};
Latency PublishLatency(benchmark::State& state, std::vector<double> samples_ms) {
  std::sort(samples_ms.begin(), samples_ms.end());
  Latency l{Percentile(samples_ms, 0.50), Percentile(samples_ms, 0.90),
            Percentile(samples_ms, 0.99), samples_ms.empty() ? 0 : samples_ms.back()};
  state.counters["p50_ms"] = l.p50;
  state.counters["p90_ms"] = l.p90;
  state.counters["p99_ms"] = l.p99;
  state.counters["max_ms"] = l.max;
  state.counters["samples"] = static_cast<double>(samples_ms.size());
  PublishLoad(state);
  return l;
}

// -- Child processes -------------------------------------------------------------

// Runs `argv` (argv[0] an absolute path) with stdin and stdout on /dev/null and
// stderr appended to `stderr_path`; returns its exit code (128+N when killed
// by signal N). With `hide_cgroup2` the child first enters a private mount
// namespace and detaches /sys/fs/cgroup/unified (see the file comment).
absl::StatusOr<int> Spawn(const std::vector<std::string>& argv, const std::string& stderr_path,
                          bool hide_cgroup2) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const char* err_path = stderr_path.c_str();

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", ErrnoText(errno)));
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int err = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (devnull < 0 || err < 0) _exit(126);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(err, 2);
    if (hide_cgroup2) {
      static const char kUnshare[] = "garden_benchmark: unshare(CLONE_NEWNS) failed\n";
      static const char kPrivate[] = "garden_benchmark: making / private failed\n";
      if (unshare(CLONE_NEWNS) != 0) {
        (void)!write(2, kUnshare, sizeof(kUnshare) - 1);
        _exit(126);
      }
      if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        (void)!write(2, kPrivate, sizeof(kPrivate) - 1);
        _exit(126);
      }
      umount2("/sys/fs/cgroup/unified", MNT_DETACH);  // absent = nothing to hide
    }
    execv(args[0], args.data());
    static const char kExec[] = "garden_benchmark: execv failed\n";
    (void)!write(2, kExec, sizeof(kExec) - 1);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError(absl::StrCat("waitpid: ", ErrnoText(errno)));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return absl::InternalError("child neither exited nor was killed");
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("write ", path, " failed"));
  return absl::OkStatus();
}

// The absolute path of `name` on PATH (plus the sbin directories).
absl::StatusOr<std::string> FindExecutable(const std::string& name, const std::string& package) {
  std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  path += ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin";
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::FailedPreconditionError(
      absl::StrCat(name, " not found on PATH: install Debian's ", package, " package"));
}

// -- The shared image ---------------------------------------------------------

// Work directory and the busybox image, built once per run.
struct World {
  std::string work_dir;
  std::string image;  // the busybox rootfs directory
  int64_t NextId() { return next_id.fetch_add(1); }
  std::atomic<int64_t> next_id{0};
};

absl::StatusOr<World*> GetWorld() {
  static absl::Mutex mu;
  static World* world = nullptr;
  static absl::Status error;
  absl::MutexLock lock(&mu);
  if (world != nullptr) return world;
  if (!error.ok()) return error;
  auto w = std::make_unique<World>();
  w->work_dir = GetSettings().work_dir;
  std::error_code ec;
  fs::create_directories(w->work_dir, ec);
  if (ec) {
    error = absl::InternalError(absl::StrCat("mkdir ", w->work_dir, ": ", ec.message()));
    return error;
  }
  w->image = w->work_dir + "/busybox-rootfs";
  error = fakes::BuildBusyboxRootfs(w->image);
  if (!error.ok()) return error;
  world = w.release();
  return world;
}

// -- Runtimes ---------------------------------------------------------------------

// Splits a lifecycle into phases: each Lap() records the milliseconds since
// the previous one into the next slot of `out` (when not null).
class PhaseClock {
 public:
  explicit PhaseClock(double* out) : out_(out), last_(absl::Now()) {}
  void Lap() {
    const absl::Time now = absl::Now();
    if (out_ != nullptr && next_ < 3) out_[next_++] = absl::ToDoubleMilliseconds(now - last_);
    last_ = now;
  }

 private:
  double* out_;
  int next_ = 0;
  absl::Time last_;
};

// One container runtime as the benchmarks drive it. Thread-safe.
class Runtime {
 public:
  virtual ~Runtime() = default;
  // One full lifecycle: create, run /bin/true, check its exit status, destroy.
  // `phase_ms` (may be null) receives the duration of each of the three
  // phases named by PhaseNames().
  virtual absl::Status Lifecycle(double* phase_ms) = 0;
  virtual std::array<const char*, 3> PhaseNames() const = 0;
  // Creates a container that stays until Destroy(key) (for the burst).
  virtual absl::StatusOr<std::string> Create() = 0;
  virtual absl::Status Destroy(const std::string& key) = 0;
  // Removes whatever the runtime still holds (end of the run).
  virtual void Cleanup() = 0;
};

// -- crun / runc --

class OciRuntime final : public Runtime {
 public:
  // `kind` is "crun" or "runc".
  static absl::StatusOr<std::unique_ptr<OciRuntime>> Make(World& world, const std::string& kind,
                                                          bool overlay) {
    auto binary = FindExecutable(kind, kind);
    if (!binary.ok()) return binary.status();
    auto runtime = std::unique_ptr<OciRuntime>(new OciRuntime(world, kind, *binary, overlay));
    absl::Status s = runtime->Prepare();
    if (!s.ok()) return s;
    return runtime;
  }

  absl::Status Lifecycle(double* phase_ms) override {
    PhaseClock clock(phase_ms);
    const std::string id = NewId();
    const std::string bundle = BundleDir(id);
    absl::Status s = PrepareBundle(id, bundle);
    clock.Lap();
    if (s.ok()) s = RunRuntime({"run", "--bundle", bundle, id}, bundle);
    clock.Lap();
    absl::Status cleanup = RemoveBundle(bundle);
    clock.Lap();
    return s.ok() ? cleanup : s;
  }

  // bundle: mkdir, overlay mount, config.json; runtime: `<runtime> run`;
  // unbundle: umount, rm -r.
  std::array<const char*, 3> PhaseNames() const override {
    return {"bundle", "runtime", "unbundle"};
  }

  absl::StatusOr<std::string> Create() override {
    const std::string id = NewId();
    const std::string bundle = BundleDir(id);
    absl::Status s = PrepareBundle(id, bundle);
    if (s.ok()) s = RunRuntime({"create", "--bundle", bundle, id}, bundle);
    if (!s.ok()) {
      (void)RunRuntime({"delete", "--force", id}, bundle);
      (void)RemoveBundle(bundle);
      return s;
    }
    return id;
  }

  absl::Status Destroy(const std::string& id) override {
    const std::string bundle = BundleDir(id);
    absl::Status s = RunRuntime({"delete", "--force", id}, bundle);
    absl::Status cleanup = RemoveBundle(bundle);
    return s.ok() ? cleanup : s;
  }

  void Cleanup() override {
    // Containers left by a failed iteration, then the bundles, the state
    // directory and the cgroup parent (the runtimes remove only their
    // container's own cgroup).
    std::error_code ec;
    std::vector<fs::path> bundles;
    for (const auto& entry : fs::directory_iterator(bundles_dir_, ec)) {
      if (entry.is_directory(ec)) bundles.push_back(entry.path());
    }
    for (const fs::path& bundle : bundles) {
      (void)RunRuntime({"delete", "--force", bundle.filename().string()}, bundle.string());
      (void)RemoveBundle(bundle.string());
    }
    fs::remove_all(state_dir_, ec);
    fs::remove_all(bundles_dir_, ec);
    for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup", ec)) {
      const fs::path parent = hierarchy.path() / cgroup_parent_;
      if (fs::is_directory(parent, ec)) rmdir(parent.c_str());
    }
  }

 private:
  OciRuntime(World& world, std::string kind, std::string binary, bool overlay)
      : world_(world),
        kind_(std::move(kind)),
        binary_(std::move(binary)),
        overlay_(overlay),
        cgroup_parent_(absl::StrCat("dgbench", getpid())) {
    const std::string base =
        absl::StrCat(world_.work_dir, "/", kind_, overlay_ ? "" : "-shared-ro");
    state_dir_ = base + "/state";
    bundles_dir_ = base + "/bundles";
  }

  absl::Status Prepare() {
    for (const std::string& dir : {state_dir_, bundles_dir_}) {
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec) return absl::InternalError(absl::StrCat("mkdir ", dir, ": ", ec.message()));
    }
    // Check once that the container really gets the limits: create one and
    // read its cgroup from the host.
    auto id = Create();
    if (!id.ok()) return id.status();
    absl::Status s = CheckLimits(*id);
    absl::Status d = Destroy(*id);
    return s.ok() ? d : s;
  }

  absl::Status CheckLimits(const std::string& id) {
    const std::string cgroup = absl::StrCat("/", cgroup_parent_, "/", id);
    struct Expect {
      std::string file;
      uint64_t value;
    };
    const std::vector<Expect> expected = {
        {"/sys/fs/cgroup/memory" + cgroup + "/memory.limit_in_bytes", kMemoryLimitBytes},
        {"/sys/fs/cgroup/pids" + cgroup + "/pids.max", kPidsLimit},
    };
    for (const Expect& e : expected) {
      std::string text(absl::StripAsciiWhitespace(ReadFileOrEmpty(e.file)));
      uint64_t value = 0;
      if (!absl::SimpleAtoi(text, &value) || value != e.value) {
        return absl::FailedPreconditionError(absl::StrCat(
            kind_, ": ", e.file, " is \"", text, "\", expected ", e.value));
      }
    }
    return absl::OkStatus();
  }

  std::string NewId() {
    return absl::StrCat("dgb", getpid(), "-", kind_, overlay_ ? "" : "ro", "-",
                        world_.NextId());
  }
  std::string BundleDir(const std::string& id) const { return bundles_dir_ + "/" + id; }

  absl::Status PrepareBundle(const std::string& id, const std::string& bundle) {
    if (mkdir(bundle.c_str(), 0700) != 0) {
      return absl::InternalError(absl::StrCat("mkdir ", bundle, ": ", ErrnoText(errno)));
    }
    std::string root = world_.image;
    if (overlay_) {
      root = bundle + "/rootfs";
      for (const char* sub : {"/rootfs", "/upper", "/work"}) {
        const std::string dir = bundle + sub;
        if (mkdir(dir.c_str(), 0755) != 0) {
          return absl::InternalError(absl::StrCat("mkdir ", dir, ": ", ErrnoText(errno)));
        }
      }
      const std::string data = absl::StrCat("lowerdir=", world_.image, ",upperdir=", bundle,
                                            "/upper,workdir=", bundle, "/work");
      if (mount("overlay", root.c_str(), "overlay", 0, data.c_str()) != 0) {
        return absl::InternalError(
            absl::StrCat("mount overlay on ", root, ": ", ErrnoText(errno)));
      }
    }
    return WriteFile(bundle + "/config.json", ConfigJson(id, root));
  }

  absl::Status RemoveBundle(const std::string& bundle) {
    absl::Status status;
    if (overlay_) {
      const std::string root = bundle + "/rootfs";
      if (umount2(root.c_str(), 0) != 0 && errno != EINVAL && errno != ENOENT) {
        status = absl::InternalError(absl::StrCat("umount ", root, ": ", ErrnoText(errno)));
        umount2(root.c_str(), MNT_DETACH);
      }
    }
    std::error_code ec;
    fs::remove_all(bundle, ec);
    if (ec && status.ok()) {
      status = absl::InternalError(absl::StrCat("rm -r ", bundle, ": ", ec.message()));
    }
    return status;
  }

  // `<binary> --root <state> <args...>`; error (with the runtime's stderr)
  // unless it exits 0. For `run` that is the exit status of /bin/true.
  absl::Status RunRuntime(const std::vector<std::string>& args, const std::string& bundle) {
    std::vector<std::string> argv = {binary_, "--root", state_dir_};
    argv.insert(argv.end(), args.begin(), args.end());
    // stderr goes into a file: a created container's init keeps it open.
    const std::string err_path = bundle + ".stderr";
    auto code = Spawn(argv, err_path, /*hide_cgroup2=*/kind_ == "crun");
    std::string err_text;
    if (!code.ok() || *code != 0) err_text = ReadFileOrEmpty(err_path);
    unlink(err_path.c_str());
    if (!code.ok()) return code.status();
    if (*code != 0) {
      return absl::InternalError(absl::StrCat(kind_, " ", args[0], " exited ", *code, ": ",
                                              absl::StripAsciiWhitespace(err_text)));
    }
    return absl::OkStatus();
  }

  std::string ConfigJson(const std::string& id, const std::string& root) const {
    // An OCI runtime spec 1.0 config, close to `crun spec` minus the tty,
    // with the limits and namespaces of the benchmark.
    static constexpr absl::string_view kTemplate = R"({
  "ociVersion": "1.0.0",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["/bin/true"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "@ROOT@", "readonly": @READONLY@},
  "hostname": "@ID@",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "cgroupsPath": "/@PARENT@/@ID@",
    "resources": {
      "devices": [{"allow": false, "access": "rwm"}],
      "memory": {"limit": @MEMORY@},
      "pids": {"limit": @PIDS@}
    },
    "namespaces": [
      {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
    ],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
)";
    return absl::StrReplaceAll(kTemplate, {{"@ROOT@", root},
                                           {"@READONLY@", overlay_ ? "false" : "true"},
                                           {"@ID@", id},
                                           {"@PARENT@", cgroup_parent_},
                                           {"@MEMORY@", absl::StrCat(kMemoryLimitBytes)},
                                           {"@PIDS@", absl::StrCat(kPidsLimit)}});
  }

  World& world_;
  const std::string kind_;
  const std::string binary_;
  const bool overlay_;
  const std::string cgroup_parent_;
  std::string state_dir_;
  std::string bundles_dir_;
};

// -- LinuxBackend --

class LinuxRuntime final : public Runtime {
 public:
  // One backend serves both variants (privileged is per container).
  static absl::StatusOr<LinuxBackend*> SharedBackend(World& world) {
    absl::MutexLock lock(&shared_mu_);
    if (shared_backend_ != nullptr) return shared_backend_;
    if (!shared_error_.ok()) return shared_error_;
    LinuxBackendOptions options;
    options.name = BackendName();
    options.depot_dir = world.work_dir + "/depot";
    options.image_dir = world.work_dir + "/images";
    options.helper_dir = DIEGO_GARDEN_HELPER_DIR;
    options.network_pool = "10.251.0.0/22";
    options.destroy_containers_on_startup = true;
    shared_options_ = options;
    auto* b = new LinuxBackend(options);
    shared_error_ = b->Start();
    if (!shared_error_.ok()) {
      delete b;
      return shared_error_;
    }
    shared_backend_ = b;
    return shared_backend_;
  }

  // Stops and deletes the shared backend (its containers are gone by then),
  // then removes the host-wide pieces named after it: the cgroup parent, the
  // bridge and the iptables chains.
  static void StopSharedBackend() {
    absl::MutexLock lock(&shared_mu_);
    if (shared_backend_ == nullptr) return;
    shared_backend_->Stop();
    delete shared_backend_;
    shared_backend_ = nullptr;
    auto cgroups = CgroupManager::Create(absl::StrCat("diego-garden-", shared_options_.name));
    absl::Status s = cgroups.ok() ? (*cgroups)->DestroyParent() : cgroups.status();
    if (!s.ok()) std::fprintf(stderr, "cleanup: cgroups: %s\n", std::string(s.message()).c_str());
    NetworkOptions net;
    net.name = shared_options_.name;
    net.pool_cidr = shared_options_.network_pool;
    net.port_pool_start = shared_options_.port_pool_start;
    net.port_pool_size = shared_options_.port_pool_size;
    auto network = NetworkManager::Create(net);
    s = network.ok() ? (*network)->Teardown() : network.status();
    if (!s.ok()) std::fprintf(stderr, "cleanup: network: %s\n", std::string(s.message()).c_str());
  }

  static absl::StatusOr<std::unique_ptr<LinuxRuntime>> Make(World& world, bool privileged) {
    auto backend = SharedBackend(world);
    if (!backend.ok()) return backend.status();
    auto runtime = std::unique_ptr<LinuxRuntime>(new LinuxRuntime(world, **backend, privileged));
    // Check once that the container gets the limits asked for.
    auto container = runtime->CreateContainer();
    if (!container.ok()) return container.status();
    absl::Status s = runtime->CheckLimits(**container);
    absl::Status d = runtime->Destroy((*container)->Handle());
    if (!s.ok()) return s;
    if (!d.ok()) return d;
    return runtime;
  }

  absl::Status Lifecycle(double* phase_ms) override {
    PhaseClock clock(phase_ms);
    auto container = CreateContainer();
    clock.Lap();
    if (!container.ok()) return container.status();
    absl::Status s = RunTrue(**container);
    clock.Lap();
    absl::Status d = Destroy((*container)->Handle());
    clock.Lap();
    return s.ok() ? d : s;
  }

  // create: Create; run: Run + Wait; destroy: Destroy.
  std::array<const char*, 3> PhaseNames() const override {
    return {"create", "run", "destroy"};
  }

  absl::StatusOr<std::string> Create() override {
    auto container = CreateContainer();
    if (!container.ok()) return container.status();
    return (*container)->Handle();
  }

  absl::Status Destroy(const std::string& handle) override { return backend_.Destroy(handle); }

  void Cleanup() override {
    auto containers = backend_.Containers({});
    if (!containers.ok()) return;
    for (const auto& c : *containers) {
      if (absl::StartsWith(c->Handle(),
                           absl::StrCat("dgb", getpid(), privileged_ ? "-p-" : "-u-"))) {
        (void)backend_.Destroy(c->Handle());
      }
    }
  }

 private:
  LinuxRuntime(World& world, LinuxBackend& backend, bool privileged)
      : world_(world), backend_(backend), privileged_(privileged) {}

  absl::StatusOr<std::unique_ptr<Container>> CreateContainer() {
    ContainerSpec spec;
    spec.handle = absl::StrCat("dgb", getpid(), privileged_ ? "-p-" : "-u-", world_.NextId());
    spec.image.uri = world_.image;
    spec.privileged = privileged_;
    spec.limits.memory.limit_in_bytes = kMemoryLimitBytes;
    spec.limits.pid.max = kPidsLimit;
    return backend_.Create(spec);
  }

  absl::Status RunTrue(Container& container) {
    ProcessSpec process;
    process.path = "/bin/true";
    auto p = container.Run(process, ProcessIO{});
    if (!p.ok()) return p.status();
    auto code = (*p)->Wait(absl::Now() + absl::Seconds(60));
    if (!code.ok()) return code.status();
    if (*code != 0) {
      return absl::InternalError(
          absl::StrCat("/bin/true exited ", *code, " in ", container.Handle()));
    }
    return absl::OkStatus();
  }

  // The memory limit as the API reports it, and pids.max from the host's
  // cgroup (v1 pids hierarchy, or v2) `diego-garden-<name>/<handle>`.
  absl::Status CheckLimits(Container& container) {
    auto memory = container.CurrentMemoryLimits();
    if (!memory.ok()) return memory.status();
    if (memory->limit_in_bytes != kMemoryLimitBytes) {
      return absl::FailedPreconditionError(absl::StrCat(
          "LinuxBackend: memory limit is ", memory->limit_in_bytes, ", expected ",
          kMemoryLimitBytes));
    }
    const std::string cgroup =
        absl::StrCat("/diego-garden-", BackendName(), "/", container.Handle(), "/pids.max");
    std::string file = "/sys/fs/cgroup/pids" + cgroup;
    if (!fs::exists(file)) file = "/sys/fs/cgroup" + cgroup;
    std::string text(absl::StripAsciiWhitespace(ReadFileOrEmpty(file)));
    if (text != absl::StrCat(kPidsLimit)) {
      return absl::FailedPreconditionError(
          absl::StrCat("LinuxBackend: ", file, " is \"", text, "\", expected ", kPidsLimit));
    }
    return absl::OkStatus();
  }

  static absl::Mutex shared_mu_;
  static LinuxBackendOptions shared_options_;
  static LinuxBackend* shared_backend_;
  static absl::Status shared_error_;

  World& world_;
  LinuxBackend& backend_;
  const bool privileged_;
};
absl::Mutex LinuxRuntime::shared_mu_;
LinuxBackendOptions LinuxRuntime::shared_options_;
LinuxBackend* LinuxRuntime::shared_backend_ = nullptr;
absl::Status LinuxRuntime::shared_error_;

// -- Runtime registry --

// The runtimes made so far, by name. Each is made (and checked) on first use;
// an error is remembered so a missing runtime fails all its benchmarks alike.
absl::Mutex registry_mu;
std::map<std::string, absl::StatusOr<std::unique_ptr<Runtime>>>& Registry() {
  static auto* runtimes = new std::map<std::string, absl::StatusOr<std::unique_ptr<Runtime>>>();
  return *runtimes;
}

absl::StatusOr<Runtime*> GetRuntime(const std::string& name) {
  absl::MutexLock lock(&registry_mu);
  auto it = Registry().find(name);
  if (it == Registry().end()) {
    absl::StatusOr<std::unique_ptr<Runtime>> made;
    auto world = GetWorld();
    if (!world.ok()) {
      made = world.status();
    } else if (name == "linux_unprivileged" || name == "linux_privileged") {
      auto r = LinuxRuntime::Make(**world, name == "linux_privileged");
      if (r.ok()) {
        made = std::unique_ptr<Runtime>(std::move(*r));
      } else {
        made = r.status();
      }
    } else {
      const bool overlay = !absl::EndsWith(name, "_shared_ro");
      const std::string kind = overlay ? name : name.substr(0, name.find('_'));
      auto r = OciRuntime::Make(**world, kind, overlay);
      if (r.ok()) {
        made = std::unique_ptr<Runtime>(std::move(*r));
      } else {
        made = r.status();
      }
    }
    it = Registry().emplace(name, std::move(made)).first;
  }
  if (!it->second.ok()) return it->second.status();
  return it->second->get();
}

// Cleans up every runtime made, stops the backend, removes the work dir.
void CleanupAll() {
  absl::MutexLock lock(&registry_mu);
  for (auto& [name, runtime] : Registry()) {
    if (runtime.ok()) (*runtime)->Cleanup();
  }
  Registry().clear();
  LinuxRuntime::StopSharedBackend();
}

// -- Benchmarks ----------------------------------------------------------------

double SecondsSince(absl::Time start) { return absl::ToDoubleSeconds(absl::Now() - start); }

// -- CPU accounting ------------------------------------------------------------

// CPU time of everything a lifecycle causes, on either side of the container
// boundary, from cgroup CPU accounting (cgroup v1 cpuacct, or v2 cpu.stat):
// this process is moved into its own cgroup `dgbench<pid>-self` (so crun,
// runc, LinuxBackend's threads and helpers, iptables, ... are charged there
// until they join a container), and containers live under `dgbench<pid>`
// (OCI) or `diego-garden-<backend name>` (LinuxBackend). A parent keeps what
// its removed children used, so the sum of the three cgroups' usage covers
// every process involved exactly once, whoever reaps it. Work the kernel does
// in its own threads (e.g. freeing a network namespace) is not included.
class CpuAccounting {
 public:
  static CpuAccounting& Get() {
    static auto* accounting = new CpuAccounting();
    return *accounting;
  }

  // Moves this process into its cgroup. On failure cpu_ms is not reported.
  absl::Status Setup(const std::string& linux_parent) {
    if (fs::exists("/sys/fs/cgroup/cpuacct/cpuacct.usage")) {
      root_ = "/sys/fs/cgroup/cpuacct";
      v2_ = false;
    } else if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) {
      root_ = "/sys/fs/cgroup";
      v2_ = true;
    } else {
      return absl::UnavailableError("no cpuacct (v1) or unified (v2) cgroup hierarchy");
    }
    // Where this process is now, to move it back at the end.
    std::istringstream in(ReadFileOrEmpty("/proc/self/cgroup"));
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(':', 2));
      if (parts.size() != 3) continue;
      const bool match = v2_ ? parts[0] == "0" && parts[1].empty()
                             : absl::c_linear_search(absl::StrSplit(parts[1], ','), "cpuacct");
      if (match) original_ = root_ + (parts[2] == "/" ? "" : parts[2]);
    }
    if (original_.empty()) return absl::UnavailableError("own cpuacct cgroup not found");
    self_ = absl::StrCat(root_, "/dgbench", getpid(), "-self");
    if (mkdir(self_.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::InternalError(absl::StrCat("mkdir ", self_, ": ", ErrnoText(errno)));
    }
    absl::Status s = WriteFile(self_ + "/cgroup.procs", absl::StrCat(getpid()));
    if (!s.ok()) {
      rmdir(self_.c_str());
      return s;
    }
    watched_ = {self_, absl::StrCat(root_, "/dgbench", getpid()), root_ + "/" + linux_parent};
    ready_ = true;
    return absl::OkStatus();
  }

  bool ready() const { return ready_; }

  // Total CPU seconds charged so far to the watched cgroups (absent = 0).
  double Seconds() const {
    double total = 0;
    for (const std::string& dir : watched_) {
      if (!v2_) {
        uint64_t ns = 0;
        if (absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(dir + "/cpuacct.usage")),
                             &ns)) {
          total += static_cast<double>(ns) * 1e-9;
        }
        continue;
      }
      for (absl::string_view l : absl::StrSplit(ReadFileOrEmpty(dir + "/cpu.stat"), '\n')) {
        uint64_t us = 0;
        if (absl::ConsumePrefix(&l, "usage_usec ") && absl::SimpleAtoi(l, &us)) {
          total += static_cast<double>(us) * 1e-6;
        }
      }
    }
    return total;
  }

  // Moves this process back and removes its cgroup.
  void Teardown() {
    if (!ready_) return;
    (void)WriteFile(original_ + "/cgroup.procs", absl::StrCat(getpid()));
    rmdir(self_.c_str());
    ready_ = false;
  }

 private:
  std::string root_, original_, self_;
  bool v2_ = false;
  bool ready_ = false;
  std::vector<std::string> watched_;
};

double CpuSeconds() { return CpuAccounting::Get().Seconds(); }

// Sets the cpu_ms counter (CPU milliseconds per operation) when available.
void PublishCpu(benchmark::State& state, double cpu_start, double ops, double* out) {
  if (!CpuAccounting::Get().ready() || ops <= 0) return;
  const double cpu_ms = (CpuSeconds() - cpu_start) * 1e3 / ops;
  state.counters["cpu_ms"] = cpu_ms;
  if (out != nullptr) *out = cpu_ms;
}

void BM_Lifecycle(benchmark::State& state, std::string name) {
  auto runtime = GetRuntime(name);
  if (!runtime.ok()) {
    state.SkipWithError(std::string(runtime.status().message()).c_str());
    return;
  }
  for (int i = 0; i < kWarmups; ++i) {
    absl::Status s = (*runtime)->Lifecycle(nullptr);
    if (!s.ok()) {
      state.SkipWithError(absl::StrCat("warm-up: ", s.message()).c_str());
      return;
    }
  }
  std::vector<double> samples_ms;
  samples_ms.reserve(static_cast<size_t>(state.max_iterations));
  const double cpu_start = CpuSeconds();
  std::array<std::vector<double>, 3> phase_samples_ms;
  for (auto _ : state) {
    double phase_ms[3] = {0, 0, 0};
    const absl::Time start = absl::Now();
    absl::Status s = (*runtime)->Lifecycle(phase_ms);
    const double seconds = SecondsSince(start);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
    state.SetIterationTime(seconds);
    samples_ms.push_back(seconds * 1e3);
    for (int p = 0; p < 3; ++p) phase_samples_ms[p].push_back(phase_ms[p]);
  }
  if (samples_ms.empty()) return;
  double cpu_ms = -1;
  PublishCpu(state, cpu_start, static_cast<double>(samples_ms.size()), &cpu_ms);
  const std::array<const char*, 3> phases = (*runtime)->PhaseNames();
  for (int p = 0; p < 3; ++p) {
    std::sort(phase_samples_ms[p].begin(), phase_samples_ms[p].end());
    state.counters[absl::StrCat(phases[p], "_p50_ms")] = Percentile(phase_samples_ms[p], 0.5);
  }
  Latency l = PublishLatency(state, samples_ms);
  absl::MutexLock lock(&summary_mu);
  Row& row = Summary()[name];
  row.cpu_ms = cpu_ms;
  row.p50_ms = l.p50;
  row.p90_ms = l.p90;
  row.p99_ms = l.p99;
}

// The four main runtimes in turn, one lifecycle each per round (the order
// rotates every round), --lifecycles rounds: on a shared host whose load moves
// from minute to minute, this is the fair comparison. Counters
// <runtime>_p50_ms / _p99_ms.
void BM_Interleaved(benchmark::State& state) {
  const std::vector<std::string> names = {"linux_unprivileged", "linux_privileged", "crun",
                                          "runc"};
  std::vector<Runtime*> runtimes;
  for (const std::string& name : names) {
    auto runtime = GetRuntime(name);
    if (!runtime.ok()) {
      state.SkipWithError(absl::StrCat(name, ": ", runtime.status().message()).c_str());
      return;
    }
    runtimes.push_back(*runtime);
  }
  const int rounds = GetSettings().lifecycles;
  for (auto _ : state) {
    std::vector<std::vector<double>> samples_ms(names.size());
    const absl::Time start = absl::Now();
    for (int round = 0; round < rounds; ++round) {
      for (size_t k = 0; k < names.size(); ++k) {
        const size_t i = (k + static_cast<size_t>(round)) % names.size();
        const absl::Time t = absl::Now();
        absl::Status s = runtimes[i]->Lifecycle(nullptr);
        if (!s.ok()) {
          state.SkipWithError(absl::StrCat(names[i], ": ", s.message()).c_str());
          return;
        }
        samples_ms[i].push_back(SecondsSince(t) * 1e3);
      }
    }
    state.SetIterationTime(SecondsSince(start));
    absl::MutexLock lock(&summary_mu);
    for (size_t i = 0; i < names.size(); ++i) {
      std::sort(samples_ms[i].begin(), samples_ms[i].end());
      const double p50 = Percentile(samples_ms[i], 0.50);
      const double p99 = Percentile(samples_ms[i], 0.99);
      state.counters[names[i] + "_p50_ms"] = p50;
      state.counters[names[i] + "_p99_ms"] = p99;
      Row& row = Summary()[names[i]];
      row.interleaved_p50_ms = p50;
      row.interleaved_p99_ms = p99;
    }
    PublishLoad(state);
  }
}

void BM_TwoInFlight(benchmark::State& state, std::string name) {
  auto runtime = GetRuntime(name);
  if (!runtime.ok()) {
    state.SkipWithError(std::string(runtime.status().message()).c_str());
    return;
  }
  const int total = GetSettings().inflight_lifecycles;
  for (auto _ : state) {
    std::atomic<int> next{0};
    absl::Mutex mu;
    std::vector<double> samples_ms;
    absl::Status first_error;
    auto worker = [&] {
      while (next.fetch_add(1) < total) {
        const absl::Time start = absl::Now();
        absl::Status s = (*runtime)->Lifecycle(nullptr);
        const double ms = SecondsSince(start) * 1e3;
        absl::MutexLock lock(&mu);
        if (!s.ok()) {
          if (first_error.ok()) first_error = s;
          next.store(total);
          return;
        }
        samples_ms.push_back(ms);
      }
    };
    const double cpu_start = CpuSeconds();
    const absl::Time start = absl::Now();
    std::thread a(worker), b(worker);
    a.join();
    b.join();
    const double seconds = SecondsSince(start);
    if (!first_error.ok()) {
      state.SkipWithError(std::string(first_error.message()).c_str());
      return;
    }
    state.SetIterationTime(seconds);
    const double rate = static_cast<double>(samples_ms.size()) / seconds;
    state.counters["lifecycles_per_s"] = rate;
    PublishCpu(state, cpu_start, static_cast<double>(samples_ms.size()), nullptr);
    Latency l = PublishLatency(state, samples_ms);
    absl::MutexLock lock(&summary_mu);
    Row& row = Summary()[name];
    row.inflight_per_s = rate;
    row.inflight_p50_ms = l.p50;
    row.inflight_p99_ms = l.p99;
  }
}

// Runs `fn(i)` for i in [0, n) on `threads` threads; the first error wins.
absl::Status ParallelFor(int n, int threads, const std::function<absl::Status(int)>& fn) {
  std::atomic<int> next{0};
  absl::Mutex mu;
  absl::Status first_error;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
        absl::Status s = fn(i);
        if (!s.ok()) {
          absl::MutexLock lock(&mu);
          if (first_error.ok()) first_error = s;
        }
      }
    });
  }
  for (std::thread& t : pool) t.join();
  return first_error;
}

void BM_Burst(benchmark::State& state, std::string name) {
  auto runtime = GetRuntime(name);
  if (!runtime.ok()) {
    state.SkipWithError(std::string(runtime.status().message()).c_str());
    return;
  }
  const int n = GetSettings().burst;
  const int threads = GetSettings().burst_threads;
  for (auto _ : state) {
    std::vector<std::string> keys(static_cast<size_t>(n));
    const double cpu_start = CpuSeconds();
    const absl::Time start = absl::Now();
    absl::Status created = ParallelFor(n, threads, [&](int i) -> absl::Status {
      auto key = (*runtime)->Create();
      if (!key.ok()) return key.status();
      keys[static_cast<size_t>(i)] = *key;
      return absl::OkStatus();
    });
    const double create_s = SecondsSince(start);
    const double create_cpu_s = CpuSeconds() - cpu_start;
    if (CpuAccounting::Get().ready()) state.counters["create_cpu_s"] = create_cpu_s;
    const absl::Time destroy_start = absl::Now();
    absl::Status destroyed = ParallelFor(n, threads, [&](int i) -> absl::Status {
      const std::string& key = keys[static_cast<size_t>(i)];
      return key.empty() ? absl::OkStatus() : (*runtime)->Destroy(key);
    });
    const double destroy_s = SecondsSince(destroy_start);
    if (!created.ok() || !destroyed.ok()) {
      state.SkipWithError(
          std::string((!created.ok() ? created : destroyed).message()).c_str());
      return;
    }
    state.SetIterationTime(create_s);
    state.counters["containers"] = n;
    state.counters["create_s"] = create_s;
    state.counters["destroy_s"] = destroy_s;
    state.counters["creates_per_s"] = n / create_s;
    PublishLoad(state);
    absl::MutexLock lock(&summary_mu);
    Row& row = Summary()[name];
    row.burst_create_s = create_s;
    row.burst_destroy_s = destroy_s;
  }
}

void BM_SpawnOverhead(benchmark::State& state, bool hide_cgroup2) {
  auto world = GetWorld();
  if (!world.ok()) {
    state.SkipWithError(std::string(world.status().message()).c_str());
    return;
  }
  const std::string err_path = (*world)->work_dir + "/spawn.stderr";
  std::vector<double> samples_ms;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    auto code = Spawn({"/bin/true"}, err_path, hide_cgroup2);
    const double seconds = SecondsSince(start);
    if (!code.ok() || *code != 0) {
      state.SkipWithError(absl::StrCat("/bin/true: ",
                                       code.ok() ? absl::StrCat("exit ", *code)
                                                 : std::string(code.status().message()),
                                       " ", ReadFileOrEmpty(err_path))
                              .c_str());
      break;
    }
    state.SetIterationTime(seconds);
    samples_ms.push_back(seconds * 1e3);
  }
  unlink(err_path.c_str());
  if (!samples_ms.empty()) PublishLatency(state, samples_ms);
}

const std::vector<std::string>& AllRuntimes() {
  static const auto* names = new std::vector<std::string>{
      "linux_unprivileged", "linux_privileged", "crun", "runc", "crun_shared_ro",
      "runc_shared_ro"};
  return *names;
}

void RegisterAll() {
  const Settings& settings = GetSettings();
  for (const auto& [name, hide] :
       std::vector<std::pair<std::string, bool>>{{"plain", false}, {"hidden_cgroup2", true}}) {
    benchmark::RegisterBenchmark(absl::StrCat("BM_SpawnOverhead/", name).c_str(),
                                 BM_SpawnOverhead, hide)
        ->Iterations(200)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  for (const std::string& name : AllRuntimes()) {
    benchmark::RegisterBenchmark(absl::StrCat("BM_Lifecycle/", name).c_str(), BM_Lifecycle, name)
        ->Iterations(settings.lifecycles)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("BM_Interleaved/all", BM_Interleaved)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  for (const std::string& name : AllRuntimes()) {
    if (absl::EndsWith(name, "_shared_ro")) continue;
    benchmark::RegisterBenchmark(absl::StrCat("BM_TwoInFlight/", name).c_str(), BM_TwoInFlight,
                                 name)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (const std::string& name : AllRuntimes()) {
    if (absl::EndsWith(name, "_shared_ro")) continue;
    benchmark::RegisterBenchmark(absl::StrCat("BM_Burst250/", name).c_str(), BM_Burst, name)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
}

// -- Summary ---------------------------------------------------------------------

std::string Cell(double v, const char* format = "%.2f") {
  if (v < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string Ratio(double a, double b) {
  if (a < 0 || b <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fx", a / b);
  return buf;
}

void PrintSummary() {
  absl::MutexLock lock(&summary_mu);
  const auto& rows = Summary();
  if (rows.empty()) return;
  std::printf(
      "\nSummary (lifecycle = create + run /bin/true + wait + destroy; '-' = not run)\n"
      "%-20s %-37s | %-19s | %-30s | %s\n",
      "", "serial (BM_Lifecycle)", "interleaved", "2 in flight (BM_TwoInFlight)",
      "burst (BM_Burst250)");
  std::printf("%-20s %8s %8s %8s %8s | %8s %8s | %10s %9s %9s | %8s %9s\n", "runtime", "p50_ms",
              "p90_ms", "p99_ms", "cpu_ms", "p50_ms", "p99_ms", "per_s", "p50_ms", "p99_ms",
              "create_s", "destroy_s");
  for (const std::string& name : AllRuntimes()) {
    auto it = rows.find(name);
    if (it == rows.end()) continue;
    const Row& r = it->second;
    std::printf("%-20s %8s %8s %8s %8s | %8s %8s | %10s %9s %9s | %8s %9s\n", name.c_str(),
                Cell(r.p50_ms).c_str(), Cell(r.p90_ms).c_str(), Cell(r.p99_ms).c_str(),
                Cell(r.cpu_ms).c_str(), Cell(r.interleaved_p50_ms).c_str(),
                Cell(r.interleaved_p99_ms).c_str(), Cell(r.inflight_per_s, "%.1f").c_str(),
                Cell(r.inflight_p50_ms).c_str(), Cell(r.inflight_p99_ms).c_str(),
                Cell(r.burst_create_s).c_str(), Cell(r.burst_destroy_s).c_str());
  }
  bool header = false;
  for (const char* linux_name : {"linux_unprivileged", "linux_privileged"}) {
    for (const char* oci : {"crun", "runc"}) {
      auto a = rows.find(linux_name);
      auto b = rows.find(oci);
      if (a == rows.end() || b == rows.end()) continue;
      if (!header) {
        std::printf(
            "\nRatios LinuxBackend / OCI runtime (times and CPU: < 1 = LinuxBackend better; "
            "2-in-flight rate: > 1 = LinuxBackend better)\n");
        std::printf("%-34s %8s %8s %8s %10s %10s %10s %9s\n", "", "p50", "p99", "cpu",
                    "il_p50", "il_p99", "2inflight", "burst");
        header = true;
      }
      const Row& x = a->second;
      const Row& y = b->second;
      const std::string label = absl::StrCat(linux_name, " / ", oci);
      std::printf("%-34s %8s %8s %8s %10s %10s %10s %9s\n", label.c_str(),
                  Ratio(x.p50_ms, y.p50_ms).c_str(), Ratio(x.p99_ms, y.p99_ms).c_str(),
                  Ratio(x.cpu_ms, y.cpu_ms).c_str(),
                  Ratio(x.interleaved_p50_ms, y.interleaved_p50_ms).c_str(),
                  Ratio(x.interleaved_p99_ms, y.interleaved_p99_ms).c_str(),
                  Ratio(x.inflight_per_s, y.inflight_per_s).c_str(),
                  Ratio(x.burst_create_s, y.burst_create_s).c_str());
    }
  }
  std::fflush(stdout);
}

// -- Flags and main ---------------------------------------------------------------

void ParseOwnFlags(int& argc, char** argv) {
  Settings& settings = GetSettings();
  std::string work_root = "/tmp";
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    auto int_flag = [&](absl::string_view prefix, int& value) {
      if (!absl::ConsumePrefix(&arg, prefix)) return false;
      if (!absl::SimpleAtoi(arg, &value) || value <= 0) {
        std::fprintf(stderr, "garden_benchmark: bad value for %s\n", std::string(prefix).c_str());
        std::exit(2);
      }
      return true;
    };
    if (absl::ConsumePrefix(&arg, "--work_root=")) {
      work_root = std::string(arg);
    } else if (int_flag("--lifecycles=", settings.lifecycles) ||
               int_flag("--inflight_lifecycles=", settings.inflight_lifecycles) ||
               int_flag("--burst=", settings.burst) ||
               int_flag("--burst_threads=", settings.burst_threads)) {
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  settings.work_dir = absl::StrCat(work_root, "/dgbench-", getpid());
}

// Unmounts whatever is still mounted under `dir` (deepest first), then
// removes it.
void RemoveWorkDir(const std::string& dir) {
  std::vector<std::string> mounts;
  std::istringstream in(ReadFileOrEmpty("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() > 4 && absl::StartsWith(fields[4], dir + "/")) mounts.push_back(fields[4]);
  }
  std::sort(mounts.rbegin(), mounts.rend());
  for (const std::string& m : mounts) umount2(m.c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace

}  // namespace diego::garden

int main(int argc, char** argv) {
  if (geteuid() != 0) {
    std::fprintf(stderr,
                 "garden_benchmark: needs root (namespaces, cgroups, overlay mounts, crun and "
                 "runc); run it as root, e.g. sudo %s\n",
                 argv[0]);
    return 1;
  }
  diego::garden::ParseOwnFlags(argc, argv);
  diego::garden::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  if (absl::Status s = diego::garden::CpuAccounting::Get().Setup(
          absl::StrCat("diego-garden-", diego::garden::BackendName()));
      !s.ok()) {
    std::fprintf(stderr, "garden_benchmark: cpu_ms not reported: %s\n",
                 std::string(s.message()).c_str());
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  diego::garden::PrintSummary();
  diego::garden::CleanupAll();
  diego::garden::RemoveWorkDir(diego::garden::GetSettings().work_dir);
  diego::garden::CpuAccounting::Get().Teardown();
  return 0;
}
