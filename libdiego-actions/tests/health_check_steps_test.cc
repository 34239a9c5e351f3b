// Copyright 2026 The libdiego Authors.
//
// Tests of HealthCheckStep and ReadinessHealthCheckStep (steps.h) against
// Diego's health_check_step.go and readiness_health_check_step.go: scripted
// fake checks, a FakeClock, and exact messages and streams captured by a
// recording LogStreamer.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/actions/errors.h"
#include "diego/actions/log_streamer.h"
#include "diego/actions/step.h"
#include "diego/actions/steps.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "fake_steps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::actions {
namespace {

using ::diego::fakes::FakeClock;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::diego::fakes::TestLogger;
using step_fakes::Fake;
using step_fakes::FakeControl;
using step_fakes::ReadyProbe;
using step_fakes::RecordingStreamer;
using step_fakes::Runner;
using step_fakes::ScriptedFactory;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kStarting[] = "Starting health monitoring of container\n";
constexpr char kHealthy[] = "Container became healthy\n";
constexpr char kUnhealthy[] = "Container became unhealthy\n";

// The two streamers a HealthCheckStep writes to, plus the step under test.
struct HealthCheckFixture {
  HealthCheckFixture(StepPtr startup, StepPtr liveness)
      : streamer(std::make_shared<RecordingStreamer>("APP")),
        health(std::make_shared<RecordingStreamer>(kHealthLogSource)),
        step(NewHealthCheckStep(std::move(startup), std::move(liveness), streamer, health,
                                absl::Minutes(1), &clock, *log.logger())) {}

