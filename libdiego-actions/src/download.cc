// Copyright 2026 The libdiego Authors.
//
// Fetching download actions' artifacts (download.h), after Diego's
// cacheddownloader: the HTTP fetcher, the on-disk LRU cache in front of it,
// checksum verification, archive-to-tar conversion and bytefmt's ByteSize.
// Also the HTTP plumbing shared with the uploader (http_transfer.h).

#include "diego/actions/download.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"
#include "diego/base/internal/http_url.h"
#include "http_transfer.h"

namespace diego::actions_internal {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<TransferUrl> ParseTransferUrl(absl::string_view url) {
  DIEGO_ASSIGN_OR_RETURN(base_internal::HttpUrl parsed, base_internal::ParseHttpUrl(url));
  return TransferUrl{.tls = parsed.tls,
                     .host = std::move(parsed.host),
                     .port = parsed.port,
                     .target = parsed.Target(),
                     .has_user = parsed.has_user,
                     .user = std::move(parsed.user),
                     .password = std::move(parsed.password)};
}

absl::StatusOr<TransferUrl> ResolveRedirect(const TransferUrl& base, absl::string_view location) {
  if (location.find("://") != absl::string_view::npos) {
    DIEGO_ASSIGN_OR_RETURN(TransferUrl next, ParseTransferUrl(location));
    if (!next.has_user && next.host == base.host && next.port == base.port) {
      next.has_user = base.has_user;
      next.user = base.user;
      next.password = base.password;
    }
    return next;
  }
  if (absl::StartsWith(location, "//")) {
    return ResolveRedirect(base, absl::StrCat(base.tls ? "https:" : "http:", location));
  }
  TransferUrl next = base;
  absl::string_view loc = location;
  const size_t hash = loc.find('#');
  if (hash != absl::string_view::npos) loc = loc.substr(0, hash);
  if (absl::StartsWith(loc, "/")) {
    next.target = std::string(loc);
  } else {
    absl::string_view path = base.target;
    path = path.substr(0, path.find('?'));
    const size_t slash = path.rfind('/');
    next.target = absl::StrCat(path.substr(0, slash + 1), loc);
  }
  if (next.target.empty()) next.target.push_back('/');
  return next;
}

namespace {

void SetTimeout(absl::Duration d, time_t* sec, time_t* usec) {
  const int64_t micros = std::max<int64_t>(absl::ToInt64Microseconds(d), 1000);
  *sec = static_cast<time_t>(micros / 1000000);
  *usec = static_cast<time_t>(micros % 1000000);
}

}  // namespace

std::unique_ptr<httplib::ClientImpl> NewHttpClient(const TransferUrl& url,
                                                   const HttpClientConfig& config) {
  std::unique_ptr<httplib::ClientImpl> client;
  if (url.tls) {
    auto ssl = std::make_unique<httplib::SSLClient>(url.host, url.port);
    if (!config.ca_cert_file.empty()) ssl->set_ca_cert_path(config.ca_cert_file);
    ssl->enable_server_certificate_verification(!config.skip_tls_verify);
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
  }
  time_t sec = 0, usec = 0;
  SetTimeout(config.connect_timeout, &sec, &usec);
  client->set_connection_timeout(sec, usec);
  SetTimeout(config.io_timeout, &sec, &usec);
  client->set_read_timeout(sec, usec);
  client->set_write_timeout(sec, usec);
  client->set_keep_alive(false);
  client->set_follow_location(false);
  client->set_tcp_nodelay(true);
  if (url.has_user) client->set_basic_auth(url.user, url.password);
  return client;
}

TransferWatchdog::TransferWatchdog(httplib::ClientImpl* client, absl::Notification* cancelled,
                                   absl::Time deadline)
    : client_(client), cancel_(cancelled), deadline_(deadline), thread_([this] { Loop(); }) {}

TransferWatchdog::~TransferWatchdog() {
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  thread_.join();
}

void TransferWatchdog::Loop() {
  absl::MutexLock lock(&mu_);
  while (!done_) {
    mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Milliseconds(10));
    if (done_) break;
    if (cancel_ != nullptr && cancel_->HasBeenNotified()) {
      cancelled_ = true;
    } else if (absl::Now() >= deadline_) {
      timed_out_ = true;
    }
    // Repeated until the transfer returns: a stop() that races with the
    // connect would otherwise be lost.
    if (cancelled_ || timed_out_) client_->stop();
  }
}

std::string DescribeHttpError(httplib::Error error) { return httplib::to_string(error); }

}  // namespace diego::actions_internal

namespace diego::actions {
namespace {

namespace internal = ::diego::actions_internal;

constexpr int kMaxRedirects = 10;
// Diego's cacheddownloader MAX_DOWNLOAD_ATTEMPTS.
constexpr int kMaxFetchAttempts = 3;

std::string ErrnoText(int err) { return std::strerror(err); }

// Reads the whole file at `path`.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("open ", path, ": ", ErrnoText(errno)));
  }
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return absl::InternalError(absl::StrCat("read ", path, ": I/O error"));
  return out;
}

