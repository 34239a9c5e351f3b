// Copyright 2026 The libdiego Authors.
//
// `fakes::FakeLocketClient`: an in-memory Locket (locket::LocketClient) with
// Locket's semantics (validation, collisions, Fetch/FetchAll filtering; no
// expiry) and knobs for tests: make the next calls fail with a status, make
// calls block until released, and inspect the calls made.
//
// Thread-safety: thread-safe.

#ifndef DIEGO_TESTING_FAKE_LOCKET_CLIENT_H_
#define DIEGO_TESTING_FAKE_LOCKET_CLIENT_H_

#include "diego/locket/client.h"

// The class is written with its implementation (libdiego-locket issue).

#endif  // DIEGO_TESTING_FAKE_LOCKET_CLIENT_H_
