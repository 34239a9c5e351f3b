// Copyright 2026 The libdiego Authors.

#include "diego/testing/fake_garden_backend.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/base/guid.h"
#include "diego/base/status_macros.h"
#include "diego/garden/errors.h"

namespace diego::fakes {
namespace fake_garden_internal {

// Kept output per stream, for Attach replays.
constexpr size_t kKeptOutputBytes = 64 * 1024;

// One process: its stdin, signals, output and exit. Shared by the handler
// thread, the Process handles and the backend. Lock order: out_mu_, then mu_.
class ProcessState {
 public:
  ProcessState(std::string id, garden::ContainerSpec container_spec, garden::ProcessSpec spec,
               Clock* clock, std::function<void()> on_activity)
      : id_(std::move(id)),
        container_spec_(std::move(container_spec)),
        spec_(std::move(spec)),
        clock_(clock),
        on_activity_(std::move(on_activity)),
        context_(this),
        tty_(spec_.tty),
        wake_(std::make_shared<absl::Notification>()) {
    spec_.id = id_;
  }

  const std::string& id() const { return id_; }
  const std::string& handle() const { return container_spec_.handle; }
  const garden::ProcessSpec& spec() const { return spec_; }
  const garden::ContainerSpec& container_spec() const { return container_spec_; }
  Clock* clock() const { return clock_; }
  FakeProcessContext& context() { return context_; }

  // --- Set up before the handler starts ---

  void InitStdin(const std::optional<std::string>& data) {
    absl::MutexLock lock(&mu_);
    if (data.has_value()) {
      stdin_ = *data;
      stdin_closed_ = true;
      stdin_from_data_ = true;
    }
  }

  // Replays the kept output to `io`'s sinks and, while the process runs,
  // delivers later output to them too.
  void AttachIo(const garden::ProcessIO& io) {
    absl::MutexLock out_lock(&out_mu_);
    if (io.stdout_sink && !kept_stdout_.empty()) {
      io.stdout_sink(kept_stdout_);
    }
    if (io.stderr_sink && !kept_stderr_.empty()) {
      io.stderr_sink(kept_stderr_);
    }
    bool exited;
    {
      absl::MutexLock lock(&mu_);
      exited = exited_;
    }
    if (!exited) {
      if (io.stdout_sink) {
        stdout_sinks_.push_back(io.stdout_sink);
      }
      if (io.stderr_sink) {
        stderr_sinks_.push_back(io.stderr_sink);
      }
    }
  }

  // --- Handler side ---

  void Write(bool is_stdout, absl::string_view data) {
    if (data.empty()) {
      return;
    }
    bool delivered = false;
    {
      absl::MutexLock out_lock(&out_mu_);
      {
        absl::MutexLock lock(&mu_);
        if (exited_) {
          return;
        }
      }
      std::string& kept = is_stdout ? kept_stdout_ : kept_stderr_;
      kept.append(data.data(), data.size());
      if (kept.size() > kKeptOutputBytes) {
        kept.erase(0, kept.size() - kKeptOutputBytes);
      }
      for (const auto& sink : is_stdout ? stdout_sinks_ : stderr_sinks_) {
        sink(data);
        delivered = true;
      }
    }
    if (delivered && on_activity_) {
      on_activity_();
    }
  }

