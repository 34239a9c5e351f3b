// Copyright 2026 The libdiego Authors.
//
// HttpGardenClient: Garden's HTTP client (code.cloudfoundry.org/garden's
// client/connection) on the private HTTP/1.1 layer of http_wire.h.
//
// Requests and JSON are those of Go's connection.go, so this client works
// against Garden's own server (guardian) as well as GardenServer. Two
// implementation choices differ from Go's client without changing the wire:
// plain requests reuse idle keep-alive connections (Go opens one per
// request), and Run/Attach multiplex the process stream and the stdout and
// stderr attach streams on one thread per process instead of three.

#include "diego/garden/http_client.h"

#include <poll.h>

#include <atomic>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "diego/garden/errors.h"
#include "http_wire.h"
#include "json_codec.h"

namespace diego::garden {
namespace {

using json_codec::Json;
using OrderedJson = nlohmann::ordered_json;
using http_wire::Conn;
using http_wire::IoDeadline;
using http_wire::QueryParams;

constexpr size_t kMaxIdleConns = 4;
constexpr size_t kStdinChunk = 32 * 1024;  // Go's io.Copy buffer
constexpr size_t kMaxPayloadLine = 8 << 20;
// After the process stream ends, how long its stdout/stderr streams may take
// to finish (the server closes them right after the exit status).
constexpr absl::Duration kOutputDrainBound = absl::Seconds(30);

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }
std::string Dump(const OrderedJson& j) {
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

// The longest prefix of `s` no longer than `max` that does not end inside a
// UTF-8 sequence (so each stdin payload is valid JSON text on its own).
size_t Utf8Cut(absl::string_view s, size_t max) {
  if (s.size() <= max) return s.size();
  size_t cut = max;
  for (int back = 0; back < 3 && cut > 0; ++back) {
    unsigned char c = static_cast<unsigned char>(s[cut]);
    if ((c & 0xC0) != 0x80) break;  // s[cut] starts a character
    --cut;
  }
  return cut == 0 ? max : cut;
}

std::string ContainerPath(absl::string_view handle, absl::string_view rest = "") {
  return absl::StrCat("/containers/", http_wire::EscapePathSegment(handle), rest);
}

// Reads a JSON field that Go's decoder would match case-insensitively.
const Json* Field(const Json& obj, absl::string_view name) {
  if (!obj.is_object()) return nullptr;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (absl::EqualsIgnoreCase(it.key(), name)) return &it.value();
  }
  return nullptr;
}

// Turns a non-2xx answer into the typed status it carries.
absl::Status ErrorFromResponse(int http_status, absl::string_view body, absl::string_view what) {
  absl::StatusOr<Json> j = json_codec::Parse(body);
  ErrorInfo info;
  if (!j.ok() || !j->is_object() || !json_codec::FromJson(*j, &info).ok()) {
    absl::Status plain = FromErrorInfo(
        ErrorInfo{"", absl::StrCat(what, ": bad response (HTTP ", http_status, "): ",
                                   body.substr(0, 512)),
                  "", ""},
        http_status);
    return plain;
  }
  absl::Status s = FromErrorInfo(info, http_status);
  if (info.type.empty() && s.code() == absl::StatusCode::kUnknown) {
    // Our server's codes for plain errors (errors.h HttpStatusFor) that
    // FromErrorInfo leaves as Unknown.
    if (http_status == 409) return absl::AlreadyExistsError(info.message);
    if (http_status == 504) return absl::DeadlineExceededError(info.message);
  }
  return s;
}

// What a successful plain request returned.
struct HttpResult {
  int status = 0;
  http_wire::ResponseHead head;
  std::string body;
};

}  // namespace

namespace http_client_internal {

// The shared part of a client: options, the idle-connection pool and the
// request machinery. Containers and processes keep it alive.
class Core {
 public:
  explicit Core(HttpGardenClientOptions options) : options_(std::move(options)) {}

  const HttpGardenClientOptions& options() const { return options_; }

