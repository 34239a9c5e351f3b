// Copyright 2026 The libdiego Authors.
//
// The loops of health_check.h on a FakeClock with scripted probers: a loop
// runs on its own thread, the test waits until it sleeps on the clock
// (BlockUntilSleepers) and moves time (Advance).

#include "diego/healthcheck/health_check.h"

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/fake_prober.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::healthcheck {
namespace {

using fakes::FakeClock;
using fakes::FakeProber;
using ::testing::Each;
using ::testing::ElementsAre;

const ProbeResult kRefused{kExitTcpConnectFailed,
                           "failed to make TCP connection to 10.0.0.2:8080: "
                           "dial tcp 10.0.0.2:8080: connect: connection refused"};
const ProbeResult kBadStatus{kExitHttpBadStatus,
                             "failed to make HTTP request to '/h' on port 8080: "
                             "received status code 503 in 2ms"};

// Runs `loop` on a thread; Join() returns its result.
class LoopThread {
 public:
  template <typename F>
  explicit LoopThread(F loop) : thread_([this, loop] { result_ = loop(); }) {}
  ~LoopThread() {
    if (thread_.joinable()) thread_.join();
  }
  ProbeResult Join() {
    thread_.join();
    return result_;
  }

 private:
  ProbeResult result_;
  std::thread thread_;
};

// Lets the loop reach its next sleep, then moves time by `d`; `n` times.
void Step(FakeClock& clock, absl::Duration d, int n = 1) {
  for (int i = 0; i < n; ++i) {
    clock.BlockUntilSleepers(1);
    clock.Advance(d);
  }
}

std::vector<absl::Time> Offsets(absl::Time start, std::initializer_list<absl::Duration> ds) {
  std::vector<absl::Time> out;
  for (absl::Duration d : ds) out.push_back(start + d);
  return out;
}

// A prober whose probes take fake time (the probing thread advances the
// clock by the next of `durations`, the last one repeating) and fail.
class SlowFailingProber final : public Prober {
 public:
  SlowFailingProber(FakeClock& clock, std::vector<absl::Duration> durations)
      : clock_(clock), durations_(std::move(durations)) {}
  ProbeResult Probe(absl::Duration) override {
    starts_.push_back(clock_.Now());
    size_t i = std::min(starts_.size() - 1, durations_.size() - 1);
    clock_.Advance(durations_[i]);
    return kRefused;
  }
  std::vector<absl::Time> starts() const { return starts_; }

 private:
  FakeClock& clock_;
  std::vector<absl::Duration> durations_;
  std::vector<absl::Time> starts_;
};

// --- startup ---------------------------------------------------------------

TEST(RunStartupTest, PassesAfterFailuresProbingEveryInterval) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  FakeProber prober(&clock);
  prober.PushN(kRefused, 3);
  LoopThread loop([&] {
    return RunStartup(prober, clock, absl::Seconds(1), absl::Seconds(2), absl::Seconds(60),
                      nullptr);
  });
  Step(clock, absl::Seconds(2), 3);
  EXPECT_EQ(loop.Join(), ProbeResult::Ok());
  EXPECT_THAT(prober.call_times(), ElementsAre(start, start + absl::Seconds(2),
                                               start + absl::Seconds(4), start + absl::Seconds(6)));
  EXPECT_THAT(prober.timeouts(), Each(absl::Seconds(1)));
}

TEST(RunStartupTest, FirstProbePassingNeedsNoSleep) {
  FakeClock clock;
  FakeProber prober(&clock);
  EXPECT_EQ(
      RunStartup(prober, clock, absl::Seconds(1), absl::Seconds(2), absl::Seconds(60), nullptr),
      ProbeResult::Ok());
  EXPECT_EQ(prober.calls(), 1);
}

TEST(RunStartupTest, TimesOutWithAttemptsAndLastProbe) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  FakeProber prober(&clock);
  prober.SetDefault(kRefused);
  prober.Push(kBadStatus);  // an earlier, different failure is not reported
  LoopThread loop([&] {
    return RunStartup(prober, clock, absl::Seconds(1), absl::Seconds(1), absl::Seconds(3), nullptr);
  });
  // Probes at 0, 1 and 2; at 3 the timer (created first) beats the tick.
  Step(clock, absl::Seconds(1), 3);
  EXPECT_EQ(loop.Join(),
            (ProbeResult{kExitTcpConnectFailed,
                         "Timed out after 3s (3 attempts) waiting for startup check to succeed: " +
                             kRefused.message}));
  EXPECT_EQ(prober.call_times(),
            Offsets(start, {absl::Seconds(0), absl::Seconds(1), absl::Seconds(2)}));
}

