// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: task_callbacks.h
// -----------------------------------------------------------------------------
//
// `TaskCallbackPool`: the BBS's task completion callbacks (diego-spec.md 1.3),
// a `TaskCompletionHandler` (service.h) fed by the service (every Completed
// transition of a task with a completion_callback_url) and by the converger
// (callbacks to retry).
//
// For each submitted task, on a worker:
//   1. `TaskStore::ResolvingTask` (Completed -> Resolving). If that fails
//      (another worker or a client got there first, or it is gone), stop.
//   2. POST the task's `TaskCallbackResponse` as Go JSON
//      (`{"task_guid","failed","failure_reason","result","annotation",
//      "created_at"}`), `Content-Type: application/json`, to
//      completion_callback_url, with timeout `request_timeout` (Diego's
//      communication_timeout).
//   3. Up to `max_attempts` (3) attempts, but only a client timeout or a
//      connection closed under the request leads to another attempt at once;
//      a 503 or 504 response also leads to the next attempt. Any other HTTP
//      response -> `TaskStore::DeleteTask` (TaskRemoved). Any other transport
//      error, or attempts used up -> give up (the task stays Resolving;
//      convergence demotes it after kick_task_duration and resubmits).
//   http:// and https:// URLs are accepted (https verifies with the system
//   CA store, or `ca_file`); a URL that does not parse gives up at once. URLs
//   are never logged in full (they may carry credentials): logs name the
//   task guid and the URL's scheme://host:port only.
//
// Workers: at most `workers` callbacks run at once (Diego's
// task_callback_workers, 1000); threads are created on demand up to that
// number and exit when idle; further tasks queue (unbounded, in order).
//
// Thread-safety: thread-safe. The destructor waits for running callbacks
// (each bounded by max_attempts * request_timeout) and drops queued ones.

#ifndef DIEGO_BBS_TASK_CALLBACKS_H_
#define DIEGO_BBS_TASK_CALLBACKS_H_

#include <cstdint>
#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/base/logger.h"
#include "diego/bbs/service.h"
#include "diego/bbs/store.h"

namespace diego::bbs {

struct TaskCallbackMetrics {
  int64_t submitted = 0;
  int64_t delivered = 0;  // a response other than 503/504; task deleted
  int64_t failed = 0;     // gave up
  int64_t queued = 0;     // waiting for a worker now
  int64_t running = 0;    // on a worker now
};

class TaskCallbackPool final : public TaskCompletionHandler {
 public:
  struct Options {
    int workers = 1000;                                 // task_callback_workers
    absl::Duration request_timeout = absl::Seconds(10);  // communication_timeout
    int max_attempts = 3;
    std::string ca_file;  // for https callback URLs; empty = system store
  };

  // `tasks` must outlive the pool.
  TaskCallbackPool(TaskStore* tasks, Logger logger, Options options);
  TaskCallbackPool(TaskStore* tasks, Logger logger)
      : TaskCallbackPool(tasks, std::move(logger), Options()) {}
  ~TaskCallbackPool() override;

  TaskCallbackPool(const TaskCallbackPool&) = delete;
  TaskCallbackPool& operator=(const TaskCallbackPool&) = delete;

  // TaskCompletionHandler: queues `task` (ignored without a callback URL, or
  // while a task with the same guid is queued or on a worker: convergence
  // resubmits due tasks every pass).
  void TaskCompleted(const model::v1::Task& task) override;

  // Blocks until nothing is queued or running (for tests and shutdown).
  void WaitIdle();

  TaskCallbackMetrics metrics() const;

 private:
  struct State;
  State* state_;  // owned; shared with worker threads until they exit
};

}  // namespace diego::bbs

#endif  // DIEGO_BBS_TASK_CALLBACKS_H_
