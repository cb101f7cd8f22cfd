// The scheduler's shared queue on its own (no CAF): jobs move in and out in batches, in order.

#include <array>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "troupe/scheduler/detail/injection_queue.hpp"

using troupe::detail::injection_queue;

TEST(InjectionQueue, ABatchPushedInOneStepComesOutInOrder) {
  injection_queue<int> q;
  int xs[5] = {0, 1, 2, 3, 4};
  std::array<int*, 3> first{&xs[0], &xs[1], &xs[2]};
  q.push(std::span<int* const>{first});
  q.push(&xs[3]);
  q.push(&xs[4]);
  EXPECT_EQ(q.size(), 5u);
  for (auto& x : xs)
    EXPECT_EQ(q.pop(), &x);
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_EQ(q.size(), 0u);
}

TEST(InjectionQueue, PopReturnsTheOldestAndHandsAtMostMaxMinusOneMoreToTheSink) {
  injection_queue<int> q;
  int xs[6] = {};
  for (auto& x : xs)
    q.push(&x);
  std::vector<int*> rest;
  auto sink = [&](int* job) { rest.push_back(job); };
  EXPECT_EQ(q.pop(4, sink), &xs[0]);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0], &xs[1]);
  EXPECT_EQ(rest[2], &xs[3]);
  EXPECT_EQ(q.size(), 2u);
  rest.clear();
  // Fewer queued than asked: it takes what there is.
  EXPECT_EQ(q.pop(10, sink), &xs[4]);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0], &xs[5]);
  rest.clear();
  EXPECT_EQ(q.pop(10, sink), nullptr);
  EXPECT_TRUE(rest.empty());
}

TEST(InjectionQueue, PopOfNothingTakesNothing) {
  injection_queue<int> q;
  int x = 0;
  q.push(&x);
  EXPECT_EQ(q.pop(0, [](int*) { FAIL() << "nothing may be handed out"; }), nullptr);
  EXPECT_EQ(q.size(), 1u);
}
