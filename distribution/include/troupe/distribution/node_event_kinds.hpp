#pragma once

// The event kinds the distribution component emits (see troupe::event and docs/events.md). The
// subject is the link actor (event::actor) and the peer "host:port/service" (event::name).

#include <string_view>

namespace troupe::event_kinds {

/// A link reached its peer node's service. Level info. Fields: "peer" (host:port/service),
/// "node" (the peer's CAF node id).
inline constexpr std::string_view node_connected{"node.connected"};

/// A link's connection attempt failed (refused, timed out, wrong secret, type mismatch). Level
/// warning. Fields: "peer", "reason".
inline constexpr std::string_view node_connect_failed{"node.connect_failed"};

/// A connected link lost its peer (the connection dropped, or the remote service ended). Level
/// warning. Fields: "peer", "reason".
inline constexpr std::string_view node_lost{"node.lost"};

} // namespace troupe::event_kinds
