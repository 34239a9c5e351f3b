// Copyright 2026 The libdiego Authors.
//
// `EpollChecker`: the `MultiplexedChecker` of checker.h. One thread owns an
// epoll set, every probe's socket and a min-heap of deadlines; other threads
// hand it probes through a mutex-protected vector and an eventfd.
//
// Cost per probe (the point of performance goal G5). A TCP probe is socket +
// connect + close: toward a local address (loopback, a container's veth on
// the cell's bridge) the handshake completes inside the first connect, which
// a second connect confirms (0) without going through epoll; otherwise the
// socket joins the epoll set and the EPOLLOUT edge completes it. An HTTP
// probe adds one epoll_ctl, one send and the recvs of the response: sockets
// are registered edge-triggered for both directions at once, so there is no
// EPOLL_CTL_MOD, and closing the fd drops it from the set, so no
// EPOLL_CTL_DEL. The eventfd is edge-triggered and never read. Probe slots,
// the parser's buffer, the read buffer and the submission vectors are
// reused: steady state allocates the HTTP request string and failure
// messages only. What remains is the kernel's TCP work (see
// benchmarks/healthcheck_benchmark.cc).
//
// Results are those of the blocking probers in probers.cc, case by case:
// Go's dial error text for TCP, "connection refused" for every HTTP
// transport failure, the status deciding once it is known (even if the body
// then fails or times out), the same 1 MiB bound and the same URL checks.

#include "diego/healthcheck/checker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "diego/base/check.h"
#include "diego/healthcheck/health_check.h"
#include "http_probe.h"

namespace diego::healthcheck {
namespace {

using healthcheck_internal::BuildProbeRequest;
using healthcheck_internal::ProbeRequestTarget;
using healthcheck_internal::ProbeResponseParser;

// Response bytes read before the probe is judged by its status alone (or,
// with no status yet, fails); HttpProber's bound.
constexpr size_t kMaxResponseBytes = size_t{1} << 20;
constexpr size_t kReadBufferSize = 64 * 1024;
constexpr int kMaxEvents = 256;
// epoll user data of the eventfd; probe sockets carry (generation << 32 | slot).
constexpr uint64_t kWakeTag = ~uint64_t{0};
// `deadline_ns` of a probe without a deadline: it never joins the heap.
constexpr int64_t kNoDeadline = INT64_MAX;
// Go's http.DefaultTransport dial timeout: bounds an HTTP connect whatever
// the probe's timeout (HttpProber's bound).
constexpr int64_t kHttpDialTimeoutNs = int64_t{30} * 1'000'000'000;

int64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
  if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
  return a + b;
}

// One probe as submitted: what `ProbeAsync` was given.
struct Request {
  ProbeTarget target;
  absl::Duration timeout;
  std::function<void(const ProbeResult&)> done;
};

enum class Phase { kConnecting, kWriting, kReading };

// A probe in flight. Slots are reused; `generation` tells a late epoll event
// for a previous probe of the slot from one for the current probe.
struct Slot {
  ProbeTarget target;
  absl::Duration timeout;
  std::function<void(const ProbeResult&)> done;
  uint32_t index = 0;  // in `slots_`
  uint32_t generation = 0;
  bool active = false;
  int fd = -1;
  Phase phase = Phase::kConnecting;
  int64_t start_ns = 0;
  int64_t deadline_ns = 0;  // the current one (HTTP: the dial's until connected)
  int64_t probe_deadline_ns = 0;  // the timeout's; kNoDeadline = none
  int heap_pos = -1;
  // HTTP only.
  std::string request_target;
  std::string request;
  size_t written = 0;
  ProbeResponseParser parser;
  int64_t status_ns = 0;  // when the status became known (Go's client.Do returning)
  size_t received = 0;
};

class EpollChecker final : public MultiplexedChecker {
 public:
  EpollChecker(const Options& options, int epoll_fd, int wake_fd)
      : max_in_flight_(options.max_in_flight),
        epoll_fd_(epoll_fd),
        wake_fd_(wake_fd),
        read_buffer_(new char[kReadBufferSize]) {
    thread_ = std::thread([this] { Run(); });
  }

  ~EpollChecker() override {
    DIEGO_CHECK(std::this_thread::get_id() != thread_.get_id())
        << "MultiplexedChecker destroyed from one of its own done callbacks (its "
           "thread cannot join itself); destroy it from another thread";
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    Wake();
    thread_.join();
    close(wake_fd_);
    close(epoll_fd_);
  }

