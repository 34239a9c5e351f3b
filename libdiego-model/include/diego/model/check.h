// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: check.h
// -----------------------------------------------------------------------------
//
// `CheckJsonDocument()` reads one Diego model document written in Diego's Go
// JSON (the shape cfdot prints and the BBS logs), decides its message type,
// and runs the BBS validation on it. It is the library behind the
// `diego-model-check` tool; other tools (a CLI, an admission hook) can call it
// directly.
//
// Example:
//
//   DIEGO_ASSIGN_OR_RETURN(CheckResult r, CheckJsonDocument(json, "auto"));
//   if (!r.validation.ok()) {
//     fmt::print("invalid {}: {}\n", r.type_name, r.validation.message());
//   }

#ifndef DIEGO_MODEL_CHECK_H_
#define DIEGO_MODEL_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace diego::model {

// The outcome of checking one document that could be read.
struct CheckResult {
  // The diego.model.v1 message name the document was read as, e.g. "DesiredLRP".
  std::string type_name;
  // A short human description: the type and the record's identity, e.g.
  // `DesiredLRP "web"` or `Task "stage-1"`.
  std::string description;
  // OK, or the BBS validation failure: `InvalidRequest` carrying every
  // failure of the record joined as "Invalid field: X, Invalid field: Y".
  absl::Status validation;
  // The document re-encoded as Diego's Go JSON (indented), as the BBS would
  // print it after reading it.
  std::string normalized_json;
};

// Reads `json` as the message type named `type` and validates it.
//
// `type` is a diego.model.v1 message name ("DesiredLRP", "Task",
// "TaskDefinition", "DesiredLRPUpdate", "CellPresence", any request message,
// ...) or "auto": a JSON object with a "process_guid" key is a DesiredLRP, one
// with a "task_guid" key is a Task. A Task is validated as the BBS validates
// a desire request (guid, domain and the task definition).
//
// Returns kInvalidArgument for an unknown `type`, an "auto" document that is
// neither, or JSON that does not parse or does not fit the message (the
// message names the JSON path). A record that parses but breaks validation
// rules is not an error: see `CheckResult::validation`.
absl::StatusOr<CheckResult> CheckJsonDocument(absl::string_view json, absl::string_view type);

}  // namespace diego::model

#endif  // DIEGO_MODEL_CHECK_H_