  std::optional<std::string> ReadStdin() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](ProcessState* p) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return !p->stdin_.empty() || p->stdin_closed_ || p->killed_;
        },
        this));
    if (killed_ || stdin_.empty()) {
      return std::nullopt;
    }
    std::string out;
    out.swap(stdin_);
    return out;
  }

  void CatchSignals() {
    absl::MutexLock lock(&mu_);
    catches_signals_ = true;
  }

  std::optional<garden::Signal> WaitForSignal(absl::Time deadline) {
    for (;;) {
      std::shared_ptr<absl::Notification> wake;
      {
        absl::MutexLock lock(&mu_);
        if (!signals_.empty()) {
          garden::Signal s = signals_.front();
          signals_.pop_front();
          return s;
        }
        if (killed_) {
          return kill_signal_;
        }
        wake = wake_;
      }
      if (deadline == absl::InfiniteFuture()) {
        wake->WaitForNotification();
        continue;
      }
      if (clock_->SleepUntil(deadline, wake.get())) {
        absl::MutexLock lock(&mu_);
        if (!signals_.empty()) {
          garden::Signal s = signals_.front();
          signals_.pop_front();
          return s;
        }
        if (killed_) {
          return kill_signal_;
        }
        return std::nullopt;
      }
    }
  }

  bool Killed() const {
    absl::MutexLock lock(&mu_);
    return killed_;
  }

  std::optional<garden::TtySpec> Tty() const {
    absl::MutexLock lock(&mu_);
    return tty_;
  }

  // The handler returned `code`. Ignored when the process was killed.
  void Finish(int code) {
    absl::MutexLock out_lock(&out_mu_);
    absl::MutexLock lock(&mu_);
    if (exited_) {
      return;
    }
    exited_ = true;
    exit_status_ = code;
    stdout_sinks_.clear();
    stderr_sinks_.clear();
    exit_notification_.Notify();
  }

  void MarkHandlerDone() {
    absl::MutexLock lock(&mu_);
    handler_done_ = true;
  }

  bool handler_done() const {
    absl::MutexLock lock(&mu_);
    return handler_done_;
  }

  // --- Client side ---

  void DeliverSignal(garden::Signal signal) {
    absl::MutexLock out_lock(&out_mu_);
    absl::MutexLock lock(&mu_);
    if (exited_) {
      return;
    }
    if (signal == garden::Signal::kTerminate && catches_signals_) {
      signals_.push_back(signal);
      WakeLocked();
      return;
    }
    killed_ = true;
    kill_signal_ = signal;
    exited_ = true;
    exit_status_ = 128 + (signal == garden::Signal::kKill ? 9 : 15);
    stdout_sinks_.clear();
    stderr_sinks_.clear();
    WakeLocked();
    exit_notification_.Notify();
  }

  absl::StatusOr<int> Wait(absl::Time deadline) {
    if (deadline == absl::InfiniteFuture()) {
      exit_notification_.WaitForNotification();
    } else if (!exit_notification_.HasBeenNotified()) {
      clock_->SleepUntil(deadline, &exit_notification_);
    }
    if (!exit_notification_.HasBeenNotified()) {
      return absl::DeadlineExceededError(
          absl::StrCat("waiting for process ", id_, ": deadline exceeded"));
    }
    absl::MutexLock lock(&mu_);
    return exit_status_;
  }

  // True once exited within `deadline` on the clock.
  bool WaitExited(absl::Time deadline) {
    if (!exit_notification_.HasBeenNotified()) {
      clock_->SleepUntil(deadline, &exit_notification_);
    }
    return exit_notification_.HasBeenNotified();
  }

  absl::Status WriteStdin(absl::string_view data) {
    absl::MutexLock lock(&mu_);
    if (stdin_from_data_) {
      return absl::FailedPreconditionError(absl::StrCat(
          "process ", id_, ": stdin was given as ProcessIO::stdin_data"));
    }
    if (stdin_closed_) {
      return absl::FailedPreconditionError(absl::StrCat("process ", id_, ": stdin is closed"));
    }
    if (exited_) {
      return absl::OkStatus();  // Nobody reads it any more.
    }
    stdin_.append(data.data(), data.size());
    return absl::OkStatus();
  }

  absl::Status CloseStdin() {
    absl::MutexLock lock(&mu_);
    stdin_closed_ = true;
    return absl::OkStatus();
  }

  absl::Status SetTty(const garden::TtySpec& tty) {
    absl::MutexLock lock(&mu_);
    if (!spec_.tty.has_value()) {
      return absl::FailedPreconditionError(absl::StrCat("process ", id_, " has no tty"));
    }
    tty_ = tty;
    return absl::OkStatus();
  }

  std::optional<int> exit_status() const {
    absl::MutexLock lock(&mu_);
    if (!exited_) {
      return std::nullopt;
    }
    return exit_status_;
  }

 private:
  void WakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    wake_->Notify();
    wake_ = std::make_shared<absl::Notification>();
  }

  const std::string id_;
  const garden::ContainerSpec container_spec_;
  garden::ProcessSpec spec_;
  Clock* const clock_;
  const std::function<void()> on_activity_;
  FakeProcessContext context_;
  absl::Notification exit_notification_;

  absl::Mutex out_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::string kept_stdout_ ABSL_GUARDED_BY(out_mu_);
  std::string kept_stderr_ ABSL_GUARDED_BY(out_mu_);
  std::vector<std::function<void(absl::string_view)>> stdout_sinks_ ABSL_GUARDED_BY(out_mu_);
  std::vector<std::function<void(absl::string_view)>> stderr_sinks_ ABSL_GUARDED_BY(out_mu_);

  mutable absl::Mutex mu_;
  std::optional<garden::TtySpec> tty_ ABSL_GUARDED_BY(mu_);
  std::string stdin_ ABSL_GUARDED_BY(mu_);
  bool stdin_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stdin_from_data_ ABSL_GUARDED_BY(mu_) = false;
  bool catches_signals_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<garden::Signal> signals_ ABSL_GUARDED_BY(mu_);
  // Replaced after every notification, so each wait sees a fresh one.
  std::shared_ptr<absl::Notification> wake_ ABSL_GUARDED_BY(mu_);
  bool killed_ ABSL_GUARDED_BY(mu_) = false;
  garden::Signal kill_signal_ ABSL_GUARDED_BY(mu_) = garden::Signal::kKill;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  int exit_status_ ABSL_GUARDED_BY(mu_) = 0;
  bool handler_done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fake_garden_internal

using fake_garden_internal::ProcessState;

namespace {

constexpr absl::Duration kStopGracePeriod = absl::Seconds(10);

std::string FormatIp(uint32_t ip) {
  return absl::StrCat(ip >> 24, ".", (ip >> 16) & 0xff, ".", (ip >> 8) & 0xff, ".", ip & 0xff);
}

std::optional<uint32_t> ParseIp(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 4) {
    return std::nullopt;
  }
  uint32_t ip = 0;
  for (absl::string_view part : parts) {
    uint32_t octet;
    if (part.empty() || part.size() > 3 || !absl::SimpleAtoi(part, &octet) || octet > 255) {
      return std::nullopt;
    }
    ip = (ip << 8) | octet;
  }
  return ip;
}

struct Cidr {
  uint32_t ip = 0;
  int prefix = 32;
};

std::optional<Cidr> ParseCidr(absl::string_view text) {
  Cidr cidr;
  size_t slash = text.find('/');
  std::optional<uint32_t> ip = ParseIp(text.substr(0, slash));
  if (!ip.has_value()) {
    return std::nullopt;
  }
  cidr.ip = *ip;
  if (slash != absl::string_view::npos) {
    int prefix;
    if (!absl::SimpleAtoi(text.substr(slash + 1), &prefix) || prefix < 0 || prefix > 32) {
      return std::nullopt;
    }
    cidr.prefix = prefix;
  }
  return cidr;
}

uint32_t MaskOf(int prefix) { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }

}  // namespace

// --- FakeProcessContext ------------------------------------------------------

