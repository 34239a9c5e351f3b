// Copyright 2026 The libdiego Authors.
//
// The PostgreSQL engine (libpq): one writer connection and a pool of reader
// connections made on first use. Statements are prepared once per connection
// (keyed by the SQL text and the parameter types) with `?` rewritten to
// `$1..$n`; parameters and results travel in binary (BIGINT as int8 in
// network order, TEXT and BYTEA as raw bytes). A connection that was lost
// reports kUnavailable and is reconnected on its next use.

#include <libpq-fe.h>

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"
#include "sql_writer.h"

namespace diego::bbs::sql_internal {
namespace {

// PostgreSQL type OIDs (pg_type.dat).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kOidOid = 26;
constexpr Oid kNumericOid = 1700;

constexpr const char* kReadBegin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

// Distinct statements prepared per connection; further ones run unnamed.
constexpr size_t kMaxPreparedStatements = 512;

uint64_t ReadBigEndian(const char* data, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data[i]);
  return v;
}

// The integer part of a binary NUMERIC (base-10000 digits).
int64_t DecodeNumeric(const char* data, int length) {
  if (length < 8) return 0;
  const int ndigits = static_cast<int16_t>(ReadBigEndian(data, 2));
  const int weight = static_cast<int16_t>(ReadBigEndian(data + 2, 2));
  const uint16_t sign = static_cast<uint16_t>(ReadBigEndian(data + 4, 2));
  if (length < 8 + 2 * ndigits) return 0;
  int64_t value = 0;
  for (int e = weight, i = 0; e >= 0; --e, ++i) {
    const int64_t digit = i < ndigits ? static_cast<int64_t>(ReadBigEndian(data + 8 + 2 * i, 2)) : 0;
    value = value * 10000 + digit;
  }
  return sign == 0x4000 ? -value : value;
}

// Rewrites `?` placeholders to `$1..$n`, leaving quoted literals,
// identifiers and comments alone.
std::string RewritePlaceholders(absl::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      const size_t end = sql.find(c, i + 1);
      const size_t stop = end == absl::string_view::npos ? sql.size() : end + 1;
      out.append(sql.data() + i, stop - i);
      i = stop - 1;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == absl::string_view::npos ? sql.size() : end + 1;
      out.append(sql.data() + i, stop - i);
      i = stop - 1;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const size_t end = sql.find("*/", i + 2);
      const size_t stop = end == absl::string_view::npos ? sql.size() : end + 2;
      out.append(sql.data() + i, stop - i);
      i = stop - 1;
    } else if (c == '?') {
      absl::StrAppend(&out, "$", ++n);
    } else {
      out.push_back(c);
    }
  }
  *count = n;
  return out;
}

Oid ParamType(const SqlParam& param) {
  if (std::holds_alternative<int64_t>(param)) return kInt8Oid;
  if (std::holds_alternative<SqlText>(param)) return kTextOid;
  if (std::holds_alternative<SqlBlob>(param)) return kByteaOid;
  return 0;  // NULL: let the server infer.
}

