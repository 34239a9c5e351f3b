// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: app.h
// -----------------------------------------------------------------------------
//
// Start-up and shutdown helpers shared by the long-running servers in `apps/`
// (diego-bbs, diego-locket), next to the flag helpers of flags.h:
//
//   int Fail(absl::string_view what, const absl::Status& status) {
//     return diego::AppFailure("diego-locket", what, status);
//   }
//
//   int Run() {
//     absl::StatusOr<std::optional<diego::TlsFiles>> tls = diego::MutualTlsFiles(
//         absl::GetFlag(FLAGS_ca_file), absl::GetFlag(FLAGS_cert_file),
//         absl::GetFlag(FLAGS_key_file));
//     if (!tls.ok()) return Fail("--ca_file/--cert_file/--key_file", tls.status());
//     diego::BlockTerminationSignals();  // Before any thread starts.
//     ... start the server ...
//     const int signal_number = diego::AwaitTerminationSignal();
//     ... stop ...
//     return 0;
//   }

#ifndef DIEGO_BASE_APP_H_
#define DIEGO_BASE_APP_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace diego {

// Prints "<program>: <what>: <status message>" and a newline to stderr
// ("<program>: <status message>" when `what` is empty) and returns 1, the exit
// status of an app that cannot start. Only the status's message is printed,
// not its code.
int AppFailure(absl::string_view program, absl::string_view what, const absl::Status& status);

// The three PEM files of a mutual-TLS setting: the CA bundle the peer's
// certificate must chain to, this side's certificate chain and its key.
struct TlsFiles {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

// Checks a mutual-TLS setting given as three file paths, of which all three or
// none must be set. Returns std::nullopt when all three are empty (plaintext),
// the files when all three are non-empty, and kInvalidArgument "mutual TLS
// needs all three (or none)" otherwise. The files are not read.
absl::StatusOr<std::optional<TlsFiles>> MutualTlsFiles(std::string ca_file, std::string cert_file,
                                                       std::string key_file);

// Blocks SIGINT and SIGTERM in the calling thread. Call it from `main()`
// before starting any thread: threads inherit the mask, so neither signal
// terminates the process or runs a handler; they stay pending until
// `AwaitTerminationSignal` takes one.
void BlockTerminationSignals();

// Waits until SIGINT or SIGTERM is delivered (after `BlockTerminationSignals`)
// and returns its number. Any thread may call it; each signal is taken by one
// caller.
int AwaitTerminationSignal();

}  // namespace diego

#endif  // DIEGO_BASE_APP_H_
