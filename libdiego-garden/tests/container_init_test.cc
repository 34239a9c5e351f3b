// Copyright 2026 The libdiego Authors.
//
// Real containers (root only): diego-garden-init as pid 1 of a busybox
// rootfs, privileged and unprivileged (user namespace mapping 0 to
// kUidMapStart).

#include "container_init.h"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "diego/garden/errors.h"
#include "diego/testing/child_process.h"
#include "diego/testing/linux_test_env.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::garden {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::ReadFileOrEmpty;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr uint32_t kUidMapStart = 100000;
constexpr uint32_t kUidMapLength = 65536;

absl::Time Soon() { return absl::Now() + absl::Seconds(30); }

std::string InitBinary() { return std::string(DIEGO_GARDEN_HELPER_DIR) + "/diego-garden-init"; }

// Shifts the owner of every file under the tree by `offset` (what the
// RootfsManager does for unprivileged images).
uid_t g_shift_offset = 0;
int ShiftOne(const char* path, const struct stat* st, int, struct FTW*) {
  return lchown(path, st->st_uid + g_shift_offset, st->st_gid + g_shift_offset) == 0 ? 0 : -1;
}
bool ShiftOwnership(const std::string& dir, uid_t offset) {
  g_shift_offset = offset;
  return nftw(dir.c_str(), ShiftOne, 32, FTW_PHYS) == 0;
}

// Thread-safe output collector; sinks keep it alive.
class Output : public std::enable_shared_from_this<Output> {
 public:
  ProcessIO Io(std::optional<std::string> stdin_data) {
    std::shared_ptr<Output> self = shared_from_this();
    ProcessIO io;
    io.stdin_data = std::move(stdin_data);
    io.stdout_sink = [self](absl::string_view d) { self->Append(&self->out_, d); };
    io.stderr_sink = [self](absl::string_view d) { self->Append(&self->err_, d); };
    return io;
  }
  std::string Out() {
    absl::MutexLock lock(&mu_);
    return out_;
  }
  std::string Err() {
    absl::MutexLock lock(&mu_);
    return err_;
  }

 private:
  void Append(std::string* s, absl::string_view d) {
    absl::MutexLock lock(&mu_);
    s->append(d.data(), d.size());
  }
  absl::Mutex mu_;
  std::string out_ ABSL_GUARDED_BY(mu_);
  std::string err_ ABSL_GUARDED_BY(mu_);
};

std::shared_ptr<Output> NewOutput() { return std::make_shared<Output>(); }

MATCHER_P(IsOkAndHolds, value, "") {
  if (!arg.ok()) {
    *result_listener << "which is " << arg.status();
    return false;
  }
  *result_listener << "which holds " << *arg;
  return *arg == value;
}

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

ProcessSpec Cmd(std::string path, std::vector<std::string> args = {}) {
  ProcessSpec spec;
  spec.path = std::move(path);
  spec.args = std::move(args);
  return spec;
}

ProcessSpec Sh(const std::string& script) { return Cmd("sh", {"-c", script}); }

absl::StatusOr<Result> RunToEnd(ContainerInit& init, const ProcessSpec& spec,
                                const std::vector<std::string>& env = {},
                                std::optional<std::string> stdin_data = std::string()) {
  auto output = NewOutput();
  absl::StatusOr<std::unique_ptr<Process>> process =
      init.Run(spec, env, output->Io(std::move(stdin_data)));
  if (!process.ok()) return process.status();
  absl::StatusOr<int> status = (*process)->Wait(Soon());
  if (!status.ok()) return status.status();
  Result r;
  r.status = *status;
  r.out = output->Out();
  r.err = output->Err();
  return r;
}

std::vector<std::string> Fields(absl::string_view s) {
  return absl::StrSplit(s, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
}

// The value of `key` in /proc/<pid>/status-style text.
std::string StatusField(const std::string& text, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, key + ":")) return std::string(absl::StripAsciiWhitespace(line));
  }
  return "";
}

class ContainerInitTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    DIEGO_REQUIRE_ROOT();
    dir_ = fakes::FreshTestDir("");
    rootfs_ = dir_ + "/rootfs";
    ASSERT_THAT(fakes::BuildBusyboxRootfs(rootfs_), IsOk());
    if (!privileged()) {
      ASSERT_TRUE(ShiftOwnership(rootfs_, kUidMapStart));
    }
  }

  void TearDown() override {
    if (init_ != nullptr) {
      EXPECT_THAT(init_->Kill(), IsOk());
      init_.reset();
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  bool privileged() const { return GetParam(); }

  InitConfig Config(const std::string& handle = "") {
    InitConfig c;
    c.init_binary = InitBinary();
    c.handle = handle.empty() ? absl::StrCat("ci-", getpid()) : handle;
    c.container_dir = dir_;
    c.rootfs = rootfs_;
    c.privileged = privileged();
    c.uid_map_start = kUidMapStart;
    c.uid_map_length = kUidMapLength;
    return c;
  }

  void Start(const InitConfig& config) {
    absl::StatusOr<std::unique_ptr<ContainerInit>> init = ContainerInit::Start(config);
    ASSERT_THAT(init, IsOk());
    init_ = std::move(*init);
  }

  Result MustRun(const ProcessSpec& spec, const std::vector<std::string>& env = {},
                 std::optional<std::string> stdin_data = std::string()) {
    absl::StatusOr<Result> r = RunToEnd(*init_, spec, env, std::move(stdin_data));
    EXPECT_THAT(r, IsOk()) << spec.path;
    return r.ok() ? *r : Result();
  }

  std::string dir_;
  std::string rootfs_;
  std::unique_ptr<ContainerInit> init_;
};

INSTANTIATE_TEST_SUITE_P(Modes, ContainerInitTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Privileged" : "Unprivileged";
                         });

TEST_P(ContainerInitTest, RunsEchoAndCollectsStdoutAndStderr) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  EXPECT_GT(init_->Pid(), 0);
  EXPECT_TRUE(init_->Alive());
  Result r = MustRun(Cmd("echo", {"hello", "world"}));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "hello world\n");
  r = MustRun(Sh("echo out; echo err >&2"));
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST_P(ContainerInitTest, WritesStdinDataThenClosesIt) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  Result r = MustRun(Cmd("cat"), {}, std::string("some input\nand more"));
  EXPECT_EQ(r.out, "some input\nand more");
  // Large enough to need several writes into the pipe.
  std::string big(300 * 1024, 'x');
  r = MustRun(Sh("wc -c"), {}, big);
  EXPECT_EQ(absl::StripAsciiWhitespace(r.out), "307200");
}

TEST_P(ContainerInitTest, DeliversLargeOutputAndKeepsItsTail) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec spec = Sh("head -c 1000000 /dev/zero | tr '\\0' a; echo -n end");
  spec.id = "big";
  Result r = MustRun(spec);
  EXPECT_EQ(r.status, 0);
  ASSERT_EQ(r.out.size(), 1000003u);
  EXPECT_EQ(r.out.substr(r.out.size() - 5), "aaend");
  auto replay = NewOutput();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, init_->Attach("big", replay->Io(std::nullopt)));
  EXPECT_THAT(p->Wait(absl::InfinitePast()), IsOkAndHolds(0));
  const std::string kept = replay->Out();
  EXPECT_GE(kept.size(), 64u * 1024);
  EXPECT_LT(kept.size(), r.out.size());
  EXPECT_EQ(kept, r.out.substr(r.out.size() - kept.size()));
}

TEST_P(ContainerInitTest, PassesALargeEnvironment) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  // Half a megabyte: more than a default socket buffer holds in one packet.
  // (One string may not exceed the kernel's 128 KiB MAX_ARG_STRLEN.)
  ProcessSpec spec = Sh("echo $((${#B1} + ${#B2} + ${#B3} + ${#B4} + ${#B5}))");
  for (int i = 1; i <= 5; ++i)
    spec.env.push_back(absl::StrCat("B", i, "=", std::string(100000, 'v')));
  EXPECT_EQ(MustRun(spec).out, "500000\n");
  // Too large for exec: a plain error naming the cause.
  spec.env = {"HUGE=" + std::string(200 * 1024, 'v')};
  EXPECT_THAT(RunToEnd(*init_, spec),
              StatusIs(absl::StatusCode::kInternal, "exec: \"sh\": argument list too long"));
}

