// Copyright 2026 The libdiego Authors.

#include "diego/testing/sample_models.h"

#include "diego/model/validation.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::fakes {
namespace {

TEST(SampleDesiredLrpTest, IsValidAndCarriesTheGuidAndInstances) {
  const model::v1::DesiredLRP lrp = SampleDesiredLrp("web", 3);
  EXPECT_OK(model::ValidateDesiredLrp(lrp));
  EXPECT_EQ(lrp.process_guid(), "web");
  EXPECT_EQ(lrp.instances(), 3);
  EXPECT_EQ(lrp.domain(), "cf-apps");
  EXPECT_EQ(lrp.action().run_action().path(), "/bin/run");
}

}  // namespace
}  // namespace diego::fakes
