#include "troupe/supervision/version.hpp"

namespace troupe::detail {

const char* supervision_version() noexcept {
  return TROUPE_VERSION;
}

} // namespace troupe::detail
