// Copyright 2026 The libdiego Authors.
//
// RootfsManager and StreamIn/StreamOut against the real kernel (root only):
// images (directories, tarballs, uid-shifted copies), overlay mounts, disk
// usage, and tar streams through diego-garden-nstar into a process chrooted
// into a mounted rootfs.

#include "rootfs.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "diego/testing/linux_test_env.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::garden {
namespace {

namespace fs = std::filesystem;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::HasSubstr;

constexpr uint32_t kUidStart = 100000;
constexpr uint32_t kUidLength = 65536;
constexpr uint32_t kVcap = 2000;

std::string NstarPath() { return std::string(DIEGO_GARDEN_HELPER_DIR) + "/diego-garden-nstar"; }

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
}

struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Mount points from /proc/self/mountinfo (octal escapes decoded).
std::vector<std::string> MountPoints() {
  std::vector<std::string> result;
  std::istringstream in(ReadFile("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() < 5) continue;
    std::string decoded;
    for (size_t i = 0; i < f[4].size(); ++i) {
      if (f[4][i] == '\\' && i + 3 < f[4].size()) {
        decoded += static_cast<char>(std::stoi(f[4].substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        decoded += f[4][i];
      }
    }
    result.push_back(decoded);
  }
  return result;
}

bool IsMounted(const std::string& path) {
  for (const std::string& m : MountPoints()) {
    if (m == path) return true;
  }
  return false;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// A minimal ustar writer, so tests can craft any entry (including hostile ones).
class TarBuilder {
 public:
  void Dir(const std::string& name, int mode = 0755) { Header(name, mode, 0, '5', ""); }
  void File(const std::string& name, const std::string& data, int mode = 0644) {
    Header(name, mode, data.size(), '0', "");
    out_ += data;
    out_.append((512 - data.size() % 512) % 512, '\0');
  }
  void Symlink(const std::string& name, const std::string& target) {
    Header(name, 0777, 0, '2', target);
  }
  std::string Finish() { return out_ + std::string(1024, '\0'); }

 private:
  void Octal(char* field, size_t width, uint64_t value) {
    std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1),
                  static_cast<unsigned long long>(value));
  }
  void Header(const std::string& name, int mode, size_t size, char type, const std::string& link) {
    char h[512] = {};
    std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
    Octal(h + 100, 8, mode);
    Octal(h + 108, 8, 0);
    Octal(h + 116, 8, 0);
    Octal(h + 124, 12, size);
    Octal(h + 136, 12, 1700000000);
    std::memset(h + 148, ' ', 8);
    h[156] = type;
    std::memcpy(h + 157, link.data(), std::min<size_t>(link.size(), 100));
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    out_.append(h, 512);
  }
  std::string out_;
};

struct TarEntry {
  char type = '0';
  uint32_t mode = 0;
  uint64_t uid = 0;
  uint64_t gid = 0;
  std::string data;
  std::string link;
};

uint64_t ParseNumber(const char* field, size_t width) {
  if (static_cast<unsigned char>(field[0]) & 0x80) {  // base-256
    uint64_t v = static_cast<unsigned char>(field[0]) & 0x7f;
    for (size_t i = 1; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(field[i]);
    return v;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < width && field[i] != '\0'; ++i) {
    if (field[i] >= '0' && field[i] <= '7') v = v * 8 + static_cast<uint64_t>(field[i] - '0');
  }
  return v;
}

// A minimal tar reader (ustar + pax 'x' records + GNU long names). Names lose
// a trailing '/'.
std::map<std::string, TarEntry> ParseTar(const std::string& tar) {
  std::map<std::string, TarEntry> entries;
  std::map<std::string, std::string> pax;
  std::string long_name;
  size_t pos = 0;
  while (pos + 512 <= tar.size()) {
    const char* h = tar.data() + pos;
    if (std::all_of(h, h + 512, [](char c) { return c == '\0'; })) break;
    TarEntry e;
    std::string name(h, strnlen(h, 100));
    std::string prefix(h + 345, strnlen(h + 345, 155));
    if (!prefix.empty()) name = prefix + "/" + name;
    e.mode = static_cast<uint32_t>(ParseNumber(h + 100, 8));
    e.uid = ParseNumber(h + 108, 8);
    e.gid = ParseNumber(h + 116, 8);
    uint64_t size = ParseNumber(h + 124, 12);
    e.type = h[156] == '\0' ? '0' : h[156];
    e.link.assign(h + 157, strnlen(h + 157, 100));
    pos += 512;
    std::string data = tar.substr(pos, size);
    pos += (size + 511) / 512 * 512;
    if (e.type == 'x' || e.type == 'g') {
      if (e.type == 'g') continue;
      size_t p = 0;
      while (p < data.size()) {
        size_t space = data.find(' ', p);
        size_t len = std::stoul(data.substr(p, space - p));
        std::string record = data.substr(space + 1, len - (space + 1 - p) - 1);
        size_t eq = record.find('=');
        pax[record.substr(0, eq)] = record.substr(eq + 1);
        p += len;
      }
      continue;
    }
    if (e.type == 'L') {
      long_name = data.c_str();
      continue;
    }
    if (!long_name.empty()) name = std::exchange(long_name, "");
    if (pax.count("path")) name = pax["path"];
    if (pax.count("linkpath")) e.link = pax["linkpath"];
    if (pax.count("uid")) e.uid = std::stoull(pax["uid"]);
    if (pax.count("gid")) e.gid = std::stoull(pax["gid"]);
    pax.clear();
    e.data = std::move(data);
    while (name.size() > 1 && name.back() == '/') name.pop_back();
    entries[name] = std::move(e);
  }
  return entries;
}

// A process whose root is `rootfs` (own mount namespace, chrooted, paused):
// what nstar needs from a container's init. With `uid_map_length` > 0 it is
// also in its own user namespace mapping container ids [0, length) to host
// ids [start, start + length), as an unprivileged container's init is.
class FakeContainer {
 public:
  static std::unique_ptr<FakeContainer> Start(const std::string& rootfs,
                                              uint32_t uid_map_start = 0,
                                              uint32_t uid_map_length = 0) {
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) != 0) return nullptr;
    pid_t pid = fork();
    if (pid < 0) return nullptr;
    if (pid == 0) {
      close(sync[0]);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int flags = CLONE_NEWNS | (uid_map_length > 0 ? CLONE_NEWUSER : 0);
      if (unshare(flags) != 0) _exit(10);
      if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(11);
      if (chroot(rootfs.c_str()) != 0 || chdir("/") != 0) _exit(12);
      if (write(sync[1], "k", 1) != 1) _exit(13);
      close(sync[1]);
      while (true) pause();
    }
    close(sync[1]);
    char c = 0;
    ssize_t n = read(sync[0], &c, 1);
    close(sync[0]);
    auto container = std::unique_ptr<FakeContainer>(new FakeContainer(pid));
    if (n != 1) return nullptr;  // the destructor reaps the failed child
    if (uid_map_length > 0) {
      const std::string map = absl::StrCat("0 ", uid_map_start, " ", uid_map_length, "\n");
      for (const char* file : {"uid_map", "gid_map"}) {
        const std::string path = absl::StrCat("/proc/", pid, "/", file);
        int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return nullptr;
        const bool ok = write(fd, map.data(), map.size()) == static_cast<ssize_t>(map.size());
        close(fd);
        if (!ok) return nullptr;
      }
    }
    return container;
  }
  ~FakeContainer() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  explicit FakeContainer(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

class RootfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DIEGO_REQUIRE_ROOT();
    base_ = fakes::FreshTestDir("");
    image_ = base_ + "/busybox";
    ASSERT_THAT(fakes::BuildBusyboxRootfs(image_), IsOk());
    options_.image_dir = base_ + "/images";
    options_.nstar_binary = NstarPath();
    options_.uid_map_start = kUidStart;
    options_.uid_map_length = kUidLength;
  }

  void TearDown() override {
    if (base_.empty()) return;
    std::vector<std::string> mounts;
    for (const std::string& m : MountPoints()) {
      if (absl::StartsWith(m, base_ + "/")) mounts.push_back(m);
    }
    for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  std::vector<std::string> ImageDirEntries() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(options_.image_dir, ec)) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }

  std::string base_;
  std::string image_;
  RootfsOptions options_;
};

