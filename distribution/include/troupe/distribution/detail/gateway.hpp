#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "troupe/actors/request.hpp"
#include "troupe/distribution/detail/protocol.hpp"
#include "troupe/mailbox/mailbox.hpp"

namespace troupe::detail {

/// The CAF actor a node publishes for a typed mailbox: remote requests arrive here as CAF
/// messages and go on as Troupe requests to the mailbox the resolver names now (a supervised
/// service's current incarnation), with the mailbox's own answers and typed errors going back.
/// It also tells clients the wire names of the types it accepts, so that a client whose types
/// differ fails at lookup rather than at its first request.
template <class... Ts>
caf::behavior gateway(caf::event_based_actor* self, std::function<mailbox<Ts...>()> resolve,
                      std::vector<std::string> names, std::chrono::milliseconds timeout) {
  auto forward = [self, resolve, timeout]<class T>(T& msg) {
    using R = reply_t<T>;
    auto rp = self->make_response_promise();
    troupe::request(self, resolve(), std::move(msg), timeout)
        .then(
            [rp](R value) mutable {
              if constexpr (std::is_same_v<R, caf::unit_t>)
                rp.deliver(caf::unit);
              else
                rp.deliver(std::move(value));
            },
            [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
    return rp;
  };
  // A request that carries its client's trace runs with it (see troupe::trace_id); one
  // without (an older client) runs untraced.
  return {
      [names](describe_atom) { return names; },
      [forward](Ts& msg, trace_id trace) {
        trace_scope traced{trace};
        return forward(msg);
      }...,
      [forward](Ts& msg) { return forward(msg); }...,
  };
}

} // namespace troupe::detail
