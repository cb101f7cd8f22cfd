#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "troupe/mailbox/detail/mailbox_introspection.hpp"
#include "troupe/mailbox/handlers.hpp"
#include "troupe/mailbox/mailbox.hpp"
#include "troupe/mailbox/mailbox_actor.hpp"
#include "troupe/mailbox/mailbox_options.hpp"
#include "troupe/runtime/runtime.hpp"
#include "troupe/scheduler/result.hpp"

namespace troupe {

/// Spawns an actor with a typed mailbox for the message types Ts... and returns its handle.
/// `make_handlers(self)` runs once, on the actor, when it starts; it returns the handler set
/// (troupe::handlers{...}) with one handler per type. A handler may return the reply of a
/// request (the type's reply_type), or caf::expected of it to answer with an error.
///
/// Example:
///
///   struct add { int x; };
///   struct total { using reply_type = int; };
///   auto mb = troupe::spawn_mailbox<add, total>(rt, {}, [](auto*) {
///     return troupe::handlers{[sum = 0](add& a) mutable { ... }, ...};
///   }).value();
///
/// Errors: the options' validation error (config_errc) instead of a handle.
/// Thread safety: any thread.
template <class... Ts, class F>
troupe::result<mailbox<Ts...>> spawn_mailbox(runtime& rt, mailbox_options opts, F make_handlers) {
  static_assert(sizeof...(Ts) > 0, "a mailbox accepts at least one message type");
  using self_type = mailbox_self<Ts...>;
  static_assert(std::is_invocable_v<F&, self_type*>,
                "make_handlers is called with the actor (mailbox_self<Ts...>*)");
  using actor_type = detail::mailbox_actor<F, Ts...>;
  if (auto err = opts.validate())
    return err;
  // The core and its shared_ptr counts in one recycled block (mailbox_core_allocator).
  auto core = std::allocate_shared<detail::mailbox_core<Ts...>>(
      detail::mailbox_core_allocator<Ts...>{}, std::move(opts), rt.dead_letters()->id(),
      rt.config().max_throughput);
  // Registered with its profile (actor_type::topology_shape) in the spawn's one step.
  auto owner = rt.spawn<actor_type>(core, std::move(make_handlers));
  // Lock-free once declared: the spawn path pays a few loads.
  rt.metric_families().declare(detail::mailbox_depth_family);
  return mailbox<Ts...>{caf::actor_cast<caf::actor>(owner)};
}

} // namespace troupe
