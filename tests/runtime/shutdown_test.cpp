#include <latch>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "troupe/runtime/runtime.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

runtime_config two_workers() {
  runtime_config cfg;
  cfg.workers = 2;
  cfg.blocking_threads = 2;
  return cfg;
}

caf::behavior idle_server() {
  return {[](int x) { return x; }};
}

// Traps exits and ignores the stop request, as a misbehaving actor would.
class stubborn_actor : public caf::event_based_actor {
public:
  explicit stubborn_actor(caf::actor_config& cfg) : caf::event_based_actor(cfg) {
    set_exit_handler([](caf::exit_msg&) {});
  }
  const char* name() const override { return "stubborn_actor"; }
  caf::behavior make_behavior() override {
    return {[](int x) { return x; }};
  }
};

} // namespace

TEST(RuntimeShutdown, CooperativeActorsStopWithUserShutdownAndReportIsClean) {
  runtime rt{two_workers()};
  caf::scoped_actor self{rt.system()};
  std::vector<caf::actor> actors;
  for (int i = 0; i < 10; ++i) {
    actors.push_back(rt.spawn(idle_server));
    self->monitor(actors.back());
  }
  auto report = rt.shutdown(5s);
  EXPECT_TRUE(report.clean());
  EXPECT_TRUE(report.forced.empty());
  int downs = 0;
  self->receive_for(downs, 10)(
      [](caf::down_msg& dm) { EXPECT_EQ(dm.reason, caf::exit_reason::user_shutdown); });
  EXPECT_EQ(rt.metrics().spawned_actors, 0u);
}

TEST(RuntimeShutdown, ActorIgnoringTheStopIsKilledAtTheDeadlineAndReported) {
  runtime rt{two_workers()};
  caf::scoped_actor self{rt.system()};
  auto good = rt.spawn(idle_server);
  auto bad = rt.spawn<stubborn_actor>();
  self->monitor(bad);
  auto report = rt.shutdown(200ms);
  ASSERT_EQ(report.forced.size(), 1u);
  EXPECT_EQ(report.forced[0].id, bad.id());
  EXPECT_EQ(report.forced[0].name, "stubborn_actor");
  EXPECT_FALSE(report.clean());
  self->receive([](caf::down_msg& dm) { EXPECT_EQ(dm.reason, caf::exit_reason::kill); });
}

// Introspection off keeps no topology, but shutdown still finds every actor the runtime
// spawned: it stops the cooperative ones and reports the one it had to kill.
TEST(RuntimeShutdown, WithIntrospectionOffActorsAreStillStoppedAndTheForcedOneReported) {
  auto cfg = two_workers();
  cfg.introspection = false;
  runtime rt{cfg};
  caf::scoped_actor self{rt.system()};
  std::vector<caf::actor> good;
  for (int i = 0; i < 5; ++i) {
    good.push_back(rt.spawn(idle_server));
    self->monitor(good.back());
  }
  auto bad = rt.spawn<stubborn_actor>();
  self->monitor(bad);
  EXPECT_EQ(rt.metrics().spawned_actors, 6u);
  EXPECT_TRUE(rt.topology().at("actors").empty()) << rt.topology().dump(2);
  auto report = rt.shutdown(300ms);
  ASSERT_EQ(report.forced.size(), 1u);
  EXPECT_EQ(report.forced[0].id, bad.id());
  EXPECT_EQ(report.forced[0].name, "stubborn_actor");
  int user_shutdowns = 0;
  int kills = 0;
  int downs = 0;
  self->receive_for(downs, 6)([&](caf::down_msg& dm) {
    if (dm.reason == caf::exit_reason::user_shutdown)
      ++user_shutdowns;
    else if (dm.reason == caf::exit_reason::kill)
      ++kills;
  });
  EXPECT_EQ(user_shutdowns, 5);
  EXPECT_EQ(kills, 1);
  EXPECT_EQ(rt.metrics().spawned_actors, 0u);
}

TEST(RuntimeShutdown, SecondShutdownIsANoOp) {
  runtime rt{two_workers()};
  rt.spawn(idle_server);
  EXPECT_TRUE(rt.shutdown(5s).clean());
  EXPECT_TRUE(rt.shutdown(5s).clean());
  EXPECT_TRUE(rt.shutting_down());
}

TEST(RuntimeShutdown, QueuedBlockingJobsAreCancelledAndNewOnesRejected) {
  auto cfg = two_workers();
  cfg.blocking_threads = 1;
  runtime rt{cfg};
  std::latch started{1};
  std::latch release{1};
  auto running = rt.spawn_blocking([&] {
    started.count_down();
    release.wait();
    return 1;
  });
  started.wait();
  auto queued = rt.spawn_blocking([] { return 2; });
  std::thread releaser{[&] { release.count_down(); }};
  auto report = rt.shutdown(5s);
  releaser.join();
  EXPECT_EQ(report.abandoned_blocking_jobs, 0u);
  EXPECT_EQ(running.get(5s).value(), 1);
  // The queued job either ran before shutdown took the queue or was cancelled: never lost.
  auto q = queued.get(5s);
  if (!q)
    EXPECT_EQ(q.error(), runtime_errc::cancelled);
  else
    EXPECT_EQ(*q, 2);
  auto late = rt.spawn_blocking([] { return 3; });
  auto l = late.get(5s);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error(), runtime_errc::shutting_down);
}

TEST(RuntimeShutdown, BlockingJobThatNeverReturnsIsAbandonedNotAwaitedForever) {
  auto release = std::make_shared<std::latch>(1);
  {
    runtime rt{two_workers()};
    std::latch started{1};
    auto stuck = rt.spawn_blocking([release, &started] {
      started.count_down();
      release->wait();
    });
    started.wait();
    auto report = rt.shutdown(100ms);
    EXPECT_EQ(report.abandoned_blocking_jobs, 1u);
  }
  // Let the detached thread finish so that the process ends cleanly.
  release->count_down();
}

TEST(RuntimeShutdown, DestructorShutsDownWithoutHangingOnAStubbornActor) {
  auto cfg = two_workers();
  cfg.shutdown_timeout = 100ms;
  caf::actor_id bad_id = 0;
  {
    runtime rt{cfg};
    bad_id = rt.spawn<stubborn_actor>().id();
  }
  EXPECT_NE(bad_id, 0u);
}
