#include "diego/auction/json.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "diego/base/status_macros.h"
#include "diego/model/internal/go_json_string.h"
#include "nlohmann/json.hpp"

namespace diego::auction {
namespace {

// ordered_json keeps keys in document order, which Go's "last matching key
// wins" rule needs.
using Json = nlohmann::ordered_json;

// -----------------------------------------------------------------------------
// Encoding.
// -----------------------------------------------------------------------------

// Go's encoding/json string escaping (HTML escaping on, as json.Marshal).
void AppendString(std::string* out, absl::string_view s) {
  model_internal::AppendGoJsonString(s, out);
}

// Writes one object, inserting commas between members.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  ~ObjectWriter() { out_->push_back('}'); }

  // Appends the key and returns the buffer for the caller to write the value.
  std::string* Key(absl::string_view key) {
    if (!first_) {
      out_->push_back(',');
    }
    first_ = false;
    AppendString(out_, key);
    out_->push_back(':');
    return out_;
  }

  void String(absl::string_view key, absl::string_view value) { AppendString(Key(key), value); }
  void Int(absl::string_view key, int64_t value) { absl::StrAppend(Key(key), value); }
  void Bool(absl::string_view key, bool value) { Key(key)->append(value ? "true" : "false"); }
  void Strings(absl::string_view key, const std::vector<std::string>& values) {
    std::string* out = Key(key);
    out->push_back('[');
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) {
        out->push_back(',');
      }
      AppendString(out, values[i]);
    }
    out->push_back(']');
  }

 private:
  std::string* out_;
  bool first_ = true;
};

template <typename T, typename F>
void AppendArray(std::string* out, const std::vector<T>& items, F append_item) {
  out->push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out->push_back(',');
    }
    append_item(out, items[i]);
  }
  out->push_back(']');
}

// Embedded `rep.PlacementConstraint`, flattened.
void WriteConstraintFields(ObjectWriter* w, const PlacementConstraint& c) {
  w->Strings("PlacementTags", c.placement_tags);
  w->Strings("VolumeDrivers", c.volume_drivers);
  w->String("RootFs", c.root_fs);
}

// Embedded `rep.Resource`, flattened.
void WriteResourceFields(ObjectWriter* w, const Resource& r) {
  w->Int("MemoryMB", r.memory_mb);
  w->Int("DiskMB", r.disk_mb);
  w->Int("MaxPids", r.max_pids);
}

void AppendResources(std::string* out, const Resources& r) {
  ObjectWriter w(out);
  w.Int("MemoryMB", r.memory_mb);
  w.Int("DiskMB", r.disk_mb);
  w.Int("Containers", r.containers);
}

void AppendResource(std::string* out, const Resource& r) {
  ObjectWriter w(out);
  WriteResourceFields(&w, r);
}

void AppendConstraint(std::string* out, const PlacementConstraint& c) {
  ObjectWriter w(out);
  WriteConstraintFields(&w, c);
}

void AppendProviders(std::string* out, const model::RootFsProviders& providers) {
  ObjectWriter w(out);
  for (const std::string& scheme : providers.Schemes()) {
    std::string* value = w.Key(scheme);
    ObjectWriter provider(value);
    if (providers.TypeOf(scheme) == model::RootFsProviderType::kFixedSet) {
      // Go marshals a map[string]*json.RawMessage here, so "set" precedes
      // "type" (sorted keys).
      std::string* set = provider.Key("set");
      ObjectWriter stacks(set);
      for (const std::string& stack : providers.FixedSet(scheme)) {
        stacks.Key(stack)->append("{}");
      }
    }
    if (providers.TypeOf(scheme) == model::RootFsProviderType::kFixedSet) {
      provider.String("type", "fixed_set");
    } else {
      provider.String("type", "arbitrary");
    }
  }
}

