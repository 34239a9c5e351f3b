// Copyright 2026 The libdiego Authors.
//
// GardenServer: Garden's HTTP protocol (code.cloudfoundry.org/garden's
// server/, routes/, transport/) in front of any `Backend`, on the private
// HTTP/1.1 layer of http_wire.h.
//
// Differences from Garden
// -----------------------
// Wire-compatible with Garden's Go client (connection.go, connection_hijacker
// .go) and its JSON. Where this server deliberately behaves differently from
// Garden's server/request_handling.go:
//
//  1. Error statuses. Garden answers 404 for ContainerNotFoundError and
//     ProcessNotFoundError and 500 for everything else. We answer
//     errors.h's HttpStatusFor(): the same for Garden's typed errors, but
//     400 for a malformed body or bad query (InvalidArgument), 404 for other
//     NotFound errors (e.g. "property does not exist: x"), 409 for
//     AlreadyExists ("Handle 'h' already in use"), 503 for capacity
//     (ResourceExhausted) and Unavailable, 504 for DeadlineExceeded. The
//     JSON body `{Type, Message, Handle, ProcessID}` is the same, so Go
//     clients see the same errors (they only look at the body).
//  2. Stdin after close. Garden stops reading a Run/Attach connection once the
//     client closes stdin (`{"source":0}` without data), so later
//     `{"signal":...}` and `{"tty":...}` payloads are ignored. We keep
//     reading until the client closes the connection, so Signal and SetTTY
//     work after stdin is closed. An unknown signal value is logged and
//     ignored (Garden also closes stdin and stops reading).
//  3. Lifecycle. Garden's Start() also starts the backend and its
//     grace-time "bomberman", and Stop() stops the backend. Here the
//     backend's owner calls Backend::Start/Stop and the backend reaps idle
//     containers itself (backend.h), so GardenServer only serves HTTP. For
//     the same reason a Create with grace_time 0 is passed on as 0 (Garden
//     substitutes its server-wide default grace time there): the backend
//     applies its own default.
//  4. Routing misses. Unknown paths get 404 "404 page not found" as in Go;
//     a known path with the wrong method gets 405 with an Allow header.
//     Missing `handles` in bulk_info/bulk_metrics means "no handles" (Go
//     indexes a nil slice and drops the connection).
//  5. Output buffering. Garden buffers up to 4000 writes per stream in a Go
//     channel and blocks the process's output when nobody reads. We buffer up
//     to 16 MiB per stream and drop the oldest bytes beyond that (the backend
//     contract forbids sinks that block), and discard output that arrives
//     after the Run/Attach connection ended (a later Attach gets its own).
//  6. JSON text. Strings are escaped by nlohmann_json, which does not write
//     `<`, `>` and `&` as `\u003c`-style escapes as Go does (both are valid
//     JSON). Object keys are sorted (Go writes struct fields in declaration
//     order); ProcessPayloads on Run/Attach streams keep Go's field order.
//  7. Stdin data is a JSON string (as in Garden): bytes that are not valid
//     UTF-8 reach the process as U+FFFD, exactly as with Go's client.
//  8. Unix socket: a path holding something other than a socket is an error
//     (Garden deletes whatever is there).

#include "diego/garden/http_server.h"

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "diego/garden/errors.h"
#include "http_wire.h"
#include "json_codec.h"

