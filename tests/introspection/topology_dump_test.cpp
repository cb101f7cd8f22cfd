// A topology dump that cannot be written is reported: a typed error from dump_topology(), and
// for SIGUSR1 (nobody waits for it) a counted failure and a line on stderr.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

namespace {

troupe::runtime_config config_with(std::string file, bool signals) {
  auto cfg = troupe::test::runtime_fixture::default_config();
  cfg.topology_file = std::move(file);
  cfg.handle_signals = signals;
  return cfg;
}

TEST(topology_dump, AnUnwritablePathIsATypedErrorNamingPathAndStep) {
  troupe::runtime rt{config_with("/nonexistent/dir/t.json", false)};
  auto err = rt.dump_topology();
  ASSERT_TRUE(err);
  EXPECT_EQ(err, troupe::runtime_errc::io_failed);
  auto text = troupe::render(err);
  EXPECT_NE(text.find("/nonexistent/dir/t.json"), std::string::npos) << text;
  EXPECT_NE(text.find("open"), std::string::npos) << text;
  EXPECT_NE(text.find("No such file or directory"), std::string::npos) << text;
}

TEST(topology_dump, AWrittenDumpIsCompleteJsonAndLeavesNoTemporaryFile) {
  auto path = ::testing::TempDir() + "troupe-topology-dump.json";
  std::remove(path.c_str());
  troupe::runtime rt{config_with(path, false)};
  ASSERT_FALSE(rt.dump_topology());
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  auto json = nlohmann::json::parse(text.str(), nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << text.str();
  EXPECT_TRUE(json.contains("runtime"));
  EXPECT_FALSE(std::ifstream{path + ".tmp"}.good());
  std::remove(path.c_str());
}

TEST(topology_dump, AFailedSigusr1DumpIsCountedNotLost) {
  troupe::runtime rt{config_with("/nonexistent/dir/t.json", true)};
  EXPECT_EQ(rt.topology_dump_failures(), 0u);
  ASSERT_EQ(std::raise(SIGUSR1), 0);
  EXPECT_TRUE(troupe::test::eventually([&] { return rt.topology_dump_failures() == 1u; }));
}

TEST(file_write, AFailedRenameLeavesNoTemporaryFile) {
  // The target is a directory: the temporary file is written, the rename fails.
  auto dir = ::testing::TempDir() + "troupe-file-write-dir";
  std::remove(dir.c_str());
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  auto err = troupe::write_file_atomically(dir, "x");
  ASSERT_TRUE(err);
  EXPECT_NE(troupe::render(err).find("rename"), std::string::npos) << troupe::render(err);
  EXPECT_FALSE(std::ifstream{dir + ".tmp"}.good());
  ::rmdir(dir.c_str());
}

} // namespace
