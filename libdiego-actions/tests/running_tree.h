// Copyright 2026 The libdiego Authors.
//
// Test-only: `RunningTree` runs a transformer-built step tree on a thread of
// its own (header-only; used by tests/transformer_test.cc and
// tests/linux_e2e_test.cc). `bound` is a generous real-time bound for the
// tree to react (WaitReady, Wait), never a timing assertion. Destruction
// cancels the tree and joins.

#ifndef DIEGO_ACTIONS_TESTS_RUNNING_TREE_H_
#define DIEGO_ACTIONS_TESTS_RUNNING_TREE_H_

#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/actions/transformer.h"
#include "gtest/gtest.h"

namespace diego::actions::step_fakes {

class RunningTree {
 public:
  RunningTree(ContainerSteps steps, absl::Duration bound)
      : steps_(std::move(steps)), bound_(bound) {
    steps_.step->SetReadyCallback([this] { ready_.Notify(); });
    thread_ = std::thread([this] {
      result_ = steps_.step->Run();
      steps_.log_streamer->Flush();
      done_.Notify();
    });
  }
  ~RunningTree() {
    if (thread_.joinable()) {
      steps_.step->Cancel();
      thread_.join();
    }
  }

  bool WaitReady() { return ready_.WaitForNotificationWithTimeout(bound_); }
  bool IsReady() const { return ready_.HasBeenNotified(); }
  bool IsDone() const { return done_.HasBeenNotified(); }
  // The tree's result; fails the test when it does not finish within the bound.
  absl::Status Wait() {
    if (!done_.WaitForNotificationWithTimeout(bound_)) {
      ADD_FAILURE() << "the tree did not finish";
      steps_.step->Cancel();
    }
    thread_.join();
    return result_;
  }
  void Cancel() { steps_.step->Cancel(); }

 private:
  ContainerSteps steps_;
  const absl::Duration bound_;
  absl::Notification ready_;
  absl::Notification done_;
  absl::Status result_;
  std::thread thread_;
};

}  // namespace diego::actions::step_fakes

#endif  // DIEGO_ACTIONS_TESTS_RUNNING_TREE_H_
