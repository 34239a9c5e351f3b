// Copyright 2026 The libdiego Authors.
//
// Tests of the composite and wrapper steps (steps.h) against Diego's
// executor/depot/steps semantics: scripted fake children, a FakeClock for
// every wait, and exact messages captured by a recording LogStreamer.

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/actions/errors.h"
#include "diego/actions/log_streamer.h"
#include "diego/actions/semaphore.h"
#include "diego/actions/step.h"
#include "diego/actions/steps.h"
#include "diego/testing/child_process.h"
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
using step_fakes::kHangGuard;
using step_fakes::ReadyProbe;
using step_fakes::RecordingStreamer;
using step_fakes::Runner;
using step_fakes::ScriptedFactory;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

// A BufferLogStreamer fake: keeps everything written.
class FakeBufferStreamer final : public BufferLogStreamer {
 public:
  void Stdout(absl::string_view chunk) override { Append(chunk); }
  void Stderr(absl::string_view chunk) override { Append(chunk); }
  void Flush() override {}
  std::shared_ptr<LogStreamer> WithSource(absl::string_view) override { return nullptr; }
  std::string SourceName() const override { return kDefaultLogSource; }
  std::string Contents() const override {
    absl::MutexLock lock(&mu_);
    return contents_;
  }

 private:
  void Append(absl::string_view chunk) {
    absl::MutexLock lock(&mu_);
    contents_.append(chunk.data(), chunk.size());
  }
  mutable absl::Mutex mu_;
  std::string contents_ ABSL_GUARDED_BY(mu_);
};

class RecordingMetrics final : public StepMetrics {
 public:
  void IncrementCounter(absl::string_view name) override {
    absl::MutexLock lock(&mu_);
    counters_.emplace_back(name);
  }
  void SendDuration(absl::string_view name, absl::Duration d) override {
    absl::MutexLock lock(&mu_);
    durations_.emplace_back(std::string(name), d);
  }
  std::vector<std::string> counters() const {
    absl::MutexLock lock(&mu_);
    return counters_;
  }
  std::vector<std::pair<std::string, absl::Duration>> durations() const {
    absl::MutexLock lock(&mu_);
    return durations_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> counters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, absl::Duration>> durations_ ABSL_GUARDED_BY(mu_);
};

StepList List(std::vector<std::shared_ptr<FakeControl>> controls) {
  StepList steps;
  for (auto& c : controls) steps.push_back(Fake(c));
  return steps;
}

// ---- Serial ----------------------------------------------------------------

TEST(SerialStepTest, RunsChildrenInOrder) {
  auto a = FakeControl::Returning(absl::OkStatus());
  auto b = FakeControl::Returning(absl::OkStatus());
  auto c = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewSerialStep(List({a, b, c}));
  EXPECT_OK(step->Run());
  EXPECT_EQ(a->runs(), 1);
  EXPECT_EQ(b->runs(), 1);
  EXPECT_EQ(c->runs(), 1);
  EXPECT_LT(a->run_sequence(), b->run_sequence());
  EXPECT_LT(b->run_sequence(), c->run_sequence());
}

TEST(SerialStepTest, FirstErrorAbortsAndIsReturned) {
  auto a = FakeControl::Returning(absl::OkStatus());
  auto b = FakeControl::Returning(EmittableError("boom"));
  auto c = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewSerialStep(List({a, b, c}));
  absl::Status status = step->Run();
  EXPECT_EQ(EmittableMessage(status), "boom");
  EXPECT_EQ(c->runs(), 0);
}

TEST(SerialStepTest, EmptyIsOkAndNeverReady) {
  StepPtr step = NewSerialStep({});
  ReadyProbe ready(step.get());
  EXPECT_OK(step->Run());
  EXPECT_EQ(ready.count, 0);
}

TEST(SerialStepTest, CancelIsForwardedToRunningChildAndItsResultReturned) {
  auto a = FakeControl::Blocking(true, ExceededGracefulShutdownIntervalError());
  auto b = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewSerialStep(List({a, b}));
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  step->Cancel();
  EXPECT_TRUE(IsExceededGracefulShutdownInterval(runner.Wait()));
  EXPECT_EQ(a->cancels(), 1);
  EXPECT_EQ(b->runs(), 0);
}

TEST(SerialStepTest, RefusesToStartWhenCancelled) {
  auto a = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewSerialStep(List({a}));
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(a->runs(), 0);
}

TEST(SerialStepTest, ReadyWhenTheLastChildIsReady) {
  auto a = FakeControl::Blocking(/*ready_at_start=*/true);
  auto b = FakeControl::Blocking(/*ready_at_start=*/false);
  StepPtr step = NewSerialStep(List({a, b}));
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  EXPECT_EQ(ready.count, 0);  // the first child's readiness does not count
  a->Finish(absl::OkStatus());
  ASSERT_TRUE(b->WaitStarted());
  EXPECT_EQ(ready.count, 0);
  b->BecomeReady();
  ASSERT_TRUE(ready.Wait());
  b->Finish(absl::OkStatus());
  EXPECT_OK(runner.Wait());
  EXPECT_EQ(ready.count, 1);
}

// ---- Parallel --------------------------------------------------------------

TEST(ParallelStepTest, AllSucceed) {
  auto a = FakeControl::Returning(absl::OkStatus());
  auto b = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewParallelStep(List({a, b}));
  ReadyProbe ready(step.get());
  EXPECT_OK(step->Run());
  EXPECT_EQ(a->runs(), 1);
  EXPECT_EQ(b->runs(), 1);
  EXPECT_EQ(ready.count, 1);
}

TEST(ParallelStepTest, WaitsForAllAndAggregatesErrorsInChildOrder) {
  auto a = FakeControl::Blocking();
  auto b = FakeControl::Returning(absl::OkStatus());
  auto c = FakeControl::Returning(absl::UnknownError("b failed"));
  StepPtr step = NewParallelStep(List({a, b, c}));
  Runner runner(step.get());
  ASSERT_TRUE(c->WaitExited());
  ASSERT_TRUE(b->WaitExited());
  EXPECT_FALSE(runner.done());  // `a` still runs; a failure cancels nothing
  EXPECT_EQ(a->cancels(), 0);
  a->Finish(EmittableError("a failed"));
  absl::Status status = runner.Wait();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnknown, "a failed; b failed"));
  EXPECT_EQ(EmittableMessage(status), "a failed");
}