TEST_F(RootfsTest, DirectoryImageIsUsedInPlaceWhenPrivileged) {
  RootfsManager manager(options_);
  ASSERT_OK_AND_ASSIGN(std::string plain, manager.PrepareImage(image_, true));
  EXPECT_EQ(plain, image_);
  ASSERT_OK_AND_ASSIGN(std::string raw, manager.PrepareImage("raw://" + image_ + "/", true));
  EXPECT_EQ(raw, image_);
  EXPECT_FALSE(Exists(options_.image_dir));  // nothing was copied
}

TEST_F(RootfsTest, RejectsUnsupportedSchemesAndMissingImages) {
  RootfsManager manager(options_);
  EXPECT_THAT(manager.PrepareImage("docker:///cloudfoundry/cflinuxfs4", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("image.uri")));
  EXPECT_THAT(manager.PrepareImage("oci://x", false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("image.uri")));
  EXPECT_THAT(manager.PrepareImage(base_ + "/missing", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("image.uri")));
  EXPECT_THAT(manager.PrepareImage("relative/path", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("image.uri")));
  EXPECT_THAT(manager.PrepareImage("", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("image.uri")));
  WriteFile(base_ + "/notatar.zip", "PK");
  EXPECT_THAT(manager.PrepareImage(base_ + "/notatar.zip", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("image.uri")));
  WriteFile(base_ + "/corrupt.tar", std::string(4096, 'x'));
  EXPECT_THAT(manager.PrepareImage(base_ + "/corrupt.tar", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("corrupt.tar")));
  for (const std::string& name : ImageDirEntries()) {
    EXPECT_FALSE(absl::StartsWith(name, ".tmp-")) << name;
    EXPECT_FALSE(absl::StartsWith(name, "tar-")) << name;
  }
}

TEST_F(RootfsTest, TarballImagesAreExtractedOnceAndReused) {
  for (bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "tar.gz" : "tar");
    const std::string tarball = base_ + (gzip ? "/image.tgz" : "/image.tar");
    ASSERT_THAT(fakes::TarDirectory(image_, tarball, gzip), IsOk());
    RootfsManager manager(options_);
    ASSERT_OK_AND_ASSIGN(std::string lower, manager.PrepareImage(tarball, true));
    EXPECT_TRUE(absl::StartsWith(lower, options_.image_dir + "/tar-")) << lower;
    EXPECT_EQ(ReadFile(lower + "/bin/busybox"), ReadFile(image_ + "/bin/busybox"));
    EXPECT_EQ(Lstat(lower + "/bin/busybox").st_mode & 07777, 0755u);
    EXPECT_EQ(Lstat(lower + "/home/vcap").st_uid, kVcap);
    EXPECT_EQ(Lstat(lower + "/tmp").st_mode & 07777, 01777u);
    EXPECT_TRUE(S_ISLNK(Lstat(lower + "/bin/sh").st_mode));
    const ino_t ino = Lstat(lower).st_ino;

    // Reused: same directory, same inode, also from another manager.
    RootfsManager other(options_);
    ASSERT_OK_AND_ASSIGN(std::string again, other.PrepareImage("raw://" + tarball, true));
    EXPECT_EQ(again, lower);
    EXPECT_EQ(Lstat(again).st_ino, ino);

    // A changed tarball (new mtime) is a new image.
    struct timespec times[2] = {{0, UTIME_OMIT}, {1600000000, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, tarball.c_str(), times, 0), 0);
    ASSERT_OK_AND_ASSIGN(std::string changed, manager.PrepareImage(tarball, true));
    EXPECT_NE(changed, lower);
    EXPECT_TRUE(Exists(changed + "/bin/busybox"));
  }
}

