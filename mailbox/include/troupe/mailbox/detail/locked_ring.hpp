#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace troupe::detail {

/// A bounded FIFO under a mutex, for the drop_oldest policy: making room means a producer
/// removes the oldest element, which the lock-free rings reserve to their single consumer.
///
/// Thread safety: every member may be called from any thread.
template <class T>
class locked_ring {
public:
  explicit locked_ring(std::size_t capacity) : capacity_(capacity) {}

  /// Appends `value`; when full, first removes the oldest element and returns it.
  std::optional<T> push_evicting(T value) {
    std::optional<T> evicted;
    std::lock_guard guard{mtx_};
    if (items_.size() >= capacity_) {
      evicted.emplace(std::move(items_.front()));
      items_.pop_front();
    }
    items_.push_back(std::move(value));
    size_ = items_.size();
    return evicted;
  }

  [[nodiscard]] bool try_push(T& value) {
    std::lock_guard guard{mtx_};
    if (items_.size() >= capacity_)
      return false;
    items_.push_back(std::move(value));
    size_ = items_.size();
    return true;
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
};

} // namespace troupe::detail
