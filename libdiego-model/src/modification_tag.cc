// Copyright 2026 The libdiego Authors.

#include "diego/model/modification_tag.h"

#include <string>

namespace diego::model {

v1::ModificationTag NewModificationTag(absl::string_view epoch, uint32_t index) {
  v1::ModificationTag tag;
  tag.set_epoch(std::string(epoch));
  tag.set_index(index);
  return tag;
}

void Increment(v1::ModificationTag* tag) {
  // Unsigned arithmetic wraps, matching Go's uint32 `Index++`.
  tag->set_index(tag->index() + 1u);
}

bool SucceededBy(const v1::ModificationTag* a, const v1::ModificationTag& b) {
  // Mirrors models/modification_tag.go: a missing or epoch-less tag can never
  // prove the other one stale.
  if (a == nullptr || a->epoch().empty() || b.epoch().empty()) {
    return true;
  }
  return a->epoch() != b.epoch() || a->index() < b.index();
}

bool SucceededBy(const v1::ModificationTag& a, const v1::ModificationTag& b) {
  return SucceededBy(&a, b);
}

}  // namespace diego::model
