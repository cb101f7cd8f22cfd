// The worker run queue on its own (no CAF), so that ThreadSanitizer checks all of it.

#include <array>
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

TEST(LocalQueue, StealIntoTakesTheOlderHalfInOrder) {
  local_queue<int, 8> victim;
  local_queue<int, 8> thief;
  int xs[5] = {0, 1, 2, 3, 4};
  for (auto& x : xs)
    ASSERT_TRUE(victim.push(&x));
  // Five queued: the older three move (half, rounded up), the oldest is handed back to run.
  EXPECT_EQ(victim.steal_into(thief), &xs[0]);
  EXPECT_EQ(thief.size_hint(), 2u);
  EXPECT_EQ(thief.pop(), &xs[1]);
  EXPECT_EQ(thief.pop(), &xs[2]);
  EXPECT_EQ(victim.pop(), &xs[3]);
  EXPECT_EQ(victim.pop(), &xs[4]);
  EXPECT_EQ(victim.steal_into(thief), nullptr);
  EXPECT_EQ(thief.pop(), nullptr);
}

TEST(LocalQueue, StealIntoTakesNoMoreThanTheThiefHasRoomFor) {
  local_queue<int, 8> victim;
  local_queue<int, 8> thief;
  int xs[8] = {};
  int ys[7] = {};
  for (auto& x : xs)
    ASSERT_TRUE(victim.push(&x));
  for (auto& y : ys)
    ASSERT_TRUE(thief.push(&y));
  // Half of eight is four, but the thief has one free slot: it takes two (one to run).
  EXPECT_EQ(victim.steal_into(thief), &xs[0]);
  EXPECT_EQ(thief.size_hint(), 8u);
  EXPECT_EQ(victim.size_hint(), 6u);
  for (auto& y : ys)
    EXPECT_EQ(thief.pop(), &y);
  EXPECT_EQ(thief.pop(), &xs[1]);
  EXPECT_EQ(victim.pop(), &xs[2]);
}

// Thieves move halves into queues of their own, from which the others steal again: every job is
// still taken exactly once.
TEST(LocalQueue, BatchThievesAndOwnerTakeEveryJobExactlyOnce) {
  constexpr int n = 200000;
  std::vector<int> jobs(n);
  std::vector<std::atomic<int>> taken(n);
  local_queue<int, 256> q;
  std::atomic<bool> producing{true};
  auto take = [&](int* job) { taken[static_cast<std::size_t>(job - jobs.data())].fetch_add(1); };
  auto work = std::async(std::launch::async, [&] {
    std::vector<local_queue<int, 256>> own(2);
    std::vector<std::thread> thieves;
    for (std::size_t t = 0; t < own.size(); ++t)
      thieves.emplace_back([&, t] {
        auto& mine = own[t];
        auto& other = own[1 - t];
        while (producing.load() || q.size_hint() > 0 || mine.size_hint() > 0) {
          if (auto* job = mine.pop())
            take(job);
          else if (auto* stolen = q.steal_into(mine))
            take(stolen);
          else if (auto* again = other.steal_into(mine))
            take(again);
        }
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
    // A thief may end while the other still holds jobs it stole last: those are left to drain.
    for (auto& mine : own)
      while (auto* job = mine.pop())
        take(job);
  });
  ASSERT_EQ(work.wait_for(60s), std::future_status::ready);
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(taken[static_cast<std::size_t>(i)].load(), 1) << "job " << i;
}

// A full queue hands its older half to a shared queue in one step and keeps the newer half.
TEST(LocalQueue, PopOlderHalfTakesTheOlderHalfInOrderAndKeepsTheNewer) {
  local_queue<int, 8> q;
  int xs[8] = {};
  for (auto& x : xs)
    ASSERT_TRUE(q.push(&x));
  std::array<int*, 4> older{};
  ASSERT_EQ(q.pop_older_half(older), 4u);
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_EQ(older[i], &xs[i]);
  EXPECT_EQ(q.size_hint(), 4u);
  for (std::size_t i = 4; i < 8; ++i)
    EXPECT_EQ(q.pop(), &xs[i]);
  EXPECT_EQ(q.pop_older_half(older), 0u);
}

// The owner spills halves while thieves take: every job is taken exactly once, by a thief, by
// the owner or through the spilled halves.
TEST(LocalQueue, SpilledHalvesAndThievesTakeEveryJobExactlyOnce) {
  constexpr int n = 200000;
  std::vector<int> jobs(n);
  std::vector<std::atomic<int>> taken(n);
  local_queue<int, 64> q;
  std::atomic<bool> producing{true};
  auto take = [&](int* job) { taken[static_cast<std::size_t>(job - jobs.data())].fetch_add(1); };
  auto work = std::async(std::launch::async, [&] {
    std::thread thief([&] {
      while (producing.load() || q.size_hint() > 0)
        if (auto* job = q.steal())
          take(job);
    });
    std::array<int*, 32> older{};
    for (int i = 0; i < n; ++i) {
      if (!q.push(&jobs[static_cast<std::size_t>(i)])) {
        auto k = q.pop_older_half(older);
        for (std::size_t j = 0; j < k; ++j)
          take(older[j]);
        EXPECT_TRUE(q.push(&jobs[static_cast<std::size_t>(i)]));
      }
    }
    while (auto* job = q.pop())
      take(job);
    producing.store(false);
    thief.join();
  });
  ASSERT_EQ(work.wait_for(60s), std::future_status::ready);
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(taken[static_cast<std::size_t>(i)].load(), 1) << "job " << i;
}
