// Copyright 2026 The libdiego Authors.
//
// Diego's scheduler (auction auctionrunner/scheduler.go, cell.go,
// zone_builder.go, sortable_auctions.go; rep resources.go), with the choice
// of winner delegated to a PlacementStrategy.
//
// Diego rescans every cell (and every LRP on every cell) for each item. This
// implementation gives the same placements from precomputed state:
//   - cells are laid out in Diego's iteration order ("positions": zones in
//     order of first appearance, cells within a zone in input order or by
//     cell_index when the first-fit weight is on), so a zone is a range;
//   - hard-filter results are computed once per distinct placement
//     constraint; instance counts per app are kept per zone and per cell;
//   - for each request shape ("score class": LRP or task, constraint,
//     memory, disk) and zone, a min segment tree over the zone's positions
//     holds every candidate's score without the LRP locality term, so a
//     zone's lowest score is its root. An LRP's own cells (the only ones
//     with a locality term) are scored directly, and cut out of the range
//     when the root is one of them. Trees are brought up to date lazily from
//     a log of the positions each placement changed, and also count the
//     compatible cells without room, so Diego's `insufficient resources`
//     problem list costs nothing to produce.
// Scores are computed with exactly Diego's expressions and operation order,
// so the comparisons, and therefore the winners, are bit-for-bit the same
// (tests/reference_test.cc checks this against a plain rescan).
//
// Result lists keep the input order (Diego's order is map iteration for
// successes); `Work` lists each cell's items in placement order.

#include "diego/auction/scheduler.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "diego/auction/strategies.h"
#include "diego/auction/types.h"
#include "diego/base/check.h"
#include "diego/model/placement.h"
#include "diego/model/rootfs.h"

namespace diego::auction {
namespace {

// auctiontypes `ErrorCellCommunication` and `ErrorExceededInflightCreation`.
constexpr absl::string_view kCellCommunicationError = "unable to communicate to compatible cells";
constexpr absl::string_view kInflightLimitError =
    "waiting to start instance: reached in-flight start limit";

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr int32_t kNoPosition = std::numeric_limits<int32_t>::max();

// rep `InsufficientResourcesError.Error`: problem names sorted, ", "-joined.
std::string InsufficientResourcesMessage(bool containers, bool disk, bool memory) {
  std::string message = "insufficient resources";
  absl::string_view separator = ": ";
  for (auto [present, name] : {std::pair<bool, absl::string_view>{containers, "containers"},
                               {disk, "disk"},
                               {memory, "memory"}}) {
    if (present) {
      absl::StrAppend(&message, separator, name);
      separator = ", ";
    }
  }
  return message;
}

// The mutable per-cell state, indexed by position.
struct Slot {
  int64_t available_memory = 0;
  int64_t available_disk = 0;
  int64_t available_containers = 0;
  int64_t starting = 0;
  int64_t tasks = 0;
  int64_t proxy_memory = 0;
  Resources total;
  double index_term = 0.0;  // first_fit_index * bin_pack_first_fit_weight.
  int32_t first_fit_index = 0;
  int32_t cell = 0;
  int32_t zone = 0;
};

// rep `CellState.ComputeScore`: the resource fractions used after placing
// (memory, disk), plus the starting-container term, in Diego's order.
inline double ResourceScore(const Slot& slot, int64_t memory, int64_t disk, double weight) {
  const double memory_fraction = 1.0 - static_cast<double>(slot.available_memory - memory) /
                                           static_cast<double>(slot.total.memory_mb);
  const double disk_fraction = 1.0 - static_cast<double>(slot.available_disk - disk) /
                                         static_cast<double>(slot.total.disk_mb);
  const double containers_fraction = 1.0 - static_cast<double>(slot.available_containers - 1) /
                                               static_cast<double>(slot.total.containers);
  return (memory_fraction + disk_fraction + containers_fraction) / 3.0 +
         static_cast<double>(slot.starting) * weight;
}

// A distinct placement constraint and which positions pass its hard filters.
struct Constraint {
  PlacementConstraint constraint;
  std::vector<uint8_t> compatible;  // By position.
  int32_t compatible_count = 0;
  std::string filter_error;  // Set when compatible_count == 0.
};

struct ConstraintHash {
  size_t operator()(const PlacementConstraint& c) const {
    return absl::HashOf(c.root_fs, c.volume_drivers, c.placement_tags);
  }
};

// One request shape: everything the app-neutral score depends on.
struct ScoreClass {
  bool is_task = false;
  int32_t constraint = 0;
  int32_t memory = 0;
  int32_t disk = 0;
  bool nonnegative = true;  // memory >= 0 && disk >= 0.
  int32_t tree = -1;        // Index into `trees_`, or -1 when not built.
  size_t log_cursor = 0;    // Placements already applied to the tree.
};

struct ClassKey {
  bool is_task;
  int32_t constraint;
  int32_t memory;
  int32_t disk;
  friend bool operator==(const ClassKey&, const ClassKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const ClassKey& k) {
    return H::combine(std::move(h), k.is_task, k.constraint, k.memory, k.disk);
  }
};

// An LRP's instances per position (sorted positions with a non-zero count).
// Its per-zone counts live in `Auction::app_zone_instances_`.
struct App {
  std::vector<int32_t> positions;
  std::vector<int32_t> counts;
};

struct Node {
  double score;
  int32_t position;
};

// The lower score; the lower position on equal scores (Diego keeps the first
// minimum it meets). Symmetric, so tree nodes may combine in any order.
inline const Node& Lower(const Node& a, const Node& b) {
  return (b.score < a.score || (b.score == a.score && b.position < a.position)) ? b : a;
}

// `Lower` by value, without branches (tree updates compare unpredictably).
inline Node LowerOf(const Node& a, const Node& b) {
  const bool take_b = (b.score < a.score) | ((b.score == a.score) & (b.position < a.position));
  return {take_b ? b.score : a.score, take_b ? b.position : a.position};
}

// How a position stands for a score class: incompatible (0), a candidate
// (kCompatible alone), or compatible without room (kCompatible plus the
// missing resources).
enum Status : uint8_t {
  kCompatible = 1,
  kNoContainers = 2,
  kNoDisk = 4,
  kNoMemory = 8,
};

// "insufficient resources[: ...]" for each combination of problem bits.
const std::string& InsufficientResourcesMessage(uint8_t problems) {
  static const auto* const kMessages = [] {
    auto* messages = new std::vector<std::string>();
    for (uint8_t bits = 0; bits < 16; ++bits) {
      messages->push_back(InsufficientResourcesMessage(
          (bits & kNoContainers) != 0, (bits & kNoDisk) != 0, (bits & kNoMemory) != 0));
    }
    return messages;
  }();
  return (*kMessages)[problems & (kNoContainers | kNoDisk | kNoMemory)];
}

// The per-score-class index over positions.
struct Tree {
  int32_t score_class = -1;
  uint64_t last_use = 0;
  std::vector<Node> nodes;      // One bottom-up min segment tree per zone (ZoneNodes).
  std::vector<double> base;     // ResourceScore of each candidate position.
  std::vector<uint8_t> status;  // Status bits of each position.
  // Compatible positions without room, and how many of those have enough
  // containers / disk / memory (a resource is a common problem when 0).
  int32_t failing = 0;
  int32_t failing_with_containers = 0;
  int32_t failing_with_disk = 0;
  int32_t failing_with_memory = 0;

