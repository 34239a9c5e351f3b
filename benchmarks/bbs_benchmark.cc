// The BBS's state store and its API (performance-goals.md G1, G6), on SQLite
// and PostgreSQL side by side in one run.
//
// Store (direct calls, no HTTP):
//
//   * `BM_ActualLrpTransition/<engine>/threads:N`: one durable ActualLRP
//     transition per iteration (read + compare-and-set + event, alternating
//     Claim and Start on the thread's own rows so every call really changes
//     the row), N concurrent writers group-committed. items_per_second is
//     transitions/s. Goal: >= 15,000/s.
//   * `BM_PointRead/<engine>/threads:N`: one ActualLRP by (process_guid,
//     index). Goal: >= 200,000/s.
//   * `BM_CellFetch/<engine>`: one cell's ActualLRPs (250 of 250,000 rows
//     over 1,000 cells), as a rep's bulk sync does. Goal: p99 <= 2 ms.
//   * `BM_FetchAllActualLrps/<engine>`: all 250,000 ActualLRPs.
//   * `BM_ConvergeLrps/<engine>`: one full LRP convergence pass
//     (`SqlStore::ConvergeLrps`) over 250,000 DesiredLRPs x 1 instance and
//     their 250,000 ActualLRPs, all RUNNING and in sync on 1,000 present
//     cells (internal routes and metric tags with dynamic values), so the
//     pass has nothing to do. p50/p99 per pass. Goal G1: p99 <= 200 ms.
//   * `BM_ConvergeTasks/<engine>`: one task convergence pass over 250,000
//     Running tasks on the same 1,000 present cells (nothing to do).
//
// API (a real BbsServer on 127.0.0.1, a BbsClient with keep-alive
// connections, one connection per client thread):
//
//   * `BM_ApiClaimStart/<engine>/threads:N`: Claim/Start requests/s from N
//     concurrent clients (closed loop), p50/p99 latency per thread (averaged
//     over threads). Goal: >= 20,000 requests/s.
//   * `BM_ApiOfferedLoad/<engine>`: 10,000 Claim/Start requests/s offered on a
//     fixed schedule by 32 clients for 3 s; latency measured from each
//     request's scheduled time (no coordinated omission). Goal: p99 <= 5 ms.
//   * `BM_ApiCellFetch/<engine>`: one cell's ActualLRPs through the API
//     (250 of 250,000). Goal: p99 <= 2 ms.
//   * `BM_ApiFetchAllActualLrps/<engine>`: all 250,000. Goal: <= 500 ms.
//
//   ./build/benchmarks/bbs_benchmark --benchmark_min_time=2
//
// PostgreSQL is a throwaway server started by the benchmark (as the
// `postgres` user; fsync on), so both engines run on the same disk. Events go
// to an EventHub with one subscriber drained by a thread, as in the BBS.

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "diego/base/check.h"
#include "diego/base/clock.h"
#include "diego/bbs/client.h"
#include "diego/bbs/convergence.h"
#include "diego/bbs/events.h"
#include "diego/bbs/metrics.h"
#include "diego/bbs/schema.h"
#include "diego/bbs/server.h"
#include "diego/bbs/service.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/modification_tag.h"
#include "diego/model/task_state.h"
#include "diego/testing/fake_auctioneer_client.h"
#include "diego/testing/fake_rep_client.h"
#include "diego/testing/postgres_server.h"
#include "sql_store_internal.h"

