// Copyright 2026 The libdiego Authors.
//
// The transformer (transformer.h): the trees built for representative Tasks
// and LRPs, run on a FakeGardenBackend with a FakeClock, their logs recorded
// by a RecordingAppLogSink. Declarative checks are exercised both ways:
// Diego's healthcheck binary (scripted on the fake backend; the exact
// arguments are asserted) and the in-process MultiplexedChecker against a
// real listener on 127.0.0.1 (the fake container is given that IP).

#include "diego/actions/transformer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "diego/actions/errors.h"
#include "diego/healthcheck/checker.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/testing/child_process.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/fake_garden_backend.h"
#include "diego/testing/linux_test_env.h"
#include "diego/testing/recording_app_log_sink.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "running_tree.h"

namespace diego::actions {
namespace {

using ::diego::fakes::FakeClock;
using ::diego::fakes::FakeGardenBackend;
using ::diego::fakes::FakeProcessContext;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using step_fakes::RunningTree;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kHealthcheckPath[] = "/etc/cf-assets/healthcheck/healthcheck";
// A generous real-time bound for a tree to react; never a timing assertion.
constexpr absl::Duration kBound = absl::Seconds(8);

// ---- Fakes ----------------------------------------------------------------

class FakeDownloader final : public CachedDownloader {
 public:
  explicit FakeDownloader(std::string tar) : tar_(std::move(tar)) {}
  absl::StatusOr<DownloadedArtifact> Download(const DownloadRequest& request,
                                              absl::Notification*) override {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request);
    return DownloadedArtifact{.tar = tar_, .downloaded_bytes = tar_.size(), .from_cache = false};
  }
  DownloaderStats Stats() const override { return {}; }
  std::vector<DownloadRequest> Requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  const std::string tar_;
  mutable absl::Mutex mu_;
  std::vector<DownloadRequest> requests_ ABSL_GUARDED_BY(mu_);
};

class FakeUploader final : public Uploader {
 public:
  absl::StatusOr<uint64_t> Upload(absl::string_view path, absl::string_view url,
                                  absl::Notification*) override {
    std::ifstream in{std::string(path), std::ios::binary};
    std::stringstream body;
    body << in.rdbuf();
    absl::MutexLock lock(&mu_);
    uploads_[std::string(url)] = body.str();
    return body.str().size();
  }
  std::map<std::string, std::string> Uploads() const {
    absl::MutexLock lock(&mu_);
    return uploads_;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> uploads_ ABSL_GUARDED_BY(mu_);
};

class RecordingMetrics final : public StepMetrics {
 public:
  void IncrementCounter(absl::string_view name) override {
    absl::MutexLock lock(&mu_);
    ++counters_[std::string(name)];
  }
  void SendDuration(absl::string_view name, absl::Duration d) override {
    absl::MutexLock lock(&mu_);
    durations_.emplace_back(std::string(name), d);
  }
  int Counter(const std::string& name) const {
    absl::MutexLock lock(&mu_);
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second;
  }
  std::vector<std::pair<std::string, absl::Duration>> Durations() const {
    absl::MutexLock lock(&mu_);
    return durations_;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, int> counters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, absl::Duration>> durations_ ABSL_GUARDED_BY(mu_);
};

// A TCP listener on 127.0.0.1 that never accepts (the kernel completes the
// handshakes), for the in-process TCP checks. Reopen() listens on the same
// port again after Close().
class LocalListener {
 public:
  LocalListener() { Open(0); }
  ~LocalListener() { Close(); }
  uint16_t port() const { return port_; }
  bool is_open() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void Reopen() { Open(port_); }