TEST(ParallelStepTest, CancelCancelsEveryChild) {
  auto a = FakeControl::Blocking();
  auto b = FakeControl::Blocking();
  StepPtr step = NewParallelStep(List({a, b}));
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  ASSERT_TRUE(b->WaitStarted());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(a->cancels(), 1);
  EXPECT_EQ(b->cancels(), 1);
}

TEST(ParallelStepTest, RefusesToStartWhenCancelled) {
  auto a = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewParallelStep(List({a}));
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(a->runs(), 0);
}

TEST(ParallelStepTest, ReadyOnlyWhenEveryChildIsReady) {
  auto a = FakeControl::Blocking(/*ready_at_start=*/true);
  auto b = FakeControl::Blocking(/*ready_at_start=*/false);
  StepPtr step = NewParallelStep(List({a, b}));
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  ASSERT_TRUE(b->WaitStarted());
  EXPECT_EQ(ready.count, 0);
  b->BecomeReady();
  ASSERT_TRUE(ready.Wait());
  a->Finish(absl::OkStatus());
  b->Finish(absl::OkStatus());
  EXPECT_OK(runner.Wait());
  EXPECT_EQ(ready.count, 1);
}

TEST(ParallelStepTest, EmptyIsOkAndReady) {
  StepPtr step = NewParallelStep({});
  ReadyProbe ready(step.get());
  EXPECT_OK(step->Run());
  EXPECT_EQ(ready.count, 1);
}

// ---- Codependent -----------------------------------------------------------

TEST(CodependentStepTest, ModelActionTreatsSuccessAsExitAndCancelsTheOthers) {
  auto a = FakeControl::Returning(absl::OkStatus());
  auto b = FakeControl::Blocking();
  StepPtr step = NewCodependentStep(List({a, b}), /*error_on_exit=*/true,
                                    /*cancel_others_on_exit=*/true);
  absl::Status status = step->Run();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnknown, "Codependent step exited"));
  EXPECT_EQ(EmittableMessage(status), "Codependent step exited");
  EXPECT_EQ(b->cancels(), 1);
}

TEST(CodependentStepTest, AnErrorCancelsTheOthers) {
  auto a = FakeControl::Returning(absl::UnknownError("boom"));
  auto b = FakeControl::Blocking();
  StepPtr step = NewCodependentStep(List({a, b}), false, false);
  EXPECT_THAT(step->Run(), StatusIs(absl::StatusCode::kUnknown, "boom"));
  EXPECT_EQ(b->cancels(), 1);
}

TEST(CodependentStepTest, SuccessIsNotAnExitWithoutTheFlags) {
  auto a = FakeControl::Returning(absl::OkStatus());
  auto b = FakeControl::Blocking();
  StepPtr step = NewCodependentStep(List({a, b}), false, false);
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitExited());
  ASSERT_TRUE(b->WaitStarted());
  b->Finish(absl::OkStatus());
  EXPECT_OK(runner.Wait());
  EXPECT_EQ(b->cancels(), 0);
}

TEST(CodependentStepTest, CancelOthersOnExitCancelsOnSuccess) {
  auto a = FakeControl::Returning(absl::OkStatus());
  auto b = FakeControl::Blocking();
  StepPtr step = NewCodependentStep(List({a, b}), false, /*cancel_others_on_exit=*/true);
  // The only error is the cancelled sibling's, which is not displayable.
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(b->cancels(), 1);
}