TEST_P(ContainerInitTest, StreamsStdinUntilClosed) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  auto output = NewOutput();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p,
                       init_->Run(Cmd("cat"), {}, output->Io(std::nullopt)));
  EXPECT_THAT(p->WriteStdin("ab"), IsOk());
  EXPECT_THAT(p->WriteStdin("c\n"), IsOk());
  EXPECT_TRUE(fakes::PollUntil([&] { return output->Out() == "abc\n"; }, absl::Seconds(10)));
  EXPECT_THAT(p->CloseStdin(), IsOk());
  EXPECT_THAT(p->Wait(Soon()), IsOkAndHolds(0));
  EXPECT_THAT(p->WriteStdin("late"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(p->SetTty(TtySpec{}), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(ContainerInitTest, AppliesEnvironmentWithGardenDefaults) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec spec = Cmd("env");
  spec.env = {"SPEC_VAR=2"};
  Result r = MustRun(spec, {"CONTAINER_VAR=1"});
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_THAT(lines, UnorderedElementsAre(
                         "CONTAINER_VAR=1", "SPEC_VAR=2",
                         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "USER=root", "HOME=/root"));
  // A PATH, USER or HOME given is kept.
  spec.env = {"PATH=/bin", "USER=me", "HOME=/tmp"};
  r = MustRun(spec);
  lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_THAT(lines, UnorderedElementsAre("PATH=/bin", "USER=me", "HOME=/tmp"));
}

TEST_P(ContainerInitTest, RunsAsUserFromPasswd) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec spec = Cmd("id");
  spec.user = "vcap";
  Result r = MustRun(spec);
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("uid=2000(vcap) gid=2000(vcap)"));
  spec = Sh("echo $HOME $USER $PATH; pwd");
  spec.user = "vcap";
  r = MustRun(spec);
  EXPECT_EQ(r.out, "/home/vcap vcap /usr/local/bin:/usr/bin:/bin\n/home/vcap\n");
  spec = Cmd("id", {"-u"});
  spec.user = "2000";
  EXPECT_EQ(MustRun(spec).out, "2000\n");
  spec.user = "nosuchuser";
  EXPECT_THAT(RunToEnd(*init_, spec),
              StatusIs(absl::StatusCode::kInternal,
                       "unable to find user nosuchuser: no matching entries in passwd file"));
}

// Pid 1 reads /etc/passwd, which the container's root controls: a FIFO or a
// huge file there makes user lookups fail instead of stalling pid 1.
TEST_P(ContainerInitTest, UnreadablePasswdFailsRunsWithoutStallingInit) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  const std::string passwd = rootfs_ + "/etc/passwd";
  const std::string original = ReadFileOrEmpty(passwd);
  ASSERT_THAT(original, HasSubstr("vcap:"));
  EXPECT_EQ(MustRun(Sh("rm /etc/passwd && mkfifo /etc/passwd && stat -c %F /etc/passwd")).out,
            "fifo\n");

  ProcessSpec spec = Cmd("id", {"-u"});
  spec.user = "vcap";
  EXPECT_THAT(RunToEnd(*init_, spec),
              StatusIs(absl::StatusCode::kInternal,
                       "user lookup: /etc/passwd is not a regular file"));
  spec.user = "";
  EXPECT_THAT(RunToEnd(*init_, spec),
              StatusIs(absl::StatusCode::kInternal,
                       "user lookup: /etc/passwd is not a regular file"));
  EXPECT_THAT(init_->RunningProcessIds(), IsEmpty());

  // Larger than the 16 MiB cap (sparse).
  ASSERT_EQ(unlink(passwd.c_str()), 0);
  {
    std::ofstream f(passwd, std::ios::binary);
    f << original;
  }
  std::filesystem::resize_file(passwd, (16u << 20) + 1);
  spec.user = "vcap";
  EXPECT_THAT(RunToEnd(*init_, spec),
              StatusIs(absl::StatusCode::kInternal, "user lookup: /etc/passwd is too large"));

  // pid 1 still serves: the restored file works again.
  std::filesystem::resize_file(passwd, original.size());
  EXPECT_EQ(MustRun(spec).out, "2000\n");
  spec.user = "root";
  EXPECT_EQ(MustRun(spec).out, "0\n");
}

TEST_P(ContainerInitTest, CreatesMissingWorkingDirectoryOwnedByUser) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec spec = Sh("pwd; stat -c %u:%g /home/vcap/new /home/vcap/new/sub");
  spec.user = "vcap";
  spec.dir = "/home/vcap/new/sub";
  Result r = MustRun(spec);
  EXPECT_EQ(r.out, "/home/vcap/new/sub\n2000:2000\n2000:2000\n");
}

TEST_P(ContainerInitTest, AppliesRlimits) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec spec = Sh("ulimit -n");
  spec.rlimits.nofile = 1000;
  EXPECT_EQ(MustRun(spec).out, "1000\n");
}

TEST_P(ContainerInitTest, ReportsExitCodesAndSignals) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  EXPECT_EQ(MustRun(Sh("exit 42")).status, 42);
  for (auto [signal, expected] : {std::pair{Signal::kTerminate, 143}, {Signal::kKill, 137}}) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p,
                         init_->Run(Cmd("sleep", {"100"}), {}, ProcessIO{}));
    EXPECT_THAT(p->Wait(absl::Now() + absl::Milliseconds(50)),
                StatusIs(absl::StatusCode::kDeadlineExceeded));
    EXPECT_THAT(p->Signal(signal), IsOk());
    EXPECT_THAT(p->Wait(Soon()), IsOkAndHolds(expected));
    // Signalling an exited process is fine.
    EXPECT_THAT(p->Signal(Signal::kKill), IsOk());
  }
}