 private:
  void Open(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << errno;
    ASSERT_EQ(::listen(fd_, 128), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
};

// A one-entry ustar archive (what Garden's StreamOut returns for a file).
std::string TarOf(const std::string& name, const std::string& body) {
  std::string header(512, '\0');
  name.copy(header.data(), std::min<size_t>(name.size(), 99));
  auto octal = [&](size_t offset, size_t width, uint64_t value) {
    std::snprintf(header.data() + offset, width, "%0*llo", static_cast<int>(width - 1),
                  static_cast<unsigned long long>(value));
  };
  octal(100, 8, 0644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, body.size());
  octal(136, 12, 1700000000);
  std::memset(header.data() + 148, ' ', 8);
  header[156] = '0';
  std::memcpy(header.data() + 257, "ustar", 6);
  std::memcpy(header.data() + 263, "00", 2);
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  std::snprintf(header.data() + 148, 8, "%06o", sum);
  std::string tar = header + body;
  tar.append((512 - body.size() % 512) % 512, '\0');
  tar.append(1024, '\0');
  return tar;
}

// ---- Model builders ---------------------------------------------------------

model::v1::Action RunA(const std::string& path, const std::string& log_source = "",
                       std::vector<std::string> args = {}) {
  model::v1::Action a;
  model::v1::RunAction* run = a.mutable_run_action();
  run->set_path(path);
  run->set_user("vcap");
  run->set_log_source(log_source);
  for (std::string& arg : args) run->add_args(std::move(arg));
  return a;
}

model::v1::Action Serial(std::vector<model::v1::Action> actions, const std::string& source = "") {
  model::v1::Action a;
  for (auto& child : actions) *a.mutable_serial_action()->add_actions() = std::move(child);
  a.mutable_serial_action()->set_log_source(source);
  return a;
}

model::v1::Action Parallel(std::vector<model::v1::Action> actions) {
  model::v1::Action a;
  for (auto& child : actions) *a.mutable_parallel_action()->add_actions() = std::move(child);
  return a;
}

model::v1::Check TcpCheck(uint32_t port, uint64_t timeout_ms = 0, uint64_t interval_ms = 0) {
  model::v1::Check c;
  c.mutable_tcp_check()->set_port(port);
  c.mutable_tcp_check()->set_connect_timeout_ms(timeout_ms);
  c.mutable_tcp_check()->set_interval_ms(interval_ms);
  return c;
}

model::v1::Check HttpCheck(uint32_t port, const std::string& path, uint64_t timeout_ms = 0,
                           uint64_t interval_ms = 0) {
  model::v1::Check c;
  c.mutable_http_check()->set_port(port);
  c.mutable_http_check()->set_path(path);
  c.mutable_http_check()->set_request_timeout_ms(timeout_ms);
  c.mutable_http_check()->set_interval_ms(interval_ms);
  return c;
}

model::v1::DesiredLRP Lrp(model::v1::Action action) {
  model::v1::DesiredLRP lrp;
  lrp.set_process_guid("web-guid");
  lrp.set_domain("cf-apps");
  lrp.set_log_guid("app-guid");
  lrp.set_log_source("APP/PROC/WEB");
  lrp.set_start_timeout_ms(60000);
  *lrp.mutable_action() = std::move(action);
  return lrp;
}

model::v1::Task TaskWith(model::v1::Action action) {
  model::v1::Task task;
  task.set_task_guid("task-guid");
  task.set_domain("cf-tasks");
  task.mutable_task_definition()->set_log_guid("app-guid");
  task.mutable_task_definition()->set_log_source("TASK");
  *task.mutable_task_definition()->mutable_action() = std::move(action);
  return task;
}

// ---- Process scripts --------------------------------------------------------

// Writes `out`, then exits `code`.
fakes::FakeProcessHandler Exits(int code, std::string out = "") {
  return [code, out](FakeProcessContext& ctx) {
    if (!out.empty()) ctx.WriteStdout(out);
    return code;
  };
}

// Runs until `exit_now` is notified (then exits `code`) or it is killed.
fakes::FakeProcessHandler RunsUntil(absl::Notification* exit_now, int code, std::string out = "") {
  return [exit_now, code, out](FakeProcessContext& ctx) {
    if (!out.empty()) ctx.WriteStdout(out);
    while (!exit_now->WaitForNotificationWithTimeout(absl::Milliseconds(5))) {
      if (ctx.Killed()) return 137;
    }
    return code;
  };
}

// Runs until killed.
int Forever(FakeProcessContext& ctx) {
  ctx.WaitForSignal(absl::InfiniteFuture());
  return 143;
}

// ---- The tree under test ------------------------------------------------------

class TransformerTest : public ::testing::Test {
 protected:
  TransformerOptions Options() {
    return TransformerOptions{
        .clock = &clock_,
        .log_sink = &sink_,
        .logger = *logs_.logger(),
        .downloader = &downloader_,
        .uploader = &uploader_,
        .download_limiter = &download_limiter_,
        .upload_limiter = &upload_limiter_,
        .healthcheck_pool = &healthcheck_pool_,
        .temp_dir = fakes::FreshTestDir("transformer"),
        .metrics = &metrics_,
        .healthy_monitoring_interval = absl::Seconds(30),
        .unhealthy_monitoring_interval = absl::Seconds(2),
        .graceful_shutdown_interval = absl::Seconds(10),
        .declarative_healthcheck_default_timeout = absl::Seconds(1),
        .emit_liveness_failure_metrics = false,
        .post_setup_hook = std::nullopt,
        .checker = nullptr,
        .healthcheck_path = kHealthcheckPath,
        .healthcheck_host_dir = "/var/vcap/packages/healthcheck",
    };
  }

  // A container with port 8080 mapped (host port 61001).
  garden::Container* NewContainer(const std::string& network = "") {
    absl::StatusOr<std::unique_ptr<garden::Container>> c = garden_.Create(garden::ContainerSpec{
        .handle = "c-" + std::to_string(containers_.size()),
        .network = network,
        .net_in = {garden::NetInSpec{.host_port = 0, .container_port = 8080}},
    });
    EXPECT_THAT(c.status(), IsOk());
    containers_.push_back(*std::move(c));
    return containers_.back().get();
  }

  absl::StatusOr<ContainerSteps> BuildLrp(const model::v1::DesiredLRP& lrp, garden::Container* c,
                                          TransformerOptions options,
                                          std::function<void(Readiness)> on_readiness = nullptr) {
    absl::StatusOr<RunInfo> info = RunInfoFromDesiredLrp(lrp, 0);
    if (!info.ok()) return info.status();
    transformer_ = std::make_unique<Transformer>(std::move(options));
    return transformer_->Build(*info, c, std::move(on_readiness));
  }

  // Lines of `source`, stderr marked "[ERR] ".
  std::vector<std::string> LinesOf(const std::string& source) const {
    std::vector<std::string> out;
    for (const AppLogLine& l : sink_.Lines()) {
      if (l.source_type == source) out.push_back(l.is_stderr ? "[ERR] " + l.message : l.message);
    }
    return out;
  }

  // Process specs of a path run in `handle`.
  std::vector<garden::ProcessSpec> SpecsOf(const std::string& handle, const std::string& path) {
    std::vector<garden::ProcessSpec> out;
    for (garden::ProcessSpec& s : garden_.ProcessSpecs(handle)) {
      if (s.path == path) out.push_back(std::move(s));
    }
    return out;
  }

  FakeClock clock_;
  fakes::TestLogger logs_{"transformer-test", &clock_};
  FakeGardenBackend garden_{FakeGardenBackend::Options{.clock = &clock_}};
  fakes::RecordingAppLogSink sink_;
  FakeDownloader downloader_{"TARDATA"};
  FakeUploader uploader_;
  RecordingMetrics metrics_;
  Semaphore download_limiter_{5};
  Semaphore upload_limiter_{5};
  Semaphore healthcheck_pool_{64};
  std::vector<std::unique_ptr<garden::Container>> containers_;
  std::unique_ptr<Transformer> transformer_;
};

// ---- Tasks ----------------------------------------------------------------------

TEST_F(TransformerTest, TaskRunActionSucceedsWithNetworkingEnvAndLogs) {
  garden_.SetProcessHandler("/bin/task", Exits(0, "hello from task\n"));
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(RunInfo info, RunInfoFromTask(TaskWith(RunA("/bin/task"))));
  EXPECT_TRUE(info.is_task);
  Transformer transformer(Options());
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, transformer.Build(info, c));
  RunningTree tree(std::move(steps), kBound);
  EXPECT_THAT(tree.Wait(), IsOk());
  EXPECT_TRUE(tree.IsReady());

  EXPECT_THAT(LinesOf("TASK"), ElementsAre("hello from task", "Exit status 0"));
  std::vector<garden::ProcessSpec> specs = SpecsOf("c-0", "/bin/task");
  ASSERT_THAT(specs, SizeIs(1));
  EXPECT_EQ(specs[0].user, "vcap");
  EXPECT_THAT(specs[0].env, Contains("CF_INSTANCE_IP=10.0.0.1"));
  EXPECT_THAT(specs[0].env, Contains("CF_INSTANCE_INTERNAL_IP=10.254.0.2"));
  EXPECT_THAT(specs[0].env, Contains("CF_INSTANCE_PORT=61001"));
  EXPECT_THAT(specs[0].env, Contains("CF_INSTANCE_ADDR=10.0.0.1:61001"));
  EXPECT_THAT(specs[0].env, Contains(R"(CF_INSTANCE_PORTS=[{"external":61001,"internal":8080}])"));
}

TEST_F(TransformerTest, TaskRunActionFailureHasDiegosExactText) {
  garden_.SetProcessHandler("/bin/task", Exits(3));
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(RunInfo info, RunInfoFromTask(TaskWith(RunA("/bin/task"))));
  Transformer transformer(Options());
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, transformer.Build(info, c));
  RunningTree tree(std::move(steps), kBound);
  absl::Status result = tree.Wait();
  ASSERT_TRUE(IsEmittable(result)) << result;
  EXPECT_EQ(EmittableMessage(result), "TASK: Exited with status 3");
  EXPECT_THAT(LinesOf("TASK"), ElementsAre("Exit status 3"));
}

TEST_F(TransformerTest, TaskSerialOfEmitProgressTryAndTimeout) {
  garden_.SetProcessHandler("/bin/ok", Exits(0, "ok\n"));
  garden_.SetProcessHandler("/bin/fail", Exits(1));
  garden_.SetProcessHandler("/bin/hang", Forever);
  model::v1::Action emit;
  emit.mutable_emit_progress_action()->set_start_message("Staging...");
  emit.mutable_emit_progress_action()->set_success_message("Staging complete");
  emit.mutable_emit_progress_action()->set_failure_message_prefix("Staging failed");
  *emit.mutable_emit_progress_action()->mutable_action() = RunA("/bin/ok");
  model::v1::Action attempt;
  *attempt.mutable_try_action()->mutable_action() = RunA("/bin/fail");
  model::v1::Action bounded;
  bounded.mutable_timeout_action()->set_timeout_ms(5000);
  *bounded.mutable_timeout_action()->mutable_action() = RunA("/bin/hang");

  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(RunInfo info, RunInfoFromTask(TaskWith(Serial({emit, attempt, bounded}))));
  Transformer transformer(Options());
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, transformer.Build(info, c));
  RunningTree tree(std::move(steps), kBound);
  garden_.BlockUntilProcessesRun(3);  // /bin/hang runs
  clock_.BlockUntilSleepers(1);       // the timeout step
  EXPECT_FALSE(tree.IsDone());
  clock_.Advance(absl::Seconds(5));
  absl::Status result = tree.Wait();
  ASSERT_TRUE(IsEmittable(result)) << result;
  EXPECT_EQ(EmittableMessage(result), "exceeded 5s timeout");
  EXPECT_THAT(LinesOf("TASK"), ElementsAre("Staging...", "ok", "Exit status 0", "Staging complete",
                                           "Exit status 1", "Exit status 143"));
}

TEST_F(TransformerTest, LogSourceOverridesApplyToTheActionAndItsChildren) {
  garden_.SetProcessHandler("/bin/a", Exits(0, "from a\n"));
  garden_.SetProcessHandler("/bin/b", Exits(0, "from b\n"));
  garden_.SetProcessHandler("/bin/c", Exits(0, "from c\n"));
  model::v1::Action attempt;
  attempt.mutable_try_action()->set_log_source("TRY");
  *attempt.mutable_try_action()->mutable_action() = RunA("/bin/c");
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(RunInfo info,
                       RunInfoFromTask(TaskWith(
                           Serial({RunA("/bin/a"), RunA("/bin/b", "CUSTOM"), attempt}, "STG"))));
  Transformer transformer(Options());
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, transformer.Build(info, c));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_THAT(tree.Wait(), IsOk());
  EXPECT_THAT(LinesOf("STG"), ElementsAre("from a", "Exit status 0"));
  EXPECT_THAT(LinesOf("CUSTOM"), ElementsAre("from b", "Exit status 0"));
  EXPECT_THAT(LinesOf("TRY"), ElementsAre("from c", "Exit status 0"));
  EXPECT_THAT(LinesOf("TASK"), IsEmpty());
}

TEST_F(TransformerTest, DownloadAndUploadActionsUseTheDownloaderAndUploader) {
  garden::Container* c = NewContainer();
  ASSERT_THAT(garden_.SetStreamOutContent("c-0", "/home/vcap/result.txt",
                                          TarOf("result.txt", "the result")),
              IsOk());
  model::v1::Action download;
  download.mutable_download_action()->set_artifact("droplet");
  download.mutable_download_action()->set_from("http://blobstore/droplet?secret=1");
  download.mutable_download_action()->set_to("/home/vcap");
  download.mutable_download_action()->set_cache_key("droplet-key");
  download.mutable_download_action()->set_user("vcap");
  model::v1::Action upload;
  upload.mutable_upload_action()->set_artifact("result");
  upload.mutable_upload_action()->set_from("/home/vcap/result.txt");
  upload.mutable_upload_action()->set_to("http://cc/upload?secret=2");
  upload.mutable_upload_action()->set_user("vcap");
  ASSERT_OK_AND_ASSIGN(RunInfo info, RunInfoFromTask(TaskWith(Serial({download, upload}))));
  Transformer transformer(Options());
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, transformer.Build(info, c));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_THAT(tree.Wait(), IsOk());

