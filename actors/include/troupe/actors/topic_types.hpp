#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "troupe/scheduler/errors.hpp" // make_error(code, context...) for every family

namespace troupe {

/// What a topic does with a subscriber that falls more than `capacity` messages behind.
enum class lag_policy {
  /// It loses the oldest messages and gets lagged{n} with the exact count (Tokio's broadcast).
  notify_lag,
  /// It is unsubscribed with topic_errc::subscriber_lagged.
  disconnect,
  /// Nobody lags: publish() waits until the slowest subscriber has room. For publishers on
  /// threads (or the blocking pool); an actor that publishes would hold its worker.
  backpressure,
};

/// How a topic is made (make_topic).
struct topic_options {
  /// Messages kept for subscribers; a subscriber further behind has lagged. Must not be 0.
  std::size_t capacity = 1024;
  /// What happens when an actor subscriber falls behind. Default: notify_lag.
  lag_policy on_lag = lag_policy::notify_lag;
  /// Registered under this name on the runtime (find_topic); empty: not registered.
  std::string name;
};

/// Delivered to a subscriber that fell behind: it missed exactly `missed` messages.
struct lagged {
  uint64_t missed = 0; ///< Messages skipped; the subscriber goes on with the oldest one kept.
};

enum class topic_errc : uint8_t {
  no_such_topic = 1,
  type_mismatch,
  name_taken,
  already_subscribed,
  /// The subscriber fell more than `capacity` behind under lag_policy::disconnect.
  subscriber_lagged,
  /// The topic was closed (close(), or its last topic<T> handle went away): publish and
  /// subscribe refuse; a subscriber gets it as its end notice after the last message.
  closed,
  /// The subscriber ended its own subscription (unsubscribe): its end notice.
  unsubscribed,
};

inline constexpr caf::atom_value topic_error_category = caf::atom("tr_topic");

[[nodiscard]] caf::error make_error(topic_errc code);
[[nodiscard]] const char* to_string(topic_errc code) noexcept;

/// The message a plain CAF actor subscribed with_closed_notice receives once when the topic
/// closes, after the last message: (topic_closed_atom, caf::error) with topic_errc::closed.
using topic_closed_atom = caf::atom_constant<caf::atom("tr_tclosed")>;

/// Tag for topic<T>::subscribe(actor, with_closed_notice).
struct with_closed_notice_t {};
/// Asks topic<T>::subscribe(actor, ...) for the topic_closed_atom message at the close.
inline constexpr with_closed_notice_t with_closed_notice{};

/// What happened to a message offered to a mailbox subscriber.
enum class forward_result { delivered, refused, gone };

/// One subscription of a topic, in topic_metrics::per_subscriber.
struct subscriber_metrics {
  /// The subscriber's actor (for a mailbox subscriber: the mailbox's actor).
  caf::actor_id actor = 0;
  /// Messages handed to it: taken for its handlers, or accepted by its mailbox.
  uint64_t received = 0;
  /// Messages lost to lag (notify_lag) before this subscriber caught up; for a mailbox
  /// subscriber, the messages its mailbox refused or dropped.
  uint64_t missed = 0;
  /// How far behind the newest message it is now; 0 for mailbox and CAF actor subscribers.
  uint64_t behind = 0;
};

/// A snapshot of one topic (topic::metrics()); counters only grow.
struct topic_metrics {
  /// topic_options::name; empty for an unregistered topic.
  std::string name;
  /// The size of the ring (topic_options::capacity).
  std::size_t capacity = 0;
  /// Current subscriptions of every kind (actors, mailboxes, CAF actors).
  std::size_t subscribers = 0;
  /// Messages published; a publish refused after close is not counted.
  uint64_t published = 0;
  /// Of those, the ones published while nobody was subscribed.
  uint64_t published_without_subscribers = 0;
  /// Messages handed to subscribers, summed over all of them (see
  /// subscriber_metrics::received).
  uint64_t delivered = 0;
  /// Subscribers unsubscribed by lag_policy::disconnect.
  uint64_t disconnected = 0;
  /// Closed: publish refuses, subscribers finish what was published before.
  bool closed = false;
  /// One entry per current subscription.
  std::vector<subscriber_metrics> per_subscriber;
};

void to_json(nlohmann::json& out, const topic_metrics& m);

} // namespace troupe