  void Count(uint8_t s, int32_t delta) {
    if (s == 0 || s == kCompatible) return;
    failing += delta;
    if ((s & kNoContainers) == 0) failing_with_containers += delta;
    if ((s & kNoDisk) == 0) failing_with_disk += delta;
    if ((s & kNoMemory) == 0) failing_with_memory += delta;
  }
  // rep `InsufficientResourcesError` over all failing compatible cells
  // (scheduler.go `removeNonApplicableProblems`).
  uint8_t CommonProblems() const {
    return (failing_with_containers == 0 ? kNoContainers : 0) |
           (failing_with_disk == 0 ? kNoDisk : 0) | (failing_with_memory == 0 ? kNoMemory : 0);
  }
};

// All the state of one `Schedule` call.
class Auction {
 public:
  Auction(const AuctionConfig& config, std::vector<CellState>& cells);

  // Setup, before any `Place`: the app of an LRP, the score class of an
  // item (interning its constraint), then the instances already on cells.
  int32_t AppFor(absl::string_view process_guid);
  int32_t ClassFor(bool is_task, const PlacementConstraint& constraint, const Resource& resource);
  void CountExistingInstances();

  // Places one item of `score_class` (`lrp` or `task` is null; `app` is the
  // LRP's app). Returns the winning cell index, or nullopt with `*error`
  // pointing at the placement error (valid as long as the Auction).
  std::optional<int32_t> Place(const PlacementStrategy& strategy, const Lrp* lrp, const Task* task,
                               int32_t app, int32_t score_class, const std::string** error);

  int64_t starting_total() const { return starting_total_; }

 private:
  friend class ItemContext;

  int32_t InternConstraint(const PlacementConstraint& constraint);
  Tree& EnsureTree(int32_t score_class);
  void SetLeaf(const ScoreClass& c, Tree& tree, int32_t position) const;
  // The lowest (score, position) over positions [begin, end) of `zone`.
  Node Query(const Tree& tree, int32_t zone, int32_t begin, int32_t end) const;
  // Zone z's tree: nodes [2 * zone_begin_[z], 2 * zone_begin_[z + 1]), its
  // leaves at local indices [size, 2 * size), its minimum at local index 1.
  static Node* ZoneNodes(Tree& tree, int32_t zone_begin) { return &tree.nodes[2 * zone_begin]; }
  static const Node* ZoneNodes(const Tree& tree, int32_t zone_begin) {
    return &tree.nodes[2 * zone_begin];
  }
  // rep resources.go `ResourceMatch` (LRPs: with the cell's proxy memory).
  static uint8_t Problems(const ScoreClass& c, const Slot& slot) {
    const int64_t proxy = c.is_task ? 0 : slot.proxy_memory;
    return (slot.available_containers < 1 ? kNoContainers : 0) |
           (slot.available_disk < c.disk ? kNoDisk : 0) |
           (slot.available_memory < c.memory + proxy ? kNoMemory : 0);
  }
  void Reserve(int32_t position, const ScoreClass& c, int32_t app);
  static bool Bounded(const Slot& slot) {
    return slot.total.memory_mb > 0 && slot.total.disk_mb > 0 && slot.total.containers > 0 &&
           slot.available_memory >= 0 && slot.available_memory <= slot.total.memory_mb &&
           slot.available_disk >= 0 && slot.available_disk <= slot.total.disk_mb &&
           slot.available_containers >= 0 && slot.available_containers <= slot.total.containers &&
           slot.starting >= 0 && slot.proxy_memory >= 0 && slot.index_term >= 0.0;
  }

