// Copyright 2026 The libdiego Authors.
//
// Test-only step fakes shared by the composite and health-check step tests
// (header-only; used by tests/composite_steps_test.cc and
// tests/health_check_steps_test.cc):
//
//   - `FakeControl` / `FakeStep` / `Fake()`: a scripted child step and the
//     test's handle on it (result, blocking, readiness, cancels, run order).
//   - `ScriptedFactory`: a StepFactory over pre-made FakeControls.
//   - `Runner`: runs a step on a thread of its own.
//   - `ReadyProbe`: counts a step's ready notifications.
//   - `RecordingStreamer`: a LogStreamer recording every chunk with its
//     stream and source.

#ifndef DIEGO_ACTIONS_TESTS_FAKE_STEPS_H_
#define DIEGO_ACTIONS_TESTS_FAKE_STEPS_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/actions/errors.h"
#include "diego/actions/log_streamer.h"
#include "diego/actions/step.h"
#include "gtest/gtest.h"

namespace diego::actions::step_fakes {

// A hang guard for waits on other threads; never reached by a passing test.
inline constexpr absl::Duration kHangGuard = absl::Seconds(5);

// The order in which FakeSteps started running (FakeControl::run_sequence).
inline std::atomic<int> g_run_sequence{0};

// The test's handle on one FakeStep: its script and what happened to it.
class FakeControl {
 public:
  // `block`: Run() waits for Finish() or a cancel; otherwise it returns
  // `result` at once. `ready_at_start`: NotifyReady() as Run() begins.
  // `on_cancel`: what a blocked Run() returns when cancelled.
  explicit FakeControl(absl::Status result = absl::OkStatus(), bool block = false,
                       bool ready_at_start = true, absl::Status on_cancel = CancelledError())
      : result_(std::move(result)),
        block_(block),
        ready_at_start_(ready_at_start),
        on_cancel_(std::move(on_cancel)) {}

  static std::shared_ptr<FakeControl> Returning(absl::Status result) {
    return std::make_shared<FakeControl>(std::move(result));
  }
  static std::shared_ptr<FakeControl> Blocking(bool ready_at_start = true,
                                               absl::Status on_cancel = CancelledError()) {
    return std::make_shared<FakeControl>(absl::OkStatus(), true, ready_at_start,
                                         std::move(on_cancel));
  }

  void Finish(absl::Status status) {
    absl::MutexLock lock(&mu_);
    finish_ = std::move(status);
  }
  void BecomeReady() {
    absl::MutexLock lock(&mu_);
    ready_requested_ = true;
  }
  bool WaitStarted() { return started_.WaitForNotificationWithTimeout(kHangGuard); }
  bool WaitExited() { return exited_.WaitForNotificationWithTimeout(kHangGuard); }
  bool exited() const { return exited_.HasBeenNotified(); }
  int runs() const {
    absl::MutexLock lock(&mu_);
    return runs_;
  }
  int cancels() const {
    absl::MutexLock lock(&mu_);
    return cancels_;
  }
  int run_sequence() const {
    absl::MutexLock lock(&mu_);
    return run_sequence_;
  }

 private:
  friend class FakeStep;

  mutable absl::Mutex mu_;
  const absl::Status result_;
  const bool block_;
  const bool ready_at_start_;
  const absl::Status on_cancel_;
  int runs_ ABSL_GUARDED_BY(mu_) = 0;
  int cancels_ ABSL_GUARDED_BY(mu_) = 0;
  int run_sequence_ ABSL_GUARDED_BY(mu_) = -1;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool ready_requested_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> finish_ ABSL_GUARDED_BY(mu_);
  absl::Notification started_;
  absl::Notification exited_;
};

// A scripted child step (see FakeControl). Like every step, it refuses to
// start once cancelled.
class FakeStep final : public Step {
 public:
  explicit FakeStep(std::shared_ptr<FakeControl> control) : control_(std::move(control)) {}

  absl::Status Run() override {
    absl::Status status = RunScript();
    control_->exited_.Notify();
    return status;
  }

  void Cancel() override {
    absl::MutexLock lock(&control_->mu_);
    ++control_->cancels_;
    control_->cancelled_ = true;
  }