TEST(CodependentStepTest, AggregatesErrorsInExitOrder) {
  auto a = FakeControl::Blocking(true, /*on_cancel=*/EmittableError("a stopped"));
  auto b = FakeControl::Blocking();
  StepPtr step = NewCodependentStep(List({a, b}), false, false);
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  ASSERT_TRUE(b->WaitStarted());
  b->Finish(EmittableError("b failed"));
  absl::Status status = runner.Wait();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnknown, "b failed; a stopped"));
  EXPECT_EQ(EmittableMessage(status), "b failed; a stopped");
  EXPECT_EQ(a->cancels(), 1);
  EXPECT_EQ(b->cancels(), 1);  // Diego signals every child, exited ones too
}

TEST(CodependentStepTest, CancelCancelsEveryChild) {
  auto a = FakeControl::Blocking();
  auto b = FakeControl::Blocking();
  StepPtr step = NewCodependentStep(List({a, b}), true, true);
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  ASSERT_TRUE(b->WaitStarted());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_GE(a->cancels(), 1);
  EXPECT_GE(b->cancels(), 1);
}

TEST(CodependentStepTest, RefusesToStartWhenCancelled) {
  auto a = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewCodependentStep(List({a}), true, true);
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(a->runs(), 0);
}

TEST(CodependentStepTest, ReadyOnlyWhenEveryChildIsReady) {
  auto a = FakeControl::Blocking(/*ready_at_start=*/false);
  auto b = FakeControl::Blocking(/*ready_at_start=*/true);
  StepPtr step = NewCodependentStep(List({a, b}), false, false);
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  ASSERT_TRUE(b->WaitStarted());
  EXPECT_EQ(ready.count, 0);
  a->BecomeReady();
  ASSERT_TRUE(ready.Wait());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
}

// ---- Try -------------------------------------------------------------------

TEST(TryStepTest, SwallowsAndLogsTheChildsError) {
  TestLogger log;
  auto a = FakeControl::Returning(absl::UnknownError("boom"));
  StepPtr step = NewTryStep(Fake(a), *log.logger());
  EXPECT_OK(step->Run());
  EXPECT_TRUE(log.Contains("test.try-step.failed"));
}

TEST(TryStepTest, SuccessIsSuccess) {
  TestLogger log;
  StepPtr step = NewTryStep(Fake(FakeControl::Returning(absl::OkStatus())), *log.logger());
  EXPECT_OK(step->Run());
  EXPECT_FALSE(log.Contains("failed"));
}

TEST(TryStepTest, CancelIsForwardedAndReturnsOk) {
  TestLogger log;
  auto a = FakeControl::Blocking();
  StepPtr step = NewTryStep(Fake(a), *log.logger());
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  EXPECT_EQ(ready.count, 1);  // the child's readiness
  step->Cancel();
  EXPECT_OK(runner.Wait());
  EXPECT_EQ(a->cancels(), 1);
}

TEST(TryStepTest, RefusesToStartWhenCancelled) {
  TestLogger log;
  auto a = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewTryStep(Fake(a), *log.logger());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(a->runs(), 0);
}

// ---- Timeout ---------------------------------------------------------------

TEST(TimeoutStepTest, ChildFinishingFirstReturnsItsResult) {
  TestLogger log;
  FakeClock clock;
  auto a = FakeControl::Blocking();
  StepPtr step = NewTimeoutStep(Fake(a), absl::Seconds(5), &clock, *log.logger());
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(4));
  EXPECT_EQ(a->cancels(), 0);
  a->Finish(absl::UnknownError("child error"));
  EXPECT_THAT(runner.Wait(), StatusIs(absl::StatusCode::kUnknown, "child error"));
  EXPECT_EQ(ready.count, 1);
  EXPECT_FALSE(log.Contains("timed-out"));
}

TEST(TimeoutStepTest, ExpiryCancelsTheChildAndReturnsAnEmittableError) {
  TestLogger log;
  FakeClock clock;
  auto a = FakeControl::Blocking();
  StepPtr step = NewTimeoutStep(Fake(a), absl::Seconds(5), &clock, *log.logger());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(4));
  EXPECT_EQ(a->cancels(), 0);
  EXPECT_EQ(clock.Sleepers(), 1);
  clock.Advance(absl::Seconds(1));
  absl::Status status = runner.Wait();
  EXPECT_TRUE(IsEmittable(status));
  EXPECT_EQ(EmittableMessage(status), "exceeded 5s timeout");
  EXPECT_EQ(status.message(), "exceeded 5s timeout\ncancelled");
  EXPECT_EQ(a->cancels(), 1);
  EXPECT_TRUE(log.Contains("test.timeout-step.timed-out"));
}

TEST(TimeoutStepTest, ExpiryJoinsTheChildsEmittableMessage) {
  TestLogger log;
  FakeClock clock;
  auto a = FakeControl::Blocking(true, EmittableError("APP: Exited with status 143"));
  StepPtr step = NewTimeoutStep(Fake(a), absl::Minutes(1), &clock, *log.logger());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Minutes(1));
  EXPECT_EQ(EmittableMessage(runner.Wait()), "exceeded 1m0s timeout; APP: Exited with status 143");
}

