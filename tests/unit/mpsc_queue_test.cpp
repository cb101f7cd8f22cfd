#include "troupe/core/laned_mpsc_queue.hpp"
#include "troupe/core/unbounded_mpsc_queue.hpp"
#include "troupe/mailbox/detail/bounded_mpsc_queue.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/deadline.hpp"

namespace {

using troupe::laned_mpsc_queue;
using troupe::unbounded_mpsc_queue;
using troupe::detail::bounded_mpsc_queue;

// -- helpers
// -------------------------------------------------------------------------------------

using cancel_flag = std::atomic<bool>;

/// Runs `body(cancelled)` on its own thread and fails the test if it takes
/// longer than `limit`. On expiry `cancelled` is raised so the body's loops can
/// stop; a body that does not stop within a grace period aborts the process, so
/// a broken queue fails the run instead of hanging it.
/// The default limit: the per-test deadline (TROUPE_TEST_DEADLINE_S, raised for sanitizer runs)
/// less a margin, so that this check, not the whole-binary watchdog, reports a slow run.
inline std::chrono::seconds concurrent_limit() {
  auto per_test = troupe::test::default_test_deadline();
  return per_test > std::chrono::seconds{40} ? per_test - std::chrono::seconds{10}
                                             : std::chrono::seconds{30};
}

template <class Body>
void run_with_deadline(Body body, std::chrono::seconds limit = concurrent_limit()) {
  cancel_flag cancelled{false};
  auto done = std::async(std::launch::async, [&] { body(cancelled); });
  if (done.wait_for(limit) == std::future_status::ready) {
    done.get();
    return;
  }
  ADD_FAILURE() << "concurrent test exceeded its deadline of " << limit.count() << " s";
  cancelled.store(true);
  if (done.wait_for(std::chrono::seconds{5}) != std::future_status::ready) {
    std::fputs("*** concurrent test did not stop after its deadline: aborting\n", stderr);
    std::fflush(stderr);
    std::abort();
  }
  done.get();
}

/// Counts constructions and destructions, so a test can tell leaks from double
/// destruction.
class counted {
public:
  explicit counted(int value) noexcept : value_(value) { constructed.fetch_add(1); }
  counted(counted&& other) noexcept : value_(other.value_) { constructed.fetch_add(1); }
  counted(const counted&) = delete;
  counted& operator=(const counted&) = delete;
  counted& operator=(counted&&) = delete;
  ~counted() { destroyed.fetch_add(1); }

  [[nodiscard]] int value() const noexcept { return value_; }

  static void reset() noexcept {
    constructed.store(0);
    destroyed.store(0);
  }
  [[nodiscard]] static long live() noexcept { return constructed.load() - destroyed.load(); }

  static inline std::atomic<long> constructed{0};
  static inline std::atomic<long> destroyed{0};

private:
  int value_;
};

/// An element tagged with its producer and that producer's sequence number.
std::uint64_t tag(std::uint64_t producer, std::uint64_t seq) noexcept {
  return (producer << 32) | seq;
}
std::uint64_t producer_of(std::uint64_t v) noexcept {
  return v >> 32;
}
std::uint64_t seq_of(std::uint64_t v) noexcept {
  return v & 0xffffffffU;
}

/// Checks per-producer FIFO and exactly-once delivery on the consumer side:
/// every element must be the next sequence number its producer has not
/// delivered yet.
class delivery_checker {
public:
  explicit delivery_checker(std::size_t producers) : next_(producers, 0) {}

  void observe(std::uint64_t v) {
    const auto p = producer_of(v);
    if (p >= next_.size()) {
      ++errors_;
      return;
    }
    if (seq_of(v) != next_[p])
      ++errors_;
    next_[p] = seq_of(v) + 1;
    ++received_;
  }

  [[nodiscard]] std::size_t received() const noexcept { return received_; }
  [[nodiscard]] std::size_t errors() const noexcept { return errors_; }
  [[nodiscard]] std::uint64_t next(std::size_t producer) const { return next_.at(producer); }

private:
  std::vector<std::uint64_t> next_;
  std::size_t received_ = 0;
  std::size_t errors_ = 0;
};

// -- queue kinds for the shared contract
// ---------------------------------------------------------

/// Adapts the bounded queue to the shared contract: pushing either succeeds or,
/// for concurrent producers, retries until the consumer has made room.
struct bounded_kind {
  template <class T>
  using queue = bounded_mpsc_queue<T>;

  template <class T>
  static std::unique_ptr<queue<T>> make(std::size_t expected_elements) {
    return std::make_unique<queue<T>>(expected_elements);
  }

  template <class T>
  static void push(queue<T>& q, T value) {
    EXPECT_TRUE(q.try_push(value)) << "queue unexpectedly full";
  }

