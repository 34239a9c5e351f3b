// Copyright 2026 The libdiego Authors.
//
// TaskCallbackPool: Diego's task completion work pool (bbs taskworkpool):
// on-demand worker threads that mark a completed task Resolving, POST its
// TaskCallbackResponse to the completion callback URL and delete it.

#include "diego/bbs/task_callbacks.h"

#include <httplib.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "diego/model/go_json.h"
#include "diego/model/v1/task_requests.pb.h"

namespace diego::bbs {
namespace {

constexpr int kServiceUnavailable = 503;
constexpr int kGatewayTimeout = 504;

// A parsed completion_callback_url. `origin` (scheme://host:port) is the
// only part ever logged: the path, query and user info may carry secrets.
struct CallbackUrl {
  bool tls = false;
  std::string host;  // Without IPv6 brackets.
  int port = 0;
  std::string target;  // Path and query, as sent: "/path?query".
  bool has_user = false;
  std::string user;
  std::string password;
  std::string origin;
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const char lower = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
  return -1;
}

// Percent-decodes URL user info (Go's url.User / PathUnescape rules).
absl::StatusOr<std::string> Unescape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int hi = i + 2 < text.size() ? HexDigit(text[i + 1]) : -1;
    const int lo = hi >= 0 ? HexDigit(text[i + 2]) : -1;
    if (lo < 0) return absl::InvalidArgumentError("invalid escape in user info");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// Accepts http(s)://[user[:password]@]host[:port][/path][?query][#fragment].
// Error messages never quote the URL.
absl::StatusOr<CallbackUrl> ParseCallbackUrl(absl::string_view url) {
  CallbackUrl parsed;
  absl::string_view rest = url;
  absl::string_view scheme;
  if (absl::ConsumePrefix(&rest, "https://")) {
    parsed.tls = true;
    parsed.port = 443;
    scheme = "https";
  } else if (absl::ConsumePrefix(&rest, "http://")) {
    parsed.port = 80;
    scheme = "http";
  } else {
    return absl::InvalidArgumentError("unsupported protocol scheme");
  }
  rest = rest.substr(0, rest.find('#'));
  const size_t authority_end = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, authority_end);
  const absl::string_view path_and_query =
      authority_end == absl::string_view::npos ? absl::string_view() : rest.substr(authority_end);
  // "" and "?q" have an empty path, sent as "/".
  parsed.target = absl::StrCat(absl::StartsWith(path_and_query, "/") ? "" : "/", path_and_query);

  if (const size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    absl::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    absl::StatusOr<std::string> user = Unescape(userinfo.substr(0, colon));
    if (!user.ok()) return user.status();
    absl::StatusOr<std::string> password = Unescape(
        colon == absl::string_view::npos ? absl::string_view() : userinfo.substr(colon + 1));
    if (!password.ok()) return password.status();
    parsed.has_user = true;
    parsed.user = *std::move(user);
    parsed.password = *std::move(password);
  }

  absl::string_view host = authority;
  absl::string_view port;
  if (absl::ConsumePrefix(&host, "[")) {
    const size_t close = host.find(']');
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("missing ']' in host");
    port = host.substr(close + 1);
    host = host.substr(0, close);
    if (!port.empty() && !absl::ConsumePrefix(&port, ":")) {
      return absl::InvalidArgumentError("invalid port after host");
    }
  } else if (const size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) return absl::InvalidArgumentError("no host in URL");
  parsed.host = std::string(host);
  if (!port.empty()) {
    for (char c : port) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        return absl::InvalidArgumentError("invalid port");
      }
    }
    if (!absl::SimpleAtoi(port, &parsed.port) || parsed.port < 1 || parsed.port > 65535) {
      return absl::InvalidArgumentError("invalid port");
    }
  }
  const bool ipv6 = absl::StrContains(parsed.host, ':');
  parsed.origin =
      absl::StrCat(scheme, "://", ipv6 ? "[" : "", parsed.host, ipv6 ? "]" : "", ":", parsed.port);
  return parsed;
}

