#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace troupe::detail {

/// A fixed-capacity queue for many producers and one consumer, without locks.
///
/// Thread safety / memory ordering: any number of threads may call try_push() at the same time;
/// try_pop() and drain() belong to a single consumer thread at a time (the mailbox owner).
/// size(), empty() and capacity() may be called from any thread. Everything a producer did before
/// a successful try_push() is visible to the consumer once it receives that element. Elements of
/// one producer arrive in the order that producer pushed them; elements of different producers
/// are interleaved in no promised order. The queue never holds more than capacity() elements,
/// even when that is not a power of two. Nothing blocks: try_push() reports a full queue instead
/// of waiting, and try_pop() reports "nothing yet" instead of waiting. Because elements are
/// delivered strictly in slot order, try_pop() also reports "nothing yet" while the producer of
/// the oldest element is between claiming its slot and writing it, even if later elements are
/// already written; that producer completes without waiting for anyone, so the element shows up
/// shortly. size() is a snapshot: exact when no operation is in flight, never above capacity().
///
/// Reservations (a typed mailbox's permits): try_reserve() holds a slot without filling it, so
/// that size() + reserved() stays within capacity() for every later try_push() and
/// try_reserve(); try_push_reserved() fills a held slot, release_reservation() gives one back.
/// A held slot is not a position in the ring, so an unfilled reservation never delays the
/// consumer. Reservations are exact among themselves (one counter, claimed by CAS), but a
/// try_push() that read the counter just before a try_reserve() raised it may still take the
/// last free slot: the ring then has no room for the reserved element, try_push_reserved()
/// reports false and the caller waits for the consumer's next pop (the mailbox parks the
/// element). Closing that window would need the position and the reservation count in one
/// word, that is a second read-modify-write on every push.
template <class T>
class bounded_mpsc_queue {
  // A move that throws after a slot is claimed would leave a hole that the consumer waits on
  // forever, so only element types whose move cannot fail are accepted.
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "bounded_mpsc_queue needs a nothrow move constructor");
  static_assert(std::is_nothrow_destructible_v<T>, "bounded_mpsc_queue needs a nothrow destructor");

public:
  /// Creates an empty queue that holds at most `capacity` elements. Throws std::invalid_argument
  /// for 0 and std::length_error when the ring for `capacity` cannot be sized.
  explicit bounded_mpsc_queue(std::size_t capacity)
      : capacity_(checked_capacity(capacity)), mask_(ring_size(capacity_) - 1),
        limit_below_ring_(capacity_ <= mask_), slots_(std::make_unique<slot[]>(mask_ + 1)) {
    // Relaxed: the queue reaches other threads only through something that already orders these
    // stores before their first use (thread start, a mutex, an atomic publish of the owner).
    for (std::size_t i = 0; i <= mask_; ++i)
      slots_[i].sequence.store(i, std::memory_order_relaxed);
  }

  bounded_mpsc_queue(const bounded_mpsc_queue&) = delete;
  bounded_mpsc_queue& operator=(const bounded_mpsc_queue&) = delete;

  /// Destroys the elements still queued. No other thread may use the queue any more.
  ~bounded_mpsc_queue() {
    while (try_pop()) {
    }
  }

  /// Appends `value` by moving from it and returns true, or returns false when the queue is full
  /// (reservations counted) and leaves `value` untouched, so the caller still owns its message.
  [[nodiscard]] bool try_push(T& value) noexcept { return push_within(value, true); }

  /// Appends `value` into a slot held by try_reserve() and gives that reservation up; returns
  /// false, leaving `value` and the reservation untouched, only when a racing try_push() took
  /// the slot (see the class comment). Any thread.
  [[nodiscard]] bool try_push_reserved(T& value) noexcept {
    if (!push_within(value, false))
      return false;
    // After the push: for a moment the element counts twice (queued and reserved), which can
    // only make others see the queue fuller than it is, never overfill it.
    release_reservation();
    return true;
  }

  /// Holds one slot for a later try_push_reserved(): returns false when size() + reserved()
  /// already reaches capacity(). Any thread.
  [[nodiscard]] bool try_reserve() noexcept {
    std::size_t held = reserved_.load(std::memory_order_relaxed);
    for (;;) {
      if (size() + held >= capacity_)
        return false;
      // The CAS orders the reservers among themselves: each one checked the count it raised.
      if (reserved_.compare_exchange_weak(held, held + 1, std::memory_order_acq_rel,
                                          std::memory_order_relaxed))
        return true;
    }
  }

  /// Gives back a slot held by try_reserve(). Any thread.
  void release_reservation() noexcept { reserved_.fetch_sub(1, std::memory_order_acq_rel); }

  /// Slots held by try_reserve() and not yet filled or released: a snapshot. Any thread.
  [[nodiscard]] std::size_t reserved() const noexcept {
    return reserved_.load(std::memory_order_relaxed);
  }