TEST_F(RootfsTest, UnprivilegedImagesAreShiftedCopies) {
  // Extra cases in the source: a hard link, a setuid file, a device node, a
  // fifo and an id outside the map.
  ASSERT_EQ(link((image_ + "/bin/busybox").c_str(), (image_ + "/bin/busybox-hard").c_str()), 0);
  WriteFile(image_ + "/bin/suid", "#!/bin/sh\n");
  ASSERT_EQ(chmod((image_ + "/bin/suid").c_str(), 04755), 0);
  ASSERT_EQ(mknod((image_ + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(mkfifo((image_ + "/run/fifo").c_str(), 0640), 0);
  WriteFile(image_ + "/etc/outsider", "x");
  ASSERT_EQ(chown((image_ + "/etc/outsider").c_str(), 70000, 70000), 0);

  RootfsManager manager(options_);
  ASSERT_OK_AND_ASSIGN(std::string lower, manager.PrepareImage(image_, false));
  EXPECT_TRUE(absl::StartsWith(lower, options_.image_dir + "/shift-")) << lower;

  EXPECT_EQ(Lstat(lower).st_uid, kUidStart);
  EXPECT_EQ(Lstat(lower).st_mode & 07777, Lstat(image_).st_mode & 07777);
  struct stat busybox = Lstat(lower + "/bin/busybox");
  EXPECT_EQ(busybox.st_uid, kUidStart);
  EXPECT_EQ(busybox.st_gid, kUidStart);
  EXPECT_EQ(busybox.st_mode & 07777, 0755u);
  EXPECT_EQ(ReadFile(lower + "/bin/busybox"), ReadFile(image_ + "/bin/busybox"));
  EXPECT_EQ(Lstat(lower + "/bin/busybox-hard").st_ino, busybox.st_ino);
  EXPECT_EQ(busybox.st_nlink, 2u);
  EXPECT_EQ(Lstat(lower + "/home/vcap").st_uid, kUidStart + kVcap);
  EXPECT_EQ(Lstat(lower + "/home/vcap").st_gid, kUidStart + kVcap);
  EXPECT_EQ(Lstat(lower + "/tmp").st_mode & 07777, 01777u);
  EXPECT_EQ(Lstat(lower + "/bin/suid").st_mode & 07777, 04755u);
  struct stat sh = Lstat(lower + "/bin/sh");
  EXPECT_TRUE(S_ISLNK(sh.st_mode));
  EXPECT_EQ(sh.st_uid, kUidStart);
  EXPECT_EQ(fs::read_symlink(lower + "/bin/sh").string(), "busybox");
  EXPECT_FALSE(Exists(lower + "/dev/null"));  // device nodes are skipped
  EXPECT_TRUE(S_ISFIFO(Lstat(lower + "/run/fifo").st_mode));
  EXPECT_EQ(Lstat(lower + "/run/fifo").st_mode & 07777, 0640u);
  EXPECT_EQ(Lstat(lower + "/etc/outsider").st_uid, kUidStart + 65534);
  EXPECT_EQ(Lstat(lower + "/bin/busybox").st_mtim.tv_sec,
            Lstat(image_ + "/bin/busybox").st_mtim.tv_sec);
  // The source is untouched.
  EXPECT_EQ(Lstat(image_ + "/bin/busybox").st_uid, 0u);

  // Cached.
  const ino_t ino = Lstat(lower).st_ino;
  ASSERT_OK_AND_ASSIGN(std::string again, manager.PrepareImage(image_, false));
  EXPECT_EQ(again, lower);
  EXPECT_EQ(Lstat(again).st_ino, ino);
  // A different map is a different copy.
  RootfsOptions other_map = options_;
  other_map.uid_map_start = 200000;
  RootfsManager other(other_map);
  ASSERT_OK_AND_ASSIGN(std::string other_lower, other.PrepareImage(image_, false));
  EXPECT_NE(other_lower, lower);
  EXPECT_EQ(Lstat(other_lower + "/home/vcap").st_uid, 200000u + kVcap);
}

TEST_F(RootfsTest, UnprivilegedTarballImage) {
  const std::string tarball = base_ + "/image.tar.gz";
  ASSERT_THAT(fakes::TarDirectory(image_, tarball, true), IsOk());
  RootfsManager manager(options_);
  ASSERT_OK_AND_ASSIGN(std::string lower, manager.PrepareImage(tarball, false));
  EXPECT_EQ(Lstat(lower + "/home/vcap").st_uid, kUidStart + kVcap);
  EXPECT_EQ(Lstat(lower + "/bin/busybox").st_uid, kUidStart);
  // Both the extracted tarball and its shifted copy are cached.
  int tars = 0, shifts = 0;
  for (const std::string& name : ImageDirEntries()) {
    tars += absl::StartsWith(name, "tar-");
    shifts += absl::StartsWith(name, "shift-");
  }
  EXPECT_EQ(tars, 1);
  EXPECT_EQ(shifts, 1);
}

TEST_F(RootfsTest, ConcurrentPreparesBuildOnce) {
  const std::string tarball = base_ + "/image.tar";
  ASSERT_THAT(fakes::TarDirectory(image_, tarball, false), IsOk());
  RootfsManager first(options_), second(options_);
  constexpr int kThreads = 6;
  std::vector<absl::StatusOr<std::string>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = (i % 2 == 0 ? first : second).PrepareImage(tarball, false); });
  }
  for (auto& t : threads) t.join();
  ASSERT_THAT(results[0], IsOk());
  for (const auto& r : results) {
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(*r, *results[0]);
  }
  EXPECT_EQ(Lstat(*results[0] + "/home/vcap").st_uid, kUidStart + kVcap);
  int tars = 0, shifts = 0;
  for (const std::string& name : ImageDirEntries()) {
    EXPECT_FALSE(absl::StartsWith(name, ".tmp-")) << name;
    tars += absl::StartsWith(name, "tar-");
    shifts += absl::StartsWith(name, "shift-");
  }
  EXPECT_EQ(tars, 1);
  EXPECT_EQ(shifts, 1);
}