  template <class T>
  static bool push_until_accepted(queue<T>& q, T value, const cancel_flag& cancelled) {
    while (!q.try_push(value)) {
      if (cancelled.load(std::memory_order_relaxed))
        return false;
      std::this_thread::yield();
    }
    return true;
  }
};

struct unbounded_kind {
  template <class T>
  using queue = unbounded_mpsc_queue<T>;

  template <class T>
  static std::unique_ptr<queue<T>> make(std::size_t) {
    return std::make_unique<queue<T>>();
  }

  template <class T>
  static void push(queue<T>& q, T value) {
    q.push(std::move(value));
  }

  template <class T>
  static bool push_until_accepted(queue<T>& q, T value, const cancel_flag&) {
    q.push(std::move(value));
    return true;
  }
};

/// The laned queue under the same contract: a tagged element's producer is its sender (so that
/// concurrent producers push to lanes of their own), any other element's sender is one key.
struct laned_kind {
  template <class T>
  using queue = laned_mpsc_queue<T>;

  template <class T>
  static std::unique_ptr<queue<T>> make(std::size_t) {
    return std::make_unique<queue<T>>(0);
  }

  template <class T>
  static std::uint64_t sender_of(const T& value) {
    if constexpr (std::is_same_v<T, std::uint64_t>)
      return producer_of(value) + 1;
    else
      return 0;
  }

  template <class T>
  static void push(queue<T>& q, T value) {
    const auto sender = sender_of(value);
    q.push(std::move(value), sender);
  }

  template <class T>
  static bool push_until_accepted(queue<T>& q, T value, const cancel_flag&) {
    push(q, std::move(value));
    return true;
  }
};

template <class Kind>
class MpscQueueContract : public ::testing::Test {
protected:
  void SetUp() override { counted::reset(); }
};

using queue_kinds = ::testing::Types<bounded_kind, unbounded_kind, laned_kind>;

class queue_kind_names {
public:
  template <class Kind>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<Kind, bounded_kind>)
      return "Bounded";
    else if constexpr (std::is_same_v<Kind, unbounded_kind>)
      return "Unbounded";
    else
      return "Laned";
  }
};

TYPED_TEST_SUITE(MpscQueueContract, queue_kinds, queue_kind_names);

// -- shared contract
// -----------------------------------------------------------------------------

TYPED_TEST(MpscQueueContract, NewQueueIsEmptyAndPopsNothing) {
  auto q = TypeParam::template make<int>(8);
  EXPECT_TRUE(q->empty());
  EXPECT_EQ(q->size(), 0U);
  EXPECT_FALSE(q->try_pop().has_value());
}

TYPED_TEST(MpscQueueContract, SingleProducerElementsArriveInPushOrder) {
  auto q = TypeParam::template make<int>(500);
  for (int i = 0; i < 500; ++i)
    TypeParam::push(*q, i);
  for (int i = 0; i < 500; ++i) {
    auto v = q->try_pop();
    ASSERT_TRUE(v.has_value()) << "at " << i;
    EXPECT_EQ(*v, i);
  }
  EXPECT_FALSE(q->try_pop().has_value());
}

TYPED_TEST(MpscQueueContract, SizeIsExactWhenNoOperationIsInFlight) {
  auto q = TypeParam::template make<int>(300);
  for (int i = 0; i < 300; ++i) {
    TypeParam::push(*q, i);
    EXPECT_EQ(q->size(), static_cast<std::size_t>(i + 1));
  }
  for (int i = 300; i > 0; --i) {
    EXPECT_FALSE(q->empty());
    ASSERT_TRUE(q->try_pop().has_value());
    EXPECT_EQ(q->size(), static_cast<std::size_t>(i - 1));
  }
  EXPECT_TRUE(q->empty());
}

TYPED_TEST(MpscQueueContract, MoveOnlyElementsArriveIntact) {
  auto q = TypeParam::template make<std::unique_ptr<int>>(200);
  for (int i = 0; i < 200; ++i)
    TypeParam::push(*q, std::make_unique<int>(i));
  for (int i = 0; i < 200; ++i) {
    auto v = q->try_pop();
    ASSERT_TRUE(v.has_value());
    ASSERT_NE(*v, nullptr);
    EXPECT_EQ(**v, i);
  }
}

TYPED_TEST(MpscQueueContract, DrainStopsAfterMaxElementsAndKeepsTheRest) {
  auto q = TypeParam::template make<int>(100);
  for (int i = 0; i < 100; ++i)
    TypeParam::push(*q, i);
  std::vector<int> seen;
  EXPECT_EQ(q->drain([&](int&& v) { seen.push_back(v); }, 30), 30U);
  ASSERT_EQ(seen.size(), 30U);
  EXPECT_EQ(seen.front(), 0);
  EXPECT_EQ(seen.back(), 29);
  EXPECT_EQ(q->size(), 70U);
  EXPECT_EQ(q->drain([&](int&& v) { seen.push_back(v); }, 0), 0U);
  EXPECT_EQ(q->size(), 70U);
  // Asking for more than is queued returns only what there is.
  EXPECT_EQ(q->drain([&](int&& v) { seen.push_back(v); }, 1000), 70U);
  ASSERT_EQ(seen.size(), 100U);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
  EXPECT_TRUE(q->empty());
}

