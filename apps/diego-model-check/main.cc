// diego-model-check: reads Diego model documents in Diego's Go JSON (the keys
// cfdot and the BBS logs print) and reports every validation failure the BBS
// would, for example:
//
//   $ diego-model-check lrp.json task.json
//   lrp.json: ok (DesiredLRP "web")
//   task.json: invalid Task: Invalid field: task_guid, Invalid field: rootfs
//
// Exit status: 0 all valid, 1 some document invalid, 2 unreadable or
// malformed input or bad flags.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "diego/base/flags.h"
#include "diego/base/status_macros.h"
#include "diego/model/check.h"

ABSL_FLAG(std::string, type, "auto",
          "Message type of every input: a diego.model.v1 message name (DesiredLRP, Task, "
          "TaskDefinition, DesiredLRPUpdate, ActualLRP, CellPresence, any request message ...) "
          "or 'auto' (a document with \"process_guid\" is a DesiredLRP, one with \"task_guid\" "
          "a Task).");
ABSL_FLAG(bool, print, false,
          "Also print each valid document re-encoded as Diego's Go JSON (normalised: defaults "
          "filled in, keys in Diego's order).");

namespace {

constexpr char kUsage[] =
    "Checks Diego DesiredLRP / Task (or any BBS model) JSON documents the way the BBS "
    "validates them.\n\n"
    "usage: diego-model-check [--type=NAME|auto] [--print] FILE... ('-' reads stdin)";

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open \"", path, "\""));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("cannot read \"", path, "\""));
  }
  return contents.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = diego::InitApp(argc, argv, kUsage);
  if (args.size() < 2) {
    std::fprintf(stderr, "diego-model-check: no input files (see --help)\n");
    return 2;
  }
  const std::string type = absl::GetFlag(FLAGS_type);
  int exit_code = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string path = args[i];
    absl::StatusOr<std::string> json = ReadInput(path);
    if (!json.ok()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), std::string(json.status().message()).c_str());
      exit_code = 2;
      continue;
    }
    absl::StatusOr<diego::model::CheckResult> result = diego::model::CheckJsonDocument(*json, type);
    if (!result.ok()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(),
                   std::string(result.status().message()).c_str());
      exit_code = 2;
      continue;
    }
    if (result->validation.ok()) {
      std::printf("%s: ok (%s)\n", path.c_str(), result->description.c_str());
      if (absl::GetFlag(FLAGS_print)) {
        std::printf("%s\n", result->normalized_json.c_str());
      }
    } else {
      std::printf("%s: invalid %s: %s\n", path.c_str(), result->type_name.c_str(),
                  std::string(result->validation.message()).c_str());
      if (exit_code == 0) exit_code = 1;
    }
  }
  return exit_code;
}