 private:
  absl::Status RunScript() {
    FakeControl& c = *control_;
    {
      absl::MutexLock lock(&c.mu_);
      ++c.runs_;
      c.run_sequence_ = g_run_sequence++;
      if (c.cancelled_) return CancelledError();
    }
    if (c.ready_at_start_) NotifyReady();
    c.started_.Notify();
    if (!c.block_) return c.result_;
    absl::MutexLock lock(&c.mu_);
    while (true) {
      auto wake = [this, &c]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> bool {
        return c.finish_.has_value() || c.cancelled_ || (c.ready_requested_ && !IsReady());
      };
      c.mu_.Await(absl::Condition(&wake));
      if (c.finish_.has_value()) return *c.finish_;
      if (c.cancelled_) return c.on_cancel_;
      c.mu_.Unlock();
      NotifyReady();
      c.mu_.Lock();
    }
  }

  std::shared_ptr<FakeControl> control_;
};

inline StepPtr Fake(std::shared_ptr<FakeControl> control) {
  return std::make_unique<FakeStep>(std::move(control));
}

// Runs a step on a thread of its own.
class Runner {
 public:
  explicit Runner(Step* step)
      : thread_([this, step] {
          result_ = step->Run();
          done_.Notify();
        }) {}
  ~Runner() {
    if (thread_.joinable()) thread_.join();
  }
  absl::Status Wait() {
    thread_.join();
    return result_;
  }
  bool done() const { return done_.HasBeenNotified(); }

 private:
  absl::Status result_;
  absl::Notification done_;
  std::thread thread_;
};

// Counts a step's ready notifications.
struct ReadyProbe {
  explicit ReadyProbe(Step* step) {
    step->SetReadyCallback([this] {
      ++count;
      note.Notify();
    });
  }
  bool Wait() { return note.WaitForNotificationWithTimeout(kHangGuard); }
  std::atomic<int> count{0};
  absl::Notification note;
};

// A LogStreamer that records every chunk with its stream and source.
class RecordingStreamer final : public LogStreamer {
 public:
  struct Chunk {
    bool is_stderr;
    std::string source;
    std::string text;
  };
  struct Record {
    absl::Mutex mu;
    std::vector<Chunk> chunks ABSL_GUARDED_BY(mu);
  };

  explicit RecordingStreamer(std::string source = kDefaultLogSource,
                             std::shared_ptr<Record> record = std::make_shared<Record>())
      : source_(std::move(source)), record_(std::move(record)) {}

  void Stdout(absl::string_view chunk) override { Add(false, chunk); }
  void Stderr(absl::string_view chunk) override { Add(true, chunk); }
  void Flush() override {}
  std::shared_ptr<LogStreamer> WithSource(absl::string_view source) override {
    return std::make_shared<RecordingStreamer>(source.empty() ? source_ : std::string(source),
                                               record_);
  }
  std::string SourceName() const override { return source_; }

  std::vector<std::string> StdoutChunks() const { return Chunks(false); }
  std::vector<std::string> StderrChunks() const { return Chunks(true); }

 private:
  void Add(bool is_stderr, absl::string_view chunk) {
    absl::MutexLock lock(&record_->mu);
    record_->chunks.push_back(Chunk{is_stderr, source_, std::string(chunk)});
  }
  std::vector<std::string> Chunks(bool is_stderr) const {
    absl::MutexLock lock(&record_->mu);
    std::vector<std::string> out;
    for (const Chunk& c : record_->chunks) {
      if (c.is_stderr == is_stderr) out.push_back(c.text);
    }
    return out;
  }

  std::string source_;
  std::shared_ptr<Record> record_;
};

// A StepFactory over pre-made controls; counts the steps it built.
class ScriptedFactory {
 public:
  explicit ScriptedFactory(std::vector<std::shared_ptr<FakeControl>> controls)
      : controls_(std::move(controls)) {}
  StepFactory factory() {
    return [this]() -> StepPtr {
      const int n = built_++;
      if (n >= static_cast<int>(controls_.size())) {
        ADD_FAILURE() << "factory called " << n + 1 << " times";
        return Fake(FakeControl::Returning(absl::InternalError("unscripted attempt")));
      }
      return Fake(controls_[n]);
    };
  }
  int built() const { return built_.load(); }

 private:
  std::vector<std::shared_ptr<FakeControl>> controls_;
  std::atomic<int> built_{0};
};

}  // namespace diego::actions::step_fakes

#endif  // DIEGO_ACTIONS_TESTS_FAKE_STEPS_H_
