// Troupe's scheduling policy under the real runtime: every job runs exactly once whatever its
// origin, idle workers steal, parked workers are woken without loss, and the watchdog names a
// handler that blocks its worker.

#include <atomic>
#include <future>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/runtime/runtime.hpp"
#include "troupe/scheduler/detail/troupe_policy.hpp"
#include "troupe/scheduler/system_thread.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// A plain job for the scheduler: a reference-counted resumable that is not an actor.
class test_job : public caf::resumable, public caf::ref_counted {
public:
  subtype_t subtype() const override { return function_object; }
  void intrusive_ptr_add_ref_impl() override { ref(); }
  void intrusive_ptr_release_impl() override { deref(); }
};

// A job that counts its runs and, while `spawn_children` > 0, schedules children on the worker
// that runs it (the exec_later path: LIFO slot and local queue).
class counted_job : public test_job {
public:
  counted_job(std::vector<std::atomic<int>>* runs, std::size_t index, std::latch* finished,
              std::size_t children)
      : runs_(runs), index_(index), done_(finished), children_(children) {}

  resume_result resume(caf::execution_unit* ctx, size_t) override {
    (*runs_)[index_].fetch_add(1);
    for (std::size_t i = 0; i < children_; ++i) {
      auto* child = new counted_job(runs_, index_ + 1 + i, done_, 0);
      ctx->exec_later(child); // the worker releases it after it ran
    }
    done_->count_down();
    return done;
  }

private:
  std::vector<std::atomic<int>>* runs_;
  std::size_t index_;
  std::latch* done_;
  std::size_t children_;
};

// A job that yields its worker `turns` times (resume_later), doing some work in each turn,
// then counts `finished` down.
class yielding_job : public test_job {
public:
  yielding_job(int turns, std::latch* finished) : turns_left_(turns), done_(finished) {}

  resume_result resume(caf::execution_unit*, size_t) override {
    // Long enough per turn for an idle worker that was woken to go back to sleep before the
    // next turn ends.
    for (int i = 0; i < 2'000'000; ++i)
      sink_ = sink_ + static_cast<uint64_t>(i);
    if (--turns_left_ > 0)
      return resume_later;
    done_->count_down();
    return done;
  }

private:
  int turns_left_;
  std::latch* done_;
  volatile uint64_t sink_ = 0;
};

struct sleepy_state {
  static inline const char* name = "sleepy";
};

} // namespace

class WorkStealingExactlyOnce : public ::testing::TestWithParam<std::size_t> {};

TEST_P(WorkStealingExactlyOnce, JobsFromThreadsAndWorkersAllRunOnce) {
  runtime rt{test::workers_config(GetParam())};
  ASSERT_EQ(rt.scheduler_stats().policy, "troupe");
  constexpr std::size_t threads = 4;
  constexpr std::size_t parents_per_thread = 500;
  constexpr std::size_t children = 3; // each parent schedules 3 children from its worker
  constexpr std::size_t per_parent = 1 + children;
  const std::size_t total = threads * parents_per_thread * per_parent;
  std::vector<std::atomic<int>> runs(total);
  std::latch done{static_cast<std::ptrdiff_t>(total)};
  std::vector<std::thread> submitters;
  for (std::size_t t = 0; t < threads; ++t)
    submitters.emplace_back([&, t] {
      for (std::size_t p = 0; p < parents_per_thread; ++p) {
        auto index = (t * parents_per_thread + p) * per_parent;
        rt.system().scheduler().enqueue(new counted_job(&runs, index, &done, children));
      }
    });
  for (auto& s : submitters)
    s.join();
  done.wait();
  for (std::size_t i = 0; i < total; ++i)
    ASSERT_EQ(runs[i].load(), 1) << "job " << i;
  EXPECT_GE(rt.scheduler_stats().total.resumes, total);
}

// One resume wakes far more jobs than a local queue holds (256): the overflow moves to the
// injection queue in halves and comes back in shares, and still every job runs exactly once.
TEST_P(WorkStealingExactlyOnce, ABurstThatOverflowsTheLocalQueueRunsEveryJobOnce) {
  runtime rt{test::workers_config(GetParam())};
  constexpr std::size_t children = 5000;
  std::vector<std::atomic<int>> runs(1 + children);
  std::latch done{static_cast<std::ptrdiff_t>(1 + children)};
  rt.system().scheduler().enqueue(new counted_job(&runs, 0, &done, children));
  done.wait();
  for (std::size_t i = 0; i < runs.size(); ++i)
    ASSERT_EQ(runs[i].load(), 1) << "job " << i;
}

