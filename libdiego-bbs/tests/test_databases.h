// Copyright 2026 The libdiego Authors.
//
// Test databases for both SQL engines, for suites parametrized on the engine:
//
//   class StoreTest : public ::testing::TestWithParam<SqlEngine> { ... };
//   INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, ::testing::ValuesIn(kTestEngines),
//                            TestEngineName);
//
//   ASSERT_OK_AND_ASSIGN(TestDatabase t, OpenTestDatabase(GetParam()));
//   SqlStore store(t.db.get(), &hub, &clock);
//
// SQLite: a new file in a fresh temp directory. PostgreSQL: a throwaway server
// (`fakes::PostgresServer::Shared()`, started once per process, as the
// `postgres` user, unix socket only) and a fresh database per call. Neither
// ever skips: a PostgreSQL that cannot start fails the test with the reason.

#ifndef DIEGO_BBS_TESTS_TEST_DATABASES_H_
#define DIEGO_BBS_TESTS_TEST_DATABASES_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "diego/bbs/sql.h"
#include "gtest/gtest.h"

namespace diego::bbs::testing {

inline constexpr SqlEngine kTestEngines[] = {SqlEngine::kSqlite, SqlEngine::kPostgres};

// "sqlite" / "postgres", for INSTANTIATE_TEST_SUITE_P names.
std::string TestEngineName(const ::testing::TestParamInfo<SqlEngine>& info);

struct TestDatabase {
  std::string url;                   // Reopen with SqlDatabase::Open(url).
  std::unique_ptr<SqlDatabase> db;   // Open, schema migrated.
};

// A fresh, empty, migrated database.
absl::StatusOr<TestDatabase> OpenTestDatabase(SqlEngine engine,
                                              const SqlDatabase::Options& options = {});

// The URL of a fresh, empty database without opening or migrating it.
absl::StatusOr<std::string> NewTestDatabaseUrl(SqlEngine engine);

// Writes a row of Locket's `locks` table (part of the BBS schema) behind any
// store's back, as a Locket sharing the database would: key `path`, `owner`,
// `value`, `type_code` (1 lock, 2 presence) with its type name ("lock",
// "presence"), a 15 s ttl, modified_id "id" and modified_index 1. A rep's
// cell presence is `InsertLocketRow(db, cell_id, owner, ToGoJson(cell), 2)`.
absl::Status InsertLocketRow(SqlDatabase& db, absl::string_view path, absl::string_view owner,
                             absl::string_view value, int64_t type_code);

// Deletes the `locks` row `path` (a presence expiring); OK if there is none.
absl::Status DeleteLocketRow(SqlDatabase& db, absl::string_view path);

}  // namespace diego::bbs::testing

#endif  // DIEGO_BBS_TESTS_TEST_DATABASES_H_