TYPED_TEST(MpscQueueContract, DrainOfEmptyQueueNeverCallsTheFunction) {
  auto q = TypeParam::template make<int>(4);
  int calls = 0;
  EXPECT_EQ(q->drain([&](int&&) { ++calls; }, 10), 0U);
  EXPECT_EQ(calls, 0);
}

TYPED_TEST(MpscQueueContract, DrainHandsOverMoveOnlyElements) {
  auto q = TypeParam::template make<std::unique_ptr<int>>(10);
  for (int i = 0; i < 10; ++i)
    TypeParam::push(*q, std::make_unique<int>(i));
  std::vector<std::unique_ptr<int>> taken;
  EXPECT_EQ(q->drain([&](std::unique_ptr<int>&& p) { taken.push_back(std::move(p)); }, 10), 10U);
  ASSERT_EQ(taken.size(), 10U);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(*taken[static_cast<std::size_t>(i)], i);
}

TYPED_TEST(MpscQueueContract, DestructorDestroysRemainingElementsExactlyOnce) {
  {
    auto q = TypeParam::template make<counted>(200);
    for (int i = 0; i < 200; ++i)
      TypeParam::push(*q, counted{i});
    // Consume some so the destructor starts mid-queue.
    for (int i = 0; i < 70; ++i) {
      auto v = q->try_pop();
      ASSERT_TRUE(v.has_value());
      EXPECT_EQ(v->value(), i);
    }
    EXPECT_EQ(counted::live(), 130);
  }
  EXPECT_EQ(counted::live(), 0) << "constructed " << counted::constructed.load() << ", destroyed "
                                << counted::destroyed.load();
}

TYPED_TEST(MpscQueueContract, EveryElementIsDestroyedExactlyOnceAcrossPushPopAndDrain) {
  {
    auto q = TypeParam::template make<counted>(64);
    for (int round = 0; round < 50; ++round) {
      for (int i = 0; i < 64; ++i)
        TypeParam::push(*q, counted{i});
      (void)q->try_pop();
      q->drain([](counted&&) {}, 40);
      EXPECT_EQ(counted::live(), 23) << "round " << round;
      q->drain([](counted&&) {}, 64);
      EXPECT_EQ(counted::live(), 0) << "round " << round;
    }
  }
  EXPECT_EQ(counted::live(), 0);
}

TYPED_TEST(MpscQueueContract, ConcurrentProducersKeepTheirOwnOrder) {
  constexpr std::size_t producers = 2;
  constexpr std::uint64_t per_producer = 50'000;
  auto q = TypeParam::template make<std::uint64_t>(256);
  delivery_checker checker(producers);
  run_with_deadline([&](const cancel_flag& cancelled) {
    std::vector<std::jthread> threads;
    for (std::uint64_t p = 0; p < producers; ++p)
      threads.emplace_back([&, p] {
        for (std::uint64_t i = 0; i < per_producer; ++i)
          if (!TypeParam::push_until_accepted(*q, tag(p, i), cancelled))
            return;
      });
    while (checker.received() < producers * per_producer && !cancelled.load()) {
      if (q->drain([&](std::uint64_t&& v) { checker.observe(v); }, 128) == 0)
        std::this_thread::yield();
    }
  });
  EXPECT_EQ(checker.errors(), 0U);
  EXPECT_EQ(checker.received(), producers * per_producer);
  EXPECT_TRUE(q->empty());
}

// -- bounded queue
// -------------------------------------------------------------------------------

TEST(BoundedMpscQueue, RejectsZeroCapacity) {
  EXPECT_THROW(bounded_mpsc_queue<int>{0}, std::invalid_argument);
}

TEST(BoundedMpscQueue, ReportsTheRequestedCapacityNotTheRingSize) {
  for (std::size_t cap : {1U, 2U, 3U, 5U, 1000U, 1024U})
    EXPECT_EQ(bounded_mpsc_queue<int>{cap}.capacity(), cap);
}

TEST(BoundedMpscQueue, RejectsPushExactlyWhenCapacityIsReached) {
  for (std::size_t cap : {1U, 2U, 3U, 4U, 7U, 1000U, 1024U}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    bounded_mpsc_queue<int> q{cap};
    for (std::size_t i = 0; i < cap; ++i) {
      int v = static_cast<int>(i);
      ASSERT_TRUE(q.try_push(v)) << "at " << i;
    }
    EXPECT_EQ(q.size(), cap);
    int extra = -1;
    EXPECT_FALSE(q.try_push(extra));
    EXPECT_EQ(q.size(), cap);
    // Popping one makes room for exactly one.
    ASSERT_EQ(q.try_pop(), std::optional<int>{0});
    EXPECT_TRUE(q.try_push(extra));
    EXPECT_FALSE(q.try_push(extra));
    EXPECT_EQ(q.size(), cap);
  }
}

