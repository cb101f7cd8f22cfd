#pragma once

// The event kinds the actors component emits (see troupe::event and docs/events.md). The
// subject (event::actor, event::name) is the subscriber; the topics that publish them are the
// named topics made with make_topic (not events_topic's own, which would feed itself).

#include <string_view>

namespace troupe::event_kinds {

/// An actor subscriber fell more than the topic's capacity behind under lag_policy::notify_lag
/// and skipped messages. Level notice. Fields: "topic", "lost" (messages skipped this time).
inline constexpr std::string_view topic_subscriber_lagged{"topic.subscriber_lagged"};

/// An actor subscriber fell more than the topic's capacity behind under lag_policy::disconnect
/// and was unsubscribed. Level warning. Fields: "topic", "lost".
inline constexpr std::string_view topic_subscriber_disconnected{"topic.subscriber_disconnected"};

} // namespace troupe::event_kinds