void AppendLrp(std::string* out, const Lrp& lrp) {
  ObjectWriter w(out);
  w.String("instance_guid", lrp.instance_guid);
  w.String("process_guid", lrp.process_guid);
  w.Int("index", lrp.index);
  w.String("domain", lrp.domain);
  WriteConstraintFields(&w, lrp.constraint);
  WriteResourceFields(&w, lrp.resource);
  w.String("state", lrp.state);
}

void AppendTask(std::string* out, const Task& task) {
  ObjectWriter w(out);
  w.String("TaskGuid", task.task_guid);
  w.String("Domain", task.domain);
  WriteConstraintFields(&w, task.constraint);
  WriteResourceFields(&w, task.resource);
  w.String("state", task.state.empty() ? "Invalid" : task.state);
  w.Bool("failed", task.failed);
}

void AppendLrpStartRequest(std::string* out, const LrpStartRequest& request) {
  ObjectWriter w(out);
  w.String("process_guid", request.process_guid);
  w.String("domain", request.domain);
  AppendArray(w.Key("indices"), request.indices,
              [](std::string* o, int32_t index) { absl::StrAppend(o, index); });
  WriteConstraintFields(&w, request.constraint);
  WriteResourceFields(&w, request.resource);
}

void AppendCellState(std::string* out, const CellState& state) {
  ObjectWriter w(out);
  w.String("rep_url", state.rep_url);
  w.String("cell_id", state.cell_id);
  w.Int("cell_index", state.cell_index);
  AppendProviders(w.Key("RootFSProviders"), state.rootfs_providers);
  AppendResources(w.Key("AvailableResources"), state.available_resources);
  AppendResources(w.Key("TotalResources"), state.total_resources);
  AppendArray(w.Key("LRPs"), state.lrps, AppendLrp);
  AppendArray(w.Key("Tasks"), state.tasks, AppendTask);
  w.Int("StartingContainerCount", state.starting_container_count);
  w.String("Zone", state.zone);
  w.Bool("Evacuating", state.evacuating);
  w.Strings("VolumeDrivers", state.volume_drivers);
  w.Strings("PlacementTags", state.placement_tags);
  w.Strings("OptionalPlacementTags", state.optional_placement_tags);
  w.Int("ProxyMemoryAllocationMB", state.proxy_memory_allocation_mb);
}

void AppendWork(std::string* out, const Work& work) {
  ObjectWriter w(out);
  AppendArray(w.Key("LRPs"), work.lrps, AppendLrp);
  AppendArray(w.Key("Tasks"), work.tasks, AppendTask);
  if (!work.cell_id.empty()) {  // `json:"cell_id,omitempty"`
    w.String("cell_id", work.cell_id);
  }
}

template <typename T, typename F>
std::string Encode(const T& value, F append) {
  std::string out;
  append(&out, value);
  return out;
}

// -----------------------------------------------------------------------------
// Decoding.
// -----------------------------------------------------------------------------

std::string Child(const std::string& path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

std::string Element(const std::string& path, size_t index) {
  return absl::StrCat(path, "[", index, "]");
}

absl::Status Error(const std::string& path, absl::string_view problem) {
  if (path.empty()) {
    return absl::InvalidArgumentError(problem);
  }
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

// Names a JSON value's kind for error messages, with the number itself for
// numbers so "got number 1.5" explains why an integer was refused.
std::string Describe(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return absl::StrCat("number ", j.dump());
    default:
      return "invalid value";
  }
}

absl::Status TypeError(const Json& j, const std::string& path, absl::string_view expected) {
  return Error(path, absl::StrCat("expected ", expected, ", got ", Describe(j)));
}

// Go's field matching: an exact key first, otherwise an ASCII
// case-insensitive one. Returns the index of the field named by `key` in
// `fields`, or -1 for an unknown key (ignored, as Go ignores it).
template <size_t N>
int MatchField(absl::string_view key, const absl::string_view (&fields)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (key == fields[i]) {
      return static_cast<int>(i);
    }
  }
  for (size_t i = 0; i < N; ++i) {
    if (absl::EqualsIgnoreCase(key, fields[i])) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

absl::Status DecodeInt32(const Json& j, const std::string& path, int32_t* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  int64_t value;
  if (j.is_number_integer() && !j.is_number_unsigned()) {
    value = j.get<int64_t>();
  } else if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
      return Error(path, absl::StrCat("number ", u, " overflows int32"));
    }
    value = static_cast<int64_t>(u);
  } else {
    return TypeError(j, path, "an integer");
  }
  if (value < std::numeric_limits<int32_t>::min() ||
      value > std::numeric_limits<int32_t>::max()) {
    return Error(path, absl::StrCat("number ", value, " overflows int32"));
  }
  *out = static_cast<int32_t>(value);
  return absl::OkStatus();
}

