#include "diego/base/flags.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, test_listen_address, "127.0.0.1:8889", "address");
ABSL_FLAG(int, test_port, 1, "port");
ABSL_FLAG(bool, test_verbose, false, "verbose");
ABSL_FLAG(double, test_ratio, 0.0, "ratio");
ABSL_FLAG(absl::Duration, test_timeout, absl::Seconds(1), "timeout");
ABSL_FLAG(std::vector<std::string>, test_tags, {}, "tags");
ABSL_FLAG(std::string, test_config, "", "config file");

namespace diego {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StrEq;

// Writes `contents` to a file named after the running test and returns its path.
std::string WriteTempFile(absl::string_view contents) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/diego_flags_test_", info->name(), ".json");
  std::FILE* file = std::fopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr) << path;
  if (file != nullptr) {
    std::fwrite(contents.data(), 1, contents.size(), file);
    std::fclose(file);
  }
  return path;
}

class ApplyJsonConfigTest : public ::testing::Test {
 private:
  absl::FlagSaver saver_;  // Restores every flag after each test.
};

TEST_F(ApplyJsonConfigTest, SetsFlagsOfEveryType) {
  const std::string path = WriteTempFile(R"({
    "test_listen_address": "0.0.0.0:9000",
    "test_port": 8080,
    "test_verbose": true,
    "test_ratio": 0.5,
    "test_timeout": "30s",
    "test_tags": ["z1", "z2"]
  })");
  ASSERT_THAT(ApplyJsonConfigFile(path), IsOk());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_listen_address), "0.0.0.0:9000");
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 8080);
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_verbose));
  EXPECT_EQ(absl::GetFlag(FLAGS_test_ratio), 0.5);
  EXPECT_EQ(absl::GetFlag(FLAGS_test_timeout), absl::Seconds(30));
  EXPECT_THAT(absl::GetFlag(FLAGS_test_tags), ElementsAre("z1", "z2"));
}

TEST_F(ApplyJsonConfigTest, AcceptsNumbersWrittenAsStrings) {
  ASSERT_THAT(ApplyJsonConfig(R"({"test_port": "7"})", "inline"), IsOk());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 7);
}

TEST_F(ApplyJsonConfigTest, EmptyObjectChangesNothing) {
  ASSERT_THAT(ApplyJsonConfigFile(WriteTempFile("{}")), IsOk());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 1);
}

TEST_F(ApplyJsonConfigTest, NullLeavesTheFlagUnchanged) {
  absl::SetFlag(&FLAGS_test_listen_address, "kept:1");
  ASSERT_THAT(ApplyJsonConfig(R"({"test_listen_address": null, "test_port": 2})", "inline"),
              IsOk());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_listen_address), "kept:1");
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 2);
}

TEST_F(ApplyJsonConfigTest, UnknownKeyNamesTheFileAndKeyAndChangesNothing) {
  const std::string path = WriteTempFile(R"({"test_port": 5, "test_prot": 6})");
  EXPECT_THAT(ApplyJsonConfigFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StrEq(absl::StrCat("config file '", path, "': unknown flag 'test_prot'"))));
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 1);
}

TEST_F(ApplyJsonConfigTest, BadValueNamesKeyAndValueAndRollsBackEarlierKeys) {
  // Keys apply in sorted order: test_port is set before test_verbose fails.
  const std::string path = WriteTempFile(R"({"test_port": 9000, "test_verbose": "maybe"})");
  EXPECT_THAT(ApplyJsonConfigFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(absl::StrCat("config file '", path, "'")),
                             HasSubstr("invalid value 'maybe' for flag 'test_verbose'"))));
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 1);
  EXPECT_FALSE(absl::GetFlag(FLAGS_test_verbose));
}

TEST_F(ApplyJsonConfigTest, RejectsOutOfRangeNumbers) {
  EXPECT_THAT(ApplyJsonConfig(R"({"test_port": 99999999999})", "inline"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'test_port'")));
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 1);
}

TEST_F(ApplyJsonConfigTest, RejectsNestedObjects) {
  EXPECT_THAT(ApplyJsonConfig(R"({"test_listen_address": {"host": "x"}})", "inline"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "inline: flag 'test_listen_address': nested objects are not supported"));
  EXPECT_THAT(ApplyJsonConfig(R"({"test_tags": [["a"]]})", "inline"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'test_tags'")));
}

TEST_F(ApplyJsonConfigTest, RejectsInvalidJsonAndNonObjects) {
  const std::string path = WriteTempFile("{\"test_port\": ");
  EXPECT_THAT(ApplyJsonConfigFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StrEq(absl::StrCat("config file '", path, "': invalid JSON"))));
  EXPECT_THAT(ApplyJsonConfig("[1, 2]", "$DIEGO_CONFIG"),
              StatusIs(absl::StatusCode::kInvalidArgument, "$DIEGO_CONFIG: want a JSON object"));
}

TEST_F(ApplyJsonConfigTest, MissingFileIsNotFoundAndNamesThePath) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/diego_no_such_config.json");
  EXPECT_THAT(ApplyJsonConfigFile(path),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(absl::StrCat("'", path, "'"))));
}

TEST(ParseHostPortTest, SplitsHostAndPort) {
  absl::StatusOr<std::pair<std::string, int>> address = ParseHostPort("127.0.0.1:8889");
  ASSERT_THAT(address, IsOk());
  EXPECT_THAT(*address, Pair("127.0.0.1", 8889));
}

