// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: download.h
// -----------------------------------------------------------------------------
//
// Fetching download actions' artifacts (Diego's cacheddownloader):
//
//   Fetcher           the seam: one HTTP(S) GET with conditional headers.
//   NewHttpFetcher    the real one (cpp-httplib; https with OpenSSL).
//   CachedDownloader  a size-bounded on-disk cache keyed by cache_key, in
//                     front of a Fetcher:
//     * no cache_key: fetch every time, nothing cached;
//     * hit: revalidate with If-None-Match (ETag) / If-Modified-Since
//       (Last-Modified); 304 serves the cached file; 200 replaces it;
//     * checksum (md5, sha1, sha256; hex, case-insensitive) is verified on
//       what was downloaded before it is cached or returned; a mismatch is
//       an error naming the algorithm (never the URL) and nothing is cached;
//     * the artifact (.tar, .tgz/.tar.gz, .zip, detected by content, not
//       name) is converted once into an uncompressed tar, which is what is
//       cached and returned; a bad archive is an error and nothing is cached;
//     * total size of cached tars <= max_cache_size_bytes (default 10 GB,
//       Diego's max_cache_size_in_bytes): least recently used entries are
//       evicted; an artifact larger than the cache is returned uncached;
//       entries in use are never deleted under a reader;
//     * concurrent downloads of the same cache_key are coalesced.
//   Errors never contain the URL (it may carry credentials); they say
//   "Downloading failed: <reason>"-style texts chosen by the implementation.
//   Cancellation (`cancelled`) aborts a transfer promptly (kCancelled).

#ifndef DIEGO_ACTIONS_DOWNLOAD_H_
#define DIEGO_ACTIONS_DOWNLOAD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace diego::actions {

struct FetchRequest {
  std::string url;
  std::string if_none_match;      // ETag of the cached copy, or ""
  std::string if_modified_since;  // Last-Modified of the cached copy, or ""
  absl::Duration timeout = absl::Minutes(10);  // whole transfer
};

struct FetchResponse {
  int status = 0;  // 200 or 304 (others are errors)
  std::string etag;
  std::string last_modified;
  // On 200: the body was written here (a temp file the caller owns).
  std::string body_path;
  uint64_t body_size = 0;
};

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // GET `request.url`, writing a 200 body into a new file under `temp_dir`.
  // Non-200/304 statuses are errors ("unexpected status code <n>"), as are
  // transport errors; neither echoes the URL.
  virtual absl::StatusOr<FetchResponse> Fetch(const FetchRequest& request,
                                              absl::string_view temp_dir,
                                              absl::Notification* cancelled) = 0;
};

struct HttpFetcherOptions {
  bool skip_tls_verify = false;
  std::string ca_cert_file;  // "" = system roots
  absl::Duration connect_timeout = absl::Seconds(10);
};
std::unique_ptr<Fetcher> NewHttpFetcher(const HttpFetcherOptions& options = {});

struct DownloadRequest {
  std::string url;
  std::string cache_key;           // "" = do not cache
  std::string checksum_algorithm;  // "", "md5", "sha1", "sha256"
  std::string checksum_value;
};

struct DownloadedArtifact {
  std::string tar;            // uncompressed tar archive
  uint64_t downloaded_bytes = 0;  // bytes transferred (0 on a 304 hit)
  bool from_cache = false;
};

struct CachedDownloaderOptions {
  std::string cache_dir;   // created if missing; required
  uint64_t max_cache_size_bytes = uint64_t{10} * 1000 * 1000 * 1000;
  // Largest uncompressed tar an artifact may convert to. Conversion stops as
  // soon as it would grow past this and Download fails kResourceExhausted
  // "artifact too large: <n> bytes after decompression exceeds the limit of
  // <m> bytes" (guards against archives that expand without bound).
  uint64_t max_artifact_bytes = uint64_t{10} * 1000 * 1000 * 1000;
};

struct DownloaderStats {
  uint64_t fetches = 0, cache_hits = 0, revalidated = 0, evictions = 0;
  uint64_t cached_bytes = 0;
};

class CachedDownloader {
 public:
  // `fetcher` is not owned and must outlive the downloader. Cached entries
  // left in `cache_dir` by an earlier process are reused (their metadata is
  // kept next to them) or deleted if unreadable.
  static absl::StatusOr<std::unique_ptr<CachedDownloader>> Create(
      const CachedDownloaderOptions& options, Fetcher* fetcher);

  virtual ~CachedDownloader() = default;
  virtual absl::StatusOr<DownloadedArtifact> Download(const DownloadRequest& request,
                                                      absl::Notification* cancelled) = 0;
  virtual DownloaderStats Stats() const = 0;
};

// Verifies `data`'s checksum; kInvalidArgument for an unknown algorithm,
// kDataLoss "checksum mismatch (<algorithm>)"-style text on a mismatch.
absl::Status VerifyChecksumOfFile(absl::string_view path, absl::string_view algorithm,
                                  absl::string_view expected_hex);

// Converts the archive at `path` (tar, gzip'd tar, zip) into an uncompressed
// tar. kInvalidArgument on anything else or a corrupt archive. With
// `max_tar_bytes`, stops as soon as the tar would grow past it and returns
// kResourceExhausted "artifact too large: <n> bytes after decompression
// exceeds the limit of <m> bytes" (no limit without it).
absl::StatusOr<std::string> ArchiveToTar(absl::string_view path);
absl::StatusOr<std::string> ArchiveToTar(absl::string_view path, uint64_t max_tar_bytes);

// Go's bytefmt.ByteSize as Diego prints sizes: "0B", "512B", "1K", "1.5M", "2G".
std::string ByteSize(uint64_t bytes);

}  // namespace diego::actions

#endif  // DIEGO_ACTIONS_DOWNLOAD_H_
