// Diego's "250k" run against a real diego-bbs process (performance-goals.md
// G1; issue 7), on SQLite and PostgreSQL side by side.
//
// For each engine, one iteration of:
//
//   1. Start `diego-bbs` (a separate process, so its memory is its own) on a
//      fresh database, with its embedded Locket exposed on 127.0.0.1, a
//      stand-in auctioneer and rep (HTTP servers in this process that accept
//      and count requests), and a short convergence interval.
//   2. Register 1,000 cell presences through Locket's gRPC API (as reps do).
//   3. Open `subscribers` LRP-instance event streams (the fan-out) and count
//      every event per process guid.
//   4. Desire 250,000 DesiredLRPs x 1 instance through the API from
//      `clients` keep-alive clients (each desire creates an UNCLAIMED
//      ActualLRP and sends a start request to the auctioneer).
//   5. The 1,000 simulated cells claim and start their 250 instances each
//      (ClaimActualLRP + StartActualLRP over the API, `clients` at a time).
//   6. Check the fan-out: every subscriber got exactly the expected events for
//      every LRP (desired created, instance created, changed (claim),
//      changed (start)): nothing lost, nothing duplicated.
//   7. Each cell's bulk fetch (its 250 ActualLRPs) and the fetch of all
//      250,000 through the API.
//   8. Convergence passes over 250k desired / 250k actual with nothing to do,
//      timed by the BBS itself (ConvergenceLRPDuration from /metrics, one
//      sample per pass).
//   9. The BBS's resident memory (VmRSS now, VmHWM peak) from /proc.
//
// Counters (per engine): desire_per_s, claim_start_per_s, events_per_s (all
// subscribers together), events_lost, events_duplicated, cell_fetch_p50_ms /
// _p99_ms, fetch_all_ms, converge_passes, converge_p50_ms / _p99_ms /
// _max_ms, rss_mib, peak_rss_mib.
//
//   ./build/benchmarks/bbs_scale_benchmark
//   ./build/benchmarks/bbs_scale_benchmark --lrps=20000 --benchmark_filter=sqlite
//
// Own flags (before the Google Benchmark ones): --diego_bbs=PATH (default:
// ../apps/diego-bbs/diego-bbs next to this binary), --lrps=N (250000),
// --cells=N (1000), --clients=N (32), --subscribers=N (4),
// --converge_passes=N (10), --keep (keep the work directory).
//
// PostgreSQL is a throwaway server (libdiego-testing's PostgresServer, run as
// the `postgres` user), on the same disk as the SQLite file.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "diego/base/check.h"
#include "diego/bbs/client.h"
#include "diego/bbs/sql.h"
#include "diego/locket/cells.h"
#include "diego/locket/grpc.h"
#include "diego/testing/child_process.h"
#include "diego/testing/postgres_server.h"
#include "diego/testing/sample_models.h"
#include "httplib.h"

