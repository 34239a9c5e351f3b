// Copyright 2026 The libdiego Authors.

#include "diego/base/app.h"

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace diego {
namespace {

sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

int AppFailure(absl::string_view program, absl::string_view what, const absl::Status& status) {
  const std::string line = what.empty()
                               ? absl::StrCat(program, ": ", status.message(), "\n")
                               : absl::StrCat(program, ": ", what, ": ", status.message(), "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  return 1;
}

absl::StatusOr<std::optional<TlsFiles>> MutualTlsFiles(std::string ca_file, std::string cert_file,
                                                       std::string key_file) {
  if (ca_file.empty() && cert_file.empty() && key_file.empty()) return std::nullopt;
  if (ca_file.empty() || cert_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError("mutual TLS needs all three (or none)");
  }
  return TlsFiles{std::move(ca_file), std::move(cert_file), std::move(key_file)};
}

void BlockTerminationSignals() {
  const sigset_t signals = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int AwaitTerminationSignal() {
  const sigset_t signals = TerminationSignals();
  int signal_number = 0;
  // sigwait fails only for an invalid set; retry rather than report 0.
  while (sigwait(&signals, &signal_number) != 0) {
  }
  return signal_number;
}

}  // namespace diego
