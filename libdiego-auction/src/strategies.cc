// Copyright 2026 The libdiego Authors.
//
// The placement strategies: Diego's rule (auction auctionrunner/scheduler.go
// `scheduleLRPAuction` / `scheduleTaskAuction`), best-fit bin packing and
// power of two choices.

#include "diego/auction/strategies.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/random/bit_gen_ref.h"
#include "absl/random/distributions.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace diego::auction {
namespace {

// Zones with the instance count they hold of the item's app, sorted by that
// count (stable, so equal counts keep the order of first appearance).
struct ZoneCount {
  int32_t instances;
  int32_t zone;
};
using ZoneOrder = absl::InlinedVector<ZoneCount, 8>;

ZoneOrder ZonesByInstances(const PlacementContext& context) {
  ZoneOrder order;
  const int32_t zones = context.zone_count();
  order.reserve(zones);
  for (int32_t zone = 0; zone < zones; ++zone) {
    order.push_back({context.ZoneInstances(zone), zone});
  }
  // Insertion sort: stable, allocation-free, and zones are few.
  for (size_t i = 1; i < order.size(); ++i) {
    const ZoneCount moving = order[i];
    size_t j = i;
    for (; j > 0 && moving.instances < order[j - 1].instances; --j) {
      order[j] = order[j - 1];
    }
    order[j] = moving;
  }
  return order;
}

// Calls `fn(begin, end)` for each run of equal instance counts in `order`, in
// order, until `fn` returns true.
template <typename Fn>
void ForEachTieGroup(const ZoneOrder& order, Fn fn) {
  size_t begin = 0;
  while (begin < order.size()) {
    size_t end = begin + 1;
    while (end < order.size() && order[end].instances == order[begin].instances) {
      ++end;
    }
    if (fn(begin, end)) {
      return;
    }
    begin = end;
  }
}

bool Eligible(const CandidateCell& candidate) { return candidate.score < kDiegoInitialBestScore; }

class DiegoStrategy final : public PlacementStrategy {
 public:
  absl::string_view name() const override { return kDiegoStrategyName; }

  std::optional<int32_t> ChooseCell(const PlacementContext& context) const override {
    // Tasks report 0 instances in every zone, so they form a single tie group
    // and every zone is compared, as in `scheduleTaskAuction`.
    const ZoneOrder order = ZonesByInstances(context);
    double best_score = kDiegoInitialBestScore;
    std::optional<int32_t> winner;
    ForEachTieGroup(order, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        std::optional<CandidateCell> best = context.LowestScoreCandidate(order[i].zone);
        // Strictly lower: an earlier zone keeps a tie, as in Diego's scan.
        if (best.has_value() && best->score < best_score) {
          best_score = best->score;
          winner = best->cell;
        }
      }
      return winner.has_value();
    });
    return winner;
  }
};

class BestFitStrategy final : public PlacementStrategy {
 public:
  absl::string_view name() const override { return kBestFitStrategyName; }

  std::optional<int32_t> ChooseCell(const PlacementContext& context) const override {
    std::optional<CandidateCell> best;
    for (int32_t zone = 0; zone < context.zone_count(); ++zone) {
      context.ForEachCandidate(zone, [&](const CandidateCell& candidate) {
        if (!Eligible(candidate)) {
          return;
        }
        if (!best.has_value() || candidate.remaining.memory_mb < best->remaining.memory_mb ||
            (candidate.remaining.memory_mb == best->remaining.memory_mb &&
             candidate.score < best->score)) {
          best = candidate;
        }
      });
    }
    if (!best.has_value()) {
      return std::nullopt;
    }
    return best->cell;
  }
};

// A SplitMix64 generator: tiny state, cheap to seed per item.
class SplitMix64 {
 public:
  using result_type = uint64_t;
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  result_type operator()() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// 64-bit FNV-1a: stable across processes, unlike absl::Hash.
uint64_t Fnv1a(absl::string_view text, uint64_t hash = 0xcbf29ce484222325ULL) {
  for (unsigned char c : text) {
    hash = (hash ^ c) * 0x100000001b3ULL;
  }
  return hash;
}

uint64_t ItemHash(const PlacementContext& context) {
  if (context.lrp() != nullptr) {
    const Lrp& lrp = *context.lrp();
    return Fnv1a(absl::StrCat(".", lrp.index), Fnv1a(lrp.process_guid));
  }
  return Fnv1a(context.task()->task_guid);
}

class PowerOfTwoStrategy final : public PlacementStrategy {
 public:
  explicit PowerOfTwoStrategy(uint64_t seed) : seed_(seed) {}

  absl::string_view name() const override { return kPowerOfTwoStrategyName; }

  std::optional<int32_t> ChooseCell(const PlacementContext& context) const override {
    std::vector<CandidateCell> pool;
    const ZoneOrder order = ZonesByInstances(context);
    ForEachTieGroup(order, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        context.ForEachCandidate(order[i].zone, [&](const CandidateCell& candidate) {
          if (Eligible(candidate)) {
            pool.push_back(candidate);
          }
        });
      }
      return !pool.empty();
    });
    if (pool.empty()) {
      return std::nullopt;
    }
    SplitMix64 engine(seed_ ^ ItemHash(context));
    absl::BitGenRef gen(engine);
    const CandidateCell& a = pool[absl::Uniform<size_t>(gen, 0, pool.size())];
    const CandidateCell& b = pool[absl::Uniform<size_t>(gen, 0, pool.size())];
    const CandidateCell& first = a.position <= b.position ? a : b;
    const CandidateCell& second = a.position <= b.position ? b : a;
    return second.score < first.score ? second.cell : first.cell;
  }

 private:
  uint64_t seed_;
};

}  // namespace

std::unique_ptr<PlacementStrategy> NewDiegoStrategy() { return std::make_unique<DiegoStrategy>(); }

std::unique_ptr<PlacementStrategy> NewBestFitStrategy() {
  return std::make_unique<BestFitStrategy>();
}

std::unique_ptr<PlacementStrategy> NewPowerOfTwoStrategy(uint64_t seed) {
  return std::make_unique<PowerOfTwoStrategy>(seed);
}

std::vector<std::string> PlacementStrategyNames() {
  return {std::string(kDiegoStrategyName), std::string(kBestFitStrategyName),
          std::string(kPowerOfTwoStrategyName)};
}

absl::StatusOr<std::unique_ptr<PlacementStrategy>> NewPlacementStrategy(absl::string_view name) {
  if (name == kDiegoStrategyName) {
    return NewDiegoStrategy();
  }
  if (name == kBestFitStrategyName) {
    return NewBestFitStrategy();
  }
  if (name == kPowerOfTwoStrategyName) {
    return NewPowerOfTwoStrategy();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown placement strategy \"", name,
                   "\"; valid strategies: ", absl::StrJoin(PlacementStrategyNames(), ", ")));
}

}  // namespace diego::auction