FakeProcessContext::FakeProcessContext(ProcessState* state) : state_(state) {}
const garden::ProcessSpec& FakeProcessContext::spec() const { return state_->spec(); }
const garden::ContainerSpec& FakeProcessContext::container_spec() const {
  return state_->container_spec();
}
const std::string& FakeProcessContext::handle() const { return state_->handle(); }
const std::string& FakeProcessContext::process_id() const { return state_->id(); }
std::vector<std::string> FakeProcessContext::Env() const {
  std::vector<std::string> env = state_->container_spec().env;
  env.insert(env.end(), state_->spec().env.begin(), state_->spec().env.end());
  return env;
}
std::optional<garden::TtySpec> FakeProcessContext::Tty() const { return state_->Tty(); }
Clock* FakeProcessContext::clock() const { return state_->clock(); }
void FakeProcessContext::WriteStdout(absl::string_view data) { state_->Write(true, data); }
void FakeProcessContext::WriteStderr(absl::string_view data) { state_->Write(false, data); }
std::optional<std::string> FakeProcessContext::ReadStdin() { return state_->ReadStdin(); }
std::string FakeProcessContext::ReadAllStdin() {
  std::string all;
  while (std::optional<std::string> chunk = state_->ReadStdin()) {
    all += *chunk;
  }
  return all;
}
void FakeProcessContext::CatchSignals() { state_->CatchSignals(); }
std::optional<garden::Signal> FakeProcessContext::WaitForSignal(absl::Time deadline) {
  return state_->WaitForSignal(deadline);
}
bool FakeProcessContext::Killed() const { return state_->Killed(); }

// --- Container state, Container and Process handles --------------------------

struct FakeGardenBackend::ContainerState {
  garden::ContainerSpec spec;
  std::string state = "active";
  std::vector<std::string> events;
  uint32_t container_ip = 0;
  uint32_t host_ip = 0;
  std::vector<garden::PortMapping> mapped_ports;
  std::vector<garden::NetOutRule> net_out;
  garden::Properties properties;
  absl::Duration grace_time;
  absl::Time created;
  absl::Time last_activity;
  std::optional<garden::Metrics> metrics;
  std::map<std::string, std::string, std::less<>> tars;  // path -> tar
  std::vector<std::shared_ptr<ProcessState>> processes;  // start order
};

class FakeGardenBackend::FakeProcess final : public garden::Process {
 public:
  FakeProcess(FakeGardenBackend* backend, std::shared_ptr<ProcessState> state)
      : backend_(backend), state_(std::move(state)) {}

  std::string Id() const override { return state_->id(); }

  absl::StatusOr<int> Wait(absl::Time deadline) override {
    DIEGO_RETURN_IF_ERROR(backend_->Enter(Call::kWait, state_->handle()));
    backend_->Touch(state_->handle());
    return state_->Wait(deadline);
  }
  absl::Status Signal(garden::Signal signal) override {
    DIEGO_RETURN_IF_ERROR(backend_->Enter(Call::kSignal, state_->handle()));
    backend_->Touch(state_->handle());
    state_->DeliverSignal(signal);
    return absl::OkStatus();
  }
  absl::Status WriteStdin(absl::string_view data) override {
    DIEGO_RETURN_IF_ERROR(backend_->Enter(Call::kStdin, state_->handle()));
    backend_->Touch(state_->handle());
    return state_->WriteStdin(data);
  }
  absl::Status CloseStdin() override {
    DIEGO_RETURN_IF_ERROR(backend_->Enter(Call::kStdin, state_->handle()));
    backend_->Touch(state_->handle());
    return state_->CloseStdin();
  }
  absl::Status SetTty(const garden::TtySpec& tty) override {
    DIEGO_RETURN_IF_ERROR(backend_->Enter(Call::kStdin, state_->handle()));
    backend_->Touch(state_->handle());
    return state_->SetTty(tty);
  }

 private:
  FakeGardenBackend* const backend_;
  const std::shared_ptr<ProcessState> state_;
};

class FakeGardenBackend::FakeContainer final : public garden::Container {
 public:
  FakeContainer(FakeGardenBackend* backend, std::string handle)
      : backend_(backend), handle_(std::move(handle)) {}

  std::string Handle() const override { return handle_; }
  absl::Status Stop(bool kill) override { return backend_->StopContainer(handle_, kill); }
  absl::StatusOr<garden::ContainerInfo> Info() override { return backend_->ContainerInfo(handle_); }
  absl::Status StreamIn(absl::string_view path, absl::string_view user,
                        absl::string_view tar) override {
    return backend_->StreamIn(handle_, path, user, tar);
  }
  absl::StatusOr<std::string> StreamOut(absl::string_view path, absl::string_view) override {
    return backend_->StreamOut(handle_, path);
  }
  absl::StatusOr<garden::BandwidthLimits> CurrentBandwidthLimits() override {
    DIEGO_ASSIGN_OR_RETURN(garden::Limits limits, backend_->ContainerLimits(handle_));
    return limits.bandwidth;
  }
  absl::StatusOr<garden::CpuLimits> CurrentCpuLimits() override {
    DIEGO_ASSIGN_OR_RETURN(garden::Limits limits, backend_->ContainerLimits(handle_));
    return limits.cpu;
  }
  absl::StatusOr<garden::DiskLimits> CurrentDiskLimits() override {
    DIEGO_ASSIGN_OR_RETURN(garden::Limits limits, backend_->ContainerLimits(handle_));
    return limits.disk;
  }
  absl::StatusOr<garden::MemoryLimits> CurrentMemoryLimits() override {
    DIEGO_ASSIGN_OR_RETURN(garden::Limits limits, backend_->ContainerLimits(handle_));
    return limits.memory;
  }
  absl::StatusOr<garden::PortMapping> NetIn(uint32_t host_port, uint32_t container_port) override {
    return backend_->NetIn(handle_, host_port, container_port);
  }
  absl::Status NetOut(const garden::NetOutRule& rule) override {
    return backend_->NetOut(handle_, Call::kNetOut, {rule});
  }
  absl::Status BulkNetOut(const std::vector<garden::NetOutRule>& rules) override {
    return backend_->NetOut(handle_, Call::kBulkNetOut, rules);
  }
  absl::StatusOr<std::unique_ptr<garden::Process>> Run(const garden::ProcessSpec& spec,
                                                       garden::ProcessIO io) override {
    return backend_->Run(handle_, spec, std::move(io));
  }
  absl::StatusOr<std::unique_ptr<garden::Process>> Attach(absl::string_view process_id,
                                                          garden::ProcessIO io) override {
    return backend_->Attach(handle_, process_id, std::move(io));
  }
  absl::StatusOr<garden::Metrics> GetMetrics() override {
    return backend_->ContainerMetrics(handle_);
  }
  absl::Status SetGraceTime(absl::Duration grace_time) override {
    return backend_->SetContainerGraceTime(handle_, grace_time);
  }
  absl::StatusOr<garden::Properties> GetProperties() override {
    return backend_->GetProperties(handle_);
  }
  absl::StatusOr<std::string> GetProperty(absl::string_view name) override {
    return backend_->GetProperty(handle_, name);
  }
  absl::Status SetProperty(absl::string_view name, absl::string_view value) override {
    return backend_->SetProperty(handle_, name, value);
  }
  absl::Status RemoveProperty(absl::string_view name) override {
    return backend_->RemoveProperty(handle_, name);
  }

