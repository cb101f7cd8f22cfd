#pragma once

#include <utility>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

namespace troupe {

/// Told when an actor ends, by the actor itself. The runtime's shutdown tracker is one: an actor
/// class that can report its own end (it has `report_exit_to(exit_listener*)`, as troupe::actor
/// has) is given the tracker before it starts and calls it once, after CAF has told its links
/// and monitors; any other actor gets an object attached to it (caf::attachable) that does the
/// same, which costs an allocation and a lock of the actor per spawn.
///
///   struct counter final : troupe::exit_listener {
///     std::atomic<int> ended{0};
///     void actor_exited(caf::abstract_actor&, const caf::error&) override { ++ended; }
///   };
///
/// Thread safety: called on the thread the actor ends on, while the actor is still alive.
class exit_listener {
public:
  /// The actor ended for `reason` (empty or caf::exit_reason::normal: a normal end).
  virtual void actor_exited(caf::abstract_actor& actor, const caf::error& reason) = 0;

protected:
  // Not destroyed through this interface: the tracker is a member of the runtime.
  ~exit_listener() = default;
};

/// An actor class that reports its own end: given a listener before it starts, it calls it once
/// when it ends (troupe::actor is one).
template <class Actor>
concept reports_its_exit = requires {
  std::declval<Actor&>().report_exit_to(static_cast<exit_listener*>(nullptr));
};

} // namespace troupe
