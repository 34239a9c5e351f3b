// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: wire.h
// -----------------------------------------------------------------------------
//
// Helpers that make C++ protobuf bytes identical to what Diego's gogo-generated
// Go models put on the wire (BBS HTTP bodies are protobuf messages).
//
// The only encoder difference between gogo and C++ proto3 that this file has
// to bridge is gogo's `nullable=false` on a singular message field, marked
// `(go_non_nullable)` in our .proto files. Go holds such a field as a value,
// not a pointer, so gogo ALWAYS writes it, even when empty (tag then length
// 0x00). C++ proto3 writes a message field only when it is set. Examples:
//
//   all-default ActualLRP                gogo: 0a 00 12 00 1a 00 4a 00
//   all-default DesiredLRPSchedulingInfo gogo: 0a 00 22 00 2a 00 32 00
//
// `SetNonNullableFields()` sets those sub-messages so C++ writes the same
// bytes; `SerializeForWire()` does that on a copy and serialises
// deterministically. (The other wire-visible gogo detail, `[packed = false]`
// on three repeated uint32 fields, is declared in the .proto files and needs
// no help here. Maps are written in key order by C++ and in random order by
// Go, so byte comparisons of messages containing maps are meaningless.)
//
// Error mapping: `ParseFromWire()` reports malformed bytes as
// `BbsError(v1::Error::InvalidProtobufMessage, ...)`. Diego's BBS server
// answers a request body it cannot parse with HTTP 200 and
// `Error{type: InvalidRequest, message: "the request received is invalid"}`
// in the response message; that translation is the BBS server's job, not this
// file's. (A client that cannot parse a response reports
// InvalidProtobufMessage, which is what this function returns.)
//
// Thread safety: all functions are thread-safe for distinct messages; they
// share only an internal, mutex-guarded per-type cache.
//
// Example:
//
//   v1::ActualLRP lrp;                      // All defaults.
//   std::string bytes = SerializeForWire(lrp);
//   // bytes == "\x0a\x00\x12\x00\x1a\x00\x4a\x00", as gogo writes it.
//
//   v1::ActualLRP parsed;
//   absl::Status s = ParseFromWire(bytes, &parsed);

#ifndef DIEGO_MODEL_WIRE_H_
#define DIEGO_MODEL_WIRE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace diego::model {

// Makes every `(go_non_nullable)` singular message field of `message` present
// (creating an empty sub-message where it is unset), recursively: inside
// present singular sub-messages, elements of repeated message fields and
// message values of maps. Nullable sub-messages that are unset stay unset.
//
// Afterwards C++ serialisation of `message` is byte-identical to gogo's for
// the same Go value (maps aside, see the file comment). Idempotent. `message`
// must not be null.
void SetNonNullableFields(google::protobuf::Message* message);

// Returns the protobuf encoding gogo would produce for `message`: a copy with
// `SetNonNullableFields()` applied, serialised deterministically (map entries
// in key order, fields in number order). `message` itself is not modified.
//
// Returns an empty string only if `message` is all-default and has no
// non-nullable fields, or if the encoding would exceed protobuf's 2 GiB limit.
std::string SerializeForWire(const google::protobuf::Message& message);

// Clears `message` and parses protobuf `bytes` into it, then applies
// `SetNonNullableFields()` so the result looks like the Go value gogo would
// decode (non-nullable sub-messages always present). Empty `bytes` are a valid
// all-default message. Both packed and unpacked encodings of repeated scalars
// are accepted, as are unknown fields (kept, like gogo's XXX_unrecognized).
//
// Returns OK, or `BbsError(v1::Error::InvalidProtobufMessage, ...)`
// (kInvalidArgument) when `bytes` are not a valid encoding of the message
// (truncated, bad tags or lengths, invalid UTF-8 in a string field, nesting
// deeper than 100); `message` is then left cleared. `message` must not be
// null.
[[nodiscard]] absl::Status ParseFromWire(absl::string_view bytes,
                                         google::protobuf::Message* message);

}  // namespace diego::model

#endif  // DIEGO_MODEL_WIRE_H_
