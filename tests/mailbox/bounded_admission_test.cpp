// The bounded-admission engine on its own, over a small locked queue: what each overflow policy
// does with an item that finds the queue full, the order parked items enter in, and what wakes
// or fails a waiting thread. Typed mailboxes and worker pools run on it; their own tests cover it
// through them.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "troupe/mailbox/bounded_admission.hpp"

using namespace std::chrono_literals;
using troupe::admission_outcome;
using troupe::admission_sender;
using troupe::overflow_policy;

namespace {

// Ints in a deque of `capacity`, with what the engine refused or failed written down.
class int_queue : public troupe::bounded_admission<int, int_queue> {
  using admission = troupe::bounded_admission<int, int_queue>;
  friend admission;

public:
  int_queue(overflow_policy policy, std::size_t capacity)
      : admission(policy), capacity_(capacity) {}

  /// The consumer: takes the oldest item, then frees its room.
  std::optional<int> pop() {
    std::optional<int> front;
    {
      std::lock_guard guard{mtx_};
      if (items_.empty())
        return std::nullopt;
      front = items_.front();
      items_.pop_front();
    }
    room_freed();
    return front;
  }

  void stop(admission_outcome why) {
    stopped_.store(why, std::memory_order_seq_cst);
    troupe::store_load_barrier(anchor_);
    fail_parked(troupe::make_error(troupe::mailbox_errc::closed));
    notify_waiting_threads();
  }

  /// As stop(), with the reason made only when something is parked; counts how often it was.
  std::size_t stop_lazily(admission_outcome why, int& reasons_made) {
    stopped_.store(why, std::memory_order_seq_cst);
    troupe::store_load_barrier(anchor_);
    return fail_parked_with([&reasons_made] {
      ++reasons_made;
      return troupe::make_error(troupe::mailbox_errc::closed);
    });
  }

  std::vector<int> items() const {
    std::lock_guard guard{mtx_};
    return {items_.begin(), items_.end()};
  }

  std::vector<std::pair<int, caf::error>> refused() const {
    std::lock_guard guard{mtx_};
    return refused_;
  }

private:
  bool try_place(int& i) {
    std::lock_guard guard{mtx_};
    if (items_.size() >= capacity_)
      return false;
    items_.push_back(i);
    return true;
  }

  std::optional<int> evict_oldest() {
    std::lock_guard guard{mtx_};
    if (items_.empty())
      return std::nullopt;
    auto oldest = items_.front();
    items_.pop_front();
    return oldest;
  }

  void refuse(int&& i, const caf::error& reason) {
    std::lock_guard guard{mtx_};
    refused_.emplace_back(i, reason);
  }

  admission_outcome stopped() const { return stopped_.load(std::memory_order_seq_cst); }

  std::optional<caf::error> parking_refused() const {
    if (stopped() != admission_outcome::accepted)
      return troupe::make_error(troupe::mailbox_errc::closed);
    return std::nullopt;
  }

  std::atomic<uint64_t>& anchor() { return anchor_; }

  const std::size_t capacity_;
  mutable std::mutex mtx_;
  std::deque<int> items_;
  std::vector<std::pair<int, caf::error>> refused_;
  std::atomic<admission_outcome> stopped_{admission_outcome::accepted};
  std::atomic<uint64_t> anchor_{0};
};

auto no_callback() {
  return [] { return int_queue::entered_callback{}; };
}

admission_outcome offer(int_queue& q, int i, admission_sender who = admission_sender::actor,
                        std::chrono::milliseconds wait = 0ms) {
  return q.admit(i, who, std::chrono::steady_clock::now() + wait, no_callback());
}

} // namespace

// A queue that never filled carries its policy and one pointer: the counts and lots of a full
// queue are made by the first item that found it full, and a queue that only drops makes no
// parking lot (a std::deque alone holds a 512-byte block).
TEST(BoundedAdmission, AQueueThatNeverFilledCarriesItsPolicyAndOnePointer) {
  EXPECT_LE(sizeof(troupe::bounded_admission<int, int_queue>), 2 * sizeof(void*));
  int_queue q{overflow_policy::drop_newest, 1};
  EXPECT_EQ(offer(q, 1), admission_outcome::accepted);
  EXPECT_EQ(q.dropped(), 0u);
  EXPECT_EQ(offer(q, 2), admission_outcome::dropped);
  EXPECT_EQ(offer(q, 3), admission_outcome::dropped);
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(q.rejected(), 0u);
  EXPECT_EQ(q.parked_count(), 0u);
  EXPECT_EQ(q.items(), std::vector<int>{1});
}

