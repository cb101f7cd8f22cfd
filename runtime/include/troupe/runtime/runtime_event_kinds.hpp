#pragma once

// The event kinds the runtime emits (see troupe::event and docs/events.md). Each
// component defines its own kinds in its own header, in this namespace.

#include <string_view>

namespace troupe::event_kinds {

/// An actor spawned through the runtime (or adopted by a supervisor) started. Level debug.
/// Fields: "kind" (what the topology calls it, e.g. "actor").
inline constexpr std::string_view actor_spawned{"actor.spawned"};

/// A tracked actor ended. Level info for a normal end (no reason, normal, user_shutdown),
/// warning otherwise. Fields: "reason" (rendered, "none" for no reason), "normal" (bool).
inline constexpr std::string_view actor_exited{"actor.exited"};

/// A message reached no handler (see troupe::dead_letter). Level warning. Fields:
/// "receiver", "message_type", "reason".
inline constexpr std::string_view dead_letter{"dead_letter"};

/// A handler held a scheduler worker longer than runtime_config::blocked_threshold. Level
/// warning. Fields: "worker", "held_ms".
inline constexpr std::string_view worker_blocked{"worker.blocked"};

} // namespace troupe::event_kinds
