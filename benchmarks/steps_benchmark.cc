// Step-tree overhead per container: what the executor's step machinery
// (libdiego-actions) costs around the processes it runs.
//
// Benchmarks (wall time and process CPU time per iteration; every thread
// of this process counts, the fake Garden's included):
//
//   BM_NoopSerial/N         build and run Serial(N no-op steps): the
//                           composite's own cost per child.
//   BM_NoopParallel/N       the same with Parallel (one thread per child).
//   BM_NoopCodependent/N    the same with Codependent(false, false).
//   BM_BuildLrpTree         Transformer::Build only, for an LRP with setup,
//                           action and a legacy monitor (the tree of one
//                           container: log streamer, Timed(setup), Serial,
//                           Codependent, HealthCheck, Eventually/Consistently
//                           factories).
//   BM_BuildLrpTreeChecks   the same with a declarative TCP check run in
//                           process (MultiplexedChecker) instead of a monitor.
//   BM_RunLrpTree           build + run of that monitor tree on a
//                           FakeGardenBackend whose processes exit at once:
//                           setup runs, the action exits 0 (a daemon, so
//                           monitoring continues), the monitor passes its
//                           startup attempt and fails its first liveness
//                           attempt, which ends the tree ("Instance became
//                           unhealthy: ..."). 4 fake processes per tree;
//                           intervals 1 us on the real clock.
//   BM_RunTaskTree          build + run of a Task tree serial(run, run) on the
//                           fake (2 processes).
//
// The fake Garden starts a thread per process; that cost is part of the Run
// rows (a real Garden costs far more per process: see garden_benchmark).
// Logs go to a discarding sink at level info (JSON is still formatted).
//
//   ./build/benchmarks/steps_benchmark
//   ./build/benchmarks/steps_benchmark --benchmark_filter=Run

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "diego/actions/errors.h"
#include "diego/actions/semaphore.h"
#include "diego/actions/step.h"
#include "diego/actions/steps.h"
#include "diego/actions/transformer.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"
#include "diego/garden/client.h"
#include "diego/healthcheck/checker.h"
#include "diego/testing/fake_garden_backend.h"

namespace diego::actions {
namespace {

// ---- Sinks and steps -----------------------------------------------------------

class DiscardLogSink final : public LogSink {
 public:
  void Write(absl::string_view) override {}
};

class CountingAppLogSink final : public AppLogSink {
 public:
  void Emit(const AppLogLine&) override { lines_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t lines() const { return lines_.load(); }

 private:
  std::atomic<uint64_t> lines_{0};
};

// Succeeds at once (ready first).
class NoopStep final : public Step {
 public:
  absl::Status Run() override {
    NotifyReady();
    return absl::OkStatus();
  }
  void Cancel() override {}
};

StepList NoopSteps(int64_t n) {
  StepList steps;
  steps.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) steps.push_back(std::make_unique<NoopStep>());
  return steps;
}

template <typename MakeComposite>
void RunNoopComposite(benchmark::State& state, MakeComposite make) {
  const int64_t n = state.range(0);
  for (auto _ : state) {
    StepPtr step = make(NoopSteps(n));
    absl::Status status = step->Run();
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      return;
    }
  }
  state.counters["steps"] = static_cast<double>(n);
  // Wall seconds per child step (printed with an SI suffix: "1.5u" = 1.5 us).
  state.counters["time_per_step"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}

void BM_NoopSerial(benchmark::State& state) {
  RunNoopComposite(state, [](StepList steps) { return NewSerialStep(std::move(steps)); });
}
void BM_NoopParallel(benchmark::State& state) {
  RunNoopComposite(state, [](StepList steps) { return NewParallelStep(std::move(steps)); });
}
void BM_NoopCodependent(benchmark::State& state) {
  RunNoopComposite(state, [](StepList steps) {
    return NewCodependentStep(std::move(steps), /*error_on_exit=*/false,
                              /*cancel_others_on_exit=*/false);
  });
}

// ---- Transformer trees on the fake Garden -------------------------------------------

model::v1::Action RunOf(const std::string& path) {
  model::v1::Action a;
  a.mutable_run_action()->set_path(path);
  a.mutable_run_action()->set_user("vcap");
  return a;
}

// One fake Garden, one container, and the transformer's dependencies.
class Fixture {
 public:
  Fixture()
      : logger_("steps-benchmark", &log_sink_, Clock::Real(), LogLevel::kInfo),
        garden_(fakes::FakeGardenBackend::Options{.clock = Clock::Real()}) {
    garden_.SetProcessHandler("/bin/setup", [](fakes::FakeProcessContext&) { return 0; });
    garden_.SetProcessHandler("/bin/app", [](fakes::FakeProcessContext& ctx) {
      ctx.WriteStdout("started\n");
      return 0;
    });
    garden_.SetProcessHandler("/bin/task", [](fakes::FakeProcessContext&) { return 0; });
    // Odd calls pass (the startup attempt), even calls fail (the first
    // liveness attempt): two calls per tree.
    garden_.SetProcessHandler("/bin/monitor", [this](fakes::FakeProcessContext& ctx) {
      if (monitor_calls_.fetch_add(1) % 2 == 0) return 0;
      ctx.WriteStdout("failed to connect\n");
      return 1;
    });
    absl::StatusOr<std::unique_ptr<garden::Container>> c = garden_.Create(
        garden::ContainerSpec{.handle = "bench", .net_in = {garden::NetInSpec{0, 8080}}});
    if (c.ok()) container_ = *std::move(c);
    absl::StatusOr<std::unique_ptr<healthcheck::MultiplexedChecker>> checker =
        healthcheck::MultiplexedChecker::Create();
    if (checker.ok()) checker_ = *std::move(checker);
  }

