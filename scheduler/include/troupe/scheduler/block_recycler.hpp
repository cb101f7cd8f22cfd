#pragma once

// Freed blocks of one kind kept for the next allocation of that kind: what recycled_blocks.hpp,
// recycled_allocator.hpp and a queue's first blocks (unbounded_mpsc_queue.hpp) share.
//
// Such blocks are freed on one thread and allocated on another (one worker spawns actors,
// another ends them). With one shared ring per kind, every keep and every take moved the
// ring's cache lines between the workers: about a tenth of the actor_churn benchmark's time,
// for the half dozen kinds of block a short-lived actor uses. So each thread keeps freed blocks
// in a list of its own first (the blocks themselves are the links), and hands a full batch to a
// bounded shared ring in one step; a thread whose list is empty takes a whole batch. This is the
// magazine layer of Bonwick and Adams' slab allocator.
//
//  - Bounds: the shared ring holds at most `kept` blocks, and each thread at most one batch
//    more. A block that finds both full is not kept: keep() returns false and the caller gives
//    it back to where it came from.
//  - Who gets a block: the thread that kept it, or any thread once its batch is full and in the
//    ring. A thread that ends hands its list to the ring (or, when the ring is full, gives each
//    block back with the kind's release function, the one keep() is passed).
//  - A block is at least a pointer large: while kept, its first bytes link it to the next.
//
// AddressSanitizer builds do not recycle (the callers check), so that a use after free is still
// reported.
//
// Example (a kind of block is named by a tag type):
//
//   using recycler = troupe::block_recycler<my_tag, 1024>;
//   void* block = recycler::take();                           // null when none is kept
//   if (!recycler::keep(block, release))                      // void release(void*) noexcept
//     release(block);

#include <atomic>
#include <cstddef>
#include <cstring>
#include <optional>

#include "troupe/scheduler/mpmc_ring.hpp"

namespace troupe {

/// The kept blocks of the kind `Tag`: see the top of this header. Thread safety: every member
/// from any thread.
template <class Tag, std::size_t kept = 1024>
class block_recycler {
  static_assert(kept > 0, "a recycler keeps at least one block");

public:
  /// Gives a block back to where it came from (for blocks that cannot be kept).
  using release_fn = void (*)(void*) noexcept;

  /// How many blocks move between a thread's list and the shared ring at once.
  static constexpr std::size_t batch = kept < 32 ? kept : 32;

  /// A kept block: the calling thread's latest, else one of a batch from the shared ring; null
  /// when there is none.
  [[nodiscard]] static void* take() noexcept {
    auto& mine = local_;
    if (mine.count == 0 && !refill(mine))
      return nullptr;
    void* block = mine.head;
    mine.head = next_of(block);
    --mine.count;
    // The next take's block was most likely freed on another worker (a reply sink answered
    // there): bring its cache line here, ready to be written, while the caller uses this one,
    // so that neither that take's next_of() nor the constructor after it waits for the line.
    if (mine.count > 0)
      __builtin_prefetch(mine.head, 1);
    return block;
  }

  /// Keeps `block` (at least a pointer large) for a later take(); false when the calling
  /// thread's list and the shared ring are both full, or the thread is ending: then the
  /// caller gives the block back itself. `release` gives back a block of this kind (used for
  /// the blocks a thread still holds when it ends and the ring is full).
  [[nodiscard]] static bool keep(void* block, release_fn release) noexcept {
    auto& mine = local_;
    if (mine.gone)
      return false;
    if (mine.count == batch && !hand_over(mine))
      return false;
    if (!mine.watched)
      watch_thread_end(mine, release);
    link(block, mine.head);
    mine.head = block;
    ++mine.count;
    return true;
  }