INSTANTIATE_TEST_SUITE_P(Workers, WorkStealingExactlyOnce, ::testing::Values(1, 2, 8));

TEST(WorkStealing, IdleWorkerStealsFromALoadedOne) {
  runtime rt{test::workers_config(2)};
  constexpr int children = 200;
  std::atomic<int> ran{0};
  std::latch all_ran{children};
  // One actor keeps its worker busy until the children ran; they were scheduled on that
  // worker (exec_later from inside it), so only stealing can run them.
  auto parent = rt.spawn([&](caf::event_based_actor* self) -> caf::behavior {
    return {[&, self](caf::ok_atom) {
      for (int i = 0; i < children; ++i)
        self->spawn([&] {
          ++ran;
          all_ran.count_down();
        });
      all_ran.wait(); // holds the worker on purpose
      self->quit();
    }};
  });
  caf::anon_send(parent, caf::ok_atom::value);
  all_ran.wait();
  EXPECT_EQ(ran.load(), children);
  auto stats = rt.scheduler_stats();
  EXPECT_GT(stats.total.steals, 0u);
  EXPECT_GE(stats.total.steal_attempts, stats.total.steals);
}

TEST(WorkStealing, ParkedWorkersAreWokenForEveryJob) {
  // Each round waits until both workers have parked, then submits one job from outside; a lost
  // wake-up leaves the job unrun and the round's wait fails at its deadline.
  runtime rt{test::workers_config(2)};
  std::vector<std::atomic<int>> runs(200);
  for (std::size_t round = 0; round < runs.size(); ++round) {
    ASSERT_TRUE(troupe::test::eventually([&] {
      auto s = rt.scheduler_stats();
      return s.per_worker[0].sleeping && s.per_worker[1].sleeping;
    })) << "workers did not park in round "
        << round;
    std::latch done{1};
    rt.system().scheduler().enqueue(new counted_job(&runs, round, &done, 0));
    // std::latch has no timed wait; poll it against the round's deadline.
    ASSERT_TRUE(troupe::test::eventually([&] { return done.try_wait(); }, 10s))
        << "lost wake-up in round " << round;
  }
  for (auto& r : runs)
    EXPECT_EQ(r.load(), 1);
  auto stats = rt.scheduler_stats();
  EXPECT_GT(stats.total.parks, 0u);
  EXPECT_GT(stats.total.unparks, 0u);
}

TEST(WorkStealing, AJobThatYieldsAloneLeavesTheIdleWorkerAsleep) {
  // A mailbox drained in turns of max_throughput yields its worker after each turn. When it is
  // the worker's only job, the worker takes it again at once; waking the parked worker for it
  // (as every yield did) only had it steal the job or park again, interrupting the busy core.
  runtime rt{test::workers_config(2)};
  ASSERT_TRUE(troupe::test::eventually([&] {
    auto s = rt.scheduler_stats();
    return s.per_worker[0].sleeping && s.per_worker[1].sleeping;
  })) << "workers did not park";
  const auto unparks_before = rt.scheduler_stats().total.unparks;
  constexpr int turns = 30;
  std::latch done{1};
  rt.system().scheduler().enqueue(new yielding_job(turns, &done)); // wakes one worker
  ASSERT_TRUE(troupe::test::eventually([&] { return done.try_wait(); }, 30s));
  // One wake-up for the job; at most one more, from a worker that had not parked yet.
  EXPECT_LE(rt.scheduler_stats().total.unparks - unparks_before, 2u);
}