struct ResultDeleter {
  void operator()(PGresult* res) const { PQclear(res); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

class PgRow final : public SqlRow {
 public:
  PgRow(const PGresult* res, int columns) : res_(res), size_(columns) {}
  void set_row(int row) { row_ = row; }

  int size() const override { return size_; }
  bool IsNull(int column) const override { return PQgetisnull(res_, row_, column) != 0; }
  int64_t Int(int column) const override {
    if (PQgetisnull(res_, row_, column)) return 0;
    const char* data = PQgetvalue(res_, row_, column);
    const int length = PQgetlength(res_, row_, column);
    switch (PQftype(res_, column)) {
      case kInt8Oid:
        return length == 8 ? static_cast<int64_t>(ReadBigEndian(data, 8)) : 0;
      case kInt4Oid:
        return length == 4 ? static_cast<int32_t>(ReadBigEndian(data, 4)) : 0;
      case kInt2Oid:
        return length == 2 ? static_cast<int16_t>(ReadBigEndian(data, 2)) : 0;
      case kOidOid:
        return length == 4 ? static_cast<int64_t>(ReadBigEndian(data, 4)) : 0;
      case kBoolOid:
        return length == 1 && data[0] != 0 ? 1 : 0;
      case kNumericOid:
        return DecodeNumeric(data, length);
      default: {
        int64_t v = 0;
        return absl::SimpleAtoi(absl::string_view(data, static_cast<size_t>(length)), &v) ? v
                                                                                           : 0;
      }
    }
  }
  absl::string_view Text(int column) const override { return Bytes(column); }
  absl::string_view Blob(int column) const override { return Bytes(column); }

 private:
  absl::string_view Bytes(int column) const {
    if (PQgetisnull(res_, row_, column)) return {};
    return absl::string_view(PQgetvalue(res_, row_, column),
                             static_cast<size_t>(PQgetlength(res_, row_, column)));
  }

  const PGresult* res_;
  int size_;
  int row_ = 0;
};

class PgConnection final : public Connection {
 public:
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(
      const std::string& conninfo, const SqlDatabase::Options& options) {
    std::unique_ptr<PgConnection> conn(
        new PgConnection(conninfo, options.busy_timeout, kReadBegin));
    DIEGO_RETURN_IF_ERROR(conn->Reconnect());
    return conn;
  }

  ~PgConnection() override {
    if (conn_ != nullptr) PQfinish(conn_);
  }

  absl::Status EnsureOpen() override {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
    return Reconnect();
  }

  absl::StatusOr<int64_t> Exec(absl::string_view sql,
                               absl::Span<const SqlParam> params) override {
    DIEGO_ASSIGN_OR_RETURN(Result res, Run(sql, params));
    const char* tuples = PQcmdTuples(res.get());
    int64_t rows = 0;
    if (tuples != nullptr && *tuples != '\0' && absl::SimpleAtoi(tuples, &rows)) return rows;
    return static_cast<int64_t>(PQntuples(res.get()));
  }

  absl::Status Query(absl::string_view sql, absl::Span<const SqlParam> params,
                     absl::FunctionRef<absl::Status(const SqlRow&)> on_row,
                     bool* engine_error) override {
    absl::StatusOr<Result> res = Run(sql, params);
    if (!res.ok()) {
      *engine_error = true;
      return res.status();
    }
    const PGresult* r = res->get();
    PgRow row(r, PQnfields(r));
    const int rows = PQntuples(r);
    for (int i = 0; i < rows; ++i) {
      row.set_row(i);
      DIEGO_RETURN_IF_ERROR(on_row(row));
    }
    return absl::OkStatus();
  }

  absl::Status ExecSequence(absl::Span<const absl::string_view> statements) override {
    if (statements.empty()) return absl::OkStatus();
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      return absl::UnavailableError("postgres: connection lost");
    }
    std::string script;
    for (absl::string_view sql : statements) absl::StrAppend(&script, sql, ";");
    Result res(PQexec(conn_, script.c_str()));
    return CheckResult(res.get(), script);
  }

  // A finished read sends "COMMIT; BEGIN ..." without waiting, so the next
  // read's transaction is already open and a point read is one round trip.
  // REPEATABLE READ takes its snapshot at the first query, not at BEGIN: the
  // idle connection holds no snapshot, and the next read still sees every
  // write that returned before its first query.
  absl::Status BeginRead(absl::string_view begin_sql) override {
    if (prebegun_) {
      prebegun_ = false;
      bool ok = true;
      while (PGresult* raw = PQgetResult(conn_)) {
        Result res(raw);
        if (PQresultStatus(raw) != PGRES_COMMAND_OK) ok = false;
      }
      if (ok && PQtransactionStatus(conn_) == PQTRANS_INTRANS) return absl::OkStatus();
      // The connection broke while idle, or the previous COMMIT failed:
      // start over (nothing of this read has run yet).
      if (PQstatus(conn_) != CONNECTION_OK) {
        DIEGO_RETURN_IF_ERROR(Reconnect());
      } else if (InTransaction()) {
        (void)Exec("ROLLBACK", {});
      }
    }
    return Exec(begin_sql, {}).status();
  }

  // A read-only transaction has nothing to lose: COMMIT's outcome is checked
  // by the next BeginRead, which starts over if it failed.
  absl::Status EndRead(bool ok) override {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) return absl::OkStatus();
    const bool commit = ok && PQtransactionStatus(conn_) == PQTRANS_INTRANS;
    if (PQsendQuery(conn_, commit ? commit_then_begin_.c_str() : rollback_then_begin_.c_str()) ==
        1) {
      prebegun_ = true;
    }
    return absl::OkStatus();
  }

