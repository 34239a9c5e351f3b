// Copyright 2026 The libdiego Authors.
//
// NewRunStep on a FakeGardenBackend driven by a FakeClock.

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/actions/errors.h"
#include "diego/actions/log_streamer.h"
#include "diego/actions/steps.h"
#include "diego/base/status_macros.h"
#include "diego/garden/errors.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/fake_garden_backend.h"
#include "diego/testing/recording_app_log_sink.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::actions {
namespace {

using ::diego::fakes::FakeGardenBackend;
using ::diego::fakes::FakeProcessContext;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kHandle[] = "container-1";
constexpr char kSource[] = "APP/PROC/WEB";

model::v1::RunAction Action(const std::string& path) {
  model::v1::RunAction action;
  action.set_path(path);
  action.set_user("vcap");
  return action;
}

// A process that ignores every signal (SIGKILL included): Diego's "process
// did not exit" case. Everything else goes to the real process.
class DeafProcess : public garden::Process {
 public:
  DeafProcess(std::unique_ptr<garden::Process> target,
              std::shared_ptr<absl::Notification> destroyed)
      : target_(std::move(target)), destroyed_(destroyed) {}
  ~DeafProcess() override {
    target_.reset();
    if (destroyed_ != nullptr) destroyed_->Notify();
  }
  std::string Id() const override { return target_->Id(); }
  absl::StatusOr<int> Wait(absl::Time deadline) override { return target_->Wait(deadline); }
  absl::Status Signal(garden::Signal) override { return absl::OkStatus(); }
  absl::Status WriteStdin(absl::string_view data) override { return target_->WriteStdin(data); }
  absl::Status CloseStdin() override { return target_->CloseStdin(); }
  absl::Status SetTty(const garden::TtySpec& tty) override { return target_->SetTty(tty); }

 private:
  std::unique_ptr<garden::Process> target_;
  const std::shared_ptr<absl::Notification> destroyed_;  // may be null
};

class DeafContainer : public fakes::ContainerWrapper {
 public:
  using ContainerWrapper::ContainerWrapper;
  absl::StatusOr<std::unique_ptr<garden::Process>> Run(const garden::ProcessSpec& spec,
                                                       garden::ProcessIO io) override {
    DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<garden::Process> process,
                           ContainerWrapper::Run(spec, std::move(io)));
    return std::make_unique<DeafProcess>(std::move(process), process_destroyed);
  }
  // Notified when a process handle goes (shared: an abandoned waiter may
  // drop the handle on its own thread).
  std::shared_ptr<absl::Notification> process_destroyed;
};

class RunStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(container_, garden_.Create({.handle = kHandle}));
    streamer_ = NewContainerLogStreamer({.guid = "app-guid", .source_name = kSource}, &sink_,
                                        &clock_);
  }

  RunStepOptions Options() {
    return RunStepOptions{.streamer = streamer_, .clock = &clock_, .logger = *log_.logger()};
  }

  StepPtr NewStep(const model::v1::RunAction& action, RunStepOptions options) {
    StepPtr step = NewRunStep(container_.get(), action, std::move(options));
    step->SetReadyCallback([this] { ready_.Notify(); });
    return step;
  }
  StepPtr NewStep(const model::v1::RunAction& action) { return NewStep(action, Options()); }

  // Runs `step` on a thread of its own; `Join()` returns its result.
  void Start(Step* step) {
    runner_ = std::thread([this, step] { result_ = step->Run(); });
  }
  absl::Status Join() {
    runner_.join();
    return result_;
  }

  std::vector<garden::ProcessSpec> Specs() { return garden_.ProcessSpecs(kHandle); }

  fakes::FakeClock clock_;
  FakeGardenBackend garden_{{.clock = &clock_}};
  fakes::TestLogger log_{"test", &clock_};
  fakes::RecordingAppLogSink sink_;
  std::shared_ptr<ContainerLogStreamer> streamer_;
  std::unique_ptr<garden::Container> container_;
  absl::Notification ready_;
  std::thread runner_;
  absl::Status result_;
};

