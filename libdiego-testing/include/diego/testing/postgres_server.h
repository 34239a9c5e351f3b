// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: postgres_server.h
// -----------------------------------------------------------------------------
//
// A throwaway PostgreSQL server for tests. `Start()` runs `initdb` and the
// server from the newest /usr/lib/postgresql/<version>/bin, as the `postgres`
// user when the test runs as root (initdb refuses root), in a fresh temporary
// directory. The server listens only on a unix socket in that directory
// (listen_addresses=''), keeps fsync on (durability tests rely on it) and
// trusts every local connection. The destructor stops it and removes the
// directory.
//
//   ASSERT_OK_AND_ASSIGN(fakes::PostgresServer* pg, fakes::PostgresServer::Shared());
//   ASSERT_OK_AND_ASSIGN(std::string url, pg->CreateDatabase("store_test_1"));
//   // url: "postgresql:///store_test_1?host=/tmp/diego-pg-XXXXXX&user=postgres"
//
// Errors name the failing command and its output. Nothing here ever skips: a
// server that cannot start is an error for the caller to fail on.
//
// Thread-safety: `CreateDatabase()` may be called from any thread.

#ifndef DIEGO_TESTING_POSTGRES_SERVER_H_
#define DIEGO_TESTING_POSTGRES_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace diego::fakes {

class PostgresServer {
 public:
  // Creates the directory, runs initdb, starts the server and waits until it
  // accepts connections.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();

  // One server per process, started on first call and stopped at exit. A
  // failed start is returned again to every later caller.
  static absl::StatusOr<PostgresServer*> Shared();

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;
  // Stops the server (immediate shutdown) and removes its directory.
  ~PostgresServer();

  // Creates database `name` (letters, digits and '_') and returns its libpq
  // URL. kAlreadyExists-like failures come back as the createdb error.
  absl::StatusOr<std::string> CreateDatabase(absl::string_view name);

  // The URL of the always-present `postgres` database.
  std::string Url(absl::string_view database = "postgres") const;

  // The directory holding the data directory, the socket and the log.
  const std::string& dir() const { return dir_; }
  // The unix socket directory (the `host` of the URLs).
  const std::string& socket_dir() const { return dir_; }

 private:
  PostgresServer(std::string dir, std::string bin_dir, bool as_postgres)
      : dir_(std::move(dir)), bin_dir_(std::move(bin_dir)), as_postgres_(as_postgres) {}

  // Runs `args` (as postgres when needed); returns its combined output, or
  // an error naming the command and its output.
  absl::StatusOr<std::string> RunCommand(const std::string& command) const;
  void Stop();

  const std::string dir_;
  const std::string bin_dir_;
  const bool as_postgres_;
  bool started_ = false;
  mutable absl::Mutex mu_;
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_POSTGRES_SERVER_H_