  ASSERT_THAT(downloader_.Requests(), SizeIs(1));
  EXPECT_EQ(downloader_.Requests()[0].cache_key, "droplet-key");
  std::vector<fakes::FakeStreamIn> ins = garden_.StreamIns("c-0");
  ASSERT_THAT(ins, SizeIs(1));
  EXPECT_EQ(ins[0].path, "/home/vcap");
  EXPECT_EQ(ins[0].user, "vcap");
  EXPECT_EQ(ins[0].tar, "TARDATA");
  EXPECT_EQ(uploader_.Uploads()["http://cc/upload?secret=2"], "the result");
  std::vector<std::string> lines = LinesOf("TASK");
  EXPECT_THAT(lines, Contains("Downloading droplet..."));
  EXPECT_THAT(lines, Contains("Uploading result..."));
  for (const std::string& line : lines) EXPECT_THAT(line, Not(HasSubstr("secret")));
}

TEST_F(TransformerTest, TaskCachedDependenciesAndImageLayersBecomeSetupDownloads) {
  model::v1::Task task = TaskWith(RunA("/bin/task"));
  model::v1::TaskDefinition* def = task.mutable_task_definition();
  model::v1::CachedDependency* dep = def->add_cached_dependencies();
  dep->set_name("buildpack");
  dep->set_from("http://blobstore/bp");
  dep->set_to("/tmp/bp");
  dep->set_cache_key("bp-key");
  dep->set_log_source("CACHED");
  model::v1::ImageLayer* shared = def->add_image_layers();
  shared->set_name("shared-layer");
  shared->set_url("http://blobstore/shared");
  shared->set_destination_path("/shared");
  shared->set_layer_type(model::v1::ImageLayer::SHARED);
  shared->set_media_type(model::v1::ImageLayer::TGZ);
  model::v1::ImageLayer* exclusive = def->add_image_layers();
  exclusive->set_name("droplet");
  exclusive->set_url("http://blobstore/droplet");
  exclusive->set_destination_path("/home/vcap");
  exclusive->set_layer_type(model::v1::ImageLayer::EXCLUSIVE);
  exclusive->set_media_type(model::v1::ImageLayer::TGZ);
  exclusive->set_digest_algorithm(model::v1::ImageLayer::SHA256);
  exclusive->set_digest_value("abc123");

  ASSERT_OK_AND_ASSIGN(RunInfo info, RunInfoFromTask(task));
  ASSERT_TRUE(info.setup.has_value());
  // Serial(Parallel(cached deps: shared layer, then the task's), Parallel(exclusive layers)).
  ASSERT_TRUE(info.setup->has_serial_action()) << info.setup->DebugString();
  const auto& serial = info.setup->serial_action().actions();
  ASSERT_EQ(serial.size(), 2);
  ASSERT_EQ(serial[0].parallel_action().actions_size(), 2);
  const model::v1::DownloadAction& d0 = serial[0].parallel_action().actions(0).download_action();
  EXPECT_EQ(d0.artifact(), "shared-layer");
  // Keyed by a hash of the URL, never the URL itself (it may carry secrets).
  EXPECT_EQ(d0.from(), "http://blobstore/shared");
  // sha256("http://blobstore/shared")
  EXPECT_EQ(d0.cache_key(),
            "url-sha256:bc98f1070ce872a3eb463c599b2cc9a08483f28c57fc66289b780170fede920b");
  EXPECT_THAT(d0.cache_key(), Not(HasSubstr("blobstore")));
  const model::v1::DownloadAction& d1 = serial[0].parallel_action().actions(1).download_action();
  EXPECT_EQ(d1.artifact(), "buildpack");
  EXPECT_EQ(d1.cache_key(), "bp-key");
  EXPECT_EQ(d1.log_source(), "CACHED");
  ASSERT_EQ(serial[1].parallel_action().actions_size(), 1);
  const model::v1::DownloadAction& d2 = serial[1].parallel_action().actions(0).download_action();
  EXPECT_EQ(d2.artifact(), "droplet");
  EXPECT_EQ(d2.to(), "/home/vcap");
  EXPECT_EQ(d2.cache_key(), "sha256:abc123");
  EXPECT_EQ(d2.checksum_algorithm(), "sha256");
  EXPECT_EQ(d2.checksum_value(), "abc123");
  EXPECT_EQ(info.log_config.guid, "app-guid");
  EXPECT_EQ(info.log_config.source_name, "TASK");
  EXPECT_EQ(info.log_config.bytes_per_second, -1);

  // The setup runs before the action: three stream-ins, then the task.
  garden_.SetProcessHandler("/bin/task", Exits(0));
  garden::Container* c = NewContainer();
  Transformer transformer(Options());
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, transformer.Build(info, c));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_THAT(tree.Wait(), IsOk());
  EXPECT_THAT(garden_.StreamIns("c-0"), SizeIs(3));
  EXPECT_THAT(SpecsOf("c-0", "/bin/task"), SizeIs(1));
}

