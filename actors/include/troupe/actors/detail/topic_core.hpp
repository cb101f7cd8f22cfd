#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/execution_unit.hpp>

#include "troupe/actors/detail/require_troupe_actor.hpp"
#include "troupe/actors/publish_result.hpp"
#include "troupe/actors/topic_event_kinds.hpp"
#include "troupe/actors/topic_types.hpp"
#include "troupe/core/actor.hpp"
#include "troupe/introspection/event_stream.hpp"

namespace troupe::detail {

/// The shared ring of a topic and its subscribers' cursors.
///
/// One mutex guards the ring, the cursors and the subscriber list. A publish writes one slot and
/// wakes the subscribers; a subscriber copies up to a batch of payload pointers under the lock and
/// runs its handlers outside it. The mutex also orders the wake handshake: a subscriber checks
/// for pending messages under it after blocking its inbox, and a publisher reads the inbox state
/// after releasing it (see troupe::actor's resume protocol).
///
/// Ending a subscription, in order:
///  1. Something ends it: the topic closed and the cursor reached the tail (closed), the
///     subscriber fell out of the ring under lag_policy::disconnect (subscriber_lagged), it called
///     unsubscribe (unsubscribed), or its actor terminated (detach).
///  2. Under the lock it leaves subs_ (publish no longer counts or wakes it; the ring no longer
///     keeps payloads for it) and records the reason.
///  3. On its actor's next drain, after the messages it still reads, its on_closed runs once
///     with the reason; only then is it finished(), and the actor drops it. A terminated actor
///     runs nothing: detach skips step 3.
/// So every subscription that does not die with its actor ends with exactly one notice, and it
/// comes after every message the subscription delivered.
template <class T>
class topic_core : public std::enable_shared_from_this<topic_core<T>> {
public:
  using payload = std::shared_ptr<const T>;

  /// `events` (may be null) receives the topic's lagging and disconnected subscribers.
  explicit topic_core(topic_options opts, std::shared_ptr<event_stream> events = nullptr)
      : opts_(std::move(opts)), ring_(opts_.capacity), events_(std::move(events)) {}

  [[nodiscard]] const topic_options& options() const noexcept { return opts_; }

  // -- publisher handles (topic<T> copies) ----------------------------------------------------

  void add_handle() noexcept { handles_.fetch_add(1, std::memory_order_relaxed); }

