// Copyright 2026 The libdiego Authors.

#include "diego/testing/linux_test_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "diego/base/clock.h"

namespace diego::fakes {
namespace {

namespace fs = std::filesystem;

// Runs argv, returns its stdout; error on a non-zero exit.
absl::StatusOr<std::string> RunCapture(const std::vector<std::string>& argv) {
  int out[2];
  if (pipe(out) != 0) return absl::InternalError("pipe failed");
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  std::string result;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) result.append(buf, n);
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(argv[0], " failed (status ", status, ")"));
  }
  return result;
}

absl::Status WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream f(path);
  f << content;
  f.close();
  if (!f) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

}  // namespace

bool RunningAsRoot() { return geteuid() == 0; }

bool RootTestsMayBeSkipped() {
  const char* v = std::getenv("DIEGO_SKIP_ROOT_TESTS");
  return v != nullptr && std::string(v) == "1";
}

absl::StatusOr<std::string> StaticBusyboxPath() {
  const std::string path = "/bin/busybox";
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return absl::FailedPreconditionError(
        "/bin/busybox not found: install Debian's busybox-static package");
  }
  // A static ELF has no PT_INTERP; `busybox` from busybox-static says so in
  // its banner too, but the cheap check is that it runs with an empty env and
  // lists its applets.
  auto list = RunCapture({path, "--list"});
  if (!list.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("/bin/busybox does not run: ", list.status().message()));
  }
  return path;
}

absl::Status BuildBusyboxRootfs(const std::string& dir) {
  auto busybox = StaticBusyboxPath();
  if (!busybox.ok()) return busybox.status();
  auto applets = RunCapture({*busybox, "--list"});
  if (!applets.ok()) return applets.status();

  std::error_code ec;
  fs::path root(dir);
  fs::create_directories(root, ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir ", dir, ": ", ec.message()));
  for (const char* d : {"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "dev", "sys",
                        "root", "home/vcap", "var/log", "run", "tmp"}) {
    fs::create_directories(root / d, ec);
    if (ec) return absl::InternalError(absl::StrCat("mkdir ", d, ": ", ec.message()));
  }
  chmod((root / "tmp").c_str(), 01777);
  chown((root / "home/vcap").c_str(), 2000, 2000);
  fs::copy_file(*busybox, root / "bin/busybox", fs::copy_options::overwrite_existing, ec);
  if (ec) return absl::InternalError(absl::StrCat("copy busybox: ", ec.message()));
  chmod((root / "bin/busybox").c_str(), 0755);
  for (absl::string_view applet : absl::StrSplit(*applets, '\n', absl::SkipWhitespace())) {
    std::string name(absl::StripAsciiWhitespace(applet));
    if (name.empty() || name == "busybox") continue;
    fs::create_symlink("busybox", root / "bin" / name, ec);
    ec.clear();  // an applet listed twice is fine
  }
  absl::Status s = WriteFile(root / "etc/passwd",
                             "root:x:0:0:root:/root:/bin/sh\n"
                             "vcap:x:2000:2000::/home/vcap:/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  if (!s.ok()) return s;
  s = WriteFile(root / "etc/group", "root:x:0:\nvcap:x:2000:\nnogroup:x:65534:\n");
  if (!s.ok()) return s;
  return WriteFile(root / "etc/hostname", "busybox\n");
}

absl::Status TarDirectory(const std::string& dir, const std::string& tar_path, bool gzip) {
  auto busybox = StaticBusyboxPath();
  if (!busybox.ok()) return busybox.status();
  std::vector<std::string> argv = {*busybox, "tar", gzip ? "-czf" : "-cf", tar_path, "-C", dir,
                                   "."};
  auto out = RunCapture(argv);
  return out.ok() ? absl::OkStatus() : out.status();
}

std::string FreshTestDir(const std::string& suffix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info != nullptr ? absl::StrCat(info->test_suite_name(), ".", info->name())
                                     : std::string("test");
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  fs::path p = fs::path(::testing::TempDir()) /
               absl::StrCat("diego-", getpid(), "-", name, suffix);
  std::error_code ec;
  fs::remove_all(p, ec);
  fs::create_directories(p, ec);
  return p.string();
}

BusyboxSuiteTree::BusyboxSuiteTree(std::string base)
    : base_(std::move(base)), rootfs_(base_ + "/busybox") {}

absl::StatusOr<std::unique_ptr<BusyboxSuiteTree>> BusyboxSuiteTree::Create(
    absl::string_view prefix) {
  std::unique_ptr<BusyboxSuiteTree> tree(
      new BusyboxSuiteTree(absl::StrCat(::testing::TempDir(), prefix, ::getpid())));
  std::error_code ec;
  fs::remove_all(tree->base_, ec);
  fs::create_directories(tree->base_, ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir ", tree->base_, ": ", ec.message()));
  absl::Status built = BuildBusyboxRootfs(tree->rootfs_);
  if (!built.ok()) return built;
  return tree;
}

BusyboxSuiteTree::~BusyboxSuiteTree() {
  if (absl::StrContains(ReadFileOrEmpty("/proc/self/mountinfo"), base_)) return;
  std::error_code ec;
  fs::remove_all(base_, ec);
}

void OutputBuffer::Append(absl::string_view s) {
  absl::MutexLock lock(&mu_);
  text_.append(s.data(), s.size());
}

std::string OutputBuffer::Text() const {
  absl::MutexLock lock(&mu_);
  return text_;
}

garden::ProcessSpec Sh(const std::string& script, const std::string& user) {
  garden::ProcessSpec spec;
  spec.path = "/bin/sh";
  spec.args = {"-c", script};
  spec.user = user;
  return spec;
}

absl::StatusOr<RunResult> RunIn(garden::Container& c, const garden::ProcessSpec& spec,
                                absl::Duration timeout) {
  auto out = std::make_shared<OutputBuffer>();
  auto err = std::make_shared<OutputBuffer>();
  garden::ProcessIO io;
  io.stdin_data = "";
  io.stdout_sink = [out](absl::string_view s) { out->Append(s); };
  io.stderr_sink = [err](absl::string_view s) { err->Append(s); };
  absl::StatusOr<std::unique_ptr<garden::Process>> p = c.Run(spec, io);
  if (!p.ok()) return p.status();
  absl::StatusOr<int> code = (*p)->Wait(Clock::Real()->Now() + timeout);
  if (!code.ok()) return code.status();
  return RunResult{*code, out->Text(), err->Text()};
}

std::pair<int, std::string> HostSh(const std::string& command) {
  std::string output;
  FILE* f = ::popen(("{ " + command + "; } 2>&1").c_str(), "r");
  if (f == nullptr) return {-1, "popen failed"};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) output.append(buf, n);
  int status = ::pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string HttpGet(const std::string& ip, int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  struct timeval tv {2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string req = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: x\r\n\r\n");
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, n);
    }
  }
  ::close(fd);
  return response;
}

}  // namespace diego::fakes