TEST(ParseHostPortTest, AcceptsBracketedIpv6EmptyHostAndPortZero) {
  absl::StatusOr<std::pair<std::string, int>> v6 = ParseHostPort("[::1]:80");
  ASSERT_THAT(v6, IsOk());
  EXPECT_EQ(*v6, std::make_pair(std::string("::1"), 80));
  absl::StatusOr<std::pair<std::string, int>> any = ParseHostPort(":8080");
  ASSERT_THAT(any, IsOk());
  EXPECT_EQ(*any, std::make_pair(std::string(""), 8080));
  absl::StatusOr<std::pair<std::string, int>> ephemeral = ParseHostPort("localhost:0");
  ASSERT_THAT(ephemeral, IsOk());
  EXPECT_EQ(*ephemeral, std::make_pair(std::string("localhost"), 0));
}

TEST(ParseHostPortTest, RejectsBadAddressesQuotingThem) {
  EXPECT_THAT(ParseHostPort("localhost"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   "invalid address 'localhost': missing port"));
  for (absl::string_view bad : {"host:", "host:http", "host:65536", "host:-1", "host:+80", "::1:80",
                                "[::1:80", "host:8 0"}) {
    EXPECT_THAT(ParseHostPort(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr(absl::StrCat("'", bad, "'"))))
        << bad;
  }
}

// Runs `InitApp` on {"diego-test", flag}; for death tests.
void InitAppWithFlag(const char* flag) {
  std::string arg0 = "diego-test";
  std::string arg1 = flag;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  // Abseil prints --help to stdout; send it to stderr so the matcher sees it.
  std::fflush(stdout);
  dup2(STDERR_FILENO, STDOUT_FILENO);
  InitApp(2, argv, "diego-test: exercises InitApp");
}

TEST(InitAppDeathTest, UnknownFlagExitsWithAnError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(InitAppWithFlag("--no_such_flag_anywhere=1"), ::testing::ExitedWithCode(1),
              "no_such_flag_anywhere");
}

TEST(InitAppDeathTest, HelpPrintsTheUsageAndExits) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(InitAppWithFlag("--help"), ::testing::ExitedWithCode(1),
              "diego-test: exercises InitApp");
}

TEST(InitAppTest, ParsesFlagsAndReturnsPositionalArguments) {
  absl::FlagSaver saver;
  char arg0[] = "diego-test";
  char arg1[] = "--test_port=4242";
  char arg2[] = "first";
  char arg3[] = "--test_verbose";
  char arg4[] = "second";
  char* argv[] = {arg0, arg1, arg2, arg3, arg4, nullptr};
  std::vector<char*> positional = InitApp(5, argv, "diego-test: exercises InitApp");
  std::vector<std::string> args(positional.begin(), positional.end());
  EXPECT_THAT(args, ElementsAre("diego-test", "first", "second"));
  EXPECT_EQ(absl::GetFlag(FLAGS_test_port), 4242);
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_verbose));
}

// Runs `InitAppWithConfig` on {"diego-test", flags...} in a death test's
// child (InitApp may run once per process) and exits with `check`'s verdict:
// 0 when it holds, 3 otherwise.
void ExitWithInitAppWithConfig(
    std::vector<std::string> flags,
    const std::function<bool(const absl::StatusOr<std::vector<char*>>&)>& check) {
  std::vector<std::string> storage = {"diego-test"};
  storage.insert(storage.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  absl::StatusOr<std::vector<char*>> args = InitAppWithConfig(
      static_cast<int>(storage.size()), argv.data(), "diego-test", FLAGS_test_config);
  std::exit(check(args) ? 0 : 3);
}

TEST(InitAppWithConfigDeathTest, AppliesTheConfigFileAfterTheCommandLine) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string path = WriteTempFile(R"({"test_port": 7, "test_verbose": true})");
  EXPECT_EXIT(ExitWithInitAppWithConfig(
                  {"--test_port=4242", absl::StrCat("--test_config=", path), "first"},
                  [](const absl::StatusOr<std::vector<char*>>& args) {
                    return args.ok() && args->size() == 2 && std::string((*args)[1]) == "first" &&
                           absl::GetFlag(FLAGS_test_port) == 7 && absl::GetFlag(FLAGS_test_verbose);
                  }),
              ::testing::ExitedWithCode(0), "");
}

TEST(InitAppWithConfigDeathTest, WithoutAConfigFileOnlyParses) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ExitWithInitAppWithConfig({"--test_port=4242"},
                                        [](const absl::StatusOr<std::vector<char*>>& args) {
                                          return args.ok() && args->size() == 1 &&
                                                 absl::GetFlag(FLAGS_test_port) == 4242;
                                        }),
              ::testing::ExitedWithCode(0), "");
}

TEST(InitAppWithConfigDeathTest, ReturnsTheConfigFilesError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string path = WriteTempFile(R"({"test_port": 7, "no_such_flag": 1})");
  // All or nothing: test_port keeps the command line's value.
  auto check = [](const absl::StatusOr<std::vector<char*>>& args) {
    return absl::IsInvalidArgument(args.status()) &&
           absl::StrContains(args.status().message(), "unknown flag 'no_such_flag'") &&
           absl::GetFlag(FLAGS_test_port) == 4242;
  };
  EXPECT_EXIT(
      ExitWithInitAppWithConfig({"--test_port=4242", absl::StrCat("--test_config=", path)}, check),
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace diego
