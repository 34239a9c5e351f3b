// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: upload.h
// -----------------------------------------------------------------------------
//
// The upload action's transport (Diego's executor uploader): POST a file's
// bytes to a URL. Errors never contain the URL.

#ifndef DIEGO_ACTIONS_UPLOAD_H_
#define DIEGO_ACTIONS_UPLOAD_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace diego::actions {

class Uploader {
 public:
  virtual ~Uploader() = default;
  // POSTs the contents of the file at `path` to `url`; returns the bytes
  // sent. A non-2xx answer is an error ("upload failed with status <n>"-
  // style text chosen by the implementation, no URL). Retries transport
  // errors up to 3 times as Diego's uploader does. Cancellation aborts.
  virtual absl::StatusOr<uint64_t> Upload(absl::string_view path, absl::string_view url,
                                          absl::Notification* cancelled) = 0;
};

struct HttpUploaderOptions {
  bool skip_tls_verify = false;
  std::string ca_cert_file;
  absl::Duration timeout = absl::Minutes(15);
};
std::unique_ptr<Uploader> NewHttpUploader(const HttpUploaderOptions& options = {});

}  // namespace diego::actions

#endif  // DIEGO_ACTIONS_UPLOAD_H_
