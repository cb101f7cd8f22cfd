#include "troupe/core/version.hpp"

namespace troupe::detail {

const char* core_version() noexcept {
  return TROUPE_VERSION;
}

} // namespace troupe::detail
