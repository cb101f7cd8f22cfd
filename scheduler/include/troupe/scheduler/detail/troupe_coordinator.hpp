#pragma once

#include <caf/scheduler/coordinator.hpp>

#include "troupe/scheduler/detail/timeout_filtering_clock.hpp"
#include "troupe/scheduler/detail/troupe_policy.hpp"

namespace troupe::detail {

/// CAF's coordinator with Troupe's scheduling policy and a clock that skips the timeout
/// cancellations of actors that never set a timeout (see timeout_filtering_clock).
class troupe_coordinator : public caf::scheduler::coordinator<troupe_policy> {
public:
  using super = caf::scheduler::coordinator<troupe_policy>;

  explicit troupe_coordinator(caf::actor_system& sys) : super(sys), clock_(super::clock()) {}

  /// What actor_system_config::load<troupe_coordinator>() calls.
  static caf::actor_system::module* make(caf::actor_system& sys, caf::detail::type_list<>) {
    return new troupe_coordinator(sys);
  }

  timeout_filtering_clock& clock() noexcept override { return clock_; }

private:
  timeout_filtering_clock clock_;
};

} // namespace troupe::detail
