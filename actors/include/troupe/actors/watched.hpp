#pragma once

// A watched value, the actor form of Tokio's watch channel: one writer, many readers. A reader
// gets the current value when it subscribes and every change after; a reader that is busy sees
// only the newest value when it gets to run (changes coalesce, never a backlog). The current
// value can also be read synchronously.
//
// Example:
//
//   auto rate = troupe::make_watched<int>(100);            // jobs per second
//   rate.subscribe(self, [](const int& r) { ... }, [](caf::error) { /* ended */ });
//   rate.set(250);                                         // the writer
//   rate.modify([](int& r) { r *= 2; });                   // in place, readers told once
//   int now = *rate.get();                                 // any thread
//   rate.on_no_readers(writer_self, [] { /* nobody reads any more */ });
//
// Ending: each reader's on_closed runs exactly once, after the last value it delivers, with
// watched_errc::closed (the writer closed the value) or watched_errc::unsubscribed (the reader
// called unsubscribe). An actor that terminates stops reading without a notice. Unlike Tokio,
// the value does not close when its handles are gone (make_watched's handles are plain copies)
// and set() works without readers: get() is a reader that never leaves.
//
// Last reader gone (Tokio's Sender::closed() and receiver_count()): readers() counts them,
// on_no_readers(self, fn) runs fn on the writer actor once none is left, wait_no_readers(timeout)
// blocks a thread until then.
//
// Errors: set, modify and close after close: watched_errc::closed; subscribe twice:
// watched_errc::already_subscribed; has_changed: watched_errc::closed, not_subscribed.
//
// Thread safety: set(), modify(), close(), get(), version(), readers(), is_closed() and
// wait_no_readers() from any thread (one writer by convention); subscribe(), unsubscribe(),
// has_changed() and on_no_readers() only from inside the Troupe actor `self`. Callbacks run in
// its context. A change happens-before the on_change that delivers it.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>

#include <caf/error.hpp>

#include "troupe/actors/detail/require_troupe_actor.hpp"
#include "troupe/actors/detail/watched_core.hpp"
#include "troupe/actors/watched_errc.hpp"
#include "troupe/scheduler/result.hpp"

namespace troupe {

/// A handle of a watched value of type T (see the top of this header); copies share the value.
template <class T>
class watched {
public:
  /// An empty handle (operator bool is false); make_watched makes real ones.
  watched() = default;
  /// A handle of `core` (internal: make_watched calls it).
  explicit watched(std::shared_ptr<detail::watched_core<T>> core) : core_(std::move(core)) {}

  /// False for an empty handle.
  [[nodiscard]] explicit operator bool() const noexcept { return core_ != nullptr; }

  /// Replaces the value and tells the readers (the writer's call). Works without readers.
  /// Errors: watched_errc::closed (the value stays as it was).
  caf::error set(T value) const { return core_->set(std::move(value)); }

  /// Edits the value in place and tells the readers once (Tokio's send_modify). When `fn`
  /// returns bool, false means "not modified": no reader is told and the version stays (Tokio's
  /// send_if_modified), though an edit `fn` made anyway stays. Returns whether readers were told.
  ///
  /// `fn(T&)` runs under the value's lock: keep it short and do not call this value from it. It
  /// edits the value itself unless a snapshot (get(), a running on_change) is held somewhere; then
  /// it edits a copy that replaces the value, so a snapshot never changes under its holder. If `fn`
  /// throws, nobody is told and the exception propagates; an edit in place may be partial.
  ///
  /// Example: `counters.modify([](stats& s) { ++s.requests; });`
  ///
  /// Errors: watched_errc::closed (fn does not run).
  template <class F>
  requires std::invocable<F&, T&> && std::copy_constructible<T> result<bool> modify(F fn)
  const { return core_->modify(fn); }

  /// Ends the value's life: each reader gets the newest value it has not seen, then its
  /// on_closed with watched_errc::closed; later set()/modify() fail. get() keeps working.
  /// Errors: watched_errc::closed when it was closed already.
  caf::error close() const { return core_->close(); }

  /// The current value, read synchronously: a snapshot that later changes do not touch.
  [[nodiscard]] std::shared_ptr<const T> get() const { return core_->get(); }
  /// Incremented by every change that told the readers.
  [[nodiscard]] uint64_t version() const { return core_->version(); }
  /// Whether the writer closed the value.
  [[nodiscard]] bool is_closed() const { return core_->is_closed(); }
  /// Current readers (Tokio's receiver_count); one that ended no longer counts, even before its
  /// end notice ran.
  [[nodiscard]] std::size_t readers() const { return core_->readers(); }

  /// Subscribes the Troupe actor `self`: on_change runs with the current value first, then with
  /// the newest value after changes; on_closed once when the reading ends (see the top).
  /// Subscribing to a closed value delivers the last value, then the closed notice.
  /// Errors: watched_errc::already_subscribed.
  template <class Self>
  caf::error subscribe(Self* self, std::function<void(const T&)> on_change,
                       std::function<void(caf::error)> on_closed = {}) const {
    detail::require_troupe_actor<Self>();
    return core_->subscribe(static_cast<troupe::actor*>(self), std::move(on_change),
                            std::move(on_closed));
  }

  /// Ends `self`'s reading (no-op when it reads nothing): no value reaches it afterwards, and its
  /// on_closed runs with watched_errc::unsubscribed when `self` next drains (right after the
  /// current handler). readers() drops at once. Actor only.
  template <class Self>
  void unsubscribe(Self* self) const {
    detail::require_troupe_actor<Self>();
    core_->unsubscribe(static_cast<troupe::actor*>(self));
  }

  /// Whether a value `self` has not yet been handed is waiting for its on_change (Tokio's
  /// Receiver::has_changed): true right after subscribe, false once on_change ran with the
  /// newest value. Lets a long handler notice a change it will get next. Actor only.
  /// Errors: watched_errc::closed (as Tokio, even with a value still to deliver),
  /// watched_errc::not_subscribed.
  template <class Self>
  [[nodiscard]] result<bool> has_changed(Self* self) const {
    detail::require_troupe_actor<Self>();
    return core_->has_changed(static_cast<troupe::actor*>(self));
  }

  /// Runs `fn` once on `self` when the value has no reader, at `self`'s next drain if it has
  /// none now (Tokio's Sender::closed()). A writer uses it to stop producing what nobody reads.
  /// `self` terminating first cancels it. Actor only.
  template <class Self>
  void on_no_readers(Self* self, std::function<void()> fn) const {
    detail::require_troupe_actor<Self>();
    core_->on_no_readers(static_cast<troupe::actor*>(self), std::move(fn));
  }

  /// Blocks the calling thread until the value has no reader or `timeout` passed; returns
  /// whether it has none. Not from inside an actor: it would hold its worker.
  [[nodiscard]] bool wait_no_readers(std::chrono::nanoseconds timeout) const {
    return core_->wait_no_readers(timeout);
  }

private:
  std::shared_ptr<detail::watched_core<T>> core_;
};

/// A new watched value holding `initial` (version 1), with no reader.
template <class T>
watched<T> make_watched(T initial) {
  return watched<T>{std::make_shared<detail::watched_core<T>>(std::move(initial))};
}

} // namespace troupe
