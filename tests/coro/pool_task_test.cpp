// Pool workers whose handler is a coroutine: every job answered once with the task's value or
// error, one job at a time per worker, a throwing task retried and its worker restarted, and a
// shutdown that cancels a suspended job and frees its frame.

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "coro/coro_support.hpp"
#include "troupe/troupe.hpp"

using namespace troupe::test::coro_names;

namespace {

struct square {
  int x = 0;
  using reply_type = int;
};

class pool_task_test : public test::runtime_fixture {};

TEST_F(pool_task_test, EveryJobIsAnsweredOnceWithItsTasksValueAndWorkersRunOneJobEach) {
  pool_options opts;
  opts.workers = 2;
  auto active = std::make_shared<std::atomic<int>>(0);
  auto most = std::make_shared<std::atomic<int>>(0);
  auto pool =
      spawn_pool<square>(*rt, opts, [active, most](std::size_t) {
        return [active, most](square job) -> task<caf::expected<int>> {
          auto now = active->fetch_add(1) + 1;
          for (int seen = most->load(); now > seen && !most->compare_exchange_weak(seen, now);) {
          }
          co_await coro::sleep_for(50us); // the worker takes no other job meanwhile
          active->fetch_sub(1);
          if (job.x < 0)
            co_return make_error(mailbox_errc::mailbox_full);
          co_return job.x* job.x;
        };
      }).value();
  constexpr int n = 200;
  std::vector<std::future<caf::expected<int>>> answers;
  for (int i = 0; i < n; ++i) {
    test::reply_future<int> answer;
    answers.push_back(std::move(answer.future));
    auto err =
        pool.submit_async(square{i % 10 == 9 ? -1 : i}, answer.on_value(), answer.on_error());
    ASSERT_FALSE(err) << to_string(err);
  }
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(answers[static_cast<std::size_t>(i)].wait_for(30s), std::future_status::ready);
    auto r = answers[static_cast<std::size_t>(i)].get();
    if (i % 10 == 9) {
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error(), mailbox_errc::mailbox_full);
    } else {
      ASSERT_TRUE(r) << to_string(r.error());
      EXPECT_EQ(*r, i * i);
    }
  }
  EXPECT_LE(most->load(), 2); // one job per worker at a time
  auto m = pool.metrics();
  EXPECT_EQ(m.completed, static_cast<uint64_t>(n));
  EXPECT_FALSE(pool.shutdown(5s).cancelled);
}

TEST_F(pool_task_test, AThrowingTaskIsRetriedOnARestartedWorker) {
  pool_options opts;
  opts.workers = 1;
  opts.max_retries = 1;
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto pool = spawn_pool<square>(*rt, opts, [calls](std::size_t) {
                return [calls](square job) -> task<int> {
                  co_await coro::sleep_for(10us);
                  if (calls->fetch_add(1) == 0)
                    throw std::runtime_error("first attempt fails");
                  co_return job.x + 1;
                };
              }).value();
  auto r = pool.submit(square{41}, 10s);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(calls->load(), 2);
  auto m = pool.metrics();
  EXPECT_EQ(m.retried, 1u);
  EXPECT_EQ(m.restarts, 1u);
  auto always = std::make_shared<std::atomic<int>>(0);
  auto failing = spawn_pool<square>(*rt, opts, [always](std::size_t) {
                   return [always](square) -> task<int> {
                     always->fetch_add(1);
                     co_await coro::sleep_for(10us);
                     throw std::runtime_error("always fails");
                   };
                 }).value();
  auto f = failing.submit(square{1}, 10s);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error(), mailbox_errc::handler_threw);
  EXPECT_EQ(always->load(), 2); // the attempt and its one retry
  pool.shutdown(5s);
  failing.shutdown(5s);
}

// A handler that throws while making its task (before the coroutine runs) crashes its worker
// like a throwing plain handler: the job gets handler_threw, the pool goes on.
task<int> square_later(square job) {
  co_await coro::sleep_for(10us);
  co_return job.x* job.x;
}

TEST_F(pool_task_test, AHandlerThatThrowsBeforeItsTaskRunsCrashesOnlyItsWorker) {
  pool_options opts;
  opts.workers = 1;
  auto pool = spawn_pool<square>(*rt, opts, [](std::size_t) {
                return [](square job) -> task<int> {
                  if (job.x < 0)
                    throw std::runtime_error("negative before the task");
                  return square_later(job);
                };
              }).value();
  auto bad = pool.submit(square{-1}, 10s);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), mailbox_errc::handler_threw);
  EXPECT_NE(to_string(bad.error()).find("negative before the task"), std::string::npos);
  auto good = pool.submit(square{7}, 10s);
  ASSERT_TRUE(good) << to_string(good.error());
  EXPECT_EQ(*good, 49);
  EXPECT_EQ(pool.metrics().restarts, 1u);
  pool.shutdown(5s);
}

TEST_F(pool_task_test, AShutdownCancelsASuspendedJobAndFreesItsFrame) {
  auto gate = rt->spawn(test::gate_actor);
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  pool_options opts;
  opts.workers = 1;
  auto pool = spawn_pool<square>(*rt, opts, [gate, frames, resumed](std::size_t) {
                return [gate, frames, resumed](square job) -> task<int> {
                  probe p{*frames};
                  auto r = co_await coro::request_actor<int>(gate, caf::infinite, job.x);
                  resumed->fetch_add(1);
                  co_return r ? *r : -1;
                };
              }).value();
  test::reply_future<int> reply;
  auto answer = std::move(reply.future);
  ASSERT_FALSE(pool.submit_async(square{3}, reply.on_value(), reply.on_error()));
  ASSERT_TRUE(test::eventually([&] { return frames->made.load() == 1; }));
  auto report = pool.shutdown(100ms);
  EXPECT_FALSE(report.drained);
  ASSERT_EQ(answer.wait_for(10s), std::future_status::ready);
  auto r = answer.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), runtime_errc::cancelled);
  EXPECT_EQ(frames->gone.load(), 1);
  test::release_gate_and_sync(sys(), gate);
  EXPECT_EQ(resumed->load(), 0);
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
}

} // namespace