TEST_P(ContainerInitTest, ReportsExecutableNotFound) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  absl::StatusOr<Result> r = RunToEnd(*init_, Cmd("nope"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasErrorType(r.status(), kExecutableNotFoundErrorType)) << r.status();
  EXPECT_EQ(r.status().message(), "exec: \"nope\": executable file not found in $PATH");
  r = RunToEnd(*init_, Cmd("/bin/nope"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasErrorType(r.status(), kExecutableNotFoundErrorType)) << r.status();
  EXPECT_EQ(r.status().message(), "exec: \"/bin/nope\": stat /bin/nope: no such file or directory");
  // A failed Run leaves nothing behind.
  EXPECT_THAT(init_->RunningProcessIds(), IsEmpty());
}

TEST_P(ContainerInitTest, SeesOnlyItsOwnProcesses) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  Result r = MustRun(Cmd("ps", {"-o", "pid,comm"}));
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << r.out;  // header, pid 1, ps
  EXPECT_THAT(Fields(lines[1]), ElementsAre("1", "diego-garden-in"));
  EXPECT_THAT(Fields(lines[2]), ElementsAre("2", "ps"));
  // And /proc is the container's: its pid 1 is the init.
  EXPECT_EQ(MustRun(Cmd("cat", {"/proc/1/comm"})).out, "diego-garden-in\n");
}

TEST_P(ContainerInitTest, HostnameIsTheHandle) {
  ASSERT_NO_FATAL_FAILURE(Start(Config("my-handle")));
  EXPECT_EQ(MustRun(Cmd("hostname")).out, "my-handle\n");
}

TEST_P(ContainerInitTest, LongHandleKeepsItsLast49Characters) {
  const std::string handle = std::string(20, 'a') + std::string(49, 'b');
  ASSERT_NO_FATAL_FAILURE(Start(Config(handle)));
  EXPECT_EQ(MustRun(Cmd("hostname")).out, std::string(49, 'b') + "\n");
}

TEST_P(ContainerInitTest, MasksProcPaths) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  int checked = 0;
  for (const char* name :
       {"kcore", "latency_stats", "sched_debug", "timer_list", "timer_stats", "keys"}) {
    const std::string path = absl::StrCat("/proc/", name);
    if (access(path.c_str(), F_OK) != 0) continue;
    ++checked;
    // /dev/null is character device 1:3.
    Result r = MustRun(Sh(absl::StrCat("stat -L -c %F:%t:%T ", path, "; wc -c < ", path)));
    EXPECT_EQ(r.out, "character special file:1:3\n0\n") << path;
  }
  EXPECT_GT(checked, 0);
  if (access("/sys/firmware", F_OK) == 0) {
    Result r = MustRun(Sh("ls -A /sys/firmware | wc -l; touch /sys/firmware/x"));
    EXPECT_EQ(r.out, "0\n");
    EXPECT_NE(r.status, 0);
  }
}

TEST_P(ContainerInitTest, BuildsDevAndReadOnlySys) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  Result r = MustRun(Sh("ls /dev | sort | tr '\\n' ' '"));
  EXPECT_EQ(r.out, "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ");
  EXPECT_EQ(MustRun(Sh("head -c 5 /dev/zero | wc -c; echo x > /dev/null && echo ok")).out,
            "5\nok\n");
  EXPECT_EQ(MustRun(Sh("touch /dev/shm/f && echo shm")).out, "shm\n");
  r = MustRun(Sh("ls /sys/class >/dev/null && echo listed; touch /sys/x"));
  EXPECT_EQ(r.out, "listed\n");
  EXPECT_NE(r.status, 0);
}

TEST_P(ContainerInitTest, WritesHostsAndResolvConf) {
  InitConfig config = Config();
  config.etc_hosts_lines = {"127.0.0.1 localhost", "10.1.2.3 my-host"};
  config.dns_servers = {"8.8.8.8", "1.1.1.1"};
  ASSERT_NO_FATAL_FAILURE(Start(config));
  EXPECT_EQ(MustRun(Cmd("cat", {"/etc/hosts"})).out, "127.0.0.1 localhost\n10.1.2.3 my-host\n");
  EXPECT_EQ(MustRun(Cmd("cat", {"/etc/resolv.conf"})).out,
            "nameserver 8.8.8.8\nnameserver 1.1.1.1\n");
}