private:
  // try_push, with reservations counted against the capacity (`count_reserved`) or not (a
  // reserved push, whose slot is among them).
  [[nodiscard]] bool push_within(T& value, bool count_reserved) noexcept {
    // Protocol (the order of the steps is what makes the bound and the hand-off safe):
    //  1. Read the position to claim, tail_.
    //  2. If the capacity is below the ring size, compare the position with the consumer's
    //     head_: a position at or beyond head_ + capacity_ would overfill the queue.
    //  3. Check the slot's sequence number: equal to the position means the slot is free for it,
    //     lower means it still holds the element from one lap ago (ring full), higher means
    //     another producer already took the position.
    //  4. Claim the position with a CAS on tail_; only the winner touches the slot.
    //  5. Construct the element, then publish it by setting the sequence to position + 1.
    // Steps 2 and 4 together enforce the exact bound: the CAS succeeds only if tail_ still equals
    // the checked position, and head_ only grows, so after the claim tail_ - head_ <= capacity_.
    std::size_t pos = tail_.load(std::memory_order_relaxed); // 1
    for (;;) {
      // Relaxed: a reservation racing this push is not ordered by it (see the class comment).
      const std::size_t held = count_reserved ? reserved_.load(std::memory_order_relaxed) : 0;
      if (limit_below_ring_ || held != 0) { // 2
        // Acquire pairs with the consumer's release of head_: the consumer frees a slot (its
        // sequence store) before advancing head_, so a head_ that admits `pos` also makes the
        // freed sequence of pos's slot visible in step 3 and no spurious "full" follows.
        const std::size_t head = head_.load(std::memory_order_acquire);
        const auto used = static_cast<std::ptrdiff_t>(pos - head);
        if (used < 0) { // our tail_ was older than the consumer's progress; re-read it
          pos = tail_.load(std::memory_order_relaxed);
          continue;
        }
        if (static_cast<std::size_t>(used) + held >= capacity_)
          return false;
      }
      slot& s = slots_[pos & mask_];
      // Acquire pairs with the consumer's release when it freed the slot, so constructing the
      // new element cannot overlap the destruction of the previous one.
      const std::size_t seq = s.sequence.load(std::memory_order_acquire); // 3
      const auto lag = static_cast<std::ptrdiff_t>(seq - pos);
      if (lag == 0) {
        // Relaxed: the CAS only arbitrates between producers; the slot's data is ordered by its
        // sequence number (acquire above, release below), not by tail_.
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) { // 4
          std::construct_at(s.item(), std::move(value));                            // 5
          // Release: the consumer must see the constructed element once it sees the sequence.
          s.sequence.store(pos + 1, std::memory_order_release);
          return true;
        }
        // A failed CAS reloaded `pos`; start over with it.
      } else if (lag < 0) {
        return false;
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

public:
  /// Removes and returns the oldest element, or nullopt when there is none yet (see the class
  /// comment). Consumer only.
  [[nodiscard]] std::optional<T> try_pop() noexcept {
    // Protocol:
    //  1. The slot at head_ is ready when its sequence is head_ + 1 (step 5 of try_push).
    //  2. Move the element out and destroy the slot's copy.
    //  3. Free the slot for the producer one lap later (sequence = head_ + ring size).
    //  4. Advance head_. Doing 3 before 4 means any head_ a producer reads already covers a
    //     freed slot, which try_push relies on.
    // Relaxed: only this thread writes head_.
    const std::size_t head = head_.load(std::memory_order_relaxed);
    slot& s = slots_[head & mask_];
    // Acquire pairs with the producer's release in try_push: the element is fully constructed.
    if (s.sequence.load(std::memory_order_acquire) != head + 1) // 1
      return std::nullopt;
    T* item = s.item();
    std::optional<T> result{std::in_place, std::move(*item)}; // 2
    std::destroy_at(item);
    // Release: the next producer of this slot must not construct before the destruction above.
    s.sequence.store(head + mask_ + 1, std::memory_order_release); // 3
    // Release: readers of head_ (try_push step 2, size()) must also see the freed slot and the
    // publication of every element up to `head`.
    head_.store(head + 1, std::memory_order_release); // 4
    return result;
  }

  /// Pops up to `max` elements, calling `f(T&&)` for each in order, and returns how many were
  /// popped. Each element leaves the queue before `f` sees it, so if `f` throws the queue stays
  /// consistent and only the element being handled is lost. Consumer only.
  template <class F>
  std::size_t drain(F&& f, std::size_t max) {
    std::size_t n = 0;
    while (n < max) {
      std::optional<T> item = try_pop();
      if (!item)
        break;
      ++n;
      std::invoke(f, std::move(*item));
    }
    return n;
  }

  /// Number of elements, counting pushes that have claimed a slot but not finished writing it.
  /// Exact when no operation is in flight; otherwise a snapshot, never above capacity().
  [[nodiscard]] std::size_t size() const noexcept {
    // Acquire on head_ (paired with try_pop's release) makes the producer claims that head_ has
    // passed visible, so the tail_ read below is never behind head_ and the difference cannot
    // wrap. Relaxed on tail_: nothing is read through it.
    const std::size_t head = head_.load(std::memory_order_acquire);
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    // The true depth never exceeds capacity_, but the two loads are not one snapshot: the
    // consumer and producers may both move on between them. Clamping keeps that tear invisible.
    return std::min(tail - head, capacity_);
  }

  /// The exact limit given at construction (not the rounded-up ring size).
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  [[nodiscard]] bool empty() const noexcept { return size() == 0; }

private:
  static constexpr std::size_t cache_line_size = 64;

  struct slot {
    // The lap state of the slot: position p is free when sequence == p, holds a published
    // element when sequence == p + 1, and is free for the next lap when sequence == p + ring.
    std::atomic<std::size_t> sequence;
    alignas(T) std::byte storage[sizeof(T)];

    T* item() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };

  static std::size_t checked_capacity(std::size_t capacity) {
    if (capacity == 0)
      throw std::invalid_argument("bounded_mpsc_queue: capacity must be at least 1");
    if (capacity > std::numeric_limits<std::size_t>::max() / 2 + 1)
      throw std::length_error("bounded_mpsc_queue: capacity too large");
    return capacity;
  }

  // At least two slots: with one, "published for p" (p + 1) and "free for p + 1" (p + ring) would
  // be the same sequence number and a producer could overwrite an unread element.
  static std::size_t ring_size(std::size_t capacity) noexcept {
    return std::max<std::size_t>(2, std::bit_ceil(capacity));
  }

  // Read-only after construction, shared by every thread; kept off the lines written below.
  alignas(cache_line_size) const std::size_t capacity_;
  const std::size_t mask_;
  // When the capacity equals the ring size the sequence numbers alone enforce the bound, and
  // producers skip reading head_, a line the consumer writes on every pop.
  const bool limit_below_ring_;
  const std::unique_ptr<slot[]> slots_;

  // Next position to claim; written by every producer.
  alignas(cache_line_size) std::atomic<std::size_t> tail_{0};
  // Slots held by try_reserve(); on tail_'s line, which every producer touches anyway.
  std::atomic<std::size_t> reserved_{0};
  // Next position to pop; written by the consumer only.
  alignas(cache_line_size) std::atomic<std::size_t> head_{0};
};

} // namespace troupe::detail
