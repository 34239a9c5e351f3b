// Copyright 2026 The libdiego Authors.
//
// The cached downloader against a local HTTP server (127.0.0.1, port 0):
// caching and revalidation, checksums, archive conversion, eviction,
// restarts, coalescing, cancellation, and URLs kept out of errors.

#include "diego/actions/download.h"

#include <archive.h>
#include <archive_entry.h>
#include <httplib.h>
#include <openssl/evp.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
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
#include "diego/testing/child_process.h"
#include "diego/testing/linux_test_env.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::actions {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// ---- Archive fixtures --------------------------------------------------------

struct FixtureEntry {
  std::string path;
  unsigned type = AE_IFREG;  // AE_IFREG, AE_IFDIR, AE_IFLNK
  int perm = 0644;
  std::string data;
  std::string link;  // symlink target
};

la_ssize_t AppendTo(struct archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

enum class Format { kTar, kTgz, kZip };

std::string BuildArchive(Format format, const std::vector<FixtureEntry>& entries) {
  std::string out;
  struct archive* a = archive_write_new();
  if (format == Format::kZip) {
    archive_write_set_format_zip(a);
  } else {
    archive_write_set_format_pax_restricted(a);
  }
  if (format == Format::kTgz) archive_write_add_filter_gzip(a);
  EXPECT_EQ(archive_write_open2(a, &out, nullptr, AppendTo, nullptr, nullptr), ARCHIVE_OK);
  for (const FixtureEntry& f : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, f.path.c_str());
    archive_entry_set_filetype(e, f.type);
    archive_entry_set_perm(e, f.perm);
    archive_entry_set_mtime(e, 1700000000, 0);
    archive_entry_set_size(e, f.type == AE_IFREG ? static_cast<la_int64_t>(f.data.size()) : 0);
    if (f.type == AE_IFLNK) archive_entry_set_symlink(e, f.link.c_str());
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (!f.data.empty()) archive_write_data(a, f.data.data(), f.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::vector<FixtureEntry> AppFixture(const std::string& content = "hello world\n") {
  return {
      {.path = "app/", .type = AE_IFDIR, .perm = 0755},
      {.path = "app/run.sh", .type = AE_IFREG, .perm = 0755, .data = "#!/bin/sh\necho hi\n"},
      {.path = "app/data.txt", .type = AE_IFREG, .perm = 0644, .data = content},
      {.path = "app/link", .type = AE_IFLNK, .perm = 0777, .link = "data.txt"},
  };
}

// Reads a plain (uncompressed) tar; fails the test on anything else.
std::vector<FixtureEntry> ListTar(const std::string& tar) {
  std::vector<FixtureEntry> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK)
      << archive_error_string(a);
  struct archive_entry* e;
  int r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    FixtureEntry f;
    f.path = archive_entry_pathname(e);
    while (f.path.size() > 1 && f.path.back() == '/') f.path.pop_back();
    f.type = archive_entry_filetype(e);
    f.perm = archive_entry_perm(e);
    if (archive_entry_symlink(e) != nullptr) f.link = archive_entry_symlink(e);
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) f.data.append(buf, n);
    out.push_back(f);
  }
  EXPECT_EQ(r, ARCHIVE_EOF) << archive_error_string(a);
  archive_read_free(a);
  return out;
}

MATCHER_P5(EntryIs, path, type, perm, data, link, "") {
  return arg.path == path && arg.type == static_cast<unsigned>(type) && arg.perm == perm &&
         arg.data == data && arg.link == link;
}

void ExpectAppTree(const std::string& tar, const std::string& content = "hello world\n") {
  EXPECT_THAT(ListTar(tar), ::testing::ElementsAre(
                                EntryIs("app", AE_IFDIR, 0755, "", ""),
                                EntryIs("app/run.sh", AE_IFREG, 0755, "#!/bin/sh\necho hi\n", ""),
                                EntryIs("app/data.txt", AE_IFREG, 0644, content, ""),
                                EntryIs("app/link", AE_IFLNK, 0777, "", "data.txt")));
}

std::string HexDigest(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(out), static_cast<size_t>(len)));
}

// ---- A local artifact server ------------------------------------------------

struct Resource {
  std::string body;
  std::string etag;
  std::string last_modified;
  int status = 200;
  std::string location;
};

struct SeenRequest {
  std::string path;
  std::string if_none_match;
  std::string if_modified_since;
  std::string authorization;
  int status = 0;
};

