#pragma once

#include <type_traits>

#include "troupe/core/actor.hpp"

namespace troupe::detail {

/// Rejects, at compile time, a `self` that is not a Troupe actor where a function keeps a
/// pointer to it as one (topic and watched subscriptions): a plain CAF actor there would be cast
/// to the wrong class and crash at run time.
template <class Self>
constexpr void require_troupe_actor() {
  static_assert(std::is_base_of_v<troupe::actor, std::remove_cv_t<Self>>,
                "troupe: subscribe(self, ...)/unsubscribe(self) need `self` to be a Troupe actor "
                "(the `self` of spawn_actor or of a spawn_mailbox factory); a plain CAF actor "
                "subscribes by its "
                "handle instead: subscribe(caf::actor_cast<caf::actor>(self))");
}

} // namespace troupe::detail
