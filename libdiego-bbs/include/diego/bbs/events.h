// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: events.h
// -----------------------------------------------------------------------------
//
// BBS events: how a committed change becomes Diego's event messages
// (`bbs-wire-reference.md` 6.3), and the hub that fans them out to event-stream
// subscribers (`/v1/events/lrp_instances.r1`, `/v1/events/tasks.r1`).
//
// Flow: the store builds `BbsEvent`s for a change inside its write, and
// publishes them from `SqlTx::AfterCommit`, so the sink sees every committed
// change exactly once, in commit order, and never a rolled-back one.
// `EventHub::Publish` never blocks on subscribers: each subscriber has a
// bounded queue (Diego: 1024 events); a subscriber whose queue is full is
// closed (its `Next()` returns kResourceExhausted after draining nothing
// more), and must re-subscribe and re-list, as Diego's clients do.
//
// Thread-safety: all functions are thread-safe.

#ifndef DIEGO_BBS_EVENTS_H_
#define DIEGO_BBS_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/events.pb.h"
#include "diego/model/v1/task.pb.h"

namespace diego::bbs {

// The two current streams.
enum class EventStream { kLrpInstances, kTasks };

// One event as streamed: its SSE name and the protobuf bytes of its message.
struct BbsEvent {
  EventStream stream = EventStream::kLrpInstances;
  // SSE `event:` name, e.g. "actual_lrp_instance_changed".
  std::string type;
  // The serialized event message (e.g. ActualLRPInstanceChangedEvent), as
  // written by `model::SerializeForWire` (gogo's always-written fields).
  std::string payload;
  // Cell filter (`EventsByCellId.cell_id`): actual-LRP events carry the cell
  // ids they concern and pass a non-empty filter only when it is one of them;
  // desired-LRP and task events have `cell_filtered == false` and always pass.
  bool cell_filtered = false;
  std::vector<std::string> cell_ids;

  // Whether a subscriber with `cell_filter` ("" = none) receives this event.
  bool PassesCellFilter(absl::string_view cell_filter) const;
};

// -----------------------------------------------------------------------------
// Builders (pure). `trace_id` is the X-Vcap-Request-Id of the request that
// caused the change ("" when none).
// -----------------------------------------------------------------------------

BbsEvent DesiredLrpCreatedEvent(const model::v1::DesiredLRP& lrp, absl::string_view trace_id);
BbsEvent DesiredLrpChangedEvent(const model::v1::DesiredLRP& before,
                                const model::v1::DesiredLRP& after, absl::string_view trace_id);
BbsEvent DesiredLrpRemovedEvent(const model::v1::DesiredLRP& lrp, absl::string_view trace_id);

// `actual_lrp_instance_created`, filtered on `lrp.actual_lrp_instance_key.cell_id`.
BbsEvent ActualLrpInstanceCreatedEvent(const model::v1::ActualLRP& lrp,
                                       absl::string_view trace_id);
// `actual_lrp_instance_removed`, filtered on the row's cell id.
BbsEvent ActualLrpInstanceRemovedEvent(const model::v1::ActualLRP& lrp,
                                       absl::string_view trace_id);
// `actual_lrp_instance_changed`: keys from `after` when non-empty, else from
// `before`; before/after as ActualLRPInfo; filtered on the top-level cell id.
BbsEvent ActualLrpInstanceChangedEvent(const model::v1::ActualLRP& before,
                                       const model::v1::ActualLRP& after,
                                       absl::string_view trace_id);
// `actual_lrp_crashed` for the crash of `before` (the row as it was RUNNING or
// CLAIMED, with its instance key) resulting in `after` (crash_count,
// crash_reason, since taken from `after`); filtered on before's cell id.
BbsEvent ActualLrpCrashedEvent(const model::v1::ActualLRP& before,
                               const model::v1::ActualLRP& after);

// The LRP-instance events for one stored row changing from `before` to
// `after` (either may be null for a create/remove), as Diego's
// ActualLRPEventCalculator computes them:
//
// - null -> row: created. row -> null: removed. before == after: nothing.
// - after CRASHED: actual_lrp_crashed + changed (the changed event carries
//   before's instance key, after's being empty).
// - `crashed` and after not CRASHED (restarted at once, after UNCLAIMED):
//   actual_lrp_crashed + created(after) + removed(before).
// - after UNCLAIMED: changed if before was UNCLAIMED too (e.g. a placement
//   error), else created(after) + removed(before) (unclaim, evacuation,
//   restart of a CRASHED row): the instance lost its instance key.
// - after CLAIMED or RUNNING: changed (also UNCLAIMED -> CLAIMED/RUNNING and
//   a CLAIMED -> RUNNING with a new instance key, as in Diego).
//
// The list is then sorted as Diego's handler does (stable): crashed first,
// then created/changed events whose resulting LRP is RUNNING, then the rest.
std::vector<BbsEvent> ActualLrpChangeEvents(const model::v1::ActualLRP* before,
                                            const model::v1::ActualLRP* after, bool crashed,
                                            absl::string_view trace_id);

BbsEvent TaskCreatedEvent(const model::v1::Task& task);
BbsEvent TaskChangedEvent(const model::v1::Task& before, const model::v1::Task& after);
BbsEvent TaskRemovedEvent(const model::v1::Task& task);

// -----------------------------------------------------------------------------
// Fan-out.
// -----------------------------------------------------------------------------

// Where the store sends committed events.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Called in commit order; must not block on consumers.
  virtual void Publish(std::vector<BbsEvent> events) = 0;
};

