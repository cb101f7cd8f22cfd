#pragma once

#include <caf/error.hpp>
#include <caf/sec.hpp>

#include "troupe/mailbox/bounded_admission.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"

namespace troupe::detail {

// Turns CAF's own timeout error into Troupe's, so that callers compare against one enum.
inline caf::error translate(caf::error err) {
  if (err == caf::sec::request_timeout)
    return make_error(mailbox_errc::request_timeout);
  if (err == caf::sec::request_receiver_down)
    return make_error(mailbox_errc::receiver_dead);
  return err;
}

// The error a request fails with when its mailbox does not admit it.
inline caf::error fail_of(admission_outcome outcome) {
  switch (outcome) {
  case admission_outcome::full:
  case admission_outcome::dropped:
    return make_error(mailbox_errc::mailbox_full);
  case admission_outcome::timeout:
    return make_error(mailbox_errc::send_timeout);
  case admission_outcome::receiver_dead:
    return make_error(mailbox_errc::receiver_dead);
  case admission_outcome::closed:
    return make_error(mailbox_errc::closed);
  case admission_outcome::accepted:
  case admission_outcome::parked:
    break;
  }
  return caf::none;
}

// True when the mailbox took the request (queued it, or parked it under backpressure).
inline bool admitted(admission_outcome outcome) noexcept {
  return outcome == admission_outcome::accepted || outcome == admission_outcome::parked;
}

} // namespace troupe::detail
