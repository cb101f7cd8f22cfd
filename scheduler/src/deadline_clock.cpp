#include "troupe/scheduler/detail/deadline_clock.hpp"

#include <utility>
#include <vector>

#include <caf/abstract_actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/group.hpp>
#include <caf/mailbox_element.hpp>

namespace troupe::detail {

deadline_clock::~deadline_clock() {
  stop();
}

void deadline_clock::start(caf::actor_system& sys) {
  thread_ = std::thread{[this, &sys] {
    caf::detail::set_thread_name("caf.clock");
    sys.thread_started();
    run();
    sys.thread_terminates();
  }};
}

void deadline_clock::stop() {
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable())
    thread_.join();
  // An actor that ends with a dropped entry may schedule another as it ends (user code in its
  // cleanup): drop again until none is left, a bounded number of times.
  for (int pass = 0; pass < 16 && pending() != 0; ++pass)
    cancel_all();
}

void deadline_clock::run() {
  guard_type guard{mtx_};
  std::vector<unique_delayed_event_ptr> due;
  while (!stopping_) {
    // As simple_actor_clock::trigger_expired_timeouts, but delivered after the lock.
    auto now = this->now();
    for (auto i = schedule_.begin(); i != schedule_.end() && i->first <= now;) {
      if (i->second->backlink != actor_lookup_.end())
        actor_lookup_.erase(i->second->backlink);
      due.push_back(std::move(i->second));
      i = schedule_.erase(i);
    }
    if (!due.empty()) {
      publish_count();
      guard.unlock();
      for (auto& entry : due)
        ship(*entry);
      due.clear();
      guard.lock();
      continue;
    }
    if (schedule_.empty()) {
      sleeping_until_ = time_point::max();
      wake_.wait(guard);
    } else {
      const auto earliest = schedule_.begin()->first;
      sleeping_until_ = earliest;
      wake_.wait_until(guard, earliest);
    }
    sleeping_until_ = time_point::min();
  }
}

void deadline_clock::added(guard_type& guard) {
  publish_count();
  const bool earlier = schedule_.begin()->first < sleeping_until_;
  if (earlier)
    sleeping_until_ = time_point::min(); // one wake-up; the thread reads the schedule again
  guard.unlock();
  if (earlier) {
    wake_ups_.fetch_add(1, std::memory_order_relaxed);
    wake_.notify_one();
  }
}

void deadline_clock::publish_count() noexcept {
  cancellable_.store(actor_lookup_.size(), std::memory_order_relaxed);
}

void deadline_clock::set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                                          caf::atom_value type, uint64_t id) {
  guard_type guard{mtx_};
  simple_actor_clock::set_ordinary_timeout(t, self, type, id);
  added(guard);
}

void deadline_clock::set_multi_timeout(time_point t, caf::abstract_actor* self,
                                       caf::atom_value type, uint64_t id) {
  guard_type guard{mtx_};
  simple_actor_clock::set_multi_timeout(t, self, type, id);
  added(guard);
}

void deadline_clock::set_request_timeout(time_point t, caf::abstract_actor* self,
                                         caf::message_id id) {
  guard_type guard{mtx_};
  simple_actor_clock::set_request_timeout(t, self, id);
  added(guard);
}

// A cancellation drops entries whose actor is `self`, which is alive (it cancels from its own
// handlers, or as it terminates, when no entry can hold the last reference to it): destroying
// them under the lock cannot end an actor.

void deadline_clock::cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) {
  std::lock_guard guard{mtx_};
  simple_actor_clock::cancel_ordinary_timeout(self, type);
  publish_count();
}

void deadline_clock::cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) {
  std::lock_guard guard{mtx_};
  simple_actor_clock::cancel_request_timeout(self, id);
  publish_count();
}

void deadline_clock::cancel_timeouts(caf::abstract_actor* self) {
  // Every entry of `self` was added by `self` before it terminates (this call), and each store
  // of the count after that addition counts it until it is gone: a count of 0 means none.
  if (cancellable_.load(std::memory_order_relaxed) == 0)
    return;
  std::lock_guard guard{mtx_};
  simple_actor_clock::cancel_timeouts(self);
  publish_count();
}

void deadline_clock::schedule_message(time_point t, caf::strong_actor_ptr receiver,
                                      caf::mailbox_element_ptr content) {
  guard_type guard{mtx_};
  simple_actor_clock::schedule_message(t, std::move(receiver), std::move(content));
  added(guard);
}

void deadline_clock::schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                                      caf::message content) {
  guard_type guard{mtx_};
  simple_actor_clock::schedule_message(t, std::move(target), std::move(sender), std::move(content));
  added(guard);
}

void deadline_clock::cancel_all() {
  schedule_map schedule;
  actor_lookup_map lookup;
  {
    std::lock_guard guard{mtx_};
    // Swapping keeps the lookup's iterators valid: they now point into `schedule`.
    schedule.swap(schedule_);
    lookup.swap(actor_lookup_);
    publish_count();
  }
  // Destroyed after the lock (see the class's comment).
  lookup.clear();
  schedule.clear();
}

std::size_t deadline_clock::pending() const {
  std::lock_guard guard{mtx_};
  return schedule_.size();
}

deadline_clock::time_point deadline_clock::sleeping_until() const {
  std::lock_guard guard{mtx_};
  return sleeping_until_;
}

} // namespace troupe::detail