namespace diego::bbs {
namespace {

namespace v1 = ::diego::model::v1;

constexpr int kCells = 1000;
constexpr int kBulkRows = 250000;
constexpr int kTransitionRowsPerThread = 64;

std::string TempSqliteUrl(absl::string_view name) {
  const std::string dir = absl::StrCat("/tmp/diego-bbs-bench-", getpid());
  std::string mkdir = absl::StrCat("mkdir -p ", dir);
  DIEGO_CHECK(std::system(mkdir.c_str()) == 0);
  return absl::StrCat("sqlite://", dir, "/", name, ".db");
}

std::string UrlFor(SqlEngine engine, absl::string_view name) {
  if (engine == SqlEngine::kSqlite) return TempSqliteUrl(name);
  absl::StatusOr<fakes::PostgresServer*> server = fakes::PostgresServer::Shared();
  DIEGO_CHECK_OK(server.status());
  absl::StatusOr<std::string> url = (*server)->CreateDatabase(name);
  DIEGO_CHECK_OK(url.status());
  return *url;
}

// One store per (engine, purpose), built on first use and kept for the run.
struct Env {
  std::unique_ptr<SqlDatabase> db;
  EventHub hub;
  std::unique_ptr<EventSubscription> subscription;
  std::thread drain;
  std::unique_ptr<SqlStore> store;
  // The API, started by `StartApi()`.
  fakes::FakeAuctioneerClient auctioneer;
  fakes::FakeRepClientFactory reps;
  Metrics metrics;
  std::unique_ptr<BbsService> service;
  std::unique_ptr<BbsServer> server;
  std::unique_ptr<BbsClient> client;

  Env(SqlEngine engine, absl::string_view name) {
    SqlDatabase::Options options;
    options.read_connections = 8;
    auto opened = SqlDatabase::Open(UrlFor(engine, name), options);
    DIEGO_CHECK_OK(opened.status());
    db = std::move(*opened);
    DIEGO_CHECK_OK(MigrateSchema(*db));
    subscription = hub.Subscribe(EventStream::kLrpInstances);
    drain = std::thread([this] {
      while (true) {
        auto event = subscription->Next(absl::Now() + absl::Milliseconds(100));
        if (!event.ok() && !absl::IsDeadlineExceeded(event.status())) return;
      }
    });
    store = std::make_unique<SqlStore>(db.get(), &hub, Clock::Real());
  }
  ~Env() {
    if (server != nullptr) server->Stop();
    subscription->Close();
    drain.join();
  }

