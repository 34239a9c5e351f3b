// Copyright 2026 The libdiego Authors.
//
// TaskCallbackPool against real local HTTP receivers (cpp-httplib on
// 127.0.0.1) with tasks in a SqlStore on SQLite: which answers delete the
// task, which are retried, which give up; the body and headers of the POST;
// the workers bound; WaitIdle; metrics; and that URLs are never logged in
// full.

#include "diego/bbs/task_callbacks.h"

#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/bbs/events.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/errors.h"
#include "diego/model/go_json.h"
#include "diego/model/v1/task_requests.pb.h"
#include "diego/testing/child_process.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/recording_event_sink.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "diego/testing/test_pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_databases.h"

namespace diego::bbs {
namespace {

using ::diego::fakes::FakeClock;
using ::diego::fakes::StatusIs;
using ::diego::fakes::TestLogger;
using ::diego::fakes::TestPki;
using model::v1::Task;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

struct Received {
  std::string target;
  std::string body;
  std::string content_type;
  std::string authorization;
};

// A completion callback receiver on 127.0.0.1:<free port>. Answers each POST
// with the next scripted status (then `default_status`), and can hold
// requests: until `Release()`, or until `n` are in flight at once (then it
// lets every request through).
class CallbackReceiver {
 public:
  // Plain HTTP, or HTTPS with this certificate and key.
  explicit CallbackReceiver(const std::string& cert_file = "", const std::string& key_file = "")
      : tls_(!cert_file.empty()),
        server_(tls_ ? std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str())
                     : std::make_unique<httplib::Server>()) {
    server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      int status;
      {
        absl::MutexLock lock(&mu_);
        received_.push_back({req.target, req.body, req.get_header_value("Content-Type"),
                             req.get_header_value("Authorization")});
        status = script_.empty() ? default_status_ : script_.front();
        if (!script_.empty()) script_.erase(script_.begin());
        max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
        if (open_at_ > 0 && in_flight_ >= open_at_) open_ = true;
        mu_.AwaitWithTimeout(absl::Condition(&open_), absl::Seconds(60));
        --in_flight_;
      }
      res.status = status;
      res.set_content("", "text/plain");
    });
    server_->set_tcp_nodelay(true);
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::yield();
  }

  ~CallbackReceiver() { Stop(); }

  // Lets held requests finish, then stops the server.
  void Stop() {
    Release();
    if (thread_.joinable()) {
      server_->stop();
      thread_.join();
    }
  }

  std::string url(absl::string_view path = "/tasks/done") const {
    return absl::StrCat(tls_ ? "https" : "http", "://127.0.0.1:", port_, path);
  }
  int port() const { return port_; }

  void Script(std::vector<int> statuses) {
    absl::MutexLock lock(&mu_);
    script_ = std::move(statuses);
  }
  void SetDefault(int status) {
    absl::MutexLock lock(&mu_);
    default_status_ = status;
  }
  // Requests wait until `Release()`.
  void Hold() {
    absl::MutexLock lock(&mu_);
    open_ = false;
  }
  // Requests wait until `n` are in flight at once.
  void HoldUntilInFlight(int n) {
    absl::MutexLock lock(&mu_);
    open_ = false;
    open_at_ = n;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }

  std::vector<Received> received() const {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  int max_in_flight() const {
    absl::MutexLock lock(&mu_);
    return max_in_flight_;
  }
  // Blocks (bounded) until `n` requests arrived.
  bool AwaitReceived(size_t n) const {
    absl::MutexLock lock(&mu_);
    auto arrived = [this, n]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return received_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&arrived), absl::Seconds(30));
  }

 private:
  const bool tls_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
  std::vector<int> script_ ABSL_GUARDED_BY(mu_);
  int default_status_ ABSL_GUARDED_BY(mu_) = 200;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  int open_at_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

class TaskCallbacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(database_, testing::OpenTestDatabase(SqlEngine::kSqlite));
    store_ = std::make_unique<SqlStore>(database_.db.get(), &sink_, &clock_);
  }

  static TaskCallbackPool::Options FastOptions() {
    TaskCallbackPool::Options options;
    options.request_timeout = absl::Seconds(10);
    return options;
  }

  // A task completed on cell-1 whose callback goes to `url`.
  Task CompletedTask(const std::string& guid, const std::string& url) {
    model::v1::TaskDefinition definition;
    definition.set_root_fs("preloaded:cflinuxfs4");
    definition.set_annotation("note for " + guid);
    definition.set_completion_callback_url(url);
    model::v1::RunAction* run = definition.mutable_action()->mutable_run_action();
    run->set_path("/bin/task");
    run->set_user("vcap");
    EXPECT_OK(store_->DesireTask(definition, guid, "tasks").status());
    EXPECT_OK(store_->StartTask(guid, "cell-1").status());
    absl::StatusOr<TaskChange> done =
        store_->CompleteTask(guid, "cell-1", true, "exit status 1 <&>", "out");
    EXPECT_OK(done.status());
    sink_.Take();
    return done.ok() ? done->after : Task();
  }

  // The stored task's state, or Invalid when it is gone.
  Task::State StateOf(const std::string& guid) {
    absl::StatusOr<Task> task = store_->TaskByGuid(guid);
    if (!task.ok()) {
      EXPECT_THAT(task.status(), StatusIs(model::ErrResourceNotFound().code()));
      return Task::Invalid;
    }
    return task->state();
  }

  std::vector<std::string> EventTypes() {
    std::vector<std::string> types;
    for (const BbsEvent& event : sink_.Take()) types.push_back(event.type);
    return types;
  }

  FakeClock clock_;
  TestLogger log_{"bbs", &clock_};
  testing::TestDatabase database_;
  fakes::RecordingEventSink sink_;
  std::unique_ptr<SqlStore> store_;
};

TEST_F(TaskCallbacksTest, A200DeletesTheTaskAfterPostingTheCallbackResponse) {
  CallbackReceiver receiver;
  TaskCallbackPool pool(store_.get(), *log_.logger(), FastOptions());
  const Task task = CompletedTask("t1", receiver.url());
  pool.TaskCompleted(task);
  pool.WaitIdle();

  EXPECT_EQ(StateOf("t1"), Task::Invalid);
  EXPECT_THAT(EventTypes(), ::testing::ElementsAre("task_changed", "task_removed"));
  std::vector<Received> received = receiver.received();
  ASSERT_THAT(received, SizeIs(1));
  EXPECT_EQ(received[0].target, "/tasks/done");
  EXPECT_EQ(received[0].content_type, "application/json");
  // Go's json.Marshal of models.TaskCallbackResponse: field order, HTML
  // escapes, created_at as a number.
  EXPECT_EQ(received[0].body,
            absl::StrCat(R"({"task_guid":"t1","failed":true,)",
                         R"("failure_reason":"exit status 1 \u003c\u0026\u003e","result":"out",)",
                         R"("annotation":"note for t1","created_at":)", task.created_at(), "}"));
  ASSERT_OK_AND_ASSIGN(model::v1::TaskCallbackResponse decoded,
                       model::ParseGoJson<model::v1::TaskCallbackResponse>(received[0].body));
  EXPECT_EQ(decoded.task_guid(), "t1");
  EXPECT_TRUE(decoded.failed());
  EXPECT_EQ(decoded.failure_reason(), "exit status 1 <&>");
  EXPECT_EQ(decoded.result(), "out");
  EXPECT_EQ(decoded.annotation(), "note for t1");
  EXPECT_EQ(decoded.created_at(), task.created_at());

  TaskCallbackMetrics m = pool.metrics();
  EXPECT_EQ(m.submitted, 1);
  EXPECT_EQ(m.delivered, 1);
  EXPECT_EQ(m.failed, 0);
  EXPECT_EQ(m.queued, 0);
  EXPECT_EQ(m.running, 0);
}

TEST_F(TaskCallbacksTest, AnyAnswerOtherThan503Or504DeletesTheTask) {
  CallbackReceiver receiver;
  receiver.Script({404, 500, 201});
  TaskCallbackPool pool(store_.get(), *log_.logger(), FastOptions());
  for (const char* guid : {"a", "b", "c"}) {
    pool.TaskCompleted(CompletedTask(guid, receiver.url()));
    pool.WaitIdle();
  }
  EXPECT_THAT(receiver.received(), SizeIs(3));
  EXPECT_EQ(StateOf("a"), Task::Invalid);
  EXPECT_EQ(StateOf("b"), Task::Invalid);
  EXPECT_EQ(StateOf("c"), Task::Invalid);
  EXPECT_EQ(pool.metrics().delivered, 3);
}

