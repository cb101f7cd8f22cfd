#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace troupe::detail {

/// A bounded FIFO under a mutex, for the drop_oldest policy: making room means a producer
/// removes the oldest element, which the lock-free rings reserve to their single consumer.
/// Slots held by try_reserve() count against the capacity exactly (all under the mutex).
///
/// Thread safety: every member may be called from any thread.
template <class T>
class locked_ring {
public:
  explicit locked_ring(std::size_t capacity) : capacity_(capacity) {}

  /// Appends `value`; when full, first removes the oldest element into `evicted`. Returns false,
  /// leaving `value` untouched, when every slot is held by a reservation (nothing to evict).
  bool push_evicting(T& value, std::optional<T>& evicted) {
    std::lock_guard guard{mtx_};
    if (items_.size() + reserved_ >= capacity_) {
      if (items_.empty())
        return false;
      evicted.emplace(std::move(items_.front()));
      items_.pop_front();
    }
    items_.push_back(std::move(value));
    size_ = items_.size();
    return true;
  }

  [[nodiscard]] bool try_push(T& value) {
    std::lock_guard guard{mtx_};
    if (items_.size() + reserved_ >= capacity_)
      return false;
    items_.push_back(std::move(value));
    size_ = items_.size();
    return true;
  }

  /// Holds a slot for push_reserved(); false when queued + reserved reach the capacity.
  [[nodiscard]] bool try_reserve() {
    std::lock_guard guard{mtx_};
    if (items_.size() + reserved_ >= capacity_)
      return false;
    ++reserved_;
    return true;
  }

  /// Appends `value` into a slot held by try_reserve(); never fails.
  void push_reserved(T&& value) {
    std::lock_guard guard{mtx_};
    --reserved_;
    items_.push_back(std::move(value));
    size_ = items_.size();
  }

  /// Gives back a slot held by try_reserve().
  void release_reservation() {
    std::lock_guard guard{mtx_};
    --reserved_;
  }

  [[nodiscard]] std::size_t reserved() const {
    std::lock_guard guard{mtx_};
    return reserved_;
  }

  [[nodiscard]] std::optional<T> try_pop() {
    std::lock_guard guard{mtx_};
    if (items_.empty())
      return std::nullopt;
    std::optional<T> result{std::move(items_.front())};
    items_.pop_front();
    size_ = items_.size();
    return result;
  }

  template <class F>
  std::size_t drain(F&& f, std::size_t max) {
    std::size_t n = 0;
    while (n < max) {
      auto item = try_pop();
      if (!item)
        break;
      f(std::move(*item));
      ++n;
    }
    return n;
  }

  [[nodiscard]] std::size_t size() const noexcept {
    std::lock_guard guard{mtx_};
    return size_;
  }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
  std::size_t capacity_;
  mutable std::mutex mtx_;
  std::deque<T> items_;
  std::size_t size_ = 0;
  std::size_t reserved_ = 0;
};

} // namespace troupe::detail
