#pragma once

// # Bounded admission
//
// The one engine that decides what happens to an item offered to a full bounded queue: typed
// mailboxes (their messages) and worker pools (their jobs) both admit through it. The queue
// itself stays with its owner, which derives from bounded_admission (CRTP) and supplies:
//
//   bool try_place(Item&)                          takes the item if there is room
//   std::optional<Item> evict_oldest()              drop_oldest only: removes the oldest item
//   void refuse(Item&&, const caf::error&)          answers (a request) or counts an item the
//                                                  engine could not place
//   admission_outcome stopped() const              accepted while the queue takes items; else
//                                                  why not (closed, receiver_dead)
//   std::optional<caf::error> parking_refused()    after a park: the error that fails what is
//                                                  parked, if the queue stopped meanwhile
//   std::atomic<uint64_t>& anchor()                the queue's handshake anchor
//
// What the engine owns:
//
//  - The overflow policy (troupe::overflow_policy): drop_newest and fail refuse the item and
//    count it; drop_oldest evicts the oldest item (answered with mailbox_full) and places the new
//    one; backpressure parks an actor's item and blocks a thread until its deadline.
//  - Parked items (an actor never blocks its worker): they wait in submit order and enter the
//    queue, oldest first, as soon as room frees; nothing overtakes them (admit() places nothing
//    while items are parked). Each runs its `entered` callback once it is in the queue, or goes
//    to its `failed` callback (or the owner's refuse()) when the queue stops first.
//  - Waiting threads: they block on a condition variable until room frees, the queue stops or
//    their deadline passes.
//  - The handshake that loses no wake-up: a waiting producer registers (parked count or waiter
//    count), issues the store-load barrier on the anchor and then looks for room again; the
//    consumer frees room, issues the same barrier (room_freed) and then looks for waiters. By
//    the two barriers one of them sees the other. Closing is the same: the owner sets its flag,
//    issues the barrier and then fails what is parked (fail_parked) and wakes the threads
//    (notify_waiting_threads); a producer that parked issues the barrier and then asks the owner
//    (parking_refused), so nothing stays parked behind a close.
//  - Size: what only a queue that filled up needs (the counts of parked items, waiting threads
//    and losses, the parking lot, the waiting room) is allocated by the first loss, parked
//    item or waiting thread (an item offered to a closed queue is a loss too) and freed with
//    the engine, so a queue that never fills costs its policy and one pointer (16 bytes): a
//    typed mailbox is made per actor, and most never fill.
//
// Example (a queue of ints over a std::deque, for illustration):
//
//   struct int_queue : troupe::bounded_admission<int, int_queue> {
//     int_queue() : bounded_admission(troupe::overflow_policy::backpressure) {}
//     bool try_place(int& i) { ... }
//     std::optional<int> evict_oldest() { ... }
//     void refuse(int&&, const caf::error&) {}
//     troupe::admission_outcome stopped() const { return troupe::admission_outcome::accepted; }
//     std::optional<caf::error> parking_refused() const { return std::nullopt; }
//     std::atomic<uint64_t>& anchor() { return anchor_; }
//     std::atomic<uint64_t> anchor_{0};
//   };
//
// Thread safety: admit(), room_freed(), fail_parked() and notify_waiting_threads() from any
// thread; the counters are snapshots.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/error.hpp>
#include <caf/execution_unit.hpp>

#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/mailbox/overflow_policy.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/store_load_barrier.hpp"

namespace troupe {

/// What became of an item offered to a bounded queue.
enum class admission_outcome {
  /// In the queue.
  accepted,
  /// Waiting for room (an actor's item under backpressure); it enters the queue in order.
  parked,
  /// Discarded by the overflow policy (drop_newest; drop_oldest when nothing can be evicted).
  dropped,
  /// Refused: the queue is full (overflow_policy::fail, or a sender that does not wait).
  full,
  /// A thread's deadline passed before room freed.
  timeout,
  /// The consumer is gone (a mailbox's actor terminated).
  receiver_dead,
  /// Closed for senders (mailbox::close, a stopping pool).
  closed,
};

/// Who offers an item, which decides what backpressure does with it.
enum class admission_sender {
  /// An actor: it never blocks its worker, so its item parks.
  actor,
  /// A thread: it blocks until there is room or its deadline passed.
  thread,
  /// Anyone who does not wait: a full queue refuses the item (full).
  no_wait,
};

/// The bounded-admission engine; see the top of this header. `Queue` derives from it.
template <class Item, class Queue>
class bounded_admission {
public:
  /// Runs once a parked item is in the queue, on the thread that moved it there (the context
  /// is that thread's scheduler context, or null off a worker).
  using entered_callback = std::function<void(caf::execution_unit*)>;
  /// Takes back a parked item that failed (the queue stopped) instead of refuse().
  using failed_callback = std::function<void(Item&&, const caf::error&)>;

