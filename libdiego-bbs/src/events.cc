// Copyright 2026 The libdiego Authors.
//
// BBS event builders (bbs-wire-reference.md 6.3), the instance-event
// calculation for one ActualLRP row change, and the EventHub fan-out.

#include "diego/bbs/events.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/base/check.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/wire.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace diego::bbs {
namespace {

namespace v1 = ::diego::model::v1;

constexpr absl::string_view kDesiredLrpCreated = "desired_lrp_created";
constexpr absl::string_view kDesiredLrpChanged = "desired_lrp_changed";
constexpr absl::string_view kDesiredLrpRemoved = "desired_lrp_removed";
constexpr absl::string_view kActualLrpInstanceCreated = "actual_lrp_instance_created";
constexpr absl::string_view kActualLrpInstanceChanged = "actual_lrp_instance_changed";
constexpr absl::string_view kActualLrpInstanceRemoved = "actual_lrp_instance_removed";
constexpr absl::string_view kActualLrpCrashed = "actual_lrp_crashed";
constexpr absl::string_view kTaskCreated = "task_created";
constexpr absl::string_view kTaskChanged = "task_changed";
constexpr absl::string_view kTaskRemoved = "task_removed";

BbsEvent MakeEvent(EventStream stream, absl::string_view type, std::string payload) {
  BbsEvent event;
  event.stream = stream;
  event.type = std::string(type);
  event.payload = std::move(payload);
  return event;
}

BbsEvent MakeCellEvent(absl::string_view type, std::string payload, const std::string& cell_id) {
  BbsEvent event = MakeEvent(EventStream::kLrpInstances, type, std::move(payload));
  event.cell_filtered = true;
  event.cell_ids.push_back(cell_id);
  return event;
}

// Protobuf encoding by hand for the event wrappers, so the (possibly large)
// DesiredLRP / Task / ActualLRP is not copied into an event message first.
// Every field number used here is below 16, so each tag is one byte.
void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// A length-delimited field (sub-message or string), always written.
void AppendBytesField(int field_number, absl::string_view bytes, std::string* out) {
  out->push_back(static_cast<char>((field_number << 3) | 2));
  AppendVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

// A proto3 string field: written only when non-empty.
void AppendStringField(int field_number, absl::string_view value, std::string* out) {
  if (!value.empty()) AppendBytesField(field_number, value, out);
}

// Deterministic serialisation (map entries in key order).
std::string SerializeDeterministic(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

// `model::SerializeForWire(lrp)`, without its copy when the four
// non-nullable sub-messages are already present (as in stored rows); none of
// ActualLRP's other sub-messages has non-nullable fields of its own.
std::string SerializeActualLrp(const v1::ActualLRP& lrp) {
  if (lrp.has_actual_lrp_key() && lrp.has_actual_lrp_instance_key() &&
      lrp.has_actual_lrp_net_info() && lrp.has_modification_tag()) {
    return SerializeDeterministic(lrp);
  }
  return model::SerializeForWire(lrp);
}

// Go's `ActualLRP.ToActualLRPInfo()`: everything but the two keys (and the
// internal routes and metric tags, which ActualLRPInfo does not carry).
void ToActualLrpInfo(const v1::ActualLRP& lrp, v1::ActualLRPInfo* info) {
  *info->mutable_actual_lrp_net_info() = lrp.actual_lrp_net_info();
  info->set_crash_count(lrp.crash_count());
  info->set_crash_reason(lrp.crash_reason());
  info->set_state(lrp.state());
  info->set_placement_error(lrp.placement_error());
  info->set_since(lrp.since());
  *info->mutable_modification_tag() = lrp.modification_tag();
  info->set_presence(lrp.presence());
  if (lrp.optional_routable_case() == v1::ActualLRP::kRoutable) {
    info->set_routable(lrp.routable());
  }
  info->set_availability_zone(lrp.availability_zone());
}

bool IsEmptyKey(const v1::ActualLRPKey& key) {
  return key.process_guid().empty() && key.index() == 0 && key.domain().empty();
}

bool IsEmptyInstanceKey(const v1::ActualLRPInstanceKey& key) {
  return key.instance_guid().empty() && key.cell_id().empty();
}

bool SamePorts(const v1::PortMapping& a, const v1::PortMapping& b) {
  return a.container_port() == b.container_port() && a.host_port() == b.host_port() &&
         a.container_tls_proxy_port() == b.container_tls_proxy_port() &&
         a.host_tls_proxy_port() == b.host_tls_proxy_port();
}

bool SameNetInfo(const v1::ActualLRPNetInfo& a, const v1::ActualLRPNetInfo& b) {
  if (a.address() != b.address() || a.instance_address() != b.instance_address() ||
      a.preferred_address() != b.preferred_address() ||
      a.instance_ipv6_address() != b.instance_ipv6_address() ||
      a.ports_size() != b.ports_size()) {
    return false;
  }
  for (int i = 0; i < a.ports_size(); ++i) {
    if (!SamePorts(a.ports(i), b.ports(i))) return false;
  }
  return true;
}

// Whether two rows are the same Go value (gogo's `Equal`): every field, an
// unset sub-message being equal to an empty one, maps by content.
// events_test checks the field counts so a new proto field is not missed.
bool SameLrp(const v1::ActualLRP& a, const v1::ActualLRP& b) {
  const auto& ak = a.actual_lrp_key();
  const auto& bk = b.actual_lrp_key();
  const auto& ai = a.actual_lrp_instance_key();
  const auto& bi = b.actual_lrp_instance_key();
  if (ak.process_guid() != bk.process_guid() || ak.index() != bk.index() ||
      ak.domain() != bk.domain() || ai.instance_guid() != bi.instance_guid() ||
      ai.cell_id() != bi.cell_id() || a.crash_count() != b.crash_count() ||
      a.crash_reason() != b.crash_reason() || a.state() != b.state() ||
      a.placement_error() != b.placement_error() || a.since() != b.since() ||
      a.modification_tag().epoch() != b.modification_tag().epoch() ||
      a.modification_tag().index() != b.modification_tag().index() ||
      a.presence() != b.presence() || a.availability_zone() != b.availability_zone() ||
      a.optional_routable_case() != b.optional_routable_case() ||
      a.routable() != b.routable() ||
      a.actual_lrp_internal_routes_size() != b.actual_lrp_internal_routes_size() ||
      a.metric_tags_size() != b.metric_tags_size() ||
      !SameNetInfo(a.actual_lrp_net_info(), b.actual_lrp_net_info())) {
    return false;
  }
  for (int i = 0; i < a.actual_lrp_internal_routes_size(); ++i) {
    if (a.actual_lrp_internal_routes(i).hostname() !=
        b.actual_lrp_internal_routes(i).hostname()) {
      return false;
    }
  }
  for (const auto& [key, value] : a.metric_tags()) {
    auto it = b.metric_tags().find(key);
    if (it == b.metric_tags().end() || it->second != value) return false;
  }
  return true;
}

bool IsRunning(const v1::ActualLRP& lrp) {
  return lrp.state() == model::kActualLrpStateRunning;
}

}  // namespace

bool BbsEvent::PassesCellFilter(absl::string_view cell_filter) const {
  if (cell_filter.empty() || !cell_filtered) return true;
  for (const std::string& id : cell_ids) {
    if (absl::string_view(id) == cell_filter) return true;
  }
  return false;
}

// -----------------------------------------------------------------------------
// Builders.
// -----------------------------------------------------------------------------

BbsEvent DesiredLrpCreatedEvent(const v1::DesiredLRP& lrp, absl::string_view trace_id) {
  // DesiredLRPCreatedEvent{desired_lrp = 1, trace_id = 2}.
  std::string payload;
  AppendBytesField(1, model::SerializeForWire(lrp), &payload);
  AppendStringField(2, trace_id, &payload);
  return MakeEvent(EventStream::kLrpInstances, kDesiredLrpCreated, std::move(payload));
}

BbsEvent DesiredLrpChangedEvent(const v1::DesiredLRP& before, const v1::DesiredLRP& after,
                                absl::string_view trace_id) {
  // DesiredLRPChangedEvent{before = 1, after = 2, trace_id = 3}.
  std::string payload;
  AppendBytesField(1, model::SerializeForWire(before), &payload);
  AppendBytesField(2, model::SerializeForWire(after), &payload);
  AppendStringField(3, trace_id, &payload);
  return MakeEvent(EventStream::kLrpInstances, kDesiredLrpChanged, std::move(payload));
}

BbsEvent DesiredLrpRemovedEvent(const v1::DesiredLRP& lrp, absl::string_view trace_id) {
  // DesiredLRPRemovedEvent{desired_lrp = 1, trace_id = 2}.
  std::string payload;
  AppendBytesField(1, model::SerializeForWire(lrp), &payload);
  AppendStringField(2, trace_id, &payload);
  return MakeEvent(EventStream::kLrpInstances, kDesiredLrpRemoved, std::move(payload));
}

BbsEvent ActualLrpInstanceCreatedEvent(const v1::ActualLRP& lrp, absl::string_view trace_id) {
  // ActualLRPInstanceCreatedEvent{actual_lrp = 1, trace_id = 2}.
  std::string payload;
  AppendBytesField(1, SerializeActualLrp(lrp), &payload);
  AppendStringField(2, trace_id, &payload);
  return MakeCellEvent(kActualLrpInstanceCreated, std::move(payload),
                       lrp.actual_lrp_instance_key().cell_id());
}

BbsEvent ActualLrpInstanceRemovedEvent(const v1::ActualLRP& lrp, absl::string_view trace_id) {
  // ActualLRPInstanceRemovedEvent{actual_lrp = 1, trace_id = 2}.
  std::string payload;
  AppendBytesField(1, SerializeActualLrp(lrp), &payload);
  AppendStringField(2, trace_id, &payload);
  return MakeCellEvent(kActualLrpInstanceRemoved, std::move(payload),
                       lrp.actual_lrp_instance_key().cell_id());
}

BbsEvent ActualLrpInstanceChangedEvent(const v1::ActualLRP& before, const v1::ActualLRP& after,
                                       absl::string_view trace_id) {
  v1::ActualLRPInstanceChangedEvent message;
  // Each key independently: after's when it is not the zero value, else
  // before's (Go's NewActualLRPInstanceChangedEvent).
  *message.mutable_actual_lrp_key() =
      IsEmptyKey(after.actual_lrp_key()) ? before.actual_lrp_key() : after.actual_lrp_key();
  *message.mutable_actual_lrp_instance_key() =
      IsEmptyInstanceKey(after.actual_lrp_instance_key()) ? before.actual_lrp_instance_key()
                                                          : after.actual_lrp_instance_key();
  ToActualLrpInfo(before, message.mutable_before());
  ToActualLrpInfo(after, message.mutable_after());
  message.set_trace_id(std::string(trace_id));
  // Every non-nullable field is set above and there is no map, so plain
  // serialisation is SerializeForWire's.
  std::string cell_id = message.actual_lrp_instance_key().cell_id();
  return MakeCellEvent(kActualLrpInstanceChanged, message.SerializeAsString(), cell_id);
}

BbsEvent ActualLrpCrashedEvent(const v1::ActualLRP& before, const v1::ActualLRP& after) {
  v1::ActualLRPCrashedEvent message;
  *message.mutable_actual_lrp_key() = after.actual_lrp_key();
  *message.mutable_actual_lrp_instance_key() = before.actual_lrp_instance_key();
  message.set_crash_count(after.crash_count());
  message.set_crash_reason(after.crash_reason());
  message.set_since(after.since());
  // Both non-nullable keys are set: plain serialisation is SerializeForWire's.
  return MakeCellEvent(kActualLrpCrashed, message.SerializeAsString(),
                       before.actual_lrp_instance_key().cell_id());
}

BbsEvent TaskCreatedEvent(const v1::Task& task) {
  // TaskCreatedEvent{task = 1}.
  std::string payload;
  AppendBytesField(1, model::SerializeForWire(task), &payload);
  return MakeEvent(EventStream::kTasks, kTaskCreated, std::move(payload));
}

BbsEvent TaskChangedEvent(const v1::Task& before, const v1::Task& after) {
  // TaskChangedEvent{before = 1, after = 2}.
  std::string payload;
  AppendBytesField(1, model::SerializeForWire(before), &payload);
  AppendBytesField(2, model::SerializeForWire(after), &payload);
  return MakeEvent(EventStream::kTasks, kTaskChanged, std::move(payload));
}

BbsEvent TaskRemovedEvent(const v1::Task& task) {
  // TaskRemovedEvent{task = 1}.
  std::string payload;
  AppendBytesField(1, model::SerializeForWire(task), &payload);
  return MakeEvent(EventStream::kTasks, kTaskRemoved, std::move(payload));
}

// -----------------------------------------------------------------------------
// One row's instance events (Diego's calculator.ActualLRPEventCalculator:
// generateLRPInstanceEvents, and EmitCrashEvents for `crashed`).
// -----------------------------------------------------------------------------

std::vector<BbsEvent> ActualLrpChangeEvents(const v1::ActualLRP* before,
                                            const v1::ActualLRP* after, bool crashed,
                                            absl::string_view trace_id) {
  // Each event with its EventScore: 2 crashed, 1 an event whose resulting LRP
  // is RUNNING (created/changed), 0 the rest (removed, changed or created to
  // a non-running state).
  std::vector<std::pair<int, BbsEvent>> scored;
  auto created = [&](const v1::ActualLRP& lrp) {
    scored.emplace_back(IsRunning(lrp) ? 1 : 0, ActualLrpInstanceCreatedEvent(lrp, trace_id));
  };
  auto removed = [&](const v1::ActualLRP& lrp) {
    scored.emplace_back(0, ActualLrpInstanceRemovedEvent(lrp, trace_id));
  };
  auto changed = [&](const v1::ActualLRP& b, const v1::ActualLRP& a) {
    scored.emplace_back(IsRunning(a) ? 1 : 0, ActualLrpInstanceChangedEvent(b, a, trace_id));
  };

  if (before == nullptr && after == nullptr) return {};
  if (after == nullptr) {
    removed(*before);
  } else if (before == nullptr) {
    created(*after);
  } else if (SameLrp(*before, *after)) {
    return {};
  } else if (after->state() == model::kActualLrpStateCrashed) {
    // A crash that leaves the row CRASHED: crashed + changed (the changed
    // event keeps before's instance key, after's being empty).
    scored.emplace_back(2, ActualLrpCrashedEvent(*before, *after));
    changed(*before, *after);
  } else if (crashed) {
    // A crash restarted at once (the row went back to UNCLAIMED): the old
    // instance is gone and a new one exists.
    scored.emplace_back(2, ActualLrpCrashedEvent(*before, *after));
    created(*after);
    removed(*before);
  } else if (after->state() == model::kActualLrpStateUnclaimed) {
    if (before->state() == model::kActualLrpStateUnclaimed) {
      // E.g. FailActualLRP setting a placement error.
      changed(*before, *after);
    } else {
      // An instance losing its instance key (unclaim, evacuation, restart of
      // a CRASHED row): a new instance, the old one removed.
      created(*after);
      removed(*before);
    }
  } else if (after->state() == model::kActualLrpStateClaimed ||
             after->state() == model::kActualLrpStateRunning) {
    changed(*before, *after);
  }
  // Any other state: Diego emits nothing.

  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<BbsEvent> events;
  events.reserve(scored.size());
  for (auto& [score, event] : scored) events.push_back(std::move(event));
  return events;
}

// -----------------------------------------------------------------------------
// EventSubscription and EventHub.
// -----------------------------------------------------------------------------

namespace events_internal {

// Shared by the hub and its subscriptions, so a subscription can unsubscribe
// after the hub is gone. Lock order: `mu`, then a subscription's `mu_`.
struct HubState {
  absl::Mutex mu;
  // Open subscriptions; closed ones are taken out.
  std::vector<EventSubscription*> subscribers ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;

  void Remove(EventSubscription* subscription) {
    absl::MutexLock lock(&mu);
    auto it = std::find(subscribers.begin(), subscribers.end(), subscription);
    if (it != subscribers.end()) subscribers.erase(it);
  }
};

}  // namespace events_internal

EventSubscription::EventSubscription(std::shared_ptr<events_internal::HubState> hub,
                                     EventStream stream, std::string cell_filter,
                                     size_t max_pending)
    : hub_(std::move(hub)), stream_(stream), cell_filter_(std::move(cell_filter)),
      max_pending_(max_pending) {}

EventSubscription::~EventSubscription() { hub_->Remove(this); }

absl::StatusOr<BbsEvent> EventSubscription::Next(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !closed_.ok() || !queue_.empty();
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  if (!closed_.ok()) return closed_;
  if (queue_.empty()) {
    return absl::DeadlineExceededError("no event before the deadline");
  }
  BbsEvent event = *queue_.front();
  queue_.pop_front();
  return event;
}

void EventSubscription::Close() {
  {
    absl::MutexLock lock(&mu_);
    CloseLocked(absl::CancelledError("event subscription closed"));
  }
  hub_->Remove(this);
}

void EventSubscription::CloseLocked(absl::Status status) {
  if (!closed_.ok()) return;
  closed_ = std::move(status);
  queue_.clear();
}

bool EventSubscription::OfferBatch(const std::vector<std::shared_ptr<const BbsEvent>>& events) {
  absl::MutexLock lock(&mu_);
  if (!closed_.ok()) return false;
  for (const std::shared_ptr<const BbsEvent>& event : events) {
    if (event->stream != stream_ || !event->PassesCellFilter(cell_filter_)) continue;
    if (queue_.size() >= max_pending_) {
      CloseLocked(absl::ResourceExhaustedError(absl::StrCat(
          "event subscriber fell behind: more than ", max_pending_, " events pending")));
      return false;
    }
    queue_.push_back(event);
  }
  return true;
}

EventHub::EventHub(size_t max_pending)
    : max_pending_(max_pending), state_(std::make_shared<events_internal::HubState>()) {
  DIEGO_CHECK(max_pending > 0) << "EventHub needs room for at least one pending event";
}

EventHub::~EventHub() { CloseAll(); }

void EventHub::Publish(std::vector<BbsEvent> events) {
  if (events.empty()) return;
  // One allocation for the whole batch; each subscriber queues aliasing
  // pointers into it, so nothing is copied per subscriber.
  auto batch = std::make_shared<const std::vector<BbsEvent>>(std::move(events));
  std::vector<std::shared_ptr<const BbsEvent>> pointers;
  pointers.reserve(batch->size());
  for (const BbsEvent& event : *batch) pointers.emplace_back(batch, &event);

  // Holding the hub lock for the whole batch keeps batches whole and in
  // Publish order for every subscriber.
  absl::MutexLock lock(&state_->mu);
  std::vector<EventSubscription*>& subscribers = state_->subscribers;
  auto open_end = std::remove_if(subscribers.begin(), subscribers.end(),
                                 [&](EventSubscription* s) { return !s->OfferBatch(pointers); });
  subscribers.erase(open_end, subscribers.end());
}

std::unique_ptr<EventSubscription> EventHub::Subscribe(EventStream stream,
                                                       absl::string_view cell_filter) {
  std::unique_ptr<EventSubscription> subscription(
      new EventSubscription(state_, stream, std::string(cell_filter), max_pending_));
  absl::MutexLock lock(&state_->mu);
  if (state_->closed) {
    absl::MutexLock sub_lock(&subscription->mu_);
    subscription->CloseLocked(absl::CancelledError("event hub shut down"));
  } else {
    state_->subscribers.push_back(subscription.get());
  }
  return subscription;
}

size_t EventHub::subscriber_count() {
  absl::MutexLock lock(&state_->mu);
  return state_->subscribers.size();
}

void EventHub::CloseAll() {
  absl::MutexLock lock(&state_->mu);
  state_->closed = true;
  for (EventSubscription* subscription : state_->subscribers) {
    absl::MutexLock sub_lock(&subscription->mu_);
    subscription->CloseLocked(absl::CancelledError("event hub shut down"));
  }
  state_->subscribers.clear();
}

}  // namespace diego::bbs