// Serves `Resource`s by path, honouring If-None-Match / If-Modified-Since.
// "/slow" sends one chunk, then stalls until `release` (or teardown);
// "/gated" answers only once `gate` is notified.
class ArtifactServer {
 public:
  explicit ArtifactServer(std::unique_ptr<httplib::Server> server = nullptr)
      : server_(server ? std::move(server) : std::make_unique<httplib::Server>()) {
    server_->Get(".*",
                 [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // stop() is a no-op until the accept loop runs.
    EXPECT_TRUE(fakes::PollUntil([this] { return server_->is_running(); }, absl::Seconds(10),
                                 absl::Milliseconds(1)));
  }
  ~ArtifactServer() {
    if (!release.HasBeenNotified()) release.Notify();
    if (!gate.HasBeenNotified()) gate.Notify();
    server_->stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }
  void Set(const std::string& path, Resource resource) {
    absl::MutexLock lock(&mu_);
    resources_[path] = std::move(resource);
  }
  std::vector<SeenRequest> Seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  int Count(const std::string& path) const {
    int n = 0;
    for (const SeenRequest& s : Seen()) n += s.path == path;
    return n;
  }
  int CountStatus(int status) const {
    int n = 0;
    for (const SeenRequest& s : Seen()) n += s.status == status;
    return n;
  }

  absl::Notification first_chunk_sent;
  absl::Notification release;
  absl::Notification gate;

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    SeenRequest seen{req.path, req.get_header_value("If-None-Match"),
                     req.get_header_value("If-Modified-Since"),
                     req.get_header_value("Authorization")};
    if (req.path == "/slow") {
      Record(seen, 200);
      res.set_chunked_content_provider("application/octet-stream",
                                       [this](size_t offset, httplib::DataSink& sink) {
                                         if (offset == 0) {
                                           sink.write("partial", 7);
                                           if (!first_chunk_sent.HasBeenNotified())
                                             first_chunk_sent.Notify();
                                           return true;
                                         }
                                         release.WaitForNotification();
                                         return false;
                                       });
      return;
    }
    if (req.path == "/gated") {
      Record(seen, 0);
      gate.WaitForNotification();
    }
    Resource r;
    {
      absl::MutexLock lock(&mu_);
      auto it = resources_.find(req.path);
      if (it == resources_.end()) {
        res.status = 404;
        seen_.push_back(seen);
        seen_.back().status = 404;
        return;
      }
      r = it->second;
    }
    int status = r.status;
    if (status == 200 &&
        ((!r.etag.empty() && seen.if_none_match == r.etag) ||
         (!r.last_modified.empty() && seen.if_modified_since == r.last_modified))) {
      status = 304;
    }
    if (req.path != "/gated") Record(seen, status);
    res.status = status;
    if (!r.etag.empty()) res.set_header("ETag", r.etag);
    if (!r.last_modified.empty()) res.set_header("Last-Modified", r.last_modified);
    if (!r.location.empty()) res.set_header("Location", r.location);
    if (status == 200) res.set_content(r.body, "application/octet-stream");
  }

  void Record(SeenRequest seen, int status) {
    absl::MutexLock lock(&mu_);
    seen.status = status;
    seen_.push_back(seen);
  }

  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::map<std::string, Resource> resources_ ABSL_GUARDED_BY(mu_);
  std::vector<SeenRequest> seen_ ABSL_GUARDED_BY(mu_);
};

// Files directly in `dir` (not recursing), by name.
std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
    if (item.is_regular_file()) out.push_back(item.path().filename().string());
  }
  return out;
}

class DownloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fakes::FreshTestDir("cache");
    fetcher_ = NewHttpFetcher();
  }
  void TearDown() override {
    downloader_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  CachedDownloader* MakeDownloader(uint64_t max_bytes = uint64_t{1} << 30) {
    downloader_.reset();
    absl::StatusOr<std::unique_ptr<CachedDownloader>> d = CachedDownloader::Create(
        {.cache_dir = dir_, .max_cache_size_bytes = max_bytes}, fetcher_.get());
    EXPECT_THAT(d, IsOk());
    downloader_ = std::move(d).value();
    return downloader_.get();
  }

  absl::StatusOr<DownloadedArtifact> Get(const std::string& url, const std::string& key,
                                         const std::string& alg = "",
                                         const std::string& value = "") {
    return downloader_->Download(
        {.url = url, .cache_key = key, .checksum_algorithm = alg, .checksum_value = value},
        nullptr);
  }

  std::string dir_;
  std::unique_ptr<Fetcher> fetcher_;
  std::unique_ptr<CachedDownloader> downloader_;
  ArtifactServer server_;
};

TEST_F(DownloadTest, CacheMissThenHitRevalidatedWithEtag) {
  const std::string tgz = BuildArchive(Format::kTgz, AppFixture());
  server_.Set("/app.tgz", {.body = tgz, .etag = "\"v1\""});
  MakeDownloader();

  ASSERT_OK_AND_ASSIGN(DownloadedArtifact first, Get(server_.Url("/app.tgz"), "app"));
  EXPECT_FALSE(first.from_cache);
  EXPECT_EQ(first.downloaded_bytes, tgz.size());
  ExpectAppTree(first.tar);

  ASSERT_OK_AND_ASSIGN(DownloadedArtifact second, Get(server_.Url("/app.tgz"), "app"));
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.downloaded_bytes, 0u);
  EXPECT_EQ(second.tar, first.tar);

  std::vector<SeenRequest> seen = server_.Seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].if_none_match, "");
  EXPECT_EQ(seen[1].if_none_match, "\"v1\"");
  EXPECT_EQ(seen[1].status, 304);
  DownloaderStats stats = downloader_->Stats();
  EXPECT_EQ(stats.fetches, 2u);
  EXPECT_EQ(stats.cache_hits, 1u);
  EXPECT_EQ(stats.revalidated, 1u);
  EXPECT_EQ(stats.cached_bytes, first.tar.size());
}

