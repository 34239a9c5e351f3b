// Copyright 2026 The libdiego Authors.
//
// The SQL layer on both engines: URL parsing, value round trips, error
// mapping, group commit (savepoint isolation, reruns, AfterCommit order),
// read-your-writes and durability across reopen.

#include "diego/bbs/sql.h"

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_databases.h"

namespace diego::bbs {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::kTestEngines;
using testing::NewTestDatabaseUrl;
using testing::TestEngineName;

MATCHER_P(IsOkAndHolds, value, "") {
  if (!arg.ok()) {
    *result_listener << "which is " << arg.status();
    return false;
  }
  *result_listener << "which holds " << *arg;
  return *arg == value;
}

// ---------------------------------------------------------------------------
// URL parsing.

TEST(ParseDatabaseUrlTest, SqliteAbsoluteAndRelative) {
  ASSERT_OK_AND_ASSIGN(DatabaseUrl abs, ParseDatabaseUrl("sqlite:///var/lib/diego/bbs.db"));
  EXPECT_EQ(abs.engine, SqlEngine::kSqlite);
  EXPECT_EQ(abs.sqlite_path, "/var/lib/diego/bbs.db");
  ASSERT_OK_AND_ASSIGN(DatabaseUrl rel, ParseDatabaseUrl("sqlite://relative/bbs.db"));
  EXPECT_EQ(rel.engine, SqlEngine::kSqlite);
  EXPECT_EQ(rel.sqlite_path, "relative/bbs.db");
}

TEST(ParseDatabaseUrlTest, PostgresIsPassedToLibpqAsIs) {
  const std::string url = "postgres://diego:secret@db.example:5433/bbs?sslmode=require";
  ASSERT_OK_AND_ASSIGN(DatabaseUrl pg, ParseDatabaseUrl(url));
  EXPECT_EQ(pg.engine, SqlEngine::kPostgres);
  EXPECT_EQ(pg.postgres_conninfo, url);
  ASSERT_OK_AND_ASSIGN(DatabaseUrl pg2, ParseDatabaseUrl("postgresql:///bbs?host=/run/pg"));
  EXPECT_EQ(pg2.engine, SqlEngine::kPostgres);
  EXPECT_EQ(pg2.postgres_conninfo, "postgresql:///bbs?host=/run/pg");
}

TEST(ParseDatabaseUrlTest, BadUrlsNameTheProblem) {
  EXPECT_THAT(ParseDatabaseUrl("mysql://root@localhost/bbs"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unsupported database URL scheme \"mysql\" (want sqlite:// or "
                       "postgres://)"));
  EXPECT_THAT(ParseDatabaseUrl("sqlite://"),
              StatusIs(absl::StatusCode::kInvalidArgument, "sqlite URL has no path"));
  EXPECT_THAT(ParseDatabaseUrl("/var/lib/bbs.db"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has no scheme")));
  EXPECT_THAT(ParseDatabaseUrl(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty database URL")));
  EXPECT_THAT(ParseDatabaseUrl("sqlite:///tmp/dir/"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names a directory")));
}

TEST(SqlDatabaseTest, OpenRejectsBadUrlAndOptions) {
  EXPECT_THAT(SqlDatabase::Open("mysql://x/y"), StatusIs(absl::StatusCode::kInvalidArgument));
  SqlDatabase::Options options;
  options.read_connections = 0;
  EXPECT_THAT(SqlDatabase::Open("sqlite:///tmp/never-created.db", options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("read_connections")));
}

TEST(SqlDatabaseTest, SqliteUnopenableFileIsUnavailable) {
  EXPECT_THAT(SqlDatabase::Open("sqlite:///nonexistent-dir-for-diego/sub/bbs.db"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot open")));
  SqlDatabase::Options options;
  options.create_if_missing = false;
  ASSERT_OK_AND_ASSIGN(std::string url, NewTestDatabaseUrl(SqlEngine::kSqlite));
  EXPECT_THAT(SqlDatabase::Open(url, options), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(SqlHelpersTest, NamesAndTypes) {
  EXPECT_EQ(SqlEngineName(SqlEngine::kSqlite), "sqlite");
  EXPECT_EQ(SqlEngineName(SqlEngine::kPostgres), "postgres");
  EXPECT_EQ(BlobType(SqlEngine::kSqlite), "BLOB");
  EXPECT_EQ(BlobType(SqlEngine::kPostgres), "BYTEA");
  EXPECT_THAT(SqlConflictError(),
              StatusIs(absl::StatusCode::kAborted, "sql: concurrent update conflict"));
}

// ---------------------------------------------------------------------------
// Both engines.

class SqlTest : public ::testing::TestWithParam<SqlEngine> {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(url_, NewTestDatabaseUrl(GetParam()));
    ASSERT_OK_AND_ASSIGN(db_, SqlDatabase::Open(url_, options_));
    const std::string blob(BlobType(GetParam()));
    ASSERT_OK(db_->Exclusive([&](SqlTx& tx) -> absl::Status {
      absl::StatusOr<int64_t> r = tx.Exec(absl::StrCat(
          "CREATE TABLE t (id BIGINT PRIMARY KEY, i BIGINT, s TEXT, b ", blob, ")"));
      if (!r.ok()) return r.status();
      return tx.Exec("CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)").status();
    }));
    ASSERT_OK(db_->Write([](SqlTx& tx) {
      return tx.Exec("INSERT INTO counter (id, n) VALUES (1, 0)").status();
    }));
  }

  absl::StatusOr<int64_t> Count(absl::string_view table) {
    int64_t n = -1;
    absl::Status s = db_->Read([&](SqlTx& tx) {
      return tx.Query(absl::StrCat("SELECT COUNT(*) FROM ", table), {}, [&](const SqlRow& row) {
        n = row.Int(0);
        return absl::OkStatus();
      });
    });
    if (!s.ok()) return s;
    return n;
  }

  absl::Status Insert(SqlTx& tx, int64_t id) {
    return tx.Exec("INSERT INTO t (id, i) VALUES (?, ?)", {Int(id), Int(id * 10)}).status();
  }

  SqlDatabase::Options options_;
  std::string url_;
  std::unique_ptr<SqlDatabase> db_;
};

INSTANTIATE_TEST_SUITE_P(Engines, SqlTest, ::testing::ValuesIn(kTestEngines), TestEngineName);

TEST_P(SqlTest, EngineIsReported) {
  EXPECT_EQ(db_->engine(), GetParam());
  ASSERT_OK(db_->Read([&](SqlTx& tx) {
    EXPECT_EQ(tx.engine(), GetParam());
    return absl::OkStatus();
  }));
}

TEST_P(SqlTest, ValuesRoundTrip) {
  // PostgreSQL TEXT cannot hold NUL bytes (BYTEA can); SQLite's can.
  const std::string text_with_nul = GetParam() == SqlEngine::kSqlite
                                        ? std::string("a\0b\xc3\xa9", 5)
                                        : std::string("ab\xc3\xa9");
  const std::string blob_with_nul("\0\x01\xff\0zz", 6);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  ASSERT_OK(db_->Write([&](SqlTx& tx) -> absl::Status {
    const char* sql = "INSERT INTO t (id, i, s, b) VALUES (?, ?, ?, ?)";
    for (auto params : std::vector<std::vector<SqlParam>>{
             {Int(1), Null(), Null(), Null()},
             {Int(2), Int(-42), Text("hello"), Blob(blob_with_nul)},
             {Int(3), Int(kMax), Text(""), Blob("")},
             {Int(4), Int(kMin), Text(text_with_nul), Blob("x")},
             {Int(5), Bool(true), Text("?"), Null()},
         }) {
      absl::StatusOr<int64_t> r = tx.Exec(sql, params);
      if (!r.ok()) return r.status();
      EXPECT_EQ(*r, 1);
    }
    return absl::OkStatus();
  }));
  struct Row {
    int64_t id;
    bool i_null, s_null, b_null;
    int64_t i;
    std::string s, b;
  };
  std::vector<Row> rows;
  ASSERT_OK(db_->Read([&](SqlTx& tx) {
    return tx.Query("SELECT id, i, s, b FROM t ORDER BY id", {}, [&](const SqlRow& row) {
      EXPECT_EQ(row.size(), 4);
      rows.push_back(Row{row.Int(0), row.IsNull(1), row.IsNull(2), row.IsNull(3), row.Int(1),
                         std::string(row.Text(2)), std::string(row.Blob(3))});
      return absl::OkStatus();
    });
  }));
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_TRUE(rows[0].i_null && rows[0].s_null && rows[0].b_null);
  EXPECT_EQ(rows[0].i, 0);
  EXPECT_EQ(rows[0].s, "");
  EXPECT_EQ(rows[0].b, "");
  EXPECT_FALSE(rows[1].i_null || rows[1].s_null || rows[1].b_null);
  EXPECT_EQ(rows[1].i, -42);
  EXPECT_EQ(rows[1].s, "hello");
  EXPECT_EQ(rows[1].b, blob_with_nul);
  EXPECT_EQ(rows[2].i, kMax);
  EXPECT_FALSE(rows[2].s_null);  // Empty, not NULL.
  EXPECT_FALSE(rows[2].b_null);
  EXPECT_EQ(rows[2].s, "");
  EXPECT_EQ(rows[2].b, "");
  EXPECT_EQ(rows[3].i, kMin);
  EXPECT_EQ(rows[3].s, text_with_nul);
  EXPECT_EQ(rows[3].b, "x");
  EXPECT_EQ(rows[4].i, 1);
  EXPECT_EQ(rows[4].s, "?");
  EXPECT_TRUE(rows[4].b_null);

  // Parameters filter too, and a query may use the same SQL again.
  int64_t found = 0;
  ASSERT_OK(db_->Read([&](SqlTx& tx) {
    return tx.Query("SELECT id FROM t WHERE i = ? OR b = ?", {Int(kMax), Blob(blob_with_nul)},
                    [&](const SqlRow& row) {
                      found += row.Int(0);
                      return absl::OkStatus();
                    });
  }));
  EXPECT_EQ(found, 2 + 3);
}

TEST_P(SqlTest, PlaceholdersInsideLiteralsAreNotParameters) {
  std::string out;
  ASSERT_OK(db_->Read([&](SqlTx& tx) {
    return tx.Query("SELECT ? || '?' || ?", {Text("a"), Text("b")}, [&](const SqlRow& row) {
      out = std::string(row.Text(0));
      return absl::OkStatus();
    });
  }));
  EXPECT_EQ(out, "a?b");
}

TEST_P(SqlTest, ExecReturnsRowsChanged) {
  ASSERT_OK(db_->Write([&](SqlTx& tx) -> absl::Status {
    for (int64_t id = 1; id <= 3; ++id) {
      if (absl::Status s = Insert(tx, id); !s.ok()) return s;
    }
    EXPECT_THAT(tx.Exec("UPDATE t SET s = ? WHERE id >= ?", {Text("x"), Int(2)}),
                IsOkAndHolds(2));
    EXPECT_THAT(tx.Exec("UPDATE t SET s = ? WHERE id = ?", {Text("x"), Int(99)}),
                IsOkAndHolds(0));
    EXPECT_THAT(tx.Exec("DELETE FROM t WHERE id = ?", {Int(1)}), IsOkAndHolds(1));
    return absl::OkStatus();
  }));
  EXPECT_THAT(Count("t"), IsOkAndHolds(2));
}

TEST_P(SqlTest, WrongParameterCountIsAnError) {
  absl::Status s = db_->Write([&](SqlTx& tx) {
    return tx.Exec("INSERT INTO t (id, i) VALUES (?, ?)", {Int(1)}).status();
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("parameters")));
}

TEST_P(SqlTest, DuplicatePrimaryKeyIsAlreadyExists) {
  ASSERT_OK(db_->Write([&](SqlTx& tx) { return Insert(tx, 7); }));
  absl::Status s = db_->Write([&](SqlTx& tx) { return Insert(tx, 7); });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("INSERT INTO t")));
  EXPECT_THAT(Count("t"), IsOkAndHolds(1));
}

TEST_P(SqlTest, SyntaxErrorIsInternalWithSql) {
  absl::Status s = db_->Read([&](SqlTx& tx) {
    return tx.Query("SELEKT 1", {}, [](const SqlRow&) { return absl::OkStatus(); });
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInternal, HasSubstr("SELEKT 1")));
}

TEST_P(SqlTest, StatementsAfterAFailedStatementFail) {
  ASSERT_OK(db_->Write([&](SqlTx& tx) { return Insert(tx, 1); }));
  absl::Status later;
  absl::Status s = db_->Write([&](SqlTx& tx) -> absl::Status {
    EXPECT_OK(Insert(tx, 3));
    EXPECT_THAT(Insert(tx, 1), StatusIs(absl::StatusCode::kAlreadyExists));
    later = Insert(tx, 2);
    return absl::OkStatus();  // Swallowing the error does not commit the write.
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(later, StatusIs(absl::StatusCode::kFailedPrecondition,
                              HasSubstr("after a failed statement")));
  EXPECT_THAT(Count("t"), IsOkAndHolds(1));
  // Reads are poisoned the same way.
  absl::Status read_later;
  EXPECT_OK(db_->Read([&](SqlTx& tx) {
    EXPECT_THAT(tx.Query("SELECT nope FROM t", {}, [](const SqlRow&) { return absl::OkStatus(); }),
                StatusIs(absl::StatusCode::kInternal));
    read_later = tx.Query("SELECT id FROM t", {}, [](const SqlRow&) { return absl::OkStatus(); });
    return absl::OkStatus();
  }));
  EXPECT_THAT(read_later, StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(SqlTest, QueryStopsAtTheCallbacksError) {
  ASSERT_OK(db_->Write([&](SqlTx& tx) -> absl::Status {
    for (int64_t id = 1; id <= 5; ++id) {
      if (absl::Status s = Insert(tx, id); !s.ok()) return s;
    }
    return absl::OkStatus();
  }));
  int seen = 0;
  absl::Status s = db_->Read([&](SqlTx& tx) -> absl::Status {
    absl::Status q = tx.Query("SELECT id FROM t ORDER BY id", {}, [&](const SqlRow&) {
      return ++seen == 2 ? absl::NotFoundError("enough") : absl::OkStatus();
    });
    EXPECT_THAT(q, StatusIs(absl::StatusCode::kNotFound, "enough"));
    // A callback's error does not break the transaction.
    int64_t n = 0;
    EXPECT_OK(tx.Query("SELECT COUNT(*) FROM t", {}, [&](const SqlRow& row) {
      n = row.Int(0);
      return absl::OkStatus();
    }));
    EXPECT_EQ(n, 5);
    return q;
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(seen, 2);
}

TEST_P(SqlTest, NestedQueryWithTheSameSql) {
  ASSERT_OK(db_->Write([&](SqlTx& tx) -> absl::Status {
    for (int64_t id = 1; id <= 3; ++id) {
      if (absl::Status s = Insert(tx, id); !s.ok()) return s;
    }
    return absl::OkStatus();
  }));
  int64_t pairs = 0;
  ASSERT_OK(db_->Read([&](SqlTx& tx) {
    const char* sql = "SELECT id FROM t WHERE id >= ? ORDER BY id";
    return tx.Query(sql, {Int(1)}, [&](const SqlRow& outer) {
      const int64_t from = outer.Int(0);
      return tx.Query(sql, {Int(from)}, [&](const SqlRow& inner) {
        EXPECT_GE(inner.Int(0), from);
        EXPECT_EQ(outer.Int(0), from);
        ++pairs;
        return absl::OkStatus();
      });
    });
  }));
  EXPECT_EQ(pairs, 3 + 2 + 1);
}

TEST_P(SqlTest, FailingWritesRollBackAloneWhileOthersCommit) {
  constexpr int kThreads = 16;
  constexpr int kWritesPerThread = 40;
  std::atomic<int> ok_count{0};
  std::atomic<int> after_commits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int w = 0; w < kWritesPerThread; ++w) {
        const int64_t id = t * 1000 + w;
        const bool fail = w % 4 == 0;
        absl::Status s = db_->Write([&](SqlTx& tx) -> absl::Status {
          absl::Status inserted = Insert(tx, id);
          if (!inserted.ok()) return inserted;
          tx.AfterCommit([&] { after_commits.fetch_add(1); });
          if (fail) return absl::InvalidArgumentError("write refuses");
          return tx.Exec("UPDATE counter SET n = n + 1 WHERE id = 1").status();
        });
        if (fail) {
          EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "write refuses"));
        } else {
          EXPECT_OK(s);
          ok_count.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const int want = kThreads * kWritesPerThread * 3 / 4;
  EXPECT_EQ(ok_count.load(), want);
  EXPECT_EQ(after_commits.load(), want);
  EXPECT_THAT(Count("t"), IsOkAndHolds(want));
  int64_t failed_rows = -1;
  int64_t counter = -1;
  ASSERT_OK(db_->Read([&](SqlTx& tx) -> absl::Status {
    absl::Status s = tx.Query("SELECT COUNT(*) FROM t WHERE id % 4 = 0", {},
                              [&](const SqlRow& row) {
                                failed_rows = row.Int(0);
                                return absl::OkStatus();
                              });
    if (!s.ok()) return s;
    return tx.Query("SELECT n FROM counter WHERE id = 1", {}, [&](const SqlRow& row) {
      counter = row.Int(0);
      return absl::OkStatus();
    });
  }));
  EXPECT_EQ(failed_rows, 0);
  EXPECT_EQ(counter, want);
}

TEST_P(SqlTest, AbortedWriteIsRerunAndCommitsOnce) {
  int runs = 0;
  std::vector<int> callbacks;
  ASSERT_OK(db_->Write([&](SqlTx& tx) -> absl::Status {
    ++runs;
    absl::Status s = Insert(tx, 1);
    if (!s.ok()) return s;  // Would be kAlreadyExists if attempt 1 had stuck.
    const int attempt = runs;
    tx.AfterCommit([&callbacks, attempt] { callbacks.push_back(attempt); });
    if (runs == 1) return SqlConflictError();
    return absl::OkStatus();
  }));
  EXPECT_EQ(runs, 2);
  EXPECT_THAT(callbacks, ElementsAre(2));
  EXPECT_THAT(Count("t"), IsOkAndHolds(1));
}

TEST_P(SqlTest, AbortedWriteGivesUpAfterMaxAttempts) {
  options_.max_write_attempts = 3;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> db, SqlDatabase::Open(url_, options_));
  db_.reset();
  int runs = 0;
  absl::Status s = db->Write([&](SqlTx& tx) -> absl::Status {
    ++runs;
    absl::Status inserted = Insert(tx, runs);
    if (!inserted.ok()) return inserted;
    return SqlConflictError();
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAborted, "sql: concurrent update conflict"));
  EXPECT_EQ(runs, 3);
  int64_t n = -1;
  ASSERT_OK(db->Read([&](SqlTx& tx) {
    return tx.Query("SELECT COUNT(*) FROM t", {}, [&](const SqlRow& row) {
      n = row.Int(0);
      return absl::OkStatus();
    });
  }));
  EXPECT_EQ(n, 0);
}

TEST_P(SqlTest, AfterCommitRunsInCommitOrderAcrossWriters) {
  constexpr int kThreads = 12;
  constexpr int kWritesPerThread = 50;
  absl::Mutex mu;
  std::vector<int64_t> published;  // Guarded by mu; written on the writer thread only.
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int w = 0; w < kWritesPerThread; ++w) {
        const bool fail = (t + w) % 5 == 0;
        absl::Status s = db_->Write([&](SqlTx& tx) -> absl::Status {
          int64_t n = -1;
          absl::Status q = tx.Query("UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n", {},
                                    [&](const SqlRow& row) {
                                      n = row.Int(0);
                                      return absl::OkStatus();
                                    });
          if (!q.ok()) return q;
          tx.AfterCommit([&mu, &published, n] {
            absl::MutexLock lock(&mu);
            published.push_back(n);
          });
          if (fail) return absl::FailedPreconditionError("no");
          return absl::OkStatus();
        });
        if (!s.ok()) failed.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const int committed = kThreads * kWritesPerThread - failed.load();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(static_cast<int>(published.size()), committed);
  for (int i = 0; i < committed; ++i) {
    ASSERT_EQ(published[static_cast<size_t>(i)], i + 1) << "at " << i;
  }
}

TEST_P(SqlTest, AfterCommitRunsBeforeWriteReturns) {
  bool ran = false;
  ASSERT_OK(db_->Write([&](SqlTx& tx) {
    tx.AfterCommit([&] { ran = true; });
    EXPECT_FALSE(ran);
    return Insert(tx, 1);
  }));
  EXPECT_TRUE(ran);
}

TEST_P(SqlTest, ReadsSeeEveryReturnedWrite) {
  constexpr int kWriters = 4;
  constexpr int kWrites = 60;
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (int w = 0; w < kWrites; ++w) {
        const int64_t id = t * 1000 + w;
        ASSERT_OK(db_->Write([&](SqlTx& tx) { return Insert(tx, id); }));
        bool found = false;
        ASSERT_OK(db_->Read([&](SqlTx& tx) {
          return tx.Query("SELECT i FROM t WHERE id = ?", {Int(id)}, [&](const SqlRow& row) {
            found = row.Int(0) == id * 10;
            return absl::OkStatus();
          });
        }));
        ASSERT_TRUE(found) << "write " << id << " not visible after Write returned";
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(Count("t"), IsOkAndHolds(kWriters * kWrites));
}

TEST_P(SqlTest, ReadIsASnapshot) {
  ASSERT_OK(db_->Write([&](SqlTx& tx) { return Insert(tx, 1); }));
  absl::Notification first_read_done;
  absl::Notification write_done;
  std::vector<int64_t> counts;
  std::thread reader([&] {
    ASSERT_OK(db_->Read([&](SqlTx& tx) -> absl::Status {
      for (int i = 0; i < 2; ++i) {
        absl::Status s = tx.Query("SELECT COUNT(*) FROM t", {}, [&](const SqlRow& row) {
          counts.push_back(row.Int(0));
          return absl::OkStatus();
        });
        if (!s.ok()) return s;
        if (i == 0) {
          first_read_done.Notify();
          write_done.WaitForNotification();
        }
      }
      return absl::OkStatus();
    }));
  });
  first_read_done.WaitForNotification();
  ASSERT_OK(db_->Write([&](SqlTx& tx) { return Insert(tx, 2); }));
  write_done.Notify();
  reader.join();
  EXPECT_THAT(counts, ElementsAre(1, 1));
  EXPECT_THAT(Count("t"), IsOkAndHolds(2));
}

TEST_P(SqlTest, WritesSurviveReopen) {
  ASSERT_OK(db_->Write([&](SqlTx& tx) {
    return tx.Exec("INSERT INTO t (id, i, s, b) VALUES (?, ?, ?, ?)",
                   {Int(1), Int(-5), Text("kept"), Blob(std::string("\0k", 2))})
        .status();
  }));
  db_.reset();
  ASSERT_OK_AND_ASSIGN(db_, SqlDatabase::Open(url_, options_));
  std::string s, b;
  int64_t i = 0;
  ASSERT_OK(db_->Read([&](SqlTx& tx) {
    return tx.Query("SELECT i, s, b FROM t WHERE id = ?", {Int(1)}, [&](const SqlRow& row) {
      i = row.Int(0);
      s = std::string(row.Text(1));
      b = std::string(row.Blob(2));
      return absl::OkStatus();
    });
  }));
  EXPECT_EQ(i, -5);
  EXPECT_EQ(s, "kept");
  EXPECT_EQ(b, std::string("\0k", 2));
}

TEST_P(SqlTest, ExclusiveRunsInAutocommitAndAllowsExplicitTransactions) {
  ASSERT_OK(db_->Exclusive([&](SqlTx& tx) -> absl::Status {
    EXPECT_OK(Insert(tx, 1));  // Autocommit: committed on its own.
    EXPECT_OK(tx.Exec("BEGIN").status());
    EXPECT_OK(Insert(tx, 2));
    EXPECT_OK(tx.Exec("ROLLBACK").status());
    EXPECT_OK(tx.Exec("BEGIN").status());
    EXPECT_OK(Insert(tx, 3));
    EXPECT_OK(tx.Exec("COMMIT").status());
    // An error does not poison an Exclusive; the caller handles it.
    EXPECT_THAT(Insert(tx, 1), StatusIs(absl::StatusCode::kAlreadyExists));
    EXPECT_OK(Insert(tx, 4));
    return absl::OkStatus();
  }));
  // A transaction left open by the function is rolled back.
  EXPECT_THAT(db_->Exclusive([&](SqlTx& tx) -> absl::Status {
    absl::Status s = tx.Exec("BEGIN").status();
    if (!s.ok()) return s;
    s = Insert(tx, 5);
    if (!s.ok()) return s;
    return absl::InternalError("left open");
  }),
              StatusIs(absl::StatusCode::kInternal, "left open"));
  ASSERT_OK(db_->Write([&](SqlTx& tx) { return Insert(tx, 6); }));
  std::vector<int64_t> ids;
  ASSERT_OK(db_->Read([&](SqlTx& tx) {
    return tx.Query("SELECT id FROM t ORDER BY id", {}, [&](const SqlRow& row) {
      ids.push_back(row.Int(0));
      return absl::OkStatus();
    });
  }));
  EXPECT_THAT(ids, ElementsAre(1, 3, 4, 6));
}

TEST_P(SqlTest, OnConflictUpsertWorks) {
  for (int64_t v : {5, 9}) {
    ASSERT_OK(db_->Write([&](SqlTx& tx) {
      return tx.Exec("INSERT INTO t (id, i) VALUES (?, ?)"
                     " ON CONFLICT (id) DO UPDATE SET i = excluded.i",
                     {Int(1), Int(v)})
          .status();
    }));
  }
  int64_t i = 0;
  ASSERT_OK(db_->Read([&](SqlTx& tx) {
    return tx.Query("SELECT i FROM t WHERE id = 1", {}, [&](const SqlRow& row) {
      i = row.Int(0);
      return absl::OkStatus();
    });
  }));
  EXPECT_EQ(i, 9);
}

TEST_P(SqlTest, ManyConcurrentReadsShareThePool) {
  options_.read_connections = 2;
  db_.reset();
  ASSERT_OK_AND_ASSIGN(db_, SqlDatabase::Open(url_, options_));
  ASSERT_OK(db_->Write([&](SqlTx& tx) { return Insert(tx, 1); }));
  std::atomic<int> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < 50; ++r) {
        ASSERT_OK(db_->Read([&](SqlTx& tx) {
          return tx.Query("SELECT i FROM t WHERE id = ?", {Int(1)}, [&](const SqlRow& row) {
            total.fetch_add(static_cast<int>(row.Int(0)));
            return absl::OkStatus();
          });
        }));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(total.load(), 8 * 50 * 10);
}

// ---------------------------------------------------------------------------
// Engine-specific behaviour.

TEST(SqliteTest, ReopenedFileKeepsWalMode) {
  ASSERT_OK_AND_ASSIGN(std::string url, NewTestDatabaseUrl(SqlEngine::kSqlite));
  { ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> db, SqlDatabase::Open(url)); }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> db, SqlDatabase::Open(url));
  std::string mode;
  int64_t sync = -1, fk = -1;
  ASSERT_OK(db->Exclusive([&](SqlTx& tx) -> absl::Status {
    absl::Status s = tx.Query("PRAGMA journal_mode", {}, [&](const SqlRow& row) {
      mode = std::string(row.Text(0));
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    s = tx.Query("PRAGMA synchronous", {}, [&](const SqlRow& row) {
      sync = row.Int(0);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return tx.Query("PRAGMA foreign_keys", {}, [&](const SqlRow& row) {
      fk = row.Int(0);
      return absl::OkStatus();
    });
  }));
  EXPECT_EQ(mode, "wal");
  EXPECT_EQ(sync, 2);  // FULL
  EXPECT_EQ(fk, 1);
}

TEST(SqliteTest, WriteLockHeldByAnotherProcessIsUnavailable) {
  ASSERT_OK_AND_ASSIGN(std::string url, NewTestDatabaseUrl(SqlEngine::kSqlite));
  SqlDatabase::Options options;
  options.busy_timeout = absl::ZeroDuration();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> a, SqlDatabase::Open(url, options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> b, SqlDatabase::Open(url, options));
  ASSERT_OK(a->Exclusive([](SqlTx& tx) {
    return tx.Exec("CREATE TABLE t (id BIGINT PRIMARY KEY)").status();
  }));
  ASSERT_OK(b->Exclusive([&](SqlTx& tx) -> absl::Status {
    absl::Status s = tx.Exec("BEGIN IMMEDIATE").status();
    if (!s.ok()) return s;
    // `a` is a second writer on the same file (as another process would be).
    EXPECT_THAT(a->Write([](SqlTx& tx) {
      return tx.Exec("INSERT INTO t (id) VALUES (1)").status();
    }),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("locked")));
    return tx.Exec("COMMIT").status();
  }));
  // Once the lock is free, writes go through again.
  EXPECT_OK(a->Write([](SqlTx& tx) {
    return tx.Exec("INSERT INTO t (id) VALUES (1)").status();
  }));
}

TEST(PostgresTest, LostConnectionIsUnavailableThenReconnects) {
  ASSERT_OK_AND_ASSIGN(std::string url, NewTestDatabaseUrl(SqlEngine::kPostgres));
  SqlDatabase::Options options;
  options.read_connections = 1;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqlDatabase> db, SqlDatabase::Open(url, options));
  auto backend_pid = [&](int64_t* pid) {
    return db->Read([&](SqlTx& tx) {
      return tx.Query("SELECT pg_backend_pid()", {}, [&](const SqlRow& row) {
        *pid = row.Int(0);
        return absl::OkStatus();
      });
    });
  };
  int64_t pid = 0;
  ASSERT_OK(backend_pid(&pid));
  ASSERT_GT(pid, 0);
  ASSERT_OK(db->Exclusive([&](SqlTx& tx) {
    return tx.Query("SELECT pg_terminate_backend(?::integer, 10000)", {Int(pid)},
                    [](const SqlRow& row) {
                      EXPECT_TRUE(row.Bool(0));
                      return absl::OkStatus();
                    });
  }));
  // The reader finishes each read by sending "COMMIT; BEGIN" without waiting,
  // so whether it sees the termination as a failed read (kUnavailable) or as
  // a dead connection to replace before the read depends on when the server
  // closed the socket. Either way no read returns a wrong answer, and reads
  // work again on a new connection.
  int64_t first_pid = 0;
  absl::Status first = backend_pid(&first_pid);
  if (first.ok()) {
    EXPECT_NE(first_pid, pid);
  } else {
    EXPECT_THAT(first, StatusIs(absl::StatusCode::kUnavailable));
  }
  int64_t new_pid = 0;
  ASSERT_OK(backend_pid(&new_pid));
  EXPECT_NE(new_pid, pid);

  // The writer's connection too: its batch fails, the next one reconnects.
  int64_t writer_pid = 0;
  ASSERT_OK(db->Exclusive([&](SqlTx& tx) {
    return tx.Query("SELECT pg_backend_pid()", {}, [&](const SqlRow& row) {
      writer_pid = row.Int(0);
      return absl::OkStatus();
    });
  }));
  ASSERT_OK(db->Read([&](SqlTx& tx) {
    return tx.Query("SELECT pg_terminate_backend(?::integer, 10000)", {Int(writer_pid)},
                    [](const SqlRow&) { return absl::OkStatus(); });
  }));
  EXPECT_THAT(db->Write([](SqlTx& tx) { return tx.Exec("SELECT 1").status(); }),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_OK(db->Write([](SqlTx& tx) { return tx.Exec("SELECT 1").status(); }));
}

TEST(PostgresTest, UnreachableServerIsUnavailable) {
  EXPECT_THAT(
      SqlDatabase::Open("postgresql:///nope?host=/nonexistent-diego-socket-dir&user=postgres"),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot connect")));
}

}  // namespace
}  // namespace diego::bbs