  /// Blocks the calling thread's takes could get now: its own list and the shared ring's (a
  /// snapshot; blocks other threads hold in their lists are not counted).
  [[nodiscard]] static std::size_t kept_now() noexcept {
    return local_.count + shared_count().load(std::memory_order_acquire);
  }

private:
  // A thread's list, or a batch in the ring: the first block and how many are linked from it.
  struct bundle {
    void* head = nullptr;
    std::size_t count = 0;
  };

  // Trivially destructible, so its storage outlives every thread_local destructor of its
  // thread: a block freed after the list went to the ring (`gone`) is given back, not kept.
  struct thread_list {
    void* head;
    std::size_t count;
    bool watched; // the thread's end hands the list over (thread_end)
    bool gone;    // the thread is ending: nothing is kept any more
  };

  // Constructed on a thread's first keep or take of this kind; its destructor, at the thread's
  // end, hands the list over (or gives its blocks back when the ring is full).
  struct thread_end {
    thread_end() = default;
    thread_end(const thread_end&) = delete;
    thread_end& operator=(const thread_end&) = delete;
    ~thread_end() {
      auto& mine = local_;
      mine.gone = true;
      if (mine.count == 0 || hand_over(mine))
        return;
      // Set by the first keep() of any thread, before any block of this kind could be held.
      const release_fn release = first_release().load(std::memory_order_acquire);
      for (void* block = mine.head; mine.count > 0; --mine.count) {
        void* next = next_of(block);
        release(block);
        block = next;
      }
      mine.head = nullptr;
    }
  };

  // The first time a thread holds blocks of this kind: its end will hand them over. `release`
  // is the kind's, from the thread's first keep() or (for a thread that only takes) the
  // first keep() of any thread.
  static void watch_thread_end(thread_list& mine, release_fn release) noexcept {
    mine.watched = true;
    release_fn none = nullptr;
    first_release().compare_exchange_strong(none, release, std::memory_order_acq_rel);
    static thread_local thread_end watcher;
    (void)watcher;
  }

  // Moves the whole list into the ring, one bundle; false when the ring is full.
  static bool hand_over(thread_list& mine) noexcept {
    bundle full{mine.head, mine.count};
    // Counted before it is visible, so that a take's decrement never runs ahead of it.
    shared_count().fetch_add(full.count, std::memory_order_acq_rel);
    if (!ring().try_push(full)) {
      shared_count().fetch_sub(full.count, std::memory_order_acq_rel);
      return false;
    }
    mine.head = nullptr;
    mine.count = 0;
    return true;
  }

  // Takes a bundle from the ring into the empty list; false when there is none.
  static bool refill(thread_list& mine) noexcept {
    if (mine.gone)
      return false; // its list would never be handed over again
    std::optional<bundle> taken;
    if (!ring().try_pop(taken))
      return false;
    shared_count().fetch_sub(taken->count, std::memory_order_acq_rel);
    mine.head = taken->head;
    mine.count = taken->count;
    // The list is held now; a keep() set the kind's release function before the bundle could be
    // in the ring.
    if (!mine.watched)
      watch_thread_end(mine, first_release().load(std::memory_order_acquire));
    return true;
  }

  static void* next_of(void* block) noexcept {
    void* next = nullptr;
    std::memcpy(&next, block, sizeof next);
    return next;
  }

  static void link(void* block, void* next) noexcept { std::memcpy(block, &next, sizeof next); }

  // The release function of the kind's first keep(): what a thread's end gives blocks back with.
  static std::atomic<release_fn>& first_release() noexcept {
    static std::atomic<release_fn> release{nullptr};
    return release;
  }

  static mpmc_ring<bundle>& ring() {
    // Never destroyed: a block may be freed during static destruction; the blocks it holds
    // stay reachable through it.
    static auto* shared = new mpmc_ring<bundle>((kept + batch - 1) / batch);
    return *shared;
  }

  static std::atomic<std::size_t>& shared_count() noexcept {
    static std::atomic<std::size_t> count{0};
    return count;
  }

  static inline thread_local thread_list local_{nullptr, 0, false, false};
};

} // namespace troupe