  /// As Tokio's broadcast closes when its last Sender is dropped.
  void release_handle() {
    if (handles_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      close();
  }

  /// Returns whether this call closed the topic (false: it was closed already).
  bool close() {
    std::vector<forward_entry> dropped;
    {
      std::lock_guard guard{mtx_};
      if (closed_)
        return false;
      closed_ = true;
      // Each subscriber reads what is left, then gets its closed notice (see the top).
      for (auto& s : subs_)
        s->actor->wake(nullptr);
      // Forward subscribers received every message at publish: nothing is left for them.
      dropped.swap(forwards_);
    }
    room_.notify_all(); // a publisher waiting for room fails with closed instead
    // Outside the lock: every publish that reached them did so under it, before this.
    for (auto& f : dropped)
      if (f.on_closed)
        f.on_closed();
    return true;
  }

  [[nodiscard]] bool is_closed() const {
    std::lock_guard guard{mtx_};
    return closed_;
  }

  [[nodiscard]] std::size_t subscriber_count() const {
    std::lock_guard guard{mtx_};
    return subs_.size() + forwards_.size();
  }

  publish_result<T> publish(std::shared_ptr<T> value, caf::execution_unit* ctx) {
    // Destroyed after the lock is released: a dropped subscriber's handle may hold the last
    // reference to state that releases a topic handle, which would take the lock again.
    std::vector<forward_entry> gone;
    std::unique_lock guard{mtx_};
    if (opts_.on_lag == lag_policy::backpressure)
      room_.wait(guard, [this] { return closed_ || tail_ - slowest_cursor() < ring_.size(); });
    if (closed_) // `value` is ours alone: the message goes back to the caller
      return publish_result<T>::failed(make_error(topic_errc::closed, opts_.name),
                                       std::move(*value));
    auto& slot = ring_[tail_ % ring_.size()];
    slot = std::move(value);
    ++tail_;
    ++published_;
    if (subs_.empty() && forwards_.empty())
      ++published_without_subscribers_;
    // Waking under the lock: a subscriber cannot leave (it unsubscribes under it), and wake()
    // is a single load when the subscriber is already running.
    for (auto& s : subs_)
      s->actor->wake(ctx);
    auto reached = subs_.size();
    if (!forwards_.empty())
      reached += forward(slot, gone);
    release_read();
    return publish_result<T>::reached(reached);
  }

  /// Subscribes a typed mailbox handle: each message is offered to it without blocking (its own
  /// overflow policy applies; what it refuses is counted as missed). A mailbox whose actor died
  /// is unsubscribed on the next publish. `on_closed` (optional) runs once if the topic closes
  /// while the subscription lasts, after every message it was given.
  caf::error subscribe_forward(uint64_t id, std::function<forward_result(const T&)> push,
                               std::function<void()> on_closed = {}) {
    std::lock_guard guard{mtx_};
    if (closed_)
      return make_error(topic_errc::closed, opts_.name);
    for (auto& f : forwards_)
      if (f.id == id)
        return make_error(topic_errc::already_subscribed, opts_.name);
    forwards_.push_back(forward_entry{id, std::move(push), std::move(on_closed), 0, 0});
    return caf::none;
  }

  void unsubscribe_forward(uint64_t id) {
    std::vector<forward_entry> gone; // destroyed after the lock is released (see publish)
    std::lock_guard guard{mtx_};
    auto i = std::find_if(forwards_.begin(), forwards_.end(),
                          [id](const auto& f) { return f.id == id; });
    if (i == forwards_.end())
      return;
    gone.push_back(std::move(*i));
    forwards_.erase(i);
  }

  template <class Self>
  caf::error subscribe(Self* self, std::function<void(const T&)> on_message,
                       std::function<void(lagged)> on_lag,
                       std::function<void(caf::error)> on_closed) {
    require_troupe_actor<Self>();
    auto* actor = static_cast<troupe::actor*>(self);
    std::shared_ptr<subscription> sub;
    {
      std::lock_guard guard{mtx_};
      if (closed_)
        return make_error(topic_errc::closed, opts_.name);
      for (auto& s : subs_)
        if (s->actor == actor)
          return make_error(topic_errc::already_subscribed, opts_.name);
      sub = std::make_shared<subscription>(this->shared_from_this(), actor);
      sub->cursor = tail_;
      sub->on_message = std::move(on_message);
      sub->on_lag = std::move(on_lag);
      sub->on_closed = std::move(on_closed);
      subs_.push_back(sub);
    }
    actor->add_source(sub);
    return caf::none;
  }

  template <class Self>
  void unsubscribe(Self* self) {
    require_troupe_actor<Self>();
    auto* actor = static_cast<troupe::actor*>(self);
    std::lock_guard guard{mtx_};
    auto i = std::find_if(subs_.begin(), subs_.end(),
                          [actor](const auto& s) { return s->actor == actor; });
    if (i == subs_.end())
      return;
    // The notice runs on the actor's next drain: has_pending() is true from here on.
    end_subscription(**i, make_error(topic_errc::unsubscribed, opts_.name));
    room_.notify_all();
  }

  topic_metrics metrics() const {
    std::lock_guard guard{mtx_};
    topic_metrics m;
    m.name = opts_.name;
    m.capacity = ring_.size();
    m.subscribers = subs_.size() + forwards_.size();
    m.published = published_;
    m.published_without_subscribers = published_without_subscribers_;
    m.delivered = delivered_;
    m.disconnected = disconnected_;
    m.closed = closed_;
    for (auto& s : subs_)
      m.per_subscriber.push_back(
          subscriber_metrics{s->actor->id(), s->received, s->missed, tail_ - s->cursor});
    for (auto& f : forwards_)
      m.per_subscriber.push_back(subscriber_metrics{f.id, f.received, f.missed, 0});
    return m;
  }

private:
  /// One subscriber's cursor and handlers; the actor drains it as a message source.
  struct subscription final : message_source {
    subscription(std::shared_ptr<topic_core> t, troupe::actor* a)
        : topic(std::move(t)), actor(a), keep_alive(caf::actor_cast<caf::strong_actor_ptr>(a)) {}

    std::size_t drain(std::size_t max) override { return topic->drain(*this, max); }
    bool has_pending() override { return topic->has_pending(*this); }
    void detach() override { topic->detach(*this); }
    bool finished() const noexcept override { return notified; }

    std::shared_ptr<topic_core> topic;
    troupe::actor* actor;
    caf::strong_actor_ptr keep_alive; // the subscription keeps its subscriber reachable
    uint64_t cursor = 0;
    uint64_t received = 0;
    uint64_t missed = 0;
    bool ended = false;    // left subs_; written on the actor, under the lock
    bool notified = false; // on_closed ran (or the actor died): the actor drops the source
    caf::error end_reason;
    std::function<void(const T&)> on_message;
    std::function<void(lagged)> on_lag;
    std::function<void(caf::error)> on_closed;
    std::vector<payload> batch; // reused buffer, touched only by the subscriber
  };

  std::size_t drain(subscription& s, std::size_t max) {
    uint64_t lost = 0;
    bool disconnected = false;
    bool reached_close = false;
    s.batch.clear();
    {
      std::lock_guard guard{mtx_};
      if (s.notified)
        return 0;
      if (!s.ended) {
        auto oldest = tail_ > ring_.size() ? tail_ - ring_.size() : 0;
        if (s.cursor < oldest) {
          lost = oldest - s.cursor;
          if (opts_.on_lag == lag_policy::disconnect) {
            disconnected = true;
            ++disconnected_;
            end_subscription(s, make_error(topic_errc::subscriber_lagged, opts_.name, lost));
          } else {
            s.missed += lost;
            s.cursor = oldest;
          }
        }
        while (!disconnected && s.cursor < tail_ && s.batch.size() < max) {
          s.batch.push_back(ring_[s.cursor % ring_.size()]);
          ++s.cursor;
        }
        s.received += s.batch.size();
        delivered_ += s.batch.size();
        // Nothing can be published after close: this batch is the subscriber's last.
        reached_close = !disconnected && closed_ && s.cursor == tail_;
        release_read();
      }
    }
    if (opts_.on_lag == lag_policy::backpressure && !s.batch.empty())
      room_.notify_all();
    // Published outside the lock: an event sink may publish to a topic itself.
    if (lost > 0)
      publish_lag(s, lost, disconnected);
    if (lost > 0 && !disconnected && s.on_lag)
      s.on_lag(lagged{lost});
    std::size_t handled = 0;
    for (auto& p : s.batch) {
      if (s.ended) // a handler unsubscribed: nothing more after that
        break;
      s.on_message(*p);
      ++handled;
    }
    s.batch.clear();
    if (!s.ended && !reached_close)
      return handled;
    {
      std::lock_guard guard{mtx_};
      if (!s.ended)
        end_subscription(s, make_error(topic_errc::closed, opts_.name));
      s.notified = true; // finished(): the actor drops the source after this drain
    }
    if (s.on_closed)
      s.on_closed(s.end_reason);
    return handled + 1;
  }

  void publish_lag(const subscription& s, uint64_t lost, bool disconnected) {
    auto level = disconnected ? event_level::warning : event_level::notice;
    if (!events_ || !events_->wants(level))
      return;
    event e;
    e.level = level;
    e.kind = disconnected ? event_kinds::topic_subscriber_disconnected
                          : event_kinds::topic_subscriber_lagged;
    e.actor = s.actor->id();
    e.name = s.actor->name();
    e.text = (disconnected ? "disconnected from topic " : "lagged behind topic ") + opts_.name +
             ", " + std::to_string(lost) + " messages lost";
    e.fields = {{"topic", opts_.name}, {"lost", lost}};
    events_->publish(std::move(e));
  }

  bool has_pending(subscription& s) {
    std::lock_guard guard{mtx_};
    return !s.notified && (s.ended || closed_ || s.cursor < tail_);
  }

  void detach(subscription& s) {
    {
      std::lock_guard guard{mtx_};
      s.notified = true; // its actor is gone: no notice
      if (!s.ended)
        end_subscription(s, caf::error{});
    }
    room_.notify_all(); // a waiting publisher may have waited for this one
  }

  // With mtx_ held. Step 2 of ending a subscription (see the top).
  void end_subscription(subscription& s, caf::error reason) {
    s.ended = true;
    s.end_reason = std::move(reason);
    std::erase_if(subs_, [&s](const auto& x) { return x.get() == &s; });
    release_read();
  }

  // With mtx_ held. Drops the ring's reference to every payload that no live cursor can read
  // any more (all passed it, or its readers are gone), as Tokio's broadcast releases a value
  // once every receiver has seen it: a large payload does not wait to be overwritten.
  // Slots before tail_ - capacity hold newer messages already and are left alone.
  void release_read() {
    auto oldest = tail_ > ring_.size() ? tail_ - ring_.size() : 0;
    auto from = std::max(released_, oldest);
    auto until = slowest_cursor();
    for (auto i = from; i < until; ++i)
      ring_[i % ring_.size()].reset();
    released_ = std::max(released_, until);
  }

  // With mtx_ held. No subscriber means no one to wait for.
  uint64_t slowest_cursor() const {
    uint64_t slowest = tail_;
    for (auto& s : subs_)
      slowest = std::min(slowest, s->cursor);
    return slowest;
  }

  struct forward_entry {
    uint64_t id;
    std::function<forward_result(const T&)> push;
    std::function<void()> on_closed;
    uint64_t received;
    uint64_t missed;
  };

  // With mtx_ held. Returns how many accepted the message.
  std::size_t forward(const payload& p, std::vector<forward_entry>& gone) {
    std::size_t accepted = 0;
    for (auto i = forwards_.begin(); i != forwards_.end();) {
      switch (i->push(*p)) {
      case forward_result::delivered:
        ++i->received;
        ++delivered_;
        ++accepted;
        ++i;
        break;
      case forward_result::refused:
        ++i->missed;
        ++i;
        break;
      case forward_result::gone:
        gone.push_back(std::move(*i));
        i = forwards_.erase(i);
        break;
      }
    }
    return accepted;
  }

  topic_options opts_;
  std::vector<forward_entry> forwards_;
  mutable std::mutex mtx_;
  std::condition_variable room_; // backpressure: publishers wait for the slowest subscriber
  std::vector<payload> ring_;
  uint64_t tail_ = 0;
  uint64_t released_ = 0; // ring_ holds no payload before this index
  uint64_t published_ = 0;
  uint64_t published_without_subscribers_ = 0;
  uint64_t delivered_ = 0;
  uint64_t disconnected_ = 0;
  bool closed_ = false;
  std::atomic<std::size_t> handles_{0};
  std::vector<std::shared_ptr<subscription>> subs_;
  std::shared_ptr<event_stream> events_; // set once, at construction
};

} // namespace troupe::detail