TEST_F(RootfsTest, HalfBuiltImageFromACrashIsRebuilt) {
  RootfsManager manager(options_);
  ASSERT_OK_AND_ASSIGN(std::string lower, manager.PrepareImage(image_, false));
  // Simulate a crash before the rename: only the temporary directory exists,
  // holding part of the copy.
  const std::string name = fs::path(lower).filename().string();
  const std::string tmp = options_.image_dir + "/.tmp-" + name;
  fs::rename(lower, tmp);
  fs::remove_all(tmp + "/bin");
  WriteFile(tmp + "/garbage", "half");

  ASSERT_OK_AND_ASSIGN(std::string rebuilt, manager.PrepareImage(image_, false));
  EXPECT_EQ(rebuilt, lower);
  EXPECT_TRUE(Exists(rebuilt + "/bin/busybox"));
  EXPECT_FALSE(Exists(rebuilt + "/garbage"));
  EXPECT_FALSE(Exists(tmp));
}

TEST_F(RootfsTest, MountIsolatesWritesAndRemoveCleansUp) {
  RootfsManager manager(options_);
  ASSERT_OK_AND_ASSIGN(std::string lower, manager.PrepareImage(image_, true));
  const std::string c1 = base_ + "/c1", c2 = base_ + "/c2";
  ASSERT_OK_AND_ASSIGN(std::string r1, manager.MountRootfs(c1, lower, true));
  ASSERT_OK_AND_ASSIGN(std::string r2, manager.MountRootfs(c2, lower, true));
  EXPECT_EQ(r1, c1 + "/rootfs");
  EXPECT_TRUE(IsMounted(r1));
  EXPECT_TRUE(IsMounted(r2));
  EXPECT_EQ(ReadFile(r1 + "/etc/hostname"), "busybox\n");

  WriteFile(r1 + "/tmp/hello", "from c1");
  WriteFile(r1 + "/etc/hostname", "changed\n");
  EXPECT_EQ(ReadFile(c1 + "/upper/tmp/hello"), "from c1");
  EXPECT_FALSE(Exists(r2 + "/tmp/hello"));
  EXPECT_FALSE(Exists(lower + "/tmp/hello"));
  EXPECT_EQ(ReadFile(r2 + "/etc/hostname"), "busybox\n");
  EXPECT_EQ(ReadFile(lower + "/etc/hostname"), "busybox\n");

  for (const std::string& c : {c1, c2}) {
    ASSERT_THAT(manager.RemoveRootfs(c), IsOk());
    EXPECT_FALSE(IsMounted(c + "/rootfs"));
    EXPECT_FALSE(Exists(c + "/rootfs"));
    EXPECT_FALSE(Exists(c + "/upper"));
    EXPECT_FALSE(Exists(c + "/work"));
    EXPECT_THAT(manager.RemoveRootfs(c), IsOk());  // idempotent
  }
  EXPECT_THAT(manager.RemoveRootfs(base_ + "/never-mounted"), IsOk());
  EXPECT_TRUE(Exists(lower + "/bin/busybox"));
}

TEST_F(RootfsTest, MountAndRemoveTimings) {
  RootfsManager manager(options_);
  ASSERT_OK_AND_ASSIGN(std::string lower, manager.PrepareImage(image_, false));
  constexpr int kRounds = 20;
  std::chrono::nanoseconds mount_total{0}, remove_total{0};
  for (int i = 0; i < kRounds; ++i) {
    const std::string dir = absl::StrCat(base_, "/t", i);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_THAT(manager.MountRootfs(dir, lower, false), IsOk());
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_THAT(manager.RemoveRootfs(dir), IsOk());
    auto t2 = std::chrono::steady_clock::now();
    mount_total += t1 - t0;
    remove_total += t2 - t1;
  }
  const double mount_us = mount_total.count() / 1000.0 / kRounds;
  const double remove_us = remove_total.count() / 1000.0 / kRounds;
  std::printf("MountRootfs: %.1f us/op, RemoveRootfs: %.1f us/op (%d rounds)\n", mount_us,
              remove_us, kRounds);
  RecordProperty("mount_rootfs_us", std::to_string(mount_us));
  RecordProperty("remove_rootfs_us", std::to_string(remove_us));
  for (int i = 0; i < kRounds; ++i) {
    EXPECT_FALSE(IsMounted(absl::StrCat(base_, "/t", i, "/rootfs")));
  }
}