 private:
  FakeGardenBackend* const backend_;
  const std::string handle_;
};

// --- FakeGardenBackend: construction and scripting ----------------------------

FakeGardenBackend::FakeGardenBackend() : FakeGardenBackend(Options()) {}

FakeGardenBackend::FakeGardenBackend(Options options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : Clock::Real()),
      unknown_path_(options_.unknown_path),
      next_host_port_(options_.port_pool_start) {
  std::optional<Cidr> pool = ParseCidr(options_.network_pool);
  if (pool.has_value() && pool->prefix <= 30) {
    pool_base_ = pool->ip & MaskOf(pool->prefix);
    pool_subnets_ = uint32_t{1} << (30 - pool->prefix);
  }
}

FakeGardenBackend::~FakeGardenBackend() {
  std::list<Worker> workers;
  {
    absl::MutexLock lock(&mu_);
    workers.swap(workers_);
  }
  for (Worker& worker : workers) {
    worker.process->DeliverSignal(garden::Signal::kKill);
  }
  for (Worker& worker : workers) {
    worker.thread.join();
  }
}

void FakeGardenBackend::SetProcessHandler(absl::string_view path, FakeProcessHandler handler) {
  absl::MutexLock lock(&mu_);
  handlers_[std::string(path)] = std::move(handler);
}

void FakeGardenBackend::SetDefaultProcessHandler(FakeProcessHandler handler) {
  absl::MutexLock lock(&mu_);
  default_handler_ = std::move(handler);
}

void FakeGardenBackend::SetUnknownPathBehavior(UnknownPath behavior) {
  absl::MutexLock lock(&mu_);
  unknown_path_ = behavior;
}

void FakeGardenBackend::FailNext(Call call, absl::Status status, FailOptions options) {
  if (status.ok() || options.times <= 0) {
    return;
  }
  absl::MutexLock lock(&mu_);
  injected_[static_cast<int>(call)].push_back(
      Injected{std::move(status), options.times, std::move(options.handle)});
}

void FakeGardenBackend::FailNext(Call call, absl::Status status) {
  FailNext(call, std::move(status), FailOptions());
}

void FakeGardenBackend::ClearFailures() {
  absl::MutexLock lock(&mu_);
  for (auto& list : injected_) {
    list.clear();
  }
}

absl::Status FakeGardenBackend::SetMetrics(absl::string_view handle,
                                           const garden::Metrics& metrics) {
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
  c->metrics = metrics;
  return absl::OkStatus();
}

absl::Status FakeGardenBackend::AddEvent(absl::string_view handle, absl::string_view event) {
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
  c->events.emplace_back(event);
  return absl::OkStatus();
}

absl::Status FakeGardenBackend::SetStreamOutContent(absl::string_view handle,
                                                    absl::string_view path,
                                                    absl::string_view tar) {
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
  c->tars[std::string(path)] = std::string(tar);
  return absl::OkStatus();
}

std::vector<std::string> FakeGardenBackend::ReapIdle() {
  std::vector<std::string> expired;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (const auto& [handle, c] : containers_) {
      if (c->grace_time > absl::ZeroDuration() && now - c->last_activity >= c->grace_time) {
        expired.push_back(handle);
      }
    }
  }
  std::vector<std::string> reaped;
  for (const std::string& handle : expired) {
    if (DestroyContainer(handle)) {
      reaped.push_back(handle);
    }
  }
  return reaped;
}

// --- Inspection ----------------------------------------------------------------

std::vector<garden::ProcessSpec> FakeGardenBackend::ProcessSpecs(absl::string_view handle) const {
  absl::MutexLock lock(&mu_);
  auto it = process_specs_.find(handle);
  return it == process_specs_.end() ? std::vector<garden::ProcessSpec>() : it->second;
}

std::vector<FakeStreamIn> FakeGardenBackend::StreamIns(absl::string_view handle) const {
  absl::MutexLock lock(&mu_);
  auto it = stream_ins_.find(handle);
  return it == stream_ins_.end() ? std::vector<FakeStreamIn>() : it->second;
}

absl::StatusOr<std::vector<garden::NetOutRule>> FakeGardenBackend::NetOutRules(
    absl::string_view handle) const {
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(const ContainerState* c, GetLocked(handle));
  return c->net_out;
}

absl::StatusOr<garden::ContainerSpec> FakeGardenBackend::ContainerSpecOf(
    absl::string_view handle) const {
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(const ContainerState* c, GetLocked(handle));
  return c->spec;
}

std::vector<std::string> FakeGardenBackend::Handles() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> handles;
  for (const auto& [handle, c] : containers_) {
    handles.push_back(handle);
  }
  return handles;
}

absl::StatusOr<std::optional<int>> FakeGardenBackend::ExitStatus(
    absl::string_view handle, absl::string_view process_id) const {
  DIEGO_ASSIGN_OR_RETURN(std::shared_ptr<ProcessState> process,
                         FindProcess(handle, process_id));
  return process->exit_status();
}

