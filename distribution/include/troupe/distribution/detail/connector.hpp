#pragma once

// The first step of every connection to another node, shared by the blocking lookup of the node
// handle and the asynchronous one of remote links (node_state::connector()): the actor that
// opens the connection, and what its answer means in Troupe's terms.

#include <chrono>
#include <functional>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/distribution/network_options.hpp"

namespace troupe::detail {

/// How many times the connector opens a connection for one connect before it reports CAF's
/// spurious timeout (see spawn_connector).
inline constexpr int max_connect_attempts = 4;

/// Spawns the actor that opens a node's connections: {connect_atom, host, port} -> {node_id,
/// strong_actor_ptr, set<string>}, like CAF's middleman actor. `opener` does the work: CAF's
/// TLS manager when TLS is on, else the node's gate (gate.hpp).
///
/// Why not `opener` itself: CAF 0.17.6's broker gives the record of a connection it opened a
/// zero "last seen" time until the peer's first bytes arrive, and every heartbeat tick drops
/// the connections not seen for `connection_timeout`. A tick that falls into the handshake
/// (a TLS handshake takes milliseconds) fails the connect at once with sec::connection_timeout,
/// long before any real silence could. Such a connect is opened again, at most
/// max_connect_attempts times in all, half a heartbeat after the tick that failed it: the peer
/// has dropped the closed connection by then, and the handshake has the other half of the
/// interval before the next tick. `on_retry` runs (on the connector) for each retry. The last
/// attempt ends `connect_timeout` after the connect began.
[[nodiscard]] caf::actor spawn_connector(caf::actor_system& sys, caf::actor opener,
                                         const network_options& opts,
                                         std::function<void()> on_retry);

/// A connect to `where` answered with `handle`: the actor published there, or not_published.
[[nodiscard]] caf::expected<caf::actor> published_actor(const std::string& where,
                                                        const caf::strong_actor_ptr& handle);

/// A connect to `where` that failed: node_down, naming the place and CAF's reason; the gate's
/// own errors (authentication_failed, node_down) pass unchanged.
[[nodiscard]] caf::error connect_failure(const std::string& where, const caf::error& reason);

} // namespace troupe::detail
