// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: go_json.h
// -----------------------------------------------------------------------------
//
// A reflection-based JSON codec that writes and reads any `diego.model.v1`
// message exactly as Diego's Go code does with `encoding/json` and the gogo
// struct tags. This is the JSON that `cfdot` prints, that a rep publishes as
// its Locket presence (`CellPresence`), that the BBS POSTs to a task's
// completion callback (`TaskCallbackResponse`), and that Diego logs.
//
// It is NOT protobuf's canonical JSON (`google::protobuf::util::
// MessageToJsonString`): keys, nulls, enums, 64-bit integers, embedded
// messages and oneofs all differ. The codec reads the shape from the
// descriptors: the standard `json_name` option (set on every Diego field to its
// Go JSON key) plus the custom options in `diego/model/v1/go_json.proto`.
//
// Encoding rules (Go `json.Marshal`):
//
//   * Keys come from `json_name`, in field declaration order (which is Go's
//     struct field order, e.g. `DesiredLRP.start_timeout_ms` = 27 is written
//     after `action` = 7).
//   * `(go_omitempty)`: a zero scalar, empty string, `false`, a 0 enum, an empty
//     list or map, or an unset message is left out.
//   * Without omitempty a scalar is always written; an unset message is `null`
//     (a nil Go pointer); an empty repeated field is `null` (a nil Go slice);
//     an empty map is `null`, or `{}` with `(go_nil_map_as_object)`.
//   * `(go_non_nullable)` messages (gogo `nullable=false`) are always written
//     as an object, even when unset.
//   * `(go_embed)`: the sub-message's keys are written directly into the parent
//     object at the position of the embedded field (`ActualLRP` has
//     `process_guid`, `index`, `domain`, `instance_guid`, ... at top level). A
//     nullable embedded field that is unset (e.g. `Task.task_definition`)
//     contributes no keys. Go's dominance rule applies: a direct key beats an
//     embedded one; two embedded keys at the same depth cancel out.
//   * `int64` and `uint64` are JSON numbers, never strings.
//   * Enums are written as their value name (Diego's custom `MarshalJSON`s)
//     unless the enum has `(go_json_as_number)` (`DesiredLRP.UpdateStrategy`,
//     Locket's `TypeCode`). A value with no name is written as its decimal
//     number in a string, as Go's `String()` does.
//   * A oneof with `(go_json_wrapper)` is written under the wrapper key:
//     `"OptionalRoutable":{"routable":true}`, with the inner key following the
//     member's `json_name` and omitempty (`{}` for an omitted `false`), and
//     `"OptionalRoutable":null` when no member is set.
//   * A oneof without a wrapper (messages with a custom Go marshaller:
//     `ResourceLimits`, `ActualLRPsRequest`, `DesiredLRPUpdate`) writes its
//     member flat under the member's key, only when set and then even when it
//     holds a zero value (`{"nofile":0}`).
//   * Map keys are sorted bytewise, as Go sorts them.
//   * `ProtoRoutes` (Diego's `Routes` custom type: route provider name to a raw
//     JSON document) is written as a JSON object whose values are the stored
//     bytes themselves, validated and compacted as Go does for a
//     `json.RawMessage` (compact JSON stays byte-for-byte the same). An empty
//     value is `null`. A present `ProtoRoutes` with no entries is `{}` (a
//     non-nil pointer to the map; keeps `DesiredLRPUpdate.routes` presence),
//     except for the non-nullable `DesiredLRPSchedulingInfo.routes`, a Go map
//     held by value that is nil when empty, which is `null`.
//   * `bytes` fields (other than route values) are standard base64 strings.
//   * Strings are escaped like Go: `<`, `>` and `&` become `\u003c`, `\u003e`,
//     `\u0026`; U+2028 and U+2029 are escaped; invalid UTF-8 becomes `\ufffd`.
//   * Output is compact, or indented like `json.MarshalIndent(v, "", indent)`.
//
// Decoding rules (Go `json.Unmarshal`, plus what the encoder writes):
//
//   * The target message is cleared first. `null` for any field means "zero /
//     unset". Unknown keys are ignored.
//   * Keys are handled one after another in document order, duplicates
//     included, as Go does: a later value replaces an earlier one, except
//     that a later object for a message field is merged into the message the
//     earlier one filled. (A repeated key inside a map or `routes` object
//     keeps its last value.)
//   * A key is matched exactly first, then case-insensitively (ASCII), as Go
//     does.
//   * Enums accept the value name, its number, or the number as a string.
//   * Integers must be JSON integers (no fraction or exponent) and fit the
//     field's type: `3000000000` for an `int32` is an error, as is `-1` for a
//     `uint32`.
//   * Flattened embedded keys are read back into the embedded sub-message. A
//     nullable embedded message (e.g. `Task.task_definition`) is created only
//     if at least one of its keys appears.
//   * A wrapped oneof accepts either the wrapper object
//     (`"OptionalRoutable":{"routable":true}`; `{}` sets a single-member oneof
//     to its zero value) or the member's flat key (`"routable":true`).
//   * `ProtoRoutes` values keep the raw JSON text of each value exactly as it
//     appears in the input; a `null` value is stored as empty bytes.
//   * Like Go, a leading byte order mark and nesting deeper than 10000 levels
//     are syntax errors; messages nested deeper than 100 levels are refused
//     too (protobuf could not carry them). Decoding time is linear in the
//     size of the input.
//   * After decoding, every `(go_non_nullable)` sub-message is present (see
//     `SetNonNullableFields()` in wire.h), mirroring Go's value fields.
//
// Errors: every failure is `BbsError(v1::Error::InvalidJSON, message)`
// (`absl::StatusCode::kInvalidArgument`), where `message` names the problem:
//
//   malformed JSON at offset 17: syntax error while parsing object ...
//   invalid JSON at "action.run.path": expected a string
//   invalid JSON at "index": number 3000000000 overflows int32
//   invalid JSON at "routes.cf-router": route value is not valid JSON
//
// The offset is the number of input bytes read when the syntax error was
// detected (at most the input length). Paths use the keys as they appear in
// the JSON document, `.` between object keys and `[i]` for array elements.
// Messages are valid UTF-8 even when they quote broken input. No exception
// ever leaves these functions.
//
// Thread safety: all functions are thread-safe; they share only an internal,
// mutex-guarded cache of per-message-type key layouts.
//
// Example:
//
//   v1::ActualLRP lrp;
//   lrp.mutable_actual_lrp_key()->set_process_guid("web");
//   lrp.set_state("RUNNING");
//   absl::StatusOr<std::string> json = ToGoJson(lrp);
//   // {"process_guid":"web","index":0,"domain":"",...,"state":"RUNNING",...}
//
//   absl::StatusOr<v1::CellPresence> cell =
//       ParseGoJson<v1::CellPresence>(locket_resource.value());

