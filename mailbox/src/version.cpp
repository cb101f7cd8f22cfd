#include "troupe/mailbox/version.hpp"

namespace troupe::detail {

const char* mailbox_version() noexcept {
  return TROUPE_VERSION;
}

} // namespace troupe::detail