  TestLogger log;
  FakeClock clock;
  std::shared_ptr<RecordingStreamer> streamer;
  std::shared_ptr<RecordingStreamer> health;
  StepPtr step;
};

// ---- HealthCheck -----------------------------------------------------------

TEST(HealthCheckStepTest, StartupPassesThenLivenessFails) {
  auto startup = FakeControl::Blocking(/*ready_at_start=*/true);
  auto liveness = FakeControl::Blocking();
  HealthCheckFixture f(Fake(startup), Fake(liveness));
  ReadyProbe ready(f.step.get());
  Runner runner(f.step.get());
  ASSERT_TRUE(startup->WaitStarted());
  EXPECT_THAT(f.streamer->StdoutChunks(), ElementsAre(kStarting));
  EXPECT_EQ(ready.count, 0);  // the startup check's own readiness does not count
  startup->Finish(absl::OkStatus());
  ASSERT_TRUE(liveness->WaitStarted());
  EXPECT_EQ(ready.count, 1);
  EXPECT_THAT(f.streamer->StdoutChunks(), ElementsAre(kStarting, kHealthy));
  EXPECT_TRUE(f.log.Contains("test.health-check-step.transitioned-to-healthy"));

  liveness->Finish(EmittableError("Liveness check unsuccessful: oh no!"));
  absl::Status status = runner.Wait();
  EXPECT_TRUE(IsEmittable(status));
  EXPECT_EQ(EmittableMessage(status),
            "Instance became unhealthy: Liveness check unsuccessful: oh no!");
  EXPECT_THAT(f.health->StderrChunks(), ElementsAre("Liveness check unsuccessful: oh no!\n"));
  EXPECT_THAT(f.health->StdoutChunks(), IsEmpty());
  EXPECT_THAT(f.streamer->StderrChunks(), ElementsAre(kUnhealthy));
  EXPECT_THAT(f.streamer->StdoutChunks(), ElementsAre(kStarting, kHealthy));
  EXPECT_TRUE(f.log.Contains("test.health-check-step.transitioned-to-unhealthy"));
  EXPECT_EQ(ready.count, 1);
}

TEST(HealthCheckStepTest, StartupFailureReportsTheElapsedTime) {
  auto startup = FakeControl::Blocking();
  auto liveness = FakeControl::Blocking();
  HealthCheckFixture f(Fake(startup), Fake(liveness));
  ReadyProbe ready(f.step.get());
  Runner runner(f.step.get());
  ASSERT_TRUE(startup->WaitStarted());
  f.clock.Advance(absl::Minutes(1));
  startup->Finish(absl::UnknownError("booom!"));
  absl::Status status = runner.Wait();
  EXPECT_TRUE(IsEmittable(status));
  EXPECT_EQ(EmittableMessage(status), "Instance never healthy after 1m0s: booom!");
  EXPECT_EQ(status.message(), "Instance never healthy after 1m0s: booom!\nbooom!");
  EXPECT_THAT(f.health->StderrChunks(), ElementsAre("booom!\n"));
  EXPECT_THAT(f.streamer->StderrChunks(),
              ElementsAre("Failed after 1m0s: startup health check never passed.\n"));
  EXPECT_THAT(f.streamer->StdoutChunks(), ElementsAre(kStarting));
  EXPECT_TRUE(f.log.Contains("test.health-check-step.timed-out-before-healthy"));
  EXPECT_EQ(ready.count, 0);
  EXPECT_EQ(liveness->runs(), 0);
}

TEST(HealthCheckStepTest, ElapsedTimeIsRoundedToTheMillisecond) {
  auto startup = FakeControl::Blocking();
  HealthCheckFixture f(Fake(startup), Fake(FakeControl::Blocking()));
  Runner runner(f.step.get());
  ASSERT_TRUE(startup->WaitStarted());
  f.clock.Advance(absl::Nanoseconds(1234567891));
  startup->Finish(absl::UnknownError("x"));
  EXPECT_EQ(EmittableMessage(runner.Wait()), "Instance never healthy after 1.235s: x");
  EXPECT_THAT(f.streamer->StderrChunks(),
              ElementsAre("Failed after 1.235s: startup health check never passed.\n"));
}

TEST(HealthCheckStepTest, AnEmittableCheckErrorIsQuotedWithoutItsWrappedError) {
  auto startup = FakeControl::Returning(
      EmittableError("failed to make TCP connection to 10.0.0.2:8080: connection refused",
                     absl::UnknownError("Exit status 4")));
  HealthCheckFixture f(Fake(startup), Fake(FakeControl::Blocking()));
  absl::Status status = f.step->Run();
  EXPECT_EQ(EmittableMessage(status),
            "Instance never healthy after 0s: failed to make TCP connection to 10.0.0.2:8080: "
            "connection refused");
  EXPECT_THAT(f.health->StderrChunks(),
              ElementsAre("failed to make TCP connection to 10.0.0.2:8080: connection refused\n"));
}

TEST(HealthCheckStepTest, CancelDuringStartup) {
  auto startup = FakeControl::Blocking(true, absl::UnknownError("killed"));
  auto liveness = FakeControl::Blocking();
  HealthCheckFixture f(Fake(startup), Fake(liveness));
  ReadyProbe ready(f.step.get());
  Runner runner(f.step.get());
  ASSERT_TRUE(startup->WaitStarted());
  f.step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(startup->cancels(), 1);
  EXPECT_EQ(liveness->runs(), 0);
  EXPECT_EQ(ready.count, 0);
  EXPECT_THAT(f.streamer->StdoutChunks(), ElementsAre(kStarting));
  EXPECT_THAT(f.streamer->StderrChunks(), IsEmpty());
  EXPECT_THAT(f.health->StderrChunks(), IsEmpty());
}

TEST(HealthCheckStepTest, CancelDuringLiveness) {
  auto startup = FakeControl::Returning(absl::OkStatus());
  auto liveness = FakeControl::Blocking(true, absl::UnknownError("killed"));
  HealthCheckFixture f(Fake(startup), Fake(liveness));
  Runner runner(f.step.get());
  ASSERT_TRUE(liveness->WaitStarted());
  f.step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(liveness->cancels(), 1);
  EXPECT_THAT(f.streamer->StdoutChunks(), ElementsAre(kStarting, kHealthy));
  EXPECT_THAT(f.streamer->StderrChunks(), IsEmpty());
  EXPECT_THAT(f.health->StderrChunks(), IsEmpty());
}

TEST(HealthCheckStepTest, RefusesToStartWhenCancelled) {
  auto startup = FakeControl::Returning(absl::OkStatus());
  HealthCheckFixture f(Fake(startup), Fake(FakeControl::Blocking()));
  f.step->Cancel();
  EXPECT_TRUE(IsCancelledError(f.step->Run()));
  EXPECT_EQ(startup->runs(), 0);
  EXPECT_THAT(f.streamer->StdoutChunks(), IsEmpty());
}

// The legacy monitor's shape: EventuallySucceeds for startup and
// ConsistentlySucceeds for liveness, on the same FakeClock.
TEST(HealthCheckStepTest, MonitorShapedTree) {
  FakeClock clock;
  ScriptedFactory startup_attempts({FakeControl::Returning(EmittableError("not up yet")),
                                    FakeControl::Returning(absl::OkStatus())});
  ScriptedFactory liveness_attempts(
      {FakeControl::Returning(absl::OkStatus()), FakeControl::Returning(EmittableError("down"))});
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>("APP");
  auto health = std::make_shared<RecordingStreamer>(kHealthLogSource);
  StepPtr step = NewHealthCheckStep(
      NewEventuallySucceedsStep(startup_attempts.factory(), absl::Seconds(2), absl::Minutes(1),
                                &clock),
      NewConsistentlySucceedsStep(liveness_attempts.factory(), absl::Seconds(30), &clock), streamer,
      health, absl::Minutes(1), &clock, *log.logger());
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(2));  // startup attempt 1 fails
  clock.BlockUntilSleepers(1);
  EXPECT_EQ(ready.count, 0);
  clock.Advance(absl::Seconds(2));  // startup attempt 2 passes
  ASSERT_TRUE(ready.Wait());
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(30));  // liveness attempt 1 passes
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(30));  // liveness attempt 2 fails
  EXPECT_EQ(EmittableMessage(runner.Wait()), "Instance became unhealthy: down");
  EXPECT_THAT(streamer->StdoutChunks(), ElementsAre(kStarting, kHealthy));
  EXPECT_THAT(streamer->StderrChunks(), ElementsAre(kUnhealthy));
  EXPECT_THAT(health->StderrChunks(), ElementsAre("down\n"));
}