  absl::StatusOr<std::unique_ptr<Conn>> Dial(absl::Time deadline) {
    absl::Time connect_deadline = std::min(deadline, absl::Now() + options_.connect_timeout);
    absl::StatusOr<std::unique_ptr<Conn>> c =
        Conn::Dial(options_.network, options_.address, connect_deadline);
    if (!c.ok()) {
      std::string msg = absl::StrCat("garden: ", c.status().message());
      if (c.status().code() == absl::StatusCode::kDeadlineExceeded) {
        return absl::DeadlineExceededError(msg);
      }
      if (c.status().code() == absl::StatusCode::kInvalidArgument) {
        return absl::InvalidArgumentError(msg);
      }
      return absl::UnavailableError(msg);
    }
    return c;
  }

  static http_wire::Request MakeRequest(absl::string_view method, absl::string_view path,
                                        const QueryParams& query, std::string body,
                                        absl::string_view content_type) {
    http_wire::Request r;
    r.method = std::string(method);
    r.target = query.empty() ? std::string(path)
                             : absl::StrCat(path, "?", http_wire::EncodeQuery(query));
    r.headers.Add("Host", "api");  // Go's client: rata's "http://api" base URL
    r.headers.Add("User-Agent", "libdiego-garden");
    if (!content_type.empty()) r.headers.Add("Content-Type", std::string(content_type));
    r.body = std::move(body);
    return r;
  }

  // One request/response exchange bounded by the request timeout. Non-2xx
  // answers are returned as their typed errors.
  absl::StatusOr<HttpResult> Do(absl::string_view method, absl::string_view path,
                                const QueryParams& query, std::string body,
                                absl::string_view content_type) {
    const absl::Time deadline = absl::Now() + options_.request_timeout;
    const std::string what = absl::StrCat(method, " ", path);
    http_wire::Request req = MakeRequest(method, path, query, std::move(body), content_type);
    const std::string wire = http_wire::SerializeRequest(req);
    const bool idempotent = method != "POST";
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      std::unique_ptr<Conn> conn = TakeIdle();
      if (conn != nullptr) {
        reused = true;
      } else {
        absl::StatusOr<std::unique_ptr<Conn>> dialed = Dial(deadline);
        if (!dialed.ok()) return dialed.status();
        conn = *std::move(dialed);
      }
      absl::Status s = conn->WriteAll(wire, deadline);
      absl::StatusOr<http_wire::ResponseHead> head =
          s.ok() ? http_wire::ReadResponseHead(*conn, limits_, IoDeadline::At(deadline))
                 : absl::StatusOr<http_wire::ResponseHead>(s);
      if (!head.ok()) {
        // A pooled connection the server closed while idle: try a fresh one.
        bool stale = reused && attempt == 0 &&
                     (!s.ok() || head.status().code() == absl::StatusCode::kOutOfRange);
        if (stale && (idempotent || !s.ok())) continue;
        return Transport(head.status(), what);
      }
      absl::StatusOr<std::string> resp_body =
          http_wire::ReadResponseBody(*conn, *head, method, limits_, IoDeadline::At(deadline));
      if (!resp_body.ok()) return Transport(resp_body.status(), what);
      if (http_wire::ResponseKeepAlive(*head, method)) PutIdle(std::move(conn));
      if (head->status < 200 || head->status > 299) {
        return ErrorFromResponse(head->status, *resp_body, what);
      }
      HttpResult result;
      result.status = head->status;
      result.head = *std::move(head);
      result.body = *std::move(resp_body);
      return result;
    }
  }

  absl::Status Transport(const absl::Status& s, absl::string_view what) const {
    if (s.code() == absl::StatusCode::kDeadlineExceeded) {
      return absl::DeadlineExceededError(
          absl::StrCat("garden: ", what, ": no response within ",
                       absl::FormatDuration(options_.request_timeout)));
    }
    return absl::UnavailableError(absl::StrCat("garden: ", what, ": ", s.message()));
  }

  // A JSON request (`request` null = no body) whose JSON answer is returned.
  absl::StatusOr<Json> Call(absl::string_view method, absl::string_view path,
                            const Json& request = Json(), const QueryParams& query = {}) {
    bool has_body = !request.is_null();
    absl::StatusOr<HttpResult> r = Do(method, path, query, has_body ? Dump(request) + "\n" : "",
                                      has_body ? "application/json" : "");
    if (!r.ok()) return r.status();
    if (r->body.empty()) return Json();
    absl::StatusOr<Json> j = json_codec::Parse(r->body);
    if (!j.ok()) {
      return absl::UnavailableError(absl::StrCat("garden: ", method, " ", path,
                                                 ": bad response: ", j.status().message()));
    }
    return j;
  }