TEST_F(TransformerTest, ConversionErrorsNameTheField) {
  model::v1::Task no_action;
  no_action.set_task_guid("t1");
  no_action.mutable_task_definition()->set_log_guid("g");
  EXPECT_THAT(RunInfoFromTask(no_action).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("action is required")));
  EXPECT_THAT(RunInfoFromDesiredLrp(model::v1::DesiredLRP(), 0).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("action is required")));
  EXPECT_THAT(RunInfoFromDesiredLrp(Lrp(RunA("/bin/app")), -1).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("instance index")));

  Transformer transformer(Options());
  garden::Container* c = NewContainer();
  EXPECT_THAT(transformer.Build(RunInfo{.log_config = LogConfig{}}, c).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "container cannot have empty action"));
  TransformerOptions no_downloader = Options();
  no_downloader.downloader = nullptr;
  Transformer limited(no_downloader);
  model::v1::Action download;
  download.mutable_download_action()->set_from("http://x");
  download.mutable_download_action()->set_to("/tmp");
  ASSERT_OK_AND_ASSIGN(RunInfo info, RunInfoFromTask(TaskWith(download)));
  EXPECT_THAT(limited.Build(info, c).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("download action")));
}

// ---- LRPs: setup, sidecars, no monitor -----------------------------------------

