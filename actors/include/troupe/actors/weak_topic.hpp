#pragma once

#include <memory>

#include "troupe/actors/topic.hpp"

namespace troupe {

/// A handle of a topic that is not a publisher handle (Tokio's broadcast::WeakSender): it does
/// not keep the topic open, so a subscriber can hold one to end its own subscription later
/// without delaying the close that the last topic<T> handle going away causes. Copies share the
/// topic.
///
/// Example (inside a Troupe actor):
///
///   troupe::weak_topic<quote> weak{prices};
///   prices.subscribe(self, on_quote, on_lag);
///   ...
///   weak.unsubscribe(self);                    // no publisher handle kept meanwhile
///   if (auto again = weak.upgrade()) again.publish(quote{...});
///
/// Thread safety: upgrade() from anywhere; unsubscribe(self) only from inside `self`. A
/// weak_topic value is not itself synchronised (copy it per thread).
template <class T>
class weak_topic {
public:
  /// An empty handle: upgrade() yields an empty topic<T>, unsubscribe does nothing.
  weak_topic() = default;

  /// A weak handle of the topic `publisher` refers to (empty when `publisher` is).
  explicit weak_topic(const topic<T>& publisher) : core_(publisher.core_) {}

  /// A new publisher handle of the topic, or an empty one when the topic is gone or closed.
  /// A close racing with this call may still yield a handle; it then refuses publish and
  /// subscribe with topic_errc::closed, as a handle from find_topic does.
  [[nodiscard]] topic<T> upgrade() const {
    auto core = core_.lock();
    if (!core || core->is_closed())
      return {};
    return topic<T>{std::move(core)};
  }

  /// Ends `self`'s subscription as topic<T>::unsubscribe(self) does (its on_closed runs with
  /// topic_errc::unsubscribed at `self`'s next drain); a no-op when it has none or the topic is
  /// gone. Actor only.
  template <class Self>
  void unsubscribe(Self* self) const {
    if (auto core = core_.lock())
      core->unsubscribe(self);
  }

private:
  std::weak_ptr<typename topic<T>::core_type> core_;
};

} // namespace troupe
