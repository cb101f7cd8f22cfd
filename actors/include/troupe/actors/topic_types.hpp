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

struct topic_options {
  /// Messages kept for subscribers; a subscriber further behind has lagged.
  std::size_t capacity = 1024;
  lag_policy on_lag = lag_policy::notify_lag;
  /// Registered under this name on the runtime (find_topic); empty: not registered.
  std::string name;
};

/// Delivered to a subscriber that fell behind: it missed exactly `missed` messages.
struct lagged {
  uint64_t missed = 0;
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

/// What happened to a message offered to a mailbox subscriber.
enum class forward_result { delivered, refused, gone };

struct subscriber_metrics {
  caf::actor_id actor = 0;
  uint64_t received = 0;
  /// Messages lost to lag (notify_lag) before this subscriber caught up.
  uint64_t missed = 0;
  /// How far behind the newest message it is now.
  uint64_t behind = 0;
};

struct topic_metrics {
  std::string name;
  std::size_t capacity = 0;
  std::size_t subscribers = 0;
  uint64_t published = 0;
  uint64_t published_without_subscribers = 0;
  uint64_t delivered = 0;
  uint64_t disconnected = 0;
  /// Closed: publish refuses, subscribers finish what was published before.
  bool closed = false;
  std::vector<subscriber_metrics> per_subscriber;
};

void to_json(nlohmann::json& out, const topic_metrics& m);

} // namespace troupe