absl::Status DecodeString(const Json& j, const std::string& path, std::string* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  if (!j.is_string()) {
    return TypeError(j, path, "a string");
  }
  *out = j.get<std::string>();
  return absl::OkStatus();
}

absl::Status DecodeBool(const Json& j, const std::string& path, bool* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  if (!j.is_boolean()) {
    return TypeError(j, path, "a boolean");
  }
  *out = j.get<bool>();
  return absl::OkStatus();
}

// Decodes a JSON array with `decode_item(item_json, item_path, item*)`. A
// `null` array is Go's nil slice: empty.
template <typename T, typename F>
absl::Status DecodeArray(const Json& j, const std::string& path, std::vector<T>* out,
                         F decode_item) {
  out->clear();
  if (j.is_null()) {
    return absl::OkStatus();
  }
  if (!j.is_array()) {
    return TypeError(j, path, "an array");
  }
  out->resize(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    DIEGO_RETURN_IF_ERROR(decode_item(j[i], Element(path, i), &(*out)[i]));
  }
  return absl::OkStatus();
}

absl::Status DecodeStrings(const Json& j, const std::string& path,
                           std::vector<std::string>* out) {
  return DecodeArray(j, path, out, DecodeString);
}

// Checks that `j` is an object; `null` is accepted by every caller first.
absl::Status ExpectObject(const Json& j, const std::string& path) {
  if (!j.is_object()) {
    return TypeError(j, path, "an object");
  }
  return absl::OkStatus();
}

constexpr absl::string_view kResourcesFields[] = {"MemoryMB", "DiskMB", "Containers"};

