#pragma once

// An allocator for std::allocate_shared with the block recycling of recycled_blocks.hpp: a
// typed mailbox's core is shared by the actor and every handle, made on one worker and freed on
// another. std::allocate_shared puts the core and its reference counts in one block (a
// shared_ptr made from `new` allocates the counts separately: one more malloc and free per
// actor), and this allocator keeps freed blocks for the next one (block_recycler.hpp: in the
// freeing thread's own list, then in batches in a bounded lock-free ring).
//
// The kept blocks belong to `Tag` (at most `kept` in the ring, for the life of the process, and
// a batch in each thread) and are of one type only: the first type allocated one at a time through
// it (the block std::allocate_shared rebinds to). Single blocks no one keeps come from and go back
// to Troupe's block arena (block_arena.hpp), arrays to std::allocator. AddressSanitizer builds
// never recycle, so that a use after free is still reported.
//
// Example:
//
//   using alloc = troupe::recycled_allocator<my_core>;
//   auto core = std::allocate_shared<my_core>(alloc{}, args...);   // a freed block, if any
//   alloc::kept_now();                                            // blocks waiting now

#include <atomic>
#include <cstddef>
#include <memory>

#include "troupe/scheduler/block_arena.hpp"
#include "troupe/scheduler/block_recycler.hpp"

namespace troupe {

namespace detail {

// The ring of one tag, shared by the allocator's rebinds (each of them is its own class).
template <class Tag, std::size_t kept>
struct tag_ring {
  // The type whose blocks the ring holds (the address of a marker of that type).
  static std::atomic<const void*>& owner() noexcept {
    static std::atomic<const void*> type{nullptr};
    return type;
  }

  using blocks = block_recycler<tag_ring, kept>;
};

} // namespace detail

/// std::allocate_shared's allocator with recycled blocks: see the top of this header.
template <class Tag, class T = Tag, std::size_t kept = 1024>
class recycled_allocator {
public:
  /// The type one allocation is for.
  using value_type = T;

  /// The allocator of the same ring for another type (what std::allocate_shared asks for).
  template <class U>
  struct rebind {
    /// The same ring's allocator for `U`.
    using other = recycled_allocator<Tag, U, kept>;
  };

  recycled_allocator() noexcept = default;

  /// A copy for another type (std::allocate_shared rebinds): allocators of one tag share a ring.
  template <class U>
  recycled_allocator(const recycled_allocator<Tag, U, kept>& /*other*/) noexcept {} // NOLINT

  /// A kept block when `n` is 1 and one waits, else std::allocator's.
  [[nodiscard]] T* allocate(std::size_t n) {
    if (n == 1) {
      if (void* block = take())
        return static_cast<T*>(block);
      return static_cast<T*>(arena_new(sizeof(T), alignof(T)));
    }
    return std::allocator<T>{}.allocate(n);
  }

  /// Keeps a single block unless no room is left; else gives it back to where it came from.
  void deallocate(T* block, std::size_t n) noexcept {
    if (n == 1) {
      if (keep(block))
        return;
      return arena_delete(block, sizeof(T), alignof(T));
    }
    std::allocator<T>{}.deallocate(block, n);
  }

  /// How many freed blocks the calling thread's next allocations could take now: those it freed
  /// itself and those waiting in the shared ring (a snapshot; always 0 in AddressSanitizer
  /// builds).
  [[nodiscard]] static std::size_t kept_now() noexcept { return recycler::kept_now(); }

  /// Always equal: one ring per tag, so any of them frees what another allocated.
  template <class U>
  bool operator==(const recycled_allocator<Tag, U, kept>& /*other*/) const noexcept {
    return true;
  }

private:
  using recycler = typename detail::tag_ring<Tag, kept>::blocks;

  static void* take() {
#if !defined(__SANITIZE_ADDRESS__)
    if (claims_ring())
      return recycler::take();
#endif
    return nullptr;
  }

  static bool keep([[maybe_unused]] void* block) noexcept {
#if !defined(__SANITIZE_ADDRESS__)
    return claims_ring() && recycler::keep(block, release);
#else
    return false;
#endif
  }

  // Where a block of T goes that no one keeps.
  static void release(void* block) noexcept {
    arena_delete(block, sizeof(T), alignof(T));
  }

  // True for the one type whose blocks are kept: the first to ask.
  static bool claims_ring() noexcept {
    static constexpr char mine = 0;
    auto& owner = detail::tag_ring<Tag, kept>::owner();
    const void* current = owner.load(std::memory_order_acquire);
    if (current == nullptr &&
        owner.compare_exchange_strong(current, &mine, std::memory_order_acq_rel))
      return true;
    return current == &mine;
  }
};

} // namespace troupe
