#include "diego/model/check.h"

#include <string>

#include "absl/status/status.h"
#include "diego/model/errors.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::model {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kValidLrp[] = R"({
  "process_guid": "web",
  "domain": "cf-apps",
  "rootfs": "preloaded:cflinuxfs4",
  "instances": 2,
  "action": {"run": {"path": "/bin/server", "user": "vcap"}},
  "memory_mb": 128,
  "disk_mb": 256,
  "metric_tags": {"source_id": {"static": "web"}}
})";

TEST(CheckJsonDocumentTest, AutoDetectsAValidDesiredLrp) {
  ASSERT_OK_AND_ASSIGN(CheckResult result, CheckJsonDocument(kValidLrp, "auto"));
  EXPECT_EQ(result.type_name, "DesiredLRP");
  EXPECT_EQ(result.description, "DesiredLRP \"web\"");
  EXPECT_THAT(result.validation, IsOk());
  // Normalised Go JSON: Diego's keys, defaults written, indented.
  EXPECT_THAT(result.normalized_json, HasSubstr("\"process_guid\": \"web\""));
  EXPECT_THAT(result.normalized_json, HasSubstr("\"rootfs\": \"preloaded:cflinuxfs4\""));
  EXPECT_THAT(result.normalized_json, HasSubstr("\"privileged\": false"));
}

TEST(CheckJsonDocumentTest, ReportsEveryFailureOfAnInvalidTask) {
  constexpr char kTask[] = R"({
    "task_guid": "bad guid!",
    "domain": "",
    "rootfs": "ploop",
    "action": {"run": {"path": "/bin/true", "user": "root"}}
  })";
  ASSERT_OK_AND_ASSIGN(CheckResult result, CheckJsonDocument(kTask, "auto"));
  EXPECT_EQ(result.type_name, "Task");
  EXPECT_EQ(result.description, "Task \"bad guid!\"");
  EXPECT_THAT(result.validation,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("Invalid field: task_guid"), HasSubstr("Invalid field: domain"),
                             HasSubstr("Invalid field: rootfs"))));
  EXPECT_EQ(BbsErrorType(result.validation), v1::Error::InvalidRequest);
}

TEST(CheckJsonDocumentTest, ExplicitTypeReadsAnyModelMessage) {
  ASSERT_OK_AND_ASSIGN(
      CheckResult result,
      CheckJsonDocument(R"({"instances": 4, "annotation": "scaled"})", "DesiredLRPUpdate"));
  EXPECT_EQ(result.type_name, "DesiredLRPUpdate");
  EXPECT_THAT(result.validation, IsOk());
  EXPECT_THAT(result.normalized_json, HasSubstr("\"instances\": 4"));
}

TEST(CheckJsonDocumentTest, ExplicitTypeValidatesWithThatTypesRules) {
  ASSERT_OK_AND_ASSIGN(CheckResult result,
                       CheckJsonDocument(R"({"process_guid": "web"})", "DesiredLRP"));
  EXPECT_THAT(result.validation, StatusIs(absl::StatusCode::kInvalidArgument,
                                          AllOf(HasSubstr("Invalid field: domain"),
                                                Not(HasSubstr("process_guid")))));
}

TEST(CheckJsonDocumentTest, RefusesAnUnknownType) {
  EXPECT_THAT(CheckJsonDocument("{}", "Banana"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown message type \"Banana\"")));
}

TEST(CheckJsonDocumentTest, AutoNeedsAGuidKey) {
  EXPECT_THAT(CheckJsonDocument(R"({"domain": "x"})", "auto"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pass --type")));
  EXPECT_THAT(CheckJsonDocument("[1, 2]", "auto"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a JSON object")));
}

TEST(CheckJsonDocumentTest, MalformedJsonIsAnInputError) {
  EXPECT_THAT(CheckJsonDocument(R"({"process_guid": )", "auto"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(BbsErrorType(CheckJsonDocument(R"({"process_guid": )", "auto").status()),
            v1::Error::InvalidJSON);
}

TEST(CheckJsonDocumentTest, WrongValueTypeNamesTheField) {
  EXPECT_THAT(
      CheckJsonDocument(R"({"process_guid": "web", "instances": "three"})", "auto"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("instances")));
}

}  // namespace
}  // namespace diego::model
