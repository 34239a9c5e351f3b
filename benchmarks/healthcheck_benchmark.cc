// Health checks: the multiplexed epoll checker beside fork+exec of
// `diego-healthcheck` per probe (performance-goals.md G5: <= 50 us CPU per
// check; 1,000 checks/s on <= 5% of one core).
//
// Targets: N loopback servers (N = 10, 100, 1000 listeners on 127.0.0.1:0)
// served by ONE server thread of this process with epoll. TCP servers accept
// and close; HTTP servers read the request head, answer
// "HTTP/1.1 200 OK" with a 2-byte Content-Length body, and close. Probes go
// round-robin over the N servers with a 1 s timeout; every probe must pass
// (a failure aborts the benchmark with its message, so the numbers are
// never those of failing probes).
//
// Benchmarks (arguments: http:0 = TCP probes, http:1 = HTTP GETs; servers:N):
//
//   BM_Checker_Saturated   --hc_checks probes kept --hc_window deep in flight,
//                          submitted from the benchmark thread in batches as
//                          completions come back (the rep's loops submit
//                          from their own threads the same way).
//   BM_Checker_Paced       1,000 probes/s for --hc_paced_seconds: one probe
//                          submitted every 1 ms (absolute-time sleeps), the
//                          worst case of one checker wakeup per probe; with
//                          --hc_paced_batch=K, K probes every K ms.
//   BM_BlockingProber_Sequential
//                          --hc_checks / 3 probes by the blocking
//                          TcpProber/HttpProber, back to back on the
//                          benchmark thread (its CPU is reported as the
//                          checker's): about the kernel's own cost of one
//                          loopback connection, the floor the checker is
//                          compared with.
//   BM_ForkExec_Saturated  --hc_spawn_checks runs of the binary by two
//                          threads (one per core), each posix_spawn +
//                          waitpid: Diego's old model, one process per probe.
//   BM_ForkExec_Paced      one spawn every 1 ms for --hc_paced_seconds (a
//                          reaper thread waits for the children), i.e. the
//                          same 1,000 checks/s as BM_Checker_Paced, as far as
//                          the machine keeps up (checks_per_s says).
//
// CPU accounting. The counters count only the CPU of the side doing the
// checks, never the servers':
//   - checker: the checker thread's own CPU clock. Its clockid is taken
//     once, from inside a probe callback (callbacks run on the checker
//     thread): pthread_getcpuclockid(pthread_self()). Any thread can then
//     read it with clock_gettime. Plus the submitting thread's
//     CLOCK_THREAD_CPUTIME_ID: all of it in the saturated runs (submitting
//     and waiting for room), only the ProbeAsync calls in the paced runs
//     (the pacing sleeps are the benchmark's, not the checker's).
//   - fork+exec: getrusage(RUSAGE_CHILDREN) (user + system of every reaped
//     child, i.e. each diego-healthcheck process) plus the CPU clocks of the
//     spawning and reaping threads (fork/exec/wait on the parent side).
//   - The server thread's own CPU clock is reported apart
//     (server_us_per_check) for reference.
// On loopback the kernel's TCP work for BOTH ends (the SYN reaching the
// listener, the SYN-ACK, the FIN) mostly runs in softirq on the CPU of the
// thread that sent the packet, and is charged to it: the checker pays part
// of the server's TCP stack and the figures are pessimistic for it (the
// same holds for fork+exec's children). Almost all of a probe's CPU is that
// kernel work (TCP, conntrack/netfilter, socket allocation); the paced
// figures are higher than the saturated ones because each probe then runs
// alone with cold caches (--hc_paced_batch shows the cost falling as
// submissions come in bursts).
//
// Counters: us_cpu_per_check (checker + submitter, or children + spawner),
// checker_us_per_check, submit_us_per_check, server_us_per_check,
// checks_per_s (wall clock), and for the paced runs core_pct (CPU / wall
// time, in % of one core) and checker_core_pct. The "Time" column is the
// wall time of the whole run (manual time, one iteration).
//
// The fork+exec rows need the diego-healthcheck binary (DIEGO_HEALTHCHECK_BINARY,
// set when apps are built, or --hc_binary=PATH); without it they report an
// error and the checker rows still run. The whole default run takes well
// under two minutes.
//
//   ./build/benchmarks/healthcheck_benchmark
//   ./build/benchmarks/healthcheck_benchmark --benchmark_filter=Checker --hc_checks=100000
//   ./build/benchmarks/healthcheck_benchmark --benchmark_filter=Paced --hc_paced_seconds=10

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "diego/healthcheck/checker.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/healthcheck/prober.h"