  /// An engine that applies `policy` to items that find the queue full.
  explicit bounded_admission(overflow_policy policy) noexcept : policy_(policy) {}
  bounded_admission(const bounded_admission&) = delete;
  bounded_admission& operator=(const bounded_admission&) = delete;

  /// Frees the parking lot and the waiting room; the owner has failed what was parked.
  ~bounded_admission() { delete congestion_.load(std::memory_order_relaxed); }

  /// What a full queue does with an arriving item.
  [[nodiscard]] overflow_policy policy() const noexcept { return policy_; }

  /// Offers `item`. accepted: in the queue (the caller wakes the consumer); parked: it waits,
  /// and the callback `make_entered()` returned runs once it is in the queue (or `failed`, when
  /// set, gets it back if the queue stops first); any other outcome leaves `item` with the
  /// caller. `make_entered` is called only for an item that parks, so the common path builds
  /// no callback.
  template <class MakeEntered>
  admission_outcome admit(Item& item, admission_sender who,
                          std::chrono::steady_clock::time_point deadline,
                          MakeEntered&& make_entered, failed_callback failed = {}) {
    if (auto why = check_open(); why != admission_outcome::accepted)
      return why;
    // Parked items go first, so that an actor's later items never overtake its parked ones.
    if (parked_count() == 0 && queue().try_place(item))
      return admission_outcome::accepted;
    switch (policy_) {
    case overflow_policy::drop_newest:
      count_loss(&congestion::dropped);
      return admission_outcome::dropped;
    case overflow_policy::fail:
      count_loss(&congestion::rejected);
      return admission_outcome::full;
    case overflow_policy::drop_oldest:
      return evict_and_place(item);
    case overflow_policy::backpressure:
      break;
    }
    switch (who) {
    case admission_sender::actor:
      return park_item(item, make_entered(), std::move(failed));
    case admission_sender::no_wait:
      count_loss(&congestion::rejected);
      return admission_outcome::full;
    case admission_sender::thread:
      break;
    }
    auto outcome =
        wait_for_room([&] { return parked_count() == 0 && queue().try_place(item); }, deadline);
    if (outcome == admission_outcome::timeout || outcome == admission_outcome::closed)
      count_loss(&congestion::rejected);
    return outcome;
  }

  /// Blocks the calling thread until `take_room()` succeeds (accepted), the queue stops, or
  /// `deadline` passes (timeout). For reservations and the like, which take room their own way.
  template <class TakeRoom>
  admission_outcome wait_for_room(TakeRoom take_room,
                                  std::chrono::steady_clock::time_point deadline) {
    auto& state = congested();
    auto& waiting = get_or_create(state.room);
    std::unique_lock guard{waiting.mtx};
    state.waiters.fetch_add(1, std::memory_order_seq_cst);
    store_load_barrier(queue().anchor());
    bool taken = false;
    for (;;) {
      if (queue().stopped() != admission_outcome::accepted)
        break;
      if (take_room()) {
        taken = true;
        break;
      }
      if (waiting.cv.wait_until(guard, deadline) == std::cv_status::timeout) {
        taken = queue().stopped() == admission_outcome::accepted && take_room();
        break;
      }
    }
    state.waiters.fetch_sub(1, std::memory_order_relaxed);
    guard.unlock();
    if (taken)
      return admission_outcome::accepted;
    auto why = queue().stopped();
    return why == admission_outcome::accepted ? admission_outcome::timeout : why;
  }

  /// The consumer freed room (or a reservation was given back): moves parked items in while
  /// there is room and wakes the waiting threads. Any thread; issues the barrier first.
  void room_freed(caf::execution_unit* ctx = nullptr) {
    store_load_barrier(queue().anchor());
    // After the barrier: a producer that registered before its own barrier made the block
    // first (the registration is in it), so no block means nobody to hand room to.
    auto* state = congestion_.load(std::memory_order_acquire);
    if (state == nullptr)
      return;
    if (state->parked_count.load(std::memory_order_relaxed) > 0)
      move_parked(ctx);
    if (state->waiters.load(std::memory_order_relaxed) > 0)
      notify_waiting_threads();
  }

  /// Whether anyone may be waiting for room: a cheap hint (no read-modify-write, no barrier) for a
  /// consumer that wants to hand room over before its batch ends; room_freed() is the rule.
  [[nodiscard]] bool room_wanted() const noexcept {
    // Acquire, as every load of the pointer: the block's construction happens before its use.
    const auto* state = congestion_.load(std::memory_order_acquire);
    return state != nullptr && (state->parked_count.load(std::memory_order_relaxed) > 0 ||
                                state->waiters.load(std::memory_order_relaxed) > 0);
  }