  const AuctionConfig& config_;
  std::vector<CellState>& cells_;
  std::vector<Slot> slots_;                // By position.
  std::vector<int32_t> position_of_cell_;  // By cell index.
  // By position: 1 when, for any request with non-negative memory and disk
  // that fits and a non-negative starting weight, the cell's score before
  // the locality term is >= 0: every remaining/total fraction is in [0, 1]
  // and the starting and first-fit terms are >= 0.
  std::vector<uint8_t> bounded_;
  std::vector<std::string> zone_names_;
  std::vector<int32_t> zone_begin_;  // Zone z is [zone_begin_[z], zone_begin_[z+1]).
  int64_t starting_total_ = 0;

  absl::flat_hash_map<PlacementConstraint, int32_t, ConstraintHash> constraint_ids_;
  std::vector<Constraint> constraints_;
  absl::flat_hash_map<ClassKey, int32_t> class_ids_;
  std::vector<ScoreClass> classes_;
  absl::flat_hash_map<std::string, int32_t> app_ids_;
  std::vector<App> apps_;
  std::vector<int32_t> app_zone_instances_;  // [app * zones + zone].
  std::vector<Tree> trees_;
  size_t max_trees_ = 0;
  uint64_t use_clock_ = 0;
  std::vector<int32_t> log_;  // Position changed by each placement.

  // One-entry caches for consecutive items of the same app / shape.
  int32_t last_constraint_ = -1;
  std::string last_guid_;
  int32_t last_app_ = -1;
  ClassKey last_class_key_{};
  int32_t last_class_ = -1;
};

// The scheduler's PlacementContext for one item.
class ItemContext final : public PlacementContext {
 public:
  ItemContext(const Auction& auction, const Lrp* lrp, const Task* task, const App* app,
              const int32_t* zone_instances, const ScoreClass& score_class, const Tree& tree)
      : a_(auction),
        lrp_(lrp),
        task_(task),
        app_(app),
        zone_instances_(zone_instances),
        class_(score_class),
        tree_(tree) {}

  const Lrp* lrp() const override { return lrp_; }
  const Task* task() const override { return task_; }
  int32_t zone_count() const override { return static_cast<int32_t>(a_.zone_names_.size()); }
  absl::string_view zone_name(int32_t zone) const override { return a_.zone_names_[zone]; }
  int32_t ZoneInstances(int32_t zone) const override {
    return app_ == nullptr ? 0 : zone_instances_[zone];
  }

  void ForEachCandidate(int32_t zone,
                        absl::FunctionRef<void(const CandidateCell&)> fn) const override {
    const std::vector<uint8_t>& compatible = a_.constraints_[class_.constraint].compatible;
    size_t next_own = FirstOwn(a_.zone_begin_[zone]);
    for (int32_t p = a_.zone_begin_[zone]; p < a_.zone_begin_[zone + 1]; ++p) {
      int32_t colocated = 0;
      if (app_ != nullptr && next_own < app_->positions.size() && app_->positions[next_own] == p) {
        colocated = app_->counts[next_own++];
      }
      const Slot& slot = a_.slots_[p];
      if (!compatible[p] || Auction::Problems(class_, slot) != 0) {
        continue;
      }
      if (task_ != nullptr) {
        colocated = static_cast<int32_t>(slot.tasks);
      }
      fn(MakeCandidate(p, colocated, Score(p, colocated)));
    }
  }

  std::optional<CandidateCell> LowestScoreCandidate(int32_t zone) const override {
    const int32_t begin = a_.zone_begin_[zone];
    const int32_t end = a_.zone_begin_[zone + 1];
    Node best = a_.Query(tree_, zone, begin, end);
    int32_t best_colocated = 0;
    if (app_ != nullptr) {
      // The tree leaves out the locality term, which is non-zero exactly on
      // the app's own cells. If the zone's minimum is one of them, find the
      // minimum of the other cells between them; then score the own cells
      // directly.
      const size_t own_begin = FirstOwn(begin);
      size_t own_end = own_begin;
      while (own_end < app_->positions.size() && app_->positions[own_end] < end) ++own_end;
      if (own_begin < own_end) {
        const auto own = app_->positions.begin();
        if (best.score < kInfinity &&
            std::binary_search(own + own_begin, own + own_end, best.position)) {
          best = {kInfinity, kNoPosition};
          int32_t gap = begin;
          for (size_t i = own_begin; i <= own_end; ++i) {
            const int32_t stop = i < own_end ? app_->positions[i] : end;
            if (gap < stop) best = Lower(best, a_.Query(tree_, zone, gap, stop));
            gap = stop + 1;
          }
        }
        // An own cell scores at least 1000 when its score before locality
        // is provably non-negative (see `Auction::bounded_`), so it cannot
        // beat a best below 1000.
        const bool prune = best.score < kLocalityOffset && class_.nonnegative &&
                           a_.config_.starting_container_weight >= 0.0;
        for (size_t i = own_begin; i < own_end; ++i) {
          const int32_t p = app_->positions[i];
          if ((prune && a_.bounded_[p]) || tree_.status[p] != kCompatible) continue;
          const Node mine{
              (tree_.base[p] + static_cast<double>(int64_t{kLocalityOffset} * app_->counts[i])) +
                  a_.slots_[p].index_term,
              p};
          if (!std::isnan(mine.score) && &Lower(best, mine) == &mine) {
            best = mine;
            best_colocated = app_->counts[i];
          }
        }
      }
    }
    if (!(best.score < kInfinity)) {
      return std::nullopt;
    }
    if (task_ != nullptr) {
      best_colocated = static_cast<int32_t>(a_.slots_[best.position].tasks);
    }
    return MakeCandidate(best.position, best_colocated, best.score);
  }