namespace diego::garden {
namespace {

using json_codec::Json;
using OrderedJson = nlohmann::ordered_json;
using http_wire::Exchange;
using http_wire::Headers;
using http_wire::Response;

constexpr size_t kMaxPendingOutput = 16 << 20;
constexpr absl::Duration kStreamLinger = absl::Minutes(1);  // Garden's streamer grace time
constexpr absl::Duration kWaitSlice = absl::Milliseconds(200);
constexpr absl::Duration kStreamWriteTimeout = absl::Minutes(1);
constexpr size_t kMaxPayloadLine = 8 << 20;
constexpr absl::Duration kCloseLinger = absl::Seconds(5);

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}
std::string Dump(const OrderedJson& j) {
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

// Output of one Run/Attach, waiting for its attach streams (Garden's
// streamer.Streamer). Index 0 = stdout, 1 = stderr.
struct OutputStream {
  absl::Mutex mu;
  std::string pending[2] ABSL_GUARDED_BY(mu);
  bool done ABSL_GUARDED_BY(mu) = false;
  absl::Time done_at ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();

  void Append(int which, absl::string_view data) {
    absl::MutexLock lock(&mu);
    if (done) return;
    std::string& p = pending[which];
    p.append(data.data(), data.size());
    if (p.size() > kMaxPendingOutput) p.erase(0, p.size() - kMaxPendingOutput);
  }
  void Finish() {
    absl::MutexLock lock(&mu);
    if (!done) {
      done = true;
      done_at = absl::Now();
    }
  }
};

class Streamer {
 public:
  std::pair<std::string, std::shared_ptr<OutputStream>> New() {
    absl::MutexLock lock(&mu_);
    Sweep();
    std::string id = std::to_string(++next_id_);
    auto s = std::make_shared<OutputStream>();
    if (closed_) s->Finish();
    streams_[id] = s;
    return {id, s};
  }
  std::shared_ptr<OutputStream> Find(const std::string& id) {
    absl::MutexLock lock(&mu_);
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second;
  }
  void Stop(const std::string& id) {
    std::shared_ptr<OutputStream> s = Find(id);
    if (s != nullptr) s->Finish();
  }
  // Ends every stream (server stopping): attach streams drain and return.
  void CloseAll() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (auto& [id, s] : streams_) s->Finish();
  }

 private:
  // Drops streams stopped longer than kStreamLinger ago (an attach arriving
  // later finds nothing, as in Garden).
  void Sweep() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::Time now = absl::Now();
    for (auto it = streams_.begin(); it != streams_.end();) {
      bool old;
      {
        absl::MutexLock l(&it->second->mu);
        old = it->second->done && now - it->second->done_at > kStreamLinger;
      }
      it = old ? streams_.erase(it) : std::next(it);
    }
  }

  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::shared_ptr<OutputStream>> streams_ ABSL_GUARDED_BY(mu_);
};

// The route a request matched: its name and path parameters.
struct Route {
  std::string name;
  std::string handle, pid, stream_id, key, kind;
};

}  // namespace

class GardenServer::Impl {
 public:
  Impl(Backend* backend, GardenServerOptions options)
      : backend_(backend), options_(std::move(options)) {
    if (options_.logger != nullptr) log_.emplace(options_.logger->Session("garden-server"));
  }

  absl::Status Start() {
    if (server_ != nullptr) return absl::FailedPreconditionError("garden server already started");
    http_wire::ServerOptions wo;
    wo.network = options_.listen_network;
    wo.address = options_.listen_address;
    wo.idle_timeout = options_.idle_timeout;
    server_ = std::make_unique<http_wire::Server>(wo, [this](Exchange& ex) { Handle(ex); });
    absl::Status s = server_->Start();
    if (!s.ok()) {
      server_.reset();
      return absl::Status(s.code(), absl::StrCat("garden server: ", s.message()));
    }
    if (log_) log_->Info("started", {{"network", options_.listen_network}, {"addr", options_.listen_address}});
    return absl::OkStatus();
  }

  int Port() const { return server_ == nullptr ? 0 : server_->Port(); }

  void Stop() {
    if (server_ == nullptr) return;
    streamer_.CloseAll();
    server_->Stop();
    if (log_ && !stopped_logged_.exchange(true)) log_->Info("stopped");
  }

 private:
  // ---- plumbing -----------------------------------------------------------

  void LogError(absl::string_view session, const absl::Status& status, LogData data = {}) {
    if (!log_) return;
    // Garden does not log ProcessNotFoundError (a client error).
    if (HasErrorType(status, kProcessNotFoundErrorType)) return;
    log_->Session(session, data).Error("failed", status);
  }

  static void WriteJson(Exchange& ex, const std::string& body, int status = 200) {
    Response r;
    r.status = status;
    r.headers.Add("Content-Type", "application/json");
    r.body = body + "\n";
    (void)ex.Respond(std::move(r));
  }

  void WriteError(Exchange& ex, const absl::Status& status, absl::string_view session) {
    LogError(session, status, {{"path", ex.request().target}});
    WriteJson(ex, Dump(json_codec::ToJson(GetErrorInfo(status))), HttpStatusFor(status));
  }

