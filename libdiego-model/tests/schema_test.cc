// Copyright 2026 The libdiego Authors.
//
// Checks every diego.model.v1 message and enum against the facts extracted
// from Diego's own .proto files (tests/testdata/bbs-wire-facts.json): names,
// field numbers, types, labels, oneofs and Go JSON keys. A renumbered,
// retyped or renamed field breaks wire or JSON compatibility with Diego, so
// all mismatches are reported together in one failure.

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "diego/model/models.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace diego::model {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::DescriptorPool;
using ::google::protobuf::EnumDescriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FileDescriptor;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::IsEmpty;

constexpr char kPackage[] = "diego.model.v1.";


absl::StatusOr<Struct> LoadFacts() {
  const std::string path =
      absl::StrCat(DIEGO_SOURCE_DIR, "/libdiego-model/tests/testdata/bbs-wire-facts.json");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  Struct facts;
  auto status = google::protobuf::util::JsonStringToMessage(buffer.str(), &facts);
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  return facts;
}

const Struct& Sub(const Struct& s, const std::string& key) {
  return s.fields().at(key).struct_value();
}

std::string TypeNameOf(const FieldDescriptor* f) {
  if (f->message_type() != nullptr) return f->message_type()->name();
  if (f->enum_type() != nullptr) return f->enum_type()->name();
  return "";
}

std::string OneofOf(const FieldDescriptor* f) {
  return f->real_containing_oneof() != nullptr ? f->real_containing_oneof()->name() : "";
}

// Compares one message's fields with its facts, appending to `problems`.
void CompareMessage(const std::string& name, const Struct& fact_fields, const Descriptor* d,
                    std::vector<std::string>* problems) {
  std::set<std::string> seen;
  for (const auto& [field_name, fact_value] : fact_fields.fields()) {
    seen.insert(field_name);
    const Struct& fact = fact_value.struct_value();
    const FieldDescriptor* f = d->FindFieldByName(field_name);
    if (f == nullptr) {
      problems->push_back(absl::StrCat(name, ".", field_name, ": missing"));
      continue;
    }
    auto check = [&](absl::string_view what, const std::string& want, const std::string& got) {
      if (want != got) {
        problems->push_back(absl::StrCat(name, ".", field_name, ": ", what, " is '", got,
                                         "', Diego has '", want, "'"));
      }
    };
    check("number", absl::StrCat(static_cast<int>(fact.fields().at("number").number_value())),
          absl::StrCat(f->number()));
    check("type", fact.fields().at("type").string_value(), f->type_name());
    check("label", fact.fields().at("label").string_value(),
          f->is_repeated() ? "repeated" : "optional");
    check("type_name", fact.fields().at("type_name").string_value(), TypeNameOf(f));
    check("oneof", fact.fields().at("oneof").string_value(), OneofOf(f));
    check("json_name", fact.fields().at("json").string_value(),
          f->has_json_name() ? f->json_name() : "(unset)");
  }
  for (int i = 0; i < d->field_count(); ++i) {
    if (seen.count(d->field(i)->name()) == 0) {
      problems->push_back(absl::StrCat(name, ".", d->field(i)->name(), ": not in Diego's model"));
    }
  }
}

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ModelProtoFiles();  // Links the generated files in.
    absl::StatusOr<Struct> facts = LoadFacts();
    ASSERT_TRUE(facts.ok()) << facts.status();
    facts_ = *std::move(facts);
  }

  Struct facts_;
};

TEST_F(SchemaTest, FactsFileIsComplete) {
  // Guards against a truncated testdata file making the other checks vacuous.
  EXPECT_EQ(Sub(facts_, "messages").fields_size(), 118);
  EXPECT_EQ(Sub(facts_, "enums").fields_size(), 9);
}

TEST_F(SchemaTest, EveryDiegoMessageMatchesFieldByField) {
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  std::vector<std::string> problems;
  for (const auto& [name, fields] : Sub(facts_, "messages").fields()) {
    const Descriptor* d = pool->FindMessageTypeByName(kPackage + name);
    if (d == nullptr) {
      problems.push_back(absl::StrCat(name, ": message missing"));
      continue;
    }
    CompareMessage(name, fields.struct_value(), d, &problems);
  }
  EXPECT_THAT(problems, IsEmpty()) << absl::StrJoin(problems, "\n");
}

TEST_F(SchemaTest, EveryDiegoEnumMatchesValueByValue) {
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  std::vector<std::string> problems;
  for (const auto& [name, values] : Sub(facts_, "enums").fields()) {
    const EnumDescriptor* e = pool->FindEnumTypeByName(kPackage + name);
    if (e == nullptr) {
      problems.push_back(absl::StrCat(name, ": enum missing"));
      continue;
    }
    const Struct& want = values.struct_value();
    for (const auto& [value_name, number] : want.fields()) {
      const auto* v = e->FindValueByName(value_name);
      if (v == nullptr) {
        problems.push_back(absl::StrCat(name, ".", value_name, ": missing"));
      } else if (v->number() != static_cast<int>(number.number_value())) {
        problems.push_back(absl::StrCat(name, ".", value_name, ": number is ", v->number(),
                                        ", Diego has ", number.number_value()));
      }
    }
    for (int i = 0; i < e->value_count(); ++i) {
      if (want.fields().count(e->value(i)->name()) == 0) {
        problems.push_back(absl::StrCat(name, ".", e->value(i)->name(), ": not in Diego's model"));
      }
    }
  }
  EXPECT_THAT(problems, IsEmpty()) << absl::StrJoin(problems, "\n");
}

TEST_F(SchemaTest, EveryBbsMessageAndEnumWeDeclareIsDiegos) {
  // Locket's messages live in the same package but are not BBS models, and
  // go_json.proto only declares options.
  const auto& messages = Sub(facts_, "messages").fields();
  const auto& enums = Sub(facts_, "enums").fields();
  std::vector<std::string> problems;
  int declared = 0;
  for (const FileDescriptor* file : ModelProtoFiles()) {
    if (file->name() == "diego/model/v1/locket.proto") continue;
    for (int i = 0; i < file->message_type_count(); ++i) {
      const Descriptor* d = file->message_type(i);
      ++declared;
      if (messages.count(d->name()) == 0) {
        problems.push_back(absl::StrCat(d->full_name(), ": not a Diego message"));
      }
      for (int j = 0; j < d->enum_type_count(); ++j) {
        const std::string name = absl::StrCat(d->name(), ".", d->enum_type(j)->name());
        if (enums.count(name) == 0) problems.push_back(absl::StrCat(name, ": not a Diego enum"));
      }
      for (int j = 0; j < d->nested_type_count(); ++j) {
        if (!d->nested_type(j)->options().map_entry()) {
          problems.push_back(
              absl::StrCat(d->nested_type(j)->full_name(), ": unexpected nested message"));
        }
      }
    }
    if (file->enum_type_count() != 0) {
      problems.push_back(absl::StrCat(file->name(), ": unexpected top-level enum"));
    }
  }
  EXPECT_EQ(declared, 118);
  EXPECT_THAT(problems, IsEmpty()) << absl::StrJoin(problems, "\n");
}

}  // namespace
}  // namespace diego::model
