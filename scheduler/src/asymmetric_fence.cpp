#include "troupe/scheduler/detail/asymmetric_fence.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace troupe::detail {

namespace {

bool register_membarrier() noexcept {
#if defined(__SANITIZE_THREAD__)
  return false;
#else
  long supported = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0);
  if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
    return false;
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0;
#endif
}

} // namespace

bool membarrier_registered() noexcept {
  // Decided once (a function-local static is initialised exactly once, and every caller sees
  // the same value): both sides of a handshake agree on which fences they use.
  static const bool registered = register_membarrier();
  return registered;
}

void asymmetric_heavy_fence([[maybe_unused]] std::atomic<uint64_t>& anchor) noexcept {
#if defined(__SANITIZE_THREAD__)
  anchor.fetch_add(0, std::memory_order_acq_rel);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!membarrier_registered())
    return;
  // Registered, the command fails only in a child forked after registration, should its new
  // address space not inherit it (the light side there still counts on it): register again.
  if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) != 0) {
    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0);
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0);
  }
#endif
}

} // namespace troupe::detail
