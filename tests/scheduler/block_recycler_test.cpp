// block_recycler: freed blocks kept in the freeing thread's own list, handed to a bounded shared
// ring a batch at a time, and handed over when a thread ends (component scheduler).

#include <array>
#include <atomic>
#include <cstddef>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "troupe/scheduler/block_recycler.hpp"

namespace {

// Blocks for the tests: plain storage, never freed, one set per test (a recycler links the
// blocks it keeps through their first bytes); `released` counts what a recycler gave back
// through the release function.
struct block {
  alignas(16) std::array<std::byte, 32> bytes;
};

template <class Tag>
std::array<block, 128> storage;

template <class Tag>
void* nth(std::size_t i) {
  return &storage<Tag>.at(i);
}

std::atomic<int> released{0};

void count_release(void* /*block*/) noexcept {
  released.fetch_add(1);
}

} // namespace

TEST(block_recycler, AThreadTakesBackWhatItKeptLastFirst) {
  struct tag;
  using recycler = troupe::block_recycler<tag, 64>;
  EXPECT_EQ(recycler::take(), nullptr) << "nothing kept yet";
  for (std::size_t i = 0; i < 3; ++i)
    ASSERT_TRUE(recycler::keep(nth<tag>(i), count_release));
  EXPECT_EQ(recycler::kept_now(), 3u);
  EXPECT_EQ(recycler::take(), nth<tag>(2));
  EXPECT_EQ(recycler::take(), nth<tag>(1));
  EXPECT_EQ(recycler::take(), nth<tag>(0));
  EXPECT_EQ(recycler::take(), nullptr);
  EXPECT_EQ(recycler::kept_now(), 0u);
}

TEST(block_recycler, AFullBatchMovesToTheSharedRingWhereAnotherThreadTakesIt) {
  struct tag;
  using recycler = troupe::block_recycler<tag, 64>;
  static_assert(recycler::batch == 32);
  // The keeping thread stays alive until the checks are done, so that only its full batch,
  // not its thread's end, can have moved the blocks.
  std::atomic<bool> kept{false};
  std::atomic<bool> checked{false};
  std::thread keeper{[&] {
    for (std::size_t i = 0; i < recycler::batch + 1; ++i)
      EXPECT_TRUE(recycler::keep(nth<tag>(i), count_release));
    kept.store(true);
    while (!checked.load())
      std::this_thread::yield();
  }};
  while (!kept.load())
    std::this_thread::yield();
  EXPECT_EQ(recycler::kept_now(), recycler::batch) << "the first batch is in the ring";
  std::set<void*> taken;
  for (std::size_t i = 0; i < recycler::batch; ++i) {
    void* b = recycler::take();
    ASSERT_NE(b, nullptr) << "take " << i;
    taken.insert(b);
  }
  EXPECT_EQ(recycler::take(), nullptr) << "the last block is still in the keeper's own list";
  checked.store(true);
  keeper.join();
  std::set<void*> first_batch;
  for (std::size_t i = 0; i < recycler::batch; ++i)
    first_batch.insert(nth<tag>(i));
  EXPECT_EQ(taken, first_batch);
  // The keeper's end handed over the block it still held.
  EXPECT_EQ(recycler::take(), nth<tag>(recycler::batch));
  EXPECT_EQ(recycler::take(), nullptr);
}

TEST(block_recycler, AThreadThatEndsHandsItsBlocksOver) {
  struct tag;
  using recycler = troupe::block_recycler<tag, 64>;
  std::thread{[] {
    for (std::size_t i = 0; i < 3; ++i)
      EXPECT_TRUE(recycler::keep(nth<tag>(i), count_release));
  }}.join();
  EXPECT_EQ(recycler::kept_now(), 3u);
  std::set<void*> taken;
  for (int i = 0; i < 3; ++i)
    taken.insert(recycler::take());
  EXPECT_EQ(taken, (std::set<void*>{nth<tag>(0), nth<tag>(1), nth<tag>(2)}));
  EXPECT_EQ(recycler::take(), nullptr);

  // A thread that only took blocks hands over what it did not use, too.
  for (std::size_t i = 0; i < 3; ++i)
    ASSERT_TRUE(recycler::keep(nth<tag>(i), count_release));
  std::thread{[] {
    for (std::size_t i = 0; i < recycler::batch + 1; ++i)
      EXPECT_TRUE(recycler::keep(nth<tag>(10 + i), count_release));
  }}.join(); // a batch in the ring, one more handed over at the end: two bundles
  std::thread{[] { EXPECT_NE(recycler::take(), nullptr); }}.join();
  EXPECT_EQ(recycler::kept_now(), 3u + recycler::batch) << "the taker's end gave back the rest";
}

