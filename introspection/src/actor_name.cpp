#include "troupe/introspection/actor_name.hpp"

#include <caf/local_actor.hpp>

namespace troupe {

const char* actor_name(caf::abstract_actor& actor) {
  // Only a local actor has a name; every actor Troupe spawns is one.
  if (auto* local = dynamic_cast<caf::local_actor*>(&actor))
    return local->name();
  return "";
}

} // namespace troupe
