// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: modification_tag.h
// -----------------------------------------------------------------------------
//
// Helpers for `v1::ModificationTag{epoch, index}`, Diego's per-record version
// stamp (bbs `models/modification_tag.go`). A record gets a fresh epoch (a
// GUID) when it is created, and its index goes up by one on every mutation.
// Consumers such as the route-emitter use `SucceededBy()` to drop events that
// are older than what they already know.
//
// Epochs are passed in rather than generated here, so these helpers stay pure
// (callers take them from `diego::GenerateGuid()` or a fake).
//
//   v1::ModificationTag tag = NewModificationTag(guid);  // {guid, 0}
//   Increment(&tag);                                     // {guid, 1}
//   if (SucceededBy(known, incoming)) { /* incoming is newer */ }
//
// Every function is pure and thread-compatible.

#ifndef DIEGO_MODEL_MODIFICATION_TAG_H_
#define DIEGO_MODEL_MODIFICATION_TAG_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "diego/model/v1/modification_tag.pb.h"

namespace diego::model {

// Returns `{epoch, index}`. New records use index 0.
v1::ModificationTag NewModificationTag(absl::string_view epoch, uint32_t index = 0);

// Adds one to `tag->index()`. Like Go's `uint32` arithmetic, the index wraps
// from 4294967295 to 0. `tag` must not be null.
void Increment(v1::ModificationTag* tag);

// Reports whether tag `a` is succeeded by tag `b` (that is, `b` is newer or
// unrelated), exactly as Diego decides it:
//
// - `a` is null, or either epoch is empty: true (nothing to compare);
// - the epochs differ: true (the record was recreated);
// - otherwise: `a.index() < b.index()`.
//
// An equal tag is not a successor, so replaying the same event is a no-op.
bool SucceededBy(const v1::ModificationTag* a, const v1::ModificationTag& b);

// As above, for a present `a`.
bool SucceededBy(const v1::ModificationTag& a, const v1::ModificationTag& b);

}  // namespace diego::model

#endif  // DIEGO_MODEL_MODIFICATION_TAG_H_
