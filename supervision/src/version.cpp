#include "troupe/supervision/version.hpp"

namespace troupe::supervision {

const char* version() noexcept {
  return TROUPE_VERSION;
}

} // namespace troupe::supervision