namespace {

namespace v1 = ::diego::model::v1;
using diego::bbs::BbsClient;
using diego::bbs::SqlEngine;

struct Settings {
  std::string diego_bbs;
  int lrps = 250000;
  int cells = 1000;
  int clients = 32;
  int subscribers = 4;
  int converge_passes = 10;
  bool keep = false;
};
Settings& GetSettings() {
  static Settings settings;
  return settings;
}

// -- The stand-in auctioneer and rep ------------------------------------------

// Accepts every POST with 202 and counts requests (the auctioneer's
// /v1/lrps, /v1/tasks; the rep's stop/cancel/update calls).
class AcceptAll {
 public:
  AcceptAll() {
    server_.set_tcp_nodelay(true);
    server_.Post(".*", [this](const httplib::Request&, httplib::Response& res) {
      requests_.fetch_add(1);
      res.status = 202;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    DIEGO_CHECK(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib offers no notification that its accept loop runs.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~AcceptAll() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  int64_t requests() const { return requests_.load(); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::atomic<int64_t> requests_{0};
  std::thread thread_;
};

// -- The diego-bbs process ------------------------------------------------------

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A diego-bbs process on `db_url`, ready (it holds the lock and serves).
class BbsProcess {
 public:
  BbsProcess(const std::string& db_url, const std::string& dir, const std::string& auctioneer) {
    absl::StatusOr<std::unique_ptr<diego::fakes::ChildProcess>> started =
        diego::fakes::ChildProcess::Start(
            {
                GetSettings().diego_bbs,
                absl::StrCat("--db=", db_url),
                "--listen_address=127.0.0.1:0",
                "--health_address=127.0.0.1:0",
                "--locket_listen_address=127.0.0.1:0",
                absl::StrCat("--auctioneer_address=", auctioneer),
                "--converge_repeat_interval=1s",
                "--worker_threads=128",
                "--log_level=info",
            },
            absl::StrCat(dir, "/bbs.log"));
    DIEGO_CHECK_OK(started.status());
    process_ = *std::move(started);
    absl::StatusOr<diego::LogEntry> ready = process_->AwaitLine("bbs.ready", absl::Minutes(2));
    if (!ready.ok()) {
      fprintf(stderr, "diego-bbs did not become ready: %s\n",
              std::string(ready.status().message()).c_str());
      std::abort();
    }
    // Written before "bbs.ready".
    api_port_ = Port("bbs.server.started", "port");
    health_port_ = Port("bbs.server.started", "health_port");
    locket_port_ = Port("bbs.locket.listening", "port");
  }

  // SIGTERM and wait (a graceful stop; killed if it takes over 5 minutes).
  ~BbsProcess() { process_->Terminate(absl::Minutes(5)); }

  int api_port() const { return api_port_; }
  int health_port() const { return health_port_; }
  int locket_port() const { return locket_port_; }

  // VmRSS / VmHWM in MiB.
  std::pair<double, double> Memory() const {
    const std::string status = ReadFile(absl::StrCat("/proc/", process_->pid(), "/status"));
    double rss = 0, hwm = 0;
    for (absl::string_view line : absl::StrSplit(status, '\n')) {
      // "VmRSS:\t  123456 kB": a tab after the colon.
      std::vector<absl::string_view> parts =
          absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
      if (parts.size() < 2) continue;
      int64_t kib = 0;
      if (!absl::SimpleAtoi(parts[1], &kib)) continue;
      if (parts[0] == "VmRSS:") rss = kib / 1024.0;
      if (parts[0] == "VmHWM:") hwm = kib / 1024.0;
    }
    return {rss, hwm};
  }

 private:
  // `key` of the (first) log line `message`, which must be there.
  int Port(absl::string_view message, absl::string_view key) const {
    std::vector<diego::LogEntry> lines = process_->Lines(message);
    DIEGO_CHECK(!lines.empty());
    absl::StatusOr<int> port = diego::fakes::LogPort(lines.front(), key);
    DIEGO_CHECK_OK(port.status());
    return *port;
  }

  std::unique_ptr<diego::fakes::ChildProcess> process_;
  int api_port_ = 0;
  int health_port_ = 0;
  int locket_port_ = 0;
};

// -- Workload -------------------------------------------------------------------

std::string ProcessGuid(int i) { return absl::StrCat("pg-", i); }
std::string CellId(int c) { return absl::StrCat("cell-", c); }

// LRP i: one instance, with its own log guid and source_id (as each app has).
v1::DesiredLRP Desired(int i) {
  v1::DesiredLRP lrp = diego::fakes::SampleDesiredLrp(ProcessGuid(i), 1);
  lrp.set_log_guid(absl::StrCat("log-", i));
  (*lrp.mutable_metric_tags())["source_id"].set_static_(absl::StrCat("app-", i));
  return lrp;
}

std::unique_ptr<BbsClient> NewClient(const std::string& url) {
  auto client = BbsClient::Create(url, diego::bbs::BbsClientOptions());
  DIEGO_CHECK_OK(client.status());
  return *std::move(client);
}

// Runs fn(i) for i in [0, n) on `threads` threads, each with its own client.
template <typename Fn>
void Parallel(int n, int threads, const std::string& url, Fn fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      std::unique_ptr<BbsClient> client = NewClient(url);
      for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(*client, i);
    });
  }
  for (std::thread& w : workers) w.join();
}

// Counts events per LRP index on one stream: [0] desired created,
// [1] instance created, [2] instance changed. Anything else is counted apart.
struct EventCounter {
  explicit EventCounter(int lrps) : counts(static_cast<size_t>(lrps) * 3) {}
  std::vector<std::atomic<uint8_t>> counts;
  std::atomic<int64_t> total{0};
  std::atomic<int64_t> other{0};
  std::atomic<bool> ended{false};
};

int GuidIndex(const std::string& guid) {
  int i = -1;
  if (!absl::StartsWith(guid, "pg-") || !absl::SimpleAtoi(guid.substr(3), &i)) return -1;
  return i;
}

void CountEvents(diego::bbs::EventSource& source, EventCounter& counter) {
  while (true) {
    absl::StatusOr<diego::bbs::StreamEvent> event = source.Next();
    if (!event.ok()) {
      if (absl::IsCancelled(event.status()) || absl::IsUnavailable(event.status())) break;
      continue;
    }
    counter.total.fetch_add(1);
    int slot = -1;
    int index = -1;
    if (auto* e = std::get_if<v1::DesiredLRPCreatedEvent>(&event->message)) {
      index = GuidIndex(e->desired_lrp().process_guid());
      slot = 0;
    } else if (auto* e = std::get_if<v1::ActualLRPInstanceCreatedEvent>(&event->message)) {
      index = GuidIndex(e->actual_lrp().actual_lrp_key().process_guid());
      slot = 1;
    } else if (auto* e = std::get_if<v1::ActualLRPInstanceChangedEvent>(&event->message)) {
      index = GuidIndex(e->actual_lrp_key().process_guid());
      slot = 2;
    }
    if (slot < 0 || index < 0 || static_cast<size_t>(index) * 3 >= counter.counts.size()) {
      counter.other.fetch_add(1);
      continue;
    }
    counter.counts[static_cast<size_t>(index) * 3 + slot].fetch_add(1);
  }
  counter.ended = true;
}

// Progress on stderr (a full run takes minutes).
void Progress(absl::string_view engine, absl::string_view what) {
  fprintf(stderr, "[bbs_scale %s] %s\n", std::string(engine).c_str(), std::string(what).c_str());
}

double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  size_t at = static_cast<size_t>(p * static_cast<double>(samples.size()));
  return samples[std::min(samples.size() - 1, at)];
}

// Reads `name` (a plain gauge or counter line) from Prometheus text.
std::optional<double> MetricValue(const std::string& text, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, name)) continue;
    absl::string_view rest = line.substr(name.size());
    if (rest.empty() || (rest[0] != ' ' && rest[0] != '{')) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    double value = 0;
    if (parts.size() >= 2 && absl::SimpleAtod(parts.back(), &value)) return value;
  }
  return std::nullopt;
}