TEST(TimeoutStepTest, CancelIsForwarded) {
  TestLogger log;
  FakeClock clock;
  auto a = FakeControl::Blocking();
  StepPtr step = NewTimeoutStep(Fake(a), absl::Seconds(5), &clock, *log.logger());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(a->cancels(), 1);
}

TEST(TimeoutStepTest, RefusesToStartWhenCancelled) {
  TestLogger log;
  FakeClock clock;
  auto a = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewTimeoutStep(Fake(a), absl::Seconds(5), &clock, *log.logger());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(a->runs(), 0);
}

// ---- EmitProgress ----------------------------------------------------------

TEST(EmitProgressStepTest, SuccessPrintsStartAndSuccessMessages) {
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>();
  StepPtr step = NewEmitProgressStep(Fake(FakeControl::Returning(absl::OkStatus())), "Starting",
                                     "Done", "Failed", streamer, *log.logger());
  EXPECT_OK(step->Run());
  EXPECT_THAT(streamer->StdoutChunks(), ElementsAre("Starting\n", "Done\n"));
  EXPECT_THAT(streamer->StderrChunks(), IsEmpty());
}

TEST(EmitProgressStepTest, EmittableFailurePrintsPrefixAndMessage) {
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>();
  StepPtr step = NewEmitProgressStep(Fake(FakeControl::Returning(EmittableError(
                                         "Exited with status 1", absl::InternalError("x")))),
                                     "Starting", "Done", "Failed", streamer, *log.logger());
  absl::Status status = step->Run();
  EXPECT_EQ(EmittableMessage(status), "Exited with status 1");
  EXPECT_THAT(streamer->StdoutChunks(), ElementsAre("Starting\n"));
  EXPECT_THAT(streamer->StderrChunks(), ElementsAre("Failed: Exited with status 1\n"));
  EXPECT_TRUE(log.Contains("test.emit-progress-step.errored"));
}

TEST(EmitProgressStepTest, NonEmittableFailurePrintsThePrefixAlone) {
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>();
  StepPtr step = NewEmitProgressStep(Fake(FakeControl::Returning(absl::UnknownError("secret"))), "",
                                     "Done", "Failed", streamer, *log.logger());
  EXPECT_THAT(step->Run(), StatusIs(absl::StatusCode::kUnknown, "secret"));
  EXPECT_THAT(streamer->StdoutChunks(), IsEmpty());
  EXPECT_THAT(streamer->StderrChunks(), ElementsAre("Failed\n"));
}

TEST(EmitProgressStepTest, EmptyMessagesPrintNothing) {
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>();
  StepPtr ok = NewEmitProgressStep(Fake(FakeControl::Returning(absl::OkStatus())), "", "", "",
                                   streamer, *log.logger());
  EXPECT_OK(ok->Run());
  StepPtr failing = NewEmitProgressStep(Fake(FakeControl::Returning(EmittableError("boom"))), "",
                                        "", "", streamer, *log.logger());
  EXPECT_FALSE(failing->Run().ok());
  EXPECT_THAT(streamer->StdoutChunks(), IsEmpty());
  EXPECT_THAT(streamer->StderrChunks(), IsEmpty());
}

TEST(EmitProgressStepTest, CancelIsForwardedAndReportedAsAFailure) {
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>();
  auto a = FakeControl::Blocking();
  StepPtr step =
      NewEmitProgressStep(Fake(a), "Starting", "Done", "Failed", streamer, *log.logger());
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  EXPECT_EQ(ready.count, 1);
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(a->cancels(), 1);
  // As Diego: a cancelled child is a failure, and "cancelled" is not emittable.
  EXPECT_THAT(streamer->StderrChunks(), ElementsAre("Failed\n"));
}

TEST(EmitProgressStepTest, RefusesToStartWhenCancelled) {
  TestLogger log;
  auto streamer = std::make_shared<RecordingStreamer>();
  auto a = FakeControl::Returning(absl::OkStatus());
  StepPtr step =
      NewEmitProgressStep(Fake(a), "Starting", "Done", "Failed", streamer, *log.logger());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(a->runs(), 0);
  EXPECT_THAT(streamer->StdoutChunks(), IsEmpty());
}

// ---- Throttle --------------------------------------------------------------

TEST(ThrottleStepTest, HoldsAPermitWhileTheChildRuns) {
  Semaphore pool(1);
  auto a = FakeControl::Blocking();
  StepPtr step = NewThrottleStep(Fake(a), &pool);
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  EXPECT_EQ(pool.in_use(), 1);
  EXPECT_EQ(ready.count, 1);
  a->Finish(absl::UnknownError("boom"));
  EXPECT_THAT(runner.Wait(), StatusIs(absl::StatusCode::kUnknown, "boom"));
  EXPECT_EQ(pool.in_use(), 0);
}

