// Copyright 2026 The libdiego Authors.

#include "diego/model/errors.h"

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace diego::model {
namespace {

using ::diego::fakes::StatusIs;
using ::testing::Eq;
using ::testing::Optional;

struct TypeCode {
  v1::Error::Type type;
  absl::StatusCode code;
};

// Style guide 5.8, one row per Diego error type.
const std::vector<TypeCode>& TypeCodeTable() {
  static const auto* table = new std::vector<TypeCode>{
      {v1::Error::UnknownError, absl::StatusCode::kUnknown},
      {v1::Error::InvalidRecord, absl::StatusCode::kInvalidArgument},
      {v1::Error::InvalidRequest, absl::StatusCode::kInvalidArgument},
      {v1::Error::InvalidResponse, absl::StatusCode::kInternal},
      {v1::Error::InvalidProtobufMessage, absl::StatusCode::kInvalidArgument},
      {v1::Error::InvalidJSON, absl::StatusCode::kInvalidArgument},
      {v1::Error::FailedToOpenEnvelope, absl::StatusCode::kDataLoss},
      {v1::Error::InvalidStateTransition, absl::StatusCode::kFailedPrecondition},
      {v1::Error::ResourceConflict, absl::StatusCode::kAborted},
      {v1::Error::ResourceExists, absl::StatusCode::kAlreadyExists},
      {v1::Error::ResourceNotFound, absl::StatusCode::kNotFound},
      {v1::Error::RouterError, absl::StatusCode::kInternal},
      {v1::Error::ActualLRPCannotBeClaimed, absl::StatusCode::kFailedPrecondition},
      {v1::Error::ActualLRPCannotBeStarted, absl::StatusCode::kFailedPrecondition},
      {v1::Error::ActualLRPCannotBeCrashed, absl::StatusCode::kFailedPrecondition},
      {v1::Error::ActualLRPCannotBeFailed, absl::StatusCode::kFailedPrecondition},
      {v1::Error::ActualLRPCannotBeRemoved, absl::StatusCode::kFailedPrecondition},
      {v1::Error::ActualLRPCannotBeUnclaimed, absl::StatusCode::kFailedPrecondition},
      {v1::Error::RunningOnDifferentCell, absl::StatusCode::kFailedPrecondition},
      {v1::Error::GUIDGeneration, absl::StatusCode::kInternal},
      {v1::Error::Deserialize, absl::StatusCode::kDataLoss},
      {v1::Error::Deadlock, absl::StatusCode::kAborted},
      {v1::Error::Unrecoverable, absl::StatusCode::kInternal},
      {v1::Error::LockCollision, absl::StatusCode::kAborted},
      {v1::Error::Timeout, absl::StatusCode::kDeadlineExceeded},
  };
  return *table;
}

// Every value the generated enum knows, straight from the descriptor.
std::vector<v1::Error::Type> AllTypes() {
  std::vector<v1::Error::Type> types;
  const google::protobuf::EnumDescriptor* descriptor = v1::Error::Type_descriptor();
  for (int i = 0; i < descriptor->value_count(); ++i) {
    types.push_back(static_cast<v1::Error::Type>(descriptor->value(i)->number()));
  }
  return types;
}

TEST(BbsErrorCodeTest, TableCoversEveryDiegoErrorType) {
  std::set<int> in_table;
  for (const TypeCode& row : TypeCodeTable()) {
    in_table.insert(row.type);
  }
  std::vector<v1::Error::Type> all = AllTypes();
  EXPECT_EQ(all.size(), 25u);
  for (v1::Error::Type type : all) {
    EXPECT_TRUE(in_table.count(type)) << v1::Error::Type_Name(type);
  }
  EXPECT_EQ(in_table.size(), all.size());
}

TEST(BbsErrorCodeTest, MapsEveryTypeToItsCanonicalCode) {
  for (const TypeCode& row : TypeCodeTable()) {
    EXPECT_EQ(BbsErrorCode(row.type), row.code) << v1::Error::Type_Name(row.type);
  }
}

TEST(BbsErrorCodeTest, MapsNumbersOutsideTheEnumToUnknown) {
  EXPECT_EQ(BbsErrorCode(static_cast<v1::Error::Type>(10)), absl::StatusCode::kUnknown);
  EXPECT_EQ(BbsErrorCode(static_cast<v1::Error::Type>(42)), absl::StatusCode::kUnknown);
}

TEST(BbsErrorTest, CarriesCodeMessageAndTypePayload) {
  absl::Status status = BbsError(v1::Error::ResourceConflict, "row 'web/3' is locked");

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted, "row 'web/3' is locked"));
  EXPECT_THAT(BbsErrorType(status), Optional(Eq(v1::Error::ResourceConflict)));

  std::optional<absl::Cord> payload;
  if (auto found = status.GetPayload(kBbsErrorTypeUrl); found.has_value()) {
    payload = *found;
  }
  ASSERT_TRUE(payload.has_value());
  v1::Error carried;
  ASSERT_TRUE(carried.ParseFromString(std::string(*payload)));
  EXPECT_EQ(carried.type(), v1::Error::ResourceConflict);
  EXPECT_EQ(carried.message(), "row 'web/3' is locked");
}