TEST_F(RunStepTest, SuccessStreamsOutputAndReportsExitStatus) {
  garden_.SetProcessHandler("/bin/app", [](FakeProcessContext& ctx) {
    ctx.WriteStdout("hello\n");
    ctx.WriteStderr("warning\n");
    ctx.WriteStdout("no newline");
    return 0;
  });
  StepPtr step = NewStep(Action("/bin/app"));
  EXPECT_OK(step->Run());
  EXPECT_TRUE(ready_.HasBeenNotified());
  EXPECT_THAT(sink_.Messages(/*mark_stderr=*/true),
              ElementsAre("hello", "[ERR] warning", "no newline", "Exit status 0"));
  EXPECT_THAT(sink_.MessagesFrom(kSource), ::testing::SizeIs(4));
  EXPECT_TRUE(log_.Contains("test.run-step.running"));
  EXPECT_TRUE(log_.Contains("test.run-step.process-exit"));
}

TEST_F(RunStepTest, ProcessSpecCarriesTheActionAndNetworkingEnv) {
  model::v1::RunAction action = Action("/bin/app");
  action.add_args("-port");
  action.add_args("8080");
  action.set_dir("/home/vcap/app");
  auto* env = action.add_env();
  env->set_name("FOO");
  env->set_value("bar=baz");
  action.mutable_resource_limits()->set_nofile(1024);

  RunStepOptions options = Options();
  options.external_ip = "10.0.0.1";
  options.internal_ip = "10.254.0.2";
  options.internal_ipv6 = "fd00::2";
  options.port_mappings = {{.host_port = 61001, .container_port = 8080},
                           {.host_port = 61002, .container_port = 61001}};
  StepPtr step = NewStep(action, std::move(options));
  EXPECT_OK(step->Run());

  std::vector<garden::ProcessSpec> specs = Specs();
  ASSERT_EQ(specs.size(), 1u);
  const garden::ProcessSpec& spec = specs[0];
  EXPECT_EQ(spec.id, "");
  EXPECT_EQ(spec.path, "/bin/app");
  EXPECT_THAT(spec.args, ElementsAre("-port", "8080"));
  EXPECT_EQ(spec.dir, "/home/vcap/app");
  EXPECT_EQ(spec.user, "vcap");
  EXPECT_EQ(spec.rlimits.nofile, std::optional<uint64_t>(1024));
  EXPECT_EQ(spec.rlimits.nproc, std::nullopt);
  EXPECT_THAT(spec.env,
              ElementsAre("FOO=bar=baz", "CF_INSTANCE_IP=10.0.0.1",
                          "CF_INSTANCE_INTERNAL_IP=10.254.0.2", "CF_INSTANCE_INTERNAL_IPV6=fd00::2",
                          "CF_INSTANCE_PORT=61001", "CF_INSTANCE_ADDR=10.0.0.1:61001",
                          R"(CF_INSTANCE_PORTS=[{"external":61001,"internal":8080},)"
                          R"({"external":61002,"internal":61001}])"));
  EXPECT_THAT(spec.bind_mounts, IsEmpty());
}

TEST_F(RunStepTest, NoPortsGiveEmptyPortVariables) {
  RunStepOptions options = Options();
  options.external_ip = "10.0.0.1";
  options.internal_ip = "10.254.0.2";
  StepPtr step = NewStep(Action("/bin/app"), std::move(options));
  EXPECT_OK(step->Run());
  ASSERT_EQ(Specs().size(), 1u);
  EXPECT_THAT(Specs()[0].env,
              ElementsAre("CF_INSTANCE_IP=10.0.0.1", "CF_INSTANCE_INTERNAL_IP=10.254.0.2",
                          "CF_INSTANCE_PORT=", "CF_INSTANCE_ADDR=", "CF_INSTANCE_PORTS=[]"));
  EXPECT_EQ(Specs()[0].rlimits.nofile, std::nullopt);
}

TEST_F(RunStepTest, FirstPortWithoutHostPortOmitsPortAndAddr) {
  RunStepOptions options = Options();
  options.external_ip = "10.0.0.1";
  options.internal_ip = "10.254.0.2";
  options.port_mappings = {{.host_port = 0, .container_port = 8080}};
  StepPtr step = NewStep(Action("/bin/app"), std::move(options));
  EXPECT_OK(step->Run());
  ASSERT_EQ(Specs().size(), 1u);
  EXPECT_THAT(Specs()[0].env,
              ElementsAre("CF_INSTANCE_IP=10.0.0.1", "CF_INSTANCE_INTERNAL_IP=10.254.0.2",
                          R"(CF_INSTANCE_PORTS=[{"internal":8080}])"));
}