TEST(BoundedMpscQueue, KeepsTheExactCapacityOverManyLapsOfTheRing) {
  // Capacity 3 in a ring of 4 slots: the limit must hold at every offset of the
  // ring.
  bounded_mpsc_queue<int> q{3};
  int next_in = 0;
  int next_out = 0;
  for (int lap = 0; lap < 1000; ++lap) {
    while (q.size() < 3) {
      int v = next_in;
      ASSERT_TRUE(q.try_push(v));
      ++next_in;
    }
    int extra = -1;
    ASSERT_FALSE(q.try_push(extra)) << "lap " << lap;
    // Pop a varying number so fills start at every ring offset.
    for (int k = 0; k <= lap % 3; ++k) {
      auto v = q.try_pop();
      ASSERT_TRUE(v.has_value());
      ASSERT_EQ(*v, next_out++);
    }
  }
}

TEST(BoundedMpscQueue, FailedPushLeavesTheValueWithTheCaller) {
  bounded_mpsc_queue<std::unique_ptr<int>> q{1};
  auto first = std::make_unique<int>(1);
  ASSERT_TRUE(q.try_push(first));
  EXPECT_EQ(first, nullptr) << "a successful push moves the value in";
  auto second = std::make_unique<int>(2);
  int* const address = second.get();
  EXPECT_FALSE(q.try_push(second));
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second.get(), address);
  EXPECT_EQ(*second, 2);
  // The queued element is unaffected as well.
  auto v = q.try_pop();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(**v, 1);
}

TEST(BoundedMpscQueue, RacingProducersFillExactlyToCapacity) {
  // Without a consumer, two producers racing to fill the queue must together
  // succeed exactly `capacity` times, whatever the interleaving.
  for (std::size_t cap : {1U, 3U, 1000U}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    for (int round = 0; round < 200; ++round) {
      bounded_mpsc_queue<std::uint64_t> q{cap};
      std::atomic<std::size_t> accepted{0};
      run_with_deadline([&](const cancel_flag&) {
        std::atomic<int> ready{0};
        std::vector<std::jthread> threads;
        for (std::uint64_t p = 0; p < 2; ++p)
          threads.emplace_back([&, p] {
            ready.fetch_add(1);
            while (ready.load() < 2) // start together to maximise contention
              std::this_thread::yield();
            std::uint64_t i = 0;
            for (;;) {
              std::uint64_t v = tag(p, i);
              if (!q.try_push(v))
                break;
              ++i;
              accepted.fetch_add(1);
            }
          });
      });
      ASSERT_EQ(accepted.load(), cap) << "round " << round;
      ASSERT_EQ(q.size(), cap);
      std::uint64_t extra = 0;
      ASSERT_FALSE(q.try_push(extra));
    }
  }
}

TEST(BoundedMpscQueue, NeverExceedsCapacityWithTwoProducers) {
  constexpr std::uint64_t per_producer = 200'000;
  for (std::size_t cap : {3U, 1000U}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    bounded_mpsc_queue<std::uint64_t> q{cap};
    delivery_checker checker(2);
    std::atomic<std::size_t> oversize_seen_by_producers{0};
    std::size_t oversize_seen_by_consumer = 0;
    std::size_t depth_violations = 0;
    std::size_t max_depth_seen = 0;
    // Successful pushes per producer, published after each push; the consumer
    // derives a lower bound of the true depth from them that does not rely on
    // size().
    std::atomic<std::uint64_t> pushed[2] = {0, 0};
    run_with_deadline([&](const cancel_flag& cancelled) {
      std::vector<std::jthread> threads;
      for (std::uint64_t p = 0; p < 2; ++p)
        threads.emplace_back([&, p] {
          for (std::uint64_t i = 0; i < per_producer; ++i) {
            std::uint64_t v = tag(p, i);
            while (!q.try_push(v)) {
              if (cancelled.load(std::memory_order_relaxed))
                return;
              std::this_thread::yield();
            }
            pushed[p].store(i + 1, std::memory_order_release);
            if (q.size() > cap)
              oversize_seen_by_producers.fetch_add(1, std::memory_order_relaxed);
          }
        });
      const std::uint64_t total = 2 * per_producer;
      while (checker.received() < total && !cancelled.load()) {
        const std::size_t depth = q.size();
        if (depth > cap)
          ++oversize_seen_by_consumer;
        max_depth_seen = std::max(max_depth_seen, depth);
        // Pushes counted here have all completed; the consumer is not mid-pop,
        // so everything it has not received is still in the queue.
        const std::uint64_t completed =
            pushed[0].load(std::memory_order_acquire) + pushed[1].load(std::memory_order_acquire);
        if (completed > checker.received() && completed - checker.received() > cap)
          ++depth_violations;
        if (q.drain([&](std::uint64_t&& v) { checker.observe(v); }, 64) == 0)
          std::this_thread::yield();
      }
    });
    EXPECT_EQ(oversize_seen_by_producers.load(), 0U);
    EXPECT_EQ(oversize_seen_by_consumer, 0U);
    EXPECT_EQ(depth_violations, 0U);
    EXPECT_LE(max_depth_seen, cap);
    EXPECT_EQ(checker.errors(), 0U) << "an element was lost, duplicated or reordered";
    EXPECT_EQ(checker.received(), 2 * per_producer);
    EXPECT_EQ(checker.next(0), per_producer);
    EXPECT_EQ(checker.next(1), per_producer);
    EXPECT_TRUE(q.empty());
  }
}