// Writes `data` to `path` through a temp file and a rename.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view data) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return absl::InternalError(absl::StrCat("create ", tmp, ": ", ErrnoText(errno)));
  }
  const bool wrote = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) {
    std::remove(tmp.c_str());
    return absl::InternalError(absl::StrCat("write ", tmp, ": I/O error"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return absl::InternalError(absl::StrCat("rename ", tmp, ": ", ErrnoText(err)));
  }
  return absl::OkStatus();
}

void RemoveFile(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

// Deletes a file when it goes out of scope.
class ScopedFile {
 public:
  explicit ScopedFile(std::string path) : path_(std::move(path)) {}
  ScopedFile(const ScopedFile&) = delete;
  ScopedFile& operator=(const ScopedFile&) = delete;
  ~ScopedFile() {
    if (!path_.empty()) RemoveFile(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string HexEncode(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xF]);
  }
  return out;
}

const EVP_MD* DigestFor(absl::string_view algorithm) {
  const std::string alg = absl::AsciiStrToLower(algorithm);
  if (alg == "md5") return EVP_md5();
  if (alg == "sha1") return EVP_sha1();
  if (alg == "sha256") return EVP_sha256();
  return nullptr;
}

absl::Status UnknownAlgorithm(absl::string_view algorithm) {
  return absl::InvalidArgumentError(absl::StrCat("unsupported checksum algorithm \"", algorithm,
                                                 "\" (want md5, sha1 or sha256)"));
}

// Hex digest of the file at `path`.
absl::StatusOr<std::string> DigestOfFile(absl::string_view path, const EVP_MD* md) {
  const std::string p(path);
  FILE* f = std::fopen(p.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("open ", p, ": ", ErrnoText(errno)));
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    std::fclose(f);
    return absl::InternalError("cannot initialise digest");
  }
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) EVP_DigestUpdate(ctx.get(), buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return absl::InternalError(absl::StrCat("read ", p, ": I/O error"));
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  return HexEncode(out, len);
}

std::string Md5Hex(absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return HexEncode(out, len);
}

// Diego's convertETagToChecksum: an ETag that is 32 hex digits (once its
// quotes are trimmed) is the body's MD5 (S3 does this).
std::optional<std::string> EtagMd5(absl::string_view etag) {
  while (!etag.empty() && etag.front() == '"') etag.remove_prefix(1);
  while (!etag.empty() && etag.back() == '"') etag.remove_suffix(1);
  if (etag.size() != 32) return std::nullopt;
  for (char c : etag) {
    if (internal::HexDigit(c) < 0) return std::nullopt;
  }
  return absl::AsciiStrToLower(etag);
}

// ---- HttpFetcher ------------------------------------------------------------

// Fetcher over cpp-httplib: redirects followed by hand (up to 10), the body
// streamed into a temp file, aborted by `cancelled` or the request timeout.
class HttpFetcher final : public Fetcher {
 public:
  explicit HttpFetcher(HttpFetcherOptions options) : options_(std::move(options)) {}

  absl::StatusOr<FetchResponse> Fetch(const FetchRequest& request, absl::string_view temp_dir,
                                      absl::Notification* cancelled) override {
    if (cancelled != nullptr && cancelled->HasBeenNotified()) return Cancelled();
    absl::StatusOr<internal::TransferUrl> parsed = internal::ParseTransferUrl(request.url);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid download URL: ", parsed.status().message()));
    }
    internal::TransferUrl url = *std::move(parsed);
    const absl::Time deadline = absl::Now() + request.timeout;

    std::string body_path = absl::StrCat(temp_dir, "/download-XXXXXX");
    const int fd = mkstemp(body_path.data());
    if (fd < 0) {
      return absl::InternalError(
          absl::StrCat("create temp file in ", temp_dir, ": ", ErrnoText(errno)));
    }
    FILE* out = fdopen(fd, "w+b");
    if (out == nullptr) {
      close(fd);
      RemoveFile(body_path);
      return absl::InternalError(absl::StrCat("fdopen ", body_path, ": ", ErrnoText(errno)));
    }
    absl::StatusOr<FetchResponse> result =
        FetchTo(request, &url, deadline, out, body_path, cancelled);
    std::fclose(out);
    if (!result.ok() || result->status != 200) RemoveFile(body_path);
    return result;
  }

 private:
  static absl::Status Cancelled() { return absl::CancelledError("download cancelled"); }

  absl::StatusOr<FetchResponse> FetchTo(const FetchRequest& request, internal::TransferUrl* url,
                                        absl::Time deadline, FILE* out,
                                        const std::string& body_path,
                                        absl::Notification* cancelled) {
    for (int redirects = 0;; ++redirects) {
      if (std::fseek(out, 0, SEEK_SET) != 0 || ftruncate(fileno(out), 0) != 0) {
        return absl::InternalError(absl::StrCat("truncate ", body_path, ": ", ErrnoText(errno)));
      }
      internal::HttpClientConfig config;
      config.skip_tls_verify = options_.skip_tls_verify;
      config.ca_cert_file = options_.ca_cert_file;
      config.connect_timeout = options_.connect_timeout;
      config.io_timeout = request.timeout;
      std::unique_ptr<httplib::ClientImpl> client = internal::NewHttpClient(*url, config);

      httplib::Headers headers;
      if (!request.if_none_match.empty()) headers.emplace("If-None-Match", request.if_none_match);
      if (!request.if_modified_since.empty()) {
        headers.emplace("If-Modified-Since", request.if_modified_since);
      }
      int status = 0;
      std::string etag, last_modified, location;
      uint64_t written = 0;
      int write_errno = 0;
      httplib::Result result(nullptr, httplib::Error::Unknown);
      bool cancelled_by_watchdog = false, timed_out = false;
      {
        internal::TransferWatchdog watchdog(client.get(), cancelled, deadline);
        result = client->Get(
            url->target, headers,
            [&](const httplib::Response& response) {
              status = response.status;
              etag = response.get_header_value("ETag");
              last_modified = response.get_header_value("Last-Modified");
              location = response.get_header_value("Location");
              return response.status == 200;
            },
            [&](const char* data, size_t n) {
              if (cancelled != nullptr && cancelled->HasBeenNotified()) return false;
              if (std::fwrite(data, 1, n, out) != n) {
                write_errno = errno == 0 ? EIO : errno;
                return false;
              }
              written += n;
              return true;
            },
            [&](uint64_t, uint64_t) {
              return cancelled == nullptr || !cancelled->HasBeenNotified();
            });
        cancelled_by_watchdog = watchdog.cancelled();
        timed_out = watchdog.timed_out();
      }
      if (cancelled_by_watchdog || (cancelled != nullptr && cancelled->HasBeenNotified())) {
        return Cancelled();
      }
      if (timed_out) {
        return absl::DeadlineExceededError(
            absl::StrCat("download timed out after ", absl::FormatDuration(request.timeout)));
      }
      if (write_errno != 0) {
        return absl::InternalError(absl::StrCat("write ", body_path, ": ", ErrnoText(write_errno)));
      }
      if (status == 0 && result) status = result->status;
      if (status == 200) {
        if (!result) {
          return absl::UnavailableError(
              absl::StrCat("download interrupted: ", internal::DescribeHttpError(result.error())));
        }
        if (std::fflush(out) != 0) {
          return absl::InternalError(absl::StrCat("write ", body_path, ": ", ErrnoText(errno)));
        }
        FetchResponse response;
        response.status = 200;
        response.etag = etag;
        response.last_modified = last_modified;
        response.body_path = body_path;
        response.body_size = written;
        return response;
      }
      if (status == 304) {
        FetchResponse response;
        response.status = 304;
        response.etag = etag;
        response.last_modified = last_modified;
        return response;
      }
      const bool is_redirect =
          status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
      if (is_redirect && !location.empty()) {
        if (redirects >= kMaxRedirects) {
          return absl::UnavailableError(
              absl::StrCat("stopped after ", kMaxRedirects, " redirects"));
        }
        absl::StatusOr<internal::TransferUrl> next = internal::ResolveRedirect(*url, location);
        if (!next.ok()) {
          return absl::UnavailableError(
              absl::StrCat("invalid redirect location: ", next.status().message()));
        }
        *url = *std::move(next);
        continue;
      }
      if (status != 0) {
        return absl::UnavailableError(absl::StrCat("unexpected status code ", status));
      }
      return absl::UnavailableError(
          absl::StrCat("request failed: ", internal::DescribeHttpError(result.error())));
    }
  }

  const HttpFetcherOptions options_;
};

