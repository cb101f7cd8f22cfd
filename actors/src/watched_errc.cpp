#include "troupe/actors/watched_errc.hpp"

namespace troupe {

namespace {

const char* render_watched_code(uint8_t code) noexcept {
  return to_string(static_cast<watched_errc>(code));
}

const bool registered = [] {
  register_error_category(watched_error_category, "watched_error", render_watched_code);
  return true;
}();

} // namespace

caf::error make_error(watched_errc code) {
  (void)registered;
  return caf::error{static_cast<uint8_t>(code), watched_error_category};
}

const char* to_string(watched_errc code) noexcept {
  switch (code) {
  case watched_errc::closed:
    return "closed";
  case watched_errc::unsubscribed:
    return "unsubscribed";
  case watched_errc::already_subscribed:
    return "already_subscribed";
  case watched_errc::not_subscribed:
    return "not_subscribed";
  }
  return "unknown_watched_error";
}

} // namespace troupe