// -- unbounded queue
// -----------------------------------------------------------------------------

// A short-lived mailbox's queue makes its first block at its first push and frees it when the
// mailbox ends, usually on another worker: the block waits for the next queue of its type.
TEST(UnboundedMpscQueue, AQueuesFirstBlockServesTheNextQueue) {
  struct only_here {
    int value;
  };
  using queue = unbounded_mpsc_queue<only_here>;
  const auto before = queue::first_blocks_kept_now();
  {
    queue q;
    q.push(only_here{1});
    EXPECT_EQ(queue::first_blocks_kept_now(), before);
  }
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(queue::first_blocks_kept_now(), 0u);
#else
  EXPECT_EQ(queue::first_blocks_kept_now(), before + 1);
  queue again;
  again.push(only_here{2});
  EXPECT_EQ(queue::first_blocks_kept_now(), before);
  auto out = again.try_pop();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->value, 2);
#endif
}

TEST(UnboundedMpscQueue, KeepsOrderAcrossManyBlockBoundaries) {
  unbounded_mpsc_queue<std::uint64_t> q;
  constexpr std::uint64_t n = 64 * 200 + 17;
  for (std::uint64_t i = 0; i < n; ++i)
    q.push(i);
  EXPECT_EQ(q.size(), n);
  for (std::uint64_t i = 0; i < n; ++i) {
    auto v = q.try_pop();
    ASSERT_TRUE(v.has_value()) << "at " << i;
    ASSERT_EQ(*v, i);
  }
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.try_pop().has_value());
}

// A block keeps its slots' ready flags apart from the elements, one byte each, and puts the
// elements after them at the elements' alignment: elements of one byte, of an odd size and
// over-aligned come back intact and in order across every block size (UBSan checks the
// alignment of each access).
template <class T>
void round_trip_across_blocks(T (*make)(std::uint64_t), std::uint64_t (*value_of)(const T&)) {
  unbounded_mpsc_queue<T> q;
  constexpr std::uint64_t n = 4 + 8 + 16 + 32 + 64 * 3 + 5;
  for (std::uint64_t i = 0; i < n; ++i)
    q.push(make(i));
  for (std::uint64_t i = 0; i < n; ++i) {
    auto v = q.try_pop();
    ASSERT_TRUE(v.has_value()) << "at " << i;
    ASSERT_EQ(value_of(*v), value_of(make(i)));
  }
}

struct odd_sized {
  std::uint8_t bytes[7];
};

struct alignas(64) over_aligned {
  std::uint64_t value;
};

TEST(UnboundedMpscQueue, ElementsOfAnySizeAndAlignmentSitAfterTheSlotsFlags) {
  round_trip_across_blocks<std::uint8_t>(
      [](std::uint64_t i) { return static_cast<std::uint8_t>(i); },
      [](const std::uint8_t& v) { return static_cast<std::uint64_t>(v); });
  round_trip_across_blocks<odd_sized>(
      [](std::uint64_t i) {
        odd_sized v{};
        v.bytes[0] = static_cast<std::uint8_t>(i);
        v.bytes[6] = static_cast<std::uint8_t>(i >> 8);
        return v;
      },
      [](const odd_sized& v) {
        return static_cast<std::uint64_t>(v.bytes[0]) |
               (static_cast<std::uint64_t>(v.bytes[6]) << 8);
      });
  round_trip_across_blocks<over_aligned>([](std::uint64_t i) { return over_aligned{i}; },
                                         [](const over_aligned& v) { return v.value; });
}

TEST(UnboundedMpscQueue, InterleavedPushAndPopCrossBlocksAtEveryOffset) {
  // Uneven batch sizes make the consumer empty the queue at every position
  // within a block, so it steps to blocks that are linked later and frees the
  // ones behind it along the way.
  unbounded_mpsc_queue<std::uint64_t> q;
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  for (std::uint64_t batch = 1; batch < 300; ++batch) {
    for (std::uint64_t i = 0; i < batch % 131; ++i)
      q.push(next_in++);
    while (auto v = q.try_pop())
      ASSERT_EQ(*v, next_out++);
    ASSERT_EQ(next_out, next_in);
    ASSERT_TRUE(q.empty());
  }
}

