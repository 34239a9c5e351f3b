// Copyright 2026 The libdiego Authors.
//
// DownloadStep and UploadStep on the fake Garden backend: what goes into
// the container, the messages (stdout vs stderr), which errors are
// emittable, readiness and cancellation.

#include <archive.h>
#include <archive_entry.h>
#include <httplib.h>
#include <openssl/evp.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/actions/download.h"
#include "diego/actions/errors.h"
#include "diego/actions/log_streamer.h"
#include "diego/actions/semaphore.h"
#include "diego/actions/step.h"
#include "diego/actions/steps.h"
#include "diego/actions/upload.h"
#include "diego/testing/child_process.h"
#include "diego/testing/fake_garden_backend.h"
#include "diego/testing/linux_test_env.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::actions {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Records what steps write.
class RecordingStreamer final : public LogStreamer,
                                public std::enable_shared_from_this<RecordingStreamer> {
 public:
  void Stdout(absl::string_view chunk) override {
    absl::MutexLock lock(&mu_);
    stdout_.append(chunk.data(), chunk.size());
  }
  void Stderr(absl::string_view chunk) override {
    absl::MutexLock lock(&mu_);
    stderr_.append(chunk.data(), chunk.size());
  }
  void Flush() override {}
  std::shared_ptr<LogStreamer> WithSource(absl::string_view) override { return shared_from_this(); }
  std::string SourceName() const override { return "TEST"; }

  std::string out() const {
    absl::MutexLock lock(&mu_);
    return stdout_;
  }
  std::string err() const {
    absl::MutexLock lock(&mu_);
    return stderr_;
  }

 private:
  mutable absl::Mutex mu_;
  std::string stdout_ ABSL_GUARDED_BY(mu_);
  std::string stderr_ ABSL_GUARDED_BY(mu_);
};

// A scripted CachedDownloader.
class FakeDownloader final : public CachedDownloader {
 public:
  absl::StatusOr<DownloadedArtifact> Download(const DownloadRequest& request,
                                              absl::Notification* cancelled) override {
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
    }
    if (!entered.HasBeenNotified()) entered.Notify();
    if (block_until_cancelled) {
      cancelled->WaitForNotification();
      return absl::CancelledError("download cancelled");
    }
    return result;
  }
  DownloaderStats Stats() const override { return {}; }

  std::vector<DownloadRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

  absl::StatusOr<DownloadedArtifact> result = DownloadedArtifact{"TARDATA", 1536, false};
  bool block_until_cancelled = false;
  absl::Notification entered;

 private:
  mutable absl::Mutex mu_;
  std::vector<DownloadRequest> requests_ ABSL_GUARDED_BY(mu_);
};

// Blocks until cancelled.
class BlockingUploader final : public Uploader {
 public:
  absl::StatusOr<uint64_t> Upload(absl::string_view, absl::string_view,
                                  absl::Notification* cancelled) override {
    entered.Notify();
    if (cancelled == nullptr) return absl::InvalidArgumentError("no cancel notification");
    cancelled->WaitForNotification();
    return absl::CancelledError("upload cancelled");
  }
  absl::Notification entered;
};

la_ssize_t AppendTo(struct archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// A tar of regular files, in order.
std::string Tar(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open2(a, &out, nullptr, AppendTo, nullptr, nullptr);
  for (const auto& [name, data] : files) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_write_header(a, e);
    archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::string Md5Base64(const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return absl::Base64Escape(absl::string_view(reinterpret_cast<char*>(out), len));
}

class TransferStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<garden::Container>> c = garden_.Create({.handle = "c1"});
    ASSERT_THAT(c, IsOk());
    container_ = *std::move(c);
    temp_dir_ = fakes::FreshTestDir("upload");
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }

  TransferStepOptions Options() { return {.streamer = streamer_, .logger = *log_.logger()}; }

  model::v1::DownloadAction DownloadAction(const std::string& artifact = "app") {
    model::v1::DownloadAction action;
    action.set_artifact(artifact);
    action.set_from("http://blobstore.example/droplet.tgz");
    action.set_to("/home/vcap");
    action.set_user("vcap");
    action.set_cache_key("droplet-1");
    action.set_checksum_algorithm("sha256");
    action.set_checksum_value("abc123");
    return action;
  }

  StepPtr Download(const model::v1::DownloadAction& action) {
    StepPtr step = NewDownloadStep(container_.get(), action, &downloader_, &limiter_, Options());
    step->SetReadyCallback([this] { ++ready_calls_; });
    return step;
  }

  std::vector<fakes::FakeStreamIn> StreamIns() const { return garden_.StreamIns("c1"); }

  fakes::FakeGardenBackend garden_;
  std::unique_ptr<garden::Container> container_;
  std::shared_ptr<RecordingStreamer> streamer_ = std::make_shared<RecordingStreamer>();
  fakes::TestLogger log_;
  FakeDownloader downloader_;
  Semaphore limiter_{5};
  std::atomic<int> ready_calls_{0};
  std::string temp_dir_;
};

