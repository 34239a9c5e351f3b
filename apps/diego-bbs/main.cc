// Copyright 2026 The libdiego Authors.
//
// diego-bbs: Diego's BBS (state store + API server) on SQLite or PostgreSQL.
//
//   $ diego-bbs --db=sqlite:///var/lib/diego/bbs.db --ca_file=ca.crt
//       --cert_file=bbs.crt --key_file=bbs.key
//
// Settings are flags named like Diego's bbs.json keys where Diego has one
// (listen_address, health_address, ca_file, auctioneer_address, ...); any of
// them can also come from a JSON file given with --config. Runs until SIGINT
// or SIGTERM, then stops gracefully and exits 0. Exit status 1: a setting is
// invalid, the database cannot be opened or migrated, or a port cannot be
// bound (the reason is printed to stderr).

#include <signal.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"
#include "diego/base/flags.h"
#include "diego/base/fmt.h"
#include "diego/base/logger.h"
#include "diego/bbs/events.h"
#include "diego/bbs/metrics.h"
#include "diego/bbs/outbound.h"
#include "diego/bbs/schema.h"
#include "diego/bbs/server.h"
#include "diego/bbs/service.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/task_state.h"
#include "fmt/core.h"

ABSL_FLAG(std::string, config, "",
          "Path to a JSON config file whose keys are these flags' names (Diego's bbs.json "
          "keys); its values override the command line.");
ABSL_FLAG(std::string, listen_address, "0.0.0.0:8889",
          "host:port of the BBS API (port 0 = any free port).");
ABSL_FLAG(std::string, health_address, "127.0.0.1:8890",
          "host:port of the plain-HTTP health listener: GET /ping (200) and GET /metrics "
          "(Prometheus text). Empty = none.");
ABSL_FLAG(std::string, db, "sqlite:///var/lib/diego/bbs.db",
          "Database URL: sqlite:///absolute/path.db, sqlite://relative/path.db or "
          "postgres://user[:password]@host[:port]/dbname[?libpq-params].");
ABSL_FLAG(std::string, ca_file, "",
          "PEM CA bundle that client certificates must chain to. With cert_file and key_file "
          "the API is served over mutual TLS (TLS 1.2+); all three or none.");
ABSL_FLAG(std::string, cert_file, "", "PEM certificate chain the API presents (mutual TLS).");
ABSL_FLAG(std::string, key_file, "", "PEM private key of cert_file (mutual TLS).");
ABSL_FLAG(std::string, auctioneer_address, "http://127.0.0.1:9016",
          "URL of the auctioneer (http:// or https://).");
ABSL_FLAG(std::string, auctioneer_ca_cert, "", "PEM CA bundle to verify an https auctioneer.");
ABSL_FLAG(std::string, auctioneer_client_cert, "",
          "PEM client certificate presented to an https auctioneer.");
ABSL_FLAG(std::string, auctioneer_client_key, "", "PEM key of auctioneer_client_cert.");
ABSL_FLAG(std::string, rep_ca_cert, "", "PEM CA bundle to verify https reps.");
ABSL_FLAG(std::string, rep_client_cert, "", "PEM client certificate presented to https reps.");
ABSL_FLAG(std::string, rep_client_key, "", "PEM key of rep_client_cert.");
ABSL_FLAG(absl::Duration, communication_timeout, absl::Seconds(10),
          "Timeout of every call to the auctioneer and reps (Diego's communication_timeout).");
ABSL_FLAG(int, max_instances, 100000,
          "Most instances one DesiredLRP may have; a desire or update asking for more is "
          "refused (InvalidRequest, instances). 0 = no limit (Diego's behaviour).");
ABSL_FLAG(int, max_task_retries, diego::model::kDefaultMaxTaskRetries,
          "How often a rejected task is re-auctioned before it fails (Diego's "
          "max_task_retries).");
ABSL_FLAG(int64_t, max_request_bytes, 16 * 1024 * 1024,
          "Largest accepted API request body; larger ones get HTTP 413.");
ABSL_FLAG(absl::Duration, request_timeout, absl::Seconds(30),
          "Socket read/write timeout of API requests (whole seconds).");
ABSL_FLAG(int, worker_threads, 64,
          "API worker threads. Every open connection and every event-stream subscriber "
          "holds one while open.");
ABSL_FLAG(int, max_event_streams, 0,
          "Most concurrent event streams (further ones get HTTP 503); must be less than "
          "worker_threads. 0 = three quarters of worker_threads.");
ABSL_FLAG(std::string, log_level, "info", "Minimum log level: debug, info, error or fatal.");
ABSL_FLAG(std::string, session_name, "bbs", "The `source` of every log line.");

