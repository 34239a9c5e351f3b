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

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/model/go_json.h"
#include "diego/model/v1/task_requests.pb.h"
#include "diego/base/internal/http_url.h"

namespace diego::bbs {
namespace {

constexpr int kServiceUnavailable = 503;
constexpr int kGatewayTimeout = 504;

// What one POST came to.
struct Attempt {
  int status_code = 0;  // set when a response arrived
  absl::Status error;   // the transport error otherwise
  bool retryable = false;
};

// Error messages and logs carry only `url`'s origin: its path, query and user
// info may carry secrets.
Attempt Post(const base_internal::HttpUrl& url, const std::string& body,
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
      return client->Post(url.Target(), httplib::Headers(), body, "application/json");
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
      absl::StrCat("POST ", url.Origin(), ": ", httplib::to_string(error), " error"));
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
  // Guids queued or on a worker: convergence resubmits every due Completed
  // task each pass, so a task already in hand is not queued twice.
  absl::flat_hash_set<std::string> in_hand ABSL_GUARDED_BY(mu);
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
    in_hand.erase(task.task_guid());
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
  absl::StatusOr<base_internal::HttpUrl> url =
      base_internal::ParseHttpUrl(task.task_definition().completion_callback_url());
  if (!url.ok()) {
    log.Error("building-request-failed", url.status());
    finish(false);
    return;
  }
  log = log.WithData({{"callback_url", url->Origin()}});

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
    const int64_t dropped = static_cast<int64_t>(state_->queue.size());
    state_->metrics.queued -= dropped;
    state_->queue.clear();
    state_->in_hand.clear();
    // Logged once the queue is dropped: from here on no worker picks up more.
    state_->logger.Info("stopping", {{"dropped", dropped}});
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
    if (!state_->in_hand.insert(task.task_guid()).second) return;  // Already in hand.
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
