#pragma once

// Pub/sub topics, the actor form of Tokio's broadcast channel.
//
// A topic<T> keeps one ring of the last `capacity` messages, shared by all subscribers; each
// subscriber has a cursor into it. A publish stores the payload once (shared, never copied per
// subscriber) and wakes the subscribers, which read from their cursor in batches. A subscriber
// more than `capacity` messages behind has lost the oldest: it receives lagged{n} with the exact
// number it missed and continues from the oldest message still there (policy `notify_lag`), or
// it is unsubscribed with topic_errc::subscriber_lagged (policy `disconnect`).
//
// Example:
//
//   auto prices = troupe::make_topic<quote>(rt, {.name = "prices"}).value();
//   // inside a Troupe actor (the `self` of a mailbox's handlers):
//   prices.subscribe(self, [](const quote& q) { ... }, [](troupe::lagged l) { ... });
//   prices.publish(quote{...});                     // from any thread or actor
//
// Ordering: every subscriber sees the messages of one publisher in publish order.
//
// Closing (Tokio's broadcast closes when its last Sender is dropped): a topic<T> handle is a
// publisher handle. close(), or the last topic<T> handle going away, closes the topic: publish
// and subscribe then fail with topic_errc::closed (publish hands the message back). Each actor
// subscriber still reads everything published before the close, in order, and then its
// on_closed runs with topic_errc::closed. Mailbox and CAF actor subscribers got every message at
// publish time and are simply dropped. Every handle counts, wherever it is: one captured by a
// subscriber keeps the topic open, as a Sender kept by a receiver task does in Tokio; the
// runtime's name registry (find_topic) and the subscriptions themselves do not count.
//
// End notices: on_closed runs exactly once per actor subscription, after the last message it
// delivers, with the reason: topic_errc::closed (the topic closed), topic_errc::unsubscribed
// (the subscriber called unsubscribe), topic_errc::subscriber_lagged (lag_policy::disconnect).
// An actor that terminates is unsubscribed without a notice.
//
// Lifetime: the subscription keeps its subscriber reachable until it ends.
// Thread safety: publish(), close(), is_closed(), subscriber_count() and metrics() from
// anywhere (but publish() to a topic with lag_policy::backpressure waits for room: from threads,
// not actors); subscribe(self, ...)/unsubscribe(self) only from inside the subscribing actor. A
// topic<T> value is not itself synchronised (copy it per thread, as a shared_ptr).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <typeindex>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "troupe/actors/detail/topic_core.hpp"
#include "troupe/actors/publish_result.hpp"
#include "troupe/actors/topic_types.hpp"
#include "troupe/mailbox/mailbox.hpp"
#include "troupe/runtime/runtime.hpp"
#include "troupe/scheduler/result.hpp"

namespace troupe {

template <class T>
class weak_topic;

/// A publisher handle of a topic carrying T (see the top of this header). Copies share the topic
/// and each counts as a publisher handle; the last one gone closes it.
template <class T>
class topic {
public:
  /// The shared ring behind the handle (internal).
  using core_type = detail::topic_core<T>;

  /// An empty handle (operator bool is false); make_topic and find_topic make real ones.
  topic() = default;
  /// A new publisher handle of `core` (internal: make_topic and find_topic call it).
  explicit topic(std::shared_ptr<core_type> core) : core_(std::move(core)) {
    if (core_)
      core_->add_handle();
  }
  /// Another publisher handle of the same topic.
  topic(const topic& other) : topic(other.core_) {}
  /// Takes over `other`'s handle and leaves `other` empty: the count is unchanged.
  topic(topic&& other) noexcept = default;
  /// Releases the handle this one held (closing the topic if it was the last) and takes `other`.
  topic& operator=(topic other) noexcept {
    core_.swap(other.core_); // `other` releases the handle this one held
    return *this;
  }
  /// Releasing the last handle closes the topic.
  ~topic() {
    if (core_)
      core_->release_handle();
  }

  /// False for an empty (default-constructed or moved-from) handle.
  [[nodiscard]] explicit operator bool() const noexcept { return core_ != nullptr; }