  absl::Status CallNoResult(absl::string_view method, absl::string_view path,
                            const Json& request = Json(), const QueryParams& query = {}) {
    return Call(method, path, request, query).status();
  }

  std::unique_ptr<Conn> TakeIdle() {
    absl::MutexLock lock(&mu_);
    while (!idle_.empty()) {
      std::unique_ptr<Conn> c = std::move(idle_.back());
      idle_.pop_back();
      if (c->IdleAndOpen()) return c;
    }
    return nullptr;
  }

  void PutIdle(std::unique_ptr<Conn> c) {
    absl::MutexLock lock(&mu_);
    if (idle_.size() < kMaxIdleConns) idle_.push_back(std::move(c));
  }

  const http_wire::Limits& limits() const { return limits_; }

 private:
  const HttpGardenClientOptions options_;
  http_wire::Limits limits_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Conn>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace http_client_internal

using http_client_internal::Core;

class HttpGardenClient::Impl : public Core {
 public:
  using Core::Core;
};

namespace {

template <typename T>
absl::StatusOr<T> Decode(const absl::StatusOr<Json>& j, absl::string_view what) {
  if (!j.ok()) return j.status();
  T out;
  absl::Status s = json_codec::FromJson(j->is_null() ? Json::object() : *j, &out);
  if (!s.ok()) {
    return absl::UnavailableError(absl::StrCat("garden: ", what, ": bad response: ", s.message()));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Process: one Run/Attach connection plus its stdout/stderr attach streams.

struct ProcessState {
  std::string id;
  std::shared_ptr<Conn> main;
  std::shared_ptr<Conn> out[2];  // stdout, stderr (null when no sink)
  std::function<void(absl::string_view)> sinks[2];
  http_wire::Limits limits;
  absl::Duration write_timeout;
  std::optional<bool> has_tty;   // known for Run, unknown for Attach
  bool stdin_from_io = false;     // ProcessIO::stdin_data was set

  absl::Mutex write_mu;
  bool stdin_closed ABSL_GUARDED_BY(write_mu) = false;

  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  absl::StatusOr<int> result ABSL_GUARDED_BY(mu) = absl::UnknownError("not finished");

  std::thread pump;

  bool Done() {
    absl::MutexLock lock(&mu);
    return done;
  }

  void ShutdownAll() {
    if (main) main->Shutdown();
    for (auto& c : out) {
      if (c) c->Shutdown();
    }
  }

  // Sends one ProcessPayload line.
  absl::Status Send(const OrderedJson& payload) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu) {
    return main->WriteAll(Dump(payload) + "\n", absl::Now() + write_timeout);
  }

  absl::Status SendStdin(absl::string_view data) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu) {
    while (!data.empty()) {
      size_t n = Utf8Cut(data, kStdinChunk);
      OrderedJson p;
      p["process_id"] = id;
      p["source"] = 0;
      p["data"] = std::string(data.substr(0, n));
      absl::Status s = Send(p);
      if (!s.ok()) return s;
      data.remove_prefix(n);
    }
    return absl::OkStatus();
  }

  absl::Status SendCloseStdin() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu) {
    OrderedJson p;
    p["process_id"] = id;
    p["source"] = 0;
    stdin_closed = true;
    return Send(p);
  }

  void Finish(absl::StatusOr<int> r) {
    absl::MutexLock lock(&mu);
    if (done) return;
    result = std::move(r);
    done = true;
  }

