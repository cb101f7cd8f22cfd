#pragma once

#include <memory>
#include <string>

#include "troupe/actors/topic.hpp"
#include "troupe/introspection/event_stream.hpp"
#include "troupe/runtime/runtime.hpp"

namespace troupe {

namespace detail {

/// What events_topic keeps in the runtime's named objects: the topic's first publisher handle
/// and the event stream subscription that feeds it. Both live as long as the runtime.
struct events_topic_holder {
  topic<event> publisher;
  event_subscription feed;
};

} // namespace detail

/// The runtime's lifecycle events (runtime::events()) of level `min` or above as a topic, so
/// that actors can subscribe to them like to any topic<event>. The first call for a level
/// creates the topic "troupe.events.<level>" (e.g. "troupe.events.warning", also reachable with
/// find_topic<event>) and subscribes it to the event stream; later calls return another handle
/// of the same topic. The topic lives, and is fed, as long as the runtime.
///
/// The topic drops the oldest events for a subscriber that falls 1024 events behind
/// (lag_policy::notify_lag: the subscriber's on_lag tells it how many); its own lagging
/// subscribers publish no topic.subscriber_lagged events, which would feed the topic itself.
///
/// Example (inside a Troupe actor, e.g. a mailbox actor's setup):
///
///   auto events = troupe::events_topic(rt, troupe::event_level::warning).value();
///   events.subscribe(
///       self, [](const troupe::event& e) { alert(troupe::to_text(e)); },
///       [](troupe::lagged l) { /* l.count events were skipped */ });
///
/// Delivery: the stream's sink publishes each event into the topic on the publishing thread
/// (never blocking); subscribers receive them on their own actor, in sequence order.
///
/// Errors: topic_errc::name_taken when a topic of another type took the name.
///
/// Thread safety: any thread.
[[nodiscard]] inline troupe::result<topic<event>>
events_topic(runtime& rt, event_level min = event_level::info) {
  using holder = detail::events_topic_holder;
  auto key = "events-topic:" + std::string{to_string(min)};
  auto existing = [&]() -> std::shared_ptr<holder> {
    auto found = rt.named().get<holder>(key);
    return found ? *found : nullptr;
  };
  if (auto h = existing())
    return h->publisher;
  topic_options opts;
  opts.name = "troupe.events." + std::string{to_string(min)};
  opts.capacity = 1024;
  opts.on_lag = lag_policy::notify_lag;
  // No event stream for this topic's own lag: it would publish into itself.
  auto core = std::make_shared<detail::topic_core<event>>(opts, nullptr);
  auto h = std::make_shared<holder>();
  h->publisher = topic<event>{core};
  if (rt.named().put(key, h)) {
    // Another thread made it first: use that one.
    if (auto other = existing())
      return other->publisher;
  }
  if (rt.named().put("topic:" + opts.name, core))
    return make_error(topic_errc::name_taken, opts.name);
  rt.registry().add_component(
      "topics", opts.name,
      [weak = std::weak_ptr<detail::topic_core<event>>{core}] {
        auto c = weak.lock();
        return c ? nlohmann::json(c->metrics()) : nlohmann::json{};
      },
      "per_subscriber");
  // The sink holds the core, not a publisher handle: the holder's handle decides when the topic
  // closes (with the runtime).
  h->feed = rt.events().subscribe(
      [core](const event& e) { core->publish(std::make_shared<event>(e), nullptr); }, min);
  return h->publisher;
}

} // namespace troupe
