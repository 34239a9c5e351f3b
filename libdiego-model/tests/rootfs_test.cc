// Copyright 2026 The libdiego Authors.

#include "diego/model/rootfs.h"

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::model {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::Pair;

using QueryPairs = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------------------
// ParseRootFs: accepted forms.

struct ParseCase {
  std::string name;
  std::string rootfs;
  RootFsUrl want;

  // Names the case in gtest failure output instead of dumping bytes.
  friend void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }
};

class ParseRootFsAcceptsTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseRootFsAcceptsTest, ProducesGoUrlFields) {
  const ParseCase& c = GetParam();
  ASSERT_OK_AND_ASSIGN(RootFsUrl got, ParseRootFs(c.rootfs));
  EXPECT_EQ(got.scheme, c.want.scheme);
  EXPECT_EQ(got.opaque, c.want.opaque);
  EXPECT_EQ(got.userinfo, c.want.userinfo);
  EXPECT_EQ(got.host, c.want.host);
  EXPECT_EQ(got.path, c.want.path);
  EXPECT_EQ(got.raw_query, c.want.raw_query);
  EXPECT_EQ(got.query, c.want.query);
  EXPECT_EQ(got.fragment, c.want.fragment);
  EXPECT_EQ(got, c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, ParseRootFsAcceptsTest,
    ::testing::Values(
        ParseCase{"PreloadedStackIsOpaquePart",
                  "preloaded:cflinuxfs4",
                  {.scheme = "preloaded", .opaque = "cflinuxfs4"}},
        ParseCase{"SchemeIsLowerCased",
                  "PreLoaded:cflinuxfs4",
                  {.scheme = "preloaded", .opaque = "cflinuxfs4"}},
        ParseCase{"OpaquePartIsNotDecoded",
                  "preloaded:cf%zzlinux",
                  {.scheme = "preloaded", .opaque = "cf%zzlinux"}},
        ParseCase{"PreloadedWithoutStackParses", "preloaded:", {.scheme = "preloaded"}},
        ParseCase{"PreloadedWithSlashesIsHierarchical",
                  "preloaded:///cflinuxfs4",
                  {.scheme = "preloaded", .path = "/cflinuxfs4"}},
        ParseCase{"PreloadedLayerCarriesDecodedQuery",
                  "preloaded+layer:cflinuxfs4?layer=http%3A%2F%2Ffile-server%2F"
                  "droplet.tgz&layer_path=%2Fhome%2Fvcap&layer_digest=abc123",
                  {.scheme = "preloaded+layer",
                   .opaque = "cflinuxfs4",
                   .raw_query = "layer=http%3A%2F%2Ffile-server%2Fdroplet.tgz&"
                                "layer_path=%2Fhome%2Fvcap&layer_digest=abc123",
                   .query = QueryPairs{{"layer", "http://file-server/droplet.tgz"},
                                       {"layer_path", "/home/vcap"},
                                       {"layer_digest", "abc123"}}}},
        ParseCase{"MalformedQueryPairsAreDroppedNotRejected",
                  "preloaded+layer:s?layer=%zz&layer_path=/x&a+b=c+d&;x=1&&flag",
                  {.scheme = "preloaded+layer",
                   .opaque = "s",
                   .raw_query = "layer=%zz&layer_path=/x&a+b=c+d&;x=1&&flag",
                   .query = QueryPairs{{"layer_path", "/x"}, {"a b", "c d"}, {"flag", ""}}}},
        ParseCase{"TrailingQuestionMarkGivesEmptyQuery",
                  "preloaded:cflinuxfs4?",
                  {.scheme = "preloaded", .opaque = "cflinuxfs4"}},
        ParseCase{
            "DockerHubImageWithTag",
            "docker:///cloudfoundry/diego-docker-app#latest",
            {.scheme = "docker", .path = "/cloudfoundry/diego-docker-app", .fragment = "latest"}},
        ParseCase{"DockerRegistryWithPort",
                  "docker://registry.example.com:5000/org/image#v1.2",
                  {.scheme = "docker",
                   .host = "registry.example.com:5000",
                   .path = "/org/image",
                   .fragment = "v1.2"}},
        ParseCase{"DockerWithoutTag",
                  "docker://registry.example.com/org/image",
                  {.scheme = "docker", .host = "registry.example.com", .path = "/org/image"}},
        ParseCase{"DockerUserinfoIsKeptRaw",
                  "docker://user:p%40ss@registry:5000/org/image",
                  {.scheme = "docker",
                   .userinfo = "user:p%40ss",
                   .host = "registry:5000",
                   .path = "/org/image"}},
        ParseCase{"DockerIpv6Registry",
                  "docker://[::1]:5000/img",
                  {.scheme = "docker", .host = "[::1]:5000", .path = "/img"}},
        ParseCase{"EmptyPortIsAllowed",
                  "docker://registry:/img",
                  {.scheme = "docker", .host = "registry:", .path = "/img"}},
        ParseCase{
            "AuthorityWithoutPath", "docker://registry", {.scheme = "docker", .host = "registry"}},
        ParseCase{"SingleSlashHasNoAuthority",
                  "docker:/org/image",
                  {.scheme = "docker", .path = "/org/image"}},
        ParseCase{"PathIsPercentDecoded",
                  "docker:///org/my%20image",
                  {.scheme = "docker", .path = "/org/my image"}},
        ParseCase{"FragmentStartsAtFirstHash",
                  "docker:///img#a#b%21",
                  {.scheme = "docker", .path = "/img", .fragment = "a#b!"}},
        ParseCase{"ControlCharacterInFragmentIsAcceptedLikeGo",
                  std::string("docker:///img#ta\x01g"),
                  {.scheme = "docker", .path = "/img", .fragment = std::string("ta\x01g")}},
        ParseCase{"UnknownSchemeParses",
                  "oci:///var/vcap/image",
                  {.scheme = "oci", .path = "/var/vcap/image"}}),
    [](const ::testing::TestParamInfo<ParseCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------
// ParseRootFs: rejected inputs.

struct RejectCase {
  std::string name;
  std::string rootfs;
  std::string want_message;  // A substring of the error message.

  friend void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }
};

class ParseRootFsRejectsTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(ParseRootFsRejectsTest, ReturnsInvalidArgumentNamingTheProblem) {
  const RejectCase& c = GetParam();
  EXPECT_THAT(ParseRootFs(c.rootfs),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want_message)));
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, ParseRootFsRejectsTest,
    ::testing::Values(
        RejectCase{"Empty", "", "rootfs is empty"},
        RejectCase{"Ploop", "ploop", "rootfs 'ploop' has no scheme"},
        RejectCase{"AbsolutePath", "/var/vcap/packages/rootfs", "has no scheme"},
        RejectCase{"SchemeStartingWithDigit", "1abc:stack", "has no scheme"},
        RejectCase{"SchemeWithInvalidCharacter", "pre_loaded:stack", "has no scheme"},
        RejectCase{"LeadingColon", ":cflinuxfs4", "missing protocol scheme"},
        RejectCase{"NewlineInUrl", "docker:///img\n", "invalid control character in URL"},
        RejectCase{"DeleteInUrl", "preloaded:cf\x7f", "invalid control character in URL"},
        RejectCase{"NonNumericPort", "docker://registry:abc/img",
                   "invalid port \":abc\" after host"},
        RejectCase{"SpaceInHost", "docker://reg istry/img", "invalid character \" \" in host name"},
        RejectCase{"EscapedAsciiInHost", "docker://%41host/img", "invalid URL escape \"%41\""},
        RejectCase{"UnclosedIpv6Literal", "docker://[::1/img", "missing ']' in host"},
        RejectCase{"GarbageAfterIpv6Literal", "docker://[::1]x/img",
                   "invalid port \"x\" after host"},
        RejectCase{"BadPathEscape", "docker:///img%zz", "invalid URL escape \"%zz\""},
        RejectCase{"TruncatedPathEscape", "docker:///img%4", "invalid URL escape \"%4\""},
        RejectCase{"BadFragmentEscape", "docker:///img#%zz", "invalid URL escape \"%zz\""},
        RejectCase{"IllegalUserinfoCharacter", "docker://us{er@host/img", "invalid userinfo"},
        RejectCase{"BadUserinfoEscape", "docker://us%zz@host/img", "invalid URL escape \"%zz\""}),
    [](const ::testing::TestParamInfo<RejectCase>& info) { return info.param.name; });

