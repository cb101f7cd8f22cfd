#pragma once

#include <atomic>
#include <cstdint>

namespace troupe {

/// The seam for Dekker-style handshakes in Troupe: two threads each write their own variable
/// and then read the other's (a producer pushes and then looks whether the consumer sleeps; the
/// consumer goes to sleep and then looks for pushes). Without a store-load barrier both could
/// miss the other's write and a wake-up would be lost. Both sides call this between their write
/// and their read, with the same `anchor`. (When one side runs far more often than the other,
/// detail/asymmetric_fence.hpp lets the rare side pay for both.)
///
/// Normal builds use a seq_cst fence (the anchor is untouched). ThreadSanitizer does not model
/// fences, so its builds use a read-modify-write on the anchor instead: the two RMWs are totally
/// ordered and the later one reads from the earlier, so the earlier side's write happens-before
/// the later side's read, which gives the same guarantee in a form TSan checks.
inline void store_load_barrier([[maybe_unused]] std::atomic<uint64_t>& anchor) noexcept {
#if defined(__SANITIZE_THREAD__)
  anchor.fetch_add(0, std::memory_order_acq_rel);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

/// The barrier of a side whose write was a sequentially consistent read-modify-write (a queue's
/// slot claim) and whose read after it is a sequentially consistent load: the two are then
/// ordered in the single total order of seq_cst operations, which is the store-load barrier
/// (on x86 the read-modify-write is a locked instruction, a full barrier). Nothing to do in
/// normal builds: a fence here would only wait for the stores since the claim (the element's
/// own) to drain, which the handshake does not need. The other side uses store_load_barrier
/// with the same `anchor`; under ThreadSanitizer this side's read-modify-write on the anchor
/// keeps the pairing TSan checks.
inline void
store_load_barrier_after_seq_cst_rmw([[maybe_unused]] std::atomic<uint64_t>& anchor) noexcept {
#if defined(__SANITIZE_THREAD__)
  anchor.fetch_add(0, std::memory_order_acq_rel);
#endif
}

/// One barrier for a thread that takes part in two handshakes at the same point (for example
/// an actor going idle checks both its message queue and its reply queue): a single fence in
/// normal builds, one read-modify-write per anchor under TSan.
inline void store_load_barrier([[maybe_unused]] std::atomic<uint64_t>& first,
                               [[maybe_unused]] std::atomic<uint64_t>& second) noexcept {
#if defined(__SANITIZE_THREAD__)
  first.fetch_add(0, std::memory_order_acq_rel);
  second.fetch_add(0, std::memory_order_acq_rel);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

} // namespace troupe