TEST_F(TaskCallbacksTest, AUrlWithoutAPathPostsToTheRoot) {
  CallbackReceiver receiver;
  TaskCallbackPool pool(store_.get(), *log_.logger(), FastOptions());
  pool.TaskCompleted(CompletedTask("a", receiver.url("")));
  pool.TaskCompleted(CompletedTask("b", receiver.url("?only=query#fragment")));
  pool.WaitIdle();
  std::vector<std::string> targets;
  for (const Received& r : receiver.received()) targets.push_back(r.target);
  EXPECT_THAT(targets, ::testing::UnorderedElementsAre("/", "/?only=query"));
  EXPECT_EQ(pool.metrics().delivered, 2);
}

TEST_F(TaskCallbacksTest, HttpsCallbacksVerifyTheReceiver) {
  const std::string dir =
      ::testing::TempDir() + "/bbs_task_callbacks_tls_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  TestPki pki(dir);
  ASSERT_TRUE(pki.Make("ca", "", /*is_ca=*/true, /*server=*/false));
  ASSERT_TRUE(pki.Make("receiver", "ca", false, true));
  CallbackReceiver receiver(pki.Cert("receiver"), pki.Key("receiver"));
  ASSERT_THAT(receiver.url(), ::testing::StartsWith("https://"));

  // Trusting the test CA: delivered.
  TaskCallbackPool::Options options = FastOptions();
  options.ca_file = pki.Cert("ca");
  TaskCallbackPool trusting(store_.get(), *log_.logger(), options);
  trusting.TaskCompleted(CompletedTask("t1", receiver.url()));
  trusting.WaitIdle();
  EXPECT_EQ(StateOf("t1"), Task::Invalid);
  ASSERT_THAT(receiver.received(), SizeIs(1));
  EXPECT_EQ(receiver.received()[0].content_type, "application/json");

  // The system store does not know the test CA: the handshake fails, which
  // is not retried.
  TaskCallbackPool system(store_.get(), *log_.logger(), FastOptions());
  system.TaskCompleted(CompletedTask("t2", receiver.url()));
  system.WaitIdle();
  EXPECT_EQ(StateOf("t2"), Task::Resolving);
  EXPECT_THAT(receiver.received(), SizeIs(1));
  EXPECT_TRUE(log_.Contains("doing-request-failed"));
  EXPECT_EQ(system.metrics().failed, 1);
  std::filesystem::remove_all(dir);
}

TEST_F(TaskCallbacksTest, A503Or504IsRetriedThenTheTaskDeleted) {
  CallbackReceiver receiver;
  receiver.Script({503, 504, 200});
  TaskCallbackPool pool(store_.get(), *log_.logger(), FastOptions());
  pool.TaskCompleted(CompletedTask("t1", receiver.url()));
  pool.WaitIdle();
  EXPECT_THAT(receiver.received(), SizeIs(3));
  EXPECT_EQ(StateOf("t1"), Task::Invalid);
  EXPECT_EQ(pool.metrics().delivered, 1);
  EXPECT_EQ(pool.metrics().failed, 0);
}

TEST_F(TaskCallbacksTest, Persistent503sGiveUpAfterMaxAttemptsLeavingTheTaskResolving) {
  CallbackReceiver receiver;
  receiver.SetDefault(503);
  TaskCallbackPool pool(store_.get(), *log_.logger(), FastOptions());
  pool.TaskCompleted(CompletedTask("t1", receiver.url()));
  pool.WaitIdle();
  EXPECT_THAT(receiver.received(), SizeIs(3));
  EXPECT_EQ(StateOf("t1"), Task::Resolving);
  EXPECT_THAT(EventTypes(), ::testing::ElementsAre("task_changed"));
  EXPECT_TRUE(log_.Contains("callback-failed"));
  EXPECT_EQ(pool.metrics().failed, 1);
  EXPECT_EQ(pool.metrics().delivered, 0);

  TaskCallbackPool::Options two = FastOptions();
  two.max_attempts = 2;
  TaskCallbackPool short_pool(store_.get(), *log_.logger(), two);
  short_pool.TaskCompleted(CompletedTask("t2", receiver.url()));
  short_pool.WaitIdle();
  EXPECT_THAT(receiver.received(), SizeIs(5));
}