extern char** environ;

namespace diego::healthcheck {
namespace {

struct Settings {
  int64_t checks = 30000;        // per saturated checker run
  int window = 256;              // probes in flight in a saturated run
  int64_t spawn_checks = 400;    // per saturated fork+exec run
  double paced_seconds = 3;      // length of a paced run
  int paced_batch = 1;           // probes submitted together every `paced_batch` ms
  std::string binary =
#ifdef DIEGO_HEALTHCHECK_BINARY
      DIEGO_HEALTHCHECK_BINARY;
#else
      "";
#endif
} settings;

constexpr char kPath[] = "/health";
constexpr absl::Duration kTimeout = absl::Seconds(1);

int64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
int64_t MonotonicNs() { return ClockNs(CLOCK_MONOTONIC); }
int64_t ThisThreadCpuNs() { return ClockNs(CLOCK_THREAD_CPUTIME_ID); }

int64_t ChildrenCpuNs() {
  rusage usage;
  getrusage(RUSAGE_CHILDREN, &usage);
  auto ns = [](const timeval& tv) { return int64_t{tv.tv_sec} * 1'000'000'000 + tv.tv_usec * 1000; };
  return ns(usage.ru_utime) + ns(usage.ru_stime);
}

void SleepUntilMonotonic(int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

// N listeners on 127.0.0.1:0 served by one epoll thread.
class LoopbackServers {
 public:
  LoopbackServers(int n, bool http) : http_(http) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    Add(stop_fd_);
    for (int i = 0; i < n; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof(addr);
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
          listen(fd, 4096) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        error_ = absl::StrCat("listener ", i, ": ", strerror(errno));
        if (fd >= 0) close(fd);
        break;
      }
      listeners_.push_back(fd);
      ports_.push_back(ntohs(addr.sin_port));
      Add(fd);
    }
    absl::Notification started;
    thread_ = std::thread([this, &started] {
      pthread_getcpuclockid(pthread_self(), &cpu_clock_);
      started.Notify();
      Serve();
    });
    started.WaitForNotification();
  }

  ~LoopbackServers() {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof(one));
    thread_.join();
    for (size_t fd = 0; fd < pending_.size(); ++fd) {
      if (pending_[fd] != nullptr) close(static_cast<int>(fd));
    }
    for (int fd : listeners_) close(fd);
    close(stop_fd_);
    close(epoll_fd_);
  }

  const std::string& error() const { return error_; }
  const std::vector<uint16_t>& ports() const { return ports_; }
  int64_t CpuNs() const { return ClockNs(cpu_clock_); }

 private:
  void Add(int fd) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }

  void Serve() {
    static const char kResponse[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    listener_set_.assign(65536, false);
    for (int fd : listeners_) listener_set_[fd] = true;
    epoll_event events[256];
    char buffer[4096];
    while (true) {
      int n = epoll_wait(epoll_fd_, events, 256, -1);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == stop_fd_) return;
        if (listener_set_[fd]) {
          while (true) {
            int conn = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (conn < 0) break;
            if (!http_) {
              close(conn);
              continue;
            }
            if (static_cast<size_t>(conn) >= pending_.size()) pending_.resize(conn + 1024);
            pending_[conn] = std::make_unique<std::string>();
            Add(conn);
          }
          continue;
        }
        // An HTTP connection: answer once the request head is in.
        std::string& request = *pending_[fd];
        bool finished = false;
        while (true) {
          ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
          if (got > 0) {
            request.append(buffer, static_cast<size_t>(got));
            if (absl::StrContains(request, "\r\n\r\n")) {
              (void)!send(fd, kResponse, sizeof(kResponse) - 1, MSG_NOSIGNAL);
              finished = true;
              break;
            }
            continue;
          }
          if (got == 0 || (errno != EAGAIN && errno != EINTR)) finished = true;
          if (got < 0 && errno == EINTR) continue;
          break;
        }
        if (finished) {
          pending_[fd].reset();
          close(fd);
        }
      }
    }
  }

  const bool http_;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::vector<int> listeners_;
  std::vector<uint16_t> ports_;
  std::vector<bool> listener_set_;
  std::vector<std::unique_ptr<std::string>> pending_;  // by fd
  std::string error_;
  clockid_t cpu_clock_{};
  std::thread thread_;
};