  /// Fails every parked item with `reason` (its failed callback, else the queue's refuse());
  /// returns how many. The owner sets its stopped flag and issues the barrier first.
  std::size_t fail_parked(const caf::error& reason) {
    return fail_parked_with([&reason]() -> const caf::error& { return reason; });
  }

  /// As fail_parked(), with the reason made by `make_reason()` only if something is parked: a
  /// caf::error allocates, and a mailbox that ends without parked senders (nearly all) should
  /// not pay for one.
  template <class MakeReason>
  std::size_t fail_parked_with(MakeReason make_reason) {
    // No lot: nothing ever parked, or a producer is parking right now; that producer issues
    // the barrier after parking and then sees the stop itself (parking_refused).
    auto* state = congestion_.load(std::memory_order_acquire);
    auto* lot = state != nullptr ? state->parking.load(std::memory_order_acquire) : nullptr;
    if (lot == nullptr)
      return 0;
    std::deque<parked_item> parked;
    {
      std::lock_guard guard{lot->mtx};
      parked.swap(lot->items);
      state->parked_count.store(0, std::memory_order_seq_cst);
    }
    if (parked.empty())
      return 0;
    const caf::error& reason = make_reason();
    for (auto& p : parked) {
      if (p.failed)
        p.failed(std::move(p.item), reason);
      else
        queue().refuse(std::move(p.item), reason);
    }
    return parked.size();
  }

  /// Wakes the threads waiting for room or for the stop, if any ever waited.
  void notify_waiting_threads() {
    auto* state = congestion_.load(std::memory_order_acquire);
    if (state == nullptr)
      return;
    if (auto* waiting = state->room.load(std::memory_order_acquire)) {
      std::lock_guard guard{waiting->mtx};
      waiting->cv.notify_all();
    }
  }

  /// Items waiting for room (a snapshot).
  [[nodiscard]] std::size_t parked_count() const noexcept {
    return counted(&congestion::parked_count, std::memory_order_acquire);
  }
  /// Items the policy discarded (drop_newest, drop_oldest).
  [[nodiscard]] std::size_t dropped() const noexcept { return counted(&congestion::dropped); }
  /// Queued items drop_oldest evicted for newer ones (also counted in dropped()).
  [[nodiscard]] std::size_t evicted() const noexcept { return counted(&congestion::evicted); }
  /// Items refused: full, timed out, or offered to a closed queue.
  [[nodiscard]] std::size_t rejected() const noexcept { return counted(&congestion::rejected); }

protected:
  /// The queue's stopped() outcome, counting an item offered to a closed queue as rejected:
  /// accepted while the queue takes items. For owners' paths that do not go through admit().
  admission_outcome check_open() {
    auto why = queue().stopped();
    if (why == admission_outcome::closed)
      count_loss(&congestion::rejected);
    return why;
  }

  /// Parks `item` whatever the policy (a reservation whose slot a racing push took): it
  /// enters the queue, in order, when room frees.
  admission_outcome park_item(Item& item, entered_callback entered, failed_callback failed) {
    {
      auto& state = congested();
      auto& lot = get_or_create(state.parking);
      std::lock_guard guard{lot.mtx};
      lot.items.push_back(parked_item{std::move(item), std::move(entered), std::move(failed)});
      state.parked_count.fetch_add(1, std::memory_order_seq_cst);
    }
    store_load_barrier(queue().anchor());
    // A stop that came after the check in admit() may have failed the parked items before ours
    // was added: by the barriers, we see it and fail ours too.
    if (auto reason = queue().parking_refused()) {
      fail_parked(*reason);
      return admission_outcome::parked;
    }
    // The consumer may have freed room between our failed try and the registration above; by
    // the barriers, either it sees the parked count or we see the room.
    move_parked(nullptr);
    return admission_outcome::parked;
  }

  /// Counts an item the owner discarded itself (its own drop_oldest ring).
  void count_dropped(bool evicted_one) noexcept {
    count_loss(&congestion::dropped);
    if (evicted_one)
      count_loss(&congestion::evicted);
  }

private:
  struct parked_item {
    Item item;
    entered_callback entered;
    failed_callback failed;
  };

  // Allocated by the first parked item (an empty std::deque alone holds a 512-byte block).
  struct parking_lot {
    std::mutex mtx;
    std::deque<parked_item> items;
  };

  // Allocated by the first waiting thread.
  struct waiting_room {
    std::mutex mtx;
    std::condition_variable cv;
  };