TEST_F(RootfsTest, UnprivilegedUpperIsOwnedByTheShiftedRoot) {
  RootfsManager manager(options_);
  ASSERT_OK_AND_ASSIGN(std::string lower, manager.PrepareImage(image_, false));
  const std::string dir = base_ + "/c";
  ASSERT_OK_AND_ASSIGN(std::string rootfs, manager.MountRootfs(dir, lower, false));
  EXPECT_EQ(Lstat(dir + "/upper").st_uid, kUidStart);
  EXPECT_EQ(Lstat(dir + "/upper").st_gid, kUidStart);
  EXPECT_EQ(Lstat(dir + "/upper").st_mode & 07777, Lstat(lower).st_mode & 07777);
  EXPECT_EQ(Lstat(rootfs).st_uid, kUidStart);

  // The container's root (host uid kUidStart, no capabilities) can write /.
  const std::string written = rootfs + "/written-by-root";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setresgid(kUidStart, kUidStart, kUidStart) != 0 ||
        setresuid(kUidStart, kUidStart, kUidStart) != 0) {
      _exit(2);
    }
    int fd = open(written.c_str(), O_CREAT | O_WRONLY, 0644);
    _exit(fd >= 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(Lstat(dir + "/upper/written-by-root").st_uid, kUidStart);
  EXPECT_FALSE(Exists(lower + "/written-by-root"));
  EXPECT_THAT(manager.RemoveRootfs(dir), IsOk());
}

TEST_F(RootfsTest, RemoveDetachesABusyMount) {
  RootfsManager manager(options_);
  ASSERT_OK_AND_ASSIGN(std::string lower, manager.PrepareImage(image_, true));
  const std::string dir = base_ + "/busy";
  ASSERT_OK_AND_ASSIGN(std::string rootfs, manager.MountRootfs(dir, lower, true));
  int fd = open((rootfs + "/etc/passwd").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_THAT(manager.RemoveRootfs(dir), IsOk());
  EXPECT_FALSE(IsMounted(rootfs));
  EXPECT_FALSE(Exists(rootfs));
  EXPECT_FALSE(Exists(dir + "/upper"));
  close(fd);
}

TEST_F(RootfsTest, FailedMountLeavesNothing) {
  RootfsManager manager(options_);
  const std::string dir = base_ + "/failed";
  EXPECT_THAT(manager.MountRootfs(dir, base_ + "/no-such-image", true),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no-such-image")));
  EXPECT_FALSE(Exists(dir));
  const std::string odd = base_ + "/odd,name";
  ASSERT_TRUE(fs::create_directory(odd));
  EXPECT_THAT(manager.MountRootfs(dir, odd, true), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(Exists(dir));
  // The mount itself fails (overlayfs refuses procfs as a layer): the
  // directories created for it are gone again.
  EXPECT_THAT(manager.MountRootfs(dir, "/proc", true),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("mount overlay")));
  EXPECT_FALSE(Exists(dir));
}

TEST_F(RootfsTest, DiskUsageGrowsWithAWrittenFile) {
  RootfsManager manager(options_);
  ASSERT_OK_AND_ASSIGN(std::string lower, manager.PrepareImage(image_, true));
  const std::string dir = base_ + "/du";
  ASSERT_OK_AND_ASSIGN(std::string rootfs, manager.MountRootfs(dir, lower, true));
  ASSERT_OK_AND_ASSIGN(ContainerDiskStat before, manager.DiskUsage(dir, lower));
  EXPECT_EQ(before.exclusive_inodes_used, 0u);
  EXPECT_EQ(before.exclusive_bytes_used, 0u);
  const uint64_t image_bytes = before.total_bytes_used - before.exclusive_bytes_used;
  const uint64_t image_inodes = before.total_inodes_used - before.exclusive_inodes_used;
  EXPECT_GT(image_bytes, static_cast<uint64_t>(Lstat(image_ + "/bin/busybox").st_size));
  EXPECT_GT(image_inodes, 100u);  // busybox applet links

  constexpr size_t kSize = 1 << 20;
  WriteFile(rootfs + "/tmp/big", RandomBytes(kSize, 7));
  int fd = open((rootfs + "/tmp/big").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fsync(fd), 0);
  close(fd);
  ASSERT_OK_AND_ASSIGN(ContainerDiskStat after, manager.DiskUsage(dir, lower));
  EXPECT_GE(after.exclusive_bytes_used, kSize);
  EXPECT_EQ(after.exclusive_inodes_used, 2u);  // /tmp (copied up) and /tmp/big
  EXPECT_EQ(after.total_bytes_used, after.exclusive_bytes_used + image_bytes);
  EXPECT_EQ(after.total_inodes_used, after.exclusive_inodes_used + image_inodes);

  EXPECT_THAT(manager.RemoveRootfs(dir), IsOk());
  EXPECT_THAT(manager.DiskUsage(dir, lower), StatusIs(absl::StatusCode::kNotFound));
}

// Stream in/out through a process chrooted into a mounted rootfs; the
// parameter is `privileged`.
class StreamTest : public RootfsTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    RootfsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    manager_ = std::make_unique<RootfsManager>(options_);
    ASSERT_OK_AND_ASSIGN(lower_, manager_->PrepareImage(image_, privileged()));
    dir_ = base_ + "/container";
    ASSERT_OK_AND_ASSIGN(rootfs_, manager_->MountRootfs(dir_, lower_, privileged()));
    container_ = privileged() ? FakeContainer::Start(rootfs_)
                              : FakeContainer::Start(rootfs_, kUidStart, kUidLength);
    ASSERT_NE(container_, nullptr);
    target_.nstar_binary = NstarPath();
    target_.init_pid = container_->pid();
    target_.privileged = privileged();
    target_.uid_map_start = kUidStart;
    target_.uid_map_length = kUidLength;
  }

  void TearDown() override {
    container_.reset();
    if (manager_ != nullptr) {
      EXPECT_THAT(manager_->RemoveRootfs(dir_), IsOk());
    }
    RootfsTest::TearDown();
  }

  bool privileged() const { return GetParam(); }
  uint32_t HostId(uint32_t id) const { return privileged() ? id : kUidStart + id; }

  std::unique_ptr<RootfsManager> manager_;
  std::string lower_, dir_, rootfs_;
  std::unique_ptr<FakeContainer> container_;
  StreamTarget target_;
};

