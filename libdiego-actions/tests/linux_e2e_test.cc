// Copyright 2026 The libdiego Authors.
//
// End to end (root): the transformer's trees in real LinuxBackend
// containers (busybox rootfs), on the real clock.
//
//   * A Task: download of a .tgz from a local HTTP server (fetched on the
//     host by the real CachedDownloader, streamed into the container), a
//     shell script from it under emit_progress, a failing try, an upload of
//     the script's result file to the same server (streamed out of the
//     container), and a timeout that expires. Logs, exit texts, the uploaded
//     body and the file streamed out are asserted.
//   * An LRP whose in-process TCP check (MultiplexedChecker, from the host
//     over the bridge to the container's IP) sees busybox httpd become
//     healthy, then the instance become unhealthy when httpd is killed.
//
// Names are unique per run ("dgae" + pid digits); the address pool is
// 10.249.0.0/24 (reserved for this test); TearDown destroys the containers,
// stops the backend and removes its bridge, chains, cgroup parent and depot
// even when a test fails.

#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "cgroups.h"
#include "diego/actions/download.h"
#include "diego/actions/errors.h"
#include "diego/actions/semaphore.h"
#include "diego/actions/transformer.h"
#include "diego/actions/upload.h"
#include "diego/base/clock.h"
#include "diego/garden/linux_backend.h"
#include "diego/healthcheck/checker.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/testing/child_process.h"
#include "diego/testing/linux_test_env.h"
#include "diego/testing/recording_app_log_sink.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "network.h"
#include "running_tree.h"

#ifndef DIEGO_GARDEN_HELPER_DIR
#define DIEGO_GARDEN_HELPER_DIR ""
#endif

