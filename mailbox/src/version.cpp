#include "troupe/mailbox/version.hpp"

namespace troupe::mailbox {

const char* version() noexcept {
  return TROUPE_VERSION;
}

} // namespace troupe::mailbox