namespace {

constexpr char kProgram[] = "diego-bbs";
constexpr char kUsage[] =
    "Serves Diego's BBS API (protobuf over HTTP/1.1, optionally mutual TLS) with its state "
    "in SQLite or PostgreSQL.\n"
    "\n"
    "usage: diego-bbs [--config=FILE] [--db=URL] [--listen_address=HOST:PORT] [flags]\n"
    "\n"
    "Runs until SIGINT or SIGTERM, then stops gracefully (exit 0). Exit 1: a setting is\n"
    "invalid, the database cannot be opened or migrated, or a port cannot be bound.";

int Fail(absl::string_view what, const absl::Status& status) {
  fmt::print(stderr, "{}: {}: {}\n", kProgram, what, status.message());
  return 1;
}

diego::bbs::HttpClientOptions ClientOptions(const std::string& ca, const std::string& cert,
                                            const std::string& key) {
  diego::bbs::HttpClientOptions options;
  options.timeout = absl::GetFlag(FLAGS_communication_timeout);
  options.ca_file = ca;
  options.cert_file = cert;
  options.key_file = key;
  return options;
}

int Run() {
  absl::StatusOr<diego::LogLevel> level = diego::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return Fail("--log_level", level.status());
  if (absl::GetFlag(FLAGS_max_request_bytes) <= 0) {
    return Fail("--max_request_bytes", absl::InvalidArgumentError("must be positive"));
  }
  if (absl::GetFlag(FLAGS_max_instances) < 0) {
    return Fail("--max_instances", absl::InvalidArgumentError("must not be negative"));
  }
  if (absl::GetFlag(FLAGS_max_task_retries) < 0) {
    return Fail("--max_task_retries", absl::InvalidArgumentError("must not be negative"));
  }
  const std::string db_url = absl::GetFlag(FLAGS_db);
  if (absl::StatusOr<diego::bbs::DatabaseUrl> parsed = diego::bbs::ParseDatabaseUrl(db_url);
      !parsed.ok()) {
    return Fail("--db", parsed.status());
  }

  diego::bbs::BbsServer::Options server_options;
  server_options.listen_address = absl::GetFlag(FLAGS_listen_address);
  server_options.health_listen_address = absl::GetFlag(FLAGS_health_address);
  server_options.max_request_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_request_bytes));
  server_options.request_timeout = absl::GetFlag(FLAGS_request_timeout);
  server_options.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  server_options.max_event_streams = absl::GetFlag(FLAGS_max_event_streams);
  const std::string ca = absl::GetFlag(FLAGS_ca_file);
  const std::string cert = absl::GetFlag(FLAGS_cert_file);
  const std::string key = absl::GetFlag(FLAGS_key_file);
  if (!ca.empty() || !cert.empty() || !key.empty()) {
    if (ca.empty() || cert.empty() || key.empty()) {
      return Fail("--ca_file/--cert_file/--key_file",
                  absl::InvalidArgumentError("mutual TLS needs all three (or none)"));
    }
    server_options.tls = diego::bbs::BbsServerTls{ca, cert, key};
  }

  // Signals are taken by sigwait below; block them before any thread starts
  // so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  diego::Clock* clock = diego::Clock::Real();
  diego::Logger logger(absl::GetFlag(FLAGS_session_name), diego::FileLogSink::Stderr(), clock,
                       *level);

  absl::StatusOr<std::unique_ptr<diego::bbs::SqlDatabase>> db =
      diego::bbs::SqlDatabase::Open(db_url);
  if (!db.ok()) return Fail("cannot open database", db.status());
  if (absl::Status s = diego::bbs::MigrateSchema(**db); !s.ok()) {
    return Fail("cannot migrate database schema", s);
  }

  diego::bbs::EventHub hub;
  diego::bbs::SqlStore::Options store_options;
  store_options.max_task_retries = absl::GetFlag(FLAGS_max_task_retries);
  diego::bbs::SqlStore store(db->get(), &hub, clock, store_options);

  absl::StatusOr<std::unique_ptr<diego::bbs::HttpAuctioneerClient>> auctioneer =
      diego::bbs::HttpAuctioneerClient::Create(
          absl::GetFlag(FLAGS_auctioneer_address),
          ClientOptions(absl::GetFlag(FLAGS_auctioneer_ca_cert),
                        absl::GetFlag(FLAGS_auctioneer_client_cert),
                        absl::GetFlag(FLAGS_auctioneer_client_key)));
  if (!auctioneer.ok()) return Fail("--auctioneer_address", auctioneer.status());
  diego::bbs::HttpRepClientFactory reps(ClientOptions(absl::GetFlag(FLAGS_rep_ca_cert),
                                                      absl::GetFlag(FLAGS_rep_client_cert),
                                                      absl::GetFlag(FLAGS_rep_client_key)));
  diego::bbs::BbsService::Options service_options;
  service_options.max_instances = absl::GetFlag(FLAGS_max_instances);
  diego::bbs::BbsService service(&store, auctioneer->get(), &reps, nullptr, logger,
                                 service_options);
  diego::bbs::Metrics metrics;
  diego::bbs::AddBbsStoreCollector(metrics, &store, &hub);

  diego::bbs::BbsServer server(&service, &hub, &metrics, logger, server_options);
  if (absl::Status s = server.Start(); !s.ok()) return Fail("cannot start", s);
  logger.Info("ready", {{"db", std::string(diego::bbs::SqlEngineName((*db)->engine()))},
                        {"port", server.port()},
                        {"health_port", server.health_port()}});

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  logger.Info("signalled", {{"signal", signal_number}});
  server.Stop();
  hub.CloseAll();
  logger.Info("exited");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  diego::InitApp(argc, argv, kUsage);
  if (const std::string config = absl::GetFlag(FLAGS_config); !config.empty()) {
    if (absl::Status s = diego::ApplyJsonConfigFile(config); !s.ok()) {
      return Fail("--config", s);
    }
  }
  return Run();
}