TEST(WorkStealing, TheWatchdogsRescueWakesAnIdleWorkerForAStuckWorkersQueuedJobs) {
  // A job that yielded alone woke nobody, and its worker may be stuck in another job since:
  // the watchdog's rescue of that worker must wake a parked worker to steal it.
  using policy = troupe::detail::troupe_policy;
  policy::coordinator_data coordinator{nullptr};
  policy::worker_data stuck{nullptr};
  coordinator.sleepers.store(1); // one worker parked
  policy::rescue(coordinator, stuck);
  EXPECT_EQ(coordinator.permits, 0u) << "nothing to steal: nobody is woken";
  std::latch unused{1};
  yielding_job queued{1, &unused}; // never runs: only its place in the queue matters
  ASSERT_TRUE(stuck.queue.push(&queued));
  policy::rescue(coordinator, stuck);
  EXPECT_EQ(coordinator.permits, 1u);
  EXPECT_EQ(stuck.queue.pop(), &queued) << "the job stays where a thief takes it";
}

TEST(WorkStealing, WatchdogNamesTheActorThatBlocksItsWorker) {
  auto cfg = test::workers_config(2);
  cfg.blocked_threshold = 50ms;
  runtime rt{cfg};
  std::mutex mtx;
  std::vector<blocked_worker_report> reports;
  std::latch reported{1};
  rt.on_blocked_worker([&](const blocked_worker_report& r) {
    std::lock_guard guard{mtx};
    reports.push_back(r);
    if (reports.size() == 1)
      reported.count_down();
  });
  auto release = std::make_shared<std::latch>(1);
  auto sleepy = rt.spawn([release](caf::stateful_actor<sleepy_state>* self) -> caf::behavior {
    return {[release, self](caf::ok_atom) {
      release->wait(); // blocks the worker until the watchdog has spoken
      self->quit();
    }};
  });
  caf::anon_send(sleepy, caf::ok_atom::value);
  reported.wait();
  release->count_down();
  std::lock_guard guard{mtx};
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].actor, sleepy.id());
  EXPECT_EQ(reports[0].actor_name, "sleepy");
  EXPECT_GE(reports[0].held_for, 50ms);
  EXPECT_EQ(rt.scheduler_stats().blocked_reports, 1u);
}

TEST(WorkStealing, CafPoliciesStaySelectable) {
  for (auto policy : {scheduler_policy::caf_stealing, scheduler_policy::caf_sharing}) {
    auto cfg = test::workers_config(2);
    cfg.scheduler = policy;
    runtime rt{cfg};
    EXPECT_EQ(rt.scheduler_stats().policy, to_string(policy));
    EXPECT_TRUE(rt.scheduler_stats().per_worker.empty());
    auto echo = rt.spawn([]() -> caf::behavior { return {[](int x) { return x; }}; });
    caf::scoped_actor self{rt.system()};
    self->request(echo, 5s, 7)
        .receive([](int x) { EXPECT_EQ(x, 7); }, [](caf::error& e) { FAIL() << render(e); });
  }
}

TEST(WorkStealing, EveryPolicysWorkersAreMarkedAsActorSystemThreadsAndNoOtherThread) {
  for (auto policy :
       {scheduler_policy::troupe, scheduler_policy::caf_stealing, scheduler_policy::caf_sharing}) {
    auto cfg = test::workers_config(1);
    cfg.scheduler = policy;
    runtime rt{cfg};
    auto where = rt.spawn(
        []() -> caf::behavior { return {[](int) { return troupe::on_actor_system_thread(); }}; });
    caf::scoped_actor self{rt.system()};
    self->request(where, 5s, 0)
        .receive([&](bool marked) { EXPECT_TRUE(marked) << to_string(policy); },
                 [](caf::error& e) { FAIL() << render(e); });
    EXPECT_FALSE(troupe::on_actor_system_thread());
    EXPECT_FALSE(
        std::async(std::launch::async, [] { return troupe::on_actor_system_thread(); }).get());
  }
}

TEST(WorkStealing, SchedulerMetricsSerializeToJson) {
  runtime rt{test::workers_config(2)};
  nlohmann::json j = rt.scheduler_stats();
  EXPECT_EQ(j.at("policy"), "troupe");
  EXPECT_EQ(j.at("workers"), 2);
  ASSERT_EQ(j.at("per_worker").size(), 2u);
  for (auto& key : {"resumes", "steals", "steal_attempts", "parks", "unparks", "parked_ms",
                    "active_ms", "local_queue_depth", "lifo_runs"})
    EXPECT_TRUE(j.at("total").contains(key)) << key;
  EXPECT_TRUE(j.contains("injection_queue_depth"));
}
