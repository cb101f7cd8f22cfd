#pragma once

// The result of a spawned task, shared by its runner actor and every join_handle: written once
// (first completion wins), read by threads (join) and tasks (co_await) alike.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/scheduler/errors.hpp"

namespace troupe::detail {

/// The part of a task's result that does not depend on its type: done or not, the error, and
/// who waits.
class join_state_base {
public:
  using waker = std::function<void()>;

  /// Registers `w` to run (on the completing thread, after the result is set) at completion.
  /// Returns 0 and does not keep `w` when the task is done already.
  uint64_t add_waker(waker w) {
    std::lock_guard guard{mtx_};
    if (done_)
      return 0;
    wakers_.emplace_back(++last_id_, std::move(w));
    return last_id_;
  }

  /// Drops the waker `id` (from add_waker); no-op when it ran or was dropped.
  void remove_waker(uint64_t id) {
    if (id == 0)
      return;
    waker dropped; // destroyed outside the lock: it may hold the last reference to an actor
    std::lock_guard guard{mtx_};
    for (auto i = wakers_.begin(); i != wakers_.end(); ++i)
      if (i->first == id) {
        dropped = std::move(i->second);
        wakers_.erase(i);
        break;
      }
  }

  /// Whether the task finished (with a value, an error or a cancellation).
  [[nodiscard]] bool done() const {
    std::lock_guard guard{mtx_};
    return done_;
  }

  /// The error the task ended with; none for a value. Meaningful once done().
  [[nodiscard]] caf::error error() const {
    std::lock_guard guard{mtx_};
    return error_;
  }

  /// Blocks until done or `timeout` passed; returns done().
  bool wait_for(std::chrono::nanoseconds timeout) {
    std::unique_lock guard{mtx_};
    return cv_.wait_for(guard, timeout, [this] { return done_; });
  }

protected:
  join_state_base() = default;
  ~join_state_base() = default;

  /// Sets the outcome with `store` (under the lock) unless one was set; then wakes everyone.
  template <class Store>
  bool finish(caf::error err, Store&& store) {
    std::vector<std::pair<uint64_t, waker>> to_wake;
    {
      std::lock_guard guard{mtx_};
      if (done_)
        return false;
      done_ = true;
      error_ = std::move(err);
      store();
      to_wake.swap(wakers_);
    }
    cv_.notify_all();
    for (auto& w : to_wake)
      w.second();
    return true;
  }

  mutable std::mutex mtx_;
  caf::error error_; // under mtx_

private:
  std::condition_variable cv_;
  bool done_ = false;
  uint64_t last_id_ = 0;
  std::vector<std::pair<uint64_t, waker>> wakers_;
};

/// The outcome of a task with result type V (caf::unit_t for task<void>).
template <class V>
class join_state final : public join_state_base {
public:
  /// Completes with a value; false when the task had completed already.
  bool complete(V value) {
    return finish(caf::error{}, [&] { value_.emplace(std::move(value)); });
  }

  /// Completes with an error; false when the task had completed already.
  bool fail(caf::error err) {
    return finish(std::move(err), [] {});
  }

  /// Moves the outcome out; only once done(), and once (the one join_handle takes it).
  [[nodiscard]] caf::expected<V> take() {
    std::lock_guard guard{mtx_};
    if (value_)
      return std::move(*value_);
    return caf::expected<V>{error_};
  }

private:
  std::optional<V> value_; // under mtx_
};

} // namespace troupe::detail