TEST_P(StreamTest, RoundTripsFilesDirsSymlinksAndBinaryData) {
  const std::string binary = RandomBytes((3 << 20) + 123, 42);  // > pipe buffers
  TarBuilder tar;
  tar.Dir("d/");
  tar.File("d/a.txt", "hello\n");
  tar.File("d/run.sh", "#!/bin/sh\necho hi\n", 0755);
  tar.Dir("d/sub/", 0750);
  tar.File("d/sub/bin.dat", binary);
  tar.Symlink("d/link", "a.txt");
  ASSERT_THAT(StreamIn(target_, "/home/vcap/dst", "vcap", tar.Finish()), IsOk());

  const std::string dst = rootfs_ + "/home/vcap/dst";
  EXPECT_EQ(Lstat(dst).st_uid, HostId(kVcap));  // created for the user
  EXPECT_EQ(ReadFile(dst + "/d/a.txt"), "hello\n");
  EXPECT_EQ(ReadFile(dst + "/d/sub/bin.dat"), binary);
  EXPECT_EQ(fs::read_symlink(dst + "/d/link").string(), "a.txt");
  for (const char* p : {"/d", "/d/a.txt", "/d/sub", "/d/sub/bin.dat", "/d/link"}) {
    EXPECT_EQ(Lstat(dst + p).st_uid, HostId(kVcap)) << p;
    EXPECT_EQ(Lstat(dst + p).st_gid, HostId(kVcap)) << p;
  }
  EXPECT_EQ(Lstat(dst + "/d/run.sh").st_mode & 0777, 0755u);
  EXPECT_EQ(Lstat(dst + "/d/sub").st_mode & 0777, 0750u);
  EXPECT_FALSE(Exists(lower_ + "/home/vcap/dst"));  // written to the upper layer

  // "/a/b" -> entries "b", "b/...", owned by container ids.
  ASSERT_OK_AND_ASSIGN(std::string out, StreamOut(target_, "/home/vcap/dst/d", "vcap"));
  std::map<std::string, TarEntry> entries = ParseTar(out);
  std::set<std::string> names;
  for (const auto& [name, e] : entries) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"d", "d/a.txt", "d/run.sh", "d/sub", "d/sub/bin.dat",
                                          "d/link"}));
  EXPECT_EQ(entries["d/a.txt"].data, "hello\n");
  EXPECT_EQ(entries["d/sub/bin.dat"].data, binary);
  EXPECT_EQ(entries["d/link"].type, '2');
  EXPECT_EQ(entries["d/link"].link, "a.txt");
  EXPECT_EQ(entries["d"].type, '5');
  EXPECT_EQ(entries["d/run.sh"].mode & 0777, 0755u);
  EXPECT_EQ(entries["d/a.txt"].uid, kVcap);
  EXPECT_EQ(entries["d/a.txt"].gid, kVcap);

  // "/a/b/" -> entries "./...".
  ASSERT_OK_AND_ASSIGN(std::string contents, StreamOut(target_, "/home/vcap/dst/d/", "vcap"));
  std::map<std::string, TarEntry> inner = ParseTar(contents);
  EXPECT_TRUE(inner.count("."));
  EXPECT_EQ(inner["./a.txt"].data, "hello\n");
  EXPECT_EQ(inner["./sub/bin.dat"].data, binary);
  for (const auto& [name, e] : inner) EXPECT_TRUE(absl::StartsWith(name, ".")) << name;

  // A single file; a relative path is relative to the user's home.
  ASSERT_OK_AND_ASSIGN(std::string one, StreamOut(target_, "dst/d/a.txt", "vcap"));
  std::map<std::string, TarEntry> single = ParseTar(one);
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single["a.txt"].data, "hello\n");

  // What came out goes back in elsewhere.
  ASSERT_THAT(StreamIn(target_, "/tmp/copy", "vcap", out), IsOk());
  EXPECT_EQ(ReadFile(rootfs_ + "/tmp/copy/d/sub/bin.dat"), binary);
}

TEST_P(StreamTest, DefaultUserIsRootAndNumericUsersWork) {
  TarBuilder tar;
  tar.File("f", "root's");
  ASSERT_THAT(StreamIn(target_, "/opt/new/deep", "", tar.Finish()), IsOk());
  EXPECT_EQ(Lstat(rootfs_ + "/opt/new/deep/f").st_uid, HostId(0));
  EXPECT_EQ(Lstat(rootfs_ + "/opt").st_uid, HostId(0));
  EXPECT_EQ(Lstat(rootfs_ + "/opt/new/deep").st_uid, HostId(0));

  TarBuilder numeric;
  numeric.File("n", "by uid");
  ASSERT_THAT(StreamIn(target_, "/tmp/numeric", "2000", numeric.Finish()), IsOk());
  EXPECT_EQ(Lstat(rootfs_ + "/tmp/numeric/n").st_uid, HostId(kVcap));

  // Exactly the user's rights: vcap cannot write into root's directory.
  TarBuilder denied;
  denied.File("x", "no");
  EXPECT_THAT(StreamIn(target_, "/opt/new/deep", "vcap", denied.Finish()),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("ermission denied")));
  EXPECT_FALSE(Exists(rootfs_ + "/opt/new/deep/x"));

  EXPECT_THAT(StreamIn(target_, "/tmp", "nosuchuser", TarBuilder().Finish()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nosuchuser")));
}

TEST_P(StreamTest, HelperHasNoMoreRightsThanTheContainersRoot) {
  // A directory owned by host root inside the container, as a bind-mounted
  // host directory would be: outside the map of an unprivileged container.
  ASSERT_EQ(mkdir((rootfs_ + "/hostowned").c_str(), 0755), 0);
  ASSERT_EQ(chown((rootfs_ + "/hostowned").c_str(), 0, 0), 0);
  TarBuilder tar;
  tar.File("f", "x");
  absl::Status status = StreamIn(target_, "/hostowned/new", "vcap", tar.Finish());
  if (privileged()) {
    EXPECT_THAT(status, IsOk());
    EXPECT_EQ(Lstat(rootfs_ + "/hostowned/new/f").st_uid, kVcap);
  } else {
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInternal, HasSubstr("ermission denied")));
    EXPECT_FALSE(Exists(rootfs_ + "/hostowned/new"));
  }
  // Container root may create directories in other users' directories.
  ASSERT_EQ(chmod((rootfs_ + "/home/vcap").c_str(), 0700), 0);
  ASSERT_THAT(StreamIn(target_, "/home/vcap/by-root", "", tar.Finish()), IsOk());
  EXPECT_EQ(Lstat(rootfs_ + "/home/vcap/by-root/f").st_uid, HostId(0));
}

