// Copyright 2026 The libdiego Authors.
//
// `fakes::RecordingEventSink`: a `bbs::EventSink` that keeps every published
// event, for tests of code that publishes BBS events (the store, the service).
//
//   fakes::RecordingEventSink sink;
//   SqlStore store(db, &sink, &clock);
//   ...
//   std::vector<bbs::BbsEvent> events = sink.Take();  // and forget them
//   EXPECT_EQ(sink.batches(), 0);
//
// Thread-safe.

#ifndef DIEGO_TESTING_RECORDING_EVENT_SINK_H_
#define DIEGO_TESTING_RECORDING_EVENT_SINK_H_

#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "diego/bbs/events.h"

namespace diego::fakes {

class RecordingEventSink final : public bbs::EventSink {
 public:
  // Appends `events` (one batch = one committed change set).
  void Publish(std::vector<bbs::BbsEvent> events) override {
    absl::MutexLock lock(&mu_);
    ++batches_;
    for (bbs::BbsEvent& event : events) events_.push_back(std::move(event));
  }

  // Every event recorded since the last `Take()`, in publish order, and
  // forgets them (the batch count restarts at 0).
  std::vector<bbs::BbsEvent> Take() {
    absl::MutexLock lock(&mu_);
    batches_ = 0;
    return std::exchange(events_, {});
  }

  // A copy of the events recorded since the last `Take()`.
  std::vector<bbs::BbsEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

  // Number of `Publish` calls since the last `Take()`.
  int batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

 private:
  absl::Mutex mu_;
  int batches_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<bbs::BbsEvent> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_RECORDING_EVENT_SINK_H_