// ---- Download ---------------------------------------------------------------

TEST_F(TransferStepTest, DownloadStreamsTheTarInAtToAsUserAndReportsTheSize) {
  StepPtr step = Download(DownloadAction());
  EXPECT_OK(step->Run());
  std::vector<fakes::FakeStreamIn> ins = StreamIns();
  ASSERT_EQ(ins.size(), 1u);
  EXPECT_EQ(ins[0].path, "/home/vcap");
  EXPECT_EQ(ins[0].user, "vcap");
  EXPECT_EQ(ins[0].tar, "TARDATA");
  EXPECT_EQ(streamer_->out(), "Downloading app...\nDownloaded app (1.5K)\n");
  EXPECT_EQ(streamer_->err(), "");
  EXPECT_EQ(ready_calls_, 1);
  EXPECT_EQ(limiter_.in_use(), 0);

  std::vector<DownloadRequest> requests = downloader_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].url, "http://blobstore.example/droplet.tgz");
  EXPECT_EQ(requests[0].cache_key, "droplet-1");
  EXPECT_EQ(requests[0].checksum_algorithm, "sha256");
  EXPECT_EQ(requests[0].checksum_value, "abc123");
  EXPECT_TRUE(log_.Contains("download-step.acquired-limiter"));
}

TEST_F(TransferStepTest, DownloadFromCachePrintsNoSize) {
  downloader_.result = DownloadedArtifact{"TARDATA", 0, true};
  EXPECT_OK(Download(DownloadAction())->Run());
  EXPECT_EQ(streamer_->out(), "Downloading app...\nDownloaded app\n");
}

TEST_F(TransferStepTest, DownloadWithoutArtifactPrintsNothing) {
  EXPECT_OK(Download(DownloadAction(""))->Run());
  EXPECT_EQ(streamer_->out(), "");
  EXPECT_EQ(streamer_->err(), "");
  EXPECT_EQ(StreamIns().size(), 1u);
}

TEST_F(TransferStepTest, DownloadFailureIsEmittable) {
  downloader_.result = absl::UnavailableError("unexpected status code 404");
  absl::Status status = Download(DownloadAction())->Run();
  EXPECT_TRUE(IsEmittable(status));
  EXPECT_EQ(EmittableMessage(status), "Downloading app failed");
  EXPECT_THAT(std::string(status.message()), HasSubstr("unexpected status code 404"));
  EXPECT_EQ(streamer_->out(), "Downloading app...\n");
  EXPECT_EQ(streamer_->err(), "Downloading app failed\n");
  EXPECT_THAT(StreamIns(), IsEmpty());
  EXPECT_EQ(limiter_.in_use(), 0);
}

TEST_F(TransferStepTest, DownloadFailureWithoutArtifactStillGoesToStderr) {
  downloader_.result = absl::UnavailableError("boom");
  absl::Status status = Download(DownloadAction(""))->Run();
  EXPECT_EQ(EmittableMessage(status), "Downloading failed");
  EXPECT_EQ(streamer_->out(), "");
  EXPECT_EQ(streamer_->err(), "Downloading failed\n");
}

TEST_F(TransferStepTest, CopyIntoTheContainerFailureIsEmittable) {
  garden_.FailNext(fakes::FakeGardenBackend::Call::kStreamIn, absl::InternalError("disk full"));
  absl::Status status = Download(DownloadAction())->Run();
  EXPECT_TRUE(IsEmittable(status));
  EXPECT_EQ(EmittableMessage(status), "Copying app into the container failed: disk full");
  EXPECT_EQ(streamer_->out(), "Downloading app...\n");
  EXPECT_EQ(streamer_->err(), "Copying app into the container failed: disk full\n");

  garden_.FailNext(fakes::FakeGardenBackend::Call::kStreamIn, absl::InternalError("disk full"));
  absl::Status anonymous = Download(DownloadAction(""))->Run();
  EXPECT_EQ(EmittableMessage(anonymous), "Copying into the container failed: disk full");
}