absl::Status DecodeResources(const Json& j, const std::string& path, Resources* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  DIEGO_RETURN_IF_ERROR(ExpectObject(j, path));
  for (const auto& [key, value] : j.items()) {
    const std::string child = Child(path, key);
    switch (MatchField(key, kResourcesFields)) {
      case 0:
        DIEGO_RETURN_IF_ERROR(DecodeInt32(value, child, &out->memory_mb));
        break;
      case 1:
        DIEGO_RETURN_IF_ERROR(DecodeInt32(value, child, &out->disk_mb));
        break;
      case 2:
        DIEGO_RETURN_IF_ERROR(DecodeInt32(value, child, &out->containers));
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

// The keys of the embedded `PlacementConstraint` and `Resource`, which appear
// flattened in several parents. Returns true if `key` named one of them
// (whether or not decoding succeeded; the status says that).
constexpr absl::string_view kConstraintResourceFields[] = {
    "PlacementTags", "VolumeDrivers", "RootFs", "MemoryMB", "DiskMB", "MaxPids"};

absl::Status DecodeConstraintResourceField(int field, const Json& value, const std::string& path,
                                           PlacementConstraint* constraint,
                                           Resource* resource) {
  switch (field) {
    case 0:
      return DecodeStrings(value, path, &constraint->placement_tags);
    case 1:
      return DecodeStrings(value, path, &constraint->volume_drivers);
    case 2:
      return DecodeString(value, path, &constraint->root_fs);
    case 3:
      return DecodeInt32(value, path, &resource->memory_mb);
    case 4:
      return DecodeInt32(value, path, &resource->disk_mb);
    case 5:
      return DecodeInt32(value, path, &resource->max_pids);
    default:
      return absl::OkStatus();
  }
}

absl::Status DecodeResource(const Json& j, const std::string& path, Resource* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  DIEGO_RETURN_IF_ERROR(ExpectObject(j, path));
  PlacementConstraint ignored;
  for (const auto& [key, value] : j.items()) {
    const int field = MatchField(key, kConstraintResourceFields);
    if (field >= 3) {
      DIEGO_RETURN_IF_ERROR(
          DecodeConstraintResourceField(field, value, Child(path, key), &ignored, out));
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeConstraint(const Json& j, const std::string& path, PlacementConstraint* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  DIEGO_RETURN_IF_ERROR(ExpectObject(j, path));
  Resource ignored;
  for (const auto& [key, value] : j.items()) {
    const int field = MatchField(key, kConstraintResourceFields);
    if (field >= 0 && field < 3) {
      DIEGO_RETURN_IF_ERROR(
          DecodeConstraintResourceField(field, value, Child(path, key), out, &ignored));
    }
  }
  return absl::OkStatus();
}

// bbs rootfs_providers.go: {scheme: {"type":"arbitrary"} |
// {"type":"fixed_set","set":{stack:{}}}}.
absl::Status DecodeProviders(const Json& j, const std::string& path,
                             model::RootFsProviders* out) {
  *out = model::RootFsProviders();
  if (j.is_null()) {
    return absl::OkStatus();
  }
  DIEGO_RETURN_IF_ERROR(ExpectObject(j, path));
  static constexpr absl::string_view kProviderFields[] = {"type", "set"};
  for (const auto& [scheme, provider] : j.items()) {
    const std::string provider_path = Child(path, scheme);
    if (provider.is_null()) {
      continue;  // Go: an envelope with no type, i.e. no usable provider.
    }
    DIEGO_RETURN_IF_ERROR(ExpectObject(provider, provider_path));
    std::string type;
    std::vector<std::string> stacks;
    for (const auto& [key, value] : provider.items()) {
      const std::string child = Child(provider_path, key);
      switch (MatchField(key, kProviderFields)) {
        case 0:
          DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &type));
          break;
        case 1:
          stacks.clear();
          if (value.is_null()) {
            break;
          }
          DIEGO_RETURN_IF_ERROR(ExpectObject(value, child));
          for (const auto& [stack, member] : value.items()) {
            // A Go `map[string]struct{}`: each value must be an object (its
            // keys are ignored) or null.
            if (!member.is_null() && !member.is_object()) {
              return TypeError(member, Child(child, stack), "an object");
            }
            stacks.push_back(stack);
          }
          break;
        default:
          break;
      }
    }
    if (type == "arbitrary") {
      out->SetArbitrary(scheme);
    } else if (type == "fixed_set") {
      out->SetFixedSet(scheme, stacks);
    }
    // Any other type: Go stores a nil provider that never matches; skip it.
  }
  return absl::OkStatus();
}

constexpr absl::string_view kLrpFields[] = {"instance_guid", "process_guid", "index", "domain",
                                            "state"};

absl::Status DecodeLrp(const Json& j, const std::string& path, Lrp* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  DIEGO_RETURN_IF_ERROR(ExpectObject(j, path));
  for (const auto& [key, value] : j.items()) {
    const std::string child = Child(path, key);
    switch (MatchField(key, kLrpFields)) {
      case 0:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->instance_guid));
        continue;
      case 1:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->process_guid));
        continue;
      case 2:
        DIEGO_RETURN_IF_ERROR(DecodeInt32(value, child, &out->index));
        continue;
      case 3:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->domain));
        continue;
      case 4:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->state));
        continue;
      default:
        break;
    }
    DIEGO_RETURN_IF_ERROR(DecodeConstraintResourceField(
        MatchField(key, kConstraintResourceFields), value, child, &out->constraint,
        &out->resource));
  }
  return absl::OkStatus();
}