void BM_Scale(benchmark::State& state, SqlEngine engine) {
  const Settings& settings = GetSettings();
  const int lrps = settings.lrps;
  const int cells = settings.cells;
  const std::string name = absl::StrCat("scale_", diego::bbs::SqlEngineName(engine));
  const std::string dir = absl::StrCat("/tmp/diego-bbs-scale-", getpid(), "-", name);
  DIEGO_CHECK(std::system(absl::StrCat("rm -rf ", dir, " && mkdir -p ", dir).c_str()) == 0);
  for (auto _ : state) {
    std::string db_url;
    if (engine == SqlEngine::kSqlite) {
      db_url = absl::StrCat("sqlite://", dir, "/bbs.db");
    } else {
      auto server = diego::fakes::PostgresServer::Shared();
      DIEGO_CHECK_OK(server.status());
      auto url = (*server)->CreateDatabase(absl::StrCat(name, "_", getpid()));
      DIEGO_CHECK_OK(url.status());
      db_url = *url;
    }
    AcceptAll stand_in;  // auctioneer and reps
    BbsProcess bbs(db_url, dir, stand_in.url());
    const std::string url = absl::StrCat("http://127.0.0.1:", bbs.api_port());
    const absl::string_view engine_name = diego::bbs::SqlEngineName(engine);
    Progress(engine_name, absl::StrCat("diego-bbs ready, API port ", bbs.api_port()));

    // 2. Presences.
    auto locket = diego::locket::GrpcLocketClient::Create(
        absl::StrCat("127.0.0.1:", bbs.locket_port()));
    DIEGO_CHECK_OK(locket.status());
    for (int c = 0; c < cells; ++c) {
      v1::CellPresence presence;
      presence.set_cell_id(CellId(c));
      presence.set_rep_address(stand_in.url());
      presence.set_rep_url(stand_in.url());
      presence.set_zone(absl::StrCat("z", c % 3));
      presence.mutable_capacity()->set_memory_mb(1 << 20);
      presence.mutable_capacity()->set_disk_mb(1 << 20);
      presence.mutable_capacity()->set_containers(1000);
      v1::LockRequest lock;
      lock.mutable_resource()->set_key(CellId(c));
      lock.mutable_resource()->set_owner(absl::StrCat("rep-", c));
      lock.mutable_resource()->set_value(diego::locket::CellPresenceValue(presence));
      lock.mutable_resource()->set_type_code(v1::PRESENCE);
      lock.set_ttl_in_seconds(3600);
      DIEGO_CHECK_OK((*locket)->Lock(lock, absl::Seconds(10)).status());
    }

    Progress(engine_name, absl::StrCat(cells, " presences registered"));

    // 3. Subscribers.
    std::vector<std::unique_ptr<EventCounter>> counters;
    std::vector<std::unique_ptr<diego::bbs::EventSource>> sources;
    std::vector<std::thread> readers;
    std::unique_ptr<BbsClient> sub_client = NewClient(url);
    for (int s = 0; s < settings.subscribers; ++s) {
      auto source = sub_client->SubscribeToInstanceEvents();
      DIEGO_CHECK_OK(source.status());
      counters.push_back(std::make_unique<EventCounter>(lrps));
      sources.push_back(std::move(*source));
    }
    for (int s = 0; s < settings.subscribers; ++s) {
      readers.emplace_back([&, s] { CountEvents(*sources[s], *counters[s]); });
    }

    // 4. Desire.
    const absl::Time desire_start = absl::Now();
    Parallel(lrps, settings.clients, url, [](BbsClient& client, int i) {
      DIEGO_CHECK_OK(client.DesireLrp(Desired(i)));
    });
    const absl::Duration desire_time = absl::Now() - desire_start;
    Progress(engine_name, absl::StrCat(lrps, " desired in ", absl::FormatDuration(desire_time)));

    // 5. Claim + start, cell by cell.
    const absl::Time start_start = absl::Now();
    Parallel(lrps, settings.clients, url, [cells](BbsClient& client, int i) {
      v1::ActualLRPKey key;
      key.set_process_guid(ProcessGuid(i));
      key.set_index(0);
      key.set_domain("cf-apps");
      v1::ActualLRPInstanceKey instance;
      instance.set_instance_guid(absl::StrCat("ig-", i));
      instance.set_cell_id(CellId(i % cells));
      DIEGO_CHECK_OK(client.ClaimActualLrp(key.process_guid(), 0, instance));
      v1::ActualLRPNetInfo net;
      net.set_address("10.0.0.1");
      net.set_instance_address("10.255.0.2");
      auto* port = net.add_ports();
      port->set_container_port(8080);
      port->set_host_port(61000 + i % 1000);
      DIEGO_CHECK_OK(client.StartActualLrp(key, instance, net));
    });
    const absl::Duration start_time = absl::Now() - start_start;
    Progress(engine_name,
             absl::StrCat(lrps, " claimed and started in ", absl::FormatDuration(start_time)));

    // 6. Fan-out: wait (bounded) for every subscriber to see everything.
    const int64_t expected_per_subscriber = static_cast<int64_t>(lrps) * 4;
    const absl::Time wait_deadline = absl::Now() + absl::Minutes(2);
    while (absl::Now() < wait_deadline) {
      bool all = true;
      for (auto& c : counters) all = all && (c->total.load() >= expected_per_subscriber || c->ended);
      if (all) break;
      // The readers count on their own threads; poll their counters.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const absl::Duration events_time = absl::Now() - desire_start;
    int64_t lost = 0, duplicated = 0, received = 0;
    for (auto& c : counters) {
      received += c->total.load();
      for (int i = 0; i < lrps; ++i) {
        const int want[3] = {1, 1, 2};
        for (int slot = 0; slot < 3; ++slot) {
          const int got = c->counts[static_cast<size_t>(i) * 3 + slot].load();
          if (got < want[slot]) lost += want[slot] - got;
          if (got > want[slot]) duplicated += got - want[slot];
        }
      }
      duplicated += c->other.load();
    }

    Progress(engine_name, absl::StrCat("events: ", received, " received, ", lost, " lost, ",
                                       duplicated, " duplicated"));

    // 7. Fetches.
    std::unique_ptr<BbsClient> fetcher = NewClient(url);
    std::vector<double> cell_fetch_ms;
    for (int c = 0; c < cells; ++c) {
      diego::bbs::ActualLrpFilter filter;
      filter.cell_id = CellId(c);
      const absl::Time t0 = absl::Now();
      auto rows = fetcher->ActualLrps(filter);
      cell_fetch_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
      DIEGO_CHECK_OK(rows.status());
    }
    const absl::Time all_start = absl::Now();
    auto all = fetcher->ActualLrps(diego::bbs::ActualLrpFilter{});
    const absl::Duration all_time = absl::Now() - all_start;
    DIEGO_CHECK_OK(all.status());
    DIEGO_CHECK(static_cast<int>(all->size()) == lrps);

    Progress(engine_name, "fetches done");

    // 8. Convergence passes, timed by the BBS (one sample per new pass).
    httplib::Client health("127.0.0.1", bbs.health_port());
    std::vector<double> converge_ms;
    double last_runs = -1;
    const absl::Time converge_deadline = absl::Now() + absl::Minutes(5);
    while (static_cast<int>(converge_ms.size()) < settings.converge_passes &&
           absl::Now() < converge_deadline) {
      auto res = health.Get("/metrics");
      if (res && res->status == 200) {
        std::optional<double> runs = MetricValue(res->body, "ConvergenceLRPRuns");
        std::optional<double> seconds = MetricValue(res->body, "ConvergenceLRPDuration");
        if (runs && seconds && *runs != last_runs) {
          if (last_runs >= 0) converge_ms.push_back(*seconds * 1000.0);
          last_runs = *runs;
        }
      }
      // The BBS process runs its passes on its own timer; sample /metrics.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }

    // 9. Memory.
    const auto [rss, hwm] = bbs.Memory();

    for (auto& s : sources) s->Close();
    for (std::thread& r : readers) r.join();

    state.counters["desire_per_s"] = lrps / absl::ToDoubleSeconds(desire_time);
    state.counters["claim_start_per_s"] = 2.0 * lrps / absl::ToDoubleSeconds(start_time);
    state.counters["events_per_s"] =
        static_cast<double>(received) / absl::ToDoubleSeconds(events_time);
    state.counters["events_lost"] = static_cast<double>(lost);
    state.counters["events_duplicated"] = static_cast<double>(duplicated);
    state.counters["cell_fetch_p50_ms"] = Percentile(cell_fetch_ms, 0.5);
    state.counters["cell_fetch_p99_ms"] = Percentile(cell_fetch_ms, 0.99);
    state.counters["fetch_all_ms"] = absl::ToDoubleMilliseconds(all_time);
    state.counters["converge_passes"] = static_cast<double>(converge_ms.size());
    state.counters["converge_p50_ms"] = Percentile(converge_ms, 0.5);
    state.counters["converge_p99_ms"] = Percentile(converge_ms, 0.99);
    state.counters["converge_max_ms"] = Percentile(converge_ms, 1.0);
    state.counters["rss_mib"] = rss;
    state.counters["peak_rss_mib"] = hwm;
    state.counters["auctioneer_and_rep_requests"] = static_cast<double>(stand_in.requests());
  }
  if (!settings.keep) std::system(absl::StrCat("rm -rf ", dir).c_str());
}

BENCHMARK_CAPTURE(BM_Scale, sqlite, SqlEngine::kSqlite)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Scale, postgres, SqlEngine::kPostgres)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

// Takes this benchmark's own flags out of argv.
void ParseOwnFlags(int& argc, char** argv) {
  Settings& settings = GetSettings();
  char self[4096] = {};
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string path(self, static_cast<size_t>(n));
    settings.diego_bbs = path.substr(0, path.rfind('/')) + "/../apps/diego-bbs/diego-bbs";
  }
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    auto int_flag = [&](absl::string_view flag, int& value) {
      if (!absl::ConsumePrefix(&arg, flag)) return false;
      DIEGO_CHECK(absl::SimpleAtoi(arg, &value) && value > 0);
      return true;
    };
    if (absl::ConsumePrefix(&arg, "--diego_bbs=")) {
      settings.diego_bbs = std::string(arg);
    } else if (arg == "--keep") {
      settings.keep = true;
    } else if (int_flag("--lrps=", settings.lrps) || int_flag("--cells=", settings.cells) ||
               int_flag("--clients=", settings.clients) ||
               int_flag("--subscribers=", settings.subscribers) ||
               int_flag("--converge_passes=", settings.converge_passes)) {
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
}

}  // namespace

int main(int argc, char** argv) {
  ParseOwnFlags(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