#ifndef DIEGO_MODEL_GO_JSON_H_
#define DIEGO_MODEL_GO_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace diego::model {

// How `ToGoJson()` lays out its output.
struct GoJsonOptions {
  // false: compact, like `json.Marshal`. true: one key or element per line,
  // like `json.MarshalIndent(v, "", indent)` (`"key": value`, empty objects and
  // arrays stay `{}` / `[]`, no trailing newline).
  bool pretty = false;
  // One level of indentation when `pretty` is true.
  std::string indent = "  ";
};

// Writes `message` as Diego's Go code would (see the file comment).
//
// Returns the JSON text, or `BbsError(InvalidJSON, ...)` (kInvalidArgument)
// when the message cannot be written as Go would write it: a `ProtoRoutes`
// value that is not valid JSON, or a NaN/infinite float; or when it nests
// messages deeper than 100 levels (embedded messages do not count), which
// `FromGoJson()` would refuse to read back.
[[nodiscard]] absl::StatusOr<std::string> ToGoJson(const google::protobuf::Message& message,
                                                   const GoJsonOptions& options = {});

// Clears `message` and fills it from Go-shaped JSON `json` (see the file
// comment for what is accepted).
//
// Returns OK, or `BbsError(InvalidJSON, ...)` (kInvalidArgument) naming the
// offset of malformed input or the JSON path of the offending value. On error
// `message` holds whatever was decoded before the error; do not use it.
// `message` must not be null.
[[nodiscard]] absl::Status FromGoJson(absl::string_view json, google::protobuf::Message* message);

// Convenience form of `FromGoJson()` for a concrete message type `T`.
template <typename T>
absl::StatusOr<T> ParseGoJson(absl::string_view json) {
  T message;
  absl::Status status = FromGoJson(json, &message);
  if (!status.ok()) {
    return status;
  }
  return message;
}

}  // namespace diego::model

#endif  // DIEGO_MODEL_GO_JSON_H_