  garden::Container* container() { return container_.get(); }
  healthcheck::MultiplexedChecker* checker() { return checker_.get(); }
  CountingAppLogSink& app_logs() { return app_logs_; }

  TransformerOptions Options() {
    return TransformerOptions{
        .clock = Clock::Real(),
        .log_sink = &app_logs_,
        .logger = logger_,
        .downloader = nullptr,
        .uploader = nullptr,
        .download_limiter = &downloads_,
        .upload_limiter = &uploads_,
        .healthcheck_pool = &pool_,
        .temp_dir = "/tmp",
        .metrics = nullptr,
        .healthy_monitoring_interval = absl::Microseconds(1),
        .unhealthy_monitoring_interval = absl::Microseconds(1),
        .graceful_shutdown_interval = absl::Seconds(10),
        .declarative_healthcheck_default_timeout = absl::Seconds(1),
        .emit_liveness_failure_metrics = false,
        .post_setup_hook = std::nullopt,
        .checker = nullptr,
        .healthcheck_path = "/etc/cf-assets/healthcheck/healthcheck",
        .healthcheck_host_dir = "",
    };
  }

 private:
  DiscardLogSink log_sink_;
  Logger logger_;
  CountingAppLogSink app_logs_;
  Semaphore downloads_{5};
  Semaphore uploads_{5};
  Semaphore pool_{64};
  std::atomic<uint64_t> monitor_calls_{0};
  fakes::FakeGardenBackend garden_;
  std::unique_ptr<garden::Container> container_;
  std::unique_ptr<healthcheck::MultiplexedChecker> checker_;
};

// The LRP every tree benchmark uses: setup + action + (monitor | check).
model::v1::DesiredLRP BenchLrp(bool declarative_check) {
  model::v1::DesiredLRP lrp;
  lrp.set_process_guid("bench");
  lrp.set_log_guid("bench-app");
  lrp.set_log_source("APP/PROC/WEB");
  lrp.set_start_timeout_ms(60000);
  *lrp.mutable_setup() = RunOf("/bin/setup");
  *lrp.mutable_action() = RunOf("/bin/app");
  if (declarative_check) {
    lrp.mutable_check_definition()->add_checks()->mutable_tcp_check()->set_port(8080);
  } else {
    // As the Cloud Controller builds a monitor: a parallel of runs.
    *lrp.mutable_monitor()->mutable_parallel_action()->add_actions() = RunOf("/bin/monitor");
  }
  return lrp;
}

void BuildLrpTree(benchmark::State& state, bool declarative_check) {
  Fixture fixture;
  TransformerOptions options = fixture.Options();
  if (declarative_check) options.checker = fixture.checker();
  Transformer transformer(std::move(options));
  absl::StatusOr<RunInfo> info = RunInfoFromDesiredLrp(BenchLrp(declarative_check), 0);
  if (!info.ok()) {
    state.SkipWithError(std::string(info.status().message()).c_str());
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<ContainerSteps> steps = transformer.Build(*info, fixture.container());
    if (!steps.ok()) {
      state.SkipWithError(std::string(steps.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(steps->step.get());
  }
}

void BM_BuildLrpTree(benchmark::State& state) { BuildLrpTree(state, false); }
void BM_BuildLrpTreeChecks(benchmark::State& state) { BuildLrpTree(state, true); }

// Builds and runs a tree from `info` once per iteration; `expected` says
// whether a run's result is the one the benchmark expects (else the
// benchmark stops with an error). False when it stopped.
bool RunTrees(benchmark::State& state, Fixture& fixture, const absl::StatusOr<RunInfo>& info,
              const std::function<bool(const absl::Status&)>& expected) {
  Transformer transformer(fixture.Options());
  if (!info.ok()) {
    state.SkipWithError(std::string(info.status().message()).c_str());
    return false;
  }
  for (auto _ : state) {
    absl::StatusOr<ContainerSteps> steps = transformer.Build(*info, fixture.container());
    if (!steps.ok()) {
      state.SkipWithError(std::string(steps.status().message()).c_str());
      return false;
    }
    absl::Status status = steps->step->Run();
    steps->log_streamer->Flush();
    if (!expected(status)) {
      state.SkipWithError(absl::StrCat("unexpected result: ", status.ToString()).c_str());
      return false;
    }
  }
  return true;
}

void BM_RunLrpTree(benchmark::State& state) {
  Fixture fixture;
  const bool ran = RunTrees(
      state, fixture, RunInfoFromDesiredLrp(BenchLrp(false), 0), [](const absl::Status& s) {
        return EmittableMessage(s) == "Instance became unhealthy: failed to connect";
      });
  if (!ran) return;
  state.counters["processes_per_tree"] = 4;
  state.counters["log_lines_per_tree"] =
      static_cast<double>(fixture.app_logs().lines()) / static_cast<double>(state.iterations());
}

void BM_RunTaskTree(benchmark::State& state) {
  Fixture fixture;
  model::v1::Task task;
  task.set_task_guid("bench-task");
  task.mutable_task_definition()->set_log_guid("bench-app");
  model::v1::Action* serial = task.mutable_task_definition()->mutable_action();
  *serial->mutable_serial_action()->add_actions() = RunOf("/bin/task");
  *serial->mutable_serial_action()->add_actions() = RunOf("/bin/task");
  if (!RunTrees(state, fixture, RunInfoFromTask(task),
                [](const absl::Status& s) { return s.ok(); })) {
    return;
  }
  state.counters["processes_per_tree"] = 2;
}

BENCHMARK(BM_NoopSerial)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NoopParallel)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NoopCodependent)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BuildLrpTree)->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BuildLrpTreeChecks)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RunLrpTree)->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RunTaskTree)->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace diego::actions

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