std::vector<ProbeTarget> Targets(const LoopbackServers& servers, bool http) {
  std::vector<ProbeTarget> targets;
  for (uint16_t port : servers.ports()) {
    targets.push_back(ProbeTarget{"127.0.0.1", port, http ? kPath : ""});
  }
  return targets;
}

// Completion accounting shared by the callbacks (checker thread) and the
// submitting thread.
struct Flow {
  absl::Mutex mu;
  int64_t completed ABSL_GUARDED_BY(mu) = 0;
  int64_t failures ABSL_GUARDED_BY(mu) = 0;
  std::string first_failure ABSL_GUARDED_BY(mu);

  void Done(const ProbeResult& result) {
    absl::MutexLock lock(&mu);
    ++completed;
    if (!result.ok() && failures++ == 0) first_failure = result.message;
  }
  void AwaitCompleted(int64_t n) {
    absl::MutexLock lock(&mu);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return completed >= n; };
    mu.Await(absl::Condition(&reached));
  }
};

// The checker thread's CPU clock, read from inside a callback.
clockid_t CheckerCpuClock(MultiplexedChecker& checker, uint16_t port) {
  clockid_t clock{};
  absl::Notification got;
  checker.ProbeAsync(ProbeTarget{"127.0.0.1", port, ""}, kTimeout,
                     [&clock, &got](const ProbeResult&) {
                       pthread_getcpuclockid(pthread_self(), &clock);
                       got.Notify();
                     });
  got.WaitForNotification();
  return clock;
}

struct Measured {
  int64_t checks = 0;
  int64_t wall_ns = 0;
  int64_t checker_cpu_ns = 0;  // checker thread, or the children
  int64_t submit_cpu_ns = 0;   // submitting/spawning/reaping threads
  int64_t server_cpu_ns = 0;
  int64_t failures = 0;
  std::string first_failure;
};

void Report(benchmark::State& state, const Measured& m, bool paced) {
  if (m.failures > 0) {
    state.SkipWithError(absl::StrCat(m.failures, " of ", m.checks,
                                     " probes failed, first: ", m.first_failure)
                            .c_str());
    return;
  }
  double checks = static_cast<double>(m.checks);
  double cpu_ns = static_cast<double>(m.checker_cpu_ns + m.submit_cpu_ns);
  state.counters["us_cpu_per_check"] = cpu_ns / checks / 1e3;
  state.counters["checker_us_per_check"] = m.checker_cpu_ns / checks / 1e3;
  state.counters["submit_us_per_check"] = m.submit_cpu_ns / checks / 1e3;
  state.counters["server_us_per_check"] = m.server_cpu_ns / checks / 1e3;
  state.counters["checks_per_s"] = checks / (m.wall_ns / 1e9);
  if (paced) {
    state.counters["core_pct"] = 100.0 * cpu_ns / m.wall_ns;
    state.counters["checker_core_pct"] = 100.0 * m.checker_cpu_ns / m.wall_ns;
  }
}

