#include <string>

#include <gtest/gtest.h>

#include "troupe/troupe.hpp"

namespace {

TEST(Version, LibraryVersionEqualsTheHeadersVersion) {
  EXPECT_STREQ(troupe::version(), TROUPE_VERSION_STRING);
}

TEST(Version, StringIsMajorDotMinorDotPatch) {
  auto expected = std::to_string(TROUPE_VERSION_MAJOR) + '.' +
                  std::to_string(TROUPE_VERSION_MINOR) + '.' + std::to_string(TROUPE_VERSION_PATCH);
  EXPECT_EQ(expected, TROUPE_VERSION_STRING);
}

TEST(Version, NumberOrdersLikeTheVersion) {
  static_assert(TROUPE_VERSION_NUMBER ==
                TROUPE_VERSION_MAJOR * 10000 + TROUPE_VERSION_MINOR * 100 + TROUPE_VERSION_PATCH);
  static_assert(TROUPE_VERSION_MINOR < 100 && TROUPE_VERSION_PATCH < 100);
  EXPECT_GT(TROUPE_VERSION_NUMBER, 0);
}

TEST(Version, TopologyReportsTheLibraryVersion) {
  troupe::runtime_config cfg;
  cfg.workers = 1;
  troupe::runtime rt{cfg};
  EXPECT_EQ(rt.topology().at("runtime").at("troupe_version"), troupe::version());
  EXPECT_TRUE(rt.shutdown().clean());
}

} // namespace
