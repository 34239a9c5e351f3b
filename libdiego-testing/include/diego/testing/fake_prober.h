// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: fake_prober.h
// -----------------------------------------------------------------------------
//
// `fakes::FakeProber`: a scripted `healthcheck::Prober`. Each Probe() pops the
// next scripted result (or repeats the default once the script is empty),
// records the timeout it was given and, when `clock` is set, the time of the
// call. Probes can also be made to take time on the clock (`probe_duration`)
// so loops measured in elapsed time can be driven by a FakeClock.
//
// Thread-safe.

#ifndef DIEGO_TESTING_FAKE_PROBER_H_
#define DIEGO_TESTING_FAKE_PROBER_H_

#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"
#include "diego/healthcheck/prober.h"

namespace diego::fakes {

class FakeProber final : public healthcheck::Prober {
 public:
  // `clock` (not owned, may be null) stamps calls.
  explicit FakeProber(Clock* clock = nullptr) : clock_(clock) {}

  // Appends results returned by the next calls, in order.
  void Push(const healthcheck::ProbeResult& result) {
    absl::MutexLock lock(&mu_);
    script_.push_back(result);
  }
  void PushN(const healthcheck::ProbeResult& result, int n) {
    for (int i = 0; i < n; ++i) Push(result);
  }
  // Returned once the script is exhausted (default: pass).
  void SetDefault(const healthcheck::ProbeResult& result) {
    absl::MutexLock lock(&mu_);
    default_ = result;
  }

  healthcheck::ProbeResult Probe(absl::Duration timeout) override {
    absl::MutexLock lock(&mu_);
    timeouts_.push_back(timeout);
    if (clock_ != nullptr) times_.push_back(clock_->Now());
    if (script_.empty()) return default_;
    healthcheck::ProbeResult r = script_.front();
    script_.pop_front();
    return r;
  }

  int calls() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(timeouts_.size());
  }
  std::vector<absl::Duration> timeouts() const {
    absl::MutexLock lock(&mu_);
    return timeouts_;
  }
  std::vector<absl::Time> call_times() const {
    absl::MutexLock lock(&mu_);
    return times_;
  }

 private:
  Clock* const clock_;
  mutable absl::Mutex mu_;
  std::deque<healthcheck::ProbeResult> script_ ABSL_GUARDED_BY(mu_);
  healthcheck::ProbeResult default_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> timeouts_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> times_ ABSL_GUARDED_BY(mu_);
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_FAKE_PROBER_H_