TEST(ThrottleStepTest, WaitsForAPermit) {
  Semaphore pool(1);
  auto a = FakeControl::Blocking();
  auto b = FakeControl::Returning(absl::OkStatus());
  StepPtr first = NewThrottleStep(Fake(a), &pool);
  StepPtr second = NewThrottleStep(Fake(b), &pool);
  Runner first_runner(first.get());
  ASSERT_TRUE(a->WaitStarted());
  Runner second_runner(second.get());
  ASSERT_TRUE(fakes::PollUntil([&] { return pool.waiting() == 1; }, kHangGuard));
  EXPECT_EQ(b->runs(), 0);
  a->Finish(absl::OkStatus());
  EXPECT_OK(first_runner.Wait());
  EXPECT_OK(second_runner.Wait());
  EXPECT_EQ(b->runs(), 1);
}

TEST(ThrottleStepTest, CancelWhileWaitingReturnsCancelled) {
  Semaphore pool(1);
  auto a = FakeControl::Blocking();
  auto b = FakeControl::Returning(absl::OkStatus());
  StepPtr first = NewThrottleStep(Fake(a), &pool);
  StepPtr second = NewThrottleStep(Fake(b), &pool);
  Runner first_runner(first.get());
  ASSERT_TRUE(a->WaitStarted());
  Runner second_runner(second.get());
  ASSERT_TRUE(fakes::PollUntil([&] { return pool.waiting() == 1; }, kHangGuard));
  second->Cancel();
  EXPECT_TRUE(IsCancelledError(second_runner.Wait()));
  EXPECT_EQ(b->runs(), 0);
  first->Cancel();
  EXPECT_TRUE(IsCancelledError(first_runner.Wait()));
  EXPECT_EQ(a->cancels(), 1);
  EXPECT_EQ(pool.in_use(), 0);
}

TEST(ThrottleStepTest, RefusesToStartWhenCancelled) {
  Semaphore pool(1);
  auto a = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewThrottleStep(Fake(a), &pool);
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(a->runs(), 0);
  EXPECT_EQ(pool.in_use(), 0);
}

// ---- Background ------------------------------------------------------------

TEST(BackgroundStepTest, ReturnsTheChildsResult) {
  TestLogger log;
  StepPtr step =
      NewBackgroundStep(Fake(FakeControl::Returning(absl::UnknownError("boom"))), *log.logger());
  EXPECT_THAT(step->Run(), StatusIs(absl::StatusCode::kUnknown, "boom"));
  EXPECT_TRUE(log.Contains("test.background-step.failed"));
}

TEST(BackgroundStepTest, CancelReturnsOkAndLeavesTheChildRunning) {
  TestLogger log;
  auto a = FakeControl::Blocking();
  StepPtr step = NewBackgroundStep(Fake(a), *log.logger());
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  EXPECT_EQ(ready.count, 1);
  step->Cancel();
  EXPECT_OK(runner.Wait());
  EXPECT_TRUE(log.Contains("test.background-step.detaching-from-substep"));
  EXPECT_EQ(a->cancels(), 0);
  EXPECT_FALSE(a->exited());
  // The child keeps running after Run() returned and can end on its own.
  a->Finish(absl::OkStatus());
  EXPECT_TRUE(a->WaitExited());
  step.reset();
  EXPECT_EQ(a->cancels(), 1);
}

TEST(BackgroundStepTest, DestroyingACancelledStepCancelsAndJoinsTheChild) {
  TestLogger log;
  auto a = FakeControl::Blocking();
  StepPtr step = NewBackgroundStep(Fake(a), *log.logger());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  step->Cancel();
  EXPECT_OK(runner.Wait());
  EXPECT_EQ(a->cancels(), 0);
  EXPECT_FALSE(a->exited());
  step.reset();  // cancels the child and waits for it
  EXPECT_EQ(a->cancels(), 1);
  EXPECT_TRUE(a->exited());
}

TEST(BackgroundStepTest, ReadyCallbackThatCancelsTheStepDoesNotDeadlock) {
  TestLogger log;
  auto a = FakeControl::Blocking();
  StepPtr step = NewBackgroundStep(Fake(a), *log.logger());
  std::atomic<int> ready{0};
  Step* raw = step.get();
  step->SetReadyCallback([&ready, raw] {
    ++ready;
    raw->Cancel();  // the tree is cancelled from inside the ready chain
  });
  EXPECT_OK(raw->Run());
  EXPECT_EQ(ready.load(), 1);
  EXPECT_EQ(a->cancels(), 0);
  step.reset();
  EXPECT_EQ(a->cancels(), 1);
  EXPECT_TRUE(a->exited());
}

TEST(BackgroundStepTest, RefusesToStartWhenCancelled) {
  TestLogger log;
  auto a = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewBackgroundStep(Fake(a), *log.logger());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(a->runs(), 0);
}

// ---- EventuallySucceeds ----------------------------------------------------