TEST_F(TaskCallbacksTest, AHangingReceiverTimesOutOnEveryAttemptThenGivesUp) {
  CallbackReceiver receiver;
  receiver.Hold();
  TaskCallbackPool::Options options = FastOptions();
  options.request_timeout = absl::Milliseconds(300);
  TaskCallbackPool pool(store_.get(), *log_.logger(), options);
  pool.TaskCompleted(CompletedTask("t1", receiver.url()));
  pool.WaitIdle();
  EXPECT_THAT(receiver.received(), SizeIs(3));
  EXPECT_EQ(StateOf("t1"), Task::Resolving);
  EXPECT_TRUE(log_.Contains("retrying-callback"));
  EXPECT_TRUE(log_.Contains("callback-failed"));
  EXPECT_EQ(pool.metrics().failed, 1);
  receiver.Stop();
}

TEST_F(TaskCallbacksTest, ConnectionRefusedGivesUpAtOnce) {
  std::string url;
  {
    CallbackReceiver gone;
    url = gone.url();
  }
  TaskCallbackPool pool(store_.get(), *log_.logger(), FastOptions());
  pool.TaskCompleted(CompletedTask("t1", url));
  pool.WaitIdle();
  EXPECT_EQ(StateOf("t1"), Task::Resolving);
  EXPECT_TRUE(log_.Contains("doing-request-failed"));
  EXPECT_FALSE(log_.Contains("retrying-callback"));
  EXPECT_EQ(pool.metrics().failed, 1);
}

TEST_F(TaskCallbacksTest, AnUnparsableUrlGivesUpAtOnce) {
  TaskCallbackPool pool(store_.get(), *log_.logger(), FastOptions());
  pool.TaskCompleted(CompletedTask("t1", "ftp://files.example.com/done"));
  pool.TaskCompleted(CompletedTask("t2", "http://127.0.0.1:99999/done"));
  pool.TaskCompleted(CompletedTask("t3", "http://127.0.0.1:1/done\r\nX-Injected: yes"));
  pool.WaitIdle();
  EXPECT_EQ(StateOf("t1"), Task::Resolving);
  EXPECT_EQ(StateOf("t2"), Task::Resolving);
  EXPECT_EQ(StateOf("t3"), Task::Resolving);
  EXPECT_TRUE(log_.Contains("building-request-failed"));
  EXPECT_EQ(pool.metrics().failed, 3);
}

TEST_F(TaskCallbacksTest, ATaskAlreadyResolvingIsNotPosted) {
  CallbackReceiver receiver;
  TaskCallbackPool pool(store_.get(), *log_.logger(), FastOptions());
  const Task task = CompletedTask("t1", receiver.url());
  ASSERT_OK(store_->ResolvingTask("t1").status());
  pool.TaskCompleted(task);
  pool.WaitIdle();
  EXPECT_THAT(receiver.received(), IsEmpty());
  EXPECT_EQ(StateOf("t1"), Task::Resolving);
  EXPECT_TRUE(log_.Contains("marking-task-as-resolving-failed"));
  EXPECT_EQ(pool.metrics().submitted, 1);
  EXPECT_EQ(pool.metrics().delivered, 0);
}

TEST_F(TaskCallbacksTest, TasksWithoutACallbackUrlAreIgnored) {
  TaskCallbackPool pool(store_.get(), *log_.logger(), FastOptions());
  pool.WaitIdle();  // Nothing to wait for.
  const Task task = CompletedTask("t1", "");
  pool.TaskCompleted(task);
  pool.WaitIdle();
  EXPECT_EQ(StateOf("t1"), Task::Completed);
  EXPECT_EQ(pool.metrics().submitted, 0);
}

TEST_F(TaskCallbacksTest, AtMostWorkersCallbacksRunAtOnce) {
  CallbackReceiver receiver;
  receiver.HoldUntilInFlight(2);
  TaskCallbackPool::Options options = FastOptions();
  options.workers = 2;
  TaskCallbackPool pool(store_.get(), *log_.logger(), options);
  std::vector<Task> tasks;
  for (int i = 0; i < 6; ++i) tasks.push_back(CompletedTask(absl::StrCat("t", i), receiver.url()));
  for (const Task& task : tasks) pool.TaskCompleted(task);
  pool.WaitIdle();
  EXPECT_THAT(receiver.received(), SizeIs(6));
  EXPECT_EQ(receiver.max_in_flight(), 2);
  for (const Task& task : tasks) EXPECT_EQ(StateOf(task.task_guid()), Task::Invalid);
  EXPECT_EQ(pool.metrics().delivered, 6);
}

