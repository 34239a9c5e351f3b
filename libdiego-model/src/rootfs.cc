// Copyright 2026 The libdiego Authors.

#include "diego/model/rootfs.h"

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace diego::model {
namespace {

// Go's `%q` for the short fragments quoted inside error details.
std::string GoQuote(absl::string_view s) { return absl::StrCat("\"", absl::CHexEscape(s), "\""); }

absl::Status RootFsError(absl::string_view rootfs, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("rootfs '", absl::CHexEscape(rootfs), "': ", problem));
}

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int HexValue(char c) {
  if (IsAsciiDigit(c)) {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return c - 'A' + 10;
}

// The subset of net/url's encoding modes that `unescape` distinguishes.
enum class Mode { kPath, kFragment, kHost, kUserinfo, kQueryComponent };

// net/url `shouldEscape(c, encodeHost)` for ASCII: the characters that may
// not appear literally in a host name.
bool ForbiddenInHost(unsigned char c) {
  if (IsAsciiLetter(c) || IsAsciiDigit(c)) {
    return false;
  }
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '[':
    case ']':
    case '<':
    case '>':
    case '"':
    case '-':
    case '_':
    case '.':
    case '~':
      return false;
    default:
      return true;
  }
}

// net/url `unescape`: validates percent-escapes (and, for hosts, literal
// characters) and decodes them. On failure the status message is Go's
// wording of the problem, without the URL.
absl::StatusOr<std::string> Unescape(absl::string_view s, Mode mode) {
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !IsHexDigit(s[i + 1]) || !IsHexDigit(s[i + 2])) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid URL escape ", GoQuote(s.substr(i, 3))));
      }
      // In a host only non-ASCII bytes and `%25` (the IPv6 zone separator)
      // may be escaped.
      if (mode == Mode::kHost && HexValue(s[i + 1]) < 8 && s.substr(i, 3) != "%25") {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid URL escape ", GoQuote(s.substr(i, 3))));
      }
      i += 3;
      continue;
    }
    if (mode == Mode::kHost && static_cast<unsigned char>(c) < 0x80 &&
        ForbiddenInHost(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid character ", GoQuote(s.substr(i, 1)), " in host name"));
    }
    ++i;
  }
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else if (s[i] == '+' && mode == Mode::kQueryComponent) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// net/url `validUserinfo`: RFC 3986 userinfo characters plus `@` and `%`.
bool ValidUserinfo(absl::string_view s) {
  for (char c : s) {
    if (IsAsciiLetter(c) || IsAsciiDigit(c)) {
      continue;
    }
    switch (c) {
      case '-':
      case '.':
      case '_':
      case ':':
      case '~':
      case '!':
      case '$':
      case '&':
      case '\'':
      case '(':
      case ')':
      case '*':
      case '+':
      case ',':
      case ';':
      case '=':
      case '%':
      case '@':
        continue;
      default:
        return false;
    }
  }
  return true;
}

// net/url `validOptionalPort`: empty, or `:` followed by digits only.
bool ValidOptionalPort(absl::string_view port) {
  if (port.empty()) {
    return true;
  }
  if (port[0] != ':') {
    return false;
  }
  for (char c : port.substr(1)) {
    if (!IsAsciiDigit(c)) {
      return false;
    }
  }
  return true;
}

// net/url `parseHost`. IPv6 zones (`[fe80::1%25eth0]`) are decoded with the
// host rules rather than Go's looser zone rules; Diego never uses them.
absl::StatusOr<std::string> ParseHost(absl::string_view host) {
  if (absl::StartsWith(host, "[")) {
    const size_t close = host.rfind(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("missing ']' in host");
    }
    absl::string_view colon_port = host.substr(close + 1);
    if (!ValidOptionalPort(colon_port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid port ", GoQuote(colon_port), " after host"));
    }
  } else if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    absl::string_view colon_port = host.substr(colon);
    if (!ValidOptionalPort(colon_port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid port ", GoQuote(colon_port), " after host"));
    }
  }
  return Unescape(host, Mode::kHost);
}

// `URL.Query()`: like Go, silently drops pairs that contain `;` or fail to
// decode, and skips empty segments.
std::vector<std::pair<std::string, std::string>> ParseQuery(absl::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (raw_query.empty()) {
    return pairs;
  }
  for (absl::string_view segment : absl::StrSplit(raw_query, '&')) {
    if (segment.empty() || absl::StrContains(segment, ';')) {
      continue;
    }
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(segment, absl::MaxSplits('=', 1));
    absl::StatusOr<std::string> key = Unescape(kv.first, Mode::kQueryComponent);
    absl::StatusOr<std::string> value = Unescape(kv.second, Mode::kQueryComponent);
    if (!key.ok() || !value.ok()) {
      continue;
    }
    pairs.emplace_back(*std::move(key), *std::move(value));
  }
  return pairs;
}

// net/url `getScheme`. Returns the scheme (possibly empty, meaning "none")
// and the rest, or an error for a leading colon.
absl::StatusOr<std::pair<absl::string_view, absl::string_view>> SplitScheme(absl::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (IsAsciiLetter(c)) {
      continue;
    }
    if (IsAsciiDigit(c) || c == '+' || c == '-' || c == '.') {
      if (i == 0) {
        return std::make_pair(absl::string_view(), s);
      }
      continue;
    }
    if (c == ':') {
      if (i == 0) {
        return absl::InvalidArgumentError("missing protocol scheme");
      }
      return std::make_pair(s.substr(0, i), s.substr(i + 1));
    }
    break;  // Any other character: no scheme.
  }
  return std::make_pair(absl::string_view(), s);
}

}  // namespace