// What one POST came to.
struct Attempt {
  int status_code = 0;  // set when a response arrived
  absl::Status error;   // the transport error otherwise
  bool retryable = false;
};

Attempt Post(const CallbackUrl& url, const std::string& body,
             const TaskCallbackPool::Options& options) {
  std::unique_ptr<httplib::ClientImpl> client;
  if (url.tls) {
    auto ssl = std::make_unique<httplib::SSLClient>(url.host, url.port);
    if (!options.ca_file.empty()) ssl->set_ca_cert_path(options.ca_file);
    ssl->enable_server_certificate_verification(true);
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
  }
  const auto timeout = absl::ToChronoMicroseconds(options.request_timeout);
  client->set_connection_timeout(timeout);
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  client->set_tcp_nodelay(true);
  client->set_keep_alive(false);
  client->set_url_encode(false);  // The URL's path is sent as written.
  if (url.has_user) client->set_basic_auth(url.user, url.password);

  Attempt attempt;
  httplib::Result result = [&]() -> httplib::Result {
    try {
      return client->Post(url.target, httplib::Headers(), body, "application/json");
    } catch (const std::exception&) {
      return httplib::Result(nullptr, httplib::Error::Unknown);
    }
  }();
  if (result) {
    attempt.status_code = result->status;
    return attempt;
  }
  const httplib::Error error = result.error();
  // Diego retries only "Client.Timeout" and "use of closed network
  // connection": here a connect timeout, or the connection failing while the
  // request was written or the response awaited (a read timeout included).
  attempt.retryable = error == httplib::Error::ConnectionTimeout || error == httplib::Error::Read ||
                      error == httplib::Error::Write;
  attempt.error = absl::UnavailableError(
      absl::StrCat("POST ", url.origin, ": ", httplib::to_string(error), " error"));
  return attempt;
}

}  // namespace

struct TaskCallbackPool::State {
  State(TaskStore* tasks, Logger logger, Options options)
      : tasks(tasks), logger(std::move(logger)), options(std::move(options)) {}

  // Runs on a worker: takes tasks until the queue is empty, then exits.
  void Work(uint64_t id);
  // One callback; updates the metrics' delivered / failed.
  void Handle(const model::v1::Task& task);
  // Moves the exited workers out for joining (outside the lock).
  std::vector<std::thread> TakeFinished() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return std::exchange(finished, {});
  }

  TaskStore* const tasks;
  const Logger logger;
  const Options options;

  mutable absl::Mutex mu;
  std::deque<model::v1::Task> queue ABSL_GUARDED_BY(mu);
  std::map<uint64_t, std::thread> workers ABSL_GUARDED_BY(mu);
  std::vector<std::thread> finished ABSL_GUARDED_BY(mu);
  uint64_t next_worker ABSL_GUARDED_BY(mu) = 0;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  TaskCallbackMetrics metrics ABSL_GUARDED_BY(mu);
};

void TaskCallbackPool::State::Work(uint64_t id) {
  for (;;) {
    model::v1::Task task;
    {
      absl::MutexLock lock(&mu);
      if (queue.empty() || stopping) {
        // Exit; whoever next takes the lock joins this thread.
        auto self = workers.find(id);
        finished.push_back(std::move(self->second));
        workers.erase(self);
        return;
      }
      task = std::move(queue.front());
      queue.pop_front();
      --metrics.queued;
      ++metrics.running;
    }
    Handle(task);
    absl::MutexLock lock(&mu);
    --metrics.running;
  }
}

