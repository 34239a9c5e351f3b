// Copyright 2026 The libdiego Authors.
//
// Round trips for EVERY message type in diego.model.v1: each is filled
// deterministically by reflection (all fields, nested to a bounded depth, one
// member per oneof, valid JSON for route values) and must survive the
// protobuf wire (SerializeForWire / ParseFromWire) and Go JSON (ToGoJson /
// FromGoJson) unchanged; so must the all-default message. A codec rule that
// loses data for some field shape fails here with the message type's name.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "diego/model/go_json.h"
#include "diego/model/models.h"
#include "diego/model/wire.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace diego::model {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FileDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::MessageFactory;
using ::google::protobuf::Reflection;
using ::google::protobuf::util::MessageDifferencer;

constexpr int kMaxDepth = 5;

// One message per generated file; naming them links every .pb.cc in.

std::vector<const Descriptor*> AllMessageTypes() {
  std::vector<const Descriptor*> out;
  for (const FileDescriptor* file : ModelProtoFiles()) {
    for (int i = 0; i < file->message_type_count(); ++i) out.push_back(file->message_type(i));
  }
  return out;
}

// Fills every field of a message with deterministic, varied values that
// exercise the codecs' edge cases: extreme integers, characters Go escapes,
// non-ASCII text, unsorted map keys, the last (non-zero) enum value, and
// route values that are valid JSON documents.
class Populator {
 public:
  void Fill(Message* m, int depth) {
    const Descriptor* d = m->GetDescriptor();
    const Reflection* r = m->GetReflection();
    const bool routes = d->full_name() == "diego.model.v1.ProtoRoutes";
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (const auto* oneof = f->real_containing_oneof(); oneof != nullptr) {
        // One member per oneof, rotating which one.
        if (oneof->field(static_cast<int>(counter_ % oneof->field_count())) != f) continue;
      }
      if (f->is_map()) {
        for (const char* key : {"k2", "k10", "k1"}) {
          Message* entry = r->AddMessage(m, f);
          const Reflection* er = entry->GetReflection();
          const FieldDescriptor* kf = entry->GetDescriptor()->map_key();
          const FieldDescriptor* vf = entry->GetDescriptor()->map_value();
          er->SetString(entry, kf, key);
          if (routes) {
            er->SetString(entry, vf, RouteJson());
          } else if (vf->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
            if (depth < kMaxDepth) Fill(er->MutableMessage(entry, vf), depth + 1);
          } else {
            SetScalar(entry, vf);
          }
        }
        continue;
      }
      if (f->is_repeated()) {
        for (int n = 0; n < 2; ++n) {
          if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
            if (depth < kMaxDepth) Fill(r->AddMessage(m, f), depth + 1);
          } else {
            AddScalar(m, f);
          }
        }
        continue;
      }
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (depth < kMaxDepth) Fill(r->MutableMessage(m, f), depth + 1);
        continue;
      }
      SetScalar(m, f);
    }
  }

 private:
  std::string NextString() {
    return absl::StrCat("s", ++counter_, " <&> \"q\" \\ \u00e9\u2028 \t");
  }

  std::string RouteJson() {
    return absl::StrCat(R"([{"hostnames":["h)", ++counter_,
                        R"(.example.com"],"port":8080,"w":1.5e3,"ok":true,"n":null}])");
  }

  void SetScalar(Message* m, const FieldDescriptor* f) {
    const Reflection* r = m->GetReflection();
    ++counter_;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(
            m, f,
            counter_ % 2 ? std::numeric_limits<int32_t>::min() : static_cast<int32_t>(counter_));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(
            m, f,
            counter_ % 2 ? std::numeric_limits<int64_t>::max() : -static_cast<int64_t>(counter_));
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        r->SetUInt32(m, f, counter_ % 2 ? std::numeric_limits<uint32_t>::max() : counter_);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(m, f, counter_ % 2 ? std::numeric_limits<uint64_t>::max() : counter_);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        r->SetFloat(m, f, 0.25f * static_cast<float>(counter_));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        r->SetDouble(m, f, 1.0e-7 * counter_);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(m, f, true);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(m, f, f->enum_type()->value(f->enum_type()->value_count() - 1)->number());
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(m, f,
                     f->type() == FieldDescriptor::TYPE_BYTES ? std::string("\x00\xff\x01", 3)
                                                              : NextString());
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
  }

  void AddScalar(Message* m, const FieldDescriptor* f) {
    const Reflection* r = m->GetReflection();
    ++counter_;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        r->AddInt32(m, f, -static_cast<int32_t>(counter_));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->AddInt64(m, f, std::numeric_limits<int64_t>::min() + counter_);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        r->AddUInt32(m, f, counter_ % 2 ? std::numeric_limits<uint32_t>::max() : counter_);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->AddUInt64(m, f, std::numeric_limits<uint64_t>::max() - counter_);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        r->AddFloat(m, f, 0.5f * static_cast<float>(counter_));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        r->AddDouble(m, f, 3.0e21 * counter_);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->AddBool(m, f, counter_ % 2 == 0);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->AddEnumValue(m, f, f->enum_type()->value(f->enum_type()->value_count() - 1)->number());
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->AddString(m, f, NextString());
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
  }

  uint32_t counter_ = 0;
};

std::unique_ptr<Message> NewMessage(const Descriptor* d) {
  return std::unique_ptr<Message>(MessageFactory::generated_factory()->GetPrototype(d)->New());
}

// Returns "" if equal, else the differences.
std::string Differences(const Message& want, const Message& got) {
  MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(want, got)) return "";
  return report.empty() ? "messages differ" : report;
}

