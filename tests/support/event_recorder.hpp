#pragma once

// Collects a runtime's events as they are published, for tests that wait for one.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "troupe/introspection/event_stream.hpp"

namespace troupe::test {

/// Subscribes to `events` for its lifetime and keeps a copy of every event (from whatever thread
/// published it); a test waits for the event it expects with a deadline.
class event_recorder {
public:
  explicit event_recorder(event_stream& events, event_level min = event_level::debug)
      : sub_(events.subscribe([this](const event& e) { record(e); }, min)) {}

  /// The first event of `kind` for which `pred` holds, once it was published (nullopt after
  /// `timeout`).
  std::optional<event> wait_for(std::string_view kind, std::function<bool(const event&)> pred = {},
                                std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    std::unique_lock guard{mtx_};
    std::optional<event> found;
    changed_.wait_for(guard, timeout, [&] {
      for (auto& e : events_)
        if (e.kind == kind && (!pred || pred(e))) {
          found = e;
          return true;
        }
      return false;
    });
    return found;
  }

  /// Waits until `n` events of `kind` arrived; returns them (fewer after `timeout`).
  std::vector<event> wait_for_count(std::string_view kind, std::size_t n,
                                    std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    std::unique_lock guard{mtx_};
    std::vector<event> found;
    changed_.wait_for(guard, timeout, [&] {
      found.clear();
      for (auto& e : events_)
        if (e.kind == kind)
          found.push_back(e);
      return found.size() >= n;
    });
    return found;
  }

  /// Every event so far, in delivery order.
  std::vector<event> all() {
    std::lock_guard guard{mtx_};
    return events_;
  }

  /// Unsubscribes: no event is recorded after it returns.
  void stop() { sub_.reset(); }

private:
  void record(const event& e) {
    std::lock_guard guard{mtx_};
    events_.push_back(e);
    changed_.notify_all();
  }

  std::mutex mtx_;
  std::condition_variable changed_;
  std::vector<event> events_;
  event_subscription sub_; // last: unsubscribed before the members it writes go
};

} // namespace troupe::test
