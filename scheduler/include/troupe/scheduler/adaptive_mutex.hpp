#pragma once

#include <mutex>

#include "troupe/scheduler/detail/cpu_pause.hpp"

namespace troupe {

/// A mutex that spins briefly before it sleeps. For critical sections of a few dozen
/// nanoseconds that two threads now and then meet on, such as a shard of the actor table that
/// every spawn and every exit writes: with std::mutex, each such meeting costs a sleep in the
/// kernel and a wake-up (microseconds) to wait out a holder that is done in a fraction of one.
/// A holder that stays longer (a topology dump holds every shard while it renders) costs
/// waiters no CPU past the spin: they sleep as with std::mutex. Meets Lockable, so
/// std::lock_guard, std::scoped_lock and std::unique_lock work with it.
///
///   troupe::adaptive_mutex mtx;
///   std::lock_guard guard{mtx};
///
/// Thread safety: any thread. Memory ordering: as std::mutex (unlock() releases, lock()
/// acquires).
class adaptive_mutex {
public:
  /// Takes the mutex: tries it a bounded number of times, then sleeps until it is free.
  void lock() {
    for (int tries = 0; tries < spin_tries; ++tries) {
      if (mtx_.try_lock())
        return;
      detail::cpu_pause();
    }
    mtx_.lock();
  }

  /// Takes the mutex if it is free; returns whether it did. Never waits.
  bool try_lock() noexcept { return mtx_.try_lock(); }

  /// Releases the mutex (and wakes a sleeping waiter, if any). Only the holder calls it.
  void unlock() noexcept { mtx_.unlock(); }

private:
  // As many tries as glibc's adaptive mutexes make: a few microseconds at most (a pause lasts
  // from about ten to about 140 cycles, by CPU), longer than a short critical section takes.
  static constexpr int spin_tries = 100;

  std::mutex mtx_;
};

} // namespace troupe