TEST_F(RunStepTest, SidecarBindMountsReachTheSpec) {
  RunStepOptions options = Options();
  options.sidecar_bind_mounts = {{.src_path = "/var/vcap/healthcheck",
                                  .dst_path = "/etc/cf-assets/healthcheck"}};
  StepPtr step = NewStep(Action("/bin/app"), std::move(options));
  EXPECT_OK(step->Run());
  ASSERT_EQ(Specs().size(), 1u);
  ASSERT_EQ(Specs()[0].bind_mounts.size(), 1u);
  EXPECT_EQ(Specs()[0].bind_mounts[0].dst_path, "/etc/cf-assets/healthcheck");
}

TEST_F(RunStepTest, NonZeroExitIsAnEmittableError) {
  garden_.SetProcessHandler("/bin/app", [](FakeProcessContext&) { return 3; });
  StepPtr step = NewStep(Action("/bin/app"));
  absl::Status status = step->Run();
  EXPECT_TRUE(IsEmittable(status));
  EXPECT_TRUE(IsDisplayable(status));
  EXPECT_EQ(EmittableMessage(status), "APP/PROC/WEB: Exited with status 3");
  EXPECT_EQ(status.message(), "APP/PROC/WEB: Exited with status 3");
  EXPECT_THAT(sink_.Messages(), ElementsAre("Exit status 3"));
  EXPECT_TRUE(log_.Contains("run-step-failed-with-nonzero-status-code"));
}

TEST_F(RunStepTest, ExitedWithStatusNamesTheStreamersSource) {
  garden_.SetProcessHandler("/bin/app", [](FakeProcessContext&) { return 1; });
  RunStepOptions options = Options();
  options.streamer = streamer_->WithSource("TASK");
  StepPtr step = NewStep(Action("/bin/app"), std::move(options));
  absl::Status status = step->Run();
  EXPECT_EQ(EmittableMessage(status), "TASK: Exited with status 1");
  EXPECT_THAT(sink_.MessagesFrom("TASK"), ElementsAre("Exit status 1"));
}

TEST_F(RunStepTest, OutOfMemoryEventAddsSuffix) {
  garden_.SetProcessHandler("/bin/app", [](FakeProcessContext&) { return 137; });
  ASSERT_OK(garden_.AddEvent(kHandle, "out of memory"));
  StepPtr step = NewStep(Action("/bin/app"));
  absl::Status status = step->Run();
  EXPECT_EQ(EmittableMessage(status), "APP/PROC/WEB: Exited with status 137 (out of memory)");
  EXPECT_THAT(sink_.Messages(), ElementsAre("Exit status 137 (out of memory)"));
}

TEST_F(RunStepTest, CapitalizedOutOfMemoryEventCountsToo) {
  garden_.SetProcessHandler("/bin/app", [](FakeProcessContext&) { return 2; });
  ASSERT_OK(garden_.AddEvent(kHandle, "something else"));
  ASSERT_OK(garden_.AddEvent(kHandle, "Out of memory"));
  StepPtr step = NewStep(Action("/bin/app"));
  EXPECT_EQ(EmittableMessage(step->Run()), "APP/PROC/WEB: Exited with status 2 (out of memory)");
}

TEST_F(RunStepTest, OutOfMemoryEventIgnoredOnZeroExit) {
  ASSERT_OK(garden_.AddEvent(kHandle, "out of memory"));
  StepPtr step = NewStep(Action("/bin/app"));
  EXPECT_OK(step->Run());
  EXPECT_THAT(sink_.Messages(), ElementsAre("Exit status 0"));
  EXPECT_EQ(garden_.CallCount(FakeGardenBackend::Call::kInfo), 0);
}

TEST_F(RunStepTest, SuppressLogOutputDiscardsEverything) {
  garden_.SetProcessHandler("/bin/app", [](FakeProcessContext& ctx) {
    ctx.WriteStdout("secret\n");
    ctx.WriteStderr("secret too\n");
    return 4;
  });
  model::v1::RunAction action = Action("/bin/app");
  action.set_suppress_log_output(true);
  StepPtr step = NewStep(action);
  absl::Status status = step->Run();
  EXPECT_EQ(EmittableMessage(status), "APP/PROC/WEB: Exited with status 4");
  EXPECT_THAT(sink_.Lines(), IsEmpty());
}

TEST_F(RunStepTest, SuppressExitStatusMessage) {
  garden_.SetProcessHandler("/bin/check", [](FakeProcessContext& ctx) {
    ctx.WriteStdout("check failed");
    return 1;
  });
  RunStepOptions options = Options();
  options.suppress_exit_status_message = true;
  StepPtr step = NewStep(Action("/bin/check"), std::move(options));
  absl::Status status = step->Run();
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(EmittableMessage(status), "");
  // The partial line is still flushed at exit; no "Exit status" line.
  EXPECT_THAT(sink_.Messages(), ElementsAre("check failed"));
}

