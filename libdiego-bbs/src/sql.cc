// Copyright 2026 The libdiego Authors.

#include "diego/bbs/sql.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "diego/base/status_macros.h"
#include "sql_writer.h"

namespace diego::bbs {

absl::string_view SqlEngineName(SqlEngine engine) {
  switch (engine) {
    case SqlEngine::kSqlite:
      return "sqlite";
    case SqlEngine::kPostgres:
      return "postgres";
  }
  return "unknown";
}

absl::string_view BlobType(SqlEngine engine) {
  return engine == SqlEngine::kPostgres ? "BYTEA" : "BLOB";
}

absl::Status SqlConflictError() { return absl::AbortedError("sql: concurrent update conflict"); }

absl::StatusOr<DatabaseUrl> ParseDatabaseUrl(absl::string_view url) {
  const size_t sep = url.find("://");
  if (url.empty()) {
    return absl::InvalidArgumentError(
        "empty database URL (want sqlite://PATH or postgres://...)");
  }
  if (sep == absl::string_view::npos || sep == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("database URL \"", url,
                     "\" has no scheme (want sqlite://PATH or postgres://...)"));
  }
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, sep));
  const absl::string_view rest = url.substr(sep + 3);
  DatabaseUrl parsed;
  if (scheme == "sqlite") {
    if (rest.empty()) return absl::InvalidArgumentError("sqlite URL has no path");
    if (rest.find('?') != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("sqlite URL \"", url, "\" has a query; sqlite URLs take only a path"));
    }
    if (rest.back() == '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("sqlite URL \"", url, "\" names a directory, not a file"));
    }
    parsed.engine = SqlEngine::kSqlite;
    parsed.sqlite_path = std::string(rest);
    return parsed;
  }
  if (scheme == "postgres" || scheme == "postgresql") {
    parsed.engine = SqlEngine::kPostgres;
    parsed.postgres_conninfo = std::string(url);
    return parsed;
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported database URL scheme \"",
                                                 url.substr(0, sep),
                                                 "\" (want sqlite:// or postgres://)"));
}

absl::StatusOr<std::unique_ptr<SqlDatabase>> SqlDatabase::Open(absl::string_view url,
                                                               const Options& options) {
  DIEGO_ASSIGN_OR_RETURN(DatabaseUrl parsed, ParseDatabaseUrl(url));
  if (options.read_connections < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("sql: read_connections must be at least 1, got ", options.read_connections));
  }
  if (options.max_batch < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("sql: max_batch must be at least 1, got ", options.max_batch));
  }
  if (options.max_write_attempts < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sql: max_write_attempts must be at least 1, got ", options.max_write_attempts));
  }
  if (options.busy_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("sql: busy_timeout must not be negative");
  }
  switch (parsed.engine) {
    case SqlEngine::kSqlite:
      return sql_internal::OpenSqlite(parsed.sqlite_path, options);
    case SqlEngine::kPostgres:
      return sql_internal::OpenPostgres(parsed.postgres_conninfo, options);
  }
  return absl::InvalidArgumentError("sql: unknown engine");
}

}  // namespace diego::bbs
