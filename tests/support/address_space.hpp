#pragma once

// The address space this process maps, for death tests that take the room for another mapping
// away (RLIMIT_AS) to see how code copes with std::bad_alloc. Linux only: where
// /proc/self/statm is not readable, mapped_bytes() is 0 and such tests skip themselves.

#include <cstddef>
#include <fstream>

#include <sys/resource.h>
#include <unistd.h>

namespace troupe::test {

/// The address space this process maps now, in bytes (/proc/self/statm's first field); 0 when
/// it cannot be read.
inline std::size_t mapped_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  std::size_t pages = 0;
  statm >> pages;
  return pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

/// Why a death test that takes the address space away cannot run here, or nullptr when it can:
/// a sanitizer's runtime needs address space of its own, and the limit is set from
/// /proc/self/statm.
///
///   if (auto* why = troupe::test::why_address_space_cannot_be_taken())
///     GTEST_SKIP() << why;
inline const char* why_address_space_cannot_be_taken() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return "a sanitizer's runtime needs address space that the test takes away";
#else
  return mapped_bytes() == 0 ? "/proc/self/statm is not readable here" : nullptr;
#endif
}

/// While it lives, the process may map nothing beyond what it maps when it is made (the limit
/// it had comes back at its end). For a death test's child only: the other threads of the
/// process are bound by it too.
class no_more_address_space {
public:
  no_more_address_space() {
    getrlimit(RLIMIT_AS, &before_);
    rlimit tight = before_;
    tight.rlim_cur = mapped_bytes();
    setrlimit(RLIMIT_AS, &tight);
  }
  ~no_more_address_space() { setrlimit(RLIMIT_AS, &before_); }
  no_more_address_space(const no_more_address_space&) = delete;
  no_more_address_space& operator=(const no_more_address_space&) = delete;

private:
  rlimit before_{};
};

} // namespace troupe::test