TEST_F(TransferStepTest, LongErrorLinesAreTruncated) {
  garden_.FailNext(fakes::FakeGardenBackend::Call::kStreamIn,
                   absl::InternalError(std::string(2000, 'e')));
  absl::Status status = Download(DownloadAction())->Run();
  EXPECT_FALSE(status.ok());
  const std::string err = streamer_->err();
  EXPECT_EQ(err.size(), 1024u);
  EXPECT_TRUE(absl::EndsWith(err, "eee (error truncated)"));
  EXPECT_TRUE(absl::StartsWith(err, "Copying app into the container failed: eee"));
}

TEST_F(TransferStepTest, DownloadIsReadyAtOnceAndCancelsWhileWaitingForAPermit) {
  Semaphore one(1);
  ASSERT_TRUE(one.Acquire(nullptr));
  StepPtr step = NewDownloadStep(container_.get(), DownloadAction(), &downloader_, &one, Options());
  absl::Notification ready;
  step->SetReadyCallback([&] { ready.Notify(); });
  absl::Status status;
  std::thread runner([&] { status = step->Run(); });
  ASSERT_TRUE(ready.WaitForNotificationWithTimeout(absl::Seconds(10)));
  step->Cancel();
  runner.join();
  EXPECT_TRUE(IsCancelledError(status)) << status;
  EXPECT_THAT(downloader_.requests(), IsEmpty());
  EXPECT_EQ(streamer_->out(), "");
  one.Release();
  EXPECT_EQ(one.in_use(), 0);
}

TEST_F(TransferStepTest, CancelDuringTheDownloadAbortsIt) {
  downloader_.block_until_cancelled = true;
  StepPtr step = Download(DownloadAction());
  absl::Status status;
  std::thread runner([&] { status = step->Run(); });
  ASSERT_TRUE(downloader_.entered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  step->Cancel();
  runner.join();
  EXPECT_TRUE(IsCancelledError(status)) << status;
  EXPECT_EQ(streamer_->err(), "");
  EXPECT_THAT(StreamIns(), IsEmpty());
  EXPECT_EQ(limiter_.in_use(), 0);
}

TEST_F(TransferStepTest, DownloadCancelledBeforeRunRefusesToStart) {
  StepPtr step = Download(DownloadAction());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(ready_calls_, 0);
  EXPECT_THAT(downloader_.requests(), IsEmpty());
}

// ---- Upload -----------------------------------------------------------------

// Receives uploads: POST <any path> answers `status`.
class UploadServer {
 public:
  UploadServer() {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      bodies_.push_back(req.body);
      last_ = req;
      res.status = status_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    EXPECT_TRUE(fakes::PollUntil([this] { return server_.is_running(); }, absl::Seconds(10),
                                 absl::Milliseconds(1)));
  }
  ~UploadServer() {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }
  int port() const { return port_; }
  void set_status(int status) {
    absl::MutexLock lock(&mu_);
    status_ = status;
  }
  std::vector<std::string> bodies() const {
    absl::MutexLock lock(&mu_);
    return bodies_;
  }
  std::string header(const std::string& name) const {
    absl::MutexLock lock(&mu_);
    return last_.get_header_value(name);
  }
  std::string query(const std::string& name) const {
    absl::MutexLock lock(&mu_);
    return last_.get_param_value(name);
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  int status_ ABSL_GUARDED_BY(mu_) = 200;
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
  httplib::Request last_ ABSL_GUARDED_BY(mu_);
};

class UploadStepTest : public TransferStepTest {
 protected:
  model::v1::UploadAction UploadAction(const std::string& artifact = "result") {
    model::v1::UploadAction action;
    action.set_artifact(artifact);
    action.set_from("/tmp/result.txt");
    action.set_to(server_.Url("/upload?token=t0k3n"));
    action.set_user("vcap");
    return action;
  }

  StepPtr Upload(const model::v1::UploadAction& action, Uploader* uploader = nullptr) {
    StepPtr step = NewUploadStep(container_.get(), action, uploader ? uploader : uploader_.get(),
                                 &limiter_, temp_dir_, Options());
    step->SetReadyCallback([this] { ++ready_calls_; });
    return step;
  }

  void SetStreamOut(const std::string& tar) {
    ASSERT_OK(garden_.SetStreamOutContent("c1", "/tmp/result.txt", tar));
  }

  std::vector<std::string> TempFiles() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& item : std::filesystem::recursive_directory_iterator(temp_dir_, ec)) {
      out.push_back(item.path().string());
    }
    return out;
  }

  UploadServer server_;
  std::unique_ptr<Uploader> uploader_ = NewHttpUploader();
};