TEST(UnboundedMpscQueue, DestructorFreesElementsSpanningSeveralBlocks) {
  counted::reset();
  {
    unbounded_mpsc_queue<counted> q;
    for (int i = 0; i < 64 * 5 + 9; ++i)
      q.push(counted{i});
    for (int i = 0; i < 100; ++i)
      ASSERT_TRUE(q.try_pop().has_value());
    EXPECT_EQ(counted::live(), 64 * 5 + 9 - 100);
  }
  EXPECT_EQ(counted::live(), 0);
}

// Starts `producers` threads that push tag(p, 0..per_producer) each, until cancelled.
std::vector<std::jthread> start_tagged_producers(unbounded_mpsc_queue<std::uint64_t>& q,
                                                 std::uint64_t producers,
                                                 std::uint64_t per_producer,
                                                 const cancel_flag& cancelled) {
  std::vector<std::jthread> threads;
  for (std::uint64_t p = 0; p < producers; ++p)
    threads.emplace_back([&q, &cancelled, p, per_producer] {
      for (std::uint64_t i = 0; i < per_producer && !cancelled.load(std::memory_order_relaxed); ++i)
        q.push(tag(p, i));
    });
  return threads;
}

TEST(UnboundedMpscQueue, DeliversEveryElementOnceInProducerOrderFromConcurrentProducers) {
  constexpr std::uint64_t total = 1'000'000;
  for (std::uint64_t producers : {2U, 3U, 4U}) {
    SCOPED_TRACE(std::to_string(producers) + " producers");
    const std::uint64_t per_producer = total / producers;
    unbounded_mpsc_queue<std::uint64_t> q;
    delivery_checker checker(producers);
    run_with_deadline([&](const cancel_flag& cancelled) {
      auto threads = start_tagged_producers(q, producers, per_producer, cancelled);
      while (checker.received() < producers * per_producer && !cancelled.load()) {
        if (q.drain([&](std::uint64_t&& v) { checker.observe(v); }, 256) == 0)
          std::this_thread::yield();
      }
    });
    EXPECT_EQ(checker.errors(), 0U) << "an element was lost, duplicated or reordered";
    EXPECT_EQ(checker.received(), producers * per_producer);
    for (std::uint64_t p = 0; p < producers; ++p)
      EXPECT_EQ(checker.next(p), per_producer) << "producer " << p;
    EXPECT_TRUE(q.empty());
    EXPECT_FALSE(q.try_pop().has_value());
  }
}

TEST(UnboundedMpscQueue, DrainClaimedTakesEveryElementClaimedBeforeItInOrder) {
  // drain_claimed is a closing consumer's last look: once it has seen a claim (size() counts
  // them), it must hand over that element even if its producer is still writing it.
  constexpr std::uint64_t producers = 2;
  constexpr std::uint64_t per_producer = 200'000;
  for (int round = 0; round < 5; ++round) {
    unbounded_mpsc_queue<std::uint64_t> q;
    delivery_checker checker(producers);
    run_with_deadline([&](const cancel_flag& cancelled) {
      auto threads = start_tagged_producers(q, producers, per_producer, cancelled);
      // Every claim made, some elements possibly still being written: one call takes them all.
      while (q.size() < producers * per_producer && !cancelled.load())
        std::this_thread::yield();
      EXPECT_EQ(q.drain_claimed([&](std::uint64_t&& v) { checker.observe(v); }),
                producers * per_producer);
    });
    EXPECT_EQ(checker.errors(), 0U) << "an element was lost, duplicated or reordered";
    EXPECT_EQ(checker.received(), producers * per_producer);
    EXPECT_TRUE(q.empty());
  }
}

TEST(UnboundedMpscQueue, MoveOnlyElementsFromConcurrentProducersAreAllFreed) {
  // Heap-owning elements make ASan/LSan report any element the queue loses or
  // frees twice.
  constexpr int per_producer = 100'000;
  unbounded_mpsc_queue<std::unique_ptr<int>> q;
  long long sum = 0;
  int received = 0;
  run_with_deadline([&](const cancel_flag& cancelled) {
    std::vector<std::jthread> threads;
    for (int p = 0; p < 2; ++p)
      threads.emplace_back([&] {
        for (int i = 0; i < per_producer && !cancelled.load(std::memory_order_relaxed); ++i)
          q.push(std::make_unique<int>(i));
      });
    while (received < 2 * per_producer && !cancelled.load()) {
      auto v = q.try_pop();
      if (!v) {
        std::this_thread::yield();
        continue;
      }
      sum += **v;
      ++received;
    }
  });
  EXPECT_EQ(received, 2 * per_producer);
  EXPECT_EQ(sum, 2LL * per_producer * (per_producer - 1) / 2);
}

} // namespace

// -- unbounded queue: allocation on first use, blocks sized to need
// ------------------------------

