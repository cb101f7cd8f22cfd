#pragma once

#include <caf/scheduler/coordinator.hpp>

#include "troupe/scheduler/detail/deadline_clock.hpp"
#include "troupe/scheduler/detail/troupe_policy.hpp"

namespace troupe::detail {

/// CAF's coordinator with Troupe's scheduling policy and Troupe's clock (deadline_clock: its
/// thread is not woken by every timeout set and cancelled). CAF's coordinator still starts the
/// thread of its own clock, which nothing uses: it waits for an event that never comes.
class troupe_coordinator : public caf::scheduler::coordinator<troupe_policy> {
public:
  using super = caf::scheduler::coordinator<troupe_policy>;

  explicit troupe_coordinator(caf::actor_system& sys) : super(sys) {}

  /// What actor_system_config::load<troupe_coordinator>() calls.
  static caf::actor_system::module* make(caf::actor_system& sys, caf::detail::type_list<>) {
    return new troupe_coordinator(sys);
  }

  deadline_clock& clock() noexcept override { return clock_; }

protected:
  void start() override {
    clock_.start(system());
    super::start();
  }

  void stop() override {
    // As CAF's coordinator stops its clock: after the workers and the utility actors.
    super::stop();
    clock_.stop();
  }

private:
  deadline_clock clock_;
};

} // namespace troupe::detail