TEST_P(ContainerInitTest, AppliesBindMounts) {
  const std::string host_ro = dir_ + "/host-ro";
  const std::string host_rw = dir_ + "/host-rw";
  std::filesystem::create_directories(host_ro);
  std::filesystem::create_directories(host_rw);
  chmod(host_rw.c_str(), 0777);
  std::ofstream(host_ro + "/file") << "from host\n";
  InitConfig config = Config();
  config.bind_mounts = {
      {host_ro, "/mnt/ro", BindMountMode::kReadOnly, BindMountOrigin::kHost},
      {host_rw, "/mnt/rw", BindMountMode::kReadWrite, BindMountOrigin::kHost},
      {"/etc", "/mnt/etc", BindMountMode::kReadOnly, BindMountOrigin::kContainer},
  };
  ASSERT_NO_FATAL_FAILURE(Start(config));
  EXPECT_EQ(MustRun(Cmd("cat", {"/mnt/ro/file"})).out, "from host\n");
  EXPECT_NE(MustRun(Sh("echo x > /mnt/ro/new")).status, 0);
  EXPECT_EQ(MustRun(Sh("echo written > /mnt/rw/new")).status, 0);
  EXPECT_EQ(ReadFileOrEmpty(host_rw + "/new"), "written\n");
  EXPECT_EQ(MustRun(Cmd("cat", {"/mnt/etc/hostname"})).out, "busybox\n");
  EXPECT_NE(MustRun(Sh("echo x > /mnt/etc/new")).status, 0);
  // The container's mounts are not the host's.
  EXPECT_FALSE(std::filesystem::exists(rootfs_ + "/mnt/ro/file"));
}

TEST_P(ContainerInitTest, RunsOnATty) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec spec = Sh("tty; stty size; echo to-stderr >&2");
  spec.tty = TtySpec{WindowSize{100, 30}};
  Result r = MustRun(spec);
  EXPECT_EQ(r.status, 0);
  // stderr goes to the terminal too; the tty turns \n into \r\n.
  EXPECT_EQ(r.out, "/dev/pts/0\r\n30 100\r\nto-stderr\r\n");
  EXPECT_EQ(r.err, "");
  spec.tty = TtySpec{};
  EXPECT_THAT(MustRun(spec).out, HasSubstr("24 80"));  // Guardian's default size
}

TEST_P(ContainerInitTest, SetTtyResizesTheTerminal) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec spec = Sh("read x; stty size");
  spec.tty = TtySpec{WindowSize{80, 24}};
  auto output = NewOutput();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, init_->Run(spec, {}, output->Io(std::nullopt)));
  EXPECT_THAT(p->SetTty(TtySpec{WindowSize{120, 40}}), IsOk());
  EXPECT_THAT(p->WriteStdin("go\n"), IsOk());
  EXPECT_THAT(p->Wait(Soon()), IsOkAndHolds(0));
  EXPECT_THAT(output->Out(), HasSubstr("40 120"));
}

TEST_P(ContainerInitTest, CloseStdinOnATtySendsEndOfFile) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec spec = Cmd("cat");
  spec.tty = TtySpec{};
  auto output = NewOutput();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, init_->Run(spec, {}, output->Io(std::nullopt)));
  EXPECT_THAT(p->WriteStdin("line\n"), IsOk());
  EXPECT_THAT(p->CloseStdin(), IsOk());
  EXPECT_THAT(p->Wait(Soon()), IsOkAndHolds(0));
  EXPECT_THAT(output->Out(), HasSubstr("line"));
}

TEST_P(ContainerInitTest, ConfinesProcessesPerMode) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  const std::string status = MustRun(Cmd("cat", {"/proc/self/status"})).out;
  ProcessSpec as_vcap = Cmd("cat", {"/proc/self/status"});
  as_vcap.user = "vcap";
  const std::string vcap_status = MustRun(as_vcap).out;
  const std::string uid_map = MustRun(Cmd("cat", {"/proc/self/uid_map"})).out;
  Result userns = MustRun(Sh("unshare -U true"));
  if (privileged()) {
    const std::string host = ReadFileOrEmpty("/proc/self/status");
    EXPECT_EQ(StatusField(status, "CapBnd"), StatusField(host, "CapBnd"));
    EXPECT_EQ(StatusField(status, "CapEff"), StatusField(host, "CapBnd"));
    EXPECT_EQ(StatusField(status, "NoNewPrivs"), "0");
    EXPECT_EQ(StatusField(status, "Seccomp"), "0");
    EXPECT_THAT(Fields(uid_map), ElementsAre("0", "0", "4294967295"));
    EXPECT_EQ(userns.status, 0);
  } else {
    // Garden's (and Docker's) default set.
    EXPECT_EQ(StatusField(status, "CapBnd"), "00000000a80425fb");
    EXPECT_EQ(StatusField(status, "CapEff"), "00000000a80425fb");
    EXPECT_EQ(StatusField(status, "NoNewPrivs"), "1");
    EXPECT_EQ(StatusField(status, "Seccomp"), "2");
    EXPECT_THAT(Fields(uid_map),
                ElementsAre("0", absl::StrCat(kUidMapStart), absl::StrCat(kUidMapLength)));
    // Creating a user namespace needs no capability: only seccomp stops it.
    EXPECT_NE(userns.status, 0);
    EXPECT_THAT(userns.err, HasSubstr("Operation not permitted"));
    Result mounted = MustRun(Sh("mount -t tmpfs none /mnt"));
    EXPECT_NE(mounted.status, 0);
  }
  EXPECT_EQ(StatusField(vcap_status, "CapEff"), "0000000000000000");
  EXPECT_EQ(StatusField(vcap_status, "CapPrm"), "0000000000000000");
  if (!privileged()) {
    EXPECT_EQ(StatusField(vcap_status, "CapBnd"), "00000000a80425fb");
  }
}