TEST(ParseRootFsTest, ErrorQuotesTheRootfs) {
  EXPECT_THAT(ParseRootFs("docker://registry:abc/img"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("rootfs 'docker://registry:abc/img'")));
}

TEST(ParseRootFsTest, ErrorEscapesControlCharactersInTheQuotedRootfs) {
  EXPECT_THAT(ParseRootFs("docker:///img\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'docker:///img\\n'")));
}

// ---------------------------------------------------------------------------
// RootFsUrl accessors.

TEST(RootFsUrlTest, StackIsOpaquePartForPreloadedSchemesOnly) {
  ASSERT_OK_AND_ASSIGN(RootFsUrl preloaded, ParseRootFs("preloaded:cflinuxfs4"));
  EXPECT_EQ(preloaded.stack(), "cflinuxfs4");
  EXPECT_TRUE(preloaded.is_opaque());

  ASSERT_OK_AND_ASSIGN(RootFsUrl layered, ParseRootFs("preloaded+layer:windows?layer=x"));
  EXPECT_EQ(layered.stack(), "windows");

  ASSERT_OK_AND_ASSIGN(RootFsUrl other, ParseRootFs("custom:thing"));
  EXPECT_TRUE(other.is_opaque());
  EXPECT_EQ(other.stack(), "");

  ASSERT_OK_AND_ASSIGN(RootFsUrl docker, ParseRootFs("docker:///img"));
  EXPECT_FALSE(docker.is_opaque());
  EXPECT_EQ(docker.stack(), "");
}

