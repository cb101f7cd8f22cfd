#include <array>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <malloc.h>

#include "support/address_space.hpp"
#include "troupe/scheduler/id_map.hpp"

TEST(id_map, FindsWhatWasInsertedAndNotWhatWasErased) {
  troupe::id_map<long> m;
  EXPECT_EQ(m.find(1), nullptr);
  EXPECT_FALSE(m.erase(1));
  EXPECT_EQ(m.capacity(), 0u) << "an empty map allocates nothing";
  auto [v, inserted] = m.try_emplace(1, 10);
  EXPECT_TRUE(inserted);
  EXPECT_EQ(*v, 10);
  auto [again, inserted_again] = m.try_emplace(1, 20);
  EXPECT_FALSE(inserted_again);
  EXPECT_EQ(*again, 10) << "try_emplace leaves an existing value alone";
  m[0] = 5; // caf::invalid_actor_id is a key like any other
  EXPECT_TRUE(m.contains(0));
  EXPECT_EQ(m.size(), 2u);
  EXPECT_TRUE(m.erase(1));
  EXPECT_FALSE(m.contains(1));
  EXPECT_EQ(*m.find(0), 5);
  EXPECT_EQ(m.size(), 1u);
}

// Random inserts and erases against std::map, with ids as a shard sees them (every 16th) and
// dense ones, in a map told either stride: Robin Hood order and the backward shift of every
// erase keep every id findable and every absent one absent.
template <class Map>
void agree_with_a_reference_map(caf::actor_id stride) {
  Map m;
  std::map<caf::actor_id, long> reference;
  std::mt19937_64 rng{stride};
  for (int step = 0; step < 100'000; ++step) {
    caf::actor_id id = (rng() % 5000) * stride + 3;
    if (rng() % 3 == 0) {
      ASSERT_EQ(m.erase(id), reference.erase(id) == 1) << "step " << step;
    } else {
      long value = static_cast<long>(rng() % 1000);
      auto [stored, inserted] = m.try_emplace(id, value);
      auto [expected, inserted_too] = reference.emplace(id, value);
      ASSERT_EQ(inserted, inserted_too) << "step " << step;
      ASSERT_EQ(*stored, expected->second) << "step " << step;
    }
    ASSERT_EQ(m.size(), reference.size());
  }
  std::map<caf::actor_id, long> seen;
  m.for_each([&](caf::actor_id id, long& v) { EXPECT_TRUE(seen.emplace(id, v).second); });
  EXPECT_EQ(seen, reference);
  for (caf::actor_id id = 0; id < 5000 * stride + 3; ++id)
    ASSERT_EQ(m.contains(id), reference.count(id) == 1) << id;
}

TEST(id_map, AgreesWithAReferenceMapThroughRandomInsertsAndErases) {
  for (caf::actor_id stride : {caf::actor_id{1}, caf::actor_id{16}}) {
    agree_with_a_reference_map<troupe::id_map<long>>(stride);
    agree_with_a_reference_map<troupe::id_map<long, 16>>(stride);
  }
}

// Ids whose gaps are multiples of the capacity would share one home slot without the fold of
// the higher bits; they must still be found, and erased, one by one.
TEST(id_map, IdsThatShareTheirLowBitsAreFoundAndErased) {
  troupe::id_map<long> m;
  for (caf::actor_id k = 0; k < 4096; ++k)
    m[k << 20] = static_cast<long>(k);
  for (caf::actor_id k = 0; k < 4096; ++k)
    ASSERT_EQ(*m.find(k << 20), static_cast<long>(k));
  for (caf::actor_id k = 0; k < 4096; k += 2)
    ASSERT_TRUE(m.erase(k << 20));
  EXPECT_EQ(m.size(), 2048u);
  for (caf::actor_id k = 0; k < 4096; ++k)
    ASSERT_EQ(m.contains(k << 20), k % 2 == 1) << k;
}

