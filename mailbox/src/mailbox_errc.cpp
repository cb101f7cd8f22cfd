#include "troupe/mailbox/mailbox_errc.hpp"

#include "troupe/mailbox/mailbox_metrics.hpp"
#include "troupe/mailbox/mailbox_options.hpp"
#include "troupe/scheduler/errors.hpp"

namespace troupe {

namespace {

const char* render_mailbox_code(uint8_t code) noexcept {
  return to_string(static_cast<mailbox_errc>(code));
}

// Runs when the library is loaded; make_error below keeps this file in every link that can
// produce a mailbox error.
const bool registered = [] {
  register_error_category(mailbox_error_category, "mailbox_error", render_mailbox_code);
  return true;
}();

} // namespace

caf::error make_error(mailbox_errc code) {
  (void)registered;
  return caf::error{static_cast<uint8_t>(code), mailbox_error_category};
}

const char* to_string(mailbox_errc code) noexcept {
  switch (code) {
  case mailbox_errc::mailbox_full:
    return "mailbox_full";
  case mailbox_errc::receiver_dead:
    return "receiver_dead";
  case mailbox_errc::send_timeout:
    return "send_timeout";
  case mailbox_errc::handler_threw:
    return "handler_threw";
  case mailbox_errc::request_timeout:
    return "request_timeout";
  case mailbox_errc::abandoned:
    return "abandoned";
  case mailbox_errc::closed:
    return "closed";
  case mailbox_errc::already_answered:
    return "already_answered";
  case mailbox_errc::broken_promise:
    return "broken_promise";
  case mailbox_errc::empty_promise:
    return "empty_promise";
  }
  return "unknown_mailbox_error";
}

caf::error mailbox_options::validate() const {
  // Capacity 0 means unbounded: a policy for a full mailbox would never apply, so asking for
  // one is a mistake, not a preference.
  if (capacity == 0 && overflow != overflow_policy::backpressure)
    return make_error(config_errc::out_of_range, std::string{"capacity"},
                      std::string{"0 (unbounded) with overflow "} + to_string(overflow) +
                          ", which needs a capacity > 0");
  if (send_timeout.count() < 0)
    return make_error(config_errc::out_of_range, std::string{"send_timeout"},
                      std::to_string(send_timeout.count()) + "ms");
  return caf::none;
}

void to_json(nlohmann::json& out, const mailbox_metrics& m) {
  out = nlohmann::json{{"capacity", m.capacity},     {"depth", m.depth},
                       {"high_water", m.high_water}, {"enqueued", m.enqueued},
                       {"processed", m.processed},   {"dropped", m.dropped},
                       {"rejected", m.rejected},     {"parked", m.parked},
                       {"reserved", m.reserved},     {"dead_letters", m.dead_letters}};
}

} // namespace troupe
