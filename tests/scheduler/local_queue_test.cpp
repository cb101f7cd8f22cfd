// The worker run queue on its own (no CAF), so that ThreadSanitizer checks all of it.

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "troupe/scheduler/detail/local_queue.hpp"

using troupe::detail::local_queue;
using namespace std::chrono_literals;

TEST(LocalQueue, OwnerPopsInPushOrder) {
  local_queue<int, 8> q;
  int xs[5] = {0, 1, 2, 3, 4};
  for (auto& x : xs)
    ASSERT_TRUE(q.push(&x));
  EXPECT_EQ(q.size_hint(), 5u);
  for (auto& x : xs)
    EXPECT_EQ(q.pop(), &x);
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(LocalQueue, PushFailsWhenFull) {
  local_queue<int, 4> q;
  int xs[5] = {};
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(q.push(&xs[i]));
  EXPECT_FALSE(q.push(&xs[4]));
  EXPECT_EQ(q.steal(), &xs[0]);
  EXPECT_TRUE(q.push(&xs[4]));
}

TEST(LocalQueue, ThievesAndOwnerTakeEveryJobExactlyOnce) {
  constexpr int n = 200000;
  std::vector<int> jobs(n);
  std::vector<std::atomic<int>> taken(n);
  local_queue<int, 256> q;
  std::atomic<bool> producing{true};
  auto take = [&](int* job) { taken[static_cast<std::size_t>(job - jobs.data())].fetch_add(1); };
  auto work = std::async(std::launch::async, [&] {
    std::vector<std::thread> thieves;
    for (int t = 0; t < 2; ++t)
      thieves.emplace_back([&] {
        while (producing.load() || q.size_hint() > 0)
          if (auto* job = q.steal())
            take(job);
      });
    for (int i = 0; i < n; ++i) {
      while (!q.push(&jobs[static_cast<std::size_t>(i)]))
        if (auto* job = q.pop())
          take(job);
      if (i % 3 == 0)
        if (auto* job = q.pop())
          take(job);
    }
    while (auto* job = q.pop())
      take(job);
    producing.store(false);
    for (auto& t : thieves)
      t.join();
  });
  ASSERT_EQ(work.wait_for(60s), std::future_status::ready);
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(taken[static_cast<std::size_t>(i)].load(), 1) << "job " << i;
}