void TaskCallbackPool::State::Handle(const model::v1::Task& task) {
  Logger log = logger.Session("handle-completed-task", {{"task_guid", task.task_guid()}});
  auto finish = [&](bool delivered) {
    absl::MutexLock lock(&mu);
    ++(delivered ? metrics.delivered : metrics.failed);
  };

  absl::StatusOr<TaskChange> resolving = tasks->ResolvingTask(task.task_guid());
  if (!resolving.ok()) {
    // Someone else resolves it (or it is gone): not this worker's callback.
    log.Error("marking-task-as-resolving-failed", resolving.status());
    return;
  }

  model::v1::TaskCallbackResponse response;
  response.set_task_guid(task.task_guid());
  response.set_failed(task.failed());
  response.set_failure_reason(task.failure_reason());
  response.set_result(task.result());
  response.set_annotation(task.task_definition().annotation());
  response.set_created_at(task.created_at());
  absl::StatusOr<std::string> body = model::ToGoJson(response);
  if (!body.ok()) {
    log.Error("marshalling-task-failed", body.status());
    finish(false);
    return;
  }
  absl::StatusOr<CallbackUrl> url =
      ParseCallbackUrl(task.task_definition().completion_callback_url());
  if (!url.ok()) {
    log.Error("building-request-failed", url.status());
    finish(false);
    return;
  }
  log = log.WithData({{"callback_url", url->origin}});

  int status_code = 0;
  for (int i = 0; i < options.max_attempts; ++i) {
    Attempt attempt = Post(*url, *body, options);
    if (!attempt.error.ok()) {
      if (attempt.retryable) {
        log.Info("retrying-callback", {{"attempt", i + 1}, {"error", attempt.error}});
        continue;
      }
      log.Error("doing-request-failed", attempt.error);
      finish(false);
      return;
    }
    status_code = attempt.status_code;
    if (status_code == kServiceUnavailable || status_code == kGatewayTimeout) continue;
    // Any other answer resolves the task, 4xx included (Diego).
    absl::StatusOr<model::v1::Task> deleted = tasks->DeleteTask(task.task_guid());
    if (!deleted.ok()) {
      log.Error("delete-task-failed", deleted.status(), {{"status_code", status_code}});
      finish(false);
      return;
    }
    log.Info("resolved-task", {{"status_code", status_code}});
    finish(true);
    return;
  }
  // The task stays Resolving; convergence demotes it and resubmits.
  log.Info("callback-failed", {{"status_code", status_code}});
  finish(false);
}

TaskCallbackPool::TaskCallbackPool(TaskStore* tasks, Logger logger, Options options)
    : state_(new State(tasks, logger.Session("task-completion-workpool"), std::move(options))) {}

TaskCallbackPool::~TaskCallbackPool() {
  std::vector<std::thread> finished;
  {
    absl::MutexLock lock(&state_->mu);
    state_->stopping = true;
    state_->metrics.queued -= static_cast<int64_t>(state_->queue.size());
    state_->queue.clear();
    state_->mu.Await(absl::Condition(
        +[](std::map<uint64_t, std::thread>* workers) { return workers->empty(); },
        &state_->workers));
    finished = state_->TakeFinished();
  }
  for (std::thread& thread : finished) thread.join();
  delete state_;
}

void TaskCallbackPool::TaskCompleted(const model::v1::Task& task) {
  if (task.task_definition().completion_callback_url().empty()) return;
  std::vector<std::thread> finished;
  {
    absl::MutexLock lock(&state_->mu);
    finished = state_->TakeFinished();
    if (state_->stopping) return;
    state_->queue.push_back(task);
    ++state_->metrics.submitted;
    ++state_->metrics.queued;
    const int max_workers = std::max(state_->options.workers, 1);
    if (static_cast<int>(state_->workers.size()) < max_workers) {
      const uint64_t id = state_->next_worker++;
      State* state = state_;
      state_->workers.emplace(id, std::thread([state, id] { state->Work(id); }));
    }
  }
  for (std::thread& thread : finished) thread.join();
}

void TaskCallbackPool::WaitIdle() {
  absl::MutexLock lock(&state_->mu);
  state_->mu.Await(absl::Condition(
      +[](TaskCallbackMetrics* m) { return m->queued == 0 && m->running == 0; }, &state_->metrics));
}

TaskCallbackMetrics TaskCallbackPool::metrics() const {
  absl::MutexLock lock(&state_->mu);
  return state_->metrics;
}

}  // namespace diego::bbs
