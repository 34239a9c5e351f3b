// Copyright 2026 The libdiego Authors.

#include "diego/model/modification_tag.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace diego::model {
namespace {

TEST(NewModificationTagTest, StartsAtIndexZero) {
  v1::ModificationTag tag = NewModificationTag("epoch-1");
  EXPECT_EQ(tag.epoch(), "epoch-1");
  EXPECT_EQ(tag.index(), 0u);
}

TEST(NewModificationTagTest, AcceptsAnExplicitIndex) {
  v1::ModificationTag tag = NewModificationTag("epoch-1", 7);
  EXPECT_EQ(tag.epoch(), "epoch-1");
  EXPECT_EQ(tag.index(), 7u);
}

TEST(IncrementTest, AddsOneAndKeepsTheEpoch) {
  v1::ModificationTag tag = NewModificationTag("epoch-1");
  Increment(&tag);
  Increment(&tag);
  EXPECT_EQ(tag.epoch(), "epoch-1");
  EXPECT_EQ(tag.index(), 2u);
}

TEST(IncrementTest, WrapsLikeGoUint32) {
  v1::ModificationTag tag = NewModificationTag("e", std::numeric_limits<uint32_t>::max());
  Increment(&tag);
  EXPECT_EQ(tag.index(), 0u);
}

struct SucceededByCase {
  const char* name;
  const char* a_epoch;
  uint32_t a_index;
  const char* b_epoch;
  uint32_t b_index;
  bool succeeded;
};

TEST(SucceededByTest, FollowsDiegosRules) {
  const std::vector<SucceededByCase> cases = {
      {"empty epoch on a", "", 5, "e", 1, true},
      {"empty epoch on b", "e", 5, "", 1, true},
      {"both epochs empty", "", 5, "", 1, true},
      {"different epochs, b lower index", "e1", 5, "e2", 1, true},
      {"different epochs, same index", "e1", 5, "e2", 5, true},
      {"same epoch, b higher", "e", 5, "e", 6, true},
      {"same epoch, same index", "e", 5, "e", 5, false},
      {"same epoch, b lower", "e", 6, "e", 5, false},
      {"same epoch, zero to one", "e", 0, "e", 1, true},
  };
  for (const SucceededByCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::ModificationTag a = NewModificationTag(c.a_epoch, c.a_index);
    v1::ModificationTag b = NewModificationTag(c.b_epoch, c.b_index);
    EXPECT_EQ(SucceededBy(a, b), c.succeeded);
    EXPECT_EQ(SucceededBy(&a, b), c.succeeded);
  }
}

TEST(SucceededByTest, NullTagIsAlwaysSucceeded) {
  EXPECT_TRUE(SucceededBy(nullptr, NewModificationTag("e", 0)));
  EXPECT_TRUE(SucceededBy(nullptr, v1::ModificationTag()));
}

TEST(SucceededByTest, IncrementedTagSucceedsTheOriginal) {
  v1::ModificationTag before = NewModificationTag("e", 3);
  v1::ModificationTag after = before;
  Increment(&after);
  EXPECT_TRUE(SucceededBy(before, after));
  EXPECT_FALSE(SucceededBy(after, before));
}

}  // namespace
}  // namespace diego::model