TEST(BoundedAdmission, DropNewestDiscardsTheArrivingItemAndCountsIt) {
  int_queue q{overflow_policy::drop_newest, 2};
  EXPECT_EQ(offer(q, 1), admission_outcome::accepted);
  EXPECT_EQ(offer(q, 2), admission_outcome::accepted);
  EXPECT_EQ(offer(q, 3), admission_outcome::dropped);
  EXPECT_EQ(q.items(), (std::vector<int>{1, 2}));
  EXPECT_EQ(q.dropped(), 1u);
  EXPECT_EQ(q.evicted(), 0u);
  EXPECT_EQ(q.rejected(), 0u);
}

TEST(BoundedAdmission, DropOldestEvictsTheOldestWithMailboxFullAndPlacesTheNewOne) {
  int_queue q{overflow_policy::drop_oldest, 2};
  for (int i = 1; i <= 4; ++i)
    EXPECT_EQ(offer(q, i), admission_outcome::accepted);
  EXPECT_EQ(q.items(), (std::vector<int>{3, 4}));
  auto refused = q.refused();
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].first, 1);
  EXPECT_EQ(refused[1].first, 2);
  EXPECT_EQ(refused[0].second, troupe::mailbox_errc::mailbox_full);
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(q.evicted(), 2u);
}

TEST(BoundedAdmission, FailAndSendersThatDoNotWaitAreRefusedAsFull) {
  int_queue failing{overflow_policy::fail, 1};
  EXPECT_EQ(offer(failing, 1), admission_outcome::accepted);
  EXPECT_EQ(offer(failing, 2), admission_outcome::full);
  EXPECT_EQ(failing.rejected(), 1u);
  int_queue waiting{overflow_policy::backpressure, 1};
  EXPECT_EQ(offer(waiting, 1), admission_outcome::accepted);
  EXPECT_EQ(offer(waiting, 2, admission_sender::no_wait), admission_outcome::full);
  EXPECT_EQ(waiting.rejected(), 1u);
  EXPECT_EQ(waiting.parked_count(), 0u);
}

TEST(BoundedAdmission, ParkedItemsEnterInOrderAndNothingOvertakesThem) {
  int_queue q{overflow_policy::backpressure, 1};
  std::vector<int> entered;
  auto park = [&](int i) {
    return q.admit(i, admission_sender::actor, {}, [&entered, i] {
      return int_queue::entered_callback{
          [&entered, i](caf::execution_unit*) { entered.push_back(i); }};
    });
  };
  EXPECT_EQ(park(1), admission_outcome::accepted);
  EXPECT_EQ(park(2), admission_outcome::parked);
  EXPECT_EQ(park(3), admission_outcome::parked);
  EXPECT_EQ(q.parked_count(), 2u);
  EXPECT_TRUE(entered.empty()) << "an item that entered at once runs no callback";
  // Each pop frees one slot: the oldest parked item takes it, and its callback runs once.
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.items(), (std::vector<int>{2}));
  EXPECT_EQ(entered, (std::vector<int>{2}));
  // While item 3 is parked, a newcomer parks behind it even though a slot is free right after
  // the next pop: the parked one goes first.
  EXPECT_EQ(park(4), admission_outcome::parked);
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.pop(), 3);
  EXPECT_EQ(q.pop(), 4);
  EXPECT_EQ(entered, (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(q.parked_count(), 0u);
}

TEST(BoundedAdmission, AStopFailsWhatIsParkedAndRefusesNewItems) {
  int_queue q{overflow_policy::backpressure, 1};
  std::vector<int> failed;
  EXPECT_EQ(offer(q, 1), admission_outcome::accepted);
  int two = 2;
  EXPECT_EQ(q.admit(two, admission_sender::actor, {}, no_callback(),
                    [&failed](int&& i, const caf::error& e) {
                      EXPECT_EQ(e, troupe::mailbox_errc::closed);
                      failed.push_back(i);
                    }),
            admission_outcome::parked);
  EXPECT_EQ(offer(q, 3), admission_outcome::parked); // no failed callback: refuse() takes it
  q.stop(admission_outcome::closed);
  EXPECT_EQ(failed, (std::vector<int>{2}));
  auto refused = q.refused();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].first, 3);
  EXPECT_EQ(q.parked_count(), 0u);
  EXPECT_EQ(offer(q, 4), admission_outcome::closed);
  EXPECT_EQ(q.rejected(), 1u);
}

