#pragma once

// Allocation for objects that one thread creates and another destroys, over and over: a pool's
// per-job reply sinks (the submitter allocates one, the worker that answers frees it). That
// pattern defeats malloc's per-thread caches, since every free fills the worker's cache and
// every allocation misses the submitter's, so each job took malloc's slow path twice (a quarter
// of the worker_pool benchmark's time). A class derives from recycled_blocks<itself>: its freed
// blocks wait in a bounded lock-free ring for the next allocation and go back to malloc only
// when the ring is full. The ring keeps at most `kept` blocks of each such class for the life
// of the process. AddressSanitizer builds allocate from malloc every time, so that a use after
// free is still reported.
//
// Example:
//
//   class my_sink final : public reply_sink<int>, public detail::recycled_blocks<my_sink> {...};
//   auto sink = std::make_unique<my_sink>(...);   // a block freed by another thread, if any

#include <cstddef>
#include <new>
#include <optional>

#include "troupe/supervision/detail/mpmc_ring.hpp"

namespace troupe::detail {

template <class T, std::size_t kept = 1024>
class recycled_blocks {
public:
  static void* operator new(std::size_t size) {
    if (size == sizeof(T)) {
#if !defined(__SANITIZE_ADDRESS__)
      std::optional<void*> block;
      if (free_blocks().try_pop(block))
        return *block;
#endif
    }
    return ::operator new(size);
  }

  static void operator delete(void* block, std::size_t size) noexcept {
#if !defined(__SANITIZE_ADDRESS__)
    if (size == sizeof(T) && free_blocks().try_push(block))
      return;
#endif
    ::operator delete(block, size);
  }

private:
  static mpmc_ring<void*>& free_blocks() {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__,
                  "blocks come from the default operator new");
    // Never destroyed: a block may be freed during static destruction; the blocks it holds
    // stay reachable through it.
    static auto* ring = new mpmc_ring<void*>(kept);
    return *ring;
  }
};

} // namespace troupe::detail
