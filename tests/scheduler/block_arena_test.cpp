// Troupe's block arena (component scheduler): the size-classed chunks that recycled blocks come
// from when no freed one waits. Each test uses a block size no other code of this binary
// allocates, so the class's figures are its own.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/address_space.hpp"
#include "troupe/scheduler/block_arena.hpp"
#include "troupe/scheduler/mpmc_ring.hpp"
#include "troupe/scheduler/recycled_allocator.hpp"
#include "troupe/scheduler/recycled_blocks.hpp"

using troupe::block_arena;

namespace {

// How many blocks of `bytes` (a multiple of the granule) one chunk holds.
constexpr std::size_t blocks_per_chunk(std::size_t bytes) {
  return (block_arena::chunk_bytes - 64) / bytes;
}

} // namespace

TEST(block_arena, BlocksAreDistinctAlignedAndUsableAcrossChunks) {
  constexpr std::size_t size = 3000; // class 3008
  const auto before = block_arena::usage_of(size, 16);
  const std::size_t n = 2 * blocks_per_chunk(3008) + 10; // three chunks
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < n; ++i) {
    blocks.push_back(block_arena::allocate(size, 16));
    std::memset(blocks.back(), static_cast<int>(i & 0xff), size);
  }
  std::set<void*> distinct(blocks.begin(), blocks.end());
  EXPECT_EQ(distinct.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(blocks[i]) % 16, 0u);
    // No block overlaps the next one: each still holds its own pattern.
    EXPECT_EQ(static_cast<unsigned char*>(blocks[i])[size - 1], i & 0xff) << "block " << i;
  }
  auto used = block_arena::usage_of(size, 16);
  EXPECT_EQ(used.chunks, before.chunks + 3);
  EXPECT_EQ(used.live_blocks, before.live_blocks + n);
  // Only the first chunk of a class asks for small pages.
  EXPECT_EQ(used.huge_chunks, used.chunks - 1);
  for (void* block : blocks)
    block_arena::release(block, size, 16);
  EXPECT_EQ(block_arena::usage_of(size, 16).live_blocks, before.live_blocks);
}

TEST(block_arena, AChunkWhoseBlocksAreAllBackIsKeptAsTheSpareOrUnmapped) {
  constexpr std::size_t size = 2900; // class 2912
  ASSERT_EQ(block_arena::usage_of(size, 16).chunks, 0u) << "the class is this test's own";
  const std::size_t per_chunk = blocks_per_chunk(2912);
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < 4 * per_chunk; ++i) // exactly four full chunks
    blocks.push_back(block_arena::allocate(size, 16));
  EXPECT_EQ(block_arena::usage_of(size, 16).chunks, 4u);
  for (void* block : blocks)
    block_arena::release(block, size, 16);
  // The chunk being carved stays, one empty chunk stays as the spare, the other two are gone.
  auto idle = block_arena::usage_of(size, 16);
  EXPECT_EQ(idle.chunks, 2u);
  EXPECT_EQ(idle.live_blocks, 0u);
  // The same burst again maps only what it lacks: the kept chunks serve first.
  blocks.clear();
  for (std::size_t i = 0; i < 4 * per_chunk; ++i)
    blocks.push_back(block_arena::allocate(size, 16));
  EXPECT_EQ(block_arena::usage_of(size, 16).chunks, 4u);
  for (void* block : blocks)
    block_arena::release(block, size, 16);
  EXPECT_EQ(block_arena::usage_of(size, 16).chunks, 2u);
}

TEST(block_arena, AReleasedBlockServesTheNextAllocationOfItsClass) {
  constexpr std::size_t size = 2800; // class 2800
  void* first = block_arena::allocate(size, 16);
  void* second = block_arena::allocate(size, 16);
  block_arena::release(first, size, 16);
  void* third = block_arena::allocate(size, 16);
  EXPECT_EQ(third, first) << "a released block is in memory already; it goes first";
  block_arena::release(second, size, 16);
  block_arena::release(third, size, 16);
}

