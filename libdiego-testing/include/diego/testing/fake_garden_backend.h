// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: fake_garden_backend.h
// -----------------------------------------------------------------------------
//
// `diego::fakes::FakeGardenBackend` is a stateful, in-memory, thread-safe
// `garden::Backend`: a Garden server without a kernel. Containers are records
// (spec, properties, limits, IPs, port mappings, net-out rules, streamed-in
// tars); processes are test-scripted handlers that run on their own threads.
// Everything above libdiego-garden (the HTTP server tests, the executor's
// step library, the rep) can run Task and LRP action trees against it.
//
// Containers
//
//   * `Create` keeps the spec. An empty handle gets a generated, unique one
//     (a GUID). A handle in use is refused with kAlreadyExists
//     "Handle '<h>' already in use" (guardian's message); when
//     `Options::max_containers` (0 = unlimited) containers exist, Create is
//     kResourceExhausted "max containers reached" (guardian's message). A
//     failed Create leaves nothing behind.
//   * Each container gets a /30 out of `Options::network_pool` (default
//     10.254.0.0/22, guardian's default pool, so 256 containers): host IP =
//     network + 1, container IP = network + 2 (10.254.0.1 / 10.254.0.2 for
//     the first). A `spec.network` of "a.b.c.d" or "a.b.c.d/n" with a non-zero
//     host part asks for that container IP (the host IP is then the first
//     address of its /30); "a.b.c.d/n" naming a network picks the first free
//     /30 inside it. A container IP in use is kAlreadyExists; a malformed
//     network is kInvalidArgument naming "network". Addresses are released
//     by Destroy.
//   * `spec.net_in` entries are applied as by `NetIn`; `spec.net_out` rules
//     are recorded as by `BulkNetOut`.
//   * `Info()`: state "active" (or "stopped" after `Stop`), the events the
//     test added (`AddEvent`), host/container IP, `Options::external_ip`,
//     container_path "<Options::depot_dir>/<handle>", the ids of the processes
//     still running (in start order), properties, mapped ports.
//   * `Current*Limits()` return the limits of the spec.
//   * `NetIn(host, container)`: host port 0 takes the next port of the pool
//     (from `Options::port_pool_start`, 61001 by default, never reused);
//     container port 0 means "same as the host port". The mapping is added to
//     `Info().mapped_ports`. kResourceExhausted when the pool is used up.
//   * `NetOut` / `BulkNetOut` append to the container's recorded rules
//     (`NetOutRules`).
//   * `GetMetrics()` returns what the test set with `SetMetrics` (zeros by
//     default); `age` is the time since Create on the clock unless the test
//     set a non-zero age.
//   * Properties: `GetProperty` of an unset name is kNotFound
//     "property does not exist: <name>"; `Containers(filter)` lists the
//     containers whose properties include every pair of `filter`, in handle
//     order.
//   * Any call on an unknown or destroyed handle (Lookup, Destroy, every
//     `Container` method, BulkInfo/BulkMetrics entries, GraceTime) is
//     `garden::ContainerNotFoundError(handle)` ("unknown handle: <h>").
//
// StreamIn / StreamOut
//
//   The fake does not interpret tar streams. `StreamIn(path, user, tar)`
//   keeps `tar` under (handle, path), replacing what was there, and records
//   the call (`StreamIns`). `StreamOut(path, user)` returns the tar last
//   streamed in at exactly `path`, or the one the test set with
//   `SetStreamOutContent` (the later of the two wins); any other path is
//   kNotFound "stream out: <path>: no such file or directory".
//
// Processes
//
//   `Run(spec, io)` looks up the handler registered for `spec.path`
//   (`SetProcessHandler`; exact match), else the default handler
//   (`SetDefaultProcessHandler`), else applies `Options::unknown_path`:
//   kExitZero (the process exits 0 at once, with no output) or
//   kExecutableNotFound (Run fails with garden::ExecutableNotFoundError
//   `exec: "<path>": executable file not found in $PATH`, and nothing runs).
//   Every spec a Run brings to an existing container is recorded, whether
//   the Run succeeds or not (`ProcessSpecs`). A process id is `spec.id`, or a generated GUID when
//   empty; an id already used in that container is kAlreadyExists
//   "process ID '<id>' already in use".
//
//   The handler runs on a thread of its own with a `FakeProcessContext`
//   (below) and returns the exit status. Output it writes goes, in order, to
//   the sinks of every ProcessIO attached to the process (Run's and each
//   Attach's), synchronously, and the last 64 KiB of each stream are kept.
//   `Attach(id, io)` first replays the kept output to io's sinks, then
//   delivers what follows; its Process returns the same exit status. All
//   output written before the exit is delivered before `Wait` returns.
//
//   Signals: a SIGKILL (`garden::Signal::kKill`) always kills the process.
//   A SIGTERM kills it too, unless the handler called
//   `FakeProcessContext::CatchSignals()`, in which case the signal is queued
//   for `FakeProcessContext::WaitForSignal`. A killed process exits at once
//   with 128+15 (SIGTERM) or 128+9 (SIGKILL): `Wait` returns that status,
//   later output is dropped, the handler's blocking context calls return
//   (ReadStdin reports end of input, WaitForSignal reports the fatal signal)
//   and the handler's own return value is ignored. Signalling an exited
//   process is OK and does nothing.
//
//   `Process::Wait(deadline)` returns the exit status, or kDeadlineExceeded
//   when `deadline` passes first on the backend's clock. A finite deadline
//   waits with `Clock::SleepUntil`, so with a FakeClock a Wait in progress
//   counts as one of `FakeClock::Sleepers()`; `absl::InfiniteFuture()` waits
//   without touching the clock.
//
//   Stdin: `ProcessIO::stdin_data`, when set, is the whole input (then EOF)
//   and `WriteStdin` is kFailedPrecondition. Otherwise `WriteStdin` appends
//   and `CloseStdin` ends the input; `WriteStdin` after `CloseStdin` is
//   kFailedPrecondition "stdin is closed" (even once the process exited);
//   writes to an exited process whose stdin is still open are accepted and
//   dropped. `SetTty` is kFailedPrecondition for a process run
//   without `spec.tty`; otherwise the handler sees the new size (`Tty()`).
//
//   Process handles stay usable after their container is destroyed
//   (Destroy kills the processes first, so Wait returns 137).
//
// Stop and Destroy
//
//   `Container::Stop(true)` SIGKILLs every running process. `Stop(false)`
//   SIGTERMs them, waits on the clock until they have all exited or 10 s
//   have passed (guardian's grace period), then SIGKILLs those left; with the
//   default (non-catching) handlers everything exits at once and Stop does
//   not wait. Either way the container's state becomes "stopped" and it
//   stays until destroyed; Run still works on a stopped container (the fake
//   does not model a dead init). `Destroy` SIGKILLs every running process,
//   releases the IP, and forgets the container (its recorded specs and
//   streamed-in tars stay readable for assertions).
//
// Grace time
//
//   A container's grace time comes from `spec.grace_time` or
//   `SetGraceTime` (0 = never reaped). Every call that names a container
//   (Lookup, Container methods, BulkInfo/BulkMetrics, GraceTime, Attach and
//   process Wait/Signal/stdin calls) and every output chunk delivered to at
//   least one attached sink is activity, stamped with the backend's clock.
//   Nothing is reaped in the background: `ReapIdle()` destroys (as by
//   Destroy) every container whose grace time is non-zero and whose last
//   activity is at least that long ago, and returns their handles. Calls
//   the test makes on the fake's own inspection methods (`NetOutRules`,
//   `SetMetrics`, ...) are not activity.
//
// Failure injection
//
//   `FailNext(call, status, {.times, .handle})` makes the next `times`
//   calls of `call` (optionally only those naming `handle`) return `status`
//   before doing anything: no state changes, no activity, no counters other
//   than `CallCount`. `GardenBackendWrapper` (below) forwards every Backend
//   call to another Backend; subclass it to override one call, as with
//   LevelDB's EnvWrapper.
//
// Counters
//
//   `CallCount(call)` counts every call of `call`, failed or not.
//   `GetCounters()` counts what actually happened: containers created,
//   destroyed (Destroy or ReapIdle), processes run.
//
// Threading: every method may be called from any thread, including from a
// process handler (which runs with no fake lock held). Sinks are called
// with only that process's output lock held: they must not call back into
// the same process, but may call the backend. The destructor SIGKILLs every
// running process and joins every handler thread, so a handler must return
// once its context reports it killed (`Killed()`, ReadStdin end of input,
// WaitForSignal); a handler that blocks elsewhere forever hangs the
// destructor. Container and Process handles must not be used once the
// backend is destroyed.
//
// Example:
//
//   FakeClock clock;
//   FakeGardenBackend garden({.clock = &clock});
//   garden.SetProcessHandler("/bin/app", [](FakeProcessContext& ctx) {
//     ctx.WriteStdout("listening\n");
//     ctx.WaitForSignal(absl::InfiniteFuture());  // Until SIGTERM/SIGKILL.
//     return 0;
//   });
//   auto container = garden.Create({.handle = "lrp-1"});
//   auto process = (*container)->Run({.path = "/bin/app"}, {});
//   ASSERT_TRUE((*process)->Signal(garden::Signal::kTerminate).ok());
//   EXPECT_EQ(*(*process)->Wait(absl::InfiniteFuture()), 143);