// Only the preloaded schemes name a stack; for any other opaque URL the
// opaque part means whatever that scheme's provider decides.
std::string RootFsUrl::stack() const {
  if (scheme == kPreloadedRootFsScheme || scheme == kPreloadedLayerRootFsScheme) {
    return opaque;
  }
  return "";
}

std::optional<std::string> RootFsUrl::QueryValue(absl::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) {
      return v;
    }
  }
  return std::nullopt;
}

absl::StatusOr<RootFsUrl> ParseRootFs(absl::string_view rootfs) {
  if (rootfs.empty()) {
    return absl::InvalidArgumentError(
        "rootfs is empty (want e.g. 'preloaded:<stack>' or "
        "'docker:///<image>')");
  }

  // Mirrors net/url.Parse: the fragment is cut off first and only the rest
  // is checked for control characters.
  std::pair<absl::string_view, absl::string_view> url_and_fragment =
      absl::StrSplit(rootfs, absl::MaxSplits('#', 1));
  const absl::string_view url = url_and_fragment.first;
  const bool has_fragment = rootfs.size() != url.size();
  for (char c : url) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return RootFsError(rootfs, "invalid control character in URL");
    }
  }

  absl::StatusOr<std::pair<absl::string_view, absl::string_view>> split = SplitScheme(url);
  if (!split.ok()) {
    return RootFsError(rootfs, split.status().message());
  }
  auto [scheme, rest] = *split;
  if (scheme.empty()) {
    // The BBS rejects these (models/task.go, models/desired_lrp.go:
    // `rootFSURL.Scheme == ""`), whether or not url.Parse succeeded.
    return absl::InvalidArgumentError(
        absl::StrCat("rootfs '", absl::CHexEscape(rootfs),
                     "' has no scheme (want a letter-led scheme and ':', e.g. "
                     "'preloaded:<stack>' or 'docker:///<image>')"));
  }

  RootFsUrl parsed;
  parsed.scheme = absl::AsciiStrToLower(scheme);

  // The query is cut off before deciding opaque versus hierarchical, so
  // `preloaded+layer:stack?layer=...` keeps `stack` as its opaque part, which
  // is what FixedSetRootFSProvider.Match compares.
  std::pair<absl::string_view, absl::string_view> rest_and_query =
      absl::StrSplit(rest, absl::MaxSplits('?', 1));
  rest = rest_and_query.first;
  parsed.raw_query = std::string(rest_and_query.second);

  if (!absl::StartsWith(rest, "/")) {
    // RFC 3986 rootless path: Go keeps it verbatim as the opaque part.
    parsed.opaque = std::string(rest);
  } else {
    // `docker:///org/image` has an empty authority; `docker:/org/image` has
    // none. Go parses both; only the first is the form Diego documents.
    if (absl::StartsWith(rest, "//")) {
      absl::string_view authority = rest.substr(2);
      rest = absl::string_view();
      if (size_t slash = authority.find('/'); slash != absl::string_view::npos) {
        rest = authority.substr(slash);
        authority = authority.substr(0, slash);
      }
      // Go splits userinfo at the last `@`, so a password may contain `@`.
      const size_t at = authority.rfind('@');
      absl::StatusOr<std::string> host =
          ParseHost(at == absl::string_view::npos ? authority : authority.substr(at + 1));
      if (!host.ok()) {
        return RootFsError(rootfs, host.status().message());
      }
      parsed.host = *std::move(host);
      if (at != absl::string_view::npos) {
        absl::string_view userinfo = authority.substr(0, at);
        if (!ValidUserinfo(userinfo)) {
          return RootFsError(rootfs, "invalid userinfo");
        }
        absl::StatusOr<std::string> decoded = Unescape(userinfo, Mode::kUserinfo);
        if (!decoded.ok()) {
          return RootFsError(rootfs, decoded.status().message());
        }
        // Only validated: Diego passes registry credentials separately
        // (`image_username`/`image_password`), not in the rootfs URL.
        parsed.userinfo = std::string(userinfo);
      }
    }
    absl::StatusOr<std::string> path = Unescape(rest, Mode::kPath);
    if (!path.ok()) {
      return RootFsError(rootfs, path.status().message());
    }
    parsed.path = *std::move(path);
  }

  if (has_fragment) {
    absl::StatusOr<std::string> fragment = Unescape(url_and_fragment.second, Mode::kFragment);
    if (!fragment.ok()) {
      return RootFsError(rootfs, fragment.status().message());
    }
    parsed.fragment = *std::move(fragment);
  }
  parsed.query = ParseQuery(parsed.raw_query);
  return parsed;
}

