#pragma once

// Allocation for objects that one thread creates and another destroys, over and over: a pool's
// per-job reply sinks (the submitter allocates one, the worker that answers frees it), a Troupe
// actor's request's reply sink and reply (the other way round) and a coroutine's request entry,
// and a typed mailbox's actor storage, core and queue (one worker spawns, another ends it). That
// pattern defeats malloc's per-thread caches, since every free fills the worker's cache and
// every allocation misses the submitter's, so each job took malloc's slow path twice (a quarter
// of the worker_pool benchmark's time). A class derives from recycled_blocks<itself>: its freed
// blocks wait for the next allocation (block_recycler.hpp: in the freeing thread's own list,
// then in batches in a bounded lock-free ring) and go back to where they came from only when
// both are full. At most `kept` blocks of each such class wait in the ring for the life of the
// process, and at most a batch in each thread (per class: a class template's instances each
// have their own). Over-aligned classes get aligned blocks. A block no one keeps comes from and
// goes back to Troupe's block arena (block_arena.hpp: 2 MiB chunks per size class, huge pages
// where the system allows them), or malloc for blocks over 4 KiB. AddressSanitizer builds
// allocate from malloc every time, so that a use after free is still reported.
//
// Example:
//
//   class my_sink final : public reply_sink<int>, public troupe::recycled_blocks<my_sink> {...};
//   auto sink = std::make_unique<my_sink>(...);   // a block freed earlier, if any

#include <cstddef>
#include <new>

#include "troupe/scheduler/block_arena.hpp"
#include "troupe/scheduler/block_recycler.hpp"

namespace troupe {

/// Base of a class T whose blocks are recycled (see the top of this file); keeps at most `kept`
/// in the shared ring. Thread safety: allocation and release from any thread.
template <class T, std::size_t kept = 1024>
class recycled_blocks {
public:
  /// A kept block of T, else one from arena_new (block_arena.hpp).
  static void* operator new(std::size_t size) {
    if (void* block = take(size))
      return block;
    return arena_new(size, __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  }

  /// Keeps the block of a T unless no room is left; else gives it back to where it came from.
  static void operator delete(void* block, std::size_t size) noexcept {
    if (keep(block, size))
      return;
    arena_delete(block, size, __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  }

  // A class with cache-line-aligned members (a queue's two ends) is allocated aligned; its
  // blocks all have its alignment, so a kept one serves the next allocation as well.
  /// As operator new(size), for an over-aligned T.
  static void* operator new(std::size_t size, std::align_val_t alignment) {
    if (void* block = take(size))
      return block;
    return arena_new(size, static_cast<std::size_t>(alignment));
  }

  /// As operator delete(block, size), for an over-aligned T.
  static void operator delete(void* block, std::size_t size, std::align_val_t alignment) noexcept {
    if (keep(block, size))
      return;
    arena_delete(block, size, static_cast<std::size_t>(alignment));
  }

  /// How many freed blocks of T the calling thread's next allocations could take now: those it
  /// freed itself and those waiting in the shared ring (a snapshot; always 0 in
  /// AddressSanitizer builds).
  [[nodiscard]] static std::size_t kept_now() noexcept { return recycler::kept_now(); }

private:
  using recycler = block_recycler<recycled_blocks, kept>; // its own: no other class shares it

  static void* take([[maybe_unused]] std::size_t size) {
#if !defined(__SANITIZE_ADDRESS__)
    if (size == sizeof(T))
      return recycler::take();
#endif
    return nullptr;
  }

  static bool keep([[maybe_unused]] void* block, [[maybe_unused]] std::size_t size) noexcept {
#if !defined(__SANITIZE_ADDRESS__)
    return size == sizeof(T) && recycler::keep(block, release);
#else
    return false;
#endif
  }

  // Where a block of T goes that no one keeps: what the operator delete the compiler picks for
  // T does (the aligned one for an over-aligned T).
  static void release(void* block) noexcept {
    constexpr std::size_t alignment = alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__
                                          ? alignof(T)
                                          : __STDCPP_DEFAULT_NEW_ALIGNMENT__;
    arena_delete(block, sizeof(T), alignment);
  }
};

} // namespace troupe