#ifndef DIEGO_TESTING_FAKE_GARDEN_BACKEND_H_
#define DIEGO_TESTING_FAKE_GARDEN_BACKEND_H_

#include <array>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"
#include "diego/garden/backend.h"
#include "diego/garden/client.h"
#include "diego/garden/spec.h"

namespace diego::fakes {

namespace fake_garden_internal {
class ProcessState;
}  // namespace fake_garden_internal

// What a process handler sees of "its" process. Owned by the backend; valid
// for the duration of the handler call only. Thread-safe.
class FakeProcessContext {
 public:
  FakeProcessContext(const FakeProcessContext&) = delete;
  FakeProcessContext& operator=(const FakeProcessContext&) = delete;

  // The spec given to Run (with the generated id filled in).
  const garden::ProcessSpec& spec() const;
  // The spec of the container the process runs in, as given to Create (with
  // the generated handle filled in).
  const garden::ContainerSpec& container_spec() const;
  const std::string& handle() const;
  const std::string& process_id() const;
  // The process environment: the container's env followed by the spec's.
  std::vector<std::string> Env() const;
  // The tty spec as of the last SetTty (initially spec().tty).
  std::optional<garden::TtySpec> Tty() const;
  // The backend's clock.
  Clock* clock() const;

  // Writes to the process's stdout / stderr (see the file comment). Dropped
  // once the process has exited or been killed.
  void WriteStdout(absl::string_view data);
  void WriteStderr(absl::string_view data);

