#include <latch>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/runtime/runtime.hpp"

using namespace troupe;
using namespace std::chrono_literals;

using SpawnBlocking = troupe::test::runtime_fixture;

TEST_F(SpawnBlocking, ResultReachesAFutureOutsideActors) {
  auto f = rt->spawn_blocking([] { return 6 * 7; });
  auto r = f.get(5s);
  ASSERT_TRUE(r) << render(r.error());
  EXPECT_EQ(*r, 42);
  EXPECT_TRUE(f.ready());
}

TEST_F(SpawnBlocking, VoidJobYieldsUnit) {
  int side_effect = 0;
  auto f = rt->spawn_blocking([&] { side_effect = 1; });
  ASSERT_TRUE(f.get(5s));
  EXPECT_EQ(side_effect, 1);
}

TEST_F(SpawnBlocking, ExceptionBecomesJobFailedWithItsMessage) {
  auto f = rt->spawn_blocking([]() -> int { throw std::runtime_error("disk on fire"); });
  auto r = f.get(5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), runtime_errc::job_failed);
  ASSERT_EQ(r.error().context().size(), 1u);
  EXPECT_EQ(r.error().context().get_as<std::string>(0), "disk on fire");
}

TEST_F(SpawnBlocking, DeadlineGivesTimeoutAndTheJobStillCompletes) {
  std::latch release{1};
  auto f = rt->spawn_blocking([&] {
    release.wait();
    return 7;
  });
  auto early = f.get(10ms);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error(), runtime_errc::timeout);
  release.count_down();
  auto late = f.get(5s);
  ASSERT_TRUE(late) << render(late.error());
  EXPECT_EQ(*late, 7);
}

TEST_F(SpawnBlocking, JobsRunOffTheSchedulerWorkers) {
  // A CAF worker names its thread; a blocking-pool thread is a plain std::thread. Compare
  // against the id of a thread that is known to be a worker: the one running an actor.
  std::thread::id actor_thread;
  auto a = rt->spawn([&]() -> caf::behavior {
    return {[&](caf::get_atom) {
      actor_thread = std::this_thread::get_id();
      return 0;
    }};
  });
  caf::scoped_actor self{sys()};
  self->request(a, 5s, caf::get_atom::value).receive([](int) {}, [](caf::error&) {});
  auto f = rt->spawn_blocking([] { return std::this_thread::get_id(); });
  auto job_thread = f.get(5s);
  ASSERT_TRUE(job_thread);
  EXPECT_NE(*job_thread, actor_thread);
  EXPECT_NE(*job_thread, std::this_thread::get_id());
  self->send_exit(a, caf::exit_reason::user_shutdown);
}

TEST(SpawnBlockingBounds, FullQueueRejectsTheJobWithATypedError) {
  runtime_config cfg;
  cfg.workers = 1;
  cfg.blocking_threads = 1;
  cfg.blocking_queue_capacity = 1;
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
  auto rejected = rt.spawn_blocking([] { return 3; });
  auto r = rejected.get(5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), runtime_errc::blocking_queue_full);
  auto m = rt.metrics();
  EXPECT_EQ(m.blocking_threads, 1u);
  EXPECT_EQ(m.blocking_busy, 1u);
  EXPECT_EQ(m.blocking_queue_depth, 1u);
  release.count_down();
  EXPECT_EQ(running.get(5s).value(), 1);
  EXPECT_EQ(queued.get(5s).value(), 2);
}

TEST(SpawnBlockingBounds, NeverStartsMoreThreadsThanConfigured) {
  runtime_config cfg;
  cfg.workers = 1;
  cfg.blocking_threads = 2;
  runtime rt{cfg};
  std::vector<blocking_future<int>> jobs;
  for (int i = 0; i < 50; ++i)
    jobs.push_back(rt.spawn_blocking([i] { return i; }));
  int sum = 0;
  for (auto& f : jobs)
    sum += f.get(5s).value();
  EXPECT_EQ(sum, 49 * 50 / 2);
  EXPECT_LE(rt.metrics().blocking_threads, 2u);
  // A job counts as completed once its callable returned, just after it answered its future.
  EXPECT_TRUE(troupe::test::eventually([&] { return rt.metrics().blocking_completed == 50u; }));
}

// The guide's pitfall: blocking inside a worker. With one worker, a job that waits for an
// actor would deadlock if it ran on that worker; on the blocking pool it completes.
TEST(SpawnBlockingFromActor, JobWaitingOnAnActorCompletesWithOneWorker) {
  runtime_config cfg;
  cfg.flavor = flavor::current_thread;
  runtime rt{cfg};
  auto latch = std::make_shared<std::latch>(1);
  auto releaser = rt.spawn([latch](caf::event_based_actor* self) -> caf::behavior {
    return {[self, latch](caf::ok_atom) {
      latch->count_down();
      self->quit();
    }};
  });
  auto requester = rt.spawn([latch, releaser](caf::event_based_actor* self) -> caf::behavior {
    return {[self, latch, releaser](caf::get_atom) -> caf::response_promise {
      auto rp = self->make_response_promise();
      troupe::spawn_blocking(self,
                             [latch] {
                               latch->wait();
                               return std::string{"released"};
                             })
          .then([rp](std::string& s) mutable { rp.deliver(s); },
                [rp](caf::error& err) mutable { rp.deliver(err); });
      // Sent after the job is queued: the job blocks its pool thread while this actor and
      // the releaser keep running on the one worker.
      self->send(releaser, caf::ok_atom::value);
      return rp;
    }};
  });
  caf::scoped_actor self{rt.system()};
  std::string result;
  self->request(requester, 10s, caf::get_atom::value)
      .receive([&](std::string& s) { result = s; },
               [&](caf::error& err) { FAIL() << render(err); });
  EXPECT_EQ(result, "released");
  self->send_exit(requester, caf::exit_reason::user_shutdown);
}

TEST_F(SpawnBlocking, ActorReceivesTheJobsExceptionAsTypedError) {
  auto a = rt->spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](caf::get_atom) -> caf::response_promise {
      auto rp = self->make_response_promise();
      troupe::spawn_blocking(self, []() -> int { throw std::logic_error("bad input"); })
          .then([rp](int) mutable { rp.deliver(caf::make_error(caf::sec::runtime_error)); },
                [rp](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    }};
  });
  caf::scoped_actor self{sys()};
  caf::error got;
  self->request(a, 5s, caf::get_atom::value)
      .receive([](caf::message&) {}, [&](caf::error& err) { got = err; });
  EXPECT_EQ(got, runtime_errc::job_failed) << render(got);
  ASSERT_EQ(got.context().size(), 1u);
  EXPECT_EQ(got.context().get_as<std::string>(0), "bad input");
  self->send_exit(a, caf::exit_reason::user_shutdown);
}