// bbs `Task_State.UnmarshalJSON`: the value's name, as a JSON string.
absl::Status DecodeTaskState(const Json& j, const std::string& path, std::string* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  if (!j.is_string()) {
    return TypeError(j, path, "a string");
  }
  const std::string name = j.get<std::string>();
  if (name == "Invalid") {
    out->clear();
  } else if (name == "Pending" || name == "Running" || name == "Completed" ||
             name == "Resolving") {
    *out = name;
  } else {
    std::string quoted;
    AppendString(&quoted, name);
    return Error(path, absl::StrCat("invalid task state ", quoted));
  }
  return absl::OkStatus();
}

constexpr absl::string_view kTaskFields[] = {"TaskGuid", "Domain", "state", "failed"};

absl::Status DecodeTask(const Json& j, const std::string& path, Task* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  DIEGO_RETURN_IF_ERROR(ExpectObject(j, path));
  for (const auto& [key, value] : j.items()) {
    const std::string child = Child(path, key);
    switch (MatchField(key, kTaskFields)) {
      case 0:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->task_guid));
        continue;
      case 1:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->domain));
        continue;
      case 2:
        DIEGO_RETURN_IF_ERROR(DecodeTaskState(value, child, &out->state));
        continue;
      case 3:
        DIEGO_RETURN_IF_ERROR(DecodeBool(value, child, &out->failed));
        continue;
      default:
        break;
    }
    DIEGO_RETURN_IF_ERROR(DecodeConstraintResourceField(
        MatchField(key, kConstraintResourceFields), value, child, &out->constraint,
        &out->resource));
  }
  return absl::OkStatus();
}

constexpr absl::string_view kLrpStartRequestFields[] = {"process_guid", "domain", "indices"};

absl::Status DecodeLrpStartRequest(const Json& j, const std::string& path, LrpStartRequest* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  DIEGO_RETURN_IF_ERROR(ExpectObject(j, path));
  for (const auto& [key, value] : j.items()) {
    const std::string child = Child(path, key);
    switch (MatchField(key, kLrpStartRequestFields)) {
      case 0:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->process_guid));
        continue;
      case 1:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->domain));
        continue;
      case 2:
        DIEGO_RETURN_IF_ERROR(DecodeArray(value, child, &out->indices, DecodeInt32));
        continue;
      default:
        break;
    }
    DIEGO_RETURN_IF_ERROR(DecodeConstraintResourceField(
        MatchField(key, kConstraintResourceFields), value, child, &out->constraint,
        &out->resource));
  }
  return absl::OkStatus();
}

constexpr absl::string_view kCellStateFields[] = {
    "rep_url",       "cell_id",        "cell_index",
    "RootFSProviders", "AvailableResources", "TotalResources",
    "LRPs",          "Tasks",          "StartingContainerCount",
    "Zone",          "Evacuating",     "VolumeDrivers",
    "PlacementTags", "OptionalPlacementTags", "ProxyMemoryAllocationMB"};

absl::Status DecodeCellState(const Json& j, const std::string& path, CellState* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  DIEGO_RETURN_IF_ERROR(ExpectObject(j, path));
  for (const auto& [key, value] : j.items()) {
    const std::string child = Child(path, key);
    switch (MatchField(key, kCellStateFields)) {
      case 0:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->rep_url));
        break;
      case 1:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->cell_id));
        break;
      case 2:
        DIEGO_RETURN_IF_ERROR(DecodeInt32(value, child, &out->cell_index));
        break;
      case 3:
        DIEGO_RETURN_IF_ERROR(DecodeProviders(value, child, &out->rootfs_providers));
        break;
      case 4:
        DIEGO_RETURN_IF_ERROR(DecodeResources(value, child, &out->available_resources));
        break;
      case 5:
        DIEGO_RETURN_IF_ERROR(DecodeResources(value, child, &out->total_resources));
        break;
      case 6:
        DIEGO_RETURN_IF_ERROR(DecodeArray(value, child, &out->lrps, DecodeLrp));
        break;
      case 7:
        DIEGO_RETURN_IF_ERROR(DecodeArray(value, child, &out->tasks, DecodeTask));
        break;
      case 8:
        DIEGO_RETURN_IF_ERROR(DecodeInt32(value, child, &out->starting_container_count));
        break;
      case 9:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->zone));
        break;
      case 10:
        DIEGO_RETURN_IF_ERROR(DecodeBool(value, child, &out->evacuating));
        break;
      case 11:
        DIEGO_RETURN_IF_ERROR(DecodeStrings(value, child, &out->volume_drivers));
        break;
      case 12:
        DIEGO_RETURN_IF_ERROR(DecodeStrings(value, child, &out->placement_tags));
        break;
      case 13:
        DIEGO_RETURN_IF_ERROR(DecodeStrings(value, child, &out->optional_placement_tags));
        break;
      case 14:
        DIEGO_RETURN_IF_ERROR(DecodeInt32(value, child, &out->proxy_memory_allocation_mb));
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