void FakeGardenBackend::BlockUntilProcessesRun(int64_t n) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return counters_.processes_run >= n;
  };
  mu_.Await(absl::Condition(&enough));
}

int64_t FakeGardenBackend::CallCount(Call call) const {
  absl::MutexLock lock(&mu_);
  return call_counts_[static_cast<int>(call)];
}

FakeGardenBackend::Counters FakeGardenBackend::GetCounters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

// --- Internals -----------------------------------------------------------------

absl::Status FakeGardenBackend::Enter(Call call, const std::vector<absl::string_view>& handles) {
  absl::MutexLock lock(&mu_);
  const int index = static_cast<int>(call);
  ++call_counts_[index];
  std::list<Injected>& queue = injected_[index];
  for (auto it = queue.begin(); it != queue.end(); ++it) {
    if (!it->handle.empty() &&
        std::find(handles.begin(), handles.end(), it->handle) == handles.end()) {
      continue;
    }
    absl::Status status = it->status;
    if (--it->times <= 0) {
      queue.erase(it);
    }
    return status;
  }
  return absl::OkStatus();
}

absl::Status FakeGardenBackend::Enter(Call call, absl::string_view handle) {
  return Enter(call, std::vector<absl::string_view>{handle});
}

absl::Status FakeGardenBackend::EnterContainer(Call call, absl::string_view handle) {
  DIEGO_RETURN_IF_ERROR(Enter(call, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
  TouchLocked(c);
  return absl::OkStatus();
}

FakeGardenBackend::ContainerState* FakeGardenBackend::FindLocked(absl::string_view handle) {
  auto it = containers_.find(handle);
  return it == containers_.end() ? nullptr : it->second.get();
}

const FakeGardenBackend::ContainerState* FakeGardenBackend::FindLocked(
    absl::string_view handle) const {
  auto it = containers_.find(handle);
  return it == containers_.end() ? nullptr : it->second.get();
}

absl::StatusOr<FakeGardenBackend::ContainerState*> FakeGardenBackend::GetLocked(
    absl::string_view handle) {
  ContainerState* c = FindLocked(handle);
  if (c == nullptr) {
    return garden::ContainerNotFoundError(handle);
  }
  return c;
}

absl::StatusOr<const FakeGardenBackend::ContainerState*> FakeGardenBackend::GetLocked(
    absl::string_view handle) const {
  const ContainerState* c = FindLocked(handle);
  if (c == nullptr) {
    return garden::ContainerNotFoundError(handle);
  }
  return c;
}

absl::StatusOr<std::shared_ptr<ProcessState>> FakeGardenBackend::FindProcess(
    absl::string_view handle, absl::string_view process_id) const {
  std::shared_ptr<ProcessState> process;
  {
    absl::MutexLock lock(&mu_);
    DIEGO_ASSIGN_OR_RETURN(const ContainerState* c, GetLocked(handle));
    for (const auto& p : c->processes) {
      if (p->id() == process_id) {
        process = p;
      }
    }
  }
  if (process == nullptr) {
    return garden::ProcessNotFoundError(process_id);
  }
  return process;
}

void FakeGardenBackend::TouchLocked(ContainerState* c) { c->last_activity = clock_->Now(); }

void FakeGardenBackend::Touch(absl::string_view handle) {
  absl::MutexLock lock(&mu_);
  if (ContainerState* c = FindLocked(handle)) {
    TouchLocked(c);
  }
}

garden::ContainerInfo FakeGardenBackend::InfoLocked(const ContainerState& c) {
  garden::ContainerInfo info;
  info.state = c.state;
  info.events = c.events;
  info.host_ip = FormatIp(c.host_ip);
  info.container_ip = FormatIp(c.container_ip);
  info.external_ip = options_.external_ip;
  info.container_path = absl::StrCat(options_.depot_dir, "/", c.spec.handle);
  for (const auto& p : c.processes) {
    if (!p->exit_status().has_value()) {
      info.process_ids.push_back(p->id());
    }
  }
  info.properties = c.properties;
  info.mapped_ports = c.mapped_ports;
  return info;
}

garden::Metrics FakeGardenBackend::MetricsLocked(const ContainerState& c) {
  garden::Metrics metrics = c.metrics.value_or(garden::Metrics());
  if (metrics.age == absl::ZeroDuration()) {
    metrics.age = clock_->Now() - c.created;
  }
  return metrics;
}

absl::StatusOr<garden::PortMapping> FakeGardenBackend::NetInLocked(ContainerState* c,
                                                                   uint32_t host_port,
                                                                   uint32_t container_port) {
  if (host_port == 0) {
    if (next_host_port_ >= options_.port_pool_start + options_.port_pool_size) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "net in: port pool exhausted (", options_.port_pool_size, " ports from ",
          options_.port_pool_start, ")"));
    }
    host_port = next_host_port_++;
  }
  if (container_port == 0) {
    container_port = host_port;
  }
  garden::PortMapping mapping{host_port, container_port};
  c->mapped_ports.push_back(mapping);
  return mapping;
}

bool FakeGardenBackend::DestroyContainer(absl::string_view handle) {
  std::vector<std::shared_ptr<ProcessState>> processes;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(handle);
    if (it == containers_.end()) {
      return false;
    }
    processes = std::move(it->second->processes);
    containers_.erase(it);
    ++counters_.containers_destroyed;
  }
  for (const auto& p : processes) {
    p->DeliverSignal(garden::Signal::kKill);
  }
  return true;
}

void FakeGardenBackend::JoinFinishedWorkersLocked() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->process->handler_done()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

// --- garden::Backend -------------------------------------------------------------

absl::Status FakeGardenBackend::Start() { return Enter(Call::kStart, absl::string_view()); }

void FakeGardenBackend::Stop() {}

absl::StatusOr<absl::Duration> FakeGardenBackend::GraceTime(absl::string_view handle) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kGraceTime, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(const ContainerState* c, GetLocked(handle));
  return c->grace_time;
}

