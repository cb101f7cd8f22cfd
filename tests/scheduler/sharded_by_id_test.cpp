// The table of the spawn path: its shards' locks (adaptive_mutex) and the per-shard tally whose
// sum replaces one counter that every spawn and exit wrote.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "troupe/scheduler/adaptive_mutex.hpp"
#include "troupe/scheduler/sharded_by_id.hpp"

using namespace troupe;

namespace {

TEST(AdaptiveMutex, ExcludesEveryOtherHolder) {
  adaptive_mutex mtx;
  std::uint64_t counter = 0; // plain: only the lock orders the increments
  constexpr int threads = 4;
  constexpr int per_thread = 100'000;
  std::vector<std::jthread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        std::lock_guard guard{mtx};
        ++counter;
      }
    });
  workers.clear();
  EXPECT_EQ(counter, std::uint64_t{threads} * per_thread);
}

TEST(AdaptiveMutex, TryLockFailsWhileHeldAndAWaiterGetsItOnceFreed) {
  adaptive_mutex mtx;
  mtx.lock();
  std::atomic<bool> got{false};
  std::latch started{1};
  std::jthread waiter{[&] {
    EXPECT_FALSE(mtx.try_lock());
    started.count_down();
    std::lock_guard guard{mtx}; // spins, then sleeps until the holder releases it
    got.store(true);
  }};
  started.wait();
  EXPECT_FALSE(got.load());
  mtx.unlock();
  waiter.join();
  EXPECT_TRUE(got.load());
  EXPECT_TRUE(mtx.try_lock());
  mtx.unlock();
}

TEST(ShardedById, EachIdHasOneShardAndTheTalliesSumOverThem) {
  sharded_by_id<int> table;
  constexpr caf::actor_id ids = 1000;
  for (caf::actor_id id = 1; id <= ids; ++id) {
    auto& s = table.of(id);
    EXPECT_EQ(&s, &table.of(id));
    std::lock_guard guard{s.mtx};
    s.entries.try_emplace(id, static_cast<int>(id));
    s.tally.fetch_add(1);
  }
  std::size_t total = 0;
  std::size_t entries = 0;
  for (auto& s : table.shards()) {
    EXPECT_GT(s.tally.load(), 0u) << "every shard holds some of 1,000 consecutive ids";
    total += s.tally.load();
    entries += s.entries.size();
  }
  EXPECT_EQ(total, ids);
  EXPECT_EQ(entries, ids);
}

} // namespace