TEST_F(DownloadTest, RevalidatesWithLastModified) {
  const std::string lm = "Tue, 14 Nov 2023 22:13:20 GMT";
  server_.Set("/app.tar", {.body = BuildArchive(Format::kTar, AppFixture()), .last_modified = lm});
  MakeDownloader();
  ASSERT_OK_AND_ASSIGN(DownloadedArtifact first, Get(server_.Url("/app.tar"), "app"));
  ASSERT_OK_AND_ASSIGN(DownloadedArtifact second, Get(server_.Url("/app.tar"), "app"));
  EXPECT_FALSE(first.from_cache);
  EXPECT_TRUE(second.from_cache);
  ExpectAppTree(second.tar);
  std::vector<SeenRequest> seen = server_.Seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].if_modified_since, lm);
  EXPECT_EQ(seen[1].if_none_match, "");
  EXPECT_EQ(seen[1].status, 304);
}

TEST_F(DownloadTest, A200ReplacesTheStaleEntry) {
  server_.Set("/app.tgz",
              {.body = BuildArchive(Format::kTgz, AppFixture("v1\n")), .etag = "\"v1\""});
  MakeDownloader();
  ASSERT_OK(Get(server_.Url("/app.tgz"), "app").status());

  server_.Set("/app.tgz",
              {.body = BuildArchive(Format::kTgz, AppFixture("version two\n")), .etag = "\"v2\""});
  ASSERT_OK_AND_ASSIGN(DownloadedArtifact second, Get(server_.Url("/app.tgz"), "app"));
  EXPECT_FALSE(second.from_cache);
  EXPECT_GT(second.downloaded_bytes, 0u);
  ExpectAppTree(second.tar, "version two\n");

  ASSERT_OK_AND_ASSIGN(DownloadedArtifact third, Get(server_.Url("/app.tgz"), "app"));
  EXPECT_TRUE(third.from_cache);
  ExpectAppTree(third.tar, "version two\n");

  std::vector<SeenRequest> seen = server_.Seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].if_none_match, "\"v1\"");
  EXPECT_EQ(seen[1].status, 200);
  EXPECT_EQ(seen[2].if_none_match, "\"v2\"");
  EXPECT_EQ(downloader_->Stats().cached_bytes, third.tar.size());
  int tars = 0;
  for (const std::string& f : FilesIn(dir_)) tars += absl::EndsWith(f, ".tar");
  EXPECT_EQ(tars, 1);
}

TEST_F(DownloadTest, NoCacheKeyMeansNoCaching) {
  server_.Set("/app.tgz", {.body = BuildArchive(Format::kTgz, AppFixture()), .etag = "\"v1\""});
  MakeDownloader();
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(DownloadedArtifact a, Get(server_.Url("/app.tgz"), ""));
    EXPECT_FALSE(a.from_cache);
    ExpectAppTree(a.tar);
  }
  for (const SeenRequest& s : server_.Seen()) {
    EXPECT_EQ(s.if_none_match, "");
    EXPECT_EQ(s.status, 200);
  }
  EXPECT_EQ(downloader_->Stats().cached_bytes, 0u);
  EXPECT_THAT(FilesIn(dir_), ::testing::IsEmpty());
  EXPECT_THAT(FilesIn(dir_ + "/tmp"), ::testing::IsEmpty());
}

TEST_F(DownloadTest, ResponsesWithoutValidatorsAreNotCached) {
  server_.Set("/app.tgz", {.body = BuildArchive(Format::kTgz, AppFixture())});
  MakeDownloader();
  ASSERT_OK(Get(server_.Url("/app.tgz"), "app").status());
  ASSERT_OK_AND_ASSIGN(DownloadedArtifact again, Get(server_.Url("/app.tgz"), "app"));
  EXPECT_FALSE(again.from_cache);
  EXPECT_EQ(server_.CountStatus(200), 2);
  EXPECT_EQ(downloader_->Stats().cached_bytes, 0u);
}

