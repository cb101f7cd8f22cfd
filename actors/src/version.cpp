#include "troupe/actors/version.hpp"

namespace troupe::actors {

const char* version() noexcept {
  return TROUPE_VERSION;
}

} // namespace troupe::actors
