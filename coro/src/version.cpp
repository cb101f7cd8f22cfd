#include "troupe/coro/version.hpp"

namespace troupe::detail {

const char* coro_version() noexcept {
  return TROUPE_VERSION;
}

} // namespace troupe::detail