  // What only a queue that filled up needs: made by the first loss (an item offered to a
  // closed queue counts), parked item or waiting thread, and kept until the engine goes. A
  // queue is made per actor (every typed mailbox), and most never fill: with the fields inline
  // every one carried 40 bytes for them, against the 8 of this block's pointer. The parking lot
  // and the waiting room are made by their own first use (a std::deque alone holds a 512-byte
  // block): a queue that only drops pays for this block (56 bytes).
  struct congestion {
    std::atomic<std::size_t> parked_count{0};
    std::atomic<std::size_t> waiters{0};
    std::atomic<std::size_t> dropped{0};
    std::atomic<std::size_t> evicted{0};
    std::atomic<std::size_t> rejected{0};
    std::atomic<parking_lot*> parking{nullptr}; // owned
    std::atomic<waiting_room*> room{nullptr};   // owned

    congestion() = default;
    congestion(const congestion&) = delete;
    congestion& operator=(const congestion&) = delete;
    ~congestion() {
      delete room.load(std::memory_order_relaxed);
      delete parking.load(std::memory_order_relaxed);
    }
  };

  Queue& queue() noexcept { return static_cast<Queue&>(*this); }
  const Queue& queue() const noexcept { return static_cast<const Queue&>(*this); }

  // The congestion block, made now if this is the first item that found the queue full.
  congestion& congested() { return get_or_create(congestion_); }

  // Counts a loss, making the congestion block first if need be. Never throws: a loss is
  // counted in the middle of an operation (an evicted item still to refuse, a pushed one still
  // to wake its consumer for), which a failed allocation must not cut short; without memory
  // for the block the loss goes uncounted.
  void count_loss(std::atomic<std::size_t> congestion::*which) noexcept {
    static_assert(std::is_nothrow_default_constructible_v<congestion>);
    if (auto* state = try_get_or_create(congestion_))
      (state->*which).fetch_add(1, std::memory_order_relaxed);
  }

  [[nodiscard]] std::size_t
  counted(std::atomic<std::size_t> congestion::*which,
          std::memory_order order = std::memory_order_relaxed) const noexcept {
    const auto* state = congestion_.load(std::memory_order_acquire);
    return state == nullptr ? 0 : (state->*which).load(order);
  }

  // The object `slot` points to, created by the first caller (a compare-exchange decides whose
  // object stays; the others free theirs); null when there is no memory for it. Throws only
  // what T's constructor throws.
  template <class T>
  static T*
  try_get_or_create(std::atomic<T*>& slot) noexcept(std::is_nothrow_default_constructible_v<T>) {
    auto* current = slot.load(std::memory_order_acquire);
    if (current != nullptr)
      return current;
    auto* fresh = new (std::nothrow) T{};
    if (fresh == nullptr)
      return nullptr;
    if (slot.compare_exchange_strong(current, fresh, std::memory_order_acq_rel,
                                     std::memory_order_acquire))
      return fresh;
    delete fresh; // another caller created it first
    return current;
  }

  // As try_get_or_create, throwing std::bad_alloc when there is no memory.
  template <class T>
  static T& get_or_create(std::atomic<T*>& slot) {
    if (auto* object = try_get_or_create(slot))
      return *object;
    throw std::bad_alloc{};
  }

  admission_outcome evict_and_place(Item& item) {
    for (;;) {
      auto oldest = queue().evict_oldest();
      if (!oldest) {
        // Nothing to evict (every slot is held, say by a reservation): the arriving one goes.
        count_loss(&congestion::dropped);
        return admission_outcome::dropped;
      }
      count_dropped(true);
      queue().refuse(std::move(*oldest),
                     make_error(mailbox_errc::mailbox_full,
                                std::string{"dropped for a newer one (drop_oldest)"}));
      if (queue().try_place(item))
        return admission_outcome::accepted;
    }
  }

  // Moves parked items into the queue while there is room, in order; any thread.
  void move_parked(caf::execution_unit* ctx) {
    auto* state = congestion_.load(std::memory_order_acquire);
    auto* lot = state != nullptr ? state->parking.load(std::memory_order_acquire) : nullptr;
    if (lot == nullptr)
      return;
    std::unique_lock guard{lot->mtx};
    // fail_parked may take the items while the lock is released: re-check each round.
    while (!lot->items.empty()) {
      auto& front = lot->items.front();
      if (!queue().try_place(front.item))
        return;
      auto entered = std::move(front.entered);
      lot->items.pop_front();
      state->parked_count.fetch_sub(1, std::memory_order_seq_cst);
      guard.unlock();
      if (entered)
        entered(ctx);
      guard.lock();
    }
  }

  const overflow_policy policy_;
  std::atomic<congestion*> congestion_{nullptr}; // owned; see congestion
};

} // namespace troupe
