// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: status_macros.h
// -----------------------------------------------------------------------------
//
// `DIEGO_RETURN_IF_ERROR` and `DIEGO_ASSIGN_OR_RETURN`: Abseil 20220623 has no
// status macros, so libdiego defines its own. The names mirror Abseil's later
// `ABSL_RETURN_IF_ERROR` / `ABSL_ASSIGN_OR_RETURN`, so migrating is a `sed`.
//
// Example:
//
//   absl::StatusOr<Work> Runner::PlaceBatch(const Batch& batch) {
//     DIEGO_ASSIGN_OR_RETURN(std::vector<CellState> cells, FetchCellStates());
//     DIEGO_RETURN_IF_ERROR(ValidateBatch(batch));
//     return scheduler_.Schedule(batch, cells);
//   }

#ifndef DIEGO_BASE_STATUS_MACROS_H_
#define DIEGO_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an `absl::Status`) once; returns it from the enclosing
// function if it is not OK.
#define DIEGO_RETURN_IF_ERROR(expr)                           \
  do {                                                        \
    ::absl::Status diego_status_macro_status_ = (expr);       \
    if (!diego_status_macro_status_.ok()) {                   \
      return diego_status_macro_status_;                      \
    }                                                         \
  } while (false)

#define DIEGO_STATUS_MACROS_CONCAT_INNER_(x, y) x##y
#define DIEGO_STATUS_MACROS_CONCAT_(x, y) DIEGO_STATUS_MACROS_CONCAT_INNER_(x, y)

#define DIEGO_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) {                                    \
    return std::move(statusor).status();                   \
  }                                                        \
  lhs = std::move(statusor).value()

// Evaluates `rexpr` (an `absl::StatusOr<T>`) once. On error returns its status
// from the enclosing function; otherwise moves the value into `lhs`, which may
// be a declaration (`DIEGO_ASSIGN_OR_RETURN(auto x, F())`) or an lvalue.
// Expands to several statements: do not use as the body of an unbraced `if`.
#define DIEGO_ASSIGN_OR_RETURN(lhs, rexpr) \
  DIEGO_ASSIGN_OR_RETURN_IMPL_(            \
      DIEGO_STATUS_MACROS_CONCAT_(diego_statusor_, __LINE__), lhs, rexpr)

#endif  // DIEGO_BASE_STATUS_MACROS_H_