absl::Status ValidateLayerParameters(const RootFsUrl& rootfs) {
  // guardian imageplugin/oci_image_spec_creator.go `layers`: scheme first,
  // then each parameter in turn; only presence is checked.
  if (rootfs.scheme != kPreloadedLayerRootFsScheme) {
    return absl::InvalidArgumentError(absl::StrCat("rootfs scheme '", rootfs.scheme, "' is not '",
                                                   kPreloadedLayerRootFsScheme, "'"));
  }
  for (absl::string_view key : {kLayerParameter, kLayerPathParameter, kLayerDigestParameter}) {
    if (!rootfs.QueryValue(key).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("rootfs '", kPreloadedLayerRootFsScheme, ":",
                                                     rootfs.opaque, "' has no query parameter '",
                                                     key, "'"));
    }
  }
  return absl::OkStatus();
}

std::string PreloadedRootFs(absl::string_view stack) {
  return absl::StrCat(kPreloadedRootFsScheme, ":", stack);
}

RootFsProviders RootFsProviders::FromProviderList(
    const google::protobuf::RepeatedPtrField<v1::Provider>& providers) {
  // Presence properties are `name` or `name@version` (rep StackVersionList
  // appends the version read from the rootfs tarball); the rep's /state
  // fixed sets hold bare names. Stack names come from config keys and never
  // contain `@`, while versions are free text, so cut at the first `@`.
  auto stack_name = [](const std::string& property) {
    return property.substr(0, property.find('@'));
  };

  RootFsProviders result;
  std::vector<std::string> extra_stacks;
  for (const v1::Provider& provider : providers) {
    const std::string& name = provider.name();
    if (name == kPreloadedRootFsScheme || name == kPreloadedLayerRootFsScheme) {
      Provider& entry = result.providers_[name];
      entry.type = RootFsProviderType::kFixedSet;
      for (const std::string& property : provider.properties()) {
        entry.stacks.insert(stack_name(property));
      }
    } else if (name == kExtraRootFsProviderName) {
      for (const std::string& property : provider.properties()) {
        extra_stacks.push_back(stack_name(property));
      }
    } else {
      result.SetArbitrary(name);
    }
  }
  for (absl::string_view scheme : {kPreloadedRootFsScheme, kPreloadedLayerRootFsScheme}) {
    auto it = result.providers_.find(scheme);
    if (it == result.providers_.end()) {
      continue;
    }
    it->second.stacks.insert(extra_stacks.begin(), extra_stacks.end());
  }
  return result;
}

RootFsProviders RootFsProviders::FromCellPresence(const v1::CellPresence& presence) {
  return FromProviderList(presence.rootfs_providers());
}

void RootFsProviders::SetArbitrary(absl::string_view scheme) {
  providers_[std::string(scheme)] = Provider{RootFsProviderType::kArbitrary, {}};
}

void RootFsProviders::SetFixedSet(absl::string_view scheme,
                                  const std::vector<std::string>& stacks) {
  providers_[std::string(scheme)] =
      Provider{RootFsProviderType::kFixedSet,
               std::set<std::string, std::less<>>(stacks.begin(), stacks.end())};
}

bool RootFsProviders::Match(const RootFsUrl& rootfs) const {
  // bbs models/rootfs_providers.go: look the scheme up, then an arbitrary
  // provider accepts anything and a fixed set checks `url.Opaque`.
  auto it = providers_.find(rootfs.scheme);
  if (it == providers_.end()) {
    return false;
  }
  const Provider& provider = it->second;
  if (provider.type == RootFsProviderType::kArbitrary) {
    return true;
  }
  return provider.stacks.contains(rootfs.opaque);
}

// rep resources.go `MatchRootFS` returns false when url.Parse fails. It does
// not require a scheme, but a schemeless URL could only match a provider
// named "", which no rep publishes.
bool RootFsProviders::Match(absl::string_view rootfs) const {
  absl::StatusOr<RootFsUrl> parsed = ParseRootFs(rootfs);
  return parsed.ok() && Match(*parsed);
}

std::optional<RootFsProviderType> RootFsProviders::TypeOf(absl::string_view scheme) const {
  auto it = providers_.find(scheme);
  if (it == providers_.end()) {
    return std::nullopt;
  }
  return it->second.type;
}

std::vector<std::string> RootFsProviders::FixedSet(absl::string_view scheme) const {
  auto it = providers_.find(scheme);
  if (it == providers_.end() || it->second.type != RootFsProviderType::kFixedSet) {
    return {};
  }
  return std::vector<std::string>(it->second.stacks.begin(), it->second.stacks.end());
}

std::vector<std::string> RootFsProviders::Schemes() const {
  std::vector<std::string> schemes;
  schemes.reserve(providers_.size());
  for (const auto& [scheme, provider] : providers_) {
    schemes.push_back(scheme);
  }
  return schemes;
}

// Rebuilds the table per call; callers matching many URLs against one cell
// should build a `RootFsProviders` once instead.
bool CellSupportsRootFs(const v1::CellPresence& presence, const RootFsUrl& rootfs) {
  return RootFsProviders::FromCellPresence(presence).Match(rootfs);
}

}  // namespace diego::model