// Garden's stream-in/out run inside the container: its root has the
// (namespaced) capabilities of the container's root, e.g. over a directory
// or a 0600 file of another user.
TEST_P(StreamTest, RootHasTheContainerRootsCapabilities) {
  const std::string home = rootfs_ + "/home/vcap";
  ASSERT_EQ(chown(home.c_str(), HostId(kVcap), HostId(kVcap)), 0);
  ASSERT_EQ(chmod(home.c_str(), 0755), 0);

  TarBuilder by_root;
  by_root.Dir("dir/");
  by_root.File("dir/root.txt", "root's\n");
  by_root.File("top.txt", "top\n");
  ASSERT_THAT(StreamIn(target_, "/home/vcap", "root", by_root.Finish()), IsOk());
  for (const char* p : {"/dir", "/dir/root.txt", "/top.txt"}) {
    EXPECT_EQ(Lstat(home + p).st_uid, HostId(0)) << p;
    EXPECT_EQ(Lstat(home + p).st_gid, HostId(0)) << p;
  }
  EXPECT_EQ(ReadFile(home + "/dir/root.txt"), "root's\n");
  EXPECT_EQ(Lstat(home).st_uid, HostId(kVcap));  // the destination keeps its owner

  TarBuilder by_vcap;
  by_vcap.File("vcap.txt", "vcap's\n");
  ASSERT_THAT(StreamIn(target_, "/home/vcap", "vcap", by_vcap.Finish()), IsOk());
  EXPECT_EQ(Lstat(home + "/vcap.txt").st_uid, HostId(kVcap));
  EXPECT_EQ(Lstat(home + "/vcap.txt").st_gid, HostId(kVcap));

  // A 0600 file of vcap (in a 0700 directory): root reads it, the owner
  // appears with its container id.
  ASSERT_EQ(mkdir((home + "/private").c_str(), 0700), 0);
  WriteFile(home + "/private/secret", "vcap only\n");
  for (const char* p : {"/private", "/private/secret"}) {
    ASSERT_EQ(chown((home + p).c_str(), HostId(kVcap), HostId(kVcap)), 0) << p;
  }
  ASSERT_EQ(chmod((home + "/private/secret").c_str(), 0600), 0);
  ASSERT_OK_AND_ASSIGN(std::string out, StreamOut(target_, "/home/vcap/private/secret", ""));
  std::map<std::string, TarEntry> entries = ParseTar(out);
  ASSERT_EQ(entries.count("secret"), 1u);
  EXPECT_EQ(entries["secret"].data, "vcap only\n");
  EXPECT_EQ(entries["secret"].uid, kVcap);
  EXPECT_EQ(entries["secret"].gid, kVcap);
  EXPECT_EQ(entries["secret"].mode & 0777, 0600u);
  ASSERT_OK_AND_ASSIGN(std::string dir_out, StreamOut(target_, "/home/vcap/private", "root"));
  EXPECT_EQ(ParseTar(dir_out)["private/secret"].data, "vcap only\n");

  // Other users have no capabilities: nobody can neither read nor write there.
  EXPECT_THAT(StreamOut(target_, "/home/vcap/private/secret", "nobody"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("ermission denied")));
  TarBuilder by_nobody;
  by_nobody.File("nobody.txt", "x");
  EXPECT_THAT(StreamIn(target_, "/home/vcap/private", "nobody", by_nobody.Finish()),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("ermission denied")));
  EXPECT_FALSE(Exists(home + "/private/nobody.txt"));

  // The capabilities are the container's: unprivileged, none over a file
  // whose owner is not mapped into the container (host root's).
  ASSERT_EQ(mkdir((rootfs_ + "/hostowned").c_str(), 0755), 0);
  ASSERT_EQ(chown((rootfs_ + "/hostowned").c_str(), 0, 0), 0);
  WriteFile(rootfs_ + "/hostowned/secret", "host\n");
  ASSERT_EQ(chown((rootfs_ + "/hostowned/secret").c_str(), 0, 0), 0);
  ASSERT_EQ(chmod((rootfs_ + "/hostowned/secret").c_str(), 0600), 0);
  TarBuilder into_host;
  into_host.File("f", "x");
  absl::Status in_status = StreamIn(target_, "/hostowned", "", into_host.Finish());
  absl::StatusOr<std::string> out_status = StreamOut(target_, "/hostowned/secret", "");
  if (privileged()) {
    EXPECT_THAT(in_status, IsOk());
    EXPECT_EQ(Lstat(rootfs_ + "/hostowned/f").st_uid, 0u);
    ASSERT_THAT(out_status.status(), IsOk());
    EXPECT_EQ(ParseTar(*out_status)["secret"].data, "host\n");
  } else {
    EXPECT_THAT(in_status, StatusIs(absl::StatusCode::kInternal, HasSubstr("ermission denied")));
    EXPECT_FALSE(Exists(rootfs_ + "/hostowned/f"));
    EXPECT_THAT(out_status.status(),
                StatusIs(absl::StatusCode::kInternal, HasSubstr("ermission denied")));
  }
}

