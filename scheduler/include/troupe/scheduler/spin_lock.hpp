#pragma once

#include <atomic>
#include <thread>

#include "troupe/scheduler/detail/cpu_pause.hpp"

namespace troupe {

/// A one-byte lock for short critical sections: contention spins briefly in user space instead
/// of sleeping in the kernel as std::mutex does, then yields so a preempted holder can finish.
/// Used where a pool's queues are hit millions of times a second, and where a lock is taken
/// about once per object (a mailbox's purge at its actor's end) and a 40-byte std::mutex per
/// actor would cost more than it saves. Meets Lockable, so std::lock_guard and
/// std::condition_variable_any work with it.
///
/// Thread safety: any thread. Memory ordering: unlock() releases, lock() acquires.
class spin_lock {
public:
  /// Takes the lock, spinning and then yielding while another thread holds it.
  void lock() noexcept {
    for (;;) {
      if (!locked_.exchange(true, std::memory_order_acquire))
        return;
      for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
        if (spins < 64)
          detail::cpu_pause();
        else
          std::this_thread::yield();
      }
    }
  }

  /// Takes the lock if it is free; returns whether it did. Never waits.
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }

  /// Releases the lock. Only the holder calls it.
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
  std::atomic<bool> locked_{false};
};

} // namespace troupe