 private:
  size_t FirstOwn(int32_t position) const {
    if (app_ == nullptr) {
      return 0;
    }
    return std::lower_bound(app_->positions.begin(), app_->positions.end(), position) -
           app_->positions.begin();
  }

  // Diego's score (cell.go `ScoreForLRP` / `ScoreForTask`).
  double Score(int32_t p, int32_t colocated) const {
    const Slot& slot = a_.slots_[p];
    if (task_ != nullptr) {
      return ResourceScore(slot, class_.memory, class_.disk, a_.config_.starting_container_weight) +
             static_cast<double>(int64_t{kLocalityOffset} * slot.tasks);
    }
    return ResourceScore(slot, class_.memory + slot.proxy_memory, class_.disk,
                         a_.config_.starting_container_weight) +
           static_cast<double>(int64_t{kLocalityOffset} * colocated) + slot.index_term;
  }

  CandidateCell MakeCandidate(int32_t p, int32_t colocated, double score) const {
    const Slot& slot = a_.slots_[p];
    const int64_t memory = class_.memory + (task_ != nullptr ? 0 : slot.proxy_memory);
    CandidateCell c;
    c.cell = slot.cell;
    c.zone = slot.zone;
    c.position = p;
    c.available = {static_cast<int32_t>(slot.available_memory),
                   static_cast<int32_t>(slot.available_disk),
                   static_cast<int32_t>(slot.available_containers)};
    c.total = slot.total;
    c.remaining = {static_cast<int32_t>(slot.available_memory - memory),
                   static_cast<int32_t>(slot.available_disk - class_.disk),
                   static_cast<int32_t>(slot.available_containers - 1)};
    c.starting_container_count = static_cast<int32_t>(slot.starting);
    c.colocated = colocated;
    c.first_fit_index = slot.first_fit_index;
    c.score = score;
    return c;
  }