  // Reads the process stream and the output streams until all have ended,
  // then records the result (so every output byte reached the sinks first).
  void Pump() {
    std::optional<absl::StatusOr<int>> outcome;
    bool out_open[2] = {out[0] != nullptr, out[1] != nullptr};
    absl::Time drain_deadline = absl::InfiniteFuture();
    const IoDeadline now_only = IoDeadline::At(absl::InfinitePast());
    char buf[64 * 1024];
    while (!outcome.has_value() || out_open[0] || out_open[1]) {
      // Consume whatever is available without blocking.
      bool progressed = false;
      if (!outcome.has_value()) {
        while (true) {
          absl::StatusOr<std::string> line = main->ReadLine(kMaxPayloadLine, now_only);
          if (!line.ok()) {
            if (line.status().code() == absl::StatusCode::kDeadlineExceeded) break;
            outcome = absl::UnavailableError(absl::StrCat(
                "garden: process ", id, ": stream ended before the exit status: ",
                line.status().code() == absl::StatusCode::kOutOfRange ? "connection closed"
                                                                      : line.status().message()));
            break;
          }
          progressed = true;
          absl::StatusOr<Json> p = json_codec::Parse(*line);
          if (!p.ok() || !p->is_object()) {
            outcome = absl::UnavailableError(
                absl::StrCat("garden: process ", id, ": invalid payload: ", line->substr(0, 200)));
            break;
          }
          const Json* err = Field(*p, "error");
          const Json* status = Field(*p, "exit_status");
          if (err != nullptr && err->is_string()) {
            outcome = absl::UnknownError(
                absl::StrCat("connection: process error: ", err->get<std::string>()));
            break;
          }
          if (status != nullptr && status->is_number_integer()) {
            outcome = static_cast<int>(status->get<int64_t>());
            break;
          }
          // Other payloads are ignored (as in Go's stream handler).
        }
        if (outcome.has_value()) {
          main->Shutdown();
          drain_deadline = absl::Now() + kOutputDrainBound;
        }
      }
      for (int i = 0; i < 2; ++i) {
        while (out_open[i]) {
          absl::StatusOr<size_t> n = out[i]->Read(buf, sizeof(buf), now_only);
          if (!n.ok() && n.status().code() == absl::StatusCode::kDeadlineExceeded) break;
          if (!n.ok() || *n == 0) {
            out_open[i] = false;
            break;
          }
          progressed = true;
          if (sinks[i]) sinks[i](absl::string_view(buf, *n));
        }
      }
      if (progressed) continue;
      if (outcome.has_value() && !out_open[0] && !out_open[1]) break;
      // Wait for any stream to have something.
      pollfd pfds[3];
      int nfds = 0;
      if (!outcome.has_value()) pfds[nfds++] = {main->fd(), POLLIN, 0};
      for (int i = 0; i < 2; ++i) {
        if (out_open[i]) pfds[nfds++] = {out[i]->fd(), POLLIN, 0};
      }
      int timeout_ms = -1;
      if (drain_deadline != absl::InfiniteFuture()) {
        absl::Duration left = drain_deadline - absl::Now();
        if (left <= absl::ZeroDuration()) break;  // output streams never ended
        timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
      }
      int rc = ::poll(pfds, nfds, timeout_ms);
      if (rc < 0 && errno != EINTR) break;
      if (main->IsShutdown() && !outcome.has_value()) {
        outcome = absl::CancelledError(absl::StrCat("garden: process ", id, ": detached"));
      }
    }
    if (!outcome.has_value()) outcome = absl::UnavailableError(absl::StrCat("garden: process ", id, ": lost"));
    ShutdownAll();
    Finish(*std::move(outcome));
  }
};

class HttpProcess final : public Process {
 public:
  explicit HttpProcess(std::shared_ptr<ProcessState> st) : st_(std::move(st)) {}
  ~HttpProcess() override {
    if (st_->pump.joinable()) {
      if (!st_->Done()) st_->ShutdownAll();  // detach: the process keeps running
      st_->pump.join();
    }
  }

  std::string Id() const override { return st_->id; }

  absl::StatusOr<int> Wait(absl::Time deadline) override {
    absl::MutexLock lock(&st_->mu);
    auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(st_->mu) { return st_->done; };
    if (!st_->mu.AwaitWithDeadline(absl::Condition(&done), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("garden: process ", st_->id, " still running at the deadline"));
    }
    return st_->result;
  }

  absl::Status Signal(garden::Signal signal) override {
    absl::MutexLock lock(&st_->write_mu);
    OrderedJson p;
    p["process_id"] = st_->id;
    p["signal"] = static_cast<int>(signal);
    return SendOrExited(p);
  }

  absl::Status WriteStdin(absl::string_view data) override {
    if (st_->stdin_from_io) {
      return absl::FailedPreconditionError(
          absl::StrCat("process ", st_->id, ": stdin was given in ProcessIO::stdin_data"));
    }
    absl::MutexLock lock(&st_->write_mu);
    if (st_->stdin_closed) {
      return absl::FailedPreconditionError(absl::StrCat("process ", st_->id, ": stdin is closed"));
    }
    if (data.empty() || st_->Done()) return absl::OkStatus();  // exited: dropped
    absl::Status s = st_->SendStdin(data);
    return s.ok() || st_->Done() ? absl::OkStatus() : WriteError(s);
  }