// ---- ReadinessHealthCheck --------------------------------------------------

constexpr char kStartingReadiness[] = "Starting readiness health monitoring of container\n";
constexpr char kPassed[] =
    "Container passed the readiness health check. Container marked ready and added to route "
    "pool.\n";
constexpr char kFailed[] =
    "Container failed the readiness health check. Container marked not ready and removed from "
    "route pool.\n";

// Records readiness changes and how many stdout lines had been printed when
// each arrived (Diego reports the change before printing its line).
class ChangeRecorder {
 public:
  explicit ChangeRecorder(RecordingStreamer* streamer) : streamer_(streamer) {}
  std::function<void(Readiness)> callback() {
    return [this](Readiness r) {
      absl::MutexLock lock(&mu_);
      changes_.emplace_back(r, streamer_->StdoutChunks().size());
    };
  }
  std::vector<std::pair<Readiness, size_t>> changes() const {
    absl::MutexLock lock(&mu_);
    return changes_;
  }

 private:
  RecordingStreamer* streamer_;
  mutable absl::Mutex mu_;
  std::vector<std::pair<Readiness, size_t>> changes_ ABSL_GUARDED_BY(mu_);
};

TEST(ReadinessHealthCheckStepTest, AlternatesBetweenReadyAndNotReady) {
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>("APP");
  ChangeRecorder changes(streamer.get());
  auto ready1 = FakeControl::Returning(absl::OkStatus());
  auto ready2 = FakeControl::Returning(absl::OkStatus());
  auto fail1 = FakeControl::Blocking();
  auto fail2 = FakeControl::Blocking();
  ScriptedFactory until_ready({ready1, ready2});
  ScriptedFactory until_failure({fail1, fail2});
  StepPtr step = NewReadinessHealthCheckStep(until_ready.factory(), until_failure.factory(),
                                             changes.callback(), streamer, *log.logger());
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  ASSERT_TRUE(fail1->WaitStarted());
  EXPECT_EQ(ready.count, 1);  // ready at once
  EXPECT_THAT(streamer->StdoutChunks(), ElementsAre(kStartingReadiness, kPassed));
  EXPECT_THAT(changes.changes(), ElementsAre(std::make_pair(Readiness::kReady, size_t{1})));

  fail1->Finish(absl::UnknownError("readiness check failed"));
  ASSERT_TRUE(fail2->WaitStarted());
  EXPECT_THAT(streamer->StdoutChunks(), ElementsAre(kStartingReadiness, kPassed, kFailed, kPassed));
  EXPECT_THAT(changes.changes(), ElementsAre(std::make_pair(Readiness::kReady, size_t{1}),
                                             std::make_pair(Readiness::kNotReady, size_t{2}),
                                             std::make_pair(Readiness::kReady, size_t{3})));
  EXPECT_TRUE(log.Contains("test.transitioned-to-ready"));
  EXPECT_TRUE(log.Contains("test.transitioned-to-not-ready"));

  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(fail2->cancels(), 1);
  EXPECT_EQ(changes.changes().size(), 3u);
  EXPECT_THAT(streamer->StderrChunks(), IsEmpty());
}