  // Blocks until input is available, then returns everything buffered.
  // Returns nullopt at end of input (stdin closed and drained) or once the
  // process has been killed.
  std::optional<std::string> ReadStdin();
  // Reads until end of input (or the kill) and returns everything read.
  std::string ReadAllStdin();

  // From now on SIGTERM is queued for WaitForSignal instead of killing the
  // process. SIGKILL always kills.
  void CatchSignals();

  // Waits until a signal arrives or `deadline` passes on the backend's
  // clock (finite deadlines use Clock::SleepUntil; InfiniteFuture does not
  // touch the clock). Returns the signal (consuming a queued one), the
  // signal that killed the process when it has been killed, or nullopt when
  // the deadline passed first. Doubles as "sleep until `deadline` unless
  // signalled".
  std::optional<garden::Signal> WaitForSignal(absl::Time deadline);

  // True once the process has been killed by a signal.
  bool Killed() const;

 private:
  friend class fake_garden_internal::ProcessState;
  explicit FakeProcessContext(fake_garden_internal::ProcessState* state);

  fake_garden_internal::ProcessState* state_;
};

// Scripts one process: runs on the process's own thread, returns its exit
// status.
using FakeProcessHandler = std::function<int(FakeProcessContext& ctx)>;

// One StreamIn call, as recorded.
struct FakeStreamIn {
  std::string path;
  std::string user;
  std::string tar;
};

// A stateful in-memory Garden backend; see the file comment.
class FakeGardenBackend : public garden::Backend {
 public:
  // What happens when Run names a path that has no handler.
  enum class UnknownPath { kExitZero, kExecutableNotFound };

