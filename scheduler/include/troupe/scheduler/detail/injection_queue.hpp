#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>

namespace troupe::detail {

/// Work that enters the scheduler from outside its workers (other threads, timers, overflow of
/// a full local queue). A mutex is enough: it is not the per-message path, and a lock-free
/// multi-producer multi-consumer queue would cost more than it saves here.
///
/// Thread safety: every member may be called from any thread.
template <class T>
class injection_queue {
public:
  void push(T* job) {
    std::lock_guard guard{mtx_};
    jobs_.push_back(job);
    size_.store(jobs_.size(), std::memory_order_release);
  }

  [[nodiscard]] T* pop() {
    // The unlocked check keeps idle workers off the mutex when there is nothing to take.
    if (size_.load(std::memory_order_acquire) == 0)
      return nullptr;
    std::lock_guard guard{mtx_};
    if (jobs_.empty())
      return nullptr;
    auto* job = jobs_.front();
    jobs_.pop_front();
    size_.store(jobs_.size(), std::memory_order_release);
    return job;
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }

private:
  std::mutex mtx_;
  std::deque<T*> jobs_;
  std::atomic<std::size_t> size_{0};
};

} // namespace troupe::detail
