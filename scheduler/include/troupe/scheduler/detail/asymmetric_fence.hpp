#pragma once

#include <atomic>
#include <cstdint>

namespace troupe::detail {

// A Dekker handshake whose two sides run at very different rates (a worker after every resume,
// the watchdog only when it inspects a stuck worker) need not pay a full fence on both sides.
// The frequent side orders its store before its load for the compiler only
// (asymmetric_light_fence); the rare side makes every running thread of the process execute a
// full fence (asymmetric_heavy_fence: Linux's membarrier, private expedited), which gives the
// frequent side's store-load pair the order a fence would have. Both sides call theirs between
// their store and their load.
//
// Where membarrier is missing (an old kernel, a sandbox that filters it), both sides use a
// seq_cst fence. Which of the two applies is decided once per process, before either side first
// runs, and never changes. Under ThreadSanitizer, which models neither fences nor membarrier,
// both sides make a read-modify-write on the handshake's `anchor` instead (as
// store_load_barrier does), which orders them in a form it checks.

/// Whether the heavy side can make the other threads fence (membarrier registered).
[[nodiscard]] bool membarrier_registered() noexcept;

/// The frequent side: between its store and its load. `anchor`: the handshake's (TSan only).
inline void asymmetric_light_fence([[maybe_unused]] std::atomic<uint64_t>& anchor) noexcept {
#if defined(__SANITIZE_THREAD__)
  anchor.fetch_add(0, std::memory_order_acq_rel);
#else
  static const bool heavy_side_fences_us = membarrier_registered();
  if (heavy_side_fences_us)
    std::atomic_signal_fence(std::memory_order_seq_cst);
  else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

/// The rare side: between its store and its load. Costs a system call and an interrupt per
/// core running this process.
void asymmetric_heavy_fence(std::atomic<uint64_t>& anchor) noexcept;

} // namespace troupe::detail