TEST(BbsErrorTest, TypeUrlIsTheErrorMessageFullName) {
  EXPECT_EQ(kBbsErrorTypeUrl, "type.googleapis.com/" + v1::Error::descriptor()->full_name());
}

TEST(BbsErrorTest, RoundTripsEveryTypeExactly) {
  for (v1::Error::Type type : AllTypes()) {
    SCOPED_TRACE(v1::Error::Type_Name(type));
    const std::string message = "message for " + v1::Error::Type_Name(type);
    absl::Status status = BbsError(type, message);
    ASSERT_FALSE(status.ok());

    EXPECT_THAT(BbsErrorType(status), Optional(Eq(type)));
    EXPECT_TRUE(HasBbsErrorType(status, type));

    v1::Error wire = ToBbsError(status);
    EXPECT_EQ(wire.type(), type);
    EXPECT_EQ(wire.message(), message);

    absl::Status back = FromBbsError(wire);
    EXPECT_EQ(back.code(), status.code());
    EXPECT_EQ(back.message(), message);
    EXPECT_THAT(BbsErrorType(back), Optional(Eq(type)));
    EXPECT_EQ(back, status);

    // And through the protobuf wire form of the response's `error` field.
    v1::Error decoded;
    ASSERT_TRUE(decoded.ParseFromString(wire.SerializeAsString()));
    EXPECT_EQ(ToBbsError(FromBbsError(decoded)).SerializeAsString(), wire.SerializeAsString());
  }
}

TEST(BbsErrorTest, RoundTripsATypeFromANewerPeer) {
  v1::Error wire;
  wire.set_type(static_cast<v1::Error::Type>(42));
  wire.set_message("something new");

  absl::Status status = FromBbsError(wire);

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnknown, "something new"));
  v1::Error back = ToBbsError(status);
  EXPECT_EQ(static_cast<int>(back.type()), 42);
  EXPECT_EQ(back.message(), "something new");
}

TEST(BbsErrorTest, RoundTripsAnEmptyMessage) {
  absl::Status status = BbsError(v1::Error::UnknownError, "");

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnknown));
  EXPECT_THAT(BbsErrorType(status), Optional(Eq(v1::Error::UnknownError)));
  v1::Error wire = ToBbsError(status);
  EXPECT_EQ(wire.type(), v1::Error::UnknownError);
  EXPECT_EQ(wire.message(), "");
}

TEST(BbsErrorTest, CopiesKeepTheType) {
  absl::Status status = ErrDeadlock();
  absl::Status copy = status;
  EXPECT_THAT(BbsErrorType(copy), Optional(Eq(v1::Error::Deadlock)));
}