TEST_P(StreamTest, UnprivilegedTargetOutsideAUserNamespaceIsRefused) {
  if (privileged()) {
    // A privileged container needs no user namespace.
    StreamTarget plain = target_;
    EXPECT_THAT(StreamIn(plain, "/tmp/plain", "", TarBuilder().Finish()), IsOk());
    EXPECT_TRUE(Exists(rootfs_ + "/tmp/plain"));
    return;
  }
  std::unique_ptr<FakeContainer> no_userns = FakeContainer::Start(rootfs_);
  ASSERT_NE(no_userns, nullptr);
  StreamTarget wrong = target_;
  wrong.init_pid = no_userns->pid();
  EXPECT_THAT(StreamIn(wrong, "/tmp/wrong", "", TarBuilder().Finish()),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("not in a user namespace")));
  EXPECT_FALSE(Exists(rootfs_ + "/tmp/wrong"));
  EXPECT_THAT(StreamOut(wrong, "/etc/passwd", ""),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("not in a user namespace")));
}

TEST_P(StreamTest, SymlinksCannotEscapeTheContainer) {
  const std::string tag = absl::StrCat("diego-escape-", getpid());
  ASSERT_EQ(symlink("/", (rootfs_ + "/escape").c_str()), 0);
  ASSERT_EQ(symlink("/etc", (rootfs_ + "/hostetc").c_str()), 0);
  ASSERT_EQ(symlink("../../../../../../../..", (rootfs_ + "/tmp/up").c_str()), 0);

  TarBuilder tar;
  tar.File(tag, "x");
  ASSERT_THAT(StreamIn(target_, "/escape/" + tag + "-dir", "", tar.Finish()), IsOk());
  EXPECT_FALSE(Exists("/" + tag + "-dir"));
  EXPECT_TRUE(Exists(rootfs_ + "/" + tag + "-dir/" + tag));

  ASSERT_THAT(StreamIn(target_, "/hostetc", "", tar.Finish()), IsOk());
  EXPECT_FALSE(Exists("/etc/" + tag));
  EXPECT_TRUE(Exists(rootfs_ + "/etc/" + tag));

  ASSERT_THAT(StreamIn(target_, "/tmp/up", "", tar.Finish()), IsOk());
  EXPECT_FALSE(Exists("/" + tag));
  EXPECT_TRUE(Exists(rootfs_ + "/" + tag));

  // Hostile archive members: a symlink to / followed by a file through it,
  // and a ".." path.
  TarBuilder hostile;
  hostile.Symlink("lnk", "/");
  hostile.File("lnk/" + tag + "-via-link", "x");
  // (nstar refuses to extract through a symlink: ARCHIVE_EXTRACT_SECURE_SYMLINKS.)
  EXPECT_THAT(StreamIn(target_, "/tmp/hostile", "", hostile.Finish()),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("Cannot extract through symlink")));
  EXPECT_FALSE(Exists("/" + tag + "-via-link"));
  EXPECT_FALSE(Exists(rootfs_ + "/" + tag + "-via-link"));
  TarBuilder dotdot;
  dotdot.File("../../../../../../../../" + tag + "-dotdot", "x");
  EXPECT_FALSE(StreamIn(target_, "/tmp/hostile", "", dotdot.Finish()).ok());
  EXPECT_FALSE(Exists("/" + tag + "-dotdot"));
  EXPECT_FALSE(Exists(base_ + "/" + tag + "-dotdot"));

  // Out: /escape/etc/passwd is the container's passwd, not the host's.
  ASSERT_OK_AND_ASSIGN(std::string out, StreamOut(target_, "/escape/etc/passwd", ""));
  EXPECT_EQ(ParseTar(out)["passwd"].data, ReadFile(image_ + "/etc/passwd"));
}

TEST_P(StreamTest, StreamOutOfAMissingPathIsAnError) {
  EXPECT_THAT(StreamOut(target_, "/no/such/path", ""),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/no/such/path")));
  EXPECT_THAT(StreamOut(target_, "/etc/missing", "vcap"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/etc/missing")));
  EXPECT_THAT(StreamOut(target_, "/etc/missing/", "vcap"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/etc/missing")));
}

TEST_P(StreamTest, BadTargetsAndArchivesAreErrors) {
  EXPECT_THAT(StreamIn(target_, "/tmp/x", "", "this is not a tar archive, not at all......"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  StreamTarget host = target_;
  host.init_pid = getpid();  // not in a container: its root is the host's
  EXPECT_FALSE(StreamIn(host, "/tmp/x", "", TarBuilder().Finish()).ok());
  EXPECT_FALSE(StreamOut(host, "/etc/passwd", "").ok());
  StreamTarget missing = target_;
  missing.nstar_binary = base_ + "/no-nstar";
  EXPECT_FALSE(StreamOut(missing, "/etc/passwd", "").ok());
}

INSTANTIATE_TEST_SUITE_P(Privileges, StreamTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Privileged" : "Unprivileged";
                         });

}  // namespace
}  // namespace diego::garden
