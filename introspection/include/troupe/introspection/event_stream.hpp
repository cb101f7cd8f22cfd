#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "troupe/introspection/event.hpp"

namespace troupe {

namespace detail {
struct event_stream_state;
} // namespace detail

/// A registration of a sink with an event_stream; unsubscribes when destroyed or reset.
///
/// Move-only. Once reset() or the destructor returned, the sink is not called again and is
/// destroyed; when that happens on the thread that is running this stream's sinks (from inside
/// a sink), the running sink finishes its current call and is not called again.
///
/// Thread safety: one subscription is used by one thread at a time; different subscriptions of
/// one stream may be reset concurrently with each other and with publish(). reset() waits for
/// a sink call in progress on another thread, so do not reset while holding a lock that a sink
/// of the same stream takes. A subscription may outlive its stream; it then does nothing.
class [[nodiscard]] event_subscription {
public:
  /// A subscription to nothing.
  event_subscription() noexcept = default;
  /// Takes over `other`'s registration; `other` is left empty.
  event_subscription(event_subscription&& other) noexcept;
  /// Unsubscribes from the current registration, then takes over `other`'s.
  event_subscription& operator=(event_subscription&& other) noexcept;
  event_subscription(const event_subscription&) = delete;
  event_subscription& operator=(const event_subscription&) = delete;
  /// Unsubscribes (see reset()).
  ~event_subscription();

  /// Unsubscribes: when it returns, the sink is not called again (see the class comment for a
  /// reset from inside a sink). Does nothing on an empty subscription.
  void reset() noexcept;

  /// True while subscribed.
  [[nodiscard]] explicit operator bool() const noexcept { return id_ != 0; }

private:
  friend class event_stream;
  event_subscription(std::weak_ptr<detail::event_stream_state> state, std::uint64_t id) noexcept
      : state_(std::move(state)), id_(id) {}

  std::weak_ptr<detail::event_stream_state> state_;
  std::uint64_t id_ = 0;
};

/// One runtime's typed stream of lifecycle events (see troupe::event and docs/events.md): what
/// Troupe's components emit (actors spawned and exited, restarts, dead letters, blocked
/// workers, lagging subscribers, pool retries, nodes), delivered to subscribed sinks.
///
/// Emitters check wants() before building an event, so a stream without a subscriber at a
/// level costs each emit site one relaxed atomic load.
///
/// Example:
///
///   auto sub = rt.events().subscribe(
///       [](const troupe::event& e) { std::clog << troupe::to_text(e) << '\n'; },
///       troupe::event_level::warning);
///   // ... sub's destructor unsubscribes
///
///   if (rt.events().wants(troupe::event_level::info))   // at an emit site
///     rt.events().publish(troupe::event{.level = troupe::event_level::info, .kind = "x.y"});
///
/// Delivery: sinks run synchronously on the publishing thread (a scheduler worker, the
/// watchdog, a network thread...), one event at a time per stream, in sequence order: the
/// stream holds one lock while it delivers an event to every sink, so a sink sees strictly
/// increasing sequence numbers and a slow sink delays every publisher. Sinks must be quick and
/// must not block; hand work to an actor (events_topic) or a queue. An event published from
/// inside a sink on the same stream is delivered after the current one, to every sink. A
/// component must not publish while it holds a lock that a sink may need (e.g. a topic's).
///
/// Errors: a sink that throws does not stop delivery: the exception is caught and counted
/// (sink_failures()), and the first one is reported on stderr.
///
/// Thread safety: every member may be called from any thread. Memory ordering: everything a
/// publisher did before publish() happens-before the sink's call with that event; a subscribe()
/// that returned happens-before the delivery of every event published after it (a concurrent
/// publish may or may not reach the new sink).
class event_stream {
public:
  /// A stream without subscribers.
  event_stream();
  event_stream(const event_stream&) = delete;
  event_stream& operator=(const event_stream&) = delete;
  /// Subscriptions that outlive the stream become empty.
  ~event_stream();

  /// True when some subscriber wants events of `level`: one relaxed atomic load, false without
  /// a subscriber at that level. Emit sites call it before building an event.
  [[nodiscard]] bool wants(event_level level) const noexcept {
    return static_cast<std::uint8_t>(level) >= wanted_.load(std::memory_order_relaxed);
  }

  /// Delivers `e` to every sink whose minimum level it reaches, after assigning the next
  /// sequence number and, when `e.time` is the epoch, the current time. Does nothing when no
  /// sink wants `e.level`.
  void publish(event e);

  /// Calls `sink` with every later event of level `min` or above until the returned
  /// subscription is reset or destroyed. `sink` runs on the publishing thread (see the class
  /// comment) and must be quick. An empty `sink` returns an empty subscription.
  [[nodiscard]] event_subscription subscribe(std::function<void(const event&)> sink,
                                             event_level min = event_level::info);

  /// How many sink calls threw so far.
  [[nodiscard]] std::uint64_t sink_failures() const noexcept;

  /// How many events were delivered so far (the last sequence number assigned).
  [[nodiscard]] std::uint64_t published() const noexcept;

private:
  friend struct detail::event_stream_state;

  // The lowest level any subscriber wants (as a number), above every level when there is none.
  // Written under the state's lock whenever the subscribers change.
  std::atomic<std::uint8_t> wanted_;
  // Shared with the subscriptions, which may outlive the stream.
  std::shared_ptr<detail::event_stream_state> state_;
};

} // namespace troupe
