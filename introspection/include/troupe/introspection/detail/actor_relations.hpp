#pragma once

#include <vector>

#include <caf/fwd.hpp>

namespace troupe::detail {

/// Who observes an actor, as CAF itself records it: the links and monitors attached to it.
struct actor_relations {
  std::vector<caf::actor_id> links;        // actors linked to it (links are symmetric)
  std::vector<caf::actor_id> monitored_by; // actors that monitor it
};

/// Reads the observers attached to `actor` under its own lock (the lock CAF takes to attach and
/// detach them), so the answer is one consistent view of that actor. An actor that already
/// terminated has none.
///
/// CAF keeps links and monitors in a private list of attachables and offers no way to list
/// them; the topology needs them, so this one function reads CAF's members directly. It
/// compiles against the exact CAF headers installed: a CAF that renames them fails the build
/// here rather than misbehaving.
[[nodiscard]] actor_relations relations_of(caf::abstract_actor& actor);

} // namespace troupe::detail
