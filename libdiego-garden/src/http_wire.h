// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: http_wire.h  (private to libdiego-garden)
// -----------------------------------------------------------------------------
//
// A small HTTP/1.1 layer for Garden's protocol. cpp-httplib 0.11.4 cannot
// listen on or dial unix sockets and cannot hand a connection over to the
// handler ("hijack"), and Garden needs both: its server listens on
// /tmp/garden.sock, and Run/Attach turn the HTTP connection into a raw
// bidirectional stream after the response head. This layer provides:
//
//   - `Conn`: a connected unix or TCP socket with a read buffer, where every
//     read and write is poll-based and bounded by a deadline, and which any
//     thread can `Shutdown()` to unblock the others.
//   - Request/response parsing and serialisation: request line, status line,
//     headers (bounded sizes), Content-Length and chunked bodies (with
//     trailers), close-delimited response bodies, keep-alive rules of HTTP/1.0
//     and 1.1, `Expect: 100-continue`.
//   - `Server`: a listener on "unix" (a path; a stale file is replaced) or
//     "tcp" ("host:port"; port 0 picks one, see Port()), one thread per
//     connection, keep-alive, 400 for malformed requests, 431/413 for
//     oversized ones, and `Exchange::Hijack` for streaming.
//   - URL helpers: percent-encoding of path segments, query strings in the
//     form Go's `url.Values.Encode` writes.
//
// It is deliberately not a general HTTP implementation: no TLS, no
// pipelining beyond sequential keep-alive, no compression, no proxies.
//
// Error codes used throughout:
//   DeadlineExceeded  a deadline passed;
//   Unavailable       connect/read/write failed, or the peer closed early;
//   OutOfRange        clean end of stream where a message could begin
//                     (the peer closed an idle keep-alive connection);
//   InvalidArgument   malformed HTTP (a server answers 400);
//   ResourceExhausted a header block or body over its limit (431 / 413);
//   Cancelled         the connection was Shutdown() locally.

#ifndef DIEGO_GARDEN_HTTP_WIRE_H_
#define DIEGO_GARDEN_HTTP_WIRE_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace diego::garden::http_wire {

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

// Header fields in wire order; names compare case-insensitively.
class Headers {
 public:
  using Entry = std::pair<std::string, std::string>;

  // Appends a field (a repeated name keeps every value).
  void Add(std::string name, std::string value);
  // Replaces every field named `name` with one field, kept at the position
  // of the first (appended when there was none).
  void Set(absl::string_view name, std::string value);
  void Remove(absl::string_view name);
  // The first value of `name`, if any.
  std::optional<std::string> Get(absl::string_view name) const;
  // Every value of `name`, in order.
  std::vector<std::string> GetAll(absl::string_view name) const;
  bool Has(absl::string_view name) const { return Get(name).has_value(); }
  // True when a comma-separated field `name` (e.g. Connection) lists `token`
  // (case-insensitively) in any of its values.
  bool HasToken(absl::string_view name, absl::string_view token) const;

  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<Entry> entries_;
};

struct Request {
  std::string method;      // "GET"
  std::string target;      // as on the wire: "/containers/a%20b/info?x=1"
  int minor_version = 1;   // HTTP/1.<minor_version>
  Headers headers;
  std::string body;

  // `target` before '?', still percent-encoded.
  absl::string_view RawPath() const;
  // `target` after '?' ("" when none).
  absl::string_view RawQuery() const;
  // Whether the connection may carry another request after this one.
  bool KeepAlive() const;
};

struct Response {
  int status = 200;
  std::string reason;  // empty = the standard text for `status`
  int minor_version = 1;
  Headers headers;
  std::string body;
};

// Size limits applied while parsing. The header limit covers the start line
// plus every header line; the count limit bounds the number of fields.
struct Limits {
  size_t max_header_bytes = 64 * 1024;
  size_t max_header_count = 128;
  // Bodies are read into memory (Garden's StreamIn tars included), so this is
  // large; it stops a bogus Content-Length from running the process out of
  // memory gradually rather than guarding against a deliberate attacker.
  size_t max_body_bytes = size_t{16} << 30;
};

// "OK", "Not Found", ...; "Unknown" for codes without a standard text.
absl::string_view StatusText(int status);

// Serialises `request`. Adds "Content-Length" when the body is non-empty or
// the method is POST/PUT/PATCH and no Content-Length/Transfer-Encoding field
// is set. The body is written as is.
std::string SerializeRequest(const Request& request);

// Serialises the status line and header fields, plus the blank line.
std::string SerializeResponseHead(int status, absl::string_view reason, int minor_version,
                                  const Headers& headers);

// Serialises `response`, setting Content-Length from the body unless the
// response has a Transfer-Encoding field or a status without a body
// (1xx, 204, 304).
std::string SerializeResponse(const Response& response);

// An HTTP-date for "now" ("Mon, 02 Jan 2006 15:04:05 GMT").
std::string HttpDate(absl::Time t);

