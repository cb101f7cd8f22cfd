#include "troupe/distribution/detail/gated_doorman.hpp"

#include <caf/io/abstract_broker.hpp>

#include "troupe/distribution/detail/gated_scribe.hpp"

namespace troupe::detail {

bool gated_doorman::new_connection() {
  // As CAF's doorman_impl, but the connection is a gated scribe (gate.hpp, step 1).
  if (detached())
    return false;
  auto& mpx = acceptor_.backend();
  settings_->accepted.fetch_add(1, std::memory_order_relaxed);
  auto scribe = caf::make_counted<gated_scribe>(mpx, acceptor_.accepted_socket(), gate_role::server,
                                                settings_);
  auto hdl = scribe->hdl();
  parent()->add_scribe(std::move(scribe));
  return doorman::new_connection(&mpx, hdl);
}

} // namespace troupe::detail