  struct Options {
    // Time source for grace time, Wait/WaitForSignal deadlines, Stop's
    // grace period and metrics age. Not owned; null = Clock::Real().
    Clock* clock = nullptr;
    // 0 = unlimited.
    uint64_t max_containers = 0;
    // Returned by GetCapacity, whose max_containers is the number of /30s
    // in network_pool, or max_containers when that is smaller and non-zero.
    uint64_t memory_in_bytes = uint64_t{8} << 30;
    uint64_t disk_in_bytes = uint64_t{64} << 30;
    uint64_t schedulable_disk_in_bytes = uint64_t{64} << 30;
    // Container subnets (/30 each) are carved from this IPv4 CIDR.
    std::string network_pool = "10.254.0.0/22";
    std::string external_ip = "10.0.0.1";
    // Info().container_path is depot_dir + "/" + handle.
    std::string depot_dir = "/var/vcap/data/garden/depot";
    // NetIn host ports for "0": [port_pool_start, port_pool_start + size).
    uint32_t port_pool_start = 61001;
    uint32_t port_pool_size = 4535;
    UnknownPath unknown_path = UnknownPath::kExitZero;
  };

  // Every Backend call, for FailNext and CallCount. Container calls are
  // counted per call whatever the handle; CurrentLimits covers the four
  // Current*Limits getters, Properties covers GetProperties, GetProperty,
  // SetProperty and RemoveProperty; Wait, Signal and Stdin (WriteStdin,
  // CloseStdin, SetTty) are Process calls.
  enum class Call : int {
    kStart = 0,
    kPing,
    kCapacity,
    kCreate,
    kDestroy,
    kContainers,
    kLookup,
    kBulkInfo,
    kBulkMetrics,
    kGraceTime,
    kStop,
    kInfo,
    kStreamIn,
    kStreamOut,
    kCurrentLimits,
    kNetIn,
    kNetOut,
    kBulkNetOut,
    kRun,
    kAttach,
    kMetrics,
    kSetGraceTime,
    kProperties,
    kWait,
    kSignal,
    kStdin,
  };
  static constexpr int kNumCalls = static_cast<int>(Call::kStdin) + 1;

  struct FailOptions {
    // How many calls fail; each failure uses one.
    int times = 1;
    // Non-empty: only calls naming this container fail (and use a count);
    // a BulkInfo/BulkMetrics call matches when the handle is among those it
    // asks for. Calls that name no container (Ping, Containers, ...) never
    // match a non-empty handle.
    std::string handle;
  };

  // Successful operations (not attempts; see CallCount).
  struct Counters {
    int64_t containers_created = 0;
    int64_t containers_destroyed = 0;  // by Destroy or ReapIdle
    int64_t processes_run = 0;
  };

  FakeGardenBackend();
  explicit FakeGardenBackend(Options options);
  FakeGardenBackend(const FakeGardenBackend&) = delete;
  FakeGardenBackend& operator=(const FakeGardenBackend&) = delete;
  // Kills every running process and joins every handler thread.
  ~FakeGardenBackend() override;

  // --- Scripting -----------------------------------------------------------

  // Runs `handler` for every Run whose spec.path equals `path` (replacing
  // an earlier handler for it).
  void SetProcessHandler(absl::string_view path, FakeProcessHandler handler);
  // Runs `handler` for paths without a handler of their own; an empty
  // function restores Options::unknown_path.
  void SetDefaultProcessHandler(FakeProcessHandler handler);
  void SetUnknownPathBehavior(UnknownPath behavior);

  // The next `options.times` calls of `call` return `status` (which must not
  // be OK). Failures queued for the same call are used in order.
  void FailNext(Call call, absl::Status status, FailOptions options);
  // Same, with FailOptions' defaults (the next call, any container).
  void FailNext(Call call, absl::Status status);
  // Drops every queued failure.
  void ClearFailures();