  static void WriteSuccess(Exchange& ex) { WriteJson(ex, "{}"); }

  // Parses the request body as JSON (Garden's readRequest).
  static absl::StatusOr<Json> Body(const Exchange& ex) {
    absl::StatusOr<Json> j = json_codec::Parse(ex.request().body);
    if (!j.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid request body: ", j.status().message()));
    }
    return j;
  }

  absl::StatusOr<std::unique_ptr<Container>> Lookup(const std::string& handle) {
    return backend_->Lookup(handle);
  }

  // ---- routing ------------------------------------------------------------

  // Matches `segs` to a route: sets `r` and the allowed methods for the path.
  static bool Match(const std::vector<std::string>& segs, const std::string& method, Route* r,
                    std::string* allow) {
    auto pick = [&](std::initializer_list<std::pair<const char*, const char*>> options) {
      std::string allowed;
      for (const auto& [m, name] : options) {
        absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", m);
        if (method == m) {
          r->name = name;
          return true;
        }
      }
      *allow = allowed;
      return false;
    };
    size_t n = segs.size();
    if (n == 1 && segs[0] == "ping") return pick({{"GET", "Ping"}});
    if (n == 1 && segs[0] == "capacity") return pick({{"GET", "Capacity"}});
    if (n == 0 || segs[0] != "containers") return false;
    if (n == 1) return pick({{"GET", "List"}, {"POST", "Create"}});
    if (n == 2 && method == "GET" && segs[1] == "bulk_info") return pick({{"GET", "BulkInfo"}});
    if (n == 2 && method == "GET" && segs[1] == "bulk_metrics") return pick({{"GET", "BulkMetrics"}});
    r->handle = segs[1];
    if (n == 2) return pick({{"DELETE", "Destroy"}});
    const std::string& s2 = segs[2];
    if (n == 3) {
      if (s2 == "info") return pick({{"GET", "Info"}});
      if (s2 == "stop") return pick({{"PUT", "Stop"}});
      if (s2 == "files") return pick({{"PUT", "StreamIn"}, {"GET", "StreamOut"}});
      if (s2 == "processes") return pick({{"POST", "Run"}});
      if (s2 == "grace_time") return pick({{"PUT", "SetGraceTime"}});
      if (s2 == "properties") return pick({{"GET", "Properties"}});
      if (s2 == "metrics") return pick({{"GET", "Metrics"}});
      return false;
    }
    if (n == 4 && s2 == "limits") {
      const std::string& k = segs[3];
      if (k != "bandwidth" && k != "cpu" && k != "disk" && k != "memory") return false;
      r->kind = k;
      return pick({{"GET", "CurrentLimits"}});
    }
    if (n == 4 && s2 == "net" && segs[3] == "in") return pick({{"POST", "NetIn"}});
    if (n == 4 && s2 == "net" && segs[3] == "out") return pick({{"POST", "NetOut"}});
    if (n == 5 && s2 == "net" && segs[3] == "out" && segs[4] == "bulk") {
      return pick({{"POST", "BulkNetOut"}});
    }
    if (n == 4 && s2 == "properties") {
      r->key = segs[3];
      return pick({{"GET", "Property"}, {"PUT", "SetProperty"}, {"DELETE", "RemoveProperty"}});
    }
    if (n == 4 && s2 == "processes") {
      r->pid = segs[3];
      return pick({{"GET", "Attach"}});
    }
    if (n == 7 && s2 == "processes" && segs[4] == "attaches" &&
        (segs[6] == "stdout" || segs[6] == "stderr")) {
      r->pid = segs[3];
      r->stream_id = segs[5];
      r->kind = segs[6];
      return pick({{"GET", segs[6] == "stdout" ? "Stdout" : "Stderr"}});
    }
    return false;
  }

