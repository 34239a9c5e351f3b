// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: http_server.h
// -----------------------------------------------------------------------------
//
// `GardenServer` serves a `Backend` over Garden's HTTP protocol on a unix
// socket or a TCP address (diego-spec.md 6): the routes, the JSON shapes, the
// `{Type, Message, Handle, ProcessID}` errors and the Run/Attach streaming
// (a hijacked connection carrying newline-delimited JSON ProcessPayloads, plus
// raw stdout/stderr attach streams), so Garden's own Go client can talk to it.
// HTTP/1.1 with keep-alive; one thread per connection.

#ifndef DIEGO_GARDEN_HTTP_SERVER_H_
#define DIEGO_GARDEN_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "diego/base/logger.h"
#include "diego/garden/backend.h"

namespace diego::garden {

struct GardenServerOptions {
  // "unix" (address = socket path; a stale socket file is replaced) or "tcp"
  // (address = "host:port"; port 0 picks a free port, see Port()).
  std::string listen_network = "unix";
  std::string listen_address = "/tmp/garden.sock";
  // A connection idle this long between requests is closed (streams excluded).
  absl::Duration idle_timeout = absl::Minutes(5);
  // Logger for request errors; nullptr = none. Not owned.
  Logger* logger = nullptr;
};

class GardenServer {
 public:
  // `backend` is not owned and must outlive the server.
  GardenServer(Backend* backend, GardenServerOptions options);
  ~GardenServer();  // Stop()s

  GardenServer(const GardenServer&) = delete;
  GardenServer& operator=(const GardenServer&) = delete;

  // Binds and starts accepting. Errors name the address.
  [[nodiscard]] absl::Status Start();
  // The bound TCP port (after Start; 0 for unix sockets).
  int Port() const;
  // Closes the listener and every connection, and joins the threads. The
  // unix socket file is removed. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_HTTP_SERVER_H_