  const Auction& a_;
  const Lrp* lrp_;
  const Task* task_;
  const App* app_;
  const int32_t* zone_instances_;
  const ScoreClass& class_;
  const Tree& tree_;
};

Auction::Auction(const AuctionConfig& config, std::vector<CellState>& cells)
    : config_(config), cells_(cells) {
  // Zones in order of first appearance (zone_builder.go groups by Zone).
  absl::flat_hash_map<absl::string_view, int32_t> zone_ids;
  std::vector<std::vector<int32_t>> zone_cells;
  for (size_t i = 0; i < cells.size(); ++i) {
    auto [it, inserted] = zone_ids.try_emplace(cells[i].zone, zone_names_.size());
    if (inserted) {
      zone_names_.push_back(cells[i].zone);
      zone_cells.emplace_back();
    }
    zone_cells[it->second].push_back(static_cast<int32_t>(i));
  }
  // zone_builder.go `normaliseCellIndices`: with a first-fit weight, each
  // zone is sorted by cell_index (stably here) and re-indexed 0..n-1.
  const bool first_fit = config.bin_pack_first_fit_weight > 0.0;
  slots_.resize(cells.size());
  position_of_cell_.resize(cells.size());
  int32_t position = 0;
  for (size_t z = 0; z < zone_cells.size(); ++z) {
    zone_begin_.push_back(position);
    std::vector<int32_t>& members = zone_cells[z];
    if (first_fit) {
      std::stable_sort(members.begin(), members.end(), [&](int32_t a, int32_t b) {
        return cells[a].cell_index < cells[b].cell_index;
      });
    }
    for (size_t rank = 0; rank < members.size(); ++rank) {
      const CellState& cell = cells[members[rank]];
      Slot& slot = slots_[position];
      slot.available_memory = cell.available_resources.memory_mb;
      slot.available_disk = cell.available_resources.disk_mb;
      slot.available_containers = cell.available_resources.containers;
      slot.starting = cell.starting_container_count;
      slot.tasks = static_cast<int64_t>(cell.tasks.size());
      slot.proxy_memory = cell.proxy_memory_allocation_mb;
      slot.total = cell.total_resources;
      slot.first_fit_index = first_fit ? static_cast<int32_t>(rank) : cell.cell_index;
      slot.index_term =
          static_cast<double>(slot.first_fit_index) * config.bin_pack_first_fit_weight;
      slot.cell = members[rank];
      slot.zone = static_cast<int32_t>(z);
      position_of_cell_[members[rank]] = position;
      starting_total_ += cell.starting_container_count;
      ++position;
    }
  }
  zone_begin_.push_back(position);
  bounded_.resize(slots_.size());
  for (size_t p = 0; p < slots_.size(); ++p) {
    bounded_[p] = Bounded(slots_[p]);
  }

  // Trees hold 2n nodes; keep their total size bounded (~64 MiB).
  const size_t tree_bytes = std::max<size_t>(1, 2 * cells.size() * sizeof(Node));
  max_trees_ = std::clamp<size_t>((size_t{64} << 20) / tree_bytes, 4, 64);
  trees_.reserve(max_trees_);
}

int32_t Auction::AppFor(absl::string_view process_guid) {
  if (last_app_ >= 0 && process_guid == last_guid_) {
    return last_app_;
  }
  auto [it, inserted] = app_ids_.try_emplace(process_guid, static_cast<int32_t>(apps_.size()));
  if (inserted) {
    apps_.emplace_back();
    app_zone_instances_.resize(app_zone_instances_.size() + zone_names_.size(), 0);
  }
  last_guid_.assign(process_guid.data(), process_guid.size());
  last_app_ = it->second;
  return last_app_;
}

void Auction::CountExistingInstances() {
  // zone_sorter.go `accumulateZonesByInstances` and cell.go's locality
  // count, computed once: only apps in the batch matter.
  for (int32_t p = 0; p < static_cast<int32_t>(slots_.size()); ++p) {
    const CellState& cell = cells_[slots_[p].cell];
    int32_t last = -1;
    absl::string_view last_guid;
    for (const Lrp& lrp : cell.lrps) {
      int32_t app = last;
      if (last < 0 || lrp.process_guid != last_guid) {
        auto it = app_ids_.find(absl::string_view(lrp.process_guid));
        if (it == app_ids_.end()) {
          last = -1;
          continue;
        }
        app = it->second;
        last = app;
        last_guid = lrp.process_guid;
      }
      App& a = apps_[app];
      ++app_zone_instances_[app * zone_names_.size() + slots_[p].zone];
      if (a.positions.empty() || a.positions.back() != p) {
        a.positions.push_back(p);  // p grows monotonically: stays sorted.
        a.counts.push_back(0);
      }
      ++a.counts.back();
    }
  }
}

int32_t Auction::InternConstraint(const PlacementConstraint& constraint) {
  if (last_constraint_ >= 0 && constraints_[last_constraint_].constraint == constraint) {
    return last_constraint_;
  }
  auto [it, inserted] =
      constraint_ids_.try_emplace(constraint, static_cast<int32_t>(constraints_.size()));
  last_constraint_ = it->second;
  if (!inserted) {
    return last_constraint_;
  }
  // scheduler.go `filterCells`: rootfs, then volume drivers, then placement
  // tags; the most specific failure is reported when no cell passes.
  Constraint& c = constraints_.emplace_back();
  c.constraint = constraint;
  c.compatible.assign(slots_.size(), 0);
  const absl::StatusOr<model::RootFsUrl> rootfs = model::ParseRootFs(constraint.root_fs);
  std::optional<model::PlacementMismatch> most_specific;
  for (int32_t p = 0; p < static_cast<int32_t>(slots_.size()); ++p) {
    const CellState& cell = cells_[slots_[p].cell];
    const std::optional<model::PlacementMismatch> mismatch = model::FirstPlacementMismatch(
        rootfs.ok() && cell.rootfs_providers.Match(*rootfs),
        model::MatchVolumeDrivers(constraint.volume_drivers, cell.volume_drivers),
        model::MatchPlacementTags(constraint.placement_tags, cell.placement_tags,
                                  cell.optional_placement_tags));
    if (mismatch.has_value()) {
      most_specific =
          most_specific.has_value() ? model::MoreSpecific(*most_specific, *mismatch) : *mismatch;
    } else {
      c.compatible[p] = 1;
      ++c.compatible_count;
    }
  }
  if (c.compatible_count == 0) {
    c.filter_error = model::PlacementMismatchMessage(
        most_specific.value_or(model::PlacementMismatch::kRootFs), constraint.placement_tags);
  }
  return last_constraint_;
}

int32_t Auction::ClassFor(bool is_task, const PlacementConstraint& constraint,
                          const Resource& resource) {
  const ClassKey key{is_task, InternConstraint(constraint), resource.memory_mb, resource.disk_mb};
  if (last_class_ >= 0 && key == last_class_key_) {
    return last_class_;
  }
  auto [it, inserted] = class_ids_.try_emplace(key, static_cast<int32_t>(classes_.size()));
  if (inserted) {
    ScoreClass& c = classes_.emplace_back();
    c.is_task = is_task;
    c.constraint = key.constraint;
    c.memory = resource.memory_mb;
    c.disk = resource.disk_mb;
    c.nonnegative = resource.memory_mb >= 0 && resource.disk_mb >= 0;
  }
  last_class_key_ = key;
  last_class_ = it->second;
  return last_class_;
}

void Auction::SetLeaf(const ScoreClass& c, Tree& tree, int32_t p) const {
  const Slot& slot = slots_[p];
  uint8_t status = 0;
  double key = kInfinity;
  if (constraints_[c.constraint].compatible[p]) {
    status = kCompatible | Problems(c, slot);
    if (status == kCompatible) {
      double base;
      if (c.is_task) {
        base = ResourceScore(slot, c.memory, c.disk, config_.starting_container_weight);
        key = base + static_cast<double>(int64_t{kLocalityOffset} * slot.tasks);
      } else {
        // LRPs are keyed as if the app had no instance on the cell.
        base = ResourceScore(slot, c.memory + slot.proxy_memory, c.disk,
                             config_.starting_container_weight);
        key = (base + 0.0) + slot.index_term;
      }
      tree.base[p] = base;
      if (std::isnan(key)) key = kInfinity;
    }
  }
  tree.Count(tree.status[p], -1);
  tree.Count(status, +1);
  tree.status[p] = status;
  const int32_t zone_begin = zone_begin_[slot.zone];
  const int32_t size = zone_begin_[slot.zone + 1] - zone_begin;
  ZoneNodes(tree, zone_begin)[size + p - zone_begin] = {key, p};
}

Tree& Auction::EnsureTree(int32_t score_class) {
  ScoreClass& c = classes_[score_class];
  const int32_t n = static_cast<int32_t>(slots_.size());
  bool rebuild = false;
  if (c.tree < 0) {
    if (trees_.size() < max_trees_) {
      c.tree = static_cast<int32_t>(trees_.size());
      Tree& fresh = trees_.emplace_back();
      fresh.nodes.resize(2 * static_cast<size_t>(n));
      fresh.base.resize(n);
      fresh.status.resize(n);
    } else {
      auto lru = std::min_element(trees_.begin(), trees_.end(), [](const Tree& a, const Tree& b) {
        return a.last_use < b.last_use;
      });
      classes_[lru->score_class].tree = -1;
      c.tree = static_cast<int32_t>(lru - trees_.begin());
    }
    trees_[c.tree].score_class = score_class;
    rebuild = true;
  } else if ((log_.size() - c.log_cursor) * 8 > static_cast<size_t>(n)) {
    rebuild = true;
  }
  Tree& tree = trees_[c.tree];
  if (rebuild) {
    std::fill(tree.status.begin(), tree.status.end(), 0);
    tree.failing = tree.failing_with_containers = tree.failing_with_disk =
        tree.failing_with_memory = 0;
    for (int32_t p = 0; p < n; ++p) {
      SetLeaf(c, tree, p);
    }
    for (size_t z = 0; z + 1 < zone_begin_.size(); ++z) {
      Node* nodes = ZoneNodes(tree, zone_begin_[z]);
      for (int32_t i = zone_begin_[z + 1] - zone_begin_[z] - 1; i >= 1; --i) {
        nodes[i] = LowerOf(nodes[2 * i], nodes[2 * i + 1]);
      }
    }
  } else {
    for (size_t l = c.log_cursor; l < log_.size(); ++l) {
      const int32_t p = log_[l];
      SetLeaf(c, tree, p);
      const int32_t zone_begin = zone_begin_[slots_[p].zone];
      const int32_t size = zone_begin_[slots_[p].zone + 1] - zone_begin;
      Node* nodes = ZoneNodes(tree, zone_begin);
      for (int32_t i = (size + p - zone_begin) >> 1; i >= 1; i >>= 1) {
        const Node lower = LowerOf(nodes[2 * i], nodes[2 * i + 1]);
        if (lower.position == nodes[i].position && lower.score == nodes[i].score) {
          break;  // This subtree's minimum is unchanged, so are its ancestors'.
        }
        nodes[i] = lower;
      }
    }
  }
  c.log_cursor = log_.size();
  tree.last_use = ++use_clock_;
  return tree;
}

Node Auction::Query(const Tree& tree, int32_t zone, int32_t begin, int32_t end) const {
  const int32_t zone_begin = zone_begin_[zone];
  const int32_t size = zone_begin_[zone + 1] - zone_begin;
  const Node* nodes = ZoneNodes(tree, zone_begin);
  if (begin == zone_begin && end == zone_begin + size) {
    return nodes[1];  // The whole zone.
  }
  Node best{kInfinity, kNoPosition};
  begin += size - zone_begin;
  end += size - zone_begin;
  for (; begin < end; begin >>= 1, end >>= 1) {
    if (begin & 1) {
      best = LowerOf(best, nodes[begin++]);
    }
    if (end & 1) {
      best = LowerOf(best, nodes[--end]);
    }
  }
  return best;
}

void Auction::Reserve(int32_t position, const ScoreClass& c, int32_t app) {
  // rep `CellState.AddLRP` / `AddTask`.
  Slot& slot = slots_[position];
  slot.available_memory -= c.memory;
  slot.available_disk -= c.disk;
  slot.available_containers -= 1;
  slot.starting += 1;
  bounded_[position] = Bounded(slot);
  if (c.is_task) {
    slot.tasks += 1;
  } else {
    App& a = apps_[app];
    ++app_zone_instances_[app * zone_names_.size() + slot.zone];
    auto it = std::lower_bound(a.positions.begin(), a.positions.end(), position);
    const size_t i = it - a.positions.begin();
    if (it != a.positions.end() && *it == position) {
      ++a.counts[i];
    } else {
      a.positions.insert(it, position);
      a.counts.insert(a.counts.begin() + static_cast<std::ptrdiff_t>(i), 1);
    }
  }
  log_.push_back(position);
}

std::optional<int32_t> Auction::Place(const PlacementStrategy& strategy, const Lrp* lrp,
                                      const Task* task, int32_t app, int32_t score_class,
                                      const std::string** error) {
  const ScoreClass& c = classes_[score_class];
  const Constraint& constraint = constraints_[c.constraint];
  if (constraint.compatible_count == 0) {
    *error = &constraint.filter_error;
    return std::nullopt;
  }
  const Tree& tree = EnsureTree(score_class);
  if (tree.failing == constraint.compatible_count) {
    // No compatible cell has room: no strategy could choose.
    *error = &InsufficientResourcesMessage(tree.CommonProblems());
    return std::nullopt;
  }
  const ItemContext context(
      *this, lrp, task, lrp != nullptr ? &apps_[app] : nullptr,
      lrp != nullptr ? &app_zone_instances_[app * zone_names_.size()] : nullptr, c, tree);
  const std::optional<int32_t> winner = strategy.ChooseCell(context);
  if (!winner.has_value()) {
    *error = &InsufficientResourcesMessage(tree.CommonProblems());
    return std::nullopt;
  }
  DIEGO_CHECK(*winner >= 0 && static_cast<size_t>(*winner) < cells_.size())
      << "strategy " << std::string(strategy.name()) << " chose cell " << *winner;
  const int32_t position = position_of_cell_[*winner];
  const Slot& slot = slots_[position];
  DIEGO_CHECK(tree.status[position] == kCompatible)
      << "strategy " << std::string(strategy.name()) << " chose a non-candidate cell " << *winner;
  // cell.go `ReserveLRP` / `ReserveTask` re-check the plain request.
  const uint8_t problems = (slot.available_containers < 1 ? kNoContainers : 0) |
                           (slot.available_disk < c.disk ? kNoDisk : 0) |
                           (slot.available_memory < c.memory ? kNoMemory : 0);
  if (problems != 0) {
    *error = &InsufficientResourcesMessage(problems);
    return std::nullopt;
  }
  Reserve(position, c, app);
  return winner;
}

// An item to order: its sort key and input index.
struct SortItem {
  uint64_t key;
  int32_t input;
  int32_t app;  // LRPs: the app; tasks: -1.
  int32_t score_class;
};

// Order-preserving maps of int32 to uint32 (ascending / descending).
inline uint32_t Ascending(int32_t v) { return static_cast<uint32_t>(v) ^ 0x80000000u; }
inline uint32_t Descending(int32_t v) { return ~Ascending(v); }

// Sorts by key, stably (LSD radix sort on 16-bit digits, skipping digits all
// keys share).
void StableRadixSort(std::vector<SortItem>* items) {
  const size_t n = items->size();
  if (n < 2) return;
  std::vector<SortItem> buffer(n);
  std::vector<uint32_t> offsets(size_t{1} << 16);
  for (int shift = 0; shift < 64; shift += 16) {
    std::fill(offsets.begin(), offsets.end(), 0);
    for (const SortItem& item : *items) ++offsets[(item.key >> shift) & 0xffff];
    if (offsets[((*items)[0].key >> shift) & 0xffff] == n) continue;
    uint32_t sum = 0;
    for (uint32_t& offset : offsets) {
      const uint32_t count = offset;
      offset = sum;
      sum += count;
    }
    for (const SortItem& item : *items) buffer[offsets[(item.key >> shift) & 0xffff]++] = item;
    items->swap(buffer);
  }
}

// The outcome of one item: its input index, the winning cell (or -1) and,
// for a failure, its placement error.
struct Outcome {
  int32_t input = 0;
  int32_t cell = -1;
  int32_t rank = 0;  // Place in the winning cell's work.
  const std::string* error = nullptr;
};

// Records each auction's outcome, keeps the successful auctions in `*items`
// (in order) and moves the failed ones to `*failed` (in order).
template <typename Auctions>
void CompactResults(const std::vector<CellState>& cells, const std::vector<Outcome>& outcomes,
                    Auctions* items, Auctions* failed) {
  size_t failures = 0;
  for (const Outcome& o : outcomes) failures += o.cell < 0 ? 1 : 0;
  failed->reserve(failures);
  size_t kept = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    auto& item = (*items)[i];
    const Outcome& o = outcomes[i];
    if (o.cell >= 0) {
      item.record.winner = cells[o.cell].cell_id;
      item.record.placement_error.clear();
      if (kept != i) (*items)[kept] = std::move(item);
      ++kept;
    } else {
      item.record.winner.clear();
      item.record.placement_error = *o.error;
      failed->push_back(std::move(item));
    }
  }
  items->erase(items->begin() + static_cast<std::ptrdiff_t>(kept), items->end());
}

}  // namespace