TEST(block_recycler, BlocksBeyondTheBoundsAreGivenBackNotKept) {
  struct tag;
  using recycler = troupe::block_recycler<tag, 4>; // a batch of 4, a ring of one batch
  static_assert(recycler::batch == 4);
  const int released_before = released.load();
  std::thread{[] {
    for (std::size_t i = 0; i < 8; ++i)
      EXPECT_TRUE(recycler::keep(nth<tag>(i), count_release)) << "block " << i;
    EXPECT_FALSE(recycler::keep(nth<tag>(8), count_release)) << "list and ring full";
  }}.join();
  // The thread's full list found the ring full at its end: given back, one by one.
  EXPECT_EQ(released.load() - released_before, 4);
  EXPECT_EQ(recycler::kept_now(), 4u);
  std::set<void*> taken;
  for (int i = 0; i < 4; ++i)
    taken.insert(recycler::take());
  EXPECT_EQ(taken, (std::set<void*>{nth<tag>(0), nth<tag>(1), nth<tag>(2), nth<tag>(3)}));
}

namespace {

// Frees a block from a thread_local destructor that runs after the recycler's own (thread_local
// objects go in the reverse order of their construction, and this one is made first).
template <class Recycler>
struct late_freer {
  void* block = nullptr;
  std::atomic<int>* kept_late = nullptr;
  std::atomic<int>* taken_late = nullptr;
  ~late_freer() {
    kept_late->store(Recycler::keep(block, count_release) ? 1 : 0);
    taken_late->store(Recycler::take() != nullptr ? 1 : 0);
  }
};

} // namespace

// A block freed after the thread's list went to the ring is given back to its caller, not kept
// in a list nobody would hand over again; nor does a take that late refill one.
TEST(block_recycler, AThreadEndingKeepsNothingAfterItsListWentToTheRing) {
  struct tag;
  using recycler = troupe::block_recycler<tag, 64>;
  std::atomic<int> kept_late{-1};
  std::atomic<int> taken_late{-1};
  std::thread{[&] {
    static thread_local late_freer<recycler> freer;
    freer.block = nth<tag>(1);
    freer.kept_late = &kept_late;
    freer.taken_late = &taken_late;
    EXPECT_TRUE(recycler::keep(nth<tag>(0), count_release)); // the recycler's watch, made second
  }}.join();
  EXPECT_EQ(kept_late.load(), 0) << "a block freed after the hand-over was kept";
  EXPECT_EQ(taken_late.load(), 0) << "a take after the hand-over refilled the list";
  EXPECT_EQ(recycler::kept_now(), 1u) << "the block kept before the thread's end is in the ring";
  EXPECT_EQ(recycler::take(), nth<tag>(0));
}

// One thread frees, another allocates, as one worker ends actors while another spawns them: no
// block is handed out twice while in use, and none is lost.
TEST(block_recycler, AFreeingAndAnAllocatingThreadNeverShareABlock) {
  struct tag;
  using recycler = troupe::block_recycler<tag, 64>;
  constexpr std::size_t blocks = 128;
  constexpr int rounds = 20'000;
  std::array<std::atomic<bool>, blocks> in_use{};
  auto index_of = [](void* b) {
    return static_cast<std::size_t>(static_cast<block*>(b) - storage<tag>.data());
  };
  const int released_before = released.load();
  // The allocating thread hands blocks to the freeing thread through this bounded queue.
  std::array<std::atomic<void*>, blocks> handed{};
  std::atomic<int> duplicates{0};
  std::atomic<bool> done{false};
  std::thread freer{[&] {
    for (;;) {
      bool any = false;
      for (auto& slot : handed)
        if (void* b = slot.exchange(nullptr)) {
          any = true;
          in_use[index_of(b)].store(false);
          if (!recycler::keep(b, count_release))
            count_release(b);
        }
      if (!any && done.load())
        return;
      std::this_thread::yield();
    }
  }};
  std::size_t next_fresh = 0;
  int handed_out = 0;
  for (int round = 0; round < rounds; ++round) {
    void* b = recycler::take();
    if (b == nullptr) {
      if (next_fresh == blocks) {
        std::this_thread::yield();
        continue;
      }
      b = nth<tag>(next_fresh++);
    }
    if (in_use[index_of(b)].exchange(true))
      duplicates.fetch_add(1);
    ++handed_out;
    auto& slot = handed[static_cast<std::size_t>(round) % blocks];
    void* expected = nullptr;
    while (!slot.compare_exchange_weak(expected, b)) {
      expected = nullptr;
      std::this_thread::yield();
    }
  }
  done.store(true);
  freer.join();
  EXPECT_EQ(duplicates.load(), 0);
  EXPECT_GT(handed_out, static_cast<int>(blocks)) << "blocks went round";
  // None lost: every block made is kept (the freer's end handed over its list) or given back.
  EXPECT_EQ(recycler::kept_now() + static_cast<std::size_t>(released.load() - released_before),
            next_fresh);
}
