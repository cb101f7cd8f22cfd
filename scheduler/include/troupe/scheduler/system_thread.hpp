#pragma once

#include <caf/fwd.hpp>

namespace troupe {

/// Whether the calling thread is one that an actor system of a troupe::runtime started: a
/// scheduler worker (under any scheduler policy), its clock, a detached actor's thread. Code
/// that would block until an actor has done something checks it: on such a thread the actor
/// may need this very thread to run.
///
///   if (!troupe::on_actor_system_thread())
///     (void)sup.await_exit(deadline);
///
/// Thread safety: reads the calling thread's own mark.
[[nodiscard]] bool on_actor_system_thread() noexcept;

/// Marks the threads of the actor system made from `cfg` (a CAF thread hook); every
/// troupe::runtime calls it on its configuration.
void mark_actor_system_threads(caf::actor_system_config& cfg);

} // namespace troupe