TEST_F(DownloadTest, ChecksumsVerifyWithEachAlgorithm) {
  const std::string tgz = BuildArchive(Format::kTgz, AppFixture());
  server_.Set("/app.tgz", {.body = tgz, .etag = "\"v1\""});
  MakeDownloader();
  const std::vector<std::pair<std::string, const EVP_MD*>> algorithms = {
      {"md5", EVP_md5()}, {"sha1", EVP_sha1()}, {"sha256", EVP_sha256()}};
  for (const auto& [alg, md] : algorithms) {
    SCOPED_TRACE(alg);
    ASSERT_OK_AND_ASSIGN(DownloadedArtifact a,
                         Get(server_.Url("/app.tgz"), "", alg, HexDigest(md, tgz)));
    ExpectAppTree(a.tar);
  }
  // Hex is case-insensitive.
  std::string upper = HexDigest(EVP_sha256(), tgz);
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_OK(Get(server_.Url("/app.tgz"), "", "sha256", upper).status());
}

TEST_F(DownloadTest, ChecksumMismatchIsAnErrorAndNothingIsCached) {
  const std::string tgz = BuildArchive(Format::kTgz, AppFixture());
  server_.Set("/app.tgz", {.body = tgz, .etag = "\"v1\""});
  MakeDownloader();
  absl::StatusOr<DownloadedArtifact> a =
      Get(server_.Url("/app.tgz"), "app", "sha256", HexDigest(EVP_sha256(), "other"));
  EXPECT_THAT(a, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum mismatch (sha256)")));
  EXPECT_EQ(downloader_->Stats().cached_bytes, 0u);
  // The next request is not conditional: nothing was cached.
  ASSERT_OK(Get(server_.Url("/app.tgz"), "app").status());
  EXPECT_EQ(server_.Seen().back().if_none_match, "");
}

TEST_F(DownloadTest, UnknownChecksumAlgorithmFailsBeforeFetching) {
  server_.Set("/app.tgz", {.body = BuildArchive(Format::kTgz, AppFixture())});
  MakeDownloader();
  EXPECT_THAT(Get(server_.Url("/app.tgz"), "app", "crc32", "abcd"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("crc32")));
  EXPECT_TRUE(server_.Seen().empty());
  EXPECT_EQ(downloader_->Stats().fetches, 0u);
}

TEST_F(DownloadTest, EtagThatIsAnMd5IsVerified) {
  const std::string tgz = BuildArchive(Format::kTgz, AppFixture());
  server_.Set("/good.tgz",
              {.body = tgz, .etag = absl::StrCat("\"", HexDigest(EVP_md5(), tgz), "\"")});
  server_.Set("/bad.tgz",
              {.body = tgz, .etag = absl::StrCat("\"", HexDigest(EVP_md5(), "x"), "\"")});
  MakeDownloader();
  EXPECT_OK(Get(server_.Url("/good.tgz"), "good").status());
  EXPECT_THAT(Get(server_.Url("/bad.tgz"), "bad"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum mismatch")));
  EXPECT_EQ(server_.Count("/bad.tgz"), 3);  // Diego's three attempts
}

TEST_F(DownloadTest, ConvertsTarTgzAndZipByContent) {
  MakeDownloader();
  const std::vector<std::pair<std::string, Format>> formats = {
      {"tar", Format::kTar}, {"tgz", Format::kTgz}, {"zip", Format::kZip}};
  for (const auto& [name, format] : formats) {
    SCOPED_TRACE(name);
    // The name says nothing: detection is by content.
    const std::string path = absl::StrCat("/artifact-", name);
    server_.Set(path, {.body = BuildArchive(format, AppFixture()), .etag = "\"e\""});
    ASSERT_OK_AND_ASSIGN(DownloadedArtifact a, Get(server_.Url(path), name));
    ExpectAppTree(a.tar);
  }
}

TEST_F(DownloadTest, BadArchivesAreRejectedAndNotCached) {
  std::string noise(50000, '\0');
  uint32_t x = 12345;
  for (char& c : noise) {  // incompressible, so the cut lands inside an entry
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  std::string truncated = BuildArchive(Format::kTgz, AppFixture(noise));
  truncated.resize(truncated.size() / 2);
  server_.Set("/text", {.body = "this is not an archive at all", .etag = "\"t\""});
  server_.Set("/truncated.tgz", {.body = truncated, .etag = "\"t\""});
  MakeDownloader();
  EXPECT_THAT(Get(server_.Url("/text"), "text"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Get(server_.Url("/truncated.tgz"), "trunc"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(downloader_->Stats().cached_bytes, 0u);
  EXPECT_THAT(FilesIn(dir_), ::testing::IsEmpty());
  EXPECT_THAT(FilesIn(dir_ + "/tmp"), ::testing::IsEmpty());
}

TEST_F(DownloadTest, ServerDownIsAnError) {
  const int port = fakes::UnusedLoopbackPort();
  ASSERT_GT(port, 0);
  MakeDownloader();
  absl::StatusOr<DownloadedArtifact> a =
      Get(absl::StrCat("http://127.0.0.1:", port, "/app.tgz"), "app");
  EXPECT_THAT(a, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("request failed")));
  EXPECT_EQ(downloader_->Stats().fetches, 3u);
}

TEST_F(DownloadTest, Non200StatusIsAnError) {
  server_.Set("/boom", {.body = "oops", .status = 500});
  MakeDownloader();
  EXPECT_THAT(Get(server_.Url("/missing"), "m"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unexpected status code 404")));
  EXPECT_THAT(Get(server_.Url("/boom"), "b"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unexpected status code 500")));
  EXPECT_EQ(server_.Count("/boom"), 3);
}

TEST_F(DownloadTest, FollowsRedirects) {
  server_.Set("/old", {.status = 302, .location = "/new/app.tgz"});
  server_.Set("/new/app.tgz", {.body = BuildArchive(Format::kTgz, AppFixture()), .etag = "\"n\""});
  MakeDownloader();
  ASSERT_OK_AND_ASSIGN(DownloadedArtifact a, Get(server_.Url("/old"), "app"));
  ExpectAppTree(a.tar);
  EXPECT_EQ(server_.Count("/new/app.tgz"), 1);
}

TEST_F(DownloadTest, EvictsLeastRecentlyUsedEntries) {
  for (const std::string name : {"a", "b", "c"}) {
    server_.Set("/" + name,
                {.body = BuildArchive(Format::kTar, {{.path = "f", .data = name + name}}),
                 .etag = "\"" + name + "\""});
  }
  // Learn the size of one converted tar (they are all the same size).
  MakeDownloader();
  ASSERT_OK_AND_ASSIGN(DownloadedArtifact probe, Get(server_.Url("/a"), ""));
  const uint64_t size = probe.tar.size();
  MakeDownloader(2 * size + size / 2);  // room for two

  ASSERT_OK(Get(server_.Url("/a"), "a").status());
  ASSERT_OK(Get(server_.Url("/b"), "b").status());
  ASSERT_OK(Get(server_.Url("/a"), "a").status());  // a is now more recent than b
  ASSERT_OK(Get(server_.Url("/c"), "c").status());  // evicts b
  DownloaderStats stats = downloader_->Stats();
  EXPECT_EQ(stats.evictions, 1u);
  EXPECT_EQ(stats.cached_bytes, 2 * size);

  ASSERT_OK_AND_ASSIGN(DownloadedArtifact a, Get(server_.Url("/a"), "a"));
  EXPECT_TRUE(a.from_cache);
  ASSERT_OK_AND_ASSIGN(DownloadedArtifact b, Get(server_.Url("/b"), "b"));
  EXPECT_FALSE(b.from_cache);
  EXPECT_EQ(server_.Seen().back().if_none_match, "");
  EXPECT_LE(downloader_->Stats().cached_bytes, 2 * size + size / 2);
}

TEST_F(DownloadTest, ArtifactLargerThanTheCacheIsReturnedUncached) {
  server_.Set("/app.tgz", {.body = BuildArchive(Format::kTgz, AppFixture()), .etag = "\"v\""});
  MakeDownloader(/*max_bytes=*/100);
  ASSERT_OK_AND_ASSIGN(DownloadedArtifact a, Get(server_.Url("/app.tgz"), "app"));
  ExpectAppTree(a.tar);
  EXPECT_FALSE(a.from_cache);
  EXPECT_EQ(downloader_->Stats().cached_bytes, 0u);
  EXPECT_THAT(FilesIn(dir_), ::testing::IsEmpty());
  ASSERT_OK(Get(server_.Url("/app.tgz"), "app").status());
  EXPECT_EQ(server_.Seen().back().if_none_match, "");
}

TEST_F(DownloadTest, ArtifactThatExpandsPastTheLimitFailsDuringConversion) {
  // 4 MiB of zeros compress to a few KiB.
  const std::string tgz = BuildArchive(
      Format::kTgz, {{.path = "zeros", .type = AE_IFREG, .data = std::string(4 << 20, '\0')}});
  ASSERT_LT(tgz.size(), 64u << 10);
  server_.Set("/bomb.tgz", {.body = tgz, .etag = "\"b\""});
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<CachedDownloader> d,
      CachedDownloader::Create({.cache_dir = dir_, .max_artifact_bytes = 1 << 20}, fetcher_.get()));
  absl::StatusOr<DownloadedArtifact> got =
      d->Download({.url = server_.Url("/bomb.tgz"), .cache_key = "bomb"}, nullptr);
  EXPECT_THAT(got, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(got.status().message(), HasSubstr("artifact too large: "));
  EXPECT_THAT(got.status().message(),
              HasSubstr("bytes after decompression exceeds the limit of 1048576 bytes"));
  EXPECT_THAT(std::string(got.status().message()), Not(HasSubstr("bomb.tgz")));
  EXPECT_EQ(d->Stats().cached_bytes, 0u);

  // The same artifact under a limit it fits in converts.
  ASSERT_OK_AND_ASSIGN(
      d, CachedDownloader::Create({.cache_dir = dir_, .max_artifact_bytes = 8 << 20},
                                  fetcher_.get()));
  ASSERT_OK_AND_ASSIGN(DownloadedArtifact ok,
                       d->Download({.url = server_.Url("/bomb.tgz"), .cache_key = "bomb"}, nullptr));
  EXPECT_GT(ok.tar.size(), 4u << 20);
}

TEST_F(DownloadTest, ARestartReusesCachedEntries) {
  server_.Set("/app.tgz", {.body = BuildArchive(Format::kTgz, AppFixture()), .etag = "\"v1\""});
  MakeDownloader();
  ASSERT_OK_AND_ASSIGN(DownloadedArtifact first, Get(server_.Url("/app.tgz"), "app"));
  downloader_.reset();

  // Debris of a crash: metadata that does not parse, a tar without metadata.
  {
    FILE* f = std::fopen((dir_ + "/garbage.json").c_str(), "w");
    std::fputs("{not json", f);
    std::fclose(f);
    f = std::fopen((dir_ + "/orphan.tar").c_str(), "w");
    std::fputs("orphan", f);
    std::fclose(f);
  }
  MakeDownloader();
  EXPECT_EQ(downloader_->Stats().cached_bytes, first.tar.size());
  EXPECT_THAT(FilesIn(dir_), Not(::testing::Contains("garbage.json")));
  EXPECT_THAT(FilesIn(dir_), Not(::testing::Contains("orphan.tar")));

  ASSERT_OK_AND_ASSIGN(DownloadedArtifact again, Get(server_.Url("/app.tgz"), "app"));
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.tar, first.tar);
  EXPECT_EQ(server_.Seen().back().if_none_match, "\"v1\"");
}

TEST_F(DownloadTest, ConcurrentDownloadsOfOneKeyAreCoalesced) {
  server_.Set("/gated", {.body = BuildArchive(Format::kTgz, AppFixture()), .etag = "\"g\""});
  MakeDownloader();
  constexpr int kClients = 4;
  std::vector<absl::StatusOr<DownloadedArtifact>> results(kClients, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  threads.emplace_back([&] { results[0] = Get(server_.Url("/gated"), "k"); });
  ASSERT_TRUE(fakes::PollUntil([&] { return server_.Count("/gated") == 1; }, absl::Seconds(5)));
  for (int i = 1; i < kClients; ++i) {
    threads.emplace_back([&, i] { results[i] = Get(server_.Url("/gated"), "k"); });
  }
  server_.gate.Notify();
  for (std::thread& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_THAT(r, IsOk());
    ExpectAppTree(r->tar);
  }
  // One unconditional request; the others were coalesced with it (no
  // request) or, arriving after it finished, revalidated (If-None-Match).
  int unconditional = 0;
  for (const SeenRequest& s : server_.Seen()) unconditional += s.if_none_match.empty();
  EXPECT_EQ(unconditional, 1);
  int full = 0;
  for (const auto& r : results) full += !r->from_cache;
  EXPECT_EQ(full, 1);
}

TEST_F(DownloadTest, CancellationAbortsASlowTransfer) {
  MakeDownloader();
  absl::Notification cancel;
  absl::StatusOr<DownloadedArtifact> result = absl::UnknownError("not run");
  std::thread t([&] {
    result = downloader_->Download({.url = server_.Url("/slow"), .cache_key = "slow"}, &cancel);
  });
  ASSERT_TRUE(server_.first_chunk_sent.WaitForNotificationWithTimeout(absl::Seconds(10)));
  cancel.Notify();
  t.join();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(server_.Count("/slow"), 1);  // a cancel is not retried
  EXPECT_THAT(FilesIn(dir_ + "/tmp"), ::testing::IsEmpty());
}

TEST_F(DownloadTest, CancelledBeforeStartFetchesNothing) {
  MakeDownloader();
  absl::Notification cancel;
  cancel.Notify();
  EXPECT_THAT(downloader_->Download({.url = server_.Url("/x"), .cache_key = "x"}, &cancel),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_TRUE(server_.Seen().empty());
}

TEST_F(DownloadTest, ErrorsNeverContainTheUrl) {
  server_.Set("/bad.tgz", {.body = "garbage", .etag = "\"x\""});
  server_.Set("/ok.tgz", {.body = BuildArchive(Format::kTgz, AppFixture()), .etag = "\"o\""});
  MakeDownloader();
  const std::string secret = "s3cr3t-pa55";
  const std::string base = absl::StrCat("http://alice:", secret, "@127.0.0.1:", server_.port());
  const int down = fakes::UnusedLoopbackPort();
  const std::vector<std::string> urls = {
      base + "/missing?token=t0k3n",
      base + "/bad.tgz?token=t0k3n",
      absl::StrCat("http://alice:", secret, "@127.0.0.1:", down, "/x?token=t0k3n"),
      absl::StrCat("ftp://alice:", secret, "@127.0.0.1/x?token=t0k3n"),
      absl::StrCat("http://alice:", secret, "@127.0.0.1:99999/x?token=t0k3n"),
  };
  for (const std::string& url : urls) {
    absl::StatusOr<DownloadedArtifact> a = Get(url, "k");
    ASSERT_FALSE(a.ok());
    const std::string message(a.status().message());
    EXPECT_THAT(message, Not(HasSubstr(secret)));
    EXPECT_THAT(message, Not(HasSubstr("t0k3n")));
    EXPECT_THAT(message, Not(HasSubstr("alice")));
  }
  absl::StatusOr<DownloadedArtifact> mismatch =
      Get(base + "/ok.tgz?token=t0k3n", "k", "md5", std::string(32, '0'));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(std::string(mismatch.status().message()), Not(HasSubstr(secret)));
  // The credentials were used as basic auth.
  EXPECT_EQ(server_.Seen().front().authorization,
            absl::StrCat("Basic ", absl::Base64Escape("alice:" + secret)));
}

TEST_F(DownloadTest, HttpsWithAPrivateCa) {
  fakes::TestPki pki(dir_);
  ASSERT_TRUE(pki.Make("ca", "", /*is_ca=*/true, /*server=*/false));
  ASSERT_TRUE(pki.Make("server", "ca", false, true));
  auto tls =
      std::make_unique<httplib::SSLServer>(pki.Cert("server").c_str(), pki.Key("server").c_str());
  ASSERT_TRUE(tls->is_valid());
  ArtifactServer https(std::move(tls));
  https.Set("/app.tgz", {.body = BuildArchive(Format::kTgz, AppFixture()), .etag = "\"s\""});
  const std::string url = absl::StrCat("https://127.0.0.1:", https.port(), "/app.tgz");

  std::unique_ptr<Fetcher> trusting = NewHttpFetcher({.ca_cert_file = pki.Cert("ca")});
  ASSERT_OK_AND_ASSIGN(auto d,
                       CachedDownloader::Create({.cache_dir = dir_ + "/c1"}, trusting.get()));
  ASSERT_OK_AND_ASSIGN(DownloadedArtifact a, d->Download({.url = url, .cache_key = "s"}, nullptr));
  ExpectAppTree(a.tar);

  std::unique_ptr<Fetcher> strict = NewHttpFetcher();
  ASSERT_OK_AND_ASSIGN(auto d2,
                       CachedDownloader::Create({.cache_dir = dir_ + "/c2"}, strict.get()));
  EXPECT_FALSE(d2->Download({.url = url, .cache_key = "s"}, nullptr).ok());

  std::unique_ptr<Fetcher> skipping = NewHttpFetcher({.skip_tls_verify = true});
  ASSERT_OK_AND_ASSIGN(auto d3,
                       CachedDownloader::Create({.cache_dir = dir_ + "/c3"}, skipping.get()));
  EXPECT_OK(d3->Download({.url = url, .cache_key = "s"}, nullptr).status());
}

// A Fetcher that serves bodies from memory; a conditional request for
// `hold_path` blocks until `release` (then answers 304).
class ScriptedFetcher final : public Fetcher {
 public:
  absl::StatusOr<FetchResponse> Fetch(const FetchRequest& request, absl::string_view temp_dir,
                                      absl::Notification*) override {
    if (request.url == hold_path && !request.if_none_match.empty()) {
      held.Notify();
      release.WaitForNotification();
      return FetchResponse{.status = 304};
    }
    const std::string path = absl::StrCat(temp_dir, "/body-", ++n_);
    FILE* f = std::fopen(path.c_str(), "wb");
    const std::string& body = bodies.at(request.url);
    std::fwrite(body.data(), 1, body.size(), f);
    std::fclose(f);
    return FetchResponse{.status = 200,
                         .etag = "\"" + request.url + "\"",
                         .body_path = path,
                         .body_size = body.size()};
  }

  std::map<std::string, std::string> bodies;
  std::string hold_path;
  absl::Notification held, release;

 private:
  std::atomic<int> n_{0};
};

TEST_F(DownloadTest, EntriesInUseAreNeverEvicted) {
  ScriptedFetcher fetcher;
  fetcher.bodies["a"] = BuildArchive(Format::kTar, {{.path = "f", .data = "aa"}});
  fetcher.bodies["b"] = BuildArchive(Format::kTar, {{.path = "f", .data = "bb"}});
  fetcher.hold_path = "a";
  // Room for one converted tar.
  ASSERT_OK_AND_ASSIGN(std::string one, ArchiveToTar([&] {
                         const std::string p = dir_ + "-probe";
                         FILE* f = std::fopen(p.c_str(), "wb");
                         std::fwrite(fetcher.bodies["a"].data(), 1, fetcher.bodies["a"].size(), f);
                         std::fclose(f);
                         return p;
                       }()));
  std::filesystem::remove(dir_ + "-probe");
  ASSERT_OK_AND_ASSIGN(
      auto d, CachedDownloader::Create({.cache_dir = dir_, .max_cache_size_bytes = one.size() + 10},
                                       &fetcher));
  ASSERT_OK(d->Download({.url = "a", .cache_key = "a"}, nullptr).status());

  // A revalidation of "a" is in flight: its entry is in use.
  absl::StatusOr<DownloadedArtifact> a = absl::UnknownError("not run");
  std::thread t([&] { a = d->Download({.url = "a", .cache_key = "a"}, nullptr); });
  ASSERT_TRUE(fetcher.held.WaitForNotificationWithTimeout(absl::Seconds(10)));

  ASSERT_OK_AND_ASSIGN(DownloadedArtifact b, d->Download({.url = "b", .cache_key = "b"}, nullptr));
  EXPECT_FALSE(b.from_cache);
  EXPECT_EQ(d->Stats().evictions, 0u);  // "a" could not go: "b" stays uncached
  EXPECT_EQ(d->Stats().cached_bytes, one.size());

  fetcher.release.Notify();
  t.join();
  ASSERT_THAT(a, IsOk());
  EXPECT_TRUE(a->from_cache);
  EXPECT_EQ(a->tar, one);
}

TEST_F(DownloadTest, CreateRequiresACacheDir) {
  EXPECT_THAT(CachedDownloader::Create({}, fetcher_.get()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cache_dir")));
}

// ---- Free functions -----------------------------------------------------------

TEST(VerifyChecksumOfFileTest, AlgorithmsMismatchAndMissingFile) {
  const std::string dir = fakes::FreshTestDir("sum");
  const std::string path = dir + "/f";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("abc", f);
  std::fclose(f);
  EXPECT_OK(VerifyChecksumOfFile(path, "md5", "900150983cd24fb0d6963f7d28e17f72"));
  EXPECT_OK(VerifyChecksumOfFile(path, "sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"));
  EXPECT_OK(VerifyChecksumOfFile(
      path, "sha256", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  EXPECT_THAT(VerifyChecksumOfFile(path, "md5", "00"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum mismatch (md5)")));
  EXPECT_THAT(VerifyChecksumOfFile(path, "sha512", "00"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sha512")));
  EXPECT_FALSE(VerifyChecksumOfFile(dir + "/missing", "md5", "00").ok());
  std::filesystem::remove_all(dir);
}

TEST(ArchiveToTarTest, RejectsWhatIsNotAnArchive) {
  const std::string dir = fakes::FreshTestDir("conv");
  const std::string path = dir + "/f";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("plain text", f);
  std::fclose(f);
  EXPECT_THAT(ArchiveToTar(path), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ArchiveToTar(dir + "/missing"), StatusIs(absl::StatusCode::kInvalidArgument));
  std::filesystem::remove_all(dir);
}

TEST(ArchiveToTarTest, StopsAtTheLimitForEveryFormat) {
  const std::string dir = fakes::FreshTestDir("limit");
  for (Format format : {Format::kTar, Format::kTgz, Format::kZip}) {
    const std::string archive = BuildArchive(
        format, {{.path = "a", .type = AE_IFREG, .data = std::string(300 << 10, '\0')},
                 {.path = "b", .type = AE_IFREG, .data = std::string(300 << 10, '\0')}});
    const std::string path = dir + "/archive";
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(archive.data(), 1, archive.size(), f);
    std::fclose(f);
    absl::StatusOr<std::string> tar = ArchiveToTar(path, 400 << 10);
    EXPECT_THAT(tar, StatusIs(absl::StatusCode::kResourceExhausted,
                              HasSubstr("exceeds the limit of 409600 bytes")))
        << static_cast<int>(format);
    ASSERT_OK_AND_ASSIGN(std::string whole, ArchiveToTar(path, 1 << 20));
    EXPECT_GT(whole.size(), 600u << 10);
  }
  std::filesystem::remove_all(dir);
}

TEST(ByteSizeTest, MatchesGoBytefmt) {
  EXPECT_EQ(ByteSize(0), "0B");
  EXPECT_EQ(ByteSize(1), "1B");
  EXPECT_EQ(ByteSize(512), "512B");
  EXPECT_EQ(ByteSize(1023), "1023B");
  EXPECT_EQ(ByteSize(1024), "1K");
  EXPECT_EQ(ByteSize(1025), "1K");
  EXPECT_EQ(ByteSize(1536), "1.5K");
  EXPECT_EQ(ByteSize(100 * 1024 + 512), "100.5K");
  EXPECT_EQ(ByteSize(uint64_t{3} << 19), "1.5M");
  EXPECT_EQ(ByteSize(uint64_t{100} << 20), "100M");
  EXPECT_EQ(ByteSize(uint64_t{2} << 30), "2G");
  EXPECT_EQ(ByteSize(uint64_t{21} << 39), "10.5T");
  EXPECT_EQ(ByteSize(uint64_t{10} << 50), "10P");
  EXPECT_EQ(ByteSize(~uint64_t{0}), "16E");
}

}  // namespace
}  // namespace diego::actions
