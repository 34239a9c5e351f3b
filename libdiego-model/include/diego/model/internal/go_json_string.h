// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: internal/go_json_string.h
// -----------------------------------------------------------------------------
//
// Internal to libdiego (installed, but not API): the JSON string writer shared
// by the Go-JSON codecs of libdiego-model (go_json.h) and libdiego-auction
// (json.h), so both escape text exactly as Go's `encoding/json` does.

#ifndef DIEGO_MODEL_INTERNAL_GO_JSON_STRING_H_
#define DIEGO_MODEL_INTERNAL_GO_JSON_STRING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace diego::model_internal {

// Appends `s` to `out` as a quoted JSON string the way `json.Marshal` writes a
// Go string: HTML escaping on (`<`, `>`, `&` as \u003c...), Go 1.22's short
// `\b` and `\f`, other control bytes as \u00XX, U+2028 and U+2029 escaped,
// and every invalid UTF-8 byte replaced by \ufffd.
void AppendGoJsonString(absl::string_view s, std::string* out);

}  // namespace diego::model_internal

#endif  // DIEGO_MODEL_INTERNAL_GO_JSON_STRING_H_
