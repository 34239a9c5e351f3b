// Copyright 2026 The libdiego Authors.
//
// Diego's DownloadStep and UploadStep (steps.h; executor
// depot/steps/download_step.go, upload_step.go): their messages, which
// stream each goes to, and which errors are emittable, as in the Go code.

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "diego/actions/download.h"
#include "diego/actions/errors.h"
#include "diego/actions/semaphore.h"
#include "diego/actions/step.h"
#include "diego/actions/steps.h"
#include "diego/actions/upload.h"
#include "http_transfer.h"

namespace diego::actions {
namespace {

// Upload failure texts (upload_step.go).
constexpr char kErrCreateTmpDir[] = "Failed to create temp dir";
constexpr char kErrEstablishStream[] = "Failed to establish stream from container";
constexpr char kErrReadTar[] = "Failed to find first item in tar stream";
constexpr char kErrCreateTmpFile[] = "Failed to create temp file";
constexpr char kErrCopyStreamToTmp[] = "Failed to copy stream contents into temp file";
constexpr char kErrParsingUrl[] = "Failed to parse URL";
constexpr char kErrUploadPayload[] = "Failed to upload payload";

// download_step.go's emitError: error lines longer than 1 KiB are cut.
constexpr size_t kMaxErrorLineBytes = 1024;
constexpr char kTruncatedSuffix[] = " (error truncated)";

// Holds one permit of a Semaphore until destroyed.
class PermitHolder {
 public:
  explicit PermitHolder(Semaphore* pool) : pool_(pool) {}
  PermitHolder(const PermitHolder&) = delete;
  PermitHolder& operator=(const PermitHolder&) = delete;
  ~PermitHolder() { pool_->Release(); }

 private:
  Semaphore* pool_;
};

// ---- Download ---------------------------------------------------------------

// The cache key as logged: a key that looks like a URL (a caller that keyed
// by the download URL) is not logged, as URLs carry credentials.
std::string LoggableCacheKey(const std::string& key) {
  return absl::StrContains(key, "://") ? std::string("(redacted url)") : key;
}

// Ready at once; one permit of the download limiter; fetch through the
// cached downloader; stream the tar in at `to` as `user`.
class DownloadStep final : public Step {
 public:
  DownloadStep(garden::Container* container, model::v1::DownloadAction action,
               CachedDownloader* downloader, Semaphore* limiter, TransferStepOptions options)
      : container_(container),
        action_(std::move(action)),
        downloader_(downloader),
        limiter_(limiter),
        streamer_(std::move(options.streamer)),
        logger_(options.logger.Session(
            "download-step",
            {{"to", action_.to()},
             {"cacheKey", LoggableCacheKey(action_.cache_key())},
             {"user", action_.user()}})) {}

  absl::Status Run() override {
    if (cancel_.cancelled()) return CancelledError();
    NotifyReady();
    logger_.Info("acquiring-limiter");
    if (!limiter_->Acquire(cancel_.notification())) return CancelledError();
    PermitHolder permit(limiter_);
    logger_.Info("acquired-limiter");
    absl::Status status = Perform();
    if (cancel_.cancelled()) return CancelledError();
    return status;
  }

  void Cancel() override { cancel_.Cancel(); }

 private:
  absl::Status Perform() {
    const std::string& artifact = action_.artifact();
    Emit(absl::StrCat("Downloading ", artifact, "...\n"));

    logger_.Info("fetch-starting");
    DownloadRequest request;
    request.url = action_.from();
    request.cache_key = action_.cache_key();
    request.checksum_algorithm = action_.checksum_algorithm();
    request.checksum_value = action_.checksum_value();
    absl::StatusOr<DownloadedArtifact> fetched =
        downloader_->Download(request, cancel_.notification());
    if (!fetched.ok()) {
      if (cancel_.cancelled()) return CancelledError();
      logger_.Error("fetch-failed", fetched.status());
      const std::string message = artifact.empty()
                                      ? "Downloading failed"
                                      : absl::StrCat("Downloading ", artifact, " failed");
      EmitError(absl::StrCat(message, "\n"));
      return EmittableError(message, fetched.status());
    }
    logger_.Info("fetch-complete", {{"size", fetched->downloaded_bytes}});

    logger_.Info("stream-in-starting");
    absl::Status streamed = container_->StreamIn(action_.to(), action_.user(), fetched->tar);
    if (!streamed.ok()) {
      if (cancel_.cancelled()) return CancelledError();
      logger_.Error("stream-in-failed", streamed, {{"destination", action_.to()}});
      const std::string message =
          artifact.empty() ? absl::StrCat("Copying into the container failed: ", streamed.message())
                           : absl::StrCat("Copying ", artifact,
                                          " into the container failed: ", streamed.message());
      EmitError(absl::StrCat(message, "\n"));
      return EmittableError(message, streamed);
    }
    logger_.Info("stream-in-complete", {{"size", static_cast<uint64_t>(fetched->tar.size())}});

    if (fetched->downloaded_bytes != 0) {
      Emit(absl::StrCat("Downloaded ", artifact, " (", ByteSize(fetched->downloaded_bytes), ")\n"));
    } else {
      Emit(absl::StrCat("Downloaded ", artifact, "\n"));
    }
    return absl::OkStatus();
  }