absl::Status FakeGardenBackend::Ping() { return Enter(Call::kPing, absl::string_view()); }

absl::StatusOr<garden::Capacity> FakeGardenBackend::GetCapacity() {
  DIEGO_RETURN_IF_ERROR(Enter(Call::kCapacity, absl::string_view()));
  garden::Capacity capacity;
  capacity.memory_in_bytes = options_.memory_in_bytes;
  capacity.disk_in_bytes = options_.disk_in_bytes;
  capacity.schedulable_disk_in_bytes = options_.schedulable_disk_in_bytes;
  capacity.max_containers = pool_subnets_;
  if (options_.max_containers > 0 && options_.max_containers < capacity.max_containers) {
    capacity.max_containers = options_.max_containers;
  }
  return capacity;
}

absl::StatusOr<std::unique_ptr<garden::Container>> FakeGardenBackend::Create(
    const garden::ContainerSpec& spec_in) {
  DIEGO_RETURN_IF_ERROR(Enter(Call::kCreate, spec_in.handle));
  absl::MutexLock lock(&mu_);
  garden::ContainerSpec spec = spec_in;
  if (spec.handle.empty()) {
    do {
      spec.handle = GenerateGuid(rng_);
    } while (containers_.count(spec.handle) > 0);
  }
  if (containers_.count(spec.handle) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("Handle '", spec.handle, "' already in use"));
  }
  if (options_.max_containers > 0 && containers_.size() >= options_.max_containers) {
    return absl::ResourceExhaustedError("max containers reached");
  }
  if (spec.grace_time < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("grace_time: must not be negative");
  }

  // Addresses: a /30 per container.
  std::set<uint32_t> used;
  for (const auto& [handle, c] : containers_) {
    used.insert(c->container_ip);
  }
  auto c = std::make_unique<ContainerState>();
  auto pick_in = [&](uint32_t base, uint32_t subnets) -> bool {
    for (uint32_t i = 0; i < subnets; ++i) {
      const uint32_t ip = base + 4 * i + 2;
      if (used.count(ip) == 0) {
        c->container_ip = ip;
        c->host_ip = base + 4 * i + 1;
        return true;
      }
    }
    return false;
  };
  if (spec.network.empty()) {
    if (!pick_in(pool_base_, pool_subnets_)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("network: no free subnet left in ", options_.network_pool));
    }
  } else {
    std::optional<Cidr> cidr = ParseCidr(spec.network);
    if (!cidr.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("network: invalid IPv4 address or CIDR '", spec.network, "'"));
    }
    const uint32_t mask = MaskOf(cidr->prefix);
    if (cidr->prefix < 32 && (cidr->ip & ~mask) == 0) {
      const uint32_t subnets = cidr->prefix <= 30 ? uint32_t{1} << (30 - cidr->prefix) : 0;
      if (!pick_in(cidr->ip, subnets)) {
        return absl::ResourceExhaustedError(
            absl::StrCat("network: no free subnet left in ", spec.network));
      }
    } else {
      if (used.count(cidr->ip) > 0) {
        return absl::AlreadyExistsError(
            absl::StrCat("network: the IP address ", FormatIp(cidr->ip), " is already in use"));
      }
      c->container_ip = cidr->ip;
      c->host_ip = (cidr->ip & MaskOf(30)) + 1;
    }
  }

  const absl::Time now = clock_->Now();
  c->spec = spec;
  c->properties = spec.properties;
  c->grace_time = spec.grace_time;
  c->created = now;
  c->last_activity = now;
  c->net_out = spec.net_out;
  const uint32_t saved_next_port = next_host_port_;
  for (const garden::NetInSpec& net_in : spec.net_in) {
    absl::StatusOr<garden::PortMapping> mapping =
        NetInLocked(c.get(), net_in.host_port, net_in.container_port);
    if (!mapping.ok()) {
      next_host_port_ = saved_next_port;
      return mapping.status();
    }
  }
  containers_[spec.handle] = std::move(c);
  ++counters_.containers_created;
  return std::make_unique<FakeContainer>(this, spec.handle);
}

absl::Status FakeGardenBackend::Destroy(absl::string_view handle) {
  DIEGO_RETURN_IF_ERROR(Enter(Call::kDestroy, handle));
  if (!DestroyContainer(handle)) {
    return garden::ContainerNotFoundError(handle);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::unique_ptr<garden::Container>>> FakeGardenBackend::Containers(
    const garden::Properties& filter) {
  DIEGO_RETURN_IF_ERROR(Enter(Call::kContainers, absl::string_view()));
  absl::MutexLock lock(&mu_);
  std::vector<std::unique_ptr<garden::Container>> out;
  for (const auto& [handle, c] : containers_) {
    bool matches = true;
    for (const auto& [key, value] : filter) {
      auto it = c->properties.find(key);
      if (it == c->properties.end() || it->second != value) {
        matches = false;
        break;
      }
    }
    if (matches) {
      out.push_back(std::make_unique<FakeContainer>(this, handle));
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<garden::Container>> FakeGardenBackend::Lookup(
    absl::string_view handle) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kLookup, handle));
  return std::make_unique<FakeContainer>(this, std::string(handle));
}

absl::StatusOr<garden::BulkInfoResult> FakeGardenBackend::BulkInfo(
    const std::vector<std::string>& handles) {
  DIEGO_RETURN_IF_ERROR(
      Enter(Call::kBulkInfo, std::vector<absl::string_view>(handles.begin(), handles.end())));
  absl::MutexLock lock(&mu_);
  return garden::CollectBulk<garden::ContainerInfo>(
      handles, [this](const std::string& handle) -> absl::StatusOr<garden::ContainerInfo> {
        DIEGO_ASSIGN_OR_RETURN(ContainerState * c, GetLocked(handle));
        TouchLocked(c);
        return InfoLocked(*c);
      });
}

absl::StatusOr<garden::BulkMetricsResult> FakeGardenBackend::BulkMetrics(
    const std::vector<std::string>& handles) {
  DIEGO_RETURN_IF_ERROR(
      Enter(Call::kBulkMetrics, std::vector<absl::string_view>(handles.begin(), handles.end())));
  absl::MutexLock lock(&mu_);
  return garden::CollectBulk<garden::Metrics>(
      handles, [this](const std::string& handle) -> absl::StatusOr<garden::Metrics> {
        DIEGO_ASSIGN_OR_RETURN(ContainerState * c, GetLocked(handle));
        TouchLocked(c);
        return MetricsLocked(*c);
      });
}

// --- Container operations ----------------------------------------------------------

absl::Status FakeGardenBackend::StopContainer(absl::string_view handle, bool kill) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kStop, handle));
  std::vector<std::shared_ptr<ProcessState>> processes;
  {
    absl::MutexLock lock(&mu_);
    DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
    processes = c->processes;
  }
  if (!kill) {
    for (const auto& p : processes) {
      p->DeliverSignal(garden::Signal::kTerminate);
    }
    const absl::Time deadline = clock_->Now() + kStopGracePeriod;
    for (const auto& p : processes) {
      p->WaitExited(deadline);
    }
  }
  for (const auto& p : processes) {
    p->DeliverSignal(garden::Signal::kKill);
  }
  absl::MutexLock lock(&mu_);
  if (ContainerState* c = FindLocked(handle)) {
    c->state = "stopped";
  }
  return absl::OkStatus();
}

