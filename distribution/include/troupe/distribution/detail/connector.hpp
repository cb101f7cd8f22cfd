#pragma once

// The first step of every connection to another node, shared by the blocking lookup of the node
// handle and the asynchronous one of remote links: which CAF actor opens the connection, and
// what its answer means in Troupe's terms.

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/distribution/detail/node_state.hpp"

namespace troupe::detail {

/// The actor that opens connections: {connect_atom, host, port} -> {node_id, strong_actor_ptr,
/// set<string>}. CAF's TLS manager when TLS is on, else the node's gate (gate.hpp).
[[nodiscard]] caf::actor connector(const node_state& node);

/// A connect to `where` answered with `handle`: the actor published there, or not_published.
[[nodiscard]] caf::expected<caf::actor> published_actor(const std::string& where,
                                                        const caf::strong_actor_ptr& handle);

/// A connect to `where` that failed: node_down, naming the place and CAF's reason; the gate's
/// own errors (authentication_failed, node_down) pass unchanged.
[[nodiscard]] caf::error connect_failure(const std::string& where, const caf::error& reason);

} // namespace troupe::detail
