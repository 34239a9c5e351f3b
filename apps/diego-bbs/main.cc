// Copyright 2026 The libdiego Authors.
//
// diego-bbs: Diego's BBS (state store + API server) on SQLite or PostgreSQL.
//
//   $ diego-bbs --db=sqlite:///var/lib/diego/bbs.db --ca_file=ca.crt
//       --cert_file=bbs.crt --key_file=bbs.key
//
// Settings are flags named like Diego's bbs.json keys where Diego has one
// (listen_address, health_address, ca_file, auctioneer_address, ...); any of
// them can also come from a JSON file given with --config.
//
// Active/standby (diego-spec.md 3.1, 3.4, 8): several diego-bbs may share one
// database; only the holder of the Locket lock "bbs" serves the API and runs
// convergence and task callbacks. Start-up: open and migrate the database,
// start Locket (in process on this database, exposed over gRPC on
// --locket_listen_address; or a remote one with --locket_address) and the
// health listener (/ping, /metrics, /readyz: 503 "standby" until active),
// then try to take the lock every --lock_retry_interval. Once it holds the
// lock it binds the API port, starts the converger, and logs "bbs.ready".
// Every write transaction is fenced (diego/locket/fence.h): a BBS whose lease
// passed, or whose lock row is gone or taken, cannot commit.
//
// Runs until SIGINT or SIGTERM, then stops gracefully, releases the lock and
// exits 0. Exit status 1: a setting is invalid, the database cannot be opened
// or migrated, a port cannot be bound (the reason is printed to stderr), or
// the lock was lost (log line "bbs.lock.lost"; the process exits at once, a
// standby is taking over).

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/base/app.h"
#include "diego/base/clock.h"
#include "diego/base/flags.h"
#include "diego/base/guid.h"
#include "diego/base/logger.h"
#include "diego/bbs/converger.h"
#include "diego/bbs/events.h"
#include "diego/bbs/metrics.h"
#include "diego/bbs/outbound.h"
#include "diego/bbs/schema.h"
#include "diego/bbs/server.h"
#include "diego/bbs/service.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/bbs/task_callbacks.h"
#include "diego/locket/cells.h"
#include "diego/locket/fence.h"
#include "diego/locket/grpc.h"
#include "diego/locket/lock_runner.h"
#include "diego/locket/lock_store.h"
#include "diego/locket/service.h"
#include "diego/model/task_state.h"

ABSL_FLAG(std::string, config, "",
          "Path to a JSON config file whose keys are these flags' names (Diego's bbs.json "
          "keys); its values override the command line.");
ABSL_FLAG(std::string, listen_address, "0.0.0.0:8889",
          "host:port of the BBS API (port 0 = any free port).");
ABSL_FLAG(std::string, health_address, "127.0.0.1:8890",
          "host:port of the plain-HTTP health listener: GET /ping (200), GET /metrics "
          "(Prometheus text) and GET /readyz (200 \"active\" / 503 \"standby\"). Served "
          "by a standby too. Empty = none.");
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
ABSL_FLAG(std::string, uuid, "",
          "Owner of the \"bbs\" lock (unique per BBS instance). Empty = a generated GUID.");
ABSL_FLAG(absl::Duration, lock_ttl, absl::Seconds(15),
          "TTL of the \"bbs\" lock (whole seconds, at least 1s); a BBS that cannot refresh it "
          "within this time loses it.");
ABSL_FLAG(absl::Duration, lock_retry_interval, absl::Seconds(5),
          "How often the lock is taken or refreshed (also each Locket call's timeout).");
ABSL_FLAG(std::string, locket_address, "",
          "host:port of a remote Locket (gRPC) for the lock and the cell presences. Empty = "
          "serve Locket in process from this BBS's database.");
ABSL_FLAG(std::string, locket_ca_cert_file, "",
          "PEM CA bundle to verify the remote Locket (mutual TLS with locket_client_cert_file "
          "and locket_client_key_file; all three or none = plaintext).");
ABSL_FLAG(std::string, locket_client_cert_file, "",
          "PEM client certificate presented to the remote Locket.");
ABSL_FLAG(std::string, locket_client_key_file, "", "PEM key of locket_client_cert_file.");
ABSL_FLAG(std::string, locket_listen_address, "0.0.0.0:8891",
          "host:port where the in-process Locket is served over gRPC (with the API's mutual "
          "TLS files when set; port 0 = any free port). Empty = not exposed. Ignored with "
          "locket_address.");
ABSL_FLAG(absl::Duration, converge_repeat_interval, absl::Seconds(30),
          "Time between the end of one convergence pass and the start of the next.");