  bool InTransaction() override {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) return false;
    const PGTransactionStatusType status = PQtransactionStatus(conn_);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
  }

 private:
  struct Prepared {
    std::string name;
    std::vector<Oid> types;
  };

  PgConnection(std::string conninfo, absl::Duration connect_timeout, std::string read_begin)
      : conninfo_(std::move(conninfo)),
        commit_then_begin_(absl::StrCat("COMMIT;", read_begin)),
        rollback_then_begin_(absl::StrCat("ROLLBACK;", read_begin)),
        connect_timeout_(absl::StrCat(
            std::max<int64_t>(1, absl::ToInt64Seconds(connect_timeout + absl::Milliseconds(999))))) {}

  absl::Status Reconnect() {
    if (conn_ != nullptr) {
      PQfinish(conn_);
      conn_ = nullptr;
    }
    prepared_.clear();
    prebegun_ = false;
    // connect_timeout first: a value in the URI overrides it.
    const char* const keys[] = {"connect_timeout", "dbname", nullptr};
    const char* const values[] = {connect_timeout_.c_str(), conninfo_.c_str(), nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (conn == nullptr) return absl::UnavailableError("postgres: cannot connect: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string message(absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn)));
      PQfinish(conn);
      return absl::UnavailableError(absl::StrCat("postgres: cannot connect: ", message));
    }
    // NOTICEs ("relation already exists, skipping") are not errors.
    PQsetNoticeProcessor(conn, +[](void*, const char*) {}, nullptr);
    conn_ = conn;
    return absl::OkStatus();
  }

  absl::Status Error(const PGresult* res, absl::string_view sql) const {
    std::string message(absl::StripTrailingAsciiWhitespace(
        res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn_)));
    if (message.empty()) message = PQerrorMessage(conn_);
    message = absl::StrCat("postgres: ", absl::StripTrailingAsciiWhitespace(message), " (in \"",
                           sql, "\")");
    if (PQstatus(conn_) != CONNECTION_OK) return absl::UnavailableError(message);
    const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    const absl::string_view code = state != nullptr ? state : "";
    if (code == "23505") return absl::AlreadyExistsError(message);
    if (code == "40001" || code == "40P01") return absl::AbortedError(message);
    if (absl::StartsWith(code, "08") || absl::StartsWith(code, "57P")) {
      return absl::UnavailableError(message);
    }
    return absl::InternalError(message);
  }

  absl::Status CheckResult(const PGresult* res, absl::string_view sql) const {
    if (res == nullptr) return Error(nullptr, sql);
    const ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return absl::OkStatus();
    return Error(res, sql);
  }

  static bool Matches(const Prepared& prepared, absl::Span<const SqlParam> params) {
    if (prepared.types.size() != params.size()) return false;
    for (size_t i = 0; i < params.size(); ++i) {
      const Oid type = ParamType(params[i]);
      if (type != 0 && prepared.types[i] != type) return false;
    }
    return true;
  }

  // Finds or prepares `sql` for `params`' types. nullptr: run it unnamed.
  absl::StatusOr<const Prepared*> Prepare(absl::string_view sql,
                                          absl::Span<const SqlParam> params,
                                          std::string* rewritten, std::vector<Oid>* types) {
    auto it = prepared_.find(sql);
    if (it != prepared_.end()) {
      for (const Prepared& p : it->second) {
        if (Matches(p, params)) return &p;
      }
    }
    int count = 0;
    *rewritten = RewritePlaceholders(sql, &count);
    if (static_cast<size_t>(count) != params.size()) {
      return absl::InvalidArgumentError(absl::StrCat("postgres: statement takes ", count,
                                                     " parameters, got ", params.size(), ": \"",
                                                     sql, "\""));
    }
    types->resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) (*types)[i] = ParamType(params[i]);
    if (prepared_count_ >= kMaxPreparedStatements) return nullptr;
    Prepared p;
    p.name = absl::StrCat("diego_", ++statement_counter_);
    p.types = *types;
    Result res(PQprepare(conn_, p.name.c_str(), rewritten->c_str(), static_cast<int>(count),
                         p.types.data()));
    DIEGO_RETURN_IF_ERROR(CheckResult(res.get(), sql));
    ++prepared_count_;
    std::vector<Prepared>& entries = prepared_[std::string(sql)];
    entries.push_back(std::move(p));
    return &entries.back();
  }

  absl::StatusOr<Result> Run(absl::string_view sql, absl::Span<const SqlParam> params) {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      return absl::UnavailableError(
          absl::StrCat("postgres: connection lost (in \"", sql, "\")"));
    }
    std::string rewritten;
    std::vector<Oid> types;
    DIEGO_ASSIGN_OR_RETURN(const Prepared* prepared, Prepare(sql, params, &rewritten, &types));

    const size_t n = params.size();
    absl::InlinedVector<uint64_t, 16> ints(n);
    absl::InlinedVector<const char*, 16> values(n);
    absl::InlinedVector<int, 16> lengths(n);
    absl::InlinedVector<int, 16> formats(n, 1);
    for (size_t i = 0; i < n; ++i) {
      const SqlParam& param = params[i];
      if (const int64_t* v = std::get_if<int64_t>(&param)) {
        const uint64_t u = static_cast<uint64_t>(*v);
        unsigned char* bytes = reinterpret_cast<unsigned char*>(&ints[i]);
        for (int b = 0; b < 8; ++b) bytes[b] = static_cast<unsigned char>(u >> (56 - 8 * b));
        values[i] = reinterpret_cast<const char*>(&ints[i]);
        lengths[i] = 8;
      } else if (const SqlText* t = std::get_if<SqlText>(&param)) {
        values[i] = t->value.empty() ? "" : t->value.data();
        lengths[i] = static_cast<int>(t->value.size());
      } else if (const SqlBlob* b = std::get_if<SqlBlob>(&param)) {
        values[i] = b->value.empty() ? "" : b->value.data();
        lengths[i] = static_cast<int>(b->value.size());
      } else {
        values[i] = nullptr;
        lengths[i] = 0;
      }
    }
    PGresult* raw =
        prepared != nullptr
            ? PQexecPrepared(conn_, prepared->name.c_str(), static_cast<int>(n), values.data(),
                             lengths.data(), formats.data(), /*resultFormat=*/1)
            : PQexecParams(conn_, rewritten.c_str(), static_cast<int>(n), types.data(),
                           values.data(), lengths.data(), formats.data(), /*resultFormat=*/1);
    Result res(raw);
    DIEGO_RETURN_IF_ERROR(CheckResult(res.get(), sql));
    return res;
  }

  const std::string conninfo_;
  const std::string commit_then_begin_;
  const std::string rollback_then_begin_;
  const std::string connect_timeout_;
  bool prebegun_ = false;  // "[COMMIT;] BEGIN" sent, its results not yet read.
  PGconn* conn_ = nullptr;
  absl::node_hash_map<std::string, std::vector<Prepared>> prepared_;
  size_t prepared_count_ = 0;
  uint64_t statement_counter_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlDatabase>> OpenPostgres(const std::string& conninfo,
                                                          const SqlDatabase::Options& options) {
  DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer,
                         PgConnection::Connect(conninfo, options));
  EngineTraits traits;
  traits.engine = SqlEngine::kPostgres;
  traits.write_begin = "BEGIN";
  traits.read_begin = kReadBegin;
  ConnectionFactory readers = [conninfo,
                               options]() -> absl::StatusOr<std::unique_ptr<Connection>> {
    DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn,
                           PgConnection::Connect(conninfo, options));
    return std::unique_ptr<Connection>(std::move(conn));
  };
  return NewDatabase(traits, std::move(writer), std::move(readers), options);
}

}  // namespace diego::bbs::sql_internal