TEST(RootFsUrlTest, QueryValueReturnsFirstValueAndDistinguishesAbsent) {
  ASSERT_OK_AND_ASSIGN(RootFsUrl url, ParseRootFs("preloaded+layer:s?a=1&a=2&empty=&bare"));
  EXPECT_THAT(url.QueryValue("a"), Optional(std::string("1")));
  EXPECT_THAT(url.QueryValue("empty"), Optional(std::string("")));
  EXPECT_THAT(url.QueryValue("bare"), Optional(std::string("")));
  EXPECT_EQ(url.QueryValue("missing"), std::nullopt);
  EXPECT_THAT(url.query,
              ElementsAre(Pair("a", "1"), Pair("a", "2"), Pair("empty", ""), Pair("bare", "")));
}

TEST(RootFsUrlTest, PreloadedRootFsRoundTrips) {
  EXPECT_EQ(PreloadedRootFs("cflinuxfs4"), "preloaded:cflinuxfs4");
  ASSERT_OK_AND_ASSIGN(RootFsUrl url, ParseRootFs(PreloadedRootFs("windows")));
  EXPECT_EQ(url.scheme, kPreloadedRootFsScheme);
  EXPECT_EQ(url.stack(), "windows");
}

// ---------------------------------------------------------------------------
// ValidateLayerParameters.

struct LayerCase {
  std::string name;
  std::string rootfs;
  std::optional<std::string> want_error;  // nullopt: OK.

  friend void PrintTo(const LayerCase& c, std::ostream* os) { *os << c.name; }
};

class ValidateLayerParametersTest : public ::testing::TestWithParam<LayerCase> {};

