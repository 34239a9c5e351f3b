// Copyright 2026 The libdiego Authors.
//
// The private URL parser shared by BbsClient, the HTTP outbound clients and
// the task completion callbacks.

#include "diego/base/internal/http_url.h"

#include <string>

#include "absl/status/status.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::base_internal {
namespace {

using ::diego::fakes::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseHttpUrlTest, SplitsEveryPart) {
  ASSERT_OK_AND_ASSIGN(HttpUrl url,
                       ParseHttpUrl("https://us%40r:p%3Ass@cc.example.com:8443/v3/done?a=1#frag"));
  EXPECT_TRUE(url.tls);
  EXPECT_EQ(url.host, "cc.example.com");
  EXPECT_EQ(url.port, 8443);
  EXPECT_EQ(url.path, "/v3/done");
  EXPECT_EQ(url.query, "a=1");
  EXPECT_EQ(url.fragment, "frag");
  EXPECT_TRUE(url.has_user);
  EXPECT_EQ(url.user, "us@r");
  EXPECT_EQ(url.password, "p:ss");
  EXPECT_EQ(url.Target(), "/v3/done?a=1");
  EXPECT_EQ(url.Origin(), "https://cc.example.com:8443");
}

TEST(ParseHttpUrlTest, DefaultsAndEmptyParts) {
  ASSERT_OK_AND_ASSIGN(HttpUrl plain, ParseHttpUrl("http://10.0.0.1"));
  EXPECT_FALSE(plain.tls);
  EXPECT_EQ(plain.port, 80);
  EXPECT_EQ(plain.path, "");
  EXPECT_FALSE(plain.query.has_value());
  EXPECT_FALSE(plain.fragment.has_value());
  EXPECT_FALSE(plain.has_user);
  EXPECT_EQ(plain.Target(), "/");
  EXPECT_EQ(plain.Origin(), "http://10.0.0.1:80");

  ASSERT_OK_AND_ASSIGN(HttpUrl secure, ParseHttpUrl("https://host:/x"));
  EXPECT_EQ(secure.port, 443);  // An empty port is the scheme's, as in Go.

  // A query right after the host is sent on "/"; a user without ':' has an
  // empty password.
  ASSERT_OK_AND_ASSIGN(HttpUrl query_only, ParseHttpUrl("http://user@h?only=query/x#f"));
  EXPECT_EQ(query_only.host, "h");
  EXPECT_EQ(query_only.Target(), "/?only=query/x");
  EXPECT_TRUE(query_only.has_user);
  EXPECT_EQ(query_only.user, "user");
  EXPECT_EQ(query_only.password, "");
}

TEST(ParseHttpUrlTest, Ipv6Hosts) {
  ASSERT_OK_AND_ASSIGN(HttpUrl bracketed, ParseHttpUrl("http://[::1]:8889/p"));
  EXPECT_EQ(bracketed.host, "::1");
  EXPECT_EQ(bracketed.port, 8889);
  EXPECT_EQ(bracketed.Origin(), "http://[::1]:8889");
  ASSERT_OK_AND_ASSIGN(HttpUrl no_port, ParseHttpUrl("https://[fe80::1]"));
  EXPECT_EQ(no_port.host, "fe80::1");
  EXPECT_EQ(no_port.port, 443);
}

TEST(ParseHttpUrlTest, RefusesBadUrlsWithoutQuotingThem) {
  EXPECT_THAT(ParseHttpUrl("ftp://files.example.com/done"),
              StatusIs(absl::StatusCode::kInvalidArgument, "scheme must be http:// or https://"));
  EXPECT_THAT(ParseHttpUrl("bbs.service.cf.internal:8889"),
              StatusIs(absl::StatusCode::kInvalidArgument, "scheme must be http:// or https://"));
  EXPECT_THAT(ParseHttpUrl("http://:8889"),
              StatusIs(absl::StatusCode::kInvalidArgument, "empty host"));
  EXPECT_THAT(ParseHttpUrl("http://secret@/x"),
              StatusIs(absl::StatusCode::kInvalidArgument, "empty host"));
  EXPECT_THAT(ParseHttpUrl("http://[::1/x"),
              StatusIs(absl::StatusCode::kInvalidArgument, "unclosed '['"));
  EXPECT_THAT(ParseHttpUrl("http://[::1]80/x"),
              StatusIs(absl::StatusCode::kInvalidArgument, "unexpected characters after ']'"));
  for (const char* port : {"99999", "0", "notaport", "+80", "8 0"}) {
    EXPECT_THAT(
        ParseHttpUrl(std::string("http://host:") + port + "/x"),
        StatusIs(absl::StatusCode::kInvalidArgument, std::string("invalid port '") + port + "'"));
  }
  EXPECT_THAT(ParseHttpUrl("http://us%zzr:pw@host/x"),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("pw"))));
  // CR/LF (header injection), other control characters and DEL, as Go.
  for (const char* url : {"http://host/done\r\nX-Injected: yes", "http://host/a\nb",
                          "http://ho\tst/x", "http://host/x\x7f"}) {
    EXPECT_THAT(ParseHttpUrl(url), StatusIs(absl::StatusCode::kInvalidArgument,
                                            "invalid control character in URL"));
  }
}

TEST(ParseHttpBaseUrlTest, KeepsThePathAsAPrefixWithoutTrailingSlashes) {
  ASSERT_OK_AND_ASSIGN(HttpBaseUrl base, ParseHttpBaseUrl("https://bbs.internal:8889/prefix//"));
  EXPECT_TRUE(base.tls);
  EXPECT_EQ(base.host, "bbs.internal");
  EXPECT_EQ(base.port, 8889);
  EXPECT_EQ(base.prefix, "/prefix");
  EXPECT_EQ(base.base_url, "https://bbs.internal:8889/prefix");
  ASSERT_OK_AND_ASSIGN(HttpBaseUrl root, ParseHttpBaseUrl("http://[::1]:8889/"));
  EXPECT_EQ(root.host, "::1");
  EXPECT_EQ(root.prefix, "");
  EXPECT_EQ(root.base_url, "http://[::1]:8889");
}

TEST(ParseHttpBaseUrlTest, RefusesUserInfoQueryAndFragment) {
  EXPECT_THAT(ParseHttpBaseUrl("http://user:pw@host:8889"),
              StatusIs(absl::StatusCode::kInvalidArgument, "user info is not supported"));
  EXPECT_THAT(ParseHttpBaseUrl("http://host:8889/?x=1"),
              StatusIs(absl::StatusCode::kInvalidArgument, "query and fragment are not supported"));
  EXPECT_THAT(ParseHttpBaseUrl("http://host:8889/#top"),
              StatusIs(absl::StatusCode::kInvalidArgument, "query and fragment are not supported"));
  EXPECT_THAT(ParseHttpBaseUrl("http://host:99999"),
              StatusIs(absl::StatusCode::kInvalidArgument, "invalid port '99999'"));
}

}  // namespace
}  // namespace diego::base_internal
