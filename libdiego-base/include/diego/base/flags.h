// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: flags.h
// -----------------------------------------------------------------------------
//
// Helpers for the thin `main()`s in `apps/`, on top of `absl/flags`.
//
// Diego components take one JSON config file (`bbs -config bbs.json`) whose
// keys are the component's settings. libdiego apps define each setting as an
// `ABSL_FLAG` with the same snake_case name, so a setting can come from the
// command line or from such a file:
//
//   ABSL_FLAG(std::string, config, "", "path to a JSON config file");
//   ABSL_FLAG(std::string, listen_address, "127.0.0.1:8889", "host:port");
//   ABSL_FLAG(std::string, log_level, "info", "debug, info, error or fatal");
//
//   int main(int argc, char** argv) {
//     absl::StatusOr<std::vector<char*>> args = diego::InitAppWithConfig(
//         argc, argv, "diego-bbs: serves the BBS API", FLAGS_config);
//     if (!args.ok()) {
//       fmt::print(stderr, "diego-bbs: --config: {}\n", args.status().message());
//       return 1;
//     }
//     ...
//   }
//
// Values read from the config file replace values given on the command line,
// since the file is applied after parsing.

#ifndef DIEGO_BASE_FLAGS_H_
#define DIEGO_BASE_FLAGS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace diego {

// Sets the program's usage message to `usage` and parses the command line with
// `absl::ParseCommandLine`. Returns the positional arguments, `argv[0]` first;
// the pointers point into `argv`.
//
// Abseil's behaviour applies: `--help`, `--helpfull`, `--helpshort` and
// `--version` print and exit, and an unknown flag or a bad value prints an
// error and exits with status 1. Call it once, from `main()`, before starting
// threads; a second call in the same process is fatal.
std::vector<char*> InitApp(int argc, char** argv, absl::string_view usage);

// `InitApp`, then, when the string flag `config` (an app's --config) is not
// empty, `ApplyJsonConfigFile` on the file it names. Returns the positional
// arguments as `InitApp` does, or the config file's error (see
// `ApplyJsonConfigFile`; no flag is changed by a file that fails).
absl::StatusOr<std::vector<char*>> InitAppWithConfig(int argc, char** argv, absl::string_view usage,
                                                     const absl::Flag<std::string>& config);

// Reads `path`, a JSON object, and sets the absl flag named by each key to its
// value, as if `--<key>=<value>` had been given. Values convert as follows:
//
//   - a string is used as is ("30s" for an `absl::Duration` flag);
//   - a number or boolean is used as its JSON text ("8080", "true", "0.5");
//   - an array of such scalars is joined with ',' (for `std::vector<std::string>`
//     flags), so its strings must not themselves contain commas;
//   - `null` leaves the flag unchanged (as Go's JSON decoder does);
//   - a nested object is an error.
//
// Either every key is applied or, on error, no flag is changed. Returns:
//   - OK when every key was applied;
//   - the errno-derived code (kNotFound, kPermissionDenied, ...) when the file
//     cannot be read;
//   - kInvalidArgument when the file is not a JSON object, a key names no
//     defined flag, or a value is rejected by its flag. The message names the
//     file and the offending key, e.g.
//     "config file 'bbs.json': unknown flag 'listen_adress'".
//
// Not thread-safe with respect to concurrent readers of the same flags; call
// it during startup.
[[nodiscard]] absl::Status ApplyJsonConfigFile(absl::string_view path);

// As `ApplyJsonConfigFile`, for JSON text already in memory. `origin` starts
// every error message, e.g. "config file 'bbs.json'" or "$DIEGO_CONFIG".
[[nodiscard]] absl::Status ApplyJsonConfig(absl::string_view json_text, absl::string_view origin);

// Splits a "host:port" address, as Go's `net.SplitHostPort` does for Diego's
// `listen_address` settings: "127.0.0.1:8889" gives {"127.0.0.1", 8889},
// "[::1]:80" gives {"::1", 80}, and ":8080" gives {"", 8080} (all interfaces).
//
// Returns kInvalidArgument, quoting `address`, when the port is missing, is
// not a decimal number in 0..65535, or the host is an unbracketed IPv6
// address.
absl::StatusOr<std::pair<std::string, int>> ParseHostPort(absl::string_view address);

}  // namespace diego

#endif  // DIEGO_BASE_FLAGS_H_