  void Handle(Exchange& ex) {
    const http_wire::Request& req = ex.request();
    absl::StatusOr<std::vector<std::string>> segs = http_wire::SplitPath(req.RawPath());
    absl::StatusOr<http_wire::QueryParams> query = http_wire::ParseQuery(req.RawQuery());
    if (!segs.ok() || !query.ok()) {
      WriteError(ex, !segs.ok() ? segs.status() : query.status(), "route");
      return;
    }
    Route r;
    std::string allow;
    if (!Match(*segs, req.method, &r, &allow)) {
      Response resp;
      resp.headers.Add("Content-Type", "text/plain; charset=utf-8");
      resp.headers.Add("X-Content-Type-Options", "nosniff");
      if (allow.empty()) {
        resp.status = 404;
        resp.body = "404 page not found\n";
      } else {
        resp.status = 405;
        resp.headers.Add("Allow", allow);
        resp.body = "Method Not Allowed\n";
      }
      (void)ex.Respond(std::move(resp));
      return;
    }
    Dispatch(ex, r, *query);
  }

  void Dispatch(Exchange& ex, const Route& r, const http_wire::QueryParams& q) {
    const std::string& n = r.name;
    if (n == "Ping") return Ping(ex);
    if (n == "Capacity") return Capacity(ex);
    if (n == "List") return List(ex, q);
    if (n == "Create") return Create(ex);
    if (n == "BulkInfo") return BulkInfo(ex, q);
    if (n == "BulkMetrics") return BulkMetrics(ex, q);
    if (n == "Destroy") return Destroy(ex, r.handle);
    if (n == "Run") return RunOrAttach(ex, r.handle, "");
    if (n == "Attach") return RunOrAttach(ex, r.handle, r.pid);
    if (n == "Stdout" || n == "Stderr") return ServeOutput(ex, r.stream_id, n == "Stdout" ? 0 : 1);
    return ContainerCall(ex, r, q);
  }

  // ---- handlers -----------------------------------------------------------

  void Ping(Exchange& ex) {
    absl::Status s = backend_->Ping();
    if (!s.ok()) return WriteError(ex, s, "ping");
    WriteSuccess(ex);
  }

  void Capacity(Exchange& ex) {
    absl::StatusOr<garden::Capacity> c = backend_->GetCapacity();
    if (!c.ok()) return WriteError(ex, c.status(), "capacity");
    WriteJson(ex, Dump(json_codec::ToJson(*c)));
  }

  void List(Exchange& ex, const http_wire::QueryParams& q) {
    Properties filter;
    for (const auto& [k, v] : q) filter.emplace(k, v);  // first value wins, as in Go
    absl::StatusOr<std::vector<std::unique_ptr<Container>>> cs = backend_->Containers(filter);
    if (!cs.ok()) return WriteError(ex, cs.status(), "list");
    Json handles = Json::array();
    for (const auto& c : *cs) handles.push_back(c->Handle());
    WriteJson(ex, Dump(Json{{"Handles", handles}}));
  }

  void Create(Exchange& ex) {
    absl::StatusOr<Json> body = Body(ex);
    if (!body.ok()) return WriteError(ex, body.status(), "create");
    ContainerSpec spec;
    absl::Status s = json_codec::FromJson(*body, &spec);
    if (!s.ok()) return WriteError(ex, s, "create");
    absl::StatusOr<std::unique_ptr<Container>> c = backend_->Create(spec);
    if (!c.ok()) return WriteError(ex, c.status(), "create");
    if (log_) log_->Session("create", {{"handle", (*c)->Handle()}}).Info("created");
    WriteJson(ex, Dump(Json{{"Handle", (*c)->Handle()}}));
  }

  void Destroy(Exchange& ex, const std::string& handle) {
    {
      absl::MutexLock lock(&destroys_mu_);
      if (!destroying_.insert(handle).second) {
        return WriteError(ex, absl::InternalError("container already being destroyed"), "destroy");
      }
    }
    absl::Status s = backend_->Destroy(handle);
    {
      absl::MutexLock lock(&destroys_mu_);
      destroying_.erase(handle);
    }
    if (!s.ok()) return WriteError(ex, s, "destroy");
    if (log_) log_->Session("destroy", {{"handle", handle}}).Info("destroyed");
    WriteSuccess(ex);
  }

  template <typename T>
  void WriteBulk(Exchange& ex, const std::map<std::string, BulkEntry<T>>& result,
                 const char* value_key) {
    Json out = Json::object();
    for (const auto& [handle, entry] : result) {
      Json e = Json::object();
      e[value_key] = json_codec::ToJson(entry.value.has_value() ? *entry.value : T());
      e["Err"] = entry.error.ok() ? Json(nullptr) : json_codec::ToJson(GetErrorInfo(entry.error));
      out[handle] = std::move(e);
    }
    WriteJson(ex, Dump(out));
  }