TEST_F(TransformerTest, LrpWithoutMonitorIsReadyWhenTheProcessStartsAndEndsWhenItExits) {
  absl::Notification exit_now;
  garden_.SetProcessHandler("/bin/app", RunsUntil(&exit_now, 0, "listening\n"));
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(Lrp(RunA("/bin/app")), c, Options()));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_TRUE(tree.WaitReady());
  EXPECT_FALSE(tree.IsDone());
  exit_now.Notify();
  // Exit 0 ends the tree: for an LRP that is a crash (the rep's business).
  EXPECT_THAT(tree.Wait(), IsOk());
  EXPECT_THAT(LinesOf("APP/PROC/WEB"), ElementsAre("listening", "Exit status 0"));
}

TEST_F(TransformerTest, LrpWithoutMonitorFailsWhenTheProcessFails) {
  absl::Notification exit_now;
  garden_.SetProcessHandler("/bin/app", RunsUntil(&exit_now, 2));
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(Lrp(RunA("/bin/app")), c, Options()));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_TRUE(tree.WaitReady());
  exit_now.Notify();
  absl::Status result = tree.Wait();
  EXPECT_EQ(EmittableMessage(result), "APP/PROC/WEB: Exited with status 2") << result;
}

TEST_F(TransformerTest, SetupIsTimedAndRunsBeforeThePostSetupHookAndTheAction) {
  absl::Notification exit_now;
  garden_.SetProcessHandler("/bin/setup", Exits(0, "setting up\n"));
  garden_.SetProcessHandler("/bin/hook", Exits(0, "hook output\n"));
  garden_.SetProcessHandler("/bin/app", RunsUntil(&exit_now, 0));
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  *lrp.mutable_setup() = RunA("/bin/setup");
  TransformerOptions options = Options();
  options.post_setup_hook = model::v1::RunAction();
  options.post_setup_hook->set_path("/bin/hook");
  options.post_setup_hook->set_user("root");
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, options));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_TRUE(tree.WaitReady());
  exit_now.Notify();
  EXPECT_THAT(tree.Wait(), IsOk());

  std::vector<std::string> order;
  for (const garden::ProcessSpec& s : garden_.ProcessSpecs("c-0")) order.push_back(s.path);
  EXPECT_THAT(order, ElementsAre("/bin/setup", "/bin/hook", "/bin/app"));
  ASSERT_THAT(metrics_.Durations(), SizeIs(1));
  EXPECT_EQ(metrics_.Durations()[0].first, "ContainerSetupSucceededDuration");
  // The hook logs nothing.
  EXPECT_THAT(LinesOf("APP/PROC/WEB"), ElementsAre("setting up", "Exit status 0", "Exit status 0"));
}

TEST_F(TransformerTest, FailedSetupIsTimedAndStopsTheTree) {
  garden_.SetProcessHandler("/bin/setup", Exits(9));
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  *lrp.mutable_setup() = RunA("/bin/setup");
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, Options()));
  RunningTree tree(std::move(steps), kBound);
  absl::Status result = tree.Wait();
  EXPECT_EQ(EmittableMessage(result), "APP/PROC/WEB: Exited with status 9");
  ASSERT_THAT(metrics_.Durations(), SizeIs(1));
  EXPECT_EQ(metrics_.Durations()[0].first, "ContainerSetupFailedDuration");
  EXPECT_THAT(SpecsOf("c-0", "/bin/app"), IsEmpty());
}

TEST_F(TransformerTest, SidecarExitCancelsTheAction) {
  absl::Notification sidecar_exit;
  garden_.SetProcessHandler("/bin/app", Forever);
  garden_.SetProcessHandler("/bin/sidecar", RunsUntil(&sidecar_exit, 0, "sidecar up\n"));
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  *lrp.add_sidecars()->mutable_action() = RunA("/bin/sidecar", "SIDECAR");
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, Options()));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_TRUE(tree.WaitReady());
  EXPECT_FALSE(tree.IsDone());
  sidecar_exit.Notify();
  // The sidecar's success cancels the action (SIGTERM; it exits at once).
  EXPECT_THAT(tree.Wait(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(LinesOf("SIDECAR"), ElementsAre("sidecar up", "Exit status 0"));
  EXPECT_THAT(LinesOf("APP/PROC/WEB"), ElementsAre("Exit status 143"));
}

// ---- LRPs: the legacy monitor -----------------------------------------------------

class MonitorScript {
 public:
  // Fails (printing "not yet") `failures` times, then passes until Break().
  explicit MonitorScript(int failures) : failures_(failures) {}
  fakes::FakeProcessHandler Handler() {
    return [this](FakeProcessContext& ctx) {
      const int n = ++calls_;
      if (broken_.load()) {
        ctx.WriteStdout("failed to connect\n");
        return 1;
      }
      if (n <= failures_) {
        ctx.WriteStdout("not yet\n");
        return 1;
      }
      return 0;
    };
  }
  void Break() { broken_ = true; }
  int calls() const { return calls_.load(); }

 private:
  const int failures_;
  std::atomic<int> calls_{0};
  std::atomic<bool> broken_{false};
};

TEST_F(TransformerTest, LegacyMonitorBecomesHealthyThenUnhealthy) {
  MonitorScript monitor(2);
  garden_.SetProcessHandler("/bin/healthcheck", monitor.Handler());
  garden_.SetProcessHandler("/bin/app", Forever);
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  // As the Cloud Controller builds it: a parallel of one run per port.
  model::v1::Action check = RunA("/bin/healthcheck", "HEALTH", {"-port=8080"});
  check.mutable_run_action()->set_suppress_log_output(true);  // forced off for monitors
  *lrp.mutable_monitor() = Parallel({check});
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, Options()));
  RunningTree tree(std::move(steps), kBound);

  for (int attempt = 1; attempt <= 3; ++attempt) {
    clock_.BlockUntilSleepers(1);  // EventuallySucceeds waits an unhealthy interval
    EXPECT_FALSE(tree.IsReady()) << "attempt " << attempt;
    clock_.Advance(absl::Seconds(2));
  }
  ASSERT_TRUE(tree.WaitReady());
  EXPECT_EQ(monitor.calls(), 3);
  monitor.Break();
  clock_.BlockUntilSleepers(1);  // ConsistentlySucceeds waits a healthy interval
  EXPECT_FALSE(tree.IsDone());
  clock_.Advance(absl::Seconds(30));
  absl::Status result = tree.Wait();
  ASSERT_TRUE(IsEmittable(result)) << result;
  EXPECT_EQ(EmittableMessage(result), "Instance became unhealthy: failed to connect");

  // The monitor's output is captured, not logged; its exit status is not printed.
  EXPECT_THAT(LinesOf("HEALTH"), IsEmpty());
  EXPECT_THAT(LinesOf("APP/PROC/WEB"),
              ElementsAre("Starting health monitoring of container", "Container became healthy",
                          "[ERR] failed to connect", "[ERR] Container became unhealthy",
                          "Exit status 143"));
  for (const garden::ProcessSpec& s : SpecsOf("c-0", "/bin/healthcheck")) {
    EXPECT_THAT(s.args, ElementsAre("-port=8080"));
  }
}