TEST_P(ContainerInitTest, AttachToExitedProcessReplaysOutputAndStatusAtOnce) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec spec = Sh("echo out; echo err >&2; exit 3");
  spec.id = "exited-one";
  EXPECT_EQ(MustRun(spec).status, 3);
  auto output = NewOutput();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p,
                       init_->Attach("exited-one", output->Io(std::nullopt)));
  EXPECT_EQ(p->Id(), "exited-one");
  // An already-passed deadline: the status is known, no waiting.
  EXPECT_THAT(p->Wait(absl::InfinitePast()), IsOkAndHolds(3));
  EXPECT_EQ(output->Out(), "out\n");
  EXPECT_EQ(output->Err(), "err\n");
  EXPECT_TRUE(
      HasErrorType(init_->Attach("unknown", ProcessIO{}).status(), kProcessNotFoundErrorType));
}

TEST_P(ContainerInitTest, AttachToRunningProcessGetsKeptAndLaterOutput) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec spec = Sh("echo first; read x; echo second");
  spec.id = "running-one";
  auto first = NewOutput();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, init_->Run(spec, {}, first->Io(std::nullopt)));
  ASSERT_TRUE(fakes::PollUntil([&] { return first->Out() == "first\n"; }, absl::Seconds(10)));
  auto second = NewOutput();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> attached,
                       init_->Attach("running-one", second->Io(std::nullopt)));
  EXPECT_THAT(p->WriteStdin("\n"), IsOk());
  EXPECT_THAT(attached->Wait(Soon()), IsOkAndHolds(0));
  EXPECT_EQ(second->Out(), "first\nsecond\n");
  EXPECT_EQ(first->Out(), "first\nsecond\n");
  // A destroyed handle's sinks are no longer called.
  attached.reset();
}

TEST_P(ContainerInitTest, RejectsTheIdOfARunningProcess) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec spec = Cmd("sleep", {"100"});
  spec.id = "dup";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, init_->Run(spec, {}, ProcessIO{}));
  EXPECT_THAT(init_->Run(spec, {}, ProcessIO{}).status(),
              StatusIs(absl::StatusCode::kAlreadyExists, "process ID 'dup' already in use"));
  EXPECT_THAT(p->Signal(Signal::kKill), IsOk());
  EXPECT_THAT(p->Wait(Soon()), IsOkAndHolds(137));
  // Once it exited the id may be reused.
  spec.path = "true";
  spec.args.clear();
  EXPECT_EQ(MustRun(spec).status, 0);
}

TEST_P(ContainerInitTest, RunsConcurrently) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  constexpr int kThreads = 8;
  std::vector<absl::StatusOr<Result>> results(kThreads, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ProcessSpec spec = Sh(absl::StrCat("cat; echo ", i, " >&2; exit ", i));
      results[i] = RunToEnd(*init_, spec, {}, absl::StrCat("in-", i));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_THAT(results[i], IsOk());
    EXPECT_EQ(results[i]->status, i);
    EXPECT_EQ(results[i]->out, absl::StrCat("in-", i));
    EXPECT_EQ(results[i]->err, absl::StrCat(i, "\n"));
  }
}

TEST_P(ContainerInitTest, GeneratesProcessIds) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> a, init_->Run(Cmd("true"), {}, ProcessIO{}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> b, init_->Run(Cmd("true"), {}, ProcessIO{}));
  EXPECT_EQ(a->Id().size(), 36u);
  EXPECT_NE(a->Id(), b->Id());
  EXPECT_THAT(a->Wait(Soon()), IsOkAndHolds(0));
  EXPECT_THAT(b->Wait(Soon()), IsOkAndHolds(0));
}