  static std::vector<std::string> Handles(const http_wire::QueryParams& q) {
    std::string joined = http_wire::QueryValue(q, "handles");
    if (joined.empty()) return {};
    return absl::StrSplit(joined, ',');
  }

  void BulkInfo(Exchange& ex, const http_wire::QueryParams& q) {
    absl::StatusOr<BulkInfoResult> res = backend_->BulkInfo(Handles(q));
    if (!res.ok()) return WriteError(ex, res.status(), "bulk_info");
    WriteBulk(ex, *res, "Info");
  }

  void BulkMetrics(Exchange& ex, const http_wire::QueryParams& q) {
    absl::StatusOr<BulkMetricsResult> res = backend_->BulkMetrics(Handles(q));
    if (!res.ok()) return WriteError(ex, res.status(), "bulk_metrics");
    WriteBulk(ex, *res, "Metrics");
  }

  // Every route of the form "look the container up, call one method".
  void ContainerCall(Exchange& ex, const Route& r, const http_wire::QueryParams& q) {
    const std::string& n = r.name;
    // Garden decodes the body before looking the container up.
    std::optional<Json> body;
    if (n == "Stop" || n == "NetIn" || n == "NetOut" || n == "BulkNetOut" ||
        n == "SetGraceTime" || n == "SetProperty") {
      absl::StatusOr<Json> b = Body(ex);
      if (!b.ok()) return WriteError(ex, b.status(), n);
      body = *std::move(b);
    }
    absl::StatusOr<std::unique_ptr<Container>> looked_up = Lookup(r.handle);
    if (!looked_up.ok()) return WriteError(ex, looked_up.status(), n);
    Container& c = **looked_up;

    if (n == "Info") {
      absl::StatusOr<ContainerInfo> v = c.Info();
      if (!v.ok()) return WriteError(ex, v.status(), n);
      return WriteJson(ex, Dump(json_codec::ToJson(*v)));
    }
    if (n == "Stop") {
      bool kill = false;
      if (body->is_object() && body->contains("kill")) {
        const Json& k = (*body)["kill"];
        if (!k.is_boolean() && !k.is_null()) {
          return WriteError(ex, absl::InvalidArgumentError("kill: expected a boolean"), n);
        }
        kill = k.is_boolean() && k.get<bool>();
      }
      absl::Status s = c.Stop(kill);
      if (!s.ok()) return WriteError(ex, s, n);
      return WriteSuccess(ex);
    }
    if (n == "StreamIn") {
      absl::Status s = c.StreamIn(http_wire::QueryValue(q, "destination"),
                                  http_wire::QueryValue(q, "user"), ex.request().body);
      if (!s.ok()) return WriteError(ex, s, n);
      return WriteSuccess(ex);
    }
    if (n == "StreamOut") {
      absl::StatusOr<std::string> tar =
          c.StreamOut(http_wire::QueryValue(q, "source"), http_wire::QueryValue(q, "user"));
      if (!tar.ok()) return WriteError(ex, tar.status(), n);
      Response resp;
      resp.headers.Add("Content-Type", "application/x-tar");
      resp.body = *std::move(tar);
      (void)ex.Respond(std::move(resp));
      return;
    }
    if (n == "CurrentLimits") {
      absl::StatusOr<Json> j = CurrentLimits(c, r.kind);
      if (!j.ok()) return WriteError(ex, j.status(), n);
      return WriteJson(ex, Dump(*j));
    }
    if (n == "NetIn") {
      uint32_t host_port = 0, container_port = 0;
      absl::Status s = PortField(*body, "host_port", &host_port);
      if (s.ok()) s = PortField(*body, "container_port", &container_port);
      if (!s.ok()) return WriteError(ex, s, n);
      absl::StatusOr<PortMapping> m = c.NetIn(host_port, container_port);
      if (!m.ok()) return WriteError(ex, m.status(), n);
      Json out = Json::object();  // omitempty, as transport.NetInResponse
      if (m->host_port != 0) out["host_port"] = m->host_port;
      if (m->container_port != 0) out["container_port"] = m->container_port;
      return WriteJson(ex, Dump(out));
    }
    if (n == "NetOut") {
      NetOutRule rule;
      absl::Status s = json_codec::FromJson(*body, &rule);
      if (s.ok()) s = c.NetOut(rule);
      if (!s.ok()) return WriteError(ex, s, n);
      return WriteSuccess(ex);
    }
    if (n == "BulkNetOut") {
      std::vector<NetOutRule> rules;
      if (!body->is_array() && !body->is_null()) {
        return WriteError(ex, absl::InvalidArgumentError("invalid request body: expected an array of rules"), n);
      }
      if (body->is_array()) {
        for (size_t i = 0; i < body->size(); ++i) {
          NetOutRule rule;
          absl::Status s = json_codec::FromJson((*body)[i], &rule);
          if (!s.ok()) {
            return WriteError(ex, absl::InvalidArgumentError(absl::StrCat("[", i, "].", s.message())), n);
          }
          rules.push_back(std::move(rule));
        }
      }
      absl::Status s = c.BulkNetOut(rules);
      if (!s.ok()) return WriteError(ex, s, n);
      return WriteSuccess(ex);
    }
    if (n == "SetGraceTime") {
      if (!body->is_number_integer()) {
        return WriteError(ex, absl::InvalidArgumentError("invalid request body: grace time must be integer nanoseconds"), n);
      }
      absl::Status s = c.SetGraceTime(absl::Nanoseconds(body->get<int64_t>()));
      if (!s.ok()) return WriteError(ex, s, n);
      return WriteSuccess(ex);
    }
    if (n == "Properties") {
      absl::StatusOr<Properties> p = c.GetProperties();
      if (!p.ok()) return WriteError(ex, p.status(), n);
      Json out = Json::object();
      for (const auto& [k, v] : *p) out[k] = v;
      return WriteJson(ex, Dump(out));
    }
    if (n == "Property") {
      absl::StatusOr<std::string> v = c.GetProperty(r.key);
      if (!v.ok()) return WriteError(ex, v.status(), n);
      return WriteJson(ex, Dump(Json{{"value", *v}}));
    }
    if (n == "SetProperty") {
      std::string value;
      if (body->is_object() && body->contains("value")) {
        const Json& v = (*body)["value"];
        if (!v.is_string() && !v.is_null()) {
          return WriteError(ex, absl::InvalidArgumentError("value: expected a string"), n);
        }
        if (v.is_string()) value = v.get<std::string>();
      }
      absl::Status s = c.SetProperty(r.key, value);
      if (!s.ok()) return WriteError(ex, s, n);
      return WriteSuccess(ex);
    }
    if (n == "RemoveProperty") {
      absl::Status s = c.RemoveProperty(r.key);
      if (!s.ok()) return WriteError(ex, s, n);
      return WriteSuccess(ex);
    }
    if (n == "Metrics") {
      absl::StatusOr<garden::Metrics> m = c.GetMetrics();
      if (!m.ok()) return WriteError(ex, m.status(), n);
      return WriteJson(ex, Dump(json_codec::ToJson(*m)));
    }
    WriteError(ex, absl::InternalError(absl::StrCat("route ", n, " has no handler")), n);
  }