  /// Publishes `value` to every current subscriber. Never blocks, except under
  /// lag_policy::backpressure, where it waits for room (and fails when the topic closes
  /// meanwhile). `ctx` is the caller's execution unit when called from inside an actor
  /// (self->context()), so woken subscribers run on the same worker.
  ///
  /// Returns how many subscribers it reached (see publish_result): 0 without subscribers, which
  /// is no error (unlike Tokio's send) and is counted in metrics().published_without_subscribers.
  /// Ignoring the result is fine for fire-and-forget publishers.
  ///
  /// Errors: topic_errc::closed, with the message handed back.
  publish_result<T> publish(T value, caf::execution_unit* ctx = nullptr) const {
    return core_->publish(std::make_shared<T>(std::move(value)), ctx);
  }

  /// Closes the topic (see the top of this header): later publish and subscribe calls fail with
  /// topic_errc::closed; actor subscribers read what is left, then get their closed notice.
  /// Returns whether this call closed it (false: it was closed already).
  bool close() const { return core_->close(); }

  /// Whether the topic was closed (by close() or its last handle).
  [[nodiscard]] bool is_closed() const { return core_->is_closed(); }

  /// Current subscribers of every kind (Tokio's receiver_count); one that ended no longer counts,
  /// even before its end notice ran.
  [[nodiscard]] std::size_t subscriber_count() const { return core_->subscriber_count(); }

  /// Subscribes the Troupe actor `self`: `on_message` runs for each message, `on_lag` when it
  /// fell behind, `on_closed` (optional) once when the subscription ends, after its last message,
  /// with topic_errc::closed, unsubscribed or subscriber_lagged. All run in `self`'s context.
  /// Errors: topic_errc::already_subscribed, topic_errc::closed.
  template <class Self>
  caf::error subscribe(Self* self, std::function<void(const T&)> on_message,
                       std::function<void(lagged)> on_lag,
                       std::function<void(caf::error)> on_closed = {}) const {
    return core_->subscribe(self, std::move(on_message), std::move(on_lag), std::move(on_closed));
  }

  /// Subscribes a typed mailbox that accepts T, from anywhere. Each message is offered to it
  /// without blocking the publisher: the mailbox's own bound and overflow policy apply, and what
  /// it refuses is counted as missed for it. The payload is copied into the mailbox (mailboxes own
  /// their messages; publish shared_ptr payloads to avoid that). A mailbox whose actor died is
  /// unsubscribed at the next publish. When the topic closes the subscription just ends (the
  /// mailbox takes only T: no notice). Errors: topic_errc::already_subscribed, topic_errc::closed.
  template <class... Ts>
  requires is_one_of_v<T, Ts...> caf::error subscribe(const mailbox<Ts...>& mb)
  const {
    return core_->subscribe_forward(mb.id(), [mb](const T& value) {
      auto r = mb.try_send(T{value});
      if (r)
        return r.was_dropped() ? forward_result::refused : forward_result::delivered;
      return r.error() == mailbox_errc::receiver_dead ? forward_result::gone
                                                      : forward_result::refused;
    });
  }

  /// Subscribes a plain CAF actor: each message reaches it as a CAF message (so T must be a
  /// type CAF can put in a message). It is unsubscribed when it terminates; until then the
  /// subscription keeps it reachable. When the topic closes the subscription just ends (no
  /// notice message; see with_closed_notice). Errors: topic_errc::already_subscribed,
  /// topic_errc::closed.
  caf::error subscribe(const caf::actor& subscriber) const {
    return subscribe_actor(subscriber, {});
  }