TEST_F(RunStepTest, CancelBeforeRunDoesNotStartTheProcess) {
  StepPtr step = NewStep(Action("/bin/app"));
  step->Cancel();
  EXPECT_THAT(step->Run(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(Specs(), IsEmpty());
  EXPECT_FALSE(ready_.HasBeenNotified());
  EXPECT_TRUE(log_.Contains("cancelled-before-creating-process"));
}

TEST_F(RunStepTest, CancelSendsSigtermAndReturnsCancelled) {
  absl::Notification started;
  garden_.SetProcessHandler("/bin/app", [&](FakeProcessContext& ctx) {
    ctx.WriteStdout("started\n");
    started.Notify();
    ctx.WaitForSignal(absl::InfiniteFuture());  // SIGTERM kills it (143)
    return 0;
  });
  StepPtr step = NewStep(Action("/bin/app"));
  Start(step.get());
  ready_.WaitForNotification();
  started.WaitForNotification();
  step->Cancel();
  absl::Status status = Join();
  EXPECT_TRUE(IsCancelledError(status)) << status;
  EXPECT_THAT(sink_.Messages(), ElementsAre("started", "Exit status 143"));
  EXPECT_TRUE(log_.Contains("signalling-terminate"));
  EXPECT_FALSE(log_.Contains("signalling-kill"));
}

TEST_F(RunStepTest, CancelledRunIsCancelledEvenWhenItExitsZero) {
  absl::Notification catching;
  garden_.SetProcessHandler("/bin/app", [&](FakeProcessContext& ctx) {
    ctx.CatchSignals();
    catching.Notify();
    ctx.WaitForSignal(absl::InfiniteFuture());  // SIGTERM: exit cleanly
    return 0;
  });
  StepPtr step = NewStep(Action("/bin/app"));
  Start(step.get());
  ready_.WaitForNotification();
  catching.WaitForNotification();
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(Join()));
  EXPECT_THAT(sink_.Messages(), ElementsAre("Exit status 0"));
}

TEST_F(RunStepTest, ProcessIgnoringSigtermIsKilledAfterGracefulInterval) {
  absl::Notification catching;
  absl::Notification got_sigterm;
  garden_.SetProcessHandler("/bin/app", [&](FakeProcessContext& ctx) {
    ctx.CatchSignals();
    catching.Notify();
    while (true) {
      std::optional<garden::Signal> signal = ctx.WaitForSignal(absl::InfiniteFuture());
      if (ctx.Killed()) return 0;
      if (signal == garden::Signal::kTerminate && !got_sigterm.HasBeenNotified()) {
        got_sigterm.Notify();
      }
    }
  });
  RunStepOptions options = Options();
  options.graceful_shutdown_interval = absl::Seconds(15);
  StepPtr step = NewStep(Action("/bin/app"), std::move(options));
  Start(step.get());
  ready_.WaitForNotification();
  catching.WaitForNotification();
  step->Cancel();
  got_sigterm.WaitForNotification();
  clock_.BlockUntilSleepers(1);  // the step waits out the graceful interval
  clock_.Advance(absl::Seconds(14));
  EXPECT_EQ(clock_.Sleepers(), 1);
  EXPECT_THAT(sink_.Lines(), IsEmpty());
  clock_.Advance(absl::Seconds(1));  // SIGKILL

  absl::Status status = Join();
  EXPECT_TRUE(IsExceededGracefulShutdownInterval(status)) << status;
  EXPECT_FALSE(IsDisplayable(status));
  EXPECT_THAT(sink_.MessagesFrom("CELL"),
              ElementsAre("Process did not exit within 15s graceful shutdown interval, "
                          "sending SIGKILL"));
  EXPECT_THAT(sink_.MessagesFrom(kSource),
              ElementsAre("Exit status 137 (exceeded 15s graceful shutdown interval)"));
  EXPECT_TRUE(log_.Contains("run-step.graceful-shutdown-timeout-exceeded.signalling-kill"));
}

TEST_F(RunStepTest, ProcessThatNeverExitsGivesUpAfterExitTimeout) {
  DeafContainer deaf(std::move(container_));
  garden_.SetProcessHandler("/bin/app", [](FakeProcessContext& ctx) {
    ctx.WaitForSignal(absl::InfiniteFuture());  // only the test's SIGKILL ends it
    return 0;
  });
  StepPtr step = NewRunStep(&deaf, Action("/bin/app"), Options());
  step->SetReadyCallback([this] { ready_.Notify(); });
  Start(step.get());
  ready_.WaitForNotification();
  step->Cancel();
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(10));  // graceful interval: SIGKILL (ignored)
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(1));  // exit timeout

  absl::Status status = Join();
  EXPECT_EQ(status.message(), "process did not exit");
  EXPECT_TRUE(IsDisplayable(status));
  EXPECT_TRUE(log_.Contains("process-did-not-exit"));
  EXPECT_THAT(sink_.MessagesFrom(kSource), IsEmpty());
  EXPECT_THAT(sink_.MessagesFrom("CELL"), ::testing::SizeIs(1));

  // The process really ends later; destroying the step then reaps its waiter.
  ASSERT_OK(deaf.target()->Stop(/*kill=*/true));
  step.reset();
}