  static absl::Status PortField(const Json& body, const char* name, uint32_t* out) {
    if (!body.is_object() || !body.contains(name) || body[name].is_null()) return absl::OkStatus();
    const Json& v = body[name];
    if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": expected an unsigned 32-bit integer"));
    }
    *out = static_cast<uint32_t>(v.get<uint64_t>());
    return absl::OkStatus();
  }

  static absl::StatusOr<Json> CurrentLimits(Container& c, const std::string& kind) {
    if (kind == "bandwidth") {
      absl::StatusOr<BandwidthLimits> l = c.CurrentBandwidthLimits();
      if (!l.ok()) return l.status();
      return json_codec::ToJson(*l);
    }
    if (kind == "cpu") {
      absl::StatusOr<CpuLimits> l = c.CurrentCpuLimits();
      if (!l.ok()) return l.status();
      return json_codec::ToJson(*l);
    }
    if (kind == "disk") {
      absl::StatusOr<DiskLimits> l = c.CurrentDiskLimits();
      if (!l.ok()) return l.status();
      return json_codec::ToJson(*l);
    }
    absl::StatusOr<MemoryLimits> l = c.CurrentMemoryLimits();
    if (!l.ok()) return l.status();
    return json_codec::ToJson(*l);
  }

  // ---- Run / Attach --------------------------------------------------------

  // Applies one ProcessPayload the client sent on a Run/Attach connection.
  void ApplyPayload(Process& process, const std::string& line, const std::string& session) {
    absl::StatusOr<Json> parsed = json_codec::Parse(line);
    if (!parsed.ok() || !parsed->is_object()) {
      if (log_) log_->Session(session).Error("stream-input-invalid-payload", {{"payload", line.substr(0, 200)}});
      return;
    }
    const Json& p = *parsed;
    auto present = [&](const char* k) { return p.contains(k) && !p[k].is_null(); };
    absl::Status s;
    if (present("tty")) {
      TtySpec tty;
      s = json_codec::FromJson(p["tty"], &tty);
      if (s.ok()) s = process.SetTty(tty);
    } else if (present("source")) {
      if (present("data")) {
        if (!p["data"].is_string()) {
          s = absl::InvalidArgumentError("data: expected a string");
        } else {
          s = process.WriteStdin(p["data"].get_ref<const std::string&>());
        }
      } else {
        s = process.CloseStdin();
      }
    } else if (present("signal")) {
      const Json& sig = p["signal"];
      if (sig.is_number_integer() && sig.get<int64_t>() == 0) {
        s = process.Signal(garden::Signal::kTerminate);
      } else if (sig.is_number_integer() && sig.get<int64_t>() == 1) {
        s = process.Signal(garden::Signal::kKill);
      } else {
        if (log_) log_->Session(session).Error("stream-input-unknown-process-payload-signal", {{"payload", line.substr(0, 200)}});
        return;
      }
    } else {
      if (log_) log_->Session(session).Error("stream-input-unknown-process-payload", {{"payload", line.substr(0, 200)}});
      return;
    }
    if (!s.ok() && log_) {
      log_->Session(session, {{"id", process.Id()}}).Error("stream-input-failed", s);
    }
  }

  void RunOrAttach(Exchange& ex, const std::string& handle, const std::string& attach_pid) {
    const bool run = attach_pid.empty();
    const std::string session = run ? "run" : "attach";
    ProcessSpec spec;
    if (run) {
      absl::StatusOr<Json> body = Body(ex);
      if (!body.ok()) return WriteError(ex, body.status(), session);
      absl::Status s = json_codec::FromJson(*body, &spec);
      if (!s.ok()) return WriteError(ex, s, session);
    }
    absl::StatusOr<std::unique_ptr<Container>> c = Lookup(handle);
    if (!c.ok()) return WriteError(ex, c.status(), session);

    auto [stream_id, output] = streamer_.New();
    ProcessIO io;  // stdin stays open: the client drives it with payloads
    io.stdout_sink = [output = output](absl::string_view d) { output->Append(0, d); };
    io.stderr_sink = [output = output](absl::string_view d) { output->Append(1, d); };
    absl::StatusOr<std::unique_ptr<Process>> started =
        run ? (*c)->Run(spec, std::move(io)) : (*c)->Attach(attach_pid, std::move(io));
    if (!started.ok()) {
      streamer_.Stop(stream_id);
      return WriteError(ex, started.status(), session);
    }
    std::unique_ptr<Process> process = *std::move(started);
    const std::string pid = process->Id();
    if (log_) log_->Session(session, {{"handle", handle}, {"id", pid}}).Info(run ? "spawned" : "attached");

    Headers h;  // what Go's server writes before hijacking (see connection_hijacker.go)
    h.Add("Content-Type", "application/json");
    h.Add("Date", http_wire::HttpDate(absl::Now()));
    h.Add("Transfer-Encoding", "chunked");
    absl::StatusOr<std::shared_ptr<http_wire::Conn>> hijacked = ex.Hijack(run ? 201 : 200, h);
    if (!hijacked.ok()) {
      streamer_.Stop(stream_id);
      return;
    }
    std::shared_ptr<http_wire::Conn> conn = *std::move(hijacked);
    OrderedJson first;
    first["process_id"] = pid;
    first["stream_id"] = stream_id;
    if (!conn->WriteAll(Dump(first) + "\n", absl::Now() + kStreamWriteTimeout).ok()) {
      streamer_.Stop(stream_id);
      return;
    }

    absl::Notification input_closed;
    std::thread input([&, p = process.get()] {
      while (true) {
        absl::StatusOr<std::string> line = conn->ReadLine(kMaxPayloadLine, http_wire::IoDeadline::None());
        if (!line.ok()) break;
        if (line->empty()) continue;
        ApplyPayload(*p, *line, session);
      }
      input_closed.Notify();
    });

    while (true) {
      absl::StatusOr<int> status = process->Wait(absl::Now() + kWaitSlice);
      if (status.ok()) {
        OrderedJson done;
        done["process_id"] = pid;
        done["exit_status"] = *status;
        (void)conn->WriteAll(Dump(done) + "\n", absl::Now() + kStreamWriteTimeout);
        if (log_) log_->Session(session, {{"id", pid}}).Info("exited", {{"status", *status}});
        break;
      }
      if (status.status().code() != absl::StatusCode::kDeadlineExceeded) {
        LogError(session, status.status(), {{"id", pid}});
        OrderedJson failed;
        failed["process_id"] = pid;
        failed["error"] = std::string(status.status().message());
        (void)conn->WriteAll(Dump(failed) + "\n", absl::Now() + kStreamWriteTimeout);
        break;
      }
      if (ex.Stopping() || input_closed.HasBeenNotified()) {
        break;  // detach; the process keeps running
      }
    }
    // Let the client read the last payload and hang up first: closing with
    // unread input would reset the connection (see Conn::LingeringClose).
    conn->CloseWrite();
    input_closed.WaitForNotificationWithTimeout(kCloseLinger);
    conn->Shutdown();
    input.join();
    streamer_.Stop(stream_id);
  }

  // GET .../attaches/:streamid/stdout|stderr: raw output until the stream ends.
  void ServeOutput(Exchange& ex, const std::string& stream_id, int which) {
    std::shared_ptr<OutputStream> out = streamer_.Find(stream_id);
    Headers h;
    h.Add("Date", http_wire::HttpDate(absl::Now()));
    h.Add("Transfer-Encoding", "chunked");
    absl::StatusOr<std::shared_ptr<http_wire::Conn>> hijacked = ex.Hijack(200, h);
    if (!hijacked.ok() || out == nullptr) return;  // unknown stream: Garden closes at once
    std::shared_ptr<http_wire::Conn> conn = *std::move(hijacked);
    while (true) {
      std::string chunk;
      bool finished = false;
      {
        absl::MutexLock lock(&out->mu);
        auto ready = [&]() ABSL_SHARED_LOCKS_REQUIRED(out->mu) {
          return !out->pending[which].empty() || out->done;
        };
        out->mu.AwaitWithTimeout(absl::Condition(&ready), kWaitSlice);
        chunk.swap(out->pending[which]);
        finished = out->done && chunk.empty();
      }
      if (finished) break;
      if (!chunk.empty() && !conn->WriteAll(chunk, absl::Now() + kStreamWriteTimeout).ok()) break;
      if (conn->IsShutdown()) break;
    }
    conn->Shutdown();
  }

  Backend* const backend_;
  const GardenServerOptions options_;
  std::optional<Logger> log_;
  std::unique_ptr<http_wire::Server> server_;
  Streamer streamer_;
  absl::Mutex destroys_mu_;
  std::set<std::string> destroying_ ABSL_GUARDED_BY(destroys_mu_);
  std::atomic<bool> stopped_logged_{false};
};

GardenServer::GardenServer(Backend* backend, GardenServerOptions options)
    : impl_(std::make_unique<Impl>(backend, std::move(options))) {}

GardenServer::~GardenServer() { Stop(); }

absl::Status GardenServer::Start() { return impl_->Start(); }

int GardenServer::Port() const { return impl_->Port(); }

void GardenServer::Stop() { impl_->Stop(); }

}  // namespace diego::garden
