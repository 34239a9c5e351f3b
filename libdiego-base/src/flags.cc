#include "diego/base/flags.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "diego/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace diego {
namespace {

using Json = nlohmann::json;

absl::StatusOr<std::string> ReadFile(absl::string_view path) {
  const std::string path_string(path);
  std::FILE* file = std::fopen(path_string.c_str(), "rb");
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("reading config file '", path, "'"));
  }
  std::string contents;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    contents.append(buffer, n);
  }
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) {
    return absl::ErrnoToStatus(error, absl::StrCat("reading config file '", path, "'"));
  }
  return contents;
}

// Strings are taken verbatim (no JSON quotes), so "30s" reaches a Duration
// flag as 30s; every other scalar is its JSON text ("8080", "true", "0.5").
std::string ScalarText(const Json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Converts one config value to the text `--flag=<text>` would carry.
absl::StatusOr<std::string> FlagText(absl::string_view origin, const std::string& key,
                                     const Json& value) {
  if (value.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": flag '", key, "': nested objects are not supported"));
  }
  if (!value.is_array()) {
    return ScalarText(value);
  }
  std::vector<std::string> items;
  for (const Json& item : value) {
    if (item.is_object() || item.is_array() || item.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(
          origin, ": flag '", key, "': array items must be strings, numbers or booleans"));
    }
    items.push_back(ScalarText(item));
  }
  return absl::StrJoin(items, ",");
}

}  // namespace

namespace {

bool IsAppFlagFile(absl::string_view filename) {
  return absl::StrContains(filename, "apps/");
}

}  // namespace

std::vector<char*> InitApp(int argc, char** argv, absl::string_view usage) {
  // The usage message must be set before parsing, since --help prints it from
  // inside ParseCommandLine.
  absl::SetProgramUsageMessage(usage);
  // absl's plain --help lists only flags defined in `<program>.cc` or
  // `<program>_main.cc`; libdiego mains are `apps/<program>/main.cc`, so count
  // every flag defined under an `apps/` directory as the program's own.
  absl::FlagsUsageConfig config;
  config.contains_help_flags = &IsAppFlagFile;
  config.contains_helpshort_flags = &IsAppFlagFile;
  absl::SetFlagsUsageConfig(config);
  return absl::ParseCommandLine(argc, argv);
}

absl::StatusOr<std::vector<char*>> InitAppWithConfig(int argc, char** argv, absl::string_view usage,
                                                     const absl::Flag<std::string>& config) {
  std::vector<char*> args = InitApp(argc, argv, usage);
  if (const std::string path = absl::GetFlag(config); !path.empty()) {
    DIEGO_RETURN_IF_ERROR(ApplyJsonConfigFile(path));
  }
  return args;
}

// Diego components decode their JSON config into a Go struct, where an unknown
// key is silently ignored. We reject unknown keys instead: with flags there is
// no struct to document the schema, so a typo must not pass unnoticed.
absl::Status ApplyJsonConfig(absl::string_view json_text, absl::string_view origin) {
  const Json config = Json::parse(json_text.begin(), json_text.end(), /*cb=*/nullptr,
                                  /*allow_exceptions=*/false);
  if (config.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": invalid JSON"));
  }
  if (!config.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": want a JSON object"));
  }

  // Resolve every key before touching any flag, so most mistakes change nothing.
  std::vector<std::pair<absl::CommandLineFlag*, std::string>> updates;
  for (const auto& [key, value] : config.items()) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(key);
    if (flag == nullptr || flag->IsRetired()) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": unknown flag '", key, "'"));
    }
    if (value.is_null()) {
      continue;
    }
    DIEGO_ASSIGN_OR_RETURN(std::string text, FlagText(origin, key, value));
    updates.emplace_back(flag, std::move(text));
  }

  // Only the flag's own parser can reject a value; on rejection, put back what
  // was already applied so the call is all-or-nothing.
  std::vector<std::pair<absl::CommandLineFlag*, std::string>> applied;
  for (const auto& [flag, text] : updates) {
    std::string previous = flag->CurrentValue();
    std::string error;
    if (!flag->ParseFrom(text, &error)) {
      for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
        std::string ignored;
        it->first->ParseFrom(it->second, &ignored);
      }
      return absl::InvalidArgumentError(absl::StrCat(origin, ": invalid value '", text,
                                                     "' for flag '", flag->Name(), "': ", error));
    }
    applied.emplace_back(flag, std::move(previous));
  }
  return absl::OkStatus();
}

absl::Status ApplyJsonConfigFile(absl::string_view path) {
  DIEGO_ASSIGN_OR_RETURN(std::string contents, ReadFile(path));
  return ApplyJsonConfig(contents, absl::StrCat("config file '", path, "'"));
}

// Follows Go's net.SplitHostPort, which Diego uses on its listen addresses: the
// port is after the last ':', and a host containing ':' must be bracketed.
absl::StatusOr<std::pair<std::string, int>> ParseHostPort(absl::string_view address) {
  auto invalid = [address](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid address '", address, "': ", why));
  };
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return invalid("missing port");
  }
  absl::string_view host = address.substr(0, colon);
  const absl::string_view port_text = address.substr(colon + 1);
  if (absl::StartsWith(host, "[")) {
    if (!absl::EndsWith(host, "]")) {
      return invalid("missing ']'");
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of(":[]") != absl::string_view::npos) {
    return invalid("too many colons; bracket IPv6 hosts as '[::1]:80'");
  }
  // SimpleAtoi alone would accept "+80" and " 80"; Go's parser does not.
  int port = 0;
  if (port_text.empty() ||
      !std::all_of(port_text.begin(), port_text.end(),
                   [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
      !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return invalid("port must be a number in 0..65535");
  }
  return std::make_pair(std::string(host), port);
}

}  // namespace diego
