// Copyright 2026 The libdiego Authors.
//
// Helpers shared by the store suites that check published events
// (sql_store_tasks_test.cc, sql_store_desired_test.cc).

#ifndef DIEGO_BBS_TESTS_STORE_EVENT_MATCHERS_H_
#define DIEGO_BBS_TESTS_STORE_EVENT_MATCHERS_H_

#include <string>

#include "diego/bbs/events.h"
#include "diego/model/wire.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"

namespace diego::bbs {
namespace {

// Protobuf equality after making gogo's non-nullable sub-messages present on
// both sides (event payloads are parsed with them present).
MATCHER_P(EqualsProto, expected, "") {
  auto a = arg;
  auto b = expected;
  model::SetNonNullableFields(&a);
  model::SetNonNullableFields(&b);
  google::protobuf::util::MessageDifferencer differencer;
  std::string diff;
  differencer.ReportDifferencesToString(&diff);
  if (!differencer.Compare(a, b)) {
    *result_listener << "differs: " << diff;
    return false;
  }
  return true;
}

// The event's payload parsed as `T`.
template <typename T>
T Decode(const BbsEvent& event) {
  T message;
  EXPECT_OK(model::ParseFromWire(event.payload, &message));
  return message;
}

}  // namespace
}  // namespace diego::bbs

#endif  // DIEGO_BBS_TESTS_STORE_EVENT_MATCHERS_H_
