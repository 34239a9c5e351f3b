// Copyright 2026 The libdiego Authors.
//
// diego-locket end to end: the binary on 127.0.0.1:0 with a fresh SQLite file
// and mutual TLS (a throwaway PKI), driven by GrpcLocketClient (Lock, Fetch,
// FetchAll, Release, expiry after a short TTL) and by diego-cfdot's `locks`
// and `presences`, whose output must be the resources' Go JSON, one per line,
// as Diego's cfdot prints them.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "diego/base/logger.h"
#include "diego/locket/errors.h"
#include "diego/locket/grpc.h"
#include "diego/model/v1/locket.pb.h"
#include "diego/testing/child_process.h"
#include "diego/testing/locket_requests.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// `Resource.type` is deprecated upstream; Diego's clients still send it.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::locket {
namespace {

namespace v1 = ::diego::model::v1;
using ::diego::fakes::ChildProcess;
using ::diego::fakes::MakeFetchRequest;
using ::diego::fakes::MakeLockRequest;
using ::diego::fakes::MakeResource;
using ::diego::fakes::TestPki;
using ::testing::HasSubstr;

// Generous bounds for real processes on a loaded machine.
constexpr absl::Duration kStartBound = absl::Seconds(60);
constexpr absl::Duration kExpiryBound = absl::Seconds(60);
constexpr absl::Duration kTimeout = absl::Seconds(30);

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct CommandResult {
  int exit_status = -1;
  std::string out;
  std::string err;
};

// Runs diego-cfdot with `args` (no shell metacharacters in them).
CommandResult RunCfdot(const std::string& dir, const std::vector<std::string>& args) {
  const std::string err_path = dir + "/cfdot.err";
  const std::string command = absl::StrCat("'", DIEGO_CFDOT_BINARY, "' '",
                                           absl::StrJoin(args, "' '"), "' 2>'", err_path, "'");
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.err = ReadWholeFile(err_path);
  return result;
}

// A LockRequest as Diego's clients send it, with the deprecated `type` too.
v1::LockRequest ClientLockRequest(const std::string& key, const std::string& owner,
                                  v1::TypeCode type_code, const std::string& value,
                                  int64_t ttl_seconds) {
  v1::Resource resource = MakeResource(key, owner, type_code, value);
  resource.set_type(type_code == v1::LOCK ? "lock" : "presence");
  return MakeLockRequest(std::move(resource), ttl_seconds);
}

TEST(DiegoLocketE2eTest, ServesLocksAndPresencesOverMutualTls) {
  const std::string dir = ::testing::TempDir() + "/diego_locket_e2e_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  TestPki pki(dir);
  ASSERT_TRUE(pki.Make("ca", "", true, false));
  ASSERT_TRUE(pki.Make("locket", "ca", false, true));
  ASSERT_TRUE(pki.Make("client", "ca", false, false));

  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ChildProcess> locket,
      ChildProcess::Start({DIEGO_LOCKET_BINARY, absl::StrCat("--db=sqlite://", dir, "/locket.db"),
                           "--listen_address=127.0.0.1:0", "--ca_file=" + pki.Cert("ca"),
                           "--cert_file=" + pki.Cert("locket"), "--key_file=" + pki.Key("locket"),
                           "--log_level=debug"},
                          dir + "/locket.log"));
  ASSERT_OK_AND_ASSIGN(LogEntry started, locket->AwaitLine("locket.started", kStartBound));
  EXPECT_EQ(started.data["tls"], "true");
  EXPECT_EQ(started.data["db"], "sqlite");
  const std::string address = absl::StrCat("127.0.0.1:", started.data["port"]);