absl::StatusOr<garden::ContainerInfo> FakeGardenBackend::ContainerInfo(absl::string_view handle) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kInfo, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(const ContainerState* c, GetLocked(handle));
  return InfoLocked(*c);
}

absl::Status FakeGardenBackend::StreamIn(absl::string_view handle, absl::string_view path,
                                         absl::string_view user, absl::string_view tar) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kStreamIn, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
  c->tars[std::string(path)] = std::string(tar);
  stream_ins_[std::string(handle)].push_back(
      FakeStreamIn{std::string(path), std::string(user), std::string(tar)});
  return absl::OkStatus();
}

absl::StatusOr<std::string> FakeGardenBackend::StreamOut(absl::string_view handle,
                                                         absl::string_view path) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kStreamOut, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(const ContainerState* c, GetLocked(handle));
  auto it = c->tars.find(path);
  if (it == c->tars.end()) {
    return absl::NotFoundError(absl::StrCat("stream out: ", path, ": no such file or directory"));
  }
  return it->second;
}

absl::StatusOr<garden::Limits> FakeGardenBackend::ContainerLimits(absl::string_view handle) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kCurrentLimits, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(const ContainerState* c, GetLocked(handle));
  return c->spec.limits;
}

absl::StatusOr<garden::PortMapping> FakeGardenBackend::NetIn(absl::string_view handle,
                                                             uint32_t host_port,
                                                             uint32_t container_port) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kNetIn, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
  return NetInLocked(c, host_port, container_port);
}

absl::Status FakeGardenBackend::NetOut(absl::string_view handle, Call call,
                                       const std::vector<garden::NetOutRule>& rules) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(call, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
  c->net_out.insert(c->net_out.end(), rules.begin(), rules.end());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<garden::Process>> FakeGardenBackend::Run(
    absl::string_view handle, const garden::ProcessSpec& spec_in, garden::ProcessIO io) {
  DIEGO_RETURN_IF_ERROR(Enter(Call::kRun, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
  TouchLocked(c);
  garden::ProcessSpec spec = spec_in;
  process_specs_[std::string(handle)].push_back(spec);
  if (spec.id.empty()) {
    spec.id = GenerateGuid(rng_);
  }
  for (const auto& p : c->processes) {
    if (p->id() == spec.id) {
      return absl::AlreadyExistsError(absl::StrCat("process ID '", spec.id, "' already in use"));
    }
  }
  FakeProcessHandler handler;
  if (auto it = handlers_.find(spec.path); it != handlers_.end()) {
    handler = it->second;
  } else if (default_handler_) {
    handler = default_handler_;
  } else if (unknown_path_ == UnknownPath::kExecutableNotFound) {
    return garden::ExecutableNotFoundError(
        absl::StrCat("exec: \"", spec.path, "\": executable file not found in $PATH"));
  }

  std::string handle_str(handle);
  auto process = std::make_shared<ProcessState>(spec.id, c->spec, spec, clock_,
                                                [this, handle_str] { Touch(handle_str); });
  process->InitStdin(io.stdin_data);
  process->AttachIo(io);
  c->processes.push_back(process);
  ++counters_.processes_run;
  JoinFinishedWorkersLocked();
  if (handler) {
    std::thread thread([process, handler = std::move(handler)]() mutable {
      const int code = handler(process->context());
      process->Finish(code);
      process->MarkHandlerDone();
    });
    workers_.push_back(Worker{std::move(thread), process});
  } else {
    process->Finish(0);
  }
  return std::make_unique<FakeProcess>(this, std::move(process));
}

absl::StatusOr<std::unique_ptr<garden::Process>> FakeGardenBackend::Attach(
    absl::string_view handle, absl::string_view process_id, garden::ProcessIO io) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kAttach, handle));
  DIEGO_ASSIGN_OR_RETURN(std::shared_ptr<ProcessState> process,
                         FindProcess(handle, process_id));
  process->AttachIo(io);
  return std::make_unique<FakeProcess>(this, std::move(process));
}

absl::StatusOr<garden::Metrics> FakeGardenBackend::ContainerMetrics(absl::string_view handle) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kMetrics, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(const ContainerState* c, GetLocked(handle));
  return MetricsLocked(*c);
}

absl::Status FakeGardenBackend::SetContainerGraceTime(absl::string_view handle,
                                                      absl::Duration grace_time) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kSetGraceTime, handle));
  if (grace_time < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("grace_time: must not be negative");
  }
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
  c->grace_time = grace_time;
  return absl::OkStatus();
}