TEST(RunStartupTest, TimeoutBetweenTicksUsesGoDurationText) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  FakeProber prober(&clock);
  prober.SetDefault(kBadStatus);
  LoopThread loop([&] {
    return RunStartup(prober, clock, absl::Seconds(1), absl::Seconds(25), absl::Seconds(60),
                      nullptr);
  });
  // Probes at 0 and 25 and 50; the deadline (60) comes before the tick (75).
  Step(clock, absl::Seconds(25), 2);
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(9));
  EXPECT_EQ(clock.Sleepers(), 1);  // still waiting for the deadline
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(
      loop.Join(),
      (ProbeResult{kExitHttpBadStatus,
                   "Timed out after 1m0s (3 attempts) waiting for startup check to succeed: " +
                       kBadStatus.message}));
  EXPECT_EQ(prober.call_times(),
            Offsets(start, {absl::Seconds(0), absl::Seconds(25), absl::Seconds(50)}));
}

TEST(RunStartupTest, ZeroStartupTimeoutIsUnbounded) {
  FakeClock clock;
  FakeProber prober(&clock);
  prober.PushN(kRefused, 100);
  LoopThread loop([&] {
    return RunStartup(prober, clock, absl::Seconds(1), absl::Seconds(2), absl::ZeroDuration(),
                      nullptr);
  });
  Step(clock, absl::Seconds(2), 100);
  EXPECT_EQ(loop.Join(), ProbeResult::Ok());
  EXPECT_EQ(prober.calls(), 101);
}

TEST(RunStartupTest, SlowProbesStartAtOnceAndDropOverrunTicks) {
  // Probes take 2.5s with a 1s interval: Go's ticker holds one tick, so the
  // next probe starts as soon as one ends; no sleeping at all.
  FakeClock clock;
  const absl::Time start = clock.Now();
  SlowFailingProber prober(clock, {absl::Milliseconds(2500)});
  ProbeResult result =
      RunStartup(prober, clock, absl::Seconds(5), absl::Seconds(1), absl::Seconds(6), nullptr);
  EXPECT_EQ(result,
            (ProbeResult{kExitTcpConnectFailed,
                         "Timed out after 6s (3 attempts) waiting for startup check to succeed: " +
                             kRefused.message}));
  EXPECT_EQ(prober.starts(),
            Offsets(start, {absl::Seconds(0), absl::Milliseconds(2500), absl::Seconds(5)}));
}

TEST(RunStartupTest, AfterAnOverrunTheNextTickIsOnTheOriginalGrid) {
  // Interval 1s; the first probe takes 2.5s (tick 1 held, tick 2 dropped), so
  // the second starts at once at 2.5; it is instant, so the third waits for
  // the tick at 3, and then the loop sleeps for the tick at 4.
  FakeClock clock;
  const absl::Time start = clock.Now();
  SlowFailingProber prober(clock, {absl::Milliseconds(2500), absl::ZeroDuration()});
  absl::Notification cancelled;
  LoopThread loop([&] {
    return RunStartup(prober, clock, absl::Seconds(5), absl::Seconds(1), absl::ZeroDuration(),
                      &cancelled);
  });
  Step(clock, absl::Milliseconds(500));
  clock.BlockUntilSleepers(1);
  EXPECT_EQ(clock.Now(), start + absl::Seconds(3));
  cancelled.Notify();
  EXPECT_EQ(loop.Join(), CancelledResult());
  EXPECT_EQ(prober.starts(),
            Offsets(start, {absl::Seconds(0), absl::Milliseconds(2500), absl::Seconds(3)}));
}

TEST(RunStartupTest, CancelStopsTheWait) {
  FakeClock clock;
  FakeProber prober(&clock);
  prober.SetDefault(kRefused);
  absl::Notification cancelled;
  LoopThread loop([&] {
    return RunStartup(prober, clock, absl::Seconds(1), absl::Seconds(2), absl::Seconds(60),
                      &cancelled);
  });
  clock.BlockUntilSleepers(1);
  cancelled.Notify();
  EXPECT_EQ(loop.Join(), (ProbeResult{kExitUnknown, "cancelled"}));
  EXPECT_EQ(prober.calls(), 1);
}

