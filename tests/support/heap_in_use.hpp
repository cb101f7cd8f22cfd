#pragma once

// How many bytes the program holds on the heap, for tests that check what a step allocates or
// leaves behind. Under a sanitizer its allocator answers (bytes asked for); otherwise glibc's
// malloc (bytes of the chunks in use in all its arenas).

#include <cstdint>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#include <sanitizer/allocator_interface.h>
#else
#include <malloc.h>
#endif

namespace troupe::test {

inline std::int64_t heap_in_use() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return static_cast<std::int64_t>(__sanitizer_get_current_allocated_bytes());
#else
  return static_cast<std::int64_t>(mallinfo2().uordblks);
#endif
}

} // namespace troupe::test