TEST(block_arena, OverAlignedBlocksGetTheirAlignment) {
  constexpr std::size_t size = 2700; // with alignment 64: class 2752
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) {
    blocks.push_back(block_arena::allocate(size, 64));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(blocks.back()) % 64, 0u) << "block " << i;
  }
  for (void* block : blocks)
    block_arena::release(block, size, 64);
  EXPECT_FALSE(block_arena::serves(size, 128));
  EXPECT_FALSE(block_arena::serves(block_arena::max_block + 1, 16));
  EXPECT_TRUE(block_arena::serves(block_arena::max_block, 64));
}

// One thread allocates, the other releases (a spawner and the worker that ends its actors),
// across chunk boundaries: every block arrives once, and the figures add up.
TEST(block_arena, BlocksMadeOnOneThreadAndReleasedOnAnotherAddUp) {
  constexpr std::size_t size = 2600; // class 2608
  const std::size_t n = 3 * blocks_per_chunk(2608);
  troupe::mpmc_ring<void*> handoff{256};
  std::atomic<std::size_t> released{0};
  std::thread releaser{[&] {
    std::optional<void*> block;
    while (released.load(std::memory_order_relaxed) < n) {
      if (!handoff.try_pop(block)) {
        std::this_thread::yield();
        continue;
      }
      block_arena::release(*block, size, 16);
      released.fetch_add(1, std::memory_order_relaxed);
    }
  }};
  for (std::size_t i = 0; i < n; ++i) {
    void* block = block_arena::allocate(size, 16);
    *static_cast<std::size_t*>(block) = i;
    while (!handoff.try_push(block))
      std::this_thread::yield();
  }
  releaser.join();
  auto after = block_arena::usage_of(size, 16);
  EXPECT_EQ(after.live_blocks, 0u);
  EXPECT_LE(after.chunks, 2u) << "the carving chunk and the spare at most";
}

// Two threads carve one class at once across chunk boundaries. A chunk is mapped (and its page
// fault taken) outside the class's lock, so both may map one at the same moment: the chunk that
// loses becomes the spare or goes back. Every block is handed out once, and no chunk is left over
// beyond the one spare.
TEST(block_arena, ThreadsThatMapAChunkAtOnceKeepOneAndSpareOrReturnTheOther) {
  constexpr std::size_t size = 3100; // class 3104
  ASSERT_EQ(block_arena::usage_of(size, 16).chunks, 0u) << "the class is this test's own";
  const std::size_t per_thread = 2 * blocks_per_chunk(3104);
  std::array<std::vector<void*>, 2> blocks;
  std::atomic<int> ready{0};
  auto carve = [&](std::vector<void*>& mine, unsigned char mark) {
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    for (std::size_t i = 0; i < per_thread; ++i) {
      mine.push_back(block_arena::allocate(size, 16));
      std::memset(mine.back(), mark, size);
    }
  };
  std::thread other{carve, std::ref(blocks[1]), 0xb2};
  carve(blocks[0], 0xa1);
  other.join();
  std::set<void*> distinct;
  for (std::size_t t = 0; t < 2; ++t)
    for (void* block : blocks[t]) {
      distinct.insert(block);
      // No other thread's block overlaps it.
      EXPECT_EQ(static_cast<unsigned char*>(block)[0], t == 0 ? 0xa1 : 0xb2);
      EXPECT_EQ(static_cast<unsigned char*>(block)[size - 1], t == 0 ? 0xa1 : 0xb2);
    }
  EXPECT_EQ(distinct.size(), 2 * per_thread);
  auto used = block_arena::usage_of(size, 16);
  EXPECT_EQ(used.live_blocks, 2 * per_thread);
  EXPECT_GE(used.chunks, 4u) << "four chunks full";
  EXPECT_LE(used.chunks, 5u) << "and one spare at most";
  for (auto& mine : blocks)
    for (void* block : mine)
      block_arena::release(block, size, 16);
  auto idle = block_arena::usage_of(size, 16);
  EXPECT_EQ(idle.live_blocks, 0u);
  EXPECT_LE(idle.chunks, 2u) << "the chunk being carved and the spare";
}

namespace {

struct arena_thing : troupe::recycled_blocks<arena_thing, 2> {
  std::array<std::byte, 2500> payload{};
};

struct arena_core {
  std::array<std::byte, 2400> payload{};
};

} // namespace