namespace diego::actions {
namespace {

using step_fakes::RunningTree;
namespace fs = std::filesystem;
using ::diego::fakes::IsOk;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kPool[] = "10.249.0.0/24";
// Real-time bound for a tree to react; not a timing assertion.
constexpr absl::Duration kBound = absl::Seconds(30);

std::string UniqueName() {
  std::string digits = absl::StrCat(10000 + ::getpid() % 10000);
  return absl::StrCat("dgae", digits.substr(1));
}

model::v1::Action RunAs(const std::string& path, std::vector<std::string> args,
                        const std::string& user = "vcap") {
  model::v1::Action a;
  a.mutable_run_action()->set_path(path);
  for (std::string& arg : args) a.mutable_run_action()->add_args(std::move(arg));
  a.mutable_run_action()->set_user(user);
  return a;
}

class LinuxE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fakes::RunningAsRoot()) return;
    absl::StatusOr<std::unique_ptr<fakes::BusyboxSuiteTree>> tree =
        fakes::BusyboxSuiteTree::Create("dgae");
    ASSERT_TRUE(tree.ok()) << tree.status();
    tree_ = tree->release();
  }
  static void TearDownTestSuite() {
    delete tree_;
    tree_ = nullptr;
  }

  void SetUp() override {
    DIEGO_REQUIRE_ROOT();
    ASSERT_NE(tree_, nullptr);
    dir_ = absl::StrCat(tree_->base(), "/t", counter_++);
    fs::create_directories(dir_);
    options_.name = UniqueName();
    options_.depot_dir = dir_ + "/depot";
    options_.image_dir = tree_->base() + "/images";
    options_.default_rootfs = tree_->rootfs();
    options_.helper_dir = DIEGO_GARDEN_HELPER_DIR;
    options_.network_pool = kPool;
    options_.port_pool_start = 43000 + static_cast<uint32_t>(::getpid() % 100) * 20;
    options_.port_pool_size = 20;
    options_.logger = garden_log_.logger();
    // A bridge left by a killed run would take the pool's route.
    const std::string routes = fakes::HostSh(absl::StrCat("ip route show ", kPool)).second;
    ASSERT_THAT(routes, IsEmpty()) << "a leftover bridge owns " << kPool << "; remove it";
    backend_ = std::make_unique<garden::LinuxBackend>(options_);
    ASSERT_THAT(backend_->Start(), IsOk());

    // The blobstore / CC stand-in: serves /app.tgz, takes POST /upload.
    server_.Get("/app.tgz", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(fakes::ReadFileOrEmpty(dir_ + "/app.tgz"), "application/gzip");
    });
    server_.Post("/upload", [this](const httplib::Request& req, httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      uploaded_ = req.body;
      res.status = 201;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    server_thread_ = std::thread([this] { server_.listen_after_bind(); });
    ASSERT_TRUE(fakes::PollUntil([this] { return server_.is_running(); }, kBound));

    fetcher_ = NewHttpFetcher();
    ASSERT_OK_AND_ASSIGN(downloader_,
                         CachedDownloader::Create({.cache_dir = dir_ + "/cache"}, fetcher_.get()));
    uploader_ = NewHttpUploader();
  }

  void TearDown() override {
    if (tree_ == nullptr || !fakes::RunningAsRoot()) return;
    if (server_thread_.joinable()) {
      server_.stop();
      server_thread_.join();
    }
    if (backend_ != nullptr) {
      for (const std::string& handle : handles_) EXPECT_THAT(backend_->Destroy(handle), IsOk());
      backend_->Stop();
      backend_.reset();
    }
    // A fresh backend destroys whatever a failed test left; then the
    // host-wide pieces go.
    garden::LinuxBackendOptions cleanup = options_;
    cleanup.destroy_containers_on_startup = true;
    {
      garden::LinuxBackend b(cleanup);
      EXPECT_THAT(b.Start(), IsOk());
      b.Stop();
    }
    absl::StatusOr<std::unique_ptr<garden::CgroupManager>> cg =
        garden::CgroupManager::Create(absl::StrCat("diego-garden-", options_.name));
    if (cg.ok()) {
      EXPECT_THAT((*cg)->DestroyParent(), IsOk());
    }
    garden::NetworkOptions net;
    net.name = options_.name;
    net.pool_cidr = options_.network_pool;
    net.port_pool_start = options_.port_pool_start;
    net.port_pool_size = options_.port_pool_size;
    absl::StatusOr<std::unique_ptr<garden::NetworkManager>> nm =
        garden::NetworkManager::Create(net);
    if (nm.ok()) {
      EXPECT_THAT((*nm)->Teardown(), IsOk());
    }
    if (!absl::StrContains(fakes::ReadFileOrEmpty("/proc/self/mountinfo"), dir_)) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  std::unique_ptr<garden::Container> NewContainer(const std::string& handle) {
    absl::StatusOr<std::unique_ptr<garden::Container>> c =
        backend_->Create(garden::ContainerSpec{.handle = handle});
    EXPECT_THAT(c.status(), IsOk());
    if (!c.ok()) return nullptr;
    handles_.push_back(handle);
    return *std::move(c);
  }

  TransformerOptions Options() {
    return TransformerOptions{
        .clock = Clock::Real(),
        .log_sink = &sink_,
        .logger = *logs_.logger(),
        .downloader = downloader_.get(),
        .uploader = uploader_.get(),
        .download_limiter = &download_limiter_,
        .upload_limiter = &upload_limiter_,
        .healthcheck_pool = &healthcheck_pool_,
        .temp_dir = dir_,
        .metrics = nullptr,
        .healthy_monitoring_interval = absl::Milliseconds(200),
        .unhealthy_monitoring_interval = absl::Milliseconds(200),
        .graceful_shutdown_interval = absl::Seconds(10),
        .declarative_healthcheck_default_timeout = absl::Seconds(1),
        .emit_liveness_failure_metrics = false,
        .post_setup_hook = std::nullopt,
        .checker = nullptr,
        .healthcheck_path = "/etc/cf-assets/healthcheck/healthcheck",
        .healthcheck_host_dir = "",
    };
  }

  std::vector<std::string> LinesOf(const std::string& source) const {
    std::vector<std::string> out;
    for (const AppLogLine& l : sink_.Lines()) {
      if (l.source_type == source) out.push_back(l.is_stderr ? "[ERR] " + l.message : l.message);
    }
    return out;
  }

  static fakes::BusyboxSuiteTree* tree_;
  static int counter_;

  fakes::TestLogger garden_log_{"garden", Clock::Real()};
  fakes::TestLogger logs_{"e2e", Clock::Real()};
  fakes::RecordingAppLogSink sink_;
  std::string dir_;
  garden::LinuxBackendOptions options_;
  std::unique_ptr<garden::LinuxBackend> backend_;
  std::vector<std::string> handles_;

  httplib::Server server_;
  int port_ = 0;
  std::thread server_thread_;
  absl::Mutex mu_;
  std::string uploaded_ ABSL_GUARDED_BY(mu_);

  std::unique_ptr<Fetcher> fetcher_;
  std::unique_ptr<CachedDownloader> downloader_;
  std::unique_ptr<Uploader> uploader_;
  Semaphore download_limiter_{5};
  Semaphore upload_limiter_{5};
  Semaphore healthcheck_pool_{64};
};

fakes::BusyboxSuiteTree* LinuxE2eTest::tree_ = nullptr;
int LinuxE2eTest::counter_ = 0;

TEST_F(LinuxE2eTest, TaskTreeRunsInARealContainer) {
  // The app: a script that logs, writes a result file and complains on stderr.
  const std::string app = dir_ + "/app";
  fs::create_directories(app);
  {
    std::ofstream script(app + "/run.sh");
    script << "#!/bin/sh\n"
              "echo \"hello from $CF_INSTANCE_INTERNAL_IP as $(id -un)\"\n"
              "echo 'task result' > /home/vcap/result.txt\n"
              "echo 'to stderr' >&2\n";
  }
  fs::permissions(app + "/run.sh", static_cast<fs::perms>(0755));
  ASSERT_THAT(fakes::TarDirectory(app, dir_ + "/app.tgz", /*gzip=*/true), IsOk());

  std::unique_ptr<garden::Container> c = NewContainer("e2e-task");
  ASSERT_NE(c, nullptr);
  ASSERT_OK_AND_ASSIGN(garden::ContainerInfo info, c->Info());

  const std::string base_url = absl::StrCat("http://127.0.0.1:", port_);
  model::v1::Action download;
  download.mutable_download_action()->set_artifact("app");
  download.mutable_download_action()->set_from(base_url + "/app.tgz");
  download.mutable_download_action()->set_to("/home/vcap/app");
  download.mutable_download_action()->set_cache_key("app-key");
  download.mutable_download_action()->set_user("vcap");
  model::v1::Action emit;
  emit.mutable_emit_progress_action()->set_start_message("Running the task...");
  emit.mutable_emit_progress_action()->set_success_message("Task ran");
  emit.mutable_emit_progress_action()->set_failure_message_prefix("Task failed");
  *emit.mutable_emit_progress_action()->mutable_action() = RunAs("/home/vcap/app/run.sh", {});
  model::v1::Action attempt;
  *attempt.mutable_try_action()->mutable_action() = RunAs("/bin/sh", {"-c", "exit 7"});
  model::v1::Action upload;
  upload.mutable_upload_action()->set_artifact("result");
  upload.mutable_upload_action()->set_from("/home/vcap/result.txt");
  upload.mutable_upload_action()->set_to(base_url + "/upload");
  upload.mutable_upload_action()->set_user("vcap");
  model::v1::Action bounded;
  bounded.mutable_timeout_action()->set_timeout_ms(500);
  *bounded.mutable_timeout_action()->mutable_action() = RunAs("/bin/sleep", {"30"});

  model::v1::Task task;
  task.set_task_guid("e2e-task");
  task.mutable_task_definition()->set_log_guid("e2e-guid");
  task.mutable_task_definition()->set_log_source("TASK");
  model::v1::Action* serial = task.mutable_task_definition()->mutable_action();
  for (const model::v1::Action& a : {download, emit, attempt, upload, bounded}) {
    *serial->mutable_serial_action()->add_actions() = a;
  }
  ASSERT_OK_AND_ASSIGN(RunInfo run_info, RunInfoFromTask(task));
  Transformer transformer(Options());
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, transformer.Build(run_info, c.get()));
  RunningTree tree(std::move(steps), kBound);
  absl::Status result = tree.Wait();
  ASSERT_TRUE(IsEmittable(result)) << result;
  EXPECT_EQ(EmittableMessage(result), "exceeded 500ms timeout");

  const std::vector<std::string> lines = LinesOf("TASK");
  EXPECT_THAT(lines, Contains("Downloading app..."));
  EXPECT_THAT(lines, Contains(HasSubstr("Downloaded app (")));
  EXPECT_THAT(lines, Contains("Running the task..."));
  EXPECT_THAT(lines, Contains(absl::StrCat("hello from ", info.container_ip, " as vcap")));
  EXPECT_THAT(lines, Contains("[ERR] to stderr"));
  EXPECT_THAT(lines, Contains("Task ran"));
  EXPECT_THAT(lines, Contains("Exit status 7"));
  EXPECT_THAT(lines, Contains("Uploading result..."));
  EXPECT_THAT(lines, Contains("Uploaded result (12B)"));
  EXPECT_THAT(lines, Contains("Exit status 143"));
  for (const std::string& line : lines) EXPECT_THAT(line, ::testing::Not(HasSubstr("127.0.0.1")));
  {
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(uploaded_, "task result\n");
  }
  ASSERT_OK_AND_ASSIGN(std::string tar, c->StreamOut("/home/vcap/result.txt", "vcap"));
  EXPECT_THAT(tar, HasSubstr("task result\n"));
  ASSERT_OK_AND_ASSIGN(std::string script, c->StreamOut("/home/vcap/app/run.sh", "vcap"));
  EXPECT_THAT(script, HasSubstr("echo 'task result'"));
}