TEST(EventuallySucceedsStepTest, FirstAttemptAfterOneIntervalAndSucceedsEventually) {
  FakeClock clock;
  ScriptedFactory attempts({FakeControl::Returning(absl::UnknownError("no")),
                            FakeControl::Returning(absl::UnknownError("no")),
                            FakeControl::Returning(absl::OkStatus())});
  StepPtr step =
      NewEventuallySucceedsStep(attempts.factory(), absl::Seconds(1), absl::Seconds(60), &clock);
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  clock.BlockUntilSleepers(1);
  EXPECT_EQ(attempts.built(), 0);
  EXPECT_EQ(ready.count, 1);  // ready at once, as Diego's
  clock.Advance(absl::Seconds(1));
  clock.BlockUntilSleepers(1);
  EXPECT_EQ(attempts.built(), 1);
  clock.Advance(absl::Seconds(1));
  clock.BlockUntilSleepers(1);
  EXPECT_EQ(attempts.built(), 2);
  clock.Advance(absl::Seconds(1));
  EXPECT_OK(runner.Wait());
  EXPECT_EQ(attempts.built(), 3);
}

TEST(EventuallySucceedsStepTest, TimeoutReturnsTheLastError) {
  FakeClock clock;
  ScriptedFactory attempts({FakeControl::Returning(absl::UnknownError("attempt 1")),
                            FakeControl::Returning(absl::UnknownError("attempt 2")),
                            FakeControl::Returning(absl::UnknownError("attempt 3")),
                            FakeControl::Returning(absl::UnknownError("attempt 4"))});
  StepPtr step =
      NewEventuallySucceedsStep(attempts.factory(), absl::Seconds(1), absl::Seconds(3), &clock);
  Runner runner(step.get());
  // Attempts at 1s, 2s, 3s (not yet past the 3s timeout), 4s (past it).
  for (int i = 0; i < 4; ++i) {
    clock.BlockUntilSleepers(1);
    clock.Advance(absl::Seconds(1));
  }
  EXPECT_THAT(runner.Wait(), StatusIs(absl::StatusCode::kUnknown, "attempt 4"));
  EXPECT_EQ(attempts.built(), 4);
}

TEST(EventuallySucceedsStepTest, ZeroTimeoutRetriesForever) {
  FakeClock clock;
  std::vector<std::shared_ptr<FakeControl>> controls;
  for (int i = 0; i < 5; ++i) controls.push_back(FakeControl::Returning(absl::UnknownError("no")));
  controls.push_back(FakeControl::Returning(absl::OkStatus()));
  ScriptedFactory attempts(controls);
  StepPtr step =
      NewEventuallySucceedsStep(attempts.factory(), absl::Minutes(1), absl::ZeroDuration(), &clock);
  Runner runner(step.get());
  for (int i = 0; i < 6; ++i) {
    clock.BlockUntilSleepers(1);
    clock.Advance(absl::Minutes(1));
  }
  EXPECT_OK(runner.Wait());
  EXPECT_EQ(attempts.built(), 6);
}

TEST(EventuallySucceedsStepTest, CancelWhileWaiting) {
  FakeClock clock;
  ScriptedFactory attempts({});
  StepPtr step =
      NewEventuallySucceedsStep(attempts.factory(), absl::Seconds(1), absl::Seconds(3), &clock);
  Runner runner(step.get());
  clock.BlockUntilSleepers(1);
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(attempts.built(), 0);
}

TEST(EventuallySucceedsStepTest, CancelDuringAnAttemptCancelsIt) {
  FakeClock clock;
  auto attempt = FakeControl::Blocking(true, absl::UnknownError("killed"));
  ScriptedFactory attempts({attempt});
  StepPtr step =
      NewEventuallySucceedsStep(attempts.factory(), absl::Seconds(1), absl::Seconds(3), &clock);
  Runner runner(step.get());
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(attempt->WaitStarted());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(attempt->cancels(), 1);
}

TEST(EventuallySucceedsStepTest, RefusesToStartWhenCancelled) {
  FakeClock clock;
  ScriptedFactory attempts({});
  StepPtr step =
      NewEventuallySucceedsStep(attempts.factory(), absl::Seconds(1), absl::Seconds(3), &clock);
  ReadyProbe ready(step.get());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(ready.count, 0);
}

// ---- ConsistentlySucceeds --------------------------------------------------

TEST(ConsistentlySucceedsStepTest, ReturnsTheFirstError) {
  FakeClock clock;
  ScriptedFactory attempts({FakeControl::Returning(absl::OkStatus()),
                            FakeControl::Returning(absl::OkStatus()),
                            FakeControl::Returning(EmittableError("unhealthy"))});
  StepPtr step = NewConsistentlySucceedsStep(attempts.factory(), absl::Seconds(30), &clock);
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  clock.BlockUntilSleepers(1);
  EXPECT_EQ(attempts.built(), 0);
  EXPECT_EQ(ready.count, 1);
  for (int i = 0; i < 3; ++i) {
    if (i > 0) clock.BlockUntilSleepers(1);
    EXPECT_EQ(attempts.built(), i);
    clock.Advance(absl::Seconds(30));
  }
  EXPECT_EQ(EmittableMessage(runner.Wait()), "unhealthy");
  EXPECT_EQ(attempts.built(), 3);
}

