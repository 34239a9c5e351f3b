// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: client.h
// -----------------------------------------------------------------------------
//
// The Garden API as C++ seams (Diego's garden.Client, garden.Container and
// garden.Process). The executor, the rep and the actions library program
// against these; implementations are `HttpGardenClient` (speaks Garden's HTTP
// protocol to a server), `LinuxBackend` (real containers, in process) and
// `fakes::FakeGardenBackend` (in memory, for tests).
//
// Deadlines: every call is bounded. Calls on `HttpGardenClient` time out after
// its configured request timeout; calls that wait for something to happen
// (`Process::Wait`) take an explicit deadline. A hung backend therefore never
// hangs its caller for longer than that.
//
// Threading: all implementations are thread-safe. `Container` and `Process`
// objects are cheap handles; several may refer to the same container or
// process, and they stay valid (returning ContainerNotFoundError /
// ProcessNotFoundError) after the container is destroyed.

#ifndef DIEGO_GARDEN_CLIENT_H_
#define DIEGO_GARDEN_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/garden/spec.h"

namespace diego::garden {

// Where a process's output goes and where its input comes from.
//
// `stdout_sink` / `stderr_sink` receive output chunks in order, from a backend
// thread; they must be thread-safe, must not block for long and must not call
// back into the process. Either may be empty (output discarded).
// `stdin_data`, when set, is written to the process's stdin, which is then
// closed; when unset, stdin stays open for `Process::WriteStdin` until
// `Process::CloseStdin`.
struct ProcessIO {
  std::optional<std::string> stdin_data;
  std::function<void(absl::string_view)> stdout_sink;
  std::function<void(absl::string_view)> stderr_sink;
};

// A process running (or run) in a container.
class Process {
 public:
  virtual ~Process() = default;

  virtual std::string Id() const = 0;

  // Blocks until the process exits or `deadline` passes. Returns the exit
  // status (128+N when killed by signal N), DeadlineExceeded when the deadline
  // passed first, or an error when the backend lost the process. All output
  // has been delivered to the sinks when Wait returns an exit status.
  [[nodiscard]] virtual absl::StatusOr<int> Wait(absl::Time deadline) = 0;

  // Delivers SIGTERM or SIGKILL. OK when the process has already exited.
  [[nodiscard]] virtual absl::Status Signal(Signal signal) = 0;

  // Writes to the process's stdin (only when ProcessIO::stdin_data was unset).
  [[nodiscard]] virtual absl::Status WriteStdin(absl::string_view data) = 0;
  [[nodiscard]] virtual absl::Status CloseStdin() = 0;

  // Resizes the process's terminal. FailedPrecondition when it has no tty.
  [[nodiscard]] virtual absl::Status SetTty(const TtySpec& tty) = 0;
};

// A handle to one container. Cheap to create; does not own the container.
class Container {
 public:
  virtual ~Container() = default;

  virtual std::string Handle() const = 0;

  // Stops every process in the container: SIGTERM, then SIGKILL after 10 s
  // (or at once when `kill`). The container stays (state "stopped").
  [[nodiscard]] virtual absl::Status Stop(bool kill) = 0;

  [[nodiscard]] virtual absl::StatusOr<ContainerInfo> Info() = 0;

  // Extracts the tar stream `tar` into directory `path` of the container, as
  // `user` ("" = root). Files are owned by that user.
  [[nodiscard]] virtual absl::Status StreamIn(absl::string_view path,
                                              absl::string_view user,
                                              absl::string_view tar) = 0;
  // Returns `path` (a file or a directory, recursively) as a tar stream, read
  // as `user`. The archive's entries are named after the last element of
  // `path` (Garden's behaviour: "/a/b" gives "b", "b/..."; "/a/b/" gives
  // "./...").
  [[nodiscard]] virtual absl::StatusOr<std::string> StreamOut(absl::string_view path,
                                                              absl::string_view user) = 0;

  [[nodiscard]] virtual absl::StatusOr<BandwidthLimits> CurrentBandwidthLimits() = 0;
  [[nodiscard]] virtual absl::StatusOr<CpuLimits> CurrentCpuLimits() = 0;
  [[nodiscard]] virtual absl::StatusOr<DiskLimits> CurrentDiskLimits() = 0;
  [[nodiscard]] virtual absl::StatusOr<MemoryLimits> CurrentMemoryLimits() = 0;

