// Copyright 2026 The libdiego Authors.

#include "diego/bbs/metrics.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "diego/bbs/events.h"
#include "diego/bbs/store.h"

namespace diego::bbs {
namespace {

constexpr absl::string_view kRequestCount = "RequestCount";
constexpr absl::string_view kRequestCountHelp =
    "BBS API requests served, per route name (Diego's RequestCount).";
constexpr absl::string_view kRequestLatency = "RequestLatency";
constexpr absl::string_view kRequestLatencyHelp =
    "Latency of BBS API requests (event streams excluded), in seconds.";

// Integral values print without a fraction; others with full precision.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::floor(v) == v && std::fabs(v) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string FormatBound(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

std::string EscapeLabelValue(absl::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatLabels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    absl::StrAppend(&out, k, "=\"", EscapeLabelValue(v), "\"");
  }
  out += '}';
  return out;
}

absl::string_view TypeName(MetricType type) {
  return type == MetricType::kCounter ? "counter" : "gauge";
}

}  // namespace

void Metrics::AddCounter(absl::string_view name, absl::string_view help, const MetricLabels& labels,
                         double delta) {
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.help = std::string(help);
    it->second.type = MetricType::kCounter;
  }
  it->second.values[labels] += delta;
}

void Metrics::SetGauge(absl::string_view name, absl::string_view help, const MetricLabels& labels,
                       double value) {
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.help = std::string(help);
    it->second.type = MetricType::kGauge;
  }
  it->second.values[labels] = value;
}

void Metrics::RecordRequest(absl::string_view route, absl::Duration latency, bool observe_latency) {
  AddCounter(kRequestCount, kRequestCountHelp, {{"route", std::string(route)}}, 1);
  if (!observe_latency) return;
  const double seconds = absl::ToDoubleSeconds(latency);
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < std::size(kLatencyBuckets); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++latency_buckets_[i];
  }
  ++latency_count_;
  latency_sum_ += seconds;
}

void Metrics::AddCollector(Collector collector) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

double Metrics::Value(absl::string_view name, const MetricLabels& labels) const {
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto v = it->second.values.find(labels);
  return v == it->second.values.end() ? 0 : v->second;
}

std::string Metrics::RenderPrometheusText() const {
  std::vector<Collector> collectors;
  {
    absl::MutexLock lock(&mu_);
    collectors = collectors_;
  }
  std::vector<MetricSample> samples;
  for (const Collector& c : collectors) {
    std::vector<MetricSample> more = c();
    for (MetricSample& s : more) samples.push_back(std::move(s));
  }

  std::map<std::string, Family, std::less<>> families;
  uint64_t buckets[std::size(kLatencyBuckets)];
  uint64_t count;
  double sum;
  {
    absl::MutexLock lock(&mu_);
    families = families_;
    std::copy(std::begin(latency_buckets_), std::end(latency_buckets_), buckets);
    count = latency_count_;
    sum = latency_sum_;
  }
  for (MetricSample& s : samples) {
    auto it = families.find(s.name);
    if (it == families.end()) {
      it = families.emplace(s.name, Family{}).first;
      it->second.help = s.help;
      it->second.type = s.type;
    }
    it->second.values[s.labels] = s.value;
  }

  std::string out;
  bool latency_written = false;
  auto write_latency = [&]() {
    absl::StrAppend(&out, "# HELP ", kRequestLatency, " ", EscapeHelp(kRequestLatencyHelp), "\n");
    absl::StrAppend(&out, "# TYPE ", kRequestLatency, " histogram\n");
    for (size_t i = 0; i < std::size(kLatencyBuckets); ++i) {
      absl::StrAppend(&out, kRequestLatency, "_bucket{le=\"", FormatBound(kLatencyBuckets[i]),
                      "\"} ", buckets[i], "\n");
    }
    absl::StrAppend(&out, kRequestLatency, "_bucket{le=\"+Inf\"} ", count, "\n");
    absl::StrAppend(&out, kRequestLatency, "_sum ", FormatValue(sum), "\n");
    absl::StrAppend(&out, kRequestLatency, "_count ", count, "\n");
    latency_written = true;
  };
  for (const auto& [name, family] : families) {
    if (!latency_written && name > kRequestLatency) write_latency();
    absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(family.help), "\n");
    absl::StrAppend(&out, "# TYPE ", name, " ", TypeName(family.type), "\n");
    for (const auto& [labels, value] : family.values) {
      absl::StrAppend(&out, name, FormatLabels(labels), " ", FormatValue(value), "\n");
    }
  }
  if (!latency_written) write_latency();
  return out;
}

