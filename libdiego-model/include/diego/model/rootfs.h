// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: rootfs.h
// -----------------------------------------------------------------------------
//
// Diego's rootfs URLs and the cell-side rule that decides whether a cell can
// run a given rootfs (spec 1.1, 1.7 and 4.3 step 1).
//
// A rootfs is a URL that must carry a scheme. The forms Diego uses are:
//
//   preloaded:cflinuxfs4            (opaque URL: the stack is the opaque part)
//   preloaded+layer:cflinuxfs4?layer=<uri>&layer_path=<dir>&layer_digest=<sha>
//   docker:///cloudfoundry/diego-docker-app#latest
//   docker://registry.example.com:5000/org/image#v1
//
// `ParseRootFs()` accepts exactly what the BBS accepts: a string that Go's
// `net/url.Parse` can parse and whose scheme is non-empty
// (bbs models/task.go and models/desired_lrp.go, `Validate`). It therefore
// rejects `""` and `"ploop"` but does not check scheme-specific content; use
// `ValidateLayerParameters()` for what Garden requires of `preloaded+layer`.
//
// `RootFsProviders` is a cell's table of rootfs providers: for each scheme,
// either "arbitrary" (any URL of that scheme runs, e.g. `docker`) or a
// "fixed set" of stack names (`preloaded`, `preloaded+layer`). It mirrors
// bbs models/rootfs_providers.go (`RootFSProviders`, `ArbitraryRootFSProvider`,
// `FixedSetRootFSProvider`, `Match`), which the auctioneer uses through rep
// resources.go `CellState.MatchRootFS`.
//
// Example:
//
//   DIEGO_ASSIGN_OR_RETURN(RootFsUrl url, ParseRootFs("preloaded:cflinuxfs4"));
//   bool ok = CellSupportsRootFs(cell_presence, url);

#ifndef DIEGO_MODEL_ROOTFS_H_
#define DIEGO_MODEL_ROOTFS_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "diego/model/v1/cells.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace diego::model {

// bbs `PreloadedRootFSScheme` and `PreloadedOCIRootFSScheme`.
inline constexpr absl::string_view kPreloadedRootFsScheme = "preloaded";
inline constexpr absl::string_view kPreloadedLayerRootFsScheme = "preloaded+layer";

// The cell presence entry listing the rep's extra rootfses (bbs
// `ExtraRootFSScheme`). Not a URL scheme; see `FromProviderList()`.
inline constexpr absl::string_view kExtraRootFsProviderName = "extra";

// Query parameters Garden requires on `preloaded+layer` URLs: the layer's
// URI, the directory it is extracted into, and its SHA-256 digest.
inline constexpr absl::string_view kLayerParameter = "layer";
inline constexpr absl::string_view kLayerPathParameter = "layer_path";
inline constexpr absl::string_view kLayerDigestParameter = "layer_digest";

// A parsed rootfs URL, with the fields of Go's `net/url.URL` (which every
// Diego component uses to read a rootfs). An opaque URL (`preloaded:stack`)
// fills `opaque`; a hierarchical one (`docker:///org/image`) fills `host`
// and `path` instead.
struct RootFsUrl {
  // Lower-cased as Go does; never empty in a value from `ParseRootFs()`.
  std::string scheme;

  // The opaque part, verbatim (not decoded). The stack for preloaded URLs.
  std::string opaque;

  // Raw `user:pass` before `@` in the authority; validated, not decoded.
  std::string userinfo;

  // Decoded host with any `:port`; empty for `docker:///org/image`.
  std::string host;

  // Decoded path (`/org/image`).
  std::string path;

  // Undecoded text between the first `?` and the fragment.
  std::string raw_query;

  // `raw_query` decoded into ordered pairs (`+` is a space). As in Go's
  // `URL.Query()`, malformed pairs are dropped, never reported.
  std::vector<std::pair<std::string, std::string>> query;

  // Decoded text after the first `#`: the image tag of `docker` URLs.
  std::string fragment;

  // True if the opaque part is non-empty (`preloaded:` has no parts at all).
  bool is_opaque() const { return !opaque.empty(); }

  // Returns `opaque` for the two preloaded schemes, else the empty string.
  std::string stack() const;

  // Returns the first value of query parameter `key`, or `std::nullopt` if
  // absent. `?key` and `?key=` give `""`, which is not absent.
  std::optional<std::string> QueryValue(absl::string_view key) const;

  friend bool operator==(const RootFsUrl&, const RootFsUrl&) = default;
};

// Parses `rootfs` the way the BBS validates it: Go's `net/url.Parse` must
// succeed and the scheme must be non-empty.
//
// Returns `kInvalidArgument`, with a message quoting `rootfs` and naming the
// problem, when:
//   - `rootfs` is empty;
//   - it has no scheme (`ploop`, `/var/vcap/rootfs`, `1abc:x`);
//   - it starts with `:` (Go: "missing protocol scheme");
//   - the part before `#` contains an ASCII control character;
//   - a percent-escape in the host, path or fragment is malformed (`%zz`);
//   - the authority is malformed: an invalid port (`host:abc`), a character
//     not allowed in a host name, an unclosed `[` IPv6 literal, or illegal
//     characters in the userinfo.
// Scheme-specific content is not checked: `preloaded:` (no stack) and
// `preloaded+layer:s` (no layer parameters) parse, as they do in Diego.
//
// Pure function; thread-safe.
[[nodiscard]] absl::StatusOr<RootFsUrl> ParseRootFs(absl::string_view rootfs);