TEST(ConsistentlySucceedsStepTest, CancelWhileWaiting) {
  FakeClock clock;
  ScriptedFactory attempts({FakeControl::Returning(absl::OkStatus())});
  StepPtr step = NewConsistentlySucceedsStep(attempts.factory(), absl::Seconds(30), &clock);
  Runner runner(step.get());
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(30));
  clock.BlockUntilSleepers(1);
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(attempts.built(), 1);
}

TEST(ConsistentlySucceedsStepTest, CancelDuringAnAttemptCancelsIt) {
  FakeClock clock;
  auto attempt = FakeControl::Blocking(true, absl::UnknownError("killed"));
  ScriptedFactory attempts({attempt});
  StepPtr step = NewConsistentlySucceedsStep(attempts.factory(), absl::Seconds(30), &clock);
  Runner runner(step.get());
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(30));
  ASSERT_TRUE(attempt->WaitStarted());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(attempt->cancels(), 1);
}

TEST(ConsistentlySucceedsStepTest, RefusesToStartWhenCancelled) {
  FakeClock clock;
  ScriptedFactory attempts({});
  StepPtr step = NewConsistentlySucceedsStep(attempts.factory(), absl::Seconds(30), &clock);
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
}

// ---- OutputWrapper ---------------------------------------------------------

TEST(OutputWrapperStepTest, SuccessIsSuccess) {
  auto buffer = std::make_shared<FakeBufferStreamer>();
  buffer->Stdout("noise\n");
  StepPtr step = NewOutputWrapperStep(Fake(FakeControl::Returning(absl::OkStatus())), "", buffer);
  EXPECT_OK(step->Run());
}

TEST(OutputWrapperStepTest, FailureBecomesTheTrimmedCapturedOutput) {
  auto buffer = std::make_shared<FakeBufferStreamer>();
  buffer->Stdout("  failed to make TCP connection to 10.0.0.2:8080: connection refused\n");
  StepPtr step = NewOutputWrapperStep(
      Fake(FakeControl::Returning(absl::UnknownError("Exit status 4"))), "", buffer);
  absl::Status status = step->Run();
  EXPECT_TRUE(IsEmittable(status));
  EXPECT_EQ(status.message(), "failed to make TCP connection to 10.0.0.2:8080: connection refused");
  EXPECT_EQ(EmittableMessage(status),
            "failed to make TCP connection to 10.0.0.2:8080: connection refused");
}

TEST(OutputWrapperStepTest, PrefixIsJoinedWithAColon) {
  auto buffer = std::make_shared<FakeBufferStreamer>();
  buffer->Stderr("received status code 503 in 3ms\n\n");
  StepPtr step = NewOutputWrapperStep(Fake(FakeControl::Returning(absl::UnknownError("x"))),
                                      "Liveness check unsuccessful", buffer);
  EXPECT_EQ(EmittableMessage(step->Run()),
            "Liveness check unsuccessful: received status code 503 in 3ms");
}

TEST(OutputWrapperStepTest, NothingCapturedKeepsTheChildsError) {
  auto buffer = std::make_shared<FakeBufferStreamer>();
  StepPtr step = NewOutputWrapperStep(
      Fake(FakeControl::Returning(absl::UnknownError("process did not exit"))), "prefix", buffer);
  absl::Status status = step->Run();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnknown, "process did not exit"));
  EXPECT_FALSE(IsEmittable(status));
}

TEST(OutputWrapperStepTest, CancelledStaysCancelled) {
  auto buffer = std::make_shared<FakeBufferStreamer>();
  buffer->Stdout("partial output\n");
  auto a = FakeControl::Blocking();
  StepPtr step = NewOutputWrapperStep(Fake(a), "", buffer);
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(a->cancels(), 1);
}

TEST(OutputWrapperStepTest, RefusesToStartWhenCancelled) {
  auto buffer = std::make_shared<FakeBufferStreamer>();
  auto a = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewOutputWrapperStep(Fake(a), "", buffer);
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(a->runs(), 0);
}

// ---- EmitCheckFailureMetric ------------------------------------------------

TEST(EmitCheckFailureMetricStepTest, FailureIncrementsTheCounter) {
  RecordingMetrics metrics;
  StepPtr step =
      NewEmitCheckFailureMetricStep(Fake(FakeControl::Returning(absl::UnknownError("down"))),
                                    "TCPLivenessChecksFailedCount", &metrics);
  EXPECT_THAT(step->Run(), StatusIs(absl::StatusCode::kUnknown, "down"));
  EXPECT_THAT(metrics.counters(), ElementsAre("TCPLivenessChecksFailedCount"));
}

