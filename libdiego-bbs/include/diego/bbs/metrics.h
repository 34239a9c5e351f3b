// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: metrics.h
// -----------------------------------------------------------------------------
//
// A small thread-safe metrics registry rendered in the Prometheus text format
// (version 0.0.4), and the BBS's metrics under Diego's names
// (cloudfoundry/bbs `metrics/*_metron_notifier.go`). Served by `BbsServer` at
// `GET /metrics` on the health listener.
//
// BBS metrics (names are Diego's; Prometheus allows them as they are):
//
//   RequestCount{route="<route name>"}   counter: API requests served, per
//                                        routes.h name (Diego emits the total
//                                        and, optionally, per-route counts;
//                                        sum over `route` for the total).
//   RequestLatency_bucket/_sum/_count    histogram, seconds, of every
//                                        non-stream request (Diego sends the
//                                        maximum latency per interval; a
//                                        histogram keeps that information
//                                        without resetting on scrape).
//   LRPsDesired, LRPsUnclaimed, LRPsClaimed, LRPsRunning, CrashedActualLRPs,
//   TasksPending, TasksRunning, TasksCompleted, TasksResolving
//                                        gauges, from `BbsStore::Counts()` at
//                                        scrape time (ORDINARY rows).
//   SuspectActualLRPs                    gauge: SUSPECT rows (Diego splits it
//                                        into SuspectRunning/SuspectClaimed;
//                                        the store counts them together).
//   LRPsEvacuating, DesiredLRPs          gauges (not in Diego).
//   PresentCells                         gauge: cell presences.
//   Domain{domain="<name>"} 1            one per fresh domain (Diego's
//                                        `Domain.<name>`; '.' is not allowed
//                                        in Prometheus names).
//   EventSubscribers                     gauge: current event subscribers.
//   MetricsCollectionErrors              counter: scrapes where the store
//                                        could not be read (those gauges are
//                                        then left out of that scrape).
//
// LRPsMissing/LRPsExtra/CrashingDesiredLRPs and ConvergenceLRP* are
// convergence's metrics (issue 7), not the server's.
//
// Thread-safety: all methods are thread-safe.

#ifndef DIEGO_BBS_METRICS_H_
#define DIEGO_BBS_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace diego::bbs {

class BbsStore;
class EventHub;

// Label name -> value, rendered in name order.
using MetricLabels = std::map<std::string, std::string>;

enum class MetricType { kCounter, kGauge };

// One sample produced by a collector at scrape time.
struct MetricSample {
  std::string name;  // [a-zA-Z_:][a-zA-Z0-9_:]*
  std::string help;
  MetricType type = MetricType::kGauge;
  MetricLabels labels;
  double value = 0;
};

class Metrics {
 public:
  // Upper bounds (seconds) of the RequestLatency histogram buckets; +Inf is
  // implied.
  static constexpr double kLatencyBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1,     2.5,  5,     10};

  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Adds `delta` (>= 0) to counter `name`{labels}. `help` is kept from the
  // first call for a name.
  void AddCounter(absl::string_view name, absl::string_view help, const MetricLabels& labels,
                  double delta = 1);
  // Sets gauge `name`{labels}.
  void SetGauge(absl::string_view name, absl::string_view help, const MetricLabels& labels,
                double value);

  // One served API request: RequestCount{route} += 1 and, when
  // `observe_latency`, `latency` into the RequestLatency histogram (event
  // streams are counted but not timed).
  void RecordRequest(absl::string_view route, absl::Duration latency, bool observe_latency = true);

  // Runs at every render and contributes samples computed then. Collectors
  // run without the registry's lock held, in registration order.
  using Collector = std::function<std::vector<MetricSample>()>;
  void AddCollector(Collector collector);

  // The current value of a counter or gauge recorded with AddCounter,
  // SetGauge or RecordRequest (collector samples are not stored); 0 when
  // absent.
  double Value(absl::string_view name, const MetricLabels& labels = {}) const;

  // Prometheus text format: every metric family (# HELP, # TYPE, samples),
  // families in name order, label values escaped. Runs the collectors.
  std::string RenderPrometheusText() const;

 private:
  struct Family {
    std::string help;
    MetricType type = MetricType::kGauge;
    std::map<MetricLabels, double> values;
  };

  mutable absl::Mutex mu_;
  std::map<std::string, Family, std::less<>> families_ ABSL_GUARDED_BY(mu_);
  uint64_t latency_buckets_[sizeof(kLatencyBuckets) / sizeof(double)] ABSL_GUARDED_BY(mu_) = {};
  uint64_t latency_count_ ABSL_GUARDED_BY(mu_) = 0;
  double latency_sum_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Collector> collectors_ ABSL_GUARDED_BY(mu_);
};

// Registers the scrape-time BBS gauges listed in the file comment, read from
// `store` (Counts(), FreshDomains(), Cells()) and `hub` (subscriber_count()).
// Either may be null (its gauges are left out). Both must outlive `metrics`'
// last render.
void AddBbsStoreCollector(Metrics& metrics, BbsStore* store, EventHub* hub);

}  // namespace diego::bbs

#endif  // DIEGO_BBS_METRICS_H_
