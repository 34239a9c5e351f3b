// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: check.h
// -----------------------------------------------------------------------------
//
// `DIEGO_CHECK(condition) << "message"` asserts a programmer invariant: when
// `condition` is false it writes the file, line, condition text and message to
// stderr and aborts the process. Abseil 20220623 has no `absl/log`, so this is
// libdiego's `CHECK`.
//
// Use it only for broken internal invariants (an impossible state-machine
// edge, a null dependency passed to a constructor). Anything a peer, a user or
// the environment can cause (a bad request, a missing file, a refused
// connection) is an `absl::Status`, never a check. Checks are always on, in
// every build type.
//
// Example:
//
//   DIEGO_CHECK(clock != nullptr) << "Scheduler needs a clock";
//   DIEGO_CHECK(index < instances_.size()) << "index " << index;
//   DIEGO_CHECK_OK(store.Init());
//
// prints, on failure, a single line such as
//
//   scheduler.cc:42: DIEGO_CHECK failed: index < instances_.size(): index 7
//   main.cc:9: DIEGO_CHECK failed: store.Init() is OK (INTERNAL: disk full)
//
// The message operands are evaluated only when the check fails.

#ifndef DIEGO_BASE_CHECK_H_
#define DIEGO_BASE_CHECK_H_

#include <ostream>
#include <sstream>
#include <string>

#include "absl/base/optimization.h"
#include "absl/status/status.h"

// Aborts with a message unless `condition` is true. Usable as a statement
// anywhere, including as the body of an unbraced `if`; streams `<<` like
// `std::ostream`.
#define DIEGO_CHECK(condition)           \
  ABSL_PREDICT_TRUE(condition)           \
  ? (void)0                              \
  : ::diego::check_internal::Voidify() & \
          ::diego::check_internal::CheckFailure(__FILE__, __LINE__, #condition).stream()

// Aborts unless `status_expr` (an `absl::Status`, evaluated once) is OK; the
// message includes the status.
#define DIEGO_CHECK_OK(status_expr)                                                \
  for (const ::absl::Status diego_check_ok_status_ = (status_expr);                \
       ABSL_PREDICT_FALSE(!diego_check_ok_status_.ok());)                          \
  ::diego::check_internal::CheckFailure(__FILE__, __LINE__, #status_expr " is OK", \
                                        diego_check_ok_status_)                    \
      .stream()

namespace diego::check_internal {

// Collects the message of a failed check; its destructor prints it and aborts.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  // For `DIEGO_CHECK_OK`: `status` is printed after the condition.
  CheckFailure(const char* file, int line, const char* condition, const absl::Status& status);
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  [[noreturn]] ~CheckFailure();

  std::ostream& stream() { return stream_; }

 private:
  const char* file_;
  int line_;
  const char* condition_;
  std::string detail_;
  std::ostringstream stream_;
};

// Turns the streamed `std::ostream&` into `void` so both arms of the
// conditional in `DIEGO_CHECK` have the same type. `&` binds more loosely than
// `<<`, so the whole message is streamed first.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace diego::check_internal

#endif  // DIEGO_BASE_CHECK_H_