// recycled_blocks and recycled_allocator fall back on the arena (AddressSanitizer builds: on
// malloc, so that a use after free is still reported).
TEST(block_arena, RecycledBlocksComeFromTheArenaWhenTheirRingIsEmpty) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer builds allocate recycled blocks from malloc";
#else
  const auto before = block_arena::usage_of(sizeof(arena_thing), alignof(arena_thing));
  std::vector<std::unique_ptr<arena_thing>> things;
  for (int i = 0; i < 10; ++i)
    things.push_back(std::make_unique<arena_thing>());
  EXPECT_EQ(block_arena::usage_of(sizeof(arena_thing), alignof(arena_thing)).live_blocks,
            before.live_blocks + 10);
  // Two wait in this thread's list and two in the shared ring (block_recycler.hpp), six go back
  // to the arena.
  things.clear();
  EXPECT_EQ(block_arena::usage_of(sizeof(arena_thing), alignof(arena_thing)).live_blocks,
            before.live_blocks + 4);

  // std::allocate_shared's block: the core, a vtable pointer and two counts (class 2416).
  using alloc = troupe::recycled_allocator<arena_core>;
  const auto shared_before = block_arena::usage_of(2416, 16).live_blocks;
  auto core = std::allocate_shared<arena_core>(alloc{});
  EXPECT_EQ(block_arena::usage_of(2416, 16).live_blocks, shared_before + 1);
  core.reset(); // kept by the tag's ring: still handed out, as far as the arena knows
  EXPECT_EQ(alloc::kept_now(), 1u);
#endif
}

// arena_new: blocks the arena serves come from it (except under AddressSanitizer); larger or
// more aligned ones from operator new, with their alignment; each goes back where it came from.
TEST(block_arena, ArenaNewTakesWhatTheArenaServesAndOperatorNewTheRest) {
  constexpr std::size_t size = 2500; // class 2512
  const auto before = block_arena::usage_of(size, 16);
  void* small = troupe::arena_new(size, 16);
  std::memset(small, 0x5a, size);
  EXPECT_EQ(block_arena::usage_of(size, 16).live_blocks,
            before.live_blocks + (troupe::arena_serves(size, 16) ? 1 : 0));
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_FALSE(troupe::arena_serves(size, 16));
#else
  EXPECT_TRUE(troupe::arena_serves(size, 16));
#endif
  EXPECT_FALSE(troupe::arena_serves(block_arena::max_block + 1, 16));
  EXPECT_FALSE(troupe::arena_serves(64, 128));
  void* large = troupe::arena_new(block_arena::max_block + 1, 16);
  void* aligned = troupe::arena_new(64, 128);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % 128, 0u);
  std::memset(large, 0x5a, block_arena::max_block + 1);
  std::memset(aligned, 0x5a, 64);
  EXPECT_EQ(block_arena::usage_of(size, 16).live_blocks,
            before.live_blocks + (troupe::arena_serves(size, 16) ? 1 : 0));
  troupe::arena_delete(aligned, 64, 128);
  troupe::arena_delete(large, block_arena::max_block + 1, 16);
  troupe::arena_delete(small, size, 16);
  EXPECT_EQ(block_arena::usage_of(size, 16).live_blocks, before.live_blocks);
}

// When the system has no memory for a class's next chunk, allocate() throws std::bad_alloc and
// leaves the class as it was: once memory is there again, the next allocation succeeds. Runs in
// a child process (a death test), since it takes the address space limit away.
TEST(block_arenaDeathTest, NoMemoryForANewChunkThrowsBadAllocAndLeavesTheClassUsable) {
  if (auto* why = troupe::test::why_address_space_cannot_be_taken())
    GTEST_SKIP() << why;
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        constexpr std::size_t size = 2384; // class 2384: no other test of this binary uses it
        if (block_arena::usage_of(size, 16).chunks != 0)
          std::_Exit(2);
        bool threw = false;
        {
          troupe::test::no_more_address_space tight;
          try {
            (void)block_arena::allocate(size, 16);
          } catch (const std::bad_alloc&) {
            threw = true;
          }
        }
        if (!threw || block_arena::usage_of(size, 16).chunks != 0)
          std::_Exit(3);
        void* block = block_arena::allocate(size, 16);
        std::memset(block, 0x5a, size);
        const bool counted = block_arena::usage_of(size, 16).live_blocks == 1;
        block_arena::release(block, size, 16);
        std::_Exit(counted ? 0 : 4);
      },
      ::testing::ExitedWithCode(0), "");
}
