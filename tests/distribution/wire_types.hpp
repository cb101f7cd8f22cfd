#pragma once

// Message types the distribution tests and the two-process example send across nodes.

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "troupe/distribution/network_options.hpp"

namespace troupe::test {

struct add {
  int32_t x = 0;
  int32_t y = 0;
  using reply_type = int32_t;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add& x) {
  return f(caf::meta::type_name("add"), x.x, x.y);
}

/// Answered after `ms` milliseconds (the server's handler waits).
struct slow {
  int32_t ms = 0;
  using reply_type = std::string;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slow& x) {
  return f(caf::meta::type_name("slow"), x.ms);
}

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
  network_setup net{std::move(opts)};
  net.announce<add>("add").announce<slow>("slow").announce<explode>("explode");
  return net;
}

} // namespace troupe::test
