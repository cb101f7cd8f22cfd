#pragma once

// Message types the distribution tests and the two-process example send across nodes.

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "remote_protocol.hpp" // examples/
#include "troupe/distribution/network_options.hpp"

namespace troupe::test {

// add and slow are the examples' own protocol: the two-process test talks to the remote_server
// example, and the in-process tests use the same names and types.
using calc::add;
using calc::slow;

/// The handler throws: the error crosses the network typed.
struct explode {
  std::string why;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, explode& x) {
  return f(caf::meta::type_name("explode"), x.why);
}

/// Inspectable but never announced: sending it remotely is an error at lookup. (A type that is
/// not even inspectable does not compile into a CAF message at all.)
struct local_only {
  int32_t v = 0;
  using reply_type = int32_t;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, local_only& x) {
  return f(caf::meta::type_name("local_only"), x.v);
}

inline network_setup test_network(network_options opts = {}) {
  auto net = calc::network(std::move(opts));
  net.announce<explode>("explode");
  return net;
}

} // namespace troupe::test
