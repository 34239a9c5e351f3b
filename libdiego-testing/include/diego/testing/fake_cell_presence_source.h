// Copyright 2026 The libdiego Authors.
//
// `fakes::FakeCellPresenceSource`: a settable bbs::CellPresenceSource (add,
// remove cells; make Cells() fail) for converger tests.

#ifndef DIEGO_TESTING_FAKE_CELL_PRESENCE_SOURCE_H_
#define DIEGO_TESTING_FAKE_CELL_PRESENCE_SOURCE_H_

#include "diego/bbs/store.h"

// The class is written with its implementation (converger issue).

#endif  // DIEGO_TESTING_FAKE_CELL_PRESENCE_SOURCE_H_