// --- liveness / readiness / until-ready -----------------------------------------

TEST(RunLivenessTest, FirstFailureEndsWithPrefix) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  FakeProber prober(&clock);
  prober.PushN(ProbeResult::Ok(), 2);
  prober.Push(kRefused);
  LoopThread loop(
      [&] { return RunLiveness(prober, clock, absl::Seconds(1), absl::Seconds(30), nullptr); });
  Step(clock, absl::Seconds(30), 2);
  EXPECT_EQ(loop.Join(), (ProbeResult{kExitTcpConnectFailed,
                                      "Liveness check unsuccessful: " + kRefused.message}));
  EXPECT_EQ(prober.call_times(),
            Offsets(start, {absl::Seconds(0), absl::Seconds(30), absl::Seconds(60)}));
}

TEST(RunLivenessTest, SleepsTheIntervalAfterEachProbe) {
  FakeClock clock;
  FakeProber prober(&clock);
  LoopThread loop(
      [&] { return RunLiveness(prober, clock, absl::Seconds(1), absl::Seconds(30), nullptr); });
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(29));
  EXPECT_EQ(prober.calls(), 1);
  EXPECT_EQ(clock.Sleepers(), 1);
  prober.SetDefault(kBadStatus);
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(loop.Join(), (ProbeResult{kExitHttpBadStatus,
                                      "Liveness check unsuccessful: " + kBadStatus.message}));
  EXPECT_EQ(prober.calls(), 2);
}

TEST(RunLivenessTest, CancelWhilePassing) {
  FakeClock clock;
  FakeProber prober(&clock);
  absl::Notification cancelled;
  LoopThread loop(
      [&] { return RunLiveness(prober, clock, absl::Seconds(1), absl::Seconds(30), &cancelled); });
  Step(clock, absl::Seconds(30), 3);
  clock.BlockUntilSleepers(1);
  cancelled.Notify();
  EXPECT_EQ(loop.Join(), CancelledResult());
  EXPECT_EQ(prober.calls(), 4);
}

TEST(RunLivenessTest, AlreadyCancelledProbesNothing) {
  FakeClock clock;
  FakeProber prober(&clock);
  absl::Notification cancelled;
  cancelled.Notify();
  EXPECT_EQ(RunLiveness(prober, clock, absl::Seconds(1), absl::Seconds(30), &cancelled),
            CancelledResult());
  EXPECT_EQ(RunReadiness(prober, clock, absl::Seconds(1), absl::Seconds(30), &cancelled),
            CancelledResult());
  EXPECT_EQ(RunUntilReady(prober, clock, absl::Seconds(1), absl::Seconds(30), &cancelled),
            CancelledResult());
  EXPECT_EQ(
      RunStartup(prober, clock, absl::Seconds(1), absl::Seconds(30), absl::Seconds(60), &cancelled),
      CancelledResult());
  EXPECT_EQ(prober.calls(), 0);
}

TEST(RunReadinessTest, FirstFailureEndsWithReadinessPrefix) {
  FakeClock clock;
  FakeProber prober(&clock);
  prober.Push(ProbeResult::Ok());
  prober.Push(kBadStatus);
  LoopThread loop(
      [&] { return RunReadiness(prober, clock, absl::Seconds(1), absl::Seconds(5), nullptr); });
  Step(clock, absl::Seconds(5));
  EXPECT_EQ(loop.Join(), (ProbeResult{kExitHttpBadStatus,
                                      "Readiness check unsuccessful: " + kBadStatus.message}));
  EXPECT_EQ(prober.calls(), 2);
}

TEST(RunUntilReadyTest, PassesOnFirstSuccessWithoutReportingFailures) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  FakeProber prober(&clock);
  prober.PushN(kRefused, 2);
  LoopThread loop(
      [&] { return RunUntilReady(prober, clock, absl::Seconds(1), absl::Seconds(3), nullptr); });
  Step(clock, absl::Seconds(3), 2);
  EXPECT_EQ(loop.Join(), ProbeResult::Ok());
  EXPECT_EQ(prober.call_times(),
            Offsets(start, {absl::Seconds(0), absl::Seconds(3), absl::Seconds(6)}));
}

