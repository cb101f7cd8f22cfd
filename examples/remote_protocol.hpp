#pragma once

// What the remote_server and remote_client examples say to each other: the same types under
// the same names on both nodes.

#include <cstdint>
#include <string>
#include <utility>

#include <caf/meta/type_name.hpp>

#include "troupe/distribution/network_options.hpp"

namespace calc {

struct add {
  int32_t x = 0;
  int32_t y = 0;
  using reply_type = int32_t;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add& x) {
  return f(caf::meta::type_name("add"), x.x, x.y);
}

/// Answered after `ms` milliseconds: a request that takes a while.
struct slow {
  int32_t ms = 0;
  using reply_type = std::string;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slow& x) {
  return f(caf::meta::type_name("slow"), x.ms);
}

/// The protocol's types announced under their wire names; `opts` as the node needs them.
inline troupe::network_setup network(troupe::network_options opts = {}) {
  troupe::network_setup net{std::move(opts)};
  net.announce<add>("add").announce<slow>("slow");
  return net;
}

} // namespace calc
