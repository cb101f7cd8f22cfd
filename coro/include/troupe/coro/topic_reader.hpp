#pragma once

// A topic subscription read with co_await, the coroutine form of Tokio's broadcast::Receiver.
//
// Delivery protocol (why no message is lost and none is resumed off the actor):
//
//  1. The subscription's callbacks (on_message, on_lag, on_closed) run in the reader's actor,
//     on its drains, whether or not a recv is waiting. They reach the reader through a state
//     shared with it, so moving the reader (or destroying it) never leaves them dangling.
//  2. A callback that finds a recv waiting hands it the event and resumes it at once, in that
//     drain, that is in the actor's turn. Otherwise the event joins the state's buffer, where
//     the next recv takes it without suspending. A recv only waits when the buffer is empty.
//  3. A recv that is cancelled (the loser of a first_of, a frame destroyed as its actor stops)
//     deregisters in its destructor before anything can complete it: it never took an event,
//     so the next event stays for the next recv.
//  4. The buffer holds at most the topic's capacity of messages. One more drops the oldest and
//     puts the loss in front as lagged{n}, merged with any notice already there, so the counts
//     stay exact and a loss is reported where it happened, as the topic itself reports a
//     subscriber that fell out of its ring.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/actors/topic.hpp"
#include "troupe/actors/topic_types.hpp"
#include "troupe/actors/weak_topic.hpp"
#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/detail/reader_wait.hpp"
#include "troupe/coro/detail/reply_target.hpp"
#include "troupe/coro/detail/topic_reader_state.hpp"
#include "troupe/coro/task.hpp"

namespace troupe::coro {

/// What topic_reader::recv yields on success: the next message, or a lagged{n} notice that the
/// reader lost the `n` messages before the next one it yields (Tokio's RecvError::Lagged, kept
/// apart from the end, which is the caf::error of the surrounding caf::expected).
///
/// Example:
///
///   if (auto* q = std::get_if<quote>(&*event)) show(*q);
///   else warn(std::get<troupe::lagged>(*event).missed);
template <class T>
using topic_event = std::variant<T, lagged>;

/// One recv of a topic_reader, awaited inside a troupe::task (see topic_reader::recv).
template <class T>
class topic_recv final
    : public ::troupe::detail::reader_wait<::troupe::detail::topic_reader_state<T>,
                                           topic_event<T>> {
public:
  /// Internal: made by the reader.
  topic_recv(std::shared_ptr<::troupe::detail::topic_reader_state<T>> state, ::troupe::actor* owner)
      : ::troupe::detail::reader_wait<::troupe::detail::topic_reader_state<T>, topic_event<T>>(
            std::move(state), owner,
            "troupe::coro::topic_reader: recv() awaited on another actor") {}
};

/// A topic subscription of one Troupe actor, read with `co_await reader.recv()` (Tokio's
/// broadcast::Receiver). Made by coro::subscribe; unsubscribes when destroyed.
///
/// Buffering: messages that arrive while no recv waits stay in the reader, in order, up to the
/// topic's capacity; beyond it the oldest are dropped and the next recv yields lagged{n} with
/// the exact count, then the oldest message kept (as the topic does for a subscriber that fell
/// out of its ring; both losses add up in one notice). The end (closed, unsubscribed,
/// subscriber_lagged) comes after every buffered event. Buffered messages are copies (the
/// callbacks see the topic's shared payload only while they run), as Tokio's recv clones: T
/// must be copyable. Under lag_policy::backpressure the topic waits for the reader's actor to
/// take the messages, not for its recv: beyond the capacity the reader's buffer still drops
/// the oldest and reports lagged{n}.
///
/// Example:
///
///   auto reader = troupe::coro::subscribe(self, prices);
///   if (!reader) co_return reader.error();
///   for (;;) {
///     auto event = co_await reader->recv();
///     if (!event) break;                                  // the end: why in event.error()
///     if (auto* q = std::get_if<quote>(&*event)) show(*q);
///     else warn(std::get<troupe::lagged>(*event).missed);
///   }
///
/// Lifetime: the subscription lasts as long as the reader (moves keep it); destroying the
/// reader unsubscribes at once, and a recv still suspended when its actor stops is destroyed
/// with its frame: nothing resumes later. The reader does not keep the topic open (it holds no
/// publisher handle).
///
/// Thread safety: subscribe, await, move and destroy a reader on its actor only; one recv at a
/// time.
template <class T>
class topic_reader {
public:
  /// Takes over `other`'s subscription; `other` is empty afterwards.
  topic_reader(topic_reader&& other) noexcept
      : state_(std::move(other.state_)), self_(std::exchange(other.self_, nullptr)),
        topic_(std::move(other.topic_)) {}