  // Serves the store on 127.0.0.1 (idempotent) and makes a client whose
  // pool keeps a connection per benchmark thread.
  BbsClient& Api() {
    absl::MutexLock lock(&api_mu);
    if (client != nullptr) return *client;
    Logger logger("bbs", FileLogSink::Stderr(), Clock::Real(), LogLevel::kError);
    service = std::make_unique<BbsService>(store.get(), &auctioneer, &reps, logger);
    BbsServer::Options options;
    options.listen_address = "127.0.0.1:0";
    options.health_listen_address = "127.0.0.1:0";
    options.worker_threads = 128;
    server = std::make_unique<BbsServer>(service.get(), &hub, &metrics, logger, options);
    DIEGO_CHECK_OK(server->Start());
    BbsClientOptions client_options;
    client_options.max_idle_connections = 128;
    auto made = BbsClient::Create(absl::StrCat("http://127.0.0.1:", server->port()),
                                  client_options);
    DIEGO_CHECK_OK(made.status());
    client = std::move(*made);
    return *client;
  }
  absl::Mutex api_mu;
};


v1::ActualLRP UnclaimedRow(absl::string_view process_guid, int32_t index) {
  v1::ActualLRPKey key;
  key.set_process_guid(std::string(process_guid));
  key.set_index(index);
  key.set_domain("cf-apps");
  return model::NewUnclaimedActualLrp(key, "epoch", absl::Now());
}

// Inserts `rows` ORDINARY rows ("pg-<i>", index 0), in large batches. With
// `cells`, rows are RUNNING, spread round-robin over the cells.
void Populate(SqlDatabase& db, int rows, int cells) {
  constexpr int kBatch = 5000;
  for (int start = 0; start < rows; start += kBatch) {
    DIEGO_CHECK_OK(db.Write([&](SqlTx& tx) -> absl::Status {
      for (int i = start; i < std::min(rows, start + kBatch); ++i) {
        v1::ActualLRP lrp = UnclaimedRow(absl::StrCat("pg-", i), 0);
        if (cells > 0) {
          lrp.set_state(std::string(model::kActualLrpStateRunning));
          lrp.mutable_actual_lrp_instance_key()->set_instance_guid(absl::StrCat("ig-", i));
          lrp.mutable_actual_lrp_instance_key()->set_cell_id(absl::StrCat("cell-", i % cells));
          lrp.mutable_actual_lrp_net_info()->set_address("10.0.0.1");
          lrp.mutable_actual_lrp_net_info()->set_instance_address("10.255.0.2");
          auto* port = lrp.mutable_actual_lrp_net_info()->add_ports();
          port->set_container_port(8080);
          port->set_host_port(61000 + i % 1000);
        }
        absl::Status inserted = internal::InsertActualLrp(tx, lrp);
        if (!inserted.ok()) return inserted;
      }
      return absl::OkStatus();
    }));
  }
}

void PopulateTransitionRows(SqlDatabase& db) {
  DIEGO_CHECK_OK(db.Write([&](SqlTx& tx) -> absl::Status {
    for (int t = 0; t < 64; ++t) {
      for (int r = 0; r < kTransitionRowsPerThread; ++r) {
        absl::Status s =
            internal::InsertActualLrp(tx, UnclaimedRow(absl::StrCat("t", t, "-", r), 0));
        if (!s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }));
}

// The convergence fixture: `kBulkRows` DesiredLRPs ("cv-<i>", 1 instance,
// HTTP and internal routes, static and dynamic metric tags) with their
// ActualLRPs RUNNING and in sync on `kCells` cells, and `kBulkRows` Running
// tasks on the same cells. Inserted in large transactions through the
// store's row helpers (so the convergence index is maintained as in
// production), not through API calls.
v1::DesiredLRP ConvergeDesired(int i) {
  v1::DesiredLRP lrp;
  lrp.set_process_guid(absl::StrCat("cv-", i));
  lrp.set_domain("cf-apps");
  lrp.set_log_guid(absl::StrCat("log-", i));
  lrp.set_root_fs("preloaded:cflinuxfs4");
  lrp.set_instances(1);
  lrp.set_memory_mb(256);
  lrp.set_disk_mb(1024);
  lrp.mutable_action()->mutable_run_action()->set_path("/bin/app");
  lrp.add_ports(8080);
  (*lrp.mutable_routes()->mutable_routes())["cf-router"] =
      absl::StrCat(R"([{"hostnames":["app-)", i, R"(.example.com"],"port":8080}])");
  (*lrp.mutable_routes()->mutable_routes())["internal-router"] =
      absl::StrCat(R"([{"hostname":"app-)", i, R"(.apps.internal"}])");
  auto& tags = *lrp.mutable_metric_tags();
  tags["source_id"].set_static_(absl::StrCat("app-", i));
  tags["organization_name"].set_static_("org");
  tags["space_name"].set_static_("space");
  tags["instance_id"].set_dynamic(v1::MetricTagValue::INDEX);
  tags["process_instance_id"].set_dynamic(v1::MetricTagValue::INSTANCE_GUID);
  *lrp.mutable_modification_tag() = model::NewModificationTag(absl::StrCat("epoch-", i), 0);
  return lrp;
}

v1::ActualLRP ConvergeActual(int i, absl::Time now) {
  model::StartActualLrpParams params;
  params.key.set_process_guid(absl::StrCat("cv-", i));
  params.key.set_index(0);
  params.key.set_domain("cf-apps");
  params.instance_key.set_instance_guid(absl::StrCat("ig-", i));
  params.instance_key.set_cell_id(absl::StrCat("cell-", i % kCells));
  params.net_info.set_address("10.0.0.1");
  params.net_info.set_instance_address("10.255.0.2");
  auto* port = params.net_info.add_ports();
  port->set_container_port(8080);
  port->set_host_port(61000 + i % 1000);
  params.internal_routes.emplace_back().set_hostname(absl::StrCat("app-", i, ".apps.internal"));
  params.metric_tags = {{"source_id", absl::StrCat("app-", i)},
                        {"organization_name", "org"},
                        {"space_name", "space"},
                        {"instance_id", "0"},
                        {"process_instance_id", absl::StrCat("ig-", i)}};
  params.availability_zone = "z1";
  return model::NewRunningActualLrp(params, absl::StrCat("epoch-", i), now);
}

void PopulateConvergence(SqlDatabase& db, int rows, int cells) {
  constexpr int kBatch = 5000;
  const absl::Time now = absl::Now();
  for (int start = 0; start < rows; start += kBatch) {
    DIEGO_CHECK_OK(db.Write([&](SqlTx& tx) -> absl::Status {
      for (int i = start; i < std::min(rows, start + kBatch); ++i) {
        absl::Status s = internal::InsertDesiredLrp(tx, ConvergeDesired(i), now).status();
        if (s.ok()) s = internal::InsertActualLrp(tx, ConvergeActual(i, now));
        if (s.ok()) {
          v1::TaskDefinition definition;
          definition.set_root_fs("preloaded:cflinuxfs4");
          definition.mutable_action()->mutable_run_action()->set_path("/bin/task");
          definition.set_completion_callback_url("http://cc/callback");
          v1::Task task = model::DesireTask(definition, absl::StrCat("task-", i), "cf-apps", now);
          task.set_state(v1::Task::Running);
          task.set_cell_id(absl::StrCat("cell-", i % cells));
          s = internal::InsertTask(tx, task).status();
        }
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    }));
  }
}

// The environment for (engine, purpose), built and populated on first use
// (under a lock, so every benchmark thread sees it complete) and kept for the
// run. Purposes: "transitions" (64 x 64 UNCLAIMED rows), "bulk" (250,000
// RUNNING rows over 1,000 cells) and "converge" (`PopulateConvergence`).
Env& GetEnv(SqlEngine engine, absl::string_view purpose) {
  static absl::Mutex mu;
  static auto* envs = new std::map<std::string, std::unique_ptr<Env>>();
  absl::MutexLock lock(&mu);
  const std::string key = absl::StrCat(SqlEngineName(engine), "_", purpose);
  auto& env = (*envs)[key];
  if (env == nullptr) {
    env = std::make_unique<Env>(engine, key);
    if (purpose == "bulk") {
      Populate(*env->db, kBulkRows, kCells);
    } else if (purpose == "converge") {
      PopulateConvergence(*env->db, kBulkRows, kCells);
      DIEGO_CHECK_OK(env->store->UpsertDomain("cf-apps", absl::ZeroDuration()));
    } else {
      PopulateTransitionRows(*env->db);
    }
  }
  return *env;
}

// Adds p50/p99 (milliseconds) of `samples` to the benchmark's counters.
void ReportPercentiles(benchmark::State& state, std::vector<double>& samples) {
  if (samples.empty()) return;
  std::sort(samples.begin(), samples.end());
  state.counters["p50_ms"] = samples[samples.size() / 2];
  state.counters["p99_ms"] = samples[std::min(samples.size() - 1, samples.size() * 99 / 100)];
}

// -----------------------------------------------------------------------------

void BM_ActualLrpTransition(benchmark::State& state, SqlEngine engine) {
  Env& env = GetEnv(engine, "transitions");
  const int thread = state.thread_index();
  v1::ActualLRPInstanceKey instance_key;
  instance_key.set_instance_guid(absl::StrCat("ig-", thread));
  instance_key.set_cell_id("cell-1");
  model::StartActualLrpParams start;
  start.key.set_index(0);
  start.key.set_domain("cf-apps");
  start.instance_key = instance_key;
  start.net_info.set_address("10.0.0.1");
  start.net_info.set_instance_address("10.255.0.9");
  int64_t n = 0;
  int64_t failures = 0;
  for (auto _ : state) {
    const std::string pg = absl::StrCat("t", thread, "-", (n / 2) % kTransitionRowsPerThread);
    if (n % 2 == 0) {
      auto r = env.store->ClaimActualLrp(pg, 0, instance_key, "");
      failures += !r.ok();
    } else {
      start.key.set_process_guid(pg);
      auto r = env.store->StartActualLrp(start, "");
      failures += !r.ok();
    }
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["failures"] = static_cast<double>(failures);
}

void BM_PointRead(benchmark::State& state, SqlEngine engine) {
  Env& env = GetEnv(engine, "bulk");
  uint64_t i = static_cast<uint64_t>(state.thread_index()) * 7919;
  ActualLrpFilter filter;
  filter.index = 0;
  int64_t found = 0;
  for (auto _ : state) {
    filter.process_guid = absl::StrCat("pg-", (i * 2654435761u) % kBulkRows);
    auto rows = env.store->ActualLrps(filter);
    found += rows.ok() ? static_cast<int64_t>(rows->size()) : 0;
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["found_per_read"] =
      benchmark::Counter(static_cast<double>(found) / static_cast<double>(state.iterations()),
                         benchmark::Counter::kAvgThreads);
}

void BM_CellFetch(benchmark::State& state, SqlEngine engine) {
  Env& env = GetEnv(engine, "bulk");
  ActualLrpFilter filter;
  int cell = 0;
  size_t rows = 0;
  std::vector<double> samples;
  for (auto _ : state) {
    filter.cell_id = absl::StrCat("cell-", cell++ % kCells);
    const absl::Time start = absl::Now();
    auto lrps = env.store->ActualLrps(filter);
    samples.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    DIEGO_CHECK_OK(lrps.status());
    rows = lrps->size();
  }
  state.counters["rows"] = static_cast<double>(rows);
  ReportPercentiles(state, samples);
}

void BM_FetchAllActualLrps(benchmark::State& state, SqlEngine engine) {
  Env& env = GetEnv(engine, "bulk");
  size_t rows = 0;
  for (auto _ : state) {
    auto lrps = env.store->ActualLrps(ActualLrpFilter{});
    DIEGO_CHECK_OK(lrps.status());
    rows = lrps->size();
  }
  state.counters["rows"] = static_cast<double>(rows);
}

// -----------------------------------------------------------------------------
// Convergence
// -----------------------------------------------------------------------------

// Runs `pass` (returning a StatusOr) once per iteration, reports p50/p99 of
// its wall time and returns the last pass's result.
template <typename Pass>
typename std::invoke_result_t<Pass>::value_type TimedPasses(benchmark::State& state, Pass pass) {
  std::vector<double> samples;
  typename std::invoke_result_t<Pass>::value_type result;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    auto done = pass();
    samples.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    DIEGO_CHECK_OK(done.status());
    result = *std::move(done);
  }
  ReportPercentiles(state, samples);
  return result;
}

CellSet ConvergeCells() {
  CellSet cells;
  for (int c = 0; c < kCells; ++c) cells.insert(absl::StrCat("cell-", c));
  return cells;
}

void BM_ConvergeLrps(benchmark::State& state, SqlEngine engine) {
  Env& env = GetEnv(engine, "converge");
  const CellSet cells = ConvergeCells();
  const LrpConvergenceResult result =
      TimedPasses(state, [&] { return env.store->ConvergeLrps(cells, {}); });
  // Nothing to do, and every instance seen.
  DIEGO_CHECK(result.start_requests.empty() && result.keys_to_retire.empty() &&
              result.runtime_updates.empty() && result.missing_cell_ids.empty());
  DIEGO_CHECK(result.running == kBulkRows && result.desired_instances == kBulkRows);
  state.counters["running"] = static_cast<double>(result.running);
}

void BM_ConvergeTasks(benchmark::State& state, SqlEngine engine) {
  Env& env = GetEnv(engine, "converge");
  const CellSet cells = ConvergeCells();
  const TaskConvergenceResult result =
      TimedPasses(state, [&] { return env.store->ConvergeTasks(cells, {}); });
  DIEGO_CHECK(result.tasks_to_auction.empty() && result.tasks_to_complete.empty());
  DIEGO_CHECK(result.running == kBulkRows);
  state.counters["running"] = static_cast<double>(result.running);
}

// -----------------------------------------------------------------------------
// API
// -----------------------------------------------------------------------------

// One Claim or Start of thread `thread`'s rows over HTTP; n-th call of the
// thread. Every call changes its row (Claim and Start alternate).
absl::Status ApiTransition(BbsClient& client, int thread, int64_t n) {
  v1::ActualLRPInstanceKey instance_key;
  instance_key.set_instance_guid(absl::StrCat("ig-", thread));
  instance_key.set_cell_id("cell-1");
  const std::string pg = absl::StrCat("t", thread, "-", (n / 2) % kTransitionRowsPerThread);
  if (n % 2 == 0) return client.ClaimActualLrp(pg, 0, instance_key);
  v1::ActualLRPKey key;
  key.set_process_guid(pg);
  key.set_index(0);
  key.set_domain("cf-apps");
  v1::ActualLRPNetInfo net_info;
  net_info.set_address("10.0.0.1");
  net_info.set_instance_address("10.255.0.9");
  return client.StartActualLrp(key, instance_key, net_info);
}

void BM_ApiClaimStart(benchmark::State& state, SqlEngine engine) {
  Env& env = GetEnv(engine, "transitions");
  BbsClient& client = env.Api();
  const int thread = state.thread_index();
  std::vector<double> samples;
  int64_t n = 0;
  int64_t failures = 0;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    failures += !ApiTransition(client, thread, n++).ok();
    samples.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["failures"] = static_cast<double>(failures);
  std::sort(samples.begin(), samples.end());
  if (!samples.empty()) {
    state.counters["p50_ms"] =
        benchmark::Counter(samples[samples.size() / 2], benchmark::Counter::kAvgThreads);
    state.counters["p99_ms"] = benchmark::Counter(
        samples[std::min(samples.size() - 1, samples.size() * 99 / 100)],
        benchmark::Counter::kAvgThreads);
  }
}

// Open loop: `kOfferedRate` requests/s spread over `kOfferedClients` threads,
// each request sent at its scheduled time (or as soon as its thread is free)
// and timed from that schedule.
void BM_ApiOfferedLoad(benchmark::State& state, SqlEngine engine) {
  constexpr int kOfferedRate = 10000;
  constexpr int kOfferedClients = 32;
  constexpr absl::Duration kRun = absl::Seconds(3);
  Env& env = GetEnv(engine, "transitions");
  BbsClient& client = env.Api();
  for (auto _ : state) {
    std::vector<std::vector<double>> latencies(kOfferedClients);
    std::atomic<int64_t> failures{0};
    const absl::Time begin = absl::Now() + absl::Milliseconds(50);
    const absl::Duration gap = absl::Seconds(1) * kOfferedClients / kOfferedRate;
    std::vector<std::thread> threads;
    for (int t = 0; t < kOfferedClients; ++t) {
      threads.emplace_back([&, t] {
        // Thread t owns rows of "thread" 32 + t so it never races BM_ApiClaimStart's.
        const absl::Time first = begin + gap * t / kOfferedClients;
        for (int64_t n = 0;; ++n) {
          const absl::Time scheduled = first + gap * n;
          if (scheduled >= begin + kRun) break;
          const absl::Time now = absl::Now();
          // Open loop: wait (really) for the request's scheduled send time.
          if (scheduled > now) absl::SleepFor(scheduled - now);
          if (!ApiTransition(client, 32 + t, n).ok()) failures.fetch_add(1);
          latencies[t].push_back(absl::ToDoubleMilliseconds(absl::Now() - scheduled));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    std::vector<double> all;
    for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    state.counters["requests"] = static_cast<double>(all.size());
    state.counters["offered_per_s"] = kOfferedRate;
    state.counters["failures"] = static_cast<double>(failures.load());
    ReportPercentiles(state, all);
  }
}

void BM_ApiCellFetch(benchmark::State& state, SqlEngine engine) {
  Env& env = GetEnv(engine, "bulk");
  BbsClient& client = env.Api();
  ActualLrpFilter filter;
  int cell = 0;
  size_t rows = 0;
  std::vector<double> samples;
  for (auto _ : state) {
    filter.cell_id = absl::StrCat("cell-", cell++ % kCells);
    const absl::Time start = absl::Now();
    auto lrps = client.ActualLrps(filter);
    samples.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    DIEGO_CHECK_OK(lrps.status());
    rows = lrps->size();
  }
  state.counters["rows"] = static_cast<double>(rows);
  ReportPercentiles(state, samples);
}

void BM_ApiFetchAllActualLrps(benchmark::State& state, SqlEngine engine) {
  Env& env = GetEnv(engine, "bulk");
  BbsClient& client = env.Api();
  size_t rows = 0;
  for (auto _ : state) {
    auto lrps = client.ActualLrps(ActualLrpFilter{});
    DIEGO_CHECK_OK(lrps.status());
    rows = lrps->size();
  }
  state.counters["rows"] = static_cast<double>(rows);
}

void RegisterAll() {
  for (SqlEngine engine : {SqlEngine::kSqlite, SqlEngine::kPostgres}) {
    const std::string name(SqlEngineName(engine));
    for (int threads : {1, 8, 32}) {
      benchmark::RegisterBenchmark(absl::StrCat("BM_ActualLrpTransition/", name).c_str(),
                                   BM_ActualLrpTransition, engine)
          ->Threads(threads)
          ->UseRealTime();
    }
    for (int threads : {1, 2, 8}) {
      benchmark::RegisterBenchmark(absl::StrCat("BM_PointRead/", name).c_str(), BM_PointRead,
                                   engine)
          ->Threads(threads)
          ->UseRealTime();
    }
    benchmark::RegisterBenchmark(absl::StrCat("BM_CellFetch/", name).c_str(), BM_CellFetch,
                                 engine)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(absl::StrCat("BM_FetchAllActualLrps/", name).c_str(),
                                 BM_FetchAllActualLrps, engine)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(absl::StrCat("BM_ConvergeLrps/", name).c_str(),
                                 BM_ConvergeLrps, engine)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(absl::StrCat("BM_ConvergeTasks/", name).c_str(),
                                 BM_ConvergeTasks, engine)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    for (int threads : {8, 32}) {
      benchmark::RegisterBenchmark(absl::StrCat("BM_ApiClaimStart/", name).c_str(),
                                   BM_ApiClaimStart, engine)
          ->Threads(threads)
          ->UseRealTime();
    }
    benchmark::RegisterBenchmark(absl::StrCat("BM_ApiOfferedLoad/", name).c_str(),
                                 BM_ApiOfferedLoad, engine)
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(absl::StrCat("BM_ApiCellFetch/", name).c_str(),
                                 BM_ApiCellFetch, engine)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(absl::StrCat("BM_ApiFetchAllActualLrps/", name).c_str(),
                                 BM_ApiFetchAllActualLrps, engine)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
}

}  // namespace
}  // namespace diego::bbs

int main(int argc, char** argv) {
  diego::bbs::RegisterAll();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