  // Forwards `host_port` (0 = pick from the pool) on the host's IP to
  // `container_port` (0 = same as the host port). Returns the ports used.
  [[nodiscard]] virtual absl::StatusOr<PortMapping> NetIn(uint32_t host_port,
                                                          uint32_t container_port) = 0;
  [[nodiscard]] virtual absl::Status NetOut(const NetOutRule& rule) = 0;
  [[nodiscard]] virtual absl::Status BulkNetOut(const std::vector<NetOutRule>& rules) = 0;

  // Starts a process. ExecutableNotFoundError when `spec.path` does not exist
  // in the container.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<Process>> Run(const ProcessSpec& spec,
                                                                     ProcessIO io) = 0;
  // Attaches to a running or exited process: the sinks receive the output the
  // backend kept (at least the last 64 KiB of each stream) and everything
  // after; Wait returns the exit status, at once when it has already exited.
  // ProcessNotFoundError for an unknown id.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<Process>> Attach(
      absl::string_view process_id, ProcessIO io) = 0;

  [[nodiscard]] virtual absl::StatusOr<Metrics> GetMetrics() = 0;

  // Containers with no client activity for `grace_time` are destroyed
  // (0 = never).
  [[nodiscard]] virtual absl::Status SetGraceTime(absl::Duration grace_time) = 0;

  [[nodiscard]] virtual absl::StatusOr<Properties> GetProperties() = 0;
  // NotFound ("property does not exist: <name>") when unset.
  [[nodiscard]] virtual absl::StatusOr<std::string> GetProperty(absl::string_view name) = 0;
  [[nodiscard]] virtual absl::Status SetProperty(absl::string_view name,
                                                 absl::string_view value) = 0;
  [[nodiscard]] virtual absl::Status RemoveProperty(absl::string_view name) = 0;
};

// One entry of BulkInfo / BulkMetrics: the value or the error for that handle.
template <typename T>
struct BulkEntry {
  std::optional<T> value;
  absl::Status error;  // OK when value is set
};
using BulkInfoResult = std::map<std::string, BulkEntry<ContainerInfo>>;
using BulkMetricsResult = std::map<std::string, BulkEntry<Metrics>>;

// Builds a bulk result for backends: `get(handle)` (returning
// absl::StatusOr<T>) for each handle in order, its value or its error stored
// in that handle's entry.
template <typename T, typename Get>
std::map<std::string, BulkEntry<T>> CollectBulk(const std::vector<std::string>& handles,
                                                Get get) {
  std::map<std::string, BulkEntry<T>> result;
  for (const std::string& handle : handles) {
    BulkEntry<T>& entry = result[handle];
    absl::StatusOr<T> value = get(handle);
    if (value.ok()) {
      entry.value = *std::move(value);
    } else {
      entry.error = value.status();
    }
  }
  return result;
}

// The Garden API as seen by a client (the executor).
class Client {
 public:
  virtual ~Client() = default;

  [[nodiscard]] virtual absl::Status Ping() = 0;
  [[nodiscard]] virtual absl::StatusOr<Capacity> GetCapacity() = 0;

  // Creates a container. AlreadyExists ("Handle 'h' already in use") for a
  // handle in use; ResourceExhausted when max_containers is reached;
  // InvalidArgument naming the field for a bad spec. A failed create leaves
  // nothing behind.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<Container>> Create(
      const ContainerSpec& spec) = 0;

  // Destroys a container: kills its processes and removes everything it
  // held. ContainerNotFoundError for an unknown handle. When destroy fails
  // half way the container is still listed, so it can be retried.
  [[nodiscard]] virtual absl::Status Destroy(absl::string_view handle) = 0;

  // Containers whose properties include every pair of `filter`.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::unique_ptr<Container>>> Containers(
      const Properties& filter) = 0;

  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<Container>> Lookup(
      absl::string_view handle) = 0;

  [[nodiscard]] virtual absl::StatusOr<BulkInfoResult> BulkInfo(
      const std::vector<std::string>& handles) = 0;
  [[nodiscard]] virtual absl::StatusOr<BulkMetricsResult> BulkMetrics(
      const std::vector<std::string>& handles) = 0;
};

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_CLIENT_H_
