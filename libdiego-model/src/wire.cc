// Copyright 2026 The libdiego Authors.
//
// Wire helpers: gogo's nullable=false fields and deterministic serialisation.
// Mirrors what gogo's generated Marshal() does for fields with
// `(gogoproto.nullable) = false`: it writes them unconditionally
// (see docs in wire.h and section 2 of the BBS wire reference).

#include "diego/model/wire.h"

#include <climits>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/base/const_init.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "diego/model/errors.h"
#include "diego/model/v1/go_json.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message.h"

namespace diego::model {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

bool IsNonNullable(const FieldDescriptor* f) {
  return f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated() &&
         f->options().GetExtension(v1::go_non_nullable);
}

// True if a non-nullable field is reachable from `root` through message
// fields. A plain graph walk per type, because message types can be recursive
// (Action -> SerialAction -> Action).
bool ReachesNonNullable(const Descriptor* root) {
  std::unordered_set<const Descriptor*> seen{root};
  std::deque<const Descriptor*> queue{root};
  while (!queue.empty()) {
    const Descriptor* d = queue.front();
    queue.pop_front();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
      if (IsNonNullable(f)) return true;
      if (seen.insert(f->message_type()).second) queue.push_back(f->message_type());
    }
  }
  return false;
}

// What `Fixup` has to do for one message type. Child plans are resolved when
// the plan is built, so a walk takes no lock and does no lookups.
struct FixupPlan {
  bool needed = false;                         // Anything at all to do.
  std::vector<const FieldDescriptor*> create;  // Non-nullable: always set.
  // Message fields whose type can contain non-nullable fields: recurse into
  // them when present (repeated and map fields: into each element or entry).
  std::vector<std::pair<const FieldDescriptor*, const FixupPlan*>> singular;
  std::vector<std::pair<const FieldDescriptor*, const FixupPlan*>> repeated;
};

// Returns the plan for `root`, building (once, under the lock) the plans of
// every message type reachable from it.
const FixupPlan& PlanFor(const Descriptor* root) {
  ABSL_CONST_INIT static absl::Mutex mu(absl::kConstInit);
  static auto* const plans =
      new std::unordered_map<const Descriptor*, std::unique_ptr<FixupPlan>>();
  absl::MutexLock lock(&mu);
  if (auto it = plans->find(root); it != plans->end()) return *it->second;

  std::vector<const Descriptor*> fresh;
  std::deque<const Descriptor*> queue{root};
  while (!queue.empty()) {
    const Descriptor* d = queue.front();
    queue.pop_front();
    if (plans->count(d) != 0) continue;
    (*plans)[d] = std::make_unique<FixupPlan>();
    fresh.push_back(d);
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) queue.push_back(f->message_type());
    }
  }
  for (const Descriptor* d : fresh) {
    FixupPlan& plan = *(*plans)[d];
    plan.needed = ReachesNonNullable(d);
    if (!plan.needed) continue;
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
      if (IsNonNullable(f)) plan.create.push_back(f);
      if (!ReachesNonNullable(f->message_type())) continue;
      (f->is_repeated() ? plan.repeated : plan.singular)
          .emplace_back(f, (*plans)[f->message_type()].get());
    }
  }
  return *(*plans)[root];
}

void Fixup(Message* m, const FixupPlan& plan) {
  const Reflection* r = m->GetReflection();
  for (const FieldDescriptor* f : plan.create) r->MutableMessage(m, f);
  for (const auto& [f, child] : plan.singular) {
    if (r->HasField(*m, f)) Fixup(r->MutableMessage(m, f), *child);
  }
  for (const auto& [f, child] : plan.repeated) {
    const int size = r->FieldSize(*m, f);
    for (int j = 0; j < size; ++j) Fixup(r->MutableRepeatedMessage(m, f, j), *child);
  }
}

// True if `Fixup` would change `m`: some non-nullable field is missing.
bool NeedsFixup(const Message& m, const FixupPlan& plan) {
  const Reflection* r = m.GetReflection();
  for (const FieldDescriptor* f : plan.create) {
    if (!r->HasField(m, f)) return true;
  }
  for (const auto& [f, child] : plan.singular) {
    if (r->HasField(m, f) && NeedsFixup(r->GetMessage(m, f), *child)) return true;
  }
  for (const auto& [f, child] : plan.repeated) {
    const int size = r->FieldSize(m, f);
    for (int j = 0; j < size; ++j) {
      if (NeedsFixup(r->GetRepeatedMessage(m, f, j), *child)) return true;
    }
  }
  return false;
}

}  // namespace

void SetNonNullableFields(Message* message) {
  const FixupPlan& plan = PlanFor(message->GetDescriptor());
  if (plan.needed) Fixup(message, plan);
}

std::string SerializeForWire(const Message& message) {
  std::unique_ptr<Message> copy;
  const Message* source = &message;
  const FixupPlan& plan = PlanFor(message.GetDescriptor());
  // Copy only when something is missing: messages that went through
  // ParseFromWire() or SetNonNullableFields() are written as they are.
  if (plan.needed && NeedsFixup(message, plan)) {
    copy.reset(message.New());
    copy->CopyFrom(message);
    Fixup(copy.get(), plan);
    source = copy.get();
  }
  // Size first, then one write into a buffer of exactly that size.
  const size_t size = source->ByteSizeLong();
  std::string out(size, '\0');
  google::protobuf::io::ArrayOutputStream array(out.data(), static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&array);
  coded.SetSerializationDeterministic(true);
  source->SerializeWithCachedSizes(&coded);
  if (coded.HadError()) return std::string();
  return out;
}

absl::Status ParseFromWire(absl::string_view bytes, Message* message) {
  if (bytes.size() > static_cast<size_t>(INT_MAX) ||
      !message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    message->Clear();
    return BbsError(
        v1::Error::InvalidProtobufMessage,
        absl::StrCat("malformed protobuf message '", message->GetDescriptor()->full_name(), "' (",
                     bytes.size(), " bytes)"));
  }
  SetNonNullableFields(message);
  return absl::OkStatus();
}

}  // namespace diego::model