// Wire: the parsed copy equals the original (as gogo sees it, i.e. with its
// non-nullable sub-messages present) and re-serialises to the same bytes.
void ExpectWireRoundTrip(const Message& original) {
  const std::string name = original.GetDescriptor()->full_name();
  std::unique_ptr<Message> want(original.New());
  want->CopyFrom(original);
  SetNonNullableFields(want.get());

  const std::string bytes = SerializeForWire(original);
  std::unique_ptr<Message> parsed(original.New());
  ASSERT_THAT(ParseFromWire(bytes, parsed.get()), fakes::IsOk()) << name;
  EXPECT_EQ(Differences(*want, *parsed), "") << name << " (protobuf wire)";
  EXPECT_EQ(SerializeForWire(*parsed), bytes) << name << " (protobuf wire, re-encoded)";
}

void ExpectGoJsonRoundTrip(const Message& original) {
  const std::string name = original.GetDescriptor()->full_name();
  std::unique_ptr<Message> want(original.New());
  want->CopyFrom(original);
  SetNonNullableFields(want.get());

  absl::StatusOr<std::string> json = ToGoJson(original);
  ASSERT_THAT(json, fakes::IsOk()) << name;
  std::unique_ptr<Message> decoded(original.New());
  ASSERT_THAT(FromGoJson(*json, decoded.get()), fakes::IsOk()) << name << "\n" << *json;
  EXPECT_EQ(Differences(*want, *decoded), "") << name << " (Go JSON)\n" << *json;
  absl::StatusOr<std::string> again = ToGoJson(*decoded);
  ASSERT_THAT(again, fakes::IsOk()) << name;
  EXPECT_EQ(*again, *json) << name << " (Go JSON, re-encoded)";

  GoJsonOptions pretty;
  pretty.pretty = true;
  absl::StatusOr<std::string> indented = ToGoJson(original, pretty);
  ASSERT_THAT(indented, fakes::IsOk()) << name;
  std::unique_ptr<Message> from_indented(original.New());
  ASSERT_THAT(FromGoJson(*indented, from_indented.get()), fakes::IsOk()) << name;
  // Route values keep their raw (here: indented) text, as a Go RawMessage
  // does, so compare through the compact form, which compacts them again.
  absl::StatusOr<std::string> compacted = ToGoJson(*from_indented);
  ASSERT_THAT(compacted, fakes::IsOk()) << name;
  EXPECT_EQ(*compacted, *json) << name << " (indented Go JSON)";
}

TEST(RoundTripTest, CoversEveryMessageType) {
  // 118 BBS messages plus Locket's 9.
  EXPECT_EQ(AllMessageTypes().size(), 127u);
}

TEST(RoundTripTest, PopulatedMessagesSurviveTheProtobufWire) {
  for (const Descriptor* d : AllMessageTypes()) {
    std::unique_ptr<Message> m = NewMessage(d);
    Populator().Fill(m.get(), 0);
    ExpectWireRoundTrip(*m);
  }
}

TEST(RoundTripTest, PopulatedMessagesSurviveGoJson) {
  for (const Descriptor* d : AllMessageTypes()) {
    std::unique_ptr<Message> m = NewMessage(d);
    Populator().Fill(m.get(), 0);
    ExpectGoJsonRoundTrip(*m);
  }
}

TEST(RoundTripTest, PopulatingReallySetsEveryField) {
  // Guards the two tests above against a populator that silently skips.
  for (const Descriptor* d : AllMessageTypes()) {
    std::unique_ptr<Message> m = NewMessage(d);
    Populator().Fill(m.get(), 0);
    std::vector<const FieldDescriptor*> set;
    m->GetReflection()->ListFields(*m, &set);
    int expected = d->field_count();
    for (int i = 0; i < d->real_oneof_decl_count(); ++i) {
      expected -= d->oneof_decl(i)->field_count() - 1;
    }
    EXPECT_EQ(static_cast<int>(set.size()), expected) << d->full_name();
  }
}

TEST(RoundTripTest, EmptyMessagesSurviveBothCodecs) {
  for (const Descriptor* d : AllMessageTypes()) {
    std::unique_ptr<Message> m = NewMessage(d);
    ExpectWireRoundTrip(*m);
    ExpectGoJsonRoundTrip(*m);
  }
}

TEST(RoundTripTest, EveryOneofMemberSurvivesBothCodecs) {
  // The populator picks one member per oneof; exercise each member on its own,
  // with both a zero and a non-zero value.
  for (const Descriptor* d : AllMessageTypes()) {
    for (int i = 0; i < d->real_oneof_decl_count(); ++i) {
      for (int j = 0; j < d->oneof_decl(i)->field_count(); ++j) {
        const FieldDescriptor* f = d->oneof_decl(i)->field(j);
        for (bool zero : {true, false}) {
          std::unique_ptr<Message> m = NewMessage(d);
          const Reflection* r = m->GetReflection();
          switch (f->cpp_type()) {
            case FieldDescriptor::CPPTYPE_BOOL:
              r->SetBool(m.get(), f, !zero);
              break;
            case FieldDescriptor::CPPTYPE_INT32:
              r->SetInt32(m.get(), f, zero ? 0 : -7);
              break;
            case FieldDescriptor::CPPTYPE_UINT64:
              r->SetUInt64(m.get(), f, zero ? 0 : 7);
              break;
            case FieldDescriptor::CPPTYPE_STRING:
              r->SetString(m.get(), f, zero ? "" : "x");
              break;
            default:
              ADD_FAILURE() << "unexpected oneof member type in " << f->full_name();
          }
          ASSERT_TRUE(r->HasField(*m, f)) << f->full_name();
          ExpectWireRoundTrip(*m);
          ExpectGoJsonRoundTrip(*m);
        }
      }
    }
  }
}

}  // namespace
}  // namespace diego::model
