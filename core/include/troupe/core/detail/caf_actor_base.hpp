#pragma once

// What a Troupe actor keeps of CAF's actor classes. caf::event_based_actor is a
// caf::scheduled_actor extended by four mixins; one of them, caf::mixin::subscriber, holds the
// actor's CAF group subscriptions (a set of 56 bytes in every actor). No Troupe actor joins a
// CAF group (topics are Troupe's own), so troupe::actor is composed of the other three: it
// sends, makes CAF requests and changes behavior as an event-based actor does.

#include <caf/behavior.hpp>
#include <caf/extend.hpp>
#include <caf/fwd.hpp>
#include <caf/mixin/behavior_changer.hpp>
#include <caf/mixin/requester.hpp>
#include <caf/mixin/sender.hpp>
#include <caf/scheduled_actor.hpp>

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
using caf_actor_base = caf::extend<caf::scheduled_actor, troupe::actor>::with<
    caf::mixin::sender, caf::mixin::requester, caf::mixin::behavior_changer>;

} // namespace troupe::detail