  void ProbeAsync(const ProbeTarget& target, absl::Duration timeout,
                  std::function<void(const ProbeResult&)> done) override {
    bool was_empty;
    bool closed;
    {
      absl::MutexLock lock(&mu_);
      closed = closed_;
      was_empty = submitted_.empty();
      if (!closed) submitted_.push_back(Request{target, timeout, std::move(done)});
    }
    if (closed) {
      // The thread has finished; nothing will run this probe.
      if (done) done(CancelledResult());
      return;
    }
    // One wakeup per batch: a push onto a non-empty vector finds a wakeup
    // already on its way, and the thread takes the whole vector after it.
    if (was_empty) Wake();
  }

  std::unique_ptr<Prober> NewProber(const ProbeTarget& target) override;

  CheckerStats Stats() const override {
    CheckerStats stats;
    stats.probes_started = started_.load(std::memory_order_relaxed);
    stats.probes_passed = passed_.load(std::memory_order_relaxed);
    stats.probes_failed = failed_.load(std::memory_order_relaxed);
    stats.in_flight = in_flight_.load(std::memory_order_relaxed);
    return stats;
  }

 private:
  void Wake() {
    uint64_t one = 1;
    // EAGAIN (counter saturated) still leaves the eventfd readable.
    (void)!write(wake_fd_, &one, sizeof(one));
  }

  // The checker thread.
  void Run();
  // Moves submitted probes to `pending_`; true when the destructor asked to stop.
  bool TakeSubmitted();
  void StartPending();
  void Start(Request& request);
  void OnEvent(uint32_t index, uint32_t events);
  void Connected(Slot& slot, uint32_t events);
  // HTTP: the dial's deadline gives way to the probe's once connected.
  void DialDone(Slot& slot);
  void Write(Slot& slot, uint32_t events);
  void Read(Slot& slot);
  void Expire(Slot& slot);
  void FinishHttpStatus(Slot& slot);
  void Finish(Slot& slot, ProbeResult result);
  void CancelEverything();
  int EpollTimeoutMs(int64_t now) const;

  // A failed `syscall` (socket, connect) or, for HTTP, any transport
  // failure, in the blocking probers' words.
  ProbeResult DialError(const Slot& slot, const char* syscall, int err) const;
  ProbeResult TimeoutResult(const Slot& slot) const;

  // Deadline min-heap over slot indices.
  void HeapPush(uint32_t index);
  void HeapRemove(Slot& slot);
  void HeapSiftUp(size_t pos);
  void HeapSiftDown(size_t pos);
  void HeapSet(size_t pos, uint32_t index) {
    heap_[pos] = index;
    slots_[index]->heap_pos = static_cast<int>(pos);
  }
  bool HeapLess(size_t a, size_t b) const {
    return slots_[heap_[a]]->deadline_ns < slots_[heap_[b]]->deadline_ns;
  }

  const int max_in_flight_;
  const int epoll_fd_;
  const int wake_fd_;
  std::thread thread_;

  absl::Mutex mu_;
  std::vector<Request> submitted_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<uint64_t> started_{0};
  std::atomic<uint64_t> passed_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> in_flight_{0};

  // Checker thread only.
  std::vector<Request> taken_;  // swapped with `submitted_`, capacity reused
  std::deque<Request> pending_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> heap_;
  int active_ = 0;
  std::unique_ptr<char[]> read_buffer_;
};

// The blocking `Prober` of `NewProber`: submits and waits.
class CheckerProber final : public Prober {
 public:
  CheckerProber(MultiplexedChecker* checker, ProbeTarget target)
      : checker_(checker), target_(std::move(target)) {}

  ProbeResult Probe(absl::Duration timeout) override {
    struct Waiter {
      absl::Notification notification;
      ProbeResult result;
    } waiter;
    checker_->ProbeAsync(target_, timeout, [&waiter](const ProbeResult& result) {
      waiter.result = result;
      waiter.notification.Notify();
    });
    waiter.notification.WaitForNotification();
    return std::move(waiter.result);
  }