  // Sets the metrics GetMetrics returns for `handle`.
  absl::Status SetMetrics(absl::string_view handle, const garden::Metrics& metrics);
  // Appends an event (e.g. "out of memory") to Info().events.
  absl::Status AddEvent(absl::string_view handle, absl::string_view event);
  // Makes StreamOut(path) of `handle` return `tar` (until the next StreamIn
  // at that path).
  absl::Status SetStreamOutContent(absl::string_view handle, absl::string_view path,
                                   absl::string_view tar);

  // Destroys every container whose grace time has passed without activity;
  // returns their handles in handle order.
  std::vector<std::string> ReapIdle();

  // --- Inspection (not activity) -------------------------------------------

  // Every ProcessSpec given to Run in containers named `handle` (including
  // destroyed ones, and Runs that failed after reaching the container, but
  // not those failed by FailNext), in call order, as given (an empty id stays
  // empty).
  std::vector<garden::ProcessSpec> ProcessSpecs(absl::string_view handle) const;
  // Every StreamIn call to containers named `handle`, in call order.
  std::vector<FakeStreamIn> StreamIns(absl::string_view handle) const;
  // The container's recorded net-out rules (spec, NetOut, BulkNetOut).
  absl::StatusOr<std::vector<garden::NetOutRule>> NetOutRules(absl::string_view handle) const;
  // The container's spec as created (generated handle filled in).
  absl::StatusOr<garden::ContainerSpec> ContainerSpecOf(absl::string_view handle) const;
  // Handles of the existing containers, sorted.
  std::vector<std::string> Handles() const;
  // The exit status of a process of `handle` once it has exited; nullopt
  // while it runs; ContainerNotFoundError / ProcessNotFoundError for an
  // unknown handle / id.
  absl::StatusOr<std::optional<int>> ExitStatus(absl::string_view handle,
                                                absl::string_view process_id) const;
  // Blocks (real time) until `n` processes have been run since construction.
  void BlockUntilProcessesRun(int64_t n);
  int64_t CallCount(Call call) const;
  Counters GetCounters() const;

  // --- garden::Backend -----------------------------------------------------
  //
  // As described in the file comment. Start() succeeds (unless injected) and
  // need not be called; Stop() does nothing (there is no background work).

  absl::Status Start() override;
  void Stop() override;
  absl::StatusOr<absl::Duration> GraceTime(absl::string_view handle) override;
  absl::Status Ping() override;
  absl::StatusOr<garden::Capacity> GetCapacity() override;
  absl::StatusOr<std::unique_ptr<garden::Container>> Create(
      const garden::ContainerSpec& spec) override;
  absl::Status Destroy(absl::string_view handle) override;
  absl::StatusOr<std::vector<std::unique_ptr<garden::Container>>> Containers(
      const garden::Properties& filter) override;
  absl::StatusOr<std::unique_ptr<garden::Container>> Lookup(absl::string_view handle) override;
  absl::StatusOr<garden::BulkInfoResult> BulkInfo(
      const std::vector<std::string>& handles) override;
  absl::StatusOr<garden::BulkMetricsResult> BulkMetrics(
      const std::vector<std::string>& handles) override;

 private:
  class FakeContainer;
  class FakeProcess;
  friend class FakeContainer;
  friend class FakeProcess;
  struct ContainerState;
  struct Injected {
    absl::Status status;
    int times;
    std::string handle;
  };
  struct Worker {
    std::thread thread;
    std::shared_ptr<fake_garden_internal::ProcessState> process;
  };