TEST_F(TransformerTest, LegacyMonitorBareRunActionLogsItsOutput) {
  MonitorScript monitor(0);
  garden_.SetProcessHandler("/bin/healthcheck", monitor.Handler());
  garden_.SetProcessHandler("/bin/app", Forever);
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  *lrp.mutable_monitor() = RunA("/bin/healthcheck", "HEALTH");
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, Options()));
  RunningTree tree(std::move(steps), kBound);
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(tree.WaitReady());
  monitor.Break();
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(30));
  absl::Status result = tree.Wait();
  // Diego: a bare run monitor has no output wrapper and no exit-status text,
  // so the crash reason has an empty cause.
  EXPECT_EQ(EmittableMessage(result), "Instance became unhealthy: ") << result;
  EXPECT_THAT(LinesOf("HEALTH"), ElementsAre("failed to connect"));
}

TEST_F(TransformerTest, LegacyMonitorNeverHealthyWithinTheStartTimeout) {
  MonitorScript monitor(1000);
  garden_.SetProcessHandler("/bin/healthcheck", monitor.Handler());
  garden_.SetProcessHandler("/bin/app", Forever);
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  lrp.set_start_timeout_ms(5000);
  *lrp.mutable_monitor() = Parallel({RunA("/bin/healthcheck")});
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, Options()));
  RunningTree tree(std::move(steps), kBound);
  // Attempts at 2s, 4s and 6s; after the third, 6s > 5s.
  for (int i = 0; i < 3; ++i) {
    clock_.BlockUntilSleepers(1);
    clock_.Advance(absl::Seconds(2));
  }
  absl::Status result = tree.Wait();
  EXPECT_FALSE(tree.IsReady());
  EXPECT_EQ(EmittableMessage(result), "Instance never healthy after 6s: not yet") << result;
  EXPECT_THAT(LinesOf("APP/PROC/WEB"),
              Contains("[ERR] Failed after 6s: startup health check never passed."));
}

TEST_F(TransformerTest, WithAMonitorAnActionThatExitsZeroKeepsTheContainerMonitored) {
  MonitorScript monitor(0);
  garden_.SetProcessHandler("/bin/healthcheck", monitor.Handler());
  garden_.SetProcessHandler("/bin/daemonize", Exits(0));
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/daemonize"));
  *lrp.mutable_monitor() = Parallel({RunA("/bin/healthcheck")});
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, Options()));
  RunningTree tree(std::move(steps), kBound);
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(tree.WaitReady());
  clock_.BlockUntilSleepers(1);
  EXPECT_FALSE(tree.IsDone());
  monitor.Break();
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(EmittableMessage(tree.Wait()), "Instance became unhealthy: failed to connect");
}

// ---- LRPs: declarative checks, Diego's binary ---------------------------------------

