#pragma once

// A watched value read with co_await, the coroutine form of Tokio's watch::Receiver.
//
// Delivery protocol (the topic_reader protocol, with one slot instead of a buffer):
//
//  1. The reading's callbacks (on_change, on_closed) run in the reader's actor, on its drains,
//     and reach the reader through a state shared with it (moves and destruction are safe).
//  2. A callback that finds a changed() waiting resumes it at once, in that drain. Otherwise
//     the value fills the state's one slot, replacing a value nobody took (changes coalesce:
//     only the newest is kept, as the watched value itself does for a busy reader).
//  3. A changed() cancelled while waiting (a first_of it lost, its actor stopping) deregisters
//     in its destructor: it took nothing, so the next change stays for the next changed().

#include <coroutine>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/actors/watched.hpp"
#include "troupe/actors/watched_errc.hpp"
#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/detail/reader_wait.hpp"
#include "troupe/coro/detail/reply_target.hpp"
#include "troupe/coro/detail/watch_reader_state.hpp"
#include "troupe/coro/task.hpp"

namespace troupe::coro {

/// One changed() of a watch_reader, awaited inside a troupe::task (see watch_reader::changed).
template <class T>
class watch_changed final
    : public ::troupe::detail::reader_wait<::troupe::detail::watch_reader_state<T>, T> {
public:
  /// Internal: made by the reader.
  watch_changed(std::shared_ptr<::troupe::detail::watch_reader_state<T>> state,
                ::troupe::actor* owner)
      : ::troupe::detail::reader_wait<::troupe::detail::watch_reader_state<T>, T>(
            std::move(state), owner,
            "troupe::coro::watch_reader: changed() awaited on another actor") {}
};

/// One Troupe actor's reading of a watched value, awaited with `co_await reader.changed()`
/// (Tokio's watch::Receiver). Made by coro::watch; stops reading when destroyed.
///
/// The first changed() yields the value current when the reading started (as a subscriber's
/// first on_change does; has_changed is true right after subscribing), each later one the
/// newest value not yet yielded: changes made while nobody awaits coalesce into the newest.
/// After the writer closes the value, changed() yields the last value not yet yielded, then
/// watched_errc::closed.
///
/// Example:
///
///   auto rate = troupe::coro::watch(self, limits);
///   if (!rate) co_return rate.error();
///   while (auto r = co_await rate->changed())
///     apply(*r);                          // ends with watched_errc::closed
///
/// Lifetime: the reading lasts as long as the reader (moves keep it); destroying the reader
/// unsubscribes at once (readers() drops), and a changed() still suspended when its actor stops
/// is destroyed with its frame: nothing resumes later.
///
/// Thread safety: watch, await, move and destroy a reader on its actor only; one changed() at a
/// time. current() from anywhere.
template <class T>
class watch_reader {
public:
  /// Takes over `other`'s reading; `other` is empty afterwards.
  watch_reader(watch_reader&& other) noexcept
      : state_(std::move(other.state_)), self_(std::exchange(other.self_, nullptr)),
        value_(std::move(other.value_)) {}

  /// Ends this reader's reading, then takes over `other`'s.
  watch_reader& operator=(watch_reader&& other) noexcept {
    if (this != &other) {
      unsubscribe();
      state_ = std::move(other.state_);
      self_ = std::exchange(other.self_, nullptr);
      value_ = std::move(other.value_);
    }
    return *this;
  }

  watch_reader(const watch_reader&) = delete;
  watch_reader& operator=(const watch_reader&) = delete;

  /// Stops reading (the reading's end notice then finds no reader).
  ~watch_reader() { unsubscribe(); }

  /// Awaiting it yields caf::expected<T>: the newest value not yet yielded, at once when there
  /// is one, else the next change.
  ///
  /// Errors: watched_errc::closed (after the last value), watched_errc::unsubscribed (someone
  /// called unsubscribe(self) on the value). Every later changed() yields it again.
  ///
  /// Cancellation: a changed() destroyed while waiting (a first_of it lost) takes nothing: the
  /// next change stays for the next changed(). Throws std::logic_error on an empty (moved-from)
  /// reader, when awaited on another actor, or while another changed() of this reader waits.
  [[nodiscard]] watch_changed<T> changed() const {
    if (!state_)
      throw std::logic_error("troupe::coro::watch_reader: changed() on an empty reader");
    return {state_, self_};
  }

  /// The value's current value, whether or not changed() yielded it yet (Tokio's borrow): a
  /// snapshot that later changes do not touch. Does not count as seen. Any thread; not on an
  /// empty (moved-from) reader.
  [[nodiscard]] std::shared_ptr<const T> current() const { return value_.get(); }

  /// Whether a value not yet yielded is waiting in the reader (the next changed() will not
  /// suspend for it). Changes not yet delivered to the actor are not counted.
  [[nodiscard]] bool has_unseen() const noexcept { return state_ && state_->has_unseen(); }

private:
  template <class U>
  friend caf::expected<watch_reader<U>> watch(::troupe::actor* self, const watched<U>& w);

  watch_reader(std::shared_ptr<::troupe::detail::watch_reader_state<T>> state,
               ::troupe::actor* self, watched<T> w)
      : state_(std::move(state)), self_(self), value_(std::move(w)) {}

  void unsubscribe() noexcept {
    if (auto* self = std::exchange(self_, nullptr))
      value_.unsubscribe(self);
    state_.reset();
  }

  std::shared_ptr<::troupe::detail::watch_reader_state<T>> state_;
  ::troupe::actor* self_ = nullptr;
  watched<T> value_; // a plain handle: it does not keep the value from closing
};

/// Subscribes the Troupe actor `self` to the watched value `w` and returns the reader to
/// `co_await changed()` on (see watch_reader). One reading per actor and value, as with
/// watched<T>::subscribe.
///
/// Example:
///
///   [self, limits](follow) -> troupe::task<void> {
///     auto rate = troupe::coro::watch(self, limits);
///     if (!rate) co_return;
///     while (auto r = co_await rate->changed()) apply(*r);
///   }
///
/// Errors: watched_errc::already_subscribed.
/// Thread safety: only from inside `self` (a handler or task of its).
template <class T>
[[nodiscard]] caf::expected<watch_reader<T>> watch(::troupe::actor* self, const watched<T>& w) {
  auto state = std::make_shared<::troupe::detail::watch_reader_state<T>>();
  auto err = w.subscribe(
      self, [state](const T& x) { state->on_change(x); },
      [state](caf::error why) { state->on_closed(std::move(why)); });
  if (err)
    return err;
  return watch_reader<T>{std::move(state), self, w};
}

} // namespace troupe::coro