  // Counts the call; returns the first queued failure for it whose handle
  // filter is empty or among `handles`.
  absl::Status Enter(Call call, const std::vector<absl::string_view>& handles)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Enter(Call call, absl::string_view handle) ABSL_LOCKS_EXCLUDED(mu_);
  // Enter, then the container must exist; stamps activity.
  absl::Status EnterContainer(Call call, absl::string_view handle) ABSL_LOCKS_EXCLUDED(mu_);
  ContainerState* FindLocked(absl::string_view handle) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const ContainerState* FindLocked(absl::string_view handle) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // FindLocked, or Garden's ContainerNotFoundError when there is none.
  absl::StatusOr<ContainerState*> GetLocked(absl::string_view handle)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<const ContainerState*> GetLocked(absl::string_view handle) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The process `process_id` of container `handle`; Garden's not-found
  // errors for either.
  absl::StatusOr<std::shared_ptr<fake_garden_internal::ProcessState>> FindProcess(
      absl::string_view handle, absl::string_view process_id) const ABSL_LOCKS_EXCLUDED(mu_);
  void TouchLocked(ContainerState* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Touch(absl::string_view handle) ABSL_LOCKS_EXCLUDED(mu_);
  garden::ContainerInfo InfoLocked(const ContainerState& c) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  garden::Metrics MetricsLocked(const ContainerState& c) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::StatusOr<garden::PortMapping> NetInLocked(ContainerState* c, uint32_t host_port,
                                                  uint32_t container_port)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets the container and SIGKILLs its processes (outside mu_). False
  // when there was no such container.
  bool DestroyContainer(absl::string_view handle) ABSL_LOCKS_EXCLUDED(mu_);
  void JoinFinishedWorkersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Container operations, called by FakeContainer.
  absl::Status StopContainer(absl::string_view handle, bool kill);
  absl::StatusOr<garden::ContainerInfo> ContainerInfo(absl::string_view handle);
  absl::Status StreamIn(absl::string_view handle, absl::string_view path,
                        absl::string_view user, absl::string_view tar);
  absl::StatusOr<std::string> StreamOut(absl::string_view handle, absl::string_view path);
  absl::StatusOr<garden::Limits> ContainerLimits(absl::string_view handle);
  absl::StatusOr<garden::PortMapping> NetIn(absl::string_view handle, uint32_t host_port,
                                            uint32_t container_port);
  absl::Status NetOut(absl::string_view handle, Call call,
                      const std::vector<garden::NetOutRule>& rules);
  absl::StatusOr<std::unique_ptr<garden::Process>> Run(absl::string_view handle,
                                                       const garden::ProcessSpec& spec,
                                                       garden::ProcessIO io);
  absl::StatusOr<std::unique_ptr<garden::Process>> Attach(absl::string_view handle,
                                                          absl::string_view process_id,
                                                          garden::ProcessIO io);
  absl::StatusOr<garden::Metrics> ContainerMetrics(absl::string_view handle);
  absl::Status SetContainerGraceTime(absl::string_view handle, absl::Duration grace_time);
  absl::StatusOr<garden::Properties> GetProperties(absl::string_view handle);
  absl::StatusOr<std::string> GetProperty(absl::string_view handle, absl::string_view name);
  absl::Status SetProperty(absl::string_view handle, absl::string_view name,
                           absl::string_view value);
  absl::Status RemoveProperty(absl::string_view handle, absl::string_view name);

  const Options options_;
  Clock* const clock_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<ContainerState>, std::less<>> containers_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, FakeProcessHandler, std::less<>> handlers_ ABSL_GUARDED_BY(mu_);
  FakeProcessHandler default_handler_ ABSL_GUARDED_BY(mu_);
  UnknownPath unknown_path_ ABSL_GUARDED_BY(mu_);
  std::array<std::list<Injected>, kNumCalls> injected_ ABSL_GUARDED_BY(mu_);
  std::array<int64_t, kNumCalls> call_counts_ ABSL_GUARDED_BY(mu_) = {};
  Counters counters_ ABSL_GUARDED_BY(mu_);
  // Records that outlive their containers, keyed by handle.
  std::map<std::string, std::vector<garden::ProcessSpec>, std::less<>> process_specs_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<FakeStreamIn>, std::less<>> stream_ins_
      ABSL_GUARDED_BY(mu_);
  uint32_t next_host_port_ ABSL_GUARDED_BY(mu_);
  // Fixed seed: generated handles and process ids repeat from run to run.
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_){0x6761726465ull};
  uint32_t pool_base_ = 0;     // network_pool's first address (host order)
  uint32_t pool_subnets_ = 0;  // number of /30s in it
  std::list<Worker> workers_ ABSL_GUARDED_BY(mu_);
};

// Forwards every garden::Backend call to `target` (not owned, must outlive
// the wrapper). Subclass and override the calls a test wants to change, as
// with LevelDB's EnvWrapper:
//
//   class FlakyCreate : public GardenBackendWrapper {
//    public:
//     using GardenBackendWrapper::GardenBackendWrapper;
//     absl::StatusOr<std::unique_ptr<garden::Container>> Create(
//         const garden::ContainerSpec& spec) override {
//       if (++calls_ == 1) return absl::UnavailableError("flaky");
//       return GardenBackendWrapper::Create(spec);
//     }
//    private:
//     int calls_ = 0;
//   };
//
// Containers come from the target unchanged; to change container calls,
// override Create/Lookup/Containers and wrap what the target returns in a
// `ContainerWrapper` subclass.
class GardenBackendWrapper : public garden::Backend {
 public:
  explicit GardenBackendWrapper(garden::Backend* target) : target_(target) {}