TEST(UnboundedMpscQueue, AllocatesNothingUntilTheFirstPush) {
  unbounded_mpsc_queue<std::uint64_t> q;
  EXPECT_EQ(q.allocated_slots(), 0U);
  EXPECT_FALSE(q.try_pop().has_value()); // popping an empty queue allocates nothing either
  EXPECT_EQ(q.allocated_slots(), 0U);
  EXPECT_TRUE(q.empty());
  q.push(7);
  EXPECT_EQ(q.allocated_slots(), 4U); // the first block is small
  EXPECT_EQ(q.try_pop(), std::optional<std::uint64_t>{7});
}

TEST(UnboundedMpscQueue, BlocksGrowByDoublingUpToSixtyFourSlots) {
  unbounded_mpsc_queue<std::uint64_t> q;
  // 4 + 8 + 16 + 32 + 64 + 64 slots hold 188 elements.
  for (std::uint64_t i = 0; i < 4 + 8 + 16 + 32 + 64 + 1; ++i)
    q.push(i);
  EXPECT_EQ(q.allocated_slots(), 4U + 8 + 16 + 32 + 64 + 64);
  for (std::uint64_t i = 0; i < 4 + 8 + 16 + 32 + 64 + 1; ++i)
    ASSERT_EQ(q.try_pop(), std::optional<std::uint64_t>{i});
  // The consumer frees the blocks behind it; the one it stands in stays.
  EXPECT_EQ(q.allocated_slots(), 64U);
}

TEST(UnboundedMpscQueue, APushHalfWayThroughAFullSizeBlockLinksTheNextOne) {
  unbounded_mpsc_queue<std::uint64_t> q;
  // The first full-size block holds the indices 60..123; the push of index 92 (its slot 32)
  // links the next block, so the producers that reach its end do not allocate there at once.
  std::uint64_t pushed = 0;
  for (; pushed < 92; ++pushed)
    q.push(pushed);
  EXPECT_EQ(q.allocated_slots(), 4U + 8 + 16 + 32 + 64);
  q.push(pushed++);
  EXPECT_EQ(q.allocated_slots(), 4U + 8 + 16 + 32 + 64 + 64);
  // Up to the first slot of the linked block: nothing more is allocated.
  for (; pushed < 125; ++pushed)
    q.push(pushed);
  EXPECT_EQ(q.allocated_slots(), 4U + 8 + 16 + 32 + 64 + 64);
  for (std::uint64_t i = 0; i < pushed; ++i)
    ASSERT_EQ(q.try_pop(), std::optional<std::uint64_t>{i});
  EXPECT_EQ(q.allocated_slots(), 64U);
}

TEST(UnboundedMpscQueue, ConcurrentFirstPushesInstallOneFirstBlock) {
  // Several producers race to allocate the first block; exactly one block
  // survives and every element arrives once, in each producer's order.
  for (int round = 0; round < 200; ++round) {
    unbounded_mpsc_queue<std::uint64_t> q;
    delivery_checker checker(3);
    std::atomic<int> ready{0};
    {
      std::vector<std::jthread> threads;
      for (std::uint64_t p = 0; p < 3; ++p)
        threads.emplace_back([&, p] {
          ready.fetch_add(1);
          while (ready.load() < 3) {
          }
          for (std::uint64_t i = 0; i < 3; ++i)
            q.push(tag(p, i));
        });
    }
    q.drain([&](std::uint64_t&& v) { checker.observe(v); }, 100);
    ASSERT_EQ(checker.errors(), 0U);
    ASSERT_EQ(checker.received(), 9U);
    ASSERT_EQ(q.allocated_slots(),
              8U); // the first block was freed once consumed
  }
}

// -- laned queue
// -------------------------------------------------------------------------------

namespace {

using laned = laned_mpsc_queue<std::uint64_t>;

// Pops everything ready, in the order the consumer takes it.
std::vector<std::uint64_t> pop_all(laned& q) {
  std::vector<std::uint64_t> out;
  while (auto v = q.try_pop())
    out.push_back(*v);
  return out;
}

} // namespace

// A mailbox's queue: the lane table with the consumer's turn on one line, then the first
// lane's three (see unbounded_mpsc_queue's layout).
TEST(LanedMpscQueue, AQueueIsItsFirstLaneAndOneCacheLine) {
  EXPECT_EQ(sizeof(laned), sizeof(unbounded_mpsc_queue<std::uint64_t>) + 64);
  EXPECT_EQ(sizeof(unbounded_mpsc_queue<std::uint64_t>), 3u * 64);
}

