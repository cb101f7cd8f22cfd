#include "troupe/actors/version.hpp"

namespace troupe::detail {

const char* actors_version() noexcept {
  return TROUPE_VERSION;
}

} // namespace troupe::detail