// ---------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------

// Percent-encodes every byte of `segment` outside RFC 3986's unreserved set
// (ALPHA DIGIT - . _ ~), so the result is one path segment.
std::string EscapePathSegment(absl::string_view segment);

// Splits a raw path ("/containers/a%2Fb/info") on '/' and percent-decodes
// each segment ("containers", "a/b", "info"). Empty segments are dropped.
// InvalidArgument for a bad escape.
absl::StatusOr<std::vector<std::string>> SplitPath(absl::string_view raw_path);

// Percent-decodes `s`; with `plus_is_space` '+' becomes ' ' (query strings).
absl::StatusOr<std::string> Unescape(absl::string_view s, bool plus_is_space);

// Query parameters in order. Encoded as Go's url.Values.Encode does
// (QueryEscape: ' ' as '+', unreserved bytes as is, the rest %XX); keys are
// written in the order given, so callers sort them to match Go exactly.
using QueryParams = std::vector<std::pair<std::string, std::string>>;
std::string EncodeQuery(const QueryParams& params);
// Parses "a=1&b=x+y&c" (c with an empty value). InvalidArgument for a bad
// escape. ';' is not a separator (as in Go since 1.17).
absl::StatusOr<QueryParams> ParseQuery(absl::string_view raw_query);
// The first value of `key` in `params`, or "".
std::string QueryValue(const QueryParams& params, absl::string_view key);
bool QueryHas(const QueryParams& params, absl::string_view key);

// ---------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------

// A deadline for a sequence of reads: an absolute end (`at`) and/or a bound
// on each wait for more bytes (`idle`). Either may be infinite.
struct IoDeadline {
  absl::Time at = absl::InfiniteFuture();
  absl::Duration idle = absl::InfiniteDuration();

  static IoDeadline At(absl::Time t) { return IoDeadline{t, absl::InfiniteDuration()}; }
  static IoDeadline Idle(absl::Duration d) { return IoDeadline{absl::InfiniteFuture(), d}; }
  static IoDeadline None() { return IoDeadline{}; }
  // The deadline for the next single wait.
  absl::Time Next() const;
};

// A connected stream socket. Owns the descriptor (non-blocking; closed by the
// destructor). One thread may read while another writes; `Shutdown()` may
// be called from any thread and makes every pending and later Read/Write
// return (Cancelled, or OK-with-EOF for reads that see the peer's FIN).
class Conn {
 public:
  // Takes ownership of a connected socket `fd`.
  explicit Conn(int fd);
  ~Conn();

  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Connects to "unix" `address` (a socket path) or "tcp" `address`
  // ("host:port", "[v6]:port"). Unavailable (naming the address and errno)
  // when refused; DeadlineExceeded when `deadline` passes first.
  static absl::StatusOr<std::unique_ptr<Conn>> Dial(absl::string_view network,
                                                    absl::string_view address,
                                                    absl::Time deadline);

  // Reads up to `n` bytes (buffered bytes first). 0 means end of stream.
  absl::StatusOr<size_t> Read(char* buf, size_t n, IoDeadline deadline);
  // Reads through the next '\n' and returns the line without "\n" (and
  // without a preceding '\r'). OutOfRange at end of stream before any byte;
  // Unavailable at end of stream inside a line; ResourceExhausted past
  // `max_bytes`.
  absl::StatusOr<std::string> ReadLine(size_t max_bytes, IoDeadline deadline);
  // Appends exactly `n` bytes to `out`; Unavailable at an early end.
  absl::Status ReadExactly(size_t n, std::string* out, IoDeadline deadline);
  // Appends everything up to end of stream to `out` (ResourceExhausted past
  // `max_bytes`).
  absl::Status ReadToEnd(std::string* out, size_t max_bytes, IoDeadline deadline);

  // Writes all of `data` (MSG_NOSIGNAL: a closed peer is an error, not
  // SIGPIPE).
  absl::Status WriteAll(absl::string_view data, absl::Time deadline);

  // Unblocks everyone (see class comment). Idempotent, thread-safe.
  void Shutdown();
  bool IsShutdown() const { return shutdown_.load(); }
  // Half-closes the write side (the peer reads end of stream).
  void CloseWrite();
  // Closes gracefully: half-closes, then reads and discards what the peer
  // still sends until it closes too, `max_wait` passes or `max_bytes` were
  // dropped. Closing a socket with unread input makes the kernel send a
  // reset, which can destroy the last response before the peer reads it.
  void LingeringClose(absl::Duration max_wait, size_t max_bytes);

  // Bytes read from the socket but not yet consumed.
  size_t buffered() const { return rbuf_.size() - rpos_; }
  // For a pooled idle connection: false when the peer has closed it or sent
  // unexpected bytes (so it must not be reused). Never blocks.
  bool IdleAndOpen();

  int fd() const { return fd_; }

