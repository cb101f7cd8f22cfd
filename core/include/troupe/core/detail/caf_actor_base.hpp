#pragma once

// What a Troupe actor keeps of CAF's actor classes: caf::local_actor (an actor of this process:
// its id, links, monitors, exit reason, clock and registration with the actor system), and the
// two mixins that let it send CAF messages and make CAF requests as an event-based actor does.
// It is not a caf::scheduled_actor: that class's mailbox (400 bytes), behavior stack, response
// tables, stream managers and default handlers were 800 bytes of every Troupe actor, which
// takes its messages from queues of its own (troupe/core/actor.hpp says what it keeps instead).

#include <caf/behavior.hpp>
#include <caf/extend.hpp>
#include <caf/fwd.hpp>
#include <caf/local_actor.hpp>
#include <caf/mixin/requester.hpp>
#include <caf/mixin/sender.hpp>

namespace troupe {
class actor;
} // namespace troupe

namespace caf {

// The mixins ask for the behavior type of the actor they extend while it is still incomplete;
// CAF's own headers answer the same way for caf::event_based_actor.
template <>
class behavior_type_of<troupe::actor> {
public:
  using type = behavior;
};

} // namespace caf

namespace troupe::detail {

/// The CAF base of troupe::actor (see the top of this file).
using caf_actor_base =
    caf::extend<caf::local_actor, troupe::actor>::with<caf::mixin::sender, caf::mixin::requester>;

} // namespace troupe::detail
