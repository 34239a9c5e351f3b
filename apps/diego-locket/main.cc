// Copyright 2026 The libdiego Authors.
//
// diego-locket: Diego's Locket (locks and presences with TTLs, gRPC service
// `models.Locket`) on SQLite or PostgreSQL, wire-compatible with
// cloudfoundry/locket.
//
//   $ diego-locket --db=sqlite:///var/lib/diego/locket.db --ca_file=ca.crt
//       --cert_file=locket.crt --key_file=locket.key
//
// Settings are flags named like Diego's locket.json keys where Diego has one
// (listen_address, ca_file, cert_file, key_file, log_level); any of them can
// also come from a JSON file given with --config. The locks live in the
// `locks` table of the BBS schema, so diego-locket can share the BBS's
// database. Runs until SIGINT or SIGTERM, then stops and exits 0. Exit
// status 1: a setting is invalid, the database cannot be opened or migrated,
// or the port cannot be bound (the reason is printed to stderr).

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "diego/base/app.h"
#include "diego/base/clock.h"
#include "diego/base/flags.h"
#include "diego/base/logger.h"
#include "diego/bbs/schema.h"
#include "diego/bbs/sql.h"
#include "diego/locket/grpc.h"
#include "diego/locket/lock_store.h"
#include "diego/locket/service.h"

ABSL_FLAG(std::string, config, "",
          "Path to a JSON config file whose keys are these flags' names (Diego's locket.json "
          "keys); its values override the command line.");
ABSL_FLAG(std::string, listen_address, "0.0.0.0:8891",
          "host:port of the Locket gRPC API (port 0 = any free port).");
ABSL_FLAG(std::string, db, "sqlite:///var/lib/diego/locket.db",
          "Database URL: sqlite:///absolute/path.db, sqlite://relative/path.db or "
          "postgres://user[:password]@host[:port]/dbname[?libpq-params]. May be the BBS's "
          "database (Locket's rows are the `locks` table of its schema).");
ABSL_FLAG(std::string, ca_file, "",
          "PEM CA bundle that client certificates must chain to. With cert_file and key_file "
          "the API is served over mutual TLS; all three or none (plaintext).");
ABSL_FLAG(std::string, cert_file, "", "PEM certificate chain the API presents (mutual TLS).");
ABSL_FLAG(std::string, key_file, "", "PEM private key of cert_file (mutual TLS).");
ABSL_FLAG(std::string, log_level, "info", "Minimum log level: debug, info, error or fatal.");
ABSL_FLAG(std::string, session_name, "locket", "The `source` of every log line.");

namespace {

constexpr char kProgram[] = "diego-locket";
constexpr char kUsage[] =
    "Serves Diego's Locket API (gRPC service models.Locket, optionally mutual TLS) with its "
    "locks and presences in SQLite or PostgreSQL.\n"
    "\n"
    "usage: diego-locket [--config=FILE] [--db=URL] [--listen_address=HOST:PORT] [flags]\n"
    "\n"
    "Runs until SIGINT or SIGTERM, then stops (exit 0). Exit 1: a setting is invalid, the\n"
    "database cannot be opened or migrated, or the port cannot be bound.";

int Fail(absl::string_view what, const absl::Status& status) {
  return diego::AppFailure(kProgram, what, status);
}

int Run() {
  absl::StatusOr<diego::LogLevel> level = diego::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return Fail("--log_level", level.status());
  const std::string db_url = absl::GetFlag(FLAGS_db);
  if (absl::StatusOr<diego::bbs::DatabaseUrl> parsed = diego::bbs::ParseDatabaseUrl(db_url);
      !parsed.ok()) {
    return Fail("--db", parsed.status());
  }
  const std::string listen_address = absl::GetFlag(FLAGS_listen_address);
  if (absl::StatusOr<std::pair<std::string, int>> parsed = diego::ParseHostPort(listen_address);
      !parsed.ok()) {
    return Fail("--listen_address", parsed.status());
  }

  diego::locket::LocketGrpcServer::Options server_options;
  server_options.listen_address = listen_address;
  absl::StatusOr<std::optional<diego::TlsFiles>> tls = diego::MutualTlsFiles(
      absl::GetFlag(FLAGS_ca_file), absl::GetFlag(FLAGS_cert_file), absl::GetFlag(FLAGS_key_file));
  if (!tls.ok()) return Fail("--ca_file/--cert_file/--key_file", tls.status());
  if (tls->has_value()) {
    server_options.tls =
        diego::locket::GrpcTls{(*tls)->ca_file, (*tls)->cert_file, (*tls)->key_file, ""};
  }

  // Signals are awaited below; block them before any thread starts so every
  // thread inherits the mask.
  diego::BlockTerminationSignals();

  diego::Clock* clock = diego::Clock::Real();
  diego::Logger logger(absl::GetFlag(FLAGS_session_name), diego::FileLogSink::Stderr(), clock,
                       *level);

  absl::StatusOr<std::unique_ptr<diego::bbs::SqlDatabase>> db =
      diego::bbs::SqlDatabase::Open(db_url);
  if (!db.ok()) return Fail("cannot open database", db.status());
  if (absl::Status s = diego::bbs::MigrateSchema(**db); !s.ok()) {
    return Fail("cannot migrate database schema", s);
  }

  diego::locket::LockStore store(db->get());
  diego::locket::LocketService service(&store, clock, logger);
  service.Start();  // The expiry loop: sweeps at once, then every 5 s.
  diego::locket::LocketGrpcServer server(&service, logger, server_options);
  if (absl::Status s = server.Start(); !s.ok()) return Fail("cannot start", s);
  logger.Info("started", {{"db", std::string(diego::bbs::SqlEngineName((*db)->engine()))},
                          {"port", server.port()},
                          {"tls", server_options.tls.has_value()}});

  const int signal_number = diego::AwaitTerminationSignal();
  logger.Info("signalled", {{"signal", signal_number}});
  server.Stop();
  service.Stop();
  logger.Info("exited");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<std::vector<char*>> args =
      diego::InitAppWithConfig(argc, argv, kUsage, FLAGS_config);
  if (!args.ok()) return Fail("--config", args.status());
  return Run();
}
