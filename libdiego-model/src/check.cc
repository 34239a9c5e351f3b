#include "diego/model/check.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "diego/base/status_macros.h"
#include "diego/model/errors.h"
#include "diego/model/go_json.h"
#include "diego/model/models.h"
#include "diego/model/validation.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace diego::model {
namespace {

namespace pb = ::google::protobuf;

constexpr absl::string_view kPackage = "diego.model.v1.";

// Mirrors what an operator means by a bare document: cfdot prints DesiredLRPs
// (keyed by process_guid) and Tasks (keyed by task_guid).
absl::StatusOr<std::string> DetectType(absl::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Let the codec produce its precise "malformed JSON at offset N" error.
    return std::string("DesiredLRP");
  }
  if (!doc.is_object()) {
    return absl::InvalidArgumentError("cannot detect the type: the document is not a JSON object");
  }
  if (doc.contains("process_guid")) {
    return std::string("DesiredLRP");
  }
  if (doc.contains("task_guid")) {
    return std::string("Task");
  }
  return absl::InvalidArgumentError(
      "cannot detect the type: no \"process_guid\" (DesiredLRP) or \"task_guid\" (Task) key; "
      "pass --type");
}

// The record's identity for messages: the first identifying string field set.
std::string Describe(const pb::Message& message) {
  const pb::Descriptor* descriptor = message.GetDescriptor();
  const pb::Reflection* reflection = message.GetReflection();
  for (const char* name : {"process_guid", "task_guid", "cell_id", "key", "domain"}) {
    const pb::FieldDescriptor* field = descriptor->FindFieldByName(name);
    if (field != nullptr && field->type() == pb::FieldDescriptor::TYPE_STRING &&
        !field->is_repeated()) {
      std::string value = reflection->GetString(message, field);
      if (!value.empty()) {
        return absl::StrCat(descriptor->name(), " \"", value, "\"");
      }
    }
  }
  return descriptor->name();
}

}  // namespace

absl::StatusOr<CheckResult> CheckJsonDocument(absl::string_view json, absl::string_view type) {
  std::string type_name(type);
  if (type == "auto") {
    DIEGO_ASSIGN_OR_RETURN(type_name, DetectType(json));
  }
  ModelProtoFiles();  // Every generated type must be linked in to be found by name.
  const pb::Descriptor* descriptor =
      pb::DescriptorPool::generated_pool()->FindMessageTypeByName(absl::StrCat(kPackage, type_name));
  if (descriptor == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown message type \"", type_name, "\" (want a diego.model.v1 message ",
                     "name such as DesiredLRP or Task, or auto)"));
  }
  std::unique_ptr<pb::Message> message(
      pb::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  DIEGO_RETURN_IF_ERROR(FromGoJson(json, message.get()));

  CheckResult result;
  result.type_name = type_name;
  result.description = Describe(*message);
  result.validation = ValidateMessage(*message);
  DIEGO_ASSIGN_OR_RETURN(result.normalized_json, ToGoJson(*message, {.pretty = true}));
  return result;
}

}  // namespace diego::model
