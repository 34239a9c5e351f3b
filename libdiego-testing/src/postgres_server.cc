// Copyright 2026 The libdiego Authors.

#include "diego/testing/postgres_server.h"

#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "diego/base/status_macros.h"

namespace diego::fakes {
namespace {

constexpr int kPort = 5432;
// pg_ctl waits this long for the server to start or stop.
constexpr int kPgCtlTimeoutSeconds = 60;
// After pg_ctl reports the server started, pg_isready is tried this often.
constexpr int kReadyAttempts = 50;

// The newest /usr/lib/postgresql/<version>/bin that has initdb.
absl::StatusOr<std::string> FindBinDir() {
  const std::filesystem::path root = "/usr/lib/postgresql";
  std::error_code ec;
  int best_version = -1;
  std::string best;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    int version = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &version)) continue;
    const std::filesystem::path bin = entry.path() / "bin";
    if (!std::filesystem::exists(bin / "initdb") || !std::filesystem::exists(bin / "postgres")) {
      continue;
    }
    if (version > best_version) {
      best_version = version;
      best = bin.string();
    }
  }
  if (best.empty()) {
    return absl::FailedPreconditionError(
        "PostgresServer: no /usr/lib/postgresql/<version>/bin with initdb and postgres "
        "(install the postgresql package)");
  }
  return best;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

absl::StatusOr<std::string> PostgresServer::RunCommand(const std::string& command) const {
  const std::string full =
      as_postgres_ ? absl::StrCat("cd '", dir_, "' && runuser -u postgres -- ", command, " 2>&1")
                   : absl::StrCat("cd '", dir_, "' && ", command, " 2>&1");
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) {
    return absl::InternalError(absl::StrCat("PostgresServer: cannot run `", command, "`"));
  }
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const int code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return absl::InternalError(absl::StrCat("PostgresServer: `", command, "` failed (exit ", code,
                                            "): ", absl::StripAsciiWhitespace(output)));
  }
  return output;
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  DIEGO_ASSIGN_OR_RETURN(std::string bin_dir, FindBinDir());
  const bool as_postgres = geteuid() == 0;

  std::string tmpl = "/tmp/diego-pg-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("PostgresServer: mkdtemp(/tmp/diego-pg-XXXXXX) failed: errno ", errno));
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer(tmpl, bin_dir, as_postgres));
  if (as_postgres) {
    struct passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "PostgresServer: running as root and there is no `postgres` user to run initdb as");
    }
    if (chown(server->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(
          absl::StrCat("PostgresServer: chown postgres ", server->dir_, " failed: errno ", errno));
    }
  }
  const std::string data = server->dir_ + "/data";
  DIEGO_RETURN_IF_ERROR(server
                            ->RunCommand(absl::StrCat(bin_dir, "/initdb -D '", data,
                                                      "' -U postgres -A trust -E UTF8 --locale=C"
                                                      " --no-sync --no-instructions"))
                            .status());
  {
    // Appended by this process; the file stays the postgres user's.
    std::ofstream conf(data + "/postgresql.conf", std::ios::app);
    conf << "\n# diego::fakes::PostgresServer\n"
         << "listen_addresses = ''\n"
         << "unix_socket_directories = '" << server->dir_ << "'\n"
         << "port = " << kPort << "\n"
         << "fsync = on\n"
         << "synchronous_commit = on\n"
         << "max_connections = 300\n"
         << "max_parallel_workers_per_gather = 0\n"
         << "logging_collector = off\n";
    if (!conf) {
      return absl::InternalError(
          absl::StrCat("PostgresServer: cannot write ", data, "/postgresql.conf"));
    }
  }
  const std::string log = server->dir_ + "/postgres.log";
  absl::StatusOr<std::string> started = server->RunCommand(
      absl::StrCat(bin_dir, "/pg_ctl -D '", data, "' -l '", log, "' -w -t ",
                   kPgCtlTimeoutSeconds, " start"));
  if (!started.ok()) {
    return absl::Status(started.status().code(),
                        absl::StrCat(started.status().message(),
                                     "\nserver log:\n", ReadFileOrEmpty(log)));
  }
  server->started_ = true;
  absl::Status ready;
  for (int attempt = 0; attempt < kReadyAttempts; ++attempt) {
    ready = server->RunCommand(absl::StrCat(bin_dir, "/pg_isready -q -h '", server->dir_,
                                            "' -p ", kPort, " -U postgres -t 5"))
                .status();
    if (ready.ok()) break;
    usleep(100 * 1000);  // Harness code: a short real wait between polls.
  }
  if (!ready.ok()) {
    return absl::Status(ready.code(),
                        absl::StrCat(ready.message(), "\nserver log:\n", ReadFileOrEmpty(log)));
  }
  return server;
}

absl::StatusOr<PostgresServer*> PostgresServer::Shared() {
  static absl::StatusOr<PostgresServer*>* shared = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started = Start();
    if (!started.ok()) {
      shared = new absl::StatusOr<PostgresServer*>(started.status());
      return;
    }
    shared = new absl::StatusOr<PostgresServer*>(started->release());
    std::atexit(+[] {
      if (shared != nullptr && shared->ok()) {
        delete **shared;
        *shared = absl::CancelledError("PostgresServer: stopped at exit");
      }
    });
  });
  return *shared;
}

void PostgresServer::Stop() {
  if (started_) {
    (void)RunCommand(absl::StrCat(bin_dir_, "/pg_ctl -D '", dir_, "/data' -m immediate -w -t ",
                                  kPgCtlTimeoutSeconds, " stop"));
    started_ = false;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

PostgresServer::~PostgresServer() { Stop(); }

std::string PostgresServer::Url(absl::string_view database) const {
  return absl::StrCat("postgresql:///", database, "?host=", dir_, "&port=", kPort,
                      "&user=postgres");
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase(absl::string_view name) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
      })) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PostgresServer: database name \"", name, "\" must be letters, digits and '_'"));
  }
  absl::MutexLock lock(&mu_);
  DIEGO_RETURN_IF_ERROR(RunCommand(absl::StrCat(bin_dir_, "/createdb -h '", dir_, "' -p ", kPort,
                                                " -U postgres ", name))
                            .status());
  return Url(name);
}

}  // namespace diego::fakes