  // Progress lines go to stdout, and only for a named artifact.
  void Emit(const std::string& text) {
    if (!action_.artifact().empty()) streamer_->Stdout(text);
  }

  // Error lines always go to stderr (named artifact or not), cut at 1 KiB.
  void EmitError(std::string text) {
    if (text.size() > kMaxErrorLineBytes) {
      text.resize(kMaxErrorLineBytes - (sizeof(kTruncatedSuffix) - 1));
      text += kTruncatedSuffix;
    }
    streamer_->Stderr(text);
  }

  garden::Container* const container_;
  const model::v1::DownloadAction action_;
  CachedDownloader* const downloader_;
  Semaphore* const limiter_;
  const std::shared_ptr<LogStreamer> streamer_;
  const Logger logger_;
  CancelSignal cancel_;
};

// ---- Upload -----------------------------------------------------------------

struct ArchiveReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

std::string ArchiveError(struct archive* a) {
  const char* text = archive_error_string(a);
  return text == nullptr ? "unknown archive error" : text;
}

// Removes a directory tree when it goes out of scope.
class ScopedDir {
 public:
  explicit ScopedDir(std::string path) : path_(std::move(path)) {}
  ScopedDir(const ScopedDir&) = delete;
  ScopedDir& operator=(const ScopedDir&) = delete;
  ~ScopedDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Ready at once; one permit of the upload limiter; stream `from` out of the
// container; first tar entry into a temp file; POST it to `to`.
class UploadStep final : public Step {
 public:
  UploadStep(garden::Container* container, model::v1::UploadAction action, Uploader* uploader,
             Semaphore* limiter, std::string temp_dir, TransferStepOptions options)
      : container_(container),
        action_(std::move(action)),
        uploader_(uploader),
        limiter_(limiter),
        temp_dir_(std::move(temp_dir)),
        streamer_(std::move(options.streamer)),
        logger_(options.logger.Session("upload-step", {{"from", action_.from()}})) {}

  absl::Status Run() override {
    if (cancel_.cancelled()) return CancelledError();
    NotifyReady();
    if (!limiter_->Acquire(cancel_.notification())) return CancelledError();
    PermitHolder permit(limiter_);
    absl::Status status = Perform();
    if (!status.ok() && cancel_.cancelled()) return CancelledError();
    return status;
  }

  void Cancel() override { cancel_.Cancel(); }

 private:
  absl::Status Perform() {
    logger_.Info("upload-starting");
    Emit(absl::StrCat("Uploading ", action_.artifact(), "...\n"));

    absl::StatusOr<actions_internal::TransferUrl> url =
        actions_internal::ParseTransferUrl(action_.to());
    if (!url.ok()) {
      logger_.Error("failed-to-parse-url", url.status());
      EmitError(ArtifactError(kErrParsingUrl));
      // Not emittable: the URL may carry secrets (the reason never quotes it).
      return absl::InvalidArgumentError(
          absl::StrCat("invalid upload URL: ", url.status().message()));
    }

    std::string dir_template = absl::StrCat(temp_dir_, "/uploadXXXXXX");
    if (mkdtemp(dir_template.data()) == nullptr) {
      const absl::Status err =
          absl::InternalError(absl::StrCat("mkdtemp in ", temp_dir_, ": ", std::strerror(errno)));
      logger_.Error("failed-to-create-tmp-dir", err);
      return Fail(kErrCreateTmpDir, err);
    }
    ScopedDir dir(dir_template);

    absl::StatusOr<std::string> tar = container_->StreamOut(action_.from(), action_.user());
    if (!tar.ok()) {
      logger_.Error("failed-to-stream-out", tar.status());
      return Fail(kErrEstablishStream, tar.status());
    }

    std::unique_ptr<struct archive, ArchiveReadDeleter> reader(archive_read_new());
    archive_read_support_format_tar(reader.get());
    archive_read_support_format_gnutar(reader.get());
    struct archive_entry* entry = nullptr;
    int r = archive_read_open_memory(reader.get(), tar->data(), tar->size());
    if (r == ARCHIVE_OK) r = archive_read_next_header(reader.get(), &entry);
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      const absl::Status err =
          absl::DataLossError(r == ARCHIVE_EOF ? std::string("EOF") : ArchiveError(reader.get()));
      logger_.Error("failed-to-read-stream", err);
      return Fail(kErrReadTar, err);
    }