TEST_F(LinuxE2eTest, InProcessTcpCheckSeesHttpdComeAndGo) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<healthcheck::MultiplexedChecker> checker,
                       healthcheck::MultiplexedChecker::Create());
  std::unique_ptr<garden::Container> c = NewContainer("e2e-lrp");
  ASSERT_NE(c, nullptr);
  ASSERT_OK_AND_ASSIGN(garden::ContainerInfo info, c->Info());
  ASSERT_FALSE(info.container_ip.empty());

  model::v1::DesiredLRP lrp;
  lrp.set_process_guid("e2e-lrp");
  lrp.set_log_guid("e2e-guid");
  lrp.set_log_source("APP/PROC/WEB");
  lrp.set_start_timeout_ms(20000);
  *lrp.mutable_action() =
      RunAs("/bin/sh", {"-c",
                        "httpd -f -p 8080 -h /tmp & echo $! > /tmp/httpd.pid; echo started; "
                        "while true; do sleep 1; done"});
  lrp.mutable_check_definition()->add_checks()->mutable_tcp_check()->set_port(8080);
  ASSERT_OK_AND_ASSIGN(RunInfo run_info, RunInfoFromDesiredLrp(lrp, 0));
  TransformerOptions options = Options();
  options.checker = checker.get();
  Transformer transformer(options);
  ASSERT_OK_AND_ASSIGN(ContainerSteps steps, transformer.Build(run_info, c.get()));
  RunningTree tree(std::move(steps), kBound);
  ASSERT_TRUE(tree.WaitReady()) << absl::StrJoin(sink_.Messages(/*mark_stderr=*/true), "\n");
  EXPECT_THAT(LinesOf("APP/PROC/WEB"), Contains("Container became healthy"));

  ASSERT_OK_AND_ASSIGN(fakes::RunResult kill,
                       fakes::RunIn(*c, fakes::Sh("kill $(cat /tmp/httpd.pid)", "vcap")));
  EXPECT_EQ(kill.exit_code, 0) << kill.err;
  absl::Status result = tree.Wait();
  const std::string addr = absl::StrCat(info.container_ip, ":8080");
  const std::string probe =
      healthcheck::TcpErrorResult(addr, healthcheck::GoDialErrorText(addr, "connect", ECONNREFUSED))
          .message;
  EXPECT_EQ(EmittableMessage(result),
            absl::StrCat("Instance became unhealthy: Liveness check unsuccessful: ", probe))
      << result;
  const std::vector<std::string> lines = LinesOf("APP/PROC/WEB");
  EXPECT_THAT(lines, Contains("started"));
  EXPECT_THAT(lines, Contains("Starting health monitoring of container"));
  EXPECT_THAT(lines, Contains("[ERR] Container became unhealthy"));
  EXPECT_THAT(LinesOf("HEALTH"), Contains("[ERR] Liveness check unsuccessful: " + probe));
}

}  // namespace
}  // namespace diego::actions
