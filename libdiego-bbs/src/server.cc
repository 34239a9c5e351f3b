// Copyright 2026 The libdiego Authors.
