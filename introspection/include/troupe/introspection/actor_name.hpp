#pragma once

#include <caf/fwd.hpp>

namespace troupe {

/// The name an actor was given (caf::local_actor::name), as the topology and the runtime's
/// events show it; "" for an actor of another node (a proxy has no name of its own). Valid as
/// long as the actor lives: an actor keeps its name for its whole life, so callers read it
/// rather than keep a copy per actor.
///
///   if (auto strong = caf::actor_cast<caf::strong_actor_ptr>(addr))
///     std::cout << troupe::actor_name(*caf::actor_cast<caf::abstract_actor*>(strong));
[[nodiscard]] const char* actor_name(caf::abstract_actor& actor);

} // namespace troupe