TEST_P(ContainerInitTest, ListsRunningProcessesAndSignalsThemAll) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  ProcessSpec a = Cmd("sleep", {"100"});
  a.id = "a";
  ProcessSpec b = a;
  b.id = "b";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> pa, init_->Run(a, {}, ProcessIO{}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> pb, init_->Run(b, {}, ProcessIO{}));
  EXPECT_THAT(init_->RunningProcessIds(), UnorderedElementsAre("a", "b"));
  EXPECT_THAT(init_->SignalAll(Signal::kTerminate), IsOk());
  EXPECT_THAT(pa->Wait(Soon()), IsOkAndHolds(143));
  EXPECT_THAT(pb->Wait(Soon()), IsOkAndHolds(143));
  EXPECT_THAT(init_->RunningProcessIds(), IsEmpty());
  EXPECT_TRUE(init_->Alive());
}

TEST_P(ContainerInitTest, ReconnectLearnsProcessesAndWhatExitedMeanwhile) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  const pid_t pid = init_->Pid();
  ProcessSpec sleeper = Sh("echo sleeping; exec sleep 1000");
  sleeper.id = "sleeper";
  ProcessSpec done = Sh("exit 5");
  done.id = "done";
  // Exits when its stdin closes, i.e. while no backend is attached.
  ProcessSpec reader = Sh("read x; exit 7");
  reader.id = "reader";
  auto out = NewOutput();
  std::unique_ptr<Process> old_handle;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p1,
                         init_->Run(sleeper, {}, out->Io(std::nullopt)));
    old_handle = std::move(p1);
    ASSERT_EQ(MustRun(done).status, 5);
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p3, init_->Run(reader, {}, ProcessIO{}));
    ASSERT_TRUE(fakes::PollUntil([&] { return out->Out() == "sleeping\n"; }, absl::Seconds(10)));
    EXPECT_THAT(init_->RunningProcessIds(), UnorderedElementsAre("sleeper", "reader"));
  }
  init_.reset();  // the backend goes away; the container stays
  // Handles outlive it, but can no longer learn the exit status.
  EXPECT_THAT(old_handle->Wait(Soon()), StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_OK_AND_ASSIGN(init_, ContainerInit::Reconnect(dir_, pid));
  EXPECT_EQ(init_->Pid(), pid);
  EXPECT_TRUE(init_->Alive());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> r, init_->Attach("reader", ProcessIO{}));
  EXPECT_THAT(r->Wait(Soon()), IsOkAndHolds(7));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> d, init_->Attach("done", ProcessIO{}));
  EXPECT_THAT(d->Wait(absl::InfinitePast()), IsOkAndHolds(5));
  EXPECT_THAT(init_->RunningProcessIds(), ElementsAre("sleeper"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> s, init_->Attach("sleeper", ProcessIO{}));
  EXPECT_THAT(s->Signal(Signal::kKill), IsOk());
  EXPECT_THAT(s->Wait(Soon()), IsOkAndHolds(137));
  // New processes run as before.
  EXPECT_EQ(MustRun(Cmd("echo", {"again"})).out, "again\n");
}

