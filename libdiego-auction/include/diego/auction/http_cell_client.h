// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: http_cell_client.h
// -----------------------------------------------------------------------------
//
// `diego::auction::HttpCellClient` is the real `CellClient`: it speaks a rep's
// HTTP API as Diego's rep client (rep client.go) does:
//
//   GET  <rep_url>/state  -> 200 with a `CellState` JSON body
//                            (503 while the cell's Garden health check fails)
//   POST <rep_url>/work   -> 200 with a `Work` JSON body listing what the cell
//                            could not start; the request body is the `Work`
//
// Bodies use the Go-compatible encoding of json.h. One connection is kept
// alive and reused across calls; calls on one client are serialized over it.
// Only plain `http://` is supported (Diego's mTLS listener is not).
//
// Example:
//
//   DIEGO_ASSIGN_OR_RETURN(
//       std::unique_ptr<HttpCellClient> client,
//       HttpCellClient::Create("cell-z1-0", "http://10.0.16.4:1800",
//                              {.timeout = absl::Seconds(10)}));
//   DIEGO_ASSIGN_OR_RETURN(CellState state, client->State());

#ifndef DIEGO_AUCTION_HTTP_CELL_CLIENT_H_
#define DIEGO_AUCTION_HTTP_CELL_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/auction/cell_client.h"
#include "diego/auction/types.h"
#include "diego/base/clock.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace diego::auction {

struct HttpCellClientOptions {
  // Bounds each phase of a call: connecting, sending the request, and each
  // wait for response bytes. Diego's auctioneer default for state requests
  // (`cell_state_timeout`) is 10s. Must be positive.
  absl::Duration timeout = absl::Seconds(10);

  // Used only to tell a read timeout from a dropped connection (both surface
  // as a failed read): a read that failed after at least `timeout` is
  // reported as kDeadlineExceeded. Null means `Clock::Real()`. Not owned.
  Clock* clock = nullptr;
};

// A `CellClient` over HTTP. Thread-safe; concurrent calls are serialized on
// the single keep-alive connection.
class HttpCellClient final : public CellClient {
 public:
  // Creates a client for the rep of `cell_id` at `rep_url`, the cell
  // presence's `rep_url`: `http://host[:port][/prefix]` (port defaults to 80;
  // a bracketed IPv6 literal is accepted; a trailing `/` is ignored). Does no
  // I/O: an unreachable rep is only noticed by the first call.
  //
  // Returns kInvalidArgument, naming the cell and the URL, if `rep_url` is
  // not of that form (including any scheme other than `http`, e.g. `https`),
  // or if `options.timeout` is not positive.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpCellClient>> Create(
      absl::string_view cell_id, absl::string_view rep_url, HttpCellClientOptions options = {});

  HttpCellClient(const HttpCellClient&) = delete;
  HttpCellClient& operator=(const HttpCellClient&) = delete;
  ~HttpCellClient() override;

  // CellClient.
  //
  // `GET <rep_url>/state`. Outcomes, each message naming the cell id and URL:
  //   - OK: a 200 whose body decodes as a `CellState`;
  //   - kUnavailable: connection failed or broke before a response, or the
  //     rep answered 503 (unhealthy cell; the body is quoted, truncated);
  //   - kDeadlineExceeded: connecting or reading took longer than `timeout`;
  //   - kInternal: any other status (e.g. 404, 500), or a 200 whose body is
  //     not a valid `CellState` (the decoding error names the JSON path).
  [[nodiscard]] absl::StatusOr<CellState> State() override;

  // `POST <rep_url>/work` with `WorkToJson(work)`, content type
  // `application/json`. Outcomes as for `State()`; on OK returns the decoded
  // `Work` the rep could not start. On any error the rep may have started
  // some or all of `work`.
  [[nodiscard]] absl::StatusOr<Work> Perform(const Work& work) override;

  // The cell id and base URL (without a trailing `/`) given to `Create()`.
  const std::string& cell_id() const { return cell_id_; }
  const std::string& rep_url() const { return rep_url_; }

 private:
  HttpCellClient(std::string cell_id, std::string rep_url, std::string path_prefix,
                 std::unique_ptr<httplib::Client> client, HttpCellClientOptions options);

  // Sends `GET <endpoint>` (`body` null) or `POST <endpoint>` with the JSON
  // `body`, and returns the 200 response's body or the call's error.
  absl::StatusOr<std::string> RoundTrip(absl::string_view endpoint, const std::string* body);

  // Wraps a body decoding failure of the call described by `what`.
  absl::Status InvalidBody(absl::string_view what, const absl::Status& decode) const;

  std::string cell_id_;
  std::string rep_url_;
  std::string path_prefix_;  // "" or "/prefix".
  HttpCellClientOptions options_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace diego::auction

#endif  // DIEGO_AUCTION_HTTP_CELL_CLIENT_H_
