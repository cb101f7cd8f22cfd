#pragma once

// Where Troupe's recycled blocks (recycled_blocks.hpp, recycled_allocator.hpp) come from when no
// freed one waits: a typed mailbox's actor storage, core and queue, the tables' nodes, a pool's
// reply sinks; and the blocks taken with arena_new (a queue's blocks). A million idle actors
// are about 1.8 GB of such blocks, and malloc grows a worker thread's heap one page at a time
// (an mprotect call per 4 KiB page, then a page fault on first touch): in a spawn of a million
// actors that growth was about half the time.
//
// The arena carves blocks of one size class out of 2 MiB chunks mapped for that class:
//
//  - A class is a block size rounded up to 16 bytes (and to the block's alignment, at most 64),
//    up to 4 KiB; larger or more aligned blocks are not served (serves()).
//  - A chunk hands out blocks released to it first, then never-used ones in address order, so an
//    untouched part costs no memory. Its first 64 bytes hold its bookkeeping; a block finds its
//    chunk by rounding its address down to 2 MiB.
//  - The first chunk of a class asks the kernel for small pages (MADV_NOHUGEPAGE), so a program
//    with a few actors grows by what it touches; later chunks ask for transparent huge pages
//    (MADV_HUGEPAGE): one page fault per 2 MiB instead of 512, where the system allows them.
//  - A chunk whose blocks are all released is kept as the class's spare (one per class), or
//    unmapped: the memory of a burst goes back to the system when its actors end.
//
// Thread safety: every function may be called from any thread (one spin lock per size class; the
// recycling rings in front of it take most allocations of a busy class).
//
// Example:
//
//   if (block_arena::serves(sizeof(T), alignof(T))) {
//     void* block = block_arena::allocate(sizeof(T), alignof(T));
//     ...
//     block_arena::release(block, sizeof(T), alignof(T));
//   }

#include <cstddef>
#include <new>

namespace troupe {

/// A slab allocator of blocks of up to 4 KiB in 2 MiB chunks: see the top of this header.
class block_arena {
public:
  /// The size of one chunk, and its alignment.
  static constexpr std::size_t chunk_bytes = std::size_t{2} << 20;
  /// Block sizes are rounded up to a multiple of this.
  static constexpr std::size_t granule = 16;
  /// The largest block served.
  static constexpr std::size_t max_block = 4096;
  /// The largest alignment served.
  static constexpr std::size_t max_alignment = 64;

  /// What the arena holds for one size class (a snapshot).
  struct usage {
    /// Chunks mapped for the class, its spare included.
    std::size_t chunks = 0;
    /// Of those, the chunks advised to use huge pages.
    std::size_t huge_chunks = 0;
    /// Blocks handed out and not released.
    std::size_t live_blocks = 0;
  };

  /// Whether blocks of `size` bytes aligned to `alignment` come from the arena. Decided by the
  /// two values alone, so a release takes the path its allocation took.
  [[nodiscard]] static constexpr bool serves(std::size_t size, std::size_t alignment) noexcept {
    return size <= max_block && alignment <= max_alignment;
  }

  /// A block of at least `size` bytes aligned to `alignment` (serves(size, alignment) must
  /// hold). Throws std::bad_alloc when the system has no memory for a new chunk.
  [[nodiscard]] static void* allocate(std::size_t size, std::size_t alignment);

  /// Gives back a block allocate() returned for the same size and alignment.
  static void release(void* block, std::size_t size, std::size_t alignment) noexcept;

  /// What the arena holds for the class of blocks of `size` bytes aligned to `alignment`.
  [[nodiscard]] static usage usage_of(std::size_t size, std::size_t alignment) noexcept;

  /// The bytes of every block handed out and not released, over all classes (a snapshot; what
  /// malloc's figures do not count).
  [[nodiscard]] static std::size_t bytes_in_use() noexcept;
};

/// Whether a block of `size` bytes aligned to `alignment` comes from the block arena through
/// arena_new: false in AddressSanitizer builds, which take every block from operator new so
/// that a use after free is still reported.
[[nodiscard]] constexpr bool arena_serves([[maybe_unused]] std::size_t size,
                                          [[maybe_unused]] std::size_t alignment) noexcept {
#if !defined(__SANITIZE_ADDRESS__)
  return block_arena::serves(size, alignment);
#else
  return false;
#endif
}

/// A block of `size` bytes aligned to `alignment`: from the block arena where arena_serves(),
/// else from the global operator new. Throws std::bad_alloc when memory is exhausted.
///
///   void* block = troupe::arena_new(bytes, alignof(header));
///   troupe::arena_delete(block, bytes, alignof(header));
[[nodiscard]] inline void* arena_new(std::size_t size, std::size_t alignment) {
  if (arena_serves(size, alignment))
    return block_arena::allocate(size, alignment);
  if (alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
    return ::operator new (size, std::align_val_t{alignment});
  return ::operator new(size);
}

/// Gives back a block arena_new(size, alignment) returned (the same two values).
inline void arena_delete(void* block, std::size_t size, std::size_t alignment) noexcept {
  if (arena_serves(size, alignment))
    block_arena::release(block, size, alignment);
  else if (alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
    ::operator delete (block, size, std::align_val_t{alignment});
  else
    ::operator delete(block, size);
}

} // namespace troupe
