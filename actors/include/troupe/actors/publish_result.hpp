#pragma once

#include <cstddef>
#include <optional>
#include <utility>

#include <caf/error.hpp>

namespace troupe {

/// The outcome of topic<T>::publish: how many subscribers the message reached, or why it was
/// refused, with the message handed back (Tokio's broadcast `send` returns the receiver count or
/// a SendError holding the value).
///
/// Unlike Tokio, a topic without subscribers accepts the message: `subscribers()` is 0 and the
/// topic's metrics count it (published_without_subscribers). Subscribers come and go around a
/// long-lived topic, so an empty topic is a state to observe, not a failure; the only refusal is
/// topic_errc::closed, which is final.
///
/// Example:
///
///   auto r = prices.publish(quote{"ACME", 12.5});
///   if (!r)                                    // topic_errc::closed
///     keep_for_later(std::move(*r.message())); // the quote comes back, never lost
///   else if (r.subscribers() == 0)
///     ++unheard;
///
/// Thread safety: a plain value.
template <class T>
class publish_result {
public:
  /// The message was taken; `subscribers` were reached.
  static publish_result reached(std::size_t subscribers) {
    publish_result r;
    r.subscribers_ = subscribers;
    return r;
  }

  /// The message was refused with `err`; `msg` goes back to the caller.
  static publish_result failed(caf::error err, T msg) {
    publish_result r;
    r.error_ = std::move(err);
    r.message_.emplace(std::move(msg));
    return r;
  }

  /// True when the topic took the message (even with no subscriber to read it).
  explicit operator bool() const noexcept { return !error_; }
  /// Subscribers the message reached: actor subscribers that will read it (unless they lag or
  /// end first) plus mailbox and CAF actor subscribers that accepted it. 0 when refused.
  [[nodiscard]] std::size_t subscribers() const noexcept { return subscribers_; }
  /// Why it was refused (topic_errc::closed); empty when it was taken.
  [[nodiscard]] const caf::error& error() const noexcept { return error_; }
  /// The refused message, handed back; empty unless the publish failed.
  [[nodiscard]] std::optional<T>& message() noexcept { return message_; }

private:
  publish_result() = default;
  std::size_t subscribers_ = 0;
  caf::error error_;
  std::optional<T> message_;
};

} // namespace troupe