// Arguments of every benchmark: {http (0/1), N}.
void CheckerBenchmark(benchmark::State& state, bool paced) {
  const bool http = state.range(0) != 0;
  const int n = static_cast<int>(state.range(1));
  LoopbackServers servers(n, http);
  if (!servers.error().empty()) {
    state.SkipWithError(servers.error().c_str());
    return;
  }
  const std::vector<ProbeTarget> targets = Targets(servers, http);
  auto created = MultiplexedChecker::Create({.max_in_flight = 1024});
  if (!created.ok()) {
    state.SkipWithError(std::string(created.status().message()).c_str());
    return;
  }
  std::unique_ptr<MultiplexedChecker> checker = std::move(created).value();
  const clockid_t checker_clock = CheckerCpuClock(*checker, servers.ports()[0]);

  for (auto _ : state) {
    // Warm-up (slots, buffers, the servers' tables), not measured.
    {
      Flow warm;
      for (int i = 0; i < 2 * n && i < 2000; ++i) {
        checker->ProbeAsync(targets[i % n], kTimeout, [&warm](const ProbeResult& r) { warm.Done(r); });
      }
      warm.AwaitCompleted(std::min(2 * n, 2000));
    }
    Flow flow;
    auto done = [&flow](const ProbeResult& r) { flow.Done(r); };
    Measured m;
    const int64_t wall0 = MonotonicNs();
    const int64_t checker0 = ClockNs(checker_clock);
    const int64_t submit0 = ThisThreadCpuNs();
    const int64_t server0 = servers.CpuNs();
    int64_t paced_submit_ns = 0;
    if (paced) {
      m.checks = static_cast<int64_t>(settings.paced_seconds * 1000);
      const int batch = settings.paced_batch;
      int64_t next = MonotonicNs();
      for (int64_t i = 0; i < m.checks;) {
        next += batch * int64_t{1'000'000};  // 1,000 checks/s
        SleepUntilMonotonic(next);
        // Only the submission counts, not the pacing sleeps around it.
        const int64_t c0 = ThisThreadCpuNs();
        for (int k = 0; k < batch && i < m.checks; ++k, ++i) {
          checker->ProbeAsync(targets[i % n], kTimeout, done);
        }
        paced_submit_ns += ThisThreadCpuNs() - c0;
      }
    } else {
      m.checks = settings.checks;
      const int window = settings.window;
      int64_t submitted = 0;
      while (submitted < m.checks) {
        int64_t completed;
        {
          // Refill when half the window has come back.
          absl::MutexLock lock(&flow.mu);
          auto room = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return submitted - flow.completed <= window / 2;
          };
          flow.mu.Await(absl::Condition(&room));
          completed = flow.completed;
        }
        int64_t batch = std::min<int64_t>(window - (submitted - completed), m.checks - submitted);
        for (int64_t i = 0; i < batch; ++i, ++submitted) {
          checker->ProbeAsync(targets[submitted % n], kTimeout, done);
        }
      }
    }
    flow.AwaitCompleted(m.checks);
    m.wall_ns = MonotonicNs() - wall0;
    m.checker_cpu_ns = ClockNs(checker_clock) - checker0;
    m.submit_cpu_ns = paced ? paced_submit_ns : ThisThreadCpuNs() - submit0;
    m.server_cpu_ns = servers.CpuNs() - server0;
    {
      absl::MutexLock lock(&flow.mu);
      m.failures = flow.failures;
      m.first_failure = flow.first_failure;
    }
    state.SetIterationTime(m.wall_ns / 1e9);
    Report(state, m, paced);
  }
}

void BM_Checker_Saturated(benchmark::State& state) { CheckerBenchmark(state, /*paced=*/false); }
void BM_Checker_Paced(benchmark::State& state) { CheckerBenchmark(state, /*paced=*/true); }

// Reference: the blocking TcpProber/HttpProber run back to back on the
// benchmark thread (no epoll, no thread hand-off): about the kernel's floor
// for one loopback connection, for comparing the checker's figures with.
void BM_BlockingProber_Sequential(benchmark::State& state) {
  const bool http = state.range(0) != 0;
  const int n = static_cast<int>(state.range(1));
  LoopbackServers servers(n, http);
  if (!servers.error().empty()) {
    state.SkipWithError(servers.error().c_str());
    return;
  }
  std::vector<std::unique_ptr<Prober>> probers;
  for (uint16_t port : servers.ports()) {
    if (http) {
      probers.push_back(std::make_unique<HttpProber>("127.0.0.1", port, kPath));
    } else {
      probers.push_back(std::make_unique<TcpProber>("127.0.0.1", port));
    }
  }
  for (auto _ : state) {
    for (int i = 0; i < std::min(2 * n, 2000); ++i) (void)probers[i % n]->Probe(kTimeout);
    Measured m;
    m.checks = settings.checks / 3;
    const int64_t wall0 = MonotonicNs();
    const int64_t cpu0 = ThisThreadCpuNs();
    const int64_t server0 = servers.CpuNs();
    for (int64_t i = 0; i < m.checks; ++i) {
      ProbeResult result = probers[i % n]->Probe(kTimeout);
      if (!result.ok() && m.failures++ == 0) m.first_failure = result.message;
    }
    m.wall_ns = MonotonicNs() - wall0;
    m.checker_cpu_ns = ThisThreadCpuNs() - cpu0;
    m.server_cpu_ns = servers.CpuNs() - server0;
    state.SetIterationTime(m.wall_ns / 1e9);
    Report(state, m, /*paced=*/false);
  }
}