TEST_P(ValidateLayerParametersTest, ChecksSchemeAndRequiredParameters) {
  const LayerCase& c = GetParam();
  ASSERT_OK_AND_ASSIGN(RootFsUrl url, ParseRootFs(c.rootfs));
  if (c.want_error.has_value()) {
    EXPECT_THAT(ValidateLayerParameters(url),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(*c.want_error)));
  } else {
    EXPECT_THAT(ValidateLayerParameters(url), IsOk());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Urls, ValidateLayerParametersTest,
    ::testing::Values(
        LayerCase{"AllThreePresent",
                  "preloaded+layer:cflinuxfs4?layer=http://fs/d.tgz&"
                  "layer_path=/home/vcap&layer_digest=abc",
                  std::nullopt},
        LayerCase{"EmptyValuesCountAsPresent",
                  "preloaded+layer:cflinuxfs4?layer=&layer_path=&layer_digest=", std::nullopt},
        LayerCase{"MissingLayer", "preloaded+layer:cflinuxfs4?layer_path=/x&layer_digest=abc",
                  "has no query parameter 'layer'"},
        LayerCase{"MissingLayerPath", "preloaded+layer:cflinuxfs4?layer=u&layer_digest=abc",
                  "has no query parameter 'layer_path'"},
        LayerCase{"MissingLayerDigest", "preloaded+layer:cflinuxfs4?layer=u&layer_path=/x",
                  "has no query parameter 'layer_digest'"},
        LayerCase{"NoQueryReportsLayerFirst", "preloaded+layer:cflinuxfs4",
                  "'preloaded+layer:cflinuxfs4' has no query parameter 'layer'"},
        LayerCase{"PlainPreloadedIsWrongScheme", "preloaded:cflinuxfs4",
                  "rootfs scheme 'preloaded' is not 'preloaded+layer'"},
        LayerCase{"DockerIsWrongScheme", "docker:///img?layer=u",
                  "rootfs scheme 'docker' is not 'preloaded+layer'"}),
    [](const ::testing::TestParamInfo<LayerCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------
// RootFsProviders.

v1::Provider MakeProvider(const std::string& name, const std::vector<std::string>& properties) {
  v1::Provider provider;
  provider.set_name(name);
  for (const std::string& p : properties) {
    provider.add_properties(p);
  }
  return provider;
}

// The provider list a current rep publishes (bbs models/cell_presence.go
// `NewCellPresence`): preloaded, preloaded+layer, extra, then one entry per
// supported arbitrary provider.
v1::CellPresence TypicalPresence() {
  v1::CellPresence presence;
  presence.set_cell_id("cell-z1-0");
  *presence.add_rootfs_providers() = MakeProvider("preloaded", {"cflinuxfs4@1.2.3", "windows"});
  *presence.add_rootfs_providers() =
      MakeProvider("preloaded+layer", {"cflinuxfs4@1.2.3", "windows"});
  *presence.add_rootfs_providers() = MakeProvider("extra", {"custom@4.5.6"});
  *presence.add_rootfs_providers() = MakeProvider("docker", {});
  return presence;
}

struct MatchCase {
  std::string name;
  std::string rootfs;
  bool want;

  friend void PrintTo(const MatchCase& c, std::ostream* os) { *os << c.name; }
};

class PresenceMatchTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(PresenceMatchTest, MatchesLikeTheRepState) {
  const MatchCase& c = GetParam();
  const RootFsProviders providers = RootFsProviders::FromCellPresence(TypicalPresence());
  EXPECT_EQ(providers.Match(absl::string_view(c.rootfs)), c.want);

  absl::StatusOr<RootFsUrl> url = ParseRootFs(c.rootfs);
  if (url.ok()) {
    EXPECT_EQ(providers.Match(*url), c.want);
    EXPECT_EQ(CellSupportsRootFs(TypicalPresence(), *url), c.want);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rootfses, PresenceMatchTest,
    ::testing::Values(
        MatchCase{"PreloadedVersionedStack", "preloaded:cflinuxfs4", true},
        MatchCase{"PreloadedUnversionedStack", "preloaded:windows", true},
        MatchCase{"PreloadedLayerStack",
                  "preloaded+layer:cflinuxfs4?layer=u&layer_path=/p&"
                  "layer_digest=d",
                  true},
        MatchCase{"ExtraStackUnderPreloaded", "preloaded:custom", true},
        MatchCase{"ExtraStackUnderPreloadedLayer", "preloaded+layer:custom", true},
        MatchCase{"UnknownStack", "preloaded:cflinuxfs3", false},
        MatchCase{"VersionIsNotPartOfTheStackName", "preloaded:cflinuxfs4@1.2.3", false},
        MatchCase{"StackNamesAreCaseSensitive", "preloaded:CFLINUXFS4", false},
        MatchCase{"UpperCaseSchemeIsLowerCased", "PRELOADED:cflinuxfs4", true},
        MatchCase{"EmptyStack", "preloaded:", false},
        MatchCase{"HierarchicalPreloadedHasNoOpaquePart", "preloaded:///cflinuxfs4", false},
        MatchCase{"DockerHubImage", "docker:///cloudfoundry/app#latest", true},
        MatchCase{"DockerPrivateRegistry", "docker://reg:5000/org/app#v1", true},
        MatchCase{"DockerOpaqueIsStillArbitrary", "docker:anything", true},
        MatchCase{"SchemeWithoutProvider", "oci:///image", false},
        MatchCase{"ExtraIsNotAScheme", "extra:custom", false},
        MatchCase{"NoScheme", "ploop", false}, MatchCase{"Empty", "", false},
        MatchCase{"Unparseable", "docker://reg:bad/img", false}),
    [](const ::testing::TestParamInfo<MatchCase>& info) { return info.param.name; });

TEST(RootFsProvidersTest, DefaultTableMatchesNothing) {
  RootFsProviders providers;
  EXPECT_TRUE(providers.empty());
  EXPECT_FALSE(providers.Match("preloaded:cflinuxfs4"));
  EXPECT_FALSE(providers.Match("docker:///img"));
  EXPECT_THAT(providers.Schemes(), IsEmpty());
}

TEST(RootFsProvidersTest, FromProviderListClassifiesEntries) {
  const RootFsProviders providers = RootFsProviders::FromCellPresence(TypicalPresence());
  EXPECT_THAT(providers.Schemes(), ElementsAre("docker", "preloaded", "preloaded+layer"));
  EXPECT_EQ(providers.TypeOf("preloaded"), RootFsProviderType::kFixedSet);
  EXPECT_EQ(providers.TypeOf("preloaded+layer"), RootFsProviderType::kFixedSet);
  EXPECT_EQ(providers.TypeOf("docker"), RootFsProviderType::kArbitrary);
  EXPECT_EQ(providers.TypeOf("extra"), std::nullopt);
  EXPECT_THAT(providers.FixedSet("preloaded"), ElementsAre("cflinuxfs4", "custom", "windows"));
  EXPECT_THAT(providers.FixedSet("preloaded+layer"),
              ElementsAre("cflinuxfs4", "custom", "windows"));
  EXPECT_THAT(providers.FixedSet("docker"), IsEmpty());
  EXPECT_THAT(providers.FixedSet("missing"), IsEmpty());
}

TEST(RootFsProvidersTest, RepeatedPreloadedEntriesAreMerged) {
  v1::CellPresence presence;
  *presence.add_rootfs_providers() = MakeProvider("preloaded", {"a"});
  *presence.add_rootfs_providers() = MakeProvider("preloaded", {"b@2"});
  const RootFsProviders providers = RootFsProviders::FromCellPresence(presence);
  EXPECT_THAT(providers.FixedSet("preloaded"), ElementsAre("a", "b"));
}

TEST(RootFsProvidersTest, VersionIsCutAtTheFirstAt) {
  v1::CellPresence presence;
  *presence.add_rootfs_providers() = MakeProvider("preloaded", {"stack@1.0@build-7"});
  const RootFsProviders providers = RootFsProviders::FromCellPresence(presence);
  EXPECT_THAT(providers.FixedSet("preloaded"), ElementsAre("stack"));
  EXPECT_TRUE(providers.Match("preloaded:stack"));
}

TEST(RootFsProvidersTest, ExtraStacksJoinOnlyPreloadedSchemesThatExist) {
  // An older rep published only `preloaded`; extra stacks must not invent a
  // `preloaded+layer` provider.
  v1::CellPresence presence;
  *presence.add_rootfs_providers() = MakeProvider("extra", {"custom"});
  *presence.add_rootfs_providers() = MakeProvider("preloaded", {"linux"});
  const RootFsProviders providers = RootFsProviders::FromCellPresence(presence);
  EXPECT_THAT(providers.FixedSet("preloaded"), ElementsAre("custom", "linux"));
  EXPECT_EQ(providers.TypeOf("preloaded+layer"), std::nullopt);
  EXPECT_FALSE(providers.Match("preloaded+layer:linux"));
}

TEST(RootFsProvidersTest, ExtraAloneProvidesNothing) {
  v1::CellPresence presence;
  *presence.add_rootfs_providers() = MakeProvider("extra", {"custom"});
  const RootFsProviders providers = RootFsProviders::FromCellPresence(presence);
  EXPECT_TRUE(providers.empty());
  EXPECT_FALSE(providers.Match("preloaded:custom"));
}

TEST(RootFsProvidersTest, ArbitraryEntryIgnoresPropertiesAndNameCase) {
  v1::CellPresence presence;
  *presence.add_rootfs_providers() = MakeProvider("oci", {"ignored"});
  *presence.add_rootfs_providers() = MakeProvider("Docker", {});
  const RootFsProviders providers = RootFsProviders::FromCellPresence(presence);
  EXPECT_EQ(providers.TypeOf("oci"), RootFsProviderType::kArbitrary);
  EXPECT_TRUE(providers.Match("oci:///any/image"));
  // Provider names are map keys, compared exactly; URL schemes are lowered.
  EXPECT_FALSE(providers.Match("docker:///img"));
  EXPECT_FALSE(providers.Match("Docker:///img"));
}

TEST(RootFsProvidersTest, EmptyPresenceSupportsNothing) {
  v1::CellPresence presence;
  ASSERT_OK_AND_ASSIGN(RootFsUrl url, ParseRootFs("preloaded:cflinuxfs4"));
  EXPECT_FALSE(CellSupportsRootFs(presence, url));
}

TEST(RootFsProvidersTest, StateViewUsesExactStackNames) {
  // The rep's /state view: fixed sets of bare names (rep auctioncellrep
  // `rootFSProviders`) plus arbitrary schemes.
  RootFsProviders providers;
  providers.SetFixedSet("preloaded", {"linux"});
  providers.SetFixedSet("preloaded+layer", {"linux"});
  providers.SetArbitrary("docker");
  EXPECT_TRUE(providers.Match("preloaded:linux"));
  EXPECT_TRUE(providers.Match("preloaded+layer:linux?layer=u"));
  EXPECT_TRUE(providers.Match("docker:///x"));
  EXPECT_FALSE(providers.Match("preloaded:windows"));

  RootFsProviders versioned;
  versioned.SetFixedSet("preloaded", {"linux@1"});
  EXPECT_TRUE(versioned.Match("preloaded:linux@1"));
  EXPECT_FALSE(versioned.Match("preloaded:linux"));
}

TEST(RootFsProvidersTest, SetReplacesThePreviousEntry) {
  RootFsProviders providers;
  providers.SetArbitrary("preloaded");
  EXPECT_TRUE(providers.Match("preloaded:anything"));

  providers.SetFixedSet("preloaded", {"linux"});
  EXPECT_EQ(providers.TypeOf("preloaded"), RootFsProviderType::kFixedSet);
  EXPECT_FALSE(providers.Match("preloaded:anything"));
  EXPECT_TRUE(providers.Match("preloaded:linux"));

  providers.SetFixedSet("preloaded", {"windows"});
  EXPECT_THAT(providers.FixedSet("preloaded"), ElementsAre("windows"));

  providers.SetArbitrary("preloaded");
  EXPECT_EQ(providers.TypeOf("preloaded"), RootFsProviderType::kArbitrary);
  EXPECT_THAT(providers.FixedSet("preloaded"), IsEmpty());
}

TEST(RootFsProvidersTest, EqualityComparesTypesAndStacks) {
  RootFsProviders a;
  a.SetFixedSet("preloaded", {"linux", "windows"});
  a.SetArbitrary("docker");
  RootFsProviders b;
  b.SetArbitrary("docker");
  b.SetFixedSet("preloaded", {"windows", "linux", "linux"});
  EXPECT_EQ(a, b);

  b.SetFixedSet("preloaded", {"linux"});
  EXPECT_FALSE(a == b);
}

}  // namespace
}  // namespace diego::model