// ---- ArchiveToTar -----------------------------------------------------------

struct ArchiveReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};

// Where ArchiveToTar's tar goes: `tar`, refusing to grow past `limit` bytes.
struct TarSink {
  std::string tar;
  uint64_t limit = 0;
  uint64_t attempted = 0;  // bytes the tar would have had when it was refused
  bool exceeded = false;
};

// libarchive's write callback: appends to the TarSink; fails (so the write
// in progress fails) once the tar would exceed its limit.
la_ssize_t AppendToString(struct archive*, void* client_data, const void* buffer, size_t length) {
  TarSink* sink = static_cast<TarSink*>(client_data);
  if (sink->tar.size() + length > sink->limit) {
    sink->exceeded = true;
    sink->attempted = sink->tar.size() + length;
    return -1;
  }
  sink->tar.append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

absl::Status ArtifactTooLarge(uint64_t bytes, uint64_t limit) {
  return absl::ResourceExhaustedError(absl::StrCat("artifact too large: ", bytes,
                                                   " bytes after decompression exceeds the limit of ",
                                                   limit, " bytes"));
}

std::string ArchiveError(struct archive* a) {
  const char* text = archive_error_string(a);
  return text == nullptr ? "unknown archive error" : text;
}

// ---- CachedDownloader -------------------------------------------------------

constexpr char kMetaSuffix[] = ".json";
constexpr char kTarSuffix[] = ".tar";
constexpr char kTempDirName[] = "tmp";

// One cached artifact: `<cache_dir>/<name>.tar` plus its metadata in
// `<cache_dir>/<name>.json`.
struct Entry {
  std::string key;  // the cache_key as given
  std::string tar_path;
  std::string meta_path;
  std::string etag;
  std::string last_modified;
  uint64_t size = 0;
  absl::Time last_use;
  int readers = 0;       // pins: never deleted while > 0
  bool removed = false;  // out of the index; files go with the last reader
};

std::string MetadataJson(const Entry& e) {
  nlohmann::json j;
  j["cache_key"] = e.key;
  j["tar"] = std::filesystem::path(e.tar_path).filename().string();
  j["etag"] = e.etag;
  j["last_modified"] = e.last_modified;
  j["size"] = e.size;
  j["last_use_unix_nanos"] = absl::ToUnixNanos(e.last_use);
  return j.dump();
}

// A download of one cache key in progress; others asking for the key wait.
struct InFlight {
  bool done = false;
  bool cached = false;  // the leader left a fresh entry in the cache
};

class CachedDownloaderImpl final : public CachedDownloader {
 public:
  CachedDownloaderImpl(CachedDownloaderOptions options, Fetcher* fetcher)
      : options_(std::move(options)),
        fetcher_(fetcher),
        temp_dir_(absl::StrCat(options_.cache_dir, "/", kTempDirName)) {}

  // Creates the directories, empties the temp dir and loads the entries an
  // earlier process left.
  absl::Status Init() {
    std::error_code ec;
    std::filesystem::create_directories(temp_dir_, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cache_dir ", options_.cache_dir, ": cannot create: ", ec.message()));
    }
    for (const auto& item : std::filesystem::directory_iterator(temp_dir_, ec)) {
      std::error_code ignored;
      std::filesystem::remove_all(item.path(), ignored);
    }
    LoadEntries();
    std::vector<std::string> doomed;
    {
      absl::MutexLock lock(&mu_);
      MakeRoomLocked(0, "", &doomed);
    }
    for (const std::string& path : doomed) RemoveFile(path);
    return absl::OkStatus();
  }

  absl::StatusOr<DownloadedArtifact> Download(const DownloadRequest& request,
                                              absl::Notification* cancelled) override {
    if (IsCancelled(cancelled)) return CancelledStatus();
    const EVP_MD* md = nullptr;
    if (!request.checksum_algorithm.empty()) {
      md = DigestFor(request.checksum_algorithm);
      if (md == nullptr) return UnknownAlgorithm(request.checksum_algorithm);
      if (request.checksum_value.empty()) {
        return absl::InvalidArgumentError("checksum_value is required with checksum_algorithm");
      }
    } else if (!request.checksum_value.empty()) {
      return absl::InvalidArgumentError("checksum_algorithm is required with checksum_value");
    }

    if (request.cache_key.empty()) {
      DIEGO_ASSIGN_OR_RETURN(FetchResponse fetched,
                             FetchWithRetries(request.url, "", "", cancelled));
      if (fetched.status != 200) {
        return absl::UnavailableError(absl::StrCat("unexpected status code ", fetched.status));
      }
      ScopedFile body(fetched.body_path);
      DIEGO_ASSIGN_OR_RETURN(std::string tar, Convert(request, body.path()));
      return DownloadedArtifact{std::move(tar), fetched.body_size, false};
    }

    DIEGO_ASSIGN_OR_RETURN(bool coalesced, AcquireKey(request.cache_key, cancelled));
    bool produced = false;
    absl::StatusOr<DownloadedArtifact> result =
        DownloadKeyed(request, coalesced, cancelled, &produced);
    ReleaseKey(request.cache_key, produced);
    return result;
  }

  DownloaderStats Stats() const override {
    absl::MutexLock lock(&mu_);
    DownloaderStats stats = stats_;
    stats.cached_bytes = used_;
    return stats;
  }

 private:
  static bool IsCancelled(absl::Notification* cancelled) {
    return cancelled != nullptr && cancelled->HasBeenNotified();
  }
  static absl::Status CancelledStatus() { return absl::CancelledError("download cancelled"); }

  // Checksum (of what was downloaded), then conversion into a tar.
  absl::StatusOr<std::string> Convert(const DownloadRequest& request, const std::string& body) {
    if (!request.checksum_algorithm.empty()) {
      DIEGO_RETURN_IF_ERROR(
          VerifyChecksumOfFile(body, request.checksum_algorithm, request.checksum_value));
    }
    return ArchiveToTar(body, options_.max_artifact_bytes);
  }

  // Fetches with Diego's three attempts (a cancel is never retried); a 200
  // body whose ETag is an MD5 that does not match counts as a failure.
  absl::StatusOr<FetchResponse> FetchWithRetries(const std::string& url, const std::string& etag,
                                                 const std::string& last_modified,
                                                 absl::Notification* cancelled) {
    FetchRequest request;
    request.url = url;
    request.if_none_match = etag;
    request.if_modified_since = last_modified;
    absl::Status last;
    for (int attempt = 0; attempt < kMaxFetchAttempts; ++attempt) {
      if (IsCancelled(cancelled)) return CancelledStatus();
      {
        absl::MutexLock lock(&mu_);
        ++stats_.fetches;
      }
      absl::StatusOr<FetchResponse> fetched = fetcher_->Fetch(request, temp_dir_, cancelled);
      if (fetched.ok()) {
        if (fetched->status == 200) {
          std::optional<std::string> want = EtagMd5(fetched->etag);
          if (want.has_value()) {
            absl::StatusOr<std::string> got = DigestOfFile(fetched->body_path, EVP_md5());
            if (!got.ok() || *got != *want) {
              RemoveFile(fetched->body_path);
              last = got.ok() ? absl::DataLossError("checksum mismatch (ETag md5)") : got.status();
              continue;
            }
          }
        }
        return fetched;
      }
      if (IsCancelled(cancelled) || fetched.status().code() == absl::StatusCode::kCancelled) {
        return CancelledStatus();
      }
      last = fetched.status();
    }
    return last;
  }

  // Takes the in-flight slot of `key`, waiting (cancellably) while another
  // download of it runs. Returns whether the download waited for had just
  // cached the key (then its entry is served without another request).
  absl::StatusOr<bool> AcquireKey(const std::string& key, absl::Notification* cancelled) {
    absl::MutexLock lock(&mu_);
    bool fresh = false;
    for (;;) {
      auto it = in_flight_.find(key);
      if (it == in_flight_.end()) {
        in_flight_.emplace(key, std::make_shared<InFlight>());
        return fresh;
      }
      std::shared_ptr<InFlight> other = it->second;
      while (!other->done) {
        if (IsCancelled(cancelled)) return CancelledStatus();
        mu_.AwaitWithTimeout(absl::Condition(&other->done), absl::Milliseconds(25));
      }
      fresh = other->cached;
    }
  }

  void ReleaseKey(const std::string& key, bool cached) {
    absl::MutexLock lock(&mu_);
    auto it = in_flight_.find(key);
    if (it == in_flight_.end()) return;
    it->second->done = true;
    it->second->cached = cached;
    in_flight_.erase(it);
  }

  // Pins the entry of `key` (nullptr when none).
  std::shared_ptr<Entry> Pin(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    ++it->second->readers;
    return it->second;
  }

  void Unpin(const std::shared_ptr<Entry>& entry) {
    if (entry == nullptr) return;
    bool drop = false;
    {
      absl::MutexLock lock(&mu_);
      drop = --entry->readers == 0 && entry->removed;
    }
    if (drop) DeleteFiles(*entry);
  }

  static void DeleteFiles(const Entry& entry) {
    RemoveFile(entry.meta_path);
    RemoveFile(entry.tar_path);
  }

  // Reads a pinned entry's tar and records the use (persisted).
  absl::StatusOr<std::string> ServeEntry(const std::shared_ptr<Entry>& entry) {
    DIEGO_ASSIGN_OR_RETURN(std::string tar, ReadWholeFile(entry->tar_path));
    if (tar.size() != entry->size) {
      return absl::DataLossError(absl::StrCat("cached file ", entry->tar_path, " has ", tar.size(),
                                              " bytes, expected ", entry->size));
    }
    std::string meta;
    {
      absl::MutexLock lock(&mu_);
      entry->last_use = std::max(absl::Now(), entry->last_use);
      ++stats_.cache_hits;
      meta = MetadataJson(*entry);
    }
    // Best effort: a lost update only makes the entry look older.
    (void)WriteFileAtomically(entry->meta_path, meta);
    return tar;
  }

  absl::StatusOr<DownloadedArtifact> DownloadKeyed(const DownloadRequest& request, bool coalesced,
                                                   absl::Notification* cancelled, bool* produced) {
    const std::string& key = request.cache_key;
    std::shared_ptr<Entry> current = Pin(key);
    if (current != nullptr && coalesced) {
      absl::StatusOr<std::string> tar = ServeEntry(current);
      Unpin(current);
      if (tar.ok()) {
        *produced = true;
        return DownloadedArtifact{*std::move(tar), 0, true};
      }
      Remove(key);
      current = nullptr;
    }

    absl::StatusOr<FetchResponse> fetched =
        FetchWithRetries(request.url, current ? current->etag : "",
                         current ? current->last_modified : "", cancelled);
    if (fetched.ok() && fetched->status == 304) {
      if (current != nullptr) {
        absl::StatusOr<std::string> tar = ServeEntry(current);
        if (tar.ok()) {
          {
            absl::MutexLock lock(&mu_);
            ++stats_.revalidated;
          }
          Unpin(current);
          *produced = true;
          return DownloadedArtifact{*std::move(tar), 0, true};
        }
      }
      // Nothing (readable) cached to revalidate: ask again unconditionally.
      Unpin(current);
      Remove(key);
      current = nullptr;
      fetched = FetchWithRetries(request.url, "", "", cancelled);
      if (fetched.ok() && fetched->status != 200) {
        return absl::UnavailableError(absl::StrCat("unexpected status code ", fetched->status));
      }
    }
    Unpin(current);
    if (!fetched.ok()) return fetched.status();

    ScopedFile body(fetched->body_path);
    DIEGO_ASSIGN_OR_RETURN(std::string tar, Convert(request, body.path()));
    DownloadedArtifact artifact{std::move(tar), fetched->body_size, false};
    if (fetched->etag.empty() && fetched->last_modified.empty()) {
      // Not cacheable (Diego: no ETag and no Last-Modified).
      Remove(key);
      return artifact;
    }
    *produced = Add(key, artifact.tar, fetched->etag, fetched->last_modified);
    return artifact;
  }

  // Stores `tar` as the entry of `key`, evicting least recently used
  // entries. False (nothing cached, any stale entry dropped) when it cannot
  // fit.
  bool Add(const std::string& key, const std::string& tar, const std::string& etag,
           const std::string& last_modified) {
    if (tar.size() > options_.max_cache_size_bytes) {
      Remove(key);
      return false;
    }
    auto entry = std::make_shared<Entry>();
    uint64_t seq;
    {
      absl::MutexLock lock(&mu_);
      seq = ++seq_;
    }
    const std::string name =
        absl::StrCat(Md5Hex(key), "-", absl::ToUnixNanos(absl::Now()), "-", seq);
    entry->key = key;
    entry->tar_path = absl::StrCat(options_.cache_dir, "/", name, kTarSuffix);
    entry->meta_path = absl::StrCat(options_.cache_dir, "/", name, kMetaSuffix);
    entry->etag = etag;
    entry->last_modified = last_modified;
    entry->size = tar.size();
    entry->last_use = absl::Now();
    if (!WriteFileAtomically(entry->tar_path, tar).ok() ||
        !WriteFileAtomically(entry->meta_path, MetadataJson(*entry)).ok()) {
      DeleteFiles(*entry);
      Remove(key);
      return false;
    }
    std::vector<std::string> doomed;
    bool added = false;
    {
      absl::MutexLock lock(&mu_);
      RemoveLocked(key, &doomed);
      if (MakeRoomLocked(entry->size, key, &doomed)) {
        entries_[key] = entry;
        used_ += entry->size;
        added = true;
      } else {
        doomed.push_back(entry->meta_path);
        doomed.push_back(entry->tar_path);
      }
    }
    for (const std::string& path : doomed) RemoveFile(path);
    return added;
  }

  void Remove(const std::string& key) {
    std::vector<std::string> doomed;
    {
      absl::MutexLock lock(&mu_);
      RemoveLocked(key, &doomed);
    }
    for (const std::string& path : doomed) RemoveFile(path);
  }

  // Drops `key` from the index; its files are queued on `doomed` unless a
  // reader still holds it (then the last reader deletes them).
  void RemoveLocked(const std::string& key, std::vector<std::string>* doomed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    std::shared_ptr<Entry> entry = it->second;
    entries_.erase(it);
    used_ -= entry->size;
    entry->removed = true;
    if (entry->readers == 0) {
      doomed->push_back(entry->meta_path);
      doomed->push_back(entry->tar_path);
    }
  }

  // Evicts least recently used entries not in use (and not `keep`) until
  // `incoming` more bytes fit. False when they cannot.
  bool MakeRoomLocked(uint64_t incoming, const std::string& keep, std::vector<std::string>* doomed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (used_ + incoming > options_.max_cache_size_bytes) {
      std::shared_ptr<Entry> oldest;
      for (const auto& [k, e] : entries_) {
        if (k == keep || e->readers > 0) continue;
        if (oldest == nullptr || e->last_use < oldest->last_use) oldest = e;
      }
      if (oldest == nullptr) return false;
      RemoveLocked(oldest->key, doomed);
      ++stats_.evictions;
    }
    return true;
  }

  // Loads `<cache_dir>/*.json`; deletes unreadable metadata, entries whose
  // tar is missing or of the wrong size, duplicates (the most recently used
  // wins) and tars without metadata.
  void LoadEntries() {
    std::error_code ec;
    std::vector<std::filesystem::path> metas, tars;
    for (const auto& item : std::filesystem::directory_iterator(options_.cache_dir, ec)) {
      const std::filesystem::path& p = item.path();
      if (!item.is_regular_file()) continue;
      if (p.extension() == kMetaSuffix) {
        metas.push_back(p);
      } else if (p.extension() == kTarSuffix) {
        tars.push_back(p);
      } else if (absl::EndsWith(p.filename().string(), ".tmp")) {
        RemoveFile(p.string());
      }
    }
    std::map<std::string, std::shared_ptr<Entry>> loaded;
    std::vector<std::string> kept_tars;
    for (const std::filesystem::path& meta : metas) {
      std::shared_ptr<Entry> entry = LoadEntry(meta);
      if (entry == nullptr) {
        RemoveFile(meta.string());
        continue;
      }
      auto [it, inserted] = loaded.emplace(entry->key, entry);
      if (!inserted) {
        std::shared_ptr<Entry> loser = entry;
        if (entry->last_use > it->second->last_use) {
          loser = it->second;
          it->second = entry;
        }
        DeleteFiles(*loser);
      }
    }
    absl::MutexLock lock(&mu_);
    for (auto& [key, entry] : loaded) {
      used_ += entry->size;
      kept_tars.push_back(std::filesystem::path(entry->tar_path).filename().string());
      entries_.emplace(key, std::move(entry));
    }
    for (const std::filesystem::path& tar : tars) {
      if (std::find(kept_tars.begin(), kept_tars.end(), tar.filename().string()) ==
          kept_tars.end()) {
        RemoveFile(tar.string());
      }
    }
  }

  std::shared_ptr<Entry> LoadEntry(const std::filesystem::path& meta) {
    absl::StatusOr<std::string> text = ReadWholeFile(meta.string());
    if (!text.ok()) return nullptr;
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return nullptr;
    auto entry = std::make_shared<Entry>();
    try {
      entry->key = j.at("cache_key").get<std::string>();
      const std::string tar = j.at("tar").get<std::string>();
      if (tar.empty() || tar.find('/') != std::string::npos || !absl::EndsWith(tar, kTarSuffix)) {
        return nullptr;
      }
      entry->tar_path = absl::StrCat(options_.cache_dir, "/", tar);
      entry->etag = j.at("etag").get<std::string>();
      entry->last_modified = j.at("last_modified").get<std::string>();
      entry->size = j.at("size").get<uint64_t>();
      entry->last_use = absl::FromUnixNanos(j.at("last_use_unix_nanos").get<int64_t>());
    } catch (const nlohmann::json::exception&) {
      return nullptr;
    }
    entry->meta_path = meta.string();
    if (entry->key.empty() || (entry->etag.empty() && entry->last_modified.empty())) {
      RemoveFile(entry->tar_path);
      return nullptr;
    }
    struct stat st;
    if (stat(entry->tar_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) != entry->size) {
      RemoveFile(entry->tar_path);
      return nullptr;
    }
    return entry;
  }

  const CachedDownloaderOptions options_;
  Fetcher* const fetcher_;
  const std::string temp_dir_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t used_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::shared_ptr<InFlight>> in_flight_ ABSL_GUARDED_BY(mu_);
  DownloaderStats stats_ ABSL_GUARDED_BY(mu_);
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

std::unique_ptr<Fetcher> NewHttpFetcher(const HttpFetcherOptions& options) {
  return std::make_unique<HttpFetcher>(options);
}

absl::StatusOr<std::unique_ptr<CachedDownloader>> CachedDownloader::Create(
    const CachedDownloaderOptions& options, Fetcher* fetcher) {
  if (options.cache_dir.empty()) return absl::InvalidArgumentError("cache_dir is required");
  if (fetcher == nullptr) return absl::InvalidArgumentError("fetcher is required");
  auto downloader = std::make_unique<CachedDownloaderImpl>(options, fetcher);
  DIEGO_RETURN_IF_ERROR(downloader->Init());
  return std::unique_ptr<CachedDownloader>(std::move(downloader));
}

absl::Status VerifyChecksumOfFile(absl::string_view path, absl::string_view algorithm,
                                  absl::string_view expected_hex) {
  const EVP_MD* md = DigestFor(algorithm);
  if (md == nullptr) return UnknownAlgorithm(algorithm);
  DIEGO_ASSIGN_OR_RETURN(std::string actual, DigestOfFile(path, md));
  const std::string want = absl::AsciiStrToLower(absl::StripAsciiWhitespace(expected_hex));
  if (actual != want) {
    return absl::DataLossError(absl::StrCat("checksum mismatch (", absl::AsciiStrToLower(algorithm),
                                            "): expected ", want, ", got ", actual));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ArchiveToTar(absl::string_view path) {
  return ArchiveToTar(path, std::numeric_limits<uint64_t>::max());
}

absl::StatusOr<std::string> ArchiveToTar(absl::string_view path, uint64_t max_tar_bytes) {
  const std::string p(path);
  std::unique_ptr<struct archive, ArchiveReadDeleter> in(archive_read_new());
  archive_read_support_filter_gzip(in.get());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_gnutar(in.get());
  archive_read_support_format_zip(in.get());
  if (archive_read_open_filename(in.get(), p.c_str(), 1 << 16) != ARCHIVE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat(p, ": not a tar, tgz or zip archive: ", ArchiveError(in.get())));
  }
  TarSink sink;
  sink.limit = max_tar_bytes;
  std::unique_ptr<struct archive, ArchiveWriteDeleter> out(archive_write_new());
  // A failed write is "too large" when the sink refused it.
  auto write_failed = [&sink](absl::Status other) {
    return sink.exceeded ? ArtifactTooLarge(sink.attempted, sink.limit) : other;
  };
  archive_write_set_format_pax_restricted(out.get());
  archive_write_add_filter_none(out.get());
  archive_write_set_bytes_in_last_block(out.get(), 1);
  if (archive_write_open2(out.get(), &sink, nullptr, AppendToString, nullptr, nullptr) !=
      ARCHIVE_OK) {
    return absl::InternalError(absl::StrCat("cannot start tar: ", ArchiveError(out.get())));
  }
  std::vector<char> buffer(1 << 16);
  int entries = 0;
  for (;;) {
    struct archive_entry* entry = nullptr;
    const int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return absl::InvalidArgumentError(
          absl::StrCat(p, ": corrupt archive: ", ArchiveError(in.get())));
    }
    ++entries;
    const bool regular =
        archive_entry_filetype(entry) == AE_IFREG && archive_entry_hardlink(entry) == nullptr;
    std::string data;
    if (regular && archive_entry_size_is_set(entry)) {
      // Refuse early when the declared size alone cannot fit.
      const la_int64_t declared = archive_entry_size(entry);
      if (declared > 0 && sink.tar.size() + static_cast<uint64_t>(declared) > sink.limit) {
        return ArtifactTooLarge(sink.tar.size() + static_cast<uint64_t>(declared), sink.limit);
      }
      if (archive_write_header(out.get(), entry) < ARCHIVE_WARN) {
        return write_failed(absl::InvalidArgumentError(
            absl::StrCat(p, ": cannot convert an entry: ", ArchiveError(out.get()))));
      }
      for (;;) {
        const la_ssize_t n = archive_read_data(in.get(), buffer.data(), buffer.size());
        if (n == 0) break;
        if (n < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(p, ": corrupt archive: ", ArchiveError(in.get())));
        }
        if (archive_write_data(out.get(), buffer.data(), static_cast<size_t>(n)) != n) {
          return write_failed(
              absl::InternalError(absl::StrCat("cannot write tar: ", ArchiveError(out.get()))));
        }
      }
      continue;
    }
    if (regular) {
      // Read the data first: a streamed zip entry may not know its size yet.
      // The buffer counts against the limit as it grows.
      for (;;) {
        const la_ssize_t n = archive_read_data(in.get(), buffer.data(), buffer.size());
        if (n == 0) break;
        if (n < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(p, ": corrupt archive: ", ArchiveError(in.get())));
        }
        data.append(buffer.data(), static_cast<size_t>(n));
        if (sink.tar.size() + data.size() > sink.limit) {
          return ArtifactTooLarge(sink.tar.size() + data.size(), sink.limit);
        }
      }
      archive_entry_set_size(entry, static_cast<la_int64_t>(data.size()));
    } else {
      archive_entry_set_size(entry, 0);  // directories, links, devices: no data
    }
    if (archive_write_header(out.get(), entry) < ARCHIVE_WARN) {
      return write_failed(absl::InvalidArgumentError(absl::StrCat(
          p, ": cannot convert entry '",
          archive_entry_pathname(entry) == nullptr ? "" : archive_entry_pathname(entry),
          "': ", ArchiveError(out.get()))));
    }
    if (!data.empty() && archive_write_data(out.get(), data.data(), data.size()) !=
                             static_cast<la_ssize_t>(data.size())) {
      return write_failed(
          absl::InternalError(absl::StrCat("cannot write tar: ", ArchiveError(out.get()))));
    }
  }
  if (entries == 0 && archive_format(in.get()) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(p, ": not a tar, tgz or zip archive"));
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) {
    return write_failed(
        absl::InternalError(absl::StrCat("cannot finish tar: ", ArchiveError(out.get()))));
  }
  return std::move(sink.tar);
}

std::string ByteSize(uint64_t bytes) {
  static constexpr struct {
    uint64_t size;
    const char* unit;
  } kUnits[] = {
      {uint64_t{1} << 60, "E"},
      {uint64_t{1} << 50, "P"},
      {uint64_t{1} << 40, "T"},
      {uint64_t{1} << 30, "G"},
      {uint64_t{1} << 20, "M"},
      {uint64_t{1} << 10, "K"},
      {1, "B"},
  };
  if (bytes == 0) return "0B";
  for (const auto& unit : kUnits) {
    if (bytes >= unit.size) {
      const double value = static_cast<double>(bytes) / static_cast<double>(unit.size);
      std::string text = absl::StrFormat("%.1f", value);
      if (absl::EndsWith(text, ".0")) text.resize(text.size() - 2);
      return absl::StrCat(text, unit.unit);
    }
  }
  return "0B";
}

}  // namespace diego::actions