absl::StatusOr<garden::Properties> FakeGardenBackend::GetProperties(absl::string_view handle) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kProperties, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(const ContainerState* c, GetLocked(handle));
  return c->properties;
}

absl::StatusOr<std::string> FakeGardenBackend::GetProperty(absl::string_view handle,
                                                           absl::string_view name) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kProperties, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(const ContainerState* c, GetLocked(handle));
  auto it = c->properties.find(std::string(name));
  if (it == c->properties.end()) {
    return absl::NotFoundError(absl::StrCat("property does not exist: ", name));
  }
  return it->second;
}

absl::Status FakeGardenBackend::SetProperty(absl::string_view handle, absl::string_view name,
                                            absl::string_view value) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kProperties, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
  c->properties[std::string(name)] = std::string(value);
  return absl::OkStatus();
}

absl::Status FakeGardenBackend::RemoveProperty(absl::string_view handle,
                                               absl::string_view name) {
  DIEGO_RETURN_IF_ERROR(EnterContainer(Call::kProperties, handle));
  absl::MutexLock lock(&mu_);
  DIEGO_ASSIGN_OR_RETURN(ContainerState* c, GetLocked(handle));
  if (c->properties.erase(std::string(name)) == 0) {
    return absl::NotFoundError(absl::StrCat("property does not exist: ", name));
  }
  return absl::OkStatus();
}

// --- Wrappers ----------------------------------------------------------------------

absl::Status GardenBackendWrapper::Start() { return target_->Start(); }
void GardenBackendWrapper::Stop() { target_->Stop(); }
absl::StatusOr<absl::Duration> GardenBackendWrapper::GraceTime(absl::string_view handle) {
  return target_->GraceTime(handle);
}
absl::Status GardenBackendWrapper::Ping() { return target_->Ping(); }
absl::StatusOr<garden::Capacity> GardenBackendWrapper::GetCapacity() {
  return target_->GetCapacity();
}
absl::StatusOr<std::unique_ptr<garden::Container>> GardenBackendWrapper::Create(
    const garden::ContainerSpec& spec) {
  return target_->Create(spec);
}
absl::Status GardenBackendWrapper::Destroy(absl::string_view handle) {
  return target_->Destroy(handle);
}
absl::StatusOr<std::vector<std::unique_ptr<garden::Container>>> GardenBackendWrapper::Containers(
    const garden::Properties& filter) {
  return target_->Containers(filter);
}
absl::StatusOr<std::unique_ptr<garden::Container>> GardenBackendWrapper::Lookup(
    absl::string_view handle) {
  return target_->Lookup(handle);
}
absl::StatusOr<garden::BulkInfoResult> GardenBackendWrapper::BulkInfo(
    const std::vector<std::string>& handles) {
  return target_->BulkInfo(handles);
}
absl::StatusOr<garden::BulkMetricsResult> GardenBackendWrapper::BulkMetrics(
    const std::vector<std::string>& handles) {
  return target_->BulkMetrics(handles);
}

std::string ContainerWrapper::Handle() const { return target_->Handle(); }
absl::Status ContainerWrapper::Stop(bool kill) { return target_->Stop(kill); }
absl::StatusOr<garden::ContainerInfo> ContainerWrapper::Info() { return target_->Info(); }
absl::Status ContainerWrapper::StreamIn(absl::string_view path, absl::string_view user,
                                        absl::string_view tar) {
  return target_->StreamIn(path, user, tar);
}
absl::StatusOr<std::string> ContainerWrapper::StreamOut(absl::string_view path,
                                                        absl::string_view user) {
  return target_->StreamOut(path, user);
}
absl::StatusOr<garden::BandwidthLimits> ContainerWrapper::CurrentBandwidthLimits() {
  return target_->CurrentBandwidthLimits();
}
absl::StatusOr<garden::CpuLimits> ContainerWrapper::CurrentCpuLimits() {
  return target_->CurrentCpuLimits();
}
absl::StatusOr<garden::DiskLimits> ContainerWrapper::CurrentDiskLimits() {
  return target_->CurrentDiskLimits();
}
absl::StatusOr<garden::MemoryLimits> ContainerWrapper::CurrentMemoryLimits() {
  return target_->CurrentMemoryLimits();
}
absl::StatusOr<garden::PortMapping> ContainerWrapper::NetIn(uint32_t host_port,
                                                            uint32_t container_port) {
  return target_->NetIn(host_port, container_port);
}
absl::Status ContainerWrapper::NetOut(const garden::NetOutRule& rule) {
  return target_->NetOut(rule);
}
absl::Status ContainerWrapper::BulkNetOut(const std::vector<garden::NetOutRule>& rules) {
  return target_->BulkNetOut(rules);
}
absl::StatusOr<std::unique_ptr<garden::Process>> ContainerWrapper::Run(
    const garden::ProcessSpec& spec, garden::ProcessIO io) {
  return target_->Run(spec, std::move(io));
}
absl::StatusOr<std::unique_ptr<garden::Process>> ContainerWrapper::Attach(
    absl::string_view process_id, garden::ProcessIO io) {
  return target_->Attach(process_id, std::move(io));
}
absl::StatusOr<garden::Metrics> ContainerWrapper::GetMetrics() { return target_->GetMetrics(); }
absl::Status ContainerWrapper::SetGraceTime(absl::Duration grace_time) {
  return target_->SetGraceTime(grace_time);
}
absl::StatusOr<garden::Properties> ContainerWrapper::GetProperties() {
  return target_->GetProperties();
}
absl::StatusOr<std::string> ContainerWrapper::GetProperty(absl::string_view name) {
  return target_->GetProperty(name);
}
absl::Status ContainerWrapper::SetProperty(absl::string_view name, absl::string_view value) {
  return target_->SetProperty(name, value);
}
absl::Status ContainerWrapper::RemoveProperty(absl::string_view name) {
  return target_->RemoveProperty(name);
}

}  // namespace diego::fakes
