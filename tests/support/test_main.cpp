// GoogleTest entry point for every Troupe test binary: adds a per-test deadline, so that a
// deadlock fails the run with the test's name instead of hanging CI until its global timeout.

#include <gtest/gtest.h>

#include "support/deadline.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  listeners.Append(new troupe::test::deadline_listener{troupe::test::default_test_deadline()});
  return RUN_ALL_TESTS();
}