TEST_F(TransformerTest, DeclarativeChecksRunTheHealthcheckBinaryWithDiegosFlags) {
  absl::Notification liveness_fails;
  garden_.SetProcessHandler("/bin/app", Forever);
  garden_.SetProcessHandler(kHealthcheckPath, [&](FakeProcessContext& ctx) {
    const std::vector<std::string>& args = ctx.spec().args;
    const bool liveness = absl::StrContains(absl::StrJoin(args, " "), "-liveness-interval");
    if (!liveness) return 0;  // startup passes at once
    if (args[0] == "-port=9090") return Forever(ctx);
    while (!liveness_fails.WaitForNotificationWithTimeout(absl::Milliseconds(5))) {
      if (ctx.Killed()) return 137;
    }
    ctx.WriteStderr(
        "Liveness check unsuccessful: failed to make TCP connection to 10.254.0.2:8080: dial tcp "
        "10.254.0.2:8080: connect: connection refused");
    return 4;
  });
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  *lrp.mutable_check_definition()->add_checks() = TcpCheck(8080);
  *lrp.mutable_check_definition()->add_checks() = HttpCheck(9090, "", 250, 5000);
  *lrp.mutable_check_definition()->add_checks() = TcpCheck(0);  // invalid: skipped
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, Options()));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_TRUE(tree.WaitReady());
  garden_.BlockUntilProcessesRun(5);  // app, 2 startup, 2 liveness
  liveness_fails.Notify();
  absl::Status result = tree.Wait();
  EXPECT_EQ(EmittableMessage(result),
            "Instance became unhealthy: Liveness check unsuccessful: failed to make TCP connection "
            "to 10.254.0.2:8080: dial tcp 10.254.0.2:8080: connect: connection refused")
      << result;

  std::vector<garden::ProcessSpec> specs = SpecsOf("c-0", kHealthcheckPath);
  std::vector<std::vector<std::string>> args;
  for (const garden::ProcessSpec& s : specs) {
    args.push_back(s.args);
    EXPECT_EQ(s.rlimits.nofile, uint64_t{1024});
    EXPECT_EQ(s.user, "");
    EXPECT_THAT(s.bind_mounts,
                ElementsAre(garden::BindMount{.src_path = "/var/vcap/packages/healthcheck",
                                              .dst_path = "/etc/cf-assets/healthcheck",
                                              .mode = garden::BindMountMode::kReadOnly,
                                              .origin = garden::BindMountOrigin::kHost}));
    EXPECT_THAT(s.env, Contains("CF_INSTANCE_INTERNAL_IP=10.254.0.2"));
  }
  std::vector<std::string> startup_tcp = {"-port=8080", "-timeout=1000ms", "-startup-interval=2s",
                                          "-startup-timeout=1m0s"};
  std::vector<std::string> liveness_tcp = {"-port=8080", "-timeout=1000ms",
                                           "-liveness-interval=30s"};
  std::vector<std::string> startup_http = {"-port=9090", "-timeout=250ms", "-uri=/",
                                           "-startup-interval=2s", "-startup-timeout=1m0s"};
  std::vector<std::string> liveness_http = {"-port=9090", "-timeout=250ms", "-uri=/",
                                            "-liveness-interval=5s"};
  EXPECT_THAT(args, ::testing::UnorderedElementsAre(startup_tcp, liveness_tcp, startup_http,
                                                    liveness_http));
  // Check output is captured; only the health step's own lines are logged.
  EXPECT_THAT(
      LinesOf("HEALTH"),
      ElementsAre("[ERR] Liveness check unsuccessful: failed to make TCP connection to "
                  "10.254.0.2:8080: dial tcp 10.254.0.2:8080: connect: connection refused"));
  EXPECT_THAT(LinesOf("APP/PROC/WEB"),
              ElementsAre("Starting health monitoring of container", "Container became healthy",
                          "[ERR] Container became unhealthy", "Exit status 143"));
}

TEST_F(TransformerTest, DeclarativeReadinessChecksRunTheBinaryInBothModes) {
  garden_.SetProcessHandler("/bin/app", Forever);
  std::atomic<int> until_ready_runs{0};
  garden_.SetProcessHandler(kHealthcheckPath, [&](FakeProcessContext& ctx) {
    if (absl::StrContains(absl::StrJoin(ctx.spec().args, " "), "-until-ready-interval")) {
      ++until_ready_runs;
      return 0;
    }
    // -readiness-interval: fails on its first run only.
    ctx.WriteStdout("Readiness check unsuccessful: nope\n");
    return until_ready_runs.load() == 1 ? 6 : Forever(ctx);
  });
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  *lrp.mutable_check_definition()->add_readiness_checks() = HttpCheck(8080, "/ready", 0, 7000);
  lrp.mutable_check_definition()->set_log_source("READY");
  absl::Mutex mu;
  std::vector<Readiness> changes;
  garden::Container* c = NewContainer();
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, Options(), [&](Readiness r) {
                         absl::MutexLock lock(&mu);
                         changes.push_back(r);
                       }));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_TRUE(fakes::PollUntil(
      [&] {
        absl::MutexLock lock(&mu);
        return changes.size() == 3;
      },
      kBound));
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(changes, ElementsAre(Readiness::kReady, Readiness::kNotReady, Readiness::kReady));
  }
  garden_.BlockUntilProcessesRun(5);  // the app and four checks
  tree.Cancel();
  EXPECT_THAT(tree.Wait(), StatusIs(absl::StatusCode::kCancelled));

  std::vector<std::vector<std::string>> args;
  for (const garden::ProcessSpec& s : SpecsOf("c-0", kHealthcheckPath)) args.push_back(s.args);
  std::vector<std::string> until_ready = {"-port=8080", "-timeout=1000ms", "-uri=/ready",
                                          "-until-ready-interval=2s"};
  std::vector<std::string> readiness = {"-port=8080", "-timeout=1000ms", "-uri=/ready",
                                        "-readiness-interval=7s"};
  EXPECT_THAT(args, ElementsAre(until_ready, readiness, until_ready, readiness));
  EXPECT_THAT(LinesOf("READY"),
              ElementsAre("Starting readiness health monitoring of container",
                          "Container passed the readiness health check. Container marked ready "
                          "and added to route pool.",
                          "Container failed the readiness health check. Container marked not "
                          "ready and removed from route pool.",
                          "Container passed the readiness health check. Container marked ready "
                          "and added to route pool."));
}

// ---- LRPs: declarative checks, in process ---------------------------------------------

class InProcessCheckTest : public TransformerTest {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(checker_, healthcheck::MultiplexedChecker::Create());
  }
  TransformerOptions CheckerOptions() {
    TransformerOptions options = Options();
    options.checker = checker_.get();
    return options;
  }

  std::unique_ptr<healthcheck::MultiplexedChecker> checker_;
};

TEST_F(InProcessCheckTest, TcpCheckBecomesHealthyThenUnhealthyWithTheBinarysText) {
  LocalListener listener;
  garden_.SetProcessHandler("/bin/app", Forever);
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  *lrp.mutable_check_definition()->add_checks() = TcpCheck(listener.port());
  TransformerOptions options = CheckerOptions();
  options.emit_liveness_failure_metrics = true;
  garden::Container* c = NewContainer("127.0.0.1");
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, options));
  RunningTree tree(std::move(steps), kBound);
  // The startup check probes at once and passes.
  ASSERT_TRUE(tree.WaitReady());
  clock_.BlockUntilSleepers(1);  // liveness: probed once, waits 30s
  listener.Close();
  clock_.Advance(absl::Seconds(30));
  absl::Status result = tree.Wait();

  const std::string addr = absl::StrCat("127.0.0.1:", listener.port());
  const std::string probe =
      healthcheck::TcpErrorResult(addr, healthcheck::GoDialErrorText(addr, "connect", ECONNREFUSED))
          .message;
  EXPECT_EQ(EmittableMessage(result),
            absl::StrCat("Instance became unhealthy: Liveness check unsuccessful: ", probe))
      << result;
  EXPECT_THAT(LinesOf("HEALTH"), ElementsAre("[ERR] Liveness check unsuccessful: " + probe));
  EXPECT_EQ(metrics_.Counter("TCPLivenessChecksFailedCount"), 1);
  // No check processes in the container.
  EXPECT_THAT(SpecsOf("c-0", kHealthcheckPath), IsEmpty());
}