  absl::Status CloseStdin() override {
    if (st_->stdin_from_io) {
      return absl::FailedPreconditionError(
          absl::StrCat("process ", st_->id, ": stdin was given in ProcessIO::stdin_data"));
    }
    absl::MutexLock lock(&st_->write_mu);
    if (st_->stdin_closed) return absl::OkStatus();
    absl::Status s = st_->SendCloseStdin();
    return s.ok() || st_->Done() ? absl::OkStatus() : WriteError(s);
  }

  absl::Status SetTty(const TtySpec& tty) override {
    if (st_->has_tty.has_value() && !*st_->has_tty) {
      return absl::FailedPreconditionError(absl::StrCat("process ", st_->id, " has no tty"));
    }
    absl::MutexLock lock(&st_->write_mu);
    OrderedJson p;
    p["process_id"] = st_->id;
    p["tty"] = json_codec::ToJson(tty);
    return SendOrExited(p);
  }

 private:
  absl::Status SendOrExited(const OrderedJson& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(st_->write_mu) {
    if (st_->Done()) return absl::OkStatus();
    absl::Status s = st_->Send(p);
    if (s.ok() || st_->Done()) return absl::OkStatus();
    return WriteError(s);
  }

  absl::Status WriteError(const absl::Status& s) {
    if (s.code() == absl::StatusCode::kDeadlineExceeded) {
      return absl::DeadlineExceededError(
          absl::StrCat("garden: process ", st_->id, ": write timed out"));
    }
    return absl::UnavailableError(absl::StrCat("garden: process ", st_->id, ": ", s.message()));
  }

  std::shared_ptr<ProcessState> st_;
};

// ---------------------------------------------------------------------------
// Container

class HttpContainer final : public Container {
 public:
  HttpContainer(std::shared_ptr<Core> impl, std::string handle)
      : impl_(std::move(impl)), handle_(std::move(handle)) {}

  std::string Handle() const override { return handle_; }

  absl::Status Stop(bool kill) override {
    return impl_->CallNoResult("PUT", Path("/stop"), Json{{"kill", kill}});
  }

  absl::StatusOr<ContainerInfo> Info() override {
    return Decode<ContainerInfo>(impl_->Call("GET", Path("/info")), "info");
  }

  absl::Status StreamIn(absl::string_view path, absl::string_view user,
                        absl::string_view tar) override {
    absl::StatusOr<HttpResult> r =
        impl_->Do("PUT", Path("/files"), {{"destination", std::string(path)}, {"user", std::string(user)}},
                  std::string(tar), "application/x-tar");
    return r.status();
  }

  absl::StatusOr<std::string> StreamOut(absl::string_view path, absl::string_view user) override {
    absl::StatusOr<HttpResult> r =
        impl_->Do("GET", Path("/files"), {{"source", std::string(path)}, {"user", std::string(user)}}, "", "");
    if (!r.ok()) return r.status();
    return std::move(r->body);
  }

  absl::StatusOr<BandwidthLimits> CurrentBandwidthLimits() override {
    return Decode<BandwidthLimits>(impl_->Call("GET", Path("/limits/bandwidth")), "limits");
  }
  absl::StatusOr<CpuLimits> CurrentCpuLimits() override {
    return Decode<CpuLimits>(impl_->Call("GET", Path("/limits/cpu")), "limits");
  }
  absl::StatusOr<DiskLimits> CurrentDiskLimits() override {
    return Decode<DiskLimits>(impl_->Call("GET", Path("/limits/disk")), "limits");
  }
  absl::StatusOr<MemoryLimits> CurrentMemoryLimits() override {
    return Decode<MemoryLimits>(impl_->Call("GET", Path("/limits/memory")), "limits");
  }

  absl::StatusOr<PortMapping> NetIn(uint32_t host_port, uint32_t container_port) override {
    Json req = Json::object();  // transport.NetInRequest, omitempty
    req["handle"] = handle_;
    if (host_port != 0) req["host_port"] = host_port;
    if (container_port != 0) req["container_port"] = container_port;
    absl::StatusOr<Json> j = impl_->Call("POST", Path("/net/in"), req);
    if (!j.ok()) return j.status();
    PortMapping m;
    const Json* hp = Field(*j, "host_port");
    const Json* cp = Field(*j, "container_port");
    if (hp != nullptr && hp->is_number_unsigned()) m.host_port = hp->get<uint32_t>();
    if (cp != nullptr && cp->is_number_unsigned()) m.container_port = cp->get<uint32_t>();
    return m;
  }