  /// As subscribe(subscriber), and when the topic closes the actor also receives
  /// (topic_closed_atom, caf::error) once, after the last message: the end notice a plain CAF
  /// actor can handle (the network layer's forwarders pass the close on this way).
  ///
  ///   events.subscribe(caf_actor, troupe::with_closed_notice);
  ///   // in caf_actor's behavior:
  ///   [](troupe::topic_closed_atom, caf::error& why) { ... }
  caf::error subscribe(const caf::actor& subscriber, with_closed_notice_t) const {
    return subscribe_actor(subscriber, [subscriber, topic_name = name()] {
      caf::anon_send(subscriber, topic_closed_atom::value,
                     make_error(topic_errc::closed, topic_name));
    });
  }

private:
  caf::error subscribe_actor(const caf::actor& subscriber, std::function<void()> on_closed) const {
    auto id = subscriber.id();
    auto err = core_->subscribe_forward(
        id,
        [subscriber](const T& value) {
          caf::anon_send(subscriber, value);
          return forward_result::delivered;
        },
        std::move(on_closed));
    if (err)
      return err;
    std::weak_ptr<core_type> weak = core_;
    caf::actor_cast<caf::abstract_actor*>(subscriber)->attach_functor([weak, id] {
      if (auto core = weak.lock())
        core->unsubscribe_forward(id);
    });
    return caf::none;
  }

public:
  /// Ends a CAF actor's subscription (no-op when it has none).
  void unsubscribe(const caf::actor& subscriber) const {
    core_->unsubscribe_forward(subscriber.id());
  }

  /// Ends a mailbox's subscription (no-op when it has none).
  template <class... Ts>
  void unsubscribe(const mailbox<Ts...>& mb) const {
    core_->unsubscribe_forward(mb.id());
  }

  /// Ends `self`'s subscription (no-op when it has none): no message reaches it afterwards, not
  /// even one of the batch being handled, and its on_closed runs with topic_errc::unsubscribed
  /// when `self` next drains (right after the current handler). Actor only.
  template <class Self>
  void unsubscribe(Self* self) const {
    core_->unsubscribe(self);
  }

  /// Counts, per topic and per subscriber, read under the topic's lock.
  [[nodiscard]] topic_metrics metrics() const { return core_->metrics(); }
  /// The name it is registered under (empty: unregistered).
  [[nodiscard]] const std::string& name() const noexcept { return core_->options().name; }
  /// The options it was made with.
  [[nodiscard]] const topic_options& options() const noexcept { return core_->options(); }

private:
  friend class weak_topic<T>; // downgrades without counting as a publisher

  std::shared_ptr<core_type> core_;
};

/// Creates a topic registered on `rt` under `opts.name` (an empty name: unregistered). The
/// handle returned is its first publisher handle: when it and every copy are gone, the topic
/// closes. Errors: config_errc::out_of_range for capacity 0; topic_errc::name_taken.
template <class T>
troupe::result<topic<T>> make_topic(runtime& rt, topic_options opts) {
  if (opts.capacity == 0)
    return make_error(config_errc::out_of_range, std::string{"capacity"}, std::string{"0"});
  auto core = std::make_shared<detail::topic_core<T>>(opts, rt.events_ptr());
  if (!opts.name.empty()) {
    if (rt.named().put("topic:" + opts.name, core))
      return make_error(topic_errc::name_taken, opts.name);
    // Named topics live as long as the runtime: they stay in its topology, and each
    // subscriber lists the topic among its subscriptions.
    rt.registry().add_component(
        "topics", opts.name,
        [weak = std::weak_ptr<detail::topic_core<T>>{core}] {
          auto c = weak.lock();
          return c ? nlohmann::json(c->metrics()) : nlohmann::json{};
        },
        "per_subscriber");
  }
  return topic<T>{std::move(core)};
}

/// Finds the topic `name` with payload type T on `rt`: a new publisher handle. A topic closed
/// meanwhile is still found (the name stays taken) and refuses with topic_errc::closed.
/// Errors: topic_errc::no_such_topic, topic_errc::type_mismatch.
template <class T>
troupe::result<topic<T>> find_topic(runtime& rt, const std::string& name) {
  auto core = rt.named().get<detail::topic_core<T>>("topic:" + name);
  if (!core)
    return make_error(core.error() == named_errc::wrong_type ? topic_errc::type_mismatch
                                                             : topic_errc::no_such_topic,
                      name);
  return topic<T>{std::move(*core)};
}

} // namespace troupe