// One diego-healthcheck process for one probe of `port`.
class Spawner {
 public:
  Spawner(bool http) : http_(http) {
    posix_spawn_file_actions_init(&actions_);
    posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions_, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions_, 2, "/dev/null", O_WRONLY, 0);
  }
  ~Spawner() { posix_spawn_file_actions_destroy(&actions_); }

  // The child's pid, or -1 with `error` set.
  pid_t Spawn(uint16_t port, std::string* error) {
    std::string port_flag = absl::StrCat("-port=", port);
    std::string uri_flag = absl::StrCat("-uri=", kPath);
    std::vector<char*> argv = {const_cast<char*>(settings.binary.c_str()),
                               port_flag.data(), const_cast<char*>("-timeout=1s"),
                               const_cast<char*>("-host=127.0.0.1")};
    if (http_) argv.push_back(uri_flag.data());
    argv.push_back(nullptr);
    pid_t pid;
    int rc = posix_spawn(&pid, settings.binary.c_str(), &actions_, nullptr, argv.data(), environ);
    if (rc != 0) {
      *error = absl::StrCat("posix_spawn ", settings.binary, ": ", strerror(rc));
      return -1;
    }
    return pid;
  }

 private:
  const bool http_;
  posix_spawn_file_actions_t actions_;
};

// Waits for `pid` (or any child with -1); false with `error` unless it exited 0.
bool Reap(pid_t pid, std::string* error) {
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid, &status, 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    *error = absl::StrCat("waitpid: ", strerror(errno));
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = absl::StrCat("diego-healthcheck exited with status ",
                          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return false;
  }
  return true;
}

void ForkExecBenchmark(benchmark::State& state, bool paced) {
  if (settings.binary.empty() || access(settings.binary.c_str(), X_OK) != 0) {
    state.SkipWithError(
        absl::StrCat("no diego-healthcheck binary (", settings.binary,
                     "): build target diego-healthcheck or pass --hc_binary=PATH")
            .c_str());
    return;
  }
  const bool http = state.range(0) != 0;
  const int n = static_cast<int>(state.range(1));
  LoopbackServers servers(n, http);
  if (!servers.error().empty()) {
    state.SkipWithError(servers.error().c_str());
    return;
  }
  const std::vector<uint16_t>& ports = servers.ports();
  Spawner spawner(http);

  for (auto _ : state) {
    {
      std::string error;  // warm-up: page cache, dynamic state
      for (int i = 0; i < 5; ++i) {
        pid_t pid = spawner.Spawn(ports[i % n], &error);
        if (pid < 0 || !Reap(pid, &error)) {
          state.SkipWithError(error.c_str());
          return;
        }
      }
    }
    Measured m;
    std::atomic<int64_t> thread_cpu{0};
    absl::Mutex mu;
    const int64_t wall0 = MonotonicNs();
    const int64_t children0 = ChildrenCpuNs();
    const int64_t server0 = servers.CpuNs();
    auto fail = [&](const std::string& error) {
      absl::MutexLock lock(&mu);
      if (m.failures++ == 0) m.first_failure = error;
    };
    if (paced) {
      m.checks = static_cast<int64_t>(settings.paced_seconds * 1000);
      // The pacer spawns on time and hands each pid to the reaper, which
      // waits for them in order (a child is never waited for before it exists).
      absl::Mutex pids_mu;
      std::vector<pid_t> pids;  // spawned; -1 ends the list
      std::thread reaper([&] {
        const int64_t cpu0 = ThisThreadCpuNs();
        for (size_t next = 0;; ++next) {
          pid_t pid;
          {
            absl::MutexLock lock(&pids_mu);
            auto ready = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return pids.size() > next; };
            pids_mu.Await(absl::Condition(&ready));
            pid = pids[next];
          }
          if (pid < 0) break;
          std::string error;
          if (!Reap(pid, &error)) fail(error);
        }
        thread_cpu += ThisThreadCpuNs() - cpu0;
      });
      const int64_t cpu0 = ThisThreadCpuNs();
      int64_t next = MonotonicNs();
      for (int64_t i = 0; i < m.checks; ++i) {
        next += 1'000'000;
        SleepUntilMonotonic(next);
        std::string error;
        pid_t pid = spawner.Spawn(ports[i % n], &error);
        if (pid < 0) {
          fail(error);
          m.checks = i;
          break;
        }
        absl::MutexLock lock(&pids_mu);
        pids.push_back(pid);
      }
      {
        absl::MutexLock lock(&pids_mu);
        pids.push_back(-1);
      }
      thread_cpu += ThisThreadCpuNs() - cpu0;
      reaper.join();
    } else {
      m.checks = settings.spawn_checks;
      std::atomic<int64_t> next_index{0};
      auto work = [&] {
        const int64_t cpu0 = ThisThreadCpuNs();
        for (int64_t i = next_index++; i < m.checks; i = next_index++) {
          std::string error;
          pid_t pid = spawner.Spawn(ports[i % n], &error);
          if (pid < 0 || !Reap(pid, &error)) fail(error);
        }
        thread_cpu += ThisThreadCpuNs() - cpu0;
      };
      std::thread second(work);
      work();
      second.join();
    }
    m.wall_ns = MonotonicNs() - wall0;
    m.checker_cpu_ns = ChildrenCpuNs() - children0;
    m.submit_cpu_ns = thread_cpu.load();
    m.server_cpu_ns = servers.CpuNs() - server0;
    state.SetIterationTime(m.wall_ns / 1e9);
    Report(state, m, paced);
  }
}