 private:
  // Waits until fd_ is readable/writable. OK when ready.
  absl::Status Wait(short events, absl::Time deadline);
  // Reads more bytes into rbuf_. Returns the number read (0 = EOF).
  absl::StatusOr<size_t> Fill(IoDeadline deadline);
  void Compact();

  const int fd_;
  std::atomic<bool> shutdown_{false};
  std::string rbuf_;
  size_t rpos_ = 0;
};

// ---------------------------------------------------------------------------
// Reading messages
// ---------------------------------------------------------------------------

// Reads one request head and its body. `first_byte` bounds the wait for the
// request to begin (the keep-alive idle timeout); `rest` bounds the rest.
// When `on_expect_continue` is set and the request carries
// "Expect: 100-continue", it is called before the body is read (servers write
// "HTTP/1.1 100 Continue" there). OutOfRange when the connection ends
// cleanly before a request begins.
absl::StatusOr<Request> ReadRequest(Conn& conn, const Limits& limits, IoDeadline first_byte,
                                    IoDeadline rest,
                                    const std::function<absl::Status()>& on_expect_continue = {});

// The parsed status line and header fields of a response.
struct ResponseHead {
  int status = 0;
  std::string reason;
  int minor_version = 1;
  Headers headers;
};

// Reads a response head (skipping 1xx interim responses). OutOfRange when
// the connection ends before the first byte.
absl::StatusOr<ResponseHead> ReadResponseHead(Conn& conn, const Limits& limits,
                                              IoDeadline deadline);

// Reads the body that follows `head` as the answer to `request_method`:
// none for HEAD, 1xx, 204 and 304; Content-Length; chunked; else up to end
// of stream.
absl::StatusOr<std::string> ReadResponseBody(Conn& conn, const ResponseHead& head,
                                             absl::string_view request_method,
                                             const Limits& limits, IoDeadline deadline);

// Whether the connection may be reused after this response (HTTP/1.1 without
// "Connection: close", or HTTP/1.0 with "Connection: keep-alive", and a
// delimited body).
bool ResponseKeepAlive(const ResponseHead& head, absl::string_view request_method);

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

struct ServerOptions {
  std::string network = "tcp";  // "unix" or "tcp"
  std::string address = "127.0.0.1:0";
  // A connection idle this long between requests (or stalled this long
  // inside one) is closed. Hijacked connections are the handler's business.
  absl::Duration idle_timeout = absl::Minutes(5);
  // Bound on writing one response.
  absl::Duration write_timeout = absl::Minutes(1);
  Limits limits;
  // Permissions of a unix socket file (Garden uses 0777: the rep and the
  // server run as different users).
  unsigned unix_socket_mode = 0777;
};

class Server;

// One request being served. The handler must either `Respond` once or
// `Hijack` once; when it does neither, the server answers 500.
class Exchange {
 public:
  const Request& request() const { return request_; }

  // Writes a complete response. Sets Content-Length, Date and, when the
  // connection will close, "Connection: close". Returns the write error, if
  // any (the connection is then closed).
  absl::Status Respond(Response response);

  // Writes the response head (status line + `headers` + Date) and hands the
  // connection over: the server will not read or write it again, and the
  // handler owns it from here (bytes the client sent after the request are
  // still buffered in it). `Server::Stop` still shuts it down, which makes
  // the handler's pending reads and writes return.
  absl::StatusOr<std::shared_ptr<Conn>> Hijack(int status, Headers headers);

  bool responded() const { return responded_; }
  bool hijacked() const { return hijacked_; }

  // True once Server::Stop has begun. Long-running handlers (streams) check
  // it between waits and return promptly.
  bool Stopping() const;

 private:
  friend class Server;
  Exchange(Server* server, std::shared_ptr<Conn> conn, Request request, bool keep_alive)
      : server_(server), conn_(std::move(conn)), request_(std::move(request)),
        keep_alive_(keep_alive) {}

  Server* server_;
  std::shared_ptr<Conn> conn_;
  Request request_;
  bool keep_alive_;
  bool responded_ = false;
  bool hijacked_ = false;
};

using Handler = std::function<void(Exchange&)>;

// Serves `handler` on one listener, one thread per connection.
class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();  // Stop()s

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the accept thread. Errors name the address.
  absl::Status Start();
  // The bound TCP port (0 for unix sockets or before Start).
  int Port() const;
  // Closes the listener, shuts down every connection (idle, mid-request and
  // hijacked), and joins every thread (so it waits for running handlers to
  // return). Removes the unix socket file. Idempotent.
  void Stop();
  bool Stopping() const { return stopping_.load(); }

 private:
  friend class Exchange;
  struct ConnThread;
  void AcceptLoop();
  void ServeConn(std::shared_ptr<Conn> conn);
  void ReapFinished();

  const ServerOptions options_;
  const Handler handler_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd that wakes the accept loop on Stop
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool stopped_ = false;

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace diego::garden::http_wire

#endif  // DIEGO_GARDEN_HTTP_WIRE_H_
