// Copyright 2026 The libdiego Authors.

#include "test_databases.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "diego/base/status_macros.h"
#include "diego/bbs/schema.h"
#include "diego/testing/postgres_server.h"

namespace diego::bbs::testing {
namespace {

// Temp directories of SQLite test databases, removed at exit.
struct TempDirs {
  absl::Mutex mu;
  std::vector<std::string> dirs;
};

TempDirs& Dirs() {
  static TempDirs* dirs = [] {
    auto* d = new TempDirs;
    std::atexit(+[] {
      TempDirs& all = Dirs();
      absl::MutexLock lock(&all.mu);
      for (const std::string& dir : all.dirs) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      }
      all.dirs.clear();
    });
    return d;
  }();
  return *dirs;
}

absl::StatusOr<std::string> NewTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                  "/diego-bbs-test-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp(", tmpl, ") failed: errno ", errno));
  }
  TempDirs& dirs = Dirs();
  absl::MutexLock lock(&dirs.mu);
  dirs.dirs.push_back(tmpl);
  return tmpl;
}

}  // namespace

std::string TestEngineName(const ::testing::TestParamInfo<SqlEngine>& info) {
  return std::string(SqlEngineName(info.param));
}

absl::StatusOr<std::string> NewTestDatabaseUrl(SqlEngine engine) {
  switch (engine) {
    case SqlEngine::kSqlite: {
      DIEGO_ASSIGN_OR_RETURN(std::string dir, NewTempDir());
      return absl::StrCat("sqlite://", dir, "/bbs.db");
    }
    case SqlEngine::kPostgres: {
      DIEGO_ASSIGN_OR_RETURN(fakes::PostgresServer * server, fakes::PostgresServer::Shared());
      static std::atomic<int> counter{0};
      return server->CreateDatabase(
          absl::StrCat("diego_test_", getpid(), "_", counter.fetch_add(1)));
    }
  }
  return absl::InvalidArgumentError("unknown engine");
}

absl::Status InsertLocketRow(SqlDatabase& db, absl::string_view path, absl::string_view owner,
                             absl::string_view value, int64_t type_code) {
  return db.Write([&](SqlTx& tx) -> absl::Status {
    const SqlParam params[] = {Text(path), Text(owner), Text(value),
                               Text(type_code == 2 ? "presence" : "lock"), Int(type_code)};
    return tx
        .Exec(
            "INSERT INTO locks (path, owner, value, type, type_code, ttl, modified_id,"
            " modified_index) VALUES (?, ?, ?, ?, ?, 15, 'id', 1)",
            params)
        .status();
  });
}

absl::Status DeleteLocketRow(SqlDatabase& db, absl::string_view path) {
  return db.Write([&](SqlTx& tx) -> absl::Status {
    const SqlParam params[] = {Text(path)};
    return tx.Exec("DELETE FROM locks WHERE path = ?", params).status();
  });
}

absl::StatusOr<TestDatabase> OpenTestDatabase(SqlEngine engine,
                                              const SqlDatabase::Options& options) {
  TestDatabase t;
  DIEGO_ASSIGN_OR_RETURN(t.url, NewTestDatabaseUrl(engine));
  DIEGO_ASSIGN_OR_RETURN(t.db, SqlDatabase::Open(t.url, options));
  DIEGO_RETURN_IF_ERROR(MigrateSchema(*t.db));
  return t;
}

}  // namespace diego::bbs::testing