// A caf::error allocates: a stop with nothing parked (nearly every mailbox's end) makes none.
TEST(BoundedAdmission, AStopMakesItsReasonOnlyWhenSomethingIsParked) {
  // Each queue of one holds item 1; `parked` items wait behind it, `entered` of them entered
  // since (the parking lot exists but is empty then). Returns {items failed, reasons made}.
  auto stop_after = [](int parked, bool entered, int_queue& q) {
    EXPECT_EQ(offer(q, 1), admission_outcome::accepted);
    for (int i = 0; i < parked; ++i)
      EXPECT_EQ(offer(q, 2 + i), admission_outcome::parked);
    if (entered) {
      EXPECT_EQ(q.pop(), 1);
    }
    int reasons = 0;
    auto failed = q.stop_lazily(admission_outcome::closed, reasons);
    return std::pair{failed, reasons};
  };
  int_queue never_parked{overflow_policy::backpressure, 1};
  EXPECT_EQ(stop_after(0, false, never_parked), (std::pair<std::size_t, int>{0, 0}));
  int_queue emptied{overflow_policy::backpressure, 1};
  EXPECT_EQ(stop_after(1, true, emptied), (std::pair<std::size_t, int>{0, 0}));
  int_queue parked{overflow_policy::backpressure, 1};
  EXPECT_EQ(stop_after(2, false, parked), (std::pair<std::size_t, int>{2, 1}))
      << "one reason for all the parked items";
  auto refused = parked.refused();
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].first, 2);
  EXPECT_EQ(refused[1].first, 3);
  EXPECT_EQ(refused[1].second, troupe::mailbox_errc::closed);
}

TEST(BoundedAdmission, AWaitingThreadEntersWhenRoomFreesAndTimesOutOtherwise) {
  int_queue q{overflow_policy::backpressure, 1};
  EXPECT_EQ(offer(q, 1), admission_outcome::accepted);
  // Nobody frees room: the deadline passes.
  EXPECT_EQ(offer(q, 2, admission_sender::thread, 20ms), admission_outcome::timeout);
  EXPECT_EQ(q.rejected(), 1u);
  // The consumer pops while the thread waits (or before it started waiting): it enters.
  auto waiter =
      std::async(std::launch::async, [&] { return offer(q, 3, admission_sender::thread, 30s); });
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(waiter.get(), admission_outcome::accepted);
  EXPECT_EQ(q.items(), (std::vector<int>{3}));
}

TEST(BoundedAdmission, AStopReleasesAWaitingThreadWithTheStopsOutcome) {
  int_queue q{overflow_policy::backpressure, 1};
  EXPECT_EQ(offer(q, 1), admission_outcome::accepted);
  auto waiter =
      std::async(std::launch::async, [&] { return offer(q, 2, admission_sender::thread, 30s); });
  q.stop(admission_outcome::receiver_dead);
  EXPECT_EQ(waiter.get(), admission_outcome::receiver_dead);
  EXPECT_EQ(q.items(), (std::vector<int>{1}));
}

// Producers and a consumer race on a queue of 2: every item is placed exactly once, in each
// producer's order, and no parked item or waiting thread is left behind.
TEST(BoundedAdmission, RacingActorsAndThreadsLoseNothing) {
  constexpr int per_producer = 2000;
  int_queue q{overflow_policy::backpressure, 2};
  std::atomic<int> entered_late{0};
  auto actor_like = std::thread{[&] {
    for (int i = 0; i < per_producer; ++i) {
      int item = i; // producer 0: 0 .. n-1
      auto outcome = q.admit(item, admission_sender::actor, {}, [&] {
        return int_queue::entered_callback{[&](caf::execution_unit*) { entered_late++; }};
      });
      ASSERT_TRUE(outcome == admission_outcome::accepted || outcome == admission_outcome::parked);
    }
  }};
  auto thread_like = std::thread{[&] {
    for (int i = 0; i < per_producer; ++i)
      ASSERT_EQ(offer(q, per_producer + i, admission_sender::thread, 60s),
                admission_outcome::accepted);
  }};
  std::vector<int> taken;
  while (taken.size() < 2 * per_producer) {
    if (auto i = q.pop())
      taken.push_back(*i);
    else
      std::this_thread::yield();
  }
  actor_like.join();
  thread_like.join();
  EXPECT_EQ(q.parked_count(), 0u);
  int next_actor = 0;
  int next_thread = per_producer;
  for (int i : taken) {
    if (i < per_producer)
      EXPECT_EQ(i, next_actor++);
    else
      EXPECT_EQ(i, next_thread++);
  }
  EXPECT_EQ(next_actor, per_producer);
  EXPECT_EQ(next_thread, 2 * per_producer);
  EXPECT_EQ(q.rejected(), 0u);
}