Scheduler::Scheduler(const PlacementStrategy* strategy, AuctionConfig config)
    : strategy_(strategy), config_(config) {
  DIEGO_CHECK(strategy != nullptr) << "Scheduler needs a placement strategy";
}

ScheduleOutput Scheduler::Schedule(std::vector<CellState> cells, std::vector<LrpAuction> lrps,
                                   std::vector<TaskAuction> tasks) const {
  ScheduleOutput out;
  AuctionResults& results = out.results;

  if (cells.empty()) {
    // scheduler.go: with no zones every auction fails, in request order.
    for (LrpAuction& auction : lrps) {
      auction.record.winner.clear();
      auction.record.placement_error = std::string(kCellCommunicationError);
    }
    for (TaskAuction& auction : tasks) {
      auction.record.winner.clear();
      auction.record.placement_error = std::string(kCellCommunicationError);
    }
    results.failed_lrps = std::move(lrps);
    results.failed_tasks = std::move(tasks);
    return out;
  }

  Auction auction(config_, cells);

  // One sequential pass over the input: each item's app, score class and
  // sort key. sortable_auctions.go: LRPs by index, then larger memory
  // first; tasks by larger memory first. Stable here (Diego's sort.Sort is
  // not).
  std::vector<SortItem> lrp_order(lrps.size());
  for (size_t i = 0; i < lrps.size(); ++i) {
    const Lrp& lrp = lrps[i].lrp;
    lrp_order[i] = {(uint64_t{Ascending(lrp.index)} << 32) | Descending(lrp.resource.memory_mb),
                    static_cast<int32_t>(i), auction.AppFor(lrp.process_guid),
                    auction.ClassFor(false, lrp.constraint, lrp.resource)};
  }
  std::vector<SortItem> task_order(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Task& task = tasks[i].task;
    task_order[i] = {Descending(task.resource.memory_mb), static_cast<int32_t>(i), -1,
                     auction.ClassFor(true, task.constraint, task.resource)};
  }
  auction.CountExistingInstances();

  StableRadixSort(&lrp_order);
  StableRadixSort(&task_order);
  // scheduler.go `splitLRPS`: LRPs up to the first index > 0 go before tasks.
  const size_t lrps_before_tasks =
      std::find_if(lrp_order.begin(), lrp_order.end(),
                   [](const SortItem& k) { return k.key >= (uint64_t{Ascending(1)} << 32); }) -
      lrp_order.begin();

  // Outcomes in scheduling order.
  std::vector<Outcome> lrp_outcomes;
  lrp_outcomes.reserve(lrps.size());
  std::vector<Outcome> task_outcomes;
  task_outcomes.reserve(tasks.size());
  static const std::string* const kInflightLimit = new std::string(kInflightLimitError);
  int64_t inflight = auction.starting_total();
  std::vector<int32_t> work_lrps(cells.size());  // Per cell, so far.
  std::vector<int32_t> work_tasks(cells.size());
  const auto place = [&](const Lrp* lrp, const Task* task, const SortItem& item,
                         std::vector<int32_t>* work_counts, std::vector<Outcome>* outcomes) {
    Outcome outcome{item.input, -1, 0, nullptr};
    if (config_.max_inflight > 0 && inflight >= config_.max_inflight) {
      outcome.error = kInflightLimit;
    } else if (std::optional<int32_t> winner = auction.Place(*strategy_, lrp, task, item.app,
                                                             item.score_class, &outcome.error)) {
      outcome.cell = *winner;
      outcome.rank = (*work_counts)[*winner]++;
      ++inflight;
    }
    outcomes->push_back(outcome);
  };
  const auto schedule_lrps = [&](size_t begin, size_t end) {
    for (size_t k = begin; k < end; ++k) {
      place(&lrps[lrp_order[k].input].lrp, nullptr, lrp_order[k], &work_lrps, &lrp_outcomes);
    }
  };
  schedule_lrps(0, lrps_before_tasks);
  for (const SortItem& item : task_order) {
    place(nullptr, &tasks[item.input].task, item, &work_tasks, &task_outcomes);
  }
  schedule_lrps(lrps_before_tasks, lrp_order.size());

  // Work per winning cell, in placement order (each item's rank), filled in
  // input order so the input is read sequentially.
  std::vector<Outcome> lrp_by_input(lrps.size());
  for (const Outcome& o : lrp_outcomes) lrp_by_input[o.input] = o;
  std::vector<Outcome> task_by_input(tasks.size());
  for (const Outcome& o : task_outcomes) task_by_input[o.input] = o;
  std::vector<Work> work_by_cell(cells.size());
  for (size_t c = 0; c < cells.size(); ++c) {
    work_by_cell[c].lrps.resize(work_lrps[c]);
    work_by_cell[c].tasks.resize(work_tasks[c]);
  }
  for (size_t i = 0; i < lrps.size(); ++i) {
    const Outcome& o = lrp_by_input[i];
    if (o.cell >= 0) work_by_cell[o.cell].lrps[o.rank] = lrps[i].lrp;
  }
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Outcome& o = task_by_input[i];
    if (o.cell >= 0) work_by_cell[o.cell].tasks[o.rank] = tasks[i].task;
  }
  for (size_t c = 0; c < cells.size(); ++c) {
    Work& work = work_by_cell[c];
    if (!work.lrps.empty() || !work.tasks.empty()) {
      work.cell_id = cells[c].cell_id;
      out.work.push_back(std::move(work));
    }
  }

  // Results keep the input order: successes are compacted in place in the
  // input vector (no new storage), failures are moved out.
  CompactResults(cells, lrp_by_input, &lrps, &results.failed_lrps);
  results.successful_lrps = std::move(lrps);
  CompactResults(cells, task_by_input, &tasks, &results.failed_tasks);
  results.successful_tasks = std::move(tasks);
  return out;
}

}  // namespace diego::auction
