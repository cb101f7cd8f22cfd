#pragma once

// How many bytes the program holds on the heap, for tests that check what a step allocates or
// leaves behind. Under a sanitizer its allocator answers (bytes asked for); otherwise glibc's
// malloc (bytes of the chunks in use in all its arenas, and of its mapped blocks) and Troupe's
// block arena (the blocks of its recycled classes: actor storage, mailbox cores, table nodes).
// Under ThreadSanitizer the arena's blocks are not counted by the sanitizer's allocator: they
// are added too.

#include <cstddef>
#include <cstdint>

#include "troupe/scheduler/block_arena.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// Declared here: the sanitizer runtimes provide it, but GCC does not install their header
// (<sanitizer/allocator_interface.h> comes with Clang only).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

namespace troupe::test {

inline std::int64_t heap_in_use() {
#if defined(__SANITIZE_ADDRESS__)
  return static_cast<std::int64_t>(__sanitizer_get_current_allocated_bytes());
#elif defined(__SANITIZE_THREAD__)
  return static_cast<std::int64_t>(__sanitizer_get_current_allocated_bytes() +
                                   block_arena::bytes_in_use());
#else
  // Chunks in use in the arenas, and blocks too large for them (mapped one by one).
  auto info = mallinfo2();
  return static_cast<std::int64_t>(info.uordblks + info.hblkhd + block_arena::bytes_in_use());
#endif
}

} // namespace troupe::test