  absl::Status NetOut(const NetOutRule& rule) override {
    return impl_->CallNoResult("POST", Path("/net/out"), json_codec::ToJson(rule));
  }

  absl::Status BulkNetOut(const std::vector<NetOutRule>& rules) override {
    Json arr = Json::array();
    for (const NetOutRule& r : rules) arr.push_back(json_codec::ToJson(r));
    return impl_->CallNoResult("POST", Path("/net/out/bulk"), arr);
  }

  absl::StatusOr<std::unique_ptr<Process>> Run(const ProcessSpec& spec, ProcessIO io) override {
    return Start(Path("/processes"), "POST", Dump(json_codec::ToJson(spec)) + "\n",
                 spec.tty.has_value(), std::move(io));
  }

  absl::StatusOr<std::unique_ptr<Process>> Attach(absl::string_view process_id,
                                                  ProcessIO io) override {
    return Start(Path(absl::StrCat("/processes/", http_wire::EscapePathSegment(process_id))), "GET",
                 "", std::nullopt, std::move(io));
  }

  absl::StatusOr<Metrics> GetMetrics() override {
    return Decode<Metrics>(impl_->Call("GET", Path("/metrics")), "metrics");
  }

  absl::Status SetGraceTime(absl::Duration grace_time) override {
    return impl_->CallNoResult("PUT", Path("/grace_time"), Json(absl::ToInt64Nanoseconds(grace_time)));
  }

  absl::StatusOr<Properties> GetProperties() override {
    absl::StatusOr<Json> j = impl_->Call("GET", Path("/properties"));
    if (!j.ok()) return j.status();
    Properties out;
    if (j->is_object()) {
      for (auto it = j->begin(); it != j->end(); ++it) {
        if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
      }
    }
    return out;
  }

  absl::StatusOr<std::string> GetProperty(absl::string_view name) override {
    absl::StatusOr<Json> j = impl_->Call("GET", PropertyPath(name));
    if (!j.ok()) return j.status();
    const Json* v = Field(*j, "value");
    return v != nullptr && v->is_string() ? v->get<std::string>() : "";
  }

  absl::Status SetProperty(absl::string_view name, absl::string_view value) override {
    return impl_->CallNoResult("PUT", PropertyPath(name), Json{{"value", std::string(value)}});
  }

  absl::Status RemoveProperty(absl::string_view name) override {
    return impl_->CallNoResult("DELETE", PropertyPath(name));
  }

 private:
  std::string Path(absl::string_view rest) const { return ContainerPath(handle_, rest); }
  std::string PropertyPath(absl::string_view name) const {
    return Path(absl::StrCat("/properties/", http_wire::EscapePathSegment(name)));
  }

  // Opens a hijacked request (Run or Attach; Go's connection.Hijack): the
  // answer's head, then the stream. Non-2xx answers are typed errors.
  absl::StatusOr<std::shared_ptr<Conn>> Hijack(const std::string& method, const std::string& path,
                                               std::string body, absl::string_view content_type,
                                               absl::Time deadline) {
    absl::StatusOr<std::unique_ptr<Conn>> dialed = impl_->Dial(deadline);
    if (!dialed.ok()) return dialed.status();
    std::shared_ptr<Conn> conn = *std::move(dialed);
    std::string what = absl::StrCat(method, " ", path);
    http_wire::Request req = Core::MakeRequest(method, path, {}, std::move(body), content_type);
    absl::Status s = conn->WriteAll(http_wire::SerializeRequest(req), deadline);
    if (!s.ok()) return impl_->Transport(s, what);
    absl::StatusOr<http_wire::ResponseHead> head =
        http_wire::ReadResponseHead(*conn, impl_->limits(), IoDeadline::At(deadline));
    if (!head.ok()) return impl_->Transport(head.status(), what);
    if (head->status < 200 || head->status > 299) {
      absl::StatusOr<std::string> err_body =
          http_wire::ReadResponseBody(*conn, *head, method, impl_->limits(), IoDeadline::At(deadline));
      if (!err_body.ok()) return impl_->Transport(err_body.status(), what);
      return ErrorFromResponse(head->status, *err_body, what);
    }
    return conn;
  }

