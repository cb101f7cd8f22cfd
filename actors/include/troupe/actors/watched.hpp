#pragma once

// A watched value, the actor form of Tokio's watch channel: one writer, many readers. A reader
// gets the current value when it subscribes and every change after; a reader that is busy sees
// only the newest value when it gets to run (changes coalesce, never a backlog). The current
// value can also be read synchronously, and closing the writer tells every reader.
//
// Example:
//
//   auto rate = troupe::make_watched<int>(100);            // jobs per second
//   rate.subscribe(self, [](const int& r) { ... }, [](caf::error) { /* writer closed */ });
//   rate.set(250);                                         // the writer
//   int now = *rate.get();                                 // any thread
//
// Thread safety: set(), close(), get(), version() from any thread (one writer by convention);
// subscribe() only from inside the subscribing Troupe actor. Callbacks run in its context.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/error.hpp>

#include "troupe/actors/detail/require_troupe_actor.hpp"
#include "troupe/actors/topic_types.hpp"
#include "troupe/core/actor.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"

namespace troupe {

namespace detail {

template <class T>
class watched_core : public std::enable_shared_from_this<watched_core<T>> {
public:
  explicit watched_core(T initial) : value_(std::make_shared<const T>(std::move(initial))) {}

  void set(T value) {
    std::lock_guard guard{mtx_};
    if (closed_)
      return;
    value_ = std::make_shared<const T>(std::move(value));
    ++version_;
    for (auto& r : readers_)
      r->actor->wake(nullptr);
  }

  void close() {
    std::lock_guard guard{mtx_};
    closed_ = true;
    for (auto& r : readers_)
      r->actor->wake(nullptr);
  }

  std::shared_ptr<const T> get() const {
    std::lock_guard guard{mtx_};
    return value_;
  }

  uint64_t version() const {
    std::lock_guard guard{mtx_};
    return version_;
  }

  std::size_t readers() const {
    std::lock_guard guard{mtx_};
    return readers_.size();
  }

  void subscribe(troupe::actor* actor, std::function<void(const T&)> on_change,
                 std::function<void(caf::error)> on_closed) {
    auto r = std::make_shared<reader>(this->shared_from_this(), actor);
    r->on_change = std::move(on_change);
    r->on_closed = std::move(on_closed);
    {
      std::lock_guard guard{mtx_};
      // seen = version - 1: the current value is delivered first.
      r->seen = version_ - 1;
      readers_.push_back(r);
    }
    actor->add_source(r);
    actor->wake(nullptr);
  }

private:
  struct reader final : message_source {
    reader(std::shared_ptr<watched_core> c, troupe::actor* a)
        : core(std::move(c)), actor(a), keep_alive(caf::actor_cast<caf::strong_actor_ptr>(a)) {}

    std::size_t drain(std::size_t) override { return core->drain(*this); }
    bool has_pending() override { return core->has_pending(*this); }
    void detach() override { core->detach(*this); }
    bool finished() const noexcept override { return done; }

    std::shared_ptr<watched_core> core;
    troupe::actor* actor;
    caf::strong_actor_ptr keep_alive;
    uint64_t seen = 0;
    bool done = false;
    std::function<void(const T&)> on_change;
    std::function<void(caf::error)> on_closed;
  };

  std::size_t drain(reader& r) {
    std::shared_ptr<const T> value;
    bool closing = false;
    {
      std::lock_guard guard{mtx_};
      if (r.done)
        return 0;
      if (r.seen != version_) {
        value = value_; // only the newest: intermediate versions coalesce
        r.seen = version_;
      } else if (closed_) {
        closing = true;
        r.done = true;
        std::erase_if(readers_, [&r](const auto& x) { return x.get() == &r; });
      }
    }
    if (value) {
      r.on_change(*value);
      return 1;
    }
    if (closing && r.on_closed)
      r.on_closed(make_error(mailbox_errc::receiver_dead));
    return 0;
  }

  bool has_pending(reader& r) {
    std::lock_guard guard{mtx_};
    return !r.done && (r.seen != version_ || closed_);
  }

  void detach(reader& r) {
    std::lock_guard guard{mtx_};
    r.done = true;
    std::erase_if(readers_, [&r](const auto& x) { return x.get() == &r; });
  }

  mutable std::mutex mtx_;
  std::shared_ptr<const T> value_;
  uint64_t version_ = 1;
  bool closed_ = false;
  std::vector<std::shared_ptr<reader>> readers_;
};

} // namespace detail

template <class T>
class watched {
public:
  watched() = default;
  explicit watched(std::shared_ptr<detail::watched_core<T>> core) : core_(std::move(core)) {}

  /// Replaces the value and tells the readers (the writer's call).
  void set(T value) const { core_->set(std::move(value)); }
  /// Ends the value's life: readers get their on_closed; later set() calls are ignored.
  void close() const { core_->close(); }
  /// The current value, read synchronously.
  [[nodiscard]] std::shared_ptr<const T> get() const { return core_->get(); }
  /// Incremented by every set().
  [[nodiscard]] uint64_t version() const { return core_->version(); }
  [[nodiscard]] std::size_t readers() const { return core_->readers(); }

  /// Subscribes the Troupe actor `self`: on_change runs with the current value first, then with
  /// the newest value after changes; on_closed when the writer closed.
  template <class Self>
  void subscribe(Self* self, std::function<void(const T&)> on_change,
                 std::function<void(caf::error)> on_closed = {}) const {
    detail::require_troupe_actor<Self>();
    core_->subscribe(static_cast<troupe::actor*>(self), std::move(on_change), std::move(on_closed));
  }

private:
  std::shared_ptr<detail::watched_core<T>> core_;
};

template <class T>
watched<T> make_watched(T initial) {
  return watched<T>{std::make_shared<detail::watched_core<T>>(std::move(initial))};
}

} // namespace troupe