 private:
  MultiplexedChecker* checker_;
  ProbeTarget target_;
};

std::unique_ptr<Prober> EpollChecker::NewProber(const ProbeTarget& target) {
  return std::make_unique<CheckerProber>(this, target);
}

void EpollChecker::Run() {
  epoll_event events[kMaxEvents];
  bool stop = false;
  while (!stop) {
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, EpollTimeoutMs(MonotonicNanos()));
    if (n < 0) n = 0;  // EINTR
    bool woken = false;
    for (int i = 0; i < n; ++i) {
      uint64_t data = events[i].data.u64;
      if (data == kWakeTag) {
        woken = true;
        continue;
      }
      uint32_t index = static_cast<uint32_t>(data);
      uint32_t generation = static_cast<uint32_t>(data >> 32);
      // A probe finished earlier in this batch may have left its slot to a
      // new probe: skip events of the old one.
      if (index < slots_.size() && slots_[index]->active &&
          slots_[index]->generation == generation) {
        OnEvent(index, events[i].events);
      }
    }
    if (woken) stop = TakeSubmitted();
    int64_t now = MonotonicNanos();
    while (!heap_.empty() && slots_[heap_[0]]->deadline_ns <= now) {
      Expire(*slots_[heap_[0]]);
    }
    StartPending();
  }
  CancelEverything();
}

bool EpollChecker::TakeSubmitted() {
  // The eventfd is edge-triggered: every write raises a new event, so it is
  // never read (its counter cannot reach its 2^64 - 2 limit).
  bool stop;
  {
    absl::MutexLock lock(&mu_);
    taken_.swap(submitted_);
    stop = stop_;
  }
  for (Request& request : taken_) pending_.push_back(std::move(request));
  taken_.clear();
  return stop;
}

void EpollChecker::StartPending() {
  while (active_ < max_in_flight_ && !pending_.empty()) {
    Start(pending_.front());
    pending_.pop_front();
  }
}

int EpollChecker::EpollTimeoutMs(int64_t now) const {
  if (heap_.empty()) return -1;
  int64_t wait_ns = slots_[heap_[0]]->deadline_ns - now;
  if (wait_ns <= 0) return 0;
  // Round up: waking before the deadline would just loop.
  int64_t ms = (wait_ns + 999'999) / 1'000'000;
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

void EpollChecker::Start(Request& request) {
  uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    index = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->index = index;
  }
  Slot& slot = *slots_[index];
  slot.target = std::move(request.target);
  slot.timeout = request.timeout;
  slot.done = std::move(request.done);
  slot.active = true;
  slot.phase = Phase::kConnecting;
  slot.start_ns = MonotonicNanos();
  // As in Go: net.DialTimeout (TCP) has no deadline at 0 and an expired one
  // below 0; http.Client.Timeout (HTTP) has none at <= 0, but the transport
  // bounds the dial at 30 s anyway.
  const bool http = slot.target.is_http();
  const bool has_deadline =
      http ? slot.timeout > absl::ZeroDuration() : slot.timeout != absl::ZeroDuration();
  slot.probe_deadline_ns =
      has_deadline ? SaturatingAdd(slot.start_ns, absl::ToInt64Nanoseconds(slot.timeout))
                   : kNoDeadline;
  slot.deadline_ns = http ? std::min(slot.probe_deadline_ns,
                                     SaturatingAdd(slot.start_ns, kHttpDialTimeoutNs))
                          : slot.probe_deadline_ns;
  slot.written = 0;
  slot.status_ns = 0;
  slot.received = 0;
  ++active_;
  started_.fetch_add(1, std::memory_order_relaxed);
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  if (slot.deadline_ns != kNoDeadline) HeapPush(index);

  // Go checks the dial deadline before dialing: an expired one is a timeout.
  if (slot.deadline_ns <= slot.start_ns) {
    Finish(slot, TimeoutResult(slot));
    return;
  }
  if (slot.target.is_http()) {
    if (!ProbeRequestTarget(slot.target.path, &slot.request_target)) {
      Finish(slot, HttpBadRequestResult(slot.target.path, absl::StrCat(slot.target.port)));
      return;
    }
    slot.request = BuildProbeRequest(slot.target.ip, slot.target.port, slot.request_target);
    slot.parser = ProbeResponseParser();  // keeps its buffer's capacity
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(slot.target.port);
  if (inet_pton(AF_INET, slot.target.ip.c_str(), &addr.sin_addr) != 1) {
    Finish(slot, DialError(slot, "connect", EINVAL));
    return;
  }
  slot.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (slot.fd < 0) {
    Finish(slot, DialError(slot, "socket", errno));
    return;
  }
  int rc;
  do {
    rc = connect(slot.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS) {
    Finish(slot, DialError(slot, "connect", errno));
    return;
  }
  if (rc != 0) {
    // On loopback and a local bridge the handshake usually completes inside
    // the first connect (softirq on this CPU). Asking again costs less than
    // a round through epoll: 0 = connected, EALREADY = still in progress.
    rc = connect(slot.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    if (rc != 0 && errno == EISCONN) rc = 0;
    if (rc != 0 && errno != EALREADY && errno != EINPROGRESS && errno != EINTR) {
      Finish(slot, DialError(slot, "connect", errno));
      return;
    }
  }
  if (rc == 0 && !slot.target.is_http()) {
    Finish(slot, ProbeResult::Ok());  // connected without waiting
    return;
  }
  epoll_event event{};
  // Edge-triggered, both directions for HTTP: the connect completing is the
  // EPOLLOUT edge and the response the EPOLLIN edges, with no EPOLL_CTL_MOD
  // in between.
  event.events = EPOLLOUT | EPOLLET | (slot.target.is_http() ? uint32_t{EPOLLIN} : 0u);
  event.data.u64 = (uint64_t{slot.generation} << 32) | index;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, slot.fd, &event) != 0) {
    Finish(slot, DialError(slot, "connect", errno));
    return;
  }
  if (rc == 0) {
    DialDone(slot);
    slot.phase = Phase::kWriting;
    Write(slot, 0);
  }
}

void EpollChecker::DialDone(Slot& slot) {
  if (slot.deadline_ns == slot.probe_deadline_ns) return;
  HeapRemove(slot);
  slot.deadline_ns = slot.probe_deadline_ns;
  if (slot.deadline_ns != kNoDeadline) HeapPush(slot.index);
}

void EpollChecker::OnEvent(uint32_t index, uint32_t events) {
  Slot& slot = *slots_[index];
  switch (slot.phase) {
    case Phase::kConnecting:
      Connected(slot, events);
      return;
    case Phase::kWriting:
      Write(slot, events);
      return;
    case Phase::kReading:
      Read(slot);
      return;
  }
}

void EpollChecker::Connected(Slot& slot, uint32_t events) {
  // Without EPOLLERR/EPOLLHUP the handshake completed; SO_ERROR is only worth
  // its syscall when the kernel flagged a failure.
  if (events & (EPOLLERR | EPOLLHUP)) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(slot.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      Finish(slot, DialError(slot, "connect", err));
      return;
    }
  } else if (!(events & EPOLLOUT)) {
    return;  // not connected yet
  }
  if (!slot.target.is_http()) {
    Finish(slot, ProbeResult::Ok());
    return;
  }
  DialDone(slot);
  slot.phase = Phase::kWriting;
  Write(slot, events);
}

void EpollChecker::Write(Slot& slot, uint32_t events) {
  while (slot.written < slot.request.size()) {
    ssize_t n = send(slot.fd, slot.request.data() + slot.written,
                     slot.request.size() - slot.written, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // next EPOLLOUT edge
      Finish(slot, DialError(slot, "write", errno));
      return;
    }
    slot.written += static_cast<size_t>(n);
  }
  slot.phase = Phase::kReading;
  // Edge-triggered: bytes (or EOF) already reported in this event would not
  // be reported again, so read them now. Later bytes raise a new edge.
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) Read(slot);
}

