// The guide's ctrl_c, end to end: a real SIGTERM sent to a child process running the
// graceful_shutdown example ends it cleanly — exit code 0, every produced job processed; a real
// SIGINT ends the flagship service demo mid-run with every accepted job answered.

#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/child_process.hpp"

namespace {

using troupe::test::launch;
using troupe::test::read_until;

TEST(signals, SigtermEndsTheGracefulShutdownExampleCleanlyWithNothingLost) {
  auto child = launch(TROUPE_GRACEFUL_SHUTDOWN_EXAMPLE);
  ASSERT_GT(child.pid, 0);
  // The example prints "ready" once its signal handlers are installed and its tree runs.
  auto ready = read_until(child.out, "\n");
  ASSERT_NE(ready.find("ready"), std::string::npos) << ready;
  ASSERT_EQ(::kill(child.pid, SIGTERM), 0);
  auto rest = read_until(child.out, "forced=");
  rest += read_until(child.out, "\n");
  int status = 0;
  ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
  ::close(child.out);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << rest;
  EXPECT_NE(rest.find("stopped by SIGTERM"), std::string::npos) << rest;
  EXPECT_NE(rest.find(" lost=0 "), std::string::npos) << rest;
  EXPECT_NE(rest.find("forced=0"), std::string::npos) << rest;
}

TEST(signals, SigintStopsTheServiceDemoMidRunWithEveryAcceptedJobAnswered) {
  std::string topology = ::testing::TempDir() + "service-demo-topology.json";
  std::remove(topology.c_str());
  auto child = launch(TROUPE_SERVICE_DEMO, {"run-for=600000", "topology-out=" + topology});
  ASSERT_GT(child.pid, 0);
  // The first progress line: jobs flow, workers crash and restart.
  auto running = read_until(child.out, "worker restarts");
  ASSERT_NE(running.find("accepted"), std::string::npos) << running;
  ASSERT_EQ(::kill(child.pid, SIGINT), 0);
  auto rest = read_until(child.out, "exactly once");
  rest += read_until(child.out, "\n");
  int status = 0;
  ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
  ::close(child.out);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << rest;
  EXPECT_NE(rest.find("stopping (SIGINT)"), std::string::npos) << rest;
  EXPECT_NE(rest.find(", lost 0\n"), std::string::npos) << rest;
  EXPECT_NE(rest.find("duplicates 0, lagged 0"), std::string::npos) << rest;
  // The topology it wrote shows the service tree with the pool under it.
  std::ifstream in{topology};
  ASSERT_TRUE(in.good()) << topology;
  auto dump = nlohmann::json::parse(in);
  ASSERT_EQ(dump.at("supervision").size(), 1u);
  auto& service = dump.at("supervision")[0];
  EXPECT_EQ(service.at("name"), "service");
  std::vector<std::string> ids;
  for (auto& c : service.at("children"))
    ids.push_back(c.at("id"));
  EXPECT_EQ(ids, (std::vector<std::string>{"stats", "sink", "workers", "intake"}));
  EXPECT_EQ(service.at("children")[2].at("actor").at("kind"), "supervisor");
  EXPECT_EQ(dump.at("topics")[0].at("name"), "results");
  EXPECT_EQ(dump.at("topics")[0].at("subscribers"), 2);
}

} // namespace

namespace {

// Nothing fails silently: a topology that cannot be written is reported, not announced as
// written, and the demo exits non-zero.
TEST(signals, TheServiceDemoReportsATopologyItCouldNotWriteAndFails) {
  auto child = troupe::test::launch(TROUPE_SERVICE_DEMO,
                                    {"run-for=300", "topology-out=/nonexistent/dir/t.json"});
  ASSERT_GT(child.pid, 0);
  auto out = troupe::test::read_until(child.out, "\x04"); // to the end of its output
  int status = 0;
  ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
  ::close(child.out);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_NE(WEXITSTATUS(status), 0) << out;
  EXPECT_NE(out.find("topology NOT written"), std::string::npos) << out;
  EXPECT_NE(out.find("io_failed"), std::string::npos) << out;
  EXPECT_EQ(out.find("topology written to"), std::string::npos) << out;
}

} // namespace
