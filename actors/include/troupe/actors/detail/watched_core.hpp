#pragma once

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/actors/watched_errc.hpp"
#include "troupe/core/actor.hpp"
#include "troupe/core/message_source.hpp"

namespace troupe::detail {

/// The shared state of a watched value: the current value, its version, the readers and who
/// waits for the last reader to go.
///
/// One mutex guards everything. A change bumps the version and wakes the readers under it; a
/// reader compares the version it saw with the current one under it (the message_source wake
/// handshake). The value lives behind a shared_ptr: readers and get() hold snapshots, so a
/// change replaces the pointer, except modify(), which edits in place when no snapshot is out.
///
/// Ending a reader, in order (the same protocol as a topic subscription):
///  1. The value closed and the reader saw the last version (closed), it called unsubscribe
///     (unsubscribed), or its actor terminated (detach).
///  2. Under the lock it leaves readers_ (readers() drops at once); when none is left, every
///     no-readers watch is woken.
///  3. On its actor's next drain its on_closed runs once with the reason; then it is finished()
///     and the actor drops it. A terminated actor runs nothing.
template <class T>
class watched_core : public std::enable_shared_from_this<watched_core<T>> {
public:
  explicit watched_core(T initial) : value_(std::make_shared<T>(std::move(initial))) {}

  caf::error set(T value) {
    std::lock_guard guard{mtx_};
    if (closed_)
      return make_error(watched_errc::closed);
    value_ = std::make_shared<T>(std::move(value));
    changed();
    return caf::none;
  }

  /// `fn(T&)` edits the value; when it returns bool, false means "unchanged": no reader is
  /// told (Tokio's send_if_modified). Returns whether readers were told.
  template <class F>
  caf::expected<bool> modify(F& fn) {
    std::lock_guard guard{mtx_};
    if (closed_)
      return make_error(watched_errc::closed);
    // A snapshot handed out (get(), a reader's on_change) must not change under its holder:
    // edit a copy then. Nobody can take a new snapshot while we hold the lock.
    if (value_.use_count() > 1)
      value_ = std::make_shared<T>(std::as_const(*value_));
    bool modified = true;
    if constexpr (std::is_same_v<std::invoke_result_t<F&, T&>, bool>)
      modified = fn(*value_);
    else
      fn(*value_);
    if (modified)
      changed();
    return modified;
  }

  caf::error close() {
    std::lock_guard guard{mtx_};
    if (closed_)
      return make_error(watched_errc::closed);
    closed_ = true;
    for (auto& r : readers_)
      r->actor->wake(nullptr);
    return caf::none;
  }

  std::shared_ptr<const T> get() const {
    std::lock_guard guard{mtx_};
    return value_;
  }

  uint64_t version() const {
    std::lock_guard guard{mtx_};
    return version_;
  }

  bool is_closed() const {
    std::lock_guard guard{mtx_};
    return closed_;
  }

  std::size_t readers() const {
    std::lock_guard guard{mtx_};
    return readers_.size();
  }

  caf::error subscribe(troupe::actor* actor, std::function<void(const T&)> on_change,
                       std::function<void(caf::error)> on_closed) {
    auto r = std::make_shared<reader>(this->shared_from_this(), actor);
    r->on_change = std::move(on_change);
    r->on_closed = std::move(on_closed);
    {
      std::lock_guard guard{mtx_};
      if (find_reader(actor) != nullptr)
        return make_error(watched_errc::already_subscribed);
      // seen = version - 1: the current value is delivered first.
      r->seen = version_ - 1;
      readers_.push_back(r);
    }
    actor->add_source(r);
    actor->wake(nullptr);
    return caf::none;
  }

  void unsubscribe(troupe::actor* actor) {
    std::lock_guard guard{mtx_};
    if (auto* r = find_reader(actor))
      end_reader(*r, make_error(watched_errc::unsubscribed));
  }

  caf::expected<bool> has_changed(troupe::actor* actor) const {
    std::lock_guard guard{mtx_};
    if (closed_) // as Tokio's has_changed once the sender is gone
      return make_error(watched_errc::closed);
    auto* r = find_reader(actor);
    if (r == nullptr)
      return make_error(watched_errc::not_subscribed);
    return r->seen != version_;
  }

  void on_no_readers(troupe::actor* actor, std::function<void()> fn) {
    auto w = std::make_shared<no_readers_watch>(this->shared_from_this(), actor, std::move(fn));
    {
      std::lock_guard guard{mtx_};
      watches_.push_back(w);
    }
    actor->add_source(w);
    actor->wake(nullptr);
  }