  /// Ends this reader's subscription, then takes over `other`'s.
  topic_reader& operator=(topic_reader&& other) noexcept {
    if (this != &other) {
      unsubscribe();
      state_ = std::move(other.state_);
      self_ = std::exchange(other.self_, nullptr);
      topic_ = std::move(other.topic_);
    }
    return *this;
  }

  topic_reader(const topic_reader&) = delete;
  topic_reader& operator=(const topic_reader&) = delete;

  /// Unsubscribes (the subscription's end notice then finds no reader).
  ~topic_reader() { unsubscribe(); }

  /// Awaiting it yields caf::expected<topic_event<T>>: the next message or lagged notice, or
  /// the end of the subscription. Does not suspend when something is buffered.
  ///
  /// Errors: topic_errc::closed (the topic closed; everything published before was yielded),
  /// topic_errc::unsubscribed (someone called unsubscribe(self) on the topic),
  /// topic_errc::subscriber_lagged (lag_policy::disconnect). Every later recv yields it again.
  ///
  /// Cancellation: a recv destroyed while waiting (a first_of it lost) takes nothing: the next
  /// message stays for the next recv. Throws std::logic_error on an empty (moved-from) reader,
  /// when awaited on another actor, or while another recv of this reader waits.
  [[nodiscard]] topic_recv<T> recv() const {
    if (!state_)
      throw std::logic_error("troupe::coro::topic_reader: recv() on an empty reader");
    return {state_, self_};
  }

  /// Messages waiting in the reader (lagged notices not counted); at most the topic's capacity.
  [[nodiscard]] std::size_t buffered() const noexcept {
    return state_ ? state_->buffered_messages() : 0;
  }

private:
  template <class U>
  friend caf::expected<topic_reader<U>> subscribe(::troupe::actor* self, const topic<U>& t);

  topic_reader(std::shared_ptr<::troupe::detail::topic_reader_state<T>> state,
               ::troupe::actor* self, weak_topic<T> t)
      : state_(std::move(state)), self_(self), topic_(std::move(t)) {}

  void unsubscribe() noexcept {
    if (auto* self = std::exchange(self_, nullptr))
      topic_.unsubscribe(self);
    state_.reset();
  }

  std::shared_ptr<::troupe::detail::topic_reader_state<T>> state_;
  ::troupe::actor* self_ = nullptr;
  weak_topic<T> topic_;
};

/// Subscribes the Troupe actor `self` to `t` and returns the reader to `co_await recv()` on
/// (see topic_reader). One subscription per actor and topic, as with topic<T>::subscribe.
///
/// Example:
///
///   [self, prices](watch_prices) -> troupe::task<void> {
///     auto reader = troupe::coro::subscribe(self, prices);
///     if (!reader) co_return;                          // already subscribed, or closed
///     while (auto event = co_await reader->recv())     // until the topic closes
///       if (auto* q = std::get_if<quote>(&*event)) show(*q);
///   }
///
/// Errors: topic_errc::already_subscribed, topic_errc::closed.
/// Thread safety: only from inside `self` (a handler or task of its).
template <class T>
[[nodiscard]] caf::expected<topic_reader<T>> subscribe(::troupe::actor* self, const topic<T>& t) {
  static_assert(!std::is_same_v<T, lagged>, "a topic of lagged notices cannot be told apart");
  auto state = std::make_shared<::troupe::detail::topic_reader_state<T>>(t.options().capacity);
  auto err = t.subscribe(
      self, [state](const T& x) { state->on_message(x); }, [state](lagged l) { state->on_lag(l); },
      [state](caf::error why) { state->on_closed(std::move(why)); });
  if (err)
    return err;
  return topic_reader<T>{std::move(state), self, weak_topic<T>{t}};
}

} // namespace troupe::coro