TEST(BbsErrorTypeTest, IsEmptyForOkAndForeignStatuses) {
  EXPECT_EQ(BbsErrorType(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(BbsErrorType(absl::NotFoundError("x")), std::nullopt);
  EXPECT_FALSE(HasBbsErrorType(absl::NotFoundError("x"), v1::Error::ResourceNotFound));
}

TEST(BbsErrorTypeTest, IgnoresAPayloadThatDoesNotParse) {
  absl::Status status = absl::AbortedError("garbled");
  status.SetPayload(kBbsErrorTypeUrl, absl::Cord("\xff\xff\xff"));

  EXPECT_EQ(BbsErrorType(status), std::nullopt);
  EXPECT_EQ(ToBbsError(status).type(), v1::Error::ResourceConflict);
}

TEST(HasBbsErrorTypeTest, ComparesTypesOnly) {
  EXPECT_TRUE(HasBbsErrorType(BbsError(v1::Error::ResourceNotFound, "other text"),
                              v1::Error::ResourceNotFound));
  EXPECT_FALSE(HasBbsErrorType(ErrResourceNotFound(), v1::Error::ResourceExists));
}

TEST(ToBbsErrorTest, MapsForeignStatusesByCodeKeepingTheMessage) {
  struct Row {
    absl::StatusCode code;
    v1::Error::Type type;
  };
  const std::vector<Row> rows = {
      {absl::StatusCode::kCancelled, v1::Error::UnknownError},
      {absl::StatusCode::kUnknown, v1::Error::UnknownError},
      {absl::StatusCode::kInvalidArgument, v1::Error::InvalidRequest},
      {absl::StatusCode::kDeadlineExceeded, v1::Error::Timeout},
      {absl::StatusCode::kNotFound, v1::Error::ResourceNotFound},
      {absl::StatusCode::kAlreadyExists, v1::Error::ResourceExists},
      {absl::StatusCode::kPermissionDenied, v1::Error::UnknownError},
      {absl::StatusCode::kResourceExhausted, v1::Error::UnknownError},
      {absl::StatusCode::kFailedPrecondition, v1::Error::UnknownError},
      {absl::StatusCode::kAborted, v1::Error::ResourceConflict},
      {absl::StatusCode::kOutOfRange, v1::Error::InvalidRequest},
      {absl::StatusCode::kUnimplemented, v1::Error::UnknownError},
      {absl::StatusCode::kInternal, v1::Error::UnknownError},
      {absl::StatusCode::kUnavailable, v1::Error::UnknownError},
      {absl::StatusCode::kDataLoss, v1::Error::Deserialize},
      {absl::StatusCode::kUnauthenticated, v1::Error::UnknownError},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(absl::StatusCodeToString(row.code));
    v1::Error wire = ToBbsError(absl::Status(row.code, "cell 'c1' said no"));
    EXPECT_EQ(wire.type(), row.type);
    EXPECT_EQ(wire.message(), "cell 'c1' said no");
  }
}

TEST(ToBbsErrorTest, GivesADefaultErrorForOk) {
  v1::Error wire = ToBbsError(absl::OkStatus());
  EXPECT_EQ(wire.type(), v1::Error::UnknownError);
  EXPECT_EQ(wire.message(), "");
}

TEST(ToBbsErrorTest, PrefersTheCarriedTypeOverTheCode) {
  // A BBS status whose code was rewritten keeps its exact Diego type.
  absl::Status status(absl::StatusCode::kInternal, "renamed");
  status.SetPayload(kBbsErrorTypeUrl, *ErrLockCollision().GetPayload(kBbsErrorTypeUrl));
  v1::Error wire = ToBbsError(status);
  EXPECT_EQ(wire.type(), v1::Error::LockCollision);
  EXPECT_EQ(wire.message(), "renamed");
}

struct Predefined {
  const char* name;
  std::function<absl::Status()> make;
  v1::Error::Type type;
  absl::StatusCode code;
  const char* message;
};

TEST(PredefinedErrorsTest, HaveDiegosTypesAndExactMessages) {
  const std::vector<Predefined> rows = {
      {"ErrResourceNotFound", ErrResourceNotFound, v1::Error::ResourceNotFound,
       absl::StatusCode::kNotFound, "the requested resource could not be found"},
      {"ErrResourceExists", ErrResourceExists, v1::Error::ResourceExists,
       absl::StatusCode::kAlreadyExists, "the requested resource already exists"},
      {"ErrResourceConflict", ErrResourceConflict, v1::Error::ResourceConflict,
       absl::StatusCode::kAborted, "the requested resource is in a conflicting state"},
      {"ErrDeadlock", ErrDeadlock, v1::Error::Deadlock, absl::StatusCode::kAborted,
       "the request failed due to deadlock"},
      {"ErrBadRequest", ErrBadRequest, v1::Error::InvalidRequest,
       absl::StatusCode::kInvalidArgument, "the request received is invalid"},
      {"ErrUnknownError", ErrUnknownError, v1::Error::UnknownError, absl::StatusCode::kUnknown,
       "the request failed for an unknown reason"},
      {"ErrDeserialize", ErrDeserialize, v1::Error::Deserialize, absl::StatusCode::kDataLoss,
       "could not deserialize record"},
      {"ErrFailedToOpenEnvelope", ErrFailedToOpenEnvelope, v1::Error::FailedToOpenEnvelope,
       absl::StatusCode::kDataLoss, "could not open envelope"},
      {"ErrActualLrpCannotBeClaimed", ErrActualLrpCannotBeClaimed,
       v1::Error::ActualLRPCannotBeClaimed, absl::StatusCode::kFailedPrecondition,
       "cannot claim actual LRP"},
      {"ErrActualLrpCannotBeStarted", ErrActualLrpCannotBeStarted,
       v1::Error::ActualLRPCannotBeStarted, absl::StatusCode::kFailedPrecondition,
       "cannot start actual LRP"},
      {"ErrActualLrpCannotBeCrashed", ErrActualLrpCannotBeCrashed,
       v1::Error::ActualLRPCannotBeCrashed, absl::StatusCode::kFailedPrecondition,
       "cannot crash actual LRP"},
      {"ErrActualLrpCannotBeFailed", ErrActualLrpCannotBeFailed, v1::Error::ActualLRPCannotBeFailed,
       absl::StatusCode::kFailedPrecondition, "cannot fail actual LRP"},
      {"ErrActualLrpCannotBeRemoved", ErrActualLrpCannotBeRemoved,
       v1::Error::ActualLRPCannotBeRemoved, absl::StatusCode::kFailedPrecondition,
       "cannot remove actual LRP"},
      {"ErrActualLrpCannotBeUnclaimed", ErrActualLrpCannotBeUnclaimed,
       v1::Error::ActualLRPCannotBeUnclaimed, absl::StatusCode::kFailedPrecondition,
       "cannot unclaim actual LRP"},
      {"ErrGuidGeneration", ErrGuidGeneration, v1::Error::GUIDGeneration,
       absl::StatusCode::kInternal, "cannot generate random guid"},
      {"ErrLockCollision", ErrLockCollision, v1::Error::LockCollision, absl::StatusCode::kAborted,
       "lock already exists"},
  };
  for (const Predefined& row : rows) {
    SCOPED_TRACE(row.name);
    absl::Status status = row.make();
    EXPECT_THAT(status, StatusIs(row.code, row.message));
    EXPECT_THAT(BbsErrorType(status), Optional(Eq(row.type)));
    v1::Error wire = ToBbsError(status);
    EXPECT_EQ(wire.type(), row.type);
    EXPECT_EQ(wire.message(), row.message);
  }
}

TEST(NewTaskTransitionErrorTest, NamesBothStates) {
  absl::Status status = NewTaskTransitionError(v1::Task::Completed, v1::Task::Running);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                               "Cannot transition from Completed to Running"));
  EXPECT_THAT(BbsErrorType(status), Optional(Eq(v1::Error::InvalidStateTransition)));
  EXPECT_THAT(NewTaskTransitionError(v1::Task::Invalid, v1::Task::Resolving),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "Cannot transition from Invalid to Resolving"));
}

TEST(NewTaskTransitionErrorTest, PrintsUnknownStatesAsNumbers) {
  EXPECT_THAT(
      NewTaskTransitionError(static_cast<v1::Task::State>(7), v1::Task::Pending),
      StatusIs(absl::StatusCode::kFailedPrecondition, "Cannot transition from 7 to Pending"));
}

TEST(NewRunningOnDifferentCellErrorTest, NamesTheActualCellFirst) {
  absl::Status status = NewRunningOnDifferentCellError("cell-expected", "cell-actual");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                               "Running on cell cell-actual not cell-expected"));
  EXPECT_THAT(BbsErrorType(status), Optional(Eq(v1::Error::RunningOnDifferentCell)));
}

TEST(NewUnrecoverableErrorTest, PrefixesTheCause) {
  absl::Status status = NewUnrecoverableError("driver: bad connection");
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInternal, "Unrecoverable Error: driver: bad connection"));
  EXPECT_THAT(BbsErrorType(status), Optional(Eq(v1::Error::Unrecoverable)));
}

}  // namespace
}  // namespace diego::model
