#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <span>

namespace troupe::detail {

/// Work that enters the scheduler from outside its workers (other threads, timers, overflow of
/// a full local queue). A mutex is enough: it is not the per-message path, and a lock-free
/// multi-producer multi-consumer queue would cost more than it saves here. Work moves in
/// batches where it comes in bursts (a handler that wakes a million actors overflows its
/// worker's queue a million times): a full local queue hands over its older half in one push,
/// and a worker whose queue ran dry takes its share in one pop.
///
/// Thread safety: every member may be called from any thread.
template <class T>
class injection_queue {
public:
  /// Appends `job` under one lock.
  void push(T* job) { push(std::span<T* const>{&job, 1}); }

  /// Appends `jobs` in order under one lock.
  void push(std::span<T* const> jobs) {
    std::lock_guard guard{mtx_};
    jobs_.insert(jobs_.end(), jobs.begin(), jobs.end());
    size_.store(jobs_.size(), std::memory_order_release);
  }

  /// Takes up to `max` of the oldest jobs under one lock: returns the oldest (null when empty)
  /// and hands each of the others, in order, to `rest` (called under the lock, so it must be
  /// short: a push into the caller's own queue).
  template <class Sink>
  [[nodiscard]] T* pop(std::size_t max, Sink&& rest) {
    // The unlocked check keeps idle workers off the mutex when there is nothing to take.
    if (max == 0 || size_.load(std::memory_order_acquire) == 0)
      return nullptr;
    std::lock_guard guard{mtx_};
    if (jobs_.empty())
      return nullptr;
    auto* first = jobs_.front();
    jobs_.pop_front();
    for (std::size_t i = 1; i < max && !jobs_.empty(); ++i) {
      rest(jobs_.front());
      jobs_.pop_front();
    }
    size_.store(jobs_.size(), std::memory_order_release);
    return first;
  }

  /// Takes the oldest job, or null when there is none.
  [[nodiscard]] T* pop() {
    return pop(1, [](T*) {});
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }

private:
  std::mutex mtx_;
  std::deque<T*> jobs_;
  std::atomic<std::size_t> size_{0};
};

} // namespace troupe::detail
