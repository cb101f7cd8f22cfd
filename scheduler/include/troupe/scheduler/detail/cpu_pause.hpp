#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace troupe::detail {

// Tells the core that this thread waits in a loop for another: on x86 the pause instruction
// (the loop leaves the pipeline without a misprediction, and a sibling hyperthread gets the
// core meanwhile); elsewhere nothing.
inline void cpu_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

} // namespace troupe::detail