TEST(id_map, GrowsForAMillionIdsAndGivesTheMemoryBackWhenTheyGo) {
  troupe::id_map<long> m;
  constexpr caf::actor_id n = 1'000'000;
  for (caf::actor_id id = 1; id <= n; ++id)
    m[id] = static_cast<long>(id);
  EXPECT_EQ(m.size(), n);
  EXPECT_LE(m.size() * 8, m.capacity() * 7) << "at most 7/8 full";
  long sum = 0;
  m.for_each([&](caf::actor_id, long& v) { sum += v; });
  EXPECT_EQ(sum, static_cast<long>(n * (n + 1) / 2));
  for (caf::actor_id id = 1; id <= n; ++id)
    ASSERT_TRUE(m.erase(id)) << id;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.capacity(), 16u) << "the array halves as the map empties";
}

// The tracker's and the registry's values own things (a child table, a state string): an
// erase releases them then, not when the slot is reused; values shifted by an erase keep theirs.
TEST(id_map, AnEraseReleasesTheValueAtOnceAndShiftedValuesKeepTheirs) {
  troupe::id_map<std::shared_ptr<caf::actor_id>> m;
  std::vector<std::weak_ptr<caf::actor_id>> watch;
  for (caf::actor_id id = 0; id < 100; ++id) {
    auto value = std::make_shared<caf::actor_id>(id);
    watch.push_back(value);
    m.try_emplace(id, std::move(value));
  }
  for (caf::actor_id id = 0; id < 100; id += 2)
    ASSERT_TRUE(m.erase(id));
  for (caf::actor_id id = 0; id < 100; ++id)
    EXPECT_EQ(watch[id].expired(), id % 2 == 0) << id;
  int seen = 0;
  m.for_each([&](caf::actor_id id, std::shared_ptr<caf::actor_id>& v) {
    EXPECT_EQ(*v, id) << "a value moved without its id";
    ++seen;
  });
  EXPECT_EQ(seen, 50);
}

namespace {

// The child of the death test below: exits with 0 when every step went as it should, with the
// number of the first step that did not otherwise.
[[noreturn]] void grow_and_shrink_without_memory() {
  // Arrays of this size are always mapped on their own (no reuse of freed heap).
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  using value = std::array<std::uint64_t, 32>; // 256 bytes: the values array is mapped
  troupe::id_map<value> m;
  caf::actor_id n = 0;
  auto fill = [&n] { return value{n, n + 1}; };
  // Up to the last insert before the table doubles, with at least 1024 slots.
  while (m.capacity() < 1024 || (m.size() + 1) * 8 <= m.capacity() * 7) {
    m.try_emplace(n, fill());
    ++n;
  }
  const std::size_t slots = m.capacity();
  auto intact = [&m](caf::actor_id from, caf::actor_id to) {
    for (caf::actor_id id = from; id < to; ++id)
      if (auto* v = m.find(id); v == nullptr || (*v)[0] != id || (*v)[1] != id + 1)
        return false;
    return m.size() == to - from;
  };
  bool threw = false;
  {
    troupe::test::no_more_address_space tight;
    try {
      m.try_emplace(n, fill());
    } catch (const std::bad_alloc&) {
      threw = true;
    }
  }
  if (!threw)
    std::_Exit(2);
  if (m.capacity() != slots || m.contains(n) || !intact(0, n))
    std::_Exit(3);
  m.try_emplace(n, fill()); // memory is back
  ++n;
  if (m.capacity() != 2 * slots || !intact(0, n))
    std::_Exit(4);
  // Down to below an eighth of the slots: every erase there would halve the arrays.
  caf::actor_id first = 0;
  {
    troupe::test::no_more_address_space tight;
    while (m.size() * 8 >= m.capacity() - 8)
      if (!m.erase(first++))
        std::_Exit(5);
  }
  if (m.capacity() != 2 * slots || !intact(first, n))
    std::_Exit(6);
  if (!m.erase(first++) || m.capacity() != slots || !intact(first, n)) // memory is back
    std::_Exit(7);
  std::_Exit(0);
}

} // namespace

// When the system has no memory for larger arrays, an insert that needs them throws
// std::bad_alloc and leaves the map as it was, and an erase that would halve the arrays keeps
// them; once memory is there again both go on. Runs in a child process (a death test), since it
// takes the address space limit away.
TEST(id_mapDeathTest, WithoutMemoryAGrowingInsertThrowsAndAShrinkingEraseKeepsTheArrays) {
  if (auto* why = troupe::test::why_address_space_cannot_be_taken())
    GTEST_SKIP() << why;
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(grow_and_shrink_without_memory(), ::testing::ExitedWithCode(0), "");
}