void EpollChecker::Read(Slot& slot) {
  using State = ProbeResponseParser::State;
  char* buffer = read_buffer_.get();
  while (true) {
    ssize_t n = recv(slot.fd, buffer, kReadBufferSize, 0);
    State state;
    if (n > 0) {
      slot.received += static_cast<size_t>(n);
      state = slot.parser.Feed(absl::string_view(buffer, static_cast<size_t>(n)));
    } else if (n == 0) {
      state = slot.parser.FeedEof();
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;  // next EPOLLIN edge
    } else {
      state = State::kError;
    }
    if (slot.status_ns == 0 && slot.parser.status() != 0) slot.status_ns = MonotonicNanos();
    // Once the status is known it decides, whatever happens to the body (Go
    // ignores the error of draining it), as HttpProber does.
    if (slot.parser.status() != 0 &&
        (state != State::kNeedMore || slot.received >= kMaxResponseBytes)) {
      FinishHttpStatus(slot);
      return;
    }
    if (state != State::kNeedMore || slot.received >= kMaxResponseBytes || n == 0) {
      Finish(slot, DialError(slot, "read", 0));
      return;
    }
  }
}

void EpollChecker::FinishHttpStatus(Slot& slot) {
  int status = slot.parser.status();
  if (status == 200) {
    Finish(slot, ProbeResult::Ok());
    return;
  }
  // Go measures `client.Do`, which returns once the headers are read.
  absl::Duration elapsed = absl::Nanoseconds(slot.status_ns - slot.start_ns);
  Finish(slot, HttpStatusResult(slot.target.path, slot.target.port, status, elapsed));
}

