// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: guid.h
// -----------------------------------------------------------------------------
//
// Random GUIDs in the form Diego uses for instance guids, task guids and the
// like: RFC 4122 version 4 UUIDs, lowercase, 36 characters with dashes, e.g.
// "6fa5c2d1-3b7e-4c1a-9f2e-0d8b7a6c5e41". Diego generates them with
// `nu7hatch/gouuid`'s `NewV4()`; the format is identical.
//
// Production code calls `GenerateGuid()`. Code that must be deterministic in
// tests takes an `absl::BitGenRef` (stored, like a `Clock*`, for its lifetime)
// and calls `GenerateGuid(gen)`:
//
//   std::string guid = diego::GenerateGuid();      // Production.
//   std::mt19937_64 gen(42);                       // Tests: the same seed gives
//   std::string fixed = diego::GenerateGuid(gen);  // the same guid every run.

#ifndef DIEGO_BASE_GUID_H_
#define DIEGO_BASE_GUID_H_

#include <string>

#include "absl/random/bit_gen_ref.h"

namespace diego {

// Returns a new random version-4 GUID: 32 lowercase hex digits in groups of
// 8-4-4-4-12, where the version nibble (first digit of the third group) is
// '4' and the variant bits (first digit of the fourth group) make it one of
// '8', '9', 'a' or 'b'. The other 122 bits are uniformly random.
//
// Draws from a per-thread `absl::BitGen`, which is seeded from the operating
// system's entropy and is not predictable from earlier outputs. Thread-safe;
// never fails.
std::string GenerateGuid();

// As `GenerateGuid()`, but takes exactly two 64-bit draws from `gen`. The
// result is a pure function of those draws, so a seeded generator gives
// reproducible guids. Thread-compatible: `gen` must not be used concurrently.
std::string GenerateGuid(absl::BitGenRef gen);

}  // namespace diego

#endif  // DIEGO_BASE_GUID_H_
