// The blocking pool on its own, without an actor system, so that ThreadSanitizer sees every
// synchronisation it relies on (CAF's prebuilt library is not instrumented).

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "troupe/runtime/detail/blocking_pool.hpp"
#include "troupe/scheduler/errors.hpp"

using troupe::detail::blocking_pool;
using namespace std::chrono_literals;

TEST(BlockingPool, RunsEveryJobExactlyOnceFromConcurrentSubmitters) {
  blocking_pool pool{4, 100000};
  constexpr int per_submitter = 5000;
  std::atomic<int> ran{0};
  std::atomic<int> sum{0};
  std::latch done{2 * per_submitter};
  std::vector<std::thread> submitters;
  for (int s = 0; s < 2; ++s)
    submitters.emplace_back([&, s] {
      for (int i = 0; i < per_submitter; ++i)
        ASSERT_FALSE(pool.submit([&, v = s * per_submitter + i](bool cancelled) {
          EXPECT_FALSE(cancelled);
          ran.fetch_add(1);
          sum.fetch_add(v);
          done.count_down();
        }));
    });
  for (auto& t : submitters)
    t.join();
  done.wait();
  EXPECT_EQ(ran.load(), 2 * per_submitter);
  EXPECT_EQ(sum.load(), (2 * per_submitter - 1) * (2 * per_submitter) / 2);
  EXPECT_LE(pool.snapshot().threads, 4u);
  EXPECT_EQ(pool.shutdown(5s), 0u);
  EXPECT_EQ(pool.snapshot().completed, static_cast<std::size_t>(2 * per_submitter));
}

TEST(BlockingPool, ShutdownCancelsQueuedJobsExactlyOnce) {
  blocking_pool pool{1, 10};
  std::latch started{1};
  std::latch release{1};
  std::atomic<int> cancelled{0};
  std::atomic<int> ran{0};
  ASSERT_FALSE(pool.submit([&](bool) {
    started.count_down();
    release.wait();
    ran.fetch_add(1);
  }));
  started.wait();
  for (int i = 0; i < 5; ++i)
    ASSERT_FALSE(
        pool.submit([&](bool was_cancelled) { (was_cancelled ? cancelled : ran).fetch_add(1); }));
  std::thread releaser{[&] { release.count_down(); }};
  EXPECT_EQ(pool.shutdown(5s), 0u);
  releaser.join();
  EXPECT_EQ(ran.load() + cancelled.load(), 6);
  EXPECT_GE(ran.load(), 1);
  EXPECT_EQ(pool.submit([](bool) {}), troupe::runtime_errc::shutting_down);
}

TEST(BlockingPool, SubmitBeyondCapacityIsRejected) {
  blocking_pool pool{1, 2};
  std::latch started{1};
  std::latch release{1};
  ASSERT_FALSE(pool.submit([&](bool) {
    started.count_down();
    release.wait();
  }));
  started.wait();
  ASSERT_FALSE(pool.submit([](bool) {}));
  ASSERT_FALSE(pool.submit([](bool) {}));
  EXPECT_EQ(pool.submit([](bool) {}), troupe::runtime_errc::blocking_queue_full);
  EXPECT_EQ(pool.snapshot().queued, 2u);
  release.count_down();
  EXPECT_EQ(pool.shutdown(5s), 0u);
}