constexpr absl::string_view kWorkFields[] = {"LRPs", "Tasks", "cell_id"};

absl::Status DecodeWork(const Json& j, const std::string& path, Work* out) {
  if (j.is_null()) {
    return absl::OkStatus();
  }
  DIEGO_RETURN_IF_ERROR(ExpectObject(j, path));
  for (const auto& [key, value] : j.items()) {
    const std::string child = Child(path, key);
    switch (MatchField(key, kWorkFields)) {
      case 0:
        DIEGO_RETURN_IF_ERROR(DecodeArray(value, child, &out->lrps, DecodeLrp));
        break;
      case 1:
        DIEGO_RETURN_IF_ERROR(DecodeArray(value, child, &out->tasks, DecodeTask));
        break;
      case 2:
        DIEGO_RETURN_IF_ERROR(DecodeString(value, child, &out->cell_id));
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

// Parses `text`, converting nlohmann's exceptions into a status that names
// the byte offset where parsing failed.
absl::StatusOr<Json> Parse(absl::string_view text) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    // what() reads "[json.exception.parse_error.101] parse error at line 1,
    // column 5: syntax error while parsing ..."; keep the part after the
    // position, which describes the problem.
    absl::string_view what = e.what();
    const size_t column = what.find("column ");
    const size_t colon = what.find(": ", column == absl::string_view::npos ? 0 : column);
    if (colon != absl::string_view::npos) {
      what.remove_prefix(colon + 2);
    }
    const size_t offset = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    return absl::InvalidArgumentError(absl::StrCat("malformed JSON at offset ", offset, ": ", what));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed JSON: ", e.what()));
  }
}

template <typename T, typename F>
absl::StatusOr<T> DecodeDocument(absl::string_view text, F decode) {
  DIEGO_ASSIGN_OR_RETURN(Json json, Parse(text));
  T value{};
  DIEGO_RETURN_IF_ERROR(decode(json, std::string(), &value));
  return value;
}

}  // namespace

std::string ResourcesToJson(const Resources& resources) {
  return Encode(resources, AppendResources);
}

std::string ResourceToJson(const Resource& resource) { return Encode(resource, AppendResource); }

std::string PlacementConstraintToJson(const PlacementConstraint& constraint) {
  return Encode(constraint, AppendConstraint);
}

std::string RootFsProvidersToJson(const model::RootFsProviders& providers) {
  return Encode(providers, AppendProviders);
}

std::string LrpToJson(const Lrp& lrp) { return Encode(lrp, AppendLrp); }

std::string TaskToJson(const Task& task) { return Encode(task, AppendTask); }

std::string LrpStartRequestToJson(const LrpStartRequest& request) {
  return Encode(request, AppendLrpStartRequest);
}

std::string CellStateToJson(const CellState& state) { return Encode(state, AppendCellState); }

std::string WorkToJson(const Work& work) { return Encode(work, AppendWork); }

std::string LrpStartRequestsToJson(const std::vector<LrpStartRequest>& requests) {
  std::string out;
  AppendArray(&out, requests, AppendLrpStartRequest);
  return out;
}

