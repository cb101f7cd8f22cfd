// coro::submit: a job submitted to a worker_pool from a task, its answer awaited; under
// backpressure a full queue parks the job in submit order instead of refusing it.

#include <atomic>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "coro/coro_support.hpp"
#include "troupe/troupe.hpp"

using namespace troupe::test::coro_names;

namespace {

struct job {
  int value = 0;
  bool block = false; // waits for the test's gate
  bool crash = false;
  using reply_type = int;
};

// What the pool's worker ran, in order, and the gate a blocking job waits for.
struct work_log {
  std::mutex mtx;
  std::vector<int> ran;
  std::latch entered{1};
  std::latch gate{1};
  std::once_flag opened;

  // Lets the blocking job finish; idempotent (TearDown opens it too, for a failed test).
  void open_gate() {
    std::call_once(opened, [this] { gate.count_down(); });
  }

  std::vector<int> snapshot() {
    std::lock_guard guard{mtx};
    return ran;
  }
};

struct feed {
  int value = 0;
};

class coro_submit : public test::coro_fixture {
protected:
  void TearDown() override {
    stop_kept();
    work->open_gate();
    if (pool_)
      pool_.shutdown(5s);
    runtime_fixture::TearDown();
  }

  // One worker on the blocking pool (a blocking job holds no scheduler worker), one queue slot.
  worker_pool<job> start_pool(overflow_policy overflow = overflow_policy::backpressure) {
    pool_options opts;
    opts.workers = 1;
    opts.capacity = 1;
    opts.overflow = overflow;
    opts.run_on_blocking_pool = true;
    auto pool = spawn_pool<job>(*rt, opts, [w = work](std::size_t) {
      return [w](job& j) {
        {
          std::lock_guard guard{w->mtx};
          w->ran.push_back(j.value);
        }
        if (j.block) {
          w->entered.count_down();
          w->gate.wait();
        }
        if (j.crash)
          throw std::runtime_error("bad job");
        return j.value * 2;
      };
    });
    EXPECT_TRUE(pool) << to_string(pool.error());
    pool_ = *pool;
    return pool_;
  }

  // The worker runs a blocking job and the queue's one slot is taken: the next submit parks.
  void fill(const worker_pool<job>& pool) {
    ASSERT_FALSE(pool.submit_async(
        job{0, true}, [](int) {}, [](caf::error) {}));
    work->entered.wait();
    ASSERT_FALSE(pool.submit_async(
        job{100}, [](int) {}, [](caf::error) {}));
  }

  // Each `feed` runs a task that submits job{value} and journals "<value> -> <answer>" (what
  // the submitting tasks got, in order).
  mailbox<feed> spawn_submitter(worker_pool<job> pool) {
    return keep(
        spawn_mailbox<feed>(*rt, {}, [pool, log = log, frames = frames, resumed = resumed](auto*) {
          return handlers{[=](feed f) -> task<void> {
            probe alive{*frames};
            job j{f.value};
            auto r = co_await coro::submit(pool, j);
            resumed->fetch_add(1);
            log->add(std::to_string(f.value) + " -> " + show(r));
          }};
        }).value());
  }

  std::shared_ptr<work_log> work = std::make_shared<work_log>();
  std::shared_ptr<journal> log = std::make_shared<journal>();
  std::shared_ptr<live_counter> frames = std::make_shared<live_counter>();
  std::shared_ptr<std::atomic<int>> resumed = std::make_shared<std::atomic<int>>(0);
  worker_pool<job> pool_;
};

TEST_F(coro_submit, SubmitYieldsTheJobsAnswerOrItsTypedError) {
  auto pool = start_pool();
  struct go {};
  auto out = std::make_shared<std::promise<std::string>>();
  auto runner = spawn_mailbox<go>(*rt, {}, [=](auto*) {
                  return handlers{[=](go) -> task<void> {
                    job fine{21};
                    auto a = co_await coro::submit(pool, fine);
                    job bad{1, false, true};
                    auto b = co_await coro::submit(pool, bad);
                    auto kind = b ? std::string{"value"}
                                : b.error() == mailbox_errc::handler_threw
                                    ? std::string{"handler_threw"}
                                    : to_string(b.error());
                    out->set_value(show(a) + "|" + kind);
                  }};
                }).value();
  keep(runner);
  ASSERT_TRUE(runner.send(go{}));
  auto fut = out->get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(fut.get(), "42|handler_threw");
}

TEST_F(coro_submit, ASubmitAfterShutdownFailsAtOnce) {
  auto pool = start_pool();
  pool.shutdown(5s);
  auto box = spawn_submitter(pool);
  ASSERT_TRUE(box.send(feed{1}));
  ASSERT_TRUE(test::eventually([&] { return log->snapshot().size() == 1; }));
  EXPECT_EQ(log->snapshot()[0], "1 -> " + to_string(make_error(runtime_errc::shutting_down)));
}

TEST_F(coro_submit, AFullQueueUnderTheFailPolicyRefusesTheJob) {
  auto pool = start_pool(overflow_policy::fail);
  fill(pool);
  auto box = spawn_submitter(pool);
  ASSERT_TRUE(box.send(feed{1}));
  ASSERT_TRUE(test::eventually([&] { return log->snapshot().size() == 1; }));
  EXPECT_EQ(log->snapshot()[0], "1 -> " + to_string(make_error(mailbox_errc::mailbox_full)));
  EXPECT_EQ(pool.metrics().parked, 0u);
  work->open_gate();
}

// Three tasks of one actor find the queue full: their jobs park, run in submit order once the
// worker is free, and each task resumes with its own job's answer.
TEST_F(coro_submit, JobsOfAFullQueueParkAndRunInSubmitOrder) {
  auto pool = start_pool();
  fill(pool);
  auto box = spawn_submitter(pool);
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(box.send(feed{i}));
    ASSERT_TRUE(test::eventually([&] { return pool.metrics().parked == std::size_t(i); }));
  }
  EXPECT_EQ(resumed->load(), 0);
  work->open_gate();
  ASSERT_TRUE(test::eventually([&] { return log->snapshot().size() == 3; }));
  EXPECT_EQ(work->snapshot(), (std::vector<int>{0, 100, 1, 2, 3}));
  EXPECT_EQ(log->snapshot(), (std::vector<std::string>{"1 -> 2", "2 -> 4", "3 -> 6"}));
}

// The submitter stops while its job is parked: the frame is destroyed on the actor and nothing
// resumes; the job keeps its place and still runs (its answer reaches a stopped actor).
TEST_F(coro_submit, AStoppedSubmitterResumesNothingAndItsJobStillRuns) {
  auto pool = start_pool();
  fill(pool);
  auto box = spawn_submitter(pool);
  ASSERT_TRUE(box.send(feed{1}));
  ASSERT_TRUE(test::eventually([&] { return pool.metrics().parked == 1; }));
  test::exit_watch watch{sys(), box.actor()};
  caf::anon_send_exit(box.actor(), caf::exit_reason::user_shutdown);
  EXPECT_TRUE(watch.next_down()) << "no down";
  EXPECT_EQ(frames->made.load(), 1);
  EXPECT_EQ(frames->gone.load(), 1);
  work->open_gate();
  ASSERT_TRUE(test::eventually([&] { return work->snapshot().size() == 3; }));
  EXPECT_EQ(work->snapshot(), (std::vector<int>{0, 100, 1}));
  EXPECT_EQ(resumed->load(), 0);
  EXPECT_TRUE(log->snapshot().empty());
}

} // namespace