TEST_F(TaskCallbacksTest, ATaskAlreadyInHandIsNotQueuedAgain) {
  CallbackReceiver receiver;
  receiver.Hold();
  TaskCallbackPool::Options options = FastOptions();
  options.workers = 1;
  TaskCallbackPool pool(store_.get(), *log_.logger(), options);
  const Task a = CompletedTask("a", receiver.url());
  const Task b = CompletedTask("b", receiver.url());
  pool.TaskCompleted(a);
  ASSERT_TRUE(receiver.AwaitReceived(1));  // "a" is on the worker.
  pool.TaskCompleted(b);
  // Convergence resubmits both on its next pass: neither is queued again.
  pool.TaskCompleted(a);
  pool.TaskCompleted(b);
  TaskCallbackMetrics m = pool.metrics();
  EXPECT_EQ(m.submitted, 2);
  EXPECT_EQ(m.queued, 1);
  EXPECT_EQ(m.running, 1);
  receiver.Release();
  pool.WaitIdle();
  EXPECT_THAT(receiver.received(), SizeIs(2));
  EXPECT_EQ(pool.metrics().delivered, 2);
  // Once handled, the guid may come again (a new task with the same guid).
  pool.TaskCompleted(CompletedTask("a", receiver.url()));
  pool.WaitIdle();
  EXPECT_EQ(pool.metrics().submitted, 3);
  EXPECT_EQ(pool.metrics().delivered, 3);
}

TEST_F(TaskCallbacksTest, QueuedAndRunningAreCountedAndTheDestructorDropsTheQueue) {
  CallbackReceiver receiver;
  receiver.Hold();
  TaskCallbackPool::Options options = FastOptions();
  options.workers = 1;
  auto pool = std::make_unique<TaskCallbackPool>(store_.get(), *log_.logger(), options);
  for (const char* guid : {"a", "b", "c"}) pool->TaskCompleted(CompletedTask(guid, receiver.url()));
  ASSERT_TRUE(receiver.AwaitReceived(1));
  TaskCallbackMetrics m = pool->metrics();
  EXPECT_EQ(m.submitted, 3);
  EXPECT_EQ(m.running, 1);
  EXPECT_EQ(m.queued, 2);

  // The destructor waits for the running callback and drops the others.
  // Release the running one only once the queue is dropped ("stopping" is
  // logged then), or the worker could take "b" first.
  std::thread destroy([&] { pool.reset(); });
  ASSERT_TRUE(::diego::fakes::PollUntil(
      [&] { return log_.Contains("bbs.task-completion-workpool.stopping"); }, absl::Seconds(10)));
  receiver.Release();
  destroy.join();
  EXPECT_THAT(receiver.received(), SizeIs(1));
  EXPECT_EQ(StateOf("a"), Task::Invalid);
  EXPECT_EQ(StateOf("b"), Task::Completed);
  EXPECT_EQ(StateOf("c"), Task::Completed);
}

TEST_F(TaskCallbacksTest, CredentialsAndPathsNeverReachTheLogs) {
  CallbackReceiver receiver;
  receiver.SetDefault(503);
  const std::string url = absl::StrCat("http://internal-user:s3cr%40t@127.0.0.1:", receiver.port(),
                                       "/internal/v3/tasks/t1/completed?token=hush");
  TaskCallbackPool pool(store_.get(), *log_.logger(), FastOptions());
  pool.TaskCompleted(CompletedTask("t1", url));
  pool.WaitIdle();

  std::vector<Received> received = receiver.received();
  ASSERT_THAT(received, SizeIs(3));
  EXPECT_EQ(received[0].target, "/internal/v3/tasks/t1/completed?token=hush");
  // Basic auth from the user info, percent-decoded: "internal-user:s3cr@t".
  EXPECT_EQ(received[0].authorization, "Basic aW50ZXJuYWwtdXNlcjpzM2NyQHQ=");

  const std::vector<std::string> lines = log_.Lines();
  ASSERT_THAT(lines, Not(IsEmpty()));
  for (const std::string& line : lines) {
    EXPECT_THAT(line, Not(HasSubstr("s3cr"))) << line;
    EXPECT_THAT(line, Not(HasSubstr("internal-user"))) << line;
    EXPECT_THAT(line, Not(HasSubstr("/internal/v3"))) << line;
    EXPECT_THAT(line, Not(HasSubstr("hush"))) << line;
  }
  EXPECT_THAT(lines, Contains(HasSubstr(absl::StrCat("http://127.0.0.1:", receiver.port()))));
  EXPECT_THAT(lines, Contains(HasSubstr("\"task_guid\":\"t1\"")));
}

}  // namespace
}  // namespace diego::bbs
