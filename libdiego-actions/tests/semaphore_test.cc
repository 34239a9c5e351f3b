// Copyright 2026 The libdiego Authors.

#include "diego/actions/semaphore.h"

#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "diego/testing/child_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::actions {
namespace {

using ::diego::fakes::PollUntil;

TEST(SemaphoreTest, GrantsUpToPermitsAtOnce) {
  Semaphore sem(2);
  EXPECT_EQ(sem.permits(), 2);
  EXPECT_TRUE(sem.Acquire(nullptr));
  EXPECT_TRUE(sem.Acquire(nullptr));
  EXPECT_EQ(sem.in_use(), 2);
  sem.Release();
  EXPECT_EQ(sem.in_use(), 1);
  EXPECT_TRUE(sem.Acquire(nullptr));
  sem.Release();
  sem.Release();
  EXPECT_EQ(sem.in_use(), 0);
}

TEST(SemaphoreTest, AlreadyCancelledTakesNothing) {
  Semaphore sem(1);
  absl::Notification cancel;
  cancel.Notify();
  EXPECT_FALSE(sem.Acquire(&cancel));
  EXPECT_EQ(sem.in_use(), 0);
}

TEST(SemaphoreTest, CancelWhileWaitingReturnsFalse) {
  Semaphore sem(1);
  ASSERT_TRUE(sem.Acquire(nullptr));
  absl::Notification cancel;
  bool got = true;
  std::thread waiter([&] { got = sem.Acquire(&cancel); });
  ASSERT_TRUE(PollUntil([&] { return sem.waiting() == 1; }, absl::Seconds(10)));
  cancel.Notify();
  waiter.join();
  EXPECT_FALSE(got);
  EXPECT_EQ(sem.waiting(), 0);
  EXPECT_EQ(sem.in_use(), 1);
  sem.Release();
  // The abandoned ticket does not block later waiters.
  EXPECT_TRUE(sem.Acquire(nullptr));
  sem.Release();
}

TEST(SemaphoreTest, WaitersAreServedInArrivalOrder) {
  Semaphore sem(1);
  ASSERT_TRUE(sem.Acquire(nullptr));
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      ASSERT_TRUE(sem.Acquire(nullptr));
      {
        absl::MutexLock lock(&mu);
        order.push_back(i);
      }
      sem.Release();
    });
    // Wait until this waiter has its ticket before starting the next one.
    ASSERT_TRUE(PollUntil([&] { return sem.waiting() == i + 1; }, absl::Seconds(10)));
  }
  sem.Release();
  for (auto& t : threads) t.join();
  EXPECT_THAT(order, ::testing::ElementsAre(0, 1, 2, 3));
}

TEST(SemaphoreTest, ManyThreadsNeverExceedPermits) {
  Semaphore sem(3);
  absl::Mutex mu;
  int current = 0, peak = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 50; ++j) {
        ASSERT_TRUE(sem.Acquire(nullptr));
        {
          absl::MutexLock lock(&mu);
          ++current;
          peak = std::max(peak, current);
        }
        {
          absl::MutexLock lock(&mu);
          --current;
        }
        sem.Release();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak, 3);
  EXPECT_GE(peak, 1);
  EXPECT_EQ(sem.in_use(), 0);
}

}  // namespace
}  // namespace diego::actions