void BM_ForkExec_Saturated(benchmark::State& state) { ForkExecBenchmark(state, /*paced=*/false); }
void BM_ForkExec_Paced(benchmark::State& state) { ForkExecBenchmark(state, /*paced=*/true); }

void Register() {
  auto common = [](benchmark::internal::Benchmark* b) {
    b->ArgNames({"http", "servers"})->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  };
  for (int http : {0, 1}) {
    for (int n : {10, 100, 1000}) {
      common(benchmark::RegisterBenchmark("BM_Checker_Saturated", BM_Checker_Saturated)
                 ->Args({http, n}));
      common(benchmark::RegisterBenchmark("BM_ForkExec_Saturated", BM_ForkExec_Saturated)
                 ->Args({http, n}));
    }
    common(benchmark::RegisterBenchmark("BM_BlockingProber_Sequential",
                                        BM_BlockingProber_Sequential)
               ->Args({http, 100}));
  }
  for (int http : {0, 1}) {
    common(benchmark::RegisterBenchmark("BM_Checker_Paced", BM_Checker_Paced)->Args({http, 100}));
    common(benchmark::RegisterBenchmark("BM_ForkExec_Paced", BM_ForkExec_Paced)->Args({http, 100}));
  }
}

// Takes this benchmark's own flags out of argv.
bool ParseOwnFlags(int& argc, char** argv) {
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    bool ok = true;
    if (absl::ConsumePrefix(&arg, "--hc_checks=")) {
      ok = absl::SimpleAtoi(arg, &settings.checks) && settings.checks > 0;
    } else if (absl::ConsumePrefix(&arg, "--hc_window=")) {
      ok = absl::SimpleAtoi(arg, &settings.window) && settings.window > 1;
    } else if (absl::ConsumePrefix(&arg, "--hc_spawn_checks=")) {
      ok = absl::SimpleAtoi(arg, &settings.spawn_checks) && settings.spawn_checks > 0;
    } else if (absl::ConsumePrefix(&arg, "--hc_paced_seconds=")) {
      ok = absl::SimpleAtod(arg, &settings.paced_seconds) && settings.paced_seconds > 0;
    } else if (absl::ConsumePrefix(&arg, "--hc_paced_batch=")) {
      ok = absl::SimpleAtoi(arg, &settings.paced_batch) && settings.paced_batch > 0;
    } else if (absl::ConsumePrefix(&arg, "--hc_binary=")) {
      settings.binary = std::string(arg);
    } else {
      argv[out++] = argv[i];
      continue;
    }
    if (!ok) {
      std::fprintf(stderr, "healthcheck_benchmark: invalid value in %s\n", argv[i]);
      return false;
    }
  }
  argc = out;
  return true;
}

}  // namespace
}  // namespace diego::healthcheck

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (!diego::healthcheck::ParseOwnFlags(argc, argv)) return 2;
  diego::healthcheck::Register();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