    std::string file_template = absl::StrCat(dir.path(), "/compressedXXXXXX");
    const int fd = mkstemp(file_template.data());
    if (fd < 0) {
      const absl::Status err =
          absl::InternalError(absl::StrCat("mkstemp in ", dir.path(), ": ", std::strerror(errno)));
      logger_.Error("failed-to-create-tmp-file", err);
      return Fail(kErrCreateTmpFile, err);
    }
    absl::Status copied = CopyEntryData(reader.get(), fd, file_template);
    if (close(fd) != 0 && copied.ok()) {
      copied =
          absl::InternalError(absl::StrCat("close ", file_template, ": ", std::strerror(errno)));
    }
    if (!copied.ok()) {
      logger_.Error("failed-to-copy-stream", copied);
      return Fail(kErrCopyStreamToTmp, copied);
    }

    absl::StatusOr<uint64_t> uploaded =
        uploader_->Upload(file_template, action_.to(), cancel_.notification());
    if (!uploaded.ok()) {
      if (cancel_.cancelled()) return CancelledError();
      logger_.Error("failed-to-upload", uploaded.status());
      // Not emittable: the uploader's error stays out of the user's logs.
      EmitError(ArtifactError(kErrUploadPayload));
      return uploaded.status();
    }
    Emit(absl::StrCat("Uploaded ", action_.artifact(), " (", ByteSize(*uploaded), ")\n"));
    logger_.Info("upload-successful");
    return absl::OkStatus();
  }

  static absl::Status CopyEntryData(struct archive* reader, int fd, const std::string& path) {
    std::vector<char> buffer(1 << 16);
    for (;;) {
      const la_ssize_t n = archive_read_data(reader, buffer.data(), buffer.size());
      if (n == 0) return absl::OkStatus();
      if (n < 0) return absl::DataLossError(ArchiveError(reader));
      size_t done = 0;
      while (done < static_cast<size_t>(n)) {
        const ssize_t w = write(fd, buffer.data() + done, static_cast<size_t>(n) - done);
        if (w < 0) {
          if (errno == EINTR) continue;
          return absl::InternalError(absl::StrCat("write ", path, ": ", std::strerror(errno)));
        }
        done += static_cast<size_t>(w);
      }
    }
  }

  // "<text> for <artifact>", or `text` alone without an artifact.
  std::string ArtifactError(absl::string_view text) const {
    if (action_.artifact().empty()) return std::string(text);
    return absl::StrCat(text, " for ", action_.artifact());
  }

  // Emits the failure line and returns the emittable error.
  absl::Status Fail(absl::string_view text, const absl::Status& inner) {
    const std::string message = ArtifactError(text);
    EmitError(message);
    return EmittableError(message, inner);
  }

  void Emit(const std::string& text) {
    if (!action_.artifact().empty()) streamer_->Stdout(text);
  }

  // Upload failure lines go to stderr, and only for a named artifact.
  void EmitError(const std::string& line) {
    if (!action_.artifact().empty()) streamer_->Stderr(absl::StrCat(line, "\n"));
  }

  garden::Container* const container_;
  const model::v1::UploadAction action_;
  Uploader* const uploader_;
  Semaphore* const limiter_;
  const std::string temp_dir_;
  const std::shared_ptr<LogStreamer> streamer_;
  const Logger logger_;
  CancelSignal cancel_;
};

}  // namespace

StepPtr NewDownloadStep(garden::Container* container, const model::v1::DownloadAction& action,
                        CachedDownloader* downloader, Semaphore* limiter,
                        TransferStepOptions options) {
  return std::make_unique<DownloadStep>(container, action, downloader, limiter, std::move(options));
}

StepPtr NewUploadStep(garden::Container* container, const model::v1::UploadAction& action,
                      Uploader* uploader, Semaphore* limiter, std::string temp_dir,
                      TransferStepOptions options) {
  return std::make_unique<UploadStep>(container, action, uploader, limiter, std::move(temp_dir),
                                      std::move(options));
}

}  // namespace diego::actions
