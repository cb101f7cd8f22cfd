// The lock-free ring the pool queues jobs in, and the block recycling built on it (component
// scheduler: per-job reply sinks, per-actor storage and the tables keyed by actor id use it).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "troupe/scheduler/mpmc_ring.hpp"
#include "troupe/scheduler/recycled_allocator.hpp"
#include "troupe/scheduler/recycled_blocks.hpp"

// (With a queue of one, the ring took a full cell for a free one: the third job overwrote the
// second, and the pool's worker then spun forever looking for the overwritten one.)
TEST(mpmc_ring, ACapacityOfOneHoldsOneValueAtATime) {
  troupe::mpmc_ring<int> ring{1};
  int a = 1;
  int b = 2;
  ASSERT_TRUE(ring.try_push(a));
  EXPECT_FALSE(ring.try_push(b)) << "a full ring of one took a second value";
  std::optional<int> out;
  ASSERT_TRUE(ring.try_pop(out));
  EXPECT_EQ(*out, 1);
  EXPECT_FALSE(ring.try_pop(out));
  EXPECT_TRUE(ring.empty());
  ASSERT_TRUE(ring.try_push(b));
  EXPECT_FALSE(ring.try_push(a));
  ASSERT_TRUE(ring.try_pop(out));
  EXPECT_EQ(*out, 2);
}

TEST(mpmc_ring, EveryCapacityKeepsOrderAndRefusesWhenFull) {
  // Powers of two index by mask and shift, the others by division.
  for (std::size_t cap : {1u, 2u, 3u, 8u, 12u, 1024u}) {
    troupe::mpmc_ring<std::size_t> ring{cap};
    std::size_t next_in = 0;
    std::size_t next_out = 0;
    for (int lap = 0; lap < 5; ++lap) {
      for (std::size_t i = 0; i < cap; ++i) {
        auto v = next_in++;
        ASSERT_TRUE(ring.try_push(v)) << "capacity " << cap;
      }
      auto extra = next_in;
      EXPECT_FALSE(ring.try_push(extra)) << "capacity " << cap;
      EXPECT_EQ(ring.size(), cap);
      EXPECT_EQ(ring.ready(), cap);
      std::optional<std::size_t> out;
      for (std::size_t i = 0; i < cap; ++i) {
        ASSERT_TRUE(ring.try_pop(out));
        EXPECT_EQ(*out, next_out++) << "capacity " << cap;
      }
      EXPECT_FALSE(ring.try_pop(out));
      EXPECT_EQ(ring.ready(), 0u);
    }
  }
}

namespace {

struct recycled_thing : troupe::recycled_blocks<recycled_thing, 4> {
  std::uint64_t payload[6] = {};
};

} // namespace

TEST(recycled_blocks, ABlockFreedOnAnotherThreadServesTheNextAllocation) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer builds allocate from malloc every time";
#else
  auto first = std::make_unique<recycled_thing>();
  void* block = first.get();
  std::thread{[owned = std::move(first)]() mutable { owned.reset(); }}.join();
  auto second = std::make_unique<recycled_thing>();
  EXPECT_EQ(static_cast<void*>(second.get()), block);
  second.reset();

  // More blocks than it keeps: each one is its own, and the surplus goes back to malloc.
  std::vector<std::unique_ptr<recycled_thing>> many;
  std::set<void*> distinct;
  for (std::uint64_t i = 0; i < 10; ++i) {
    many.push_back(std::make_unique<recycled_thing>());
    many.back()->payload[5] = i;
    distinct.insert(many.back().get());
  }
  EXPECT_EQ(distinct.size(), 10u);
  for (std::uint64_t i = 0; i < 10; ++i)
    EXPECT_EQ(many[i]->payload[5], i);
  many.clear(); // four kept in this thread's list, four in the shared ring, two freed
  std::set<void*> reused;
  for (int i = 0; i < 4; ++i) {
    many.push_back(std::make_unique<recycled_thing>());
    reused.insert(many.back().get());
  }
  for (auto* p : reused)
    EXPECT_TRUE(distinct.contains(p)) << "the kept blocks serve the next allocations";
#endif
}

namespace {

// A queue's two ends sit on their own cache lines: such a class is allocated aligned.
struct alignas(64) aligned_thing : troupe::recycled_blocks<aligned_thing, 4> {
  std::uint64_t payload[3] = {};
};

bool on_cache_line(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 64 == 0;
}

} // namespace

TEST(recycled_blocks, AnAlignedClassGetsAlignedBlocksAndItsKeptBlockBack) {
  auto before = aligned_thing::kept_now();
  auto first = std::make_unique<aligned_thing>();
  EXPECT_TRUE(on_cache_line(first.get()));
  void* block = first.get();
  first.reset();
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(aligned_thing::kept_now(), 0u) << "AddressSanitizer builds keep nothing";
  (void)before;
  (void)block;
#else
  EXPECT_EQ(aligned_thing::kept_now(), before + 1);
  auto second = std::make_unique<aligned_thing>();
  EXPECT_EQ(static_cast<void*>(second.get()), block);
  EXPECT_TRUE(on_cache_line(second.get()));
  EXPECT_EQ(aligned_thing::kept_now(), before);
#endif
}

// -- recycled_allocator ------------------------------------------------------------------------

namespace {

struct shared_thing {
  explicit shared_thing(int v) : value(v) {}
  int value;
  char payload[100] = {};
};

struct other_thing {
  double a = 0;
};

} // namespace

// A typed mailbox's core is made so (spawn_mailbox): the core and its reference counts in one
// block, which goes back to the tag's ring when the last reference goes and serves the next one.
TEST(recycled_allocator, AllocateSharedTakesTheBlockTheLastOneLeft) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer builds allocate from malloc every time";
#else
  using alloc = troupe::recycled_allocator<shared_thing>;
  const auto before = alloc::kept_now();
  auto first = std::allocate_shared<shared_thing>(alloc{}, 7);
  EXPECT_EQ(first->value, 7);
  const void* first_block = first.get();
  std::weak_ptr<shared_thing> watch = first;
  first.reset();
  EXPECT_EQ(alloc::kept_now(), before) << "a weak reference keeps the block";
  watch.reset();
  EXPECT_EQ(alloc::kept_now(), before + 1);
  auto second = std::allocate_shared<shared_thing>(alloc{}, 8);
  EXPECT_EQ(alloc::kept_now(), before);
  EXPECT_EQ(static_cast<const void*>(second.get()), first_block);
  EXPECT_EQ(second->value, 8);
#endif
}

// The ring holds one type's blocks: another type through the same tag, and arrays, use
// std::allocator, so no block of the wrong size is ever handed out.
TEST(recycled_allocator, OnlyTheFirstTypeOfATagIsRecycled) {
  using tagged = troupe::recycled_allocator<other_thing>;
  using first_type = std::allocator_traits<tagged>::rebind_alloc<std::pair<long, long>>;
  using second_type = std::allocator_traits<tagged>::rebind_alloc<std::array<char, 300>>;
  first_type first;
  second_type second;
  auto* a = first.allocate(1);
  first.deallocate(a, 1); // claims the ring for std::pair<long, long>
  const auto kept = tagged::kept_now();
  auto* b = second.allocate(1);
  second.deallocate(b, 1);
  auto* many = first.allocate(3);
  first.deallocate(many, 3);
  EXPECT_EQ(tagged::kept_now(), kept) << "a block of another type or an array was kept";
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(kept, 1u);
  auto* again = first.allocate(1);
  EXPECT_EQ(again, a) << "the kept block of the first type serves it again";
  first.deallocate(again, 1);
#endif
}