void AddBbsStoreCollector(Metrics& metrics, BbsStore* store, EventHub* hub) {
  Metrics* m = &metrics;
  metrics.AddCollector([m, store, hub]() {
    std::vector<MetricSample> out;
    auto gauge = [&](absl::string_view name, absl::string_view help, double value,
                     MetricLabels labels = {}) {
      out.push_back(MetricSample{std::string(name), std::string(help), MetricType::kGauge,
                                 std::move(labels), value});
    };
    if (store != nullptr) {
      bool failed = false;
      absl::StatusOr<StoreCounts> counts = store->Counts();
      if (counts.ok()) {
        gauge("LRPsDesired", "Desired LRP instances (sum of instances of every DesiredLRP).",
              static_cast<double>(counts->lrps_desired));
        gauge("DesiredLRPs", "DesiredLRPs.", static_cast<double>(counts->desired_lrps));
        gauge("LRPsUnclaimed", "ORDINARY ActualLRPs in state UNCLAIMED.",
              static_cast<double>(counts->lrps_unclaimed));
        gauge("LRPsClaimed", "ORDINARY ActualLRPs in state CLAIMED.",
              static_cast<double>(counts->lrps_claimed));
        gauge("LRPsRunning", "ORDINARY ActualLRPs in state RUNNING.",
              static_cast<double>(counts->lrps_running));
        gauge("CrashedActualLRPs", "ORDINARY ActualLRPs in state CRASHED.",
              static_cast<double>(counts->crashed_actual_lrps));
        gauge("LRPsEvacuating", "EVACUATING ActualLRPs.",
              static_cast<double>(counts->lrps_evacuating));
        gauge("SuspectActualLRPs", "SUSPECT ActualLRPs (running or claimed).",
              static_cast<double>(counts->suspect_lrps));
        gauge("TasksPending", "Tasks in state Pending.",
              static_cast<double>(counts->tasks_pending));
        gauge("TasksRunning", "Tasks in state Running.",
              static_cast<double>(counts->tasks_running));
        gauge("TasksCompleted", "Tasks in state Completed.",
              static_cast<double>(counts->tasks_completed));
        gauge("TasksResolving", "Tasks in state Resolving.",
              static_cast<double>(counts->tasks_resolving));
      } else {
        failed = true;
      }
      absl::StatusOr<std::vector<std::string>> domains = store->FreshDomains();
      if (domains.ok()) {
        for (const std::string& d : *domains) {
          gauge("Domain", "1 for each fresh domain (Diego's Domain.<name>).", 1, {{"domain", d}});
        }
      } else {
        failed = true;
      }
      absl::StatusOr<std::vector<model::v1::CellPresence>> cells = store->Cells();
      if (cells.ok()) {
        gauge("PresentCells", "Cells with a presence.", static_cast<double>(cells->size()));
      } else {
        failed = true;
      }
      // Registered (at 0) on the first scrape so the family is always present.
      m->AddCounter("MetricsCollectionErrors", "Scrapes in which the BBS store could not be read.",
                    {}, failed ? 1 : 0);
    }
    if (hub != nullptr) {
      gauge("EventSubscribers", "Open event-stream subscriptions.",
            static_cast<double>(hub->subscriber_count()));
    }
    return out;
  });
}

}  // namespace diego::bbs