TEST(EmitCheckFailureMetricStepTest, SuccessCountsNothing) {
  RecordingMetrics metrics;
  StepPtr step = NewEmitCheckFailureMetricStep(Fake(FakeControl::Returning(absl::OkStatus())),
                                               "HTTPLivenessChecksFailedCount", &metrics);
  EXPECT_OK(step->Run());
  EXPECT_THAT(metrics.counters(), IsEmpty());
}

TEST(EmitCheckFailureMetricStepTest, CancelCountsNothing) {
  RecordingMetrics metrics;
  auto a = FakeControl::Blocking(true, absl::UnknownError("killed"));
  StepPtr step = NewEmitCheckFailureMetricStep(Fake(a), "HTTPLivenessChecksFailedCount", &metrics);
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  EXPECT_EQ(ready.count, 1);
  step->Cancel();
  EXPECT_THAT(runner.Wait(), StatusIs(absl::StatusCode::kUnknown, "killed"));
  EXPECT_EQ(a->cancels(), 1);
  EXPECT_THAT(metrics.counters(), IsEmpty());
}

TEST(EmitCheckFailureMetricStepTest, RefusesToStartWhenCancelled) {
  RecordingMetrics metrics;
  auto a = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewEmitCheckFailureMetricStep(Fake(a), "TCPLivenessChecksFailedCount", &metrics);
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(a->runs(), 0);
}

// ---- Timed -----------------------------------------------------------------

TEST(TimedStepTest, SuccessSendsTheSucceededDuration) {
  FakeClock clock;
  RecordingMetrics metrics;
  auto a = FakeControl::Blocking();
  StepPtr step = NewTimedStep(Fake(a), &clock, &metrics);
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  clock.Advance(absl::Seconds(3));
  a->Finish(absl::OkStatus());
  EXPECT_OK(runner.Wait());
  EXPECT_THAT(metrics.durations(),
              ElementsAre(Pair("ContainerSetupSucceededDuration", absl::Seconds(3))));
}

TEST(TimedStepTest, FailureSendsTheFailedDuration) {
  FakeClock clock;
  RecordingMetrics metrics;
  auto a = FakeControl::Blocking();
  StepPtr step = NewTimedStep(Fake(a), &clock, &metrics);
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  clock.Advance(absl::Milliseconds(1500));
  a->Finish(absl::UnknownError("download failed"));
  EXPECT_THAT(runner.Wait(), StatusIs(absl::StatusCode::kUnknown, "download failed"));
  EXPECT_THAT(metrics.durations(),
              ElementsAre(Pair("ContainerSetupFailedDuration", absl::Milliseconds(1500))));
}

TEST(TimedStepTest, CancelIsForwarded) {
  FakeClock clock;
  RecordingMetrics metrics;
  auto a = FakeControl::Blocking();
  StepPtr step = NewTimedStep(Fake(a), &clock, &metrics);
  Runner runner(step.get());
  ASSERT_TRUE(a->WaitStarted());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_EQ(a->cancels(), 1);
  EXPECT_THAT(metrics.durations(),
              ElementsAre(Pair("ContainerSetupFailedDuration", absl::ZeroDuration())));
}

TEST(TimedStepTest, RefusesToStartWhenCancelled) {
  FakeClock clock;
  RecordingMetrics metrics;
  auto a = FakeControl::Returning(absl::OkStatus());
  StepPtr step = NewTimedStep(Fake(a), &clock, &metrics);
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(a->runs(), 0);
  EXPECT_THAT(metrics.durations(), IsEmpty());
}

// ---- Trees -----------------------------------------------------------------

// A Serial of a Parallel and a Codependent: readiness and cancel travel
// through nested composites.
TEST(CompositeTreeTest, ReadinessAndCancelTravelThroughNesting) {
  auto setup1 = FakeControl::Returning(absl::OkStatus());
  auto setup2 = FakeControl::Returning(absl::OkStatus());
  auto action = FakeControl::Blocking(/*ready_at_start=*/true);
  auto monitor = FakeControl::Blocking(/*ready_at_start=*/false);
  StepList setup;
  setup.push_back(Fake(setup1));
  setup.push_back(Fake(setup2));
  StepList long_lived;
  long_lived.push_back(Fake(action));
  long_lived.push_back(Fake(monitor));
  StepList whole;
  whole.push_back(NewParallelStep(std::move(setup)));
  whole.push_back(NewCodependentStep(std::move(long_lived), false, false));
  StepPtr step = NewSerialStep(std::move(whole));
  ReadyProbe ready(step.get());
  Runner runner(step.get());
  ASSERT_TRUE(action->WaitStarted());
  ASSERT_TRUE(monitor->WaitStarted());
  EXPECT_EQ(ready.count, 0);
  monitor->BecomeReady();
  ASSERT_TRUE(ready.Wait());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(runner.Wait()));
  EXPECT_GE(action->cancels(), 1);
  EXPECT_GE(monitor->cancels(), 1);
}

}  // namespace
}  // namespace diego::actions
