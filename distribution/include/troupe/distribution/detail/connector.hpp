#pragma once

// The first step of every connection to another node, shared by the blocking lookup of the node
// handle and the asynchronous one of remote links: which CAF actor opens the connection, and
// what its answer means in Troupe's terms.

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/io/middleman_actor.hpp>

#include "troupe/distribution/network_options.hpp"

namespace troupe::detail {

/// The actor that opens connections: the TLS manager's when TLS is on, else CAF's middleman's.
[[nodiscard]] caf::io::middleman_actor connector(caf::actor_system& sys,
                                                 const network_options& opts);

/// A connect to `where` answered with `handle`: the actor published there, or not_published.
[[nodiscard]] caf::expected<caf::actor> published_actor(const std::string& where,
                                                        const caf::strong_actor_ptr& handle);

/// A connect to `where` that failed: node_down, naming the place and CAF's reason.
[[nodiscard]] caf::error connect_failure(const std::string& where, const caf::error& reason);

} // namespace troupe::detail