// Actors spawned together have consecutive ids: they must not share a lane.
TEST(LanedMpscQueue, ConsecutiveSendersGetDifferentLanes) {
  for (std::uint64_t key = 0; key < 100'000; ++key)
    ASSERT_NE(laned::lane_of(key), laned::lane_of(key + 1)) << "key " << key;
}

TEST(LanedMpscQueue, AQueueStartsWithItsMakersLaneAndMakesOthersAtTheirFirstPush) {
  laned q{7};
  EXPECT_EQ(q.lanes_in_use(), 1u);
  q.push(tag(0, 0), 7);
  q.push(tag(0, 1), 7);
  EXPECT_EQ(q.lanes_in_use(), 1u);
  q.push(tag(1, 0), 8);
  EXPECT_EQ(q.lanes_in_use(), 2u);
  q.push(tag(1, 1), 8);
  EXPECT_EQ(q.lanes_in_use(), 2u);
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(pop_all(q).size(), 4u);
  EXPECT_TRUE(q.empty());
}

TEST(LanedMpscQueue, EachSendersElementsKeepTheirOrderWhenSendersInterleave) {
  constexpr std::uint64_t senders = 12; // more than the lanes: some share one
  constexpr std::uint64_t per_sender = 100;
  laned q{1};
  for (std::uint64_t i = 0; i < per_sender; ++i)
    for (std::uint64_t p = 0; p < senders; ++p)
      q.push(tag(p, i), p + 1);
  EXPECT_EQ(q.size(), senders * per_sender);
  delivery_checker checker(senders);
  for (auto v : pop_all(q))
    checker.observe(v);
  EXPECT_EQ(checker.errors(), 0u);
  EXPECT_EQ(checker.received(), senders * per_sender);
  EXPECT_TRUE(q.empty());
}

// Two backlogged senders are served in turns of turn_length, starting with the lane the queue
// was made with: neither waits for the other's whole backlog.
TEST(LanedMpscQueue, TheConsumerServesBusyLanesInTurns) {
  constexpr std::uint64_t backlog = 3 * laned::turn_length;
  laned q{1};
  for (std::uint64_t i = 0; i < backlog; ++i)
    q.push(tag(0, i), 1);
  for (std::uint64_t i = 0; i < backlog; ++i)
    q.push(tag(1, i), 2);
  auto order = pop_all(q);
  ASSERT_EQ(order.size(), 2 * backlog);
  for (std::size_t i = 0; i < order.size(); ++i)
    EXPECT_EQ(producer_of(order[i]), (i / laned::turn_length) % 2) << "pop " << i;
}

// A lane that runs dry passes the turn at once to one that has elements.
TEST(LanedMpscQueue, AnEmptyLaneDoesNotHoldUpTheOthers) {
  laned q{1};
  q.push(tag(0, 0), 1);
  for (std::uint64_t i = 0; i < 5; ++i)
    q.push(tag(1, i), 2);
  auto order = pop_all(q);
  ASSERT_EQ(order.size(), 6u);
  EXPECT_EQ(order[0], tag(0, 0));
  for (std::uint64_t i = 0; i < 5; ++i)
    EXPECT_EQ(order[i + 1], tag(1, i));
  q.push(tag(0, 1), 1);
  EXPECT_EQ(q.try_pop(), std::optional<std::uint64_t>{tag(0, 1)});
}

TEST(LanedMpscQueue, DrainClaimedTakesEveryLane) {
  laned q{1};
  for (std::uint64_t p = 0; p < 5; ++p)
    for (std::uint64_t i = 0; i < 70; ++i) // past the first blocks of each lane
      q.push(tag(p, i), p + 1);
  delivery_checker checker(5);
  EXPECT_EQ(q.drain_claimed([&](std::uint64_t&& v) { checker.observe(v); }), 350u);
  EXPECT_EQ(checker.errors(), 0u);
  EXPECT_TRUE(q.empty());
}

// Senders that race for new lanes install one lane each between them (the losers' lanes are
// freed: AddressSanitizer would report them leaked), and every element arrives once, in its
// sender's order, also for senders that share a lane.
TEST(LanedMpscQueue, ConcurrentSendersRacingForNewLanesKeepTheirOwnOrder) {
  constexpr std::size_t senders = 12;
  constexpr std::uint64_t per_sender = 20'000;
  for (int round = 0; round < 5; ++round) {
    laned q{0};
    delivery_checker checker(senders);
    run_with_deadline([&](const cancel_flag& cancelled) {
      std::latch start{static_cast<std::ptrdiff_t>(senders)};
      std::vector<std::jthread> threads;
      for (std::uint64_t p = 0; p < senders; ++p)
        threads.emplace_back([&, p] {
          start.arrive_and_wait();
          for (std::uint64_t i = 0; i < per_sender && !cancelled.load(); ++i)
            q.push(tag(p, i), p + 1);
        });
      while (checker.received() < senders * per_sender && !cancelled.load())
        if (q.drain([&](std::uint64_t&& v) { checker.observe(v); }, 128) == 0)
          std::this_thread::yield();
    });
    EXPECT_EQ(checker.errors(), 0u) << "round " << round;
    EXPECT_EQ(checker.received(), senders * per_sender) << "round " << round;
    EXPECT_TRUE(q.empty());
  }
}
