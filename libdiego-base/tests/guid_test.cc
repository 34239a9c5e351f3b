#include "diego/base/guid.h"

#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/random/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego {
namespace {

using ::testing::MatchesRegex;
using ::testing::SizeIs;

constexpr char kV4Pattern[] = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

// A 64-bit URBG that always returns the same value, to pin down exact output.
class ConstantBits {
 public:
  using result_type = uint64_t;
  explicit ConstantBits(uint64_t value) : value_(value) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<uint64_t>::max(); }
  result_type operator()() { return value_; }

 private:
  uint64_t value_;
};

TEST(GuidTest, IsALowercaseVersion4Uuid) {
  for (int i = 0; i < 100; ++i) {
    const std::string guid = GenerateGuid();
    EXPECT_THAT(guid, SizeIs(36));
    EXPECT_THAT(guid, MatchesRegex(kV4Pattern));
  }
}

TEST(GuidTest, SetsVersionAndVariantBitsWhateverTheRandomBits) {
  ConstantBits zeros(0);
  EXPECT_EQ(GenerateGuid(zeros), "00000000-0000-4000-8000-000000000000");
  ConstantBits ones(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(GenerateGuid(ones), "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

TEST(GuidTest, LaysOutTheDrawsInOrder) {
  ConstantBits bits(0x0123456789abcdef);
  // The first draw fills the first three groups (its "0cdef" nibble becomes the
  // version '4'); the second fills the rest (its leading "01" bits become the
  // variant "10", turning 0x0123 into 0x8123).
  EXPECT_EQ(GenerateGuid(bits), "01234567-89ab-4def-8123-456789abcdef");
}

TEST(GuidTest, IsDeterministicForASeededGenerator) {
  std::mt19937_64 first(42);
  std::mt19937_64 second(42);
  std::vector<std::string> a;
  std::vector<std::string> b;
  for (int i = 0; i < 5; ++i) {
    a.push_back(GenerateGuid(first));
    b.push_back(GenerateGuid(second));
  }
  EXPECT_EQ(a, b);
  EXPECT_THAT(a[0], MatchesRegex(kV4Pattern));
  EXPECT_NE(a[0], a[1]);

  std::mt19937_64 other(43);
  EXPECT_NE(GenerateGuid(other), a[0]);
}

TEST(GuidTest, AcceptsAbslGenerators) {
  absl::InsecureBitGen gen;
  EXPECT_THAT(GenerateGuid(gen), MatchesRegex(kV4Pattern));
}

TEST(GuidTest, IsUniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1000;
  std::vector<std::vector<std::string>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&results, t] {
      for (int i = 0; i < kPerThread; ++i) {
        results[t].push_back(GenerateGuid());
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  std::set<std::string> all;
  for (const std::vector<std::string>& guids : results) {
    all.insert(guids.begin(), guids.end());
  }
  EXPECT_THAT(all, SizeIs(kThreads * kPerThread));
}

}  // namespace
}  // namespace diego