TEST_F(InProcessCheckTest, StartupCheckTimesOutWithTheBinarysText) {
  LocalListener listener;
  listener.Close();  // nothing listens
  garden_.SetProcessHandler("/bin/app", Forever);
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  lrp.set_start_timeout_ms(3000);
  *lrp.mutable_check_definition()->add_checks() = TcpCheck(listener.port());
  garden::Container* c = NewContainer("127.0.0.1");
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, CheckerOptions()));
  RunningTree tree(std::move(steps), kBound);
  // Probes at 0s and 2s; the 3s deadline comes before the 4s tick.
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(2));
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(1));
  absl::Status result = tree.Wait();
  EXPECT_FALSE(tree.IsReady());
  const std::string addr = absl::StrCat("127.0.0.1:", listener.port());
  const std::string probe =
      healthcheck::TcpErrorResult(addr, healthcheck::GoDialErrorText(addr, "connect", ECONNREFUSED))
          .message;
  EXPECT_EQ(EmittableMessage(result),
            absl::StrCat("Instance never healthy after 3s: Timed out after 3s (2 attempts) "
                         "waiting for startup check to succeed: ",
                         probe))
      << result;
}

TEST_F(InProcessCheckTest, ReadinessTogglesCallOnReadiness) {
  LocalListener listener;
  garden_.SetProcessHandler("/bin/app", Forever);
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  *lrp.mutable_check_definition()->add_readiness_checks() = TcpCheck(listener.port(), 0, 10000);
  absl::Mutex mu;
  std::vector<Readiness> changes;
  auto count = [&] {
    absl::MutexLock lock(&mu);
    return changes.size();
  };
  garden::Container* c = NewContainer("127.0.0.1");
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, CheckerOptions(), [&](Readiness r) {
                         absl::MutexLock lock(&mu);
                         changes.push_back(r);
                       }));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_TRUE(tree.WaitReady());
  ASSERT_TRUE(fakes::PollUntil([&] { return count() == 1; }, kBound));  // until-ready passed
  clock_.BlockUntilSleepers(1);                                         // readiness loop waits 10s
  listener.Close();
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(fakes::PollUntil([&] { return count() == 2; }, kBound));
  clock_.BlockUntilSleepers(1);  // until-ready failed once, waits 2s
  listener.Reopen();
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(fakes::PollUntil([&] { return count() == 3; }, kBound));
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(changes, ElementsAre(Readiness::kReady, Readiness::kNotReady, Readiness::kReady));
  }
  tree.Cancel();
  EXPECT_THAT(tree.Wait(), StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(InProcessCheckTest, CheckDefinitionWithOnlyInvalidChecksBuildsNoHealthStep) {
  absl::Notification exit_now;
  garden_.SetProcessHandler("/bin/app", RunsUntil(&exit_now, 0));
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  *lrp.mutable_check_definition()->add_checks() = TcpCheck(70000);
  model::v1::Check both = TcpCheck(8080);
  *both.mutable_http_check() = HttpCheck(8080, "/").http_check();
  *lrp.mutable_check_definition()->add_checks() = both;
  garden::Container* c = NewContainer("127.0.0.1");
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, BuildLrp(lrp, c, CheckerOptions()));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_TRUE(tree.WaitReady());
  exit_now.Notify();
  EXPECT_THAT(tree.Wait(), IsOk());
  EXPECT_TRUE(logs_.Contains("invalid-check"));
  EXPECT_THAT(LinesOf("APP/PROC/WEB"), ElementsAre("Exit status 0"));
}

TEST_F(TransformerTest, LrpRunInfoCarriesMonitorChecksSidecarsAndLogConfig) {
  model::v1::DesiredLRP lrp = Lrp(RunA("/bin/app"));
  lrp.set_start_timeout_ms(0);
  lrp.mutable_log_rate_limit()->set_bytes_per_second(1024);
  (*lrp.mutable_metric_tags())["source_id"].set_static_("app-guid");
  (*lrp.mutable_metric_tags())["instance"].set_dynamic(model::v1::MetricTagValue::INDEX);
  *lrp.mutable_monitor() = RunA("/bin/hc");
  *lrp.mutable_check_definition()->add_checks() = TcpCheck(8080);
  *lrp.add_sidecars()->mutable_action() = RunA("/bin/sidecar");
  ASSERT_OK_AND_ASSIGN(RunInfo info, RunInfoFromDesiredLrp(lrp, 3));
  EXPECT_FALSE(info.is_task);
  EXPECT_FALSE(info.setup.has_value());
  EXPECT_TRUE(info.monitor.has_value());
  ASSERT_TRUE(info.check_definition.has_value());
  EXPECT_EQ(info.check_definition->checks_size(), 1);
  EXPECT_THAT(info.sidecars, SizeIs(1));
  EXPECT_EQ(info.start_timeout, absl::ZeroDuration());
  EXPECT_EQ(info.log_config.index, 3);
  EXPECT_EQ(info.log_config.source_name, "APP/PROC/WEB");
  EXPECT_EQ(info.log_config.bytes_per_second, 1024);
  EXPECT_EQ(info.log_config.tags.at("source_id"), "app-guid");
  EXPECT_EQ(info.log_config.tags.at("instance"), "3");
}

}  // namespace
}  // namespace diego::actions