  bool wait_no_readers(std::chrono::nanoseconds timeout) {
    std::unique_lock guard{mtx_};
    return no_readers_.wait_for(guard, timeout, [this] { return readers_.empty(); });
  }

private:
  struct reader final : message_source {
    reader(std::shared_ptr<watched_core> c, troupe::actor* a)
        : core(std::move(c)), actor(a), keep_alive(caf::actor_cast<caf::strong_actor_ptr>(a)) {}

    std::size_t drain(std::size_t) override { return core->drain(*this); }
    bool has_pending() override { return core->has_pending(*this); }
    void detach() override { core->detach(*this); }
    bool finished() const noexcept override { return notified; }

    std::shared_ptr<watched_core> core;
    troupe::actor* actor;
    caf::strong_actor_ptr keep_alive;
    uint64_t seen = 0;
    bool ended = false;    // left readers_; written on the actor, under the lock
    bool notified = false; // on_closed ran (or the actor died): the actor drops the source
    caf::error end_reason;
    std::function<void(const T&)> on_change;
    std::function<void(caf::error)> on_closed;
  };

  /// Runs `fn` once on its actor when the value has no reader (Tokio's Sender::closed()).
  struct no_readers_watch final : message_source {
    no_readers_watch(std::shared_ptr<watched_core> c, troupe::actor* a, std::function<void()> f)
        : core(std::move(c)), actor(a), keep_alive(caf::actor_cast<caf::strong_actor_ptr>(a)),
          fn(std::move(f)) {}

    std::size_t drain(std::size_t) override { return core->drain(*this); }
    bool has_pending() override { return core->has_pending(*this); }
    void detach() override { core->detach(*this); }
    bool finished() const noexcept override { return fired; }

    std::shared_ptr<watched_core> core;
    troupe::actor* actor;
    caf::strong_actor_ptr keep_alive;
    std::function<void()> fn;
    bool fired = false; // written on the actor, under the lock
  };

  // With mtx_ held.
  void changed() {
    ++version_;
    for (auto& r : readers_)
      r->actor->wake(nullptr);
  }

  // With mtx_ held.
  reader* find_reader(troupe::actor* actor) const {
    for (auto& r : readers_)
      if (r->actor == actor)
        return r.get();
    return nullptr;
  }

  // With mtx_ held. Step 2 of ending a reader (see the top).
  void end_reader(reader& r, caf::error reason) {
    r.ended = true;
    r.end_reason = std::move(reason);
    std::erase_if(readers_, [&r](const auto& x) { return x.get() == &r; });
    if (!readers_.empty())
      return;
    for (auto& w : watches_)
      w->actor->wake(nullptr);
    no_readers_.notify_all();
  }

  std::size_t drain(reader& r) {
    std::shared_ptr<const T> value;
    {
      std::lock_guard guard{mtx_};
      if (r.notified)
        return 0;
      if (!r.ended) {
        if (r.seen != version_) {
          value = value_; // only the newest: intermediate versions coalesce
          r.seen = version_;
        } else if (closed_) {
          end_reader(r, make_error(watched_errc::closed));
        }
      }
    }
    if (value)
      r.on_change(*value); // it may unsubscribe: then the notice follows at once
    if (!r.ended)
      return value ? 1 : 0;
    {
      std::lock_guard guard{mtx_};
      r.notified = true; // finished(): the actor drops the source after this drain
    }
    if (r.on_closed)
      r.on_closed(r.end_reason);
    return value ? 2 : 1;
  }

  bool has_pending(reader& r) {
    std::lock_guard guard{mtx_};
    return !r.notified && (r.ended || r.seen != version_ || closed_);
  }

  void detach(reader& r) {
    std::lock_guard guard{mtx_};
    r.notified = true; // its actor is gone: no notice
    if (!r.ended)
      end_reader(r, caf::error{});
  }

  std::size_t drain(no_readers_watch& w) {
    {
      std::lock_guard guard{mtx_};
      if (w.fired || !readers_.empty())
        return 0;
      w.fired = true;
      std::erase_if(watches_, [&w](const auto& x) { return x.get() == &w; });
    }
    w.fn();
    return 1;
  }

  bool has_pending(no_readers_watch& w) {
    std::lock_guard guard{mtx_};
    return !w.fired && readers_.empty();
  }

  void detach(no_readers_watch& w) {
    std::lock_guard guard{mtx_};
    w.fired = true;
    std::erase_if(watches_, [&w](const auto& x) { return x.get() == &w; });
  }

  mutable std::mutex mtx_;
  std::condition_variable no_readers_; // wait_no_readers
  std::shared_ptr<T> value_;           // handed out as shared_ptr<const T> only
  uint64_t version_ = 1;
  bool closed_ = false;
  std::vector<std::shared_ptr<reader>> readers_;
  std::vector<std::shared_ptr<no_readers_watch>> watches_;
};

} // namespace troupe::detail