// An EventSink that drops everything (for tools that need no events).
class DiscardEventSink final : public EventSink {
 public:
  void Publish(std::vector<BbsEvent> events) override {}
};

class EventHub;
namespace events_internal {
struct HubState;  // The hub's subscriber list, shared with its subscriptions.
}  // namespace events_internal

// One subscriber. Destroying it unsubscribes. It may outlive its hub (it is
// then closed with kCancelled).
class EventSubscription {
 public:
  ~EventSubscription();
  EventSubscription(const EventSubscription&) = delete;
  EventSubscription& operator=(const EventSubscription&) = delete;

  // The next event, waiting until `deadline`. Errors: kDeadlineExceeded when
  // nothing arrived in time (the subscription stays open); kResourceExhausted
  // when the subscriber fell `max_pending` events behind and was dropped;
  // kCancelled after `Close()` or when the hub shut down. Once an error other
  // than kDeadlineExceeded is returned, every later call returns it too.
  absl::StatusOr<BbsEvent> Next(absl::Time deadline);

  // Ends the subscription from any thread; a blocked `Next()` returns
  // kCancelled.
  void Close();

 private:
  friend class EventHub;
  EventSubscription(std::shared_ptr<events_internal::HubState> hub, EventStream stream,
                    std::string cell_filter, size_t max_pending);
  // Queues the events of a published batch that this subscriber takes
  // (stream and cell filter). False when the subscription is (now) closed,
  // e.g. because it overflowed. Called by the hub under its lock.
  bool OfferBatch(const std::vector<std::shared_ptr<const BbsEvent>>& events);
  // Closes with `status` (first close wins) and drops the queue.
  void CloseLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<events_internal::HubState> hub_;
  const EventStream stream_;
  const std::string cell_filter_;
  const size_t max_pending_;
  absl::Mutex mu_;
  // Events are shared with the other subscribers of the same Publish.
  std::deque<std::shared_ptr<const BbsEvent>> queue_ ABSL_GUARDED_BY(mu_);
  absl::Status closed_ ABSL_GUARDED_BY(mu_);  // OK while open.
};

class EventHub final : public EventSink {
 public:
  // Diego's per-subscriber buffer.
  static constexpr size_t kDefaultMaxPending = 1024;

  explicit EventHub(size_t max_pending = kDefaultMaxPending);
  // Closes every subscription (kCancelled). Subscriptions may be destroyed
  // before or after the hub.
  ~EventHub() override;

  // Delivers each event to the subscribers of its stream whose cell filter
  // it passes. Never blocks on a subscriber.
  void Publish(std::vector<BbsEvent> events) override;

  // A new subscriber of `stream`; `cell_filter` "" = every event.
  std::unique_ptr<EventSubscription> Subscribe(EventStream stream,
                                               absl::string_view cell_filter = "");

  // Current subscribers (for metrics).
  size_t subscriber_count();

  // Closes every subscription with kCancelled (BBS shutdown). Later
  // subscriptions start closed (kCancelled).
  void CloseAll();

 private:
  const size_t max_pending_;
  const std::shared_ptr<events_internal::HubState> state_;
};

// -----------------------------------------------------------------------------
// Server-sent-event framing (go-sse's format, `bbs-wire-reference.md` 6.2).
// -----------------------------------------------------------------------------

// "id: <id>\nevent: <type>\ndata: <base64(payload)>\n\n".
std::string EncodeSseEvent(int64_t id, const BbsEvent& event);

// An event as read back from a stream.
struct SseEvent {
  std::string id;
  std::string type;
  std::string data;  // Base64-decoded payload bytes.
};

// Incremental SSE parser (go-sse's reader rules): feed it bytes as they
// arrive (any split), take complete events out. Lines end with LF or CRLF; a
// line starting with ":" is a comment; "field:value" and "field: value" (one
// leading space stripped; a line without ":" is a field with an empty value);
// `id`, `event` and `data` are kept, other fields ignored; several data lines
// are joined with "\n" and base64-decoded (line breaks ignored, as Go's
// decoder does). A blank line dispatches the event if it had any id/event/
// data field (an event without data gets empty data). `id` and `type` do not
// carry over to the next event.
//
// Bad base64 is kInvalidArgument from `Feed` (the first error of the call);
// that event is dropped and the rest of the bytes are still parsed.
class SseParser {
 public:
  absl::Status Feed(absl::string_view bytes);
  // Moves out the events completed so far.
  std::vector<SseEvent> TakeEvents();

 private:
  absl::Status ProcessLine(absl::string_view line);
  absl::Status Dispatch();

  std::string line_;       // The incomplete last line of the input so far.
  SseEvent current_;       // id and type of the event being read.
  std::string data_;       // Its data lines, joined.
  bool has_data_ = false;  // A data line was read.
  bool pending_ = false;   // An id/event/data line was read.
  std::vector<SseEvent> ready_;
};

}  // namespace diego::bbs

#endif  // DIEGO_BBS_EVENTS_H_