TEST_P(ContainerInitTest, ReconnectRefusesAStrangerPid) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  EXPECT_THAT(ContainerInit::Reconnect(dir_, getpid()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// Host processes (not zombies) in the pid namespace `ns` ("pid:[N]").
std::vector<pid_t> ProcessesInPidNamespace(const std::string& ns) {
  std::vector<pid_t> pids;
  DIR* d = opendir("/proc");
  if (d == nullptr) return pids;
  while (struct dirent* e = readdir(d)) {
    char* end;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    char link[256];
    const std::string path = absl::StrCat("/proc/", pid, "/ns/pid");
    ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
    if (n <= 0) continue;
    link[n] = '\0';
    if (ns != link) continue;
    const std::string state =
        StatusField(ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/status")), "State");
    if (!state.empty() && state[0] != 'Z') pids.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  return pids;
}

TEST_P(ContainerInitTest, KillLeavesNoProcessBehind) {
  ASSERT_NO_FATAL_FAILURE(Start(Config()));
  char link[256];
  ssize_t n =
      readlink(absl::StrCat("/proc/", init_->Pid(), "/ns/pid").c_str(), link, sizeof(link) - 1);
  ASSERT_GT(n, 0);
  const std::string ns(link, static_cast<size_t>(n));
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Process> p,
      init_->Run(Sh("sleep 1000 & sleep 1000 & exec sleep 1000"), {}, ProcessIO{}));
  EXPECT_TRUE(
      fakes::PollUntil([&] { return ProcessesInPidNamespace(ns).size() == 4; }, absl::Seconds(10)));
  EXPECT_THAT(init_->Kill(), IsOk());
  EXPECT_THAT(ProcessesInPidNamespace(ns), IsEmpty());
  EXPECT_FALSE(init_->Alive());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/init.sock"));
  EXPECT_THAT(p->Wait(Soon()), IsOkAndHolds(137));
  EXPECT_THAT(init_->Kill(), IsOk());  // idempotent
  EXPECT_THAT(init_->Run(Cmd("true"), {}, ProcessIO{}).status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_P(ContainerInitTest, StartFailureLeavesNothingBehind) {
  InitConfig config = Config();
  config.rootfs = dir_ + "/no-such-rootfs";
  absl::StatusOr<std::unique_ptr<ContainerInit>> init = ContainerInit::Start(config);
  EXPECT_THAT(init.status(), StatusIs(absl::StatusCode::kInternal, HasSubstr("no-such-rootfs")));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/init.sock"));
  config.init_binary = "";
  EXPECT_THAT(ContainerInit::Start(config).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(ContainerInitTest, JoinsTheGivenCgroups) {
  const std::string cgroup =
      absl::StrCat("/sys/fs/cgroup/pids/diego-init-test-", getpid(), privileged() ? "p" : "u");
  if (mkdir(cgroup.c_str(), 0755) != 0) {
    // cgroup v2 (unified) machines.
    ASSERT_TRUE(std::filesystem::exists("/sys/fs/cgroup/cgroup.procs"));
  }
  const bool v1 = std::filesystem::exists(cgroup);
  const std::string group =
      v1 ? cgroup
         : absl::StrCat("/sys/fs/cgroup/diego-init-test-", getpid(), privileged() ? "p" : "u");
  if (!v1) {
    ASSERT_EQ(mkdir(group.c_str(), 0755), 0);
  }
  // Removes the cgroup even when an assertion below fails.
  struct Cleanup {
    std::unique_ptr<ContainerInit>& init;
    std::string group;
    ~Cleanup() {
      if (init != nullptr) {
        EXPECT_THAT(init->Kill(), IsOk());
        init.reset();
      }
      EXPECT_TRUE(fakes::PollUntil([&] { return rmdir(group.c_str()) == 0; }, absl::Seconds(10)));
    }
  } cleanup{init_, group};
  InitConfig config = Config();
  config.cgroup_procs_files = {group + "/cgroup.procs"};
  ASSERT_NO_FATAL_FAILURE(Start(config));
  const std::string procs = ReadFileOrEmpty(group + "/cgroup.procs");
  EXPECT_THAT(procs, HasSubstr(absl::StrCat(init_->Pid(), "\n")));
  // What pid 1 forks is counted there too.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p,
                       init_->Run(Cmd("sleep", {"100"}), {}, ProcessIO{}));
  EXPECT_TRUE(fakes::PollUntil(
      [&] {
        return std::vector<std::string>(absl::StrSplit(ReadFileOrEmpty(group + "/cgroup.procs"),
                                                       '\n', absl::SkipEmpty()))
                   .size() == 2;
      },
      absl::Seconds(10)));
}

// Not a benchmark with thresholds: logs how long a container's life takes
// on this machine (init exec + namespaces + root setup; one /bin/true;
// SIGKILL of pid 1 and its namespaces' teardown).
TEST_P(ContainerInitTest, MeasuresCreateRunDestroyLatency) {
  constexpr int kIterations = 40;
  std::vector<double> total_ms, start_ms, run_ms, kill_ms;
  for (int i = 0; i < kIterations; ++i) {
    const absl::Time t0 = absl::Now();
    absl::StatusOr<std::unique_ptr<ContainerInit>> init = ContainerInit::Start(Config());
    ASSERT_THAT(init, IsOk());
    const absl::Time t1 = absl::Now();
    absl::StatusOr<Result> r = RunToEnd(**init, Cmd("/bin/true"));
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->status, 0);
    const absl::Time t2 = absl::Now();
    EXPECT_THAT((*init)->Kill(), IsOk());
    init->reset();
    const absl::Time t3 = absl::Now();
    start_ms.push_back(absl::ToDoubleMilliseconds(t1 - t0));
    run_ms.push_back(absl::ToDoubleMilliseconds(t2 - t1));
    kill_ms.push_back(absl::ToDoubleMilliseconds(t3 - t2));
    total_ms.push_back(absl::ToDoubleMilliseconds(t3 - t0));
  }
  auto stats = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    char buf[128];
    std::snprintf(buf, sizeof(buf), "min %.2f p50 %.2f p90 %.2f ms", v.front(), v[v.size() / 2],
                  v[(v.size() * 9) / 10]);
    return std::string(buf);
  };
  const std::string line =
      absl::StrCat(privileged() ? "privileged" : "unprivileged", " (", kIterations,
                   " runs): start+run /bin/true+kill ", stats(total_ms), "; start ",
                   stats(start_ms), "; run ", stats(run_ms), "; kill ", stats(kill_ms));
  std::printf("[ latency  ] %s\n", line.c_str());
  RecordProperty("latency", line);
  EXPECT_EQ(total_ms.size(), static_cast<size_t>(kIterations));
}

}  // namespace
}  // namespace diego::garden