void EpollChecker::Expire(Slot& slot) {
  // A body still draining at the deadline: Go's ReadAll error is ignored
  // and the status decides.
  if (slot.target.is_http() && slot.parser.status() != 0) {
    FinishHttpStatus(slot);
    return;
  }
  Finish(slot, TimeoutResult(slot));
}

ProbeResult EpollChecker::TimeoutResult(const Slot& slot) const {
  if (slot.target.is_http()) {
    return HttpTimeoutResult(slot.target.path, slot.target.port, slot.timeout);
  }
  return TcpTimeoutResult(absl::StrCat(slot.target.ip, ":", slot.target.port), slot.timeout);
}

ProbeResult EpollChecker::DialError(const Slot& slot, const char* syscall, int err) const {
  if (slot.target.is_http()) {
    // Every transport failure reads "connection refused" in Diego's binary.
    return HttpErrorResult(slot.target.path, slot.target.port, "connection refused");
  }
  std::string addr = absl::StrCat(slot.target.ip, ":", slot.target.port);
  return TcpErrorResult(addr, GoDialErrorText(addr, syscall, err));
}

void EpollChecker::Finish(Slot& slot, ProbeResult result) {
  HeapRemove(slot);
  if (slot.fd >= 0) {
    close(slot.fd);  // also leaves the epoll set
    slot.fd = -1;
  }
  slot.active = false;
  ++slot.generation;
  --active_;
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  (result.ok() ? passed_ : failed_).fetch_add(1, std::memory_order_relaxed);
  std::function<void(const ProbeResult&)> done = std::move(slot.done);
  slot.done = nullptr;
  free_slots_.push_back(slot.index);
  if (done) done(result);
}

void EpollChecker::CancelEverything() {
  for (auto& slot : slots_) {
    if (slot->active) Finish(*slot, CancelledResult());
  }
  // Callbacks above may have submitted more; after `closed_` nothing more can
  // be queued (ProbeAsync cancels inline).
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    taken_.swap(submitted_);
  }
  for (Request& request : taken_) pending_.push_back(std::move(request));
  taken_.clear();
  while (!pending_.empty()) {
    Request request = std::move(pending_.front());
    pending_.pop_front();
    if (request.done) request.done(CancelledResult());
  }
}

void EpollChecker::HeapPush(uint32_t index) {
  heap_.push_back(index);
  slots_[index]->heap_pos = static_cast<int>(heap_.size() - 1);
  HeapSiftUp(heap_.size() - 1);
}

void EpollChecker::HeapRemove(Slot& slot) {
  if (slot.heap_pos < 0) return;
  size_t pos = static_cast<size_t>(slot.heap_pos);
  slot.heap_pos = -1;
  size_t last = heap_.size() - 1;
  if (pos != last) {
    HeapSet(pos, heap_[last]);
    heap_.pop_back();
    HeapSiftDown(pos);
    HeapSiftUp(pos);
  } else {
    heap_.pop_back();
  }
}

void EpollChecker::HeapSiftUp(size_t pos) {
  while (pos > 0) {
    size_t parent = (pos - 1) / 2;
    if (!HeapLess(pos, parent)) break;
    uint32_t moved = heap_[pos];
    HeapSet(pos, heap_[parent]);
    HeapSet(parent, moved);
    pos = parent;
  }
}

void EpollChecker::HeapSiftDown(size_t pos) {
  while (true) {
    size_t left = 2 * pos + 1;
    if (left >= heap_.size()) break;
    size_t child = left;
    if (left + 1 < heap_.size() && HeapLess(left + 1, left)) child = left + 1;
    if (!HeapLess(child, pos)) break;
    uint32_t moved = heap_[pos];
    HeapSet(pos, heap_[child]);
    HeapSet(child, moved);
    pos = child;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<MultiplexedChecker>> MultiplexedChecker::Create(
    const Options& options) {
  if (options.max_in_flight <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_in_flight must be positive, got ", options.max_in_flight));
  }
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) {
    return absl::InternalError(absl::StrCat("epoll_create1: ", strerror(errno)));
  }
  int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    int err = errno;
    close(epoll_fd);
    return absl::InternalError(absl::StrCat("eventfd: ", strerror(err)));
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLET;
  event.data.u64 = kWakeTag;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &event) != 0) {
    int err = errno;
    close(wake_fd);
    close(epoll_fd);
    return absl::InternalError(absl::StrCat("epoll_ctl(eventfd): ", strerror(err)));
  }
  return std::unique_ptr<MultiplexedChecker>(new EpollChecker(options, epoll_fd, wake_fd));
}

}  // namespace diego::healthcheck