// --- RunHealthCheck: mode precedence -----------------------------------------------

TEST(RunHealthCheckTest, NoModeIsOneProbeAsIs) {
  FakeClock clock;
  FakeProber prober(&clock);
  prober.Push(kRefused);
  HealthCheckConfig config;
  config.timeout = absl::Milliseconds(500);
  EXPECT_EQ(RunHealthCheck(config, prober, clock, nullptr), kRefused);
  EXPECT_THAT(prober.timeouts(), ElementsAre(absl::Milliseconds(500)));
}

TEST(RunHealthCheckTest, StartupWinsOverEveryOtherMode) {
  FakeClock clock;
  FakeProber prober(&clock);
  prober.Push(kRefused);  // liveness/readiness would fail on this at once
  HealthCheckConfig config;
  config.startup_interval = absl::Seconds(2);
  config.liveness_interval = absl::Seconds(1);
  config.readiness_interval = absl::Seconds(1);
  config.until_ready_interval = absl::Seconds(1);
  LoopThread loop([&] { return RunHealthCheck(config, prober, clock, nullptr); });
  Step(clock, absl::Seconds(2));
  EXPECT_EQ(loop.Join(), ProbeResult::Ok());
  EXPECT_EQ(prober.calls(), 2);
}

TEST(RunHealthCheckTest, LivenessWinsOverReadinessAndUntilReady) {
  FakeClock clock;
  FakeProber prober(&clock);
  prober.Push(kRefused);
  HealthCheckConfig config;
  config.liveness_interval = absl::Seconds(1);
  config.readiness_interval = absl::Seconds(1);
  config.until_ready_interval = absl::Seconds(1);
  EXPECT_EQ(RunHealthCheck(config, prober, clock, nullptr).message,
            "Liveness check unsuccessful: " + kRefused.message);
}

TEST(RunHealthCheckTest, ReadinessWinsOverUntilReady) {
  FakeClock clock;
  FakeProber prober(&clock);
  prober.Push(kRefused);
  HealthCheckConfig config;
  config.readiness_interval = absl::Seconds(1);
  config.until_ready_interval = absl::Seconds(1);
  EXPECT_EQ(RunHealthCheck(config, prober, clock, nullptr).message,
            "Readiness check unsuccessful: " + kRefused.message);
}

TEST(RunHealthCheckTest, UntilReadyLoopsOnFailures) {
  FakeClock clock;
  FakeProber prober(&clock);
  prober.Push(kRefused);
  HealthCheckConfig config;
  config.until_ready_interval = absl::Seconds(1);
  config.timeout = absl::Seconds(3);
  LoopThread loop([&] { return RunHealthCheck(config, prober, clock, nullptr); });
  Step(clock, absl::Seconds(1));
  EXPECT_EQ(loop.Join(), ProbeResult::Ok());
  EXPECT_THAT(prober.timeouts(), ElementsAre(absl::Seconds(3), absl::Seconds(3)));
}

TEST(RunHealthCheckTest, StartupUsesTheStartupTimeout) {
  FakeClock clock;
  FakeProber prober(&clock);
  prober.SetDefault(kRefused);
  HealthCheckConfig config;
  config.startup_interval = absl::Seconds(1);
  config.startup_timeout = absl::Milliseconds(1500);
  LoopThread loop([&] { return RunHealthCheck(config, prober, clock, nullptr); });
  Step(clock, absl::Seconds(1));
  Step(clock, absl::Milliseconds(500));
  EXPECT_EQ(loop.Join().message,
            "Timed out after 1.5s (2 attempts) waiting for startup check to succeed: " +
                kRefused.message);
}

TEST(RunHealthCheckTest, NegativeIntervalsAreOff) {
  FakeClock clock;
  FakeProber prober(&clock);
  prober.Push(kBadStatus);
  HealthCheckConfig config;
  config.liveness_interval = absl::Seconds(-1);
  EXPECT_EQ(RunHealthCheck(config, prober, clock, nullptr), kBadStatus);
  EXPECT_EQ(prober.calls(), 1);
}

}  // namespace
}  // namespace diego::healthcheck