TEST_F(RunStepTest, DestroyingAfterProcessDidNotExitDoesNotWaitForever) {
  DeafContainer deaf(std::move(container_));
  auto handle_destroyed = std::make_shared<absl::Notification>();
  deaf.process_destroyed = handle_destroyed;
  garden_.SetProcessHandler("/bin/app", [](FakeProcessContext& ctx) {
    ctx.WaitForSignal(absl::InfiniteFuture());  // only the test's SIGKILL ends it
    return 0;
  });
  StepPtr step = NewRunStep(&deaf, Action("/bin/app"), Options());
  step->SetReadyCallback([this] { ready_.Notify(); });
  Start(step.get());
  ready_.WaitForNotification();
  step->Cancel();
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(10));  // graceful interval: SIGKILL (ignored)
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(1));  // exit timeout
  EXPECT_EQ(Join().message(), "process did not exit");

  // The process still runs: the destructor re-sends SIGKILL, waits one more
  // exit timeout on the clock, then leaves the waiter behind.
  std::thread destroyer([&step] { step.reset(); });
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(1));
  destroyer.join();
  EXPECT_TRUE(log_.Contains("abandoning-process-waiter"));
  EXPECT_FALSE(handle_destroyed->HasBeenNotified());  // the waiter still holds it

  // When the process finally ends, the abandoned waiter drops the handle.
  ASSERT_OK(deaf.target()->Stop(/*kill=*/true));
  handle_destroyed->WaitForNotification();
}

TEST_F(RunStepTest, ExecutableNotFound) {
  garden_.SetUnknownPathBehavior(FakeGardenBackend::UnknownPath::kExecutableNotFound);
  StepPtr step = NewStep(Action("/bin/nope"));
  absl::Status status = step->Run();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(status.message(), "exec: \"/bin/nope\": executable file not found in $PATH");
  EXPECT_FALSE(IsEmittable(status));
  EXPECT_FALSE(ready_.HasBeenNotified());
  EXPECT_THAT(sink_.Messages(),
              ElementsAre("failed-creating-process: exec: \"/bin/nope\": executable file not "
                          "found in $PATH"));
  EXPECT_TRUE(log_.Contains("run-step.failed-creating-process"));
}

TEST_F(RunStepTest, GardenRunErrorIsReturned) {
  garden_.FailNext(FakeGardenBackend::Call::kRun, absl::UnavailableError("garden is down"));
  StepPtr step = NewStep(Action("/bin/app"));
  EXPECT_THAT(step->Run(), StatusIs(absl::StatusCode::kUnavailable, "garden is down"));
  EXPECT_THAT(sink_.Messages(), ElementsAre("failed-creating-process: garden is down"));
}

TEST_F(RunStepTest, WaitErrorIsReturned) {
  garden_.FailNext(FakeGardenBackend::Call::kWait, absl::InternalError("lost the process"));
  StepPtr step = NewStep(Action("/bin/app"));
  EXPECT_THAT(step->Run(), StatusIs(absl::StatusCode::kInternal, "lost the process"));
  EXPECT_TRUE(ready_.HasBeenNotified());
  EXPECT_TRUE(log_.Contains("running-error"));
  EXPECT_THAT(sink_.Messages(), Not(::testing::Contains(HasSubstr("Exit status"))));
}

TEST_F(RunStepTest, CancelAfterExitChangesNothing) {
  StepPtr step = NewStep(Action("/bin/app"));
  EXPECT_OK(step->Run());
  step->Cancel();
  step->Cancel();
  EXPECT_THAT(sink_.Messages(), ElementsAre("Exit status 0"));
}

}  // namespace
}  // namespace diego::actions
