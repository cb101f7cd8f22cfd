#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>

#include "troupe/core/actor.hpp"
#include "troupe/runtime/runtime.hpp"

namespace troupe {

namespace detail {

/// A Troupe actor without a queue of its own: its work comes only from its
/// replies, its message sources (topics, watched values, barriers) and CAF
/// messages.
template <class F>
class body_actor final : public actor {
public:
  body_actor(caf::actor_config& cfg, std::string name, F body)
      : actor(cfg), name_(std::move(name)), body_(std::move(body)) {}

  const char* name() const override { return name_.empty() ? "actor" : name_.c_str(); }

  /// What runtime::spawn registers it as in the topology.
  static constexpr std::string_view topology_kind = "actor";

  caf::behavior make_behavior() override {
    auto behavior = initialize_actor();
    body_(static_cast<actor*>(this));
    return behavior;
  }

protected:
  void drain_queue(size_t) override {}
  [[nodiscard]] bool queue_empty() const noexcept override { return true; }
  std::atomic<uint64_t>& queue_anchor() noexcept override { return anchor_; }

private:
  std::string name_;
  F body_;
  // Nothing is ever pushed: the anchor only completes the wake handshake's
  // shape.
  std::atomic<uint64_t> anchor_{0};
};

} // namespace detail

/// Spawns a Troupe actor that declares no message types and returns its handle.
/// `body(self)` runs once, on the actor, when it starts; there it makes
/// requests (troupe::request), subscribes to topics and watched values, arrives
/// at barriers, submits to pools. Their continuations then run on the actor,
/// one at a time, like a typed mailbox's handlers. The actor ends when it calls
/// self->quit(), when it is killed (a link, a supervisor's shutdown), or when
/// the runtime shuts down; a body or continuation that throws ends it with
/// CAF's runtime error as exit reason.
///
/// The handle is a plain caf::actor: supervisors accept it from a child spec's
/// start, it can be linked and monitored, and the topology shows the actor with
/// kind "actor" and `name`.
///
/// Example:
///
///   auto greeter = troupe::spawn_actor(rt, "greeter", [counter](troupe::actor*
///   self) {
///     troupe::request(self, counter, get_count{}, 1s).then([self](int64_t n) {
///       std::cout << n << '\n';
///       self->quit();
///     });
///   });
///
/// Thread safety: any thread.
template <class F>
requires std::invocable<F&, actor*> caf::actor spawn_actor(runtime& rt, std::string name, F body) {
  // Its kind comes with its registration (body_actor::topology_kind): a description given
  // after the spawn could come after a body that quits at once ended, and leave a node behind.
  auto owner = rt.spawn<detail::body_actor<F>>(std::move(name), std::move(body));
  return caf::actor_cast<caf::actor>(owner);
}

/// spawn_actor() without a name: the topology shows it as "actor".
template <class F>
requires std::invocable<F&, actor*> caf::actor spawn_actor(runtime& rt, F body) {
  return spawn_actor(rt, std::string{}, std::move(body));
}

} // namespace troupe
