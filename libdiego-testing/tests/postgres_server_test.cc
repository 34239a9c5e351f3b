// Copyright 2026 The libdiego Authors.

#include "diego/testing/postgres_server.h"

#include <libpq-fe.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>

#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::fakes {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Connects with libpq and returns the result of `sql` (one text value), or
// the connection / query error.
std::string QueryOne(const std::string& url, const char* sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string error = std::string("connect failed: ") + PQerrorMessage(conn);
    PQfinish(conn);
    return error;
  }
  PGresult* res = PQexec(conn, sql);
  std::string out = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
                        ? PQgetvalue(res, 0, 0)
                        : std::string("query failed: ") + PQerrorMessage(conn);
  PQclear(res);
  PQfinish(conn);
  return out;
}

TEST(PostgresServerTest, StartsCreatesDatabasesAndCleansUp) {
  std::string dir;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<PostgresServer> server, PostgresServer::Start());
    dir = server->dir();
    ASSERT_TRUE(std::filesystem::exists(dir + "/data/PG_VERSION"));
    // Only the unix socket: no TCP listener.
    EXPECT_TRUE(std::filesystem::exists(dir + "/.s.PGSQL.5432"));

    ASSERT_OK_AND_ASSIGN(std::string one, server->CreateDatabase("first_db"));
    ASSERT_OK_AND_ASSIGN(std::string two, server->CreateDatabase("second_db"));
    EXPECT_THAT(one, StartsWith("postgresql:///first_db?host=" + dir));
    EXPECT_EQ(QueryOne(one, "SELECT current_database()"), "first_db");
    EXPECT_EQ(QueryOne(two, "SELECT current_database()"), "second_db");
    EXPECT_EQ(QueryOne(one, "SHOW fsync"), "on");
    EXPECT_EQ(QueryOne(one, "SHOW listen_addresses"), "");

    // Databases are separate.
    PGconn* conn = PQconnectdb(one.c_str());
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    PGresult* res = PQexec(conn, "CREATE TABLE only_in_first (x BIGINT)");
    EXPECT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQerrorMessage(conn);
    PQclear(res);
    PQfinish(conn);
    EXPECT_THAT(QueryOne(two, "SELECT COUNT(*) FROM only_in_first"),
                HasSubstr("does not exist"));

    // A second database of the same name fails, naming the command.
    EXPECT_THAT(server->CreateDatabase("first_db"),
                StatusIs(absl::StatusCode::kInternal, HasSubstr("createdb")));
    EXPECT_THAT(server->CreateDatabase("bad name;"),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  // Stopped and removed.
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(PostgresServerTest, SharedIsOnePerProcess) {
  ASSERT_OK_AND_ASSIGN(PostgresServer * a, PostgresServer::Shared());
  ASSERT_OK_AND_ASSIGN(PostgresServer * b, PostgresServer::Shared());
  EXPECT_EQ(a, b);
  ASSERT_OK_AND_ASSIGN(std::string url, a->CreateDatabase("shared_db"));
  EXPECT_EQ(QueryOne(url, "SELECT 40 + 2"), "42");
  EXPECT_EQ(QueryOne(a->Url(), "SELECT current_user"), "postgres");
}

}  // namespace
}  // namespace diego::fakes