  const GrpcTls tls{pki.Cert("ca"), pki.Cert("client"), pki.Key("client"), ""};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<GrpcLocketClient> client,
                       GrpcLocketClient::Create(address, tls));
  const std::vector<std::string> cfdot_tls = {
      "--locketAPILocation=" + address, "--ca_file=" + pki.Cert("ca"),
      "--cert_file=" + pki.Cert("client"), "--key_file=" + pki.Key("client")};
  auto cfdot = [&](const std::string& command) {
    std::vector<std::string> args = cfdot_tls;
    args.push_back(command);
    return RunCfdot(dir, args);
  };

  // A lock and a presence.
  const std::string cell_value = R"({"cell_id":"cell-1","rep_address":"http://10.0.0.1:1800"})";
  ASSERT_OK(client->Lock(ClientLockRequest("bbs", "bbs-1", v1::LOCK, "", 60), kTimeout));
  ASSERT_OK(
      client->Lock(ClientLockRequest("cell-1", "rep-1", v1::PRESENCE, cell_value, 60), kTimeout));
  EXPECT_EQ(client->Lock(ClientLockRequest("bbs", "bbs-2", v1::LOCK, "", 60), kTimeout).status(),
            ErrLockCollision());
  ASSERT_OK_AND_ASSIGN(v1::FetchResponse fetched, client->Fetch(MakeFetchRequest("bbs"), kTimeout));
  EXPECT_EQ(fetched.resource().owner(), "bbs-1");
  v1::FetchAllRequest all_locks;
  all_locks.set_type_code(v1::LOCK);
  ASSERT_OK_AND_ASSIGN(v1::FetchAllResponse locks, client->FetchAll(all_locks, kTimeout));
  ASSERT_EQ(locks.resources_size(), 1);
  EXPECT_EQ(locks.resources(0).key(), "bbs");

  // cfdot prints each resource as Go JSON on its own line.
  CommandResult listed = cfdot("locks");
  EXPECT_EQ(listed.exit_status, 0) << listed.err;
  EXPECT_EQ(listed.out,
            "{\"key\":\"bbs\",\"owner\":\"bbs-1\",\"type\":\"lock\",\"type_code\":1}\n");
  listed = cfdot("presences");
  EXPECT_EQ(listed.exit_status, 0) << listed.err;
  EXPECT_EQ(listed.out,
            "{\"key\":\"cell-1\",\"owner\":\"rep-1\",\"value\":\"{\\\"cell_id\\\":\\\"cell-1\\\","
            "\\\"rep_address\\\":\\\"http://10.0.0.1:1800\\\"}\",\"type\":\"presence\","
            "\"type_code\":2}\n");

  // Locket's address from the environment, as Diego's cfdot allows.
  ASSERT_EQ(setenv("LOCKET_API_LOCATION", address.c_str(), 1), 0);
  listed = RunCfdot(dir, {"--ca_file=" + pki.Cert("ca"), "--cert_file=" + pki.Cert("client"),
                          "--key_file=" + pki.Key("client"), "locks"});
  ASSERT_EQ(unsetenv("LOCKET_API_LOCATION"), 0);
  EXPECT_EQ(listed.exit_status, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("\"key\":\"bbs\""));

  // No address: usage error. No client certificate: refused by the server.
  listed = RunCfdot(dir, {"locks"});
  EXPECT_EQ(listed.exit_status, 2);
  EXPECT_THAT(listed.err, HasSubstr("Locket API Location not set"));
  listed = RunCfdot(dir, {"--locketAPILocation=" + address, "--timeout=10s", "presences"});
  EXPECT_EQ(listed.exit_status, 1);
  EXPECT_THAT(listed.err, HasSubstr("UNAVAILABLE"));
  EXPECT_EQ(listed.out, "");

  // Release: the lock is gone, for the client and for cfdot.
  v1::ReleaseRequest release;
  *release.mutable_resource() = ClientLockRequest("bbs", "bbs-1", v1::LOCK, "", 60).resource();
  ASSERT_OK(client->Release(release, kTimeout));
  EXPECT_EQ(client->Fetch(MakeFetchRequest("bbs"), kTimeout).status(), ErrResourceNotFound());
  listed = cfdot("locks");
  EXPECT_EQ(listed.exit_status, 0) << listed.err;
  EXPECT_EQ(listed.out, "");

  // A presence with a 1 s TTL and no refresh expires (the server's expiry
  // loop); the 60 s one stays.
  ASSERT_OK(client->Lock(ClientLockRequest("cell-2", "rep-2", v1::PRESENCE, "{}", 1), kTimeout));
  absl::Status fetch_status;
  for (const absl::Time deadline = absl::Now() + kExpiryBound; absl::Now() < deadline;) {
    fetch_status = client->Fetch(MakeFetchRequest("cell-2"), kTimeout).status();
    if (!fetch_status.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(fetch_status, ErrResourceNotFound());
  EXPECT_OK(client->Fetch(MakeFetchRequest("cell-1"), kTimeout));
  listed = cfdot("presences");
  EXPECT_EQ(listed.exit_status, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("\"key\":\"cell-1\""));
  EXPECT_THAT(listed.out, ::testing::Not(HasSubstr("cell-2")));

  // SIGTERM: a clean exit.
  EXPECT_EQ(locket->Terminate(), 0);
  const std::string log = locket->Log();
  EXPECT_THAT(log, HasSubstr("\"locket.signalled\""));
  EXPECT_THAT(log, HasSubstr("\"locket.exited\""));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace diego::locket