  absl::StatusOr<std::unique_ptr<Process>> Start(const std::string& path, const std::string& method,
                                                 std::string body, std::optional<bool> has_tty,
                                                 ProcessIO io) {
    const absl::Time deadline = absl::Now() + impl_->options().request_timeout;
    absl::StatusOr<std::shared_ptr<Conn>> main =
        Hijack(method, path, std::move(body), method == "POST" ? "application/json" : "", deadline);
    if (!main.ok()) return main.status();
    absl::StatusOr<std::string> first =
        (*main)->ReadLine(kMaxPayloadLine, IoDeadline::At(deadline));
    if (!first.ok()) return impl_->Transport(first.status(), absl::StrCat(method, " ", path));
    absl::StatusOr<Json> p = json_codec::Parse(*first);
    const Json* pid = p.ok() ? Field(*p, "process_id") : nullptr;
    const Json* sid = p.ok() ? Field(*p, "stream_id") : nullptr;
    if (pid == nullptr || !pid->is_string()) {
      return absl::UnavailableError(
          absl::StrCat("garden: ", method, " ", path, ": invalid first payload: ", first->substr(0, 200)));
    }
    auto st = std::make_shared<ProcessState>();
    st->id = pid->get<std::string>();
    st->main = *std::move(main);
    st->limits = impl_->limits();
    st->write_timeout = impl_->options().request_timeout;
    st->has_tty = has_tty;
    st->stdin_from_io = io.stdin_data.has_value();
    st->sinks[0] = std::move(io.stdout_sink);
    st->sinks[1] = std::move(io.stderr_sink);
    std::string stream_id = sid != nullptr && sid->is_string() ? sid->get<std::string>() : "";

    absl::Status attach_error;
    for (int i = 0; i < 2 && attach_error.ok(); ++i) {
      if (!st->sinks[i]) continue;  // as Go: no sink, no attach stream
      const char* name = i == 0 ? "stdout" : "stderr";
      std::string attach_path = ContainerPath(
          handle_, absl::StrCat("/processes/", http_wire::EscapePathSegment(st->id), "/attaches/",
                                http_wire::EscapePathSegment(stream_id), "/", name));
      absl::StatusOr<std::shared_ptr<Conn>> c = Hijack("GET", attach_path, "", "application/json", deadline);
      if (!c.ok()) {
        attach_error = absl::Status(c.status().code(),
                                    absl::StrCat("connection: failed to hijack stream ", name, ": ",
                                                 c.status().message()));
      } else {
        st->out[i] = *std::move(c);
      }
    }
    if (!attach_error.ok()) {
      // As Go: the process is returned and its Wait reports the failure.
      st->ShutdownAll();
      st->Finish(attach_error);
      return std::unique_ptr<Process>(std::make_unique<HttpProcess>(st));
    }
    st->pump = std::thread([st] { st->Pump(); });
    auto process = std::make_unique<HttpProcess>(st);
    if (io.stdin_data.has_value()) {
      absl::MutexLock lock(&st->write_mu);
      absl::Status s = st->SendStdin(*io.stdin_data);
      if (s.ok()) s = st->SendCloseStdin();
      // A process that exits without reading its stdin may close the stream
      // first; that is not an error of Run.
      (void)s;
    }
    return std::unique_ptr<Process>(std::move(process));
  }