TEST_F(UploadStepTest, PostsTheFirstTarEntry) {
  SetStreamOut(Tar({{"result.txt", "hello"}, {"other.txt", "not this one"}}));
  StepPtr step = Upload(UploadAction());
  EXPECT_OK(step->Run());
  EXPECT_THAT(server_.bodies(), ::testing::ElementsAre("hello"));
  EXPECT_EQ(server_.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(server_.header("Content-Length"), "5");
  EXPECT_EQ(server_.header("Content-MD5"), Md5Base64("hello"));
  EXPECT_EQ(server_.query("token"), "t0k3n");
  EXPECT_EQ(streamer_->out(), "Uploading result...\nUploaded result (5B)\n");
  EXPECT_EQ(streamer_->err(), "");
  EXPECT_EQ(ready_calls_, 1);
  EXPECT_THAT(TempFiles(), IsEmpty());
  EXPECT_EQ(limiter_.in_use(), 0);
}

TEST_F(UploadStepTest, StreamOutFailureIsEmittable) {
  absl::Status status = Upload(UploadAction())->Run();  // nothing at the path
  EXPECT_TRUE(IsEmittable(status));
  EXPECT_EQ(EmittableMessage(status), "Failed to establish stream from container for result");
  EXPECT_EQ(streamer_->out(), "Uploading result...\n");
  EXPECT_EQ(streamer_->err(), "Failed to establish stream from container for result\n");
  EXPECT_THAT(server_.bodies(), IsEmpty());
  EXPECT_THAT(TempFiles(), IsEmpty());
}

TEST_F(UploadStepTest, EmptyTarStreamIsEmittable) {
  SetStreamOut("");
  absl::Status status = Upload(UploadAction())->Run();
  EXPECT_EQ(EmittableMessage(status), "Failed to find first item in tar stream for result");
  EXPECT_EQ(streamer_->err(), "Failed to find first item in tar stream for result\n");
}

TEST_F(UploadStepTest, TruncatedEntryFailsTheCopy) {
  std::string tar = Tar({{"result.txt", std::string(5000, 'x')}});
  tar.resize(512 + 1000);  // the header and part of the data
  SetStreamOut(tar);
  absl::Status status = Upload(UploadAction())->Run();
  EXPECT_EQ(EmittableMessage(status), "Failed to copy stream contents into temp file for result");
  EXPECT_EQ(streamer_->err(), "Failed to copy stream contents into temp file for result\n");
  EXPECT_THAT(server_.bodies(), IsEmpty());
  EXPECT_THAT(TempFiles(), IsEmpty());
}

TEST_F(UploadStepTest, UploadFailureIsNotEmittable) {
  SetStreamOut(Tar({{"result.txt", "hello"}}));
  server_.set_status(500);
  absl::Status status = Upload(UploadAction())->Run();
  EXPECT_FALSE(status.ok());
  EXPECT_FALSE(IsEmittable(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("Status code 500"));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("t0k3n")));
  EXPECT_EQ(server_.bodies().size(), 3u);  // Diego's three attempts
  EXPECT_EQ(streamer_->out(), "Uploading result...\n");
  EXPECT_EQ(streamer_->err(), "Failed to upload payload for result\n");
  EXPECT_THAT(TempFiles(), IsEmpty());
}

TEST_F(UploadStepTest, FailuresWithoutArtifactPrintNothing) {
  absl::Status status = Upload(UploadAction(""))->Run();
  EXPECT_EQ(EmittableMessage(status), "Failed to establish stream from container");
  EXPECT_EQ(streamer_->out(), "");
  EXPECT_EQ(streamer_->err(), "");
}

