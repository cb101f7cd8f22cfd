#include "troupe/introspection/event_stream.hpp"

#include <cstdio>
#include <deque>
#include <exception>
#include <list>
#include <mutex>
#include <vector>

// Delivery protocol (why a sink is never called after its subscription's reset returned):
//
// 1. publish() takes the state's lock and holds it while it assigns the sequence number and
//    calls every sink, so events reach each sink one at a time, in sequence order.
// 2. reset() on another thread takes the same lock before it removes the subscriber: it waits
//    for a delivery in progress, and no later delivery can see the subscriber.
// 3. On the delivering thread itself (a sink that resets a subscription, subscribes or
//    publishes on the same stream), the lock is already held: taking it again would deadlock.
//    The thread-local `delivering` list tells those calls apart; they then mark the subscriber
//    removed (the delivery loop skips it, and it is erased after the loop), append the new
//    subscriber, or queue the event for delivery after the current one.

namespace troupe::detail {

struct event_stream_state {
  struct subscriber {
    std::uint64_t id = 0;
    std::uint8_t min = 0;
    std::function<void(const event&)> sink;
    bool removed = false;
  };

  static constexpr std::uint8_t nobody = 0xff;

  std::mutex mtx;
  // All below: only with mtx held.
  event_stream* owner = nullptr;
  // A list: a sink may subscribe during delivery without moving the sink that is running.
  std::list<subscriber> subscribers;
  std::deque<event> deferred;
  bool needs_compaction = false;
  std::uint64_t next_id = 1;
  // Written with mtx held, read anywhere.
  std::atomic<std::uint64_t> sequence{0};
  std::atomic<std::uint64_t> failures{0};

  void update_wanted() {
    std::uint8_t lowest = nobody;
    for (auto& s : subscribers)
      if (!s.removed && s.min < lowest)
        lowest = s.min;
    if (owner != nullptr)
      owner->wanted_.store(lowest, std::memory_order_relaxed);
  }

  void deliver(event& e) {
    e.sequence = sequence.load(std::memory_order_relaxed) + 1;
    sequence.store(e.sequence, std::memory_order_relaxed);
    if (e.time == std::chrono::system_clock::time_point{})
      e.time = std::chrono::system_clock::now();
    auto level = static_cast<std::uint8_t>(e.level);
    for (auto& s : subscribers) {
      if (s.removed || level < s.min)
        continue;
      try {
        s.sink(e);
      } catch (const std::exception& ex) {
        failed(e, ex.what());
      } catch (...) {
        failed(e, "unknown exception");
      }
    }
  }

  void failed(const event& e, const char* what) {
    // Reported once per stream: a sink that throws on every event must not flood stderr.
    if (failures.fetch_add(1, std::memory_order_relaxed) == 0)
      std::fprintf(stderr,
                   "troupe: an event sink threw on %.*s (%s); later failures are only counted "
                   "(event_stream::sink_failures)\n",
                   static_cast<int>(e.kind.size()), e.kind.data(), what);
  }

  void compact() {
    if (!needs_compaction)
      return;
    subscribers.remove_if([](const subscriber& s) { return s.removed; });
    needs_compaction = false;
  }
};

namespace {

// The streams whose lock this thread holds while it delivers (usually none or one).
thread_local std::vector<const event_stream_state*> delivering;

bool delivering_on_this_thread(const event_stream_state* st) {
  for (auto* d : delivering)
    if (d == st)
      return true;
  return false;
}

struct delivering_scope {
  explicit delivering_scope(const event_stream_state* st) { delivering.push_back(st); }
  ~delivering_scope() { delivering.pop_back(); }
  delivering_scope(const delivering_scope&) = delete;
  delivering_scope& operator=(const delivering_scope&) = delete;
};

} // namespace

} // namespace troupe::detail

namespace troupe {

// -- event_subscription ----------------------------------------------------------------------

event_subscription::event_subscription(event_subscription&& other) noexcept
    : state_(std::move(other.state_)), id_(std::exchange(other.id_, 0)) {}

event_subscription& event_subscription::operator=(event_subscription&& other) noexcept {
  if (this != &other) {
    reset();
    state_ = std::move(other.state_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

event_subscription::~event_subscription() {
  reset();
}

void event_subscription::reset() noexcept {
  auto id = std::exchange(id_, 0);
  auto st = state_.lock();
  state_.reset();
  if (id == 0 || !st)
    return;
  if (detail::delivering_on_this_thread(st.get())) {
    // Called from a sink: this thread holds the lock (protocol step 3).
    for (auto& s : st->subscribers)
      if (s.id == id) {
        s.removed = true;
        st->needs_compaction = true;
      }
    st->update_wanted();
    return;
  }
  std::function<void(const event&)> sink;
  {
    std::lock_guard guard{st->mtx};
    for (auto i = st->subscribers.begin(); i != st->subscribers.end(); ++i)
      if (i->id == id) {
        sink = std::move(i->sink);
        st->subscribers.erase(i);
        break;
      }
    st->update_wanted();
  }
  // `sink` is destroyed here, outside the lock: its destructor may do anything.
}

// -- event_stream ----------------------------------------------------------------------------

event_stream::event_stream()
    : wanted_(detail::event_stream_state::nobody),
      state_(std::make_shared<detail::event_stream_state>()) {
  state_->owner = this;
}

event_stream::~event_stream() {
  std::lock_guard guard{state_->mtx};
  state_->owner = nullptr;
}

void event_stream::publish(event e) {
  if (!wants(e.level))
    return;
  if (e.trace == 0)
    e.trace = current_trace();
  auto* st = state_.get();
  if (detail::delivering_on_this_thread(st)) {
    // Published from a sink: delivered after the current event (protocol step 3).
    st->deferred.push_back(std::move(e));
    return;
  }
  std::lock_guard guard{st->mtx};
  detail::delivering_scope scope{st};
  st->deliver(e);
  while (!st->deferred.empty()) {
    auto next = std::move(st->deferred.front());
    st->deferred.pop_front();
    st->deliver(next);
  }
  st->compact();
}

event_subscription event_stream::subscribe(std::function<void(const event&)> sink,
                                           event_level min) {
  if (!sink)
    return {};
  auto* st = state_.get();
  auto add = [&] {
    auto id = st->next_id++;
    st->subscribers.push_back({id, static_cast<std::uint8_t>(min), std::move(sink), false});
    st->update_wanted();
    return id;
  };
  if (detail::delivering_on_this_thread(st))
    return event_subscription{state_, add()};
  std::lock_guard guard{st->mtx};
  return event_subscription{state_, add()};
}

std::uint64_t event_stream::sink_failures() const noexcept {
  return state_->failures.load(std::memory_order_relaxed);
}

std::uint64_t event_stream::published() const noexcept {
  return state_->sequence.load(std::memory_order_relaxed);
}

} // namespace troupe