  garden::Backend* target() const { return target_; }

  // garden::Backend: each forwards to target().
  absl::Status Start() override;
  void Stop() override;
  absl::StatusOr<absl::Duration> GraceTime(absl::string_view handle) override;
  absl::Status Ping() override;
  absl::StatusOr<garden::Capacity> GetCapacity() override;
  absl::StatusOr<std::unique_ptr<garden::Container>> Create(
      const garden::ContainerSpec& spec) override;
  absl::Status Destroy(absl::string_view handle) override;
  absl::StatusOr<std::vector<std::unique_ptr<garden::Container>>> Containers(
      const garden::Properties& filter) override;
  absl::StatusOr<std::unique_ptr<garden::Container>> Lookup(absl::string_view handle) override;
  absl::StatusOr<garden::BulkInfoResult> BulkInfo(
      const std::vector<std::string>& handles) override;
  absl::StatusOr<garden::BulkMetricsResult> BulkMetrics(
      const std::vector<std::string>& handles) override;

 private:
  garden::Backend* const target_;
};

// Forwards every garden::Container call to an owned `target`. Subclass to
// override single calls (e.g. make StreamIn fail for one path), and return
// the subclass from a GardenBackendWrapper's Create/Lookup.
class ContainerWrapper : public garden::Container {
 public:
  explicit ContainerWrapper(std::unique_ptr<garden::Container> target)
      : target_(std::move(target)) {}

  garden::Container* target() const { return target_.get(); }

  // garden::Container: each forwards to target().
  std::string Handle() const override;
  absl::Status Stop(bool kill) override;
  absl::StatusOr<garden::ContainerInfo> Info() override;
  absl::Status StreamIn(absl::string_view path, absl::string_view user,
                        absl::string_view tar) override;
  absl::StatusOr<std::string> StreamOut(absl::string_view path, absl::string_view user) override;
  absl::StatusOr<garden::BandwidthLimits> CurrentBandwidthLimits() override;
  absl::StatusOr<garden::CpuLimits> CurrentCpuLimits() override;
  absl::StatusOr<garden::DiskLimits> CurrentDiskLimits() override;
  absl::StatusOr<garden::MemoryLimits> CurrentMemoryLimits() override;
  absl::StatusOr<garden::PortMapping> NetIn(uint32_t host_port, uint32_t container_port) override;
  absl::Status NetOut(const garden::NetOutRule& rule) override;
  absl::Status BulkNetOut(const std::vector<garden::NetOutRule>& rules) override;
  absl::StatusOr<std::unique_ptr<garden::Process>> Run(const garden::ProcessSpec& spec,
                                                       garden::ProcessIO io) override;
  absl::StatusOr<std::unique_ptr<garden::Process>> Attach(absl::string_view process_id,
                                                          garden::ProcessIO io) override;
  absl::StatusOr<garden::Metrics> GetMetrics() override;
  absl::Status SetGraceTime(absl::Duration grace_time) override;
  absl::StatusOr<garden::Properties> GetProperties() override;
  absl::StatusOr<std::string> GetProperty(absl::string_view name) override;
  absl::Status SetProperty(absl::string_view name, absl::string_view value) override;
  absl::Status RemoveProperty(absl::string_view name) override;

 private:
  std::unique_ptr<garden::Container> target_;
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_FAKE_GARDEN_BACKEND_H_