std::string TaskStartRequestsToJson(const std::vector<TaskStartRequest>& requests) {
  std::string out;
  AppendArray(&out, requests, AppendTask);
  return out;
}

absl::StatusOr<Resources> ResourcesFromJson(absl::string_view json) {
  return DecodeDocument<Resources>(json, DecodeResources);
}

absl::StatusOr<Resource> ResourceFromJson(absl::string_view json) {
  return DecodeDocument<Resource>(json, DecodeResource);
}

absl::StatusOr<PlacementConstraint> PlacementConstraintFromJson(absl::string_view json) {
  return DecodeDocument<PlacementConstraint>(json, DecodeConstraint);
}

absl::StatusOr<model::RootFsProviders> RootFsProvidersFromJson(absl::string_view json) {
  return DecodeDocument<model::RootFsProviders>(json, DecodeProviders);
}

absl::StatusOr<Lrp> LrpFromJson(absl::string_view json) {
  return DecodeDocument<Lrp>(json, DecodeLrp);
}

absl::StatusOr<Task> TaskFromJson(absl::string_view json) {
  return DecodeDocument<Task>(json, DecodeTask);
}

absl::StatusOr<LrpStartRequest> LrpStartRequestFromJson(absl::string_view json) {
  return DecodeDocument<LrpStartRequest>(json, DecodeLrpStartRequest);
}

absl::StatusOr<CellState> CellStateFromJson(absl::string_view json) {
  return DecodeDocument<CellState>(json, DecodeCellState);
}

absl::StatusOr<Work> WorkFromJson(absl::string_view json) {
  return DecodeDocument<Work>(json, DecodeWork);
}

absl::StatusOr<std::vector<LrpStartRequest>> LrpStartRequestsFromJson(absl::string_view json) {
  return DecodeDocument<std::vector<LrpStartRequest>>(
      json, [](const Json& j, const std::string& path, std::vector<LrpStartRequest>* out) {
        return DecodeArray(j, path, out, DecodeLrpStartRequest);
      });
}

absl::StatusOr<std::vector<TaskStartRequest>> TaskStartRequestsFromJson(absl::string_view json) {
  return DecodeDocument<std::vector<TaskStartRequest>>(
      json, [](const Json& j, const std::string& path, std::vector<TaskStartRequest>* out) {
        return DecodeArray(j, path, out, DecodeTask);
      });
}

// Mirrors auctioneer resources.go `LRPStartRequest.Validate`.
absl::Status ValidateLrpStartRequest(const LrpStartRequest& request) {
  if (request.process_guid.empty()) {
    return absl::InvalidArgumentError("process guid is empty");
  }
  if (request.domain.empty()) {
    return absl::InvalidArgumentError("domain is empty");
  }
  if (request.indices.empty()) {
    return absl::InvalidArgumentError("indices must not be empty");
  }
  if (request.resource.memory_mb < 0 || request.resource.disk_mb < 0) {
    return absl::InvalidArgumentError("resources cannot be less than 0");
  }
  if (request.constraint.root_fs.empty()) {
    return absl::InvalidArgumentError("placement constraint cannot be empty");
  }
  return absl::OkStatus();
}

// Mirrors auctioneer resources.go `TaskStartRequest.Validate`, which does not
// look at the domain.
absl::Status ValidateTaskStartRequest(const TaskStartRequest& request) {
  if (request.task_guid.empty()) {
    return absl::InvalidArgumentError("task guid is empty");
  }
  if (request.resource.memory_mb < 0 || request.resource.disk_mb < 0) {
    return absl::InvalidArgumentError("resources cannot be less than zero");
  }
  if (request.constraint.root_fs.empty()) {
    return absl::InvalidArgumentError("placement constraint cannot be empty");
  }
  return absl::OkStatus();
}

bool IsValidLrpStartRequest(const LrpStartRequest& request) {
  return ValidateLrpStartRequest(request).ok();
}

bool IsValidTaskStartRequest(const TaskStartRequest& request) {
  return ValidateTaskStartRequest(request).ok();
}

}  // namespace diego::auction