// Checks what Garden requires of a `preloaded+layer` URL before it builds
// the image (guardian imageplugin/oci_image_spec_creator.go `layers`): the
// scheme is `preloaded+layer` and the query names `layer`, `layer_path` and
// `layer_digest` (an empty value counts as present, as in Garden).
//
// Returns OK, or `kInvalidArgument` naming the wrong scheme or the first
// missing parameter in the order above. The BBS, the auctioneer and the rep
// do not check these parameters; only container creation fails without them.
[[nodiscard]] absl::Status ValidateLayerParameters(const RootFsUrl& rootfs);

// Returns `"preloaded:" + stack` (bbs models/desired_lrp.go
// `PreloadedRootFS`).
std::string PreloadedRootFs(absl::string_view stack);

// bbs models/rootfs_providers.go `RootFSProviderType`.
enum class RootFsProviderType {
  kArbitrary,  // Any URL of the scheme (`docker`). JSON `"arbitrary"`.
  kFixedSet,   // Only listed stacks (`preloaded`). JSON `"fixed_set"`.
};

// A cell's rootfs providers, keyed by URL scheme.
//
// Build it either from the rep's `/state` view (`SetArbitrary()` /
// `SetFixedSet()` per entry of `RootFSProviders`) or from the cell presence
// list with `FromProviderList()` / `FromCellPresence()`.
//
// Value type; thread-compatible (const methods may be called concurrently).
class RootFsProviders {
 public:
  // An empty table: matches nothing.
  RootFsProviders() = default;

  // Builds the table that the rep's `/state` reports, from the provider list
  // the rep publishes in its cell presence (`rootfs_provider_list`):
  //   - `preloaded` and `preloaded+layer` become fixed sets of their
  //     properties. A property `name@version` (rep `StackVersionList`)
  //     contributes `name`: everything before its first `@`.
  //   - the `extra` entry is not a scheme: its stacks (versions stripped in
  //     the same way) are added to whichever of the two preloaded fixed sets
  //     are present, because the rep also serves extra rootfses under both
  //     preloaded schemes (rep cmd/rep/main.go passes the merged stack map to
  //     auctioncellrep, whose `rootFSProviders` builds both fixed sets).
  //   - every other entry becomes an arbitrary provider for its name; its
  //     properties (always empty in Diego) are ignored.
  // Repeated preloaded entries merge. Names are case-sensitive.
  static RootFsProviders FromProviderList(
      const google::protobuf::RepeatedPtrField<v1::Provider>& providers);

  // `FromProviderList(presence.rootfs_providers())`.
  static RootFsProviders FromCellPresence(const v1::CellPresence& presence);

  // Makes `scheme` arbitrary, replacing any previous entry (Go map
  // assignment).
  void SetArbitrary(absl::string_view scheme);

  // Makes `scheme` a fixed set of exactly `stacks` (no version stripping),
  // replacing any previous entry for `scheme`.
  void SetFixedSet(absl::string_view scheme, const std::vector<std::string>& stacks);

  // Returns true if this cell can run `rootfs` (rep resources.go
  // `MatchRootFS`): there is a provider for `rootfs.scheme`, and it is
  // arbitrary, or it is a fixed set containing `rootfs.opaque`. A
  // hierarchical URL (`preloaded:///cflinuxfs4`) has an empty opaque part
  // and so never matches a fixed set.
  bool Match(const RootFsUrl& rootfs) const;

  // Parses `rootfs` with `ParseRootFs()` and matches it; returns false if it
  // does not parse (as `MatchRootFS` does when `url.Parse` fails).
  bool Match(absl::string_view rootfs) const;

  // Returns the type of the provider for `scheme`, or `std::nullopt` if the
  // cell has none.
  std::optional<RootFsProviderType> TypeOf(absl::string_view scheme) const;

  // Returns the sorted stack names of the fixed-set provider for `scheme`;
  // empty if the provider is absent or arbitrary.
  std::vector<std::string> FixedSet(absl::string_view scheme) const;

  // Returns the schemes that have a provider, sorted.
  std::vector<std::string> Schemes() const;

  bool empty() const { return providers_.empty(); }

  friend bool operator==(const RootFsProviders&, const RootFsProviders&) = default;

 private:
  struct Provider {
    RootFsProviderType type = RootFsProviderType::kArbitrary;
    std::set<std::string, std::less<>> stacks;  // kFixedSet only.

    friend bool operator==(const Provider&, const Provider&) = default;
  };

  std::map<std::string, Provider, std::less<>> providers_;
};

// Returns true if the cell described by `presence` can run `rootfs`:
// `RootFsProviders::FromCellPresence(presence).Match(rootfs)`. Spec 4.3
// step 1.
bool CellSupportsRootFs(const v1::CellPresence& presence, const RootFsUrl& rootfs);

}  // namespace diego::model

#endif  // DIEGO_MODEL_ROOTFS_H_
