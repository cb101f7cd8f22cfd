#pragma once

#include <cstddef>

namespace troupe {

/// Another stream of work a Troupe actor drains besides its own queue: a topic subscription, a
/// watched value's reader. The actor calls drain() on every run, and has_pending() when it goes
/// idle to decide whether to run again.
///
/// Contract for producers: after making work available, the producer wakes the actor
/// (troupe::actor::wake) under a lock that has_pending() takes too; that lock orders the wake
/// handshake, so no store_load_barrier is needed.
///
/// Example (the shape of a topic subscription):
///
///   struct subscription final : troupe::message_source {
///     std::size_t drain(std::size_t max) override { return topic->drain(*this, max); }
///     bool has_pending() override { return topic->has_pending(*this); }
///     void detach() override { topic->detach(*this); }
///     bool finished() const noexcept override { return closed; }
///   };
///   self->add_source(std::make_shared<subscription>(...));
///
/// Thread safety: drain() and detach() run on the actor; has_pending() may run on any thread
/// (the actor calls it right after going idle, when it may already run elsewhere); finished()
/// runs on the actor.
class message_source {
public:
  virtual ~message_source() = default;
  /// Hands up to `max` items to their handler; returns how many. Runs on the actor.
  virtual std::size_t drain(std::size_t max) = 0;
  /// Whether drain() would find work now. Any thread; takes the producers' lock.
  [[nodiscard]] virtual bool has_pending() = 0;
  /// The actor terminates: stop feeding it.
  virtual void detach() = 0;
  /// Done for good (unsubscribed, disconnected); the actor drops it after its next drain.
  [[nodiscard]] virtual bool finished() const noexcept = 0;
};

} // namespace troupe