TEST(ReadinessHealthCheckStepTest, UntilReadyErrorEndsTheStep) {
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>("APP");
  ChangeRecorder changes(streamer.get());
  ScriptedFactory until_ready({FakeControl::Returning(absl::UnknownError("cannot run check"))});
  ScriptedFactory until_failure({});
  StepPtr step = NewReadinessHealthCheckStep(until_ready.factory(), until_failure.factory(),
                                             changes.callback(), streamer, *log.logger());
  EXPECT_THAT(step->Run(), StatusIs(absl::StatusCode::kUnknown, "cannot run check"));
  EXPECT_THAT(streamer->StdoutChunks(),
              ElementsAre(kStartingReadiness, "Failed to run the readiness check\n"));
  EXPECT_THAT(changes.changes(), IsEmpty());
  EXPECT_EQ(until_failure.built(), 0);
}

TEST(ReadinessHealthCheckStepTest, UntilFailureSuccessStartsOverWithoutAChange) {
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>("APP");
  ChangeRecorder changes(streamer.get());
  auto ready2 = FakeControl::Blocking();
  ScriptedFactory until_ready({FakeControl::Returning(absl::OkStatus()), ready2});
  ScriptedFactory until_failure({FakeControl::Returning(absl::OkStatus())});
  StepPtr step = NewReadinessHealthCheckStep(until_ready.factory(), until_failure.factory(),
                                             changes.callback(), streamer, *log.logger());
  Runner runner(step.get());
  ASSERT_TRUE(ready2->WaitStarted());
  EXPECT_TRUE(log.Contains("test.unexpected-until-failure-check-result"));
  EXPECT_THAT(changes.changes(), ElementsAre(std::make_pair(Readiness::kReady, size_t{1})));
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(ready2->cancels(), 1);
  EXPECT_THAT(streamer->StdoutChunks(), ElementsAre(kStartingReadiness, kPassed));
}

TEST(ReadinessHealthCheckStepTest, CancelDuringUntilReady) {
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>("APP");
  ChangeRecorder changes(streamer.get());
  auto ready1 = FakeControl::Blocking(true, absl::OkStatus());
  ScriptedFactory until_ready({ready1});
  ScriptedFactory until_failure({});
  StepPtr step = NewReadinessHealthCheckStep(until_ready.factory(), until_failure.factory(),
                                             changes.callback(), streamer, *log.logger());
  Runner runner(step.get());
  ASSERT_TRUE(ready1->WaitStarted());
  step->Cancel();
  // Even a check that ends OK when cancelled reports no change.
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(ready1->cancels(), 1);
  EXPECT_THAT(changes.changes(), IsEmpty());
  EXPECT_THAT(streamer->StdoutChunks(), ElementsAre(kStartingReadiness));
}

TEST(ReadinessHealthCheckStepTest, RefusesToStartWhenCancelled) {
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>("APP");
  ChangeRecorder changes(streamer.get());
  ScriptedFactory until_ready({});
  ScriptedFactory until_failure({});
  StepPtr step = NewReadinessHealthCheckStep(until_ready.factory(), until_failure.factory(),
                                             changes.callback(), streamer, *log.logger());
  ReadyProbe ready(step.get());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(ready.count, 0);
  EXPECT_THAT(streamer->StdoutChunks(), IsEmpty());
  EXPECT_EQ(until_ready.built(), 0);
}

}  // namespace
}  // namespace diego::actions