  std::shared_ptr<Core> impl_;
  std::string handle_;
};

}  // namespace

// ---------------------------------------------------------------------------
// HttpGardenClient

HttpGardenClient::HttpGardenClient(HttpGardenClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {}

HttpGardenClient::~HttpGardenClient() = default;

absl::Status HttpGardenClient::Ping() { return impl_->CallNoResult("GET", "/ping"); }

absl::StatusOr<Capacity> HttpGardenClient::GetCapacity() {
  return Decode<Capacity>(impl_->Call("GET", "/capacity"), "capacity");
}

absl::StatusOr<std::unique_ptr<Container>> HttpGardenClient::Create(const ContainerSpec& spec) {
  absl::StatusOr<Json> j = impl_->Call("POST", "/containers", json_codec::ToJson(spec));
  if (!j.ok()) return j.status();
  const Json* h = Field(*j, "handle");
  if (h == nullptr || !h->is_string()) {
    return absl::UnavailableError(absl::StrCat("garden: POST /containers: bad response: ", Dump(*j)));
  }
  return std::unique_ptr<Container>(std::make_unique<HttpContainer>(impl_, h->get<std::string>()));
}

absl::Status HttpGardenClient::Destroy(absl::string_view handle) {
  return impl_->CallNoResult("DELETE", ContainerPath(handle));
}

namespace {
absl::StatusOr<std::vector<std::string>> ListHandles(Core& impl,
                                                     const Properties& filter) {
  QueryParams q(filter.begin(), filter.end());  // sorted by key, as url.Values.Encode
  absl::StatusOr<Json> j = impl.Call("GET", "/containers", Json(), q);
  if (!j.ok()) return j.status();
  std::vector<std::string> handles;
  const Json* hs = Field(*j, "handles");
  if (hs != nullptr && hs->is_array()) {
    for (const Json& h : *hs) {
      if (h.is_string()) handles.push_back(h.get<std::string>());
    }
  } else if (hs == nullptr || !hs->is_null()) {
    return absl::UnavailableError(absl::StrCat("garden: GET /containers: bad response: ", Dump(*j)));
  }
  return handles;
}
}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<Container>>> HttpGardenClient::Containers(
    const Properties& filter) {
  absl::StatusOr<std::vector<std::string>> handles = ListHandles(*impl_, filter);
  if (!handles.ok()) return handles.status();
  std::vector<std::unique_ptr<Container>> out;
  for (std::string& h : *handles) out.push_back(std::make_unique<HttpContainer>(impl_, std::move(h)));
  return out;
}

absl::StatusOr<std::unique_ptr<Container>> HttpGardenClient::Lookup(absl::string_view handle) {
  // As Go's client: list, and look for the handle.
  absl::StatusOr<std::vector<std::string>> handles = ListHandles(*impl_, {});
  if (!handles.ok()) return handles.status();
  for (const std::string& h : *handles) {
    if (h == handle) return std::unique_ptr<Container>(std::make_unique<HttpContainer>(impl_, h));
  }
  return ContainerNotFoundError(handle);
}

namespace {
template <typename T>
absl::StatusOr<std::map<std::string, BulkEntry<T>>> Bulk(Core& impl,
                                                         absl::string_view route,
                                                         const std::vector<std::string>& handles,
                                                         const char* value_key) {
  absl::StatusOr<Json> j = impl.Call("GET", absl::StrCat("/containers/", route), Json(),
                                     {{"handles", absl::StrJoin(handles, ",")}});
  if (!j.ok()) return j.status();
  std::map<std::string, BulkEntry<T>> out;
  if (j->is_null()) return out;
  if (!j->is_object()) {
    return absl::UnavailableError(absl::StrCat("garden: ", route, ": bad response: not an object"));
  }
  for (auto it = j->begin(); it != j->end(); ++it) {
    BulkEntry<T> entry;
    const Json* err = Field(it.value(), "Err");
    const Json* value = Field(it.value(), value_key);
    if (err != nullptr && !err->is_null()) {
      ErrorInfo info;
      absl::Status s = json_codec::FromJson(*err, &info);
      if (!s.ok()) {
        return absl::UnavailableError(absl::StrCat("garden: ", route, ": bad response: ", s.message()));
      }
      entry.error = FromErrorInfo(info, 500);
    } else {
      T v;
      if (value != nullptr) {
        absl::Status s = json_codec::FromJson(*value, &v);
        if (!s.ok()) {
          return absl::UnavailableError(absl::StrCat("garden: ", route, ": bad response: ", s.message()));
        }
      }
      entry.value = std::move(v);
    }
    out[it.key()] = std::move(entry);
  }
  return out;
}
}  // namespace

absl::StatusOr<BulkInfoResult> HttpGardenClient::BulkInfo(const std::vector<std::string>& handles) {
  return Bulk<ContainerInfo>(*impl_, "bulk_info", handles, "Info");
}

absl::StatusOr<BulkMetricsResult> HttpGardenClient::BulkMetrics(
    const std::vector<std::string>& handles) {
  return Bulk<Metrics>(*impl_, "bulk_metrics", handles, "Metrics");
}

}  // namespace diego::garden