TEST_F(UploadStepTest, UnparsableUrlIsNotEmittableAndNotEchoed) {
  SetStreamOut(Tar({{"result.txt", "hello"}}));
  model::v1::UploadAction action = UploadAction();
  action.set_to("ftp://bob:pa55w0rd@example.com/x");
  absl::Status status = Upload(action)->Run();
  EXPECT_FALSE(status.ok());
  EXPECT_FALSE(IsEmittable(status));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("pa55w0rd")));
  EXPECT_EQ(streamer_->err(), "Failed to parse URL for result\n");
}

TEST_F(UploadStepTest, MissingTempDirIsEmittable) {
  SetStreamOut(Tar({{"result.txt", "hello"}}));
  StepPtr step = NewUploadStep(container_.get(), UploadAction(), uploader_.get(), &limiter_,
                               temp_dir_ + "/does/not/exist", Options());
  absl::Status status = step->Run();
  EXPECT_EQ(EmittableMessage(status), "Failed to create temp dir for result");
  EXPECT_EQ(streamer_->err(), "Failed to create temp dir for result\n");
}

TEST_F(UploadStepTest, ReadyAtOnceAndCancelsWhileWaitingForAPermit) {
  SetStreamOut(Tar({{"result.txt", "hello"}}));
  Semaphore one(1);
  ASSERT_TRUE(one.Acquire(nullptr));
  StepPtr step =
      NewUploadStep(container_.get(), UploadAction(), uploader_.get(), &one, temp_dir_, Options());
  absl::Notification ready;
  step->SetReadyCallback([&] { ready.Notify(); });
  absl::Status status;
  std::thread runner([&] { status = step->Run(); });
  ASSERT_TRUE(ready.WaitForNotificationWithTimeout(absl::Seconds(10)));
  step->Cancel();
  runner.join();
  EXPECT_TRUE(IsCancelledError(status)) << status;
  EXPECT_THAT(server_.bodies(), IsEmpty());
  EXPECT_EQ(streamer_->out(), "");
  one.Release();
}

TEST_F(UploadStepTest, CancelDuringTheUploadAbortsIt) {
  SetStreamOut(Tar({{"result.txt", "hello"}}));
  BlockingUploader blocking;
  StepPtr step = Upload(UploadAction(), &blocking);
  absl::Status status;
  std::thread runner([&] { status = step->Run(); });
  ASSERT_TRUE(blocking.entered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  step->Cancel();
  runner.join();
  EXPECT_TRUE(IsCancelledError(status)) << status;
  EXPECT_EQ(streamer_->err(), "");
  EXPECT_THAT(TempFiles(), IsEmpty());
  EXPECT_EQ(limiter_.in_use(), 0);
}

TEST_F(UploadStepTest, UploadCancelledBeforeRunRefusesToStart) {
  StepPtr step = Upload(UploadAction());
  step->Cancel();
  EXPECT_TRUE(IsCancelledError(step->Run()));
  EXPECT_EQ(ready_calls_, 0);
}

// ---- The uploader on its own -------------------------------------------------

TEST_F(UploadStepTest, UploaderSendsBasicAuthAndNeverEchoesTheUrl) {
  const std::string file = temp_dir_ + "/payload";
  FILE* f = std::fopen(file.c_str(), "w");
  std::fputs("payload!", f);
  std::fclose(f);
  const std::string url =
      absl::StrCat("http://carol:s3cr3t@127.0.0.1:", server_.port(), "/u?sig=t0k3n");
  ASSERT_OK_AND_ASSIGN(uint64_t sent, uploader_->Upload(file, url, nullptr));
  EXPECT_EQ(sent, 8u);
  EXPECT_EQ(server_.header("Authorization"),
            absl::StrCat("Basic ", absl::Base64Escape("carol:s3cr3t")));

  server_.set_status(403);
  absl::StatusOr<uint64_t> denied = uploader_->Upload(file, url, nullptr);
  EXPECT_THAT(denied, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("Upload failed: Status code 403")));
  const int down = fakes::UnusedLoopbackPort();
  absl::StatusOr<uint64_t> refused = uploader_->Upload(
      file, absl::StrCat("http://carol:s3cr3t@127.0.0.1:", down, "/u?sig=t0k3n"), nullptr);
  ASSERT_FALSE(refused.ok());
  for (const absl::Status& s : {denied.status(), refused.status()}) {
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("s3cr3t")));
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("t0k3n")));
  }
  EXPECT_THAT(uploader_->Upload(temp_dir_ + "/missing", url, nullptr),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace diego::actions