ABSL_FLAG(int, convergence_workers, 20,
          "Most retirements and rep updates one convergence pass sends at once.");
ABSL_FLAG(absl::Duration, kick_task_duration, absl::Seconds(30),
          "Convergence re-sends the callback of a task Completed (or Resolving) this long.");
ABSL_FLAG(absl::Duration, expire_pending_task_duration, absl::Minutes(30),
          "A task Pending this long is failed by convergence (\"not started within time "
          "limit\").");
ABSL_FLAG(absl::Duration, expire_completed_task_duration, absl::Minutes(2),
          "A task Completed this long (first completion) is deleted by convergence.");
ABSL_FLAG(absl::Duration, cell_poll_interval, absl::Seconds(1),
          "How often the converger re-reads the cell presences and converges at once when a "
          "cell vanished (not in Diego). 0 = only the periodic passes.");
ABSL_FLAG(int, task_callback_workers, 1000, "Most task completion callbacks in flight at once.");

namespace {

constexpr char kProgram[] = "diego-bbs";
constexpr char kUsage[] =
    "Serves Diego's BBS API (protobuf over HTTP/1.1, optionally mutual TLS) with its state "
    "in SQLite or PostgreSQL.\n"
    "\n"
    "usage: diego-bbs [--config=FILE] [--db=URL] [--listen_address=HOST:PORT] [flags]\n"
    "\n"
    "Several diego-bbs may share one database: the holder of the Locket lock \"bbs\" serves\n"
    "the API and converges, the others wait (health listener only; GET /readyz answers 503).\n"
    "Runs until SIGINT or SIGTERM, then stops gracefully and releases the lock (exit 0).\n"
    "Exit 1: a setting is invalid, the database cannot be opened or migrated, a port cannot\n"
    "be bound, or the lock was lost.";

constexpr char kLockKey[] = "bbs";

int Fail(absl::string_view what, const absl::Status& status) {
  return diego::AppFailure(kProgram, what, status);
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

// What the main thread waits for: the lock runner's callbacks and the signal
// thread report here.
class Events {
 public:
  void LockAcquired() {
    absl::MutexLock lock(&mu_);
    acquired_ = true;
    changed_.SignalAll();
  }
  void LockLost(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    lost_ = status;
    changed_.SignalAll();
  }
  void Signalled(int signal_number) {
    absl::MutexLock lock(&mu_);
    signal_ = signal_number;
    changed_.SignalAll();
  }

  // Blocks until the lock was lost, a signal came, or (with
  // `until_acquired`) the lock was acquired.
  void Wait(bool until_acquired) {
    absl::MutexLock lock(&mu_);
    while (!lost_.has_value() && signal_ == 0 && !(until_acquired && acquired_)) {
      changed_.Wait(&mu_);
    }
  }
  // Like Wait(false), but returns after at most `timeout` (real time).
  void WaitActive(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    if (!lost_.has_value() && signal_ == 0) changed_.WaitWithTimeout(&mu_, timeout);
  }

  std::optional<absl::Status> lost() const {
    absl::MutexLock lock(&mu_);
    return lost_;
  }
  int signal() const {
    absl::MutexLock lock(&mu_);
    return signal_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  bool acquired_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> lost_ ABSL_GUARDED_BY(mu_);
  int signal_ ABSL_GUARDED_BY(mu_) = 0;
};

// Locket's gauges and counters (Diego's names) of the in-process Locket, and
// whether this BBS holds the lock (Diego's LockHeld).
void AddLockCollector(diego::bbs::Metrics& metrics, const diego::locket::LockRunner* runner,
                      const diego::locket::LocketService* locket) {
  metrics.AddCollector([runner, locket] {
    using diego::bbs::MetricSample;
    using diego::bbs::MetricType;
    std::vector<MetricSample> samples;
    auto add = [&samples](const char* name, const char* help, MetricType type, double value) {
      samples.push_back({name, help, type, {}, value});
    };
    add("LockHeld", "1 while this BBS holds the \"bbs\" lock (is active).", MetricType::kGauge,
        runner->held() ? 1.0 : 0.0);
    if (locket != nullptr) {
      const diego::locket::LocketMetrics m = locket->metrics();
      add("ActiveLocks", "Locket lock rows at the last sweep.", MetricType::kGauge,
          static_cast<double>(m.active_locks));
      add("ActivePresences", "Locket presence rows at the last sweep.", MetricType::kGauge,
          static_cast<double>(m.active_presences));
      add("LocksExpired", "Locket lock rows deleted by expiry.", MetricType::kCounter,
          static_cast<double>(m.locks_expired));
      add("PresenceExpired", "Locket presence rows deleted by expiry.", MetricType::kCounter,
          static_cast<double>(m.presences_expired));
    }
    return samples;
  });
}

// The gRPC TLS settings for `files`, if any.
std::optional<diego::locket::GrpcTls> GrpcTlsFor(const std::optional<diego::TlsFiles>& files) {
  if (!files.has_value()) return std::nullopt;
  return diego::locket::GrpcTls{files->ca_file, files->cert_file, files->key_file, ""};
}

absl::Status ValidateLockAndConvergenceFlags() {
  const absl::Duration ttl = absl::GetFlag(FLAGS_lock_ttl);
  if (ttl < absl::Seconds(1) || ttl != absl::Trunc(ttl, absl::Seconds(1))) {
    return absl::InvalidArgumentError("--lock_ttl: must be whole seconds, at least 1s");
  }
  struct Positive {
    const char* name;
    absl::Duration value;
  };
  for (const Positive& p :
       {Positive{"--lock_retry_interval", absl::GetFlag(FLAGS_lock_retry_interval)},
        Positive{"--converge_repeat_interval", absl::GetFlag(FLAGS_converge_repeat_interval)},
        Positive{"--kick_task_duration", absl::GetFlag(FLAGS_kick_task_duration)},
        Positive{"--expire_pending_task_duration",
                 absl::GetFlag(FLAGS_expire_pending_task_duration)},
        Positive{"--expire_completed_task_duration",
                 absl::GetFlag(FLAGS_expire_completed_task_duration)}}) {
    if (p.value <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(p.name, ": must be positive"));
    }
  }
  if (absl::GetFlag(FLAGS_cell_poll_interval) < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--cell_poll_interval: must not be negative");
  }
  if (absl::GetFlag(FLAGS_convergence_workers) < 1) {
    return absl::InvalidArgumentError("--convergence_workers: must be at least 1");
  }
  if (absl::GetFlag(FLAGS_task_callback_workers) < 1) {
    return absl::InvalidArgumentError("--task_callback_workers: must be at least 1");
  }
  return absl::OkStatus();
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
  if (absl::Status s = ValidateLockAndConvergenceFlags(); !s.ok()) return Fail("", s);
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
  absl::StatusOr<std::optional<diego::TlsFiles>> tls = diego::MutualTlsFiles(
      absl::GetFlag(FLAGS_ca_file), absl::GetFlag(FLAGS_cert_file), absl::GetFlag(FLAGS_key_file));
  if (!tls.ok()) return Fail("--ca_file/--cert_file/--key_file", tls.status());
  if (tls->has_value()) {
    server_options.tls =
        diego::bbs::BbsServerTls{(*tls)->ca_file, (*tls)->cert_file, (*tls)->key_file};
  }
  const std::string locket_address = absl::GetFlag(FLAGS_locket_address);
  const bool remote_locket = !locket_address.empty();
  absl::StatusOr<std::optional<diego::TlsFiles>> locket_tls = diego::MutualTlsFiles(
      absl::GetFlag(FLAGS_locket_ca_cert_file), absl::GetFlag(FLAGS_locket_client_cert_file),
      absl::GetFlag(FLAGS_locket_client_key_file));
  if (!locket_tls.ok()) {
    return Fail("--locket_ca_cert_file/--locket_client_cert_file/--locket_client_key_file",
                locket_tls.status());
  }
  const std::string locket_listen_address = absl::GetFlag(FLAGS_locket_listen_address);
  std::string owner = absl::GetFlag(FLAGS_uuid);
  if (owner.empty()) owner = diego::GenerateGuid();

  // Signals are taken by the signal thread below; block them before any
  // thread starts so every thread inherits the mask.
  diego::BlockTerminationSignals();

  diego::Clock* clock = diego::Clock::Real();
  diego::Logger logger(absl::GetFlag(FLAGS_session_name), diego::FileLogSink::Stderr(), clock,
                       *level);

  // Locket. In process: its own connection to the database, without the
  // fence (taking the lock is what makes this BBS's writes legal).
  std::unique_ptr<diego::bbs::SqlDatabase> locket_db;
  std::unique_ptr<diego::locket::LockStore> lock_store;
  std::unique_ptr<diego::locket::LocketService> locket_service;
  std::unique_ptr<diego::locket::GrpcLocketClient> remote_client;
  std::unique_ptr<diego::locket::LocketGrpcServer> locket_server;
  diego::locket::LocketClient* locket = nullptr;
  if (remote_locket) {
    absl::StatusOr<std::unique_ptr<diego::locket::GrpcLocketClient>> client =
        diego::locket::GrpcLocketClient::Create(locket_address, GrpcTlsFor(*locket_tls));
    if (!client.ok()) return Fail("--locket_address", client.status());
    remote_client = *std::move(client);
    locket = remote_client.get();
  } else {
    diego::bbs::SqlDatabase::Options locket_db_options;
    locket_db_options.read_connections = 2;
    // A lock refresh must not wait on a busy database for longer than the
    // runner's call timeout.
    locket_db_options.busy_timeout = absl::GetFlag(FLAGS_lock_retry_interval);
    absl::StatusOr<std::unique_ptr<diego::bbs::SqlDatabase>> opened =
        diego::bbs::SqlDatabase::Open(db_url, locket_db_options);
    if (!opened.ok()) return Fail("cannot open database", opened.status());
    locket_db = *std::move(opened);
    // The locks table must exist before anyone can lock.
    if (absl::Status s = diego::bbs::MigrateSchema(*locket_db); !s.ok()) {
      return Fail("cannot migrate database schema", s);
    }
    lock_store = std::make_unique<diego::locket::LockStore>(locket_db.get());
    locket_service = std::make_unique<diego::locket::LocketService>(lock_store.get(), clock,
                                                                    logger.Session("locket"));
    locket = locket_service.get();
  }

  // The lock. Its callbacks only report to the main thread.
  auto events = std::make_shared<Events>();
  diego::locket::LockRunner::Options lock_options;
  lock_options.resource.set_key(kLockKey);
  lock_options.resource.set_owner(owner);
  lock_options.mode = diego::locket::LockRunner::Mode::kLock;
  lock_options.ttl = absl::GetFlag(FLAGS_lock_ttl);
  lock_options.retry_interval = absl::GetFlag(FLAGS_lock_retry_interval);
  lock_options.on_acquired = [events] { events->LockAcquired(); };
  lock_options.on_lost = [events](const absl::Status& status) { events->LockLost(status); };
  diego::locket::LockRunner runner(locket, clock, logger, lock_options);

  // The BBS's own connection: every write transaction is fenced by the lock.
  diego::bbs::SqlDatabase::Options db_options;
  db_options.before_commit = diego::locket::MakeLockFence(
      &runner, clock, {.key = kLockKey, .owner = owner, .check_table = !remote_locket});
  absl::StatusOr<std::unique_ptr<diego::bbs::SqlDatabase>> db =
      diego::bbs::SqlDatabase::Open(db_url, db_options);
  if (!db.ok()) return Fail("cannot open database", db.status());
  if (remote_locket) {
    if (absl::Status s = diego::bbs::MigrateSchema(**db); !s.ok()) {
      return Fail("cannot migrate database schema", s);
    }
  }

  if (locket_service != nullptr) {
    locket_service->Start();  // The expiry loop.
    if (!locket_listen_address.empty()) {
      diego::locket::LocketGrpcServer::Options grpc_options;
      grpc_options.listen_address = locket_listen_address;
      grpc_options.tls = GrpcTlsFor(*tls);
      locket_server = std::make_unique<diego::locket::LocketGrpcServer>(
          locket_service.get(), logger.Session("locket"), grpc_options);
      if (absl::Status s = locket_server->Start(); !s.ok()) {
        return Fail("cannot start Locket", s);
      }
      logger.Info("locket.listening", {{"listen_address", locket_listen_address},
                                       {"port", locket_server->port()},
                                       {"tls", grpc_options.tls.has_value()}});
    }
  }

  // Cell presences (the API's cells/list and the converger's cell set): the
  // locks table when Locket runs here, else the remote Locket.
  std::unique_ptr<diego::locket::LocketCellPresenceSource> locket_cells;
  if (remote_locket) {
    locket_cells = std::make_unique<diego::locket::LocketCellPresenceSource>(
        locket, absl::GetFlag(FLAGS_communication_timeout));
  }

  diego::bbs::EventHub hub;
  diego::bbs::SqlStore::Options store_options;
  store_options.max_task_retries = absl::GetFlag(FLAGS_max_task_retries);
  store_options.cells = locket_cells.get();
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

  diego::bbs::TaskCallbackPool::Options callback_options;
  callback_options.workers = absl::GetFlag(FLAGS_task_callback_workers);
  callback_options.request_timeout = absl::GetFlag(FLAGS_communication_timeout);
  // Owned by a pointer so shutdown can drain it before releasing the lock.
  auto callbacks = std::make_unique<diego::bbs::TaskCallbackPool>(
      &store, logger.Session("task-callbacks"), callback_options);
  diego::bbs::BbsService::Options service_options;
  service_options.max_instances = absl::GetFlag(FLAGS_max_instances);
  diego::bbs::BbsService service(&store, auctioneer->get(), &reps, callbacks.get(), logger,
                                 service_options);

  diego::bbs::Converger::Options converger_options;
  converger_options.interval = absl::GetFlag(FLAGS_converge_repeat_interval);
  converger_options.cell_poll_interval = absl::GetFlag(FLAGS_cell_poll_interval);
  converger_options.workers = absl::GetFlag(FLAGS_convergence_workers);
  converger_options.convergence.kick_task_duration = absl::GetFlag(FLAGS_kick_task_duration);
  converger_options.convergence.expire_pending_task_duration =
      absl::GetFlag(FLAGS_expire_pending_task_duration);
  converger_options.convergence.expire_completed_task_duration =
      absl::GetFlag(FLAGS_expire_completed_task_duration);
  // The store's cells are the Locket presences (see store_options.cells).
  diego::bbs::Converger converger(&store, &store, auctioneer->get(), &reps, &service,
                                  callbacks.get(),
                                  clock, logger.Session("converger"), converger_options);

  diego::bbs::Metrics metrics;
  diego::bbs::AddBbsStoreCollector(metrics, &store, &hub);
  diego::bbs::AddConvergerCollector(metrics, &converger);
  AddLockCollector(metrics, &runner, locket_service.get());

  // Ready (/readyz 200) = holding the lock, within its lease, with the API
  // serving.
  std::atomic<bool> api_started{false};
  server_options.readiness = [&runner, &api_started, clock] {
    return api_started.load() && runner.held() && runner.LeaseExpiry() > clock->Now();
  };
  diego::bbs::BbsServer server(&service, &hub, &metrics, logger, server_options);
  if (absl::Status s = server.StartHealth(); !s.ok()) return Fail("cannot start", s);

  // Signals: a thread waits for one and reports it. Detached: when the lock
  // is lost the process exits without it.
  std::thread([events] { events->Signalled(diego::AwaitTerminationSignal()); }).detach();

  logger.Info("lock.acquiring", {{"key", kLockKey},
                                 {"owner", owner},
                                 {"ttl", lock_options.ttl},
                                 {"locket", remote_locket ? locket_address : "in-process"}});
  runner.Start();
  events->Wait(/*until_acquired=*/true);

  bool active = false;
  if (!events->lost().has_value() && events->signal() == 0) {
    logger.Info("lock.acquired", {{"key", kLockKey}, {"owner", owner}});
    if (absl::Status s = server.StartApi(); !s.ok()) {
      logger.Error("failed-to-start-api", s);
      server.Stop();
      runner.Stop();
      return Fail("cannot start", s);
    }
    api_started = true;
    converger.Start();
    active = true;
    logger.Info("ready", {{"db", std::string(diego::bbs::SqlEngineName((*db)->engine()))},
                          {"port", server.port()},
                          {"health_port", server.health_port()},
                          {"owner", owner}});
    // Lease watchdog: a refresh that hangs (an unreachable Locket or a stuck
    // database) never reports a failure, so a lease that ran out without a
    // successful refresh counts as a lost lock too. Writes are already
    // refused by the fence at that point.
    const absl::Duration watch = std::min(absl::Seconds(1), lock_options.retry_interval);
    while (!events->lost().has_value() && events->signal() == 0) {
      events->WaitActive(watch);
      if (runner.LeaseExpiry() <= clock->Now() && !events->lost().has_value()) {
        events->LockLost(absl::DeadlineExceededError(
            "the lock's lease ran out without a successful refresh"));
      }
    }
  }

  if (std::optional<absl::Status> lost = events->lost(); lost.has_value()) {
    // Another BBS may already be active: exit at once, without draining
    // (fencing already refuses this process's writes).
    logger.Error("lock.lost", *lost, {{"key", kLockKey}, {"owner", owner}});
    std::fflush(stderr);
    std::_Exit(1);
  }

  logger.Info("signalled", {{"signal", events->signal()}, {"active", active}});
  converger.Stop();
  server.Stop();
  hub.CloseAll();
  // Running callbacks finish (their writes are still fenced by the lease);
  // queued ones are dropped: convergence resubmits them in the next active
  // BBS. Only then is the lock released.
  callbacks.reset();
  runner.Stop();  // Releases the lock: a standby takes over at its next try.
  if (locket_server != nullptr) locket_server->Stop();
  if (locket_service != nullptr) locket_service->Stop();
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
