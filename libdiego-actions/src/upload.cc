// Copyright 2026 The libdiego Authors.
//
// The upload action's transport (upload.h), after Diego's executor
// depot/uploader: POST the file with Content-Length, Content-Type
// application/octet-stream and Content-MD5; three attempts; errors never
// quote the URL.

#include "diego/actions/upload.h"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"
#include "http_transfer.h"

namespace diego::actions {
namespace {

namespace internal = ::diego::actions_internal;

// Diego's uploader makes up to three attempts.
constexpr int kMaxUploadAttempts = 3;
constexpr char kContentType[] = "application/octet-stream";

// An open file, closed on destruction.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Base64 of the MD5 of the file (Content-MD5).
absl::StatusOr<std::string> ContentMd5(int fd, const std::string& path) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) {
    return absl::InternalError("cannot initialise digest");
  }
  std::vector<char> buf(1 << 16);
  off_t offset = 0;
  for (;;) {
    const ssize_t n = pread(fd, buf.data(), buf.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("read ", path, ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
    offset += n;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<size_t>(len)));
}

class HttpUploader final : public Uploader {
 public:
  explicit HttpUploader(HttpUploaderOptions options) : options_(std::move(options)) {}

  absl::StatusOr<uint64_t> Upload(absl::string_view path, absl::string_view url,
                                  absl::Notification* cancelled) override {
    if (IsCancelled(cancelled)) return Cancelled();
    absl::StatusOr<internal::TransferUrl> parsed = internal::ParseTransferUrl(url);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid upload URL: ", parsed.status().message()));
    }
    const std::string file(path);
    FileDescriptor fd(open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      return absl::NotFoundError(absl::StrCat("open ", file, ": ", std::strerror(errno)));
    }
    struct stat st;
    if (fstat(fd.get(), &st) != 0) {
      return absl::InternalError(absl::StrCat("stat ", file, ": ", std::strerror(errno)));
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    DIEGO_ASSIGN_OR_RETURN(std::string md5, ContentMd5(fd.get(), file));

    absl::Status last;
    for (int attempt = 0; attempt < kMaxUploadAttempts; ++attempt) {
      if (IsCancelled(cancelled)) return Cancelled();
      last = AttemptUpload(fd.get(), file, size, md5, *parsed, cancelled);
      if (last.ok()) return size;
      if (last.code() == absl::StatusCode::kCancelled || IsCancelled(cancelled)) {
        return Cancelled();
      }
    }
    return last;
  }

 private:
  static bool IsCancelled(absl::Notification* cancelled) {
    return cancelled != nullptr && cancelled->HasBeenNotified();
  }
  static absl::Status Cancelled() { return absl::CancelledError("upload cancelled"); }

  absl::Status AttemptUpload(int fd, const std::string& file, uint64_t size, const std::string& md5,
                             const internal::TransferUrl& url, absl::Notification* cancelled) {
    internal::HttpClientConfig config;
    config.skip_tls_verify = options_.skip_tls_verify;
    config.ca_cert_file = options_.ca_cert_file;
    config.connect_timeout = absl::Seconds(10);  // Diego's dialer timeout
    config.io_timeout = options_.timeout;
    std::unique_ptr<httplib::ClientImpl> client = internal::NewHttpClient(url, config);
    httplib::Headers headers{{"Content-MD5", md5}};
    int read_errno = 0;
    httplib::Result result(nullptr, httplib::Error::Unknown);
    bool cancelled_by_watchdog = false, timed_out = false;
    {
      internal::TransferWatchdog watchdog(client.get(), cancelled, absl::Now() + options_.timeout);
      result = client->Post(
          url.target, headers, static_cast<size_t>(size),
          [&](size_t offset, size_t length, httplib::DataSink& sink) {
            if (IsCancelled(cancelled)) return false;
            char buf[1 << 16];
            const size_t want = std::min(length, sizeof(buf));
            ssize_t n;
            do {
              n = pread(fd, buf, want, static_cast<off_t>(offset));
            } while (n < 0 && errno == EINTR);
            if (n <= 0) {
              read_errno = n < 0 ? errno : EIO;  // 0: the file shrank
              return false;
            }
            return sink.write(buf, static_cast<size_t>(n));
          },
          kContentType);
      cancelled_by_watchdog = watchdog.cancelled();
      timed_out = watchdog.timed_out();
    }
    if (cancelled_by_watchdog || IsCancelled(cancelled)) return Cancelled();
    if (timed_out) {
      return absl::DeadlineExceededError(
          absl::StrCat("Upload failed: timed out after ", absl::FormatDuration(options_.timeout)));
    }
    if (read_errno != 0) {
      return absl::InternalError(absl::StrCat("read ", file, ": ", std::strerror(read_errno)));
    }
    if (!result) {
      return absl::UnavailableError(
          absl::StrCat("Upload failed: ", internal::DescribeHttpError(result.error())));
    }
    if (result->status < 200 || result->status >= 300) {
      return absl::UnavailableError(absl::StrCat("Upload failed: Status code ", result->status));
    }
    return absl::OkStatus();
  }

  const HttpUploaderOptions options_;
};

}  // namespace

std::unique_ptr<Uploader> NewHttpUploader(const HttpUploaderOptions& options) {
  return std::make_unique<HttpUploader>(options);
}

}  // namespace diego::actions
