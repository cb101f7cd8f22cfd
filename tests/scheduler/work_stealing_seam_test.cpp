// The scheduler's public seam (work_stealing.hpp) on a bare CAF actor system, without a runtime:
// the layers above install, read and watch the scheduler through it alone.

#include <chrono>
#include <latch>
#include <memory>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "troupe/scheduler/work_stealing.hpp"

using namespace std::chrono_literals;

namespace {

caf::actor_system_config two_workers() {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  return cfg;
}

TEST(WorkStealingSeam, InstalledIntoABareActorSystemItRunsItsActorsAndCountsThem) {
  auto cfg = two_workers();
  troupe::work_stealing::install(cfg);
  caf::actor_system sys{cfg};
  ASSERT_TRUE(troupe::work_stealing::runs_in(sys));
  auto echo = sys.spawn([]() -> caf::behavior { return {[](int x) { return x * 2; }}; });
  caf::scoped_actor self{sys};
  for (int i = 0; i < 10; ++i)
    self->request(echo, 5s, i)
        .receive([i](int x) { EXPECT_EQ(x, 2 * i); },
                 [](caf::error& e) { FAIL() << to_string(e); });
  troupe::scheduler_metrics m;
  ASSERT_TRUE(troupe::work_stealing::collect(sys, m));
  ASSERT_EQ(m.per_worker.size(), 2u);
  EXPECT_EQ(m.total.id, 2u);
  // The echo actor ran on the scheduler's workers (how many resumes its ten requests took
  // depends on where each reply found it), and the total adds the workers up.
  EXPECT_GE(m.total.resumes, 1u);
  EXPECT_EQ(m.per_worker[0].resumes + m.per_worker[1].resumes, m.total.resumes);
  self->send_exit(echo, caf::exit_reason::user_shutdown);
}

TEST(WorkStealingSeam, CafsOwnSchedulerIsNeitherReadNorWatched) {
  auto cfg = two_workers();
  caf::actor_system sys{cfg};
  EXPECT_FALSE(troupe::work_stealing::runs_in(sys));
  troupe::scheduler_metrics m;
  m.injection_queue_depth = 7;
  EXPECT_FALSE(troupe::work_stealing::collect(sys, m));
  EXPECT_TRUE(m.per_worker.empty());
  EXPECT_EQ(m.injection_queue_depth, 7u); // left alone
  EXPECT_EQ(troupe::work_stealing::blocked_worker_watchdog::start(sys, 10ms, {}), nullptr);
}

TEST(WorkStealingSeam, TheWatchdogTellsItsOwnerBeforeTheUsersHook) {
  auto cfg = two_workers();
  troupe::work_stealing::install(cfg);
  caf::actor_system sys{cfg};
  std::vector<std::string> order;
  std::mutex mtx;
  std::latch told{1};
  auto watchdog = troupe::work_stealing::blocked_worker_watchdog::start(
      sys, 20ms, [&](const troupe::blocked_worker_report&) {
        std::lock_guard guard{mtx};
        order.emplace_back("owner");
      });
  ASSERT_NE(watchdog, nullptr);
  watchdog->set_hook([&](const troupe::blocked_worker_report& report) {
    std::lock_guard guard{mtx};
    order.emplace_back("hook");
    EXPECT_GE(report.held_for, 20ms);
    told.count_down();
  });
  auto release = std::make_shared<std::latch>(1);
  auto blocker = sys.spawn(
      [release]() -> caf::behavior { return {[release](caf::ok_atom) { release->wait(); }}; });
  caf::anon_send(blocker, caf::ok_atom::value);
  told.wait();
  release->count_down();
  watchdog.reset(); // no callback after this
  std::lock_guard guard{mtx};
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], "owner");
  EXPECT_EQ(order[1], "hook");
  caf::anon_send_exit(blocker, caf::exit_reason::user_shutdown);
}

} // namespace
